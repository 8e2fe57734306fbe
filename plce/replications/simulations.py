"""The simulation study of Ratkovic (2023): six designs, plce against OLS, DoubleML, a causal forest, KRLS and CBPS.

Each (design, replication) draws one data set with :func:`plce.datasets.make_simdata`
and fits every method on it. Results are appended to a CSV as they arrive, so an
interrupted run continues where it stopped (``--reps`` can also be raised later).

Methods
-------
plce
    ``plce.ols_ml`` with its defaults; ``(1|g)`` in the designs with random effects.
OLS
    y on t and the five covariates (plus group dummies in the random-effect designs), HC1.
DML
    DoubleML's ``DoubleMLPLR`` (partialling out) with plce's default LightGBM learner for both
    nuisances, 5 folds, the group dummies as features in the random-effect designs.
GRF
    EconML's ``CausalForestDML`` (the Python generalized random forest) with the same LightGBM
    nuisances; its ATE and standard error.
KRLS
    Kernel regularized least squares (Hainmueller & Hazlett 2014; :mod:`plce.peers.krls`): the average
    pointwise marginal effect of t with t and the covariates (and the group dummies) as regressors, its closed-form
    SE.
CBPS
    The covariate balancing generalized propensity score for a continuous treatment (Fong, Hazlett & Imai 2018;
    :mod:`plce.peers.cbps`), the covariates (and the group dummies) balanced, then the weighted slope of y on t with
    its HC1 SE.
plce-interference (not in the default ``METHODS``)
    plce with ``interference=True`` (learned interference features).

A study is resumable by (design, replication, method): adding a method to an existing results file fits only it.
"""
from __future__ import annotations

import pathlib
import time
import warnings

import numpy as np
import pandas as pd

from ..datasets import SETTINGS, make_simdata

__all__ = ["METHODS", "run", "summarize", "figure"]

METHODS = ("plce", "OLS", "DML", "GRF", "KRLS", "CBPS")
COVS = ["x1", "x2", "x3", "x4", "x5"]


def _fit_plce(df, re, **kw):
    from ..api import ols_ml

    f = "y ~ t | " + " + ".join(COVS) + (" + (1|g)" if re else "")
    r = ols_ml(f, data=df, random_state=0, **kw)
    return float(r.params["t"]), float(r.bse["t"])


def _fit_plce_interference(df, re):
    return _fit_plce(df, re, interference=True)


def _features(df, re):
    X = df[COVS].copy()
    if re:
        X = pd.concat([X, pd.get_dummies(df["g"], prefix="g", drop_first=True, dtype=float)], axis=1)
    return X


def _fit_ols(df, re):
    import statsmodels.api as sm

    X = sm.add_constant(pd.concat([df[["t"]], _features(df, re)], axis=1).to_numpy(dtype=float))
    r = sm.OLS(df["y"].to_numpy(), X).fit(cov_type="HC1")
    return float(r.params[1]), float(r.bse[1])


def _fit_dml(df, re):
    import doubleml as dml

    from ..learners import default_learner

    X = _features(df, re)
    data = dml.DoubleMLData(pd.concat([df[["y", "t"]], X], axis=1), y_col="y", d_cols="t", x_cols=list(X.columns))
    np.random.seed(0)  # DoubleML draws its folds from numpy's global RNG when it is constructed
    obj = dml.DoubleMLPLR(data, default_learner(random_state=1), default_learner(random_state=2), n_folds=5,
                          score="partialling out")
    obj.fit()
    return float(obj.coef[0]), float(obj.se[0])


def _fit_grf(df, re):
    from econml.dml import CausalForestDML

    from ..learners import default_learner

    X = df[COVS].to_numpy()
    W = _features(df, re).drop(columns=COVS).to_numpy() if re else None
    est = CausalForestDML(model_y=default_learner(random_state=1), model_t=default_learner(random_state=2),
                          n_estimators=400, random_state=0, cv=5)
    est.fit(df["y"].to_numpy(), df["t"].to_numpy(), X=X, W=W)
    ate = est.ate_inference(X=X)
    return float(np.ravel(ate.mean_point)[0]), float(np.ravel(ate.stderr_mean)[0])


def _fit_krls(df, re):
    from ..peers.krls import krls

    X = pd.concat([df[["t"]], _features(df, re)], axis=1).to_numpy(dtype=float)
    fit = krls(df["y"].to_numpy(), X)
    return float(fit.apme[0]), float(fit.se[0])


def _fit_cbps(df, re):
    from ..peers.cbps import cbps_continuous

    fit = cbps_continuous(df["y"].to_numpy(), df["t"].to_numpy(), _features(df, re).to_numpy(dtype=float))
    return fit.effect, fit.se


FITTERS = {"plce": _fit_plce, "KRLS": _fit_krls, "CBPS": _fit_cbps, "OLS": _fit_ols, "DML": _fit_dml, "GRF": _fit_grf,
           "plce-interference": _fit_plce_interference}


def _one(setting: str, rep: int, n: int, methods: tuple[str, ...], seed0: int) -> list[dict]:
    warnings.simplefilter("ignore")
    df, theta = make_simdata(setting, n=n, random_state=seed0 + rep)
    re = SETTINGS[setting][0]
    rows = []
    for m in methods:
        t0 = time.perf_counter()
        try:
            est, se = FITTERS[m](df, re)
            err = ""
        except ImportError as exc:  # a peer package is not installed
            est, se, err = np.nan, np.nan, f"not installed: {exc.name}"
        rows.append(dict(setting=setting, n=n, rep=rep, method=m, estimate=est, se=se, theta=theta,
                         seconds=time.perf_counter() - t0, error=err))
    return rows


def run(*, settings=tuple(SETTINGS), reps: int = 100, n: int = 1000, methods=METHODS, out: str | pathlib.Path,
        n_jobs: int = -1, seed0: int = 20231116, progress: bool = True) -> pd.DataFrame:
    """Run (or continue) the study; rows are appended to ``out`` (a CSV) as replications finish."""
    from joblib import Parallel, delayed

    out = pathlib.Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    done = pd.read_csv(out) if out.exists() else pd.DataFrame(columns=["setting", "n", "rep", "method"])
    have = {(s, int(nn), int(r), m) for s, nn, r, m in done[["setting", "n", "rep", "method"]].itertuples(index=False)}
    todo = [(s, r, tuple(m for m in methods if (s, n, r, m) not in have)) for s in settings for r in range(reps)]
    todo = [(s, r, ms) for s, r, ms in todo if ms]
    par = Parallel(n_jobs=n_jobs, return_as="generator_unordered")
    gen = par(delayed(_one)(s, r, n, ms, seed0) for s, r, ms in todo)
    if progress:
        from tqdm.auto import tqdm

        gen = tqdm(gen, total=len(todo), desc="simulations")
    for rows in gen:
        pd.DataFrame(rows).to_csv(out, mode="a", header=not out.exists(), index=False)
    return pd.read_csv(out)


def summarize(results: pd.DataFrame) -> pd.DataFrame:
    """Bias, RMSE, 95% coverage, mean SE / SD and time per fit, by design, n and method."""
    r = results.dropna(subset=["estimate"]).copy()
    r["err"] = r["estimate"] - r["theta"]
    r["covered"] = (r["err"].abs() <= 1.959964 * r["se"]).astype(float)
    g = r.groupby(["setting", "n", "method"], sort=False)
    tab = pd.DataFrame({
        "reps": g.size(),
        "bias": g["err"].mean(),
        "rmse": g["err"].apply(lambda e: float(np.sqrt(np.mean(e**2)))),
        "coverage": g["covered"].mean(),
        "se_over_sd": g["se"].mean() / g["estimate"].std(),
        "seconds": g["seconds"].mean(),
    })
    return tab.reset_index()


def figure(results: pd.DataFrame):
    """One panel per design: each method's estimates (box) against the truth, coverage in the labels."""
    import matplotlib.pyplot as plt

    tab = summarize(results)
    settings = list(dict.fromkeys(results["setting"]))
    fig, axes = plt.subplots(2, 3, figsize=(13, 7.5), squeeze=False)
    for ax, s in zip(axes.ravel(), settings):
        sub = results[(results["setting"] == s) & results["estimate"].notna()]
        methods = list(dict.fromkeys(sub["method"]))
        ax.boxplot([sub.loc[sub["method"] == m, "estimate"] for m in methods], showfliers=False)
        cov = tab[tab["setting"] == s].set_index("method")["coverage"]
        ax.set_xticks(range(1, len(methods) + 1),
                      [f"{m}\n{100 * cov.get(m, np.nan):.0f}%" for m in methods], fontsize=8)
        ax.axhline(1.0, color="red", ls="--", lw=1)
        ax.set_title(s.replace("_", " + "))
    for ax in axes.ravel()[len(settings):]:
        ax.set_visible(False)
    fig.suptitle("Estimates of theta = 1 by design (labels: 95% CI coverage)")
    fig.tight_layout()
    return fig

"""Mattes & Weeks (2019): the experimental table of Ratkovic (2023), replicated.

Hawk and dove experiments separately; outcome = disapproval of the President
(``hddv1`` in {1, 2}), treatment = conciliation. Three estimators, in
percentage points with HC0 standard errors as in the published table: PLCE on
the 11 pre-treatment covariates, difference in means, and OLS with the same
covariates. The treatment was randomized, so plce runs with
``design="experiment"`` (:data:`SETTINGS`): the assignment probability is known
rather than learned, and the SE is for the sample average effect.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..datasets import MATTES_WEEKS_COVARIATES, load_mattes_weeks

__all__ = ["PUBLISHED", "R_STORED", "run", "format_table", "positivity_figure"]

#: the table of Ratkovic (2023): estimate, SE in percentage points
PUBLISHED = {
    ("hawk", "PLCE"): (11.83, 3.56),
    ("hawk", "Diff-in-means"): (11.98, 3.80),
    ("hawk", "OLS"): (11.97, 3.80),
    ("dove", "PLCE"): (36.03, 2.71),
    ("dove", "Diff-in-means"): (35.43, 3.12),
    ("dove", "OLS"): (35.19, 2.85),
}
#: the author's stored R fit (mattesHOE.Rda: output$h1/h2 point and se)
R_STORED = {("hawk", "PLCE"): (11.82, 3.68), ("dove", "PLCE"): (35.66, 2.73)}

FORMULA = "disapprove ~ conciliation | " + " + ".join(MATTES_WEEKS_COVARIATES)
#: the plce settings of the replication
SETTINGS = {"design": "experiment", "cov_type": "HC0", "n_rep": 20}


def _ols(df: pd.DataFrame, cols: list[str]) -> tuple[float, float]:
    import statsmodels.api as sm

    X = sm.add_constant(df[["conciliation", *cols]].to_numpy(dtype=float))
    r = sm.OLS(df["disapprove"].to_numpy(dtype=float), X).fit(cov_type="HC0")
    return 100 * float(r.params[1]), 100 * float(r.bse[1])


def run(*, n_rep: int = SETTINGS["n_rep"], random_state: int = 1, n_jobs: int = 1, progress: bool = False,
        **fit_kwargs):
    """Fit the three estimators in both experiments.

    Returns
    -------
    table : DataFrame
        Rows (experiment, method); columns estimate, se, published_estimate,
        published_se, r_estimate, r_se (percentage points).
    fits : dict
        The two :class:`plce.PLCEResults`, keyed by experiment.
    """
    from ..api import ols_ml

    df = load_mattes_weeks()
    rows, fits = [], {}
    for exp in ("hawk", "dove"):
        sub = df[df["experiment"] == exp]
        kw = {**SETTINGS, "n_rep": n_rep, **fit_kwargs}
        res = ols_ml(FORMULA, data=sub, random_state=random_state, n_jobs=n_jobs, progress=progress, **kw)
        fits[exp] = res
        est = {
            "PLCE": (100 * float(res.params["conciliation"]), 100 * float(res.bse["conciliation"])),
            "Diff-in-means": _ols(sub, []),
            "OLS": _ols(sub, list(MATTES_WEEKS_COVARIATES)),
        }
        for method, (b, s) in est.items():
            pb, ps = PUBLISHED[(exp, method)]
            rb, rs = R_STORED.get((exp, method), (np.nan, np.nan))
            rows.append((exp, method, b, s, pb, ps, rb, rs, len(sub)))
    table = pd.DataFrame(
        rows,
        columns=["experiment", "method", "estimate", "se", "published_estimate", "published_se",
                 "r_estimate", "r_se", "n"],
    ).set_index(["experiment", "method"])
    return table, fits


def format_table(table: pd.DataFrame, n_rep: int = SETTINGS["n_rep"], seed: int = 1) -> str:
    """The table as text: plce beside the published numbers and the author's stored R run, the settings used and a
    one-line verdict."""
    lines = [
        "Mattes & Weeks (2019): effect of conciliation on disapproval (percentage points, HC0 SEs)",
        f"plce settings: design='experiment' (known assignment), {n_rep} repetitions of 5-fold cross-fitting, "
        f"seed {seed}; 'published' is the PLCE table of Ratkovic (2023)",
        f"{'':6} {'method':14} {'plce':>16} {'published':>16} {'R PLCE (stored)':>16}   n",
    ]
    for (exp, method), r in table.iterrows():
        rr = "" if np.isnan(r.r_estimate) else f"{r.r_estimate:6.2f} ({r.r_se:.2f})"
        lines.append(
            f"{exp:6} {method:14} {r.estimate:7.2f} ({r.se:5.2f})  "
            f"{r.published_estimate:7.2f} ({r.published_se:5.2f}) {rr:>16} {int(r.n):4d}"
        )
    lines.append(verdict(table))
    return "\n".join(lines)


def verdict(table: pd.DataFrame) -> str:
    """One line: is plce's SE below OLS's and its estimate within a point of the published PLCE, in both?"""
    parts, ok = [], True
    for exp in ("hawk", "dove"):
        p, o = table.loc[(exp, "PLCE")], table.loc[(exp, "OLS")]
        below, close = p.se <= o.se, abs(p.estimate - p.published_estimate) <= 1.0
        ok &= bool(below and close)
        parts.append(f"{exp} SE {p.se:.2f} {'<=' if below else '>'} OLS {o.se:.2f}, "
                     f"{abs(p.estimate - p.published_estimate):.2f} points from the published PLCE")
    return ("Verdict: replicated (" if ok else "Verdict: NOT replicated (") + "; ".join(parts) + ")."


def positivity_figure(fits: dict):
    """The talk's figure: the positivity curve of both experiments side by side."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.6), sharey=True)
    for ax, exp in zip(axes, ("hawk", "dove")):
        fits[exp].plot_positivity(ax=ax)
        ax.set_title(f"{exp.capitalize()}s: {fits[exp].positivity_diagnostic().line()}", fontsize=10)
    fig.suptitle("Positivity diagnostic, Mattes & Weeks (2019)", fontsize=11)
    fig.tight_layout()
    return fig

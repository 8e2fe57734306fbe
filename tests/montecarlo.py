"""Shared Monte Carlo runner for the slow statistical tests.

CI runs these at the smallest seed counts whose bounds are still justified by their own Monte Carlo error (each test
says how); the 100-seed studies are scripts under ``validation/`` whose results are committed and quoted in docs.
With R seeds the MC s.e. of a 95% coverage is about sqrt(0.95 x 0.05 / R) (0.034 at R = 40), of a bias SD/sqrt(R),
and of a ratio SE/SD about 1/sqrt(2R) (11% at R = 40).
"""
from __future__ import annotations

import numpy as np
from joblib import Parallel, delayed


def _one(seed: int, setting: str, n: int, formula: str, fit_kwargs: dict, data_kwargs: dict):
    import warnings

    import plce

    if setting == "spatial":
        df, theta = plce.datasets.make_spatial(n, random_state=seed, **data_kwargs)
    elif setting == "panel":
        df, theta = plce.datasets.make_panel(random_state=seed, **data_kwargs)
    else:
        df, theta = plce.datasets.make_simdata(setting, n=n, random_state=seed, **data_kwargs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = plce.ols_ml(formula, data=df, random_state=seed, **fit_kwargs)
    name = res.params.index[0]
    return float(res.params[name]), float(res.bse[name]), theta


_CACHE: dict = {}


def run(setting: str, *, reps: int = 100, n: int = 1000, formula: str = "y ~ t | x1 + x2 + x3 + x4 + x5",
        seed0: int = 1000, fit_kwargs: dict | None = None, data_kwargs: dict | None = None, n_jobs: int = 2) -> dict:
    """Fit ``reps`` simulated data sets; return bias, RMSE, coverage, SE/SD and their MC errors.

    Results are cached per process, so several tests can check one study without refitting it.
    """
    key = repr((setting, reps, n, formula, seed0, sorted((fit_kwargs or {}).items()),
                sorted((data_kwargs or {}).items())))
    if key not in _CACHE:
        _CACHE[key] = _run(setting, reps, n, formula, seed0, fit_kwargs, data_kwargs, n_jobs)
    return dict(_CACHE[key])


def _run(setting, reps, n, formula, seed0, fit_kwargs, data_kwargs, n_jobs) -> dict:
    out = Parallel(n_jobs=n_jobs)(
        delayed(_one)(seed0 + s, setting, n, formula, fit_kwargs or {}, data_kwargs or {}) for s in range(reps)
    )
    est, se, truth = (np.array(v) for v in zip(*out))
    err = est - truth
    covered = np.abs(err) <= 1.959964 * se
    return {
        "setting": setting,
        "reps": reps,
        "bias": float(err.mean()),
        "bias_mcse": float(err.std(ddof=1) / np.sqrt(reps)),
        "rmse": float(np.sqrt(np.mean(err**2))),
        "coverage": float(covered.mean()),
        "sd": float(est.std(ddof=1)),
        "mean_se": float(se.mean()),
    }

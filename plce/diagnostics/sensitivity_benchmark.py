"""Sensitivity analysis of a plce fit: classical final-stage t and df, benchmark refits.

A benchmark covariate's strength is measured by refitting the nuisances without it, on the same folds and seeds
(:func:`plce.estimate.estimate` on the reduced design).
"""
from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pandas as pd

from ..errors import PLCEError, PLCEWarning, closest_names
from .sensitivity_results import SensitivityResults

__all__ = ["benchmark_r2", "sensitivity_for"]

_NOTE = (
    "The partial R2, RV_q and the bias of a confounder use the final-stage regression's classical t and df (the "
    "partial-R2 scale of Cinelli & Hazlett 2020); RV_q,alpha and the bounds' SEs, t-values and intervals use the "
    "headline standard error of the coefficient table, scaled as the classical formulas scale the classical one, "
    "so they agree with its test."
)


def _columns_for(design, name: str) -> list[str]:
    cols = list(design.X.columns)
    if name in cols:
        return [name]
    # a raw variable used in several control columns (e.g. x and x:z)
    hits = [c for c in cols if name in c.replace("(", " ").replace(")", " ").replace(":", " ").split()]
    if hits:
        return hits
    raise PLCEError(f"Benchmark '{name}' is not among the controls {cols}.{closest_names(name, cols)}")


def benchmark_r2(res, name: str, j: int = 0) -> tuple[float, float]:
    """Partial R^2 of control ``name`` with the treatment and with the outcome, by refitting without it.

    Returns ``(r2dxj_x, r2yxj_dx)``; each is ``(RSS_without - RSS_with) / RSS_without``, floored at 0,
    from out-of-fold treatment residuals and final-stage residuals respectively (summed over repetitions).
    """
    from ..estimate import estimate
    from ..plan import resolve

    d = res.design
    cols = _columns_for(d, name)
    reduced = dataclasses.replace(d, X=d.X.drop(columns=cols))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PLCEWarning)  # the full fit has warned already
        plan = resolve(res.options, reduced, interference=res.plan.interference, crossfit=res.plan.crossfit)
        fit = estimate(reduced, res.options, plan)
    nuis_wo, finals_wo = fit.nuisances, fit.finals
    nuis = res.nuisances
    t = d.T[:, j]
    rss_d = float(np.sum((t[None, :] - nuis.m[:, :, j]) ** 2))
    rss_d_wo = float(np.sum((t[None, :] - nuis_wo.m[:, :, j]) ** 2))
    rss_y = float(sum(f.ssr for f in res.finals))
    rss_y_wo = float(sum(f.ssr for f in finals_wo))
    r2d = max(0.0, (rss_d_wo - rss_d) / rss_d_wo)
    r2y = max(0.0, (rss_y_wo - rss_y) / rss_y_wo)
    return min(r2d, 1 - 1e-12), min(r2y, 1 - 1e-12)


def sensitivity_for(res, treatment=None, *, q=1.0, alpha=0.05, reduce=True, benchmark=None, kd=(1, 2, 3),
                    ky=None, r2dz_x=None, r2yz_dx=None) -> SensitivityResults:
    names = list(res.params.index)
    j = res._treatment_index(treatment)
    treatment = names[j]
    est = float(res.params[treatment])
    se = float(res.bse_classical[treatment])
    dof = res.df_resid
    bench = None
    if benchmark is not None:
        bnames = [benchmark] if isinstance(benchmark, str) else list(benchmark)
        rows = [(b, *benchmark_r2(res, b, j)) for b in bnames]
        bench = pd.DataFrame(rows, columns=["covariate", "r2dxj_x", "r2yxj_dx"])
    sr = SensitivityResults(est, se, dof, treatment=treatment, outcome=res.design.outcome_name, q=q,
                            alpha=alpha, reduce=reduce, benchmarks=bench, kd=kd, ky=ky, notes=[_NOTE],
                            se_headline=float(res.bse[treatment]), critical=res._crit(alpha),
                            se_label=res.cov_type)
    if r2dz_x is not None or r2yz_dx is not None:
        if r2dz_x is None or r2yz_dx is None:
            raise PLCEError("Give both r2dz_x and r2yz_dx for manual bounds.")
        r2d = np.atleast_1d(np.asarray(r2dz_x, dtype=float))
        r2y = np.atleast_1d(np.asarray(r2yz_dx, dtype=float))
        r2d, r2y = np.broadcast_arrays(r2d, r2y)
        rows = pd.DataFrame({"bound_label": [f"manual ({a:g}, {b:g})" for a, b in zip(r2d, r2y)],
                             "r2dz_x": r2d, "r2yz_dx": r2y})
        manual = sr.adjust(rows)
        sr.bounds = manual if sr.bounds is None else pd.concat([sr.bounds, manual], ignore_index=True)
    return sr

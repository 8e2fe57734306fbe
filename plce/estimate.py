"""Run a resolved plan: cross-fitted nuisances -> treatment weights -> final stage of every repetition.

:func:`estimate` is a module-level function of data (a :class:`~plce.design.Design`, the
:class:`~plce.options.FitOptions` and the resolved :class:`~plce.plan.FitPlan`), so results can be pickled and a
diagnostic that needs a refit (the sensitivity benchmarks) calls it on a reduced design. :func:`final_stage`
re-runs only the last step, which is all a change of covariance needs.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .design import Design
from .final import FinalFit, fit_final
from .nuisance import NuisanceFits, external_nuisances, fit_nuisances
from .options import FitOptions
from .plan import FitPlan, Inference
from .variance import WeightDiagnostics, stabilized_weights, treatment_variance, weight_diagnostics

__all__ = ["Fit", "estimate", "treatment_weights", "final_stage"]


@dataclass(frozen=True)
class Fit:
    """What one estimation produced: nuisances, per-repetition weights and final stages."""

    nuisances: NuisanceFits
    weights: tuple  # per repetition: (n,) weights or None
    floored: tuple  # per repetition: (n,) bool mask of units at the variance floor
    finals: tuple[FinalFit, ...]
    weight_summary: WeightDiagnostics | None = None


def _stack(*parts: np.ndarray | None) -> np.ndarray | None:
    parts = [p for p in parts if p is not None and p.size]
    return np.column_stack(parts) if parts else None


def treatment_weights(nuisances: NuisanceFits, plan: FitPlan, weight_floor: float) -> tuple[tuple, tuple]:
    """Final-stage weights 1/s^2(x) of every repetition (``None`` for the variance-weighted estimand)."""
    if plan.weighting is None:
        return (None,) * plan.n_rep, ()
    weights, floored = [], []
    for r in range(plan.n_rep):
        w, f = stabilized_weights(treatment_variance(nuisances, r, plan.weighting), weight_floor)
        weights.append(w)
        floored.append(f)
    return tuple(weights), tuple(floored)


def final_stage(design: Design, options: FitOptions, plan: FitPlan, nuisances: NuisanceFits, weights: tuple,
                inference: Inference | None = None) -> tuple[FinalFit, ...]:
    """The final-stage regression of every repetition (``inference`` overrides the plan's covariance)."""
    inf = plan.inference if inference is None else inference
    return tuple(
        fit_final(design.y, design.T, nuisances.ell[r], nuisances.m[r], form=options.final, cov_type=inf.cov_type,
                  clusters=inf.clusters, extra=_stack(nuisances.blup_columns(r), plan.final_terms),
                  absorb=plan.absorb, weights=weights[r], modifiers=plan.final_terms if plan.interact else None,
                  population=options.average_effect == "population")
        for r in range(plan.n_rep)
    )


def estimate(design: Design, options: FitOptions, plan: FitPlan, *, progress: bool = False) -> Fit:
    """Cross-fit the nuisances (or take the external predictions), weight, and run the final stages."""
    if options.external_predictions is not None:
        nuis = external_nuisances(design, plan.crossfit, options.external_predictions)
    else:
        variance = None
        if plan.learner_v is not None:
            # the variance model starts from a least-squares fit on the control terms (see variance_learner)
            variance = (plan.learner_v, options.inner_folds, plan.terms)
        inter = None
        if plan.interference is not None:
            from .interference import build_plan

            nf = design.numeric_frame() if design.X.shape[1] else None
            X_num = nf.to_numpy(dtype=float) if nf is not None else np.empty((design.nobs, 0))
            inter = build_plan(plan.interference, X_num=X_num, control_names=list(nf.columns) if nf is not None
                               else [], t=design.T[:, 0], treatment_name=design.treatment_names[0])
        nuis = fit_nuisances(design, plan.crossfit, learner_y=plan.learner_y, learner_t=plan.learner_t,
                             n_jobs=plan.n_jobs, progress=progress, re_iter=options.re_iter, variance=variance,
                             interference=inter, inner_folds=options.inner_folds)
    weights, floored = treatment_weights(nuis, plan, options.weight_floor)
    wsum = None if plan.weighting is None else weight_diagnostics(list(weights), list(floored), plan.weighting)
    finals = final_stage(design, options, plan, nuis, weights)
    return Fit(nuisances=nuis, weights=weights, floored=floored, finals=finals, weight_summary=wsum)

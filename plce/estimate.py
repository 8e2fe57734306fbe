"""Run a resolved plan: cross-fitted nuisances -> treatment weights -> final stage of every repetition.

:func:`estimate` is a module-level function of data (a :class:`~plce.design.Design`, the
:class:`~plce.options.FitOptions` and the resolved :class:`~plce.plan.FitPlan`), so results can be pickled and a
diagnostic that needs a refit (the sensitivity benchmarks) calls it on a reduced design. :func:`final_stage`
re-runs only the last step, which is all a change of covariance needs.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from .design import Design
from .final import FinalFit, fit_final
from .nuisance import NuisanceFits, external_nuisances, fit_nuisances
from .options import FitOptions
from .plan import FitPlan, Inference, recount_clusters
from .variance import PROPENSITY_CLIP, WeightDiagnostics, stabilized_weights, treatment_variance, weight_diagnostics

__all__ = ["Fit", "estimate", "treatment_weights", "final_stage"]


@dataclass(frozen=True)
class Fit:
    """What one estimation produced: nuisances, per-repetition weights and final stages."""

    nuisances: NuisanceFits
    weights: tuple  # per repetition: (n,) weights or None
    floored: tuple  # per repetition: (n,) bool mask of units at the variance floor
    finals: tuple[FinalFit, ...]
    weight_summary: WeightDiagnostics | None = None
    kept: np.ndarray | None = None  # (n,) bool: units in the final stage (None: all; singletons, trim= drop some)
    overlap: object | None = None  # plce.diagnostics.overlap.OverlapDiagnostics
    inference: Inference | None = None  # the plan's, with clusters recounted after trimming
    effects: np.ndarray | None = None  # (n_rep, n) cross-fitted theta_hat(x) of the learned effect model
    trimmed: np.ndarray | None = None  # (n,) bool: units trimmed for poor overlap (trim=)


def _stack(*parts: np.ndarray | None) -> np.ndarray | None:
    parts = [p for p in parts if p is not None and p.size]
    return np.column_stack(parts) if parts else None


def treatment_weights(nuisances: NuisanceFits, plan: FitPlan, weight_floor: float) -> tuple[tuple, tuple]:
    """Final-stage weights of every repetition (``None`` for the variance-weighted estimand).

    With weights w(x) the final stage estimates E[w s^2 theta] / E[w s^2]: w = 1/s^2 gives the average effect
    (ATE); for a 0/1 treatment w = m/s^2 = 1/(1 - m) gives E[m theta] / E[m], the ATT, and w = 1/m the ATC.
    """
    if plan.weighting is None:
        return (None,) * plan.n_rep, ()
    weights, floored = [], []
    for r in range(plan.n_rep):
        w, f = stabilized_weights(treatment_variance(nuisances, r, plan.weighting), weight_floor)
        if plan.estimand in ("att", "atc"):
            p = np.clip(nuisances.m[r, :, 0], PROPENSITY_CLIP, 1 - PROPENSITY_CLIP)
            w = w * (p if plan.estimand == "att" else 1 - p)
            w = w / w.mean()
        weights.append(w)
        floored.append(f)
    return tuple(weights), tuple(floored)


def effect_center(design: Design, plan: FitPlan) -> np.ndarray | None:
    """Over which units the fitted effects are averaged: the treated for the ATT, the controls for the ATC, with the
    sampling weights when there are some."""
    w = design.weights
    if plan.estimand == "att":
        a = design.T[:, 0].astype(float)
    elif plan.estimand == "atc":
        a = 1.0 - design.T[:, 0]
    else:
        return w
    return a if w is None else a * w


def _final_weights(design: Design, w: np.ndarray | None) -> np.ndarray | None:
    """Final-stage weights: the treatment weights times the sampling weights."""
    if design.weights is None:
        return w
    return design.weights if w is None else w * design.weights


def final_stage_terms(plan: FitPlan, effects: np.ndarray | None, r: int) -> np.ndarray | None:
    """The final stage's control terms of repetition ``r`` (all units): the plan's, with the learned theta_hat(x)
    beside them when there is one; with ``plan.interact`` they are also the effect modifiers."""
    return plan.final_terms if effects is None else _stack(plan.final_terms, effects[r][:, None])


def final_stage(design: Design, options: FitOptions, plan: FitPlan, nuisances: NuisanceFits, weights: tuple,
                inference: Inference | None = None, kept: np.ndarray | None = None,
                effects: np.ndarray | None = None) -> tuple[FinalFit, ...]:
    """The final-stage regression of every repetition (``inference`` overrides the plan's covariance; ``kept``
    restricts it to some units; ``effects`` (n_rep, n) is the learned theta_hat(x) joining the effect terms)."""
    inf = plan.inference if inference is None else inference
    rows = slice(None) if kept is None else kept

    def sub(a):
        return None if a is None else a[rows]

    center = effect_center(design, plan)
    absorb = None if plan.absorb is None else [sub(a) for a in plan.absorb]
    finals = []
    for r in range(plan.n_rep):
        terms = final_stage_terms(plan, effects, r)
        finals.append(fit_final(
            design.y[rows], design.T[rows], nuisances.ell[r][rows], nuisances.m[r][rows], form=options.final,
            cov_type=inf.cov_type, clusters=sub(inf.clusters),
            kernel=None if inf.kernel is None else (inf.kernel if kept is None else inf.kernel[kept][:, kept]),
            extra=sub(_stack(nuisances.blup_columns(r), plan.trend, terms)), absorb=absorb,
            weights=sub(_final_weights(design, weights[r])), modifiers=sub(terms) if plan.interact else None,
            population=plan.average_effect == "population", center=sub(center)))
    return tuple(finals)


def estimate(design: Design, options: FitOptions, plan: FitPlan, *, progress: bool = False) -> Fit:
    """Cross-fit the nuisances (or take the external predictions), weight, and run the final stages."""
    if options.external_predictions is not None:
        preds = dict(options.external_predictions)
        if plan.known_m is not None:  # a randomized treatment: its known mean and variance, as in a learned fit
            preds["m"] = np.broadcast_to(plan.known_m, (plan.n_rep, *plan.known_m.shape)).copy()
            preds["s2"] = np.tile(plan.known_s2, (plan.n_rep, 1))
        nuis = external_nuisances(design, plan.crossfit, preds)
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
                             interference=inter, inner_folds=options.inner_folds, known_m=plan.known_m)
        if plan.known_s2 is not None:
            nuis = dataclasses.replace(nuis, s2=np.tile(plan.known_s2, (plan.n_rep, 1)))
    weights, floored = treatment_weights(nuis, plan, options.weight_floor)
    kept, threshold, trimmed = plan.rows, None, None
    if options.trim is not None:
        from .diagnostics.overlap import trim_mask

        inside, threshold = trim_mask(nuis.m[:, :, 0].mean(axis=0), options.trim)
        trimmed = ~inside
        kept = inside if kept is None else kept & inside
        _check_trimmed(design, kept, threshold)
        plan = dataclasses.replace(plan, inference=recount_clusters(plan.inference, kept))
    wsum = None
    if plan.weighting is not None:
        sub = (lambda a: a) if kept is None else (lambda a: a[kept])
        wsum = weight_diagnostics([sub(w) for w in weights], [sub(f) for f in floored], plan.weighting)
    overlap = _overlap(design, plan, nuis, weights, floored, trimmed, threshold)
    effects = None
    if plan.learned_effects and plan.known_m is not None:
        effects = nuis.ell  # an experiment: the outcome model's prediction joins the effect terms (Lin 2013 with it)
    elif plan.learned_effects:
        from .effects import learned_effects

        effects = learned_effects(design, plan, nuis, n_jobs=plan.n_jobs, progress=progress)
    finals = final_stage(design, options, plan, nuis, weights, kept=kept, effects=effects)
    _warn_little_variation(design, finals, kept)
    return Fit(nuisances=nuis, weights=weights, floored=floored, finals=finals, weight_summary=wsum, kept=kept,
               overlap=overlap, inference=plan.inference, trimmed=trimmed, effects=effects)


#: warn when the final-stage treatment residual keeps less than this share of the treatment's variance
LITTLE_VARIATION = 0.01


def _warn_little_variation(design: Design, finals, kept) -> None:
    """PositivityWarning when the controls explain nearly all of a treatment's variance (the effect rests on little
    variation, and its SE is large)."""
    from .errors import PositivityWarning, warn

    T = design.T if kept is None else design.T[kept]
    for j, name in enumerate(design.treatment_names):
        share = float(np.var(finals[0].treat_resid[:, j]) / max(np.var(T[:, j]), 1e-300))
        if share < LITTLE_VARIATION:
            warn(f"The controls (with l_hat, m_hat and the final stage's terms) explain {100 * (1 - share):.2f}% of the "
                 f"variance of the treatment '{name}': its effect rests on the {100 * share:.2f}% left, so the "
                 "estimate is fragile and its standard error large. Check for a control that nearly duplicates the "
                 "treatment.", PositivityWarning)


def _check_trimmed(design: Design, kept: np.ndarray, threshold: float) -> None:
    from .errors import PLCEError

    t = design.T[kept, 0]
    if min(int(t.sum()), int((1 - t).sum())) < 2:
        raise PLCEError(f"Trimming at {threshold:.3f} leaves {int(t.sum())} treated and {int((1 - t).sum())} control "
                        "units; the overlap sample is too small. Use a smaller trim threshold.")


def _overlap(design: Design, plan: FitPlan, nuis: NuisanceFits, weights, floored, trimmed, threshold):
    """Overlap diagnostics of a single treatment (``None`` with several)."""
    from .diagnostics.overlap import overlap_diagnostics
    from .variance import is_binary

    if design.T.shape[1] != 1:
        return None
    binary = is_binary(design.T[:, 0])
    diag = overlap_diagnostics(design.T[:, 0], nuis.m[:, :, 0], weights if plan.weighting else None,
                               binary=binary, estimand=plan.estimand, s2=nuis.s2, floored=list(floored),
                               clip=PROPENSITY_CLIP, trimmed=trimmed, threshold=threshold)
    diag.warn()
    return diag

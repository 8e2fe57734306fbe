"""Cross-fitted nuisance functions l(x) = E[y|x] and m(x) = E[t|x].

For each repetition and fold a seeded clone of the learner is fit on the
training folds and predicts the held-out fold, so every unit gets an
out-of-fold prediction in every repetition.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import numpy as np
import pandas as pd

from .crossfit import CrossfitPlan, run_tasks
from .design import Design
from .errors import PLCEError
from .learners import fit_predict, is_lightgbm, learner_matrix, seeded_clone

__all__ = ["NuisanceFits", "fit_nuisances", "external_nuisances", "oof_metrics"]


@dataclass(frozen=True)
class NuisanceFits:
    """Out-of-fold nuisance predictions for every repetition.

    ell : (n_rep, n) predictions of E[y|x]
    m : (n_rep, n, k) predictions of E[t_j|x]
    """

    ell: np.ndarray
    m: np.ndarray
    plan: CrossfitPlan
    metrics: pd.DataFrame


def _fold_task(task, *, y, T, X_frame, X_num, learner_y, learner_t, plan):
    r, k = task
    train, test = plan.split(r, k)
    seeds = plan.seeds[r, k]
    Xy = learner_matrix(learner_y, X_frame, X_num)
    Xt = learner_matrix(learner_t, X_frame, X_num)

    def rows(M, idx):
        return M.iloc[idx] if isinstance(M, pd.DataFrame) else M[idx]

    ell = fit_predict(seeded_clone(learner_y, seeds[0]), rows(Xy, train), y[train], rows(Xy, test))
    m = np.column_stack(
        [
            fit_predict(seeded_clone(learner_t, seeds[1 + j]), rows(Xt, train), T[train, j], rows(Xt, test))
            for j in range(T.shape[1])
        ]
    )
    return test, ell, m


def oof_metrics(actual: np.ndarray, pred: np.ndarray) -> tuple[float, float]:
    """Out-of-fold R^2 and RMSE."""
    resid = actual - pred
    sst = float(np.sum((actual - actual.mean()) ** 2))
    r2 = 1.0 - float(resid @ resid) / sst if sst > 0 else float("nan")
    return r2, float(np.sqrt(np.mean(resid**2)))


def _metrics(design: Design, ell: np.ndarray, m: np.ndarray) -> pd.DataFrame:
    rows = []
    for r in range(ell.shape[0]):
        rows.append(("outcome", r, *oof_metrics(design.y, ell[r])))
        for j, name in enumerate(design.treatment_names):
            rows.append((f"treatment:{name}", r, *oof_metrics(design.T[:, j], m[r, :, j])))
    return pd.DataFrame(rows, columns=["nuisance", "rep", "r2", "rmse"])


def external_nuisances(design: Design, plan: CrossfitPlan, preds: dict) -> NuisanceFits:
    """Wrap user-supplied nuisance predictions (checked for shape and finiteness)."""
    n, k = design.T.shape
    try:
        ell = np.asarray(preds["ell"], dtype=float).reshape(plan.n_rep, n)
        m = np.asarray(preds["m"], dtype=float).reshape(plan.n_rep, n, k)
    except (KeyError, ValueError) as exc:
        raise PLCEError(
            f"external_predictions must be {{'ell': ({plan.n_rep}, {n}), 'm': ({plan.n_rep}, {n}, {k})}} arrays "
            f"for the rows used: {exc}"
        ) from None
    if not (np.isfinite(ell).all() and np.isfinite(m).all()):
        raise PLCEError("external_predictions contain non-finite values.")
    return NuisanceFits(ell=ell, m=m, plan=plan, metrics=_metrics(design, ell, m))


def fit_nuisances(
    design: Design,
    plan: CrossfitPlan,
    *,
    learner_y,
    learner_t,
    n_jobs: int = 1,
    progress: bool = False,
) -> NuisanceFits:
    """Cross-fit the outcome and treatment models over every (repetition, fold)."""
    y, T = design.y, design.T
    n, kt = T.shape
    if plan.seeds.shape[2] < 1 + kt:
        raise PLCEError(f"Too many treatments ({kt}) for the seed plan; this is a bug, please report it.")
    for j, name in enumerate(design.treatment_names):
        if np.ptp(T[:, j]) == 0:
            raise PLCEError(f"The treatment '{name}' is constant (all {T[0, j]:g}); there is no effect to estimate.")
        for r in range(plan.n_rep):
            for k in range(plan.n_folds):
                train, _ = plan.split(r, k)
                if np.ptp(T[train, j]) == 0:
                    raise PLCEError(
                        f"The treatment '{name}' is constant within the training folds of fold {k} "
                        f"(repetition {r}); it varies in too few rows. Use fewer folds or check the data."
                    )
    if design.X.shape[1] == 0:
        X_frame = pd.DataFrame({"_const": np.zeros(n)})
    else:
        X_frame = design.X
    X_num = None
    if not (is_lightgbm(learner_y) and is_lightgbm(learner_t)):
        X_num = design.numeric_X() if design.X.shape[1] else X_frame.to_numpy(dtype=float)
    func = partial(
        _fold_task, y=y, T=T, X_frame=X_frame, X_num=X_num, learner_y=learner_y, learner_t=learner_t, plan=plan
    )
    tasks = [(r, k) for r in range(plan.n_rep) for k in range(plan.n_folds)]
    out = run_tasks(func, tasks, n_jobs=n_jobs, progress=progress, desc="cross-fitting")
    ell = np.empty((plan.n_rep, n))
    m = np.empty((plan.n_rep, n, kt))
    for (r, _k), (test, e, mm) in zip(tasks, out):
        ell[r, test] = e
        m[r, test] = mm
    return NuisanceFits(ell=ell, m=m, plan=plan, metrics=_metrics(design, ell, m))

"""Cross-fitted nuisance functions l(x) = E[y|x] and m(x) = E[t|x].

For each repetition and fold a seeded clone of the learner is fit on the
training folds and predicts the held-out fold, so every unit gets an
out-of-fold prediction in every repetition. With random-intercept terms the
learners are wrapped in :func:`plce.random_effects.backfit`; the held-out
units' BLUPs (from the training folds) are kept as separate columns for the
final stage.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import numpy as np
import pandas as pd

from .crossfit import CrossfitPlan, run_tasks
from .design import Design
from .errors import PLCEError
from .learners import checked_predict, fit_predict, is_classifier, is_lightgbm, learner_matrix, predict_target, \
    seeded_clone
from .random_effects import backfit, predict_re
from .variance import inner_residuals

__all__ = ["NuisanceFits", "fit_nuisances", "external_nuisances", "oof_metrics"]

#: fixed effects in the nuisance models as random intercepts (True) or not at all (False, the default: measured
#: better, docs/method.rst); the switch exists for the validation study that compares them (validation/fixed_effects.py)
_FE_AS_RANDOM_INTERCEPTS = False


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
    re_y: np.ndarray | None = None  # (n_rep, n) held-out BLUP sum of the outcome model
    re_t: np.ndarray | None = None  # (n_rep, n, k) held-out BLUP sums of the treatment models
    re_variances: pd.DataFrame | None = None  # per rep, fold, model, factor: sigma2_b and sigma2
    s2: np.ndarray | None = None  # (n_rep, n) cross-fitted treatment variance (first treatment)
    interference: pd.DataFrame | None = None  # per rep, fold: the interference features kept

    def blup_columns(self, r: int) -> np.ndarray | None:
        """Random-effect columns for the final stage of repetition r: [b_y, b_t1, ..., b_tk]."""
        if self.re_y is None:
            return None
        return np.column_stack([self.re_y[r], self.re_t[r]])


def _rows(M, idx):
    return M.iloc[idx] if isinstance(M, pd.DataFrame) else M[idx]


def ls_offset(base: np.ndarray, y_train: np.ndarray, train: np.ndarray, test: np.ndarray, sw=None):
    """(Weighted) least-squares fit of ``y_train`` (one value per row of ``train``) on [1, base[train]]: fitted values
    for the train and test rows."""
    b_train, b_test = base[train], base[test]  # row subsets only: no n x q copy per call
    Z = np.column_stack([np.ones(len(train)), b_train])
    if sw is None:
        coef, *_ = np.linalg.lstsq(Z, y_train, rcond=None)
    else:
        r = np.sqrt(sw[train])
        coef, *_ = np.linalg.lstsq(Z * r[:, None], y_train * r, rcond=None)
    return coef[0] + b_train @ coef[1:], coef[0] + b_test @ coef[1:]


def _fit_one(learner, seed, X, target, train, test, re, base=None, sw=None):
    """Out-of-fold prediction of one nuisance; with random effects also its held-out BLUP sum.

    With ``base`` (control terms, n x q), the learner fits what a least-squares fit on [1, base] over the training
    rows leaves, and the prediction adds that fit back (boosting from a smooth start: trees are flat in the tails).
    """
    est = seeded_clone(learner, seed)
    w_train = None if sw is None else sw[train]  # sampling weights
    t_train, off_test = target[train], 0.0
    classifier = is_classifier(learner)
    if base is not None and not classifier:  # a classifier fits the 0/1 labels themselves
        off_train, off_test = ls_offset(base, t_train, train, test, sw)
        t_train = t_train - off_train
    if re is None:
        return fit_predict(est, _rows(X, train), t_train, _rows(X, test), w_train) + off_test, None, None
    codes, F, max_iter = re
    fit = backfit(est, _rows(X, train), t_train, [c[train] for c in codes], F[train], max_iter=max_iter,
                  fit_once=classifier, predict=predict_target, sample_weight=w_train)
    f_test = checked_predict(fit.learner, _rows(X, test))
    b_test = predict_re(fit, [c[test] for c in codes]).sum(axis=1)
    return f_test + b_test + off_test, b_test, (fit.sigma2, fit.sigma2_b)


def _inner_residuals(learner, seed, X, target, train, re, rng, inner_folds, base=None, sw=None):
    """Inner out-of-fold residuals of ``target`` over the training units (the held-out fold is never used)."""

    def fp(tr, te):
        return _fit_one(learner, seed, X, target, train[tr], train[te], re, base, sw)[0]

    return inner_residuals(fp, target[train], rng, inner_folds)


def _variance_fold(learner_t, learner_v, seed, Xt, Xv, t, train, test, re, inner_folds, base=None, sw=None):
    """Treatment variance for the held-out fold, learned on inner out-of-fold residuals of the training folds.

    With ``base``, both the inner treatment model and the variance model start from a least-squares fit on the
    control terms (see :func:`_fit_one`). ``seed(role)`` gives the fold's seeds.
    """
    r = _inner_residuals(learner_t, seed("inner_treatment"), Xt, t, train, re, np.random.default_rng(seed("inner_split")),
               inner_folds, base, sw)
    target, off_test = r**2, 0.0
    if base is not None:
        off_train, off_test = ls_offset(base, target, train, test, sw)
        target = target - off_train
    return fit_predict(seeded_clone(learner_v, seed("variance")), _rows(Xv, train), target, _rows(Xv, test),
                       None if sw is None else sw[train]) + off_test


def _augment(X, F: np.ndarray):
    """Append the interference features to a learner's feature object (frame or array)."""
    if F.shape[1] == 0:
        return X
    if isinstance(X, pd.DataFrame):
        extra = pd.DataFrame(F, index=X.index, columns=[f"_psi{j}" for j in range(F.shape[1])])
        return pd.concat([X, extra], axis=1)
    return np.column_stack([X, F])


def _interference_fold(inter, learner_y, learner_t, seed, Xy, Xt, y, t, train, re, sw=None):
    """Select the fold's interference features from inner residuals of models without them."""
    plan_i, inner_folds = inter
    s = np.random.SeedSequence([seed("inner_split"), 1]).generate_state(3)
    rng = np.random.default_rng(int(s[0]))
    r_y = _inner_residuals(learner_y, int(s[1]), Xy, y, train, re, rng, inner_folds, sw=sw)
    r_t = _inner_residuals(learner_t, int(s[2]), Xt, t, train, re, np.random.default_rng(int(s[0])), inner_folds,
                           sw=sw)
    kept = plan_i.select(train, r_y, r_t, rng=np.random.default_rng(int(s[0]) + 1))
    return kept, plan_i.indices(kept, train, r_y, r_t)


def _fold_task(task, *, y, T, X_frame, X_num, learner_y, learner_t, plan, re, variance, inter=None, sw=None,
               known_m=None):
    r, k = task
    train, test = plan.split(r, k)
    seed = partial(plan.seed, r, k)
    Xy = learner_matrix(learner_y, X_frame, X_num)
    Xt = learner_matrix(learner_t, X_frame, X_num)
    kept, F = [], np.empty((len(y), 0))
    if inter is not None:
        kept, F = _interference_fold(inter, learner_y, learner_t, seed, Xy, Xt, y, T[:, 0], train, re, sw)
        Xy, Xt = _augment(Xy, F), _augment(Xt, F)
    ell, by, vy = _fit_one(learner_y, seed("outcome"), Xy, y, train, test, re, sw=sw)
    if known_m is not None:  # a randomized treatment: its mean is known, nothing to learn
        outs = [(known_m[test, j], None if re is None else np.zeros(len(test)), None) for j in range(T.shape[1])]
    else:
        outs = [_fit_one(learner_t, seed(f"treatment:{j}"), Xt, T[:, j], train, test, re, sw=sw)
                for j in range(T.shape[1])]
    m = np.column_stack([o[0] for o in outs])
    bt = None if re is None else np.column_stack([o[1] for o in outs])
    s2 = None
    if variance is not None:
        learner_v, inner_folds, base = variance
        # the variance model sees the controls only: with the interference index in it too, the weights got
        # noisier where there is no interference (baseline RMSE 1.47x off's; without it 1.04x, 24 seeds)
        Xv = learner_matrix(learner_v, X_frame, X_num)
        Xt0 = learner_matrix(learner_t, X_frame, X_num)
        s2 = _variance_fold(learner_t, learner_v, seed, Xt0, Xv, T[:, 0], train, test, re, inner_folds, base, sw)
    return test, ell, m, by, bt, (vy, [o[2] for o in outs]), s2, kept


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
    s2 = None
    if "s2" in preds:
        s2 = np.asarray(preds["s2"], dtype=float).reshape(plan.n_rep, n)
    if not (np.isfinite(ell).all() and np.isfinite(m).all()):
        raise PLCEError("external_predictions contain non-finite values.")
    return NuisanceFits(ell=ell, m=m, plan=plan, metrics=_metrics(design, ell, m), s2=s2)


def fit_nuisances(
    design: Design,
    plan: CrossfitPlan,
    *,
    learner_y,
    learner_t,
    n_jobs: int = 1,
    progress: bool = False,
    re_iter: int = 2,
    variance: tuple | None = None,
    interference=None,
    inner_folds: int = 2,
    known_m: np.ndarray | None = None,
) -> NuisanceFits:
    """Cross-fit the outcome and treatment models over every (repetition, fold).

    ``re_iter`` is the number of backfitting passes when the design has random intercepts.
    ``variance=(learner, inner_folds, base)`` also cross-fits the first treatment's conditional variance; ``base``
    (n x q control terms or None) is the least-squares start of its inner treatment model and of the variance model.
    ``interference`` (an :class:`plce.interference.InterferencePlan`) adds the interference features each
    fold selects from inner residuals (an ``inner_folds``-way split) of its training units to every learner of that
    fold.
    """
    y, T = design.y, design.T
    n, kt = T.shape
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
    # the learners see the controls only; fixed effects are absorbed in the final stage (docs/method.rst)
    factors = {**design.groups, **(design.fixed_effects if _FE_AS_RANDOM_INTERCEPTS else {})}
    has_re = bool(factors)
    learners = [learner_y, learner_t] + ([variance[0]] if variance is not None else [])
    if has_re or not all(is_lightgbm(lrn) for lrn in learners):
        X_num = design.numeric_X() if design.X.shape[1] else X_frame.to_numpy(dtype=float)
    re = None
    if has_re:
        F = np.column_stack([np.ones(n), X_num]) if design.X.shape[1] else np.ones((n, 1))
        re = (list(factors.values()), F, re_iter)
    func = partial(
        _fold_task, y=y, T=T, X_frame=X_frame, X_num=X_num, learner_y=learner_y, learner_t=learner_t, plan=plan,
        re=re, variance=variance, sw=design.weights, known_m=known_m,
        inter=None if interference is None else (interference, inner_folds),
    )
    tasks = [(r, k) for r in range(plan.n_rep) for k in range(plan.n_folds)]
    out = run_tasks(func, tasks, n_jobs=n_jobs, progress=progress, desc="cross-fitting")
    ell = np.empty((plan.n_rep, n))
    m = np.empty((plan.n_rep, n, kt))
    re_y = np.empty((plan.n_rep, n)) if has_re else None
    re_t = np.empty((plan.n_rep, n, kt)) if has_re else None
    var_rows = []
    names = list(factors)
    s2 = np.empty((plan.n_rep, n)) if variance is not None else None
    kept_rows = []
    for (r, k), (test, e, mm, by, bt, var, sv, kept) in zip(tasks, out):
        kept_rows += [(r, k, interference.name(sel), sel.model, sel.a, sel.b, sel.nu, sel.score) for sel in kept]
        ell[r, test] = e
        m[r, test] = mm
        if s2 is not None:
            s2[r, test] = sv
        if has_re:
            re_y[r, test] = by
            re_t[r, test] = bt
            models = [("outcome", var[0])] + [(f"treatment:{t}", v) for t, v in zip(design.treatment_names, var[1])
                                              if v is not None]
            for model, (sig2, sig2b) in models:
                for name, v in zip(names, sig2b):
                    var_rows.append((r, k, model, name, v, sig2))
    re_var = None
    if has_re:
        re_var = pd.DataFrame(var_rows, columns=["rep", "fold", "model", "factor", "sigma2_b", "sigma2"])
    metrics = _metrics(design, ell, m)
    if s2 is not None:
        sq = (T[:, 0][None, :] - m[:, :, 0]) ** 2
        rows = [("variance", r, *oof_metrics(sq[r], s2[r])) for r in range(plan.n_rep)]
        metrics = pd.concat([metrics, pd.DataFrame(rows, columns=metrics.columns)], ignore_index=True)
    kept_df = None
    if interference is not None:
        kept_df = pd.DataFrame(kept_rows, columns=["rep", "fold", "feature", "model", "smoothed", "proximity", "nu",
                                                   "score"])
    return NuisanceFits(ell=ell, m=m, plan=plan, metrics=metrics, re_y=re_y, re_t=re_t,
                        re_variances=re_var, s2=s2, interference=kept_df)

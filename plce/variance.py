"""Treatment-variance model s^2(x) = E[(t - m(x))^2 | x] and the final-stage weights.

Why: with heterogeneous effects theta(x), a regression of y on t (after
partialling out x) estimates the variance-weighted average
E[s^2(x) theta(x)] / E[s^2(x)]. Weighting unit i by 1/s^2(x_i) turns it into
E[theta(x)], the average effect (for a binary t, the ATE). See ``docs/method.rst``, "Treatment-variance weights".

How: for each held-out fold, the variance model is fit *inside the training
folds* on out-of-fold squared treatment residuals from an inner split of the
training data (``inner_folds`` parts; in-sample boosting residuals are far too
small), and predicts the held-out units (:mod:`plce.nuisance`). Both the inner
treatment model and the variance model start from a least-squares fit on the
control terms (:func:`plce.nuisance.ls_offset`), the learner fitting what it
leaves. For a 0/1 treatment the default is the closed form s^2 = m(1 - m) from
the cross-fitted m_hat, clipped to [0.01, 0.99] (:func:`treatment_variance`).
Predictions are floored at ``floor`` times their mean so that no unit
dominates; weights are 1/s^2 normalised to mean 1.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import PLCEError, PositivityWarning, warn

__all__ = ["VARIANCE_METHODS", "is_binary", "inner_residuals", "stabilized_weights", "WeightDiagnostics",
           "weight_diagnostics", "ESS_WARN_FRACTION", "treatment_variance", "PROPENSITY_CLIP"]

VARIANCE_METHODS = ("auto", "model", "binary")
#: plce warns when the effective sample size of the weights is below this fraction of n
ESS_WARN_FRACTION = 0.2
#: plce warns when more than this share of units sit at the variance floor
FLOOR_WARN_SHARE = 0.25


#: a 0/1 treatment's propensities are clipped to [PROPENSITY_CLIP, 1 - PROPENSITY_CLIP] in m(1 - m)
PROPENSITY_CLIP = 0.01


def treatment_variance(nuisances, r: int, method: str) -> np.ndarray:
    """s^2(x) of repetition ``r``: m(1 - m) of the clipped propensity (``"binary"``) or the learned variance."""
    if method == "binary":
        p = np.clip(nuisances.m[r, :, 0], PROPENSITY_CLIP, 1 - PROPENSITY_CLIP)
        return p * (1 - p)
    if nuisances.s2 is None:
        raise PLCEError("external_predictions need an 's2' entry when the estimand is the average effect with a "
                        "non-binary treatment (or pass estimand='variance_weighted').")
    return nuisances.s2[r]


def is_binary(t: np.ndarray) -> bool:
    u = np.unique(t)
    return len(u) == 2 and set(u.tolist()) <= {0.0, 1.0}


def inner_residuals(fit_predict_fn, t_train: np.ndarray, rng: np.random.Generator,
                    inner_folds: int = 2) -> np.ndarray:
    """Out-of-fold treatment residuals of the training units from an inner ``inner_folds``-way split.

    ``fit_predict_fn(train_idx, test_idx)`` fits the treatment learner on the training units
    ``train_idx`` (positions within the training set) and predicts ``test_idx``.
    """
    n = len(t_train)
    lab = np.empty(n, dtype=np.int64)
    lab[rng.permutation(n)] = np.arange(n) % inner_folds
    r = np.empty(n)
    for j in range(inner_folds):
        tr, te = np.flatnonzero(lab != j), np.flatnonzero(lab == j)
        r[te] = t_train[te] - fit_predict_fn(tr, te)
    return r


def stabilized_weights(s2: np.ndarray, floor: float) -> tuple[np.ndarray, np.ndarray]:
    """Weights 1/max(s2, floor * mean(s2)), normalised to mean 1; also the mask of floored units."""
    s2 = np.asarray(s2, dtype=float)
    if not np.all(np.isfinite(s2)):
        raise PLCEError("The treatment-variance model returned non-finite values; use another variance learner.")
    if not 0 < floor < 1:
        raise PLCEError(f"weight_floor must be in (0, 1) (a fraction of the mean variance); got {floor!r}.")
    pos = np.maximum(s2, 0.0)
    mean = pos.mean()
    if mean <= 0:
        raise PLCEError(
            "The estimated conditional variance of the treatment is 0 for every unit: the treatment is a "
            "deterministic function of the controls, so its effect is not identified (positivity fails)."
        )
    lo = floor * mean
    floored = pos < lo
    w = 1.0 / np.maximum(pos, lo)
    return w / w.mean(), floored


@dataclass(frozen=True)
class WeightDiagnostics:
    """Summary of the final-stage weights (averaged over repetitions)."""

    ess: float
    ess_fraction: float
    max_share: float
    n_floored: float
    method: str

    def lines(self) -> list[tuple[str, str]]:
        return [
            ("Weights ESS (share of n):", f"{self.ess:.0f} ({100 * self.ess_fraction:.0f}%)"),
            ("Largest weight share:", f"{100 * self.max_share:.2f}%"),
            ("Units at variance floor:", f"{self.n_floored:.0f}"),
        ]


def weight_diagnostics(weights: list[np.ndarray], floored: list[np.ndarray], method: str) -> WeightDiagnostics:
    """ESS (sum w)^2 / sum w^2, the largest weight's share and the floored count, averaged over repetitions."""
    W = np.stack(weights)
    ess = (W.sum(1) ** 2 / (W**2).sum(1)).mean()
    n = W.shape[1]
    diag = WeightDiagnostics(
        ess=float(ess), ess_fraction=float(ess / n), max_share=float((W.max(1) / W.sum(1)).mean()),
        n_floored=float(np.mean([f.sum() for f in floored])), method=method,
    )
    if diag.ess_fraction < ESS_WARN_FRACTION:
        warn(f"The treatment-variance weights have an effective sample size of {diag.ess:.0f} "
             f"({100 * diag.ess_fraction:.0f}% of n): a few units with nearly deterministic treatment dominate "
             "(a positivity problem). Consider heteroskedasticity=False or a larger weight_floor.",
             PositivityWarning)
    if diag.n_floored > FLOOR_WARN_SHARE * n:
        warn(f"{diag.n_floored:.0f} units ({100 * diag.n_floored / n:.0f}%) have an estimated treatment variance "
             "below the floor: the treatment is (nearly) determined by the controls for many units, so their "
             "effect is poorly identified.", PositivityWarning)
    return diag

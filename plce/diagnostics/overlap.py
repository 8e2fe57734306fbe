"""Overlap (positivity) seen at any ``n_rep``: the propensity's distribution by arm, the weights, trimming.

For a 0/1 treatment the out-of-fold propensities m_hat(x) are averaged over repetitions (``propensity``); a unit
is *near the boundary* when that average is below :data:`LOW` or above :data:`HIGH`. The table by arm gives the
minimum, maximum and the shares below 0.01/0.05 and above 0.95/0.99, and the share of the final-stage weight those
units carry. Which tail matters depends on the estimand: both for the ATE (weights 1/(m(1 - m))), propensities
near 1 for the ATT (weights 1/(1 - m): controls that look treated), near 0 for the ATC.

For a continuous treatment the weights are 1/s^2(x): the diagnostics are the share of units at the variance
floor, the effective sample size and the largest weight's share (:class:`plce.variance.WeightDiagnostics`).

Trimming (``trim=``): a fixed threshold a keeps the units with a <= propensity <= 1 - a; ``"crump"`` chooses a
by the rule of Crump, Hotz, Imbens & Mitnik (2009, Biometrika 96(1)): with g = 1/(e(1 - e)), no trimming when
max g <= 2 E[g]; otherwise a solves 1/(a(1 - a)) = 2 E[g | g <= 1/(a(1 - a))]. The estimand becomes the average
effect over the kept (overlap) sample, and the summary says so.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import PLCEError, PositivityWarning, warn

__all__ = ["LOW", "HIGH", "crump_threshold", "trim_mask", "OverlapDiagnostics", "overlap_diagnostics",
           "WARN_UNIT_SHARE", "WARN_WEIGHT_SHARE", "WARN_CLIPPED_SHARE"]

#: propensities below LOW or above HIGH are "near the boundary"
LOW, HIGH = 0.05, 0.95
#: warn when more than this share of the units is near the boundary on the tail the estimand uses
WARN_UNIT_SHARE = 0.10
#: or when those units carry more than this share of the final-stage weight
WARN_WEIGHT_SHARE = 0.25
#: or when more than this share of the out-of-fold propensities (units x repetitions) were clipped
WARN_CLIPPED_SHARE = 0.05


def crump_threshold(p: np.ndarray) -> float:
    """The trimming threshold a of Crump et al. (2009) for propensities ``p`` (0 when no trimming is needed)."""
    p = np.clip(np.asarray(p, dtype=float), 1e-12, 1 - 1e-12)
    g = np.sort(1.0 / (p * (1.0 - p)))
    if g[-1] <= 2.0 * g.mean():
        return 0.0
    cmean = np.cumsum(g) / np.arange(1, len(g) + 1)
    ok = np.flatnonzero(g >= 2.0 * cmean)  # lambda = g_k with g_k >= 2 E[g | g <= g_k]: the root is just below
    lam = float(g[ok[0]]) if ok.size else float(g[-1])
    lam = max(lam, 4.0)
    return float(0.5 - np.sqrt(0.25 - 1.0 / lam))


def trim_mask(p: np.ndarray, trim) -> tuple[np.ndarray, float]:
    """Units kept by ``trim`` (a threshold in (0, 0.5) or ``"crump"``) and the threshold used."""
    if isinstance(trim, str):
        if trim.lower() != "crump":
            raise PLCEError(f"trim must be a threshold in (0, 0.5) or 'crump'; got {trim!r}.")
        a = crump_threshold(p)
    else:
        a = float(trim)
    keep = (p >= a) & (p <= 1 - a)
    return keep, a


def _arm_rows(p: np.ndarray, w: np.ndarray | None, t: np.ndarray) -> pd.DataFrame:
    rows = []
    total = w.sum() if w is not None else np.nan
    for arm, mask in (("treated", t == 1), ("control", t == 0), ("all", np.ones(len(t), bool))):
        q = p[mask]
        near = (q < LOW) | (q > HIGH)
        rows.append({
            "arm": arm, "n": int(mask.sum()), "min": float(q.min()) if q.size else np.nan,
            "max": float(q.max()) if q.size else np.nan,
            "below_0.01": float(np.mean(q < 0.01)) if q.size else np.nan,
            "below_0.05": float(np.mean(q < LOW)) if q.size else np.nan,
            "above_0.95": float(np.mean(q > HIGH)) if q.size else np.nan,
            "above_0.99": float(np.mean(q > 0.99)) if q.size else np.nan,
            "weight_share_near_boundary": float(w[mask][near].sum() / total) if w is not None else np.nan,
        })
    return pd.DataFrame(rows).set_index("arm")


@dataclass(frozen=True)
class OverlapDiagnostics:
    """Per-unit propensities (binary) or variances (continuous), weights, and what is near the boundary."""

    binary: bool
    estimand: str
    score: np.ndarray  # (n,) mean out-of-fold propensity (binary) or treatment variance (continuous)
    weight: np.ndarray | None  # (n,) mean normalised final-stage weight (None without weights)
    near: np.ndarray  # (n,) bool: near the boundary on the tail the estimand uses
    t: np.ndarray
    table: pd.DataFrame | None  # by arm (binary)
    clipped_share: float  # share of unit-repetitions whose propensity was clipped
    n_clipped: int
    trimmed: np.ndarray | None  # (n,) bool, units trimmed away
    threshold: float | None  # trimming threshold used

    @property
    def _in(self) -> np.ndarray:
        return np.ones(len(self.near), bool) if self.trimmed is None else ~self.trimmed

    @property
    def share_near(self) -> float:
        """Share of the units (in the final stage) near the boundary on the estimand's tail."""
        return float(np.mean(self.near[self._in]))

    @property
    def weight_share_near(self) -> float:
        """Share of the final-stage weight those units carry."""
        if self.weight is None:
            return float("nan")
        w = self.weight[self._in]
        return float(w[self.near[self._in]].sum() / w.sum())

    def lines(self) -> list[tuple[str, str]]:
        """Rows for the summary's diagnostics block."""
        if not self.binary:
            return []
        tab = self.table
        rows = [(f"Propensity, {arm} (min-max):", f"{tab.loc[arm, 'min']:.3f}-{tab.loc[arm, 'max']:.3f}")
                for arm in ("treated", "control")]
        tail = {"att": "above 0.95", "atc": "below 0.05"}.get(self.estimand, "outside [0.05, 0.95]")
        weight = "" if self.weight is None else f", {100 * self.weight_share_near:.0f}% of weight"
        rows.append((f"Propensity {tail}:", f"{100 * self.share_near:.1f}% of units{weight}"))
        rows.append(("Propensities clipped:", f"{self.n_clipped} ({100 * self.clipped_share:.1f}% of unit-reps)"))
        if self.trimmed is not None:
            rows.append(("Trimmed (overlap):", f"{int(self.trimmed.sum())} units (threshold {self.threshold:.3f})"))
        return rows

    def frame(self, design) -> pd.DataFrame:
        """Per-unit table aligned with the design's input rows."""
        idx = design.input_index if design.input_index is not None else pd.RangeIndex(len(design.row_mask))
        mask = design.row_mask

        def full(values, fill):
            out = np.full(len(idx), fill, dtype=np.asarray(values).dtype if fill is not np.nan else float)
            out[mask] = values
            return out

        cols = {("propensity" if self.binary else "variance"): full(self.score, np.nan)}
        cols["weight"] = full(self.weight, np.nan) if self.weight is not None else np.full(len(idx), np.nan)
        cols["near_boundary"] = full(self.near, False)
        cols["trimmed"] = full(self.trimmed, False) if self.trimmed is not None else np.zeros(len(idx), bool)
        cols["dropped"] = ~mask
        return pd.DataFrame(cols, index=idx)

    def warn(self) -> None:
        """PositivityWarning when a material share of units or weight is near the boundary, saying what to do."""
        if not self.binary or self.weight is None:
            return
        msgs = []
        if self.share_near > WARN_UNIT_SHARE or (self.weight is not None and
                                                 self.weight_share_near > WARN_WEIGHT_SHARE):
            tail = {"att": "above 0.95 (controls that look treated)",
                    "atc": "below 0.05 (treated units that look like controls)"}.get(
                self.estimand, "below 0.05 or above 0.95")
            weight = "" if self.weight is None else f", carrying {100 * self.weight_share_near:.0f}% of the weight"
            msgs.append(f"{100 * self.share_near:.0f}% of units have an out-of-fold propensity {tail}{weight}")
        if self.clipped_share > WARN_CLIPPED_SHARE:
            msgs.append(f"{100 * self.clipped_share:.0f}% of the out-of-fold propensities were clipped to "
                        "[0.01, 0.99]")
        if not msgs:
            return
        fix = ("estimand='att' if the treated units overlap the controls, trim=0.05 or trim='crump' (Crump et al. "
               "2009; the estimand becomes the effect on the overlap sample), or a sample with common support")
        if self.estimand == "att":
            fix = "trim=0.05 or trim='crump', or a comparison sample closer to the treated"
        warn(f"Overlap: {'; '.join(msgs)}. The {self.estimand.upper()} is poorly identified there: consider {fix}. "
             "See res.overlap and res.plot_overlap().", PositivityWarning)


def overlap_diagnostics(t: np.ndarray, m: np.ndarray, weights, *, binary: bool, estimand: str, s2=None,
                        floored=None, clip: float = 0.01, trimmed=None, threshold=None) -> OverlapDiagnostics:
    """Overlap diagnostics from the out-of-fold propensities ``m`` (n_rep, n) (or the variances ``s2`` and the
    masks of floored units of every repetition)."""
    w = None
    if weights is not None and all(x is not None for x in weights):
        w = np.mean(np.stack(weights), axis=0)
    if binary:
        p = np.mean(m, axis=0)
        clipped = (m < clip) | (m > 1 - clip)
        near = {"att": p > HIGH, "atc": p < LOW}.get(estimand, (p < LOW) | (p > HIGH))
        table = _arm_rows(p, w, t)
        return OverlapDiagnostics(True, estimand, p, w, near, t, table, float(clipped.mean()), int(clipped.sum()),
                                  trimmed, threshold)
    score = np.mean(s2, axis=0) if s2 is not None else np.full(len(t), np.nan)
    near = np.mean(np.stack(floored), axis=0) >= 0.5 if floored else np.zeros(len(t), bool)
    return OverlapDiagnostics(False, estimand, score, w, near, t, None, 0.0, 0, trimmed, threshold)

"""Positivity diagnostic of Ratkovic (2023): excess kurtosis of each unit's treatment residuals across splits.

For unit i with final-stage treatment residuals v_i1..v_iR over the R
repetitions (all residuals standardized by one global mean and SD, no per-unit
centring, as the R package does),

    kappa_i = mean_r(v_ir^4) / (mean_r v_ir^2)^2 - 3.

A unit whose treatment varies by noise of its own has nearly the same residual
in every split, so kappa is near its minimum, -2. A unit whose treatment is
(nearly) determined by the controls has a residual that is mostly
split-to-split approximation error, so its kappa is higher.

The reference ("no positivity problem") is calibrated to the fit: each unit's
residual is a stable shock of its own plus split noise of a common size,
v_ir = a_i + e_ir with a_i ~ N(0, s2_a), e_ir ~ N(0, s2_e), the two variances
estimated from the residual matrix (between- and within-unit). Its sorted
kurtoses, simulated, are the expected curve; the plot shows observed minus
expected against the percentile (Ratkovic 2023's figure), which stays near zero when
every unit behaves like that and rises at the top when some units' residuals are
dominated by split noise. A unit is *flagged* when its kappa exceeds the
reference's 90th percentile (10% expected without a problem).

Measured (n = 800, 20 repetitions, default settings, two seeds;
tests/test_positivity.py): with the treatment nearly deterministic (noise SD
0.02 instead of 1) for x1 > 1, 46% of the units in that region are flagged
against 6-7% elsewhere, and the curve's upper decile rises to 0.17-0.26;
without the violation 6-12% are flagged and the curve stays at zero (within
0.01) up to its top decile; only the last few percentiles can wander.

How to read the plot: the grey band is the range of 20 simulated reference
curves, so a healthy fit stays inside it. A dip below zero at the top means
fewer units than the reference with split-dominated residuals (a randomized
experiment, whose residuals are a stable own shock, shows it); only a rise
above the band at the top signals a positivity problem.

With fewer than :data:`MIN_REPS` repetitions the kurtosis of so few values is
bounded by R and carries little information; the diagnostic then says so
instead of printing numbers.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["MIN_REPS", "WARN_SHARE", "excess_kurtosis", "reference_kurtosis", "PositivityDiagnostic", "positivity",
           "warn_positivity"]

#: fewest repetitions for which the diagnostic is computed
MIN_REPS = 10
#: share of flagged units above which plce warns (10% is expected without a positivity problem)
WARN_SHARE = 0.2


def excess_kurtosis(resid: np.ndarray) -> np.ndarray:
    """Per-unit excess kurtosis across repetitions of residuals ``resid`` (R, n), globally standardized."""
    r = np.asarray(resid, dtype=float)
    sd = r.std()
    if not np.isfinite(sd) or sd == 0:
        return np.full(r.shape[1], np.nan)
    z = (r - r.mean()) / sd
    m2 = (z**2).mean(axis=0)
    m4 = (z**4).mean(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return m4 / m2**2 - 3.0


def reference_kurtosis(resid: np.ndarray, rng: np.random.Generator, n_sim: int = 20) -> np.ndarray:
    """Kurtoses (n_sim, n) under the calibrated reference v_ir = a_i + e_ir (see the module docstring)."""
    R, n = resid.shape
    s2e = float(resid.var(axis=0, ddof=1).mean())
    s2a = max(float(resid.mean(axis=0).var(ddof=1)) - s2e / R, 0.0)
    return np.stack([
        excess_kurtosis(rng.normal(0.0, np.sqrt(s2a), n)[None, :] + rng.normal(0.0, np.sqrt(s2e), (R, n)))
        for _ in range(n_sim)
    ])


@dataclass(frozen=True)
class PositivityDiagnostic:
    """Per-unit kurtosis, the comparison curve and the one-line summary."""

    n_rep: int
    kurtosis: np.ndarray | None  # (n,) for the units used
    threshold: float | None  # the reference's 90th percentile
    share_flagged: float | None
    curve: pd.DataFrame | None
    trim: float

    @property
    def reliable(self) -> bool:
        return self.kurtosis is not None

    @property
    def flagged(self) -> np.ndarray | None:
        return None if self.kurtosis is None else self.kurtosis > self.threshold

    def line(self) -> str:
        if not self.reliable:
            return f"needs n_rep >= {MIN_REPS} (fit has {self.n_rep})"
        return f"{100 * self.share_flagged:.1f}% of units flagged (10% expected)"

    def frame(self, design, kept: np.ndarray | None = None) -> pd.DataFrame:
        """Per-unit table aligned with the design's input rows: ``excess_kurtosis``, ``flagged``, ``dropped``.

        ``kept`` (over the design's rows) marks the units of the final stage when some were trimmed.
        """
        idx = design.input_index if design.input_index is not None else pd.RangeIndex(len(design.row_mask))
        kappa = np.full(len(idx), np.nan)
        flagged = np.zeros(len(idx), dtype=bool)
        rows = np.flatnonzero(design.row_mask)
        if kept is not None:
            rows = rows[kept]
        if self.reliable:
            kappa[rows] = self.kurtosis
            flagged[rows] = self.flagged
        return pd.DataFrame({"excess_kurtosis": kappa, "flagged": flagged, "dropped": ~design.row_mask}, index=idx)


def positivity(resid: np.ndarray, *, seed: int = 0, trim: float = 0.0125, q: float = 0.9) -> PositivityDiagnostic:
    """Compute the diagnostic from residuals of shape (R, n)."""
    R, n = resid.shape
    if R < MIN_REPS:
        return PositivityDiagnostic(n_rep=R, kurtosis=None, threshold=None, share_flagged=None, curve=None,
                                    trim=trim)
    rng = np.random.default_rng([seed, 7129])
    kappa = excess_kurtosis(resid)
    ref = reference_kurtosis(resid, rng)
    threshold = float(np.quantile(ref, q))
    sims = np.sort(ref, axis=1)
    expected = sims.mean(axis=0)
    observed = np.sort(kappa)
    pct = (np.arange(n) + 0.5) / n
    keep = (pct >= trim) & (pct <= 1 - trim)
    curve = pd.DataFrame({"percentile": 100 * pct[keep], "observed": observed[keep], "expected": expected[keep],
                          "difference": observed[keep] - expected[keep],
                          "reference_low": (sims.min(axis=0) - expected)[keep],
                          "reference_high": (sims.max(axis=0) - expected)[keep]})
    return PositivityDiagnostic(n_rep=R, kurtosis=kappa, threshold=threshold,
                                share_flagged=float(np.mean(kappa > threshold)), curve=curve, trim=trim)


def warn_positivity(diag: PositivityDiagnostic) -> None:
    """PositivityWarning when more than :data:`WARN_SHARE` of the units are flagged."""
    from ..errors import PositivityWarning, warn

    if diag.reliable and diag.share_flagged > WARN_SHARE:
        warn(
            f"Positivity: {100 * diag.share_flagged:.1f}% of units have treatment residuals dominated by "
            "split-to-split noise (excess kurtosis above the 90th percentile of the no-problem reference; 10% "
            "expected). The treatment may be nearly determined by the controls for these units; inspect "
            "res.positivity and res.plot_positivity().",
            PositivityWarning,
        )

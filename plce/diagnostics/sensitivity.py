"""Cinelli & Hazlett (2020) sensitivity to omitted confounding: the numeric functions.

Names and conventions follow R's sensemakr (v0.1.6) so users recognise them;
every formula is that of Cinelli & Hazlett (2020, JRSS-B 82(1)), with
sensemakr's degrees-of-freedom conventions (documented per function). They are
pure functions of numbers and broadcast over numpy arrays.

Notation: ``r2dz_x`` = R^2_{D~Z|X}, ``r2yz_dx`` = R^2_{Y~Z|D,X}, ``dof`` the
residual degrees of freedom of the (classical OLS) regression of Y on D and X.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from ..errors import PLCEError, PLCEWarning, warn

__all__ = [
    "partial_r2",
    "partial_f2",
    "partial_f",
    "group_partial_r2",
    "robustness_value",
    "bias",
    "adjusted_estimate",
    "adjusted_se",
    "adjusted_t",
    "adjusted_ci",
    "adjusted_partial_r2",
    "relative_bias",
    "bias_factor",
    "ovb_partial_r2_bound",
    "adjusted_critical_value",
    "sensitivity_stats",
    "ovb_bounds",
    "bounds_table",
    "summary_rows",
]


def _dof(dof) -> np.ndarray:
    d = np.asarray(dof, dtype=float)
    if np.any(~np.isfinite(d)) or np.any(d <= 1):
        raise PLCEError(f"dof must be a number greater than 1 (residual degrees of freedom); got {dof!r}.")
    return d


def _r2(value, name: str, *, upper_open: bool = False) -> np.ndarray:
    v = np.asarray(value, dtype=float)
    bad = (v < 0) | (v >= 1 if upper_open else v > 1) | ~np.isfinite(v)
    if np.any(bad):
        rng = "[0, 1)" if upper_open else "[0, 1]"
        raise PLCEError(f"{name} must be a partial R^2 in {rng}; got {value!r}.")
    return v


def _alpha(alpha) -> float:
    if not (isinstance(alpha, (int, float, np.floating)) and 0 < float(alpha) < 1):
        raise PLCEError(f"alpha must be in (0, 1); got {alpha!r}.")
    return float(alpha)


def _ret(x):
    x = np.asarray(x, dtype=float)
    return float(x) if x.ndim == 0 else x


def partial_r2(t_statistic, dof):
    """Partial R^2 of the treatment with the outcome: t^2 / (t^2 + dof).

    Examples
    --------
    >>> round(partial_r2(4.18445, 783), 6)
    0.021873
    """
    t = np.asarray(t_statistic, dtype=float)
    return _ret(t**2 / (t**2 + _dof(dof)))


def partial_f2(t_statistic, dof):
    """Partial Cohen's f^2 = t^2 / dof."""
    return _ret(np.asarray(t_statistic, dtype=float) ** 2 / _dof(dof))


def partial_f(t_statistic, dof):
    """Partial Cohen's f = |t| / sqrt(dof)."""
    return _ret(np.abs(np.asarray(t_statistic, dtype=float)) / np.sqrt(_dof(dof)))


def group_partial_r2(coefs, cov, dof):
    """Partial R^2 of a group of p coefficients: F p / (F p + dof), F = b'V^{-1}b / p."""
    b = np.atleast_1d(np.asarray(coefs, dtype=float))
    V = np.atleast_2d(np.asarray(cov, dtype=float))
    Fp = float(b @ np.linalg.solve(V, b))
    return Fp / (Fp + float(_dof(dof)))


def robustness_value(t_statistic, dof, q: float = 1.0, alpha: float = 1.0, *, se_ratio: float = 1.0,
                     critical: float | None = None):
    """Robustness value RV_{q,alpha} (Cinelli & Hazlett 2020, sec. 4; sensemakr's conventions).

    The minimum strength of association (partial R^2 with both treatment and
    outcome) an omitted confounder needs to reduce the estimate by 100q% (with
    ``alpha=1``), or to make the ``1-alpha`` interval include that value.

    Parameters
    ----------
    t_statistic, dof : float or array
    q : float, default 1
        Fraction of the estimate to be explained away (> 0).
    alpha : float, default 1.0
        ``1.0`` gives RV_q; e.g. ``0.05`` gives RV_{q,0.05}. The critical value
        is Student's t with ``dof - 1`` degrees of freedom, as in sensemakr.
    se_ratio, critical : float, optional
        For a headline standard error other than the classical one (robust, clustered): its ratio to the classical
        SE, and the headline test's critical value. The confounder's bias is the classical formula's (it depends on
        the residual standard deviations), while the interval uses the headline SE scaled as the classical formula
        scales the classical one; the closed form is sensemakr's with the critical value ``se_ratio * critical``.
        With ``se_ratio=1`` and no ``critical`` this is sensemakr's RV.

    Examples
    --------
    >>> round(robustness_value(4.18445, 783), 5)
    0.13878
    >>> round(robustness_value(4.18445, 783, alpha=0.05), 5)
    0.07626
    """
    if not (isinstance(q, (int, float, np.floating)) and q > 0):
        raise PLCEError(f"q must be a positive number (the share of the estimate explained away); got {q!r}.")
    if not (isinstance(alpha, (int, float, np.floating)) and 0 < float(alpha) <= 1):
        raise PLCEError(f"alpha must be in (0, 1]; got {alpha!r}.")
    d = _dof(dof)
    fq = q * np.abs(np.asarray(t_statistic, dtype=float)) / np.sqrt(d)
    if alpha >= 1:
        fcrit = np.zeros_like(fq)
    else:
        crit = np.abs(stats.t.ppf(alpha / 2, d - 1)) if critical is None else abs(float(critical))
        fcrit = float(se_ratio) * crit / np.sqrt(d - 1)
    fqa = fq - fcrit
    with np.errstate(divide="ignore", invalid="ignore"):
        rv = np.where(fqa > 0, 0.5 * (np.sqrt(fqa**4 + 4 * fqa**2) - fqa**2), 0.0)
        xrv = np.where(fq > fcrit, (fq**2 - fcrit**2) / (1 + fq**2), 0.0)
        binding = np.where(fcrit > 0, fq > 1 / np.where(fcrit > 0, fcrit, 1.0), False)
    rv = np.where((fqa > 0) & binding, xrv, rv)
    return _ret(rv)


def bias_factor(r2dz_x, r2yz_dx):
    """BF = sqrt(R^2_{Y~Z|D,X} R^2_{D~Z|X} / (1 - R^2_{D~Z|X}))."""
    r2d = _r2(r2dz_x, "r2dz_x", upper_open=True)
    r2y = _r2(r2yz_dx, "r2yz_dx")
    return np.sqrt(r2y * r2d / (1 - r2d))


def bias(se, dof, r2dz_x, r2yz_dx):
    """Absolute omitted-variable bias: se * sqrt(dof) * BF (Cinelli & Hazlett eq. 14)."""
    return _ret(np.asarray(se, dtype=float) * np.sqrt(_dof(dof)) * bias_factor(r2dz_x, r2yz_dx))


def adjusted_estimate(estimate, se, dof, r2dz_x, r2yz_dx, reduce: bool = True):
    """Bias-adjusted estimate: sgn(est) (|est| -/+ |bias|), with sgn(0) = +1 as in sensemakr."""
    est = np.asarray(estimate, dtype=float)
    sgn = np.where(est >= 0, 1.0, -1.0)
    b = np.asarray(bias(se, dof, r2dz_x, r2yz_dx))
    return _ret(sgn * (np.abs(est) - b) if reduce else sgn * (np.abs(est) + b))


def adjusted_se(se, dof, r2dz_x, r2yz_dx):
    """Bias-adjusted SE: se * sqrt((1 - R2_yz)/(1 - R2_dz)) * sqrt(dof/(dof - 1))."""
    d = _dof(dof)
    r2d = _r2(r2dz_x, "r2dz_x", upper_open=True)
    r2y = _r2(r2yz_dx, "r2yz_dx")
    return _ret(np.asarray(se, dtype=float) * np.sqrt((1 - r2y) / (1 - r2d)) * np.sqrt(d / (d - 1)))


def adjusted_t(estimate, se, dof, r2dz_x, r2yz_dx, reduce: bool = True, h0: float = 0.0):
    """Bias-adjusted t statistic for H0: tau = h0."""
    est = np.asarray(adjusted_estimate(estimate, se, dof, r2dz_x, r2yz_dx, reduce))
    return _ret((est - h0) / np.asarray(adjusted_se(se, dof, r2dz_x, r2yz_dx)))


def adjusted_ci(estimate, se, dof, r2dz_x, r2yz_dx, reduce: bool = True, alpha: float = 0.05,
                which: str = "both"):
    """Bias-adjusted confidence interval with Student's t on ``dof - 1`` df (sensemakr's function).

    Note that sensemakr's *bounds table* uses ``dof`` instead; :func:`ovb_bounds` follows that.
    """
    a = _alpha(alpha)
    est = np.asarray(adjusted_estimate(estimate, se, dof, r2dz_x, r2yz_dx, reduce))
    s = np.asarray(adjusted_se(se, dof, r2dz_x, r2yz_dx))
    crit = stats.t.ppf(1 - a / 2, _dof(dof) - 1)
    lo, hi = est - crit * s, est + crit * s
    if which == "lwr":
        return _ret(lo)
    if which == "upr":
        return _ret(hi)
    if which == "both":
        return _ret(lo), _ret(hi)
    raise PLCEError(f"which must be 'both', 'lwr' or 'upr'; got {which!r}.")


def adjusted_partial_r2(estimate, se, dof, r2dz_x, r2yz_dx, reduce: bool = True, h0: float = 0.0):
    """Bias-adjusted partial R^2 of the treatment: t_adj^2 / (t_adj^2 + dof - 1)."""
    t = np.asarray(adjusted_t(estimate, se, dof, r2dz_x, r2yz_dx, reduce, h0))
    return _ret(t**2 / (t**2 + _dof(dof) - 1))


def relative_bias(estimate, se, dof, r2dz_x, r2yz_dx):
    """Bias relative to the estimate: BF / f with f = |t| / sqrt(dof)."""
    t = np.asarray(estimate, dtype=float) / np.asarray(se, dtype=float)
    return _ret(bias_factor(r2dz_x, r2yz_dx) / np.asarray(partial_f(t, dof)))


def ovb_partial_r2_bound(r2dxj_x, r2yxj_dx, kd=1, ky=None, bound_label: str | None = None) -> pd.DataFrame:
    """Bounds on a confounder's strength as ``kd``/``ky`` times a benchmark covariate's.

    Parameters
    ----------
    r2dxj_x : float
        Partial R^2 of the benchmark X_j with the treatment (given the other X).
    r2yxj_dx : float
        Partial R^2 of X_j with the outcome (given D and the other X).
    kd, ky : float or list
        Multipliers; ``ky`` defaults to ``kd``.
    bound_label : str
        Benchmark name used in the ``bound_label`` column ("1x female").

    Returns
    -------
    DataFrame with columns ``bound_label``, ``r2dz_x``, ``r2yz_dx``.
    """
    kd_a = np.atleast_1d(np.asarray(kd, dtype=float))
    ky_a = kd_a if ky is None else np.atleast_1d(np.asarray(ky, dtype=float))
    if ky_a.shape != kd_a.shape:
        raise PLCEError(f"kd and ky must have the same length; got {len(kd_a)} and {len(ky_a)}.")
    if np.any(kd_a < 0) or np.any(ky_a < 0):
        raise PLCEError("kd and ky must be non-negative multipliers.")
    r2d = float(_r2(r2dxj_x, "r2dxj_x", upper_open=True))
    r2y = float(_r2(r2yxj_dx, "r2yxj_dx", upper_open=True))
    r2dz = kd_a * r2d / (1 - r2d)
    if np.any(r2dz >= 1):
        bad = kd_a[r2dz >= 1].min()
        raise PLCEError(
            f"Implied bound on r2dz.x >= 1. Impossible kd value (kd={bad:g} for benchmark "
            f"'{bound_label or 'benchmark'}', whose partial R2 with the treatment is {r2d:.3g}). "
            f"Use kd < {(1 - r2d) / r2d:.3g}."
        )
    eta = kd_a * r2d**2 / ((1 - kd_a * r2d) * (1 - r2d))
    if np.any(eta >= 1):
        raise PLCEError("Impossible kd value. Try a lower kd.")
    r2yz = ((np.sqrt(ky_a) + np.sqrt(eta)) / np.sqrt(1 - eta)) ** 2 * r2y / (1 - r2y)
    if np.any(r2yz > 1):
        warn("Implied bound on r2yz.dx greater than 1, try lower kd and/or ky. Setting r2yz.dx to 1.", PLCEWarning)
        r2yz = np.minimum(r2yz, 1.0)
    name = bound_label or "benchmark"

    def fmt(v: float) -> str:
        return f"{v:g}"

    labels = [
        f"{fmt(a)}x {name}" if a == b else f"{fmt(a)}/{fmt(b)}x {name}" for a, b in zip(kd_a, ky_a)
    ]
    return pd.DataFrame({"bound_label": labels, "r2dz_x": r2dz, "r2yz_dx": r2yz})


def adjusted_critical_value(r2dz_x, r2yz_dx, dof, alpha: float = 0.05):
    """Bias-adjusted critical value t-dagger (Cinelli & Hazlett 2020, sec. 5).

    Examples
    --------
    >>> round(adjusted_critical_value(0, 0, 100), 10)
    1.99421307
    """
    a = _alpha(alpha)
    d = _dof(dof)
    r2d = _r2(r2dz_x, "r2dz_x", upper_open=True)
    r2y = _r2(r2yz_dx, "r2yz_dx", upper_open=True)
    tstar = np.sqrt(stats.f.ppf(1 - a, 1, d - 1))
    fstar2 = tstar**2 / (d - 1)
    r2y = np.where(r2d < fstar2 * r2y / (1 - r2y), r2d / (fstar2 + r2d), r2y)
    sef = np.sqrt((1 - r2y) / (1 - r2d))
    bf = np.sqrt(r2y * r2d / (1 - r2d))
    return _ret(tstar * sef * np.sqrt(d / (d - 1)) + bf * np.sqrt(d))


def sensitivity_stats(estimate, se, dof, q: float = 1.0, alpha: float = 0.05, reduce: bool = True) -> dict:
    """The sensitivity statistics row: estimate, se, t for H0 tau = h0, partial R^2, RV_q, RV_{q,alpha}, f^2."""
    a = _alpha(alpha)
    t = float(estimate) / float(se)
    h0 = float(estimate) * (1 - q) if reduce else float(estimate) * (1 + q)
    return {
        "estimate": float(estimate),
        "se": float(se),
        "t_statistic": (float(estimate) - h0) / float(se),
        "r2yd_x": partial_r2(t, dof),
        "rv_q": robustness_value(t, dof, q=q, alpha=1.0),
        "rv_qa": robustness_value(t, dof, q=q, alpha=a),
        "f2yd_x": partial_f2(t, dof),
        "dof": float(dof),
    }


def ovb_bounds(estimate, se, dof, r2dxj_x, r2yxj_dx, kd=(1, 2, 3), ky=None, alpha: float = 0.05,
               reduce: bool = True, benchmark: str = "benchmark") -> pd.DataFrame:
    """The sensemakr bounds table: benchmark bounds with adjusted estimates, SEs, t and CIs.

    As in sensemakr's ``ovb_bounds``/``sensemakr()``, the CI columns use Student's
    t with ``dof`` (not ``dof - 1``) degrees of freedom.
    """
    _alpha(alpha)
    b = ovb_partial_r2_bound(r2dxj_x, r2yxj_dx, kd=kd, ky=ky, bound_label=benchmark)
    return bounds_table(estimate, se, dof, b, alpha=alpha, reduce=reduce)


def bounds_table(estimate, se, dof, bounds: pd.DataFrame, *, alpha: float = 0.05, reduce: bool = True,
                 se_headline: float | None = None, critical: float | None = None) -> pd.DataFrame:
    """Add the adjusted estimate, SE, t and CI (t with ``dof`` df) to rows with ``r2dz_x`` and ``r2yz_dx``.

    With ``se_headline`` (a robust or clustered SE) the bias is the classical formula's and the adjusted SE is the
    headline SE scaled as the classical one would be; ``critical`` replaces the CI's critical value.
    """
    a = _alpha(alpha)
    b = bounds.copy()
    r2d, r2y = b["r2dz_x"].to_numpy(dtype=float), b["r2yz_dx"].to_numpy(dtype=float)
    est = np.atleast_1d(adjusted_estimate(estimate, se, dof, r2d, r2y, reduce))
    s = np.atleast_1d(adjusted_se(se if se_headline is None else se_headline, dof, r2d, r2y))
    crit = stats.t.ppf(1 - a / 2, float(dof)) if critical is None else abs(float(critical))
    b["adjusted_estimate"] = est
    b["adjusted_se"] = s
    with np.errstate(divide="ignore", invalid="ignore"):  # a bound at R2_yz.dx = 1 has SE 0: |t| is infinite
        b["adjusted_t"] = est / s
    b["adjusted_lower_CI"] = est - crit * s
    b["adjusted_upper_CI"] = est + crit * s
    return b


def summary_rows(t_statistic: float, dof, tag: str = "", *, se_ratio: float = 1.0,
                 critical: float | None = None) -> list[tuple[str, str]]:
    """The summary's sensitivity rows: partial R2 of the treatment with the outcome, RV_q=1 and RV_q=1,a=0.05 (the
    last on the headline SE when ``se_ratio`` and ``critical`` are given)."""
    return [
        (f"Partial R2 (Y~D|X){tag}:", f"{partial_r2(t_statistic, dof):.4f}"),
        (f"Robustness value RV_q=1{tag}:", f"{robustness_value(t_statistic, dof):.4f}"),
        (f"Robustness value RV_q=1,a=0.05{tag}:",
         f"{robustness_value(t_statistic, dof, alpha=0.05, se_ratio=se_ratio, critical=critical):.4f}"),
    ]

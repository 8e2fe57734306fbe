"""Covariate balancing generalized propensity score for a continuous treatment (Fong, Hazlett & Imai 2018), for the
simulation study's comparisons.

The just-identified parametric CBGPS. The covariates are centred and whitened (X* with identity sample covariance,
a constant column added) and the treatment standardised (T*). The model T* | X* ~ N(X* beta, sigma^2) defines the
stabilised inverse-density weights

    w_i = phi(T*_i) / [phi((T*_i - X*_i beta) / sigma) / sigma],

and (beta, log sigma^2) solve the k + 2 moment conditions

    (1/n) sum_i w_i T*_i X*_i = 0      (the weighted covariance of T* with every covariate, and its weighted mean, 0)
    (1/n) sum_i [(T*_i - X*_i beta)^2 / sigma^2 - 1] = 0,

from the normal-model MLE as the starting point. Where a root exists, T* is exactly uncorrelated with every
covariate in the weighted sample (the property the tests check, on a sample large enough for one to exist). In small
samples with a strongly predicted treatment the stabilised weights are heavy-tailed and the system may have no root
(seen at n = 1000 with R^2(t | x) = 0.55; a root at n = 100,000); then, as the R package's GMM does, the sum of
squared moments is minimised and ``imbalance`` says how far from exact balance the weights are. The effect is the
slope of the weighted least-squares regression of y on (1, t) with the weights, with the HC1 SE of that regression
(weights taken as given, as an applied user of the R package's weights with ``lm`` would report it).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import optimize

from ..errors import PLCEError

__all__ = ["CBPSFit", "cbps_continuous"]


@dataclass(frozen=True)
class CBPSFit:
    """Weights, the fitted treatment model on the standardised scale, and the weighted slope of y on t."""

    weights: np.ndarray  # (n,) stabilised weights, mean 1
    beta: np.ndarray  # (k + 1,) on the whitened scale (constant first)
    sigma2: float
    effect: float
    se: float
    converged: bool  # exact balance reached (every moment below 1e-6)
    imbalance: float  # the largest moment at the solution


def _standardise(t: np.ndarray, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    ts = (t - t.mean()) / t.std()
    Xc = X - X.mean(axis=0)
    cov = Xc.T @ Xc / len(t)
    vals, vecs = np.linalg.eigh(cov)
    keep = vals > 1e-10 * vals.max()
    Xw = Xc @ vecs[:, keep] / np.sqrt(vals[keep])
    return ts, np.column_stack([np.ones(len(t)), Xw])


def _weights(params: np.ndarray, ts: np.ndarray, Xs: np.ndarray) -> np.ndarray:
    beta, log_s2 = params[:-1], params[-1]
    s2 = np.exp(log_s2)
    log_cond = -0.5 * (ts - Xs @ beta) ** 2 / s2 - 0.5 * log_s2
    log_marg = -0.5 * ts**2
    return np.exp(np.clip(log_marg - log_cond, -50, 50))


def _moments(params: np.ndarray, ts: np.ndarray, Xs: np.ndarray) -> np.ndarray:
    w = _weights(params, ts, Xs)
    beta, s2 = params[:-1], np.exp(params[-1])
    bal = Xs.T @ (w * ts) / len(ts)
    var = np.mean((ts - Xs @ beta) ** 2 / s2 - 1.0)
    return np.append(bal, var)


def _jacobian(params: np.ndarray, ts: np.ndarray, Xs: np.ndarray) -> np.ndarray:
    """Derivatives of :func:`_moments` in (beta, log sigma^2)."""
    w = _weights(params, ts, Xs)
    beta, s2 = params[:-1], np.exp(params[-1])
    r = ts - Xs @ beta
    n = len(ts)
    wt = w * ts
    d_bal_beta = (Xs * (wt * (-r / s2))[:, None]).T @ Xs / n
    d_bal_s = Xs.T @ (wt * (0.5 - 0.5 * r**2 / s2)) / n
    d_var_beta = -2.0 * (r / s2) @ Xs / n
    d_var_s = -np.mean(r**2 / s2)
    top = np.column_stack([d_bal_beta, d_bal_s])
    return np.vstack([top, np.append(d_var_beta, d_var_s)])


def cbps_continuous(y: np.ndarray, t: np.ndarray, X: np.ndarray) -> CBPSFit:
    """Fit the just-identified CBGPS and the weighted slope of ``y`` on ``t``.

    Examples
    --------
    >>> import numpy as np
    >>> from plce.peers.cbps import cbps_continuous
    >>> rng = np.random.default_rng(0); X = rng.normal(size=(500, 3))
    >>> t = X @ [0.5, -0.3, 0.2] + rng.normal(size=500); y = 2 * t + X.sum(1) + rng.normal(size=500)
    >>> fit = cbps_continuous(y, t, X)
    >>> bool(abs(fit.effect - 2) < 0.2)
    True
    """
    y, t, X = (np.asarray(a, dtype=float) for a in (y, t, X))
    if X.ndim != 2 or len(X) != len(t) or len(y) != len(t):
        raise PLCEError("cbps_continuous needs y (n,), t (n,) and X (n, k) of one length.")
    ts, Xs = _standardise(t, X)
    beta0, *_ = np.linalg.lstsq(Xs, ts, rcond=None)
    s20 = float(np.mean((ts - Xs @ beta0) ** 2))
    start = np.append(beta0, np.log(s20))
    sol = optimize.least_squares(_moments, start, jac=_jacobian, args=(ts, Xs), method="lm", xtol=1e-12,
                                 ftol=1e-12, gtol=1e-12, max_nfev=1000)
    converged = bool(np.max(np.abs(sol.fun)) < 1e-6)
    w = _weights(sol.x, ts, Xs)
    w = w / w.mean()
    # weighted least squares of y on (1, t), HC1
    Z = np.column_stack([np.ones(len(t)), t])
    ZtW = Z.T * w
    bread = np.linalg.inv(ZtW @ Z)
    coef = bread @ (ZtW @ y)
    e = y - Z @ coef
    meat = (Z * (w * e)[:, None]).T @ (Z * (w * e)[:, None])
    V = bread @ meat @ bread * len(t) / (len(t) - 2)
    return CBPSFit(weights=w, beta=sol.x[:-1], sigma2=float(np.exp(sol.x[-1])), effect=float(coef[1]),
                   se=float(np.sqrt(V[1, 1])), converged=converged,
                   imbalance=float(np.max(np.abs(sol.fun))))

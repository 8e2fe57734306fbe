"""Kernel regularized least squares (Hainmueller & Hazlett 2014), for the simulation study's comparisons.

The outcome and the regressors (the treatment first, then the controls) are standardised; with the Gaussian kernel
K_ij = exp(-||x_i - x_j||^2 / sigma2), sigma2 = the number of regressors (their default), the fit is
y_hat = K c with c = (K + lambda I)^-1 y, and lambda minimises the leave-one-out error, computed in closed form from
one eigendecomposition of K: the LOO residual of unit i is c_i / [(K + lambda I)^-1]_ii. The pointwise marginal
effect of regressor d at unit i is

    d y_hat_i / d x_id = -(2 / sigma2) sum_j c_j (x_id - x_jd) K_ij,

the average pointwise marginal effect (APME) is their mean, and its variance is the paper's closed form
Var(APME) = (1/n^2) 1' D Var(c) D' 1 with Var(c) = s2 (K + lambda I)^-2 and s2 = ||y - K c||^2 / n
(everything back on the data's scale). O(n^2) memory and O(n^3) time: the comparisons run at n <= a few thousand.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import PLCEError

__all__ = ["KRLSFit", "krls"]


@dataclass(frozen=True)
class KRLSFit:
    """A KRLS fit: the average pointwise marginal effect of each regressor, its SE, and the fit's internals."""

    apme: np.ndarray  # (p,) on the data's scale
    se: np.ndarray  # (p,)
    lam: float
    sigma2: float
    coef: np.ndarray  # (n,) c on the standardised scale
    pointwise: np.ndarray  # (n, p) pointwise marginal effects on the data's scale


def _loo_lambda(values: np.ndarray, vectors: np.ndarray, y: np.ndarray, grid: np.ndarray) -> float:
    Vy = vectors.T @ y
    best, best_err = grid[0], np.inf
    for lam in grid:
        inv_eig = 1.0 / (values + lam)
        c = vectors @ (inv_eig * Vy)
        diag = np.einsum("ij,j,ij->i", vectors, inv_eig, vectors)
        err = float(np.sum((c / diag) ** 2))
        if err < best_err:
            best, best_err = lam, err
    return float(best)


def krls(y, X, *, lam: float | None = None, sigma2: float | None = None) -> KRLSFit:
    """Fit KRLS of ``y`` on the columns of ``X`` (n, p); ``lam`` by leave-one-out unless given.

    Examples
    --------
    >>> import numpy as np
    >>> from plce.peers.krls import krls
    >>> rng = np.random.default_rng(0); X = rng.normal(size=(300, 2))
    >>> y = 2 * X[:, 0] + np.sin(X[:, 1]) + rng.normal(size=300) * 0.1
    >>> bool(abs(krls(y, X).apme[0] - 2) < 0.2)
    True
    """
    y = np.asarray(y, dtype=float)
    X = np.asarray(X, dtype=float).reshape(len(y), -1)
    n, p = X.shape
    if n < 3 or not (np.all(np.isfinite(X)) and np.all(np.isfinite(y))):
        raise PLCEError("KRLS needs at least 3 rows of finite values.")
    mx, sx = X.mean(0), X.std(0)
    sx = np.where(sx > 0, sx, 1.0)
    my, sy = y.mean(), y.std() or 1.0
    Xs, ys = (X - mx) / sx, (y - my) / sy
    s2k = float(p if sigma2 is None else sigma2)
    sq = np.sum(Xs**2, axis=1)
    K = np.exp(-np.maximum(sq[:, None] + sq[None, :] - 2 * Xs @ Xs.T, 0.0) / s2k)
    values, vectors = np.linalg.eigh(K)
    values = np.maximum(values, 0.0)
    if lam is None:
        grid = np.exp(np.linspace(np.log(1e-6 * n), np.log(n), 60))
        lam = _loo_lambda(values, vectors, ys, grid)
    inv_eig = 1.0 / (values + lam)
    c = vectors @ (inv_eig * (vectors.T @ ys))
    resid = ys - K @ c
    s2 = float(resid @ resid) / n
    Ginv2 = (vectors * inv_eig**2) @ vectors.T  # (K + lam I)^-2
    pointwise = np.empty((n, p))
    apme, se = np.empty(p), np.empty(p)
    for d in range(p):
        diff = Xs[:, d][:, None] - Xs[:, d][None, :]
        D = -(2.0 / s2k) * diff * K
        pointwise[:, d] = D @ c
        u = D.T @ np.ones(n) / n
        apme[d] = pointwise[:, d].mean()
        se[d] = np.sqrt(max(float(u @ Ginv2 @ u) * s2, 0.0))
    scale = sy / sx
    return KRLSFit(apme=apme * scale, se=se * scale, lam=float(lam), sigma2=s2k, coef=c,
                   pointwise=pointwise * scale)

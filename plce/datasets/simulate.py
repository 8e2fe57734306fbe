"""The simulation designs of Ratkovic (2023) and the design families plce is judged on."""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import PLCEError

__all__ = ["SETTINGS", "make_simdata", "make_spatial"]

#: setting -> (random effects, heterogeneous effect + heteroskedastic treatment, interference)
SETTINGS = {
    "baseline": (False, False, False),
    "re": (True, False, False),
    "het": (False, True, False),
    "re_het": (True, True, False),
    "interference": (False, False, True),
    "interference_re_het": (True, True, True),
}


def _kernel_mean(x: np.ndarray, a: np.ndarray, scale: float, chunk: int = 2048) -> np.ndarray:
    """Leave-one-out average of ``a`` with weights exp(-scale (x_i - x_j)^2), exact, chunked."""
    out = np.empty(len(x))
    for s in range(0, len(x), chunk):
        w = np.exp(-scale * (x[s : s + chunk, None] - x[None, :]) ** 2)
        idx = np.arange(s, min(s + chunk, len(x)))
        w[idx - s, idx] = 0.0
        out[s : s + chunk] = (w @ a) / w.sum(axis=1)
    return out


def make_simdata(
    setting: str = "baseline",
    n: int = 1000,
    random_state=None,
    *,
    k: int = 5,
    rho: float = 0.5,
    group_size: int = 20,
    het_sd: str = "r",
    unbalanced: bool = False,
    **family,
):
    """Simulate one data set from the designs of Ratkovic (2023), or from a design family.

    Parameters
    ----------
    setting : {"baseline", "re", "het", "re_het", "interference", "interference_re_het", "family"}
        Random effects ("re"), heterogeneous effect t*x1^2 with heteroskedastic
        treatment ("het"), interference ("interference"), and their combinations. ``"family"`` is the
        effect-shape family of :func:`plce.datasets.family.make_family`, whose keywords (``effect``,
        ``variance``, ``treatment``, ``overlap``) it takes.
    n : int
        Sample size (Ratkovic 2023 uses 1000; 250-5000 in the size sweep).
    random_state : int or numpy Generator
    k : int
        Number of covariates (>= 2).
    rho : float
        Correlation between covariates.
    group_size : int
        Units per random-effect group (groups are exactly this size, as in the R generator).
    het_sd : {"r", "talk"}
        Treatment-noise SD in the heterogeneous settings: ``"r"`` is the R
        generator's abs(1 + x1)/sqrt(2); ``"talk"`` is sqrt((x1^2 + 1)/2).
    unbalanced : bool
        Groups of unequal size instead of ``group_size``: sizes drawn log-uniformly from 2 to 200
        (the last group takes the remainder, at least 2).

    Returns
    -------
    data : DataFrame
        Columns ``y``, ``t``, ``x1``..``xk`` (the rotated covariates the methods see) and ``g`` (group).
    theta : float
        The true average effect, 1.

    Notes
    -----
    X ~ N(0, Sigma) with correlations ``rho``, each column standardized and
    rescaled so mean(x^2) = 1; T = X1 + e_T + r_g; Y = 1 + T + X1^2 + e (or
    1 + T X1^2 + e), then Y -= r_g. Interference: with W_ij = exp(-5 (X1i - X1j)^2),
    Y += W T / 2 and then T += W X1^2 / 2 (row-normalised, leave-one-out).
    The methods see X1* = X1 - X2/2, X2* = X2 - X1/2.

    Examples
    --------
    >>> from plce.datasets import make_simdata
    >>> df, theta = make_simdata("re_het", n=200, random_state=0)
    >>> df.shape, theta
    ((200, 8), 1.0)
    """
    if setting == "family":
        from .family import make_family

        return make_family(n=n, random_state=random_state, **family)
    if family:
        raise PLCEError(f"make_simdata got unknown keyword(s) {sorted(family)} for setting {setting!r}.")
    if setting not in SETTINGS:
        raise PLCEError(f"Unknown setting {setting!r}; choose one of {sorted(SETTINGS) + ['family']}.")
    if het_sd not in ("r", "talk"):
        raise PLCEError(f"het_sd must be 'r' or 'talk'; got {het_sd!r}.")
    if k < 2 or n < 2 * group_size:
        raise PLCEError("make_simdata needs k >= 2 covariates and n >= 2 * group_size.")
    re, het, inter = SETTINGS[setting]
    rng = np.random.default_rng(random_state)
    sigma = np.full((k, k), rho) + (1 - rho) * np.eye(k)
    X = rng.multivariate_normal(np.zeros(k), sigma, size=n, method="cholesky")
    X = (X - X.mean(0)) / X.std(0, ddof=1)
    X = X / np.sqrt((X**2).mean(0))
    x1 = X[:, 0]
    if unbalanced:
        sizes = []
        while sum(sizes) < n:
            sizes.append(int(np.exp(rng.uniform(np.log(2), np.log(201)))))
        sizes[-1] -= sum(sizes) - n
        if sizes[-1] < 2:
            sizes[-2] += sizes.pop()
        groups = np.repeat(np.arange(1, len(sizes) + 1), sizes)[rng.permutation(n)]
    else:
        groups = np.ceil((rng.permutation(n) + 1) / group_size).astype(int)
    r_g = rng.normal(size=groups.max() + 1)
    r = r_g[groups] if re else np.zeros(n)
    if het:
        sd = np.abs(1 + x1) / np.sqrt(2) if het_sd == "r" else np.sqrt((x1**2 + 1) / 2)
    else:
        sd = np.ones(n)
    t = x1 + rng.normal(size=n) * sd + r
    eps = rng.normal(size=n)
    y = 1 + (t * x1**2 if het else t + x1**2) + eps - r
    if inter:
        y = y + 0.5 * _kernel_mean(x1, t, 5.0)
        t = t + 0.5 * _kernel_mean(x1, x1**2, 5.0)
    Xs = X.copy()
    Xs[:, 0] = X[:, 0] - 0.5 * X[:, 1]
    Xs[:, 1] = X[:, 1] - 0.5 * X[:, 0]
    data = pd.DataFrame({"y": y, "t": t, **{f"x{j + 1}": Xs[:, j] for j in range(k)}, "g": groups})
    return data, 1.0


def make_spatial(n: int = 2000, random_state=None, *, radius: float = 0.05, spillover: float = 1.0):
    """Units on the unit square whose outcome depends on their neighbours' treatments.

    Parameters
    ----------
    n : int
        Number of units, placed uniformly on [0, 1]^2 (columns ``x`` and ``y``).
    random_state : int or numpy Generator
    radius : float
        Neighbours are the other units within this distance.
    spillover : float
        Effect of the neighbours' mean treatment on the outcome.

    Returns
    -------
    data : DataFrame
        ``outcome``, ``t``, control ``z`` and coordinates ``x``, ``y``.
    theta : float
        The true direct effect of a unit's own treatment, 1.

    Notes
    -----
    t = sin(2 pi x) cos(2 pi y) + z + e, so treatment is spatially correlated, and
    outcome = t + spillover * mean(t_j : 0 < dist(s_j, s_i) < radius) + z + eps. A regression of the
    outcome on t and z alone picks up part of the neighbours' effect (bias > 0).

    Examples
    --------
    >>> from plce.datasets import make_spatial
    >>> df, theta = make_spatial(300, random_state=0)
    >>> sorted(df.columns), theta
    (['outcome', 't', 'x', 'y', 'z'], 1.0)
    """
    from scipy.spatial import cKDTree

    if n < 10 or radius <= 0:
        raise PLCEError("make_spatial needs n >= 10 and radius > 0.")
    rng = np.random.default_rng(random_state)
    s = rng.uniform(size=(n, 2))
    z = rng.normal(size=n)
    t = np.sin(2 * np.pi * s[:, 0]) * np.cos(2 * np.pi * s[:, 1]) + z + rng.normal(size=n)
    D = cKDTree(s).sparse_distance_matrix(cKDTree(s), radius, output_type="coo_matrix")
    keep = D.row != D.col
    rows, cols = D.row[keep], D.col[keep]
    cnt = np.bincount(rows, minlength=n)
    nb = np.bincount(rows, weights=t[cols], minlength=n) / np.maximum(cnt, 1)
    nb[cnt == 0] = 0.0
    outcome = t + spillover * nb + z + rng.normal(size=n)
    return pd.DataFrame({"outcome": outcome, "t": t, "z": z, "x": s[:, 0], "y": s[:, 1]}), 1.0

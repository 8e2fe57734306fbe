"""A smooth surface of the coordinates as final-stage columns: the spatial trend.

Where a confounder varies smoothly with location, the tree learners approximate it by steps, and the errors of
the outcome and treatment models share those steps: their product is a bias of the average effect that shrinks
only slowly with n (``docs/method.rst``, spatial family). Columns that span smooth surfaces of the coordinates in
the final stage remove the part of both residuals that such a surface carries (a sieve, as the quadratic control
terms are for the controls). The basis is the tensor product of one cubic B-spline basis per coordinate, knots at
the coordinate's quantiles, with the constant (the product of the partitions of unity) dropped: ``df**2 - 1``
columns.
"""
from __future__ import annotations

import numpy as np

__all__ = ["spline_basis", "trend_basis", "default_df"]

#: the trend's columns stay at or below nobs / TREND_OBS_PER_COLUMN
TREND_OBS_PER_COLUMN = 25
#: ... and its matrix at or below this many cells (8 bytes each: 256 MB; at 10^6 units, 5 functions per coordinate)
MAX_TREND_CELLS = 32_000_000


def default_df(n: int, d: int = 2) -> int:
    """Basis functions per coordinate for ``d`` coordinates: 6 at n = 1000 (two interior knots; a period of a sine
    is then approximated to 4% of its SD), growing as n^(1/6) (a surface sieve's rate), at most 12, and never more
    than ``n / TREND_OBS_PER_COLUMN`` columns (too few units for a surface: 0, no trend) nor more than
    :data:`MAX_TREND_CELLS` cells; the product basis has ``df**d - 1`` columns."""
    df = int(round(6 * (n / 1000) ** (1 / 6)))
    df = min(df, 12, int(np.floor((n / TREND_OBS_PER_COLUMN + 1) ** (1 / d) + 1e-9)),
             int(np.floor((MAX_TREND_CELLS / max(n, 1) + 1) ** (1 / d) + 1e-9)))
    return df if df >= 4 else 0


def spline_basis(x: np.ndarray, df: int) -> np.ndarray:
    """Cubic B-spline basis of one coordinate (n, df >= 4): boundary knots at its range, interior knots at its
    quantiles; the rows sum to 1."""
    from scipy.interpolate import BSpline

    x = np.asarray(x, dtype=float)
    k = 3
    inner = np.quantile(x, np.linspace(0, 1, df - k + 1)[1:-1]) if df > k + 1 else np.empty(0)
    lo, hi = float(x.min()), float(x.max())
    if hi <= lo:
        return np.ones((len(x), 1))
    knots = np.concatenate([[lo] * (k + 1), np.unique(inner[(inner > lo) & (inner < hi)]), [hi] * (k + 1)])
    return BSpline.design_matrix(np.clip(x, lo, hi), knots, k).toarray()


def trend_basis(coords: np.ndarray, df: int) -> np.ndarray:
    """Tensor-product spline of the coordinates (n, d), without its constant column.

    Examples
    --------
    >>> import numpy as np
    >>> s = np.random.default_rng(0).uniform(size=(500, 2))
    >>> B = trend_basis(s, 4)
    >>> B.shape
    (500, 15)
    """
    coords = np.asarray(coords, dtype=float).reshape(len(coords), -1)
    B = np.ones((len(coords), 1))
    for j in range(coords.shape[1]):
        b = spline_basis(coords[:, j], df)
        B = (B[:, :, None] * b[:, None, :]).reshape(len(coords), -1)
    return B[:, 1:]

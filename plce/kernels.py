"""Leave-one-out kernel averages: the building block of the interference features.

For a proximity variable ``b`` and one or more smoothed variables ``a`` (columns of ``A``),

.. math:: \\psi_i = \\frac{\\sum_{j \\ne i} K_{ij} a_j}{\\sum_{j \\ne i} K_{ij}}, \\qquad
          K_{ij} = \\exp(-(b_i - b_j)^2 / \\nu),

the Nadaraya-Watson average of the *other* units' ``a`` around unit ``i`` (Ratkovic 2023; ``docs/interference.rst``).

* :func:`rank_kernel_mean` is the fast path for a rank-standardized ``b``. Average ranks lie on a
  regular grid of half-rank steps, so the sums are a discrete convolution of per-cell sums with
  the sampled kernel: exact (no binning error), computed directly when the kernel is short and by
  FFT otherwise, O(n log n) in time and O(n) in memory.
* :func:`exact_kernel_mean` is the O(n^2) reference (chunked, never an n x n matrix).
* :func:`spatial_kernel_mean` handles user-given coordinates (any dimension) with a KD-tree,
  truncating the Gaussian kernel where it falls below ``1e-6`` of its peak.
* :func:`weight_matrix_mean` row-normalises a user-given sparse weight matrix.
"""
from __future__ import annotations

import numpy as np
from scipy import signal, sparse
from scipy.stats import rankdata

__all__ = [
    "rank_standardize",
    "rank_kernel_mean",
    "exact_kernel_mean",
    "spatial_kernel_mean",
    "weight_matrix_mean",
    "SPATIAL_CUTOFF",
    "MIN_NU_STEPS",
]

#: the spatial kernel is truncated where exp(-d^2/nu) < SPATIAL_CUTOFF
SPATIAL_CUTOFF = 1e-6
#: the kernel is truncated once exp(-d^2/nu) < exp(-_TAIL) (below double precision's resolution of 1)
_TAIL = 40.0
#: the smallest nu allowed is (grid step)^2 / MIN_NU_STEPS, so every unit's nearest neighbour keeps a weight
#: of at least exp(-MIN_NU_STEPS) ~ 1e-13 and no denominator underflows
MIN_NU_STEPS = 30.0
#: kernels shorter than this many grid cells are convolved directly (more accurate than FFT for tiny sums)
_DIRECT_MAX = 64


def rank_standardize(b: np.ndarray) -> np.ndarray:
    """Average ranks of ``b``, centred and scaled to unit standard deviation (ties share a rank)."""
    r = rankdata(np.asarray(b, dtype=float), method="average")
    sd = r.std()
    return (r - r.mean()) / (sd if sd > 0 else 1.0)


def _rank_grid(b: np.ndarray) -> tuple[np.ndarray, float]:
    """Integer cells of average ranks on the half-rank grid, and the cell width on b's standardized scale."""
    r = rankdata(np.asarray(b, dtype=float), method="average")
    cells = np.rint(2.0 * (r - 1.0)).astype(np.int64)
    sd = r.std()
    return cells, (0.5 / sd) if sd > 0 else 1.0


def min_nu(n: int) -> float:
    """The smallest bandwidth :func:`rank_kernel_mean` accepts for ``n`` rank-standardized units."""
    step = np.sqrt(12.0 / max(n * n - 1, 1))  # one rank on the standardized scale
    return step * step / MIN_NU_STEPS


def rank_kernel_mean(b: np.ndarray, A: np.ndarray, nu: float) -> np.ndarray:
    """Leave-one-out kernel average of the columns of ``A`` with proximity ``rank_standardize(b)``.

    Parameters
    ----------
    b : (n,) proximity variable (only its ranks matter).
    A : (n,) or (n, q) variables to average.
    nu : float
        Bandwidth on the rank-standardized scale (unit variance); at least :func:`min_nu`.

    Returns
    -------
    ndarray, the shape of ``A``.

    Examples
    --------
    >>> import numpy as np
    >>> from plce.kernels import rank_kernel_mean, exact_kernel_mean, rank_standardize
    >>> rng = np.random.default_rng(0); b = rng.normal(size=300); a = rng.normal(size=300)
    >>> bool(np.allclose(rank_kernel_mean(b, a, 0.1), exact_kernel_mean(rank_standardize(b), a, 0.1)))
    True
    """
    A = np.asarray(A, dtype=float)
    one_d = A.ndim == 1
    A2 = A[:, None] if one_d else A
    n = len(A2)
    if n < 2:
        raise ValueError("a kernel average needs at least two units")
    nu = float(nu)
    if not nu >= min_nu(n) * (1 - 1e-9):
        raise ValueError(f"nu={nu:g} is below the smallest resolvable bandwidth {min_nu(n):.3g} for n={n}")
    cells, h = _rank_grid(b)
    G = int(cells.max()) + 1
    centre = A2.mean(axis=0)
    Ac = A2 - centre  # centring keeps the FFT's round-off small relative to the averages
    q = Ac.shape[1]
    S = np.empty((G, q + 1))
    S[:, 0] = np.bincount(cells, minlength=G)
    for j in range(q):
        S[:, j + 1] = np.bincount(cells, weights=Ac[:, j], minlength=G)
    L = int(min(G - 1, np.ceil(np.sqrt(_TAIL * nu) / h)))
    offs = np.arange(-L, L + 1)
    kern = np.exp(-((offs * h) ** 2) / nu)
    kern[L] = 0.0  # other cells only; the unit's own cell (its ties, at distance 0) is added exactly below
    if L < _DIRECT_MAX:
        conv = np.column_stack([np.convolve(S[:, j], kern, mode="full")[L : L + G] for j in range(q + 1)])
    else:
        conv = signal.fftconvolve(S, kern[:, None], mode="full", axes=0)[L : L + G]
    own = S[cells]
    den = conv[cells, 0] + (own[:, 0] - 1.0)  # (ties - self) first: exact, no cancellation
    num = conv[cells, 1:] + (own[:, 1:] - Ac)
    out = num / den[:, None] + centre
    return out[:, 0] if one_d else out


def exact_kernel_mean(b: np.ndarray, A: np.ndarray, nu: float, chunk: int = 1024) -> np.ndarray:
    """The O(n^2) reference: leave-one-out kernel average with ``K = exp(-(b_i - b_j)^2 / nu)`` on ``b`` as given."""
    b = np.asarray(b, dtype=float)
    A = np.asarray(A, dtype=float)
    one_d = A.ndim == 1
    A2 = A[:, None] if one_d else A
    out = np.empty_like(A2)
    for s in range(0, len(b), chunk):
        e = min(s + chunk, len(b))
        K = np.exp(-((b[s:e, None] - b[None, :]) ** 2) / nu)
        K[np.arange(e - s), np.arange(s, e)] = 0.0
        out[s:e] = (K @ A2) / K.sum(axis=1, keepdims=True)
    return out[:, 0] if one_d else out


def spatial_neighbours(coords: np.ndarray, radius: float) -> sparse.coo_matrix:
    """Pairs of distinct units closer than ``radius`` (KD-tree), with their squared distances."""
    from scipy.spatial import cKDTree

    tree = cKDTree(coords)
    D = tree.sparse_distance_matrix(tree, radius, output_type="coo_matrix")
    keep = D.row != D.col
    d2 = D.data[keep] ** 2
    return sparse.coo_matrix((d2, (D.row[keep], D.col[keep])), shape=D.shape)


def spatial_kernel_mean(coords: np.ndarray, A: np.ndarray, nu: float, pairs: sparse.coo_matrix | None = None):
    """Leave-one-out Gaussian-kernel average over user coordinates, truncated at :data:`SPATIAL_CUTOFF`.

    Parameters
    ----------
    coords : (n, d) coordinates (e.g. longitude and latitude, or projected metres).
    A : (n,) or (n, q) variables to average.
    nu : float
        Bandwidth in squared coordinate units: ``K = exp(-d^2 / nu)``.
    pairs : optional output of :func:`spatial_neighbours` with a radius of at least
        ``sqrt(nu * log(1/SPATIAL_CUTOFF))`` (reused across bandwidths).

    Returns
    -------
    psi : ndarray, the shape of ``A``
        Units without a neighbour inside the truncation radius get NaN; the caller decides.
    """
    coords = np.asarray(coords, dtype=float).reshape(len(A), -1)
    radius = np.sqrt(nu * np.log(1.0 / SPATIAL_CUTOFF))
    if pairs is None:
        pairs = spatial_neighbours(coords, radius)
    ok = pairs.data <= radius * radius * (1 + 1e-12)
    w = np.exp(-pairs.data[ok] / nu)
    K = sparse.csr_matrix((w, (pairs.row[ok], pairs.col[ok])), shape=pairs.shape)
    return weight_matrix_mean(K, A)


def weight_matrix_mean(W, A: np.ndarray) -> np.ndarray:
    """Row-normalised ``W A`` ignoring W's diagonal; rows without weight give NaN."""
    W = sparse.csr_matrix(W, dtype=float)
    W = W - sparse.diags(W.diagonal())
    A = np.asarray(A, dtype=float)
    den = np.asarray(W.sum(axis=1)).ravel()
    num = W @ A
    with np.errstate(invalid="ignore", divide="ignore"):
        out = num / (den[:, None] if A.ndim == 2 else den)
    out[den <= 0] = np.nan
    return out

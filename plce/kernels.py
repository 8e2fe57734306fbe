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

from dataclasses import dataclass

import numpy as np
from scipy import signal, sparse
from scipy.stats import rankdata

__all__ = [
    "rank_standardize",
    "rank_kernel_mean",
    "exact_kernel_mean",
    "spatial_kernel_mean",
    "spatial_neighbours",
    "SpatialPairs",
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


#: rows handled at a time when the spatial pairs are found and when the kernel sums are taken
_SPATIAL_CHUNK = 2**15


@dataclass(frozen=True)
class SpatialPairs:
    """Pairs of distinct units closer than ``radius``, stored row by row (the layout of a CSR matrix).

    Row ``i``'s neighbours are ``indices[indptr[i]:indptr[i + 1]]`` (ascending), at squared distances
    ``d2[indptr[i]:indptr[i + 1]]``: 12 bytes a pair, no kernel weights (those are made per bandwidth).
    """

    indptr: np.ndarray
    indices: np.ndarray
    d2: np.ndarray
    radius: float

    @property
    def nobs(self) -> int:
        return len(self.indptr) - 1

    @property
    def npairs(self) -> int:
        return len(self.indices)


def spatial_neighbours(coords: np.ndarray, radius: float, tree=None) -> SpatialPairs:
    """Pairs of distinct units closer than ``radius`` (KD-tree), with their squared distances.

    Two passes over chunks of :data:`_SPATIAL_CHUNK` rows: the first counts each row's pairs, the second writes
    them into arrays of exactly that size, so what is held beyond the result is one chunk's KD-tree output
    (the tree search is cheap next to the memory it would take to hold its output for all rows at once).
    """
    from scipy.spatial import cKDTree

    coords = np.asarray(coords, dtype=float)
    n = len(coords)
    tree = cKDTree(coords) if tree is None else tree
    chunks = [(s, min(s + _SPATIAL_CHUNK, n)) for s in range(0, n, _SPATIAL_CHUNK)]

    def chunk_pairs(s, e):
        D = cKDTree(coords[s:e]).sparse_distance_matrix(tree, radius, output_type="ndarray")
        keep = D["i"] + s != D["j"]
        return D["i"][keep], D["j"][keep], D["v"][keep]

    counts = np.zeros(n, dtype=np.int64)
    for s, e in chunks:
        counts[s:e] = np.bincount(chunk_pairs(s, e)[0], minlength=e - s)
    indptr = np.concatenate([[0], np.cumsum(counts)])
    indices = np.empty(indptr[-1], dtype=np.int32 if n < 2**31 else np.int64)
    d2 = np.empty(indptr[-1])
    for s, e in chunks:
        i, j, v = chunk_pairs(s, e)
        lo, hi = indptr[s], indptr[e]
        if hi - lo != len(i):  # the search is deterministic; this guards the layout, not the statistics
            raise RuntimeError("the KD-tree returned a different number of pairs on its second pass")
        order = np.argsort(i.astype(np.int64) * n + j)  # row, then column ascending (keys are unique)
        indices[lo:hi] = j[order]
        d2[lo:hi] = v[order] ** 2
    return SpatialPairs(indptr, indices, d2, float(radius))


def spatial_kernel_mean(coords: np.ndarray, A: np.ndarray, nu: float, pairs: SpatialPairs | None = None,
                        shape: str = "gaussian"):
    """Leave-one-out kernel average over user coordinates: Gaussian, truncated at :data:`SPATIAL_CUTOFF`, or a disk.

    Parameters
    ----------
    coords : (n, d) coordinates (e.g. longitude and latitude, or projected metres).
    A : (n,) or (n, q) variables to average.
    nu : float
        Bandwidth in squared coordinate units: ``K = exp(-d^2 / nu)``, or ``K = 1{d^2 <= nu}`` for the disk.
    pairs : optional output of :func:`spatial_neighbours` with a radius of at least
        ``sqrt(nu * log(1/SPATIAL_CUTOFF))`` (``sqrt(nu)`` for the disk; reused across bandwidths).
    shape : {"gaussian", "disk"}
        The disk is the plain mean of the units within distance ``sqrt(nu)`` (a hard radius).

    Returns
    -------
    psi : ndarray, the shape of ``A``
        Units without a neighbour inside the truncation radius get NaN; the caller decides.

    Examples
    --------
    >>> import numpy as np
    >>> xy = np.array([[0.0, 0.0], [0.1, 0.0], [5.0, 5.0]])
    >>> spatial_kernel_mean(xy, np.array([1.0, 3.0, 7.0]), nu=0.05)
    array([ 3.,  1., nan])
    """
    A = np.asarray(A, dtype=float)
    coords = np.asarray(coords, dtype=float).reshape(len(A), -1)
    if shape not in ("gaussian", "disk"):
        raise ValueError(f"shape must be 'gaussian' or 'disk', not {shape!r}")
    radius = np.sqrt(nu * np.log(1.0 / SPATIAL_CUTOFF)) if shape == "gaussian" else np.sqrt(nu)
    if pairs is None:
        pairs = spatial_neighbours(coords, radius)
    elif pairs.radius < radius * (1 - 1e-12):
        raise ValueError(f"the pairs reach {pairs.radius:.4g}, short of this bandwidth's radius {radius:.4g}")
    r2 = radius * radius * (1 + 1e-12)
    A2 = A[:, None] if A.ndim == 1 else A
    n = len(A2)
    out = np.empty_like(A2)
    for s in range(0, n, _SPATIAL_CHUNK):  # one chunk of rows at a time: the weights never exist for all pairs
        e = min(s + _SPATIAL_CHUNK, n)
        a, b = pairs.indptr[s], pairs.indptr[e]
        d2, cols, ptr = pairs.d2[a:b], pairs.indices[a:b], pairs.indptr[s : e + 1] - a
        keep = d2 <= r2
        if not keep.all():  # a narrower bandwidth: its pairs are a subset, in the same order
            ptr = np.concatenate([[0], np.cumsum(keep)])[ptr]
            d2, cols = d2[keep], cols[keep]
        K = sparse.csr_matrix((np.exp(-d2 / nu) if shape == "gaussian" else np.ones(len(d2)), cols, ptr),
                              shape=(e - s, n))
        den = np.asarray(K.sum(axis=1)).ravel()
        with np.errstate(invalid="ignore", divide="ignore"):
            out[s:e] = (K @ A2) / den[:, None]
        out[s:e][den <= 0] = np.nan
    return out[:, 0] if A.ndim == 1 else out


def nearest_mean(coords: np.ndarray, A: np.ndarray, k: int) -> np.ndarray:
    """Mean of ``A`` over each unit's ``k`` nearest other units (Euclidean; among ties at the k-th distance the
    KD-tree's choice), a k-nearest-neighbour weight matrix without building it.

    Examples
    --------
    >>> import numpy as np
    >>> xy = np.array([[0.0, 0.0], [0.1, 0.0], [0.3, 0.0], [5.0, 5.0]])
    >>> nearest_mean(xy, np.array([1.0, 3.0, 5.0, 7.0]), k=2)
    array([4., 3., 2., 4.])
    """
    from scipy.spatial import cKDTree

    A = np.asarray(A, dtype=float)
    coords = np.asarray(coords, dtype=float).reshape(len(A), -1)
    n = len(A)
    k = int(min(max(k, 1), n - 1))
    A2 = A[:, None] if A.ndim == 1 else A
    out = np.empty_like(A2)
    tree = cKDTree(coords)
    for s in range(0, n, _SPATIAL_CHUNK):
        e = min(s + _SPATIAL_CHUNK, n)
        _, idx = tree.query(coords[s:e], k=k + 1)
        # drop the unit itself (or, among units at distance 0, one copy: the row keeps k others)
        own = idx == np.arange(s, e)[:, None]
        drop = np.where(own.any(axis=1), np.argmax(own, axis=1), k)
        keep = np.ones(idx.shape, dtype=bool)
        keep[np.arange(e - s), drop] = False
        idx = idx[keep].reshape(e - s, k)
        out[s:e] = A2[idx].mean(axis=1)
    return out[:, 0] if A.ndim == 1 else out


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

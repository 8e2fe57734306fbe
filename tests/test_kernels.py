"""Fast leave-one-out kernel averages against the exact O(n^2) reference."""
import numpy as np
import pytest
from scipy import sparse

from plce.kernels import (
    SPATIAL_CUTOFF,
    exact_kernel_mean,
    min_nu,
    rank_kernel_mean,
    rank_standardize,
    spatial_kernel_mean,
    spatial_neighbours,
    weight_matrix_mean,
)


def _data(n=2000, seed=0):
    rng = np.random.default_rng(seed)
    b = rng.normal(size=n)
    b[:60] = 0.25  # a block of ties
    b[60:70] = -1e9  # extreme values (tied at the bottom)
    b[70:75] = 1e12
    b[75:300] = np.round(b[75:300], 1)  # many small tie groups
    A = np.column_stack([rng.normal(size=n), rng.standard_t(2, size=n), rng.normal(size=n) + 1e3,
                         (rng.random(n) < 0.3).astype(float)])
    return b, A


@pytest.mark.parametrize("nu", ["min", 1e-5, 1e-3, 0.03, 0.3, 3.0, 300.0])
def test_rank_kernel_matches_exact_reference(nu):
    b, A = _data()
    nu = min_nu(len(b)) if nu == "min" else nu
    fast = rank_kernel_mean(b, A, nu)
    ref = exact_kernel_mean(rank_standardize(b), A, nu)
    # 1e-6 relative, element by element (relative to each column's scale where the average is ~0)
    scale = np.abs(A).mean(axis=0)
    np.testing.assert_array_less(np.abs(fast - ref), 1e-6 * (np.abs(ref) + 1e-3 * scale))


def test_rank_kernel_is_leave_one_out_and_handles_one_column():
    b = np.array([0.0, 1.0, 2.0])
    a = np.array([10.0, 20.0, 40.0])
    psi = rank_kernel_mean(b, a, 1e6)  # huge bandwidth: plain mean of the others
    np.testing.assert_allclose(psi, [30.0, 25.0, 15.0], rtol=1e-6)


def test_rank_kernel_refuses_unresolvable_bandwidth():
    with pytest.raises(ValueError, match="below the smallest"):
        rank_kernel_mean(np.arange(100.0), np.ones(100), min_nu(100) / 10)


def test_spatial_kernel_matches_dense_reference():
    rng = np.random.default_rng(1)
    n = 1500
    xy = rng.uniform(size=(n, 2))
    xy[:20] = xy[0]  # ties
    A = np.column_stack([rng.normal(size=n), xy[:, 0] ** 2])
    nu = 0.002
    fast = spatial_kernel_mean(xy, A, nu)
    d2 = ((xy[:, None, :] - xy[None, :, :]) ** 2).sum(-1)
    K = np.exp(-d2 / nu)
    np.fill_diagonal(K, 0.0)
    ref = (K @ A) / K.sum(1, keepdims=True)
    # truncation drops weights below SPATIAL_CUTOFF of the peak: error bounded by that share
    np.testing.assert_allclose(fast, ref, atol=50 * SPATIAL_CUTOFF * np.abs(A).max())


@pytest.mark.parametrize("chunk", [37, 2**15])
def test_disk_mean_is_the_plain_mean_within_the_radius(monkeypatch, chunk):
    """shape="disk": the mean of the other units within distance sqrt(nu), as with the true radius matrix of the
    spatial family; NaN where a unit has nobody within it; any chunking; pairs reused from a wider radius."""
    import plce.kernels as kern

    monkeypatch.setattr(kern, "_SPATIAL_CHUNK", chunk)
    rng = np.random.default_rng(2)
    n = 500
    xy = rng.uniform(size=(n, 2))
    xy[:10] = xy[0]  # ties: at distance 0, inside
    xy[-1] = [5.0, 5.0]  # alone
    A = np.column_stack([rng.normal(size=n), rng.uniform(size=n)])
    r = 0.07
    W = ((xy[:, None, :] - xy[None, :, :]) ** 2).sum(-1) <= r * r
    np.fill_diagonal(W, False)
    ref = (W @ A) / W.sum(1, keepdims=True)
    pairs = spatial_neighbours(xy, 0.2)
    for p in (None, pairs):
        fast = spatial_kernel_mean(xy, A, r * r, pairs=p, shape="disk")
        np.testing.assert_allclose(fast[:-1], ref[:-1], rtol=1e-12)
        assert np.isnan(fast[-1]).all()


@pytest.mark.parametrize("chunk", [37, 2**15])
def test_nearest_mean_is_the_mean_of_the_k_nearest_others(monkeypatch, chunk):
    """The k-nearest candidate equals the spatial family's kNN weight matrix row means (brute force), in any
    chunking, where no tie at the k-th distance leaves the choice to the KD-tree; a unit among copies of itself keeps
    k others (the other copies first)."""
    import plce.kernels as kern
    from plce.kernels import nearest_mean

    monkeypatch.setattr(kern, "_SPATIAL_CHUNK", chunk)
    rng = np.random.default_rng(3)
    n = 400
    xy = rng.uniform(size=(n, 2))
    xy[:3] = xy[0]  # three copies: each one's nearest two are the other copies
    A = np.column_stack([rng.normal(size=n), rng.uniform(size=n)])
    d2 = ((xy[:, None, :] - xy[None, :, :]) ** 2).sum(-1)
    np.fill_diagonal(d2, np.inf)
    srt = np.sort(d2, axis=1)
    for k in (1, 8, 33):
        ref = np.stack([A[np.argsort(d2[i], kind="stable")[:k]].mean(axis=0) for i in range(n)])
        clear = srt[:, k - 1] < srt[:, k]  # no tie at the k-th distance (the copies tie for their neighbours)
        assert clear.mean() > 0.95
        np.testing.assert_allclose(nearest_mean(xy, A, k)[clear], ref[clear], rtol=1e-12)
    two = nearest_mean(xy, np.arange(n, dtype=float), 2)
    np.testing.assert_allclose(two[:3], [1.5, 1.0, 0.5])  # each copy's two nearest are the other two copies


@pytest.mark.parametrize("chunk", [37, 2**15])
def test_spatial_pairs_match_brute_force_in_any_chunking(monkeypatch, chunk):
    """The chunked two-pass pair search finds exactly the pairs within the radius, rows in order, columns ascending."""
    import plce.kernels as kern

    monkeypatch.setattr(kern, "_SPATIAL_CHUNK", chunk)
    rng = np.random.default_rng(4)
    n = 700
    xyz = rng.uniform(size=(n, 3))
    xyz[:15] = xyz[0]  # ties at distance 0 are pairs; a unit is never its own pair
    radius = 0.12
    pairs = spatial_neighbours(xyz, radius)
    d2 = ((xyz[:, None, :] - xyz[None, :, :]) ** 2).sum(-1)
    np.fill_diagonal(d2, np.inf)
    for i in range(n):
        want = np.flatnonzero(d2[i] <= radius**2)
        got = pairs.indices[pairs.indptr[i]:pairs.indptr[i + 1]]
        np.testing.assert_array_equal(got, want)
        np.testing.assert_allclose(pairs.d2[pairs.indptr[i]:pairs.indptr[i + 1]], d2[i, want], rtol=1e-12)
    # the kernel average over chunks of rows, at a narrower bandwidth than the pairs reach, is the one-chunk answer
    A = rng.normal(size=(n, 2))
    nu = 0.03**2  # truncation radius 0.11
    monkeypatch.setattr(kern, "_SPATIAL_CHUNK", 2**15)
    whole = spatial_kernel_mean(xyz, A, nu)
    monkeypatch.setattr(kern, "_SPATIAL_CHUNK", chunk)
    np.testing.assert_array_equal(spatial_kernel_mean(xyz, A, nu, pairs=pairs), whole)
    with pytest.raises(ValueError, match="short of"):
        spatial_kernel_mean(xyz, A, 1.0, pairs=pairs)


def test_weight_matrix_mean_ignores_diagonal_and_flags_isolated():
    W = sparse.csr_matrix(np.array([[5.0, 1, 3], [1, 0, 0], [0, 0, 0]]))
    a = np.array([1.0, 2.0, 4.0])
    psi = weight_matrix_mean(W, a)
    np.testing.assert_allclose(psi[:2], [(2 + 12) / 4, 1.0])
    assert np.isnan(psi[2])

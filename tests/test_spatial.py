"""Conley spatial-HAC and network-HAC standard errors against a brute-force O(n^2) sum; Moran's I."""
import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy import sparse

import plce
from plce.spatial import kernel_matrix, knn_weights, moran_i


def _brute(coords, cutoff, kernel, haversine=False):
    n = len(coords)
    K = np.zeros((n, n))
    for i in range(n):
        for j in range(n):
            if haversine:
                la1, lo1, la2, lo2 = map(np.radians, (coords[i, 0], coords[i, 1], coords[j, 0], coords[j, 1]))
                a = np.sin((la2 - la1) / 2) ** 2 + np.cos(la1) * np.cos(la2) * np.sin((lo2 - lo1) / 2) ** 2
                d = 2 * 6371.0088 * np.arcsin(np.sqrt(a))
            else:
                d = np.sqrt(np.sum((coords[i] - coords[j]) ** 2))
            if d < cutoff:
                K[i, j] = 1.0 if kernel == "uniform" else 1 - d / cutoff
    return K


@pytest.mark.parametrize("kernel", ["bartlett", "uniform"])
@pytest.mark.parametrize("haversine", [False, True])
def test_kernel_weights_equal_the_brute_force_sum(kernel, haversine):
    rng = np.random.default_rng(0)
    if haversine:
        coords, cutoff = np.column_stack([rng.uniform(40, 42, 150), rng.uniform(-88, -86, 150)]), 60.0
    else:
        coords, cutoff = rng.uniform(size=(150, 2)), 0.2
    K = kernel_matrix(coords, cutoff, kernel=kernel, distance="haversine" if haversine else "euclidean")
    assert_allclose(K.toarray(), _brute(coords, cutoff, kernel, haversine), atol=1e-12)


def test_conley_standard_errors_equal_the_sandwich_by_hand():
    df, _ = plce.datasets.make_spatial(300, random_state=1)
    x = df["z"].to_numpy()
    ext = {"ell": (0.9 * x + 0.1 * x**2)[None], "m": (0.95 * x + 0.05 * np.sin(x))[None]}
    res = plce.ols_ml("outcome ~ t | z", data=df, n_rep=1, external_predictions=ext, final_controls="none",
                      estimand="variance_weighted", cov_type="conley",
                      cov_kwds={"coords": ["x", "y"], "cutoff": 0.15}, random_state=0)
    Z = np.column_stack([np.ones(len(df)), df["t"], ext["ell"][0], ext["m"][0]])
    y = df["outcome"].to_numpy()
    beta = np.linalg.lstsq(Z, y, rcond=None)[0]
    e = y - Z @ beta
    bread = np.linalg.inv(Z.T @ Z)
    S = Z * e[:, None]
    V = bread @ S.T @ _brute(df[["x", "y"]].to_numpy(), 0.15, "bartlett") @ S @ bread
    assert_allclose(res.bse["t"], np.sqrt(V[1, 1]), rtol=1e-10)
    assert "Conley" in res.summary().as_text() and "cutoff 0.15" in res.summary().as_text()
    # after the fit, without refitting, and with the network variant
    hc = res.get_robustcov_results("HC0")
    assert hc.bse["t"] < res.bse["t"]  # spatially correlated scores: Conley's SE is larger here
    W = sparse.random(len(df), len(df), density=0.01, random_state=2, format="csr")
    net = plce.ols_ml(
        "outcome ~ t | z", data=df, n_rep=1, external_predictions=ext, final_controls="none",
        estimand="variance_weighted", cov_type="network", cov_kwds={"W": W}, random_state=0)
    A = ((W != 0) + (W.T != 0)).toarray().astype(float)
    np.fill_diagonal(A, 1.0)
    Vn = bread @ S.T @ A @ S @ bread
    assert_allclose(net.bse["t"], np.sqrt(Vn[1, 1]), rtol=1e-10)


def test_moran_i_flags_spatially_correlated_errors_and_not_iid_ones():
    rng = np.random.default_rng(3)
    n = 800
    coords = rng.uniform(size=(n, 2))
    W = knn_weights(coords, 8)
    iid = rng.normal(size=n)
    smooth = np.sin(4 * coords[:, 0]) + np.cos(4 * coords[:, 1]) + 0.5 * rng.normal(size=n)
    I0, z0, p0 = moran_i(iid, W)
    I1, z1, p1 = moran_i(smooth, W)
    assert p0 > 0.05 and p1 < 1e-6 and I1 > 0.3
    # the closed-form moments against a permutation distribution
    perm = np.array([moran_i(rng.permutation(smooth), W)[0] for _ in range(300)])
    assert abs(perm.mean() - (-1 / (n - 1))) < 3 * perm.std() / np.sqrt(300)
    assert abs(perm.std() / ((I1 - (-1 / (n - 1))) / z1) - 1) < 0.15

"""Final-stage regression and covariances against statsmodels; aggregation rules."""
import numpy as np
import pytest
import statsmodels.api as sm
from numpy.testing import assert_allclose

from plce import PLCEError
from plce.final import aggregate, fit_final, hl_mean, normalize_cov_type, sandwich, wls


@pytest.fixture(scope="module")
def reg():
    rng = np.random.default_rng(3)
    n = 400
    Z = np.column_stack([np.ones(n), rng.normal(size=(n, 3))])
    e = rng.normal(size=n) * (1 + np.abs(Z[:, 1]))
    y = Z @ np.array([1.0, 2.0, -1.0, 0.5]) + e
    w = rng.uniform(0.2, 3.0, size=n)
    cl = np.column_stack([rng.integers(0, 25, n), rng.integers(0, 15, n)])
    return Z, y, w, cl


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("cov_type", ["nonrobust", "HC0", "HC1", "HC2", "HC3"])
def test_hc_matches_statsmodels(reg, cov_type, weighted):
    Z, y, w, _ = reg
    ww = w if weighted else None
    beta, resid, bread = wls(Z, y, ww)
    ours = sandwich(Z, resid, bread, cov_type, w=ww)
    model = sm.WLS(y, Z, weights=w) if weighted else sm.OLS(y, Z)
    ref = model.fit(cov_type=cov_type)
    assert_allclose(beta, ref.params, rtol=1e-10)
    assert_allclose(ours, ref.cov_params(), rtol=1e-10)


@pytest.mark.parametrize("weighted", [False, True])
def test_cluster_one_way_matches_statsmodels(reg, weighted):
    Z, y, w, cl = reg
    ww = w if weighted else None
    beta, resid, bread = wls(Z, y, ww)
    ours = sandwich(Z, resid, bread, "cluster", w=ww, clusters=cl[:, 0])
    model = sm.WLS(y, Z, weights=w) if weighted else sm.OLS(y, Z)
    ref = model.fit(cov_type="cluster", cov_kwds={"groups": cl[:, 0]})
    assert_allclose(ours, ref.cov_params(), rtol=1e-10)


def test_cluster_two_way_matches_statsmodels(reg):
    Z, y, _, cl = reg
    beta, resid, bread = wls(Z, y)
    ours = sandwich(Z, resid, bread, "cluster", clusters=cl)
    ref = sm.OLS(y, Z).fit(cov_type="cluster", cov_kwds={"groups": cl})
    assert_allclose(ours, ref.cov_params(), rtol=1e-10)


def test_fit_final_feasible_is_ols_on_generated_regressors(reg):
    Z, y, _, _ = reg
    T, ell, m = Z[:, 1:2], Z[:, 2], Z[:, 3]
    fit = fit_final(y, T, ell, m, form="feasible", cov_type="HC3")
    ref = sm.OLS(y, np.column_stack([np.ones(len(y)), T, ell, m])).fit(cov_type="HC3")
    assert_allclose(fit.theta, ref.params[1], rtol=1e-10)
    assert_allclose(fit.cov[0, 0], ref.cov_params()[1, 1], rtol=1e-10)
    assert_allclose(fit.cov_classical[0, 0], sm.OLS(y, ref.model.exog).fit().cov_params()[1, 1], rtol=1e-10)
    assert fit.df_resid == len(y) - 4
    # FWL: coefficient equals the regression of y on the partialled-out treatment
    v = fit.treat_resid[:, 0]
    assert_allclose(v @ y / (v @ v), fit.theta[0], rtol=1e-10)


def test_fit_final_residual_form(reg):
    Z, y, _, _ = reg
    T, ell, m = Z[:, 1:2], Z[:, 2], Z[:, 3]
    fit = fit_final(y, T, ell, m, form="residual", cov_type="HC0")
    u, v = y - ell, T[:, 0] - m
    theta = v @ u / (v @ v)
    assert_allclose(fit.theta[0], theta, rtol=1e-12)
    psi = (u - theta * v) * v
    assert_allclose(fit.cov[0, 0], np.mean(psi**2) / np.mean(v**2) ** 2 / len(y), rtol=1e-10)


def test_collinear_final_stage_is_a_clear_error():
    rng = np.random.default_rng(0)
    t = rng.normal(size=(50, 1))
    with pytest.raises(PLCEError, match="collinear"):
        fit_final(rng.normal(size=50), t, t[:, 0] * 2, t[:, 0])


def test_median_aggregation_closed_form():
    th = np.array([[1.0], [2.0], [4.0]])
    V = np.array([[[0.1]], [[0.2]], [[0.3]]])
    theta, cov = aggregate(th, V, "median")
    assert theta[0] == 2.0
    # V_r + (theta_r - 2)^2 = 1.1, 0.2, 4.3 -> median 1.1
    assert_allclose(cov[0, 0], 1.1)


def test_hl_mean_by_enumeration():
    x = np.array([0.0, 1.0, 5.0, 2.0])
    vals = [(a + b) / 2 for a in x for b in x] + list(x)
    assert_allclose(hl_mean(x), np.median(vals))
    th = x[:, None]
    V = np.full((4, 1, 1), 0.5)
    theta, cov = aggregate(th, V, "hl")
    between = np.median([(a * a + b * b) / 2 for a in x for b in x] + list(x**2)) - theta[0] ** 2
    assert_allclose(cov[0, 0], 0.5 + max(between, 0) / 4)


def test_cov_type_aliases_and_errors():
    assert normalize_cov_type("robust", has_clusters=False) == "HC1"
    assert normalize_cov_type("hc3", has_clusters=False) == "HC3"
    with pytest.raises(PLCEError, match="Valid choices: HC0, HC1, HC2, HC3, cluster, conley, network, nonrobust"):
        normalize_cov_type("HC9", has_clusters=False)
    with pytest.raises(PLCEError, match="needs cluster="):
        normalize_cov_type("cluster", has_clusters=False)

"""The final stage's effect interactions t x centred control terms (with m_hat x the same), against statsmodels."""
import numpy as np
import pytest
import statsmodels.api as sm
from numpy.testing import assert_allclose

from plce.final import fit_final


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(11)
    n = 2000
    X = rng.normal(size=(n, 2))
    m = 0.5 * np.sin(2 * X[:, 0])
    s = np.abs(1 + X[:, 0]) / np.sqrt(2) + 0.2
    t = m + s * rng.normal(size=n)
    theta_x = 1 + X[:, 0] ** 2 - 1  # effect linear in the modifiers [x1, x2, x1^2]
    y = theta_x * t + X[:, 1] + rng.normal(size=n)
    # an estimate, not the exact E[y|x] (which is a combination of m, m * x1^2 and x2, all in the design)
    ell = theta_x * m + X[:, 1] + 0.1 * rng.normal(size=n)
    Q = np.column_stack([X, X[:, 0] ** 2])
    w = 1 / s**2
    w = w / w.mean()
    cl = rng.integers(0, 40, n)
    return y, t.reshape(n, 1), ell, m.reshape(n, 1), Q, w, cl


@pytest.mark.parametrize("weighted", [False, True])
def test_interacted_final_stage_is_wls_on_the_explicit_design(data, weighted):
    y, T, ell, m, Q, w, _ = data
    ww = w if weighted else None
    fit = fit_final(y, T, ell, m, cov_type="HC1", weights=ww, extra=Q, modifiers=Q)
    Qc = Q - Q.mean(0)
    Z = np.column_stack([np.ones(len(y)), T, ell, m, Q, m * Qc, T * Qc])
    ref = (sm.WLS(y, Z, weights=w) if weighted else sm.OLS(y, Z)).fit(cov_type="HC1")
    assert_allclose(fit.theta[0], ref.params[1], rtol=1e-9)
    # the fitted effects average to the coefficient on t (the modifiers are centred) ...
    cate = ref.params[1] + Qc @ ref.params[-3:]
    assert_allclose(fit.cate[:, 0], cate, rtol=1e-9)
    assert_allclose(fit.cate.mean(), fit.theta[0], rtol=1e-12)
    # ... and the variance adds their spread over the units: var(theta(x_i)) / n
    assert_allclose(fit.cov[0, 0], ref.cov_params()[1, 1] + cate.var() / len(y), rtol=1e-9)


def test_interactions_recover_the_average_effect_without_weights(data):
    y, T, ell, m, Q, _, _ = data
    # unweighted, the plain regression estimates the variance-weighted average; the interacted one E[theta(x)]
    plain = fit_final(y, T, ell, m, extra=Q)
    inter = fit_final(y, T, ell, m, extra=Q, modifiers=Q)
    target = np.mean(Q[:, 0] ** 2)  # sample average of theta(x) = x1^2
    se = np.sqrt(inter.cov[0, 0])
    assert abs(inter.theta[0] - target) < 3 * se
    assert abs(plain.theta[0] - target) > 3 * np.sqrt(plain.cov[0, 0])


def test_cluster_variance_of_the_average_uses_cluster_sums(data):
    y, T, ell, m, Q, w, cl = data
    fit = fit_final(y, T, ell, m, cov_type="cluster", clusters=cl, weights=w, extra=Q, modifiers=Q)
    base = fit_final(y, T, ell, m, cov_type="cluster", clusters=cl, weights=w, extra=Q, modifiers=Q * 0 + 1)
    dev = fit.cate[:, 0] - fit.cate[:, 0].mean()
    sums = np.bincount(cl, weights=dev)
    Qc = Q - Q.mean(0)
    Z = np.column_stack([np.ones(len(y)), T, ell, m, Q, m * Qc, T * Qc])
    ref = sm.WLS(y, Z, weights=w).fit(cov_type="cluster", cov_kwds={"groups": cl})
    assert_allclose(fit.cov[0, 0], ref.cov_params()[1, 1] + sums @ sums / len(y) ** 2, rtol=1e-9)
    # constant modifiers are redundant, dropped, and add nothing
    assert_allclose(base.cate[:, 0], base.theta[0])


def test_residual_form_takes_interactions(data):
    y, T, ell, m, Q, w, _ = data
    fit = fit_final(y, T, ell, m, form="residual", weights=w, modifiers=Q)
    Qc = Q - Q.mean(0)
    V = T - m
    ref = sm.WLS(y - ell, np.column_stack([V, V * Qc]), weights=w).fit(cov_type="HC1")
    assert_allclose(fit.theta[0], ref.params[0], rtol=1e-9)

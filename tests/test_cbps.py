"""CBGPS for a continuous treatment (Fong, Hazlett & Imai 2018): its balance property and the weighted slope."""
import numpy as np
import statsmodels.api as sm
from numpy.testing import assert_allclose

from plce.peers.cbps import _moments, _standardise, cbps_continuous


def _draw(n, seed, strength=1.0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    t = strength * (0.6 * X[:, 0] - 0.4 * X[:, 1]) + rng.normal(size=n)
    y = 2.0 * t + X[:, 0] + 0.5 * X[:, 2] + rng.normal(size=n)
    return y, t, X


def test_weights_balance_every_covariate_exactly_when_a_root_exists():
    y, t, X = _draw(20_000, 0)
    fit = cbps_continuous(y, t, X)
    assert fit.converged and fit.imbalance < 1e-8
    w, tc, Xc = fit.weights, t - t.mean(), X - X.mean(axis=0)
    # the weighted covariance of the treatment with every covariate is 0 (before it is clearly not)
    assert np.max(np.abs((w * tc) @ Xc / len(t))) < 1e-6
    assert np.max(np.abs(tc @ Xc / len(t))) > 0.3
    # and the sigma^2 condition holds on the whitened scale
    ts, Xs = _standardise(t, X)
    assert abs(_moments(np.append(fit.beta, np.log(fit.sigma2)), ts, Xs)[-1]) < 1e-8


def test_effect_is_the_weighted_least_squares_slope_with_hc1():
    y, t, X = _draw(800, 1)
    fit = cbps_continuous(y, t, X)
    ref = sm.WLS(y, sm.add_constant(t), weights=fit.weights).fit(cov_type="HC1")
    assert_allclose([fit.effect, fit.se], [ref.params[1], ref.bse[1]], rtol=1e-8)
    assert np.isfinite(fit.imbalance)


def test_unconfounded_treatment_gets_nearly_uniform_weights():
    y, t, X = _draw(5_000, 2, strength=0.0)
    fit = cbps_continuous(y, t, X)
    assert np.percentile(np.abs(fit.weights - 1), 95) < 0.1
    ols = sm.OLS(y, sm.add_constant(t)).fit()
    assert abs(fit.effect - ols.params[1]) < 0.02


def test_confounding_is_removed_where_plain_regression_is_biased():
    y, t, X = _draw(20_000, 3)
    fit = cbps_continuous(y, t, X)
    naive = sm.OLS(y, sm.add_constant(t)).fit().params[1]
    assert abs(naive - 2.0) > 0.2  # y also depends on x1, which drives t
    assert abs(fit.effect - 2.0) < 4 * fit.se


def test_jacobian_is_the_derivative_of_the_moments():
    from plce.peers.cbps import _jacobian

    y, t, X = _draw(300, 4)
    ts, Xs = _standardise(t, X)
    p = np.append(np.linspace(0.1, -0.2, Xs.shape[1]), np.log(0.7))
    h = 1e-6
    num = np.column_stack([(_moments(p + h * e, ts, Xs) - _moments(p - h * e, ts, Xs)) / (2 * h)
                           for e in np.eye(len(p))])
    assert_allclose(_jacobian(p, ts, Xs), num, rtol=1e-5, atol=1e-8)

"""The partial-effect curve: spline basis, the sandwich against statsmodels, the API, alignment and plots."""
import numpy as np
import pytest
import statsmodels.api as sm
from numpy.testing import assert_allclose

import plce
from plce import PLCEError
from plce.curve import _full_fit, spline_basis


def test_spline_basis_derivative_and_natural_tails():
    u = np.linspace(-3, 3, 601)
    knots, bounds = np.array([-0.5, 0.0, 0.7]), (-1.5, 1.6)
    N, dN = spline_basis(u, knots, bounds)
    assert N.shape == (601, 4)  # u and one column per interior knot
    h = 1e-6
    Np, _ = spline_basis(u + h, knots, bounds)
    Nm, _ = spline_basis(u - h, knots, bounds)
    assert_allclose(dN, (Np - Nm) / (2 * h), atol=1e-6)
    # natural: linear beyond the boundary knots (constant slope there)
    for side in (u < bounds[0], u > bounds[1]):
        assert_allclose(dN[side], np.broadcast_to(dN[side][0], dN[side].shape), atol=1e-9)


@pytest.mark.parametrize("clustered", [False, True])
def test_average_slope_variance_is_the_regression_sandwich(clustered):
    """Without a ridge penalty and weights the basis fit is OLS with an intercept, and the variance of the average
    slope is g' V g with V statsmodels' HC0 (or cluster) covariance of the coefficients."""
    rng = np.random.default_rng(1)
    n, k = 400, 5
    B = rng.normal(size=(n, k))
    dB = rng.normal(size=(n, k))
    y = B @ rng.normal(size=k) + rng.normal(size=n) * (1 + np.abs(B[:, 0]))
    cl = rng.integers(0, 40, n) if clustered else None
    resid, beta, var = _full_fit(B, dB, y, np.ones(n), 0.0, None, cl)
    ols = sm.OLS(y, sm.add_constant(B))
    fit = ols.fit(cov_type="cluster", cov_kwds={"groups": cl, "use_correction": False}) if clustered else \
        ols.fit(cov_type="HC0")
    assert_allclose(beta, fit.params[1:], rtol=1e-8)
    assert_allclose(resid, fit.resid, atol=1e-10)
    g = dB.mean(axis=0)
    assert_allclose(var, g @ fit.cov_params()[1:, 1:] @ g, rtol=1e-8)


@pytest.fixture(scope="module")
def curve_fit():
    df, ape = plce.datasets.make_curve("heterogeneous", 500, random_state=3)
    df.index = [f"u{i}" for i in range(len(df))]
    df.loc["u7", "x2"] = np.nan  # one dropped row
    pe = plce.partial_effects("y ~ t | x1 + x2 + x3", df, n_rep=2, n_boot=20, random_state=0, warn=False)
    return df, pe


def test_results_are_aligned_with_the_input_rows(curve_fit):
    df, pe = curve_fit
    for s in (pe.tau, pe.theta, pe.se):
        assert list(s.index) == list(df.index)
        assert np.isnan(s["u7"]) and s.drop("u7").notna().all()
    ci = pe.conf_int(0.1)
    assert list(ci.index) == list(df.index)
    ok = ci.drop("u7")
    assert (ok["lower"] < pe.tau.drop("u7")).all() and (pe.tau.drop("u7") < ok["upper"]).all()
    # the slope follows the truth x1 * t
    assert np.corrcoef(pe.tau.drop("u7"), df["true_tau"].drop("u7"))[0, 1] > 0.8


def test_calibrated_interval_is_wider_than_the_naive_one_and_levels_are_checked(curve_fit):
    _, pe = curve_fit
    assert pe.critical[0.1] > 1.645 and pe.critical[0.05] > pe.critical[0.1]
    w = (pe.conf_int(0.1)["upper"] - pe.conf_int(0.1)["lower"]).dropna()
    wn = (pe.naive_conf_int(0.1)["upper"] - pe.naive_conf_int(0.1)["lower"]).dropna()
    assert (w > wn).all()
    with pytest.raises(PLCEError, match="calibrated"):
        pe.conf_int(0.2)


def test_average_partial_effect_is_the_ols_ml_estimate_of_the_same_fit(curve_fit):
    _, pe = curve_fit
    ape, se = pe.average()
    r = pe.result
    assert abs(ape - r.params["t"]) < r.bse["t"]
    assert 0.5 < se / r.bse["t"] < 2
    assert 0 <= pe.share_excluding(0.0) <= 1


def test_summary_and_plots(curve_fit):
    import matplotlib.figure

    _, pe = curve_fit
    text = pe.summary()
    assert "average partial effect" in text and "average* coverage" in text and "critical value" in text
    for kw in ({}, {"segments": True}, {"x": "x1"}):
        fig = pe.plot(**kw)
        assert isinstance(fig, matplotlib.figure.Figure)
        ax = fig.axes[0]
        assert ax.get_xlabel() == kw.get("x", "t")


def test_same_seed_same_curve():
    df, _ = plce.datasets.make_curve("quadratic", 300, random_state=0)
    a = plce.partial_effects("y ~ t | x1 + x2", df, n_rep=1, n_boot=5, random_state=5, warn=False)
    b = plce.partial_effects("y ~ t | x1 + x2", df, n_rep=1, n_boot=5, random_state=5, warn=False, n_jobs=2)
    assert_allclose(a.tau, b.tau, rtol=0, atol=0)
    assert a.critical == b.critical


def test_bad_uses_are_refused():
    df, _ = plce.datasets.make_curve("quadratic", 300, random_state=0)
    df["d"] = (df["t"] > 0).astype(float)
    with pytest.raises(PLCEError, match="continuous treatment"):
        plce.partial_effects("y ~ d | x1 + x2", df, n_rep=1, n_boot=5, random_state=0)
    with pytest.raises(PLCEError, match="one treatment"):
        plce.partial_effects("y ~ t + x3 | x1 + x2", df, n_rep=1, n_boot=5, random_state=0)
    with pytest.raises(PLCEError, match="shape"):
        plce.datasets.make_curve("wiggly")

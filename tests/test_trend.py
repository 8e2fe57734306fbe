"""The spatial trend (``spatial_trend=``): its spline basis against formulaic's ``bs``, the final stage against
statsmodels, the default (on with interference coordinates), and the errors."""
import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from numpy.testing import assert_allclose

import plce
from plce.errors import PLCEError
from plce.trend import default_df, spline_basis, trend_basis


def _projection_residual(A, B):
    """Largest residual of B's columns projected on A's span (relative to B's scale)."""
    coef, *_ = np.linalg.lstsq(A, B, rcond=None)
    return float(np.abs(B - A @ coef).max() / np.abs(B).max())


def test_the_spline_basis_spans_formulaics_bs():
    """spline_basis(x, df) with the constant has the span of [1, bs(x, df - 1)] (cubic, quantile knots), both ways."""
    from formulaic import model_matrix

    x = np.random.default_rng(1).gamma(2.0, size=400)
    for df in (4, 5, 7):
        mine = spline_basis(x, df)
        assert mine.shape == (400, df)
        assert_allclose(mine.sum(axis=1), 1.0, atol=1e-12)  # a partition of unity: the constant is in the span
        ref = np.asarray(model_matrix(f"bs(x, df={df - 1})", pd.DataFrame({"x": x})))
        assert _projection_residual(mine, ref) < 1e-8
        assert _projection_residual(ref, mine) < 1e-8


def test_the_tensor_basis_approximates_a_smooth_surface_and_drops_its_constant():
    s = np.random.default_rng(0).uniform(size=(2000, 2))
    c = np.sin(2 * np.pi * s[:, 0]) * np.cos(2 * np.pi * s[:, 1])
    errs = {}
    for df in (4, 6, 8):
        B = trend_basis(s, df)
        assert B.shape == (2000, df * df - 1)
        A = np.column_stack([np.ones(len(s)), B])
        assert np.linalg.matrix_rank(A) == df * df  # no column is the constant's copy
        coef, *_ = np.linalg.lstsq(A, c, rcond=None)
        errs[df] = float(np.sqrt(np.mean((c - A @ coef) ** 2)))
    assert errs[8] < errs[6] < errs[4] and errs[6] < 0.05 * c.std() and errs[8] < 0.01 * c.std()  # a sieve


def test_default_df_grows_slowly_and_stops_for_small_samples():
    assert default_df(1000) == 6
    assert default_df(100) == 0  # 100 / 25 units are too few for a 4 x 4 surface
    assert 7 <= default_df(10_000) <= 9 and default_df(10**5) == 12 and default_df(10**6) == 5
    for n in (150, 400, 1000, 5000, 10**5, 10**6, 10**7):
        for d in (1, 2, 3):
            q = default_df(n, d) ** d - 1
            assert q <= n / 25 and n * q <= 32_000_000, (n, d)
    assert default_df(1000, 1) == 6 and default_df(1000, 3) == 0 and default_df(10_000, 3) == 7  # 3-D: 7**3 - 1


@pytest.fixture(scope="module")
def spatial():
    df, _, _ = plce.datasets.make_spatial_family("radius", n=400, random_state=3)
    return df


def test_the_trend_enters_the_final_stage_as_statsmodels_ols(spatial):
    """Given nuisances and no weights, the final stage is OLS of y on [1, t, l_hat, m_hat, B(lat, lon)]."""
    rng = np.random.default_rng(0)
    n = len(spatial)
    ell, m = rng.normal(size=n), rng.normal(size=n)
    res = plce.ols_ml("y ~ t | z", data=spatial, n_rep=1, random_state=0, estimand="variance_weighted",
                      final_controls="none", cov_type="HC1", spatial_trend=["lat", "lon"],
                      external_predictions={"ell": ell[None], "m": m[None, :, None]})
    B = trend_basis(spatial[["lat", "lon"]].to_numpy(), default_df(n))
    Z = np.column_stack([np.ones(n), spatial["t"], ell, m, B])
    ref = sm.OLS(spatial["y"].to_numpy(), Z).fit(cov_type="HC1")
    assert_allclose(res.params["t"], ref.params[1], rtol=1e-10)
    assert_allclose(res.bse["t"], ref.bse[1], rtol=1e-10)
    assert "include a cubic spline surface of (lat,lon) (4 functions per coordinate, 15 columns)" in str(res.summary())


def test_the_trend_is_on_with_coordinates_and_off_otherwise(spatial):
    kw = dict(data=spatial, n_rep=1, n_folds=2, random_state=0, learner=sm_linear())
    on = plce.ols_ml("y ~ t | z + lat + lon", interference=["lat", "lon"], **kw)
    assert on.plan.trend is not None and on.plan.trend.shape == (len(spatial), 15)
    assert "Spatial trend" in str(on.summary())
    off = plce.ols_ml("y ~ t | z + lat + lon", interference=["lat", "lon"], spatial_trend=False, **kw)
    assert off.plan.trend is None and "Spatial trend" not in str(off.summary())
    assert off.params["t"] != on.params["t"]
    assert plce.ols_ml("y ~ t | z + lat + lon", **kw).plan.trend is None
    assert plce.ols_ml("y ~ t | z", spatial_trend=4, interference=["lat", "lon"], **kw).plan.trend.shape[1] == 15


def sm_linear():
    from sklearn.linear_model import LinearRegression

    return LinearRegression()


@pytest.mark.parametrize("value, message", [
    ("yes", "spatial_trend must be 'auto'"),
    (3, "spatial_trend must be 'auto'"),
    (True, "spatial_trend needs coordinates"),
    (["lat", "lonn"], "spatial_trend column 'lonn' is not in the data"),
])
def test_bad_spatial_trend_values_are_named(spatial, value, message):
    with pytest.raises(PLCEError, match=message):
        plce.ols_ml("y ~ t | z", data=spatial, n_rep=1, spatial_trend=value, learner=sm_linear())


def test_an_explicit_trend_needs_the_feasible_form(spatial):
    with pytest.raises(PLCEError, match="final='residual' does not take"):
        plce.ols_ml("y ~ t | z", data=spatial, n_rep=1, spatial_trend=["lat", "lon"], final="residual",
                    learner=sm_linear())
    res = plce.ols_ml("y ~ t | z", data=spatial, n_rep=1, n_folds=2, interference=["lat", "lon"],
                      final="residual", learner=sm_linear())  # "auto" steps aside
    assert res.plan.trend is None

"""Random intercepts: REML and BLUPs against statsmodels MixedLM, the pipeline, and bad input."""
import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from numpy.testing import assert_allclose
from sklearn.linear_model import LinearRegression

import plce
from plce import PLCEError
from plce.errors import FewGroupsWarning, PLCEWarning
from plce.random_effects import backfit, predict_re, reml_random_intercept


@pytest.fixture(scope="module")
def mixed():
    rng = np.random.default_rng(0)
    n, G = 600, 40
    g = rng.integers(0, G, n)
    X = rng.normal(size=(n, 3))
    y = X @ [1.0, -0.5, 0.2] + 0.8 * rng.normal(size=G)[g] + rng.normal(size=n)
    F = np.column_stack([np.ones(n), X])
    md = sm.MixedLM(y, F, groups=g).fit(reml=True)
    return g, X, y, F, md


def test_reml_matches_mixedlm(mixed):
    g, X, y, F, md = mixed
    s2, s2b, beta = reml_random_intercept(y, g, F)
    assert_allclose(s2, md.scale, rtol=1e-3)
    assert_allclose(s2b, np.asarray(md.cov_re)[0, 0], rtol=1e-3)
    assert_allclose(beta, md.fe_params, rtol=1e-3)


def test_backfit_with_linear_learner_reaches_mixedlm_blups(mixed):
    g, X, y, F, md = mixed
    fit = backfit(LinearRegression(), X, y, [g], F, max_iter=300, tol=1e-12)
    re = np.array([np.asarray(md.random_effects[k])[0] for k in range(g.max() + 1)])
    assert_allclose(fit.blups[0], re, rtol=1e-3, atol=1e-3 * np.abs(re).max())
    assert_allclose(fit.sigma2_b[0], np.asarray(md.cov_re)[0, 0], rtol=1e-3)
    assert_allclose(fit.learner.coef_, md.fe_params[1:], rtol=1e-3)
    # unseen groups get 0
    col = predict_re(fit, [np.array([0, g.max() + 5, -1])])
    assert col[1, 0] == 0 and col[2, 0] == 0 and col[0, 0] == fit.blups[0][0]


def test_zero_variance_on_the_boundary():
    rng = np.random.default_rng(1)
    n = 400
    g = rng.integers(0, 30, n)
    y = rng.normal(size=n)
    s2, s2b, _ = reml_random_intercept(y, g)
    md = sm.MixedLM(y, np.ones((n, 1)), groups=g).fit(reml=True)
    assert s2b < 1e-3 or abs(s2b - np.asarray(md.cov_re)[0, 0]) < 1e-3


def _re_data(seed=0, G=50, size=20):
    df, _ = plce.datasets.make_simdata("re", n=G * size, random_state=seed, group_size=size)
    return df


def test_re_fit_runs_and_reports(recwarn):
    df = _re_data()
    res = plce.ols_ml("y ~ t | x1 + x2 + x3 + x4 + x5 + (1|g)", data=df, n_rep=2, random_state=0)
    text = res.summary().as_text()
    assert "No. Groups (g):" in text and "50" in text
    assert res.cov_type == "cluster" and res.plan.inference.cluster_names == ("g",)
    assert "clustered" in text or "cluster-robust by 'g' (50 clusters)" in text
    rv = res.re_variances
    assert rv[("g", "treatment:t")] > 0.3  # the group effect in t has variance 1
    # folds are stratified by group: every group is in every training set
    g = res.design.groups["g"]
    for f in res.folds:
        for k in range(5):
            assert len(np.unique(g[f != k])) == 50
    # the plain fit is badly confounded; the RE fit is much closer to theta = 1
    plain = plce.ols_ml("y ~ t | x1 + x2 + x3 + x4 + x5", data=df, n_rep=2, random_state=0)
    assert abs(res.params["t"] - 1) < abs(plain.params["t"] - 1) - 0.2


def test_crossed_and_nested_terms():
    df = _re_data(1)
    rng = np.random.default_rng(0)
    df["h"] = rng.integers(0, 25, len(df))
    df["sub"] = rng.integers(0, 3, len(df))
    res = plce.ols_ml("y ~ t | x1 + x2 + (1|g) + (1|h)", data=df, n_rep=1, random_state=0)
    assert set(res.design.groups) == {"g", "h"}
    res2 = plce.ols_ml("y ~ t | x1 + x2 + (1|g/sub)", data=df, n_rep=1, random_state=0)
    assert list(res2.design.groups) == ["g", "g:sub"]
    assert res2.design.groups["g:sub"].max() + 1 > 50


def test_re_bad_inputs():
    df = _re_data(2)
    with pytest.raises(PLCEError, match="single group"):
        plce.ols_ml("y ~ t | x1 + (1|one)", data=df.assign(one=1), n_rep=1)
    with pytest.raises(PLCEError, match="Every group of the random-effect factor 'id' has one member"):
        plce.ols_ml("y ~ t | x1 + (1|id)", data=df.assign(id=np.arange(len(df))), n_rep=1)
    with pytest.raises(PLCEError, match=r"Grouping factor\(s\) \['g'\] are also controls"):
        plce.ols_ml("y ~ t | x1 + g + (1|g)", data=df, n_rep=1)
    with pytest.warns(FewGroupsWarning, match="only 5 groups"):
        plce.ols_ml("y ~ t | x1 + (1|few)", data=df.assign(few=np.arange(len(df)) % 5), n_rep=1, random_state=0)
    d = df.astype({"g": float})
    d.loc[3, "g"] = np.nan
    with pytest.warns(plce.MissingValueWarning, match="'g': 1"):
        plce.ols_ml("y ~ t | x1 + (1|g)", data=d, n_rep=1, random_state=0)


def test_zero_variance_warning():
    rng = np.random.default_rng(3)
    n = 600
    df = pd.DataFrame({"x": rng.normal(size=n), "g": rng.integers(0, 30, n)})
    df["t"] = df["x"] + rng.normal(size=n)
    df["y"] = df["t"] + df["x"] + rng.normal(size=n)
    with pytest.warns(PLCEWarning, match="estimated at 0"):
        plce.ols_ml("y ~ t | x + (1|g)", data=df, n_rep=1, random_state=0)


def test_collinear_controls_with_random_intercept_do_not_fail():
    # a control that is an exact combination of two others used to make REML's cross-product singular
    df, _ = plce.datasets.make_simdata("re", n=400, random_state=3)
    df["x12"] = df.x1 + 0.5 * df.x2
    res = plce.ols_ml("y ~ t | x1 + x2 + x12 + x3 + (1|g)", data=df, n_rep=1, random_state=0)
    ref = plce.ols_ml("y ~ t | x1 + x2 + x3 + (1|g)", data=df, n_rep=1, random_state=0)
    assert np.isfinite(res.params.iloc[0])
    assert abs(res.params.iloc[0] - ref.params.iloc[0]) < 2 * ref.bse.iloc[0]


def test_independent_columns_drops_combinations():
    from plce.random_effects import independent_columns

    rng = np.random.default_rng(0)
    A = rng.normal(size=(50, 3))
    F = np.column_stack([np.ones(50), A, A[:, 0] - 2 * A[:, 2]])
    kept = independent_columns(F)
    assert kept.shape[1] == 4 and np.linalg.matrix_rank(kept) == 4

"""End-to-end fits against independent references: numpy by hand, DoubleML, statsmodels."""
import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from numpy.testing import assert_allclose
from sklearn.linear_model import LinearRegression

import plce


def _ols_predict(Xtr, ytr, Xte):
    A = np.column_stack([np.ones(len(Xtr)), Xtr])
    b = np.linalg.lstsq(A, ytr, rcond=None)[0]
    return np.column_stack([np.ones(len(Xte)), Xte]) @ b


def test_linear_learner_equals_handwritten_crossfit(small_df):
    res = plce.ols_ml("y ~ t | x1 + x2", data=small_df, learner=LinearRegression(), n_rep=1, random_state=7,
                      estimand="variance_weighted", final_controls="none")
    X = small_df[["x1", "x2"]].to_numpy()
    y, t = small_df["y"].to_numpy(), small_df["t"].to_numpy()
    folds = res.folds[0]
    ell, m = np.empty(len(y)), np.empty(len(y))
    for k in np.unique(folds):
        tr, te = folds != k, folds == k
        ell[te] = _ols_predict(X[tr], y[tr], X[te])
        m[te] = _ols_predict(X[tr], t[tr], X[te])
    Z = np.column_stack([np.ones(len(y)), t, ell, m])
    theta = np.linalg.solve(Z.T @ Z, Z.T @ y)[1]
    assert_allclose(res.params["t"], theta, rtol=1e-10)
    for cov_type in ["HC0", "HC1", "HC2", "HC3"]:
        r = plce.ols_ml("y ~ t | x1 + x2", data=small_df, learner=LinearRegression(), n_rep=1,
                        random_state=7, cov_type=cov_type, estimand="variance_weighted", final_controls="none")
        ref = sm.OLS(y, Z).fit(cov_type=cov_type)
        assert_allclose(r.bse["t"], ref.bse[1], rtol=1e-10)
    # with the controls linearly in the final stage: OLS on [1, t, l_hat, m_hat, x1, x2]
    r = plce.ols_ml("y ~ t | x1 + x2", data=small_df, learner=LinearRegression(), n_rep=1, random_state=7,
                    cov_type="HC3", estimand="variance_weighted", final_controls="linear")
    ref = sm.OLS(y, np.column_stack([Z, X])).fit(cov_type="HC3")
    assert_allclose(r.params["t"], ref.params[1], rtol=1e-10)
    assert_allclose(r.bse["t"], ref.bse[1], rtol=1e-10)
    # quadratic: OLS on [1, t, l_hat, m_hat, x1, x2, x1^2, x2^2, x1 x2] (plce centres and scales first: same span)
    Q = np.column_stack([Z, X, X[:, 0] ** 2, X[:, 1] ** 2, X[:, 0] * X[:, 1]])
    for option in ["quadratic", "auto"]:
        r = plce.ols_ml("y ~ t | x1 + x2", data=small_df, learner=LinearRegression(), n_rep=1, random_state=7,
                        cov_type="HC1", estimand="variance_weighted", final_controls=option)
        ref = sm.OLS(y, Q).fit(cov_type="HC1")
        assert_allclose(r.params["t"], ref.params[1], rtol=1e-9)
        assert_allclose(r.bse["t"], ref.bse[1], rtol=1e-9)
        assert r.plan.final_terms_form == "quadratic"
    # effect interactions: also t x the centred quadratic terms, with m_hat x the same terms as free adjustment
    # columns; theta = mean fitted effect, variance = the sandwich's + var(fitted effects) / n
    Qc = Q[:, 4:] - Q[:, 4:].mean(0)
    r = plce.ols_ml("y ~ t | x1 + x2", data=small_df, learner=LinearRegression(), n_rep=1, random_state=7,
                    cov_type="HC1", estimand="variance_weighted", effect_interactions=True)
    ref = sm.OLS(y, np.column_stack([Q, m[:, None] * Qc, t[:, None] * Qc])).fit(cov_type="HC1")
    cate = ref.params[1] + Qc @ ref.params[-5:]
    assert_allclose(r.params["t"], cate.mean(), rtol=1e-9)
    assert_allclose(r.bse["t"] ** 2, ref.bse[1] ** 2 + cate.var() / len(y), rtol=1e-9)
    assert r.plan.interact
    r = plce.ols_ml("y ~ t | x1 + x2", data=small_df, cluster="cl", learner=LinearRegression(), n_rep=1,
                    random_state=7, estimand="variance_weighted", final_controls="none")
    ref = sm.OLS(y, Z).fit(cov_type="cluster", cov_kwds={"groups": small_df["cl"].to_numpy()})
    assert_allclose(r.bse["t"], ref.bse[1], rtol=1e-10)
    assert r.cov_type == "cluster"


def test_weighted_final_stage_equals_statsmodels_wls(small_df):
    """With given nuisances and variance, the weighted final stage is WLS with weights 1/max(s2, floor*mean)."""
    rng = np.random.default_rng(0)
    n = len(small_df)
    ell, m = rng.normal(size=n), rng.normal(size=n)
    s2 = rng.uniform(0.01, 2.0, size=n)
    res = plce.ols_ml("y ~ t | x1 + x2", data=small_df, n_rep=1, random_state=0, cov_type="HC2",
                      external_predictions={"ell": ell[None], "m": m[None, :, None], "s2": s2[None]},
                      final_controls="none")
    w = 1 / np.maximum(s2, 0.05 * s2.mean())
    Z = np.column_stack([np.ones(n), small_df["t"], ell, m])
    ref = sm.WLS(small_df["y"].to_numpy(), Z, weights=w / w.mean()).fit(cov_type="HC2")
    assert_allclose(res.params["t"], ref.params[1], rtol=1e-10)
    assert_allclose(res.bse["t"], ref.bse[1], rtol=1e-10)
    ess = w.sum() ** 2 / (w**2).sum()
    assert_allclose(res.weight_diagnostics.ess, ess, rtol=1e-10)


def test_residual_form_equals_doubleml_plr(small_df):
    dml = pytest.importorskip("doubleml")
    res = plce.ols_ml("y ~ t | x1 + x2", data=small_df, learner=LinearRegression(), n_rep=1, random_state=3,
                      final="residual", cov_type="HC0", estimand="variance_weighted", final_controls="none")
    folds = res.folds[0]
    smpls = [[(np.flatnonzero(folds != k), np.flatnonzero(folds == k)) for k in range(5)]]
    data = dml.DoubleMLData(small_df, y_col="y", d_cols="t", x_cols=["x1", "x2"])
    obj = dml.DoubleMLPLR(data, LinearRegression(), LinearRegression(), score="partialling out",
                          n_folds=5, n_rep=1, draw_sample_splitting=False)
    obj.set_sample_splitting(smpls)
    obj.fit()
    assert_allclose(res.params["t"], obj.coef[0], rtol=1e-8)
    assert_allclose(res.bse["t"], obj.se[0], rtol=1e-8)


def test_same_seed_same_result_any_n_jobs(small_df):
    kw = dict(data=small_df, n_rep=2, n_folds=3, random_state=11)
    a = plce.ols_ml("y ~ t | x1 + x2 + C(cat)", **kw)
    b = plce.ols_ml("y ~ t | x1 + x2 + C(cat)", **kw)
    c = plce.ols_ml("y ~ t | x1 + x2 + C(cat)", n_jobs=2, **kw)
    assert a.params["t"] == b.params["t"] == c.params["t"]
    assert a.bse["t"] == c.bse["t"]
    assert_allclose(a.nuisances.ell, c.nuisances.ell, rtol=0, atol=0)
    d = plce.ols_ml("y ~ t | x1 + x2 + C(cat)", data=small_df, n_rep=2, n_folds=3, random_state=12)
    assert d.params["t"] != a.params["t"]


def test_generator_random_state_and_none_are_reproducible(small_df):
    r1 = plce.ols_ml("y ~ t | x1 + x2", data=small_df, n_rep=1, random_state=np.random.default_rng(5))
    r2 = plce.ols_ml("y ~ t | x1 + x2", data=small_df, n_rep=1, random_state=r1.random_state)
    assert r1.params["t"] == r2.params["t"]
    r3 = plce.ols_ml("y ~ t | x1 + x2", data=small_df, n_rep=1)
    r4 = plce.ols_ml("y ~ t | x1 + x2", data=small_df, n_rep=1, random_state=r3.random_state)
    assert r3.params["t"] == r4.params["t"]


def test_results_api_shapes_and_consistency(small_df):
    res = plce.ols_ml("y ~ t | x1 + x2 + cat", data=small_df, n_rep=3, random_state=1, use_t=True)
    assert res.nobs == len(small_df) and res.n_dropped == 0
    assert res.params_rep.shape == (3, 1) and res.bse_rep.shape == (3, 1)
    assert_allclose(res.params["t"], np.median(res.params_rep["t"]))
    assert_allclose(res.tvalues, res.params / res.bse)
    from scipy import stats

    ci = res.conf_int(0.1)
    q = stats.t.ppf(0.95, res.df_resid)
    assert_allclose(ci[1] - ci[0], 2 * q * res.bse)
    assert_allclose(res.pvalues["t"], 2 * stats.t.sf(abs(res.tvalues["t"]), res.df_resid))
    assert_allclose(np.sqrt(res.cov_params().loc["t", "t"]), res.bse["t"])
    assert set(res.nuisance_metrics["nuisance"]) == {"outcome", "treatment:t", "variance"}
    assert res.design.categorical_controls == ("cat",)
    s = res.summary()
    for fmt in (s.as_text(), s.as_latex(), s.as_html()):
        assert "PLCE" in fmt
    text = s.as_text()
    assert "HC2" in text and res.cov_type == "HC2" and "Seed 1" in text and "5 x 3" in text
    assert repr(res) == text


def test_two_treatments_each_get_a_theta():
    rng = np.random.default_rng(0)
    n = 600
    x = rng.normal(size=n)
    t1 = x + rng.normal(size=n)
    t2 = -x + rng.normal(size=n)
    y = 1.0 * t1 - 2.0 * t2 + x**2 + rng.normal(size=n)
    df = pd.DataFrame({"y": y, "t1": t1, "t2": t2, "x": x, "z": rng.normal(size=n)})
    res = plce.ols_ml("y ~ t1 + t2 | x + z", data=df, n_rep=1, random_state=0)
    assert list(res.params.index) == ["t1", "t2"]
    assert abs(res.params["t1"] - 1) < 4 * res.bse["t1"]
    assert abs(res.params["t2"] + 2) < 4 * res.bse["t2"]
    assert res.cov_params().shape == (2, 2)


def test_missing_rows_dropped_and_counted(small_df):
    df = small_df.copy()
    df.loc[[0, 5, 9], "x1"] = np.nan
    df.loc[3, "y"] = np.inf
    with pytest.warns(plce.MissingValueWarning, match="Dropped 4 of 300"):
        res = plce.ols_ml("y ~ t | x1 + x2", data=df, n_rep=1, random_state=0)
    assert res.nobs == 296 and res.n_dropped == 4
    assert "4 rows dropped" in res.summary().as_text()
    assert not res.design.row_mask[[0, 3, 5, 9]].any()


def test_transform_creating_nonfinite_is_dropped(small_df):
    df = small_df.assign(pos=np.abs(small_df["x2"]))
    df.loc[0, "pos"] = 0.0
    with pytest.warns(plce.MissingValueWarning, match="np.log"):
        res = plce.ols_ml("y ~ t | x1 + np.log(pos)", data=df, n_rep=1, random_state=0)
    assert res.nobs == 299


def test_bool_treatment_and_array_interface(small_df):
    df = small_df.assign(d=small_df["t"] > 0)
    res = plce.ols_ml("y ~ d | x1 + x2", data=df, n_rep=1, random_state=0)
    assert np.isfinite(res.params["d"])
    arr = plce.PLCE(df["y"].to_numpy(), df["d"].to_numpy(), df[["x1", "x2"]].to_numpy()).fit(
        n_rep=1, random_state=0
    )
    assert np.isfinite(arr.params.iloc[0])


def test_grouped_folds_keep_clusters_together(small_df):
    res = plce.ols_ml("y ~ t | x1 + x2", data=small_df, cluster="cl", grouped_folds=True, n_rep=2,
                      random_state=0)
    for f in res.folds:
        per_cluster = pd.Series(f).groupby(small_df["cl"].to_numpy()).nunique()
        assert (per_cluster == 1).all()


def test_any_sklearn_regressor_is_seeded():
    from sklearn.ensemble import RandomForestRegressor

    df, _ = plce.datasets.make_simdata("baseline", n=200, random_state=0)
    kw = dict(data=df, learner=RandomForestRegressor(n_estimators=20), n_rep=1, random_state=4)
    a = plce.ols_ml("y ~ t | x1 + x2", **kw)
    b = plce.ols_ml("y ~ t | x1 + x2", **kw)
    assert a.params["t"] == b.params["t"]


def test_no_warning_flood_from_lightgbm(small_df):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        plce.ols_ml("y ~ t | x1 + x2 + C(cat)", data=small_df, n_rep=1, random_state=0)

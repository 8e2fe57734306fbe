"""Results as data: pickling, a covariance change without refitting, t/Wald tests and tidy against statsmodels."""
import pickle

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from numpy.testing import assert_allclose
from sklearn.linear_model import LinearRegression

import plce
from plce import PLCEError


class CountingLinear(LinearRegression):
    """LinearRegression that counts its fits (class-wide, so clones count too)."""

    fits = 0

    def fit(self, X, y, sample_weight=None):
        type(self).fits += 1
        return super().fit(X, y, sample_weight=sample_weight)


@pytest.fixture(scope="module")
def re_data():
    df, _ = plce.datasets.make_simdata("re_het", n=400, random_state=11)
    df["state"] = np.arange(len(df)) % 25
    return df


def test_pickle_round_trip_keeps_the_summary(re_data):
    res = plce.ols_ml("y ~ t | x1 + x2 + x3 + (1|g)", data=re_data, n_rep=2, random_state=4)
    back = pickle.loads(pickle.dumps(res))
    assert back.summary().as_text() == res.summary().as_text()
    assert back.params.equals(res.params) and back.bse.equals(res.bse)
    assert back.sensitivity().stats == res.sensitivity().stats


def test_covariance_change_reruns_only_the_final_stage(re_data):
    kw = dict(data=re_data, n_rep=2, random_state=5, learner=CountingLinear())
    res = plce.ols_ml("y ~ t | x1 + x2 + (1|g)", **kw)
    CountingLinear.fits = 0
    for cov in ["HC3", "HC0", "nonrobust"]:
        changed = res.get_robustcov_results(cov)
        fresh_fits = CountingLinear.fits
        fresh = plce.ols_ml("y ~ t | x1 + x2 + (1|g)", cov_type=cov, **kw)
        assert fresh_fits == 0, "a covariance change refit a learner"
        CountingLinear.fits = 0
        assert changed.cov_type == cov
        assert_allclose(changed.params, fresh.params, rtol=1e-12)
        assert_allclose(changed.bse, fresh.bse, rtol=1e-12)
        assert changed.summary().as_text().split("Date:")[0] == fresh.summary().as_text().split("Date:")[0]
    # clustering by a column of the data after the fit equals a fresh fit with cluster=
    changed = res.vcov("cluster", cluster=re_data["state"])
    fresh = plce.ols_ml("y ~ t | x1 + x2 + (1|g)", cluster="state", **kw)
    assert_allclose(changed.bse, fresh.bse, rtol=1e-12)
    assert changed.plan.inference.n_clusters == (25,)
    with pytest.raises(PLCEError, match="not a random-intercept factor or cluster"):
        res.vcov("cluster", cluster="state")


@pytest.fixture(scope="module")
def two_treatments():
    rng = np.random.default_rng(2)
    n = 300
    x = rng.normal(size=n)
    t1, t2 = x + rng.normal(size=n), -x + rng.normal(size=n)
    y = 1 + 0.8 * t1 + 0.3 * t2 + x + rng.normal(size=n)
    df = pd.DataFrame({"y": y, "t1": t1, "t2": t2, "x": x, "cl": np.arange(n) % 30})
    ell = x + 0.3 * x**2
    m = np.column_stack([0.9 * x + 0.2 * np.sin(2 * x), -0.9 * x + 0.2 * x**2])
    ext = {"ell": ell[None], "m": m[None]}
    Z = np.column_stack([np.ones(n), t1, t2, ell, m])
    return df, ext, Z


@pytest.mark.parametrize("cov, use_t", [("HC1", False), ("HC3", True), ("cluster", True), ("cluster", False)])
def test_t_and_wald_tests_equal_statsmodels_on_the_final_stage(two_treatments, cov, use_t):
    df, ext, Z = two_treatments
    kw = {"groups": df["cl"].to_numpy()} if cov == "cluster" else {}
    res = plce.ols_ml("y ~ t1 + t2 | x", data=df, cluster="cl" if cov == "cluster" else None, n_rep=1,
                      external_predictions=ext, estimand="variance_weighted", final_controls="none",
                      cov_type=cov, use_t=use_t, random_state=0)
    ref = sm.OLS(df["y"].to_numpy(), Z).fit(cov_type=cov, cov_kwds=kw, use_t=use_t)
    assert_allclose(res.params, ref.params[1:3], rtol=1e-10)
    assert_allclose(res.bse, ref.bse[1:3], rtol=1e-10)
    assert_allclose(res.pvalues, ref.pvalues[1:3], rtol=1e-8)
    assert_allclose(res.conf_int().to_numpy(), ref.conf_int()[1:3], rtol=1e-8)
    R = np.zeros((2, Z.shape[1]))
    R[0, 1], R[1, 1], R[1, 2] = 1, 1, -1
    mine = res.t_test("t1 = 1, t1 - t2 = 0")
    theirs = ref.t_test((R, np.array([1.0, 0.0])))
    assert_allclose(mine.effect, theirs.effect, rtol=1e-10)
    assert_allclose(mine.sd.ravel(), theirs.sd.ravel(), rtol=1e-10)
    assert_allclose(np.ravel(mine.statistic), np.ravel(theirs.statistic), rtol=1e-10)
    assert_allclose(mine.pvalue, theirs.pvalue, rtol=1e-8)
    w_mine = res.wald_test("t1 = 1, t2 = 0")
    R2 = np.zeros((2, Z.shape[1]))
    R2[0, 1] = R2[1, 2] = 1
    w_ref = ref.wald_test((R2, np.array([1.0, 0.0])), use_f=use_t, scalar=True)
    assert_allclose(float(np.squeeze(w_mine.statistic)), float(np.squeeze(w_ref.statistic)), rtol=1e-10)
    assert_allclose(float(w_mine.pvalue), float(w_ref.pvalue), rtol=1e-8)
    if cov == "cluster" and use_t:
        assert res.df_inference == 29  # G - 1, as Stata and statsmodels


def test_tidy_and_bad_hypotheses(two_treatments):
    df, ext, _ = two_treatments
    res = plce.ols_ml("y ~ t1 + t2 | x", data=df, n_rep=1, external_predictions=ext, final_controls="none",
                      random_state=0)
    tab = res.tidy(alpha=0.1)
    assert list(tab.index) == ["t1", "t2"]
    assert_allclose(tab["estimate"], res.params)
    assert_allclose(tab[["conf_low", "conf_high"]].to_numpy(), res.conf_int(0.1).to_numpy())
    with pytest.raises(PLCEError, match="Cannot read the hypothesis"):
        res.t_test("t3 = 0")
    with pytest.raises(PLCEError, match="needs 2 columns"):
        res.t_test(np.eye(3))

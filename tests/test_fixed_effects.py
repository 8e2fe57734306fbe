"""Fixed effects fixest-style (y ~ t | x | fe1 + fe2), sampling weights: exactness against statsmodels and pyfixest."""
import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from numpy.testing import assert_allclose

import plce


@pytest.fixture(scope="module")
def panel():
    df, _ = plce.datasets.make_panel(n_units=60, n_periods=8, random_state=1, balanced=False)
    x = df["x1"].to_numpy()
    df["ell"] = 0.7 * x + 0.1 * x**2
    df["m"] = 0.9 * x + 0.05 * np.sin(x)
    return df


def _fit(df, **kw):
    ext = {"ell": df["ell"].to_numpy()[None], "m": df["m"].to_numpy()[None]}
    kw.setdefault("estimand", "variance_weighted")
    return plce.ols_ml("y ~ t | x1 | unit + year", data=df, n_rep=1, external_predictions=ext,
                       final_controls="linear", random_state=0, **kw)


def test_two_way_fixed_effects_equal_least_squares_with_dummies(panel):
    res = _fit(panel, cov_type="HC1")
    D = pd.get_dummies(panel[["unit", "year"]].astype(str), drop_first=True, dtype=float)
    Z = np.column_stack([np.ones(len(panel)), panel[["t", "ell", "m", "x1"]].to_numpy(), D.to_numpy()])
    ref = sm.OLS(panel["y"].to_numpy(), Z).fit(cov_type="HC1")
    assert_allclose(res.params["t"], ref.params[1], rtol=1e-9)
    assert_allclose(res.bse["t"], ref.bse[1], rtol=1e-8)  # HC1 counts the absorbed levels, as Stata's areg
    ref_w = sm.WLS(panel["y"].to_numpy(), Z, weights=panel["w"].to_numpy()).fit(cov_type="HC1")
    res_w = _fit(panel, cov_type="HC1", weights="w")
    assert_allclose(res_w.params["t"], ref_w.params[1], rtol=1e-9)
    assert_allclose(res_w.bse["t"], ref_w.bse[1], rtol=1e-8)


@pytest.mark.parametrize("weights", [None, "w"])
def test_fixed_effects_equal_pyfixest_feols(panel, weights):
    pf = pytest.importorskip("pyfixest")
    d = panel.copy()
    d.loc[d.index[-1], "unit"] = 999  # a singleton: dropped by both
    res = _fit(d, weights=weights)  # clustered by the first fixed effect by default, as fixest
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = pf.feols("y ~ t + ell + m + x1 | unit + year", d, vcov={"CRV1": "unit"}, weights=weights,
                       fixef_tol=1e-14)
    assert_allclose(res.params["t"], float(ref.coef()["t"]), rtol=1e-8)
    assert_allclose(res.bse["t"], float(ref.se()["t"]), rtol=1e-8)
    assert res.nobs == ref._N and res.n_singletons == 1
    assert res.cov_type == "cluster" and res.plan.inference.cluster_names == ("unit",)


def test_random_intercept_spelling_absorbs_every_factor(panel):
    """(1|unit) + (1|year), the lme4 spelling of absorb(unit year), absorbs both factors as | unit + year does (the
    random intercepts also enter the learners, so the two fits are close, not identical)."""
    kw = dict(n_rep=1, random_state=3, estimand="variance_weighted")
    a = plce.ols_ml("y ~ t | x1 + (1|unit) + (1|year)", data=panel, **kw)
    b = plce.ols_ml("y ~ t | x1 | unit + year", data=panel, **kw)
    assert a.plan.absorbed_names == ("unit", "year") and b.plan.absorbed_names == ("unit", "year")
    assert abs(a.params["t"] - b.params["t"]) < 2 * b.bse["t"]
    assert "Fixed effects unit (60 levels), year (8 levels) absorbed" in b.summary().as_text()


def test_weights_equal_weighted_least_squares_and_shift_the_estimand():
    rng = np.random.default_rng(0)
    n = 600
    x = rng.normal(size=n)
    t = x + rng.normal(size=n)
    w = np.where(x > 0, 3.0, 0.5)
    df = pd.DataFrame({"y": (1 + x) * t + x + rng.normal(size=n), "t": t, "x": x, "w": w})
    ell, m = 1.2 * x + 0.2 * x**2, 0.95 * x + 0.1 * np.sin(2 * x)
    res = plce.ols_ml("y ~ t | x", data=df, weights="w", n_rep=1, external_predictions={"ell": ell[None], "m": m[None]},
                      final_controls="linear", estimand="variance_weighted", cov_type="HC1", random_state=0)
    ref = sm.WLS(df.y.to_numpy(), np.column_stack([np.ones(n), t, ell, m, x]), weights=w).fit(cov_type="HC1")
    assert_allclose(res.params["t"], ref.params[1], rtol=1e-10)
    assert_allclose(res.bse["t"], ref.bse[1], rtol=1e-10)
    # the weighted-population average effect: the weights move it towards the x > 0 units (effect 1 + x)
    fit = plce.ols_ml("y ~ t | x", data=df, weights="w", random_state=0, n_rep=2)
    target = np.average(1 + x, weights=w)
    assert abs(fit.params["t"] - target) < 3 * fit.bse["t"]
    assert abs(target - 1.0) > 4 * fit.bse["t"]  # and the unweighted average is not what it estimates
    assert "Sampling weights 'w'" in fit.summary().as_text()
    with pytest.raises(plce.PLCEError, match="negative values"):
        plce.ols_ml("y ~ t | x", data=df.assign(w=-w), weights="w")


def test_every_formula_term_works_with_every_learner():
    from sklearn.linear_model import LinearRegression

    rng = np.random.default_rng(4)
    n = 400
    df = pd.DataFrame({"x1": rng.normal(size=n), "x2": rng.normal(size=n), "x3": rng.uniform(1, 3, n),
                       "cat": rng.choice(["north", "south", "west"], n), "region": rng.choice(list("abcd"), n)})
    df["t"] = df.x1 + rng.normal(size=n)
    df["y"] = df.t + df.x1 * df.x2 + rng.normal(size=n)
    terms = ["x1:x2", "x1*x2", "C(cat):x1", "bs(x3, df=4)", "C(region, contr.treatment('b'))", "np.log(x3)",
             "I(x1**2)"]
    for learner in [None, LinearRegression()]:
        for term in terms:
            res = plce.ols_ml(f"y ~ t | x1 + {term}", data=df, n_rep=1, random_state=0, learner=learner)
            assert np.isfinite(res.params["t"]) and np.isfinite(res.bse["t"]), term
            assert any(":" in lab or "(" in lab for lab in res.design.control_labels), term
    # the learner given applies to every model: no LightGBM anywhere
    res = plce.ols_ml("y ~ t | x1 + x1:x2", data=df, n_rep=1, random_state=0, learner=LinearRegression())
    assert {type(m).__name__ for m in (res.plan.learner_y, res.plan.learner_t, res.plan.learner_v)} == \
        {"LinearRegression"}

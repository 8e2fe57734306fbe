"""A catalogue of bad input and degenerate designs: what a user gives, what plce says, and the rule behind it.

Each case: the input, the exception or warning, and the words the message must contain. The rules:
* a number that is not identified, or not computable, is a PLCEError saying why -- never a silent answer;
* a number that rests on little information comes with a warning that says what to do;
* every raw library exception a user can trigger is replaced by a PLCEError naming the option, column or fix.
"""
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression

import plce
from plce import PLCEError
from plce.errors import FewGroupsWarning, PLCEWarning, PositivityWarning


def fit(formula, df, **kw):
    kw.setdefault("n_rep", 1)
    kw.setdefault("random_state", 0)
    return plce.ols_ml(formula, data=df, **kw)


@pytest.fixture
def df():
    rng = np.random.default_rng(1)
    n = 400
    x1, x2 = rng.normal(size=(2, n))
    t = x1 + rng.normal(size=n)
    return pd.DataFrame({"y": t + x1 + x2 + rng.normal(size=n), "t": t, "x1": x1, "x2": x2,
                         "g": rng.integers(0, 40, n)})


# --- 1. singleton groups: the SE must not collapse --------------------------------------------------------------
def _singletons(n_big=200, n_single=200, seed=0):
    rng = np.random.default_rng(seed)
    n = n_big + n_single
    g = np.r_[np.zeros(n_big, int), 1 + np.arange(n_single)]
    x = rng.normal(size=n)
    t = x + rng.normal(size=n)
    return pd.DataFrame({"y": t + x + rng.normal(size=n), "t": t, "x": x, "g": g})


def test_singleton_groups_are_dropped_and_a_single_informative_cluster_falls_back_to_hc1():
    d = _singletons()
    with pytest.warns(FewGroupsWarning, match="need at least 2 clusters .* fall back to HC1"):
        res = fit("y ~ t | x + (1|g)", d, estimand="variance_weighted", learner=LinearRegression())
    assert res.n_singletons == 200 and res.nobs == 200
    assert res.cov_type == "HC1" and res.bse["t"] > 0.02  # was 1.8e-16 (clustered by g, one informative group)
    assert "fall back to HC1" in res.summary().as_text()


def test_few_informative_groups_warn_even_with_many_singletons():
    rng = np.random.default_rng(3)
    d = _singletons(n_big=100, n_single=100)
    d.loc[:99, "g"] = 1000 + rng.integers(0, 5, 100)  # 5 informative groups plus 100 singletons
    with pytest.warns(FewGroupsWarning, match="only 5 groups with more than one member .*100 singletons"):
        fit("y ~ t | x + (1|g)", d, learner=LinearRegression())


# --- 2. a treatment that is an exact function of the controls ---------------------------------------------------
@pytest.mark.parametrize("make_t, words", [
    (lambda d: 2 * d.x1 + 1, "exact linear function of the controls \\(x1\\)"),
    (lambda d: d.x1**2, "exact function of the final stage's control terms"),
])
def test_treatment_determined_by_the_controls_is_not_identified(df, make_t, words):
    with pytest.raises(PLCEError, match=words):
        fit("y ~ t | x1 + x2", df.assign(t=make_t(df)))


def test_a_nearly_duplicated_treatment_warns(df):
    near = df.assign(x3=df.t + 0.01 * np.random.default_rng(0).normal(size=len(df)))
    with pytest.warns(PositivityWarning, match="explain 99.9.% of the variance of the treatment 't'"):
        fit("y ~ t | x1 + x2 + x3", near)


# --- 3. a binary treatment with very few treated ----------------------------------------------------------------
def test_few_treated_units(df):
    few = df.assign(d=(np.arange(len(df)) < 3).astype(float))
    with pytest.raises(PLCEError, match="Only 3 treated units of 400: fewer than the 5 folds"):
        fit("y ~ d | x1", few)
    some = df.assign(d=(np.arange(len(df)) < 12).astype(float))
    with pytest.warns(PositivityWarning, match="Only 12 treated units"):
        fit("y ~ d | x1", some, learner_t=plce.learners.default_classifier(min_child_samples=5))


# --- 4. user-given folds ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("folds, words", [
    (lambda n: np.r_[np.full(10, -1), np.arange(n - 10) % 5], "negative labels"),
    (lambda n: np.arange(n) % 5 * 2, "no unit with label"),
    (lambda n: np.arange(n - 1) % 5, "shape"),
    (lambda n: np.zeros(n, int), "single label"),
    (lambda n: (np.arange(n) % 5).astype(float) + 0.5, "integer labels"),
])
def test_folds_must_be_a_partition(df, folds, words):
    with pytest.raises(PLCEError, match=words):
        fit("y ~ t | x1", df, folds=folds(len(df)))


def test_valid_folds_are_used_as_given(df):
    f = np.arange(len(df)) % 4
    res = fit("y ~ t | x1", df, folds=np.vstack([f, f[::-1]]))
    assert res.plan.n_folds == 4 and res.plan.n_rep == 2 and (res.folds[0] == f).all()


# --- 5. extreme scales --------------------------------------------------------------------------------------------
def test_extreme_scales_give_the_same_answer_or_a_clear_refusal(df):
    base = fit("y ~ t | x1 + x2", df)
    big_x = fit("y ~ t | x1 + x2", df.assign(x1=df.x1 * 1e300, x2=df.x2 * 1e-300))
    assert abs(big_x.params["t"] - base.params["t"]) < 1e-8 * abs(base.params["t"])
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # no overflow leaks
        big_t = fit("y ~ t | x1 + x2", df.assign(t=df.t * 1e200, y=df.y * 1e-100))
    assert abs(big_t.params["t"] * 1e300 / base.params["t"] - 1) < 1e-6
    assert big_t.bse["t"] > 0 and np.isfinite(big_t.bse["t"])
    with pytest.raises(PLCEError, match="does not fit in double precision"):
        fit("y ~ t | x1 + x2", df.assign(y=df.y * 1e300))


# --- 6. a classifier's hard labels are never propensities (tests/test_binary.py has the rest) -----------------
def test_classifier_hard_predictions_are_never_used(df):
    from lightgbm import LGBMClassifier

    d = df.assign(d=(df.x1 + np.random.default_rng(2).normal(size=len(df)) > 0).astype(float))
    res = fit("y ~ d | x1 + x2", d, learner_t=LGBMClassifier(n_estimators=30, verbose=-1))
    m = res.nuisances.m[0, :, 0]
    assert len(np.unique(m)) > 10 and ((m > 0) & (m < 1)).all()


# --- 7. pandas inputs with different indexes ---------------------------------------------------------------------
def test_arrays_with_different_indexes_are_refused(df):
    y = df["y"]
    X = df[["x1", "x2"]].set_axis(df.index[::-1])
    with pytest.raises(PLCEError, match="different indexes; plce does not combine them by position"):
        plce.PLCE(y, df["t"], X)
    aligned = plce.PLCE(y, df["t"], df[["x1", "x2"]]).fit(n_rep=1, random_state=0)
    formula = fit("y ~ t | x1 + x2", df)
    assert aligned.params.iloc[0] == pytest.approx(formula.params["t"], rel=1e-12)


# --- 8. controls silently turned into many categories ----------------------------------------------------------
def test_numbers_as_text_and_dates_are_converted_and_said(df):
    d = df.assign(x1=df.x1.map(lambda v: f"{v:.6f}"), when=pd.Timestamp("2020-01-01") + pd.to_timedelta(
        np.arange(len(df)), unit="D"))
    with pytest.warns(PLCEWarning, match="'x1' \\(control\\) holds numbers stored as text; converted"):
        res = fit("y ~ t | x1 + x2 + when", d)
    assert res.design.X["x1"].dtype == float and res.design.X["when"].iloc[0] == pytest.approx(2020.0, abs=0.01)
    assert any("numbers stored as text" in n for n in res.design.notes)


def test_a_continuous_column_as_a_category_warns(df):
    with pytest.warns(PLCEWarning, match="has 400 levels for 400 rows"):
        fit("y ~ t | x1 + C(x2)", df)


# --- 9. the sensitivity block agrees with the headline test -----------------------------------------------------
def test_robustness_value_at_5pct_is_zero_exactly_when_the_headline_test_is_not_significant():
    d = plce.datasets.load_darfur()
    res = plce.ols_ml("peacefactor ~ directlyharmed | age + farmer_dar + herder_dar + pastvoted + hhsize_darfur "
                      "+ female", data=d, random_state=1, n_rep=1)
    for cov in ["HC1", "HC3", "nonrobust"]:
        r = res.get_robustcov_results(cov)
        rv = r.sensitivity().stats["rv_qa"]
        significant = r.pvalues.iloc[0] < 0.05
        assert (rv > 0) == significant or abs(r.tvalues.iloc[0]) == pytest.approx(1.96, abs=0.01)
    # with the classical SE as the headline, the numbers are sensemakr's
    from plce.diagnostics import sensitivity as s

    r = res.get_robustcov_results("nonrobust")
    t = float(r.params.iloc[0] / r.bse_classical.iloc[0])
    assert r.sensitivity().stats["rv_q"] == pytest.approx(s.robustness_value(t, r.df_resid), rel=1e-12)


# --- 10. cluster= with a cov_type that ignores clusters --------------------------------------------------------
def test_cluster_with_hc3_is_an_error(df):
    with pytest.raises(PLCEError, match="cov_type='HC3', which ignores clusters"):
        fit("y ~ t | x1", df, cluster="g", cov_type="HC3")


# --- raw exceptions that must be PLCEErrors ----------------------------------------------------------------------
@pytest.mark.parametrize("kw, words", [
    ({"re_iter": 0}, "re_iter must be an integer >= 1"),
    ({"n_jobs": 0}, "n_jobs must be"),
    ({"n_jobs": "two"}, "n_jobs must be"),
    ({"learner": LinearRegression}, "not the class LinearRegression"),
    ({"n_fold": 3}, "Did you mean 'n_folds'"),
])
def test_bad_options_name_the_option(df, kw, words):
    with pytest.raises(PLCEError, match=words):
        fit("y ~ t | x1 + (1|g)", df, **kw)


def test_bad_arrays(df):
    with pytest.raises(PLCEError, match="same length"):
        plce.PLCE(df.y.to_numpy(), df.t.to_numpy()[:-1], df[["x1"]].to_numpy())
    with pytest.raises(PLCEError, match="y must be 1-d"):
        plce.PLCE(df[["y", "x2"]].to_numpy(), df.t.to_numpy(), df[["x1"]].to_numpy())
    with pytest.raises(PLCEError, match="y must be 1-d .* got a scalar"):
        plce.PLCE(3.0, df.t.to_numpy(), df[["x1"]].to_numpy())
    with pytest.raises(PLCEError, match="X must be 1-d or 2-d .* got 3-d"):
        plce.PLCE(df.y.to_numpy(), df.t.to_numpy(), np.zeros((len(df), 2, 2)))
    with pytest.raises(PLCEError, match="named 'y'"):
        plce.PLCE(df.y, df.t, df[["y", "x1"]])
    with pytest.raises(PLCEError, match="cluster takes one or two column names"):
        fit("y ~ t | x1", df, cluster=5)
    with pytest.raises(PLCEError, match="several columns named \\['x1'\\]"):
        fit("y ~ t | x1", pd.concat([df, df[["x1"]]], axis=1))


# --- messages that mislead -------------------------------------------------------------------------------------
def test_messages_name_the_real_problem(df):
    dotted = df.rename(columns={"x1": "hh.size"})
    for formula in ["y ~ t | hh.size + x2", "y ~ t | `hh.size` + x2"]:
        if "`" in formula:
            assert fit(formula, dotted).params.notna().all()  # backticks work
        else:
            with pytest.raises(PLCEError, match="quoted in backticks, e.g. `hh.size`"):
                fit(formula, dotted)
    with pytest.raises(PLCEError, match="Stata's factor-variable notation; write C\\(g\\)"):
        fit("y ~ t | x1 + i.g", df)
    with pytest.raises(PLCEError, match="The outcome 'y' is constant"):
        fit("y ~ t | x1", df.assign(y=1.0))
    with pytest.raises(PLCEError, match="Too few rows for the learner: 20 rows .* min_child_samples=40"):
        fit("y ~ t | x1", df.iloc[:20])
    with pytest.raises(PLCEError, match="no controls: there is nothing for the learners to adjust for"):
        plce.PLCE(df.y.to_numpy(), df.t.to_numpy(), np.empty((len(df), 0)))
    with pytest.raises(PLCEError, match="single group; .*remove the '\\(1\\|one\\)' term"):
        fit("y ~ t | x1 + (1|one)", df.assign(one=1))


def test_dataframe_interchange_objects_are_accepted(df):
    class Foreign:  # a polars-like object that speaks the dataframe interchange protocol
        def __init__(self, frame):
            self._frame = frame

        def __dataframe__(self, *args, **kwargs):
            return self._frame.__dataframe__(*args, **kwargs)

    res = fit("y ~ t | x1 + x2", Foreign(df))
    assert res.params["t"] == pytest.approx(fit("y ~ t | x1 + x2", df).params["t"], rel=1e-12)
    with pytest.raises(PLCEError, match="got builtins.list"):
        fit("y ~ t | x1", [1, 2, 3])


def test_a_labelled_two_level_treatment_is_coded_and_said(df):
    d = df.assign(d=pd.Categorical(np.where(df.x1 + np.random.default_rng(0).normal(size=len(df)) > 0, "treated",
                                            "control"), categories=["control", "treated"]))
    with pytest.warns(PLCEWarning, match="coded 'control' = 0, 'treated' = 1"):
        res = fit("y ~ d | x1 + x2", d)
    assert set(np.unique(res.design.T[:, 0])) == {0.0, 1.0}
    assert "coded 'control' = 0" in res.summary().as_text()

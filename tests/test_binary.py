"""Binary treatments: the propensity classifier, ATE/ATT/ATC, trimming and overlap diagnostics at any n_rep."""
import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from numpy.testing import assert_allclose
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.svm import LinearSVC

import plce
from plce import PLCEError
from plce.diagnostics.overlap import crump_threshold, trim_mask
from plce.errors import PositivityWarning


def _data(n=600, seed=0, slope=1.5, shift=0.0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    p = 1 / (1 + np.exp(-(slope * X[:, 0] + shift)))
    d = (rng.random(n) < p).astype(float)
    y = 1 + d * (1 + X[:, 0]) + X[:, 0] + 0.5 * X[:, 1] + rng.normal(size=n)
    return pd.DataFrame({"y": y, "d": d, "x1": X[:, 0], "x2": X[:, 1], "x3": X[:, 2]}), p


def test_default_treatment_model_is_a_classifier_inside_0_1():
    df, _ = _data()
    res = plce.ols_ml("y ~ d | x1 + x2 + x3", data=df, n_rep=2, random_state=0)
    assert type(res.plan.learner_t).__name__ == "LGBMClassifier"
    m = res.nuisances.m[:, :, 0]
    assert (m > 0).all() and (m < 1).all()
    assert res.overlap_diagnostics.n_clipped == 0
    # a LightGBM regressor given as learner= becomes the classifier with the same settings for the propensity
    from lightgbm import LGBMRegressor

    r2 = plce.ols_ml("y ~ d | x1 + x2", data=df, n_rep=1, random_state=0, learner=LGBMRegressor(n_estimators=50,
                                                                                                verbose=-1))
    assert type(r2.plan.learner_t).__name__ == "LGBMClassifier"
    assert r2.plan.learner_t.get_params()["n_estimators"] == 50


def test_fast_path_classifier_equals_the_wrapper():
    from plce.learners import BoosterFit, default_classifier, seeded_clone

    df, _ = _data(400, seed=2)
    X, d = df[["x1", "x2", "x3"]], df["d"].to_numpy()
    fast = seeded_clone(default_classifier(), 5)
    assert isinstance(fast, BoosterFit) and fast.classifier
    slow = default_classifier(random_state=5).fit(X, d)
    assert_allclose(fast.fit(X, d).predict(X), slow.predict_proba(X)[:, 1], rtol=0, atol=1e-12)


def test_classifiers_without_probabilities_and_misplaced_classifiers_are_refused():
    df, _ = _data(300)
    with pytest.raises(PLCEError, match="without predict_proba: its predict\\(\\) gives hard 0/1 labels"):
        plce.ols_ml("y ~ d | x1", data=df, n_rep=1, learner_t=LinearSVC())
    with pytest.raises(PLCEError, match="learner is a classifier"):
        plce.ols_ml("y ~ d | x1", data=df, n_rep=1, learner=LogisticRegression())
    # any classifier with predict_proba is a propensity model
    res = plce.ols_ml("y ~ d | x1 + x2", data=df, n_rep=1, learner_t=LogisticRegression(), random_state=1)
    assert np.isfinite(res.params["d"])


def test_a_regressor_is_a_linear_probability_model_with_clipping_counted():
    df, _ = _data(500, slope=3.0)
    res = plce.ols_ml("y ~ d | x1 + x2", data=df, n_rep=2, learner=LinearRegression(), random_state=0)
    diag = res.overlap_diagnostics
    m = res.nuisances.m[:, :, 0]
    assert diag.n_clipped == int(((m < 0.01) | (m > 0.99)).sum()) > 0
    assert "Propensities clipped:" in res.summary().as_text()


def test_estimand_validation():
    df, _ = _data(300)
    cont = df.assign(t=df.x2 + np.random.default_rng(0).normal(size=len(df)))
    with pytest.raises(PLCEError, match="estimand='att' needs a 0/1 treatment"):
        plce.ols_ml("y ~ t | x1", data=cont, n_rep=1, estimand="att")
    with pytest.raises(PLCEError, match="supports one treatment"):
        plce.ols_ml("y ~ d + t | x1", data=cont, n_rep=1, estimand="atc")
    with pytest.raises(PLCEError, match="trim= needs a single 0/1 treatment"):
        plce.ols_ml("y ~ t | x1", data=cont, n_rep=1, trim=0.05)
    with pytest.raises(PLCEError, match="trim must be"):
        plce.ols_ml("y ~ d | x1", data=df, n_rep=1, trim=0.7)


@pytest.mark.parametrize("estimand, a", [("ate", None), ("att", "t"), ("atc", "c")])
def test_estimands_equal_weighted_least_squares_by_hand(estimand, a):
    # Given nuisances and no control terms: WLS of y on [1, d, l_hat, m_hat] with weights 1/(m(1-m)), 1/(1-m), 1/m
    df, p = _data(800, seed=3)
    ell, m = 1 + 1.3 * df.x1.to_numpy(), np.clip(p + 0.02 * np.sin(5 * df.x2.to_numpy()), 0.02, 0.98)
    res = plce.ols_ml("y ~ d | x1 + x2", data=df, n_rep=1, external_predictions={"ell": ell[None], "m": m[None]},
                      final_controls="none", estimand=estimand, cov_type="HC1", random_state=0)
    w = {"ate": 1 / (m * (1 - m)), "att": 1 / (1 - m), "atc": 1 / m}[estimand]
    Z = np.column_stack([np.ones(len(df)), df.d, ell, m])
    ref = sm.WLS(df.y.to_numpy(), Z, weights=w).fit(cov_type="HC1")
    assert_allclose(res.params["d"], ref.params[1], rtol=1e-10)
    assert_allclose(res.bse["d"], ref.bse[1], rtol=1e-10)
    assert res.estimand == estimand


def test_att_with_effect_interactions_averages_fitted_effects_over_the_treated():
    df, p = _data(800, seed=4)
    ell, m = 1 + 1.3 * df.x1.to_numpy(), np.clip(p, 0.02, 0.98)
    res = plce.ols_ml("y ~ d | x1 + x2", data=df, n_rep=1, external_predictions={"ell": ell[None], "m": m[None]},
                      final_controls="linear", estimand="att", random_state=0, average_effect="sample")
    d = df.d.to_numpy()
    Q = df[["x1", "x2"]].to_numpy()
    Qc = Q - Q[d == 1].mean(0)
    Z = np.column_stack([np.ones(len(df)), d, ell, m, Q, m[:, None] * Qc, d[:, None] * Qc])
    ref = sm.WLS(df.y.to_numpy(), Z, weights=1 / (1 - m)).fit(cov_type="HC1")
    assert_allclose(res.params["d"], ref.params[1], rtol=1e-10)
    cate = ref.params[1] + Qc @ ref.params[-2:]
    assert_allclose(cate[d == 1].mean(), res.params["d"], rtol=1e-10)
    assert "average effect on the treated" in res.summary().as_text()


def test_trimming_counts_and_crump_rule():
    rng = np.random.default_rng(0)
    p = rng.beta(0.6, 0.6, size=5000)
    a = crump_threshold(p)
    # the threshold solves 1/(a(1-a)) = 2 E[g | g <= 1/(a(1-a))], g = 1/(p(1-p)) (up to the grid of the sample)
    g = 1 / (p * (1 - p))
    lam = 1 / (a * (1 - a))
    assert abs(lam - 2 * g[g <= lam].mean()) / lam < 0.01
    assert crump_threshold(np.full(100, 0.5) + rng.uniform(-0.1, 0.1, 100)) == 0.0
    keep, thr = trim_mask(p, 0.1)
    assert thr == 0.1 and keep.sum() == int(((p >= 0.1) & (p <= 0.9)).sum())
    df, _ = _data(800, slope=2.5)
    res = plce.ols_ml("y ~ d | x1 + x2", data=df, n_rep=2, trim=0.1, random_state=0)
    pbar = res.nuisances.m[:, :, 0].mean(0)
    assert res.n_trimmed == int(((pbar < 0.1) | (pbar > 0.9)).sum()) > 0
    assert res.nobs == len(df) - res.n_trimmed
    assert res.overlap["trimmed"].sum() == res.n_trimmed
    assert "Trimmed to the overlap sample" in res.summary().as_text()


def test_overlap_table_is_aligned_with_the_input_rows():
    df, _ = _data(400)
    df.index = np.arange(1000, 1400)[::-1]
    df.loc[df.index[:7], "x2"] = np.nan
    with pytest.warns(plce.MissingValueWarning):
        res = plce.ols_ml("y ~ d | x1 + x2", data=df, n_rep=1, random_state=0)
    tab = res.overlap
    assert tab.index.equals(df.index) and tab["dropped"].sum() == 7
    used = tab[~tab["dropped"]]
    assert_allclose(used["propensity"].to_numpy(), res.nuisances.m[0, :, 0])
    # the propensity follows x1 (the only confounder): units with larger x1 have larger propensities
    assert np.corrcoef(used["propensity"], df.loc[used.index, "x1"])[0, 1] > 0.8


def test_poor_overlap_warns_at_the_default_n_rep_and_an_experiment_does_not():
    rng = np.random.default_rng(5)
    n = 1000
    x = rng.normal(size=n)
    p = np.where(x < 0, 0.003, 0.5)  # half the units have propensity < 0.01
    d = (rng.random(n) < p).astype(float)
    df = pd.DataFrame({"y": x + d + rng.normal(size=n), "d": d, "x": x, "z": rng.normal(size=n)})
    with pytest.warns(PositivityWarning, match="Overlap: .*% of units have an out-of-fold propensity"):
        plce.ols_ml("y ~ d | x + z", data=df, random_state=0)
    exp = df.assign(d=(rng.random(n) < 0.5).astype(float))
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error", PositivityWarning)
        plce.ols_ml("y ~ d | x + z", data=exp, random_state=0)


def test_plot_overlap_returns_the_figure():
    import matplotlib

    matplotlib.use("Agg")
    df, _ = _data(300)
    res = plce.ols_ml("y ~ d | x1 + x2", data=df, n_rep=1, trim=0.05, random_state=0)
    fig = res.plot_overlap()
    ax = fig.axes[0]
    assert len(ax.patches) > 0 and "propensity" in ax.get_xlabel().lower()
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any("treated" in s for s in labels) and any("trimmed" in s for s in labels)
    cont = df.assign(t=df.x2 + np.random.default_rng(1).normal(size=len(df)) * (1 + df.x1.abs()))
    fig2 = plce.ols_ml("y ~ t | x1 + x2", data=cont, n_rep=1, random_state=0).plot_overlap()
    assert "weight" in fig2.axes[0].get_xlabel().lower()

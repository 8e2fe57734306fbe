"""Treatment-variance weights: floor, normalisation, ESS arithmetic, switch and bad input."""
import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

import plce
from plce import PLCEError
from plce.errors import PositivityWarning
from plce.variance import inner_residuals, is_binary, stabilized_weights, weight_diagnostics


def test_floor_and_normalisation():
    s2 = np.array([0.0, 0.01, 1.0, 2.0, 3.0])
    w, floored = stabilized_weights(s2, floor=0.1)
    lo = 0.1 * s2.mean()
    raw = 1 / np.maximum(s2, lo)
    assert_allclose(w, raw / raw.mean())
    assert_allclose(w.mean(), 1.0)
    assert floored.tolist() == [True, True, False, False, False]
    # no weight exceeds (1/floor) times the weight at the mean variance
    assert w.max() / (1 / s2.mean() / raw.mean()) <= 1 / 0.1 + 1e-12


def test_negative_predictions_are_floored_not_nan():
    w, floored = stabilized_weights(np.array([-1.0, 0.5, 1.5]), floor=0.05)
    assert np.all(np.isfinite(w)) and floored[0]


def test_ess_and_share_arithmetic():
    w = [np.array([1.0, 1.0, 2.0, 4.0]), np.array([1.0, 1.0, 1.0, 1.0])]
    d = weight_diagnostics(w, [np.array([False] * 4), np.array([True, False, False, False])], "model")
    ess = np.mean([8.0**2 / 22.0, 4.0])
    assert_allclose(d.ess, ess)
    assert_allclose(d.ess_fraction, ess / 4)
    assert_allclose(d.max_share, np.mean([4 / 8, 1 / 4]))
    assert_allclose(d.n_floored, 0.5)


def test_low_ess_warns():
    w = np.ones(100)
    w[0] = 500.0
    with pytest.warns(PositivityWarning, match="effective sample size"):
        weight_diagnostics([w], [np.zeros(100, bool)], "model")


def test_deterministic_treatment_is_a_clear_error():
    with pytest.raises(PLCEError, match="deterministic function of the controls"):
        stabilized_weights(np.zeros(10), floor=0.05)
    with pytest.raises(PLCEError, match="weight_floor must be in"):
        stabilized_weights(np.ones(10), floor=1.5)


def test_inner_residuals_are_out_of_fold():
    t = np.arange(10.0)
    seen = []

    def fp(tr, te):
        seen.append((set(tr), set(te)))
        assert not set(tr) & set(te)
        return np.full(len(te), t[tr].mean())

    r = inner_residuals(fp, t, np.random.default_rng(0), inner_folds=2)
    assert len(seen) == 2 and set().union(*(te for _, te in seen)) == set(range(10))
    assert np.all(np.isfinite(r))


def test_is_binary():
    assert is_binary(np.array([0.0, 1.0, 1.0])) and not is_binary(np.array([0.0, 1.0, 2.0]))


@pytest.fixture(scope="module")
def het_data():
    df, _ = plce.datasets.make_simdata("het", n=600, random_state=5)
    return df


def test_switch_changes_the_estimand(het_data):
    f = "y ~ t | x1 + x2 + x3 + x4 + x5"
    w = plce.ols_ml(f, data=het_data, n_rep=2, random_state=0)
    u = plce.ols_ml(f, data=het_data, n_rep=2, random_state=0, estimand="variance_weighted")
    # the variance-weighted target is 2 and the average effect 1 (the Monte Carlo tests check both over
    # 100 seeds); on one data set the two fits share their nuisances, so their gap is estimated tightly
    assert u.params["t"] - w.params["t"] > 0.3 and abs(w.params["t"] - 1) < abs(u.params["t"] - 1)
    assert "E[theta(x)]" in w.summary().as_text() and "variance-weighted" in u.summary().as_text()
    assert w.weight_diagnostics is not None and u.weight_diagnostics is None
    assert "Weights ESS" in w.summary().as_text()
    assert "variance" in set(w.nuisance_metrics["nuisance"])


def test_binary_treatment_uses_closed_form(het_data):
    df = het_data.assign(d=(het_data["t"] > het_data["t"].median()).astype(int))
    res = plce.ols_ml("y ~ d | x1 + x2 + x3", data=df, n_rep=1, random_state=0)
    assert res.plan.weighting == "binary"
    assert "m_hat(1 - m_hat)" in res.summary().as_text()
    with pytest.raises(PLCEError, match="variance='binary' needs a 0/1 treatment"):
        plce.ols_ml("y ~ t | x1", data=df, n_rep=1, treatment_variance="binary")


def test_several_treatments_default_to_unweighted(het_data):
    df = het_data.assign(t2=het_data["x3"] + np.random.default_rng(0).normal(size=len(het_data)))
    res = plce.ols_ml("y ~ t + t2 | x1 + x2", data=df, n_rep=1, random_state=0)
    assert res.plan.weighting is None
    with pytest.raises(PLCEError, match="supports one treatment"):
        plce.ols_ml("y ~ t + t2 | x1 + x2", data=df, n_rep=1, estimand="ate")


def test_nearly_deterministic_treatment_warns():
    rng = np.random.default_rng(0)
    n = 600
    x = rng.normal(size=n)
    sd = np.where(x > -0.5, 0.001, 1.0)  # t determined by x for ~70% of units
    t = x + sd * rng.normal(size=n)
    y = t + x + rng.normal(size=n)
    df = pd.DataFrame({"y": y, "t": t, "x": x, "z": rng.normal(size=n)})
    with pytest.warns(PositivityWarning):
        res = plce.ols_ml("y ~ t | x + z", data=df, n_rep=1, random_state=0)
    assert np.isfinite(res.params["t"]) and np.isfinite(res.bse["t"])


def test_effect_interactions_switch_and_summary(het_data):
    f = "y ~ t | x1 + x2 + x3"  # effect interactions: on with the weights, off with the classic estimand
    on = plce.ols_ml(f, data=het_data, random_state=0, n_rep=1)
    off = plce.ols_ml(f, data=het_data, random_state=0, n_rep=1, effect_interactions=False)
    classic = plce.ols_ml(f, data=het_data, random_state=0, n_rep=1, estimand="variance_weighted")
    assert on.plan.interact and not off.plan.interact
    assert not classic.plan.interact  # the switch keeps the classic PLR estimand
    assert on.params["t"] != off.params["t"]
    assert "sample average of the fitted effects" in str(on.summary())
    assert "sample average of the fitted effects" not in str(classic.summary())


def test_effect_interactions_bad_values(het_data):
    with pytest.raises(PLCEError, match="effect_interactions"):
        plce.ols_ml("y ~ t | x1", data=het_data, effect_interactions="yes")
    with pytest.raises(PLCEError, match="no controls, or linear_controls=False"):
        plce.ols_ml("y ~ t | x1", data=het_data, effect_interactions=True, final_controls="none")
    with pytest.raises(PLCEError, match="final='feasible'"):
        plce.ols_ml("y ~ t | x1", data=het_data, effect_interactions=True, final="residual")


def test_average_effect_sample_drops_exactly_the_spread_term(het_data):
    f = "y ~ t | x1 + x2 + x3"
    pop = plce.ols_ml(f, data=het_data, random_state=0, n_rep=1)
    smp = plce.ols_ml(f, data=het_data, random_state=0, n_rep=1, average_effect="sample")
    assert pop.params["t"] == smp.params["t"]  # same estimate, different SE
    cate = pop.finals[0].cate[:, 0]
    assert np.isclose(pop.bse["t"] ** 2 - smp.bse["t"] ** 2, cate.var() / len(cate), rtol=1e-9)
    assert "conditions on these units' controls" in str(smp.summary())
    assert "for the population average" in str(pop.summary())
    with pytest.raises(PLCEError, match="average_effect"):
        plce.ols_ml(f, data=het_data, average_effect="sate")


def test_variance_model_starts_from_least_squares_on_the_control_terms():
    # With learners that predict 0, the inner treatment model and the variance model are exactly the
    # least-squares fits on [1, base]; rebuild both by hand with statsmodels on the same inner split.
    import statsmodels.api as sm
    from sklearn.dummy import DummyRegressor

    from plce.nuisance import _variance_fold

    rng = np.random.default_rng(3)
    n = 120
    X = rng.normal(size=(n, 2))
    base = np.column_stack([X, X**2])
    t = X[:, 0] + rng.normal(size=n) * np.abs(1 + X[:, 0])
    train, test = np.arange(90), np.arange(90, n)
    zero = DummyRegressor(strategy="constant", constant=0.0)
    seeds = np.arange(8) + 11
    roles = {"inner_split": 5, "inner_treatment": 6, "variance": 7}
    seed = lambda role: int(seeds[roles[role]])  # noqa: E731
    got = _variance_fold(zero, zero, seed, X, X, t, train, test, None, 2, base)

    lab = np.empty(len(train), dtype=np.int64)
    lab[np.random.default_rng(seeds[5]).permutation(len(train))] = np.arange(len(train)) % 2
    B = sm.add_constant(base)
    r = np.empty(len(train))
    for j in range(2):
        tr, te = train[lab != j], train[lab == j]
        r[lab == j] = t[te] - sm.OLS(t[tr], B[tr]).fit().predict(B[te])
    want = sm.OLS(r**2, B[train]).fit().predict(B[test])
    assert_allclose(got, want, rtol=1e-8, atol=1e-10)
    # without the base the zero learners give zero variance: the start is what the test measured
    assert_allclose(_variance_fold(zero, zero, seed, X, X, t, train, test, None, 2), 0.0)

"""Interference features: selection inside training folds, user proximity, bad input."""
import numpy as np
import pandas as pd
import pytest
from scipy import sparse

import plce
from plce import PLCEError
from plce.errors import PLCEWarning
from plce.interference import InterferenceSpec, build_plan, feature_name


def _df(n=400, seed=0):
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({"x1": rng.normal(size=n), "x2": rng.normal(size=n), "lat": rng.uniform(size=n),
                       "lon": rng.uniform(size=n)})
    df["t"] = df.x1 + rng.normal(size=n)
    df["y"] = df.t + df.x2 + rng.normal(size=n)
    return df


def test_feature_names_read_like_the_statistics():
    assert feature_name("x1^2", "x3", 0.4, "learned") == "knn(x1² | x3, ν=0.4)"
    assert feature_name("t", "W", None, "matrix") == "W·t"


def _plan_and_residuals(seed):
    df = _df()
    X = df[["x1", "x2"]].to_numpy()
    plan = build_plan(InterferenceSpec("learned"), X_num=X, control_names=["x1", "x2"], t=df.t.to_numpy(), treatment_name="t")
    rng = np.random.default_rng(seed)
    train = np.sort(rng.choice(len(df), 300, replace=False))
    return df, X, plan, train, rng.normal(size=300), rng.normal(size=300)


def test_selection_never_sees_held_out_outcomes():
    """Changing the held-out units' outcomes must not change what a fold selects or the index it builds."""
    from sklearn.linear_model import LinearRegression

    from plce.nuisance import _interference_fold

    df, X, plan, train, _, _ = _plan_and_residuals(1)
    test = np.setdiff1d(np.arange(len(df)), train)
    y = df.y.to_numpy().copy()
    seeds = np.arange(8)
    args = (LinearRegression(), LinearRegression(), lambda role: int(seeds[5]), X, X)
    kept, F = _interference_fold((plan, 2), *args, y, df.t.to_numpy(), train, None)
    y[test] = 1e3 * np.random.default_rng(9).normal(size=len(test))
    kept2, F2 = _interference_fold((plan, 2), *args, y, df.t.to_numpy(), train, None)
    assert kept and kept == kept2
    np.testing.assert_array_equal(F, F2)
    assert all(s.a != "t" for s in kept if s.model == "treatment")  # the treatment never smooths itself


def test_coordinates_errors():
    df = _df()
    f = "y ~ t | x1 + x2"
    bad = df.copy()
    bad.loc[3, "lat"] = np.nan
    with pytest.raises(PLCEError, match="missing or non-finite"):
        plce.ols_ml(f, data=bad, interference=["lat", "lon"], n_rep=1)
    const = df.assign(lat=1.0)
    with pytest.raises(PLCEError, match="'lat' is constant"):
        plce.ols_ml(f, data=const, interference=["lat", "lon"], n_rep=1)
    with pytest.raises(PLCEError, match="'latt' is not in the data"):
        plce.ols_ml(f, data=df, interference=["latt", "lon"], n_rep=1)


def test_weight_matrix_errors():
    df = _df(n=100)
    f = "y ~ t | x1 + x2"
    with pytest.raises(PLCEError, match="must be square"):
        plce.ols_ml(f, data=df, interference=np.ones((100, 99)), n_rep=1)
    with pytest.raises(PLCEError, match="100 rows"):
        plce.ols_ml(f, data=df, interference=sparse.eye(90, format="csr"), n_rep=1)
    neg = sparse.random(100, 100, density=0.05, random_state=0, format="csr")
    neg.data[0] = -1.0
    with pytest.raises(PLCEError, match="negative"):
        plce.ols_ml(f, data=df, interference=neg, n_rep=1)
    with pytest.raises(PLCEError, match="no unit has a neighbour"):
        plce.ols_ml(f, data=df, interference=sparse.eye(100, format="csr"), n_rep=1)
    with pytest.raises(PLCEError, match="weight matrix"):
        plce.ols_ml(f, data=df, interference=3.5, n_rep=1)


def test_isolated_units_warn_and_get_the_mean():
    df = _df(n=200)
    W = sparse.lil_matrix((200, 200))
    for i in range(190):
        W[i, (i + 1) % 190] = 1.0
    with pytest.warns(PLCEWarning, match="10 units have no neighbours"):
        res = plce.ols_ml("y ~ t | x1 + x2", data=df, interference=W.tocsr(), n_rep=1, random_state=0)
    assert np.isfinite(res.params.iloc[0])


def test_weight_matrix_follows_dropped_rows():
    df = _df(n=200)
    df.loc[5, "x1"] = np.nan
    W = sparse.random(200, 200, density=0.05, random_state=1, format="csr")
    res = plce.ols_ml("y ~ t | x1 + x2", data=df, interference=W, n_rep=1, random_state=0)
    assert res.nobs == 199


def test_learned_needs_a_numeric_control():
    df = _df(n=100).assign(d=lambda d: (d.x1 > 0).astype(float))
    with pytest.raises(PLCEError, match="numeric"):
        plce.ols_ml("y ~ t | d", data=df, interference=True, n_rep=1)


def test_spatial_example_removes_the_neighbour_bias():
    """Outcome shifted by the neighbours' mean treatment within a radius (known truth 1)."""
    import statsmodels.formula.api as smf

    df, theta = plce.datasets.make_spatial(1500, random_state=4)
    ols = smf.ols("outcome ~ t + z", df).fit(cov_type="HC1")
    off = plce.ols_ml("outcome ~ t | z", data=df, n_rep=1, random_state=0)
    on = plce.ols_ml("outcome ~ t | z", data=df, n_rep=1, random_state=0, interference=["x", "y"])
    # without the neighbours, both are ~0.2 too high (about 8 standard errors); with them, within 2.5 SE
    assert ols.params["t"] - theta > 5 * ols.bse["t"]
    assert off.params["t"] - theta > 5 * off.bse["t"]
    assert abs(on.params["t"] - theta) < 2.5 * on.bse["t"]
    tab = on.interference
    assert tab.loc[0, "smoothed"] == "t" and tab.loc[0, "share"] == 1.0  # the neighbours' treatment, every fold
    assert "knn(t | x,y" in on.summary().as_text()


def test_interference_is_reproducible_whatever_n_jobs():
    df, _ = plce.datasets.make_simdata("interference", n=300, random_state=2)
    kw = dict(n_rep=2, random_state=5, interference=True)
    a = plce.ols_ml("y ~ t | x1 + x2 + x3", data=df, n_jobs=1, **kw)
    b = plce.ols_ml("y ~ t | x1 + x2 + x3", data=df, n_jobs=2, **kw)
    assert a.params.iloc[0] == b.params.iloc[0] and a.bse.iloc[0] == b.bse.iloc[0]
    pd.testing.assert_frame_equal(a.interference, b.interference)


def test_interference_off_by_default_and_false_is_off():
    df, _ = plce.datasets.make_simdata("baseline", n=300, random_state=2)
    a = plce.ols_ml("y ~ t | x1 + x2", data=df, n_rep=1, random_state=1)
    b = plce.ols_ml("y ~ t | x1 + x2", data=df, n_rep=1, random_state=1, interference=False)
    assert a.interference is None and a.params.iloc[0] == b.params.iloc[0]
    with pytest.raises(PLCEError, match="interference_top_k"):
        plce.ols_ml("y ~ t | x1 + x2", data=df, n_rep=1, interference=True, interference_top_k=0)


def test_interference_with_external_predictions_is_refused():
    df = _df(n=100)
    preds = {"ell": np.zeros((1, 100)), "m": np.zeros((1, 100, 1))}
    with pytest.raises(PLCEError, match="external_predictions"):
        plce.ols_ml("y ~ t | x1 + x2", data=df, n_rep=1, interference=True, external_predictions=preds)


def test_spearman_score_matches_scipy():
    from scipy.stats import spearmanr

    from plce.interference import _spearman_abs

    rng = np.random.default_rng(3)
    r = rng.normal(size=500)
    F = np.column_stack([r + rng.normal(size=500), np.round(rng.normal(size=500), 1), -r**3, np.ones(500)])
    got = _spearman_abs(F, r)
    ref = [abs(spearmanr(F[:, j], r).statistic) for j in range(3)] + [0.0]
    np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-15)


def test_index_is_the_least_squares_fit_on_training_units():
    _, _, plan, train, r_y, r_t = _plan_and_residuals(2)
    kept = plan.select(train, r_y, r_t)
    idx = plan.indices(kept, train, r_y, r_t)
    Fy = plan.matrix([s for s in kept if s.model == "outcome"])
    beta = np.linalg.lstsq(np.column_stack([np.ones(300), Fy[train]]), r_y, rcond=None)[0]
    np.testing.assert_allclose(idx[:, 0], Fy @ beta[1:], rtol=1e-10, atol=1e-12)


def test_coordinate_pairs_stay_within_the_memory_budget(monkeypatch):
    """Above MAX_PAIRS / MAX_NEIGHBOURS units the widest bandwidth holds MAX_PAIRS / n neighbours, not 400."""
    import plce.interference as inter

    coords = np.random.default_rng(0).uniform(size=(2000, 2))
    grid, pairs = inter._spatial_bandwidths(coords)
    assert 300 < pairs.npairs / 2000 < 500  # ~MAX_NEIGHBOURS = 400 per unit below the budget
    monkeypatch.setattr(inter, "MAX_PAIRS", 2000 * 200)
    small_grid, small = inter._spatial_bandwidths(coords)
    assert 150 < small.npairs / 2000 < 250  # ~200 per unit
    assert small_grid[0] == grid[0] and small_grid[-1] < grid[-1]
    monkeypatch.setattr(inter, "MAX_PAIRS", 2000 * 10)  # never narrower than the narrowest bandwidth
    floor_grid, floor = inter._spatial_bandwidths(coords)
    assert floor_grid == small_grid[:1] and 80 < floor.npairs / 2000 < 140

"""Average effects by subgroup (res.effect_by), the units' fitted effects (res.effects) and res.plot_effects.

The reference for a subgroup's average and its SE is the fit itself, reparametrised: the final stage refitted
with the effect modifiers centred on that subgroup (the fit's own machinery for the ATT) has, as its
coefficient on t, the subgroup's average effect and, as its SE, that average's SE. The contrast algebra of
plce.subgroups must reproduce it to rounding error, for every covariance type, weights, clusters and estimand.
"""
import warnings

import numpy as np
import pandas as pd
import pytest

import plce
import plce.estimate as estimate
from plce import PLCEError
from plce.final import aggregate


@pytest.fixture(scope="module")
def family():
    df, _ = plce.datasets.make_family("categorical", n=600, random_state=3)
    rng = np.random.default_rng(3)
    df["cl"] = rng.integers(0, 40, len(df))
    df["w"] = rng.uniform(0.5, 2.0, len(df))
    df["region"] = rng.choice(["north", "south", "west"], len(df))
    return df


_FITS: dict = {}


def _fit(df, **kw):
    """A fit of ``df`` with options ``kw`` (the module's family fits are made once and shared by the tests)."""
    key = (id(df), tuple(sorted(kw.items())))
    if key not in _FITS:
        opts = dict(kw)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _FITS[key] = (df, plce.ols_ml(opts.pop("formula", "y ~ t | x1 + x2 + x3 + C(c)"), data=df, n_rep=2,
                                          random_state=0, **opts))
    return _FITS[key][1]


def _recentred(res, indicator, monkeypatch):
    """Estimate and SE of the fit's final stage refitted with the effects averaged over ``indicator`` units."""
    a0 = estimate.effect_center(res._design, res.plan)
    a = indicator.astype(float) * (1.0 if a0 is None else a0)
    with monkeypatch.context() as m:
        m.setattr(estimate, "effect_center", lambda design, plan: a)
        finals = estimate.final_stage(res._design, res.options, res.plan, res._fit.nuisances, res._fit.weights,
                                      kept=res._fit.kept, effects=res._fit.effects)
    theta, V = aggregate(np.stack([f.theta for f in finals]), np.stack([f.cov for f in finals]),
                         res.options.aggregate)
    sc = float(res._scale[0])
    return theta[0] * sc, np.sqrt(V[0, 0]) * abs(sc)


@pytest.mark.parametrize("kw", [
    {},
    {"average_effect": "sample"},
    {"cov_type": "HC3"},
    {"cluster": "cl"},
    {"weights": "w"},
    {"final_controls": "linear"},
    {"formula": "y ~ t | x1 + x2 + x3 + C(c) | region"},
], ids=["default", "sample", "HC3", "cluster", "weights", "linear", "fixed-effect"])
def test_subgroup_average_is_the_fit_recentred_on_the_subgroup(family, kw, monkeypatch):
    res = _fit(family, **kw)
    by = res.effect_by("c")
    levels = family["c"].astype(str).to_numpy()
    for level, row in by.table.iterrows():
        est, se = _recentred(res, levels == level, monkeypatch)
        assert row["estimate"] == pytest.approx(est, rel=1e-9, abs=1e-12)
        assert row["std_error"] == pytest.approx(se, rel=1e-7)
    assert by.table["nobs"].sum() == res.nobs


def test_binary_att_subgroups_average_over_the_treated(monkeypatch):
    df, _ = plce.datasets.make_family("categorical", treatment="binary", n=800, random_state=1)
    res = _fit(df, estimand="att")
    by = res.effect_by("C(c)")
    t = df["t"].to_numpy()
    levels = df["c"].astype(str).to_numpy()
    for level, row in by.table.iterrows():
        assert row["nobs"] == int(((levels == level) & (t == 1)).sum())
        est, se = _recentred(res, levels == level, monkeypatch)
        assert row["estimate"] == pytest.approx(est, rel=1e-9)
        assert row["std_error"] == pytest.approx(se, rel=1e-7)


def test_wald_test_of_equal_subgroups(family):
    from scipy import stats

    res = _fit(family)
    by = res.effect_by("c")
    est, V = by.table["estimate"].to_numpy(), by.cov.to_numpy()
    R = np.eye(len(est))[1:] - np.eye(len(est))[:1]  # each level against the first: the same hypothesis
    d = R @ est
    stat = float(d @ np.linalg.solve(R @ V @ R.T, d))
    assert by.wald[0] == pytest.approx(stat, rel=1e-8) and by.wald[1] == len(est) - 1
    assert by.wald[2] == pytest.approx(stats.chi2.sf(stat, len(est) - 1), rel=1e-6)
    # a grouping unrelated to the data: the averages differ by noise only
    noise = pd.Series(np.random.default_rng(0).integers(0, 2, len(family)), index=family.index)
    assert res.effect_by(noise).wald[2] > 0.001
    assert "All equal: chi2(4)" in repr(by)


def test_use_t_gives_an_f_test(family):
    res = _fit(family, cluster="cl", use_t=True)
    by = res.effect_by("c")
    assert "F(4)" in repr(by)
    crit = (by.table["conf_high"] - by.table["estimate"]) / by.table["std_error"]
    from scipy import stats
    np.testing.assert_allclose(crit, stats.t(res.df_inference).ppf(0.975))


@pytest.mark.filterwarnings("ignore:The grouping")
def test_grouping_values_line_up_with_the_data_rows(family):
    df = family.copy()
    df.index = np.arange(len(df))[::-1] * 10  # a non-default index
    df.loc[df.index[:7], "x1"] = np.nan  # dropped rows
    res = _fit(df)
    with pytest.raises(PLCEError, match="not a control"):
        res.effect_by("region")
    a = res.effect_by(df["region"])  # a Series on the data's index
    b = res.effect_by(df["region"].to_numpy())  # one value per row of the data
    c = res.effect_by(df["region"].sample(frac=1.0, random_state=0))  # shuffled: aligned by the index
    d = res.effect_by(df.loc[df["x1"].notna(), "region"].to_numpy())  # one per row used
    for other in (b, c, d):
        pd.testing.assert_frame_equal(a.table, other.table, check_names=False)  # an array has no name
    assert a.table["nobs"].sum() == res.nobs == len(df) - 7
    eff = res.effects
    assert eff.index.equals(df.index) and eff["t"].isna().sum() == 7
    assert eff["t"].notna().equals(df["x1"].notna())


def test_effects_average_to_the_estimate_and_are_constant_without_interactions(family):
    res = _fit(family)
    eff = res.effects["t"]
    theta_r = np.array([f.cate[:, 0].mean() for f in res.finals])
    assert eff.mean() == pytest.approx(theta_r.mean(), rel=1e-10)  # each repetition's theta is its mean effect
    flat = _fit(family, effect_interactions=False)
    assert np.allclose(flat.effects["t"], flat.params["t"])
    with pytest.raises(PLCEError, match="no effect interactions"):
        flat.effect_by("c")


@pytest.mark.parametrize("by, words", [
    ("nonexistent", "not a control"),
    ("x1", "distinct values"),
    (np.zeros(5), "5 entries"),
    (np.zeros((600, 2)), "one-dimensional"),
    (np.zeros(600), "at least two"),
])
def test_bad_groupings_name_the_fix(family, by, words):
    res = _fit(family)
    with pytest.raises(PLCEError, match=words):
        res.effect_by(by)


@pytest.mark.filterwarnings("ignore:The grouping")
def test_missing_group_values_are_in_no_subgroup(family):
    res = _fit(family)
    region = family["region"].where(np.arange(len(family)) >= 30)
    by = res.effect_by(region)
    assert by.n_missing == 30 and by.table["nobs"].sum() == res.nobs - 30
    assert "30 units with a missing region" in repr(by)


def test_plot_effects_draws_each_subgroup_inside_the_axes(family):
    import matplotlib

    matplotlib.use("Agg")
    res = _fit(family)
    fig = res.plot_effects("x1", bins=4)
    ax = fig.axes[0]
    by = res.effect_by(pd.qcut(family["x1"], 4))
    assert len(ax.containers) == 1 and len(ax.containers[0].lines[0].get_xdata()) == 4  # one errorbar a bin
    np.testing.assert_allclose(ax.containers[0].lines[0].get_ydata(), by.table["estimate"])
    lo, hi = ax.get_ylim()
    assert lo <= by.table["conf_low"].min() and by.table["conf_high"].max() <= hi
    fig = res.plot_effects("c")
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["a", "b", "c", "d", "e"]


def test_a_grouping_the_effect_model_cannot_follow_is_flagged(family):
    from plce import PLCEWarning

    res = _fit(family)
    with pytest.warns(PLCEWarning, match="'region' is not a control nor a binning of one"):
        res.effect_by(family["region"])
    with warnings.catch_warnings():
        warnings.simplefilter("error", PLCEWarning)
        res.effect_by(pd.qcut(family["x1"], 4))  # bins of a control
        res.effect_by(family["c"])  # a control's values
        res.effect_by((family["x2"] > 0).astype(int))  # a binary split of a control
    shuffled = pd.Series(pd.qcut(family["x1"], 4).to_numpy()[::-1], index=family.index, name="scrambled")
    with pytest.warns(PLCEWarning, match="'scrambled' is not a control"):
        res.effect_by(shuffled)  # as many levels, but not contiguous in any control

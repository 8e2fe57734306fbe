"""Monte Carlo checks of the treatment-variance weights and the random effects (slow; CI runs them).

At n = 1000 on the designs of Ratkovic (2023) (``plce.datasets.make_simdata``), 40 seeds each (the 100-seed numbers are
in docs/results.rst): the MC s.e. of a coverage near 0.95 is 0.034 (bounds >= 0.85: 3 s.e.), of the bias 0.007 (RE) to
0.013 (het) (bounds |bias| < 0.05: 4-7 s.e.). Seeds are fixed, so each check is deterministic.
"""
import functools

import numpy as np
import pytest

from montecarlo import run

pytestmark = pytest.mark.slow

F0 = "y ~ t | x1 + x2 + x3 + x4 + x5"
F1 = F0 + " + (1|g)"


def test_random_effects_design():
    r = run("re", reps=40, formula=F1)
    print(r)
    assert abs(r["bias"]) < 0.05, r
    assert r["coverage"] >= 0.85, r
    assert 0.7 < r["mean_se"] / r["sd"] < 1.4, r


def test_random_effects_with_heterogeneity_design():
    # The generator rescales x1 so that mean(x1^2) = 1 in every data set: the sample average of the effect x1^2
    # is theta = 1 exactly, so the matching SE is the one for the sample average (average_effect="sample").
    # With the default (population) SE the same fits over-cover: coverage 1.00, SE/SD 1.26 (100 seeds).
    # measured (sample): bias -0.006 (MC s.e. 0.007), RMSE 0.069, coverage 0.97, SE/SD 1.19 (before the variance
    # model's least-squares start: -0.003, 0.068, 1.00, SE/SD 1.06; then 100 of 100 covered while on 40 of these
    # seeds sd(error/SE) was 0.875, an expected coverage near 0.975). Over-coverage is judged by SE/SD (MC s.e.
    # about 0.08), as in the unbalanced-groups test, not by the 0.99 coverage ceiling.
    r = run("re_het", reps=40, formula=F1, fit_kwargs={"average_effect": "sample"})
    print(r)
    assert abs(r["bias"]) < 0.05, r
    assert r["coverage"] >= 0.85, r
    assert 0.75 < r["mean_se"] / r["sd"] < 1.45, r


def test_switch_off_reproduces_the_variance_weighted_target():
    r = run("het", reps=20, formula=F0, fit_kwargs={"estimand": "variance_weighted"})
    print(r)
    # E[s2 theta]/E[s2] = E[(1+x1)^2 x1^2]/E[(1+x1)^2] = 2 for x1 ~ N(0,1): the classic PLR estimand
    assert 1.8 < 1 + r["bias"] < 2.1, r


def test_heterogeneity_design_average_effect():
    # 100 seeds (docs/results.rst): bias +0.000 (MC s.e. 0.008), RMSE 0.083, coverage 0.98, SE/SD 1.11
    r = run("het", reps=40, formula=F0)
    print(r)
    assert abs(r["bias"]) < 0.05, r
    assert r["coverage"] >= 0.85, r


def _pair(seed):
    import warnings

    import plce

    df, _ = plce.datasets.make_simdata("baseline", n=1000, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        w = plce.ols_ml(F0, data=df, random_state=seed)
        u = plce.ols_ml(F0, data=df, random_state=seed, estimand="variance_weighted")
    return w.params["t"], w.bse["t"], u.params["t"], u.bse["t"]


def test_no_efficiency_cliff_with_homoskedastic_treatment():
    """Constant effect, homoskedastic treatment: the weighted default and the classic fit agree."""
    from joblib import Parallel, delayed

    out = np.array(Parallel(n_jobs=2)(delayed(_pair)(s) for s in range(2000, 2020)))
    tw, sw, tu, su = out.T
    z = (tw - tu) / su
    print({"mean |diff|/SE": np.abs(z).mean(), "max |diff|/SE": np.abs(z).max(), "SE ratio": sw.mean() / su.mean(),
           "SD ratio": tw.std(ddof=1) / tu.std(ddof=1)})
    # 30 pairs (docs/results.rst): mean |diff|/SE 0.42 (max 0.96), SE ratio 1.19, SD ratio 1.11; 20 pairs here, so the
    # mean |diff|/SE has an MC s.e. of about 0.06 and the bound 0.55 is 2 s.e. above the measured 0.42
    assert np.all(np.abs(z) < 1.96)  # no pair differs by more than the classic fit's 95% margin
    assert np.mean(np.abs(z) < 1.0) >= 0.75  # most are within one SE of each other
    assert np.abs(z).mean() < 0.55
    assert 0.9 < sw.mean() / su.mean() < 1.5  # and the weights cost some precision, not a cliff


def _binary_one(seed):
    import warnings

    import doubleml as dml
    import pandas as pd
    from sklearn.linear_model import LinearRegression, LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import PolynomialFeatures

    import plce

    warnings.simplefilter("ignore")
    rng = np.random.default_rng(seed)
    n = 1000
    X = rng.normal(size=(n, 3))
    p = 1 / (1 + np.exp(-X[:, 0]))
    d = (rng.random(n) < p).astype(float)
    y = 1 + d * X[:, 0] ** 2 + X[:, 0] + 0.5 * X[:, 1] + rng.normal(size=n)
    ate = float(np.mean(X[:, 0] ** 2))
    df = pd.DataFrame({"y": y, "d": d, "x1": X[:, 0], "x2": X[:, 1], "x3": X[:, 2]})
    res = plce.ols_ml("y ~ d | x1 + x2 + x3", data=df, random_state=seed)
    # The reference: DoubleML's IRM (AIPW) with correctly specified nuisances -- a logistic propensity and
    # quadratic outcome regressions per arm -- so its own finite-sample bias is small. With LightGBM nuisances
    # IRM is off by -0.027 on this design (docs/results.rst), which is the peer's error, not the estimand's.
    data = dml.DoubleMLData(df, y_col="y", d_cols="d", x_cols=["x1", "x2", "x3"])
    np.random.seed(seed)  # DoubleML draws its folds from numpy's global RNG when it is constructed
    irm = dml.DoubleMLIRM(data, make_pipeline(PolynomialFeatures(2), LinearRegression()), LogisticRegression(),
                          n_folds=5, n_rep=3, score="ATE", trimming_threshold=0.01)
    irm.fit()
    return res.params["d"], res.bse["d"], float(irm.coef[0]), float(irm.se[0]), ate


@functools.lru_cache(maxsize=None)
def _binary_study():
    pytest.importorskip("doubleml")
    from joblib import Parallel, delayed

    out = np.array(Parallel(n_jobs=2)(delayed(_binary_one)(s) for s in range(40)))
    b, bse, a, ase, ate = out.T
    diff = b - a
    r = dict(mean_diff=diff.mean(), mcse=diff.std(ddof=1) / np.sqrt(len(diff)), bias_plce=(b - ate).mean(),
             bias_irm=(a - ate).mean(), cov_plce=np.mean(np.abs(b - ate) <= 1.96 * bse),
             cov_irm=np.mean(np.abs(a - ate) <= 1.96 * ase), se_ratio=bse.mean() / ase.mean())
    print(r)
    return r


def test_binary_treatment_both_cover_the_ate():
    r = _binary_study()
    # 40 seeds: coverage MC s.e. 0.034, so >= 0.85 is 3 s.e. below 0.95
    assert r["cov_plce"] >= 0.85 and r["cov_irm"] >= 0.85, r
    assert abs(r["bias_plce"]) < 0.05, r


def test_binary_treatment_agrees_with_doubleml_irm():
    # the difference's own MC s.e. sets the bound (3 s.e.: a systematic gap of 0.03 would still fail at 40 seeds)
    r = _binary_study()
    assert abs(r["mean_diff"]) < 3 * r["mcse"], r


@pytest.mark.parametrize("data_kwargs", [{"unbalanced": True}, {"group_size": 5}],
                         ids=["sizes-2-200", "200-groups-of-5"])
def test_random_effects_unbalanced_and_small_groups(data_kwargs):
    # measured (40 seeds): sizes 2-200 bias -0.001 (MC s.e. 0.006), coverage 1.00, SE/SD 1.15;
    # 200 groups of 5 bias -0.043 (MC s.e. 0.013), coverage 0.975, SE/SD 1.37 (before the variance model's
    # least-squares start: +0.000, 0.975, 1.09 and -0.036, 0.975, 1.29).
    # With 40 seeds even an exact 95% interval covers all 40 13% of the time, so over-coverage is judged
    # by SE/SD (its MC s.e. is about 0.11) rather than by a coverage ceiling.
    # 24 seeds here (40 in docs/results.rst): coverage MC s.e. 0.045, bias MC s.e. up to 0.019 (groups of 5)
    r = run("re", reps=24, formula=F1, data_kwargs=data_kwargs)
    print(r)
    assert abs(r["bias"]) < 0.07, r
    assert r["coverage"] >= 0.80, r
    assert 0.7 < r["mean_se"] / r["sd"] < 1.7, r


def test_binary_ate_att_atc_on_the_family_design():
    """Propensity moving with the effect's moderator, so ATE, ATT and ATC differ (validation/binary.py has 100 seeds
    and DoubleML's IRM beside). 30 seeds: bias MC s.e. about 0.015-0.02, so |bias| < 0.07 is over 3 s.e. of what a
    correct estimator would show; coverage MC s.e. 0.04, so >= 0.82 is 3 s.e. below 0.95."""
    from joblib import Parallel, delayed

    def one(seed):
        import warnings

        import plce

        warnings.simplefilter("ignore")
        df, _ = plce.datasets.make_simdata("family", effect="linear", variance="varying", treatment="binary",
                                           n=1000, random_state=seed)
        res = plce.ols_ml("y ~ t | x1 + x2 + x3 + x4 + x5", data=df, random_state=seed)
        return [(e, r.params["t"], r.bse["t"], df.attrs["truth"][e]) for e, r in
                (("ate", res), ("att", res.with_estimand("att")), ("atc", res.with_estimand("atc")))]

    rows = [r for out in Parallel(n_jobs=2)(delayed(one)(s) for s in range(3000, 3030)) for r in out]
    for e in ("ate", "att", "atc"):
        est, se, truth = (np.array(v) for v in zip(*[(b, s, t) for ee, b, s, t in rows if ee == e]))
        err = est - truth
        cov = np.mean(np.abs(err) <= 1.96 * se)
        print(e, err.mean(), cov, se.mean() / est.std(ddof=1))
        assert abs(err.mean()) < 0.07, (e, err.mean())
        assert cov >= 0.82, (e, cov)
    truths = {e: t for e, _, _, t in rows[:3]}
    assert truths["att"] - truths["atc"] > 0.3  # the design makes the estimands differ


def test_two_way_fixed_effects_panel():
    """A panel confounded by unit and period effects, absorbed (validation/fixed_effects.py has 100 seeds,
    balanced and unbalanced). 30 seeds: bias MC s.e. about 0.005, coverage MC s.e. 0.04."""
    for balanced in (True, False):
        r = run("panel", reps=30, formula="y ~ t | x1 + x2 | unit + year", seed0=4000,
                data_kwargs={"balanced": balanced})
        print(r)
        assert abs(r["bias"]) < 0.03, r
        assert r["coverage"] >= 0.82, r

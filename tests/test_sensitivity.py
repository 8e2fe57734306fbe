"""Cinelli-Hazlett functions against sensemakr's Darfur test values (sensemakr's test suite, Cinelli & Hazlett 2020)."""
import numpy as np
import pytest
import statsmodels.formula.api as smf
from numpy.testing import assert_allclose
from scipy import stats

from plce import PLCEError
from plce.datasets import load_darfur
from plce.diagnostics import sensitivity as s

EST, SE, DOF = 0.0973158192849590, 0.0232565378098112, 783
T = EST / SE
T_FEMALE_Y, T_FEMALE_D = -9.788837042332005, -2.6804478643013034
R2YXJ = T_FEMALE_Y**2 / (T_FEMALE_Y**2 + DOF)
R2DXJ = T_FEMALE_D**2 / (T_FEMALE_D**2 + DOF + 1)

BOUNDS = np.array([
    [0.00916428667504862, 0.12464092303637, 0.0752202712144491, 0.0218733277437572, 3.43890386024675,
     0.032282966, 0.11815758],
    [0.0183285733500972, 0.249324064199975, 0.0529151723844518, 0.0203500620779637, 2.60024623913809,
     0.012968035, 0.09286231],
    [0.0274928600251459, 0.374050471038094, 0.0303960234641548, 0.0186700648170924, 1.62806202131271,
     -0.006253282, 0.06704533],
])


def test_darfur_statistics():
    assert_allclose(T, 4.18444998480834, rtol=1e-6)
    assert_allclose(s.partial_r2(T, DOF), 0.0218730933411108, rtol=1e-6)
    assert_allclose(s.partial_f2(T, DOF), 0.0223622243618934, rtol=1e-6)
    assert_allclose(s.robustness_value(T, DOF), 0.138776353893592, rtol=1e-6)
    assert_allclose(s.robustness_value(T, DOF, alpha=0.05), 0.0762579655448608, rtol=1e-6)
    assert_allclose(s.robustness_value(T, DOF, q=0.5), 0.0720269758, rtol=1e-6)
    assert_allclose(s.robustness_value(T, DOF, q=0.5, alpha=0.05), 0.0045627608, rtol=1e-6)
    assert_allclose(R2YXJ, 0.109033915, rtol=1e-6)
    assert_allclose(R2DXJ, 0.009081065, rtol=1e-6)


def test_darfur_bounds_table():
    b = s.ovb_bounds(EST, SE, DOF, R2DXJ, R2YXJ, kd=[1, 2, 3], benchmark="female")
    assert list(b["bound_label"]) == ["1x female", "2x female", "3x female"]
    cols = ["r2dz_x", "r2yz_dx", "adjusted_estimate", "adjusted_se", "adjusted_t", "adjusted_lower_CI",
            "adjusted_upper_CI"]
    assert_allclose(b[cols].to_numpy(), BOUNDS, rtol=1e-6)


def test_identities():
    rv = s.robustness_value(T, DOF)
    assert_allclose(s.adjusted_estimate(EST, SE, DOF, rv, rv), 0, atol=1e-12)
    rva = s.robustness_value(T, DOF, alpha=0.05)
    assert_allclose(s.adjusted_t(EST, SE, DOF, rva, rva), stats.t.ppf(0.975, DOF - 1), rtol=1e-6)
    assert_allclose(stats.t.ppf(0.975, DOF - 1), 1.9630022, rtol=1e-6)
    assert_allclose(s.bias(SE, DOF, s.partial_r2(T, DOF), 1.0), EST, rtol=1e-10)
    rv5 = s.robustness_value(T, DOF, q=0.5)
    assert_allclose(s.bias(SE, DOF, rv5, rv5), EST / 2, rtol=1e-10)
    # sign flip: same RV, negated and swapped bounds
    b1 = s.ovb_bounds(EST, SE, DOF, R2DXJ, R2YXJ, benchmark="female")
    b2 = s.ovb_bounds(-EST, SE, DOF, R2DXJ, R2YXJ, benchmark="female")
    assert_allclose(b2["adjusted_estimate"], -b1["adjusted_estimate"])
    assert_allclose(b2["adjusted_lower_CI"], -b1["adjusted_upper_CI"])
    assert s.robustness_value(-T, DOF) == s.robustness_value(T, DOF)


def test_adjusted_critical_value_sensemakr_test22():
    assert_allclose(s.adjusted_critical_value(0, 0, 100), 1.99421307002271, rtol=1e-12)
    assert_allclose(s.adjusted_critical_value(0.01, 0.01, 100), 2.09471685154863, rtol=1e-12)


def test_adjusted_ci_uses_dof_minus_one():
    lo, hi = s.adjusted_ci(EST, SE, DOF, 0.01, 0.02)
    est = s.adjusted_estimate(EST, SE, DOF, 0.01, 0.02)
    se = s.adjusted_se(SE, DOF, 0.01, 0.02)
    assert_allclose(hi - est, stats.t.ppf(0.975, DOF - 1) * se)
    assert lo < est < hi


def test_group_partial_r2_and_regression_level_darfur():
    df = load_darfur()
    f = ("peacefactor ~ directlyharmed + age + farmer_dar + herder_dar + pastvoted + hhsize_darfur + female"
         " + C(village)")
    out = smf.ols(f, df).fit()
    assert out.df_resid == DOF
    assert_allclose(out.params["directlyharmed"], 0.09731582, rtol=1e-6)
    assert_allclose(out.bse["directlyharmed"], 0.02325654, rtol=1e-6)
    names = ["directlyharmed", "female"]
    g = s.group_partial_r2(out.params[names], out.cov_params().loc[names, names], out.df_resid)
    assert_allclose(g, 0.1350435, rtol=1e-6)
    d = smf.ols("directlyharmed ~ age + farmer_dar + herder_dar + pastvoted + hhsize_darfur + female"
                " + C(village)", df).fit()
    assert_allclose(d.tvalues["female"], T_FEMALE_D, rtol=1e-8)
    assert_allclose(out.tvalues["female"], T_FEMALE_Y, rtol=1e-8)


@pytest.mark.parametrize("call, match", [
    (lambda: s.robustness_value(T, DOF, q=0), "q must be a positive"),
    (lambda: s.robustness_value(T, DOF, q=-1), "q must be a positive"),
    (lambda: s.robustness_value(T, DOF, alpha=1.5), "alpha must be in"),
    (lambda: s.adjusted_ci(EST, SE, DOF, 0.1, 0.1, alpha=0), "alpha must be in"),
    (lambda: s.partial_r2(T, 1), "dof must be a number greater than 1"),
    (lambda: s.ovb_partial_r2_bound(0.5, 0.1, kd=2), "Implied bound on r2dz.x >= 1. Impossible kd value"),
    (lambda: s.bias(SE, DOF, 1.0, 0.1), "r2dz_x must be a partial R"),
])
def test_bad_input(call, match):
    with pytest.raises(PLCEError, match=match):
        call()


def test_r2yz_capped_with_warning():
    with pytest.warns(UserWarning, match="greater than 1"):
        b = s.ovb_partial_r2_bound(0.2, 0.6, kd=3)
    assert b["r2yz_dx"].max() == 1.0

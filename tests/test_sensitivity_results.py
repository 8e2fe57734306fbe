"""Sensitivity analysis attached to plce fits: plumbing, printing, plots, errors."""
import matplotlib
import numpy as np
import pytest
import statsmodels.formula.api as smf
from numpy.testing import assert_allclose

import plce
from plce import PLCEError
from plce.datasets import load_darfur
from plce.diagnostics.sensitivity_results import SensitivityResults

matplotlib.use("Agg")

DARFUR_X = "age + farmer_dar + herder_dar + pastvoted + hhsize_darfur + female + C(village)"


def test_ols_equivalent_plce_configuration_reproduces_sensemakr_darfur():
    """In-sample OLS nuisances make the feasible final stage OLS itself (FWL): same estimate and residuals.

    The final stage then has 4 regressors instead of 2 + p, so its classical SE differs from OLS only by
    sqrt(df_OLS / df_final); rescaled, plce's numbers give sensemakr's Darfur statistics.
    """
    df = load_darfur()
    ols = smf.ols(f"peacefactor ~ directlyharmed + {DARFUR_X}", df).fit()
    X = smf.ols(f"peacefactor ~ {DARFUR_X}", df).fit().model.exog
    hat = lambda v: X @ np.linalg.lstsq(X, v, rcond=None)[0]  # noqa: E731
    y, d = df["peacefactor"].to_numpy(), df["directlyharmed"].to_numpy(dtype=float)
    res = plce.ols_ml(f"peacefactor ~ directlyharmed | {DARFUR_X}", data=df, n_rep=1, random_state=0,
                      external_predictions={"ell": hat(y)[None], "m": hat(d)[None, :, None]},
                      estimand="variance_weighted", final_controls="none")
    assert_allclose(res.params["directlyharmed"], 0.09731582, rtol=1e-6)
    scale = np.sqrt(res.df_resid / ols.df_resid)
    assert_allclose(res.bse_classical["directlyharmed"] * scale, 0.02325654, rtol=1e-6)
    sr = SensitivityResults(res.params["directlyharmed"], res.bse_classical["directlyharmed"] * scale,
                            ols.df_resid)
    assert_allclose(sr.stats["rv_q"], 0.138776353893592, rtol=1e-6)
    assert_allclose(sr.stats["rv_qa"], 0.0762579655448608, rtol=1e-6)
    assert_allclose(sr.stats["r2yd_x"], 0.0218730933411108, rtol=1e-6)
    assert "0.097 & 0.023 & 4.184 & 2.2\\% & 13.9\\% & 7.6\\%" in sr.minimal_reporting("latex")


@pytest.fixture(scope="module")
def fit():
    df, _ = plce.datasets.make_simdata("baseline", n=400, random_state=2)
    return plce.ols_ml("y ~ t | x1 + x2 + x3 + x4 + x5", data=df, n_rep=2, random_state=2)


def test_plce_sensitivity_uses_classical_final_stage(fit):
    sr = fit.sensitivity(benchmark="x2", kd=[1, 2])
    t = fit.params["t"] / fit.bse_classical["t"]
    assert_allclose(sr.stats["r2yd_x"], t**2 / (t**2 + fit.df_resid))
    assert list(sr.bounds["bound_label"]) == ["1x x2", "2x x2"]
    assert (sr.bounds["r2dz_x"].diff().dropna() > 0).all()
    text = sr.summary()
    for piece in ["Sensitivity Analysis to Unobserved Confounding", "Robustness Value, q = 1",
                  "Bounds on omitted variable bias", "classical"]:
        assert piece in text
    # the summary table of the fit carries the same numbers
    assert f"{sr.stats['rv_q']:.4f}" in fit.summary().as_text()


def test_benchmark_r2_is_share_of_oof_residual_variance(fit):
    from plce.diagnostics.sensitivity_benchmark import benchmark_r2

    r2d, r2y = benchmark_r2(fit, "x1")
    r2d_noise, _ = benchmark_r2(fit, "x5")
    # x1 drives the treatment (t = x1 + e); x5 is noise
    assert r2d > 0.2 and r2d_noise < 0.05


def test_plots_render(fit, tmp_path):
    for of in ["estimate", "t-value"]:
        fig = fit.plot_sensitivity(benchmark="x2", kd=[1], sensitivity_of=of)
        path = tmp_path / f"sens_{of}.png"
        fig.savefig(path)
        assert path.stat().st_size > 10_000
        ax = fig.axes[0]
        assert "treatment" in ax.get_xlabel() and "outcome" in ax.get_ylabel()
        assert ax.get_xlim()[0] == 0


def test_sensitivity_bad_input(fit):
    with pytest.raises(PLCEError, match="Benchmark 'age' is not among the controls"):
        fit.sensitivity(benchmark="age")
    with pytest.raises(PLCEError, match="q must be a positive"):
        fit.sensitivity(q=0)
    with pytest.raises(PLCEError, match="alpha must be in"):
        fit.sensitivity(alpha=1.2)
    with pytest.raises(PLCEError, match="Treatment 'd' is not in the model"):
        fit.sensitivity("d")
    with pytest.raises(PLCEError, match="format must be"):
        fit.sensitivity().minimal_reporting("markdown")

"""plce.etable: several models side by side, against golden files (regenerate with PLCE_REGEN_GOLDEN=1)."""
import os
import pathlib

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf

import plce
from plce import PLCEError

GOLDEN = pathlib.Path(__file__).resolve().parent / "results"


@pytest.fixture(scope="module")
def models():
    rng = np.random.default_rng(7)
    n = 240
    x = rng.normal(size=n)
    t = x + rng.normal(size=n)
    df = pd.DataFrame({"y": 1 + 0.5 * t + x + rng.normal(size=n), "t": t, "x": x, "st_ate": np.arange(n) % 12})
    ext = {"ell": (1.4 * x)[None], "m": (0.95 * x + 0.1 * x**2)[None]}
    a = plce.ols_ml("y ~ t | x", data=df, n_rep=1, external_predictions=ext, final_controls="none",
                    estimand="variance_weighted", random_state=0)
    b = plce.ols_ml("y ~ t | x", data=df, cluster="st_ate", n_rep=1, external_predictions=ext,
                    final_controls="none", estimand="variance_weighted", random_state=0)
    c = smf.ols("y ~ t + x", data=df).fit(cov_type="HC1")
    return [a, b, c], df


@pytest.mark.parametrize("kind, suffix", [("text", "txt"), ("md", "md"), ("latex", "tex"), ("html", "html")])
def test_etable_matches_golden_file(models, kind, suffix):
    got = plce.etable(models[0], type=kind, names=["PLCE", "PLCE, clustered", "OLS"]) + "\n"
    path = GOLDEN / f"etable.{suffix}"
    if os.environ.get("PLCE_REGEN_GOLDEN"):
        path.write_text(got)
    assert got == path.read_text()


def test_etable_frame_and_checks(models):
    ms, df = models
    frame = plce.etable(ms, type="df", keep=["t", "x"])
    assert list(frame.columns) == ["(1)", "(2)", "(3)"]
    assert frame.loc["t", "(3)"].startswith(f"{ms[2].params['t']:.3f}")
    assert frame.loc["x", "(1)"] == ""  # plce reports the treatment only
    assert frame.loc["Clusters", "(2)"] == "st_ate (12)"
    with pytest.raises(PLCEError, match="type must be one of"):
        plce.etable(ms, type="xlsx")
    with pytest.raises(PLCEError, match="takes plce, statsmodels or pyfixest"):
        plce.etable([object()])


def test_etable_with_pyfixest(models):
    pf = pytest.importorskip("pyfixest")
    ms, df = models
    fe = pf.feols("y ~ t + x | st_ate", df, vcov={"CRV1": "st_ate"})
    frame = plce.etable([ms[0], fe], type="df")
    assert frame.loc["t", "(2)"].startswith(f"{float(fe.coef()['t']):.3f}")
    assert frame.loc["Estimator", "(2)"] == "feols | st_ate"


def test_statsmodels_summary_col_reads_plce_results(models):
    from statsmodels.iolib.summary2 import summary_col

    text = str(summary_col([models[0][0], models[0][2]], regressor_order=["t"]))
    assert f"{models[0][0].params['t']:.4f}" in text

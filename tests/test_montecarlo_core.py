"""Monte Carlo checks of the core estimator (slow; CI runs them with `pytest -m slow`).

40 seeds at n = 1000 (validation/ and docs/results.rst have 100): the bias MC s.e. is about 0.0065, so |bias| < 0.03
is over 4 s.e.; the coverage MC s.e. is 0.034, so >= 0.85 is 3 s.e. below 0.95; SE/SD within (0.7, 1.4) is about
3 MC s.e. either side of 1. Seeds are fixed, so the outcome is deterministic.
"""
import pytest

from montecarlo import run

pytestmark = pytest.mark.slow


def test_baseline_design_bias_and_coverage():
    # 100 seeds (docs/results.rst): bias +0.000, coverage 0.93, SE/SD 0.94
    r = run("baseline", reps=40)
    print(r)
    assert abs(r["bias"]) < 0.03, r
    assert r["coverage"] >= 0.85, r
    assert 0.7 < r["mean_se"] / r["sd"] < 1.4, r

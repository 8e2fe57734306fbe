"""Monte Carlo checks of the core estimator (slow; run by CI with `pytest -m slow`).

Tolerances: with 100 replications the Monte Carlo s.e. of a coverage near 0.95 is
0.022, so [0.90, 0.99] is about two s.e. either side; the bias s.e. is ~0.004 at
n = 1000, so |bias| < 0.03 is ~7 s.e. Seeds are fixed, so the outcome is deterministic.
"""
import pytest

from montecarlo import run

pytestmark = pytest.mark.slow


def test_baseline_design_bias_and_coverage():
    r = run("baseline", reps=100)
    print(r)
    assert abs(r["bias"]) < 0.03, r
    assert 0.90 <= r["coverage"] <= 0.99, r
    assert 0.8 < r["mean_se"] / r["sd"] < 1.25, r

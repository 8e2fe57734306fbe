"""Monte Carlo checks of interference (slow; CI runs them).

The talk's interference design (METHOD.md section 8) with learned interference on, and the spatial
example (``plce.datasets.make_spatial``: the outcome moves with the neighbours' mean treatment within a
radius; the treatment is spatially correlated) with coordinates given. Bias MC s.e.: ~0.004 (talk
design, 100 reps) and ~0.003 (spatial, 30 reps); coverage MC s.e. 0.022 and 0.04.
"""
import pytest

from montecarlo import run

pytestmark = pytest.mark.slow

F0 = "y ~ t | x1 + x2 + x3 + x4 + x5"


def test_interference_design_with_learned_interference():
    r = run("interference", reps=100, formula=F0, fit_kwargs={"interference": True})
    print(r)
    assert abs(r["bias"]) < 0.05, r
    assert 0.90 <= r["coverage"] <= 0.99, r


def test_spatial_example_coordinates_remove_the_bias():
    on = run("spatial", reps=30, formula="outcome ~ t | z", fit_kwargs={"interference": ["x", "y"]})
    off = run("spatial", reps=30, formula="outcome ~ t | z")
    print(on, off)
    assert off["bias"] > 0.15 and off["coverage"] < 0.2, off  # the neighbours' effect leaks into theta
    assert abs(on["bias"]) < 0.05, on
    assert on["coverage"] >= 0.85, on

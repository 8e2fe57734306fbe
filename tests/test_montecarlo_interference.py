"""Monte Carlo checks of interference (slow; CI runs them).

The interference design of Ratkovic (2023) (``make_simdata``) with learned interference on, the interference + random
effects + heterogeneity design with the defaults, and the spatial
example (``plce.datasets.make_spatial``: the outcome moves with the neighbours' mean treatment within a
radius; the treatment is spatially correlated) with coordinates given, and the spatial family's radius design with a
smooth confounder (``make_spatial_family``) with coordinates and the default spatial trend. Bias MC s.e.: ~0.004 (talk
design, 100 reps) and ~0.003 (spatial, 30 reps); coverage MC s.e. 0.022 and 0.04.
"""
import pytest

from montecarlo import run

pytestmark = pytest.mark.slow

F0 = "y ~ t | x1 + x2 + x3 + x4 + x5"
F1 = F0 + " + (1|g)"


def test_interference_design_with_learned_interference():
    r = run("interference", reps=30, formula=F0, fit_kwargs={"interference": True})
    print(r)
    assert abs(r["bias"]) < 0.05, r
    assert r["coverage"] >= 0.82, r


def test_interference_with_random_effects_and_heterogeneity_design():
    # The talk's hardest design (DoubleML -0.10, coverage 0.80 in the talk). Its neighbour averages are kernel
    # averages over x1, i.e. smooth functions of a control the learners see, so the default fit (interference off)
    # is the one tested here; interference=True costs twice the time (measured in docs/interference.rst).
    # What made this design pass: the variance model's least-squares start on the control terms (16 seeds before
    # it: bias -0.016, coverage 0.81, SE/SD 0.57; with it, seeds 1016-1063: -0.011, 0.98, SE/SD 1.21).
    # measured (seeds 1000-1099): bias -0.017 (MC s.e. 0.011), RMSE 0.109, coverage 0.96, SE/SD 1.09.
    # Over-coverage is judged by SE/SD (as for RE + heterogeneity): mean(x1^2) = 1 in every simulated data set,
    # so the population SE (the default) is conservative in this generator.
    # 40 seeds here: bias MC s.e. about 0.017, so |bias| < 0.06 is 3.5 s.e.
    r = run("interference_re_het", reps=40, formula=F1)
    print(r)
    assert abs(r["bias"]) < 0.06, r
    assert r["coverage"] >= 0.85, r
    assert 0.75 < r["mean_se"] / r["sd"] < 1.5, r


def test_spatial_example_coordinates_remove_the_bias():
    on = run("spatial", reps=20, formula="outcome ~ t | z", fit_kwargs={"interference": ["x", "y"]})
    off = run("spatial", reps=20, formula="outcome ~ t | z")
    print(on, off)
    assert off["bias"] > 0.15 and off["coverage"] < 0.2, off  # the neighbours' effect leaks into theta
    assert abs(on["bias"]) < 0.05, on
    assert on["coverage"] >= 0.80, on


def test_spatial_family_with_a_smooth_confounder_coordinates_and_trend():
    """The spatial family's radius design (hard-disk neighbours, spillovers of the treatment and the control, the
    confounder sin(2 pi lon) cos(2 pi lat)), coordinates given, seeds 100-111 (the validation study's are 0-29).
    MC s.e. of the bias ~0.012 (SD ~0.04): the bound 0.06 sits 2.5 s.e. above the study's +0.03 and 3 s.e. below
    the +0.097 the Gaussian features without the trend had; coverage of 12 at 0.92 has s.e. 0.08."""
    import numpy as np

    import plce

    est, cov = [], []
    for seed in range(100, 112):
        df, theta, _ = plce.datasets.make_spatial_family("radius", n=1000, random_state=seed)
        r = plce.ols_ml("y ~ t | z + lat + lon", data=df, interference=["lat", "lon"], random_state=seed)
        est.append(r.params["t"] - theta)
        cov.append(abs(r.params["t"] - theta) < 1.96 * r.bse["t"])
    print(np.mean(est), np.mean(cov))
    assert abs(np.mean(est)) < 0.06, np.mean(est)
    assert np.mean(cov) >= 0.75, np.mean(cov)

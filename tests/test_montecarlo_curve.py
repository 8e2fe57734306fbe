"""The partial-effect curve's average coverage (slow).

validation/curve.py has 100 seeds per shape (docs/curve.rst): calibrated 90% intervals cover 0.939 (quadratic), 0.955
(heterogeneous), 0.904 (threshold), 0.862 (confounded) of the units, the naive tau_hat +- 1.645 se 0.849, 0.881,
0.823, 0.733. Here 16 seeds of two shapes: the per-seed average coverage has an SD of about 0.03, so its mean over 16
seeds has an MC s.e. under 0.01, and each bound is over 3 MC s.e. from the measured value.
"""
import numpy as np
import pytest

pytestmark = pytest.mark.slow


def _one(seed, shape):
    import warnings

    import plce

    warnings.simplefilter("ignore")
    df, ape = plce.datasets.make_curve(shape, 1000, random_state=seed)
    pe = plce.partial_effects("y ~ t | x1 + x2 + x3", df, random_state=seed, warn=False)
    tau = df["true_tau"]
    cal, naive = pe.conf_int(0.1), pe.naive_conf_int(0.1)
    return (np.mean((cal.lower <= tau) & (tau <= cal.upper)), np.mean((naive.lower <= tau) & (tau <= naive.upper)),
            abs(pe.average()[0] - ape) <= 1.96 * pe.average()[1])


@pytest.mark.parametrize("shape, lo, hi", [("quadratic", 0.90, 0.98), ("confounded", 0.82, 0.92)])
def test_calibrated_intervals_reach_average_coverage(shape, lo, hi):
    from joblib import Parallel, delayed

    out = np.array(Parallel(n_jobs=2)(delayed(_one)(s, shape) for s in range(7000, 7016)))
    cal, naive, ape_cov = out.mean(axis=0)
    print(shape, {"calibrated": cal, "naive": naive, "ape_coverage": ape_cov})
    assert lo <= cal <= hi
    assert cal > naive + 0.05  # the calibration matters
    assert ape_cov >= 0.8  # 16 seeds: MC s.e. 0.055 around 0.95

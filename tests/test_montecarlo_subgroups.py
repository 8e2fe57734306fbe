"""Monte Carlo check of the subgroup averages (res.effect_by) on the categorical-moderator design (slow).

The effect is 0.2, 0.6, 1.0, 1.4, 1.8 by the level of c; the treatment's variance (continuous) or propensity (binary)
moves with it. 30 seeds per treatment type, n = 1000, defaults: 150 intervals per type. The 100-seed study is
``validation/subgroups.py`` (docs/validation.rst). MC error of a pooled coverage near 0.95 over 150 intervals is
about 0.018 if the five levels were independent; they share a fit, so the bounds below (0.88 to 0.995) allow 3.5
to 4 s.e.; the bias bound per level, 0.15, is about 4 MC s.e. of the noisiest level (SE about 0.2 at the level
with the smallest treatment variance, over 30 seeds: 0.037).
"""
import numpy as np
import pytest
from joblib import Parallel, delayed

pytestmark = pytest.mark.slow

FORMULA = "y ~ t | x1 + x2 + x3 + x4 + x5 + C(c)"


def _one(seed, treatment):
    import warnings

    import plce
    from plce.datasets.family import LEVEL_EFFECTS, LEVELS

    df, _ = plce.datasets.make_family("categorical", variance="varying", treatment=treatment, n=1000,
                                      random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = plce.ols_ml(FORMULA, data=df, random_state=seed)
    tab = res.effect_by("c").table
    truth = dict(zip(LEVELS, LEVEL_EFFECTS))
    return [(float(r["estimate"]), float(r["std_error"]), truth[level]) for level, r in tab.iterrows()]


@pytest.mark.parametrize("treatment", ["continuous", "binary"])
def test_subgroup_averages_cover_their_truths(treatment):
    rows = Parallel(n_jobs=2)(delayed(_one)(s, treatment) for s in range(5000, 5030))
    est, se, truth = (np.array(v) for v in zip(*[r for seed in rows for r in seed]))
    err = est - truth
    covered = np.abs(err) <= 1.959964 * se
    print(treatment, "coverage", covered.mean(), "bias by level", err.reshape(30, 5).mean(0),
          "SE/SD by level", se.reshape(30, 5).mean(0) / est.reshape(30, 5).std(0, ddof=1))
    assert 0.88 <= covered.mean() <= 0.995
    assert np.all(np.abs(err.reshape(30, 5).mean(0)) < 0.15)

"""The LightGBM fast path (:class:`plce.learners.BoosterFit`) against the scikit-learn wrapper it replaces."""
import lightgbm
import numpy as np
import pandas as pd
import pytest

import plce
from plce.learners import BoosterFit, default_learner, seeded_clone


def _frame(n, rng):
    X = pd.DataFrame(rng.normal(size=(n, 4)), columns=["a", "b", "c", "d"])
    X["cat"] = pd.Categorical(rng.choice(["u", "v", "w"], size=n))
    y = X["a"] ** 2 + (X["cat"] == "v") + rng.normal(size=n)
    return X, y.to_numpy()


@pytest.mark.parametrize("overrides", [{}, {"n_estimators": 50, "num_leaves": 15, "max_bin": 63},
                                       {"objective": "huber", "subsample": 1.0}])
def test_fast_path_predicts_bit_for_bit_like_the_wrapper(overrides):
    rng = np.random.default_rng(7)
    X, y = _frame(600, rng)
    Xt, _ = _frame(200, rng)
    learner = default_learner(**overrides)
    fast = seeded_clone(learner, 11)
    assert isinstance(fast, BoosterFit)
    slow = lightgbm.LGBMRegressor(**learner.get_params()).set_params(random_state=11)
    np.testing.assert_array_equal(fast.fit(X, y).predict(Xt), slow.fit(X, y).predict(Xt))
    np.testing.assert_array_equal(fast.predict(X), slow.predict(X))


@pytest.mark.parametrize("learner", [default_learner(n_jobs=-1), default_learner(application="huber"),
                                     default_learner(num_threads=2),
                                     default_learner(objective=lambda y, p: (p - y, 1 + 0 * p))])
def test_other_settings_keep_the_wrapper(learner):
    assert isinstance(seeded_clone(learner, 1), lightgbm.LGBMRegressor)


def test_whole_fit_unchanged_by_the_fast_path(monkeypatch):
    df, _ = plce.datasets.make_simdata("re_het", n=400, random_state=3)
    f = "y ~ t | x1 + x2 + x3 + x4 + x5 + (1|g)"
    fast = plce.ols_ml(f, data=df, n_rep=1, random_state=3)
    monkeypatch.setattr(BoosterFit, "applies", staticmethod(lambda est, params=None: False))
    slow = plce.ols_ml(f, data=df, n_rep=1, random_state=3)
    np.testing.assert_array_equal(fast.params.to_numpy(), slow.params.to_numpy())
    np.testing.assert_array_equal(fast.bse.to_numpy(), slow.bse.to_numpy())

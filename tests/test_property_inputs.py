"""Property-based tests of whole fits: over random formulas on random data, and random arrays of random shapes,
dtypes and missingness, every outcome is a result with a finite theta and SE, or a PLCEError -- never another
exception, never a NaN presented as an answer."""
import warnings

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.linear_model import LinearRegression

import plce
from plce import PLCEError

COLUMNS = ["y", "t", "d", "x1", "x2", "cat", "txt", "g", "w"]


def _frame(seed: int, n: int, missing: float) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x1, x2 = rng.normal(size=(2, n))
    t = x1 + rng.normal(size=n)
    df = pd.DataFrame({"y": t + x2 + rng.normal(size=n), "t": t, "d": (rng.random(n) < 0.4).astype(float),
                       "x1": x1, "x2": x2, "cat": rng.choice(list("abc"), n),
                       "txt": [f"{v:.2f}" for v in rng.normal(size=n)], "g": rng.integers(0, 12, n),
                       "w": rng.uniform(0.5, 2, n)})
    if missing:
        for c in ["y", "x1", "cat"]:
            df.loc[rng.random(n) < missing, c] = np.nan
    return df


def _check(res):
    assert np.all(np.isfinite(res.params)) and np.all(np.isfinite(res.bse)) and np.all(res.bse > 0)


term = st.sampled_from(["x1", "x2", "x2", "C(cat)", "cat", "np.log(x1**2 + 1)", "x1:x2", "x1*x2", "txt", "I(x2**2)",
                        "(1|g)", "(1|g)", "C(g)", "nonexistent", "i.cat", "x1 +", "(x1|g)"])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), n=st.sampled_from([12, 60, 200]), missing=st.sampled_from([0.0, 0.1, 0.9]),
       outcome=st.sampled_from(["y", "y", "np.log(y)", "d", "cat"]),
       treatment=st.sampled_from(["t", "t", "d", "d", "x1", "cat"]),
       controls=st.lists(term, min_size=1, max_size=4), fe=st.sampled_from(["", " | g"]),
       options=st.sampled_from([{}, {"estimand": "variance_weighted"}, {"estimand": "att"}, {"trim": 0.05},
                                {"weights": "w"}, {"design": "experiment"}, {"cov_type": "HC3"}]))
def test_random_formula_fits_are_finite_or_plce_errors(seed, n, missing, outcome, treatment, controls, fe, options):
    df = _frame(seed, n, missing)
    formula = f"{outcome} ~ {treatment} | {' + '.join(controls)}{fe}"
    weights = options.pop("weights", None) if "weights" in options else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            res = plce.ols_ml(formula, data=df, weights=weights, n_rep=1, n_folds=2, random_state=seed,
                              learner=LinearRegression(), **options)
        except PLCEError:
            return
    _check(res)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), n=st.sampled_from([0, 3, 40, 150]), p=st.integers(0, 4),
       k=st.integers(1, 2), y_dim=st.sampled_from([0, 1, 2]), x_dim=st.sampled_from([1, 2, 3]),
       dtype=st.sampled_from(["float", "int", "object", "bool"]), missing=st.sampled_from([0.0, 0.2]),
       groups=st.booleans(), mismatch=st.booleans())
def test_random_arrays_are_finite_or_plce_errors(seed, n, p, k, y_dim, x_dim, dtype, missing, groups, mismatch):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p))
    if dtype == "int":
        X = np.round(X * 3).astype(int)
    elif dtype == "object":
        X = X.astype(object)
    elif dtype == "bool":
        X = X > 0
    if x_dim == 1 and p:
        X = X[:, 0]
    elif x_dim == 3:
        X = X.reshape(n, p, 1)
    T = rng.normal(size=(n, k)) if k > 1 else rng.normal(size=n)
    y = rng.normal(size=n) if y_dim == 1 else (rng.normal(size=(n, 2)) if y_dim == 2 else 1.0)
    if missing and y_dim == 1 and n:
        y = np.where(rng.random(n) < missing, np.nan, y)
    if mismatch and n:
        T = T[:-1]
    g = rng.integers(0, 5, n) if groups else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            res = plce.PLCE(y, T, X, groups=g).fit(n_rep=1, n_folds=2, random_state=seed, learner=LinearRegression())
        except PLCEError:
            return
    _check(res)

"""design="experiment": the final stage is Lin's (2013) interacted regression with the outcome prediction added."""
import numpy as np
import pytest
import statsmodels.api as sm
from numpy.testing import assert_allclose

import plce


@pytest.mark.parametrize("treatment", ["binary", "continuous"])
def test_experiment_equals_lins_regression_with_the_outcome_prediction(treatment):
    """With the outcome prediction given, theta and its (sample-average, HC2) SE are the coefficient on t of
    OLS y ~ 1 + t + l_hat + x + t (x - mean x) + t (l_hat - mean l_hat), to rounding."""
    df, _ = plce.datasets.make_experiment(400, "nonlinear", treatment, random_state=3)
    X = df[["x1", "x2", "x3"]].to_numpy()
    ell = 1.2 * np.sin(2 * X[:, 0]) + X[:, 1] ** 2
    t = df["t"].to_numpy()
    res = plce.ols_ml("y ~ t | x1 + x2 + x3", data=df, design="experiment", n_rep=1, random_state=0,
                      external_predictions={"ell": ell[None]})
    Z = sm.add_constant(np.column_stack([t, ell, X, t[:, None] * (X - X.mean(0)), t * (ell - ell.mean())]))
    ref = sm.OLS(df["y"].to_numpy(), Z).fit(cov_type="HC2")
    assert_allclose(res.params["t"], ref.params[1], rtol=1e-10)
    assert_allclose(res.bse["t"], ref.bse[1], rtol=1e-10)
    assert res.plan.terms_form == "linear" and res.plan.known_m is not None


def test_experiment_keeps_asked_for_quadratic_terms():
    df, _ = plce.datasets.make_experiment(400, "linear", "continuous", random_state=4)
    res = plce.ols_ml("y ~ t | x1 + x2 + x3", data=df, design="experiment", n_rep=1, random_state=0,
                      final_controls="quadratic")
    assert res.plan.terms_form == "quadratic"
    obs = plce.ols_ml("y ~ t | x1 + x2 + x3", data=df, n_rep=1, random_state=0)
    assert obs.plan.terms_form == "quadratic"  # the observational default is unchanged

"""Options as data: one typed object, validated once, with aliases and did-you-mean (plce.options)."""
import dataclasses

import numpy as np
import pytest

import plce
from plce import PLCEError
from plce.options import FitOptions


def test_unknown_option_gets_did_you_mean(small_df):
    with pytest.raises(PLCEError, match=r"Unknown option n_fold=\. Did you mean 'n_folds'"):
        plce.ols_ml("y ~ t | x1", data=small_df, n_fold=3)
    with pytest.raises(PLCEError, match="belongs to the data"):
        plce.PLCE.from_formula("y ~ t | x1", small_df).fit(cluster="cl")


@pytest.mark.parametrize("kw, words", [
    ({"final": "ols"}, "final must be one of 'feasible', 'residual'"),
    ({"aggregate": "mean"}, "aggregate must be one of"),
    ({"estimand": "late"}, "estimand must be one of 'ate', 'att', 'atc', 'variance_weighted'"),
    ({"n_jobs": 0}, "n_jobs must be"),
    ({"n_jobs": "two"}, "n_jobs must be"),
    ({"n_rep": 0}, "n_rep must be an integer >= 1"),
    ({"n_folds": 2.5}, "n_folds must be an integer >= 2"),
    ({"re_iter": 0}, "re_iter must be an integer >= 1"),
    ({"weight_floor": 1.5}, "weight_floor must be in"),
    ({"use_t": "yes"}, "use_t must be True or False"),
    ({"progress": "loud"}, "progress must be"),
    ({"cov_type": 3}, "cov_type must be a string"),
    ({"final_controls": True}, "final_controls must be one of"),
])
def test_bad_values_are_refused_before_any_fit(kw, words):
    with pytest.raises(PLCEError, match=words):
        FitOptions.from_kwargs(kw)


def test_estimand_synonyms_and_case():
    assert FitOptions(estimand="ATET").estimand == "att"
    assert FitOptions(estimand="plr").estimand == "variance_weighted"
    assert FitOptions(estimand="average").estimand == "ate"


def test_options_are_frozen_and_replace_revalidates():
    o = FitOptions(n_rep=2)
    with pytest.raises(dataclasses.FrozenInstanceError):
        o.n_rep = 3
    with pytest.raises(PLCEError, match="n_rep"):
        o.replace(n_rep=-1)


def test_old_names_still_work_with_a_future_warning(small_df):
    kw = dict(data=small_df, n_rep=1, random_state=3)
    with pytest.warns(FutureWarning, match="heteroskedasticity= is now called estimand="):
        old = plce.ols_ml("y ~ t | x1 + x2", heteroskedasticity=False, linear_controls=False, **kw)
    new = plce.ols_ml("y ~ t | x1 + x2", estimand="variance_weighted", final_controls="none", **kw)
    assert old.params.equals(new.params) and old.bse.equals(new.bse)
    with pytest.raises(PLCEError, match="either heteroskedasticity= or its new name estimand="):
        FitOptions.from_kwargs({"heteroskedasticity": True, "estimand": "ate"})


def test_cli_flags_are_the_options():
    from plce.cli import build_parser

    _, names = build_parser()
    assert {"n_folds", "n_rep", "estimand", "cov_type", "final_controls", "use_t"} <= set(names)
    args = build_parser()[0].parse_args(["fit", "y ~ t | x", "--data", "f.csv", "--n-rep", "7", "--use-t"])
    assert args.n_rep == 7 and args.use_t is True and args.n_folds is None  # None: the library's default


def test_readme_lists_every_option():
    import pathlib

    readme = (pathlib.Path(__file__).resolve().parent.parent / "README.rst").read_text()
    missing = [n for n in FitOptions.names() if f"``{n}``" not in readme]
    assert not missing, f"README.rst options table lacks {missing}"


def test_seeds_by_role_do_not_collide_with_many_treatments():
    from plce.crossfit import make_plan

    plan = make_plan(100, n_folds=2, n_rep=1, random_state=0)
    roles = [f"treatment:{j}" for j in range(12)] + ["outcome", "inner_split", "inner_treatment", "variance"]
    seeds = [plan.seed(0, 0, r) for r in roles]
    assert len(set(seeds)) == len(seeds)
    rng = np.random.default_rng(0)
    n = 300
    X = rng.normal(size=(n, 2))
    T = X[:, :1] + rng.normal(size=(n, 9))
    res = plce.PLCE(X[:, 0] + T.sum(1) + rng.normal(size=n), T, X).fit(n_rep=1, random_state=0)
    assert res.params.shape == (9,) and np.isfinite(res.bse).all()

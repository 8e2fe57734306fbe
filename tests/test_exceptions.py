"""Every bad input gets a PLCEError whose message names the problem and the fix."""
import numpy as np
import pytest
from sklearn.linear_model import LinearRegression

import plce
from plce import PLCEError


def fit(formula, df, **kw):
    kw.setdefault("n_rep", 1)
    kw.setdefault("random_state", 0)
    kw.setdefault("learner", LinearRegression())
    return plce.ols_ml(formula, data=df, **kw)


def test_formula_without_bar(small_df):
    with pytest.raises(PLCEError, match=r"no '\|'.*Write e.g. 'y ~ t \| x1'"):
        fit("y ~ t + x1", small_df)


def test_nothing_left_of_bar(small_df):
    with pytest.raises(PLCEError, match="Nothing between '~' and '\\|'"):
        fit("y ~ | x1", small_df)


def test_treatment_also_control(small_df):
    with pytest.raises(PLCEError, match=r"\['t'\] appear\(s\) both as treatment and as control"):
        fit("y ~ t | x1 + np.log(t)", small_df)


def test_unknown_column_suggests_closest(small_df):
    with pytest.raises(PLCEError, match=r"Column 'x3' \(control\).*not in the data. Did you mean 'x2', 'x1'"):
        fit("y ~ t | x1 + x3", small_df)
    with pytest.raises(PLCEError, match=r"Column 'T' \(treatment\).*Did you mean 't'"):
        fit("y ~ T | x1", small_df)


def test_unbalanced_parentheses(small_df):
    with pytest.raises(PLCEError, match="Unbalanced parentheses"):
        fit("y ~ t | np.log(x1", small_df)


def test_random_slopes(small_df):
    with pytest.raises(PLCEError, match="Random slopes .* not supported"):
        fit("y ~ t | x1 + (x2|cl)", small_df)


def test_nonfinite_with_missing_raise(small_df):
    df = small_df.copy()
    df.loc[4, "t"] = np.nan
    df.loc[7, "y"] = np.inf
    with pytest.raises(PLCEError, match=r"2 row\(s\) have missing or non-finite.*'y': 1, 't': 1.*missing='drop'"):
        fit("y ~ t | x1", df, missing="raise")


def test_every_row_dropped(small_df):
    df = small_df.assign(x2=np.nan)
    with pytest.raises(PLCEError, match="Every row has a missing"):
        fit("y ~ t | x1 + x2", df)


def test_too_few_rows_for_folds(small_df):
    with pytest.raises(PLCEError, match="too few for 5-fold cross-fitting"):
        fit("y ~ t | x1", small_df.head(8))


def test_constant_treatment(small_df):
    with pytest.raises(PLCEError, match="treatment 't' is constant"):
        fit("y ~ t | x1", small_df.assign(t=2.0))


def test_treatment_constant_within_training_fold(small_df):
    df = small_df.head(20).copy()
    df["t"] = 0.0
    df.loc[3, "t"] = 2.5  # varies in one row only: the fold holding it out trains on a constant
    with pytest.raises(PLCEError, match="constant within the training folds"):
        fit("y ~ t | x1", df)
    df.loc[3, "t"] = 1.0  # as a 0/1 treatment the arm-size rule catches it first
    with pytest.raises(PLCEError, match="Only 1 treated units of 20: fewer than the 5 folds"):
        fit("y ~ t | x1", df)


def test_non_numeric_outcome(small_df):
    with pytest.raises(PLCEError, match="outcome 'cat' is not numeric"):
        fit("cat ~ t | x1", small_df)


def test_n_folds_below_two(small_df):
    with pytest.raises(PLCEError, match="n_folds must be an integer >= 2"):
        fit("y ~ t | x1", small_df, n_folds=1)


def test_unknown_cov_type_lists_valid(small_df):
    with pytest.raises(PLCEError, match="Unknown cov_type 'HC5'. Valid choices: HC0, HC1, HC2, HC3"):
        fit("y ~ t | x1", small_df, cov_type="HC5")


def test_cluster_column_missing_or_nan(small_df):
    with pytest.raises(PLCEError, match="Cluster column 'cls' is not in the data. Did you mean 'cl'"):
        fit("y ~ t | x1", small_df, cluster="cls")
    df = small_df.astype({"cl": float})
    df.loc[2, "cl"] = np.nan
    with pytest.raises(PLCEError, match="Cluster column 'cl' has 1 missing"):
        fit("y ~ t | x1", df, cluster="cl")


def test_data_not_a_frame(small_df):
    with pytest.raises(PLCEError, match="data must be a pandas DataFrame"):
        fit("y ~ t | x1", small_df.to_numpy())


def test_dict_of_arrays_is_accepted(small_df):
    res = fit("y ~ t | x1", {c: small_df[c].to_numpy() for c in ["y", "t", "x1"]})
    assert res.nobs == len(small_df)


def test_learner_class_or_non_estimator_refused(small_df):
    with pytest.raises(PLCEError, match="not the class LinearRegression; write LinearRegression"):
        fit("y ~ t | x1", small_df, learner=LinearRegression)
    with pytest.raises(PLCEError, match="has no fit or predict method"):
        fit("y ~ t | x1", small_df, learner=object())


def test_bad_options(small_df):
    with pytest.raises(PLCEError, match="final must be"):
        fit("y ~ t | x1", small_df, final="ols")
    with pytest.raises(PLCEError, match="aggregate must be"):
        fit("y ~ t | x1", small_df, aggregate="mean")
    with pytest.raises(PLCEError, match="missing must be"):
        fit("y ~ t | x1", small_df, missing="ignore")
    with pytest.raises(PLCEError, match="random_state must be"):
        fit("y ~ t | x1", small_df, random_state="abc")
    with pytest.raises(PLCEError, match="grouped_folds=True needs cluster"):
        fit("y ~ t | x1", small_df, grouped_folds=True)
    with pytest.raises(PLCEError, match="alpha must be in"):
        fit("y ~ t | x1", small_df).conf_int(1.5)

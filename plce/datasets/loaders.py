"""Loaders for the data sets shipped inside the package (see data/README.md for sources)."""
from __future__ import annotations

from importlib import resources

import pandas as pd

__all__ = ["load_mattes_weeks", "load_darfur", "MATTES_WEEKS_COVARIATES"]

#: the 11 pre-treatment covariates of the Mattes-Weeks table (raw codes, as the published analysis)
MATTES_WEEKS_COVARIATES = (
    "hawk", "intl", "trust", "voted16", "birthyr", "gender", "educ", "pid7", "ideo5", "newsint", "pew_religimp",
)


def _read(name: str) -> pd.DataFrame:
    with resources.files("plce.datasets").joinpath("data", name).open("rb") as fh:
        return pd.read_csv(fh)


def load_mattes_weeks(raw: bool = False) -> pd.DataFrame:
    """Mattes & Weeks (2019) hawk/dove survey experiment.

    Parameters
    ----------
    raw : bool, default False
        ``True`` returns the shipped columns unchanged (1200 rows). ``False``
        applies the published analysis' recode: drop the respondent who skipped
        ``hddv1`` (code 8), and add ``disapprove`` (1 if ``hddv1`` is 1 or 2,
        i.e. strongly or somewhat disapprove; 0 otherwise), ``conciliation``
        (1 if ``rapproche_t == 1``) and ``experiment`` ("hawk" if
        ``hawk_t == 1``, else "dove"). 1199 rows: 600 hawk, 599 dove.

    Examples
    --------
    >>> from plce.datasets import load_mattes_weeks
    >>> df = load_mattes_weeks()
    >>> df["experiment"].value_counts().to_dict()
    {'hawk': 600, 'dove': 599}
    """
    df = _read("mattes_weeks.csv")
    if raw:
        return df
    df = df[df["hddv1"].between(1, 5)].copy()
    df["disapprove"] = df["hddv1"].isin([1, 2]).astype(int)
    df["conciliation"] = (df["rapproche_t"] == 1).astype(int)
    df["experiment"] = df["hawk_t"].map({1: "hawk", 2: "dove"})
    return df.reset_index(drop=True)


def load_darfur() -> pd.DataFrame:
    """The Darfur survey used by Cinelli & Hazlett (2020) (1276 rows, 14 columns).

    Examples
    --------
    >>> from plce.datasets import load_darfur
    >>> load_darfur().shape
    (1276, 14)
    """
    return _read("darfur.csv")

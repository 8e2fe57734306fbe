"""Enos (2016, AJPS; online 2015): distance to demolished public housing and white turnout, with plce.

The voter file ``data.turnout.csv`` (209 MB) is not shipped. Get it from Enos's
Harvard Dataverse replication archive (doi:10.7910/DVN/26612, folder
``Enos_Chicago_Replication/indata_static``) and pass its path; the script checks
its SHA-256 before use.

Sample (as Enos): white voters (``whitename >= .975``) registered before
2000-10-10. Outcome: change in turnout 2004 - 2000 (``vote.change``).
Treatment: distance (km) to the nearest demolished project, and its log, as
continuous treatments (Enos dichotomizes it at 100-1000 m). Controls: 1996 and
1998 turnout, gender, age and age squared, block-group median income, dwelling
value, deed in the voter's name; random intercept ``(1|demo_gid)`` by nearest
project, standard errors clustered by it. Interference between voters is adjusted
for with plce's learned neighbour averages (``interference=True``: the voter file has
no coordinates, so proximity is along each control, e.g. voters of similar age,
income or home value); ``--no-interference`` in :func:`main` turns it off.
"""
from __future__ import annotations

import hashlib
import pathlib
import sys

import numpy as np
import pandas as pd

__all__ = ["SHA256", "prepare", "fit", "main", "ENOS_DID"]

SHA256 = "adc6c20d2ea2e81536df9844cc6f1a9276abac43c726e4f02ab19add542a24be"
WHERE = ("Enos's voter file data.turnout.csv is not shipped with plce (209 MB). Download it from the Harvard "
         "Dataverse archive doi:10.7910/DVN/26612 (Enos_Chicago_Replication/indata_static/data.turnout.csv) and "
         "run: plce replicate enos --data /path/to/data.turnout.csv")
#: Enos's basic difference-in-differences for white voters (name probability >= .975), turnout points
ENOS_DID = pd.DataFrame({"cutoff_m": [100, 200, 300, 500, 1000], "estimate": [-13.4, -11.0, -12.6, -10.7, -3.2]})
CONTROLS = ["vote1996", "vote1998", "female", "age", "age_squared", "medianincome", "prior_avg_value",
            "deeded_strict"]


def sha256(path: pathlib.Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def prepare(raw: pd.DataFrame) -> pd.DataFrame:
    """Enos's white-voter sample with plce-friendly column names."""
    df = raw.rename(columns=lambda c: c.replace(".", "_"))
    reg = pd.to_datetime(df["reg"], errors="coerce")
    keep = (df["whitename"] >= 0.975) & reg.notna() & (reg < pd.Timestamp("2000-10-10"))
    df = df.loc[keep].copy()
    df["female"] = (df["s"].astype(str).str.upper() == "F").astype(float)
    df["distance_km"] = df["demo_distance"] / 1000.0
    df["log_distance"] = np.log(df["demo_distance"].clip(lower=1.0))
    if "vote_change" not in df:
        df["vote_change"] = df["vote2004"] - df["vote2000"]
    return df


def fit(df: pd.DataFrame, *, treatment: str = "distance_km", n_rep: int = 5, n_jobs: int = 1, progress=False,
        random_state: int = 1, interference: bool = True):
    from ..api import ols_ml

    formula = f"vote_change ~ {treatment} | " + " + ".join(CONTROLS) + " + (1|demo_gid)"
    return ols_ml(formula, data=df, n_rep=n_rep, n_jobs=n_jobs, progress=progress, random_state=random_state,
                  interference=interference)


def main(data: str | None, *, out: str | None = None, n_rep: int | None = None, n_jobs: int = 1,
         progress: bool = True, check: bool = True, interference: bool = True) -> int:
    if not data or not pathlib.Path(data).exists():
        print(WHERE, file=sys.stderr)
        return 2
    path = pathlib.Path(data)
    if check:
        digest = sha256(path)
        if digest != SHA256:
            print(f"plce: {path} has SHA-256 {digest}, not Enos's {SHA256}; refusing to use it (pass a genuine "
                  "copy of data.turnout.csv).", file=sys.stderr)
            return 3
    df = prepare(pd.read_csv(path))
    lines = [f"Enos (2016) white voters, n = {len(df)}: change in turnout 2000-2004 (points); learned "
             f"interference {'on' if interference else 'off'}"]
    for treatment, label in [("distance_km", "per km of distance"), ("log_distance", "per log-metre")]:
        res = fit(df, treatment=treatment, n_rep=n_rep or 5, n_jobs=n_jobs, progress=progress,
                  interference=interference)
        b, s = 100 * res.params[treatment], 100 * res.bse[treatment]
        lines.append(f"  plce, {label:20s}: {b:7.2f} ({s:.2f})")
        if out:
            pathlib.Path(out).mkdir(parents=True, exist_ok=True)
            (pathlib.Path(out) / f"enos_{treatment}.txt").write_text(res.summary().as_text())
    lines.append("  Enos's dichotomized difference-in-differences (treated = within the cutoff):")
    for _, r in ENOS_DID.iterrows():
        lines.append(f"    within {int(r.cutoff_m):4d} m: {r.estimate:6.1f}")
    print("\n".join(lines))
    return 0

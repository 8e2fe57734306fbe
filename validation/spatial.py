"""Validation study of issue #17: spillovers on spatial and network designs (plce.datasets.make_spatial_family).

Per design and seed (n = 1000): plce with the exact neighbour matrix (``interference=W``, the oracle), the same with
the spatial trend (``spatial_trend=["lat", "lon"]``), with the coordinates (``interference=["lat", "lon"]``, whose
default includes the trend), without interference, OLS, and DoubleML's PLR (the default LightGBM learners, the fit's
first fold split); the controls are z and the coordinates (a spatially smooth confounder is a function of
location). SEs: plce's default and Conley's (Bartlett, cutoff 0.1) from the same fit. The results of the estimator
before the trend and the disk / k-nearest candidates are in ``results/spatial_v1_gaussian_no_trend.csv``.

    python validation/spatial.py --reps 100 --jobs 2
"""
from __future__ import annotations

import argparse
import os
import sys

import pandas as pd

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results", "spatial.csv")
DESIGNS = {
    "radius, both": dict(neighbours="radius", spill="both"),
    "knn, both": dict(neighbours="knn", spill="both"),
    "decay, treatment": dict(neighbours="decay", spill="treatment"),
    "radius, controls": dict(neighbours="radius", spill="controls"),
    "radius, both, correlated errors": dict(neighbours="radius", spill="both", correlated_errors=True),
    "network, both": dict(neighbours="network", spill="both", confounder=False),
}
FORMULA = "y ~ t | z + lat + lon"
METHODS = ["plce W (oracle)", "plce W + trend", "plce coordinates", "plce off", "OLS", "DoubleML PLR"]


def plr(df, folds):
    import doubleml as dml
    import numpy as np

    from plce.learners import default_learner

    data = dml.DoubleMLData(df[["y", "t", "z", "lat", "lon"]], y_col="y", d_cols="t", x_cols=["z", "lat", "lon"])
    m = dml.DoubleMLPLR(data, default_learner(), default_learner(), n_folds=5, n_rep=1, draw_sample_splitting=False)
    m.set_sample_splitting([[(np.flatnonzero(f != k), np.flatnonzero(f == k)) for k in range(5)] for f in folds])
    m.fit()
    return float(m.coef[0]), float(m.se[0])


def one(seed, design, methods, sha):
    common.quiet()
    import statsmodels.formula.api as smf

    import plce

    df, theta, W = plce.datasets.make_spatial_family(n=1000, random_state=seed, **DESIGNS[design])
    rows = []
    conley = {"coords": df[["lat", "lon"]].to_numpy(), "cutoff": 0.1}
    folds = None
    for method, kw in [("plce W (oracle)", {"interference": W}),
                       ("plce W + trend", {"interference": W, "spatial_trend": ["lat", "lon"]}),
                       ("plce coordinates", {"interference": ["lat", "lon"]}), ("plce off", {})]:
        if method not in methods or (design.startswith("network") and method == "plce coordinates"):
            continue
        r = plce.ols_ml(FORMULA, data=df, random_state=seed, **kw)
        folds = r.folds if folds is None else folds
        rows.append((method, r.params["t"], r.bse["t"]))
        if method != "plce off":
            rc = r.get_robustcov_results("conley", cov_kwds=conley)
            rows.append((method + ", Conley SE", rc.params["t"], rc.bse["t"]))
    if "OLS" in methods:
        o = smf.ols("y ~ t + z + lat + lon", data=df).fit(cov_type="HC1")
        rows.append(("OLS", o.params["t"], o.bse["t"]))
    if "DoubleML PLR" in methods and folds is not None:
        rows.append(("DoubleML PLR", *plr(df, folds[:1])))
    return [dict(seed=seed, design=design, method=m, estimate=float(e), se=float(s), truth=theta, commit=sha)
            for m, e, s in rows]


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=100)
    ap.add_argument("--seed0", type=int, default=0)
    ap.add_argument("--designs", nargs="+", default=list(DESIGNS))
    ap.add_argument("--methods", nargs="+", default=METHODS,
                    help="a subset (the estimators of the others unchanged since a committed run)")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--out", default=OUT)
    args = ap.parse_args(argv)
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    sha = common.commit()
    done = common.resume(args.out, ["seed", "design"])
    jobs = [(s, d, tuple(args.methods)) for d in args.designs for s in range(args.seed0, args.seed0 + args.reps)
            if (str(s), d) not in done]
    common.run_jobs(one, jobs, args.out, args.jobs, sha)
    tab = common.summarize(pd.read_csv(args.out), ["design", "method"])
    print(tab.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    return tab


if __name__ == "__main__":
    main()

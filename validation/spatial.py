"""Validation study of issue #17: spillovers on spatial and network designs (plce.datasets.make_spatial_family).

Per design and seed (n = 1000): plce with the exact neighbour matrix (``interference=W``, the oracle), with the
coordinates (``interference=["lat", "lon"]``), without interference, OLS, and DoubleML's PLR; the controls are z and
the coordinates (a spatially smooth confounder is a function of location). SEs: plce's default and Conley's
(Bartlett, cutoff 0.1) from the same fit.

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


def one(seed, design, sha):
    common.quiet()
    import statsmodels.formula.api as smf

    import plce

    df, theta, W = plce.datasets.make_spatial_family(n=1000, random_state=seed, **DESIGNS[design])
    rows = []
    conley = {"coords": df[["lat", "lon"]].to_numpy(), "cutoff": 0.1}
    for method, kw in [("plce W (oracle)", {"interference": W}), ("plce coordinates", {"interference": ["lat", "lon"]}),
                       ("plce off", {})]:
        if design.startswith("network") and method == "plce coordinates":
            continue
        r = plce.ols_ml(FORMULA, data=df, random_state=seed, **kw)
        rows.append((method, r.params["t"], r.bse["t"]))
        if method != "plce off":
            rc = r.get_robustcov_results("conley", cov_kwds=conley)
            rows.append((method + ", Conley SE", rc.params["t"], rc.bse["t"]))
    o = smf.ols("y ~ t + z + lat + lon", data=df).fit(cov_type="HC1")
    rows.append(("OLS", o.params["t"], o.bse["t"]))
    return [dict(seed=seed, design=design, method=m, estimate=float(e), se=float(s), truth=theta, commit=sha)
            for m, e, s in rows]


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=100)
    ap.add_argument("--seed0", type=int, default=0)
    ap.add_argument("--designs", nargs="+", default=list(DESIGNS))
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--out", default=OUT)
    args = ap.parse_args(argv)
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    sha = common.commit()
    done = common.resume(args.out, ["seed", "design"])
    jobs = [(s, d) for d in args.designs for s in range(args.seed0, args.seed0 + args.reps) if (str(s), d) not in done]
    common.run_jobs(one, jobs, args.out, args.jobs, sha)
    tab = common.summarize(pd.read_csv(args.out), ["design", "method"])
    print(tab.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    return tab


if __name__ == "__main__":
    main()

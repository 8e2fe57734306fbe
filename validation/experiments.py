"""Validation study of issue #24: randomized experiments, plce (design="experiment") against Lin's (2013) OLS.

Binary and continuous randomized treatments, n = 600 and 2000, covariates predicting the outcome not at all,
linearly and nonlinearly (``plce.datasets.make_experiment``). Per data set: plce with ``design="experiment"``
(its default SE, for the sample average effect), plce at its observational defaults (n = 600 only), and Lin's
interacted OLS
(t x centred covariates, HC2 SE). Coverage is of the sample average effect, mean(1 + 0.3 x1_i).

    python validation/experiments.py --reps 200 --jobs 2
"""
from __future__ import annotations

import argparse
import os
import sys

import numpy as np
import pandas as pd

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results", "experiments.csv")
COVS = ["x1", "x2", "x3", "x4", "x5"]


def lin(df) -> tuple[float, float]:
    """Lin (2013): y on t, centred covariates and their interactions with t; HC2 SE."""
    import statsmodels.api as sm

    Xc = df[COVS].to_numpy() - df[COVS].to_numpy().mean(0)
    t = df["t"].to_numpy()
    Z = sm.add_constant(np.column_stack([t, Xc, t[:, None] * Xc]))
    r = sm.OLS(df["y"].to_numpy(), Z).fit(cov_type="HC2")
    return float(r.params[1]), float(r.bse[1])


METHODS = ("plce experiment", "plce default", "Lin OLS")


def one(seed, n, prognosis, treatment, methods, sha):
    common.quiet()
    import plce

    df, _ = plce.datasets.make_experiment(n, prognosis, treatment, random_state=seed)
    truth = float(df["true_effect"].mean())
    f = "y ~ t | " + " + ".join(COVS)
    rows = []
    for method, kw in (("plce experiment", {"design": "experiment"}), ("plce default", {})):
        if method in methods:
            r = plce.ols_ml(f, data=df, random_state=seed, **kw)
            rows.append((method, float(r.params["t"]), float(r.bse["t"])))
    if "Lin OLS" in methods:
        rows.append(("Lin OLS", *lin(df)))
    return [dict(seed=seed, n=n, prognosis=prognosis, treatment=treatment, method=m, estimate=e, se=s, truth=truth,
                 commit=sha) for m, e, s in rows]


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=200)
    ap.add_argument("--seed0", type=int, default=0)
    ap.add_argument("--n", type=int, nargs="+", default=[600, 2000])
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--out", default=OUT)
    args = ap.parse_args(argv)
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    sha = common.commit()
    done = common.resume(args.out, ["seed", "n", "prognosis", "treatment", "method"])
    jobs = []
    for n in args.n:
        for t in ("binary", "continuous"):
            for p in ("none", "linear", "nonlinear"):
                for s in range(args.seed0, args.seed0 + args.reps):
                    # plce's observational default only at the smaller n (it is there for contrast)
                    todo = tuple(m for m in METHODS if (m != "plce default" or n <= 600)
                                 and (str(s), str(n), p, t, m) not in done)
                    if todo:
                        jobs.append((s, n, p, t, todo))
    common.run_jobs(one, jobs, args.out, args.jobs, sha)
    frame = pd.read_csv(args.out)
    tab = common.summarize(frame, ["treatment", "n", "prognosis", "method"])
    lin_se = tab[tab.method == "Lin OLS"].set_index(["treatment", "n", "prognosis"])["mean_se"]
    tab["se_vs_lin"] = [r.mean_se / lin_se[(r.treatment, r.n, r.prognosis)] for r in tab.itertuples()]
    print(tab.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    return tab


if __name__ == "__main__":
    main()

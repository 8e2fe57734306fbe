"""Scale: wall time and peak memory of plce (default and at DoubleML's work) and DoubleML's PLR, by n.

Every configuration runs in a fresh subprocess, so its peak resident memory (``resource.getrusage``) is its own.
Cases: 20 controls at n = 10^4, 10^5, 10^6; ``(1|g)`` with 10^4 groups; ``interference=["lat", "lon"]``; two-way
fixed effects (1,000 units x 20 periods, ``y ~ t | controls | unit + year``) against pyfixest's ``feols`` with the same
fixed effects and the controls linearly (``feols`` fits no learner: the ratio is the price of the learned controls).
Results (with the machine's core count and the commit) are appended to ``benchmarks/results/scale.csv``.

    python benchmarks/bench_scale.py --cases plain:10000 plain:100000 doubleml:100000 re:100000
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "results", "scale.csv")


def make(n: int, p: int = 20, seed: int = 0, fe: bool = False):
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p)).astype(float)
    g = rng.integers(0, 10_000, n)
    a = rng.normal(size=10_000)[g]
    t = X[:, 0] + 0.5 * np.sin(X[:, 1]) + 0.5 * a + rng.normal(size=n)
    y = t + X[:, 0] ** 2 + X[:, 2] * X[:, 3] + a + rng.normal(size=n)
    df = pd.DataFrame(X, columns=[f"x{j + 1}" for j in range(p)])
    df["y"], df["t"], df["g"] = y, t, g
    df["lat"], df["lon"] = rng.uniform(size=n), rng.uniform(size=n)
    if fe:  # confounded by unit and period effects instead of the group effect
        unit, year = rng.integers(0, 1000, n), rng.integers(0, 20, n)
        ua, yb = rng.normal(size=1000), rng.normal(size=20)
        df["t"] = t - 0.5 * a + ua[unit] + yb[year]
        df["y"] = df["t"] + X[:, 0] ** 2 + X[:, 2] * X[:, 3] + 2 * ua[unit] + 2 * yb[year] + rng.normal(size=n)
        df["unit"], df["year"] = unit, year
    return df


def child(case: str, n: int) -> dict:
    """Run one configuration in this process; return its time, peak RSS and estimate."""
    import resource
    import warnings

    warnings.simplefilter("ignore")
    df = make(n, fe=case in ("fe", "feols"))
    controls = " + ".join(f"x{j + 1}" for j in range(20))
    t0 = time.perf_counter()
    if case == "feols":
        import pyfixest as pf

        fit = pf.feols(f"y ~ t + {controls} | unit + year", data=df, vcov={"CRV1": "unit"})
        est = float(fit.coef()["t"])
    elif case == "doubleml":
        import doubleml as dml

        from plce.learners import default_learner

        data = dml.DoubleMLData(df[["y", "t"] + [f"x{j + 1}" for j in range(20)]], y_col="y", d_cols="t")
        obj = dml.DoubleMLPLR(data, default_learner(random_state=1), default_learner(random_state=2), n_folds=5,
                              n_rep=3)
        obj.fit(n_jobs_cv=-1)
        est = float(obj.coef[0])
    else:
        import plce

        kw = {"plain": {}, "equal": {"estimand": "variance_weighted", "final_controls": "none"},
              "re": {}, "interference": {"interference": ["lat", "lon"]}, "fe": {}}[case]
        formula = f"y ~ t | {controls}" + (" + (1|g)" if case == "re" else "") + (" | unit + year" if case == "fe"
                                                                                    else "")
        res = plce.ols_ml(formula, data=df, random_state=1, n_jobs=-1, progress=False, **kw)
        est = float(res.params["t"])
    secs = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 + \
        resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {"case": case, "n": n, "seconds": secs, "peak_mib": peak, "estimate": est}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", nargs="+", default=["plain:10000", "equal:10000", "doubleml:10000", "plain:100000",
                                                   "equal:100000", "doubleml:100000", "re:100000",
                                                   "interference:100000", "fe:100000", "feols:100000"])
    ap.add_argument("--child", nargs=2)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child(args.child[0], int(args.child[1]))))
        return
    import pandas as pd

    sys.path.insert(0, os.path.join(HERE, "..", "validation"))
    from common import commit

    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    for spec in args.cases:
        case, n = spec.split(":")
        sha = commit()  # the code the child imports now, not what HEAD is when a long run ends
        out = subprocess.run([sys.executable, __file__, "--child", case, n], capture_output=True, text=True)
        if out.returncode:
            print(out.stderr[-2000:])
            continue
        row = json.loads(out.stdout.strip().splitlines()[-1])
        row.update(cores=os.cpu_count(), commit=sha)
        print(row, flush=True)
        pd.DataFrame([row]).to_csv(OUT, mode="a", header=not os.path.exists(OUT), index=False)


if __name__ == "__main__":
    main()

"""Speed of the default fit, and its overhead against DoubleML's PLR at equal work.

Both packages get the same LightGBM settings (plce's defaults), the same folds
count and repetitions, and run in the same process one after the other, so the
ratio is meaningful on a noisy machine. Run:

    python benchmarks/bench_core.py [--sizes 1000x5 100000x20] [--n-jobs 1]
"""
from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import pandas as pd


def make(n: int, p: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p))
    t = X[:, 0] + 0.5 * np.sin(X[:, 1]) + rng.normal(size=n)
    y = t + X[:, 0] ** 2 + X[:, 2] * X[:, 3] + rng.normal(size=n)
    df = pd.DataFrame(X, columns=[f"x{j + 1}" for j in range(p)])
    df["y"], df["t"] = y, t
    return df


def time_plce(df, p, n_rep, n_jobs, **kw):
    import plce

    t0 = time.perf_counter()
    res = plce.ols_ml("y ~ t | " + " + ".join(f"x{j + 1}" for j in range(p)), data=df, n_rep=n_rep,
                      random_state=1, n_jobs=n_jobs, **kw)
    return time.perf_counter() - t0, float(res.params["t"])


def time_doubleml(df, p, n_rep, n_jobs):
    import doubleml as dml

    from plce.learners import default_learner

    t0 = time.perf_counter()
    data = dml.DoubleMLData(df, y_col="y", d_cols="t", x_cols=[f"x{j + 1}" for j in range(p)])
    obj = dml.DoubleMLPLR(data, default_learner(random_state=1), default_learner(random_state=2),
                          n_folds=5, n_rep=n_rep, score="partialling out")
    obj.fit(n_jobs_cv=None if n_jobs == 1 else n_jobs)  # DoubleML parallelises over folds
    return time.perf_counter() - t0, float(obj.coef[0])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", nargs="+", default=["1000x5", "100000x20"])
    ap.add_argument("--n-jobs", type=int, default=1, help="for both packages (plce's default is 1 below 20k rows)")
    ap.add_argument("--repeats", type=int, default=3, help="timed runs per size (the median is reported)")
    args = ap.parse_args()
    from plce.options import FitOptions
    DEFAULT_N_REP = FitOptions().n_rep

    warnings.simplefilter("ignore")
    rows = []
    for size in args.sizes:
        n, p = (int(v) for v in size.split("x"))
        df = make(n, p)
        reps = args.repeats if n <= 10_000 else 1
        tp, te, td = [], [], []
        for _ in range(reps):
            # equal work: the same two nuisance fits per fold as DoubleML's PLR
            te.append(time_plce(df, p, DEFAULT_N_REP, args.n_jobs, estimand="variance_weighted",
                                final_controls="none")[0])
            td.append(time_doubleml(df, p, DEFAULT_N_REP, args.n_jobs)[0])
            # plce's default fit (its own n_jobs default too): adds the treatment-variance model (inner fits)
            # and the linear controls
            tp.append(time_plce(df, p, DEFAULT_N_REP, None)[0])
        rows.append(dict(n=n, p=p, n_rep=DEFAULT_N_REP, n_jobs=args.n_jobs, doubleml_s=np.median(td),
                         plce_equal_work_s=np.median(te), ratio_equal_work=np.median(te) / np.median(td),
                         plce_default_s=np.median(tp), ratio_default=np.median(tp) / np.median(td)))
        print(pd.DataFrame(rows).to_string(index=False, float_format="%.2f"), flush=True)


if __name__ == "__main__":
    main()

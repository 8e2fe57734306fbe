"""Cost of random intercepts: the fit with (1|g) against the same fit without, in the same run.

    python benchmarks/bench_random_effects.py [--n 100000] [--groups 1000] [--n-rep 1]

Both fits use the same learner, folds, repetitions and estimand; the ratio is the
cost of the backfitting (two learner fits per nuisance plus REML) and the within-group final stage.
"""
import argparse
import time
import warnings

import numpy as np
import pandas as pd

import plce


def make(n, groups, p=10, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p))
    g = rng.integers(0, groups, n)
    r = rng.normal(size=groups)[g]
    t = X[:, 0] + r + rng.normal(size=n)
    y = t + X[:, 0] ** 2 - r + rng.normal(size=n)
    df = pd.DataFrame(X, columns=[f"x{j + 1}" for j in range(p)])
    df["y"], df["t"], df["g"] = y, t, g
    return df


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--groups", type=int, default=1000)
    ap.add_argument("--n-rep", type=int, default=1)
    ap.add_argument("--estimand", default="variance_weighted", help="ate or variance_weighted")
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    df = make(args.n, args.groups)
    base = "y ~ t | " + " + ".join(f"x{j + 1}" for j in range(10))
    kw = dict(n_rep=args.n_rep, random_state=1, estimand=args.estimand)
    t0 = time.perf_counter()
    a = plce.ols_ml(base, data=df, **kw)
    t_plain = time.perf_counter() - t0
    t0 = time.perf_counter()
    b = plce.ols_ml(base + " + (1|g)", data=df, **kw)
    t_re = time.perf_counter() - t0
    print(pd.DataFrame([dict(n=args.n, groups=args.groups, n_rep=args.n_rep, plain_s=t_plain, re_s=t_re,
                             ratio=t_re / t_plain, theta_plain=a.params["t"], theta_re=b.params["t"])])
          .to_string(index=False, float_format="%.3f"))


if __name__ == "__main__":
    main()

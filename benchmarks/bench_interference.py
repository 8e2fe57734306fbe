"""Cost of the interference features.

    python benchmarks/bench_interference.py features [--sizes 10000 100000 1000000]
    python benchmarks/bench_interference.py fit [--n 100000]

``features``: building every learned candidate feature (5 controls as proximities, controls, squares and
the treatment as smoothed variables, i.e. what one fit precomputes for screening) at each size, with wall
time and peak traced memory, and the fitted exponent of time and memory in n (n log n is ~1.05-1.1 over
this range). Also the user-coordinate path (2-D KD-tree) at the sizes up to 10^5.

``fit``: the whole default fit with ``interference=True`` against the same fit without, in the same run.
"""
import argparse
import time
import tracemalloc
import warnings

import numpy as np
import pandas as pd

import plce
from plce.interference import build_plan, interference_spec


def make(n, p=5, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p))
    t = X[:, 0] + rng.normal(size=n)
    y = t + X[:, 0] ** 2 + rng.normal(size=n)
    df = pd.DataFrame(X, columns=[f"x{j + 1}" for j in range(p)])
    df["y"], df["t"] = y, t
    df["lat"], df["lon"] = rng.uniform(size=n), rng.uniform(size=n)
    return df


def measure(fn):
    tracemalloc.start()
    t0 = time.perf_counter()
    fn()
    sec = time.perf_counter() - t0
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return sec, peak


def features(sizes):
    rows = []
    for n in sizes:
        df = make(n)
        X = df[[f"x{j + 1}" for j in range(5)]].to_numpy()
        sec, peak = measure(lambda: build_plan(interference_spec(True, data=df, row_mask=None, n=n, top_k=10),
                                               X_num=X, control_names=list(df.columns[:5]), t=df.t.to_numpy(),
                                               treatment_name="t"))
        rows.append(dict(kind="learned (45 features)", n=n, seconds=sec, peak_MiB=peak))
        if n <= 100_000:
            spec = interference_spec(["lat", "lon"], data=df, row_mask=None, n=n, top_k=10)
            sec, peak = measure(lambda: build_plan(spec, X_num=X, control_names=list(df.columns[:5]),
                                                   t=df.t.to_numpy(), treatment_name="t"))
            rows.append(dict(kind="coordinates (6 x 3 shapes)", n=n, seconds=sec, peak_MiB=peak))
    out = pd.DataFrame(rows)
    print(out.to_string(index=False, float_format="%.3f"))
    for kind, g in out.groupby("kind"):
        if len(g) > 1:
            bt = np.polyfit(np.log(g.n), np.log(g.seconds), 1)[0]
            bm = np.polyfit(np.log(g.n), np.log(g.peak_MiB), 1)[0]
            print(f"{kind}: time ~ n^{bt:.2f}, memory ~ n^{bm:.2f}")


def fit(n, n_rep):
    df = make(n)
    f = "y ~ t | x1 + x2 + x3 + x4 + x5"
    kw = dict(random_state=1, n_rep=n_rep)
    t0 = time.perf_counter()
    a = plce.ols_ml(f, data=df, **kw)
    t_off = time.perf_counter() - t0
    t0 = time.perf_counter()
    b = plce.ols_ml(f, data=df, interference=True, **kw)
    t_on = time.perf_counter() - t0
    print(pd.DataFrame([dict(n=n, n_rep=n_rep, off_s=t_off, on_s=t_on, ratio=t_on / t_off,
                             theta_off=a.params["t"], theta_on=b.params["t"])]).to_string(index=False,
                                                                                          float_format="%.3f"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("what", choices=["features", "fit"])
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--n-rep", type=int, default=3)
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    if args.what == "features":
        features(args.sizes)
    else:
        fit(args.n, args.n_rep)


if __name__ == "__main__":
    main()

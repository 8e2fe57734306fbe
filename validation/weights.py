"""Validation study of issue #18: sampling weights target the weighted-population average effect.

A sample drawn unequally from a population: units with x1 > 0 are included with probability 0.8, the others with
0.2, and carry the weight 1 / P(included). The effect 1 + x1 varies with x1, so the sample's average effect (about
1.5) and the population's (1) differ; a weighted fit must estimate the population's. The treatment depends on x1 and
x2 nonlinearly and its variance on x1, the outcome on both. Per data set (n = 1000): plce with ``weights="w"``
(the estimand), plce without weights (the sample's average, shown for contrast), and weighted least squares of y on
t and the controls (HC1).

    python validation/weights.py --reps 100 --jobs 2
"""
from __future__ import annotations

import argparse
import os
import sys

import numpy as np
import pandas as pd

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results", "weights.csv")


def draw(n: int, seed: int) -> pd.DataFrame:
    """The sample and its weights; the population average effect is 1 (x1 ~ N(0, 1) in the population)."""
    rng = np.random.default_rng(seed)
    # x1 | included: negative with probability 0.2 / (0.2 + 0.8), then a half-normal of that sign
    sign = np.where(rng.random(n) < 0.2, -1.0, 1.0)
    x1 = sign * np.abs(rng.standard_normal(n))
    x2, x3 = rng.standard_normal(n), rng.standard_normal(n)
    w = np.where(x1 > 0, 1 / 0.8, 1 / 0.2)
    t = x1 + 0.5 * np.sin(2 * x2) + np.sqrt(0.5 + 0.5 * x1**2) * rng.standard_normal(n)
    y = (1 + x1) * t + x1 + x2**2 + rng.standard_normal(n)
    return pd.DataFrame({"y": y, "t": t, "x1": x1, "x2": x2, "x3": x3, "w": w})


def one(seed, sha):
    common.quiet()
    import statsmodels.api as sm

    import plce

    df = draw(1000, seed)
    f = "y ~ t | x1 + x2 + x3"
    rows = []
    for method, kw in (("plce weighted", {"weights": "w"}), ("plce unweighted", {})):
        r = plce.ols_ml(f, data=df, random_state=seed, **kw)
        rows.append((method, float(r.params["t"]), float(r.bse["t"])))
    wls = sm.WLS(df.y, sm.add_constant(df[["t", "x1", "x2", "x3"]]), weights=df.w).fit(cov_type="HC1")
    rows.append(("WLS", float(wls.params["t"]), float(wls.bse["t"])))
    sample_ate = float(np.mean(1 + df.x1))
    return [dict(seed=seed, method=m, estimate=b, se=s, truth=1.0, sample_ate=sample_ate, commit=sha)
            for m, b, s in rows]


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=100)
    ap.add_argument("--seed0", type=int, default=0)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--out", default=OUT)
    args = ap.parse_args(argv)
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    sha = common.commit()
    done = common.resume(args.out, ["seed"])
    jobs = [(s,) for s in range(args.seed0, args.seed0 + args.reps) if (str(s),) not in done]
    common.run_jobs(one, jobs, args.out, args.jobs, sha)
    tab = common.summarize(pd.read_csv(args.out), ["method"])
    print(tab.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    return tab


if __name__ == "__main__":
    main()

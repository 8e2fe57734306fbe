"""Validation study of issue #16's subgroup averages: ``res.effect_by`` on the categorical-moderator design.

The effect is 0.2, 0.6, 1.0, 1.4, 1.8 by the level of ``c`` (``plce.datasets.make_family("categorical")``), so each
subgroup's population average effect is known exactly. Continuous and binary treatments, the treatment's variance
(or propensity) constant or moving with the effect, n = 1000, ``--reps`` seeds, plce at its defaults; one row per
seed and level. Resumable; results in ``validation/results/subgroups.csv`` with the commit.

    python validation/subgroups.py --reps 100 --jobs 2
    python validation/subgroups.py --summary
"""
from __future__ import annotations

import argparse
import os
import sys

import pandas as pd

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results", "subgroups.csv")
FORMULA = "y ~ t | x1 + x2 + x3 + x4 + x5 + C(c)"


def one(seed, variance, treatment, n, sha):
    common.quiet()
    import plce
    from plce.datasets.family import LEVEL_EFFECTS, LEVELS

    df, _ = plce.datasets.make_family("categorical", variance=variance, treatment=treatment, n=n, random_state=seed)
    res = plce.ols_ml(FORMULA, data=df, random_state=seed)
    by = res.effect_by("c")
    truth = dict(zip(LEVELS, LEVEL_EFFECTS))
    return [dict(variance=variance, treatment=treatment, n=n, seed=seed, level=str(level), nobs=int(row["nobs"]),
                 estimate=float(row["estimate"]), se=float(row["std_error"]), truth=float(truth[level]),
                 wald_p=float(by.wald[2]), commit=sha) for level, row in by.table.iterrows()]


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=100)
    ap.add_argument("--seed0", type=int, default=0)
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--variances", nargs="+", default=["constant", "varying"])
    ap.add_argument("--treatments", nargs="+", default=["continuous", "binary"])
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--out", default=OUT)
    ap.add_argument("--summary", action="store_true")
    args = ap.parse_args(argv)
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    if not args.summary:
        sha = common.commit()
        done = common.resume(args.out, ["variance", "treatment", "n", "seed"])
        jobs = [(s, v, t, args.n) for v in args.variances for t in args.treatments
                for s in range(args.seed0, args.seed0 + args.reps) if (v, t, str(args.n), str(s)) not in done]
        common.run_jobs(one, jobs, args.out, args.jobs, sha)
    frame = pd.read_csv(args.out, dtype={"commit": str})
    tab = common.summarize(frame, ["treatment", "variance", "level"])
    pooled = common.summarize(frame, ["treatment", "variance"])
    with pd.option_context("display.width", 200, "display.max_rows", 500):
        print(tab.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
        print(pooled.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    return tab


if __name__ == "__main__":
    main()

"""Validation study of issue #16: average effects over the effect-shape family (plce.datasets.family).

Every cell (effect shape x variance shape x treatment type) at n = 1000 (and 300), ``--reps`` seeds, plce at its
defaults (and, with ``--effect-models``, other effect models); for a binary treatment the ATE, ATT and ATC come from
one fit (``res.with_estimand``). Resumable; results in ``validation/results/effect_family.csv`` with the commit.

    python validation/effect_family.py --reps 100 --jobs 2
    python validation/effect_family.py --summary
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import pandas as pd

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results", "effect_family.csv")
FORMULA = "y ~ t | x1 + x2 + x3 + x4 + x5 + C(c)"


def one(seed, effect, variance, treatment, n, effect_model, sha):
    common.quiet()
    import plce

    df, _ = plce.datasets.make_simdata("family", effect=effect, variance=variance, treatment=treatment, n=n,
                                       random_state=seed)
    truth = df.attrs["truth"]
    t0 = time.perf_counter()
    res = plce.ols_ml(FORMULA, data=df, random_state=seed, effect_model=effect_model)
    secs = time.perf_counter() - t0
    fits = {"ate": res}
    if treatment == "binary":
        fits["att"], fits["atc"] = res.with_estimand("att"), res.with_estimand("atc")
    return [dict(effect=effect, variance=variance, treatment=treatment, n=n, effect_model=effect_model, seed=seed,
                 estimand=e, estimate=float(r.params["t"]), se=float(r.bse["t"]), truth=truth[e], seconds=secs,
                 commit=sha) for e, r in fits.items()]


def main(argv=None):
    from plce.datasets.family import EFFECTS, TREATMENTS, VARIANCES

    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=100)
    ap.add_argument("--seed0", type=int, default=0)
    ap.add_argument("--n", type=int, nargs="+", default=[1000])
    ap.add_argument("--effects", nargs="+", default=list(EFFECTS))
    ap.add_argument("--variances", nargs="+", default=list(VARIANCES))
    ap.add_argument("--treatments", nargs="+", default=list(TREATMENTS))
    ap.add_argument("--effect-models", nargs="+", default=["terms"])
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--out", default=OUT)
    ap.add_argument("--summary", action="store_true")
    args = ap.parse_args(argv)
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    if not args.summary:
        sha = common.commit()
        done = common.resume(args.out, ["effect", "variance", "treatment", "n", "effect_model", "seed"])
        jobs = [(s, e, v, t, n, m) for n in args.n for m in args.effect_models for e in args.effects
                for v in args.variances for t in args.treatments for s in range(args.seed0, args.seed0 + args.reps)
                if (e, v, t, str(n), m, str(s)) not in done]
        common.run_jobs(one, jobs, args.out, args.jobs, sha)
    frame = pd.read_csv(args.out)
    tab = common.summarize(frame, ["n", "effect_model", "treatment", "variance", "effect", "estimand"])
    with pd.option_context("display.width", 200, "display.max_rows", 500):
        print(tab.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    return tab


if __name__ == "__main__":
    main()

"""Validation study of issue #18: a panel confounded by unit and period effects, absorbed as fixed effects.

Balanced and unbalanced panels (100 units x 10 periods), ``--reps`` seeds. Variants: ``none`` (the default: the
learners do not see the fixed effects, the final stage absorbs them), ``blup`` (they also enter the nuisance models as
random intercepts), ``categorical`` (the learners see unit and period as categorical features), and OLS with
two-way fixed effects (pyfixest's feols) for contrast.

    python validation/fixed_effects.py --reps 100 --jobs 2
"""
from __future__ import annotations

import argparse
import os
import sys

import pandas as pd

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results", "fixed_effects.csv")


def one(seed, balanced, variant, sha):
    common.quiet()
    import plce
    import plce.nuisance as nz

    df, theta = plce.datasets.make_panel(100, 10, random_state=seed, balanced=balanced)
    if variant == "feols":
        import pyfixest as pf

        m = pf.feols("y ~ t + x1 + x2 | unit + year", df, vcov={"CRV1": "unit"})
        est, se = float(m.coef()["t"]), float(m.se()["t"])
    else:
        nz._FE_AS_RANDOM_INTERCEPTS = variant == "blup"
        formula = "y ~ t | x1 + x2 | unit + year"
        if variant == "categorical":
            df = df.assign(u=df["unit"].astype(str), yr=df["year"].astype(str))
            formula = "y ~ t | x1 + x2 + C(u) + C(yr) | unit + year"
        res = plce.ols_ml(formula, data=df, random_state=seed)
        est, se = float(res.params["t"]), float(res.bse["t"])
    return dict(seed=seed, balanced=balanced, variant=variant, estimate=est, se=se, truth=theta, commit=sha)


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=100)
    ap.add_argument("--seed0", type=int, default=0)
    ap.add_argument("--variants", nargs="+", default=["none", "blup", "categorical", "feols"])
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--out", default=OUT)
    args = ap.parse_args(argv)
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    sha = common.commit()
    done = common.resume(args.out, ["seed", "balanced", "variant"])
    jobs = [(s, b, v) for v in args.variants for b in (True, False) for s in range(args.seed0, args.seed0 + args.reps)
            if (str(s), str(b), v) not in done]
    common.run_jobs(one, jobs, args.out, args.jobs, sha)
    tab = common.summarize(pd.read_csv(args.out), ["variant", "balanced"])
    print(tab.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    return tab


if __name__ == "__main__":
    main()

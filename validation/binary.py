"""Validation study of issue #15: binary treatments, ATE / ATT / ATC, overlap from good to poor, against DoubleML.

Designs from the effect-shape family (``plce.datasets.make_family``, binary treatment, propensity moving with the
effect's moderator so that ATE, ATT and ATC differ): linear and step effects, overlap ``good`` and ``poor`` (some
propensities below 0.02). Per data set: plce at its defaults (ATE, and ATT/ATC from the same nuisances with
``res.with_estimand``) and DoubleML's IRM (ATE and ATTE) with plce's default LightGBM learners (regressor for the
outcome, classifier for the propensity), 5 folds x 3 repetitions, trimming 0.01, plce's folds.

    python validation/binary.py --reps 100 --jobs 2
"""
from __future__ import annotations

import argparse
import os
import sys

import numpy as np
import pandas as pd

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results", "binary.csv")
COVS = ["x1", "x2", "x3", "x4", "x5"]


def irm(df, folds, score):
    import doubleml as dml

    from plce.learners import default_classifier, default_learner

    data = dml.DoubleMLData(df[["y", "t", *COVS]], y_col="y", d_cols="t", x_cols=COVS)
    m = dml.DoubleMLIRM(data, default_learner(), default_classifier(), n_folds=5,
                        n_rep=folds.shape[0], score=score, trimming_threshold=0.01, draw_sample_splitting=False)
    m.set_sample_splitting([[(np.flatnonzero(f != k), np.flatnonzero(f == k)) for k in range(5)] for f in folds])
    m.fit()
    return float(m.coef[0]), float(m.se[0])


def one(seed, effect, overlap, sha):
    common.quiet()
    import plce

    df, _ = plce.datasets.make_simdata("family", effect=effect, variance="varying", treatment="binary", n=1000,
                                       random_state=seed, overlap=overlap)
    truth = df.attrs["truth"]
    res = plce.ols_ml("y ~ t | " + " + ".join(COVS), data=df, random_state=seed)
    rows = [("plce", e, r.params["t"], r.bse["t"]) for e, r in
            (("ate", res), ("att", res.with_estimand("att")), ("atc", res.with_estimand("atc")))]
    for score, est in (("ATE", "ate"), ("ATTE", "att")):
        rows.append(("DoubleML IRM", est, *irm(df, res.folds, score)))
    return [dict(seed=seed, effect=effect, overlap=overlap, method=m, estimand=e, estimate=float(b), se=float(s),
                 truth=truth[e], commit=sha) for m, e, b, s in rows]


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=100)
    ap.add_argument("--seed0", type=int, default=0)
    ap.add_argument("--effects", nargs="+", default=["linear", "step"])
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--out", default=OUT)
    args = ap.parse_args(argv)
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    sha = common.commit()
    done = common.resume(args.out, ["seed", "effect", "overlap"])
    jobs = [(s, e, o) for o in ("good", "poor") for e in args.effects for s in range(args.seed0, args.seed0 + args.reps)
            if (str(s), e, o) not in done]
    common.run_jobs(one, jobs, args.out, args.jobs, sha)
    tab = common.summarize(pd.read_csv(args.out), ["overlap", "effect", "estimand", "method"])
    print(tab.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    return tab


if __name__ == "__main__":
    main()

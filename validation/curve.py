"""Validation study of issue #23: the partial-effect curve's average coverage, and its average against ols_ml.

Part 1 (``--part curve``): the four shapes of ``plce.datasets.make_curve`` (the talk's y = t^2/2 + e, a slope varying
across units, a threshold in t, a treatment confounded nonlinearly by the controls), n = 1000, ``partial_effects`` at
its defaults. Per data set: the share of units whose calibrated 90% / 95% interval contains their true slope (average
coverage), the same for the naive tau_hat +- z se interval, the RMSE of tau_hat, and the average partial effect with
its SE against the sample average of the true slopes.

Part 2 (``--part ape``): on the six designs of Ratkovic (2023) (``make_simdata``), the curve's average partial effect
beside the ols_ml estimate of the same fit (the nuisances are shared, so the difference is the final stage's).

    python validation/curve.py --part curve --reps 100 --jobs 2
    python validation/curve.py --part ape --reps 30 --jobs 2
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np
import pandas as pd

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = {"curve": os.path.join(HERE, "results", "curve.csv"), "ape": os.path.join(HERE, "results", "curve_ape.csv")}


def one_curve(seed, shape, n, sha):
    common.quiet()
    import plce

    df, ape = plce.datasets.make_curve(shape, n, random_state=seed)
    t0 = time.perf_counter()
    pe = plce.partial_effects("y ~ t | x1 + x2 + x3", df, random_state=seed, warn=False)
    sec = time.perf_counter() - t0
    tau = df["true_tau"]
    row = dict(seed=seed, shape=shape, n=n, rmse=float(np.sqrt(np.mean((pe.tau - tau) ** 2))),
               estimate=pe.average()[0], se=pe.average()[1], truth=ape, seconds=sec, commit=sha)
    for a in (0.1, 0.05):
        for kind, ci in (("calibrated", pe.conf_int(a)), ("naive", pe.naive_conf_int(a))):
            row[f"cover_{kind}_{int(100 * (1 - a))}"] = float(np.mean((ci["lower"] <= tau) & (tau <= ci["upper"])))
        row[f"critical_{int(100 * (1 - a))}"] = pe.critical[a]
    return row


def one_ape(seed, setting, n, sha):
    common.quiet()
    import plce

    df, theta = plce.datasets.make_simdata(setting, n=n, random_state=seed)
    f = "y ~ t | x1 + x2 + x3 + x4 + x5" + (" + (1|g)" if "re" in setting.split("_") else "")
    pe = plce.partial_effects(f, df, random_state=seed, warn=False)
    r = pe.result
    return dict(seed=seed, setting=setting, n=n, ape=pe.average()[0], ape_se=pe.average()[1],
                ols_ml=float(r.params["t"]), ols_ml_se=float(r.bse["t"]), truth=theta, commit=sha)


def summarize_curve(frame):
    g = frame.groupby("shape", sort=False)
    tab = g[["cover_calibrated_90", "cover_naive_90", "cover_calibrated_95", "cover_naive_95", "rmse",
             "critical_90", "critical_95", "seconds"]].mean()
    sd = g[["cover_calibrated_90", "cover_calibrated_95"]].std(ddof=1)
    tab["mcse_cover_90"] = sd["cover_calibrated_90"] / np.sqrt(g.size())
    tab["mcse_cover_95"] = sd["cover_calibrated_95"] / np.sqrt(g.size())
    tab.insert(0, "reps", g.size())
    ape = common.summarize(frame, ["shape"]).set_index("shape")
    tab["ape_bias"], tab["ape_coverage"], tab["ape_se_sd"] = ape["bias"], ape["coverage"], ape["se_sd"]
    return tab.reset_index()


def summarize_ape(frame):
    frame = frame.assign(diff=frame.ape - frame.ols_ml)
    g = frame.groupby("setting", sort=False)
    tab = pd.DataFrame({"reps": g.size(), "ape_bias": g.apply(lambda x: (x.ape - x.truth).mean()),
                        "ols_ml_bias": g.apply(lambda x: (x.ols_ml - x.truth).mean()),
                        "mean_diff": g["diff"].mean(), "mcse_diff": g["diff"].std(ddof=1) / np.sqrt(g.size()),
                        "mean_ape_se": g["ape_se"].mean(), "mean_ols_ml_se": g["ols_ml_se"].mean(),
                        "sd_ape": g["ape"].std(ddof=1), "sd_ols_ml": g["ols_ml"].std(ddof=1)})
    return tab.reset_index()


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--part", choices=["curve", "ape"], default="curve")
    ap.add_argument("--reps", type=int, default=100)
    ap.add_argument("--seed0", type=int, default=0)
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--out", default=None)
    args = ap.parse_args(argv)
    out = args.out or OUT[args.part]
    os.makedirs(os.path.dirname(out), exist_ok=True)
    sha = common.commit()
    key = "shape" if args.part == "curve" else "setting"
    cells = ("quadratic", "heterogeneous", "threshold", "confounded") if args.part == "curve" else (
        "baseline", "re", "het", "re_het", "interference", "interference_re_het")
    done = common.resume(out, ["seed", key, "n"])
    jobs = [(s, c, args.n) for c in cells for s in range(args.seed0, args.seed0 + args.reps)
            if (str(s), c, str(args.n)) not in done]
    common.run_jobs(one_curve if args.part == "curve" else one_ape, jobs, out, args.jobs, sha)
    frame = pd.read_csv(out)
    tab = (summarize_curve if args.part == "curve" else summarize_ape)(frame)
    print(tab.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    return tab


if __name__ == "__main__":
    main()

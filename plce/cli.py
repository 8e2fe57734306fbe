"""The ``plce`` command: fit a model from a data file, or run a replication.

    plce fit "y ~ t | x1 + x2" --data file.csv [--cluster g] [--latex out.tex]
    plce replicate mattes-weeks [--n-rep 20] [--out docs/]
"""
from __future__ import annotations

import argparse
import pathlib
import sys

__all__ = ["main"]


def _read(path: str):
    import pandas as pd

    p = pathlib.Path(path)
    if not p.exists():
        raise SystemExit(f"plce: data file {path} does not exist")
    suffix = p.suffix.lower()
    if suffix == ".dta":
        return pd.read_stata(p, convert_categoricals=False)
    if suffix == ".parquet":
        return pd.read_parquet(p)
    return pd.read_csv(p)


def _fit(args) -> int:
    from .api import ols_ml

    df = _read(args.data)
    cluster = args.cluster if not args.cluster or len(args.cluster) > 1 else args.cluster[0]
    res = ols_ml(args.formula, data=df, cluster=cluster, n_rep=args.n_rep, n_folds=args.n_folds,
                 random_state=args.seed, n_jobs=args.n_jobs, progress=not args.quiet,
                 **({"cov_type": args.cov_type} if args.cov_type else {}))
    smry = res.summary()
    print(smry.as_text())
    if args.latex:
        pathlib.Path(args.latex).write_text(smry.as_latex())
    return 0


def _replicate(args) -> int:
    if args.which == "mattes-weeks":
        from .replications import mattes_weeks

        table, fits = mattes_weeks.run(n_rep=args.n_rep or 20, random_state=args.seed, n_jobs=args.n_jobs,
                                       progress=not args.quiet)
        text = mattes_weeks.format_table(table)
        print(text)
        if args.out:
            out = pathlib.Path(args.out)
            out.mkdir(parents=True, exist_ok=True)
            table.to_csv(out / "mattes_weeks.csv")
            (out / "mattes_weeks.txt").write_text(text + "\n")
            mattes_weeks.positivity_figure(fits).savefig(out / "mattes_weeks_positivity.png", dpi=120)
        return 0
    if args.which == "simulations":
        from .replications import simulations

        out = pathlib.Path(args.out or "docs")
        cache = out / "simulations_raw.csv"
        results = None
        for n in args.sizes:
            results = simulations.run(reps=args.reps, n=n, out=cache, n_jobs=args.n_jobs, progress=not args.quiet,
                                      methods=tuple(args.methods))
        tab = simulations.summarize(results)
        tab.to_csv(out / "simulations.csv", index=False)
        text = tab.to_string(index=False, float_format=lambda v: f"{v:.3f}")
        (out / "simulations.txt").write_text(text + "\n")
        simulations.figure(results[results["n"] == args.sizes[0]]).savefig(out / "simulations.png", dpi=110)
        print(text)
        return 0
    if args.which == "enos":
        from .replications import enos

        return enos.main(args.data, out=args.out, n_rep=args.n_rep, n_jobs=args.n_jobs, progress=not args.quiet,
                         interference=not args.no_interference)
    raise SystemExit(f"plce: replication {args.which!r} is not available in this version")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="plce", description="Partially linear causal-effect regression.")
    sub = parser.add_subparsers(dest="command", required=True)
    f = sub.add_parser("fit", help="fit a formula on a data file and print the summary")
    f.add_argument("formula")
    f.add_argument("--data", required=True, help=".csv, .dta or .parquet")
    f.add_argument("--cluster", nargs="+")
    f.add_argument("--cov-type", dest="cov_type")
    f.add_argument("--n-rep", type=int, default=5)
    f.add_argument("--n-folds", type=int, default=5)
    f.add_argument("--seed", type=int, default=1)
    f.add_argument("--n-jobs", type=int, default=1)
    f.add_argument("--latex", help="also write the summary as LaTeX to this file")
    f.add_argument("--quiet", action="store_true")
    r = sub.add_parser("replicate", help="run a published replication")
    r.add_argument("which", choices=["mattes-weeks", "simulations", "enos"])
    r.add_argument("--n-rep", type=int, default=None)
    r.add_argument("--seed", type=int, default=1)
    r.add_argument("--n-jobs", type=int, default=-1)
    r.add_argument("--out", help="directory for the table (csv, txt) and figures")
    r.add_argument("--quiet", action="store_true")
    r.add_argument("--reps", type=int, default=100, help="simulations: replications per design")
    r.add_argument("--sizes", type=int, nargs="+", default=[1000], help="simulations: sample sizes (250-5000)")
    r.add_argument("--methods", nargs="+", default=["plce", "OLS", "DML", "GRF"], help="simulations: methods")
    r.add_argument("--data", help="enos: path to data.turnout.csv")
    r.add_argument("--no-interference", action="store_true", help="enos: do not adjust for learned interference")
    args = parser.parse_args(argv)
    try:
        return _fit(args) if args.command == "fit" else _replicate(args)
    except ValueError as exc:  # PLCEError: print the message, not a traceback
        print(f"plce: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

"""The ``plce`` command: fit models from a data file, or run a replication.

    plce fit "y ~ t | x1 + x2" --data file.csv [--cluster g] [--latex out.tex] [--n-rep 5] ...
    plce fit "y ~ t | x1" "y ~ t | x1 + x2" --data file.csv --table md
    plce replicate mattes-weeks [--n-rep 20] [--out docs/]

The fit options are those of :meth:`plce.PLCE.fit`, with the same defaults (``--n-rep 3``; no seed means a fresh
one, printed in the summary); their flags are generated from :class:`plce.options.FitOptions`, so the command
line and the library cannot drift apart.
"""
from __future__ import annotations

import argparse
import dataclasses
import pathlib
import sys
import typing

__all__ = ["main", "fit_arguments"]

#: FitOptions fields that cannot be given on the command line (objects, arrays) or get a flag of their own
_NOT_FLAGS = {"learner", "learner_t", "variance_learner", "external_predictions", "folds", "progress",
              "random_state", "interference", "cov_kwds", "propensity"}


def _read(path: str):
    import pandas as pd

    p = pathlib.Path(path)
    if not p.exists():
        raise SystemExit(f"plce: data file {path} does not exist")
    suffix = p.suffix.lower()
    if suffix == ".dta":
        return pd.read_stata(p, convert_categoricals=False)
    if suffix == ".parquet":
        try:
            return pd.read_parquet(p)
        except ImportError:
            raise SystemExit('plce: reading .parquet needs pyarrow: pip install "plce[parquet]"') from None
    return pd.read_csv(p)


def _bool(text: str) -> bool:
    low = text.lower()
    if low in ("true", "yes", "1", "on"):
        return True
    if low in ("false", "no", "0", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


def _option_flags(parser: argparse.ArgumentParser) -> list[str]:
    """One flag per simple FitOptions field (--n-rep, --estimand, ...), default None = the library's default."""
    from .options import FitOptions, literal_values

    hints = typing.get_type_hints(FitOptions)
    names = []
    for f in dataclasses.fields(FitOptions):
        if f.name in _NOT_FLAGS:
            continue
        tp = hints[f.name]
        choices = literal_values(tp)
        flag = "--" + f.name.replace("_", "-")
        kw: dict = {"dest": f.name, "default": None, "help": f"{f.metadata.get('help', '')} (default: {f.default})"}
        args = typing.get_args(tp) or (tp,)
        if choices and all(isinstance(c, str) for c in choices) and bool not in args:
            kw["choices"] = list(choices)
        elif bool in args and f.name == "effect_interactions":
            kw["type"] = lambda s: s if s == "auto" else _bool(s)
        elif tp is bool:
            kw["action"] = argparse.BooleanOptionalAction
        elif int in args:
            kw["type"] = int
        elif float in args:
            kw["type"] = float
        parser.add_argument(flag, **kw)
        names.append(f.name)
    return names


def fit_arguments(args: argparse.Namespace, names: list[str]) -> dict:
    """The fit options the user gave on the command line."""
    kw = {n: getattr(args, n) for n in names if getattr(args, n) is not None}
    if args.seed is not None:
        kw["random_state"] = args.seed
    if args.interference:
        kw["interference"] = True if args.interference == ["learned"] else args.interference
    kw["progress"] = (not args.quiet) and sys.stderr.isatty()
    return kw


def _fit(args, names) -> int:
    from .model import ols_ml
    from .tables import etable

    df = _read(args.data)
    cluster = args.cluster if not args.cluster or len(args.cluster) > 1 else args.cluster[0]
    kw = fit_arguments(args, names)
    fits = [ols_ml(f, data=df, cluster=cluster, **kw) for f in args.formula]
    if args.table or len(fits) > 1:
        print(etable(fits, type=args.table or "text"))
    else:
        print(fits[0].summary().as_text())
    if args.latex:
        text = etable(fits, type="latex") if len(fits) > 1 else fits[0].summary().as_latex()
        pathlib.Path(args.latex).write_text(text)
    return 0


def _replicate(args) -> int:
    if args.which == "mattes-weeks":
        from .replications import mattes_weeks

        table, fits = mattes_weeks.run(n_rep=args.n_rep or 20, random_state=args.seed, n_jobs=args.n_jobs,
                                       progress=not args.quiet)
        text = mattes_weeks.format_table(table, n_rep=args.n_rep or 20, seed=args.seed)
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


def build_parser() -> tuple[argparse.ArgumentParser, list[str]]:
    from .replications.simulations import METHODS as SIM_METHODS

    parser = argparse.ArgumentParser(prog="plce", description="Partially linear causal-effect regression.")
    sub = parser.add_subparsers(dest="command", required=True)
    f = sub.add_parser("fit", help="fit one or more formulas on a data file and print the summary (or a table)")
    f.add_argument("formula", nargs="+", help="'outcome ~ treatment | controls + (1|g)'; several give a table")
    f.add_argument("--data", required=True, help=".csv, .dta or .parquet")
    f.add_argument("--cluster", nargs="+", help="one or two cluster columns")
    f.add_argument("--seed", type=int, default=None, help="random_state (default: fresh, printed in the summary)")
    f.add_argument("--interference", nargs="+", help="'learned' or coordinate columns")
    f.add_argument("--table", choices=["text", "md", "latex", "html"], help="print an etable instead of summaries")
    f.add_argument("--latex", help="also write the summary (or the table) as LaTeX to this file")
    f.add_argument("--quiet", action="store_true", help="no progress bar")
    names = _option_flags(f)
    r = sub.add_parser("replicate", help="run a published replication")
    r.add_argument("which", choices=["mattes-weeks", "simulations", "enos"])
    r.add_argument("--n-rep", type=int, default=None)
    r.add_argument("--seed", type=int, default=1)
    r.add_argument("--n-jobs", type=int, default=-1)
    r.add_argument("--out", help="directory for the table (csv, txt) and figures")
    r.add_argument("--quiet", action="store_true")
    r.add_argument("--reps", type=int, default=100, help="simulations: replications per design")
    r.add_argument("--sizes", type=int, nargs="+", default=[1000], help="simulations: sample sizes (250-5000)")
    r.add_argument("--methods", nargs="+", default=list(SIM_METHODS), help="simulations: methods")
    r.add_argument("--data", help="enos: path to data.turnout.csv")
    r.add_argument("--no-interference", action="store_true", help="enos: do not adjust for learned interference")
    return parser, names


def main(argv: list[str] | None = None) -> int:
    import warnings

    from .errors import PLCEWarning

    parser, names = build_parser()
    args = parser.parse_args(argv)
    with warnings.catch_warnings():
        # warnings are the user's to read, but without the '<frozen runpy>:88:' prefix of a module run
        warnings.simplefilter("always", PLCEWarning)
        warnings.showwarning = _show_warning
        try:
            return _fit(args, names) if args.command == "fit" else _replicate(args)
        except ValueError as exc:  # PLCEError: print the message, not a traceback
            print(f"plce: {exc}", file=sys.stderr)
            return 2


def _show_warning(message, category, filename, lineno, file=None, line=None):
    print(f"plce: {category.__name__}: {message}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())

"""The talk's six-design simulation study; writes docs/simulations.{csv,txt,png}.

    python replication/simulations.py [--reps 100] [--sizes 1000] [--n-jobs -1]

Resumable: raw results accumulate in docs/simulations_raw.csv; rerunning continues.
Same as ``plce replicate simulations --out docs``.
"""
import sys

from plce.cli import main

if __name__ == "__main__":
    sys.exit(main(["replicate", "simulations", "--out", "docs", *sys.argv[1:]]))

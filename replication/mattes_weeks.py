"""Replicate the Mattes & Weeks (2019) table of the talk and write it into docs/.

    python replication/mattes_weeks.py [--n-rep 20] [--out docs]

Same as ``plce replicate mattes-weeks --out docs``.
"""
import sys

from plce.cli import main

if __name__ == "__main__":
    sys.exit(main(["replicate", "mattes-weeks", *(sys.argv[1:] or ["--out", "docs"])]))

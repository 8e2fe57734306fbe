"""Enos (2016) with plce on the voter file (not shipped; see plce/replications/enos.py).

    python replication/enos.py --data /path/to/data.turnout.csv [--n-rep 5]

Without --data it says where to get the file and exits with status 2.
"""
import sys

from plce.cli import main

if __name__ == "__main__":
    sys.exit(main(["replicate", "enos", *sys.argv[1:]]))

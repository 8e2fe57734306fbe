"""Shared helpers of the validation studies: resumable runs, the commit hash, Monte Carlo summaries."""
from __future__ import annotations

import os
import subprocess
import warnings

import numpy as np
import pandas as pd

Z95 = 1.959964


def commit() -> str:
    """The git commit the study ran on (with '+dirty' when the work tree has changes to tracked files)."""
    here = os.path.dirname(os.path.abspath(__file__))
    try:
        sha = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=here, capture_output=True, text=True,
                             check=True).stdout.strip()
        dirty = subprocess.run(["git", "diff", "--quiet", "HEAD", "--", "plce"], cwd=here).returncode != 0
        return sha + ("+dirty" if dirty else "")
    except Exception:
        return "unknown"


def resume(path: str, keys: list[str]) -> set:
    """Keys already in the CSV at ``path`` (so a rerun continues where it stopped)."""
    if not os.path.exists(path):
        return set()
    done = pd.read_csv(path)
    return set(map(tuple, done[keys].astype(str).to_numpy()))


def append(path: str, rows: list[dict]) -> None:
    if not rows:
        return
    frame = pd.DataFrame(rows)
    frame.to_csv(path, mode="a", header=not os.path.exists(path), index=False)


def run_jobs(fn, jobs: list[tuple], out: str, n_jobs: int, sha: str, batch: int = 16) -> None:
    """Run ``fn(*job, sha)`` for every job in parallel batches, appending each batch's rows to ``out`` (each call
    returns a dict or a list of dicts), so that an interrupted study resumes where it stopped."""
    from joblib import Parallel, delayed

    for i in range(0, len(jobs), batch):
        res = Parallel(n_jobs=n_jobs)(delayed(fn)(*j, sha) for j in jobs[i:i + batch])
        append(out, [r for item in res for r in (item if isinstance(item, list) else [item])])


def summarize(frame: pd.DataFrame, by: list[str], est: str = "estimate", se: str = "se",
              truth: str = "truth") -> pd.DataFrame:
    """Bias (with its MC s.e.), RMSE, 95% coverage and mean SE / SD per group."""
    rows = []
    for key, g in frame.groupby(by, sort=False):
        err = g[est] - g[truth]
        sd = float(g[est].std(ddof=1)) if len(g) > 1 else np.nan
        rows.append({**dict(zip(by, key if isinstance(key, tuple) else (key,))), "reps": len(g),
                     "bias": err.mean(), "bias_mcse": err.std(ddof=1) / np.sqrt(len(g)),
                     "rmse": float(np.sqrt(np.mean(err**2))), "coverage": float(np.mean(np.abs(err) <= Z95 * g[se])),
                     "sd": sd, "mean_se": float(g[se].mean()), "se_sd": float(g[se].mean() / sd)})
    return pd.DataFrame(rows)


def quiet():
    warnings.simplefilter("ignore")

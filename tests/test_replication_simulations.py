"""Smoke test of the simulation study script: runs, resumes, summarizes, draws."""
import pandas as pd

from plce.replications import simulations


def test_smoke_run_resume_and_outputs(tmp_path):
    out = tmp_path / "raw.csv"
    res = simulations.run(settings=("baseline", "re"), reps=2, n=200, methods=("plce", "OLS"), out=out, n_jobs=1,
                          progress=False)
    assert len(res) == 2 * 2 * 2 and res["estimate"].notna().all()
    mtime = out.stat().st_mtime_ns
    again = simulations.run(settings=("baseline", "re"), reps=2, n=200, methods=("plce", "OLS"), out=out,
                            n_jobs=1, progress=False)
    assert len(again) == len(res) and out.stat().st_mtime_ns == mtime  # nothing redone
    more = simulations.run(settings=("baseline",), reps=3, n=200, methods=("plce", "OLS"), out=out, n_jobs=1,
                           progress=False)
    assert len(more) == len(res) + 2
    # a method added later is fitted alone on the replications already there
    added = simulations.run(settings=("baseline",), reps=3, n=200, methods=("plce", "OLS", "KRLS", "CBPS"), out=out,
                            n_jobs=1, progress=False)
    assert len(added) == len(more) + 6 and added["estimate"].notna().all()
    assert (added.groupby(["setting", "rep", "method"]).size() == 1).all()
    tab = simulations.summarize(more)
    assert set(tab.columns) >= {"bias", "rmse", "coverage", "se_over_sd", "seconds"}
    assert tab.set_index(["setting", "method"]).loc[("baseline", "plce"), "reps"] == 3
    fig = simulations.figure(more)
    fig.savefig(tmp_path / "f.png")
    assert pd.notna(tab["se_over_sd"]).any()

"""Enos script on a small synthetic voter file with the real columns."""
import numpy as np
import pandas as pd

from plce.replications import enos


def _synthetic(path, n=1500, seed=0):
    rng = np.random.default_rng(seed)
    gid = rng.integers(0, 30, n)
    dist = rng.uniform(50, 3000, n)
    v96, v98, v00 = (rng.random((3, n)) < 0.7).astype(int)
    age = rng.integers(20, 90, n)
    p_vote04 = np.clip(0.6 + 0.00005 * dist + 0.1 * v98 + rng.normal(0, 0.05, 30)[gid], 0, 1)
    v04 = (rng.random(n) < p_vote04).astype(int)
    df = pd.DataFrame({
        "vote1996": v96, "vote1998": v98, "vote2000": v00, "vote2002": v98, "vote2004": v04,
        "vote.change": v04 - v00, "reg": np.where(rng.random(n) < 0.9, "1995-05-01", "2001-01-01"),
        "p": rng.integers(-1, 2, n), "s": rng.choice(["M", "F"], n), "age": age, "age.squared": age**2,
        "demo.distance": dist, "nondemo.distance": rng.uniform(50, 3000, n), "demo.gid": gid,
        "whitename": np.where(rng.random(n) < 0.8, 0.99, 0.5), "blackname": 0.01,
        "medianincome": rng.normal(40000, 8000, n), "prior.avg.value": rng.normal(150000, 30000, n),
        "deeded.strict": rng.integers(0, 2, n), "pctblack": rng.random(n), "context_black": rng.random(n),
        "id": np.arange(n),
    })
    df.to_csv(path, index=False)
    return df


def test_without_file_says_where_and_fails(capsys):
    assert enos.main(None) == 2
    assert "doi:10.7910/DVN/26612" in capsys.readouterr().err


def test_checksum_is_verified(tmp_path, capsys):
    path = tmp_path / "data.turnout.csv"
    _synthetic(path)
    assert enos.main(str(path)) == 3
    assert "SHA-256" in capsys.readouterr().err


def test_runs_on_synthetic_file(tmp_path, capsys):
    path = tmp_path / "data.turnout.csv"
    raw = _synthetic(path)
    df = enos.prepare(raw)
    assert (df["whitename"] >= 0.975).all() and len(df) < len(raw)
    assert {"distance_km", "log_distance", "female", "demo_gid"} <= set(df.columns)
    assert enos.main(str(path), n_rep=1, progress=False, check=False, out=str(tmp_path)) == 0
    text = capsys.readouterr().out
    assert "plce, per km of distance" in text and "within  500 m" in text and "interference on" in text
    assert "Interference: neighbour averages" in (tmp_path / "enos_distance_km.txt").read_text()
    assert (tmp_path / "enos_distance_km.txt").exists()

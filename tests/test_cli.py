"""The command line gives the library's numbers for the same formula, options and seed."""
import pytest

import plce
from plce.cli import main


@pytest.fixture(scope="module")
def csv(tmp_path_factory):
    df, _ = plce.datasets.make_simdata("re", n=300, random_state=2)
    path = tmp_path_factory.mktemp("cli") / "d.csv"
    df.to_csv(path, index=False)
    return df, str(path)


def test_cli_equals_api(csv, capsys):
    df, path = csv
    rc = main(["fit", "y ~ t | x1 + x2 + (1|g)", "--data", path, "--seed", "9", "--n-rep", "2",
               "--estimand", "variance_weighted", "--cov-type", "HC3", "--table", "md"])
    out = capsys.readouterr().out
    assert rc == 0
    res = plce.ols_ml("y ~ t | x1 + x2 + (1|g)", data=df, random_state=9, n_rep=2, estimand="variance_weighted",
                      cov_type="HC3")
    assert f"| t | {res.params['t']:.3f}" in out and f"({res.bse['t']:.3f})" in out


def test_cli_defaults_are_the_librarys(csv, capsys):
    df, path = csv
    assert main(["fit", "y ~ t | x1", "--data", path, "--seed", "4", "--quiet"]) == 0
    out = capsys.readouterr().out
    res = plce.ols_ml("y ~ t | x1", data=df, random_state=4)
    assert "Folds x Reps:              5 x 3" in out or "5 x 3" in out
    assert f"{res.params['t']:.4f}" in out
    # no --seed: a fresh seed, printed so the fit can be repeated
    assert main(["fit", "y ~ t | x1", "--data", path, "--n-rep", "1", "--quiet"]) == 0
    seed = int(capsys.readouterr().out.split("pass random_state=")[1].split(" ")[0])
    again = plce.ols_ml("y ~ t | x1", data=df, n_rep=1, random_state=seed)
    assert main(["fit", "y ~ t | x1", "--data", path, "--n-rep", "1", "--seed", str(seed), "--quiet"]) == 0
    assert f"{again.params['t']:.4f}" in capsys.readouterr().out


def test_cli_errors_are_messages(csv, capsys):
    _, path = csv
    assert main(["fit", "y ~ t | x1", "--data", path, "--cluster", "g", "--cov-type", "HC3"]) == 2
    assert "exclusive" in capsys.readouterr().err
    assert main(["fit", "y ~ t | x9", "--data", path]) == 2
    assert "Did you mean" in capsys.readouterr().err
    with pytest.raises(SystemExit, match="pip install"):
        pq = path.replace(".csv", ".parquet")
        open(pq, "w").write("not parquet")
        try:
            import pyarrow  # noqa: F401
            pytest.skip("pyarrow is installed")
        except ImportError:
            main(["fit", "y ~ t | x1", "--data", pq])

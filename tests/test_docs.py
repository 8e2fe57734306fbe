"""Every Python example in the documentation runs (each page's blocks in order, in one namespace)."""
import pathlib
import re
import warnings

import pytest

DOCS = pathlib.Path(__file__).resolve().parent.parent / "docs"
BLOCK = re.compile(r"^\.\. code-block:: python\n\n((?:(?:    .*)?\n)+)", re.M)


def _pages():
    return sorted(p for p in DOCS.glob("*.rst") if BLOCK.search(p.read_text()))


@pytest.mark.parametrize("page", _pages(), ids=lambda p: p.name)
def test_examples_run(page, monkeypatch, tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    blocks = BLOCK.findall(page.read_text())
    assert blocks
    for k, block in enumerate(blocks):
        code = "\n".join(line[4:] for line in block.splitlines())
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            exec(compile(code, f"{page.name}[{k}]", "exec"), namespace)  # noqa: S102


def test_readme_example_runs():
    readme = (DOCS.parent / "README.rst").read_text()
    blocks = BLOCK.findall(readme)
    assert blocks
    code = "\n".join(line[4:] for line in blocks[0].splitlines())
    code = code.replace('n=1000', 'n=400').replace('data=df, random_state=1)', 'data=df, random_state=1, n_rep=1)')
    import matplotlib

    matplotlib.use("Agg")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        exec(compile(code, "README.rst", "exec"), {})  # noqa: S102

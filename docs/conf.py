"""Sphinx configuration of the plce documentation (``sphinx-build -W docs docs/_build``)."""
import os
import sys

sys.path.insert(0, os.path.abspath(".."))

project = "plce"
author = "plce developers"
copyright = "2026, plce developers"

import plce  # noqa: E402

release = version = plce.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.intersphinx",
    "numpydoc",
]
autosummary_generate = True
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
autodoc_typehints = "none"
intersphinx_mapping = {}
exclude_patterns = ["_build", "**.ipynb_checkpoints"]
html_theme = "furo"
html_title = f"plce {release}"
suppress_warnings = ["autosummary.import_cycle"]
nitpicky = False

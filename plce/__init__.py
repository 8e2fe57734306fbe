"""plce: the Partially Linear Causal Effect model (Ratkovic 2023) for Python.

>>> import plce
>>> res = plce.ols_ml("y ~ t | x1 + x2", data=df)  # doctest: +SKIP
"""
from . import datasets
from .curve import partial_effects
from .model import PLCE, ols_ml
from .options import FitOptions
from .errors import FormulaError, MissingValueWarning, PLCEError, PLCEWarning
from .results import PLCEResults
from .tables import etable

__version__ = "0.1.0"

__all__ = [
    "PLCE",
    "PLCEResults",
    "FitOptions",
    "etable",
    "partial_effects",
    "ols_ml",
    "datasets",
    "PLCEError",
    "FormulaError",
    "PLCEWarning",
    "MissingValueWarning",
    "__version__",
]

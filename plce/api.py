"""Public entry points, re-exported (the estimator lives in :mod:`plce.model`)."""
from .model import PLCE, ols_ml

__all__ = ["PLCE", "ols_ml"]

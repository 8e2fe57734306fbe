"""Data sets shipped with plce and the simulation designs of Ratkovic (2023)."""
from .loaders import MATTES_WEEKS_COVARIATES, load_darfur, load_mattes_weeks
from .curve import CURVE_SHAPES, make_curve
from .experiment import make_experiment
from .family import make_family
from .panel import make_panel
from .simulate import SETTINGS, make_simdata, make_spatial
from .spatial_family import make_spatial_family

__all__ = [
    "SETTINGS", "make_simdata", "make_spatial", "make_family", "make_panel", "make_experiment", "make_curve",
    "CURVE_SHAPES", "make_spatial_family", "load_mattes_weeks", "load_darfur", "MATTES_WEEKS_COVARIATES",
]

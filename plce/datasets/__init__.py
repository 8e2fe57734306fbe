"""Data sets shipped with plce and the simulation designs of the talk."""
from .simulate import SETTINGS, make_simdata

__all__ = ["SETTINGS", "make_simdata"]

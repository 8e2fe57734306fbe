"""Exceptions and warnings raised by plce.

Every error a user can trigger with bad input is a :class:`PLCEError`, a
subclass of :class:`ValueError`, so ``except ValueError`` keeps working.
Messages say what was expected, what was given, and how to fix it.
"""
from __future__ import annotations

import difflib
from typing import Iterable

__all__ = [
    "PLCEError",
    "FormulaError",
    "PLCEWarning",
    "MissingValueWarning",
    "FewGroupsWarning",
    "PositivityWarning",
    "closest_names",
]


class PLCEError(ValueError):
    """Bad input or an estimation problem the user can fix."""


class FormulaError(PLCEError):
    """The model formula cannot be parsed; the message echoes it."""

    def __init__(self, formula: str, problem: str, position: int | None = None):
        msg = f"{problem}\n  formula: {formula}"
        if position is not None:
            msg += "\n" + " " * (11 + position) + "^"
        super().__init__(msg)
        self.formula = formula
        self.position = position


class PLCEWarning(UserWarning):
    """Base class of plce's warnings."""


class MissingValueWarning(PLCEWarning):
    """Rows were dropped because a used column had missing values."""


class FewGroupsWarning(PLCEWarning):
    """Too few clusters or groups for cluster-robust inference to be reliable."""


class PositivityWarning(PLCEWarning):
    """The treatment is (nearly) determined by the controls for some units."""


def closest_names(name: str, candidates: Iterable[str], n: int = 3) -> str:
    """Return a ``did you mean`` fragment listing the closest column names."""
    cands = [str(c) for c in candidates]
    close = difflib.get_close_matches(str(name), cands, n=n, cutoff=0.5)
    if not close:
        lower = {c.lower(): c for c in cands}
        if str(name).lower() in lower:
            close = [lower[str(name).lower()]]
    return f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""


def warn(message: str, category: type[Warning] = PLCEWarning) -> None:
    """Issue a warning attributed to the first caller outside the plce package."""
    import os
    import sys
    import warnings

    pkg = os.path.dirname(os.path.abspath(__file__))
    level, frame = 2, sys._getframe(1)
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(pkg):
        frame = frame.f_back
        level += 1
    warnings.warn(message, category, stacklevel=level)

"""A panel confounded by unit and period effects: the two-way fixed-effects design (Stata's absorb(unit year))."""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import PLCEError

__all__ = ["make_panel"]


def make_panel(n_units: int = 100, n_periods: int = 10, random_state=None, *, balanced: bool = True,
               theta: float = 1.0):
    """Simulate a panel whose treatment and outcome both depend on a unit and a period effect.

    y_it = theta t_it + 2 a_i + 2 g_t + x1 + 0.5 x2^2 + e,   t_it = 0.8 a_i + 0.8 g_t + x1 + 0.5 sin(2 x2) + v,
    a_i, g_t, x1, x2, e, v ~ N(0, 1). A regression that ignores either effect is biased; absorbing both recovers
    theta. ``balanced=False`` drops 20% of the unit-periods at random. ``w`` is a sampling weight (uniform 0.5-2,
    unrelated to the outcome).

    Returns
    -------
    data : DataFrame
        ``y``, ``t``, ``x1``, ``x2``, ``unit``, ``year``, ``w``.
    theta : float

    Examples
    --------
    >>> from plce.datasets import make_panel
    >>> df, theta = make_panel(20, 5, random_state=0)
    >>> df.shape, theta
    ((100, 7), 1.0)
    """
    if n_units < 2 or n_periods < 2:
        raise PLCEError("make_panel needs at least 2 units and 2 periods.")
    rng = np.random.default_rng(random_state)
    unit = np.repeat(np.arange(n_units), n_periods)
    year = np.tile(np.arange(n_periods), n_units)
    n = len(unit)
    a, g = rng.normal(size=n_units)[unit], rng.normal(size=n_periods)[year]
    x1, x2 = rng.normal(size=(2, n))
    t = 0.8 * a + 0.8 * g + x1 + 0.5 * np.sin(2 * x2) + rng.normal(size=n)
    y = theta * t + 2 * a + 2 * g + x1 + 0.5 * x2**2 + rng.normal(size=n)
    df = pd.DataFrame({"y": y, "t": t, "x1": x1, "x2": x2, "unit": unit, "year": 2000 + year,
                       "w": rng.uniform(0.5, 2.0, n)})
    if not balanced:
        df = df[rng.random(n) > 0.2].reset_index(drop=True)
    return df, float(theta)

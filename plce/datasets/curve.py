"""Designs for the partial-effect curve (Ratkovic & Tingley 2023): the effect of t changes along t and across units."""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import PLCEError

__all__ = ["make_curve", "CURVE_SHAPES"]

CURVE_SHAPES = ("quadratic", "heterogeneous", "threshold", "confounded")


def make_curve(shape: str = "quadratic", n: int = 1000, random_state=None):
    """One data set whose outcome moves nonlinearly with a continuous treatment, with every unit's true slope.

    x1, x2, x3 and e are standard normal. ``shape``:

    * ``"quadratic"``: the example of Ratkovic & Tingley (2023): t ~ N(0, 1), y = t^2 / 2 + e, so tau = t;
    * ``"heterogeneous"``: the slope varies across units too: y = x1 t^2 / 2 + x2 + e, tau = x1 t;
    * ``"threshold"``: y = max(t, 0) + x1 + e, tau = 1 if t > 0 else 0 (a kink the spline must round off);
    * ``"confounded"``: t = x1 + 0.5 x2^2 - 0.5 + N(0, 1) and y = t^2 / 2 + x1 + sin(2 x2) + e, tau = t (the
      treatment depends on the controls, nonlinearly).

    Returns
    -------
    data : DataFrame
        ``y``, ``t``, ``x1``..``x3`` and ``true_tau`` (each unit's slope d E[y | t, x] / d t).
    ape : float
        The sample average of ``true_tau``.

    Examples
    --------
    >>> from plce.datasets import make_curve
    >>> df, ape = make_curve("heterogeneous", 200, random_state=0)
    >>> list(df.columns)
    ['y', 't', 'x1', 'x2', 'x3', 'true_tau']
    """
    if shape not in CURVE_SHAPES:
        raise PLCEError(f"shape must be one of {CURVE_SHAPES}, got {shape!r}.")
    rng = np.random.default_rng(random_state)
    X = rng.standard_normal((n, 3))
    x1, x2 = X[:, 0], X[:, 1]
    e, v = rng.standard_normal(n), rng.standard_normal(n)
    if shape == "confounded":
        t = x1 + 0.5 * x2**2 - 0.5 + v
    else:
        t = v
    if shape == "quadratic":
        y, tau = 0.5 * t**2 + e, t
    elif shape == "heterogeneous":
        y, tau = 0.5 * x1 * t**2 + x2 + e, x1 * t
    elif shape == "threshold":
        y, tau = np.maximum(t, 0.0) + x1 + e, (t > 0).astype(float)
    else:
        y, tau = 0.5 * t**2 + x1 + np.sin(2 * x2) + e, t
    df = pd.DataFrame({"y": y, "t": t, "x1": x1, "x2": x2, "x3": X[:, 2], "true_tau": tau})
    return df, float(tau.mean())

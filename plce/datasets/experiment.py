"""Randomized experiments with covariates that predict the outcome not at all, linearly or nonlinearly."""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import PLCEError

__all__ = ["make_experiment", "PROGNOSES"]

PROGNOSES = ("none", "linear", "nonlinear")


def make_experiment(n: int = 600, prognosis: str = "nonlinear", treatment: str = "binary", random_state=None):
    """One randomized experiment: t independent of x, y = (1 + 0.3 x1) t + g(x) + e.

    ``prognosis`` sets g: ``"none"`` 0; ``"linear"`` x1 + 0.5 x2 - 0.5 x3; ``"nonlinear"`` 1.5 sin(2 x1) + x2^2 +
    abs(x3) - 1.8 (covariates that predict the outcome in a way a linear adjustment misses). ``treatment``:
    ``"binary"`` (Bernoulli 0.5) or ``"continuous"`` (standard normal). x1..x5 are standard normal, e ~ N(0, 1).

    Returns
    -------
    data : DataFrame
        ``y``, ``t``, ``x1``..``x5`` and ``true_effect`` (1 + 0.3 x1).
    theta : float
        The population average effect, 1; the sample average is ``data["true_effect"].mean()``.

    Examples
    --------
    >>> from plce.datasets import make_experiment
    >>> df, theta = make_experiment(200, "linear", random_state=0)
    >>> df.shape, theta
    ((200, 8), 1.0)
    """
    if prognosis not in PROGNOSES or treatment not in ("binary", "continuous"):
        raise PLCEError(f"prognosis must be one of {PROGNOSES} and treatment 'binary' or 'continuous'.")
    rng = np.random.default_rng(random_state)
    X = rng.standard_normal((n, 5))
    x1, x2, x3 = X[:, 0], X[:, 1], X[:, 2]
    g = {"none": np.zeros(n), "linear": x1 + 0.5 * x2 - 0.5 * x3,
         "nonlinear": 1.5 * np.sin(2 * x1) + x2**2 + np.abs(x3) - 1.8}[prognosis]
    t = (rng.random(n) < 0.5).astype(float) if treatment == "binary" else rng.standard_normal(n)
    theta = 1 + 0.3 * x1
    y = theta * t + g + rng.standard_normal(n)
    return pd.DataFrame({"y": y, "t": t, **{f"x{j + 1}": X[:, j] for j in range(5)}, "true_effect": theta}), 1.0

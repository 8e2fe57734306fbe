"""The effect-shape design family: average effects must hold whatever shape the heterogeneity takes.

One data set has controls x1..x5 (independent standard normal) and a categorical moderator ``c`` (five levels,
equally likely), a treatment confounded by the controls, and an outcome

    y = theta(x) t + f(x) + e,   f(x) = x1 + 0.5 x2^2 + 0.5 sin(2 x3) + 0.3 [c in {c, d}],   e ~ N(0, 1).

``effect`` sets theta(x), every shape with E[theta(x)] = 1:

=============  =================================================  =============
effect         theta(x)                                           moderator z
=============  =================================================  =============
constant       1                                                  x1
linear         1 + 0.5 x1                                         x1
quadratic      0.5 + 0.5 x1^2                                     x1
step           1 + 0.5 sign(x1)                                   x1
abs            1 + 0.8 (|x1| - sqrt(2/pi))                        x1
interaction    1 + 0.5 x1 x2                                      x1 x2
categorical    0.2, 0.6, 1.0, 1.4, 1.8 by the level of c          level of c
=============  =================================================  =============

``treatment="continuous"``: t = 0.5 x1 + 0.3 x2 + 0.3 sin(x3) + s(x) v, v ~ N(0, 1). ``variance="constant"``:
s = 1; ``"varying"``: s(x) = exp(0.4 z_std) with z_std the standardised moderator, so the treatment's variance
moves with the effect and the variance-weighted (OLS/DML) coefficient differs from the average effect.

``treatment="binary"``: t ~ Bernoulli(p(x)). ``variance="constant"``: p = logistic(0.4 x2 - 0.3 x3), which does
not involve the moderator (ATE = ATT = ATC up to sampling); ``"varying"``: p = logistic(0.8 z_std + 0.4 x2 -
0.3 x3), so the treated have larger effects than the controls (ATT > ATE > ATC for increasing shapes).
``overlap="poor"`` multiplies the logit by 2.5 (propensities below 0.02 for some units).

The truths are population quantities, computed once per design from two million draws (Monte Carlo error
below 0.002): ``data.attrs["truth"]`` holds the ATE (1 by construction), ATT, ATC and the variance-weighted
coefficient E[s^2 theta]/E[s^2]; the column ``true_effect`` is theta(x_i) and, for a binary treatment,
``propensity`` is p(x_i).
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
import pandas as pd

from ..errors import PLCEError

__all__ = ["EFFECTS", "VARIANCES", "TREATMENTS", "make_family"]

EFFECTS = ("constant", "linear", "quadratic", "step", "abs", "interaction", "categorical")
VARIANCES = ("constant", "varying")
TREATMENTS = ("continuous", "binary")
LEVELS = np.array(["a", "b", "c", "d", "e"])
LEVEL_EFFECTS = np.array([0.2, 0.6, 1.0, 1.4, 1.8])


def _draw(n: int, rng: np.random.Generator, effect: str, variance: str, treatment: str, overlap: str):
    X = rng.standard_normal((n, 5))
    x1, x2, x3 = X[:, 0], X[:, 1], X[:, 2]
    lev = rng.integers(0, 5, n)
    theta = {
        "constant": np.ones(n),
        "linear": 1 + 0.5 * x1,
        "quadratic": 0.5 + 0.5 * x1**2,
        "step": 1 + 0.5 * np.sign(x1),
        "abs": 1 + 0.8 * (np.abs(x1) - np.sqrt(2 / np.pi)),
        "interaction": 1 + 0.5 * x1 * x2,
        "categorical": LEVEL_EFFECTS[lev],
    }[effect]
    if effect == "interaction":
        z = x1 * x2  # sd 1
    elif effect == "categorical":
        z = (lev - 2) / np.sqrt(2.0)  # levels 0..4: mean 2, sd sqrt(2)
    elif effect == "step":
        z = np.sign(x1)
    else:
        z = x1
    f = x1 + 0.5 * x2**2 + 0.5 * np.sin(2 * x3) + 0.3 * (lev >= 2) * (lev <= 3)
    if treatment == "continuous":
        s = np.exp(0.4 * z) if variance == "varying" else np.ones(n)
        t = 0.5 * x1 + 0.3 * x2 + 0.3 * np.sin(x3) + s * rng.standard_normal(n)
        s2, p = s**2, None
    else:
        logit = (0.8 * z if variance == "varying" else 0.0) + 0.4 * x2 - 0.3 * x3
        if overlap == "poor":
            logit = 2.5 * logit
        p = 1 / (1 + np.exp(-logit))
        t = (rng.random(n) < p).astype(float)
        s2 = p * (1 - p)
    y = theta * t + f + rng.standard_normal(n)
    return X, lev, t, y, theta, s2, p


@lru_cache(maxsize=None)
def _truth(effect: str, variance: str, treatment: str, overlap: str) -> dict:
    rng = np.random.default_rng(20261202)
    _, _, _, _, theta, s2, p = _draw(2_000_000, rng, effect, variance, treatment, overlap)
    out = {"ate": float(theta.mean()), "variance_weighted": float((s2 * theta).sum() / s2.sum())}
    if p is not None:
        out["att"] = float((p * theta).sum() / p.sum())
        out["atc"] = float(((1 - p) * theta).sum() / (1 - p).sum())
    return out


def make_family(effect: str = "step", variance: str = "varying", treatment: str = "continuous", n: int = 1000,
                random_state=None, *, overlap: str = "good"):
    """One data set of the effect-shape family (see the module docstring).

    Parameters
    ----------
    effect : {"constant", "linear", "quadratic", "step", "abs", "interaction", "categorical"}
    variance : {"constant", "varying"}
        Whether the treatment's conditional variance (or propensity) moves with the effect's moderator.
    treatment : {"continuous", "binary"}
    n : int
    random_state : int or numpy Generator
    overlap : {"good", "poor"}
        Binary treatment only: ``"poor"`` sharpens the propensity (some units below 0.02).

    Returns
    -------
    data : DataFrame
        ``y``, ``t``, ``x1``..``x5``, ``c`` (categorical moderator), ``true_effect`` and (binary) ``propensity``;
        ``data.attrs["truth"]`` holds the population ATE, ATT, ATC and variance-weighted coefficient.
    theta : float
        The population average effect E[theta(x)] = 1.

    Examples
    --------
    >>> from plce.datasets import make_simdata
    >>> df, theta = make_simdata("family", effect="categorical", treatment="binary", n=300, random_state=0)
    >>> theta, sorted(df.attrs["truth"])
    (1.0, ['atc', 'ate', 'att', 'variance_weighted'])
    """
    for name, value, allowed in (("effect", effect, EFFECTS), ("variance", variance, VARIANCES),
                                 ("treatment", treatment, TREATMENTS), ("overlap", overlap, ("good", "poor"))):
        if value not in allowed:
            raise PLCEError(f"{name} must be one of {allowed}; got {value!r}.")
    if overlap == "poor" and treatment != "binary":
        raise PLCEError("overlap='poor' is for a binary treatment.")
    rng = np.random.default_rng(random_state)
    X, lev, t, y, theta, _, p = _draw(int(n), rng, effect, variance, treatment, overlap)
    data = pd.DataFrame({"y": y, "t": t, **{f"x{j + 1}": X[:, j] for j in range(5)},
                         "c": pd.Categorical(LEVELS[lev], categories=LEVELS), "true_effect": theta})
    if p is not None:
        data["propensity"] = p
    truth = _truth(effect, variance, treatment, overlap)
    data.attrs["truth"] = dict(truth)
    return data, 1.0

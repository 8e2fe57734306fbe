"""Spatial and network designs with spillovers, each with its true direct effect 1.

Units sit on the unit square (or, for ``neighbours="network"``, on a small-world network, Watts & Strogatz 1998).
A unit's neighbours are defined by ``neighbours``: ``"radius"`` (every unit within distance 0.05, a hard
disk), ``"knn"`` (its 8 nearest units), ``"decay"`` (all units, weighted exp(-d / 0.03)) or ``"network"`` (ring
lattice with 6 links per unit, 10% rewired). N(x) is the row-normalised neighbour average of x.

    c_i = spatially smooth confounder (sin(2 pi s1) cos(2 pi s2)) when ``confounder``, else 0
    t_i = 0.6 z_i + c_i + b_x N(z)_i + e_i
    y_i = t_i + z_i + 1.5 c_i + b_t N(t)_i + u_i

``spill`` sets which spillovers there are: ``"treatment"`` (b_t = 1, b_x = 0), ``"controls"`` (b_t = 0, b_x = 1),
``"both"``. The error u is iid, or spatially correlated (``correlated_errors``: u = 0.7 N(v) + 0.7 v, v iid). The
returned matrix ``W`` is the exact neighbour matrix (the oracle a user may pass as ``interference=W``).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import sparse

from ..errors import PLCEError

__all__ = ["NEIGHBOURS", "make_spatial_family"]

NEIGHBOURS = ("radius", "knn", "decay", "network")


def _neighbours(kind: str, s: np.ndarray, rng: np.random.Generator) -> sparse.csr_matrix:
    from scipy.spatial import cKDTree

    n = len(s)
    tree = cKDTree(s)
    if kind == "radius":
        D = tree.sparse_distance_matrix(tree, 0.05, output_type="coo_matrix")
        keep = D.row != D.col
        W = sparse.coo_matrix((np.ones(keep.sum()), (D.row[keep], D.col[keep])), shape=(n, n))
    elif kind == "knn":
        _, idx = tree.query(s, k=9)
        W = sparse.coo_matrix((np.ones(8 * n), (np.repeat(np.arange(n), 8), idx[:, 1:].ravel())), shape=(n, n))
    elif kind == "decay":
        D = tree.sparse_distance_matrix(tree, 0.2, output_type="coo_matrix")
        keep = D.row != D.col
        W = sparse.coo_matrix((np.exp(-D.data[keep] / 0.03), (D.row[keep], D.col[keep])), shape=(n, n))
    else:
        k = 3
        rows, cols = [], []
        for i in range(n):
            for j in range(1, k + 1):
                target = (i + j) % n
                if rng.random() < 0.1:
                    target = int(rng.integers(n))
                if target != i:
                    rows += [i, target]
                    cols += [target, i]
        W = sparse.coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, n))
        W.sum_duplicates()
        W.data[:] = 1.0
    return W.tocsr()


def _row_mean(W: sparse.csr_matrix, a: np.ndarray) -> np.ndarray:
    den = np.asarray(W.sum(axis=1)).ravel()
    return np.where(den > 0, (W @ a) / np.where(den > 0, den, 1), 0.0)


def make_spatial_family(neighbours: str = "radius", n: int = 1000, random_state=None, *, spill: str = "both",
                        confounder: bool = True, correlated_errors: bool = False):
    """One data set of the spatial family (see the module docstring).

    Returns
    -------
    data : DataFrame
        ``y``, ``t``, ``z`` and coordinates ``lat``, ``lon`` (for the network design the coordinates place the ring
        on a circle, so they do not define the neighbours).
    theta : float
        The direct effect of a unit's own treatment, 1.
    W : scipy.sparse.csr_matrix
        The true neighbour matrix.

    Examples
    --------
    >>> from plce.datasets import make_spatial_family
    >>> df, theta, W = make_spatial_family("knn", n=200, random_state=0)
    >>> df.shape, theta, W.shape
    ((200, 5), 1.0, (200, 200))
    """
    if neighbours not in NEIGHBOURS or spill not in ("treatment", "controls", "both"):
        raise PLCEError(f"neighbours must be one of {NEIGHBOURS} and spill 'treatment', 'controls' or 'both'.")
    rng = np.random.default_rng(random_state)
    if neighbours == "network":
        angle = 2 * np.pi * np.arange(n) / n
        s = np.column_stack([0.5 + 0.5 * np.cos(angle), 0.5 + 0.5 * np.sin(angle)])
    else:
        s = rng.uniform(size=(n, 2))
    W = _neighbours(neighbours, s, rng)
    z = rng.normal(size=n)
    c = np.sin(2 * np.pi * s[:, 0]) * np.cos(2 * np.pi * s[:, 1]) if confounder else np.zeros(n)
    b_t = 1.0 if spill in ("treatment", "both") else 0.0
    b_x = 1.0 if spill in ("controls", "both") else 0.0
    t = 0.6 * z + c + b_x * _row_mean(W, z) + rng.normal(size=n)
    v = rng.normal(size=n)
    u = 0.7 * _row_mean(W, v) + 0.7 * v if correlated_errors else rng.normal(size=n)
    y = t + z + 1.5 * c + b_t * _row_mean(W, t) + u
    data = pd.DataFrame({"y": y, "t": t, "z": z, "lat": s[:, 1], "lon": s[:, 0]})
    return data, 1.0, W

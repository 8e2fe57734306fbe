"""Spatial and network dependence: Conley (1999) kernel weights and Moran's I.

Conley's spatial-HAC covariance replaces the sandwich's meat sum_i s_i s_i' by
sum_i sum_j K(d_ij) s_i s_j' with K(0) = 1 and K(d) = 0 beyond a distance ``cutoff``: ``"bartlett"``
K = 1 - d/cutoff (the default of Stata's ``acreg``/R's ``conleyreg``), or ``"uniform"`` K = 1. Distances are
Euclidean in the coordinates' units, or great-circle kilometres (``distance="haversine"``; columns latitude,
longitude in degrees). Network HAC takes a weight matrix W: units linked in W (either direction) are correlated,
K = 1 for them and for each unit with itself. Pairs are found with a KD-tree and kept sparse (never n x n).

Moran's I of residuals e with a row-standardised W is I = (n / S0) e'We / e'e, S0 = sum of W; its z-statistic uses
the moments under randomisation's normal approximation, E[I] = -1/(n-1) and Var[I] = (n^2 S1 - n S2 + 3 S0^2) /
((n^2 - 1) S0^2) - E[I]^2 (Cliff & Ord 1981).
"""
from __future__ import annotations

import numpy as np
from scipy import sparse, stats

from .errors import PLCEError

__all__ = ["EARTH_RADIUS_KM", "kernel_matrix", "network_matrix", "moran_i", "knn_weights"]

EARTH_RADIUS_KM = 6371.0088


def _unit_sphere(latlon: np.ndarray) -> np.ndarray:
    lat, lon = np.radians(latlon[:, 0]), np.radians(latlon[:, 1])
    return np.column_stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)])


def kernel_matrix(coords, cutoff: float, *, kernel: str = "bartlett", distance: str = "euclidean"):
    """Sparse n x n Conley weights K(d_ij) for pairs closer than ``cutoff`` (the diagonal is 1)."""
    from scipy.spatial import cKDTree

    coords = np.asarray(coords, dtype=float)
    if coords.ndim != 2 or not np.all(np.isfinite(coords)):
        raise PLCEError("Conley coordinates must be a finite (n, d) array (e.g. latitude and longitude columns).")
    if not (isinstance(cutoff, (int, float, np.floating)) and cutoff > 0):
        raise PLCEError(f"The Conley cutoff must be a positive distance; got {cutoff!r}.")
    if kernel not in ("bartlett", "uniform"):
        raise PLCEError(f"The Conley kernel must be 'bartlett' or 'uniform'; got {kernel!r}.")
    if distance == "haversine":
        if coords.shape[1] != 2 or np.abs(coords[:, 0]).max() > 90 or np.abs(coords[:, 1]).max() > 360:
            raise PLCEError("distance='haversine' needs (latitude, longitude) in degrees.")
        pts = _unit_sphere(coords)
        radius = 2 * np.sin(min(cutoff / EARTH_RADIUS_KM, np.pi) / 2)  # chord length of the cutoff arc
    elif distance == "euclidean":
        pts, radius = coords, float(cutoff)
    else:
        raise PLCEError(f"distance must be 'euclidean' or 'haversine'; got {distance!r}.")
    tree = cKDTree(pts)
    D = tree.sparse_distance_matrix(tree, radius, output_type="coo_matrix")
    d = D.data
    if distance == "haversine":
        d = 2 * EARTH_RADIUS_KM * np.arcsin(np.clip(d / 2, 0, 1))
    keep = (D.row != D.col) & (d < cutoff)
    w = np.ones(keep.sum()) if kernel == "uniform" else 1 - d[keep] / cutoff
    n = len(coords)
    K = sparse.coo_matrix((w, (D.row[keep], D.col[keep])), shape=(n, n)).tocsr()
    return K + sparse.identity(n, format="csr")


def network_matrix(W):
    """Sparse 0/1 links of a weight matrix, symmetrised, with a unit diagonal (network HAC weights)."""
    W = sparse.csr_matrix(W)
    if W.shape[0] != W.shape[1]:
        raise PLCEError(f"The network weight matrix must be square; got shape {W.shape}.")
    A = ((W != 0) + (W.T != 0)).astype(float)
    A = A - sparse.diags(A.diagonal())
    return (A + sparse.identity(W.shape[0], format="csr")).tocsr()


def knn_weights(coords, k: int = 8):
    """Row-standardised k-nearest-neighbour weights (the default proximity of Moran's I for coordinates)."""
    from scipy.spatial import cKDTree

    coords = np.asarray(coords, dtype=float)
    n = len(coords)
    k = int(min(k, n - 1))
    _, idx = cKDTree(coords).query(coords, k=k + 1)
    rows = np.repeat(np.arange(n), k)
    return sparse.csr_matrix((np.full(n * k, 1.0 / k), (rows, idx[:, 1:].ravel())), shape=(n, n))


def moran_i(e: np.ndarray, W) -> tuple[float, float, float]:
    """Moran's I of ``e`` with weights ``W`` (row-standardised first), its z-statistic and two-sided p-value."""
    W = sparse.csr_matrix(W, dtype=float)
    W = W - sparse.diags(W.diagonal())
    rs = np.asarray(W.sum(axis=1)).ravel()
    W = sparse.diags(np.where(rs > 0, 1 / np.where(rs > 0, rs, 1), 0)) @ W
    e = np.asarray(e, dtype=float) - np.mean(e)
    n = len(e)
    S0 = float(W.sum())
    if S0 <= 0:
        raise PLCEError("Moran's I needs a weight matrix with at least one link.")
    I_stat = n / S0 * float(e @ (W @ e)) / float(e @ e)
    Ws = W + W.T
    S1 = 0.5 * float(Ws.multiply(Ws).sum())
    S2 = float(np.sum((np.asarray(W.sum(axis=1)).ravel() + np.asarray(W.sum(axis=0)).ravel()) ** 2))
    EI = -1.0 / (n - 1)
    VI = (n * n * S1 - n * S2 + 3 * S0 * S0) / ((n * n - 1) * S0 * S0) - EI * EI
    z = (I_stat - EI) / np.sqrt(VI)
    return float(I_stat), float(z), float(2 * stats.norm.sf(abs(z)))

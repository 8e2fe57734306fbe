"""Interference features: what other units' covariates and treatments contribute (Ratkovic 2023; ``docs/interference.rst``).

A *proximity* says which units are near each other; a *smoothed variable* is averaged over the
near units, leave-one-out (:mod:`plce.kernels`). Three kinds of proximity:

``"learned"``
    every numeric control, rank-standardized, is a proximity; the smoothed variables are the numeric
    controls, their squares and the treatment. The bandwidth ``nu`` is on the rank-standardized scale.
``coordinates`` (``interference=["lat", "lon"]``)
    at each bandwidth (squared coordinate units) a Gaussian kernel truncated by a KD-tree, a disk of radius
    sqrt(nu) and the k nearest units (:func:`nearest_k`); the smoothed variables are the treatment and the numeric
    controls.
``matrix`` (``interference=W``, scipy sparse or dense, n x n over the rows of ``data``)
    row-normalised ``W`` (diagonal ignored), no bandwidth; same smoothed variables as coordinates.

Which features enter is decided *inside each training fold* (:meth:`InterferencePlan.select`):
candidates are scored by |Spearman correlation| with the inner out-of-fold residuals of the outcome
and treatment models fitted without interference (the held-out fold's outcomes are never seen); the
``top_k`` best per model are kept and their bandwidth is chosen on :attr:`InterferencePlan.grid`
by the same score on the training units. Each model's kept features are combined into one
least-squares index (:meth:`InterferencePlan.indices`) and both nuisance learners get both indices:
the partialling-out is only consistent when the outcome and treatment models condition on the same
variables (a neighbours'-treatment average in the outcome model alone would leave
E[t | x, psi] != m(x) in the final stage). The treatment-variance model gets neither.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse
from scipy.stats import rankdata

from .errors import PLCEError, PLCEWarning, warn
from .kernels import (min_nu, nearest_mean, rank_kernel_mean, spatial_kernel_mean, spatial_neighbours,
                      weight_matrix_mean)

__all__ = ["InterferencePlan", "InterferenceSpec", "Selected", "interference_spec", "build_plan", "DEFAULT_TOP_K",
           "feature_name", "kept_table", "note", "KIND_DESCRIPTIONS"]

#: candidate features kept per nuisance model and fold
DEFAULT_TOP_K = 10
#: learned interference uses at most this many numeric controls (in formula order) as proximities
MAX_PROXIMITIES = 20
#: user coordinates: the widest bandwidth keeps about this many neighbours per unit inside the truncation radius
MAX_NEIGHBOURS = 400
#: ... and at most about this many pairs in all (12 bytes each, see :class:`~plce.kernels.SpatialPairs`): above
#: n = 10^5 the widest bandwidth holds MAX_PAIRS / n neighbours, but never fewer than the narrowest does (~110: the
#: truncation radius of the 8th-nearest-unit bandwidth), so at n = 10^6 there are ~1.1e8 pairs (1.3 GB)
MAX_PAIRS = 40_000_000
#: candidate features are scored on at most this many training units per fold (|Spearman| to about +-0.015)
SCORE_ROWS = 5000
#: memory budget of the precomputed candidate features
MAX_BANK_BYTES = 4 * 2**30
#: proximity-name prefixes of the disk (hard-radius) and k-nearest candidates of coordinate interference
DISK = "disk:"
NEAREST = "nearest:"
#: the narrowest coordinate bandwidth is the median squared distance to this nearest unit (see _spatial_bandwidths)
NEAREST_K0 = 8
#: bandwidth grid, as multiples of the rule-of-thumb bandwidth
NU_MULTIPLIERS = (1 / 16, 1 / 4, 1.0, 4.0, 16.0)


@dataclass(frozen=True)
class Selected:
    """One kept feature: smoothed variable ``a`` averaged over proximity ``b`` at bandwidth ``nu``."""

    a: str
    b: str
    nu: float | None
    model: str  # "outcome" or "treatment": which residual selected it
    score: float


def feature_name(a: str, b: str, nu: float | None, kind: str, grid=None) -> str:
    """Display name, e.g. ``knn(x1² | x3, ν=0.4)`` or ``W·t``."""
    a = a[:-2] + "²" if a.endswith("^2") else a
    if kind == "matrix":
        return f"W·{a}"
    if b.startswith(DISK):
        return f"disk({a} | {b[len(DISK):]}, r={np.sqrt(nu):.3g})"
    if b.startswith(NEAREST):
        return f"nearest({a} | {b[len(NEAREST):]}, k={nearest_k(nu, grid)})"
    return f"knn({a} | {b}, ν={nu:.3g})"


def nearest_k(nu: float | None, grid) -> int | None:
    """Neighbours of the k-nearest candidate at bandwidth ``nu`` of ``grid``: :data:`NEAREST_K0` at the narrowest
    and proportional to ``nu`` (the area) above it, so each disk and its k-nearest twin hold about as many units."""
    if nu is None or grid is None or grid[0] is None:
        return None
    return int(round(NEAREST_K0 * nu / float(grid[0])))


def _spearman_abs(F: np.ndarray, r: np.ndarray) -> np.ndarray:
    """|Spearman correlation| of each column of ``F`` with ``r`` (constant columns score 0)."""
    rr = rankdata(r)
    rr = (rr - rr.mean()) / (rr.std() + 1e-300)
    out = np.zeros(F.shape[1])
    for j in range(F.shape[1]):
        f = F[:, j]
        if not np.all(np.isfinite(f)) or np.ptp(f) == 0:
            continue
        rf = rankdata(f)
        sd = rf.std()
        if sd > 0:
            out[j] = abs(float(np.mean((rf - rf.mean()) / sd * rr)))
    return out


@dataclass
class InterferencePlan:
    """Candidates and every candidate's feature at every bandwidth of the grid, for all units.

    Built once per fit (:func:`build_plan`); :meth:`select` runs inside each fold task and only indexes
    the bank. ``bank[:, c, g]`` is candidate ``c`` at ``grid[g]``.
    """

    kind: str  # "learned", "coordinates" or "matrix"
    top_k: int
    outcome_only: frozenset  # smoothed variables only the outcome model may select (the treatment)
    grid: tuple  # bandwidths tried for each kept feature ((None,) for a weight matrix)
    candidates: list  # [(a, b)]
    bank: np.ndarray  # (n, n_candidates, len(grid))
    nu0: float | None = None

    @property
    def nobs(self) -> int:
        return self.bank.shape[0]

    def select(self, train: np.ndarray, r_y: np.ndarray, r_t: np.ndarray | None,
               rng: np.random.Generator | None = None) -> list[Selected]:
        """Features kept for one fold: top ``top_k`` per residual, bandwidth by the same score, deduplicated.

        Scores use the training units only (at most :data:`SCORE_ROWS` of them, drawn by ``rng``).
        """
        pos = np.arange(len(train))
        if len(train) > SCORE_ROWS:
            rng = rng if rng is not None else np.random.default_rng(0)
            pos = np.sort(rng.choice(len(train), SCORE_ROWS, replace=False))
        rows = train[pos]
        g0 = self.grid.index(self.nu0) if self.nu0 in self.grid else 0
        kept: list[Selected] = []
        seen = set()
        for model, r in (("outcome", r_y), ("treatment", r_t)):
            if r is None:
                continue
            r = np.asarray(r)[pos]
            ok = [c for c, (a, _) in enumerate(self.candidates) if model == "outcome" or a not in self.outcome_only]
            scores = _spearman_abs(self.bank[rows][:, ok, g0], r)
            for j in np.argsort(-scores, kind="stable")[: self.top_k]:
                if scores[j] <= 0:
                    continue
                c = ok[j]
                s = _spearman_abs(self.bank[rows, c, :], r) if len(self.grid) > 1 else scores[[j]]
                g = int(np.argmax(s))
                if (c, g) in seen:
                    continue
                seen.add((c, g))
                a, b = self.candidates[c]
                kept.append(Selected(a=a, b=b, nu=self.grid[g], model=model, score=float(s[g])))
        return kept

    def matrix(self, kept: list[Selected]) -> np.ndarray:
        """The kept features for all units, one column each."""
        if not kept:
            return np.empty((self.nobs, 0))
        idx = {ab: c for c, ab in enumerate(self.candidates)}
        return np.column_stack([self.bank[:, idx[(s.a, s.b)], self.grid.index(s.nu)] for s in kept])

    def indices(self, kept: list[Selected], train: np.ndarray, r_y: np.ndarray, r_t: np.ndarray) -> np.ndarray:
        """One column per model: the least-squares fit of its inner residual on the features it selected."""
        cols = []
        for model, r in (("outcome", r_y), ("treatment", r_t)):
            sel = [s for s in kept if s.model == model]
            if not sel:
                continue
            F = self.matrix(sel)
            Z = np.column_stack([np.ones(len(train)), F[train]])
            beta, *_ = np.linalg.lstsq(Z, r, rcond=None)
            cols.append(F @ beta[1:])
        return np.column_stack(cols) if cols else np.empty((self.nobs, 0))

    def name(self, s: Selected) -> str:
        return feature_name(s.a, s.b, s.nu, self.kind, self.grid)


def _compute(kind, prox, a, nu, pairs, shape="gaussian", k=None) -> np.ndarray:
    if kind == "learned":
        return rank_kernel_mean(prox, a, nu)
    if kind == "coordinates" and shape == "nearest":
        psi = nearest_mean(prox, a, k)
    elif kind == "coordinates":
        psi = spatial_kernel_mean(prox, a, nu, pairs=pairs, shape=shape)
    else:
        psi = weight_matrix_mean(prox, a)
    # units with no neighbour (isolated rows of W, or beyond the kernel's reach) get the overall mean
    return np.where(np.isfinite(psi), psi, np.mean(a, axis=0))


@dataclass(frozen=True)
class InterferenceSpec:
    """What the user's ``interference`` option means for the rows used, before any control is looked at.

    ``kind`` is ``"learned"``, ``"coordinates"`` or ``"matrix"``; ``proximity`` holds the coordinates (n, d) of the
    rows used or their row-subset weight matrix (``None`` for learned interference, whose proximities are the
    controls). Built once per model (:func:`interference_spec`); a refit on fewer controls reuses it.
    """

    kind: str
    proximity: object = None
    name: str = ""
    top_k: int = DEFAULT_TOP_K


def interference_spec(option, *, data=None, row_mask: np.ndarray | None = None, n: int,
                      top_k: int = DEFAULT_TOP_K) -> InterferenceSpec | None:
    """Check the user's ``interference`` option against the data (``None`` when it is off).

    Parameters
    ----------
    option : bool, "learned", list of column names, or an n x n (sparse) matrix
    data : the user's DataFrame (for coordinate columns)
    row_mask : rows of ``data`` that are used (after dropping missing values)
    n : number of rows used
    """
    if option is False or option is None:
        return None
    if option is True or (isinstance(option, str) and option == "learned"):
        return InterferenceSpec("learned", None, "", int(top_k))
    if isinstance(option, str) or (isinstance(option, (list, tuple)) and all(isinstance(c, str) for c in option)):
        cols = [option] if isinstance(option, str) else list(option)
        return InterferenceSpec("coordinates", coordinates(cols, data, row_mask, n), ",".join(cols), int(top_k))
    return InterferenceSpec("matrix", _weight_matrix(option, row_mask, n), "W", int(top_k))


def build_plan(spec: InterferenceSpec | None, *, X_num: np.ndarray, control_names: list[str], t: np.ndarray,
               treatment_name: str) -> InterferencePlan | None:
    """Every candidate feature at every bandwidth for these controls (``None`` when interference is off).

    Parameters
    ----------
    spec : from :func:`interference_spec`
    X_num : (n, p) numeric controls of the rows used
    control_names : names of the columns of ``X_num``
    t : (n,) the treatment
    """
    if spec is None:
        return None
    n = len(t)
    smooth = {treatment_name: np.asarray(t, dtype=float)}
    for j, name in enumerate(control_names):
        smooth[name] = X_num[:, j]
    outcome_only = frozenset({treatment_name})

    if spec.kind == "learned":
        numeric = [j for j in range(X_num.shape[1]) if len(np.unique(X_num[:, j])) > 2][:MAX_PROXIMITIES]
        if not numeric:
            raise PLCEError("interference='learned' needs at least one numeric (non-binary) control to measure "
                            "proximity; pass coordinates (interference=['lat', 'lon']) or a weight matrix, or "
                            "interference=False.")
        for j in numeric:
            smooth[control_names[j] + "^2"] = X_num[:, j] ** 2
        proximity = {control_names[j]: X_num[:, j] for j in numeric}
        nu0 = 2.0 * (1.06 * n ** (-0.2)) ** 2  # Silverman's rule on the unit-variance rank scale, as nu = 2 h^2
        grid = tuple(sorted({max(nu0 * m, min_nu(n)) for m in NU_MULTIPLIERS}))
        pairs = None
    elif spec.kind == "coordinates":
        # at each bandwidth a Gaussian kernel, a disk (hard radius) and the k nearest units: neighbourhoods are
        # often a fixed distance or a fixed number of neighbours
        proximity = {spec.name: spec.proximity, DISK + spec.name: spec.proximity,
                     NEAREST + spec.name: spec.proximity}
        grid, pairs = _spatial_bandwidths(spec.proximity)
        nu0 = grid[len(grid) // 2]
    else:
        proximity = {"W": spec.proximity}
        nu0, grid, pairs = None, (None,), None
    kind = spec.kind

    # a control smoothed over itself (or its square over it) is a function of the unit's own value: skip
    candidates = [(a, b) for b in proximity for a in smooth if not (kind == "learned" and a in (b, b + "^2"))]
    size = n * len(candidates) * len(grid) * 8
    if size > MAX_BANK_BYTES:
        raise PLCEError(
            f"The interference candidates need {size / 2**30:.1f} GiB ({len(candidates)} candidates x "
            f"{len(grid)} bandwidths x {n} units); use fewer controls, coordinates (interference=[...]) or a "
            "weight matrix.")
    bank = np.empty((n, len(candidates), len(grid)))
    for b in proximity:
        cols = [j for j, (_, bb) in enumerate(candidates) if bb == b]
        A = np.column_stack([smooth[candidates[j][0]] for j in cols])
        shape = "disk" if b.startswith(DISK) else "nearest" if b.startswith(NEAREST) else "gaussian"
        for g, nu in enumerate(grid):
            bank[:, cols, g] = _compute(kind, proximity[b], A, nu, pairs, shape, nearest_k(nu, grid))
    return InterferencePlan(kind=kind, top_k=spec.top_k, outcome_only=outcome_only, grid=tuple(grid),
                            candidates=candidates, bank=bank, nu0=nu0)


def coordinates(cols, data, row_mask, n, option: str = "interference") -> np.ndarray:
    """The coordinate columns ``cols`` of the rows used (n, d), checked; errors name ``option``."""
    import pandas as pd

    from .errors import closest_names

    if not isinstance(data, pd.DataFrame):
        raise PLCEError(f"{option}=[column names] needs the model to be built from a DataFrame "
                        "(plce.ols_ml or PLCE.from_formula)"
                        + ("; with arrays pass interference=W." if option == "interference" else "."))
    for c in cols:
        if c not in data.columns:
            hint = (" (interference takes True/'learned', coordinate column names, or a weight matrix)"
                    if option == "interference" else "")
            raise PLCEError(f"{option} column '{c}' is not in the data{closest_names(c, data.columns)}{hint}.")
    frame = data.loc[row_mask, cols] if row_mask is not None else data[cols]
    try:
        coords = frame.to_numpy(dtype=float)
    except (TypeError, ValueError):
        raise PLCEError(f"{option} coordinates {cols} must be numeric.") from None
    bad = ~np.isfinite(coords).all(axis=1)
    if bad.any():
        raise PLCEError(f"{option} coordinates {cols} have {int(bad.sum())} missing or non-finite values in "
                        "the rows used; drop or impute those rows first (units without a location cannot be "
                        "placed among their neighbours).")
    for j, c in enumerate(cols):
        if np.ptp(coords[:, j]) == 0:
            raise PLCEError(f"{option} coordinate '{c}' is constant; it cannot tell near from far units.")
    if len(coords) != n:
        raise PLCEError(f"{option} coordinates do not match the rows used; this is a bug, please report it.")
    return coords


def _spatial_bandwidths(coords: np.ndarray):
    """Bandwidths from local to wide, and the KD-tree pairs for the widest.

    The narrowest is the median squared distance to the 8th nearest unit; the grid doubles from there up to
    the bandwidth whose truncation radius holds about :data:`MAX_NEIGHBOURS` units, fewer above n = 10^5 so that
    the pairs stay within :data:`MAX_PAIRS` (the memory budget: the pairs are stored, never an n x n matrix).
    """
    from scipy.spatial import cKDTree

    from .kernels import SPATIAL_CUTOFF

    n = len(coords)
    tree = cKDTree(coords)
    k = min(NEAREST_K0, n - 1)
    d, _ = tree.query(coords, k=k + 1)
    d2 = d[:, -1] ** 2
    lo = float(np.median(d2[d2 > 0])) if np.any(d2 > 0) else 1e-12
    kmax = min(MAX_NEIGHBOURS, max(k, MAX_PAIRS // n), n - 1)
    probe = coords[np.random.default_rng(0).permutation(n)[: min(n, 500)]]
    dmax, _ = tree.query(probe, k=kmax + 1)
    r2max = float(np.median(dmax[:, -1] ** 2))
    hi = max(r2max / np.log(1.0 / SPATIAL_CUTOFF), lo)
    grid = [lo]
    while grid[-1] * 2 <= hi:
        grid.append(grid[-1] * 2)
    radius = np.sqrt(grid[-1] * np.log(1.0 / SPATIAL_CUTOFF))
    return tuple(grid), spatial_neighbours(coords, radius, tree=tree)


def _weight_matrix(W, row_mask, n) -> sparse.csr_matrix:
    if not (sparse.issparse(W) or isinstance(W, np.ndarray)):
        raise PLCEError(
            f"interference must be True/False, 'learned', a list of coordinate columns, or an n x n weight matrix "
            f"(scipy.sparse or numpy); got {type(W).__name__}.")
    if W.ndim != 2 or W.shape[0] != W.shape[1]:
        raise PLCEError(f"The interference weight matrix must be square (n x n); got shape {W.shape}.")
    W = sparse.csr_matrix(W, dtype=float)
    n_in = len(row_mask) if row_mask is not None else n
    if W.shape[0] != n_in:
        raise PLCEError(f"The interference weight matrix is {W.shape[0]} x {W.shape[1]} but the data have {n_in} "
                        "rows; W must be indexed like the rows of data (before missing values are dropped).")
    if row_mask is not None and not row_mask.all():
        idx = np.flatnonzero(row_mask)
        W = W[idx][:, idx]
    if not np.all(np.isfinite(W.data)):
        raise PLCEError("The interference weight matrix has missing or infinite entries.")
    if (W.data < 0).any():
        raise PLCEError("The interference weight matrix has negative weights; weights must be >= 0.")
    W = W - sparse.diags(W.diagonal())
    W.eliminate_zeros()
    isolated = int(np.sum(np.asarray(W.sum(axis=1)).ravel() <= 0))
    if isolated == n:
        raise PLCEError("Every row of the interference weight matrix sums to 0 (off the diagonal): no unit has a "
                        "neighbour.")
    if isolated:
        warn(f"{isolated} units have no neighbours in the interference weight matrix (rows summing to 0); their "
             "neighbour averages are set to the sample mean of each variable.", PLCEWarning)
    return W


#: how the summary describes each kind of proximity
KIND_DESCRIPTIONS = {"learned": "each numeric control as a proximity (learned interference)",
                     "coordinates": "the coordinates (Gaussian kernel, disk, k nearest units)",
                     "matrix": "the given weight matrix (row-normalised)"}


def kept_table(kept, n_fits: int):
    """Features kept over all fits, one row per feature and model, most often kept first (see
    :attr:`plce.PLCEResults.interference`)."""
    import pandas as pd

    if kept is None:
        return None
    if kept.empty:
        return pd.DataFrame(columns=["smoothed", "proximity", "model", "share", "nu", "score", "feature"])
    g = kept.groupby(["smoothed", "proximity", "model"], sort=False)
    out = pd.DataFrame({"share": g.size() / n_fits, "nu": g["nu"].median(), "score": g["score"].median(),
                        "feature": g["feature"].agg(lambda f: f.mode().iloc[0])})  # its most common bandwidth
    return out.sort_values(["share", "score"], ascending=False).reset_index()


def note(table, kind: str) -> str | None:
    """The summary's note on the interference features kept (``table`` from :func:`kept_table`)."""
    if table is None:
        return None
    what = KIND_DESCRIPTIONS[kind]
    if table.empty:
        return f"Interference: neighbour averages over {what}; no fold kept a feature."
    top = ", ".join(f"{r.feature} [{r.model[0]}, {100 * r.share:.0f}%]"
                    for r in table.head(6).itertuples())
    return (f"Interference: neighbour averages over {what}, selected within each training fold by |Spearman "
            f"corr| with inner residuals ({len(table)} distinct features over all folds; most kept: {top}). "
            "Each model's kept features enter both learners as one least-squares index. See res.interference.")

"""Cross-fitting: fold plans, repetitions, seeding, and the parallel map.

Every source of randomness descends from one :class:`numpy.random.SeedSequence`
built from the user's ``random_state``: repetition ``r`` gets child ``r``,
which seeds its fold split and the learner clones of each fold. A learner asks
for its seed by *role* (:meth:`CrossfitPlan.seed`: ``"outcome"``,
``"treatment:0"``, ``"variance"``, ...). The roles of plce 0.1 keep the integer
slots they had then (:data:`ROLE_SLOTS`), so fits reproduce across versions;
any other role gets a seed of its own from a SeedSequence keyed by the role's
name, so roles can never collide however many treatments there are. Tasks are
independent of the order they run in, so results are identical for any
``n_jobs``.
"""
from __future__ import annotations

from dataclasses import dataclass
import zlib
from typing import Callable, Sequence

import numpy as np

from .errors import PLCEError

__all__ = ["make_folds", "seed_sequence", "CrossfitPlan", "make_plan", "plan_from_folds", "run_tasks", "ROLE_SLOTS"]

#: roles whose seeds are the per-fold integer slots of plce 0.1 (kept so that fits reproduce across versions)
ROLE_SLOTS = {"outcome": 0, "treatment:0": 1, "treatment:1": 2, "treatment:2": 3, "treatment:3": 4,
              "inner_split": 5, "inner_treatment": 6, "variance": 7}
N_SLOTS = 8


def seed_sequence(random_state) -> tuple[np.random.SeedSequence, int]:
    """Turn ``random_state`` (None, int or Generator) into a SeedSequence and its printable entropy."""
    if random_state is None:
        ss = np.random.SeedSequence()
        return ss, int(ss.entropy)
    if isinstance(random_state, np.random.Generator):
        entropy = int(random_state.integers(0, 2**63 - 1))
        return np.random.SeedSequence(entropy), entropy
    if isinstance(random_state, (int, np.integer)) and not isinstance(random_state, bool):
        if random_state < 0:
            raise PLCEError(f"random_state must be a non-negative integer; got {random_state}.")
        return np.random.SeedSequence(int(random_state)), int(random_state)
    raise PLCEError(
        f"random_state must be None, an int or a numpy Generator; got {type(random_state).__name__}."
    )


def make_folds(
    n: int,
    n_folds: int,
    rng: np.random.Generator,
    *,
    strata: np.ndarray | None = None,
    clusters: np.ndarray | None = None,
) -> np.ndarray:
    """Assign each of ``n`` units to one of ``n_folds`` folds.

    Parameters
    ----------
    strata : int array, optional
        Stratify: within each stratum (e.g. a random-effect group) units are
        spread over the folds, so every group is present in training folds.
    clusters : int array, optional
        Group: all units of a cluster share a fold (never split between
        training and held-out data). Takes precedence over ``strata``.

    Returns
    -------
    ndarray of int, shape (n,)
    """
    folds = np.empty(n, dtype=np.int64)
    if clusters is not None:
        ids, inverse, sizes = np.unique(clusters, return_inverse=True, return_counts=True)
        if len(ids) < n_folds:
            raise PLCEError(
                f"Grouped folds need at least n_folds={n_folds} clusters; the data have {len(ids)}."
            )
        order = rng.permutation(len(ids))
        # greedy: each cluster (in random order) goes to the currently smallest fold
        load = np.zeros(n_folds)
        cl_fold = np.empty(len(ids), dtype=np.int64)
        for c in order[np.argsort(-sizes[order], kind="stable")]:
            f = int(np.argmin(load))
            cl_fold[c] = f
            load[f] += sizes[c]
        return cl_fold[inverse]
    if strata is None:
        perm = rng.permutation(n)
        folds[perm] = np.arange(n) % n_folds
        return folds
    offset = int(rng.integers(n_folds))
    order = rng.permutation(n)
    # stable sort of a random permutation by stratum: random order within each stratum
    order = order[np.argsort(strata[order], kind="stable")]
    folds[order] = (offset + np.arange(n)) % n_folds
    return folds


@dataclass(frozen=True)
class CrossfitPlan:
    """Folds and learner seeds for every repetition."""

    folds: np.ndarray  # (n_rep, n)
    seeds: np.ndarray  # (n_rep, n_folds, n_seeds) integer learner seeds
    entropy: int
    n_folds: int

    @property
    def n_rep(self) -> int:
        return int(self.folds.shape[0])

    def split(self, r: int, k: int) -> tuple[np.ndarray, np.ndarray]:
        f = self.folds[r]
        return np.flatnonzero(f != k), np.flatnonzero(f == k)

    def seed(self, r: int, k: int, role: str) -> int:
        """The integer seed of the learner (or random draw) playing ``role`` in fold ``k`` of repetition ``r``."""
        slot = ROLE_SLOTS.get(role)
        if slot is not None:
            return int(self.seeds[r, k, slot])
        ss = np.random.SeedSequence(self.entropy, spawn_key=(r, k, zlib.crc32(role.encode())))
        return int(ss.generate_state(1, dtype=np.uint32)[0] % (2**31 - 1))


def make_plan(
    n: int,
    *,
    n_folds: int,
    n_rep: int,
    random_state,
    strata: np.ndarray | None = None,
    clusters: np.ndarray | None = None,
    n_seeds: int = N_SLOTS,
) -> CrossfitPlan:
    """Draw the folds of every repetition and the seeds of every learner clone."""
    if not isinstance(n_folds, (int, np.integer)) or n_folds < 2:
        raise PLCEError(f"n_folds must be an integer >= 2 (cross-fitting needs held-out folds); got {n_folds!r}.")
    if not isinstance(n_rep, (int, np.integer)) or n_rep < 1:
        raise PLCEError(f"n_rep must be a positive integer; got {n_rep!r}.")
    if n < 2 * n_folds:
        raise PLCEError(
            f"{n} usable rows are too few for {n_folds}-fold cross-fitting (need at least "
            f"{2 * n_folds}); use fewer folds or more data."
        )
    ss, entropy = seed_sequence(random_state)
    children = ss.spawn(n_rep)
    folds = np.empty((n_rep, n), dtype=np.int64)
    seeds = np.empty((n_rep, n_folds, n_seeds), dtype=np.int64)
    for r, child in enumerate(children):
        fold_ss, seed_ss = child.spawn(2)
        folds[r] = make_folds(n, n_folds, np.random.default_rng(fold_ss), strata=strata, clusters=clusters)
        seeds[r] = (seed_ss.generate_state(n_folds * n_seeds, dtype=np.uint32) % (2**31 - 1)).reshape(
            n_folds, n_seeds
        )
    for r in range(n_rep):
        counts = np.bincount(folds[r], minlength=n_folds)
        if (counts == 0).any():
            raise PLCEError(f"Repetition {r}: a fold is empty; use fewer folds.")
    return CrossfitPlan(folds=folds, seeds=seeds, entropy=entropy, n_folds=int(n_folds))


def plan_from_folds(folds, n: int, *, random_state) -> CrossfitPlan:
    """A plan from user-given fold labels, checked to be a partition of the units into folds 0..K-1.

    ``folds`` is (n,) or (n_rep, n) integer labels; every label 0..K-1 must occur and every unit must have one. The
    labels set the number of folds and repetitions (``n_folds`` and ``n_rep`` are then not used).
    """
    arr = np.asarray(folds)
    if arr.dtype == object or arr.ndim not in (1, 2) or arr.shape[-1] != n:
        raise PLCEError(f"folds must be integer labels of shape ({n},) or (n_rep, {n}) for the {n} rows used; "
                        f"got shape {arr.shape}.")
    if not np.issubdtype(arr.dtype, np.integer):
        if not (np.issubdtype(arr.dtype, np.floating) and np.all(np.isfinite(arr)) and np.all(arr == np.round(arr))):
            raise PLCEError("folds must be integer labels 0, 1, ..., K-1.")
    arr = arr.astype(np.int64).reshape(-1, n)
    if arr.min() < 0:
        raise PLCEError(f"folds has negative labels ({int(arr.min())}); every unit needs a fold 0..K-1, so that it "
                        "is held out once.")
    K = int(arr.max()) + 1
    if K < 2:
        raise PLCEError("folds has a single label; cross-fitting needs at least 2 folds.")
    for r in range(arr.shape[0]):
        missing = np.setdiff1d(np.arange(K), np.unique(arr[r]))
        if missing.size:
            raise PLCEError(f"folds (repetition {r}) has no unit with label(s) {missing.tolist()}; labels must be "
                            f"0..{K - 1} with none skipped.")
    base = make_plan(n, n_folds=K, n_rep=arr.shape[0], random_state=random_state)
    return CrossfitPlan(folds=arr, seeds=base.seeds, entropy=base.entropy, n_folds=K)


def run_tasks(func: Callable, tasks: Sequence, *, n_jobs: int = 1, progress: bool = False, desc: str = "") -> list:
    """Map ``func`` over ``tasks``, in order, optionally in parallel through joblib."""
    if progress:
        from tqdm.auto import tqdm
    if n_jobs in (None, 1) or len(tasks) <= 1:
        it = tqdm(tasks, desc=desc, leave=False) if progress else tasks
        return [func(t) for t in it]
    from joblib import Parallel, delayed

    par = Parallel(n_jobs=n_jobs, return_as="generator")
    gen = par(delayed(func)(t) for t in tasks)
    if progress:
        gen = tqdm(gen, total=len(tasks), desc=desc, leave=False)
    return list(gen)

"""What the options mean for one design: the data-dependent defaults, decided once.

:func:`resolve` turns :class:`~plce.options.FitOptions` and a :class:`~plce.design.Design` into a
:class:`FitPlan`: the learners (checked), the fold plan, the estimand and how the treatment variance is
estimated, the final stage's control terms (built once), the group factor absorbed in the final stage, the
inference settings (:class:`Inference`: covariance type and clusters) and the interference specification.
:func:`plce.estimate.estimate` then runs the plan; nothing downstream re-reads the options for a decision
that depends on the data.
"""
from __future__ import annotations

import dataclasses
import sys
from dataclasses import dataclass

import numpy as np

from .crossfit import CrossfitPlan, make_plan, plan_from_folds
from .design import Design
from .errors import FewGroupsWarning, PLCEError, PositivityWarning, warn
from .final import final_terms, normalize_cov_type, singleton_rows
from .learners import check_learner, classifier_for
from .options import FitOptions
from .random_effects import check_groups
from .variance import is_binary

__all__ = ["FitPlan", "Inference", "resolve", "resolve_inference", "AUTO_PARALLEL_N", "FEW_CLUSTERS"]

#: from this many rows on, n_jobs=None means all cores
AUTO_PARALLEL_N = 20_000
#: cluster-robust standard errors warn below this many clusters
FEW_CLUSTERS = 20
#: progress="auto" shows a bar from this many rows on (and only on an interactive terminal)
AUTO_PROGRESS_N = 20_000


@dataclass(frozen=True)
class Inference:
    """How the final stage's covariance is computed: type, clusters, t or normal."""

    cov_type: str
    clusters: np.ndarray | None = None
    cluster_names: tuple[str, ...] = ()
    n_clusters: tuple[int, ...] = ()
    use_t: bool = False
    note: str = ""  # said in the summary (e.g. the fall-back when too few clusters are left)
    kernel: object = None  # sparse (n, n) Conley or network weights over the design rows (cov_type conley/network)
    kernel_label: str = ""

    @property
    def df_t(self) -> int | None:
        """Degrees of freedom of the t distribution for clustered SEs: G - 1 (Stata's and statsmodels' rule)."""
        return min(self.n_clusters) - 1 if self.cov_type == "cluster" and self.n_clusters else None


@dataclass(frozen=True)
class FitPlan:
    """The resolved plan of one fit (see :func:`resolve`)."""

    learner_y: object
    learner_t: object
    learner_v: object | None
    n_jobs: int
    crossfit: CrossfitPlan
    estimand: str  # "ate", "att", "atc" or "variance_weighted"
    weighting: str | None  # how s2(x) is estimated: "model", "binary" or None (no weights)
    terms: np.ndarray | None  # the control terms (n, q): final-stage columns and the variance model's start
    terms_form: str  # "none", "linear" or "quadratic"
    final: str  # "feasible" or "residual"
    interact: bool  # effect interactions with the terms
    absorb: tuple | None  # group codes of the factors absorbed in the final stage (None: none)
    inference: Inference
    interference: object | None = None  # plce.interference.InterferenceSpec
    rows: np.ndarray | None = None  # design rows of the final stage (None: all); singletons of absorbed factors out
    absorbed_names: tuple[str, ...] = ()
    learned_effects: bool = False  # a cross-fitted theta_hat(x) joins the effect interactions (plce.effects)
    average_effect: str = "population"  # what the SE is for: "population" or "sample"
    known_m: np.ndarray | None = None  # (n, k) known treatment mean of a randomized treatment (design="experiment")
    known_s2: np.ndarray | None = None  # (n,) its known variance
    trend: np.ndarray | None = None  # (n, q) spline surface of the coordinates in the final stage (plce.trend)
    trend_label: str = ""  # what it is, for the summary

    @property
    def n_rep(self) -> int:
        return self.crossfit.n_rep

    @property
    def final_terms(self) -> np.ndarray | None:
        """The control terms as final-stage columns (the feasible form only)."""
        return self.terms if self.final == "feasible" else None

    @property
    def final_terms_form(self) -> str:
        return self.terms_form if self.final == "feasible" else "none"

    @property
    def n_folds(self) -> int:
        return self.crossfit.n_folds


def _kernel(cov: str, options: FitOptions, design: Design, data, interference) -> tuple[object, str]:
    """The Conley or network weights of ``cov_type="conley"/"network"`` over the design rows, and a label."""
    from .spatial import kernel_matrix, network_matrix

    kw = dict(options.cov_kwds or {})
    unknown = set(kw) - ({"coords", "cutoff", "kernel", "distance"} if cov == "conley" else {"W"})
    if unknown:
        raise PLCEError(f"cov_kwds for cov_type='{cov}' takes " + ("coords, cutoff, kernel, distance"
                        if cov == "conley" else "W") + f"; got {sorted(unknown)}.")
    if cov == "conley":
        coords = kw.get("coords")
        if coords is None and interference is not None and interference.kind == "coordinates":
            coords = interference.proximity
        elif isinstance(coords, (str, list, tuple)) and all(isinstance(c, str) for c in np.atleast_1d(coords)):
            import pandas as pd

            cols = [coords] if isinstance(coords, str) else list(coords)
            if not isinstance(data, pd.DataFrame) or any(c not in data.columns for c in cols):
                raise PLCEError(f"cov_kwds coords {cols} must be columns of the data.")
            coords = data.loc[design.row_mask, cols].to_numpy(dtype=float)
        elif coords is not None:
            coords = np.asarray(coords, dtype=float)
            coords = coords.reshape(len(coords), -1)
            if len(coords) == len(design.row_mask) and len(coords) != design.nobs:
                coords = coords[design.row_mask]
            if len(coords) != design.nobs:
                raise PLCEError(f"cov_kwds coords has {len(coords)} rows; the data have {len(design.row_mask)}.")
        if coords is None or "cutoff" not in kw:
            raise PLCEError("cov_type='conley' needs cov_kwds={'coords': ['lat', 'lon'], 'cutoff': distance} "
                            "(optional 'kernel': 'bartlett' or 'uniform', 'distance': 'euclidean' or 'haversine' for "
                            "kilometres on lat/lon).")
        kernel, distance = kw.get("kernel", "bartlett"), kw.get("distance", "euclidean")
        K = kernel_matrix(coords, kw["cutoff"], kernel=kernel, distance=distance)
        unit = " km" if distance == "haversine" else ""
        return K, f"{kernel} kernel, cutoff {kw['cutoff']:g}{unit} ({distance} distance)"
    W = kw.get("W")
    if W is None and interference is not None and interference.kind == "matrix":
        return network_matrix(interference.proximity), "the interference weight matrix's links"
    if W is None:
        raise PLCEError("cov_type='network' needs cov_kwds={'W': matrix} (n x n over the rows of the data) or "
                        "interference=W.")
    from scipy import sparse

    W = sparse.csr_matrix(W)
    if W.shape[0] == len(design.row_mask) and W.shape[0] != design.nobs:
        idx = np.flatnonzero(design.row_mask)
        W = W[idx][:, idx]
    if W.shape[0] != design.nobs:
        raise PLCEError(f"cov_kwds W is {W.shape[0]} x {W.shape[1]}; the data have {len(design.row_mask)} rows.")
    return network_matrix(W), "the links of the given weight matrix"


def resolve_inference(options: FitOptions, design: Design, rows: np.ndarray | None = None, *, data=None,
                      interference=None, weighted: bool = False) -> Inference:
    """Covariance type and clusters: cluster-robust when clusters are given, else by the first fixed effect or
    random-intercept factor when the formula has one (fixest's default), otherwise HC1 -- or HC2 when the final stage
    is weighted (``weighted``), whose large weights give some units high leverage that HC1 ignores.

    ``rows`` are the design rows of the final stage (singletons and trimmed units left out): clusters are counted
    there. With fewer than two clusters left there the standard errors fall back to HC1, with a warning and a note.
    """
    clusters, names, source = design.clusters, design.cluster_names, "given"
    given = options.cov_type
    factors = {**design.fixed_effects, **design.groups}
    if clusters is None and factors and (given is None or given.lower() in ("cluster", "clustered")):
        first = next(iter(factors))
        clusters, names = factors[first][:, None], (first,)
        source = "fixed effect" if first in design.fixed_effects else "random effect"
    has = clusters is not None
    default = "cluster" if has else ("HC2" if weighted else "HC1")
    cov = normalize_cov_type(given if given is not None else default, has_clusters=has)
    if has and design.clusters is not None and cov != "cluster":
        raise PLCEError(f"cluster={list(design.cluster_names)} was given with cov_type={given!r}, which ignores "
                        "clusters; drop cov_type (clustered standard errors are then the default) or drop cluster= "
                        "(Stata's vce(cluster) and vce(hc3) are exclusive too).")
    n_clusters: tuple[int, ...] = ()
    note = ""
    if cov in ("conley", "network"):
        K, label = _kernel(cov, options, design, data, interference)
        return Inference(cov_type=cov, use_t=bool(options.use_t), kernel=K, kernel_label=label)
    if has and cov == "cluster":
        cl = clusters if rows is None else clusters[rows]
        n_clusters = tuple(int(len(np.unique(cl[:, j]))) for j in range(cl.shape[1]))
        if min(n_clusters) < 2:
            note = (f"Cluster-robust standard errors by {list(names)} need at least 2 clusters with units in the final "
                    f"stage; there are {min(n_clusters)} (singleton groups carry no within-group information), so "
                    "the standard errors fall back to HC1.")
            warn(note, FewGroupsWarning)
            return Inference(cov_type="HC1", use_t=bool(options.use_t), note=note)
        if min(n_clusters) < FEW_CLUSTERS and source != "random effect":
            warn(f"Only {min(n_clusters)} clusters (by {', '.join(names)}) in the final stage: cluster-robust "
                 f"standard errors can be too small with fewer than about {FEW_CLUSTERS} clusters.",
                 FewGroupsWarning)
    if cov != "cluster":
        clusters, names = None, ()
    return Inference(cov_type=cov, clusters=clusters, cluster_names=tuple(names), n_clusters=n_clusters,
                     use_t=bool(options.use_t), note=note)


def recount_clusters(inference: Inference, rows: np.ndarray | None) -> Inference:
    """The same inference with its clusters counted on ``rows`` (after trimming)."""
    if inference.clusters is None or rows is None:
        return inference
    cl = inference.clusters[rows]
    counts = tuple(int(len(np.unique(cl[:, j]))) for j in range(cl.shape[1]))
    if min(counts) < 2:
        raise PLCEError(f"After trimming, the final stage has units in {min(counts)} cluster(s); cluster-robust "
                        "standard errors need at least 2. Trim less, or use cov_type='HC1'.")
    return dataclasses.replace(inference, n_clusters=counts)


def _estimand(options: FitOptions, design: Design) -> str:
    k = design.T.shape[1]
    est = options.estimand if options.estimand is not None else ("ate" if k == 1 else "variance_weighted")
    if est != "variance_weighted" and k > 1:
        raise PLCEError(f"estimand={est!r} (heteroskedasticity=True) supports one treatment; with several, use "
                        "estimand='variance_weighted' (the classic partially linear estimand) or fit one treatment "
                        "at a time.")
    if est in ("att", "atc") and not is_binary(design.T[:, 0]):
        raise PLCEError(f"estimand={est!r} needs a 0/1 treatment; for a continuous one use 'ate' (the average "
                        "effect) or 'variance_weighted'.")
    return est


#: a 0/1 treatment whose smaller arm has fewer units than this gets a warning
FEW_IN_ARM = 20


def _check_identified(design: Design) -> None:
    """Refuse a treatment that is an exact linear function of the numeric controls (its effect is not identified)."""
    if design.X.shape[1] == 0:
        return
    X = design.numeric_X()
    if X.shape[1] > design.nobs / 2:  # many dummies span anything: check the numeric controls alone
        X = design.X[[c for c in design.X.columns if c not in design.categorical_controls]].to_numpy(dtype=float)
        if X.shape[1] == 0:
            return
    Z = np.column_stack([np.ones(design.nobs), (X - X.mean(0)) / np.where(X.std(0) > 0, X.std(0), 1.0)])
    for j, name in enumerate(design.treatment_names):
        t = design.T[:, j]
        coef, *_ = np.linalg.lstsq(Z, t, rcond=None)
        rss, tss = float(np.sum((t - Z @ coef) ** 2)), float(np.sum((t - t.mean()) ** 2))
        if tss > 0 and rss <= 1e-10 * tss:
            labels = list(design.labels.values())
            cols = design.numeric_frame().columns if X.shape[1] == design.numeric_frame().shape[1] else \
                [c for c in design.X.columns if c not in design.categorical_controls]
            lab = design.labels
            top = [lab.get(cols[i], cols[i]) for i in np.argsort(-np.abs(coef[1:]))[:3] if abs(coef[1 + i]) > 1e-8]
            raise PLCEError(f"The treatment '{name}' is an exact linear function of the controls ({', '.join(top)}): "
                            "no variation is left to estimate its effect from (it is not identified). Remove the "
                            f"controls that determine it, or check the data (controls: {labels[:8]}).")


def _check_arms(design: Design, k: int) -> None:
    """A 0/1 treatment needs both arms in every fold, and warns when one arm is small."""
    if design.T.shape[1] != 1 or not is_binary(design.T[:, 0]):
        return
    t = design.T[:, 0]
    n1, n0 = int(t.sum()), int(len(t) - t.sum())
    small = min(n1, n0)
    arm = "treated" if n1 <= n0 else "control"
    if small < k:
        raise PLCEError(f"Only {small} {arm} units of {len(t)}: fewer than the {k} folds, so some training folds "
                        "would have none and the propensity model could not be fitted. An effect estimated from so "
                        "few units is not credible; if you must, use n_folds=2.")
    if small < FEW_IN_ARM:
        warn(f"Only {small} {arm} units of {len(t)}: the estimate rests on very few units and its standard error on "
             "asymptotics that need many more; read it with care (a randomization or exact test may suit better).",
             PositivityWarning)


def _check_rows_for_learners(design: Design, k: int, learners) -> None:
    """LightGBM learners need training folds of at least twice ``min_child_samples`` rows to make any split."""
    n_train = design.nobs * (k - 1) // k
    for lrn in learners:
        try:
            mcs = int(lrn.get_params().get("min_child_samples", 0)) if type(lrn).__module__.startswith(
                "lightgbm") else 0
        except Exception:
            mcs = 0
        if mcs and n_train < 2 * mcs:
            raise PLCEError(f"Too few rows for the learner: {design.nobs} rows give training folds of about {n_train} "
                            f"rows, but LightGBM needs min_child_samples={mcs} rows per leaf, so its trees cannot "
                            "split and every prediction would be a constant. Pass learner=plce.learners.default_"
                            f"learner(min_child_samples={max(2, n_train // 4)}) (and the same for learner_t), a "
                            "linear learner, or more data.")


def _experiment(options: FitOptions, design: Design, data) -> tuple[np.ndarray | None, np.ndarray | None]:
    """The known mean and variance of a randomized treatment (``design="experiment"`` or ``propensity=``)."""
    if options.design != "experiment" and options.propensity is None:
        return None, None
    if design.T.shape[1] != 1:
        raise PLCEError("design='experiment' takes one treatment; fit one at a time.")
    t = design.T[:, 0]
    binary = is_binary(t)
    p = options.propensity
    if p is None:
        mean = np.full(design.nobs, t.mean())
    else:
        if not binary:
            raise PLCEError("propensity= is the known assignment probability of a 0/1 treatment; for a continuous "
                            "randomized treatment use design='experiment' alone.")
        if isinstance(p, str):
            import pandas as pd

            if not isinstance(data, pd.DataFrame) or p not in data.columns:
                raise PLCEError(f"propensity='{p}' must be a column of the data (the known assignment probability "
                                "of each unit).")
            mean = pd.to_numeric(data[p], errors="coerce").to_numpy(dtype=float)[design.row_mask]
        elif isinstance(p, (int, float, np.floating)) and not isinstance(p, bool):
            mean = np.full(design.nobs, float(p))
        else:
            raise PLCEError(f"propensity must be a number in (0, 1) or a column name; got {type(p).__name__}.")
        if not (np.all(np.isfinite(mean)) and np.all((mean > 0) & (mean < 1))):
            raise PLCEError("propensity must lie strictly between 0 and 1 for every unit used.")
    var = mean * (1 - mean) if binary else np.full(design.nobs, t.var())
    return mean[:, None], var


def _crossfit(options: FitOptions, design: Design) -> CrossfitPlan:
    if options.grouped_folds and design.clusters is None:
        raise PLCEError("grouped_folds=True needs cluster=<column> to know which units belong together.")
    if options.folds is not None:
        return plan_from_folds(options.folds, design.nobs, random_state=options.random_state)
    factors = list(design.groups.values()) + list(design.fixed_effects.values())
    strata = factors[0] if factors else None
    if design.T.shape[1] == 1 and is_binary(design.T[:, 0]):  # every fold gets treated and control units
        t = design.T[:, 0].astype(np.int64)
        strata = t if strata is None else 2 * strata + t
    return make_plan(design.nobs, n_folds=options.n_folds, n_rep=options.n_rep, random_state=options.random_state,
                     strata=strata, clusters=design.clusters[:, 0] if options.grouped_folds else None)


def resolve(options: FitOptions, design: Design, *, data=None, interference=None,
            crossfit: CrossfitPlan | None = None) -> FitPlan:
    """Fix every data-dependent default of a fit.

    Parameters
    ----------
    options : FitOptions
    design : Design
    data : DataFrame, optional
        The user's data, for interference coordinates named by column.
    interference : plce.interference.InterferenceSpec, optional
        An already checked interference specification (a refit on the same rows reuses it).
    crossfit : CrossfitPlan, optional
        Folds and seeds to reuse (a refit on the same rows).
    """
    from .interference import interference_spec

    d = design
    n_jobs = options.n_jobs if options.n_jobs is not None else (1 if d.nobs < AUTO_PARALLEL_N else -1)
    binary = d.T.shape[1] == 1 and is_binary(d.T[:, 0])
    learner_y = check_learner(options.learner, "learner")
    if options.learner_t is not None:
        learner_t = check_learner(options.learner_t, "learner_t", classifier=binary)
    elif binary:  # a propensity model: the default classifier, or the classifier matching the given learner
        learner_t = check_learner(None if options.learner is None else classifier_for(learner_y), "learner",
                                  classifier=True)
    else:
        learner_t = learner_y
    check_groups(d)
    if crossfit is None:
        crossfit = _crossfit(options, d)
    _check_identified(d)
    _check_arms(d, crossfit.n_folds)
    _check_rows_for_learners(d, crossfit.n_folds, [learner_y, learner_t])
    absorbed = {}
    if options.final == "feasible":
        absorbed.update(d.fixed_effects)
        if options.re_final == "within":
            absorbed.update(d.groups)
    rows = None
    if absorbed:
        drop = singleton_rows(list(absorbed.values()))
        if drop.all():
            raise PLCEError(f"Every unit is a singleton of {list(absorbed)} (alone in its group): nothing is left "
                            "within groups to estimate the effect from.")
        rows = ~drop if drop.any() else None
    spec = interference
    if spec is None and options.interference is not False and options.interference is not None:
        spec = interference_spec(options.interference, data=data, row_mask=d.row_mask, n=d.nobs,
                                 top_k=options.interference_top_k)
    estimand = _estimand(options, d)
    inference = resolve_inference(options, d, rows, data=data, interference=spec,
                                  weighted=estimand != "variance_weighted")

    weighted = estimand != "variance_weighted"
    known_m, known_s2 = _experiment(options, d, data)
    experiment = known_m is not None
    if options.trim is not None and not binary:
        raise PLCEError("trim= needs a single 0/1 treatment (it trims on the propensity); with a continuous "
                        "treatment the variance floor (weight_floor=) plays that role.")
    if options.trim is not None and not weighted:
        raise PLCEError("trim= trims for the weighted estimands (ate, att, atc); with estimand='variance_weighted' "
                        "there are no propensity weights to stabilise.")
    binary = is_binary(d.T[:, 0])
    tv = options.treatment_variance
    method = ("binary" if binary else "model") if tv == "auto" else tv
    if weighted and method == "binary" and not binary:
        raise PLCEError("treatment_variance='binary' needs a 0/1 treatment; use treatment_variance='model'.")
    learner_v = None
    if weighted and method == "model" and not experiment:
        given = options.variance_learner if options.variance_learner is not None else options.learner
        learner_v = check_learner(given, "variance_learner")

    # in an experiment the final-stage terms only buy precision: Lin's (2013) linear covariates, with the outcome
    # model's prediction (the learned effect column below) carrying what is nonlinear (docs/method.rst)
    requested = "linear" if experiment and options.final_controls == "auto" else options.final_controls
    terms, form = final_terms(d, requested)
    if options.effect_interactions is True and options.final == "feasible" and form == "none":
        raise PLCEError("effect_interactions=True interacts the treatment with the final stage's control terms, "
                        "but there are none (no controls, or linear_controls=False / final_controls='none' / too "
                        "many for 'auto'); set final_controls='linear' or 'quadratic', or effect_interactions=False.")
    interact = (weighted if options.effect_interactions == "auto" else bool(options.effect_interactions))
    learned = (options.effect_model == "learned" or experiment) and interact and options.final == "feasible" \
        and d.X.shape[1] > 0
    interact = interact and (form != "none" or learned) and options.final == "feasible"

    absorb = tuple(absorbed.values()) or None
    trend, trend_label = _trend(options, d, data, spec)

    return FitPlan(learner_y=learner_y, learner_t=learner_t, learner_v=learner_v, n_jobs=int(n_jobs),
                   crossfit=crossfit, estimand=estimand, weighting=method if weighted else None, terms=terms,
                   terms_form=form, final=options.final, interact=interact, absorb=absorb, inference=inference,
                   interference=spec, rows=rows, absorbed_names=tuple(absorbed), learned_effects=learned,
                   average_effect=options.average_effect or ("sample" if experiment else "population"),
                   known_m=known_m, known_s2=known_s2, trend=trend, trend_label=trend_label)


def _trend(options: FitOptions, design: Design, data, spec) -> tuple[np.ndarray | None, str]:
    """The spatial trend's final-stage columns (``spatial_trend``) and their label.

    ``"auto"``: with coordinates as the interference (``interference=['lat', 'lon']``), a tensor-product spline of
    them with :func:`plce.trend.default_df` functions per coordinate; otherwise none. ``True`` or an integer: the
    same (the integer sets the functions per coordinate), and an error without coordinates. Column names: a spline
    of those columns, whatever the interference.
    """
    from .interference import coordinates
    from .trend import default_df, trend_basis

    v = options.spatial_trend
    if v is False or (isinstance(v, np.bool_) and not v):
        return None, ""
    explicit = v != "auto" if isinstance(v, str) else True
    if isinstance(v, (list, tuple)):
        coords, name = coordinates(list(v), data, design.row_mask, design.nobs, "spatial_trend"), ",".join(v)
    elif spec is not None and spec.kind == "coordinates":
        coords, name = spec.proximity, spec.name
    elif explicit:
        raise PLCEError("spatial_trend needs coordinates: give them as interference=['lat', 'lon'] or as "
                        "spatial_trend=['lat', 'lon'].")
    else:
        return None, ""
    if options.final != "feasible":
        if explicit:
            raise PLCEError("spatial_trend adds final-stage columns, which final='residual' does not take; use "
                            "final='feasible' or spatial_trend=False.")
        return None, ""
    df = int(v) if isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_)) else \
        default_df(design.nobs, coords.shape[1])
    if df < 4:
        if explicit:
            raise PLCEError(f"spatial_trend: {design.nobs} units are too few for a spline surface of the "
                            "coordinates; use spatial_trend=False.")
        return None, ""
    B = trend_basis(coords, df)
    return B, f"cubic spline surface of ({name}) ({df} functions per coordinate, {B.shape[1]} columns)"


def show_progress(options: FitOptions, design: Design) -> bool:
    """``progress="auto"``: a bar for large fits on an interactive terminal, none in tests and pipes."""
    if options.progress != "auto":
        return bool(options.progress)
    try:
        tty = sys.stderr.isatty()
    except (AttributeError, ValueError):
        tty = False
    return tty and design.nobs >= AUTO_PROGRESS_N

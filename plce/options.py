"""Fit options as data: one frozen, typed object, validated once.

:class:`FitOptions` holds every option of :meth:`plce.PLCE.fit`. Choice options are ``Literal`` types, and the
annotation is the only list of allowed values: :meth:`FitOptions.__post_init__` reads it. Unknown keywords get a
:class:`~plce.errors.PLCEError` with the closest valid names (:meth:`FitOptions.from_kwargs`). Nothing here looks at
data; what depends on the data (the cluster default, ``n_jobs``, the final stage's control terms, the estimand for
several treatments) is decided by :func:`plce.plan.resolve`.

Renamed options keep their old names as aliases (:data:`ALIASES`): ``heteroskedasticity=True/False`` is
``estimand="ate"/"variance_weighted"``, ``linear_controls`` is ``final_controls`` and ``variance`` is
``treatment_variance``.
"""
from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass, field
from typing import Any, Literal, Mapping

import numpy as np

from .errors import PLCEError, closest_names, warn

__all__ = ["FitOptions", "ALIASES", "DESIGN_ARGUMENTS", "Estimand", "literal_values"]

Final = Literal["feasible", "residual"]
Aggregate = Literal["median", "hl"]
ControlsForm = Literal["auto", "none", "linear", "quadratic"]
Estimand = Literal["ate", "att", "atc", "variance_weighted"]
TreatmentVariance = Literal["auto", "model", "binary"]
REFinal = Literal["within", "columns"]
EffectModel = Literal["terms", "learned"]
Study = Literal["observational", "experiment"]
AverageEffect = Literal["population", "sample"]

#: user-facing synonyms of the estimand values (Stata's ``atet``, DoubleML's ``ATTE``, the PLR name)
ESTIMAND_SYNONYMS = {"average": "ate", "ame": "ate", "atet": "att", "atte": "att", "atu": "atc",
                     "plr": "variance_weighted", "vw": "variance_weighted"}

#: old option name -> (new name, function of the old value giving the new one)
ALIASES = {
    "heteroskedasticity": ("estimand", lambda v: None if v is None else ("ate" if v else "variance_weighted")),
    "linear_controls": ("final_controls", lambda v: {True: "linear", False: "none"}.get(v, v)
                        if isinstance(v, bool) else v),
    "variance": ("treatment_variance", lambda v: v),
}

#: arguments of ``ols_ml`` / ``PLCE.from_formula`` that describe the data, not the fit
DESIGN_ARGUMENTS = ("cluster", "missing", "weights")


def literal_values(tp) -> tuple:
    """The allowed values of a ``Literal`` annotation (also inside ``Optional``)."""
    if typing.get_origin(tp) is Literal:
        return typing.get_args(tp)
    out: tuple = ()
    for arg in typing.get_args(tp):
        out += literal_values(arg)
    return out


def _integer(name: str, value, *, at_least: int, allow_none: bool = False) -> None:
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < at_least:
        raise PLCEError(f"{name} must be an integer >= {at_least}; got {value!r}.")


@dataclass(frozen=True, kw_only=True)
class FitOptions:
    """Every option of :meth:`plce.PLCE.fit`, checked once.

    See :meth:`plce.PLCE.fit` for what each option does. Build it with :meth:`from_kwargs` (aliases and
    unknown keywords handled) or directly.

    Examples
    --------
    >>> from plce.options import FitOptions
    >>> FitOptions.from_kwargs({"n_rep": 5, "heteroskedasticity": False}).estimand
    'variance_weighted'
    """

    # cross-fitting
    n_folds: int = field(default=5, metadata={"help": "cross-fitting folds K"})
    n_rep: int = field(default=3, metadata={"help": "independent repetitions of the K-fold split"})
    grouped_folds: bool = field(default=False, metadata={"help": "keep each cluster within one fold"})
    random_state: Any = field(default=None, metadata={"help": "seed (int) or numpy Generator; None draws one"})
    n_jobs: int | None = field(default=None, metadata={"help": "parallel (repetition x fold) tasks"})
    progress: bool | Literal["auto"] = field(default="auto", metadata={"help": "progress bar"})
    folds: Any = field(default=None, metadata={"help": "fold labels (n_rep, n) instead of drawing them"})
    # learners
    learner: Any = field(default=None, metadata={"help": "learner of every nuisance model"})
    learner_t: Any = field(default=None, metadata={"help": "learner of the treatment model"})
    variance_learner: Any = field(default=None, metadata={"help": "learner of the treatment-variance model"})
    # estimand and final stage
    estimand: Estimand | None = field(default=None, metadata={
        "help": "ate (average effect), att/atc (0/1 treatment) or variance_weighted"})
    trim: float | Literal["crump"] | None = field(default=None, metadata={
        "help": "0/1 treatment: keep propensities in [a, 1-a], or 'crump'"})
    final: Final = field(default="feasible", metadata={"help": "final-stage form"})
    final_controls: ControlsForm = field(default="auto", metadata={"help": "control terms in the final stage"})
    effect_interactions: bool | Literal["auto"] = field(default="auto",
                                                        metadata={"help": "let the effect vary with them"})
    effect_model: EffectModel = field(default="terms", metadata={
        "help": "effect interactions with the control terms, or also a learned theta(x)"})
    average_effect: AverageEffect | None = field(default=None, metadata={
        "help": "what the SE is for (default population; sample in an experiment)"})
    design: Study = field(default="observational", metadata={
        "help": "experiment: the treatment was randomized (its mean is known, not learned)"})
    propensity: Any = field(default=None, metadata={
        "help": "known assignment probability (number or column) of a randomized 0/1 treatment"})
    aggregate: Aggregate = field(default="median", metadata={"help": "rule combining repetitions"})
    # treatment-variance weights
    treatment_variance: TreatmentVariance = field(default="auto", metadata={"help": "how Var(t|x) is estimated"})
    weight_floor: float = field(default=0.05, metadata={"help": "floor of Var(t|x) as a fraction of its mean"})
    inner_folds: int = field(default=2, metadata={"help": "inner split for the variance model"})
    # random intercepts, interference
    re_final: REFinal = field(default="within", metadata={"help": "with (1|g): within-group final stage"})
    re_iter: int = field(default=2, metadata={"help": "backfitting passes of the random-intercept models"})
    interference: Any = field(default=False, metadata={"help": "True, coordinate columns, or a weight matrix"})
    interference_top_k: int = field(default=10, metadata={"help": "interference features kept per model"})
    spatial_trend: Any = field(default="auto", metadata={
        "help": "smooth surface of the coordinates in the final stage: auto, False, df, or coordinate columns"})
    # inference
    cov_type: str | None = field(default=None, metadata={"help": "HC0-HC3, nonrobust, cluster, conley or network"})
    cov_kwds: Mapping | None = field(default=None, metadata={
        "help": "conley: coords, cutoff, kernel, distance; network: W"})
    use_t: bool = field(default=False, metadata={"help": "t distribution (G-1 df when clustered)"})
    # comparisons with other software (DoubleML's fit has the same argument)
    external_predictions: Mapping | None = field(default=None, metadata={"help": "nuisance predictions"})

    def __post_init__(self):
        hints = typing.get_type_hints(type(self))
        for f in dataclasses.fields(self):
            allowed = literal_values(hints[f.name])
            value = getattr(self, f.name)
            if allowed and f.name not in ("progress", "effect_interactions", "estimand", "trim") and not (
                    value is None and f.default is None):
                if value not in allowed:
                    raise PLCEError(f"{f.name} must be one of {', '.join(map(repr, allowed))}; got {value!r}.")
        if self.estimand is not None:
            est = self.estimand.lower() if isinstance(self.estimand, str) else self.estimand
            est = ESTIMAND_SYNONYMS.get(est, est)
            if est not in literal_values(hints["estimand"]):
                valid = ", ".join(repr(v) for v in literal_values(hints["estimand"]))
                raise PLCEError(f"estimand must be one of {valid} (or a synonym: "
                                f"{', '.join(sorted(ESTIMAND_SYNONYMS))}); got {self.estimand!r}.")
            object.__setattr__(self, "estimand", est)
        if self.trim is not None and not (self.trim == "crump" or (
                isinstance(self.trim, (int, float, np.floating)) and not isinstance(self.trim, bool)
                and 0 < float(self.trim) < 0.5)):
            raise PLCEError(f"trim must be a propensity threshold in (0, 0.5) (e.g. 0.05 keeps 0.05 <= p <= 0.95) or "
                            f"'crump' (Crump et al. 2009); got {self.trim!r}.")
        if self.progress not in (True, False, "auto"):
            raise PLCEError(f"progress must be True, False or 'auto'; got {self.progress!r}.")
        if not (isinstance(self.effect_interactions, (bool, np.bool_)) or self.effect_interactions == "auto"):
            raise PLCEError(f"effect_interactions must be True, False or 'auto'; got {self.effect_interactions!r}.")
        for name in ("grouped_folds", "use_t"):
            if not isinstance(getattr(self, name), (bool, np.bool_)):
                raise PLCEError(f"{name} must be True or False; got {getattr(self, name)!r}.")
        _integer("n_folds", self.n_folds, at_least=2)
        _integer("n_rep", self.n_rep, at_least=1)
        _integer("inner_folds", self.inner_folds, at_least=2)
        _integer("re_iter", self.re_iter, at_least=1)
        _integer("interference_top_k", self.interference_top_k, at_least=1)
        if self.n_jobs is not None and (isinstance(self.n_jobs, bool) or not isinstance(self.n_jobs, (int, np.integer))
                                        or self.n_jobs == 0):
            raise PLCEError(f"n_jobs must be a positive integer, -1 (all cores; -2 all but one, as joblib) or None; "
                            f"got {self.n_jobs!r}.")
        if not isinstance(self.weight_floor, (int, float, np.floating)) or isinstance(self.weight_floor, bool) \
                or not 0 < float(self.weight_floor) < 1:
            raise PLCEError(f"weight_floor must be in (0, 1) (a fraction of the mean variance); "
                            f"got {self.weight_floor!r}.")
        _check_trend(self.spatial_trend)
        if self.cov_type is not None and not isinstance(self.cov_type, str):
            raise PLCEError(f"cov_type must be a string such as 'HC1' or 'cluster'; got {self.cov_type!r}.")
        if self.effect_interactions is True and self.final != "feasible":
            raise PLCEError("effect_interactions=True needs final='feasible' (the control terms it interacts "
                            "with are final-stage columns of the feasible model).")
        if self.interference is not False and self.interference is not None and \
                self.external_predictions is not None:
            raise PLCEError("interference changes the learners' features, so it cannot be combined with "
                            "external_predictions; build the neighbour averages into your own predictions instead.")

    # ------------------------------------------------------------------ construction
    @classmethod
    def names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in dataclasses.fields(cls))

    @classmethod
    def from_kwargs(cls, kwargs: Mapping[str, Any]) -> "FitOptions":
        """Options from keyword arguments: old names mapped to new ones, unknown names refused with a hint."""
        kw = dict(kwargs)
        for old, (new, convert) in ALIASES.items():
            if old in kw:
                if new in kw:
                    raise PLCEError(f"Give either {old}= or its new name {new}=, not both.")
                kw[new] = convert(kw.pop(old))
        valid = cls.names()
        unknown = [k for k in kw if k not in valid]
        if unknown:
            k = unknown[0]
            candidates = valid + tuple(ALIASES) + DESIGN_ARGUMENTS
            hint = closest_names(k, candidates) or f" Valid options: {', '.join(valid)}."
            where = (f" {k}= belongs to the data, not the fit: pass it to plce.ols_ml or PLCE.from_formula."
                     if k in DESIGN_ARGUMENTS else "")
            raise PLCEError(f"Unknown option {k}=.{hint}{where}")
        return cls(**kw)

    def replace(self, **changes) -> "FitOptions":
        """A copy with some options changed (validated again)."""
        return dataclasses.replace(self, **changes)

    def changed(self) -> dict:
        """The options that differ from their defaults (printable ones only)."""
        out = {}
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if f.name in ("learner", "learner_t", "variance_learner", "external_predictions", "folds",
                          "interference", "random_state"):
                continue
            if v != f.default:
                out[f.name] = v
        return out


def _check_trend(v) -> None:
    ok = (v == "auto" if isinstance(v, str) else False) or isinstance(v, (bool, np.bool_)) or (
        isinstance(v, (int, np.integer)) and v >= 4) or (
        isinstance(v, (list, tuple)) and len(v) >= 1 and all(isinstance(c, str) for c in v))
    if not ok:
        raise PLCEError("spatial_trend must be 'auto' (with interference=['lat', 'lon']: a spline surface of those "
                        "coordinates), False, the spline's basis functions per coordinate (an integer >= 4, a "
                        f"cubic's minimum), or the coordinate columns (e.g. ['lat', 'lon']); got {v!r}.")


def warn_deprecated(kwargs: Mapping[str, Any]) -> None:
    """FutureWarning for an old option name (the option still works)."""
    for old, (new, _) in ALIASES.items():
        if old in kwargs:
            warn(f"{old}= is now called {new}= (the old name still works).", FutureWarning)

"""Nuisance learners: the default LightGBM configuration, checks, cloning and seeding.

The default learner is :class:`lightgbm.LGBMRegressor` with the settings in
:data:`DEFAULT_LGBM_PARAMS`. They are deliberately conservative, chosen to be
safe from a few hundred to millions of rows without tuning:

* ``n_estimators=300`` with ``learning_rate=0.03``, ``num_leaves=7`` and
  ``min_child_samples=40``: small, heavily shrunk trees. The nuisance
  predictions enter the final stage as regressors, and their *variance* acts
  like measurement error that attenuates theta (Ratkovic 2023's "semiparametric
  efficiency as a measurement error problem"), while their smooth *bias* is
  partly recalibrated by the final stage's linear coefficients. So plce errs
  towards low-variance fits. Measured at n = 1000 (24 seeds each, MC s.e.
  ~0.01): on the random-effects design, bias -0.071 with LightGBM's usual
  15 leaves / lr 0.075 / 200 trees versus -0.026 with these settings; on the
  baseline design -0.023 versus -0.013 (at a 15% larger SD);
* ``subsample=0.8`` (every round) and ``colsample_bytree=0.8``: light
  stochastic boosting, which smooths the step functions trees produce;
* ``reg_lambda=1``: a small ridge penalty on leaf values;
* ``deterministic=True``, ``force_row_wise=True``, ``n_jobs=1``: identical
  results for the same seed on any machine and for any ``n_jobs`` of plce
  (parallelism is over folds and repetitions, not inside LightGBM).

Any scikit-learn regressor may replace it: pass an *instance*; plce clones it
for each fold and sets its ``random_state`` from the fit's seed.

For a 0/1 treatment the treatment model is a probabilistic classifier
(:func:`default_classifier`: LightGBM with the binary log-loss and the same
settings), whose ``predict_proba`` is the propensity; ``learner_t`` may be any
classifier with ``predict_proba``, or a regressor (a linear probability model,
its predictions clipped where they leave (0, 1)). A classifier's hard ``predict``
is never used.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .errors import PLCEError

__all__ = ["DEFAULT_LGBM_PARAMS", "default_learner", "default_classifier", "check_learner", "seeded_clone",
           "is_lightgbm", "is_classifier", "classifier_for", "predict_target"]

DEFAULT_LGBM_PARAMS: dict = dict(
    n_estimators=300,
    learning_rate=0.03,
    num_leaves=7,
    min_child_samples=40,
    subsample=0.8,
    subsample_freq=1,
    colsample_bytree=0.8,
    reg_lambda=1.0,
    max_bin=255,
    deterministic=True,
    force_row_wise=True,
    n_jobs=1,
    verbose=-1,
)


def default_learner(**overrides):
    """The default nuisance learner, a LightGBM regressor.

    Parameters
    ----------
    **overrides
        LightGBM parameters that replace the defaults (e.g. ``n_estimators=500``).

    Examples
    --------
    >>> from plce.learners import default_learner
    >>> default_learner(n_estimators=100).get_params()["n_estimators"]
    100
    """
    from lightgbm import LGBMRegressor

    return LGBMRegressor(**{**DEFAULT_LGBM_PARAMS, **overrides})


def default_classifier(**overrides):
    """The default propensity model for a 0/1 treatment: a LightGBM classifier with the default settings.

    Examples
    --------
    >>> from plce.learners import default_classifier
    >>> type(default_classifier()).__name__
    'LGBMClassifier'
    """
    from lightgbm import LGBMClassifier

    return LGBMClassifier(**{**DEFAULT_LGBM_PARAMS, **overrides})


def is_classifier(learner) -> bool:
    """Whether ``learner`` is a scikit-learn classifier (``predict`` gives labels, not means)."""
    from sklearn.base import is_classifier as sk_is_classifier

    try:
        return bool(sk_is_classifier(learner))
    except Exception:  # an estimator without tags
        return getattr(learner, "_estimator_type", None) == "classifier"


def classifier_for(learner):
    """The treatment model for a 0/1 treatment when ``learner`` was given for every model.

    A LightGBM regressor becomes the classifier with the same parameters; a classifier stays; any other regressor
    is used as a linear probability model.
    """
    from lightgbm import LGBMClassifier, LGBMRegressor

    if type(learner) is LGBMRegressor:
        params = learner.get_params()
        if params.get("objective") in (None, "regression", "l2"):
            params.pop("objective", None)
            return LGBMClassifier(**params)
    return learner


def describe(learner) -> str:
    """A short label for the summary, e.g. ``LightGBM (300 trees, lr 0.03)``."""
    if is_lightgbm(learner):
        p = learner.get_params()
        return f"LightGBM ({p.get('n_estimators')} trees, lr {p.get('learning_rate')})"
    return type(learner).__name__


def is_lightgbm(learner) -> bool:
    return type(learner).__module__.startswith("lightgbm")


def check_learner(learner, role: str = "learner", *, classifier: bool = False):
    """Validate a user-supplied learner; return the default when ``None``.

    ``classifier=True`` (the treatment model of a 0/1 treatment) defaults to :func:`default_classifier` and
    accepts a classifier with ``predict_proba`` or a regressor; otherwise a classifier is refused.
    """
    if learner is None:
        return default_classifier() if classifier else default_learner()
    if isinstance(learner, type):
        raise PLCEError(
            f"{role} must be an estimator instance, not the class {learner.__name__}; "
            f"write {learner.__name__}() instead."
        )
    missing = [m for m in ("fit", "predict") if not callable(getattr(learner, m, None))]
    if missing:
        raise PLCEError(
            f"{role} of type {type(learner).__name__} has no {' or '.join(missing)} method; "
            "pass a scikit-learn style regressor (e.g. lightgbm.LGBMRegressor())."
        )
    if not callable(getattr(learner, "get_params", None)):
        raise PLCEError(
            f"{role} of type {type(learner).__name__} has no get_params method, so it cannot be "
            "cloned per fold; pass a scikit-learn compatible estimator."
        )
    if is_classifier(learner):
        if not classifier:
            raise PLCEError(
                f"{role} is a classifier ({type(learner).__name__}), but this model predicts a mean of a "
                "continuous variable (the outcome, or a non-binary treatment); pass a regressor, e.g. "
                "lightgbm.LGBMRegressor(). A classifier can serve as learner_t for a 0/1 treatment."
            )
        if not callable(getattr(learner, "predict_proba", None)):
            raise PLCEError(
                f"{role} ({type(learner).__name__}) is a classifier without predict_proba: its predict() gives "
                "hard 0/1 labels, which are not propensities. Pass a classifier with predict_proba (e.g. "
                "LogisticRegression(), lightgbm.LGBMClassifier()) or a regressor (a linear probability model)."
            )
    return learner


def seeded_clone(learner, seed: int):
    """A fresh, unfitted copy of ``learner`` with its ``random_state`` set to ``seed``.

    A plain :class:`lightgbm.LGBMRegressor` comes back wrapped in :class:`BoosterFit`, which fits the same model
    faster (same predictions to the bit).
    """
    from sklearn.base import clone

    est = clone(learner)
    params = est.get_params()
    if "random_state" in params:
        est.set_params(random_state=int(seed))
        params["random_state"] = int(seed)
    return BoosterFit(est, params) if BoosterFit.applies(est, params) else est


def predict_target(est, X) -> np.ndarray:
    """The fitted conditional mean: ``predict_proba(X)[:, 1]`` (the propensity) for a classifier, else ``predict``.

    A classifier's classes must be 0 and 1 (checked).
    """
    if isinstance(est, BoosterFit) or not is_classifier(est):
        return np.asarray(est.predict(X), dtype=float).reshape(-1)
    classes = [float(c) for c in getattr(est, "classes_", [0, 1])]
    if classes != [0.0, 1.0]:
        raise PLCEError(f"The treatment classifier saw classes {classes} in a training fold; a propensity needs "
                        "both 0 and 1 (too few treated or control units for the folds?).")
    return np.asarray(est.predict_proba(X), dtype=float)[:, 1]


class BoosterFit:
    """Fit and predict a LightGBM regressor or binary classifier through :func:`lightgbm.train`, keeping the booster.

    The scikit-learn wrapper passes its parameters to :func:`lightgbm.train` and then rebuilds the booster from
    its text dump to free the training data; on the few hundred to few thousand rows of a fold that round trip
    and the wrapper's parameter handling cost 10-30% of the fit (measured at n = 800). This class gives
    ``train`` the same parameters and keeps the booster as trained. Its predictions equal the wrapper's bit for
    bit (``tests/test_learners.py``); for a :class:`lightgbm.LGBMClassifier` on 0/1 labels, :meth:`predict` is the
    wrapper's ``predict_proba(X)[:, 1]``. Used only for the exact classes with a string (or default) objective, a
    positive ``n_jobs`` and no alias of ``objective`` or ``num_threads`` among its parameters (the wrapper
    resolves those itself); anything else goes through the wrapper.
    """

    #: parameter names the wrapper resolves against ``objective`` and ``n_jobs`` (LightGBM's aliases)
    RESOLVED_ALIASES = frozenset({"objective_type", "app", "application", "loss", "num_threads", "num_thread",
                                  "nthread", "nthreads"})

    def __init__(self, est, params: dict | None = None):
        from lightgbm import LGBMClassifier

        self.est = est
        self.params = dict(est.get_params() if params is None else params)  # get_params is slow-ish: once
        self.classifier = type(est) is LGBMClassifier
        self.booster_ = None

    @staticmethod
    def applies(est, params: dict | None = None) -> bool:
        try:
            from lightgbm import LGBMClassifier, LGBMRegressor
        except ImportError:  # pragma: no cover - lightgbm is a core dependency
            return False
        p = est.get_params() if params is None else params
        classifier_ok = type(est) is LGBMClassifier and p.get("objective") in (None, "binary")
        return ((type(est) is LGBMRegressor or classifier_ok) and isinstance(p.get("n_jobs"), int) and p["n_jobs"] > 0
                and (p.get("objective") is None or isinstance(p.get("objective"), str))
                and (p.get("random_state") is None or isinstance(p.get("random_state"), (int, np.integer)))
                and p.get("class_weight") is None and not BoosterFit.RESOLVED_ALIASES.intersection(p))

    def train_params(self) -> tuple[dict, int]:
        """The parameters the wrapper would give :func:`lightgbm.train`, and the number of rounds."""
        params = dict(self.params)
        rounds = int(params.pop("n_estimators"))
        for key in ("importance_type", "class_weight"):
            params.pop(key, None)
        default = "binary" if self.classifier else "regression"
        params["objective"] = params.get("objective") or default
        params["num_threads"] = params.pop("n_jobs")
        return params, rounds

    def fit(self, X, y, sample_weight=None):
        import lightgbm as lgb

        params, rounds = self.train_params()
        y = np.asarray(y, dtype=float)
        if self.classifier and not np.all((y == 0) | (y == 1)):
            raise PLCEError("The LightGBM classifier needs 0/1 labels.")
        if self.classifier and np.ptp(y) == 0:
            raise PLCEError(f"The treatment is {y[0]:g} for every unit of a training fold; a propensity model needs "
                            "treated and control units in every fold (too few of one arm for the folds?).")
        data = lgb.Dataset(X, label=y, weight=sample_weight, params=params)
        self.booster_ = lgb.train(params, data, num_boost_round=rounds, keep_training_booster=True)
        return self

    def predict(self, X) -> np.ndarray:
        return self.booster_.predict(X)

    def get_params(self, deep: bool = True) -> dict:
        return dict(self.params)


def fit_weighted(learner, X, y, sample_weight=None):
    """``learner.fit(X, y)``, with ``sample_weight`` when given (a PLCEError naming the learner if it takes none)."""
    if sample_weight is None:
        return learner.fit(X, y)
    try:
        return learner.fit(X, y, sample_weight=sample_weight)
    except TypeError as exc:
        if "sample_weight" not in str(exc):
            raise
        name = type(getattr(learner, "est", learner)).__name__
        raise PLCEError(f"The learner {name} does not take sample_weight, which weights= needs; use a learner that "
                        "does (LightGBM, LinearRegression, most scikit-learn regressors).") from None


def fit_predict(learner, X_train, y_train: np.ndarray, X_test, sample_weight=None) -> np.ndarray:
    """Fit on the training rows (with sampling weights when given) and predict the held-out rows."""
    return checked_predict(fit_weighted(learner, X_train, y_train, sample_weight), X_test)


def checked_predict(est, X_test) -> np.ndarray:
    """Predictions (propensities for a classifier) of a fitted learner, checked to be finite."""
    pred = predict_target(est, X_test)
    if not np.all(np.isfinite(pred)):
        raise PLCEError(
            f"The learner {type(est).__name__} returned non-finite predictions; "
            "check the controls for extreme values or use another learner."
        )
    return pred


def learner_matrix(learner, X: pd.DataFrame, X_numeric: np.ndarray | None):
    """The feature object a learner gets: the frame for LightGBM (native categoricals), else floats."""
    if is_lightgbm(learner):
        return X
    return X_numeric

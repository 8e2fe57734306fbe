"""The estimator: :class:`PLCE` and :func:`ols_ml`.

A fit is three steps, each a function of data: ``FitOptions.from_kwargs`` (options checked once),
:func:`plce.plan.resolve` (what they mean for this design) and :func:`plce.estimate.estimate` (cross-fitting and
the final stage); :class:`~plce.results.PLCEResults` stores all three and computes nothing else.
"""
from __future__ import annotations

from typing import Sequence

from . import design as _design
from .estimate import estimate
from .formula import parse
from .options import FitOptions, warn_deprecated
from .plan import resolve, show_progress
from .results import PLCEResults

__all__ = ["PLCE", "ols_ml"]


class PLCE:
    """Partially linear causal-effect model (Ratkovic 2023) with cross-fitted ML controls.

    Parameters
    ----------
    y : array-like, shape (n,)
        Outcome.
    t : array-like, shape (n,) or (n, k)
        Treatment(s): bool, 0/1, count or continuous. Each column gets a theta.
    X : array-like or DataFrame, shape (n, p)
        Controls. Non-numeric DataFrame columns are treated as categorical.
    groups : array-like, optional
        Random-intercept grouping factor(s).
    clusters : array-like, optional
        One or two cluster identifiers for cluster-robust standard errors.
    missing : {"drop", "raise"}
        What to do with rows that have missing or non-finite values.

    Notes
    -----
    The model is

    .. math:: y_i = \\theta(x_i) t_i + f(x_i) + \\varepsilon_i, \\qquad t_i = m(x_i) + v_i,

    with :math:`\\ell(x) = E[y|x]`, :math:`m(x) = E[t|x]` and :math:`s^2(x) = Var(t|x)` learned out of fold. The
    final stage regresses :math:`y` on :math:`[1, t, \\hat\\ell(x), \\hat m(x)]`, a quadratic in the controls and
    the treatment's interactions with it, weighted by :math:`1/\\hat s^2(x)`, in every repetition, and aggregates
    the repetitions; the coefficient on :math:`t` estimates the average effect :math:`E[\\theta(x)]`
    (``docs/method.rst``).

    Examples
    --------
    >>> import numpy as np, plce
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(500, 3)); t = X[:, 0] + rng.normal(size=500)
    >>> y = 2 * t + X[:, 0] ** 2 + rng.normal(size=500)
    >>> res = plce.PLCE(y, t, X).fit(n_rep=1, random_state=0)
    >>> bool(abs(res.params.iloc[0] - 2) < 0.3)
    True
    """

    def __init__(self, y, t, X, groups=None, clusters=None, *, missing: str = "drop"):
        self._setup(_design.from_arrays(y, t, X, groups=groups, clusters=clusters, missing=missing), None)

    def _setup(self, design, data) -> None:
        self.design = design
        self._data = data  # only for interference coordinates named by column; never passed to the results

    @classmethod
    def from_design(cls, design, data=None) -> "PLCE":
        """The model of an already built :class:`plce.design.Design`."""
        obj = cls.__new__(cls)
        obj._setup(design, data)
        return obj

    @classmethod
    def from_formula(cls, formula: str, data, *, cluster: str | Sequence[str] | None = None,
                     missing: str = "drop", weights: str | None = None) -> "PLCE":
        """Build the model from ``"outcome ~ treatment | controls + (1|g) [| fe1 + fe2]"`` and a DataFrame.

        ``weights`` names a column of sampling (survey) weights.
        """
        return cls.from_design(_design.build(parse(formula), data, cluster=cluster, missing=missing,
                                             weights=weights), data)

    def fit(self, **options) -> PLCEResults:
        """Estimate theta.

        Every option is keyword-only; unknown names are refused with the closest valid ones. The options and their
        defaults (:class:`plce.options.FitOptions`):

        Parameters
        ----------
        n_folds : int, default 5
            Cross-fitting folds K.
        n_rep : int, default 3
            Independent repetitions of the K-fold split, combined by ``aggregate``; the split-to-split spread
            enters the standard error. Use 10 or more for the positivity diagnostic.
        estimand : {"ate", "variance_weighted"}, optional
            ``"ate"`` (default with one treatment): the average effect E[theta(x)] (for a binary treatment the
            ATE), by weighting the final stage by 1/Var(t|x) and letting the effect vary with the final stage's
            control terms. ``"variance_weighted"`` (default with several treatments): the classic partially linear
            (DoubleML PLR) coefficient E[s2(x) theta(x)] / E[s2(x)]. The two coincide when the effect is constant
            or Var(t|x) does not depend on x. ``heteroskedasticity=True/False`` is the old name.
        learner, learner_t, variance_learner : scikit-learn regressor, optional
            Learner of every nuisance model (default :func:`plce.learners.default_learner`, LightGBM), of the
            treatment model, and of the treatment-variance model.
        final : {"feasible", "residual"}, default "feasible"
            ``"feasible"``: y on [1, t, l_hat, m_hat, control terms] (the talk's feasible model); ``"residual"``:
            (y - l_hat) on (t - m_hat) without intercept (DoubleML PLR).
        final_controls : {"auto", "none", "linear", "quadratic"}, default "auto"
            Control terms in the final stage: ``"auto"`` is the controls, their squares and pairwise products when
            they number at most min(50, n/20), else the controls, else none. ``linear_controls`` is the old name
            (``True`` = ``"linear"``, ``False`` = ``"none"``).
        effect_interactions : bool or "auto", default "auto"
            Let the effect vary with the final stage's control terms (on with ``estimand="ate"``); theta is then the
            average of the fitted effects.
        average_effect : {"population", "sample"}, default "population"
            Whether the SE is for the population average effect (it adds the spread of the fitted effects) or
            for the average over these units' controls.
        aggregate : {"median", "hl"}, default "median"
            Rule combining repetitions (:func:`plce.final.aggregate`).
        treatment_variance : {"auto", "model", "binary"}, default "auto"
            How Var(t|x) is estimated: learned (``"model"``) or m(1 - m) for a 0/1 treatment (``"binary"``).
        weight_floor : float, default 0.05
            Var(t|x) is floored at this fraction of its mean.
        inner_folds : int, default 2
            Inner split of the training folds for the variance model's (and interference screening's) residuals.
        re_final : {"within", "columns"}, default "within"
            With ``(1|g)``: also absorb the first factor's group means in the final stage.
        re_iter : int, default 2
            Backfitting passes of the random-intercept nuisance models.
        interference : bool, "learned", list of str, or (n, n) matrix, default False
            Neighbour averages as features: learned along each control (``True``), Gaussian, disk and
            k-nearest averages on coordinate columns (``["lat", "lon"]``), or a weight matrix
            (``docs/interference.rst``).
        interference_top_k : int, default 10
            Interference features kept per nuisance model and fold.
        spatial_trend : "auto", False, int or list of str, default "auto"
            A tensor-product cubic spline surface of the coordinates among the final stage's columns, so that a
            confounder smooth in location does not bias theta through the learners' errors (``plce.trend``).
            ``"auto"``: on with ``interference=["lat", "lon"]`` (6 functions per coordinate at n = 1000, growing
            as n^(1/6), 5 at 10^6 for memory; none below 400 or above 2.5 million units); an integer sets the
            functions per coordinate; column names give the coordinates (e.g. with ``interference=W``).
        cov_type : str, optional
            ``"HC0"``-``"HC3"``, ``"nonrobust"`` or ``"cluster"``. Default HC1, clustered when clusters were
            given, clustered by the first random-intercept factor with ``(1|g)``.
        use_t : bool, default False
            t distribution (residual df; G - 1 with clustered SEs) instead of the normal.
        grouped_folds : bool, default False
            Keep each cluster within one fold (needs clusters).
        random_state : int, numpy Generator or None
            Seeds folds and every learner clone; ``None`` draws fresh entropy, printed in the summary.
        n_jobs : int, optional
            Parallel (repetition x fold) tasks through joblib; results do not depend on it. Default one process
            below 20,000 rows, all cores from there.
        progress : bool or "auto", default "auto"
            Progress bar; "auto" shows one for fits of 20,000 rows or more on an interactive terminal.
        folds : int array (n,) or (n_rep, n), optional
            Fold labels 0..K-1 to use instead of drawing them (for comparisons with other software).
        external_predictions : dict, optional
            ``{"ell": (n_rep, n), "m": (n_rep, n, k), "s2": (n_rep, n)}`` nuisance predictions to use instead of
            fitting learners (for comparisons; the caller is responsible for their being out of fold).

        Returns
        -------
        PLCEResults
        """
        warn_deprecated(options)
        opts = FitOptions.from_kwargs(options)
        plan = resolve(opts, self.design, data=self._data)
        fit = estimate(self.design, opts, plan, progress=show_progress(opts, self.design))
        return PLCEResults.from_fit(self.design, opts, plan, fit)


def ols_ml(formula: str, data, *, cluster: str | Sequence[str] | None = None, missing: str = "drop",
           weights: str | None = None, **options):
    """Fit a PLCE regression from a formula: ``PLCE.from_formula(...).fit(...)``.

    Parameters
    ----------
    formula : str
        ``"outcome ~ treatment(s) | controls + (1|g)"``. Controls accept formulaic
        terms (``C(x)``, ``np.log(x)``, ``x1:x2``).
    data : DataFrame
    cluster : str or two str, optional
        Cluster column(s) (e.g. the survey's PSU); standard errors are then cluster-robust by default.
    missing : {"drop", "raise"}
    weights : str, optional
        Column of sampling (survey) weights: the learners get them as ``sample_weight``, the final stage multiplies
        them with its own weights, and theta estimates the weighted-population effect.
    **options
        Options of :meth:`PLCE.fit` (``n_folds``, ``n_rep``, ``estimand``, ``cov_type``, ``learner``,
        ``random_state``, ``n_jobs``, ...).

    Returns
    -------
    PLCEResults

    Examples
    --------
    >>> import plce
    >>> df, truth = plce.datasets.make_simdata("baseline", n=400, random_state=1)
    >>> res = plce.ols_ml("y ~ t | x1 + x2 + x3 + x4 + x5", data=df, n_rep=1, random_state=1)
    >>> print(res.summary().as_text())  # doctest: +ELLIPSIS, +NORMALIZE_WHITESPACE
    PLCE Regression Results...
    """
    return PLCE.from_formula(formula, data, cluster=cluster, missing=missing, weights=weights).fit(**options)

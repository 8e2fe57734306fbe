"""Public entry points: :class:`PLCE` and :func:`ols_ml`."""
from __future__ import annotations

from typing import Sequence

import numpy as np

from . import design as _design
from .crossfit import CrossfitPlan, make_plan
from .errors import FewGroupsWarning, PLCEError, warn
from .final import aggregate as _aggregate
from .final import fit_final, normalize_cov_type
from .formula import parse
from .learners import check_learner, describe
from .nuisance import external_nuisances, fit_nuisances
from .results import FitInfo, PLCEResults
from .variance import VARIANCE_METHODS, is_binary, stabilized_weights, weight_diagnostics

__all__ = ["PLCE", "ols_ml"]

DEFAULT_N_REP = 3
#: at most this many control columns enter the final stage under linear_controls="auto"
LINEAR_CONTROLS_MAX = 50
#: from this many rows on, n_jobs=None means all cores
AUTO_PARALLEL_N = 20_000


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

    .. math:: y_i = \\theta t_i + f(x_i) + \\varepsilon_i, \\qquad t_i = m(x_i) + v_i,

    with :math:`\\ell(x) = E[y|x]` and :math:`m(x) = E[t|x]` learned out of fold.
    The final stage regresses :math:`y` on :math:`[1, t, \\hat\\ell(x), \\hat m(x)]`
    in every repetition and aggregates the repetitions.

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
        self.design = _design.from_arrays(y, t, X, groups=groups, clusters=clusters, missing=missing)
        self._data = None

    @classmethod
    def from_formula(
        cls,
        formula: str,
        data,
        *,
        cluster: str | Sequence[str] | None = None,
        missing: str = "drop",
    ) -> "PLCE":
        """Build the model from ``"outcome ~ treatment | controls + (1|g)"`` and a DataFrame."""
        spec = parse(formula)
        obj = cls.__new__(cls)
        obj.design = _design.build(spec, data, cluster=cluster, missing=missing)
        obj._data = data  # for interference coordinates named by column
        return obj

    def fit(
        self,
        *,
        learner=None,
        learner_t=None,
        n_folds: int = 5,
        n_rep: int = DEFAULT_N_REP,
        final: str = "feasible",
        cov_type: str | None = None,
        aggregate: str = "median",
        use_t: bool = False,
        grouped_folds: bool = False,
        random_state=None,
        n_jobs: int | None = None,
        progress: bool = False,
        folds: np.ndarray | None = None,
        external_predictions: dict | None = None,
        re_final: str = "within",
        re_iter: int = 2,
        heteroskedasticity: bool | None = None,
        variance: str = "auto",
        variance_learner=None,
        weight_floor: float = 0.05,
        inner_folds: int = 2,
        linear_controls: bool | str = "auto",
        interference=False,
        interference_top_k: int = 10,
        effect_interactions: bool | str = "auto",
        average_effect: str = "population",
    ) -> PLCEResults:
        """Estimate theta.

        Parameters
        ----------
        learner : scikit-learn regressor, optional
            Learner for both nuisances (default: :func:`plce.learners.default_learner`).
        learner_t : scikit-learn regressor, optional
            Learner for the treatment model if it should differ from ``learner``.
        n_folds : int, default 5
            Cross-fitting folds K.
        n_rep : int, default 3
            Repetitions of the K-fold split (independent splits), combined by ``aggregate``. Three keeps the
            default fit at n = 1000 within a few seconds while the median damps an unlucky split; the
            split-to-split spread enters the standard error. Use 10 or more for the positivity diagnostic.
        final : {"feasible", "residual"}
            ``"feasible"``: y on [1, t, l_hat, m_hat] (the talk's feasible model);
            ``"residual"``: (y - l_hat) on (t - m_hat) without intercept (DoubleML PLR).
        cov_type : str, optional
            ``"HC0"``-``"HC3"``, ``"nonrobust"`` or ``"cluster"``. Default ``"HC1"``, or
            ``"cluster"`` when clusters were given, or (without clusters) cluster-robust by the first
            random-intercept factor when the formula has ``(1|g)``.
        aggregate : {"median", "hl"}
            Rule combining repetitions (see :func:`plce.final.aggregate`).
        use_t : bool, default False
            t distribution with the final-stage residual df instead of the normal.
        grouped_folds : bool, default False
            Keep each cluster within one fold (needs clusters).
        random_state : int, numpy Generator or None
            Seeds folds and every learner clone. ``None`` draws fresh entropy,
            printed in the summary so the fit can be repeated.
        n_jobs : int, optional
            Parallel (repetition x fold) tasks through joblib; results do not depend on it. Default: one
            process below 20,000 rows (starting workers costs more than it saves), all cores (-1) from there.
        progress : bool, default False
            Show a progress bar.
        folds : int array (n_rep, n), optional
            Fold labels to use instead of drawing them (for comparisons with other software).
        external_predictions : dict, optional
            ``{"ell": (n_rep, n) array, "m": (n_rep, n, k) array}`` of nuisance
            predictions to use instead of fitting learners (for comparisons and
            tests; the caller is responsible for their being out of fold).
        re_final : {"within", "columns"}, default "within"
            With random intercepts ``(1|g)``: the final stage always gets the cross-fitted BLUP columns of
            the outcome and treatment models; ``"within"`` also absorbs the first factor's group means
            (a within-group final stage), which removes what the shrunken BLUPs leave of the group-level
            confounding; ``"columns"`` is the talk's model with the BLUP columns only.
        re_iter : int, default 2
            Backfitting passes of the random-intercept nuisance models (each pass refits the learner).
        heteroskedasticity : bool, optional
            Weight the final stage by 1/s^2(x), the inverse of the treatment's conditional variance, so that
            theta is the average effect E[theta(x)] even when effects and treatment variance both depend on x
            (for a binary treatment: the ATE). ``False`` gives the classic partially linear (DoubleML PLR)
            estimand, the variance-weighted average E[s^2(x) theta(x)] / E[s^2(x)]; the two coincide when the
            effect is constant or s^2 does not depend on x. Default: True with one treatment, False with several.
        variance : {"auto", "model", "binary"}
            How s^2(x) is estimated: ``"model"`` learns it from inner out-of-fold squared residuals within the
            training folds; ``"binary"`` uses m(1 - m) for a 0/1 treatment; ``"auto"`` picks ``"binary"`` for a
            0/1 treatment and ``"model"`` otherwise.
        variance_learner : scikit-learn regressor, optional
            Learner of the variance model (default: the default LightGBM learner). The variance model and the
            inner treatment model behind it start from a least-squares fit on the final stage's control terms
            (``linear_controls``) and the learner fits the rest, so s^2 is not flattened in the tails.
        weight_floor : float, default 0.05
            s^2 is floored at this fraction of its mean, so no unit's weight exceeds 1/floor times the mean.
        inner_folds : int, default 2
            Inner split of the training folds for the variance model's residuals.
        linear_controls : bool, "auto" or "quadratic", default "auto"
            Also put the controls into the final stage as regressors, next to l_hat and m_hat. ``True``: the
            controls (numeric columns and dummies); ``"quadratic"``: also the squares of the non-binary ones
            and all pairwise products. The final stage is then at least as well adjusted as OLS with the same
            terms, and the learners' smooth errors that a quadratic absorbs (trees underfit curvature in
            the tails, and in the outcome and treatment models alike) no longer bias theta. ``"auto"`` uses
            the quadratic terms when they number at most ``min(50, n/20)``, else the plain controls when
            those do, else none.
        interference : bool, "learned", list of str, or (n, n) matrix, default False
            Adjust for interference between units by adding neighbour averages to the learners' features
            (:mod:`plce.interference`): ``True``/``"learned"`` uses each numeric control as a proximity
            (the talk's learned interference); ``["lat", "lon"]`` a Gaussian kernel on those columns of
            ``data``; a scipy sparse (or numpy) n x n matrix over the rows of ``data`` gives the weights
            (networks); ``False`` turns it off. Features and bandwidths are selected inside each training
            fold; the summary lists them. With several treatments, the first one's neighbour average is the
            treatment candidate.
        interference_top_k : int, default 10
            Interference features kept per nuisance model and fold.
        effect_interactions : bool or "auto", default "auto"
            Let the effect vary with the final stage's control terms (those of ``linear_controls``): the final
            stage also gets t times each centred term (and m_hat times it, as adjustment), and theta is the
            coefficient on t, which is then the sample average of the fitted effects theta(x_i); its SE adds
            their spread over the units. With
            the 1/s^2 weights this is doubly robust for E[theta(x)]: right if the weights are, or if theta(x) is
            linear in the terms (e.g. a quadratic in the controls). ``"auto"``: on with
            ``heteroskedasticity=True`` and control terms in the final stage, off otherwise (so
            ``heteroskedasticity=False`` keeps the classic partially linear estimand). ``True`` needs control
            terms in the final stage (an error otherwise).
        average_effect : {"population", "sample"}, default "population"
            Which average effect the standard error is for when the effect varies (effect interactions on):
            ``"population"``, E[theta(x)] over the population the units were drawn from (the SE adds the
            sampling spread of the fitted effects, var(theta_hat(x_i)) / n, as DoubleML's IRM does);
            ``"sample"``, the average over these units' controls (the SE conditions on them, as in a
            designed experiment or a simulation whose covariates are fixed). The estimate is the same.

        Returns
        -------
        PLCEResults
        """
        d = self.design
        if n_jobs is None:
            n_jobs = 1 if d.nobs < AUTO_PARALLEL_N else -1
        learner_y = check_learner(learner, "learner")
        learner_tm = check_learner(learner_t, "learner_t") if learner_t is not None else learner_y
        check_groups(d)
        clusters, cluster_names = d.clusters, d.cluster_names
        if clusters is None and d.groups and (cov_type is None or str(cov_type).lower() in ("cluster", "clustered")):
            # default with random intercepts: cluster-robust by the first grouping factor
            first = next(iter(d.groups))
            clusters, cluster_names = next(iter(d.groups.values()))[:, None], (first,)
        has_clusters = clusters is not None
        cov = normalize_cov_type(cov_type if cov_type is not None else ("cluster" if has_clusters else "HC1"),
                                 has_clusters=has_clusters)
        if re_final not in ("within", "columns"):
            raise PLCEError(f"re_final must be 'within' or 'columns'; got {re_final!r}.")
        if final not in ("feasible", "residual"):
            raise PLCEError(f"final must be 'feasible' or 'residual'; got {final!r}.")
        if aggregate not in ("median", "hl"):
            raise PLCEError(f"aggregate must be 'median' (DML rule) or 'hl' (Hodges-Lehmann); got {aggregate!r}.")
        if grouped_folds and not has_clusters:
            raise PLCEError("grouped_folds=True needs cluster=<column> to know which units belong together.")

        strata = next(iter(d.groups.values())) if d.groups else None
        if folds is not None:
            folds = np.asarray(folds, dtype=np.int64).reshape(-1, d.nobs) if np.ndim(folds) else None
            if folds is None or folds.shape[1] != d.nobs:
                raise PLCEError(f"folds must have shape (n_rep, {d.nobs}).")
            ss_plan = make_plan(d.nobs, n_folds=int(folds.max()) + 1, n_rep=folds.shape[0],
                                random_state=random_state)
            plan = CrossfitPlan(folds=folds, seeds=ss_plan.seeds, entropy=ss_plan.entropy,
                                n_folds=int(folds.max()) + 1)
        else:
            plan = make_plan(
                d.nobs,
                n_folds=n_folds,
                n_rep=n_rep,
                random_state=random_state,
                strata=strata,
                clusters=clusters[:, 0] if (grouped_folds and has_clusters) else None,
            )
        n_clusters: tuple[int, ...] = ()
        if has_clusters:
            n_clusters = tuple(int(len(np.unique(clusters[:, j]))) for j in range(clusters.shape[1]))
            if cov == "cluster" and min(n_clusters) < 20 and d.clusters is not None:
                warn(
                    f"Only {min(n_clusters)} clusters: cluster-robust standard errors can be too small "
                    "with fewer than about 20 clusters.",
                    FewGroupsWarning,
                )

        het = (d.T.shape[1] == 1) if heteroskedasticity is None else bool(heteroskedasticity)
        if het and d.T.shape[1] > 1:
            raise PLCEError("heteroskedasticity=True supports one treatment; with several, use heteroskedasticity="
                            "False (the classic partially linear estimand) or fit one treatment at a time.")
        if variance not in VARIANCE_METHODS:
            raise PLCEError(f"variance must be one of {VARIANCE_METHODS}; got {variance!r}.")
        binary = is_binary(d.T[:, 0])
        vmethod = ("binary" if binary else "model") if variance == "auto" else variance
        if het and vmethod == "binary" and not binary:
            raise PLCEError("variance='binary' needs a 0/1 treatment; use variance='model'.")
        if not isinstance(inner_folds, (int, np.integer)) or inner_folds < 2:
            raise PLCEError(f"inner_folds must be an integer >= 2; got {inner_folds!r}.")
        learner_v = check_learner(variance_learner, "variance_learner") if het and vmethod == "model" else None
        variance_cfg = (learner_v, int(inner_folds)) if learner_v is not None else None
        if het:
            stabilized_weights(np.ones(2), weight_floor)  # validates the floor early
        if effect_interactions not in (True, False, "auto"):
            raise PLCEError(f"effect_interactions must be True, False or 'auto'; got {effect_interactions!r}.")
        if effect_interactions is True and final != "feasible":
            raise PLCEError("effect_interactions=True needs final='feasible' (the control terms it interacts "
                            "with are final-stage columns of the feasible model).")
        if effect_interactions is True and final == "feasible" and _linear_columns(d, linear_controls)[1] == "none":
            raise PLCEError("effect_interactions=True interacts the treatment with the final stage's control terms, "
                            "but there are none (no controls, or linear_controls=False / too many for 'auto'); "
                            "set linear_controls=True or 'quadratic', or effect_interactions=False.")
        interact = het if effect_interactions == "auto" else effect_interactions
        if average_effect not in ("population", "sample"):
            raise PLCEError(f"average_effect must be 'population' or 'sample'; got {average_effect!r}.")

        use_inter = interference is not False and interference is not None
        if use_inter and external_predictions is not None:
            raise PLCEError("interference changes the learners' features, so it cannot be combined with "
                            "external_predictions; build the neighbour averages into your own predictions instead.")

        def interference_plan(design):
            return _interference_plan(design, interference, self._data, interference_top_k) if use_inter else None

        inter_plan = interference_plan(d)

        absorb = None
        if d.groups and re_final == "within" and final == "feasible":
            absorb = next(iter(d.groups.values()))

        def estimate(design, progress=progress):
            if external_predictions is not None:
                nuis = external_nuisances(design, plan, external_predictions)
            else:
                # the variance model starts from a least-squares fit on the control terms (see variance_learner)
                vcfg = None if variance_cfg is None else (*variance_cfg, _linear_columns(design, linear_controls)[0])
                nuis = fit_nuisances(design, plan, learner_y=learner_y, learner_t=learner_tm, n_jobs=n_jobs,
                                     progress=progress, re_iter=re_iter, variance=vcfg,
                                     interference=inter_plan if design is d else interference_plan(design))
            weights, floored = [None] * plan.n_rep, []
            if het:
                for r in range(plan.n_rep):
                    if vmethod == "binary":
                        p = np.clip(nuis.m[r, :, 0], 0.01, 0.99)
                        s2 = p * (1 - p)
                    elif nuis.s2 is not None:
                        s2 = nuis.s2[r]
                    else:
                        raise PLCEError("external_predictions need an 's2' entry when heteroskedasticity=True "
                                        "with a non-binary treatment.")
                    weights[r], f = stabilized_weights(s2, weight_floor)
                    floored.append(f)
            lin = _linear_columns(design, linear_controls)[0] if final == "feasible" else None
            finals = [
                fit_final(design.y, design.T, nuis.ell[r], nuis.m[r], form=final, cov_type=cov,
                          clusters=clusters, extra=_stack(nuis.extra_columns(r), lin), absorb=absorb,
                          weights=weights[r], modifiers=lin if interact else None,
                          population=average_effect == "population")
                for r in range(plan.n_rep)
            ]
            return nuis, finals, weights, floored

        def info_lin(design):
            return _linear_columns(design, linear_controls)[1] if final == "feasible" else "none"

        nuis, finals, weights, floored = estimate(d)
        wdiag = weight_diagnostics(weights, floored, vmethod) if het else None
        thetas = np.stack([f.theta for f in finals])
        theta, V = _aggregate(thetas, np.stack([f.cov for f in finals]), aggregate)
        _, Vc = _aggregate(thetas, np.stack([f.cov_classical for f in finals]), aggregate)
        info = FitInfo(
            learner=describe(learner_y),
            n_folds=plan.n_folds,
            n_rep=plan.n_rep,
            cov_type=cov,
            aggregate=aggregate,
            final=final,
            seed=plan.entropy,
            cluster_names=cluster_names,
            n_clusters=n_clusters,
            re_final=re_final if d.groups else None,
            weighting=vmethod if het else None,
            linear_controls=info_lin(d),
            weight_floor=weight_floor,
            grouped_folds=grouped_folds,
            interference=inter_plan.kind if inter_plan is not None else None,
            effect_interactions=bool(interact and final == "feasible" and info_lin(d) != "none"),
            average_effect=average_effect,
        )
        res = PLCEResults(
            design=d, nuisances=nuis, finals=finals, theta=theta, cov=V, info=info, use_t=use_t, cov_classical=Vc,
            refit=estimate, weights=wdiag,
        )
        _warn_positivity(res)
        _warn_zero_re_variance(res)
        return res


def _interference_plan(design, option, data, top_k):
    """The interference candidates for this design's controls (None when switched off)."""
    from .interference import build_plan

    nf = design.numeric_frame() if design.X.shape[1] else None
    X_num = nf.to_numpy(dtype=float) if nf is not None else np.empty((design.nobs, 0))
    return build_plan(option, X_num=X_num, control_names=list(nf.columns) if nf is not None else [],
                      t=design.T[:, 0], treatment_name=design.treatment_names[0], data=data,
                      row_mask=design.row_mask, top_k=top_k)


def _warn_zero_re_variance(res: PLCEResults) -> None:
    from .random_effects import warn_zero_variance

    rv = res.nuisances.re_variances
    if rv is None:
        return
    med = rv.groupby(["factor", "model"], sort=False)["sigma2_b"].median()
    for (factor, model), v in med.items():
        if v <= 0:
            warn_zero_variance(factor, model)


def _linear_columns(design, option) -> tuple[np.ndarray | None, str]:
    """The controls as final-stage columns, and which form ("none", "linear", "quadratic")."""
    if option not in (True, False, "auto", "quadratic"):
        raise PLCEError(f"linear_controls must be True, False, 'auto' or 'quadratic'; got {option!r}.")
    if option is False or design.X.shape[1] == 0:
        return None, "none"
    X = design.numeric_X()
    limit = min(LINEAR_CONTROLS_MAX, design.nobs / 20)
    if option == "quadratic" or option == "auto":
        Q = np.column_stack([X, quadratic_terms(X)])
        if option == "quadratic" or Q.shape[1] <= limit:
            return Q, "quadratic"
    if option == "auto" and X.shape[1] > limit:
        return None, "none"
    return X, "linear"


def quadratic_terms(X: np.ndarray) -> np.ndarray:
    """Squares of the non-binary columns and products of every pair of columns (binary x binary included)."""
    p = X.shape[1]
    nonbin = [j for j in range(p) if len(np.unique(X[:, j])) > 2]
    X = X.copy()
    # centred and scaled first: the same span (with the intercept and X), better conditioned
    X[:, nonbin] = (X[:, nonbin] - X[:, nonbin].mean(0)) / X[:, nonbin].std(0)
    cols = [X[:, j] ** 2 for j in nonbin]
    cols += [X[:, i] * X[:, j] for i in range(p) for j in range(i + 1, p)]
    return np.column_stack(cols) if cols else np.empty((len(X), 0))


def _stack(a: np.ndarray | None, b: np.ndarray | None) -> np.ndarray | None:
    parts = [p for p in (a, b) if p is not None and p.size]
    return np.column_stack(parts) if parts else None


def check_groups(d) -> None:
    """Refuse degenerate random-effect factors; warn about few groups."""
    for name, codes in d.groups.items():
        sizes = np.bincount(codes)
        if len(sizes) < 2:
            raise PLCEError(f"The random-effect factor '{name}' has a single group; a random intercept needs "
                            "at least two groups (remove the '(1|{name})' term).")
        if sizes.max() < 2:
            raise PLCEError(f"Every group of the random-effect factor '{name}' has one member, so group and unit "
                            f"effects cannot be told apart; remove '(1|{name})' or use a coarser grouping.")
        if len(sizes) < 20:
            warn(f"The random-effect factor '{name}' has only {len(sizes)} groups: its variance is poorly "
                 "estimated and cluster-robust standard errors by it can be too small (fewer than ~20).",
                 FewGroupsWarning)


def _warn_positivity(res: PLCEResults) -> None:
    from .diagnostics.positivity import WARN_SHARE
    from .errors import PositivityWarning

    diag = res.positivity_diagnostic()
    if diag.reliable and diag.share_flagged > WARN_SHARE:
        warn(
            f"Positivity: {100 * diag.share_flagged:.1f}% of units have treatment residuals dominated by "
            "split-to-split noise (excess kurtosis above the 90th percentile of the no-problem reference; 10% "
            "expected). The treatment may be nearly determined by the controls for these units; inspect "
            "res.positivity and res.plot_positivity().",
            PositivityWarning,
        )


def ols_ml(formula: str, data, *, cluster: str | Sequence[str] | None = None, missing: str = "drop", **fit_kwargs):
    """Fit a PLCE regression from a formula: ``PLCE.from_formula(...).fit(...)``.

    Parameters
    ----------
    formula : str
        ``"outcome ~ treatment(s) | controls + (1|g)"``. Controls accept formulaic
        terms (``C(x)``, ``np.log(x)``, ``x1:x2``).
    data : DataFrame
    cluster : str or two str, optional
        Cluster column(s); standard errors are then cluster-robust by default.
    missing : {"drop", "raise"}
    **fit_kwargs
        Passed to :meth:`PLCE.fit` (``n_folds``, ``n_rep``, ``cov_type``, ``learner``,
        ``random_state``, ``n_jobs``, ...).

    Returns
    -------
    PLCEResults

    Examples
    --------
    >>> import plce
    >>> df, truth = plce.datasets.make_simdata("baseline", n=400, random_state=1)
    >>> res = plce.ols_ml("y ~ t | x1 + x2 + x3 + x4 + x5", data=df, n_rep=1, random_state=1)
    >>> print(res.summary().as_text())  # doctest: +ELLIPSIS
    PLCE Regression Results...
    """
    return PLCE.from_formula(formula, data, cluster=cluster, missing=missing).fit(**fit_kwargs)

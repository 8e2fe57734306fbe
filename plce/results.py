"""`PLCEResults`: what a fit returns, with statsmodels' names, post-estimation, and the summary.

A results object is data: the :class:`~plce.design.Design`, the :class:`~plce.options.FitOptions`, the resolved
:class:`~plce.plan.FitPlan` and the :class:`~plce.estimate.Fit` (nuisances, weights, final stages). It pickles,
and a change of covariance (:meth:`PLCEResults.get_robustcov_results`) re-runs only the final stage.
"""
from __future__ import annotations

import dataclasses
from functools import cached_property

import numpy as np
import pandas as pd
from scipy import stats

from .errors import PLCEError
from .final import aggregate

__all__ = ["PLCEResults", "ModelDescription"]


@dataclasses.dataclass(frozen=True)
class ModelDescription:
    """What a results object says about its model: outcome, treatment names, formula."""

    endog_names: str
    exog_names: tuple
    formula: str | None = None


class PLCEResults:
    """Results of a PLCE fit.

    Attributes follow statsmodels: ``params``, ``bse``, ``tvalues``, ``pvalues``, ``conf_int()``,
    ``cov_params()``, ``nobs``, ``df_resid``, ``use_t``; ``t_test``, ``wald_test`` and
    ``get_robustcov_results`` as in statsmodels, ``tidy()`` as broom and pyfixest. Per-repetition estimates are in
    ``params_rep`` and ``bse_rep``; out-of-fold nuisance fit in ``nuisance_metrics``. ``options`` are the fit's
    options, ``plan`` what they resolved to for these data.

    Examples
    --------
    >>> import plce
    >>> df, truth = plce.datasets.make_simdata("baseline", n=400, random_state=0)
    >>> res = plce.ols_ml("y ~ t | x1 + x2 + x3 + x4 + x5", data=df, n_rep=1, random_state=0)
    >>> bool(abs(res.params["t"] - truth) < 4 * res.bse["t"])
    True
    >>> res.tidy().columns.tolist()
    ['estimate', 'std_error', 'statistic', 'p_value', 'conf_low', 'conf_high']
    """

    def __init__(self, design, options, plan, fit):
        self._design = design
        self.options = options
        self.plan = plan if fit.inference is None else dataclasses.replace(plan, inference=fit.inference)
        self._fit = fit
        self._names = list(design.treatment_names)
        sc = design.effect_scale  # the data's scale (1 unless the outcome or treatment was extreme)
        self._scale = sc
        raw = np.stack([f.theta for f in fit.finals])
        if not (np.all(np.isfinite(raw)) and all(np.all(np.isfinite(f.cov)) for f in fit.finals)):
            raise PLCEError("The final stage returned a non-finite estimate or variance (a numerical failure); check "
                            "the data for extreme values and the learners' predictions.")
        theta, V = aggregate(raw, np.stack([f.cov for f in fit.finals]), options.aggregate)
        Vc = aggregate(raw, np.stack([f.cov_classical for f in fit.finals]), options.aggregate)[1]
        with np.errstate(over="ignore", under="ignore", invalid="ignore"):
            self._theta = theta * sc
            self._cov, self._cov_classical = V * np.outer(sc, sc), Vc * np.outer(sc, sc)
            self._se = np.sqrt(np.diag(V)) * np.abs(sc)
            self._se_classical = np.sqrt(np.diag(Vc)) * np.abs(sc)
        if not (np.all(np.isfinite(self._theta)) and np.all(np.isfinite(self._cov)) and np.all(self._se > 0)):
            raise PLCEError(f"The estimate or its variance does not fit in double precision on the data's scale "
                            f"(outcome / treatment scale about {float(sc[0]):.0e}): multiply or divide the outcome "
                            "or the treatment by a power of ten, fit, and scale theta back.")

    @classmethod
    def from_fit(cls, design, options, plan, fit) -> "PLCEResults":
        """Results of a fresh fit; warns about what the diagnostics find (weights, positivity, random effects)."""
        from .diagnostics.positivity import warn_positivity
        from .random_effects import warn_zero_variances

        res = cls(design, options, plan, fit)
        warn_positivity(res.positivity_diagnostic())
        rv = fit.nuisances.re_variances
        warn_zero_variances(None if rv is None else rv[rv["factor"].isin(list(design.groups))])
        return res

    # --- statsmodels-style accessors -------------------------------------------------
    @property
    def use_t(self) -> bool:
        return self.plan.inference.use_t

    @property
    def cov_type(self) -> str:
        """The covariance type of the standard errors (statsmodels' name)."""
        return self.plan.inference.cov_type

    @property
    def model_formula(self) -> str | None:
        return self._design.formula

    @property
    def model(self) -> "ModelDescription":
        """Names of the model's variables, as statsmodels results carry them (so ``summary_col`` can read them)."""
        return ModelDescription(self._design.outcome_name, tuple(self._names), self._design.formula)

    @property
    def nobs(self) -> int:
        """Number of observations in the final stage (after dropping incomplete rows and any trimming)."""
        return self._design.nobs if self._fit.kept is None else int(self._fit.kept.sum())

    @property
    def n_trimmed(self) -> int:
        """Units trimmed away for poor overlap (``trim=``)."""
        return 0 if self._fit.trimmed is None else int(self._fit.trimmed.sum())

    @property
    def n_singletons(self) -> int:
        """Units left out of the final stage because they are alone in a group of an absorbed factor."""
        return 0 if self.plan.rows is None else int((~self.plan.rows).sum())

    @property
    def n_dropped(self) -> int:
        """Rows of the input dropped for missing or non-finite values."""
        return self._design.n_dropped

    @property
    def df_resid(self) -> int:
        """Residual degrees of freedom of the final-stage regression (the smallest over repetitions)."""
        return min(f.df_resid for f in self._fit.finals)

    @property
    def df_inference(self) -> int:
        """Degrees of freedom of the t distribution when ``use_t``: G - 1 with clustered SEs, else ``df_resid``."""
        g = self.plan.inference.df_t
        return g if g is not None else self.df_resid

    @property
    def random_state(self) -> int:
        """The seed entropy the fit used (pass it back to reproduce the fit)."""
        return self.plan.crossfit.entropy

    @property
    def estimand(self) -> str:
        """What ``params`` estimates: ``"ate"`` (average effect), ``"att"``, ``"atc"`` or ``"variance_weighted"``."""
        return self.plan.estimand

    @cached_property
    def params(self) -> pd.Series:
        """Estimated effect of each treatment."""
        return pd.Series(self._theta, index=self._names, name="coef")

    def cov_params(self) -> pd.DataFrame:
        """Covariance matrix of ``params`` (aggregated over repetitions)."""
        return pd.DataFrame(self._cov, index=self._names, columns=self._names)

    @cached_property
    def bse(self) -> pd.Series:
        """Standard errors of ``params``."""
        return pd.Series(self._se, index=self._names, name="std err")

    @cached_property
    def bse_classical(self) -> pd.Series:
        """Classical (iid) final-stage standard errors, aggregated the same way; used by sensitivity."""
        return pd.Series(self._se_classical, index=self._names, name="classical std err")

    @cached_property
    def tvalues(self) -> pd.Series:
        return pd.Series(self._theta / self.bse.to_numpy(), index=self._names, name="t" if self.use_t else "z")

    def _dist(self):
        return stats.t(self.df_inference) if self.use_t else stats.norm()

    @cached_property
    def pvalues(self) -> pd.Series:
        p = 2 * self._dist().sf(np.abs(self.tvalues.to_numpy()))
        return pd.Series(p, index=self._names, name="P>|t|" if self.use_t else "P>|z|")

    def _crit(self, alpha: float) -> float:
        if not isinstance(alpha, (int, float, np.floating)) or not 0 < alpha < 1:
            raise PLCEError(f"alpha must be in (0, 1); got {alpha}.")
        return float(self._dist().ppf(1 - alpha / 2))

    def conf_int(self, alpha: float = 0.05) -> pd.DataFrame:
        """Confidence intervals, columns ``[alpha/2, 1 - alpha/2]`` as in statsmodels."""
        c = self._crit(alpha)
        lo = self._theta - c * self.bse.to_numpy()
        hi = self._theta + c * self.bse.to_numpy()
        return pd.DataFrame({0: lo, 1: hi}, index=self._names)

    def tidy(self, alpha: float = 0.05) -> pd.DataFrame:
        """One row per treatment: estimate, std_error, statistic, p_value, conf_low, conf_high (broom's columns)."""
        ci = self.conf_int(alpha)
        out = pd.DataFrame({"estimate": self.params, "std_error": self.bse, "statistic": self.tvalues,
                            "p_value": self.pvalues, "conf_low": ci[0], "conf_high": ci[1]})
        out.index.name = "term"
        return out

    # --- post-estimation -------------------------------------------------------------
    def _constraints(self, hypotheses):
        from formulaic.utils.constraints import LinearConstraints

        if isinstance(hypotheses, str):
            try:
                lc = LinearConstraints.from_spec(hypotheses, variable_names=self._names)
            except Exception as exc:  # formulaic raises several types for a bad string
                raise PLCEError(f"Cannot read the hypothesis {hypotheses!r}: {exc}. Write e.g. "
                                f"'{self._names[0]} = 0' (terms: {self._names}).") from None
            return np.atleast_2d(np.asarray(lc.constraint_matrix, float)), np.asarray(lc.constraint_values, float)
        R = np.atleast_2d(np.asarray(hypotheses, dtype=float))
        if R.shape[1] != len(self._names):
            raise PLCEError(f"The restriction matrix needs {len(self._names)} columns (one per treatment); "
                            f"got shape {R.shape}.")
        return R, np.zeros(R.shape[0])

    def t_test(self, hypotheses):
        """Tests of each linear hypothesis ``R theta = q`` on the treatment effects (statsmodels' ``t_test``).

        Parameters
        ----------
        hypotheses : str or array
            E.g. ``"t = 1"``, ``"t1 - t2 = 0"``, or a restriction matrix R (q = 0).

        Returns
        -------
        statsmodels.stats.contrast.ContrastResults
        """
        from statsmodels.stats.contrast import ContrastResults

        R, q = self._constraints(hypotheses)
        effect = R @ self._theta
        sd = np.sqrt(np.einsum("ij,jk,ik->i", R, self._cov, R))
        stat = (effect - q) / sd
        if self.use_t:
            return ContrastResults(effect=effect, t=stat, sd=sd, df_denom=self.df_inference)
        return ContrastResults(effect=effect, statistic=stat, sd=sd, df_denom=None, distribution="norm")

    def wald_test(self, hypotheses):
        """Joint Wald test of ``R theta = q`` (chi2; F with ``use_t``), as statsmodels' ``wald_test``."""
        from statsmodels.stats.contrast import ContrastResults

        R, q = self._constraints(hypotheses)
        d = R @ self._theta - q
        W = float(d @ np.linalg.solve(R @ self._cov @ R.T, d))
        if self.use_t:
            return ContrastResults(F=W / R.shape[0], df_num=R.shape[0], df_denom=self.df_inference)
        return ContrastResults(statistic=W, df_denom=R.shape[0], distribution="chi2")

    def get_robustcov_results(self, cov_type: str | None = None, *, cluster=None, use_t: bool | None = None,
                              cov_kwds=None):
        """The same fit with another covariance: only the final stage is re-run, no learner is refit.

        Parameters
        ----------
        cov_type : str, optional
            ``"HC0"``-``"HC3"``, ``"nonrobust"`` or ``"cluster"`` (default: the fit's rule for the given clusters).
        cluster : str, array-like or list of them, optional
            One or two cluster variables: the name of a random-intercept factor or cluster of the fit, or values
            aligned with the input rows (a Series is aligned by index).
        use_t : bool, optional
            Keep the fit's choice by default.
        cov_kwds : dict, optional
            For ``"conley"``: ``coords`` (an (n, d) array aligned with the input rows), ``cutoff``, ``kernel``,
            ``distance``; for ``"network"``: ``W``. Without them, the fit's interference coordinates or matrix.

        Returns
        -------
        PLCEResults

        Examples
        --------
        >>> import plce
        >>> df, _ = plce.datasets.make_simdata("re", n=400, random_state=0)
        >>> res = plce.ols_ml("y ~ t | x1 + x2 + (1|g)", data=df, n_rep=1, random_state=0)
        >>> res.cov_type, res.get_robustcov_results("HC3").cov_type
        ('cluster', 'HC3')
        """
        from .estimate import final_stage
        from .plan import resolve_inference

        design = self._design if cluster is None else _with_clusters(self._design, cluster)
        opts = self.options.replace(cov_type=cov_type, use_t=self.use_t if use_t is None else use_t,
                                    cov_kwds=cov_kwds if cov_kwds is not None else self.options.cov_kwds)
        inference = resolve_inference(opts, design, self._fit.kept, interference=self.plan.interference,
                                      weighted=self.plan.weighting is not None)
        finals = final_stage(design, opts, self.plan, self._fit.nuisances, self._fit.weights, inference,
                             kept=self._fit.kept, effects=self._fit.effects)
        plan = dataclasses.replace(self.plan, inference=inference)
        fit = dataclasses.replace(self._fit, finals=finals, inference=inference)
        return PLCEResults(design, opts, plan, fit)

    #: pyfixest's name (there it changes the model in place; here it returns new results)
    vcov = get_robustcov_results

    # --- effects that vary with the controls ----------------------------------------
    @property
    def effects(self) -> pd.DataFrame:
        """Each unit's fitted effect theta_hat(x_i), averaged over the repetitions, one column per treatment.

        On the data's index; NaN for rows the final stage did not use (missing values, singletons, trimming).
        Without effect interactions every unit's fitted effect is ``params``. A single unit's theta_hat(x_i) is
        a fitted value, not an estimate with a valid interval: average it over a subgroup with
        :meth:`effect_by` for that.

        Examples
        --------
        >>> import plce
        >>> df, _ = plce.datasets.make_family("categorical", n=600, random_state=0)
        >>> res = plce.ols_ml("y ~ t | x1 + x2 + x3 + C(c)", data=df, n_rep=1, random_state=0)
        >>> res.effects.shape == (600, 1)
        True
        """
        d, fit = self._design, self._fit
        if fit.finals[0].cate is None:
            values = np.tile(self._theta, (self.nobs, 1))
        else:
            values = np.mean([f.cate for f in fit.finals], axis=0) * self._scale
        n_input = len(d.input_index) if d.input_index is not None else d.nobs
        rows = np.flatnonzero(np.ones(n_input, bool) if d.row_mask is None else d.row_mask)
        if fit.kept is not None:
            rows = rows[fit.kept]
        out = np.full((n_input, len(self._names)), np.nan)
        out[rows] = values
        return pd.DataFrame(out, index=d.input_index if d.input_index is not None else None, columns=self._names)

    def effect_by(self, by, treatment: str | None = None, *, alpha: float = 0.05):
        """Average effect within each level of ``by``, with standard errors and a test that they are all equal.

        The averages of the fitted theta(x_i) over each subgroup's units, weighted as the fit's own estimate is
        (sampling weights; only the treated for the ATT, the controls for the ATC), as Stata's
        ``margins, dydx(t) over(g)`` or ``marginaleffects``' ``avg_slopes(by=)`` report them; their covariance is
        the final stage's, plus each subgroup's spread of fitted effects for the population average (the default
        ``average_effect``). See :mod:`plce.subgroups`.

        Parameters
        ----------
        by : str, Series or array
            A control's name as in the formula, or one value per row of the data (a Series on the data's index,
            or an array as long as the data). At most 50 levels; bin a continuous variable first (``pd.qcut``).
            Units with a missing value are in no subgroup.
        treatment : which treatment (the first by default)
        alpha : for the confidence intervals

        Returns
        -------
        plce.subgroups.SubgroupEffects
            ``.table`` (one row per level), ``.cov`` and ``.wald`` (statistic, df, p-value of H0: all equal).

        Examples
        --------
        >>> import plce
        >>> df, _ = plce.datasets.make_family("categorical", n=600, random_state=0)
        >>> res = plce.ols_ml("y ~ t | x1 + x2 + x3 + C(c)", data=df, n_rep=1, random_state=0)
        >>> by = res.effect_by("C(c)")
        >>> by.table.index.tolist()
        ['a', 'b', 'c', 'd', 'e']
        >>> bool(by.wald[2] < 0.05)  # the effects 0.2, 0.6, 1.0, 1.4, 1.8 differ
        True
        """
        from .subgroups import grouping_values

        values, name = grouping_values(by, self._design)
        return self._subgroups(values, name, self._treatment_index(treatment), alpha)

    def _subgroups(self, values: pd.Series, name: str, j: int, alpha: float):
        from .estimate import effect_center, final_stage_terms
        from .subgroups import combine, level_codes, subgroup_means

        fit, plan = self._fit, self.plan
        if fit.finals[0].effect is None:
            raise PLCEError("This fit's effect does not vary with the controls (its final stage has no effect "
                            "interactions), so every subgroup's average effect is params. Refit with "
                            "effect_interactions=True and final_controls='linear' or 'quadratic', or with "
                            "effect_model='learned'.")
        self._crit(alpha)
        kept = fit.kept

        def sub(a):
            return None if a is None or kept is None else a[kept]

        vals = values if kept is None else values[kept].reset_index(drop=True)
        codes, levels, n_missing = level_codes(vals, name)
        a = effect_center(self._design, plan)
        a = a if kept is None else sub(a)
        clusters = plan.inference.clusters
        clusters = clusters if kept is None else sub(clusters)
        population = plan.average_effect == "population"
        per_rep = []
        for r, f in enumerate(fit.finals):
            Q = final_stage_terms(plan, fit.effects, r)
            per_rep.append(subgroup_means(f, Q if kept is None else sub(Q), codes, len(levels), j, a=a,
                                          clusters=clusters, population=population))
        counted = codes >= 0 if a is None else (codes >= 0) & (a > 0)
        counts = np.bincount(codes[counted], minlength=len(levels))
        return combine(per_rep, rule=self.options.aggregate, scale=float(self._scale[j]), levels=levels,
                       counts=counts, treatment=self._names[j], by=name, alpha=alpha,
                       df_inference=self.df_inference if self.use_t else None, n_missing=n_missing)

    def plot_effects(self, x, treatment: str | None = None, *, bins: int = 10, alpha: float = 0.05, ax=None):
        """Average effect against a variable: by its levels, or by ``bins`` quantile bins of a continuous one.

        Each point is a subgroup's average effect with its confidence interval (:meth:`effect_by`); the faint
        dots are the units' fitted theta(x_i) (fitted values, not estimates); the dashed line is ``params``.
        ``x`` is what :meth:`effect_by` takes. Returns the Figure.

        Examples
        --------
        >>> import plce
        >>> df, _ = plce.datasets.make_family("linear", n=600, random_state=0)
        >>> res = plce.ols_ml("y ~ t | x1 + x2 + x3", data=df, n_rep=1, random_state=0)
        >>> fig = res.plot_effects("x1", bins=5)
        >>> len(fig.axes[0].lines) >= 1
        True
        """
        from .plotting import effects_plot
        from .subgroups import MAX_LEVELS, grouping_values

        values, name = grouping_values(x, self._design)
        j = self._treatment_index(treatment)
        numeric = pd.api.types.is_numeric_dtype(values) and not isinstance(values.dtype, pd.CategoricalDtype)
        if numeric and values.nunique() > min(bins, MAX_LEVELS):
            groups = pd.qcut(values, bins, duplicates="drop")
        else:
            groups = values
        by = self._subgroups(groups, name, j, alpha)
        kept = self._fit.kept
        vals = values if kept is None else values[kept].reset_index(drop=True)
        grp = groups if kept is None else groups[kept].reset_index(drop=True)
        if numeric:
            xpos = vals.groupby(grp, observed=True).mean().reindex(by.table.index).to_numpy(dtype=float)
            ticks = None
        else:
            xpos, ticks = np.arange(len(by.table)), [str(v) for v in by.table.index]
        unit = self.effects.iloc[:, j].dropna().to_numpy()
        unit_x = vals.to_numpy(dtype=float) if numeric else grp.map(dict(zip(by.table.index, xpos))).to_numpy()
        return effects_plot(xpos, by.table["estimate"].to_numpy(), by.table["conf_low"].to_numpy(),
                            by.table["conf_high"].to_numpy(), overall=float(self._theta[j]), xlabel=name,
                            ylabel=f"average effect of {self._names[j]}", ticks=ticks, unit_x=unit_x,
                            unit_theta=unit, ax=ax)

    def with_estimand(self, estimand: str) -> "PLCEResults":
        """The same fit for another weighted estimand of a 0/1 treatment (``"ate"``, ``"att"``, ``"atc"``): only the
        weights and the final stage are re-run, the learners are not refit.

        Examples
        --------
        >>> import plce
        >>> df, _ = plce.datasets.make_simdata("family", effect="linear", treatment="binary", n=600, random_state=0)
        >>> res = plce.ols_ml("y ~ t | x1 + x2 + x3", data=df, n_rep=1, random_state=0)
        >>> res.with_estimand("att").estimand
        'att'
        """
        from .estimate import final_stage, treatment_weights
        from .options import FitOptions

        est = FitOptions(estimand=estimand).estimand
        if self.plan.weighting != "binary" or est not in ("ate", "att", "atc"):
            raise PLCEError("with_estimand switches between 'ate', 'att' and 'atc' of a fit of a 0/1 treatment with "
                            "propensity weights; refit for other changes.")
        opts = self.options.replace(estimand=est)
        plan = dataclasses.replace(self.plan, estimand=est)
        weights, floored = treatment_weights(self._fit.nuisances, plan, opts.weight_floor)
        finals = final_stage(self._design, opts, plan, self._fit.nuisances, weights, plan.inference,
                             kept=self._fit.kept, effects=self._fit.effects)
        overlap = self._fit.overlap
        if overlap is not None:
            overlap = dataclasses.replace(overlap, estimand=est)
        fit = dataclasses.replace(self._fit, weights=weights, floored=floored, finals=finals, overlap=overlap)
        return PLCEResults(self._design, opts, plan, fit)

    # --- per-repetition and nuisance detail -----------------------------------------
    @cached_property
    def params_rep(self) -> pd.DataFrame:
        """theta_r of every repetition (rows) for every treatment (columns)."""
        return pd.DataFrame([f.theta * self._scale for f in self._fit.finals],
                            columns=self._names).rename_axis("rep")

    @cached_property
    def bse_rep(self) -> pd.DataFrame:
        """Standard error of every repetition's final stage."""
        return pd.DataFrame([np.sqrt(np.diag(f.cov)) * np.abs(self._scale) for f in self._fit.finals],
                            columns=self._names).rename_axis("rep")

    @property
    def finals(self) -> tuple:
        """The final-stage fit of every repetition (:class:`plce.final.FinalFit`)."""
        return self._fit.finals

    @property
    def weights(self) -> tuple:
        """The final-stage weights of every repetition (``None`` entries without weights)."""
        return self._fit.weights

    @property
    def nuisance_metrics(self) -> pd.DataFrame:
        """Out-of-fold R^2 and RMSE of every nuisance model in every repetition."""
        return self._fit.nuisances.metrics.copy()

    @property
    def nuisances(self):
        """The cross-fitted nuisance predictions (:class:`plce.nuisance.NuisanceFits`)."""
        return self._fit.nuisances

    @property
    def weight_diagnostics(self):
        """Effective sample size, largest share and floored count of the weights (``None`` without weights)."""
        return self._fit.weight_summary

    @property
    def re_variances(self) -> pd.Series | None:
        """Random-intercept variance of each factor in each nuisance model (mean over folds and repetitions)."""
        from .random_effects import variance_table

        return variance_table(self._fit.nuisances.re_variances)

    @property
    def interference(self) -> pd.DataFrame | None:
        """Interference features kept, one row per feature and model, most often kept first.

        ``share`` is the share of the (repetition, fold) fits that kept the feature (each fold selects on
        its own training units), ``nu`` the median bandwidth chosen, ``score`` the median |Spearman
        correlation| with the inner residual that selected it, ``feature`` its display name at its most common
        bandwidth (``knn(...)`` Gaussian, ``disk(...)`` hard radius, ``nearest(...)`` k nearest, ``W·...``).
        """
        from .interference import kept_table

        return kept_table(self._fit.nuisances.interference, self.plan.n_rep * self.plan.n_folds)

    @property
    def folds(self) -> np.ndarray:
        """Fold labels, shape (n_rep, nobs)."""
        return self.plan.crossfit.folds.copy()

    @property
    def treat_resid(self) -> np.ndarray:
        """Final-stage (partialled-out) treatment residuals, shape (n_rep, nobs, k)."""
        return np.stack([f.treat_resid for f in self._fit.finals])

    @property
    def design(self):
        return self._design

    # --- diagnostics -----------------------------------------------------------------
    def sensitivity(self, treatment: str | None = None, *, q: float = 1.0, alpha: float = 0.05,
                    reduce: bool = True, benchmark=None, kd=(1, 2, 3), ky=None, r2dz_x=None, r2yz_dx=None):
        """Cinelli & Hazlett (2020) sensitivity analysis of one treatment's estimate.

        Parameters
        ----------
        treatment : str, optional
            Which treatment (default: the first).
        q : float, default 1
            Fraction of the estimate an omitted confounder would explain away.
        alpha : float, default 0.05
            Level for RV_{q,alpha} and the bounds' confidence intervals.
        reduce : bool, default True
            Confounding that reduces the absolute value of the estimate.
        benchmark : str or list of str, optional
            Control columns to benchmark against: bounds on a confounder ``kd``
            times as strong as the covariate (``ky`` for the outcome side).
        kd, ky : float or list of float
        r2dz_x, r2yz_dx : float or list, optional
            Hypothetical confounder strengths to add as "manual" bounds.

        Returns
        -------
        plce.diagnostics.sensitivity_results.SensitivityResults

        Notes
        -----
        The estimate's t-statistic and residual df are those of the final-stage
        regression with *classical* standard errors (sensemakr's convention), even
        when the headline SE is robust or clustered. A benchmark covariate's partial
        R^2 with the treatment is the share of the out-of-fold treatment residual
        sum of squares that refitting the nuisances *without* it leaves unexplained,
        ``(RSS_without - RSS_with) / RSS_without`` (summed over repetitions); with
        the outcome, the same ratio for the final-stage residuals.
        """
        from .diagnostics.sensitivity_benchmark import sensitivity_for

        return sensitivity_for(self, treatment, q=q, alpha=alpha, reduce=reduce, benchmark=benchmark, kd=kd,
                               ky=ky, r2dz_x=r2dz_x, r2yz_dx=r2yz_dx)

    def positivity_diagnostic(self, treatment: str | None = None):
        """The positivity diagnostic object (:class:`plce.diagnostics.positivity.PositivityDiagnostic`)."""
        from .diagnostics.positivity import positivity

        j = self._treatment_index(treatment)
        cache = self.__dict__.setdefault("_positivity_cache", {})
        if j not in cache:
            resid = np.stack([f.treat_resid[:, j] for f in self._fit.finals])
            cache[j] = positivity(resid, seed=self.random_state % (2**32))
        return cache[j]

    @property
    def positivity(self) -> pd.DataFrame:
        """Per-unit positivity diagnostic, aligned with the input rows (first treatment).

        Columns: ``excess_kurtosis`` (NaN for dropped rows or when n_rep < 10), ``flagged`` (above the
        90th percentile of the calibrated no-problem reference, see :mod:`plce.diagnostics.positivity`)
        and ``dropped`` (row not used in the fit).
        """
        return self.positivity_diagnostic().frame(self._design, self._fit.kept)

    @cached_property
    def moran(self):
        """Moran's I of the final-stage residuals (first repetition) over the fit's proximity -- the interference
        coordinates (8 nearest neighbours), weight matrix, or Conley coordinates -- as ``(I, z, p)``; ``None``
        without one (see :mod:`plce.spatial`)."""
        from .spatial import knn_weights, moran_i

        spec, inf = self.plan.interference, self.plan.inference
        if spec is not None and spec.kind == "coordinates":
            W = knn_weights(spec.proximity)
        elif spec is not None and spec.kind == "matrix":
            W = spec.proximity
        elif inf.kernel is not None:
            W = inf.kernel
        else:
            return None
        kept = self._fit.kept
        if kept is not None:
            W = W[kept][:, kept]
        return moran_i(self._fit.finals[0].resid, W)

    @property
    def overlap_diagnostics(self):
        """Overlap diagnostics (:class:`plce.diagnostics.overlap.OverlapDiagnostics`; ``None`` with several
        treatments)."""
        return self._fit.overlap

    @property
    def overlap(self) -> pd.DataFrame | None:
        """Per-unit overlap table aligned with the input rows, at any ``n_rep``.

        Columns: ``propensity`` (0/1 treatment: the out-of-fold propensity, averaged over repetitions) or
        ``variance`` (continuous: the estimated Var(t|x)), ``weight`` (the final-stage weight, mean 1),
        ``near_boundary`` (propensity beyond 0.05/0.95 on the tail the estimand uses, or at the variance floor),
        ``trimmed`` and ``dropped``.
        """
        diag = self._fit.overlap
        return None if diag is None else diag.frame(self._design)

    def plot_overlap(self, ax=None):
        """Propensity histograms by arm (0/1 treatment) or the weights' distribution (continuous); the Figure."""
        from .plotting import overlap_plot

        diag = self._fit.overlap
        if diag is None:
            raise PLCEError("Overlap plots are for a single treatment.")
        return overlap_plot(diag.score, diag.t, weights=diag.weight, binary=diag.binary, ax=ax,
                            threshold=diag.threshold, treatment=self._names[0])

    def plot_positivity(self, treatment: str | None = None, ax=None):
        """The talk's positivity plot: observed - expected excess kurtosis by percentile; returns the Figure."""
        from .plotting import positivity_plot

        diag = self.positivity_diagnostic(treatment)
        if not diag.reliable:
            raise PLCEError(f"The positivity diagnostic needs n_rep >= 10 repetitions; this fit has {diag.n_rep}. "
                            "Refit with n_rep=10 or more.")
        return positivity_plot(diag.curve, ax=ax, title=f"Positivity diagnostic: {diag.line()}",
                               share_flagged=diag.share_flagged)

    def _treatment_index(self, treatment: str | None) -> int:
        if treatment is None:
            return 0
        if treatment not in self._names:
            raise PLCEError(f"Treatment '{treatment}' is not in the model; choose one of {self._names}.")
        return self._names.index(treatment)

    def plot_sensitivity(self, treatment: str | None = None, *, benchmark=None, kd=(1, 2, 3),
                         sensitivity_of: str = "estimate", **kwargs):
        """Contour plot of the bias-adjusted estimate (see :meth:`sensitivity`); returns the Figure."""
        return self.sensitivity(treatment, benchmark=benchmark, kd=kd, **kwargs).plot(sensitivity_of=sensitivity_of)

    # --- summary ---------------------------------------------------------------------
    def summary(self, alpha: float = 0.05, *, notes: bool = True):
        """A statsmodels :class:`~statsmodels.iolib.summary.Summary` of the fit.

        Use ``.as_text()``, ``.as_latex()``, ``.as_html()`` or ``.as_csv()``; ``notes=False`` leaves out the
        numbered notes.
        """
        from .summary import build_summary

        return build_summary(self, alpha=alpha, notes=notes)

    def __repr__(self) -> str:
        return self.summary().as_text()

    def _repr_html_(self) -> str:
        return self.summary().as_html()


def _with_clusters(design, cluster):
    """The design with other cluster codes (names of the fit's factors, or values aligned with the input rows)."""
    several = isinstance(cluster, (list, tuple)) and 0 < len(cluster) <= 2 and all(
        isinstance(c, str) or np.ndim(c) == 1 for c in cluster)
    items = list(cluster) if several else [cluster]
    if len(items) > 2:
        raise PLCEError(f"cluster takes one or two variables; got {len(items)}.")
    codes, names = [], []
    for k, c in enumerate(items):
        if isinstance(c, str):
            if c in design.groups:
                codes.append(design.groups[c])
            elif c in design.cluster_names:
                codes.append(design.clusters[:, design.cluster_names.index(c)])
            else:
                known = list(design.groups) + list(design.cluster_names)
                raise PLCEError(f"cluster='{c}' is not a random-intercept factor or cluster of this fit ({known}); "
                                "pass the values instead (e.g. cluster=df['state']).")
            names.append(c)
            continue
        if isinstance(c, pd.Series) and design.input_index is not None:
            vals = c.reindex(design.input_index).to_numpy()[design.row_mask]
        else:
            arr = np.asarray(c)
            if len(arr) == len(design.row_mask):
                vals = arr[design.row_mask]
            elif len(arr) == design.nobs:
                vals = arr
            else:
                raise PLCEError(f"cluster values have length {len(arr)}; the data have {len(design.row_mask)} rows "
                                f"({design.nobs} used).")
        if pd.isna(vals).any():
            raise PLCEError("cluster values are missing for some rows used in the fit.")
        codes.append(pd.factorize(vals, sort=True)[0].astype(np.int64))
        names.append(getattr(c, "name", None) or f"cluster{k + 1}")
    return dataclasses.replace(design, clusters=np.column_stack(codes), cluster_names=tuple(map(str, names)))

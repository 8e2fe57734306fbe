"""`PLCEResults`: what a fit returns, with statsmodels' names and summary."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property

import numpy as np
import pandas as pd
from scipy import stats

from .final import COV_DESCRIPTIONS

__all__ = ["PLCEResults", "FitInfo"]


@dataclass(frozen=True)
class FitInfo:
    """The options a fit used, for the summary and for refits."""

    learner: str
    n_folds: int
    n_rep: int
    cov_type: str
    aggregate: str
    final: str
    seed: int
    cluster_names: tuple[str, ...] = ()
    n_clusters: tuple[int, ...] = ()
    grouped_folds: bool = False
    re_final: str | None = None
    weighting: str | None = None
    weight_floor: float = 0.05
    linear_controls: str = "none"  # "none", "linear" or "quadratic"
    interference: str | None = None  # "learned", "coordinates" or "matrix"
    effect_interactions: bool = False  # the final stage interacts t (and m_hat) with its centred control terms
    average_effect: str = "population"  # which average the SE is for when the effect varies ("sample": these x)
    extra_notes: tuple[str, ...] = field(default_factory=tuple)


def _summary_class():
    """statsmodels' Summary whose LaTeX keeps each table's own columns (statsmodels merges them)."""
    from statsmodels.iolib.summary import Summary

    class PLCESummary(Summary):
        def as_latex(self) -> str:
            body = "\n".join(t.as_latex_tabular() for t in self.tables)
            if self.extra_txt is not None:
                notes = self.extra_txt.replace("_", "\\_").replace("%", "\\%").replace("\n", " \\newline\n ")
                body += "\n\n" + notes
            return body

    return PLCESummary


class PLCEResults:
    """Results of a PLCE fit.

    Attributes follow statsmodels: ``params``, ``bse``, ``tvalues``,
    ``pvalues``, ``conf_int()``, ``cov_params()``, ``nobs``, ``df_resid``,
    ``use_t``. Per-repetition estimates are in ``params_rep`` and ``bse_rep``;
    out-of-fold nuisance fit in ``nuisance_metrics``.

    Examples
    --------
    >>> import plce
    >>> df, truth = plce.datasets.make_simdata("baseline", n=400, random_state=0)
    >>> res = plce.ols_ml("y ~ t | x1 + x2 + x3 + x4 + x5", data=df, n_rep=1, random_state=0)
    >>> bool(abs(res.params["t"] - truth) < 4 * res.bse["t"])
    True
    """

    def __init__(self, *, design, nuisances, finals, theta, cov, info: FitInfo, use_t: bool, cov_classical,
                 refit=None, weights=None):
        self._design = design
        self._nuisances = nuisances
        self._finals = tuple(finals)
        self._names = list(design.treatment_names)
        self._theta = np.asarray(theta, dtype=float)
        self._cov = np.asarray(cov, dtype=float)
        self._cov_classical = np.asarray(cov_classical, dtype=float)
        self.info = info
        self.use_t = bool(use_t)
        self._refit = refit
        self.weight_diagnostics = weights

    # --- statsmodels-style accessors -------------------------------------------------
    @property
    def model_formula(self) -> str | None:
        return self._design.formula

    @property
    def nobs(self) -> int:
        """Number of observations used (after dropping incomplete rows)."""
        return self._design.nobs

    @property
    def n_dropped(self) -> int:
        """Rows of the input dropped for missing or non-finite values."""
        return self._design.n_dropped

    @property
    def df_resid(self) -> int:
        """Residual degrees of freedom of the final-stage regression."""
        return self._finals[0].df_resid

    @property
    def random_state(self) -> int:
        """The seed entropy the fit used (pass it back to reproduce the fit)."""
        return self.info.seed

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
        return pd.Series(np.sqrt(np.diag(self._cov)), index=self._names, name="std err")

    @cached_property
    def bse_classical(self) -> pd.Series:
        """Classical (iid) final-stage standard errors, aggregated the same way; used by sensitivity."""
        return pd.Series(np.sqrt(np.diag(self._cov_classical)), index=self._names, name="classical std err")

    @cached_property
    def tvalues(self) -> pd.Series:
        return pd.Series(self._theta / self.bse.to_numpy(), index=self._names, name="t" if self.use_t else "z")

    @cached_property
    def pvalues(self) -> pd.Series:
        t = np.abs(self.tvalues.to_numpy())
        p = 2 * (stats.t.sf(t, self.df_resid) if self.use_t else stats.norm.sf(t))
        return pd.Series(p, index=self._names, name="P>|t|" if self.use_t else "P>|z|")

    def _crit(self, alpha: float) -> float:
        if not 0 < alpha < 1:
            from .errors import PLCEError

            raise PLCEError(f"alpha must be in (0, 1); got {alpha}.")
        q = 1 - alpha / 2
        return float(stats.t.ppf(q, self.df_resid) if self.use_t else stats.norm.ppf(q))

    def conf_int(self, alpha: float = 0.05) -> pd.DataFrame:
        """Confidence intervals, columns ``[alpha/2, 1 - alpha/2]`` as in statsmodels."""
        c = self._crit(alpha)
        lo = self._theta - c * self.bse.to_numpy()
        hi = self._theta + c * self.bse.to_numpy()
        return pd.DataFrame({0: lo, 1: hi}, index=self._names)

    # --- per-repetition and nuisance detail -----------------------------------------
    @cached_property
    def params_rep(self) -> pd.DataFrame:
        """theta_r of every repetition (rows) for every treatment (columns)."""
        return pd.DataFrame([f.theta for f in self._finals], columns=self._names).rename_axis("rep")

    @cached_property
    def bse_rep(self) -> pd.DataFrame:
        """Standard error of every repetition's final stage."""
        return pd.DataFrame([np.sqrt(np.diag(f.cov)) for f in self._finals], columns=self._names).rename_axis("rep")

    @property
    def nuisance_metrics(self) -> pd.DataFrame:
        """Out-of-fold R^2 and RMSE of every nuisance model in every repetition."""
        return self._nuisances.metrics.copy()

    @property
    def nuisances(self):
        """The cross-fitted nuisance predictions (:class:`plce.nuisance.NuisanceFits`)."""
        return self._nuisances

    @property
    def re_variances(self) -> pd.Series | None:
        """Random-intercept variance of each factor in each nuisance model (mean over folds and repetitions)."""
        rv = self._nuisances.re_variances
        if rv is None:
            return None
        return rv.groupby(["factor", "model"], sort=False)["sigma2_b"].mean()

    @property
    def interference(self) -> pd.DataFrame | None:
        """Interference features kept, one row per feature and model, most often kept first.

        ``share`` is the share of the (repetition, fold) fits that kept the feature (each fold selects on
        its own training units), ``nu`` the median bandwidth chosen, ``score`` the median |Spearman
        correlation| with the inner residual that selected it.
        """
        kept = self._nuisances.interference
        if kept is None:
            return None
        n_fits = self.info.n_rep * self.info.n_folds
        if kept.empty:
            return pd.DataFrame(columns=["smoothed", "proximity", "model", "share", "nu", "score"])
        g = kept.groupby(["smoothed", "proximity", "model"], sort=False)
        out = pd.DataFrame({"share": g.size() / n_fits, "nu": g["nu"].median(), "score": g["score"].median()})
        return out.sort_values(["share", "score"], ascending=False).reset_index()

    def _interference_note(self) -> str | None:
        from .interference import feature_name

        tab = self.interference
        if tab is None:
            return None
        kind = self.info.interference
        what = {"learned": "each numeric control as a proximity (learned interference)",
                "coordinates": "a Gaussian kernel on the coordinates",
                "matrix": "the given weight matrix (row-normalised)"}[kind]
        if tab.empty:
            return f"Interference: neighbour averages over {what}; no fold kept a feature."
        top = ", ".join(f"{feature_name(r.smoothed, r.proximity, r.nu, kind)} [{r.model[0]}, {100 * r.share:.0f}%]"
                        for r in tab.head(6).itertuples())
        return (f"Interference: neighbour averages over {what}, selected within each training fold by |Spearman "
                f"corr| with inner residuals ({len(tab)} distinct features over all folds; most kept: {top}). "
                "Each model's kept features enter both learners as one least-squares index. See res.interference.")

    @property
    def folds(self) -> np.ndarray:
        """Fold labels, shape (n_rep, nobs)."""
        return self._nuisances.plan.folds.copy()

    @property
    def treat_resid(self) -> np.ndarray:
        """Final-stage (partialled-out) treatment residuals, shape (n_rep, nobs, k)."""
        return np.stack([f.treat_resid for f in self._finals])

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
        from .diagnostics.benchmark import sensitivity_for

        return sensitivity_for(self, treatment, q=q, alpha=alpha, reduce=reduce, benchmark=benchmark, kd=kd,
                               ky=ky, r2dz_x=r2dz_x, r2yz_dx=r2yz_dx)

    def positivity_diagnostic(self, treatment: str | None = None):
        """The positivity diagnostic object (:class:`plce.diagnostics.positivity.PositivityDiagnostic`)."""
        from .diagnostics.positivity import positivity

        j = self._treatment_index(treatment)
        cache = self.__dict__.setdefault("_positivity_cache", {})
        if j not in cache:
            resid = np.stack([f.treat_resid[:, j] for f in self._finals])
            cache[j] = positivity(resid, seed=self.info.seed % (2**32))
        return cache[j]

    @property
    def positivity(self) -> pd.DataFrame:
        """Per-unit positivity diagnostic, aligned with the input rows (first treatment).

        Columns: ``excess_kurtosis`` (NaN for dropped rows or when n_rep < 10), ``flagged`` (above the
        90th percentile of the calibrated no-problem reference, see :mod:`plce.diagnostics.positivity`)
        and ``dropped`` (row not used in the fit).
        """
        d = self._design
        diag = self.positivity_diagnostic()
        idx = d.input_index if d.input_index is not None else pd.RangeIndex(len(d.row_mask))
        kappa = np.full(len(idx), np.nan)
        flagged = np.zeros(len(idx), dtype=bool)
        if diag.reliable:
            kappa[d.row_mask] = diag.kurtosis
            flagged[d.row_mask] = diag.flagged
        return pd.DataFrame({"excess_kurtosis": kappa, "flagged": flagged, "dropped": ~d.row_mask}, index=idx)

    def plot_positivity(self, treatment: str | None = None, ax=None):
        """The talk's positivity plot: observed - expected excess kurtosis by percentile; returns the Figure."""
        from .errors import PLCEError
        from .plotting import positivity_plot

        diag = self.positivity_diagnostic(treatment)
        if not diag.reliable:
            raise PLCEError(f"The positivity diagnostic needs n_rep >= 10 repetitions; this fit has {diag.n_rep}. "
                            "Refit with n_rep=10 or more.")
        return positivity_plot(diag.curve, ax=ax, title=f"Positivity diagnostic: {diag.line()}")

    def _treatment_index(self, treatment: str | None) -> int:
        if treatment is None:
            return 0
        if treatment not in self._names:
            from .errors import PLCEError

            raise PLCEError(f"Treatment '{treatment}' is not in the model; choose one of {self._names}.")
        return self._names.index(treatment)

    def plot_sensitivity(self, treatment: str | None = None, *, benchmark=None, kd=(1, 2, 3),
                         sensitivity_of: str = "estimate", **kwargs):
        """Contour plot of the bias-adjusted estimate (see :meth:`sensitivity`); returns the Figure."""
        return self.sensitivity(treatment, benchmark=benchmark, kd=kd, **kwargs).plot(sensitivity_of=sensitivity_of)

    # --- summary ---------------------------------------------------------------------
    def _cov_note(self) -> str:
        i = self.info
        if i.cov_type == "cluster":
            parts = " and ".join(f"'{c}' ({g} clusters)" for c, g in zip(i.cluster_names, i.n_clusters))
            kind = "two-way " if len(i.cluster_names) == 2 else ""
            return (
                f"Standard errors are {kind}cluster-robust by {parts}, with the G/(G-1)(n-1)/(n-p) "
                "small-sample factor."
            )
        return f"Standard errors are {COV_DESCRIPTIONS[i.cov_type]}."

    def _estimand_note(self) -> str:
        i = self.info
        stage = (" Final stage: the partialling-out regression of DoubleML's PLR." if i.final == "residual"
                 else " Final stage: y on [1, t, l_hat(x), m_hat(x)"
                 + {"none": "", "linear": ", x", "quadratic": ", x, x^2, x_j x_k"}[i.linear_controls]
                 + "] (the talk's feasible model" + {"none": "", "linear": " plus the controls linearly",
                                                      "quadratic": " plus the controls, their squares and pairwise "
                                                                   "products"}[i.linear_controls]
                 + ").")
        if i.effect_interactions:
            spread = ("its SE includes their spread (for the population average)" if i.average_effect == "population"
                      else "its SE conditions on these units' controls (average_effect='sample')")
            stage += (" The effect is also let vary with those control terms (t and m_hat x centred terms); theta "
                      f"is the sample average of the fitted effects, and {spread} (doubly "
                      "robust: right if the weights or the linear-in-terms effect model are).")
        if i.weighting is None:
            return ("Estimand: the variance-weighted average effect E[s2(x) theta(x)] / E[s2(x)] "
                    "(s2 = Var(t|x)), the classic partially linear / DML coefficient; it equals the average "
                    "effect when the effect is constant or s2 does not vary with x." + stage)
        how = ("s2 = m_hat(1 - m_hat) of the binary treatment" if i.weighting == "binary"
               else "s2(x) learned from inner out-of-fold squared treatment residuals")
        return ("Estimand: the average effect E[theta(x)] (for a binary treatment the ATE): the final stage is "
                f"weighted by 1/s2(x), {how}, floored at {i.weight_floor:g} x its mean, weights normalised "
                "to mean 1." + stage)

    def _notes(self) -> list[str]:
        i = self.info
        notes = [
            self._estimand_note(),
            self._cov_note()
            + (" Inference uses the t distribution." if self.use_t else " Inference uses the normal distribution."),
            (
                f"Aggregated over {i.n_rep} repetitions of {i.n_folds}-fold cross-fitting by the "
                + (
                    "median rule (Chernozhukov et al. 2018): theta = median theta_r, "
                    "V = median[V_r + (theta_r - theta)^2]."
                    if i.aggregate == "median"
                    else "Hodges-Lehmann rule of the R PLCE package."
                )
            ),
        ]
        if self._design.groups:
            names = ", ".join(f"(1|{g})" for g in self._design.groups)
            first = next(iter(self._design.groups))
            within = (f" The final stage is within '{first}' (group fixed effects) and also gets the cross-fitted "
                      "BLUP columns." if i.re_final == "within" else
                      " The final stage gets the cross-fitted BLUP columns of both models.")
            notes.append(f"Random intercepts {names} in the outcome and treatment models (backfitting with REML "
                         f"variance components; BLUPs of held-out units from the training folds, 0 for unseen "
                         f"groups).{within}")
        if self.n_dropped:
            detail = ", ".join(f"{k}: {v}" for k, v in self._design.dropped.items())
            notes.append(f"{self.n_dropped} rows dropped for missing or non-finite values ({detail}).")
        notes.append(f"Seed {i.seed}: pass random_state={i.seed} to reproduce this fit exactly.")
        notes.append(
            "Positivity: per-unit excess kurtosis of the treatment residuals across repetitions, against a "
            "reference in which every residual is a stable own shock plus split noise; a unit is flagged above the "
            "reference's 90th percentile (10% expected): its residual is dominated by split noise, a sign that the "
            "treatment is nearly determined by the controls there."
        )
        notes.append(
            "Partial R2 and robustness values (Cinelli & Hazlett 2020) use the final stage's classical t and "
            "residual df: a confounder explaining RV of the residual variance of both treatment and outcome "
            "would explain the estimate away (RV_q=1) or make it insignificant at 5% (RV_q=1,a=0.05)."
        )
        inote = self._interference_note()
        if inote:
            notes.append(inote)
        notes.extend(i.extra_notes)
        return notes

    def _header(self):
        i = self.info
        met = self._nuisances.metrics.groupby("nuisance", sort=False)["r2"].mean()
        left = [
            ("Dep. Variable:", self._design.outcome_name),
            ("Treatment:", ", ".join(self._names)),
            ("Model:", "PLCE"),
            ("Learner:", i.learner),
            ("Folds x Reps:", f"{i.n_folds} x {i.n_rep}"),
            ("No. Observations:", str(self.nobs)),
            ("Dropped (missing):", str(self.n_dropped)),
        ]
        for name, codes in self._design.groups.items():
            left.append((f"No. Groups ({name[:10]}):", str(int(codes.max()) + 1)))
        right = [
            ("Cov. Type:", i.cov_type),
            ("Aggregation:", i.aggregate),
            ("Final stage:", i.final),
            ("Df Resid.:", str(self.df_resid)),
            ("R2 outcome (oof):", f"{met.iloc[0]:.3f}"),
        ]
        for name, r2 in list(met.items())[1:]:
            right.append((f"R2 {name.split(':', 1)[-1][:10]} (oof):", f"{r2:.3f}"))
        right.append(("Date:", datetime.now().strftime("%a, %d %b %Y")))
        while len(right) < len(left):
            right.append((" ", " "))
        while len(left) < len(right):
            left.append((" ", " "))
        return left, right

    def summary(self, alpha: float = 0.05):
        """A statsmodels :class:`~statsmodels.iolib.summary.Summary` of the fit.

        Use ``.as_text()``, ``.as_latex()``, ``.as_html()`` or ``.as_csv()``.
        """
        from statsmodels.iolib.table import SimpleTable

        smry = _summary_class()()
        left, right = self._header()
        smry.add_table_2cols(
            self,
            gleft=[(a, [b]) for a, b in left],
            gright=[(a, [b]) for a, b in right],
            yname=self._design.outcome_name,
            xname=self._names,
            title="PLCE Regression Results",
        )
        ci = self.conf_int(alpha)
        stat = "t" if self.use_t else "z"
        data = [
            [
                f"{self.params[n]:.4f}",
                f"{self.bse[n]:.4f}",
                f"{self.tvalues[n]:.3f}",
                f"{self.pvalues[n]:.3f}",
                f"{ci.loc[n, 0]:.3f}",
                f"{ci.loc[n, 1]:.3f}",
            ]
            for n in self._names
        ]
        hdr = ["coef", "std err", stat, f"P>|{stat}|", f"[{alpha / 2:g}", f"{1 - alpha / 2:g}]"]
        smry.tables.append(SimpleTable(data, headers=hdr, stubs=self._names))
        extra = self._diagnostic_lines()
        if extra:
            smry.tables.append(SimpleTable([[b] for _, b in extra], stubs=[a for a, _ in extra], title="Diagnostics"))
        smry.add_extra_txt([f"[{k + 1}] {t}" for k, t in enumerate(self._notes())])
        return smry

    def _diagnostic_lines(self) -> list[tuple[str, str]]:
        """Diagnostic rows under the coefficient table: sensitivity statistics of each treatment."""
        from .diagnostics.sensitivity import partial_r2, robustness_value

        rows = [("Positivity (excess kurtosis):", self.positivity_diagnostic().line())]
        if self.weight_diagnostics is not None:
            rows += self.weight_diagnostics.lines()
        rv = self.re_variances
        if rv is not None:
            for (factor, model), v in rv.items():
                rows.append((f"RE var {factor[:10]} ({model.split(':')[-1][:10]}):", f"{v:.4g}"))
        for name in self._names:
            t = float(self.params[name] / self.bse_classical[name])
            tag = f" ({name})" if len(self._names) > 1 else ""
            rows += [
                (f"Partial R2 (Y~D|X){tag}:", f"{partial_r2(t, self.df_resid):.4f}"),
                (f"Robustness value RV_q=1{tag}:", f"{robustness_value(t, self.df_resid):.4f}"),
                (f"Robustness value RV_q=1,a=0.05{tag}:",
                 f"{robustness_value(t, self.df_resid, alpha=0.05):.4f}"),
            ]
        return rows

    def __repr__(self) -> str:
        return self.summary().as_text()

    def _repr_html_(self) -> str:
        return self.summary().as_html()

"""`SensitivityResults`: Cinelli-Hazlett sensitivity analysis of a fit, printed as sensemakr prints it."""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from ..errors import PLCEError
from . import sensitivity as s

__all__ = ["SensitivityResults", "TextSummary"]


class TextSummary(str):
    """Plain text that shows itself un-quoted at the prompt."""

    def __repr__(self) -> str:
        return str(self)

    def as_text(self) -> str:
        return str(self)


class SensitivityResults:
    """Sensitivity of an estimate to an omitted confounder (Cinelli & Hazlett 2020).

    Built by :meth:`plce.PLCEResults.sensitivity` or directly from numbers.

    Parameters
    ----------
    estimate, se : float
        The estimate and its *classical* standard error (which, with ``dof``, sets the partial-R^2 scale).
    dof : float
        Residual degrees of freedom of that regression.
    treatment, outcome : str
        Names for printing.
    q : float
        Fraction of the estimate to explain away (1 = all of it).
    alpha : float
        Significance level for RV_{q,alpha} and the bounds' intervals.
    reduce : bool
        Consider confounders that reduce the absolute value of the estimate.
    benchmarks : DataFrame, optional
        Rows ``(covariate, r2dxj_x, r2yxj_dx)`` of benchmark covariates.
    kd, ky : list of float
        Multipliers of the benchmarks' strength.
    notes : list of str
        Extra notes printed at the end of the summary.
    se_headline, critical, se_label : optional
        The headline standard error (robust or clustered), the headline test's critical value and the SE's name.
        Given, everything that is about significance -- RV_{q,alpha}, the bounds' adjusted SEs, t-values and
        intervals, the t-value plot -- uses the headline SE (scaled as the classical formulas scale the classical
        SE), so the sensitivity block agrees with the coefficient table; the partial R^2, RV_q and the bias of a
        confounder stay on the classical scale (they depend on the residual variances, not on a test).

    Examples
    --------
    >>> from plce.diagnostics.sensitivity_results import SensitivityResults
    >>> sr = SensitivityResults(0.0973158, 0.0232565, 783, treatment="directlyharmed",
    ...                         outcome="peacefactor")
    >>> round(sr.stats["rv_q"], 4)
    0.1388
    """

    def __init__(self, estimate, se, dof, *, treatment="treatment", outcome="outcome", q=1.0, alpha=0.05,
                 reduce=True, benchmarks: pd.DataFrame | None = None, kd=(1, 2, 3), ky=None, notes=(),
                 se_headline: float | None = None, critical: float | None = None, se_label: str = "classical"):
        self.estimate, self.se, self.dof = float(estimate), float(se), float(dof)
        self.se_headline = float(se) if se_headline is None else float(se_headline)
        self.critical, self.se_label = critical, se_label
        self.treatment, self.outcome = treatment, outcome
        self.q, self.alpha, self.reduce = q, alpha, reduce
        self.stats = s.sensitivity_stats(estimate, se, dof, q=q, alpha=alpha, reduce=reduce)
        if se_headline is not None:
            t = self.estimate / self.se
            self.stats["rv_qa"] = s.robustness_value(t, dof, q=q, alpha=alpha, se_ratio=self.se_ratio,
                                                     critical=self._critical(alpha))
            self.stats["t_statistic_headline"] = self.estimate / self.se_headline
        self.benchmarks = benchmarks
        self.notes = list(notes)
        self.kd, self.ky = kd, ky
        frames = []
        if benchmarks is not None:
            for _, row in benchmarks.iterrows():
                b = s.ovb_partial_r2_bound(row["r2dxj_x"], row["r2yxj_dx"], kd=kd, ky=ky,
                                           bound_label=row["covariate"])
                frames.append(self.adjust(b))
        self.bounds = pd.concat(frames, ignore_index=True) if frames else None

    @property
    def se_ratio(self) -> float:
        """Headline SE over classical SE (1 without a headline SE)."""
        return self.se_headline / self.se

    def _critical(self, alpha: float) -> float | None:
        if self.critical is None:
            return None
        return float(self.critical) if alpha == self.alpha else float(stats.norm.ppf(1 - alpha / 2))

    def adjust(self, bounds: pd.DataFrame) -> pd.DataFrame:
        """Adjusted estimate, SE, t and interval for rows of confounder strengths (``r2dz_x``, ``r2yz_dx``)."""
        headline = None if self.se_headline == self.se else self.se_headline
        return s.bounds_table(self.estimate, self.se, self.dof, bounds, alpha=self.alpha, reduce=self.reduce,
                              se_headline=headline, critical=self.critical)

    # ------------------------------------------------------------------ printing
    def summary(self, digits: int = 4) -> TextSummary:
        """sensemakr's summary: statistics, their verbal interpretation, and the bounds table."""
        st = self.stats
        h0 = self.estimate * (1 - self.q) if self.reduce else self.estimate * (1 + self.q)
        direction = "reduce" if self.reduce else "increase"
        pct = lambda v: f"{100 * v:.{max(digits - 2, 1)}f}%"  # noqa: E731
        lines = [
            "Sensitivity Analysis to Unobserved Confounding",
            "",
            f"Outcome: {self.outcome}   Treatment: {self.treatment}",
            "",
            f"Null hypothesis: q = {self.q:g} and reduce = {self.reduce}",
            f"-- This means we are considering biases that {direction} the absolute value of the current "
            f"estimate.",
            f"-- The null hypothesis deemed problematic is H0:tau = {h0:.{digits}g}",
            "",
            f"Unadjusted Estimates of '{self.treatment}':",
            f"  Coef. estimate: {self.estimate:.{digits}g}",
            f"  Standard Error: {self.se:.{digits}g} (classical: sets the partial-R2 scale)",
            *([f"  Standard Error ({self.se_label}, as in the coefficient table): {self.se_headline:.{digits}g}"]
              if self.se_headline != self.se else []),
            f"  t-value (H0:tau = {h0:.{digits}g}): {st['t_statistic']:.{digits}g} (classical)"
            + (f", {(self.estimate - h0) / self.se_headline:.{digits}g} ({self.se_label})"
               if self.se_headline != self.se else ""),
            "",
            "Sensitivity Statistics:",
            f"  Partial R2 of treatment with outcome: {st['r2yd_x']:.{digits}g}",
            f"  Robustness Value, q = {self.q:g}: {st['rv_q']:.{digits}g}",
            f"  Robustness Value, q = {self.q:g}, alpha = {self.alpha:g}: {st['rv_qa']:.{digits}g}",
            "",
            "Verbal interpretation of sensitivity statistics:",
            "",
            f"-- Partial R2 of the treatment with the outcome: an extreme confounder (orthogonal to the "
            f"covariates) that explains 100% of the residual variance of the outcome, would need to explain "
            f"at least {pct(st['r2yd_x'])} of the residual variance of the treatment to fully account for the "
            f"observed estimated effect.",
            "",
            f"-- Robustness Value, q = {self.q:g}: unobserved confounders (orthogonal to the covariates) that "
            f"explain more than {pct(st['rv_q'])} of the residual variance of both the treatment and the outcome "
            f"are strong enough to bring the point estimate to {h0:.{digits}g} (a bias of {100 * self.q:g}% of "
            f"the original estimate). Conversely, unobserved confounders that do not explain more than "
            f"{pct(st['rv_q'])} of the residual variance of both the treatment and the outcome are not strong "
            f"enough to bring the point estimate to {h0:.{digits}g}.",
            "",
            f"-- Robustness Value, q = {self.q:g}, alpha = {self.alpha:g}: unobserved confounders (orthogonal to "
            f"the covariates) that explain more than {pct(st['rv_qa'])} of the residual variance of both the "
            f"treatment and the outcome are strong enough to bring the estimate to a range where it is no longer "
            f"'statistically different' from {h0:.{digits}g} (a bias of {100 * self.q:g}% of the original "
            f"estimate), at the significance level of alpha = {self.alpha:g}. Conversely, unobserved "
            f"confounders that do not explain more than {pct(st['rv_qa'])} of the residual variance of both the "
            f"treatment and the outcome are not strong enough to bring the estimate to a range where it is no "
            f"longer 'statistically different' from {h0:.{digits}g}, at the significance level of "
            f"alpha = {self.alpha:g}.",
            "",
        ]
        if self.bounds is not None:
            b = self.bounds.copy()
            b.columns = ["Bound Label", "R2dz.x", "R2yz.dx", "Adjusted Estimate", "Adjusted Se", "Adjusted T",
                         "Adjusted Lower CI", "Adjusted Upper CI"]
            b.insert(3, "Treatment", self.treatment)
            lines += ["Bounds on omitted variable bias:", "", b.to_string(index=False, float_format=lambda v:
                                                                           f"{v:.{digits}g}"), ""]
        for k, note in enumerate(self.notes, 1):
            lines.append(f"[{k}] {note}")
        return TextSummary("\n".join(lines).rstrip() + "\n")

    def __repr__(self) -> str:
        st = self.stats
        return (
            "Sensitivity Analysis to Unobserved Confounding\n"
            f"Observed estimate of '{self.treatment}': {self.estimate:.4g} (se {self.se:.4g}, t "
            f"{self.estimate / self.se:.4g}, df {self.dof:g})\n"
            f"Partial R2 of treatment with outcome: {st['r2yd_x']:.4g}\n"
            f"Robustness Value, q = {self.q:g}: {st['rv_q']:.4g}\n"
            f"Robustness Value, q = {self.q:g}, alpha = {self.alpha:g}: {st['rv_qa']:.4g}\n"
            "For more information, call .summary()."
        )

    def minimal_reporting(self, format: str = "latex", digits: int = 3) -> str:
        """sensemakr's minimal reporting table (``format="latex"`` or ``"html"``)."""
        st = self.stats
        row = [
            f"{round(self.estimate, digits):g}",
            f"{round(self.se, digits):g}",
            f"{round(self.estimate / self.se, digits):g}",
            f"{100 * round(st['r2yd_x'], digits):.1f}\\%",
            f"{100 * round(st['rv_q'], digits):.1f}\\%",
            f"{100 * round(st['rv_qa'], digits):.1f}\\%",
        ]
        foot = f"df = {self.dof:g}"
        if self.bounds is not None and len(self.bounds):
            b = self.bounds.iloc[0]
            foot += (f" & & \\multicolumn{{5}}{{r}}{{ \\small \\textit{{Bound ({b['bound_label']})}}: "
                     f"$R^2_{{Y\\sim Z| {{\\bf X}}, D}}$ = {100 * b['r2yz_dx']:.1f}\\%, "
                     f"$R^2_{{D\\sim Z| {{\\bf X}} }}$ = {100 * b['r2dz_x']:.1f}\\%}}")
        if format == "latex":
            return "\n".join([
                "\\begin{table}[!h]",
                "\\centering",
                "\\begin{tabular}{lrrrrrr}",
                f"\\multicolumn{{7}}{{c}}{{Outcome: \\textit{{{self.outcome}}}}} \\\\",
                "\\hline \\hline ",
                "Treatment: & Est. & S.E. & t-value & $R^2_{Y \\sim D |{\\bf X}}$ & $RV_{q = "
                f"{self.q:g}}}$ & $RV_{{q = {self.q:g}, \\alpha = {self.alpha:g}}}$ \\\\ ",
                "\\hline ",
                f"\\textit{{{self.treatment}}} & " + " & ".join(row) + " \\\\ ",
                "\\hline ",
                foot + "\\\\",
                "\\end{tabular}",
                "\\end{table}",
            ])
        if format in ("html", "pure_html"):
            cells = "".join(f"<td style='text-align:right'>{c.replace(chr(92), '')}</td>" for c in row)
            bound = ""
            if self.bounds is not None and len(self.bounds):
                b = self.bounds.iloc[0]
                bound = (f"; Bound ({b['bound_label']}): R<sup>2</sup><sub>Y~Z|X,D</sub> = "
                         f"{100 * b['r2yz_dx']:.1f}%, R<sup>2</sup><sub>D~Z|X</sub> = {100 * b['r2dz_x']:.1f}%")
            return (
                "<table style='align:center'><thead>"
                f"<tr><th style='text-align:left;border-bottom:1px solid transparent;border-top:1px solid black' "
                f"colspan='7'>Outcome: {self.outcome}</th></tr>"
                "<tr><th style='text-align:left;border-top:1px solid black'>Treatment</th>"
                "<th>Est.</th><th>S.E.</th><th>t-value</th><th>R<sup>2</sup><sub>Y~D|X</sub></th>"
                f"<th>RV<sub>q = {self.q:g}</sub></th><th>RV<sub>q = {self.q:g}, &alpha; = {self.alpha:g}</sub></th>"
                f"</tr></thead><tbody><tr><td><i>{self.treatment}</i></td>{cells}</tr></tbody>"
                f"<tr><td colspan='7' style='text-align:right'>df = {self.dof:g}{bound}</td></tr></table>"
            )
        raise PLCEError(f"format must be 'latex' or 'html'; got {format!r}.")

    def plot(self, sensitivity_of: str = "estimate", lim: float | None = None, ax=None):
        """Contour plot of the adjusted estimate (or t) over R^2_{D~Z|X} x R^2_{Y~Z|D,X}; returns the Figure.

        The plotted range shows the benchmarks (drawn at the edge, marked, when a bound reaches 1) and the critical
        contour where it fits; contour levels are chosen between the critical value's side and the unadjusted value,
        where the plot is informative. The t-value plot uses the headline SE, as the coefficient table does.
        """
        from ..plotting import sensitivity_contour

        if sensitivity_of not in ("estimate", "t-value"):
            raise PLCEError(f"sensitivity_of must be 'estimate' or 't-value'; got {sensitivity_of!r}.")
        b = self.bounds
        rv = float(self.stats["rv_q"] if sensitivity_of == "estimate" else self.stats["rv_qa"])
        if lim is None:
            top = max(float(b["r2dz_x"].max()), float(b["r2yz_dx"].max())) if b is not None and len(b) else 0.0
            lim = 0.4 if top == 0.0 else max(1.25 * top, 1.15 * rv, 0.02)
            lim = float(min(lim, 0.4 if top == 0.0 else 0.995))
        grid = np.linspace(0, lim, 121)
        gx, gy = np.meshgrid(grid, grid[:-1] if lim >= 1 else grid)
        gx = np.minimum(gx, 0.999)
        adjusted = self.adjust(pd.DataFrame({"r2dz_x": gx.ravel(), "r2yz_dx": gy.ravel()}))
        if sensitivity_of == "estimate":
            z = adjusted["adjusted_estimate"].to_numpy().reshape(gx.shape)
            threshold, origin = 0.0, self.estimate
            crit_label = "adjusted estimate = 0"
        else:
            z = adjusted["adjusted_t"].to_numpy().reshape(gx.shape)
            crit = self.critical if self.critical is not None else float(stats.t.ppf(1 - self.alpha / 2,
                                                                                        self.dof - 1))
            threshold, origin = float(np.sign(self.estimate) * crit), self.estimate / self.se_headline
            crit_label = f"t = {threshold:.2f} (critical, alpha = {self.alpha:g})"
        lo, hi = sorted((threshold - abs(origin - threshold), origin))
        points = []
        if b is not None:
            vals = b["adjusted_estimate"] if sensitivity_of == "estimate" else b["adjusted_t"]
            for (_, row), v in zip(b.iterrows(), vals):
                x, y = float(row["r2dz_x"]), float(row["r2yz_dx"])
                points.append((min(x, lim), min(y, lim), str(row["bound_label"]), float(v), x > lim or y > lim))
        what = "estimate" if sensitivity_of == "estimate" else f"t-value ({self.se_label} SE)"
        return sensitivity_contour(gx, gy, z, levels_range=(max(lo, float(np.nanmin(z))), hi), threshold=threshold,
                                   threshold_label=crit_label, origin=origin, points=points, lim=lim,
                                   title=f"Sensitivity of the {what} of '{self.treatment}'", ax=ax)

"""The summary of a fit: statsmodels' ``Summary`` tables and the numbered notes, built from a results object.

Nothing here computes an estimate; every number comes from :class:`plce.PLCEResults` and its diagnostics, every
sentence from the options and the plan the fit used.
"""
from __future__ import annotations

from datetime import datetime

from .final import COV_DESCRIPTIONS

__all__ = ["build_summary", "summary_notes", "estimand_note", "cov_note"]


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


def cov_note(res) -> str:
    inf = res.plan.inference
    if inf.cov_type == "cluster":
        parts = " and ".join(f"'{c}' ({g} clusters)" for c, g in zip(inf.cluster_names, inf.n_clusters))
        kind = "two-way " if len(inf.cluster_names) == 2 else ""
        return (
            f"Standard errors are {kind}cluster-robust by {parts}, with the G/(G-1)(n-1)/(n-p) "
            "small-sample factor."
        )
    label = f", {inf.kernel_label}" if inf.kernel_label else ""
    return f"Standard errors are {COV_DESCRIPTIONS[inf.cov_type]}{label}."


def estimand_note(res) -> str:
    o, p = res.options, res.plan
    form = p.final_terms_form
    stage = (" Final stage: the partialling-out regression of DoubleML's PLR." if o.final == "residual"
             else " Final stage: y on [1, t, l_hat(x), m_hat(x)"
             + {"none": "", "linear": ", x", "quadratic": ", x, x^2, x_j x_k"}[form]
             + "] (the talk's feasible model" + {"none": "", "linear": " plus the controls linearly",
                                                  "quadratic": " plus the controls, their squares and pairwise "
                                                               "products"}[form]
             + ").")
    over = {"att": " over the treated units", "atc": " over the control units"}.get(p.estimand, "")
    if p.interact:
        spread = ("its SE includes their spread (for the population average)" if p.average_effect == "population"
                  else "its SE conditions on these units' controls (average_effect='sample')")
        stage += (" The effect is also let vary with those control terms (t and m_hat x centred terms); theta "
                  f"is the sample average of the fitted effects{over}, and {spread} (doubly "
                  "robust: right if the weights or the linear-in-terms effect model are).")
    trimmed = ""
    if res.n_trimmed or o.trim is not None:
        thr = res.overlap_diagnostics.threshold
        rule = " (the rule of Crump et al. 2009)" if o.trim == "crump" else ""
        trimmed = (f" Trimmed to the overlap sample: units with an out-of-fold propensity in [{thr:.3f}, "
                   f"{1 - thr:.3f}]{rule}; {res.n_trimmed} units left out, so theta is the effect on that sample.")
    if p.weighting is None:
        return ("Estimand: the variance-weighted average effect E[s2(x) theta(x)] / E[s2(x)] "
                "(s2 = Var(t|x)), the classic partially linear / DML coefficient; it equals the average "
                "effect when the effect is constant or s2 does not vary with x." + stage)
    how = ("s2 = m_hat(1 - m_hat) of the binary treatment" if p.weighting == "binary"
           else "s2(x) learned from inner out-of-fold squared treatment residuals")
    if p.estimand in ("att", "atc"):
        what, w = (("the average effect on the treated, E[theta(x) | t = 1] (ATT)", "1/(1 - m_hat(x))")
                   if p.estimand == "att" else
                   ("the average effect on the controls, E[theta(x) | t = 0] (ATC)", "1/m_hat(x)"))
        return (f"Estimand: {what}: the final stage is weighted by {w} (= m_hat/s2 or (1 - m_hat)/s2 with "
                f"{how}, s2 floored at {o.weight_floor:g} x its mean), weights normalised to mean 1; m_hat is the "
                "out-of-fold propensity, clipped to [0.01, 0.99]." + stage + trimmed)
    return ("Estimand: the average effect E[theta(x)] (for a binary treatment the ATE): the final stage is "
            f"weighted by 1/s2(x), {how}, floored at {o.weight_floor:g} x its mean, weights normalised "
            "to mean 1." + stage + trimmed)


def summary_notes(res) -> list[str]:
    """The numbered notes under the tables."""
    from .interference import note as interference_note

    o, p, d = res.options, res.plan, res.design
    out = [
        estimand_note(res),
        cov_note(res)
        + (" Inference uses the t distribution." if res.use_t else " Inference uses the normal distribution."),
        (
            f"Aggregated over {p.n_rep} repetitions of {p.n_folds}-fold cross-fitting by the "
            + (
                "median rule (Chernozhukov et al. 2018): theta = median theta_r, "
                "V = median[V_r + (theta_r - theta)^2]."
                if o.aggregate == "median"
                else "Hodges-Lehmann rule of the R PLCE package."
            )
        ),
    ]
    if d.fixed_effects:
        levels = ", ".join(f"{k} ({int(c.max()) + 1} levels)" for k, c in d.fixed_effects.items())
        out.append(f"Fixed effects {levels} absorbed in the final stage (alternating projections as reghdfe and "
                   "fixest); the outcome and treatment models learn from the controls only.")
    if d.weights is not None:
        out.append(f"Sampling weights '{d.weights_name}' (normalised to mean 1): the learners get them as "
                   "sample_weight, the final stage multiplies them into its weights, and theta is the effect in the "
                   "weighted population.")
    if d.groups:
        names = ", ".join(f"(1|{g})" for g in d.groups)
        absorbed = [g for g in d.groups if g in p.absorbed_names]
        within = (f" The final stage is within {', '.join(repr(g) for g in absorbed)} (group fixed effects) and "
                  "also gets the cross-fitted BLUP columns." if absorbed else
                  " The final stage gets the cross-fitted BLUP columns of both models.")
        out.append(f"Random intercepts {names} in the outcome and treatment models (backfitting with REML "
                   f"variance components; BLUPs of held-out units from the training folds, 0 for unseen "
                   f"groups).{within}")
    if res.n_dropped:
        detail = ", ".join(f"{k}: {v}" for k, v in d.dropped.items())
        out.append(f"{res.n_dropped} rows dropped for missing or non-finite values ({detail}).")
    out.extend(d.notes)
    if res.n_singletons:
        out.append(f"{res.n_singletons} units left out of the final stage: alone in their group of "
                   f"{', '.join(p.absorbed_names)} (singletons carry no within-group information; as reghdfe and "
                   "fixest).")
    if p.inference.note:
        out.append(p.inference.note)
    if res.moran is not None and res.moran[2] < 0.05 and p.inference.cov_type not in ("conley", "network", "cluster"):
        out.append(f"The final-stage residuals are spatially correlated (Moran's I {res.moran[0]:.3f}, p = "
                   f"{res.moran[2]:.2g}) and these standard errors do not allow for it: use cov_type='conley' with "
                   "cov_kwds={'coords': [...], 'cutoff': ...} (or 'network' for a weight matrix).")
    out.append(f"Seed {res.random_state}: pass random_state={res.random_state} to reproduce this fit exactly.")
    out.append(
        "Positivity: per-unit excess kurtosis of the treatment residuals across repetitions, against a "
        "reference in which every residual is a stable own shock plus split noise; a unit is flagged above the "
        "reference's 90th percentile (10% expected): its residual is dominated by split noise, a sign that the "
        "treatment is nearly determined by the controls there."
    )
    out.append(
        "Partial R2 and robustness values (Cinelli & Hazlett 2020): a confounder explaining RV of the residual "
        "variance of both treatment and outcome would explain the estimate away (RV_q=1) or make it insignificant "
        "at 5% (RV_q=1,a=0.05). The partial R2 and RV_q=1 use the final stage's classical t and residual df (the "
        "partial-R2 scale); RV_q=1,a=0.05 uses this table's standard error and test, so it is 0 exactly when the "
        "estimate is not significant at 5% here (up to a df/(df-1) factor)."
    )
    if p.interference is not None:
        inote = interference_note(res.interference, p.interference.kind)
        if inote:
            out.append(inote)
    if p.trend is not None:
        out.append(f"Spatial trend: the final stage's columns include a {p.trend_label}, not interacted with t, "
                   "so what the learners miss of a confounder that is smooth in location does not bias theta "
                   "(spatial_trend=False: none).")
    return out


def learner_label(res) -> str:
    """The learner as the summary and tables name it ("external predictions" when the user gave them)."""
    from .learners import describe

    return "external predictions" if res.options.external_predictions is not None else describe(res.plan.learner_y)


def header(res):
    """The two header columns of the summary."""
    o, p, d = res.options, res.plan, res.design
    met = res.nuisances.metrics.groupby("nuisance", sort=False)["r2"].mean()
    left = [
        ("Dep. Variable:", d.outcome_name),
        ("Treatment:", ", ".join(d.treatment_names)),
        ("Model:", "PLCE"),
        ("Learner:", learner_label(res)),
        ("Folds x Reps:", f"{p.n_folds} x {p.n_rep}"),
        ("No. Observations:", str(res.nobs)),
        ("Dropped (missing):", str(res.n_dropped)),
    ]
    for name, codes in d.groups.items():
        left.append((f"No. Groups ({name[:10]}):", str(int(codes.max()) + 1)))
    right = [
        ("Cov. Type:", p.inference.cov_type),
        ("Aggregation:", o.aggregate),
        ("Final stage:", o.final),
        ("Df Resid.:", str(res.df_resid)),
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


def diagnostic_lines(res) -> list[tuple[str, str]]:
    """Diagnostic rows under the coefficient table: positivity, weights, random effects, sensitivity."""
    from .diagnostics.sensitivity import summary_rows

    rows = [("Positivity (excess kurtosis):", res.positivity_diagnostic().line())]
    if res.overlap_diagnostics is not None:
        rows += res.overlap_diagnostics.lines()
    if res.weight_diagnostics is not None:
        rows += res.weight_diagnostics.lines()
    rv = res.re_variances
    if rv is not None:
        for (factor, model), v in rv.items():
            rows.append((f"RE var {factor[:10]} ({model.split(':')[-1][:10]}):", f"{v:.4g}"))
    if res.moran is not None:
        I_stat, _, pval = res.moran
        rows.append(("Moran's I (residuals):", f"{I_stat:.3f} (p = {pval:.3g})"))
    names = list(res.params.index)
    for name in names:
        t = float(res.params[name] / res.bse_classical[name])
        rows += summary_rows(t, res.df_resid, tag=f" ({name})" if len(names) > 1 else "",
                             se_ratio=float(res.bse[name] / res.bse_classical[name]), critical=res._crit(0.05))
    return rows


def build_summary(res, alpha: float = 0.05, *, notes: bool = True):
    """A statsmodels :class:`~statsmodels.iolib.summary.Summary` of ``res`` (``notes=False``: without the notes)."""
    from statsmodels.iolib.table import SimpleTable

    names = list(res.params.index)
    smry = _summary_class()()
    left, right = header(res)
    smry.add_table_2cols(
        res,
        gleft=[(a, [b]) for a, b in left],
        gright=[(a, [b]) for a, b in right],
        yname=res.design.outcome_name,
        xname=names,
        title="PLCE Regression Results",
    )
    ci = res.conf_int(alpha)
    stat = "t" if res.use_t else "z"
    data = [
        [
            f"{res.params[n]:.4f}",
            f"{res.bse[n]:.4f}",
            f"{res.tvalues[n]:.3f}",
            f"{res.pvalues[n]:.3f}",
            f"{ci.loc[n, 0]:.3f}",
            f"{ci.loc[n, 1]:.3f}",
        ]
        for n in names
    ]
    hdr = ["coef", "std err", stat, f"P>|{stat}|", f"[{alpha / 2:g}", f"{1 - alpha / 2:g}]"]
    smry.tables.append(SimpleTable(data, headers=hdr, stubs=names))
    extra = diagnostic_lines(res)
    if extra:
        smry.tables.append(SimpleTable([[b] for _, b in extra], stubs=[a for a, _ in extra], title="Diagnostics"))
    if notes:
        smry.add_extra_txt([f"[{k + 1}] {t}" for k, t in enumerate(summary_notes(res))])
    return smry

"""Several models side by side: ``plce.etable`` (as Stata's esttab, fixest's etable, R's modelsummary).

plce results, statsmodels regression results and pyfixest models can be mixed. Each column shows the estimates
with their standard errors in parentheses, then the number of observations, the clusters, the standard-error
type, the estimand and the learner. Output as text, markdown, LaTeX (booktabs), HTML or a DataFrame.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .errors import PLCEError

__all__ = ["etable", "ModelColumn"]

TYPES = ("text", "md", "latex", "html", "df")
STARS = ((0.01, "***"), (0.05, "**"), (0.1, "*"))

ESTIMAND_LABELS = {"ate": "ATE", "att": "ATT", "atc": "ATC", "variance_weighted": "variance-weighted"}


@dataclass
class ModelColumn:
    """One model's column: coefficients, SEs, p-values, and the rows under them."""

    depvar: str
    params: pd.Series
    bse: pd.Series
    pvalues: pd.Series
    stats: dict = field(default_factory=dict)


def _se_label(cov_type: str) -> str:
    return {"nonrobust": "iid", "cluster": "clustered"}.get(cov_type, cov_type)


def _plce_column(res) -> ModelColumn:
    from .summary import learner_label

    inf = res.plan.inference
    clusters = ", ".join(f"{c} ({g})" for c, g in zip(inf.cluster_names, inf.n_clusters)) if inf.n_clusters else "-"
    return ModelColumn(res.design.outcome_name, res.params, res.bse, res.pvalues, {
        "Estimator": "PLCE",
        "Estimand": ESTIMAND_LABELS.get(res.estimand, res.estimand),
        "Learner": learner_label(res).split(" (")[0],
        "Folds x reps": f"{res.plan.n_folds} x {res.plan.n_rep}",
        "SE type": _se_label(inf.cov_type),
        "Clusters": clusters,
        "Observations": f"{res.nobs:,}",
    })


def _statsmodels_column(res) -> ModelColumn:
    names = list(res.model.exog_names)
    params = pd.Series(np.asarray(res.params), index=names)
    bse = pd.Series(np.asarray(res.bse), index=names)
    pv = pd.Series(np.asarray(res.pvalues), index=names)
    cov = getattr(res, "cov_type", "nonrobust")
    clusters = "-"
    if cov == "cluster":
        groups = res.cov_kwds.get("groups") if isinstance(getattr(res, "cov_kwds", None), dict) else None
        if groups is not None:
            clusters = str(len(np.unique(np.asarray(groups), axis=0)))
    return ModelColumn(str(res.model.endog_names), params, bse, pv, {
        "Estimator": type(res.model).__name__, "Estimand": "coefficient", "Learner": "-", "Folds x reps": "-",
        "SE type": _se_label(cov), "Clusters": clusters, "Observations": f"{int(res.nobs):,}"})


def _pyfixest_column(res) -> ModelColumn:
    params, bse, pv = res.coef(), res.se(), res.pvalue()
    for s in (params, bse, pv):
        s.index = [str(i) for i in s.index]
    clusters = "-"
    if res._clustervar:
        G = getattr(res, "_G", None)
        clusters = ", ".join(f"{c} ({g})" for c, g in zip(res._clustervar, np.atleast_1d(G))) if G is not None \
            else ", ".join(res._clustervar)
    fe = f" | {res._fixef}" if getattr(res, "_fixef", None) else ""
    return ModelColumn(str(res._depvar), params, bse, pv, {
        "Estimator": f"feols{fe}", "Estimand": "coefficient", "Learner": "-", "Folds x reps": "-",
        "SE type": _se_label(str(res._vcov_type_detail)), "Clusters": clusters, "Observations": f"{int(res._N):,}"})


def _column(model) -> ModelColumn:
    from .results import PLCEResults

    if isinstance(model, ModelColumn):
        return model
    if isinstance(model, PLCEResults):
        return _plce_column(model)
    if hasattr(model, "coef") and hasattr(model, "_vcov_type_detail"):
        return _pyfixest_column(model)
    if hasattr(model, "model") and hasattr(model.model, "exog_names") and hasattr(model, "bse"):
        return _statsmodels_column(model)
    raise PLCEError(f"etable takes plce, statsmodels or pyfixest results; got {type(model).__name__}.")


def _stars(p: float) -> str:
    for level, s in STARS:
        if p < level:
            return s
    return ""


def _frame(cols: list[ModelColumn], names: list[str], keep, digits: int, stars: bool) -> pd.DataFrame:
    if keep is None:
        plce_terms = [t for c in cols if c.stats.get("Estimator") == "PLCE" for t in c.params.index]
        keep = list(dict.fromkeys(plce_terms)) or None
    if keep is None:
        terms = list(dict.fromkeys(t for c in cols for t in c.params.index if t not in ("Intercept", "const")))
    else:
        terms = [keep] if isinstance(keep, str) else list(keep)
    rows, index = [], []
    for t in terms:
        est, se = [], []
        for c in cols:
            if t in c.params.index:
                est.append(f"{c.params[t]:.{digits}f}" + (_stars(float(c.pvalues[t])) if stars else ""))
                se.append(f"({c.bse[t]:.{digits}f})")
            else:
                est.append("")
                se.append("")
        rows += [est, se]
        index += [t, ""]
    stat_names = ["Estimator", "Estimand", "Learner", "Folds x reps", "SE type", "Clusters", "Observations"]
    for s in stat_names:
        rows.append([c.stats.get(s, "-") for c in cols])
        index.append(s)
    frame = pd.DataFrame(rows, index=index, columns=names)
    frame.attrs["n_terms_rows"] = 2 * len(terms)
    frame.attrs["depvars"] = [c.depvar for c in cols]
    return frame


def _escape_latex(s: str) -> str:
    for a, b in (("\\", r"\textbackslash{}"), ("&", r"\&"), ("%", r"\%"), ("$", r"\$"), ("#", r"\#"),
                 ("_", r"\_"), ("{", r"\{"), ("}", r"\}"), ("~", r"\textasciitilde{}"), ("^", r"\^{}")):
        s = s.replace(a, b)
    return s


def _text(frame: pd.DataFrame, sep: str, stars: bool) -> str:
    k = frame.attrs["n_terms_rows"]
    header = [""] + list(frame.columns)
    dep = ["Dep. var."] + frame.attrs["depvars"]
    body = [[i] + list(r) for i, r in zip(frame.index, frame.to_numpy())]
    table = [header, dep] + body
    widths = [max(len(str(r[j])) for r in table) for j in range(len(header))]

    def line(r):
        return "  ".join(str(c).ljust(widths[0]) if j == 0 else str(c).rjust(widths[j]) for j, c in enumerate(r))

    rule = sep * len(line(header))
    out = [rule, line(header), line(dep), rule] + [line(r) for r in body[:k]] + [rule] + \
          [line(r) for r in body[k:]] + [rule]
    if stars:
        out.append("* p<0.1, ** p<0.05, *** p<0.01; standard errors in parentheses")
    return "\n".join(out)


def _markdown(frame: pd.DataFrame, stars: bool) -> str:
    k = frame.attrs["n_terms_rows"]
    frame = frame.map(lambda c: str(c).replace("|", "\\|"))
    header = "| | " + " | ".join(frame.columns) + " |"
    align = "|:---|" + "---:|" * len(frame.columns)
    lines = [header, align, "| Dep. var. | " + " | ".join(frame.attrs["depvars"]) + " |"]
    for j, (i, r) in enumerate(zip(frame.index, frame.to_numpy())):
        name = f"**{i}**" if j >= k and i else i
        lines.append(f"| {name} | " + " | ".join(str(c) for c in r) + " |")
    if stars:
        lines += ["", "\\* p<0.1, \\*\\* p<0.05, \\*\\*\\* p<0.01; standard errors in parentheses"]
    return "\n".join(lines)


def _latex(frame: pd.DataFrame, stars: bool) -> str:
    k = frame.attrs["n_terms_rows"]
    ncol = len(frame.columns)

    def cell(c):
        c = str(c)
        if stars and c.endswith("*"):
            base = c.rstrip("*")
            return f"{_escape_latex(base)}$^{{{c[len(base):]}}}$"
        return _escape_latex(c)

    lines = ["\\begin{tabular}{l" + "c" * ncol + "}", "\\toprule",
             " & " + " & ".join(_escape_latex(c) for c in frame.columns) + " \\\\",
             "Dep. var. & " + " & ".join(_escape_latex(d) for d in frame.attrs["depvars"]) + " \\\\", "\\midrule"]
    for j, (i, r) in enumerate(zip(frame.index, frame.to_numpy())):
        if j == k:
            lines.append("\\midrule")
        lines.append(_escape_latex(str(i)) + " & " + " & ".join(cell(c) for c in r) + " \\\\")
    lines.append("\\bottomrule")
    lines.append("\\end{tabular}")
    if stars:
        lines.append("% * p<0.1, ** p<0.05, *** p<0.01; standard errors in parentheses")
    return "\n".join(lines)


def _html(frame: pd.DataFrame, stars: bool) -> str:
    import html

    k = frame.attrs["n_terms_rows"]
    esc = html.escape
    out = ["<table class=\"plce-etable\">", "<thead>",
           "<tr><th></th>" + "".join(f"<th>{esc(str(c))}</th>" for c in frame.columns) + "</tr>",
           "<tr><td>Dep. var.</td>" + "".join(f"<td>{esc(d)}</td>" for d in frame.attrs["depvars"]) + "</tr>",
           "</thead>", "<tbody>"]
    for j, (i, r) in enumerate(zip(frame.index, frame.to_numpy())):
        style = " style=\"border-top: 1px solid\"" if j == k else ""
        out.append(f"<tr{style}><td>{esc(str(i))}</td>" + "".join(f"<td>{esc(str(c))}</td>" for c in r) + "</tr>")
    out += ["</tbody>", "</table>"]
    if stars:
        out.append("<p>* p&lt;0.1, ** p&lt;0.05, *** p&lt;0.01; standard errors in parentheses</p>")
    return "\n".join(out)


def etable(models, *, type: str = "text", keep=None, names=None, digits: int = 3, stars: bool = True):
    """A table of several models side by side.

    Parameters
    ----------
    models : list
        :class:`plce.PLCEResults`, statsmodels regression results, pyfixest ``Feols`` models (or one of them).
    type : {"text", "md", "latex", "html", "df"}
        Output format; ``"df"`` returns the DataFrame behind the table.
    keep : str or list of str, optional
        Terms to show, in order. Default: the treatments of the plce models, or, with no plce model, every term
        but the intercept.
    names : list of str, optional
        Column headers (default ``(1)``, ``(2)``, ...).
    digits : int, default 3
    stars : bool, default True
        Significance stars (``* p<0.1, ** p<0.05, *** p<0.01``) from each model's own p-values.

    Returns
    -------
    str or DataFrame

    Examples
    --------
    >>> import plce, statsmodels.formula.api as smf
    >>> df, _ = plce.datasets.make_simdata("baseline", n=400, random_state=0)
    >>> a = plce.ols_ml("y ~ t | x1 + x2", data=df, n_rep=1, random_state=0)
    >>> b = smf.ols("y ~ t + x1 + x2", data=df).fit(cov_type="HC1")
    >>> print(plce.etable([a, b], type="md").splitlines()[0])
    | | (1) | (2) |
    """
    if type not in TYPES:
        raise PLCEError(f"type must be one of {', '.join(TYPES)}; got {type!r}.")
    models = list(models) if isinstance(models, (list, tuple)) else [models]
    if not models:
        raise PLCEError("etable needs at least one model.")
    cols = [_column(m) for m in models]
    names = [f"({j + 1})" for j in range(len(cols))] if names is None else [str(n) for n in names]
    if len(names) != len(cols):
        raise PLCEError(f"names has {len(names)} entries for {len(cols)} models.")
    frame = _frame(cols, names, keep, digits, stars)
    if type == "df":
        return frame
    if type == "text":
        return _text(frame, "=", stars)
    if type == "md":
        return _markdown(frame, stars)
    if type == "latex":
        return _latex(frame, stars)
    return _html(frame, stars)

"""Average effects by subgroup: the final stage's fitted theta(x_i), averaged within the levels of a variable.

With effect interactions the final stage fits theta_j(x) = theta_j + sum_l beta_jl (q_l(x) - center_l) (see
:func:`plce.final.fit_final`). The average of theta_j(x_i) over the units of subgroup g (weighted as the fit's own
average is: the sampling weights, and only the treated for the ATT or the controls for the ATC) is

    theta_g = theta_j + sum_l beta_jl (qbar_gl - center_l) = c_g' b_j,

a linear combination of the coefficients, so its covariance across subgroups is C V C' with V the coefficients'
sandwich covariance. For the *population* subgroup average (``average_effect="population"``, the default) the
sampling variance of the units' fitted effects within each subgroup is added, sum_i a_ig^2 (theta(x_i) -
theta_g)^2 / (sum_i a_ig)^2 (cluster sums with clusters), as the fit's own SE adds it for the overall average.
Repetitions are combined as the overall estimate is (:func:`plce.final.aggregate`).

These averages are estimands with valid intervals (tested against the fit's own parametrisation, and by Monte
Carlo on the categorical-moderator design of :func:`plce.datasets.make_family`); a single unit's theta(x_i) is
not.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from .errors import PLCEError, PLCEWarning, warn
from .final import FinalFit, _cluster_sums, aggregate

__all__ = ["SubgroupEffects"]

#: a grouping variable with more levels than this is refused (bin it first)
MAX_LEVELS = 50


def subgroup_means(final: FinalFit, Q: np.ndarray | None, codes: np.ndarray, n_levels: int, j: int, *,
                   a: np.ndarray | None = None, clusters: np.ndarray | None = None, population: bool = True):
    """Subgroup averages of theta_j(x_i) in one repetition, and their covariance.

    Parameters
    ----------
    final : the repetition's final stage (with ``cate`` and ``effect``)
    Q : (n, q) the effect modifiers as the final stage got them (uncentred), or None without modifiers
    codes : (n,) int level of each final-stage unit, -1 for units in no subgroup
    j : the treatment
    a : (n,) the fit's averaging weights (sampling weights; the treated for the ATT), None for equal weights

    Returns
    -------
    est : (G,), cov : (G, G)
    """
    n = len(codes)
    a = np.ones(n) if a is None else np.asarray(a, dtype=float)
    A = np.zeros((n, n_levels))
    inside = codes >= 0
    A[np.flatnonzero(inside), codes[inside]] = a[inside]
    total = A.sum(0)
    if np.any(total <= 0):
        raise PLCEError("A subgroup has no unit that the fit's average counts (for the ATT: no treated unit; for "
                        "the ATC: no control); merge it with another level or drop it.")
    cate = final.cate[:, j]
    est = A.T @ cate / total
    em = final.effect
    C = np.zeros((n_levels, len(em.terms)))
    C[:, j] = 1.0  # theta_j is the j-th coefficient
    for c in np.flatnonzero(em.terms[:, 0] == j):
        ell = em.terms[c, 1]
        if ell >= 0:
            C[:, c] = A.T @ (Q[:, ell] - em.center[ell]) / total
    cov = C @ em.cov @ C.T
    if population:
        dev = A * (cate[:, None] - est[None, :]) / total
        if clusters is not None:
            dev = _cluster_sums(dev, clusters.reshape(n, -1)[:, 0])
        cov = cov + dev.T @ dev
    return est, cov


@dataclass(frozen=True)
class SubgroupEffects:
    """Average effects by subgroup, with their covariance and a test that they are all equal.

    Attributes
    ----------
    table : DataFrame indexed by level: ``nobs``, ``estimate``, ``std_error``, ``statistic``, ``p_value``,
        ``conf_low``, ``conf_high`` (the names of :meth:`PLCEResults.tidy`).
    cov : DataFrame (levels x levels), the covariance of the estimates.
    wald : (statistic, df, p_value) of H0: every subgroup's average effect is the same (chi2, or F with the fit's
        ``use_t``).

    Examples
    --------
    >>> import plce
    >>> df, _ = plce.datasets.make_family("categorical", n=500, random_state=1)
    >>> res = plce.ols_ml("y ~ t | x1 + x2 + C(c)", data=df, n_rep=1, random_state=1)
    >>> by = res.effect_by("c")
    >>> list(by.table.columns)
    ['nobs', 'estimate', 'std_error', 'statistic', 'p_value', 'conf_low', 'conf_high']
    >>> int(by.table["nobs"].sum()) == res.nobs
    True
    """

    treatment: str
    by: str
    table: pd.DataFrame
    cov: pd.DataFrame
    wald: tuple
    n_missing: int = 0
    use_t: bool = False

    def __repr__(self) -> str:
        dist = "F" if self.use_t else "chi2"
        stat, df, p = self.wald
        lines = [f"Average effect of {self.treatment} by {self.by}", self.table.to_string(float_format="%.4f"),
                 f"All equal: {dist}({df}) = {stat:.3f}, p = {p:.4g}"]
        if self.n_missing:
            lines.append(f"{self.n_missing} units with a missing {self.by} are in no subgroup.")
        return "\n".join(lines)


def combine(per_rep, *, rule: str, scale: float, levels, counts, treatment: str, by: str, alpha: float,
            df_inference: int | None, n_missing: int = 0) -> SubgroupEffects:
    """Combine per-repetition (est, cov) as the overall estimate is, and tabulate."""
    est, cov = aggregate(np.stack([e for e, _ in per_rep]), np.stack([v for _, v in per_rep]), rule)
    est, cov = est * scale, cov * scale**2
    se = np.sqrt(np.clip(np.diag(cov), 0, None))
    z = est / se
    use_t = df_inference is not None
    dist = stats.t(df_inference) if use_t else stats.norm
    crit = dist.ppf(1 - alpha / 2)
    table = pd.DataFrame({"nobs": counts, "estimate": est, "std_error": se, "statistic": z,
                          "p_value": 2 * dist.sf(np.abs(z)), "conf_low": est - crit * se,
                          "conf_high": est + crit * se}, index=pd.Index(levels, name=by))
    G = len(est)
    D = np.eye(G)[1:] - np.eye(G)[:-1]  # successive differences: G - 1 restrictions
    d = D @ est
    stat = float(d @ np.linalg.pinv(D @ cov @ D.T) @ d)
    if use_t:
        wald = (stat / (G - 1), G - 1, float(stats.f.sf(stat / (G - 1), G - 1, df_inference)))
    else:
        wald = (stat, G - 1, float(stats.chi2.sf(stat, G - 1)))
    return SubgroupEffects(treatment, by, table, pd.DataFrame(cov, index=table.index, columns=table.index), wald,
                           n_missing, use_t)


def level_codes(values: pd.Series, name: str) -> tuple[np.ndarray, list, int]:
    """Integer codes (-1 for missing) of a grouping variable, its levels in order, and the missing count."""
    s = pd.Series(values).reset_index(drop=True)
    if isinstance(s.dtype, pd.CategoricalDtype):
        s = s.cat.remove_unused_categories()
    codes, levels = pd.factorize(s, sort=True)
    if len(levels) > MAX_LEVELS:
        raise PLCEError(f"'{name}' has {len(levels)} distinct values; effects by subgroup need a grouping variable "
                        f"(at most {MAX_LEVELS} levels). Bin it first, e.g. pd.qcut(df['{name}'], 5), or draw the "
                        f"effects along it with res.plot_effects('{name}').")
    if len(levels) < 2:
        raise PLCEError(f"'{name}' has {len(levels)} level among the fit's units; subgroups need at least two.")
    return codes.astype(np.int64), list(levels), int((codes < 0).sum())


def grouping_values(by, design) -> tuple[pd.Series, str]:
    """The values of ``by`` over the fit's rows (the rows used, before any trimming) and its name.

    ``by`` is a control's name as in the formula (or its learner-safe name), or values for the rows of the data the
    model was fitted on: a Series on that data's index, or an array as long as the data (or as the rows used).
    """
    n_input = len(design.input_index) if design.input_index is not None else design.nobs
    used = np.ones(n_input, bool) if design.row_mask is None else design.row_mask
    if isinstance(by, str):
        by_label = {label: safe for safe, label in design.labels.items()}
        col = by_label.get(by, by_label.get(f"C({by})", by))  # 'c' finds the control C(c)
        if col not in design.X.columns:
            raise PLCEError(f"'{by}' is not a control of this model (controls: {list(design.labels.values())}). "
                            "For another variable pass its values: a Series on the data's index, or an array as "
                            "long as the data.")
        return design.X[col].reset_index(drop=True), by
    name = str(getattr(by, "name", None) or "group")
    if isinstance(by, pd.Series) and design.input_index is not None:
        if not by.index.is_unique:
            raise PLCEError(f"The grouping Series '{name}' has a duplicated index; it cannot be aligned to the data.")
        values = by.reindex(design.input_index)[used].reset_index(drop=True)
    else:
        arr = np.asarray(by)
        if arr.ndim != 1:
            raise PLCEError(f"The grouping values must be one-dimensional; got shape {arr.shape}.")
        if len(arr) not in (n_input, design.nobs):
            raise PLCEError(f"The grouping values have {len(arr)} entries; the data has {n_input} rows "
                            f"({design.nobs} used). Pass one value per row of the data.")
        values = pd.Series(arr[used] if len(arr) == n_input else arr)
    if not coarsens_a_control(values, design.X):
        warn(f"The grouping '{name}' is not a control nor a binning of one: the effect model does not vary with "
             "it, so its subgroups' averages differ only through the controls it is correlated with. To estimate "
             "effects that vary with it, add it to the controls and refit.", PLCEWarning)
    return values, name


def coarsens_a_control(values: pd.Series, X: pd.DataFrame) -> bool:
    """Whether ``values`` are a function of one control that is a binning of it: each value of the control has one
    level of ``values`` and, for a numeric control with more than ``MAX_LEVELS`` values, the levels change at most
    (levels - 1) times along the control's order (contiguous bins, as ``pd.qcut`` makes)."""
    ok = values.notna().to_numpy()
    v = pd.Series(pd.factorize(values[ok])[0])
    n_levels = v.nunique()
    for col in X.columns:
        c = X[col].reset_index(drop=True)[ok].reset_index(drop=True)
        if c.isna().any() or (v.groupby(c.to_numpy(), observed=True).nunique() > 1).any():
            continue
        many = pd.api.types.is_numeric_dtype(c) and c.nunique() > MAX_LEVELS
        if not many or (np.diff(v.to_numpy()[np.argsort(c.to_numpy(), kind="stable")]) != 0).sum() <= n_levels - 1:
            return True
    return False

"""Final stage: the per-repetition regression, its sandwich covariance, and aggregation.

For repetition r the *feasible model* of Ratkovic (2023) regresses ``y`` on
``[1, t, l_hat, m_hat]`` (plus any extra adjustment columns) by (weighted) least
squares; the coefficient on ``t`` is theta_r. With ``form="residual"`` it is the
DML partialling-out regression of ``y - l_hat`` on ``t - m_hat`` without an
intercept, which is what :class:`doubleml.DoubleMLPLR` computes.

Covariances follow statsmodels' definitions exactly (tested against it):
HC0-HC3 on the whitened regression, and cluster-robust with the
``G/(G-1) * (n-1)/(n-p)`` small-sample factor, two-way as V1 + V2 - V12.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from .errors import PLCEError

__all__ = [
    "COV_TYPES",
    "normalize_cov_type",
    "final_regressors",
    "wls",
    "sandwich",
    "FinalFit",
    "fit_final",
    "aggregate",
    "hl_mean",
    "final_terms",
    "quadratic_terms",
    "absorb_fixed_effects",
    "singleton_rows",
    "FINAL_TERMS_MAX",
]

#: at most this many control terms enter the final stage under final_controls="auto" (and at most n/20)
FINAL_TERMS_MAX = 50

FinalForm = Literal["feasible", "residual"]

#: accepted names (lower case) -> canonical covariance type
COV_TYPES = {
    "hc0": "HC0",
    "hc1": "HC1",
    "robust": "HC1",
    "hc2": "HC2",
    "hc3": "HC3",
    "cluster": "cluster",
    "clustered": "cluster",
    "nonrobust": "nonrobust",
    "classical": "nonrobust",
    "iid": "nonrobust",
    "conley": "conley",
    "spatial": "conley",
    "network": "network",
}

COV_DESCRIPTIONS = {
    "HC0": "heteroskedasticity-robust (HC0, no small-sample factor)",
    "HC1": "heteroskedasticity-robust (HC1: HC0 x n/(n-p), as Stata's 'robust')",
    "HC2": "heteroskedasticity-robust (HC2, leverage-adjusted)",
    "HC3": "heteroskedasticity-robust (HC3, jackknife-like)",
    "nonrobust": "classical (homoskedastic) standard errors",
    "conley": "spatial-HAC (Conley 1999)",
    "network": "network-HAC (residuals of linked units may be correlated)",
}


def normalize_cov_type(cov_type: str, *, has_clusters: bool) -> str:
    """Map a user's covariance name (Stata/R aliases accepted) to a canonical one."""
    if not isinstance(cov_type, str) or cov_type.lower() not in COV_TYPES:
        valid = ", ".join(sorted({*COV_TYPES.values()}))
        raise PLCEError(
            f"Unknown cov_type {cov_type!r}. Valid choices: {valid} "
            "(aliases: 'robust' = HC1, 'classical'/'iid' = nonrobust)."
        )
    canon = COV_TYPES[cov_type.lower()]
    if canon == "cluster" and not has_clusters:
        raise PLCEError("cov_type='cluster' needs cluster=<column name> (or two names for two-way clustering).")
    return canon


def final_regressors(
    y: np.ndarray,
    T: np.ndarray,
    ell: np.ndarray,
    m: np.ndarray,
    *,
    form: FinalForm = "feasible",
    extra: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, int]:
    """Response, regressor matrix, and index of the first treatment column.

    The treatments occupy columns ``[j0, j0 + k)`` of the returned matrix.
    """
    n, k = T.shape
    if form == "feasible":
        cols = [np.ones((n, 1)), T, ell.reshape(n, 1), m.reshape(n, k)]
        if extra is not None and extra.size:
            cols.append(extra.reshape(n, -1))
        return y, np.hstack(cols), 1
    if form == "residual":
        return y - ell, T - m.reshape(n, k), 0
    raise PLCEError(f"final must be 'feasible' or 'residual'; got {form!r}.")


def wls(Z: np.ndarray, y: np.ndarray, w: np.ndarray | None = None):
    """Weighted least squares by QR; returns (beta, residuals, bread=(Z'WZ)^-1)."""
    sw = np.ones(len(y)) if w is None else np.sqrt(w)
    Zw = Z * sw[:, None]
    scale = np.linalg.norm(Zw, axis=0)  # equilibrate: the collinearity check must not depend on units
    scale = np.where(scale > 0, scale, 1.0)
    Zw /= scale  # in place: one n x p copy fewer at the fit's peak memory
    q, rmat = np.linalg.qr(Zw)
    del Zw
    d = np.abs(np.diag(rmat))
    if d.size == 0 or d.min() <= 1e-10 * max(d.max(), 1e-300):
        raise PLCEError(
            "The final-stage regression is collinear (a column of [1, t, l_hat, m_hat, ...] is a linear "
            "combination of the others). Typically the treatment is a deterministic function of the "
            "controls, or a learner predicts a constant; check the treatment and the learners."
        )
    beta = np.linalg.solve(rmat, q.T @ (y * sw)) / scale
    rinv = np.linalg.solve(rmat, np.eye(rmat.shape[0])) / scale[:, None]
    bread = rinv @ rinv.T
    return beta, y - Z @ beta, bread


def _cluster_meat(scores: np.ndarray, codes: np.ndarray) -> tuple[np.ndarray, int]:
    sums = _cluster_sums(scores, codes)
    return sums.T @ sums, len(sums)


def sandwich(
    Z: np.ndarray,
    resid: np.ndarray,
    bread: np.ndarray,
    cov_type: str,
    *,
    w: np.ndarray | None = None,
    clusters: np.ndarray | None = None,
    absorbed: int = 0,
    absorbed_cluster: int | None = None,
    kernel=None,
) -> np.ndarray:
    """Covariance of the (weighted) least-squares coefficients, as statsmodels defines it.

    ``absorbed`` fixed-effect parameters (absorbed before, so not columns of Z) count in the degrees of freedom of
    the classical and HC1 factors (Stata's ``areg``, fixest); with clusters ``absorbed_cluster`` counts instead: the
    parameters of the factors *not* nested within the clusters (fixest's ``fixef.K = "nested"``, Stata's
    ``xtreg, fe``; default ``absorbed``).
    """
    n, p = Z.shape
    sw = np.ones(n) if w is None else np.sqrt(w)
    Zw = Z * sw[:, None]
    e = resid * sw
    k = p + absorbed
    if cov_type == "nonrobust":
        return bread * float(e @ e) / (n - k)
    if cov_type in ("HC0", "HC1", "HC2", "HC3"):
        e2 = e**2
        if cov_type in ("HC2", "HC3"):
            h = np.einsum("ij,jk,ik->i", Zw, bread, Zw)
            e2 = e2 / (1.0 - h) ** (1 if cov_type == "HC2" else 2)
        meat = (Zw * e2[:, None]).T @ Zw
        V = bread @ meat @ bread
        return V * n / (n - k) if cov_type == "HC1" else V
    if cov_type in ("conley", "network"):  # meat sum_ij K_ij s_i s_j' (plce.spatial), no small-sample factor
        if kernel is None:
            raise PLCEError(f"cov_type='{cov_type}' needs its kernel weights (cov_kwds).")
        scores = Zw * e[:, None]
        return bread @ (scores.T @ (kernel @ scores)) @ bread
    if cov_type == "cluster":
        if clusters is None:
            raise PLCEError("cov_type='cluster' needs cluster codes.")
        cl = clusters.reshape(n, -1)
        scores = Zw * e[:, None]

        def one(codes):
            meat, g = _cluster_meat(scores, codes)
            if g < 2:
                raise PLCEError("Cluster-robust standard errors need at least 2 clusters; the data have 1.")
            kc = p + (absorbed if absorbed_cluster is None else absorbed_cluster)
            return bread @ meat @ bread * (g / (g - 1.0)) * ((n - 1.0) / (n - kc))

        if cl.shape[1] == 1:
            return one(cl[:, 0])
        inter = np.unique(cl[:, :2], axis=0, return_inverse=True)[1].reshape(-1)
        return one(cl[:, 0]) + one(cl[:, 1]) - one(inter)
    raise PLCEError(f"Unknown cov_type {cov_type!r}.")


@dataclass(frozen=True)
class FinalFit:
    """The final-stage regression of one repetition."""

    theta: np.ndarray  # (k,)
    cov: np.ndarray  # (k, k) under the requested cov_type
    cov_classical: np.ndarray  # (k, k) nonrobust, for sensitivity analysis
    df_resid: int
    treat_resid: np.ndarray  # (n, k) partialled-out treatment (FWL residual, before any interactions)
    n_params: int
    ssr: float  # (weighted) sum of squared residuals of the final regression
    cate: np.ndarray | None = None  # (n, k) fitted theta(x_i) when the final stage has effect interactions
    resid: np.ndarray | None = None  # (n,) final-stage residuals
    effect: "EffectModel | None" = None  # theta(x)'s coefficients' covariance, for averages over subgroups


@dataclass(frozen=True)
class EffectModel:
    """theta_j(x) = theta_j + sum_l beta_jl (q_l(x) - center_l): which coefficients, and their covariance.

    ``terms`` (m, 2) names each coefficient as (treatment j, modifier l), l = -1 for theta_j itself (the first k
    rows); ``cov`` (m, m) is their covariance under the fit's ``cov_type`` (before the spread term of the
    population average); ``center`` (q,) is what the modifiers were centred at. A linear combination of the
    coefficients, such as the average of theta(x_i) over a subgroup, gets its variance from ``cov``
    (:mod:`plce.subgroups`).
    """

    terms: np.ndarray
    cov: np.ndarray
    center: np.ndarray


def fit_final(
    y: np.ndarray,
    T: np.ndarray,
    ell: np.ndarray,
    m: np.ndarray,
    *,
    form: FinalForm = "feasible",
    cov_type: str = "HC1",
    weights: np.ndarray | None = None,
    clusters: np.ndarray | None = None,
    extra: np.ndarray | None = None,
    absorb: list[np.ndarray] | np.ndarray | None = None,
    modifiers: np.ndarray | None = None,
    population: bool = True,
    center: np.ndarray | None = None,
    kernel=None,
) -> FinalFit:
    """Run the final-stage regression of one repetition.

    ``absorb`` (int group codes, or a list of them for several factors) adds fixed effects: response and regressors
    are demeaned (with the weights) within groups -- exactly for one factor, by alternating projections
    (:func:`absorb_fixed_effects`) for several -- and the intercept is dropped. The degrees of freedom they use
    (the number of groups for one factor; pyhdfe's count of non-redundant levels for several) enter the residual df
    and the classical and HC1 factors; with clusters, not when every factor is nested within the clusters (see
    :func:`sandwich`).

    ``modifiers`` (n, q) makes the effect linear in them: the feasible form gets the interactions
    t_j * (q_l - mean(q_l)) together with m_j * (q_l - mean(q_l)) as adjustment columns with free coefficients
    (the feasible model applied to every effect term: at the true nuisances the coefficients are minus the
    effect's, and being free they recalibrate shrunken m_hat as the main term's do); the residual form gets
    (t_j - m_j) * (q_l - mean(q_l)) (the R-learner's residualised treatment). Either way
    theta(x) = theta_j + sum_l beta_jl (q_l(x) - mean q_l) and the coefficient on t_j is the *sample average*
    of the fitted theta(x) (Lin 2013's interacted regression). Its covariance then gets the sampling variance
    of that average over the units, var(theta_hat(x_i)) / n (cluster sums with clusters), so that it
    estimates the population average effect; ``population=False`` leaves it out (the SE for the average
    over these units' controls). ``center`` (n,) non-negative weights a_i averages the fitted effects with those
    weights instead (the treated units, a = t, for the ATT; the controls, a = 1 - t, for the ATC): the terms are
    centred at their a-weighted mean and the spread term is sum a_i^2 (theta(x_i) - theta)^2 / (sum a_i)^2.
    """
    k = T.shape[1]
    inter = adjust = new = None
    if modifiers is not None and modifiers.size:
        Q = modifiers.reshape(len(y), -1)
        Q_center = Q.mean(0) if center is None else center @ Q / center.sum()
        Q = Q - Q_center
        M = m.reshape(T.shape)
        if form == "feasible":
            # t_j x q and, as free adjustment columns, m_hat_j x q: each interaction is recalibrated as the main term is
            inter = np.column_stack([T[:, [j]] * Q for j in range(k)])
            adjust = np.column_stack([M[:, [j]] * Q for j in range(k)])
            new = np.column_stack([adjust, inter])
        else:
            inter = new = np.column_stack([(T[:, [j]] - M[:, [j]]) * Q for j in range(k)])
        extra = new if extra is None or not extra.size else np.column_stack([extra.reshape(len(y), -1), new])
    resp, Z, j0 = final_regressors(y, T, ell, m, form=form, extra=extra)
    n_extra = 0 if extra is None or not extra.size else extra.reshape(len(y), -1).shape[1]
    n_inter = 0 if inter is None else inter.shape[1]
    n_adjust = 0 if adjust is None else adjust.shape[1]
    if form != "residual":
        inter = None  # the intermediates are in Z now: free them before the regression (peak memory)
    del extra, adjust, new
    n_absorbed, k_cluster = 0, None
    if absorb is not None:
        if form != "feasible":
            raise PLCEError("Absorbing group effects needs final='feasible'.")
        factors = [absorb] if isinstance(absorb, np.ndarray) else list(absorb)
        demeaned, n_absorbed = absorb_fixed_effects(np.column_stack([resp, Z[:, 1:]]), factors, weights)
        resp, Z = demeaned[:, 0], demeaned[:, 1:]
        j0 = 0
        k_cluster = None
        if clusters is not None:
            free = [f for f in factors if not _nested(f, clusters.reshape(len(y), -1)[:, 0])]
            k_cluster = fe_degrees(free)
    # which columns of Z are effect interactions, as (treatment j, modifier l); -2 for their m_hat x q
    # adjustment columns, -1 for the rest
    if form == "residual" and inter is not None:
        Z = np.column_stack([Z, inter])  # the residual form takes no other extra columns
    owner = np.full((Z.shape[1], 2), -1)
    if n_inter:
        q = Q.shape[1]
        owner[Z.shape[1] - n_inter:] = np.column_stack([np.repeat(np.arange(k), q), np.tile(np.arange(q), k)])
        if n_adjust:
            owner[Z.shape[1] - n_inter - n_adjust:Z.shape[1] - n_inter] = -2
    if form == "feasible":
        controls = np.r_[np.arange(j0), np.arange(j0 + 2 * k + 1, Z.shape[1])]
        _check_treatment_not_spanned(Z[:, j0:j0 + k], Z[:, controls[owner[controls, 0] == -1]], weights)
    if form == "feasible":
        # a constant l_hat or m_hat (a randomized treatment's known mean) carries nothing beyond the intercept or the
        # absorbed effects; any other dependence of them on t is an identification failure that wls reports
        const = [c for c in range(j0 + k, j0 + 2 * k + 1) if np.ptp(Z[:, c]) <= 1e-12 * (np.abs(Z[:, c]).max() + 1)]
        Z, owner = np.delete(Z, const, axis=1), np.delete(owner, const, axis=0)
    if n_extra and form == "feasible":
        drop = _redundant(Z, n_extra, weights)
        Z, owner = np.delete(Z, drop, axis=1), np.delete(owner, drop, axis=0)
    n, p = Z.shape
    if n - p - n_absorbed < 1:
        raise PLCEError(f"The final stage has {p + n_absorbed} parameters but only {n} rows.")
    beta, resid, bread = wls(Z, resp, weights)
    sl = slice(j0, j0 + k)
    Vfull = sandwich(Z, resid, bread, cov_type, w=weights, clusters=clusters, absorbed=n_absorbed,
                     absorbed_cluster=k_cluster, kernel=kernel)
    V = Vfull[sl, sl]
    Vc = sandwich(Z, resid, bread, "nonrobust", w=weights, absorbed=n_absorbed)[sl, sl]
    cate = effect = None
    if n_inter:
        cate = np.tile(beta[sl], (n, 1))
        for c in np.flatnonzero(owner[:, 0] >= 0):
            cate[:, owner[c, 0]] += beta[c] * Q[:, owner[c, 1]]
        cols = np.r_[np.arange(j0, j0 + k), np.flatnonzero(owner[:, 0] >= 0)]
        terms = np.vstack([np.column_stack([np.arange(k), np.full(k, -1)]), owner[cols[k:]]])
        effect = EffectModel(terms=terms, cov=Vfull[np.ix_(cols, cols)].copy(), center=Q_center)
        if population:
            V = V + _mean_cov(cate, clusters, center)
    del Vfull
    # FWL: the treatment columns' residual after projecting on the other regressors (without interactions)
    others = np.setdiff1d(np.arange(p), np.r_[np.arange(j0, j0 + k), np.flatnonzero(owner[:, 0] != -1)])
    if others.size:
        sw = np.ones(n) if weights is None else np.sqrt(weights)
        Ow = Z[:, others]
        Ow *= sw[:, None]
        coef, *_ = np.linalg.lstsq(Ow, Z[:, sl] * sw[:, None], rcond=None)
        del Ow
        tres = Z[:, sl] - Z[:, others] @ coef
    else:
        tres = Z[:, sl].copy()
    return FinalFit(
        theta=beta[sl].copy(), cov=V, cov_classical=Vc, df_resid=int(n - p - n_absorbed), treat_resid=tres,
        n_params=int(p + n_absorbed),
        ssr=float(np.sum(resid**2 * (1.0 if weights is None else weights))), cate=cate, resid=resid, effect=effect,
    )


def _check_treatment_not_spanned(T: np.ndarray, C: np.ndarray, w: np.ndarray | None, tol: float = 1e-10) -> None:
    """Refuse a treatment that is a linear function of the final stage's control columns (intercept, control terms,
    random-effect columns; after absorbing fixed effects): its coefficient would be identified only by dropping the
    control it duplicates."""
    if C.shape[1] == 0:
        return
    sw = np.ones(len(T)) if w is None else np.sqrt(w)
    Cw, Tw = C * sw[:, None], T * sw[:, None]
    coef, *_ = np.linalg.lstsq(Cw, Tw, rcond=None)
    resid = Tw - Cw @ coef
    share = np.sum(resid**2, axis=0) / np.maximum(np.sum(Tw**2, axis=0), 1e-300)
    if np.any(share <= tol):
        raise PLCEError("The treatment is an exact function of the final stage's control terms (e.g. t = 2 x1 + 1, "
                        "or t = x1^2 with the quadratic terms): its effect is not identified. Remove the control that "
                        "determines it, or check the data.")


def _mean_cov(values: np.ndarray, clusters: np.ndarray | None, a: np.ndarray | None = None) -> np.ndarray:
    """Covariance of the (``a``-weighted) column means of ``values`` (n, k) over units, cluster sums with clusters
    (first way)."""
    n = len(values)
    if a is None:
        dev, total = values - values.mean(0), n
    else:
        dev, total = a[:, None] * (values - a @ values / a.sum()), a.sum()
    if clusters is not None:
        codes = clusters.reshape(n, -1)[:, 0]
        dev = _cluster_sums(dev, codes)
    return dev.T @ dev / total**2


def _cluster_sums(scores: np.ndarray, codes: np.ndarray) -> np.ndarray:
    uniq, inv = np.unique(codes, return_inverse=True)
    sums = np.zeros((len(uniq), scores.shape[1]))
    np.add.at(sums, inv, scores)
    return sums


def _redundant(Z: np.ndarray, n_extra: int, w: np.ndarray | None, tol: float = 1e-9) -> np.ndarray:
    """Indices of the last ``n_extra`` (adjustment) columns that are linearly dependent on the columns before.

    Such columns carry nothing (e.g. BLUPs of a zero variance component, a control that is a combination of
    others) and are dropped rather than making the final stage fail; the treatment columns are never dropped.
    """
    from scipy.linalg import qr

    sw = np.ones(len(Z)) if w is None else np.sqrt(w)
    Zw = Z * sw[:, None]
    base, ext = Zw[:, : Z.shape[1] - n_extra], Zw[:, Z.shape[1] - n_extra :]
    if base.shape[1]:
        coef, *_ = np.linalg.lstsq(base, ext, rcond=None)
        ext = ext - base @ coef
    norms = np.linalg.norm(Zw[:, Z.shape[1] - n_extra :], axis=0) + 1e-300
    ext = ext / norms
    _, rmat, piv = qr(ext, mode="economic", pivoting=True)
    d = np.abs(np.diag(rmat)) if rmat.size else np.zeros(0)
    keep = piv[: int(np.sum(d > tol * max(1.0, d.max() if d.size else 1.0)))]
    return np.setdiff1d(np.arange(n_extra), keep) + Z.shape[1] - n_extra


def _nested(codes: np.ndarray, clusters: np.ndarray) -> bool:
    """Whether every group of ``codes`` lies within one cluster."""
    pairs = np.unique(np.column_stack([codes, clusters]), axis=0)
    return len(pairs) == len(np.unique(codes))


def absorb_fixed_effects(M: np.ndarray, factors: list[np.ndarray], w: np.ndarray | None = None, *,
                         tol: float = 1e-12) -> tuple[np.ndarray, int]:
    """Residuals of the columns of ``M`` after (weighted) projection on the dummies of every factor, and the number
    of parameters the factors use.

    One factor: exact group demeaning. Several: alternating projections by pyhdfe (Correia 2015's algorithm as
    reghdfe and fixest use it; symmetric Kaczmarz with conjugate-gradient acceleration, converged to ``tol``), and
    pyhdfe's count of the non-redundant levels (exact for two factors, conservative beyond). pyhdfe's accelerated
    projections do not take weights, so weighted demeaning uses plain Kaczmarz sweeps.
    """
    factors = [np.unique(f, return_inverse=True)[1].reshape(-1) for f in factors]  # no empty groups
    if len(factors) == 1:
        return _within(M, factors[0], w), int(factors[0].max()) + 1
    try:
        import pyhdfe
    except ImportError:  # pragma: no cover - a declared dependency
        raise PLCEError("Several fixed effects need pyhdfe: pip install pyhdfe.") from None
    opts = ({"transform": "symmetric", "acceleration": "cg"} if w is None else
            {"transform": "kaczmarz", "acceleration": "none"})
    algo = pyhdfe.create(np.column_stack(factors), drop_singletons=False, compute_degrees=True,
                         residualize_method="map", options={"tol": tol, "iteration_limit": 100_000, **opts})
    out = algo.residualize(M, weights=None if w is None else w.reshape(-1, 1))
    return np.asarray(out, dtype=float).reshape(M.shape), int(algo.degrees)


def fe_degrees(factors: list[np.ndarray]) -> int:
    """Parameters the fixed effects of ``factors`` use: the number of groups of one factor; pyhdfe's count of
    non-redundant levels of several (exact for two)."""
    if not factors:
        return 0
    if len(factors) == 1:
        return int(len(np.unique(factors[0])))
    import pyhdfe

    return int(pyhdfe.create(np.column_stack(factors), drop_singletons=False, compute_degrees=True).degrees)


def singleton_rows(factors: list[np.ndarray]) -> np.ndarray:
    """Rows to drop because their group has one member in some factor, iterated until none is left (reghdfe)."""
    drop = np.zeros(len(factors[0]), dtype=bool)
    while True:
        new = drop.copy()
        for codes in factors:
            counts = np.bincount(codes[~new], minlength=int(codes.max()) + 1)
            new |= counts[codes] == 1
        if (new == drop).all():
            return drop
        drop = new


def _within(M: np.ndarray, codes: np.ndarray, w: np.ndarray | None) -> np.ndarray:
    """Subtract (weighted) group means."""
    w = np.ones(len(codes)) if w is None else w
    G = int(codes.max()) + 1
    sw = np.bincount(codes, weights=w, minlength=G)
    if M.ndim == 1:
        return M - (np.bincount(codes, weights=w * M, minlength=G) / sw)[codes]
    means = np.column_stack([np.bincount(codes, weights=w * M[:, j], minlength=G) for j in range(M.shape[1])])
    return M - (means / sw[:, None])[codes]


def hl_mean(x: np.ndarray) -> np.ndarray:
    """Hodges-Lehmann-type centre along axis 0, as in the R PLCE package.

    The median of all ordered pairwise means (x_i + x_j)/2, i, j in 1..R
    (i = j included), together with the R values themselves.
    """
    x = np.asarray(x, dtype=float)
    R = x.shape[0]
    pairs = (x[:, None] + x[None, :]) / 2.0
    allv = np.concatenate([pairs.reshape((R * R,) + x.shape[1:]), x], axis=0)
    return np.median(allv, axis=0)


def aggregate(thetas: np.ndarray, covs: np.ndarray, rule: str = "median") -> tuple[np.ndarray, np.ndarray]:
    """Combine per-repetition estimates (R, k) and covariances (R, k, k).

    ``"median"`` (Chernozhukov et al. 2018): theta = median_r theta_r and
    V = median_r [V_r + (theta_r - theta)(theta_r - theta)'] elementwise.
    ``"hl"`` (R PLCE): theta = HL(theta_r) and
    V = HL(V_r) + [HL(theta_r theta_r') - theta theta'] / R, the between-repetition
    part of each variance floored at 0.
    """
    thetas = np.asarray(thetas, dtype=float)
    covs = np.asarray(covs, dtype=float)
    R = thetas.shape[0]
    if rule == "median":
        theta = np.median(thetas, axis=0)
        d = thetas - theta
        V = np.median(covs + d[:, :, None] * d[:, None, :], axis=0)
    elif rule == "hl":
        theta = hl_mean(thetas)
        between = hl_mean(thetas[:, :, None] * thetas[:, None, :]) - np.outer(theta, theta)
        V = hl_mean(covs) + between / R
        idx = np.diag_indices_from(V)
        V[idx] = np.maximum(V[idx], hl_mean(covs)[idx])
    else:
        raise PLCEError(f"aggregate must be 'median' or 'hl'; got {rule!r}.")
    return theta, V


def final_terms(design, form: str = "auto") -> tuple[np.ndarray | None, str]:
    """The controls as final-stage columns, and which form they take ("none", "linear" or "quadratic").

    ``"quadratic"``: the controls (numeric columns and dummies), the squares of the non-binary ones and all pairwise
    products; ``"linear"``: the controls; ``"auto"``: the quadratic terms when they number at most
    ``min(FINAL_TERMS_MAX, n/20)``, else the controls when those do, else none.
    """
    if form == "none" or design.X.shape[1] == 0:
        return None, "none"
    X = design.numeric_X()
    limit = min(FINAL_TERMS_MAX, design.nobs / 20)
    if form in ("quadratic", "auto"):
        p = X.shape[1]
        n_quadratic = p + sum(len(np.unique(X[:, j])) > 2 for j in range(p)) + p * (p - 1) // 2
        if form == "quadratic" or n_quadratic <= limit:  # counted first: never built when too many (memory)
            return np.column_stack([X, quadratic_terms(X)]), "quadratic"
    if form == "auto" and X.shape[1] > limit:
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

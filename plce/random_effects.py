"""Random intercepts ``(1|g)`` around any learner: backfitting with REML variance components and BLUPs.

For an outcome ``y`` with controls ``x`` and grouping factors ``g_1..g_K``,

    y_i = f(x_i) + sum_k b_k[g_k(i)] + e_i,   b_k ~ N(0, s2_k),   e ~ N(0, s2),

the fit alternates (backfitting, as in MERF):

1. fit the learner to ``y - sum_k Z_k b_k``;
2. for each factor k in turn, on the partial residual ``r = y - f_hat - sum_{l != k} Z_l b_l``:
   estimate (s2, s2_k) by REML for the random-intercept model ``r = F beta + Z_k b_k + e``
   and set the BLUP ``b_k[g] = n_g s2_k / (n_g s2_k + s2) * mean_g(r - F beta)``.

``F`` is ``[1, numeric controls]``: REML's degrees-of-freedom correction for
the fixed part. With a linear learner the fixed point is exactly the mixed
model's solution (Henderson's equations), and since REML depends on the data
only through contrasts orthogonal to ``F``, the variance components equal
statsmodels' ``MixedLM`` REML estimates (tested). With crossed or nested
factors each is estimated on its partial residual (a standard backfitting
approximation). Units of a group not seen in training get a BLUP of 0.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import optimize

from .errors import FewGroupsWarning, PLCEError, PLCEWarning, warn

__all__ = ["reml_random_intercept", "REFit", "backfit", "predict_re", "independent_columns", "check_groups",
           "variance_table", "warn_zero_variances", "FEW_GROUPS"]

#: random-intercept factors with fewer groups than this get a warning
FEW_GROUPS = 20


def _group_sums(codes: np.ndarray, G: int, M: np.ndarray) -> np.ndarray:
    out = np.zeros((G,) + M.shape[1:])
    np.add.at(out, codes, M)
    return out


def reml_random_intercept(r: np.ndarray, codes: np.ndarray, F: np.ndarray | None = None):
    """REML estimates for ``r = F beta + Z b + e`` with one random intercept.

    Parameters
    ----------
    r : (n,) response
    codes : (n,) int group codes 0..G-1
    F : (n, p) fixed-effect design (default: intercept only)

    Returns
    -------
    sigma2 : float
        Residual variance.
    sigma2_b : float
        Random-intercept variance (0 on the boundary).
    beta : (p,) GLS coefficients of F.
    """
    r = np.asarray(r, dtype=float)
    n = len(r)
    F = np.ones((n, 1)) if F is None else np.asarray(F, dtype=float)
    p = F.shape[1]
    if n - p < 2:  # too few rows to separate a group variance from the residual one: no random intercept
        beta = np.linalg.lstsq(F, r, rcond=None)[0]
        return max(float(np.var(r - F @ beta)), 1e-300), 0.0, beta
    G = int(codes.max()) + 1
    ng = np.bincount(codes, minlength=G).astype(float)
    sF = _group_sums(codes, G, F)  # (G, p)
    sr = _group_sums(codes, G, r)  # (G,)
    FtF, Ftr, rtr = F.T @ F, F.T @ r, float(r @ r)

    def parts(lam: float):
        c = lam / (1.0 + lam * ng)  # H^{-1} = I - sum_g c_g 1 1'
        A = FtF - (sF * c[:, None]).T @ sF
        a = Ftr - (sF * (c * sr)[:, None]).sum(0)
        q = rtr - float(np.sum(c * sr**2))
        beta = np.linalg.solve(A, a)
        rss = q - float(a @ beta)
        return A, beta, rss

    def negll(loglam: float) -> float:
        lam = float(np.exp(loglam))
        A, _, rss = parts(lam)
        sign, logdet = np.linalg.slogdet(A)
        if sign <= 0 or rss <= 0:
            return np.inf
        return 0.5 * ((n - p) * np.log(rss / (n - p)) + np.sum(np.log1p(lam * ng)) + logdet)

    def negll0() -> float:
        A, _, rss = parts(0.0)
        return 0.5 * ((n - p) * np.log(rss / (n - p)) + np.linalg.slogdet(A)[1])

    opt = optimize.minimize_scalar(negll, bounds=(-12.0, 8.0), method="bounded",
                                   options={"xatol": 1e-10, "maxiter": 500})
    lam = float(np.exp(opt.x))
    if negll0() <= opt.fun:
        lam = 0.0
    _, beta, rss = parts(lam)
    sigma2 = rss / (n - p)
    return sigma2, lam * sigma2, beta


@dataclass
class REFit:
    """A fitted learner with random intercepts."""

    learner: object
    blups: list  # per factor: (G_k,) array of BLUPs (index = training group code)
    sigma2: float
    sigma2_b: list  # per factor


def _blup(r_adj: np.ndarray, codes: np.ndarray, G: int, sigma2: float, sigma2_b: float) -> np.ndarray:
    ng = np.bincount(codes, minlength=G).astype(float)
    sums = np.bincount(codes, weights=r_adj, minlength=G)
    with np.errstate(invalid="ignore", divide="ignore"):
        means = np.where(ng > 0, sums / np.maximum(ng, 1), 0.0)
    if sigma2_b <= 0:
        return np.zeros(G)
    return ng * sigma2_b / (ng * sigma2_b + sigma2) * means


def independent_columns(F: np.ndarray, tol: float = 1e-9) -> np.ndarray:
    """The columns of ``F`` that are linearly independent (pivoted QR), in their original order.

    A control that is a combination of others (or constant within the training rows) would make the REML
    cross-product singular; it carries nothing for the fixed part, so it is dropped.
    """
    from scipy.linalg import qr

    if F.shape[1] <= 1:
        return F
    norms = np.linalg.norm(F, axis=0)
    Fs = F / np.where(norms > 0, norms, 1.0)
    _, rmat, piv = qr(Fs, mode="economic", pivoting=True)
    d = np.abs(np.diag(rmat))
    rank = int(np.sum(d > tol * max(d[0], 1e-300))) if d.size else 0
    return F[:, np.sort(piv[:rank])]


def backfit(learner, X_learn, y: np.ndarray, codes: list[np.ndarray], F: np.ndarray, *, max_iter: int = 5,
            tol: float = 1e-4, fit_once: bool = False, predict=None, sample_weight=None) -> REFit:
    """Fit ``learner`` with random intercepts for each factor in ``codes`` by backfitting.

    Iterates until the BLUPs change by less than ``tol`` times their scale, at most ``max_iter`` (>= 1) times.
    ``fit_once=True`` (a classifier, which cannot fit y - Zb): the learner is fit to ``y`` once and only the
    random intercepts are iterated, on the residual ``y - predict(X)`` (the probability scale for a propensity).
    ``sample_weight`` weights the learner's fits; the variance components and BLUPs are unweighted.
    """
    from .learners import fit_weighted

    if max_iter < 1:
        raise PLCEError(f"re_iter must be at least 1 (backfitting passes); got {max_iter}.")
    predict = predict or (lambda est, X: np.asarray(est.predict(X), dtype=float))
    n = len(y)
    F = independent_columns(F)
    Gs = [int(c.max()) + 1 for c in codes]
    b = [np.zeros(G) for G in Gs]
    sigma2, s2b = float(np.var(y)), [0.0] * len(codes)
    est = fhat = None
    for _ in range(max_iter):
        if est is None or not fit_once:
            zb = sum(bk[c] for bk, c in zip(b, codes))
            est = fit_weighted(learner, X_learn, y if fit_once else y - zb, sample_weight)
            fhat = predict(est, X_learn)
        change = 0.0
        for k, c in enumerate(codes):
            others = sum((b[j][codes[j]] for j in range(len(codes)) if j != k), np.zeros(n))
            r = y - fhat - others
            sigma2, s2b[k], beta = reml_random_intercept(r, c, F)
            new = _blup(r - F @ beta, c, Gs[k], sigma2, s2b[k])
            change = max(change, float(np.max(np.abs(new - b[k]))) / (np.sqrt(sigma2) + 1e-12))
            b[k] = new
        if change < tol:
            break
    return REFit(learner=est, blups=b, sigma2=sigma2, sigma2_b=list(s2b))


def predict_re(fit: REFit, codes: list[np.ndarray]) -> np.ndarray:
    """Sum of BLUPs for new units (codes of groups unseen in training, or -1, get 0). Shape (n, K)."""
    cols = []
    for bk, c in zip(fit.blups, codes):
        ok = (c >= 0) & (c < len(bk))
        col = np.zeros(len(c))
        col[ok] = bk[c[ok]]
        cols.append(col)
    return np.column_stack(cols)


def check_groups(design) -> None:
    """Refuse degenerate random-effect factors; warn about few groups."""
    for name, codes in design.groups.items():
        sizes = np.bincount(codes)
        if len(sizes) < 2:
            raise PLCEError(f"The random-effect factor '{name}' has a single group; a random intercept needs "
                            f"at least two groups (remove the '(1|{name})' term).")
        if sizes.max() < 2:
            raise PLCEError(f"Every group of the random-effect factor '{name}' has one member, so group and unit "
                            f"effects cannot be told apart; remove '(1|{name})' or use a coarser grouping.")
        informative = int(np.sum(sizes >= 2))
        if informative < FEW_GROUPS:
            single = f" (and {len(sizes) - informative} singletons, which carry no within-group information)" \
                if informative < len(sizes) else ""
            warn(f"The random-effect factor '{name}' has only {informative} groups with more than one member"
                 f"{single}: its variance is poorly estimated and cluster-robust standard errors by it can be too "
                 f"small (fewer than ~{FEW_GROUPS}).", FewGroupsWarning)


def variance_table(re_variances):
    """Random-intercept variance of each factor in each nuisance model: the mean over folds and repetitions."""
    if re_variances is None:
        return None
    return re_variances.groupby(["factor", "model"], sort=False)["sigma2_b"].mean()


def warn_zero_variances(re_variances) -> None:
    """Warn for each factor and model whose variance component is 0 in at least half of the fits."""
    if re_variances is None:
        return
    med = re_variances.groupby(["factor", "model"], sort=False)["sigma2_b"].median()
    for (factor, model), v in med.items():
        if v <= 0:
            warn(f"The random-intercept variance of '{factor}' in the {model} model is estimated at 0: the groups "
                 "add nothing beyond the controls there, and its BLUPs are 0.", PLCEWarning)

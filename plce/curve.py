"""The partial-effect curve (Ratkovic & Tingley 2023): theta(t, x) and its slope tau = d theta / d t for every unit.

Model: y = theta(t, x) + f(x) + e. A default :func:`plce.ols_ml` fit supplies the cross-fitted l_hat(x), m_hat(x),
the weights 1/s_hat^2(x), the folds and the absorbed groups. For repetition r and fold k a weighted ridge regression
on the other folds' units fits y on

    [t, t q, N(t) (x) (1, z), z, q, m_hat, m_hat q, l_hat],

q the final stage's control terms, z the standardised numeric controls, N a natural cubic spline of t without its
linear column (``knots`` interior knots at its quantiles). The part linear in t is the feasible final stage of
ols_ml (m_hat and m_hat q free), so the slopes average to ols_ml's estimate; the spline lets the slope move along t.
tau_hat = d(basis)/dt beta at the held-out units; its SE is the (cluster-)sandwich of beta, with the spread of
tau_hat between repetitions added. (A spline of the residual t - m_hat instead of t was the first version: the
slope tau = t of y = t^2 / 2 then has to be rebuilt from t - m_hat and m_hat, and the learner's error in m_hat
entered every slope; docs/curve.rst has the comparison.)

Average coverage -- the share of units whose interval contains their tau -- is calibrated by a wild bootstrap around
an undersmoothed pilot: a fit with twice the knots gives pilot curves and residuals in every repetition; one draw of
Rademacher signs (per cluster with clusters) perturbs the residuals of all repetitions, the estimator is refitted on
pilot + residual x signs, and the draw's curve and SE are combined over repetitions as the estimate's are. The
critical value c is the (1 - alpha) quantile of |tau_hat* - tau_pilot| / se* pooled over units and draws. The
smoothing bias of the estimator relative to the rougher pilot is thus in c, which a normal critical value ignores
(``naive_conf_int`` gives that one, for comparison); the learners' errors in the nuisances are not (the bootstrap
holds them fixed). This replaces the conformal critical value of the authors' MDEI code, whose tau interval adds an
ad hoc 1 to a critical value calibrated on theta; docs/curve.rst has the measurements.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from .errors import PLCEError, PLCEWarning, warn
from .final import absorb_fixed_effects

__all__ = ["partial_effects", "PartialEffects", "spline_basis"]

#: units outside the central (1 - 2 * THIN) share of t~ are "in thin support"
THIN = 0.025


def spline_basis(u: np.ndarray, knots: np.ndarray, bounds: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:
    """Natural cubic spline basis of ``u`` (truncated-power form, linear beyond ``bounds``) and its derivative.

    Columns: u, then one per interior knot (Hastie, Tibshirani & Friedman 2009, eq. 5.4-5.5).
    """
    lo, hi = bounds
    ks = np.concatenate([[lo], np.asarray(knots, float), [hi]])
    K = len(ks)

    def d(k, x, deriv=False):
        def pos3(a):
            return np.maximum(a, 0.0) ** 3 if not deriv else 3 * np.maximum(a, 0.0) ** 2
        return (pos3(x - ks[k]) - pos3(x - ks[-1])) / (ks[-1] - ks[k])

    cols, dcols = [u], [np.ones_like(u)]
    for k in range(K - 2):
        cols.append(d(k, u) - d(K - 2, u))
        dcols.append(d(k, u, True) - d(K - 2, u, True))
    return np.column_stack(cols), np.column_stack(dcols)


def _design(t, Z, Q, F, knots, bounds):
    """Columns [t, t (x) q, N(t~) (x) (1, z), z, q, F] and their derivatives in t; the first three blocks move with t.

    The part linear in t is in the feasible form of the final stage (t and t (x) q beside the free columns F = [m_hat,
    m_hat (x) q, l_hat]); N is the natural cubic spline of t without its linear column."""
    N, dN = spline_basis(t, knots, bounds)
    N, dN = N[:, 1:], dN[:, 1:]
    n = len(t)
    ZZ = np.column_stack([np.ones((n, 1)), Z])
    moving = [t[:, None], t[:, None] * Q, (N[:, :, None] * ZZ[:, None, :]).reshape(n, -1)]
    dmoving = [np.ones((n, 1)), Q, (dN[:, :, None] * ZZ[:, None, :]).reshape(n, -1)]
    k = sum(m.shape[1] for m in moving)
    B = np.column_stack([*moving, Z, Q, F])
    dB = np.column_stack([*dmoving, np.zeros((n, B.shape[1] - k))])
    return B, dB, k


def _ridge(B, y, lam, w):
    """Weighted ridge coefficients (intercept unpenalised through weighted centring), the bread of the sandwich and
    the weighted residuals (its meat)."""
    sw = w.sum()
    mu_B, mu_y = (w @ B) / sw, float(w @ y) / sw
    Bc, yc = B - mu_B, y - mu_y
    scale = np.sqrt((w @ Bc**2) / sw) + 1e-12
    Bs = Bc / scale
    A = Bs.T @ (Bs * w[:, None]) + lam * sw * np.eye(B.shape[1])
    bread = np.linalg.inv(A)
    beta = bread @ (Bs.T @ (w * yc)) / scale
    resid = w * (yc - Bc @ beta)
    return beta, mu_B, mu_y, bread, scale, resid


def _absorbed(B, y, w, absorb, rows):
    """``B`` and ``y`` on ``rows`` less the absorbed factors' (weighted) group means, as in the final stage."""
    if not absorb:
        return B[rows], y[rows]
    M, _ = absorb_fixed_effects(np.column_stack([B[rows], y[rows]]), [a[rows] for a in absorb], w[rows])
    return M[:, :-1], M[:, -1]


def _meat(Bs, resid, clusters):
    """Sum of the score outer products, summed within clusters first when there are clusters."""
    S = Bs * resid[:, None]
    if clusters is not None:
        codes = np.unique(clusters, return_inverse=True)[1].reshape(-1)
        S = np.stack([np.bincount(codes, weights=S[:, j]) for j in range(S.shape[1])], axis=1)
    return S.T @ S


def _crossfit_fit(t, y, Z, Q, F, w, folds, knots, bounds, lam, absorb=None, clusters=None):
    """Out-of-fold theta_hat (the part of the fit that moves with t), tau_hat and the sandwich SE of tau_hat for one
    repetition."""
    n = len(t)
    B, dB, k = _design(t, Z, Q, F, knots, bounds)
    theta, tau, se = np.empty(n), np.empty(n), np.empty(n)
    for f in np.unique(folds):
        tr, te = folds != f, folds == f
        Ba, ya = _absorbed(B, y, w, absorb, tr)
        beta, mu_B, mu_y, bread, scale, resid = _ridge(Ba, ya, lam, w[tr])
        theta[te] = B[te, :k] @ beta[:k]
        tau[te] = dB[te] @ beta
        V = bread @ _meat((Ba - mu_B) / scale, resid, None if clusters is None else clusters[tr]) @ bread
        G = dB[te] / scale
        se[te] = np.sqrt(np.maximum(np.einsum("ij,jk,ik->i", G, V, G), 0.0))
    return theta, tau, se


def _full_fit(B, dB, y, w, lam, absorb, clusters):
    """The basis fitted on all units: residuals, coefficients, and the delta-method variance of the average slope
    mean_i dB_i beta (as an average marginal effect after a regression)."""
    Ba, ya = _absorbed(B, y, w, absorb, np.ones(len(y), bool))
    beta, mu_B, mu_y, bread, scale, resid = _ridge(Ba, ya, lam, w)
    V = bread @ _meat((Ba - mu_B) / scale, resid, clusters) @ bread
    g = dB.mean(axis=0) / scale
    return (ya - mu_y - (Ba - mu_B) @ beta) , beta, float(g @ V @ g)


def _combine(taus, ses):
    """Per-unit curve and SE over repetitions: the mean, and the mean sampling variance plus the spread between
    repetitions."""
    spread = np.var(taus, axis=0, ddof=1) if len(taus) > 1 else 0.0
    return np.mean(taus, axis=0), np.sqrt(np.mean(np.square(ses), axis=0) + spread)


@dataclass
class PartialEffects:
    """Per-unit partial effects tau(t, x) and theta(t, x) with average-coverage intervals (see the module)."""

    tau: pd.Series
    theta: pd.Series
    se: pd.Series
    critical: dict  # alpha -> calibrated critical value
    treatment: str
    t: np.ndarray
    X: pd.DataFrame
    thin: np.ndarray
    n_rep: int
    used: np.ndarray  # over the input rows: used in the fit
    ape: tuple = (np.nan, np.nan)
    result: object = None  # the ols_ml fit whose nuisances, weights and folds the curve uses

    def conf_int(self, alpha: float = 0.1) -> pd.DataFrame:
        """Per-unit intervals with calibrated average coverage 1 - alpha (``alpha`` of 0.1 or 0.05, as fitted)."""
        if alpha not in self.critical:
            raise PLCEError(f"alpha={alpha} was not calibrated; fit with alphas including it "
                            f"(calibrated: {sorted(self.critical)}).")
        c = self.critical[alpha]
        return pd.DataFrame({"lower": self.tau - c * self.se, "upper": self.tau + c * self.se})

    def naive_conf_int(self, alpha: float = 0.1) -> pd.DataFrame:
        """The uncalibrated interval tau_hat +- z se (for comparison: it ignores smoothing bias)."""
        z = stats.norm.ppf(1 - alpha / 2)
        return pd.DataFrame({"lower": self.tau - z * self.se, "upper": self.tau + z * self.se})

    def average(self) -> tuple[float, float]:
        """The average partial effect mean(tau_hat) and its standard error: the coefficients' sandwich variance
        of the average slope plus the spread of the units' slopes over n (for the population average)."""
        return self.ape

    def share_excluding(self, value: float = 0.0, alpha: float = 0.1) -> float:
        """Share of units whose interval excludes ``value`` (0: a significant slope)."""
        ci = self.conf_int(alpha).dropna()
        return float(np.mean((ci["lower"] > value) | (ci["upper"] < value)))

    def summary(self) -> str:
        ape, se = self.average()
        lines = [f"Partial effects of '{self.treatment}' (Ratkovic & Tingley 2023), {len(self.t)} units, "
                 f"{self.n_rep} repetitions",
                 f"  average partial effect: {ape:.4f} (SE {se:.4f})",
                 "  tau_hat quartiles: " + ", ".join(f"{q:.3f}" for q in np.quantile(self.tau.dropna(),
                                                                                      [0.25, 0.5, 0.75]))]
        for a, c in sorted(self.critical.items()):
            lines.append(f"  {100 * (1 - a):.0f}% intervals: critical value {c:.2f} (normal "
                         f"{stats.norm.ppf(1 - a / 2):.2f}); {100 * self.share_excluding(0.0, a):.0f}% exclude 0")
        lines.append(f"  units in thin treatment support (outside the central 95% of t - m_hat): "
                     f"{100 * self.thin.mean():.1f}%")
        lines.append("Intervals have *average* coverage: about 1 - alpha of the units' intervals contain their "
                     "tau; they are not pointwise or simultaneous bands.")
        return "\n".join(lines)

    def plot(self, x: str | None = None, *, alpha: float = 0.1, segments: bool = False, ax=None):
        """tau_hat against the treatment (default) or a control, with its band; ``segments`` draws every unit's
        interval, dark where it excludes 0 (the authors' coverPlot). Returns the Figure."""
        from .plotting import curve_plot

        xv = self.t if x is None or x == self.treatment else self.X[x].to_numpy(dtype=float)
        ci = self.conf_int(alpha)[self.used]
        return curve_plot(xv, self.tau.to_numpy()[self.used], ci["lower"].to_numpy(), ci["upper"].to_numpy(),
                          xlabel=x or self.treatment, segments=segments, ax=ax)


def partial_effects(formula: str, data, *, knots: int = 4, ridge: float = 1e-4, alphas=(0.1, 0.05),
                    n_boot: int = 50, n_rep: int = 5, random_state=None, **fit_options) -> PartialEffects:
    """Estimate the partial-effect curve tau(t, x) = d theta(t, x) / d t of every unit, with intervals of
    calibrated average coverage.

    Parameters
    ----------
    formula : str
        As :func:`plce.ols_ml`, one continuous treatment.
    data : DataFrame
    knots : int, default 4
        Interior knots of the treatment spline (the pilot for calibration uses twice as many).
    ridge : float, default 1e-4
        Ridge penalty (relative to n, on standardised columns).
    alphas : tuple of float
        Levels to calibrate (0.1 gives 90% intervals).
    n_boot : int, default 50
        Wild-bootstrap draws for the critical values.
    n_rep : int, default 5
        Cross-fitting repetitions (nuisances and curve).
    random_state, **fit_options
        As :func:`plce.ols_ml` (learners, random effects, folds, ...).

    Returns
    -------
    PartialEffects

    Examples
    --------
    >>> import numpy as np, pandas as pd, plce
    >>> rng = np.random.default_rng(0); n = 600
    >>> df = pd.DataFrame({"t": rng.normal(size=n), "x1": rng.normal(size=n), "x2": rng.normal(size=n)})
    >>> df["y"] = 0.5 * df.t**2 + df.x1 + rng.normal(size=n)
    >>> pe = plce.partial_effects("y ~ t | x1 + x2", df, n_rep=2, n_boot=20, random_state=0)
    >>> bool(np.corrcoef(pe.tau, df.t)[0, 1] > 0.8)
    True
    """
    from .model import ols_ml

    with_warnings = fit_options.pop("warn", True)
    res = ols_ml(formula, data=data, n_rep=n_rep, random_state=random_state, **fit_options)
    d = res.design
    if d.T.shape[1] != 1:
        raise PLCEError("partial_effects takes one treatment.")
    if len(np.unique(d.T[:, 0])) <= 2:
        raise PLCEError("partial_effects is for a continuous treatment; for a 0/1 treatment use ols_ml's "
                        "estimand='ate'/'att' and res.with_estimand.")
    if res.nobs != d.nobs:
        raise PLCEError("partial_effects needs every unit in the final stage (no trim=, no absorbed singletons).")
    num = d.numeric_frame()
    Z = ((num - num.mean()) / num.std(ddof=0).replace(0, 1)).to_numpy() if num.shape[1] else np.empty((d.nobs, 0))
    Q = res.plan.terms if res.plan.terms is not None else np.empty((d.nobs, 0))
    Q = Q - Q.mean(axis=0) if Q.size else Q
    nu, folds, y = res.nuisances, res.folds, d.y
    rng = np.random.default_rng(res.random_state % (2**32))
    thetas, taus, ses, apes, boots = [], [], [], [], []
    t = d.T[:, 0]
    absorb = list(res.plan.absorb) if res.plan.absorb is not None else None
    clusters = res.plan.inference.clusters
    if clusters is not None and np.ndim(clusters) == 2:
        clusters = clusters[:, 0]  # the first clustering variable
    draw_codes = None if clusters is None else np.unique(clusters, return_inverse=True)[1].reshape(-1)
    # the spline's knots at quantiles of t, linear beyond its 1st and 99th percentiles
    bounds = (float(np.quantile(t, 0.01)), float(np.quantile(t, 0.99)))
    knots_main = np.quantile(t, np.linspace(0, 1, knots + 2)[1:-1])
    knots_pilot = np.quantile(t, np.linspace(0, 1, 2 * knots + 2)[1:-1])
    for r in range(res.plan.n_rep):
        m_r, l_r = nu.m[r, :, 0], nu.ell[r]
        F = np.column_stack([m_r, m_r[:, None] * Q, l_r])
        w = res.weights[r] if res.weights[r] is not None else np.ones(d.nobs)
        if d.weights is not None:
            w = w * d.weights
        cf = (folds[r], knots_main, bounds, ridge, absorb, clusters)
        theta, tau, se = _crossfit_fit(t, y, Z, Q, F, w, *cf)
        B, dB, _ = _design(t, Z, Q, F, knots_main, bounds)
        apes.append(_full_fit(B, dB, y, w, ridge, absorb, clusters)[2])
        thetas.append(theta), taus.append(tau), ses.append(se)
        # calibration: an undersmoothed pilot (twice the knots, in-sample) per repetition
        Bp, dBp, _ = _design(t, Z, Q, F, knots_pilot, bounds)
        e_p, bp, _ = _full_fit(Bp, dBp, y, w, ridge, absorb, clusters)
        boots.append((F, w, cf, y - e_p, e_p, dBp @ bp))
    tau, se = _combine(taus, ses)
    means = np.array([tr.mean() for tr in taus])
    ape_se = np.sqrt(np.mean(apes) + (np.var(means, ddof=1) if len(means) > 1 else 0.0) + tau.var(ddof=1) / len(tau))
    # wild bootstrap of the whole estimator: one draw of Rademacher signs (per cluster with clusters) perturbs every
    # repetition's pilot residuals, and the draw's curve and SE are combined over repetitions as the estimate's are
    stand = []
    tau_p = np.mean([b[-1] for b in boots], axis=0)
    for _ in range(max(1, n_boot // res.plan.n_rep)):
        signs = rng.choice([-1.0, 1.0], size=d.nobs if draw_codes is None else draw_codes.max() + 1)
        signs = signs if draw_codes is None else signs[draw_codes]
        draws = [_crossfit_fit(t, fit_p + e_p * signs, Z, Q, F, w, *cf)[1:] for F, w, cf, fit_p, e_p, _ in boots]
        tau_s, se_s = _combine([a for a, _ in draws], [b for _, b in draws])
        stand.append(np.abs(tau_s - tau_p) / np.maximum(se_s, 1e-12))
    critical = {a: float(np.quantile(np.concatenate(stand), 1 - a)) for a in alphas}
    tt_all = d.T[:, 0] - nu.m.mean(axis=0)[:, 0]
    lo, hi = np.quantile(tt_all, [THIN, 1 - THIN])
    thin = (tt_all < lo) | (tt_all > hi)
    if with_warnings and (np.max(np.abs(tt_all - np.median(tt_all))) > 4 * np.std(tt_all)):
        warn("The treatment's residual t - m_hat has long tails: the curve's ends rest on few units, and their "
             "intervals on extrapolation of the spline (see the summary's thin-support share).", PLCEWarning)
    scale = d.effect_scale[0]
    idx = d.input_index[d.row_mask] if d.input_index is not None else pd.RangeIndex(d.nobs)
    full = d.input_index if d.input_index is not None else idx

    def series(v, name):
        return pd.Series(v, index=idx, name=name).reindex(full)

    return PartialEffects(tau=series(tau * scale, "tau"), theta=series(np.mean(thetas, axis=0) * d.scale_y, "theta"),
                          se=series(se * abs(scale), "se"), critical=critical, treatment=d.treatment_names[0],
                          t=d.T[:, 0] * (d.scale_t[0] if d.scale_t is not None else 1.0),
                          X=d.X.rename(columns=d.labels), thin=thin, n_rep=res.plan.n_rep,
                          used=np.asarray(d.row_mask, bool),
                          ape=(float(tau.mean() * scale), float(ape_se * abs(scale))), result=res)

"""Matplotlib figures (imported lazily; every function returns the Figure)."""
from __future__ import annotations

import numpy as np

from .errors import PLCEError

__all__ = ["sensitivity_contour", "positivity_plot", "overlap_plot"]


def _axes(ax):
    import matplotlib.pyplot as plt

    if ax is None:
        fig, ax = plt.subplots(figsize=(6, 5.5))
        return fig, ax
    return ax.figure, ax


def sensitivity_contour(sr, *, sensitivity_of: str = "estimate", lim: float | None = None, ax=None):
    """sensemakr-style contours of the bias-adjusted estimate or t-value.

    Axes: partial R^2 of the confounder with the treatment (x) and with the
    outcome (y). The unadjusted estimate sits at the origin (black triangle);
    the critical contour (0 for the estimate, the t threshold for t) is red and
    dashed; benchmark bounds are red diamonds with their labels.
    """
    from .diagnostics import sensitivity as s

    if sensitivity_of not in ("estimate", "t-value"):
        raise PLCEError(f"sensitivity_of must be 'estimate' or 't-value'; got {sensitivity_of!r}.")
    b = sr.bounds
    if lim is None:
        lim = 0.4
        if b is not None and len(b):
            lim = float(min(0.99, max(lim, 1.1 * b["r2dz_x"].max(), 1.1 * b["r2yz_dx"].max())))
    grid = np.linspace(0, lim, 101)
    gx, gy = np.meshgrid(grid, grid)
    if sensitivity_of == "estimate":
        z = s.adjusted_estimate(sr.estimate, sr.se, sr.dof, gx, gy, sr.reduce)
        threshold, label0 = 0.0, sr.estimate
    else:
        z = s.adjusted_t(sr.estimate, sr.se, sr.dof, gx, gy, sr.reduce)
        from scipy import stats

        threshold = float(stats.t.ppf(1 - sr.alpha / 2, sr.dof - 1))
        label0 = sr.estimate / sr.se
    fig, ax = _axes(ax)
    cs = ax.contour(gx, gy, z, levels=12, colors="grey", linewidths=0.8)
    ax.clabel(cs, fontsize=8, fmt="%.3g")
    if np.nanmin(z) < threshold < np.nanmax(z):
        ax.contour(gx, gy, z, levels=[threshold], colors="red", linestyles="dashed", linewidths=1.2)
    ax.plot(0, 0, marker="^", color="black", markersize=9)
    ax.annotate(f"Unadjusted\n({label0:.3g})", (0, 0), xytext=(6, 6), textcoords="offset points", fontsize=8)
    if b is not None:
        zb = b["adjusted_estimate"] if sensitivity_of == "estimate" else b["adjusted_t"]
        for (_, row), val in zip(b.iterrows(), zb):
            if row["r2dz_x"] <= lim and row["r2yz_dx"] <= lim:
                ax.plot(row["r2dz_x"], row["r2yz_dx"], marker="D", color="red", markersize=6)
                ax.annotate(f"{row['bound_label']}\n({val:.3g})", (row["r2dz_x"], row["r2yz_dx"]),
                            xytext=(6, 4), textcoords="offset points", fontsize=8, color="red")
    ax.set_xlim(0, lim)
    ax.set_ylim(0, lim)
    ax.set_xlabel(r"Partial $R^2$ of confounder(s) with the treatment")
    ax.set_ylabel(r"Partial $R^2$ of confounder(s) with the outcome")
    ax.set_title(f"Sensitivity of the {'estimate' if sensitivity_of == 'estimate' else 't-value'} "
                 f"of '{sr.treatment}'")
    fig.tight_layout()
    return fig


def positivity_plot(curve, *, ax=None, title: str | None = None):
    """The talk's positivity figure: observed minus expected excess kurtosis by percentile."""
    fig, ax = _axes(ax)
    ax.plot(curve["percentile"], curve["difference"], color="black", lw=1.2)
    ax.axhline(0.0, color="red", ls="--", lw=1)
    ax.set_xlabel("Percentile of units (sorted excess kurtosis)")
    ax.set_ylabel("Excess kurtosis: observed - expected")
    ax.set_title(title or "Positivity diagnostic")
    fig.tight_layout()
    return fig


def overlap_plot(score, t, *, weights=None, binary: bool = True, ax=None, threshold=None, treatment: str = "t"):
    """Overlap: out-of-fold propensity histograms by arm (0/1 treatment), or the weights' distribution."""
    fig, ax = _axes(ax)
    if binary:
        bins = np.linspace(0, 1, 41)
        ax.hist(score[t == 1], bins=bins, alpha=0.55, color="tab:red", label=f"treated (n={int((t == 1).sum())})",
                density=True)
        ax.hist(score[t == 0], bins=bins, alpha=0.55, color="tab:blue", label=f"control (n={int((t == 0).sum())})",
                density=True)
        for x in (0.05, 0.95):
            ax.axvline(x, color="grey", ls=":", lw=1)
        if threshold:
            for x in (threshold, 1 - threshold):
                ax.axvline(x, color="black", ls="--", lw=1.2)
            ax.plot([], [], color="black", ls="--", label=f"trimmed beyond {threshold:.3f}")
        ax.plot([], [], color="grey", ls=":", label="0.05 / 0.95")
        ax.set_xlabel(f"Out-of-fold propensity P({treatment} = 1 | x), mean over repetitions")
        ax.set_ylabel("Density")
        ax.set_title("Overlap of the propensity by arm")
        ax.legend(fontsize=8)
    else:
        if weights is None:
            raise PLCEError("The overlap plot of a continuous treatment shows the weights; this fit has none "
                            "(estimand='variance_weighted').")
        ax.hist(weights, bins=50, color="tab:blue", alpha=0.8)
        ax.set_yscale("log")
        ax.axvline(1.0, color="grey", ls=":", lw=1, label="mean weight (1)")
        ax.set_xlabel("Final-stage weight 1/Var(t|x), normalised to mean 1 (mean over repetitions)")
        ax.set_ylabel("Units (log scale)")
        ax.set_title("Distribution of the treatment-variance weights")
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig

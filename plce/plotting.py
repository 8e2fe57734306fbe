"""Matplotlib figures (imported lazily; every function returns the Figure)."""
from __future__ import annotations

import numpy as np

from .errors import PLCEError

__all__ = ["sensitivity_contour", "positivity_plot", "overlap_plot", "curve_plot", "effects_plot"]


def _axes(ax):
    import matplotlib.pyplot as plt

    if ax is None:
        fig, ax = plt.subplots(figsize=(6, 5.5))
        return fig, ax
    return ax.figure, ax


def sensitivity_contour(gx, gy, z, *, levels_range, threshold: float, threshold_label: str, origin: float,
                        points, lim: float, title: str, ax=None):
    """sensemakr-style contours of a bias-adjusted quantity ``z`` over the grid ``gx`` x ``gy`` of partial R^2s.

    Grey solid contours at levels chosen within ``levels_range``; the critical contour (``threshold``) red and
    dashed, in the legend; the unadjusted value at the origin (black triangle); ``points`` are benchmark bounds
    ``(x, y, label, value, beyond)``, drawn as red diamonds (an open arrow at the edge when ``beyond`` the range),
    their labels moved apart when they would overlap.
    """
    from matplotlib.lines import Line2D
    from matplotlib.ticker import MaxNLocator

    fig, ax = _axes(ax)
    lo, hi = levels_range
    levels = MaxNLocator(nbins=8).tick_values(lo, hi) if hi > lo else [hi]
    levels = [v for v in levels if np.nanmin(z) < v < np.nanmax(z) and not np.isclose(v, threshold)]
    if levels:
        cs = ax.contour(gx, gy, z, levels=levels, colors="grey", linewidths=0.8, linestyles="solid")
        ax.clabel(cs, fontsize=8, fmt="%.3g")
    handles = []
    if np.nanmin(z) < threshold < np.nanmax(z):
        ax.contour(gx, gy, z, levels=[threshold], colors="red", linestyles="dashed", linewidths=1.4)
    handles.append(Line2D([], [], color="red", ls="--", label=threshold_label))
    ax.plot(0, 0, marker="^", color="black", markersize=10, clip_on=False, zorder=5)
    ax.annotate(f"Unadjusted ({origin:.3g})", (0, 0), xytext=(8, 8), textcoords="offset points", fontsize=8)
    placed: list[tuple[float, float]] = []
    for x, y, label, value, beyond in points:
        ax.plot(x, y, marker=">" if beyond else "D", color="red", markersize=7, clip_on=False, zorder=5,
                markerfacecolor="none" if beyond else "red")
        # labels are about a quarter of the axis wide: stack those of nearby points (downwards at the top edge)
        k = sum(abs(x - px) < 0.25 * lim and abs(y - py) < 0.06 * lim for px, py in placed)
        placed.append((x, y))
        down = y > 0.9 * lim
        ax.annotate(f"{label} ({value:.3g})" + (", bound beyond the plot" if beyond else ""), (x, y),
                    xytext=(8, (-12 - 11 * k) if down else (4 + 11 * k)), textcoords="offset points", fontsize=8,
                    color="red", ha="right" if x > 0.7 * lim else "left")
    if points:
        handles.append(Line2D([], [], color="red", marker="D", ls="", label="benchmark bounds (kd x covariate)"))
    ax.set_xlim(0, lim)
    ax.set_ylim(0, lim)
    ax.set_xlabel(r"Partial $R^2$ of confounder(s) with the treatment")
    ax.set_ylabel(r"Partial $R^2$ of confounder(s) with the outcome")
    ax.set_title(title, fontsize=10)
    ax.legend(handles=handles, fontsize=8, loc="lower right" if any(p[1] > 0.7 * lim for p in points) else
              "upper right")
    fig.tight_layout()
    return fig


def positivity_plot(curve, *, ax=None, title: str | None = None, share_flagged: float | None = None):
    """Ratkovic (2023)'s positivity figure: observed minus expected excess kurtosis by percentile.

    The grey band is the range of the simulated no-problem reference curves; the dotted line marks the 90th
    percentile (10% of units are flagged without a problem) and the dashed one where the flagged units start.
    """
    fig, ax = _axes(ax)
    if "reference_low" in curve:
        ax.fill_between(curve["percentile"], curve["reference_low"], curve["reference_high"], color="0.85",
                        label="reference range (no positivity problem)")
    ax.plot(curve["percentile"], curve["difference"], color="black", lw=1.2, label="observed - expected")
    ax.axhline(0.0, color="grey", ls="-", lw=0.8)
    ax.axvline(90.0, color="tab:blue", ls=":", lw=1.2, label="90th percentile: 10% flagged expected")
    if share_flagged is not None:
        ax.axvline(100 * (1 - share_flagged), color="tab:red", ls="--", lw=1.2,
                   label=f"flagged units beyond ({100 * share_flagged:.1f}%)")
    ax.set_xlabel("Percentile of units (sorted excess kurtosis)")
    ax.set_ylabel("Excess kurtosis: observed - expected")
    ax.set_title(title or "Positivity diagnostic", fontsize=10)
    ax.legend(fontsize=7, loc="lower left")
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


def curve_plot(x, tau, lower, upper, *, xlabel: str = "t", segments: bool = False, ax=None):
    """Partial effects tau_hat against ``x`` with their intervals: a band over x (binned means), or every unit's
    segment (dark where it excludes 0), with a reference line at 0."""
    fig, ax = _axes(ax)
    order = np.argsort(x)
    xs, ts, lo, hi = x[order], tau[order], lower[order], upper[order]
    if segments:
        excl = (lo > 0) | (hi < 0)
        ax.vlines(xs[~excl], lo[~excl], hi[~excl], color="0.75", lw=0.6, label="interval contains 0")
        ax.vlines(xs[excl], lo[excl], hi[excl], color="0.1", lw=0.6, label="interval excludes 0")
        ax.plot(xs, ts, ".", color="tab:red", ms=2, label="tau_hat")
    else:
        bins = np.array_split(np.arange(len(xs)), min(40, max(5, len(xs) // 25)))
        bx = [xs[b].mean() for b in bins]
        ax.fill_between(bx, [lo[b].mean() for b in bins], [hi[b].mean() for b in bins], color="tab:blue", alpha=0.25,
                        label="mean interval (average coverage)")
        ax.plot(bx, [ts[b].mean() for b in bins], color="tab:blue", lw=1.5, label="tau_hat (binned mean)")
        ax.plot(xs, ts, ".", color="0.5", ms=1.5)
    ax.axhline(0.0, color="black", lw=0.8)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("Partial effect d theta / d t")
    ax.set_title("Partial-effect curve (Ratkovic & Tingley 2023)", fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def effects_plot(xpos, est, lower, upper, *, overall: float, xlabel: str, ylabel: str, ticks=None, unit_x=None,
                 unit_theta=None, ax=None):
    """Subgroup average effects with their intervals at ``xpos``, the units' fitted effects behind them (faint),
    and the overall estimate (dashed)."""
    fig, ax = _axes(ax)
    if unit_x is not None and unit_theta is not None and len(unit_theta):
        keep = np.random.default_rng(0).permutation(len(unit_theta))[:3000]
        jitter = 0.0 if ticks is None else np.random.default_rng(1).uniform(-0.15, 0.15, len(keep))
        ax.plot(np.asarray(unit_x, float)[keep] + jitter, np.asarray(unit_theta)[keep], ".", color="0.75", ms=2,
                label="units' fitted theta(x) (not estimates)")
    ax.errorbar(xpos, est, yerr=[est - lower, upper - est], fmt="o", color="tab:blue", capsize=3,
                label="subgroup average effect and interval")
    ax.axhline(overall, color="tab:red", ls="--", lw=1, label=f"overall estimate ({overall:.3g})")
    if ticks is not None:
        ax.set_xticks(xpos)
        ax.set_xticklabels(ticks)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title("Average effect by subgroup", fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig

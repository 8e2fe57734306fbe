"""Figures checked through their artists: what a reader needs is drawn, inside the axes, and nothing collides."""
import matplotlib

matplotlib.use("Agg")
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.collections import PolyCollection  # noqa: E402

import plce  # noqa: E402


@pytest.fixture(scope="module")
def re_het_fit():
    df, _ = plce.datasets.make_simdata("re_het", n=400, random_state=1)
    return plce.ols_ml("y ~ t | x1 + x2 + x3 + x4 + x5 + (1|g)", data=df, random_state=1, n_rep=1)


def _red_points(ax):
    return [ln for ln in ax.get_lines() if ln.get_color() == "red" and ln.get_marker() in ("D", ">")]


@pytest.mark.parametrize("of", ["estimate", "t-value"])
def test_readme_sensitivity_plot_draws_its_benchmarks_inside_the_axes(re_het_fit, of):
    fig = re_het_fit.plot_sensitivity(benchmark="x2", kd=[1, 2], sensitivity_of=of)
    ax = fig.axes[0]
    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    pts = _red_points(ax)
    assert len(pts) == 2  # kd = 1 and 2
    for ln in pts:
        x, y = ln.get_xdata()[0], ln.get_ydata()[0]
        assert x0 <= x <= x1 and y0 <= y <= y1
    # the benchmarks are not crowded into a corner: the axes reach no further than needed to show them
    assert max(ln.get_xdata()[0] for ln in pts) > 0.05 * x1 or max(ln.get_ydata()[0] for ln in pts) > 0.05 * y1
    # the critical contour is in the legend with its value
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    want = "adjusted estimate = 0" if of == "estimate" else "t = 1.96 (critical, alpha = 0.05)"
    assert want in labels, labels


def test_positivity_plot_has_its_reference_band_and_flag_threshold():
    df, _ = plce.datasets.make_simdata("baseline", n=300, random_state=2)
    res = plce.ols_ml("y ~ t | x1 + x2 + x3 + x4 + x5", data=df, random_state=2, n_rep=10)
    ax = res.plot_positivity().axes[0]
    assert any(isinstance(c, PolyCollection) for c in ax.collections)  # the reference band
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any("reference" in s for s in labels) and any("90th percentile" in s for s in labels)
    assert any(np.allclose(ln.get_xdata(), 90.0) for ln in ax.get_lines())


def test_mattes_weeks_figure_titles_do_not_overlap():
    from plce.replications import mattes_weeks

    _, fits = mattes_weeks.run(n_rep=10, random_state=1)
    fig = mattes_weeks.positivity_figure(fits)
    fig.canvas.draw()
    r = fig.canvas.get_renderer()
    boxes = [ax.title.get_window_extent(r) for ax in fig.axes] + [fig._suptitle.get_window_extent(r)]
    for i in range(len(boxes)):
        for j in range(i + 1, len(boxes)):
            assert not boxes[i].overlaps(boxes[j]), (i, j)
    # and every title fits inside the figure
    W, H = fig.canvas.get_width_height()
    for b in boxes:
        assert b.x0 >= 0 and b.x1 <= W and b.y1 <= H

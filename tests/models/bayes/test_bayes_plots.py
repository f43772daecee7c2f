"""The Bayesian plots write readable PNGs; the OLS layer is the FE model's own estimates."""

import warnings

import matplotlib.image as mpimg
import numpy as np
import pytest
from bayes_panels import simulate_panel

from tradeq.models.bayes import fit_bayes
from tradeq.models.bayes.design import build_group_design, sufficient_stats
from tradeq.report import bayes_plots


@pytest.fixture(scope="module")
def setup():
    p = simulate_panel(9, n_firms=200, within_sd=0.35, sigma=0.03)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dt = fit_bayes(
            p.design, groups=p.groups, group_names=list(p.group_names), core="Market",
            draws=150, tune=150, chains=2, progress=False,
        )
    return p, dt


def test_ols_intervals_are_the_group_interacted_fe_fit(setup):
    p, dt = setup
    ols = bayes_plots.ols_group_intervals(dt, prob=0.95)
    gd = build_group_design(p.design, p.groups, p.group_names, "Market")
    ss = sufficient_stats(gd.Z, gd.y)
    np.testing.assert_allclose(ols["b1"].sel(stat="estimate"), ss.coef_hat[:6])
    np.testing.assert_allclose(ols["b2"].sel(stat="estimate"), ss.coef_hat[6:12])
    width = ols["b2"].sel(stat="upper") - ols["b2"].sel(stat="lower")
    assert np.all(width > 0) and ols["group"].values.tolist() == list(p.group_names)


def test_all_plots_written(setup, tmp_path):
    _, dt = setup
    paths = bayes_plots.save_all(dt, tmp_path)
    assert len(paths) == 5
    for path in paths:
        img = mpimg.imread(path)
        assert img.shape[0] > 200 and img.shape[1] > 200, path
        assert img[..., :3].std() > 0.01, path  # not blank


def test_forest_takes_precomputed_intervals(setup, tmp_path):
    _, dt = setup
    ols = bayes_plots.ols_group_intervals(dt)
    ols["b2"].loc[{"stat": "upper"}] = ols["b2"].sel(stat="upper") + 1.0  # visibly different layer
    pc = bayes_plots.plot_group_forest(dt, "b2", ols)
    fig = pc.viz["figure"].item()
    xs = np.concatenate([np.asarray(line.get_xdata(), float) for ax in fig.axes for line in ax.get_lines()])
    # the OLS layer is drawn from the given numbers: its shifted upper ends are the largest x
    assert xs.max() == pytest.approx(float(ols["b2"].sel(stat="upper").max()))
    post = dt["posterior"]["b2"]
    assert np.any(np.isclose(xs, float(post.sel(group="West:SOE").quantile(0.975))))


def _overlap(a, b) -> bool:
    return a.x0 < b.x1 and b.x0 < a.x1 and a.y0 < b.y1 and b.y0 < a.y1


def test_forest_has_no_stray_labels_and_the_legend_covers_no_interval(setup):
    _, dt = setup
    pc = bayes_plots.plot_group_forest(dt, "b1")
    fig = pc.viz["figure"].item()
    fig.canvas.draw()
    visible = [t.get_text() for ax in fig.axes for t in [*ax.texts, ax.xaxis.label, *ax.get_xticklabels()] if t.get_visible()]
    assert not {"variable", "group", "b1"} & set(visible)
    renderer = fig.canvas.get_renderer()
    legend = fig.legends[0].get_window_extent(renderer)
    assert all(not _overlap(legend, ax.get_window_extent(renderer)) for ax in fig.axes)


def test_turning_point_interval_does_not_flood_the_curves(setup):
    """The turning point's interval is a bar along the panel's top, not a shaded band (which
    covered whole panels when the interval was wide)."""
    _, dt = setup
    fig = bayes_plots.plot_group_curves(dt)
    for ax in fig.axes:
        if not ax.get_visible():
            continue
        bars = [line for line in ax.get_lines() if str(line.get_label()).startswith("turning point")]
        assert bars and all(np.allclose(line.get_ydata(), 0.95) for line in bars)
        assert not [p for p in ax.patches if p.get_label().startswith("turning point")]


def test_rank_plot_titles_do_not_overlap(setup):
    _, dt = setup
    pc = bayes_plots.plot_rank(dt)
    fig = pc.viz["figure"].item()
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    titles = [ax.title.get_window_extent(renderer) for ax in fig.axes if ax.get_title()]
    ticks = [t.get_window_extent(renderer) for ax in fig.axes for t in [*ax.get_xticklabels(), ax.xaxis.label]
             if t.get_visible() and t.get_text()]
    assert titles and not any(_overlap(a, b) for a in titles for b in ticks)

"""The power plot's x tick labels (b2 from 0 to -0.03) do not overlap."""

import numpy as np
import xarray as xr

from tradeq.montecarlo.plots import rejection_plot


def power_summary() -> xr.Dataset:
    b2 = np.array([0.0, -0.0033, -0.0066, -0.01, -0.015, -0.02, -0.03])
    tp = np.repeat([4.05, 4.9], b2.size)
    b2 = np.tile(b2, 2)
    rate = np.linspace(0.05, 1.0, b2.size)[:, None, None] * np.ones((1, 2, 1))
    return xr.Dataset(
        {"rejection_rate": (("setting", "estimator", "test"), rate),
         "rejection_rate_mcse": (("setting", "estimator", "test"), np.full(rate.shape, 0.01)),
         "b2": ("setting", b2), "turning_point": ("setting", tp)},
        coords={"estimator": ["fe/cluster", "fe/twoway"], "test": ["utest"]}, attrs={"level": 0.95})


def test_power_plot_x_labels_do_not_overlap():
    fig, _ = rejection_plot(power_summary(), {"x": "b2", "panels": "turning_point"})
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    for ax in fig.axes:
        boxes = [t.get_window_extent(renderer) for t in ax.get_xticklabels() if t.get_text() and t.get_visible()]
        assert len(boxes) >= 3
        boxes.sort(key=lambda b: b.x0)
        assert all(a.x1 <= b.x0 for a, b in zip(boxes, boxes[1:])), [(b.x0, b.x1) for b in boxes]
        assert all("e-" not in t.get_text() for t in ax.get_xticklabels())

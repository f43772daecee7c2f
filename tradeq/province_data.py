"""Province-year panels for the industrial-cluster study: the simulated panel (``data=synthetic_provinces``),
province normalisation of a user's file (``data=file data.province=<column>``), and the
simulator's truth on the formula's term names.

A file's province labels — Chinese (北京, 北京市, 广西壮族自治区), pinyin, English and their
official variants, or GB/T 2260 codes — become ``province_code``, ``province`` (English) and
``region`` (East / Central / West, SPEC 1c) through :func:`tradeq.provinces.attach_provinces`; a
label that is not one of the 31 mainland provinces stops the load with one error that lists
every unknown label with its rows and close matches. Tibet is dropped when
``data.exclude_tibet=true`` (the default, as the papers: "severe data gaps"), and the panel's
source says how many rows went.
"""

from __future__ import annotations

import logging

import pandas as pd

from tradeq.dgp.province_panel import ProvinceTruth, simulate_province_panel
from tradeq.panel import Panel
from tradeq.provinces import attach_provinces

log = logging.getLogger("tradeq")


def simulate_provinces(data, seed: int) -> Panel:
    """The simulated province panel of a :class:`~tradeq.specs.data_provinces.SyntheticProvincesSpec`."""
    frame, truth = simulate_province_panel(data.dgp, seed=int(seed))
    return Panel(frame=frame, source="synthetic_provinces (simulated)", id=data.id, time=data.time, truth=truth)


def with_provinces(panel: Panel, column: str, exclude_tibet: bool) -> Panel:
    """``panel`` with its province labels in ``column`` normalised (module docstring); the id
    defaults to ``province``."""
    frame = attach_provinces(panel.frame, column, exclude_tibet=exclude_tibet,
                             source=f"data {panel.source!r}, data.province={column}")
    dropped = int(frame.attrs.get("dropped_tibet_rows", 0))
    source = panel.source
    if dropped:
        log.info("data.exclude_tibet=true: dropped Tibet's %d rows", dropped)
        source = f"{source} (Tibet's {dropped} rows dropped: data.exclude_tibet=true)"
    return Panel(frame=frame, source=source, id=panel.id or "province", time=panel.time, labels=panel.labels,
                 truth=panel.truth, value_codes=panel.value_codes, reading=panel.reading)


def _only(frame: pd.DataFrame | None, column: str) -> str | None:
    """The one value ``column`` takes in ``frame`` (None when it takes several or is absent)."""
    if frame is None or column not in frame.columns or frame.empty:
        return None
    values = pd.unique(frame[column].astype(str))
    return str(values[0]) if len(values) == 1 else None


def province_truth_terms(truth: ProvinceTruth, frame: pd.DataFrame | None = None) -> dict[str, float]:
    """The simulator's truth on term names: ``IC`` (its total effect) and the controls.

    With slopes by region or period, ``IC`` has one true value only on a sample inside one
    group (``frame``: the estimation sample, e.g. ``model.sample="region == 'Central'"``);
    otherwise it is left out (NaN in the truth column); the group-specific slopes of a pooled
    model (``IC:C(region)[East]``, ``IC:C(period)[2017-2021]``) have theirs. ``IC2`` does not
    enter the simulated TU and has no true coefficient.
    """
    out = {str(k): float(v) for k, v in truth.controls.items()}
    if truth.ic_slopes == "common":
        out["IC"] = float(truth.ic_total["all"])
        return out
    if truth.ic_slopes == "region_break":  # one true IC only inside one region in one period
        cell = f"{_only(frame, 'region')}:{_only(frame, 'period')}"
        if cell in truth.ic_total:
            out["IC"] = float(truth.ic_total[cell])
        return out
    by = "region" if truth.ic_slopes == "region" else "period"
    group = _only(frame, by)
    if group in truth.ic_total:
        out["IC"] = float(truth.ic_total[group])
    # the pooled model with group-specific slopes, IC:C(region)[East] or IC:C(period)[2017-2021]
    out.update({f"IC:C({by})[{g}]": float(v) for g, v in truth.ic_total.items()})
    return out


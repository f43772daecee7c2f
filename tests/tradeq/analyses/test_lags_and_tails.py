"""Table 5's lag samples on the synthetic panel, and the outcome's tailing."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tradeq.analyses import lags
from tradeq.analyses.common import apply_tail
from tradeq.dgp.firm_panel import FirmPanelParams, simulate_firm_panel
from tradeq.panel import Panel
from tradeq.runinfo import Timings
from tradeq.specs import EstimateSpec, LagsSpec
from tradeq.specs.model import ModelSpec
from tradeq.winsorize import trim, winsorize

PAPER_N = {0: 594_596, 1: 414_819, 2: 311_251, 3: 238_764}


def model_cfg(**kw):
    return ModelSpec(**kw)


def test_table5_n_shrink_pattern_on_the_synthetic_panel():
    frame, truth = simulate_firm_panel(FirmPanelParams(), n_firms=3000, n_years=10, seed=7, n_obs=3000 * 5)
    panel = Panel(frame=frame, source="sim", truth=truth)
    spec = EstimateSpec(model=LagsSpec(outcome="quality", treatment="Market", quadratic=False,
                                       controls=("scale", "age", "roa", "rdebt", "fic"), cluster=("firm",)))
    res = lags.report(lags.estimate(spec, panel, Timings()), spec)
    n = {(r["lag"], r["controls"]): r["n_obs"] for r in res.files["lags.json"]["columns"]}
    # Presence spells are contiguous, so the k-th lag exists for T_i − k of a firm's T_i years;
    # firms left with one such year are FE singletons and drop out.
    T = frame.groupby("firm").size().to_numpy()
    for k in (1, 2, 3):
        rows = np.clip(T - k, 0, None)
        assert n[(k, "current")] == rows.sum() - np.sum(rows == 1) == n[(k, "lagged")]
    assert n[(1, "current")] > n[(2, "current")] > n[(3, "current")]
    ours = [n[(k, "current")] / len(frame) for k in (1, 2, 3)]
    paper = [PAPER_N[k] / PAPER_N[0] for k in (1, 2, 3)]
    print("N_k / N  synthetic:", np.round(ours, 3), " paper:", np.round(paper, 3))
    # same shape as the paper's (falls by roughly a quarter of the sample per extra year);
    # the paper's panel also has gaps inside spells, so it falls faster
    assert all(o >= p for o, p in zip(ours, paper))
    assert np.all(np.diff(ours) < -0.1)
    t = res.columns[-1].estimates  # the truth column
    assert float(t["estimate"].sel(term="Market")) == pytest.approx(truth.b1)


@pytest.mark.parametrize("mode,fn", [("winsorize", winsorize), ("trim", trim)])
def test_tail_the_outcome(mode, fn):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"firm": np.arange(1000), "year": 2000, "y": rng.standard_t(2, 1000)})
    panel = Panel(frame=frame, source="t")
    out, rec = apply_tail(panel, model_cfg(tail=mode, tail_p=0.05), "y")
    pd.testing.assert_series_equal(out.frame["y"], fn(frame["y"], 0.05), check_names=False)
    assert rec["mode"] == mode and rec["p"] == 0.05 and 90 <= rec["rows_changed"] <= 110
    assert frame["y"].equals(panel.frame["y"])  # the input is not modified
    same, none = apply_tail(panel, model_cfg(tail="none"), "y")
    assert same is panel and none is None

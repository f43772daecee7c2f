"""Split samples with a linear core variable (the cluster papers' regions and periods) now get the
equal-slopes Wald test: the pooled model with group-specific IC and common controls and FE, its
clustered F against pyfixest's own fit and Wald test, and the simulated groups' truth beside them."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from cluster_runs import province_panel, read_json, run

pf = pytest.importorskip("pyfixest")
CONTROLS = "CX + HUM + FDI + GOV + INF"


def test_equal_slopes_by_region_is_pyfixests_wald_test(tmp_path):
    _, md, _ = run(tmp_path, "experiment=clusters_table3", "output.plots=false")
    s = read_json(tmp_path, "heterogeneity.json")
    joint = s["equality_test"]["joint"]
    frame = province_panel(ic_slopes="region")[0]
    ref = pf.feols(f"TU ~ IC:C(region) + {CONTROLS} | province + year", data=frame, vcov={"CRV1": "province"})
    names = list(ref.coef().index)
    east, central, west = (names.index(f"IC:C(region)[{g}]") for g in ("East", "Central", "West"))
    R = np.zeros((2, len(names)))
    R[0, [central, east]] = 1.0, -1.0
    R[1, [west, east]] = 1.0, -1.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref.wald_test(R=R, q=np.zeros(2), distribution="chi2")
    assert joint["wald"] == pytest.approx(float(ref._wald_statistic), rel=1e-7)
    assert joint["df1"] == 2 and joint["df2"] == 29 and s["equality_test"]["b2"] is None
    np.testing.assert_allclose(s["equality_test"]["pooled_b1"],
                               ref.coef().iloc[[east, central, west]].to_numpy(), rtol=1e-8)
    assert "Equal slopes across groups (pooled model, group-specific IC" in md
    assert s["truth"] == {"East": {"b1": 1.747}, "Central": {"b1": 0.023}, "West": {"b1": 0.183}}


def test_the_linear_test_is_new(tmp_path):
    """Before, a split without the square had no equality test at all (``equality_test`` None)."""
    run(tmp_path, "experiment=shock_table3", "output.plots=false")
    s = read_json(tmp_path, "heterogeneity.json")
    assert s["equality_test"] is not None and s["equality_test"]["joint"]["df1"] == 1
    assert s["groups"] == ["2001-2016", "2017-2021"]
    assert "year effects absorb its group levels" in s["group_levels"]["note"]

"""The simulated raw study: the pipeline measures exactly the quality the simulation predicts,
its peer measures are the ones the latent quality was built on, and the FE regression on the
pipeline's panel recovers the truth."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tradeq.formula import feols
from tradeq.raw import build_panel
from tradeq.raw.calibration import is_calibration
from tradeq.raw.simulated import RawStudyParams, simulate_raw_study

N_RECORDS = 120_000


@pytest.fixture(scope="module")
def study():
    return simulate_raw_study(N_RECORDS, seed=11)


@pytest.fixture(scope="module")
def panel(study):
    return build_panel(study.customs, study.register, study.prices, linkage=study.linkage)[0]


def test_the_pipeline_measures_the_quality_the_calibration_predicts(study, panel):
    """Two calibration lines per product at residual quality ± A fix eq. 3's min and max, so the
    measured TQ is 1/2 + the value-weighted within-cell deviations of Q (computed by the simulator
    without min or max), to rounding."""
    m = panel.merge(study.truth.firm_year, on=["firm_id", "year"], suffixes=("", "_sim"), validate="1:1")
    regular = m[~is_calibration(m.firm_id)]
    assert len(regular) > 0.99 * (~is_calibration(panel.firm_id)).sum()
    np.testing.assert_allclose(regular["quality"], regular["quality_sim"], rtol=0, atol=1e-10)
    assert 0 < study.truth.max_deviation < 0.5
    anchors = panel[is_calibration(panel.firm_id)]
    assert set(np.round(anchors["quality"], 12)) == {0.0, 1.0}  # the extremes, by construction
    assert len(anchors) == is_calibration(study.customs.firm_id).sum() > 0


def test_calibration_firms_are_singletons_of_the_firm_effect(study):
    reg = study.register
    anchors = reg[is_calibration(reg.firm_id)]
    assert anchors.groupby("firm_id").size().eq(1).all()
    assert is_calibration(study.customs.firm_id).sum() == len(anchors)


def test_peer_measures_are_those_the_latent_quality_was_built_on(study, panel):
    """The simulator computes the peer measures with pandas from its clean lines; the pipeline
    with DuckDB from the records: the same numbers."""
    from tradeq.raw import calibration

    ok = study.customs[study.customs.quantity.gt(0) & study.customs.value.gt(0)]
    ok = ok.merge(study.register[["firm_id", "year"]])
    lines = ok.groupby(["firm_id", "year", "hs8", "destination"], as_index=False)["value"].sum()
    lines["product"] = pd.factorize(lines["hs8"])[0]
    ref = calibration.measures(lines, study.register, study.linkage)
    m = panel.merge(ref, on=["firm_id", "year"], suffixes=("", "_ref"), validate="1:1")
    assert len(m) == len(panel)
    for col in ("ln_peer_scale", "ln_peer_diversity", "ln_exporters", "ln_network_scale", "ln_network_diversity",
                "ln_city_peer_scale", "ln_own_diversity"):
        np.testing.assert_allclose(m[col], m[f"{col}_ref"], rtol=1e-12, equal_nan=True, err_msg=col)


def test_fe_regression_on_the_pipeline_panel_recovers_the_truth(study, panel):
    truth = study.truth
    d = panel.rename(columns={"firm_id": "firm"})
    terms = ["Market", "I(Market**2)", "scale", "age", "roa", "rdebt", "fic", "ln_peer_scale", "ln_peer_diversity"]
    fit = feols(d.dropna(subset=["quality", "Market", "fic", "age", "ln_peer_scale", "ln_peer_diversity"]),
                "quality ~ " + " + ".join(terms) + " | firm + year", vcov="cluster", cluster="industry_year")
    want = {"Market": truth.b1, "I(Market ** 2)": truth.b2, **truth.controls,
            "ln_peer_scale": truth.spillover["b_scale"], "ln_peer_diversity": truth.spillover["b_diversity"]}
    z = {t: (fit.coef[fit.index(t)] - v) / fit.se[fit.index(t)] for t, v in want.items()}
    assert all(abs(v) < 3.5 for v in z.values()), z
    assert fit.coef[fit.index("ln_peer_scale")] > 5 * fit.se[fit.index("ln_peer_scale")]


def test_a_wider_quality_spread_than_the_calibration_is_refused():
    with pytest.raises(ValueError, match="beyond the calibration lines"):
        simulate_raw_study(20_000, seed=1, params=RawStudyParams(firm_sd=0.5))


@pytest.mark.parametrize("kwargs, message", [
    ({"group_by": "ownership"}, "group_by='ownership'"),
    ({"group_by": "size", "group_b_scale": (0.1,)}, "group_b_scale=\\[0.1\\]: group_by=size has 2 groups"),
    ({"firm_sd": -1.0}, "firm_sd=-1.0"),
    ({"firms_per_record": 2.0}, "firms_per_record=2.0"),
])
def test_parameters_are_checked(kwargs, message):
    with pytest.raises(ValueError, match=message):
        RawStudyParams(**kwargs).validate()


def test_spillover_terms_reparametrise_exactly():
    """Centring at other constants moves only the main effects, by the interaction times the shift;
    the alternative measures' coefficients follow from ln sum = S + L and ln D/(n-1) = D - L."""
    p = RawStudyParams(b_scale=0.04, b_diversity=0.05, b_scale_density=0.02, b_diversity_density=0.03, b_density=0.01)
    from tradeq.raw.simulated import RawStudyTruth

    truth = RawStudyTruth(b1=0, b2=-1, controls={}, turning_point=0, spillover={k: getattr(p, k) for k in (
        "b_scale", "b_diversity", "b_density", "b_scale_density", "b_diversity_density", "b_network_scale",
        "b_network_diversity", "b_city", "b_own")}, spillover_centre={"scale": 13.0, "diversity": 5.5, "density": 4.0},
        group_by="none", spillover_groups=p.group_coefficients(), size_cut=10.75, firm_year=pd.DataFrame())
    names = {"scale": "S", "diversity": "D", "density": "N", "scale_x_density": "SN", "diversity_x_density": "DN",
             "peer_sum": "P", "diversity_per_peer": "Q", "n_peers": "L"}
    got = truth.spillover_terms(names, {"scale": 13.5, "diversity": 5.0, "density": 4.2})
    assert got["S"] == pytest.approx(0.04 + 0.02 * 0.2) and got["D"] == pytest.approx(0.05 + 0.03 * 0.2)
    assert got["N"] == pytest.approx(0.01 + 0.02 * 0.5 + 0.03 * -0.5)
    assert got["SN"] == 0.02 and got["P"] == got["S"] and np.isnan(got["L"])  # L needs no density channel
    plain = RawStudyTruth(**{**truth.__dict__, "spillover": {**truth.spillover, "b_density": 0.0,
                                                             "b_scale_density": 0.0, "b_diversity_density": 0.0}})
    assert plain.spillover_terms(names, {})["L"] == pytest.approx(0.05 - 0.04)

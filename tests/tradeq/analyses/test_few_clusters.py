"""The few-cluster tools of ``model=fe``: the config path gives the numbers of the core called directly,
CRV3 equals leave-one-province-out refits by pyfixest, the wild bootstrap agrees with the ``wildboottest``
package under full enumeration, and the cluster influence report and wild U test are the core's."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from cluster_runs import CENTRAL, SEED, province_panel, read_json, run

from tradeq.formula import design_from_formula
from tradeq.models.cluster_influence import cluster_influence
from tradeq.models.wild import cluster_design, wild_test, wild_utest

FORMULA = "TU ~ IC + CX + HUM + FDI + GOV + INF | province + year"


def _central_design(frame=None):
    frame = province_panel()[0] if frame is None else frame
    central = frame.loc[frame["region"] == "Central"].reset_index(drop=True)
    d = design_from_formula(central, FORMULA, cluster=["province"])
    return central, d, cluster_design(d.y, d.X, d.fe, d.cluster[:, 0], names=d.x_names, fe_names=d.fe_names)


def test_wild_pvalues_and_intervals_are_the_cores(tmp_path):
    hyp = "IC - 2*HUM = 0.5"
    _, _, est = run(tmp_path, "data=synthetic_provinces", "model=clusters", CENTRAL, "model.wild_reps=999",
                    "model.wild_weights=webb", f"model.hypothesis=\"{hyp}\"")
    w = read_json(tmp_path, "wild.json")
    _, d, cd = _central_design()
    for j, term in enumerate(d.x_names):
        ref = wild_test(cd.y, cd.X, cd.clusters, cd.restriction(np.eye(d.k)[j]), 0.0, weights="webb", reps=999,
                        key=SEED, ssc=cd.ssc)
        got = w["terms"][term]
        assert got["p"] == ref.p and got["t"] == pytest.approx(ref.t, rel=1e-12)
        assert got["conf_int"] == pytest.approx([ref.ci_lo, ref.ci_hi], rel=1e-12)
        row = est.loc[est["term"] == term].iloc[0]
        assert row["p_wild"] == ref.p and row["conf_low_wild"] == pytest.approx(ref.ci_lo, rel=1e-12)
    R = np.zeros(d.k)
    R[list(d.x_names).index("IC")], R[list(d.x_names).index("HUM")] = 1.0, -2.0
    ref = wild_test(cd.y, cd.X, cd.clusters, cd.restriction(R), 0.5, weights="webb", reps=999, key=SEED, ssc=cd.ssc)
    h = w["hypotheses"][0]
    assert h["hypothesis"] == hyp and h["R"] == {"IC": 1.0, "HUM": -2.0} and h["p"] == ref.p
    assert h["draws"] == 999 and h["weights"] == "webb" and h["tie_rule"] == "strict" and not h["enumerated"]
    # the clustered t of the bootstrap is the FE replica's (pyfixest's small-sample factor)
    ic = est.loc[est["term"] == "IC"].iloc[0]
    assert w["terms"]["IC"]["t"] == pytest.approx(ic["statistic"], rel=1e-9)


def test_crv3_equals_leave_one_province_out_refits(tmp_path):
    pf = pytest.importorskip("pyfixest")
    _, _, est = run(tmp_path, "data=synthetic_provinces", "model=clusters", CENTRAL, "model.vcov=crv3",
                    "model.wild=false", "model.influence=false")
    central, _, _ = _central_design()
    terms = ["IC", "CX", "HUM", "FDI", "GOV", "INF"]
    full = pf.feols(FORMULA, data=central, vcov="iid").coef()[terms].to_numpy()
    loo = np.array([pf.feols(FORMULA, data=central.loc[central["province"] != p], vcov="iid").coef()[terms].to_numpy()
                    for p in central["province"].unique()])
    G = loo.shape[0]
    V = (G - 1) / G * (loo - full).T @ (loo - full)
    np.testing.assert_allclose(est["std_error"].to_numpy(), np.sqrt(np.diag(V)), rtol=1e-8)
    assert set(est["vcov"]) == {"crv3"}
    from scipy import stats

    np.testing.assert_allclose(est["p_value"], 2 * stats.t.sf(np.abs(full / np.sqrt(np.diag(V))), G - 1), rtol=1e-8)


def test_wild_agrees_with_wildboottest_under_full_enumeration(tmp_path):
    wbt = pytest.importorskip("wildboottest.wildboottest")
    run(tmp_path, "data=synthetic_provinces", "model=clusters", CENTRAL)
    w = read_json(tmp_path, "wild.json")["terms"]["IC"]
    assert w["enumerated"] and w["draws"] == 2 ** 8
    _, d, cd = _central_design()
    R = cd.restriction(np.eye(d.k)[0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = wbt.WildboottestCL(X=cd.X, Y=cd.y, cluster=cd.clusters, R=R, B=9999, seed=1, parallel=False)
        ref.get_scores(bootstrap_type="11", impose_null=True)
        ref.get_weights(weights_type="rademacher")
        ref.get_numer()
        ref.get_denom()
        ref.get_tboot()
        ref.get_vcov()
        ref.get_tstat()
        ref.get_pvalue(pval_type="two-tailed")
    assert ref.full_enumeration and ref.B == 256
    ours = wild_test(cd.y, cd.X, cd.clusters, R, 0.0, ssc=cd.ssc, level=None)
    weak = wild_test(cd.y, cd.X, cd.clusters, R, 0.0, ssc=cd.ssc, level=None, tie_rule="weak")
    # the packages' small-sample factors differ by a constant, which scales t and every t* alike
    scale = ours.t / float(np.squeeze(ref.t_stat))
    np.testing.assert_allclose(np.sort(ours.t_boot.values), np.sort(scale * np.asarray(ref.t_boot).ravel()), rtol=1e-9)
    assert w["p"] == ours.p and ours.p - 1e-12 <= ref.pvalue <= weak.p + 1e-12


def test_cluster_influence_report_is_the_cores(tmp_path):
    _, md, _ = run(tmp_path, "data=synthetic_provinces", "model=clusters", "model.wild=false")
    frame = province_panel()[0]
    d = design_from_formula(frame, FORMULA, cluster=["province"])
    cd = cluster_design(d.y, d.X, d.fe, d.cluster[:, 0], names=d.x_names, fe_names=d.fe_names)
    ref = cluster_influence(cd.y, cd.X, cd.clusters, names=cd.names, terms=list(d.x_names), fe_nested=True)
    csv = pd.read_csv(tmp_path / "cluster_influence.csv")
    assert len(csv) == 30 * 6 and set(csv["term"]) == set(d.x_names)
    ic = csv.loc[csv["term"] == "IC"]
    np.testing.assert_allclose(np.sort(ic["beta_loo"].to_numpy()), np.sort(ref["beta_loo"].sel(term="IC").values),
                               rtol=1e-10)
    gstar = float(ref["gstar"].sel(term="IC", rho=0.0))
    assert f"G*(ρ=0) = {gstar:.1f}" in md and f"| IC: effective clusters G* | {gstar:.1f} of 30 |" in md
    assert not (tmp_path / "wild.json").exists()


def test_wild_lind_mehlum_beside_the_analytic_one(tmp_path):
    _, md, _ = run(tmp_path, "model=inverted_u", "data.n_firms=1500", "data.n_years=8", "data.n_obs=null",
                   "model.cluster=province", "model.wild=true", "model.wild_reps=499", "output.plots=false")
    got = read_json(tmp_path, "wild_utest.json")
    assert "Lind–Mehlum p (wild)" in md and (tmp_path / "utest.json").is_file()
    from tradeq.dgp.firm_panel import FirmPanelParams, simulate_firm_panel

    frame, _ = simulate_firm_panel(FirmPanelParams(), n_firms=1500, n_years=8, seed=SEED, n_obs=None)
    f = "quality ~ Market + I(Market**2) + scale + age + roa + rdebt + fic | firm + year"
    d = design_from_formula(frame, f, cluster=["province"])
    cd = cluster_design(d.y, d.X, d.fe, d.cluster[:, 0], names=d.x_names, fe_names=d.fe_names)
    utest = read_json(tmp_path, "utest.json")
    ref = wild_utest(cd.y, cd.X, cd.clusters, 0, 1, *utest["interval"], reps=499, key=SEED, ssc=cd.ssc)
    assert got["p"] == ref.p and got["verdict"] == ref.verdict and got["draws"] == 499

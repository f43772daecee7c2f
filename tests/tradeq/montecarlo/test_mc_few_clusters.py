"""The few_clusters study and the few-cluster estimator of the Monte Carlo engine.

* One replication: CR1 equals pyfixest's CRV1 SE, CRV3 equals leave-one-province-out refits
  by pyfixest, the WCR p-value and interval are :func:`tradeq.models.wild.wild_test`'s on the
  same draws; on the firm panel, the estimator's CR1 is the grid FE replica's province SE.
* A reduced run (100 replications) whose rates fall within 4 MC SEs of the full study's
  (1,000 replications, docs/validation.md) and that shows what the theory predicts: at G = 8
  CR1 over-rejects more than WCR and CRV3, and firm-clustered SEs fail under province-year shocks.
"""

from __future__ import annotations

import numpy as np
import pytest

from tradeq.dgp.province_panel import CONTROLS, ProvincePanelParams, simulate_province_panel
from tradeq.errors import ConfigError
from tradeq.models.wild import cluster_design, wild_test
from tradeq.montecarlo.config import study_config
from tradeq.montecarlo.engine import run_setting
from tradeq.montecarlo.few_cluster_estimator import FewClusterFE
from tradeq.montecarlo.few_cluster_inference import slope_inference
from tradeq.montecarlo.few_clusters import (
    FewClusterStudy,
    few_cluster_study,
    province_design,
    run_few_clusters_into,
)
from tradeq.montecarlo.spec import study_spec

FORMULA = "TU ~ IC + CX + HUM + FDI + GOV + INF | province_code + year"
TERMS = ["IC", *CONTROLS]

#: Size at 5% in the full study (1,000 replications, seed 20240601, 399 wild draws; MC SEs
#: 0.006-0.009): sample -> label -> rejection rate of the true IC slope.
TARGETS = {
    "province_30": {"cr1": 0.055, "crv3": 0.039, "wcr_rademacher": 0.045, "wcr_webb": 0.042},
    "province_central_8": {"cr1": 0.084, "crv3": 0.032, "wcr_rademacher": 0.063, "wcr_webb": 0.061},
}


@pytest.fixture(scope="module")
def central():
    params = ProvincePanelParams(error="ar1")
    frame, truth = simulate_province_panel(params, seed=11)
    return frame.loc[frame["region"] == "Central"].reset_index(drop=True), truth


def test_one_replication_matches_pyfixest_and_wild_test(central):
    pf = pytest.importorskip("pyfixest")
    frame, truth = central
    b0 = truth.ic_total["all"]
    out = slope_inference(*province_design(frame, None), 0, b0, [5, 6], weights=("rademacher", "webb"),
                          wild_reps=399)
    fit = pf.feols(FORMULA, data=frame, vcov={"CRV1": "province_code"})
    assert out["n_clusters"] == 8
    assert out["estimate"] == pytest.approx(float(fit.coef()["IC"]), rel=1e-9)
    assert out["se_cr1"] == pytest.approx(float(fit.se()["IC"]), rel=1e-8)
    full = fit.coef()[TERMS].to_numpy()
    loo = np.array([pf.feols(FORMULA, data=frame.loc[frame["province_code"] != p], vcov="iid").coef()[TERMS].to_numpy()
                    for p in frame["province_code"].unique()])
    crv3 = np.sqrt(7 / 8 * np.sum((loo[:, 0] - full[0]) ** 2))
    assert out["se_crv3"] == pytest.approx(crv3, rel=1e-8)
    y, X, fe, cl = province_design(frame, None)
    cd = cluster_design(y, X, fe, cl)
    R = cd.restriction(np.eye(len(TERMS))[0])
    for w, seed in (("rademacher", 5), ("webb", 6)):
        ref = wild_test(cd.y, cd.X, cd.clusters, R, b0, weights=w, reps=399, key=seed, ssc=cd.ssc)
        assert out[f"p_{w}"] == ref.p
        assert out[f"lo_{w}"] == pytest.approx(ref.ci_lo, abs=1e-4 * ref.se)
        assert out[f"hi_{w}"] == pytest.approx(ref.ci_hi, abs=1e-4 * ref.se)
    assert ref.enumerated is False  # Webb weights are drawn
    assert wild_test(cd.y, cd.X, cd.clusters, R, b0, reps=399, key=5, ssc=cd.ssc, level=None).enumerated  # 2^8 <= 399


def test_firm_estimator_cr1_is_the_grid_replicas_province_se():
    spec = study_spec({"name": "t", "reps": 3, "n_firms": 400, "n_years": 6, "dgp": {"error": "province_year"},
                       "estimators": {"fe": {"kind": "fe", "vcov": ["cluster_province"]},
                                      "fc": {"kind": "few_clusters", "wild_reps": 99}}}, seed=2)
    ds = run_setting(spec.study.settings[0], spec.study.estimators, 2, 3)
    b1 = ds.sel(parameter="b1")
    np.testing.assert_allclose(b1.estimate.sel(estimator="fc/cr1"), b1.estimate.sel(estimator="fe/cluster_province"),
                               rtol=1e-9)
    np.testing.assert_allclose(b1.std_error.sel(estimator="fc/cr1"),
                               b1.std_error.sel(estimator="fe/cluster_province"), rtol=1e-8)
    # CRV3 is larger than CR1 here, and every WCR interval contains the estimate
    assert (b1.std_error.sel(estimator="fc/crv3") > b1.std_error.sel(estimator="fc/cr1")).all()
    for w in ("rademacher", "webb"):
        lab = f"fc/wcr_{w}"
        assert (b1.conf_low.sel(estimator=lab) < b1.estimate.sel(estimator=lab)).all()
        assert (b1.conf_high.sel(estimator=lab) > b1.estimate.sel(estimator=lab)).all()


def test_bad_settings_fail_naming_the_key():
    base = {"name": "few_clusters", "reps": 10}
    with pytest.raises(ConfigError, match="study.grid.sample"):
        few_cluster_study(study_config({**base, "grid": {"sample": ["province_40"]}}), 1)
    with pytest.raises(ConfigError, match="weights"):
        few_cluster_study(study_config({**base, "estimators": {"fc": {"weights": ["gauss"]}}}), 1)
    with pytest.raises(ConfigError, match="study.dgp"):
        few_cluster_study(study_config({**base, "dgp": {"error": "iid"}}), 1)
    with pytest.raises(ConfigError, match="province"):
        few_cluster_study(study_config({**base, "dgp": {"province": {"sigma": 1.0}}}), 1)


def _rate(ds, sample, label, what):
    s = int(np.flatnonzero(ds["sample"].values == sample)[0])
    if what == "size":
        return (float(ds.rejection_rate.isel(setting=s).sel(estimator=f"fc/{label}", test="size")),
                float(ds.rejection_rate_mcse.isel(setting=s).sel(estimator=f"fc/{label}", test="size")))
    return (float(ds.coverage.isel(setting=s).sel(estimator=f"fc/{label}", parameter="slope")),
            float(ds.coverage_mcse.isel(setting=s).sel(estimator=f"fc/{label}", parameter="slope")))


@pytest.mark.slow
def test_reduced_province_study_matches_the_full_run_and_the_theory(tmp_path):
    reps = 100
    study = FewClusterStudy(samples=("province_30", "province_central_8"), reps=reps, seed=20240601)
    record = run_few_clusters_into(study, tmp_path)
    import xarray as xr

    ds = xr.open_dataset(tmp_path / "study.nc")
    for sample, targets in TARGETS.items():
        for label, target in targets.items():
            size, _ = _rate(ds, sample, label, "size")
            mcse = np.sqrt(target * (1 - target) / reps)
            assert abs(size - target) <= 4 * max(mcse, 1 / reps), (sample, label, size, target)
            cov, _ = _rate(ds, sample, label, "coverage")
            # the inverted interval excludes the truth exactly when the p-value at the truth rejects
            assert cov == pytest.approx(1 - size, abs=1.5 / reps), (sample, label)
    cr1 = _rate(ds, "province_central_8", "cr1", "size")[0]
    assert cr1 > _rate(ds, "province_central_8", "wcr_webb", "size")[0]
    assert cr1 > _rate(ds, "province_central_8", "crv3", "size")[0]
    assert cr1 > _rate(ds, "province_30", "cr1", "size")[0]
    # a second run loads every sample from its result file
    again = run_few_clusters_into(study, tmp_path)
    assert record["computed"] == 2 and again["computed"] == 0


@pytest.mark.slow
def test_fe_coverage_reduced_province_level_inference_under_province_year_shocks(tmp_path):
    from pathlib import Path

    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf

    from tradeq.config import register_configs
    from tradeq.montecarlo.engine import run_study
    from tradeq.montecarlo.studies import build_study

    reps = 100
    register_configs()
    conf = Path(__file__).resolve().parents[3] / "conf"
    with initialize_config_dir(config_dir=str(conf), version_base=None):
        cfg = compose("simulate", overrides=["study=fe_coverage", f"study.reps={reps}", "study.grid.n_firms=[500]",
                                             "study.grid.error=[province_year]"])
    study = build_study(OmegaConf.to_container(cfg.study, resolve=True))
    ds, _ = run_study(study, seed=20240601, results_dir=tmp_path, progress=False)
    b1 = ds.isel(setting=0).sel(parameter="b1")
    np.testing.assert_allclose(b1.std_error.sel(estimator="fc/cr1"), b1.std_error.sel(estimator="fe/cluster_province"),
                               rtol=1e-8)
    cov = {str(e): float(b1.coverage.sel(estimator=e)) for e in b1.estimator.values}
    assert cov["fe/cluster"] < 0.8  # firm clusters ignore the province-year shocks (the Moulton problem)
    floor = 0.95 - 4 * np.sqrt(0.95 * 0.05 / reps)
    for label in ("fc/crv3", "fc/wcr_rademacher", "fc/wcr_webb"):
        assert cov[label] >= floor, (label, cov[label])
        assert cov[label] > cov["fe/cluster"] + 0.15
    held = ds.assumptions_hold.isel(setting=0)
    assert not held.sel(estimator="fe/cluster") and held.sel(estimator="fc/wcr_webb")


def test_largest_provinces_keeps_the_n_biggest_clusters():
    from tradeq.montecarlo.few_cluster_estimator import largest_provinces

    clusters = np.array([5, 5, 5, 2, 2, 9, 9, 9, 9, 1, 2])
    y = np.arange(clusters.size, dtype=float)
    X, fe = y[:, None] * 2, np.column_stack([y, y])
    yk, Xk, fek, ck = largest_provinces(2, y, X, fe, clusters)
    assert set(ck) == {9, 2}  # 4 rows, then a tie of 3 (codes 2 and 5): the lower code
    np.testing.assert_array_equal(yk, y[np.isin(clusters, [9, 2])])
    assert Xk.shape == (7, 1) and fek.shape == (7, 2)
    with pytest.raises(ConfigError, match="n_provinces"):
        FewClusterFE(n_provinces=40)
    assert "n_provinces" not in FewClusterFE().spec() and FewClusterFE(n_provinces=10).spec()["n_provinces"] == 10

"""Study configs: grid expansion, settings, estimators, the shipped conf/study files."""

from pathlib import Path

import pytest
from composing import compose_config
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from tradeq.config import register_configs
from tradeq.dgp.firm_panel import FirmPanelParams
from tradeq.montecarlo.estimators import ConfigError, FixedEffects
from tradeq.montecarlo.studies import Setting, assumptions_hold, build_study, expand_grid, make_setting

CONF = Path(__file__).resolve().parents[3] / "conf"
STUDIES = sorted(p.stem for p in (CONF / "study").glob("*.yaml") if p.stem != "none")


def test_expand_grid_order_and_points():
    out = expand_grid({"n_firms": [1, 2], "error": "iid"}, [{"b2": 0.0}, {"b2": -0.1}])
    assert out == [{"n_firms": 1, "error": "iid", "b2": 0.0}, {"n_firms": 1, "error": "iid", "b2": -0.1},
                   {"n_firms": 2, "error": "iid", "b2": 0.0}, {"n_firms": 2, "error": "iid", "b2": -0.1}]
    assert expand_grid({}, None) == [{}]
    with pytest.raises(ConfigError, match="repeat"):
        expand_grid({"b2": [0.0]}, [{"b2": 1.0}])


def test_turning_point_sets_b1():
    s = make_setting({"b2": -0.002, "turning_point": 4.5}, dgp=None, n_firms=10, n_years=5, n_obs=None,
                     coord_keys=["b2", "turning_point"])
    assert s.params.b1 == pytest.approx(0.018) and s.params.b2 == -0.002
    assert dict(s.coords) == {"b2": -0.002, "turning_point": 4.5}


def test_setting_id_is_stable_and_exact():
    a = make_setting({"b2": 0}, dgp={"error": "ar1"}, n_firms=10, n_years=5, n_obs=None, coord_keys=["b2"])
    b = make_setting({"b2": 0.0}, dgp={"error": "ar1"}, n_firms=10, n_years=5, n_obs=None, coord_keys=["b2"])
    c = make_setting({"b2": 1e-17}, dgp={"error": "ar1"}, n_firms=10, n_years=5, n_obs=None, coord_keys=["b2"])
    assert a.id() == b.id() != c.id()
    assert isinstance(a.params.b2, float)  # one compiled function for int and float spellings
    sid = Setting(FirmPanelParams(), 10, 5).id()
    assert len(sid) == 16 and int(sid, 16) >= 0 and sid == Setting(FirmPanelParams(), 10, 5).id()


@pytest.mark.parametrize("bad, match", [
    ({"grid": {"errr": ["iid"]}}, "errr"),
    ({"grid": {"error": ["iid", "bogus"]}}, "error"),
    ({"estimators": {"fe": {"kind": "fe", "vcov": ["robust"]}}}, "vcov"),
    ({"estimators": {"fe": {"kind": "fe", "vcvo": ["iid"]}}}, "vcvo"),
    ({"estimators": {"m": {"kind": "mediation"}}}, "mediator"),
    ({"estimators": {"x": {"kind": "magic"}}}, "kind"),
    ({"reps": 1}, "reps"),
])
def test_config_errors_name_the_setting(bad, match):
    cfg = {"name": "t", "reps": 10, "grid": {"error": ["iid"]}, "estimators": {"fe": {"kind": "fe"}}, **bad}
    with pytest.raises(ConfigError, match=match):
        build_study(cfg)


def test_assumptions_map():
    study = build_study({"name": "t", "reps": 5, "grid": {"error": ["iid", "ar1"]},
                         "estimators": {"fe": {"kind": "fe", "vcov": ["iid", "cluster"]}},
                         "valid": {"iid": ["fe/iid", "fe/cluster"], "ar1": ["fe/cluster"]}})
    iid, ar1 = study.settings
    assert assumptions_hold(study, iid, "fe/iid") and not assumptions_hold(study, ar1, "fe/iid")
    assert isinstance(study.estimators[0], FixedEffects) and study.estimators[0].labels == ("fe/iid", "fe/cluster")


def compose_study(name: str):
    cfg = compose_config("simulate", [f"study={name}"])
    return OmegaConf.to_container(cfg.study, resolve=True)


@pytest.mark.parametrize("name", STUDIES)
def test_shipped_studies_build(name):
    if name == "few_clusters":  # province and firm samples: its own module (tradeq.montecarlo.few_clusters)
        from tradeq.montecarlo.config import study_config
        from tradeq.montecarlo.few_clusters import SAMPLES, few_cluster_study

        study = few_cluster_study(study_config(compose_study(name)), 1)
        assert study.samples == SAMPLES and study.reps == 1000 and study.wild_reps == 399
        assert study.weights == ("rademacher", "webb") and study.province_params().error == "ar1"
        return
    study = build_study(compose_study(name))
    assert study.name == name and study.settings and study.reps >= 100


def test_fe_coverage_is_the_issue_grid():
    study = build_study(compose_study("fe_coverage"))
    grid = {(s.n_firms, s.params.error) for s in study.settings}
    assert grid == {(n, e) for n in (500, 2000, 10000) for e in ("iid", "heteroskedastic", "ar1", "province_year")}
    assert all(s.n_years == 10 for s in study.settings) and study.reps == 1000
    assert study.estimators[0].vcovs == ("iid", "hc1", "cluster", "twoway", "cluster_province")
    fc = study.estimators[1]
    assert fc.spec()["kind"] == "few_clusters" and fc.weights == ("rademacher", "webb") and fc.wild_reps == 199
    assert fc.labels == ("fc/cr1", "fc/crv3", "fc/wcr_rademacher", "fc/wcr_webb")


def test_default_is_no_study():
    assert compose_study("none")["name"] == "none"


def test_launcher_configs_select_the_plugins():
    register_configs()
    with initialize_config_dir(config_dir=str(CONF), version_base=None):
        for name, target in [("slurm", "hydra_submitit_launcher.submitit_launcher.SlurmLauncher"),
                             ("ray", "hydra_ray_launcher.ray_launcher.RayLauncher")]:
            cfg = compose("simulate", overrides=[f"hydra/launcher={name}", "study=fe_coverage"],
                          return_hydra_config=True)
            assert cfg.hydra.launcher._target_ == f"hydra_plugins.{target}"

"""A study's config becomes one frozen, validated StudySpec: typed fields, range checks,
data.dgp as the settings' base DGP (a conflict is an error), estimators from the registry."""

import dataclasses
from pathlib import Path

import pytest
from composing import compose_config

from tradeq.dgp.firm_panel import FirmPanelParams
from tradeq.errors import ConfigError
from tradeq.montecarlo.config import BatchMode, StudyConfig, study_config
from tradeq.montecarlo.estimators import FixedEffects, Mediation
from tradeq.montecarlo.registry import ESTIMATORS, estimator_class, make_estimator
from tradeq.montecarlo.run import results_dir_for
from tradeq.montecarlo.spec import StudySpec, study_spec

CONF = Path(__file__).resolve().parents[3] / "conf"
BASE = {"name": "t", "reps": 10, "grid": {"error": ["iid", "ar1"]}, "estimators": {"fe": {"kind": "fe"}}}


def composed(*overrides):
    return compose_config("simulate", overrides)


def test_spec_is_typed_and_frozen():
    spec = study_spec({**BASE, "chunk_size": 3, "workers": 2, "batch": "vmap"}, seed=4)
    assert isinstance(spec, StudySpec) and spec.seed == 4 and spec.chunk_size == 3 and spec.workers == 2
    assert spec.batch == "vmap" and spec.results_dir is None and spec.resume and spec.progress
    assert [s.params.error for s in spec.study.settings] == ["iid", "ar1"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.seed = 5
    cfg = study_config(BASE)
    assert isinstance(cfg, StudyConfig) and cfg.reps == 10 and cfg.batch is None
    assert study_config({**BASE, "batch": "map"}).batch is BatchMode.map


@pytest.mark.parametrize("bad, match", [
    ({"rep": 5}, r"study\.rep: Key 'rep' not in 'StudyConfig'"),
    ({"reps": "many"}, r"study\.reps: Value 'many'"),
    ({"batch": "pmap"}, r"study\.batch: Invalid value 'pmap'"),
    ({"reps": 1}, r"study\.reps must be at least 2, got 1"),
    ({"level": 1.5}, r"study\.level must be in \(0, 1\), got 1\.5"),
    ({"chunk_size": 0}, r"study\.chunk_size must be null or at least 1, got 0"),
    ({"workers": 0}, r"study\.workers must be null or at least 1, got 0"),
    ({"max_cells": 0}, r"study\.max_cells must be at least 1, got 0"),
    ({"estimators": {}}, r"study\.estimators is empty"),
    ({"name": "none"}, r"study=none is no study"),
])
def test_bad_settings_are_config_errors_naming_the_setting(bad, match):
    with pytest.raises(ConfigError, match=match):
        study_spec({**BASE, **bad}, seed=1)


def test_data_dgp_is_the_base_of_every_setting():
    data = {"dgp": {**FirmPanelParams().to_dict(), "sigma_e": 0.07, "gamma_firm": 0.3}}
    spec = study_spec(BASE, data, seed=1)
    assert all(s.params.sigma_e == 0.07 and s.params.gamma_firm == 0.3 for s in spec.study.settings)
    assert [s.params.error for s in spec.study.settings] == ["iid", "ar1"]
    plain = study_spec(BASE, {"dgp": FirmPanelParams().to_dict()}, seed=1)
    assert plain.study.settings[0].params == FirmPanelParams(error="iid")
    # another DGP, another setting: its own random stream and result file
    assert spec.study.settings[0].id() != plain.study.settings[0].id()
    # the study's own dgp and the grid sit on top
    on_top = study_spec({**BASE, "dgp": {"rho": 0.2}}, data, seed=1)
    assert all(s.params.rho == 0.2 and s.params.sigma_e == 0.07 for s in on_top.study.settings)


def test_data_dgp_through_hydra_reaches_the_settings():
    cfg = composed("study=fe_coverage", "data.dgp.sigma_e=0.07", "study.reps=100")
    spec = study_spec(cfg.study, cfg.data, int(cfg.seed))
    assert len(spec.study.settings) == 12 and all(s.params.sigma_e == 0.07 for s in spec.study.settings)


@pytest.mark.parametrize("overrides, match", [
    (["data.dgp.error=ar1"], r"data\.dgp\.error='ar1' conflicts with study\.grid\.error"),
    (["study=sbc_pooled", "data.dgp.error=ar1"], r"data\.dgp\.error='ar1' conflicts with study\.dgp"),
    (["study=utest_power", "data.dgp.b1=0.06"], r"data\.dgp\.b1=0\.06 conflicts with study\.points"),
    (["data.n_firms=500"], r"data\.n_firms=500 sizes simulate\.py's single panel, not a study's: set study\.n_firms"),
    (["data=file", "data.path=x.csv"], r"data=file: a study simulates its panels"),
])
def test_data_settings_a_study_would_ignore_are_errors(overrides, match):
    study = [o for o in overrides if o.startswith("study=")] or ["study=fe_coverage"]
    cfg = composed(*study, *[o for o in overrides if not o.startswith("study=")])
    with pytest.raises(ConfigError, match=match):
        study_spec(cfg.study, cfg.data, int(cfg.seed))


def test_a_data_dgp_value_the_study_agrees_with_is_fine():
    cfg = composed("study=sbc_pooled", "data.dgp.error=iid", "data.dgp.sigma_year=0.02")
    spec = study_spec(cfg.study, cfg.data, int(cfg.seed))
    assert spec.study.settings[0].params.sigma_year == 0.02


def test_registry_names_every_kind_and_imports_lazily():
    assert set(ESTIMATORS) == {"fe", "few_clusters", "mediation", "sbc"}
    assert estimator_class("fe") is FixedEffects and estimator_class("mediation") is Mediation
    assert estimator_class("sbc").__name__ == "BayesSBC"  # registered by name, imported on first use
    assert estimator_class("few_clusters").__name__ == "FewClusterFE"
    with pytest.raises(ConfigError, match=r"estimator 'x': unknown kind 'magic'; known kinds: fe, mediation, sbc, few_clusters"):
        make_estimator("x", {"kind": "magic"}, 0.95)
    with pytest.raises(ConfigError, match=r"estimator 'fe': unknown key\(s\) \['vcvo'\]"):
        make_estimator("fe", {"vcvo": ["iid"]}, 0.95)
    with pytest.raises(ConfigError, match="estimator 'm': n_boot must be int, got 'many'"):
        make_estimator("m", {"kind": "mediation", "n_boot": "many"}, 0.95)


def test_a_new_estimator_is_one_registry_entry(monkeypatch):
    @dataclasses.dataclass(frozen=True)
    class Pooled(FixedEffects):
        @classmethod
        def from_config(cls, name, spec, level):
            return cls(name=name, absorb="none", vcovs=("hc1",))

    monkeypatch.setitem(ESTIMATORS, "pooled", Pooled)
    spec = study_spec({**BASE, "estimators": {"p": {"kind": "pooled"}}}, seed=1)
    assert spec.study.estimators[0].absorb == "none" and spec.study.estimators[0].labels == ("p/hc1",)


def test_results_folder_defaults_to_the_run_or_sweep_folder(tmp_path):
    spec = study_spec(BASE, seed=1)
    assert results_dir_for(spec, tmp_path / "run") == tmp_path / "run" / "results"
    assert results_dir_for(spec, tmp_path / "sweep" / "0", tmp_path / "sweep") == tmp_path / "sweep" / "results"
    explicit = study_spec({**BASE, "results_dir": "shared/res"}, seed=1)
    assert results_dir_for(explicit, tmp_path / "run", base=tmp_path) == tmp_path / "shared" / "res"
    absolute = study_spec({**BASE, "results_dir": str(tmp_path / "abs")}, seed=1)
    assert results_dir_for(absolute, tmp_path / "run", tmp_path / "sweep", base="/elsewhere") == tmp_path / "abs"

"""Result files are keyed by what the code computes: a change to the simulator's or an
estimator's numbers, down to the last bit, renames them, so stale results are never reused;
the key does not depend on the process, the chunking under lax.map or the workers."""

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import jax
import pytest
from mc_shared import FE, REPS, SEED, SETTING

import tradeq.dgp.firm_panel.simulate as simulate_module
from tradeq.montecarlo import cache
from tradeq.montecarlo.engine import result_name, run_study
from tradeq.montecarlo.estimators import FixedEffects
from tradeq.montecarlo.studies import build_study

ROOT = Path(__file__).resolve().parents[3]


def _clear():
    """Forget every compiled and traced function and every digest, so the next call sees the code as it is now."""
    jax.clear_caches()
    cache.stream_digest.cache_clear()
    cache.probe_digests.cache_clear()


@pytest.fixture
def nudged_errors(monkeypatch):
    """The simulator with 1e-12 added to every error (so to quality): the same code paths,
    numbers that differ in their last bits."""
    errors = simulate_module.errors
    monkeypatch.setattr(simulate_module, "errors", lambda *a, **k: errors(*a, **k) + 1e-12)
    _clear()
    yield
    monkeypatch.setattr(simulate_module, "errors", errors)
    _clear()


def name_now():
    return result_name(SETTING, [FE], SEED, REPS, 0.95)


@pytest.fixture(scope="module")
def reference_name():
    return name_now()


def test_key_changes_when_the_simulator_output_changes(reference_name, nudged_errors):
    assert name_now() != reference_name
    assert name_now().split("-")[0] == reference_name.split("-")[0]  # the same setting, another key


def test_key_comes_back_when_the_code_does(reference_name):
    _clear()
    assert name_now() == reference_name


@dataclass(frozen=True)
class Nudged(FixedEffects):
    """FixedEffects with the same config (spec) and coefficients 1e-12 off."""

    def batched(self, panel, params, key):
        out = super().batched(panel, params, key)
        return {**out, "coef": out["coef"] + 1e-12}


def test_key_changes_when_an_estimators_output_changes(reference_name):
    nudged = Nudged(vcovs=FE.vcovs)
    assert nudged.spec() == FE.spec()
    assert result_name(SETTING, [nudged], SEED, REPS, 0.95) != reference_name


def test_key_record_names_what_it_depends_on():
    key = cache.cache_key(SETTING, [FE], SEED, REPS, 0.95, mode="map", chunk=5)
    assert key["batch"] == "map" and key["chunk"] is None and key["platform"] == "cpu:cpu"
    assert key["estimators"] == [FE.spec()] and key["seed"] == SEED and key["reps"] == REPS
    assert len(key["streams"]) == len(key["simulator"]) == len(key["estimator_outputs"]["fe"]) == 64
    assert "RESULT_VERSION" not in json.dumps(key) and "version" not in key


def test_key_ignores_chunks_and_workers_under_map_not_under_vmap(reference_name):
    assert result_name(SETTING, [FE], SEED, REPS, 0.95, chunk_size=1) == reference_name
    assert result_name(SETTING, [FE], SEED, REPS, 0.95, batch="map", chunk_size=7) == reference_name
    # vmap's last bits depend on the chunk: its chunk is part of the key
    v3 = result_name(SETTING, [FE], SEED, REPS, 0.95, batch="vmap", chunk_size=3)
    assert v3 != reference_name and v3 != result_name(SETTING, [FE], SEED, REPS, 0.95, batch="vmap", chunk_size=4)
    # seed, replications and level are part of it too
    assert len({reference_name, result_name(SETTING, [FE], SEED + 1, REPS, 0.95),
                result_name(SETTING, [FE], SEED, REPS + 1, 0.95), result_name(SETTING, [FE], SEED, REPS, 0.9)}) == 4


def test_key_is_the_same_in_another_process(reference_name):
    code = ("import sys; sys.path.insert(0, 'tests/tradeq/montecarlo'); import tradeq; tradeq.setup_runtime()\n"
            "from mc_shared import FE, REPS, SEED, SETTING\n"
            "from tradeq.montecarlo.engine import result_name\n"
            "print(result_name(SETTING, [FE], SEED, REPS, 0.95))")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip().splitlines()[-1] == reference_name


STUDY = {"name": "t", "reps": 4, "n_years": 6, "grid": {"n_firms": [80], "error": ["iid", "ar1"]},
         "estimators": {"fe": {"kind": "fe", "vcov": ["cluster"]}}}


def test_results_written_under_another_digest_are_not_reused(tmp_path, monkeypatch):
    study = build_study(STUDY)
    _, first = run_study(study, 3, tmp_path, chunk_size=2, progress=False)
    _, again = run_study(study, 3, tmp_path, chunk_size=4, progress=False)  # another chunk size: reused
    assert [i["cached"] for i in again] == [True, True]
    errors = simulate_module.errors
    monkeypatch.setattr(simulate_module, "errors", lambda *a, **k: errors(*a, **k) + 1e-12)
    _clear()
    try:
        _, nudged = run_study(study, 3, tmp_path, chunk_size=2, progress=False)
    finally:
        monkeypatch.setattr(simulate_module, "errors", errors)
        _clear()
    assert [i["cached"] for i in nudged] == [False, False]
    assert {i["file"] for i in nudged}.isdisjoint(i["file"] for i in first)
    # a file written under another key and renamed to the current name is not trusted either
    current, stale = Path(first[0]["file"]), Path(nudged[0]["file"])
    key = cache.cache_key(study.settings[0], study.estimators, 3, study.reps, study.level, mode="map", chunk=2)
    assert cache.load_result(current, key) is not None
    stale.replace(current)
    assert cache.load_result(current, key) is None


@pytest.mark.slow
def test_a_host_estimators_output_is_in_the_key_too():
    """SBC runs on the host, once per replication: its probe fit is digested like a batched output."""
    from tradeq.dgp.firm_panel import FirmPanelParams
    from tradeq.montecarlo.sbc import BayesSBC
    from tradeq.montecarlo.studies import Setting

    setting = Setting(params=FirmPanelParams(error="iid"), n_firms=150, n_years=8)
    short, shorter = BayesSBC(draws=20, tune=20, chains=1), BayesSBC(draws=20, tune=30, chains=1)
    a = cache.cache_key(setting, [short], 1, 10, 0.95, mode="map", chunk=1)
    assert a == cache.cache_key(setting, [short], 1, 10, 0.95, mode="map", chunk=1)
    assert len(a["estimator_outputs"]["bayes"]) == 64
    b = cache.cache_key(setting, [shorter], 1, 10, 0.95, mode="map", chunk=1)
    assert b["estimator_outputs"]["bayes"] != a["estimator_outputs"]["bayes"] and b["simulator"] == a["simulator"]

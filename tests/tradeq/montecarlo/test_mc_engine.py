"""Replications depend only on (seed, setting, replication): not on chunking, batch size,
the other settings or the number of replications; settings resume from their result files."""

import threading

import jax
import numpy as np
import pytest
import xarray as xr
from mc_shared import FE, REPS, SEED, SETTING

from tradeq.dgp.firm_panel import FirmPanelParams, simulate_grid
from tradeq.montecarlo.batching import Stopped
from tradeq.montecarlo.engine import StudyInterrupted, result_name, run_replications, run_setting, run_study
from tradeq.montecarlo.keys import replication_key
from tradeq.montecarlo.studies import Setting, build_study
from tradeq.runtime import cpu_devices


def assert_same(a, b):
    """Identical trees of arrays (bit for bit)."""
    la, lb = jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b)
    assert len(la) == len(lb)
    for x, y in zip(la, lb):
        np.testing.assert_array_equal(x, y)


def first(out, n):
    return jax.tree_util.tree_map(lambda a: a[:n], out)


@pytest.mark.parametrize("chunk", [1, 5])
def test_chunk_size_does_not_change_results(fe_batch, chunk):
    assert_same(run_replications(SETTING, [FE], seed=SEED, reps=REPS, chunk_size=chunk), fe_batch)


def test_single_replication_rerun_alone(fe_batch):
    for r in (0, 6, 11):
        alone = run_replications(SETTING, [FE], seed=SEED, reps=[r], chunk_size=1)
        assert_same(alone, jax.tree_util.tree_map(lambda a: a[r:r + 1], fe_batch))


def test_vmap_batches_agree_to_rounding(fe_batch):
    """With batch="vmap" XLA vectorises across the chunk: equal up to rounding -- in the
    single-precision AR(1) of the controls' innovations (firm_panel.controls), which a
    batched product rounds differently (~1e-7 relative), so the estimates differ by ~1e-7 of
    their scale (more, relatively, for a coefficient near zero)."""
    for chunk in (5, 12):
        out = run_replications(SETTING, [FE], seed=SEED, reps=REPS, chunk_size=chunk, batch="vmap")
        for x, y in zip(jax.tree_util.tree_leaves(out), jax.tree_util.tree_leaves(fe_batch)):
            x, y = np.asarray(x, float), np.asarray(y, float)
            np.testing.assert_allclose(x, y, rtol=1e-6, atol=1e-6 * np.max(np.abs(y)))


def test_workers_do_not_change_results(fe_batch):
    # Workers run their batches on separate CPU devices, each with its own compilation.
    assert len(cpu_devices()) > 1
    assert_same(run_replications(SETTING, [FE], seed=SEED, reps=REPS, chunk_size=5, workers=3), fe_batch)
    assert_same(run_replications(SETTING, [FE], seed=SEED, reps=REPS, chunk_size=3, workers=2), fe_batch)


def test_more_replications_keep_the_first_ones(fe_batch):
    assert_same(run_replications(SETTING, [FE], seed=SEED, reps=5, chunk_size=5), first(fe_batch, 5))


def test_seed_and_setting_change_the_draws(fe_batch):
    other_seed = run_replications(SETTING, [FE], seed=SEED + 1, reps=5, chunk_size=5)
    other_setting = run_replications(Setting(params=FirmPanelParams(error="heteroskedastic", sigma_e=0.06),
                                             n_firms=150, n_years=8), [FE], seed=SEED, reps=5, chunk_size=5)
    for out in (other_seed, other_setting):
        assert not np.array_equal(out["est"]["fe"]["coef"], fe_batch["est"]["fe"]["coef"][:5])


def test_setting_dataset_layout():
    ds = run_setting(SETTING, [FE], seed=SEED, reps=REPS, level=0.9, chunk_size=5)
    assert list(ds.estimator.values) == ["fe/iid", "fe/hc1", "fe/cluster", "fe/twoway"]
    assert list(ds.parameter.values) == ["b1", "b2"] and list(ds.test.values) == ["utest", "b2=0", "wald"]
    for v in ("bias", "rmse", "coverage", "ci_length", "rejection_rate"):
        assert f"{v}_mcse" in ds
    # point estimates are shared across variances, intervals are not
    np.testing.assert_array_equal(ds.estimate.sel(estimator="fe/iid"), ds.estimate.sel(estimator="fe/cluster"))
    assert (ds.truth.sel(parameter="b2") == FirmPanelParams().b2).all()
    cov = ((ds.conf_low <= ds.truth) & (ds.truth <= ds.conf_high)).mean("rep")
    np.testing.assert_allclose(ds.coverage, cov)
    assert ds.bias.sel(estimator="fe/iid", parameter="b1") == pytest.approx(
        float((ds.estimate - ds.truth).sel(estimator="fe/iid", parameter="b1").mean()))


def study_cfg(**kw):
    cfg = {"name": "t", "reps": 6, "n_years": 8,
           "grid": {"n_firms": [120], "error": ["iid", "ar1"]},
           "estimators": {"fe": {"kind": "fe", "vcov": ["iid", "cluster"]}},
           "valid": {"iid": ["fe/iid", "fe/cluster"], "ar1": ["fe/cluster"]}}
    cfg.update(kw)
    return cfg


def test_study_resumes_from_result_files(tmp_path):
    study = build_study(study_cfg())
    ds1, info1 = run_study(study, 3, tmp_path, chunk_size=3, progress=False)
    assert [i["cached"] for i in info1] == [False, False]
    files = sorted(tmp_path.glob("*.nc"))
    assert len(files) == 2
    # lose one setting's result, as an interrupted run would
    gone = tmp_path / result_name(study.settings[1], study.estimators, 3, study.reps, study.level)
    kept = tmp_path / result_name(study.settings[0], study.estimators, 3, study.reps, study.level)
    mtime = kept.stat().st_mtime_ns
    gone.unlink()
    ds2, info2 = run_study(study, 3, tmp_path, chunk_size=3, progress=False)
    assert [i["cached"] for i in info2] == [True, False]
    assert kept.stat().st_mtime_ns == mtime
    xr.testing.assert_identical(ds1.drop_attrs(), ds2.drop_attrs())
    assert list(ds2.error.values) == ["iid", "ar1"] and ds2.n_firms.values.tolist() == [120.0, 120.0]
    assert ds2.assumptions_hold.sel(estimator="fe/iid").values.tolist() == [1, 0]
    # a different seed or replication count never reuses them
    _, info3 = run_study(build_study(study_cfg(reps=7)), 3, tmp_path, chunk_size=3, progress=False)
    assert not any(i["cached"] for i in info3)


def test_study_order_does_not_matter(tmp_path):
    a, _ = run_study(build_study(study_cfg()), 3, tmp_path / "a", chunk_size=3, progress=False)
    b, _ = run_study(build_study(study_cfg(grid={"n_firms": [120], "error": ["ar1", "iid"]})), 3, tmp_path / "b",
                     chunk_size=3, progress=False)
    np.testing.assert_array_equal(a.estimate.isel(setting=0), b.estimate.isel(setting=1))


def test_progress_counts_every_replication_and_a_stop_ends_the_run(fe_batch):
    seen = []
    run_replications(SETTING, [FE], seed=SEED, reps=REPS, chunk_size=5, progress=seen.append)
    assert sorted(seen) == [2, 5, 5]  # batches finish in any order when several workers run them
    stop = threading.Event()

    def stop_after_first(n):
        seen.append(n)
        stop.set()

    seen.clear()
    with pytest.raises(Stopped):
        run_replications(SETTING, [FE], seed=SEED, reps=REPS, chunk_size=5, workers=1, progress=stop_after_first,
                         stop=stop)
    assert seen == [5]  # no batch started after the stop


def test_kept_panels_are_the_simulators(fe_batch):
    out = run_replications(SETTING, [FE], seed=SEED, reps=[3], chunk_size=1, keep_panels=True)
    alone = simulate_grid(replication_key(SEED, SETTING, 3), SETTING.params, SETTING.n_firms, SETTING.n_years)
    np.testing.assert_array_equal(out["panel"]["present"][0], alone["present"])
    np.testing.assert_allclose(out["panel"]["quality"][0], alone["quality"], rtol=1e-12)
    assert_same(out["est"], first(jax.tree_util.tree_map(lambda a: a[3:4], fe_batch), 1)["est"])


def test_interrupted_study_saves_only_finished_settings(tmp_path, monkeypatch):
    """Ctrl-C (KeyboardInterrupt in the thread waiting for the settings) while the second of
    two settings runs: the first is saved, the second is not, and the message says so."""
    import tradeq.montecarlo.engine as engine

    study = build_study(study_cfg())
    real = engine.run_setting

    def second_is_interrupted(setting, *a, **k):
        if setting == study.settings[1]:
            raise KeyboardInterrupt
        return real(setting, *a, **k)

    monkeypatch.setattr(engine, "run_setting", second_is_interrupted)
    with pytest.raises(StudyInterrupted, match="1 of 2 settings saved"):
        run_study(study, 3, tmp_path, chunk_size=3, workers=1, progress=False)
    assert len(list(tmp_path.glob("*.nc"))) == 1 and not list(tmp_path.glob(".*"))
    monkeypatch.undo()
    _, info = run_study(study, 3, tmp_path, chunk_size=3, progress=False)
    assert [i["cached"] for i in info] == [True, False]

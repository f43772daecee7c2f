"""The batched mediation estimator: its regressions are fit_fe's; its bootstrap resamples firms."""

import numpy as np
import pytest

from tradeq.dgp.firm_panel import FirmPanelParams, grid_to_frame, simulate_grid
from tradeq.formula import feols
from tradeq.models.mediation import sobel
from tradeq.montecarlo.engine import collect_records, replication_key, run_replications, setting_dataset
from tradeq.montecarlo.estimators import Mediation
from tradeq.montecarlo.studies import Setting

CTRL = "scale + age + roa + rdebt + fic"
PARAMS = FirmPanelParams(mediator="firm", mediator_lag=1)
SETTING = Setting(params=PARAMS, n_firms=200, n_years=8)
MED = Mediation(n_boot=49)


@pytest.fixture(scope="module")
def raw():
    return run_replications(SETTING, [MED], seed=2, reps=4, chunk_size=4)


def test_paths_match_fit_fe(raw):
    out = raw["est"]["mediation"]
    for r in (0, 3):
        g = simulate_grid(replication_key(2, SETTING, r), PARAMS, SETTING.n_firms, SETTING.n_years)
        frame = grid_to_frame(g, PARAMS)
        fa = feols(frame, f"humancapital ~ Market_lag + {CTRL} | firm + year", vcov="cluster", cluster="firm")
        fb = feols(frame, f"quality ~ Market + I(Market**2) + {CTRL} + humancapital | firm + year", vcov="cluster",
                   cluster="firm")
        np.testing.assert_allclose([out["a"][r], out["se_a"][r]], [fa.coef[0], fa.se[0]], rtol=1e-9)
        np.testing.assert_allclose([out["b"][r], out["se_b"][r]], [fb.coef[-1], fb.se[-1]], rtol=1e-9)
        assert out["df_a"][r] == fa.df_t
    np.testing.assert_allclose(raw["truth"]["indirect"], PARAMS.med_a * PARAMS.med_b)


def test_records_sobel_and_bootstrap(raw):
    ds = setting_dataset(*collect_records([MED], raw, 0.95), raw["truth"], 0.95)
    est = ds.estimate.sel(estimator="mediation/sobel")
    se = ds.std_error.sel(estimator="mediation/sobel")
    _, p = sobel(est.sel(parameter="a"), se.sel(parameter="a"), est.sel(parameter="b"), se.sel(parameter="b"))
    np.testing.assert_array_equal(ds.reject.sel(estimator="mediation/sobel", test="indirect=0"), p < 0.05)
    np.testing.assert_allclose(est.sel(parameter="indirect"), est.sel(parameter="a") * est.sel(parameter="b"))
    boot = ds.sel(estimator="mediation/bootstrap", parameter="indirect")
    assert (boot.conf_low < boot.conf_high).all() and (boot.std_error > 0).all()
    assert np.isnan(ds.estimate.sel(estimator="mediation/bootstrap", parameter="a")).all()

"""Simulation-based calibration through the engine's hooks (prior draw -> simulate -> host fit).

Mechanics only: a real SBC needs hundreds of fits (``python simulate.py study=sbc_pooled``).
"""

import warnings

import jax
import numpy as np
import pytest

from tradeq.dgp.firm_panel import FirmPanelParams
from tradeq.dgp.keys import derive_key
from tradeq.montecarlo.engine import replication_key, run_setting
from tradeq.montecarlo.estimators import ConfigError
from tradeq.montecarlo.sbc import BayesSBC
from tradeq.montecarlo.studies import Setting, build_study

SBC = BayesSBC(draws=40, tune=60, chains=1)
SETTING = Setting(params=FirmPanelParams(error="iid"), n_firms=150, n_years=8)


@pytest.mark.slow
def test_sbc_replications():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # short chains: convergence warnings
        ds = run_setting(SETTING, [SBC], seed=3, reps=2, chunk_size=2)
    assert list(ds.parameter.values) == ["b1", "b2", "slope", "sigma"]
    rank = ds["rank"].sel(estimator="bayes/posterior").values
    assert ((rank >= 0) & (rank <= SBC.n_draws)).all() and ds.attrs["sbc_n_draws"] == 40
    # the truth is a prior draw per replication, from the replication's "truth" key
    for r in range(2):
        drawn = SBC.draw_truth(derive_key(replication_key(3, SETTING, r), "truth"), SETTING.params)
        assert float(ds.truth.sel(parameter="b2").values[r]) == pytest.approx(float(drawn.b2), rel=1e-12)
        assert float(ds.truth.sel(parameter="sigma").values[r]) == pytest.approx(float(drawn.sigma_e), rel=1e-12)
    assert ds.truth.sel(parameter="b1").values[0] != ds.truth.sel(parameter="b1").values[1]
    # the posterior sits on the truth (150 firms: slopes are well identified)
    z = (ds.estimate - ds.truth) / ds.std_error
    assert np.abs(z.sel(estimator="bayes/posterior").values).max() < 5
    assert np.isfinite(ds.sbc_uniformity_p).all()


def test_prior_draws_follow_the_prior():
    keys = jax.random.split(jax.random.key(0), 4000)
    drawn = jax.vmap(lambda k: SBC.draw_truth(k, SETTING.params))(keys)
    slope = np.asarray(drawn.b1) + 2 * SBC.center * np.asarray(drawn.b2)
    assert np.std(slope) == pytest.approx(SBC.slope, rel=0.05)
    assert np.std(np.asarray(drawn.b2)) == pytest.approx(SBC.b2, rel=0.05)
    assert (np.asarray(drawn.sigma_e) > 0).all()
    assert np.mean(np.asarray(drawn.sigma_e)) == pytest.approx(SBC.sigma * np.sqrt(2 / np.pi), rel=0.05)


def test_sbc_needs_the_models_own_dgp():
    with pytest.raises(ConfigError, match="iid"):
        build_study({"name": "s", "reps": 4, "dgp": {"error": "ar1"},
                     "estimators": {"bayes": {"kind": "sbc"}}})
    with pytest.raises(ConfigError, match="beta"):
        build_study({"name": "s", "reps": 4, "estimators": {"bayes": {"kind": "sbc", "prior": {"beta": [1.0]}}}})

"""Simulation-based calibration through the engine's hooks (prior draw -> simulate -> host fit).

Mechanics only: a real SBC needs hundreds of fits (``python simulate.py study=sbc_pooled``).
"""

import warnings

import jax
import numpy as np
import pytest
from scipy import stats

from tradeq.dgp.firm_panel import FirmPanelParams
from tradeq.dgp.keys import derive_key
from tradeq.montecarlo.engine import replication_key, run_setting
from tradeq.montecarlo.estimators import ConfigError
from tradeq.montecarlo.metrics import rank_uniformity
from tradeq.montecarlo.sbc import BayesSBC, ess_rank
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
    # ranks thinned to the ESS, on 0..L: whole numbers; the uniformity p-value is scipy's
    # chi-square of those ranks
    assert np.array_equal(rank, np.floor(rank))
    b1_rank = ds["rank"].sel(estimator="bayes/posterior", parameter="b1").values.ravel()
    counts = np.histogram(b1_rank, bins=np.array([0, 20, 41]) - 0.5)[0]  # 2 replications: 2 bins
    p = stats.chisquare(counts, np.array([20, 21]) / 41 * counts.sum()).pvalue
    got = ds.sbc_uniformity_p.sel(estimator="bayes/posterior", parameter="b1").values
    assert float(np.ravel(got)[0]) == pytest.approx(p, rel=1e-12)


def _ar1_chains(rng, R, C, D, rho):
    """R sets of C stationary AR(1) chains of length D with N(0, 1) margins, (R, C, D)."""
    x = np.empty((R, C, D))
    x[..., 0] = rng.standard_normal((R, C))
    e = np.sqrt(1 - rho**2) * rng.standard_normal((R, C, D))
    for t in range(1, D):
        x[..., t] = rho * x[..., t - 1] + e[..., t]
    return x


def test_ess_thinning_makes_ranks_of_correlated_draws_uniform():
    """A correct "posterior" (draws from the truth's own distribution) whose draws are strongly
    autocorrelated (AR(1), rho = 0.97, ESS about 6 of 400): ranks among all draws are not
    uniform (they pile up at 0 and L), ranks among the draws thinned to the ESS are."""
    rng = np.random.default_rng(11)
    R, C, D = 1000, 2, 200
    chains = _ar1_chains(rng, R, C, D, 0.97)
    truth = rng.standard_normal(R)
    raw = (chains < truth[:, None, None]).sum(axis=(1, 2))
    thinned = np.array([ess_rank(chains[r], truth[r], C * D, u)[0] for r, u in enumerate(rng.random(R))])
    assert rank_uniformity(raw, C * D) < 1e-3
    assert rank_uniformity(thinned, C * D) > 1e-2
    assert ((thinned >= 0) & (thinned <= C * D)).all()
    # independent draws keep (nearly) all of them
    assert ess_rank(rng.standard_normal((2, 200)), 0.0, 400, 0.5)[1] >= 200


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

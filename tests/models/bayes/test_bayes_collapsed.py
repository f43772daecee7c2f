"""Collapsed sampling (models.bayes.collapsed): the slopes integrated out exactly.

1. The closed-form marginal log p(y | h) obeys the candidate's identity
   log p(y | h) = log p(y | phi, h) + log p(phi | h) - log p(phi | y, h)
   at random phi and h, with the joint model's own likelihood (itself tested equal to the
   row-level one) and the Gaussian conditional N(m, P^{-1}).
2. The collapsed sampler and the joint non-centred sampler give the same posterior (means
   within 4 Monte Carlo SEs), with the same DataTree layout.
"""

import warnings

import arviz_stats
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats as sps

import tradeq  # noqa: F401
from bayes_panels import simulate_panel
from models.bayes import fit_bayes
from models.bayes import collapsed as C
from models.bayes.design import build_group_design, sufficient_stats
from models.bayes.numpyro_model import gaussian_suffstat_loglik, model_data


@pytest.fixture(scope="module")
def prepared():
    p = simulate_panel(3, n_firms=150)
    gd = build_group_design(p.design, p.groups, p.group_names, "Market")
    ss = sufficient_stats(gd.Z, gd.y, gd.n_eff())
    data = model_data(gd, ss, rows=False)
    return gd, data, C.collapsed_data(data, gd.n_groups, gd.n_controls, gd.center)


def test_transform_maps_slopes_to_b1(prepared):
    gd, data, cdata = prepared
    G = gd.n_groups
    T = C.slope_transform(G, gd.n_controls, gd.center)
    phi = np.random.default_rng(0).standard_normal(T.shape[0])
    theta = T @ phi
    np.testing.assert_allclose(theta[:G], phi[:G] - 2 * gd.center * phi[G:2 * G])
    np.testing.assert_allclose(theta[G:], phi[G:])
    np.testing.assert_allclose(T @ cdata["phi_hat"], data["coef_hat"], rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("seed", range(5))
def test_marginal_likelihood_obeys_candidates_identity(prepared, seed):
    gd, data, cdata = prepared
    rng = np.random.default_rng(seed)
    G, k = gd.n_groups, cdata["H"].shape[0]
    beta_scales = jnp.asarray(gd.prior.beta_array)
    h = {"mu_slope": rng.normal(0, 0.05), "mu_b2": rng.normal(0, 0.01), "tau_slope": rng.uniform(0.005, 0.1),
         "tau_b2": rng.uniform(0.001, 0.02), "sigma": rng.uniform(0.03, 0.3)}
    phi = np.asarray(cdata["phi_hat"]) + 0.05 * rng.standard_normal(k)
    T = C.slope_transform(G, gd.n_controls, gd.center)
    loglik = float(gaussian_suffstat_loglik(jnp.asarray(T @ phi), h["sigma"], data["ZtZ"], data["coef_hat"],
                                            data["rss_hat"], data["n_eff"]))
    m0, s0 = (np.asarray(a) for a in C.prior_moments(h, G, beta_scales))
    log_prior = sps.norm.logpdf(phi, m0, s0).sum()
    m, L, *_ = C.conditional(h, cdata, G, beta_scales)
    P = np.asarray(L) @ np.asarray(L).T
    log_cond = sps.multivariate_normal.logpdf(phi, np.asarray(m), np.linalg.inv(P))
    expected = loglik + log_prior - log_cond
    got = float(C.collapsed_loglik(h, cdata, G, beta_scales))
    assert got == pytest.approx(expected, rel=1e-8)


def test_conditional_draws_have_the_conditional_moments(prepared):
    gd, _, cdata = prepared
    G = gd.n_groups
    beta_scales = jnp.asarray(gd.prior.beta_array)
    h = {"mu_slope": 0.02, "mu_b2": -0.005, "tau_slope": 0.03, "tau_b2": 0.004, "sigma": 0.1}
    n = 20_000
    flat = {k: jnp.full(n, v) for k, v in h.items()}
    import jax

    phi = np.asarray(C.draw_slopes(jax.random.PRNGKey(1), flat, cdata, G, beta_scales))
    m, L, *_ = C.conditional(h, cdata, G, beta_scales)
    cov = np.linalg.inv(np.asarray(L) @ np.asarray(L).T)
    sd = np.sqrt(np.diag(cov))
    z = (phi.mean(0) - np.asarray(m)) / (sd / np.sqrt(n))
    assert np.abs(z).max() < 4.5
    np.testing.assert_allclose(phi.std(0), sd, rtol=0.03)


@pytest.fixture(scope="module")
def fits():
    p = simulate_panel(11, n_firms=300, sigma=0.03, within_sd=0.35)
    kw = dict(groups=p.groups, group_names=list(p.group_names), core="Market", draws=500, tune=500, chains=4,
              target_accept=0.95, progress=False, seed=5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fit_bayes(p.design, collapse=True, **kw), fit_bayes(p.design, collapse=False, **kw)


def test_collapsed_and_joint_samplers_agree(fits):
    a, b = fits
    assert a.attrs["collapsed"] == 1 and b.attrs["collapsed"] == 0
    names = ["mu_slope", "mu_b2", "tau_slope", "tau_b2", "b1", "b2", "slope", "beta", "sigma", "z_slope", "turning_point"]
    pa, pb = a["posterior"].to_dataset()[names], b["posterior"].to_dataset()[names]
    for name in pa.data_vars:
        assert pa[name].dims == pb[name].dims
    diff = pa.mean(("chain", "draw")) - pb.mean(("chain", "draw"))
    se = np.sqrt(arviz_stats.mcse(pa, method="mean") ** 2 + arviz_stats.mcse(pb, method="mean") ** 2)
    z = (np.abs(diff) / se).to_array()
    assert float(z.max()) < 4.0, z.to_series().sort_values().tail()
    # same spread too (sd ratio), and the collapsed sampler without the funnel's divergences
    ratio = (pa["b2"].std(("chain", "draw")) / pb["b2"].std(("chain", "draw"))).values
    assert np.all(np.abs(ratio - 1) < 0.15), ratio
    assert a.attrs["divergences"] == 0

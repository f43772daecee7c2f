"""The hierarchical Gaussian inverted U with the slopes integrated out (collapsed sampling).

The model is the one of :mod:`models.bayes.numpyro_model`; only how it is sampled differs.
Write phi = (slope (G), b2 (G), beta (p)), k = 2G + p, and theta = T phi = (b1, b2, beta)
with b1 = slope - 2c b2. Given the hyperparameters h = (mu_slope, mu_b2, tau_slope, tau_b2,
sigma), phi has the Gaussian prior N(m0, S0),

    m0 = (mu_slope 1_G, mu_b2 1_G, 0_p),   S0 = diag(tau_slope^2 1_G, tau_b2^2 1_G, s_beta^2),

and the likelihood (sufficient statistics, exact) is Gaussian in phi:

    log p(y | phi, sigma) = -n_eff/2 log(2 pi sigma^2) - RSS_hat/(2 sigma^2)
                            - (phi - phi_hat)' A (phi - phi_hat) / 2,
    A = T' Z'Z T / sigma^2,   phi_hat = T^{-1} theta_hat.

So phi integrates out in closed form (completing the square; e.g. Gelman et al., *Bayesian
Data Analysis*, 3rd ed., sec. 14.8 and 15.4):

    P = A + S0^{-1},   m = P^{-1} (A phi_hat + S0^{-1} m0)
    log p(y | h) = -n_eff/2 log(2 pi sigma^2) - RSS_hat/(2 sigma^2) - 1/2 log|S0| - 1/2 log|P|
                   - 1/2 [(phi_hat - m)' A (phi_hat - m) + (m - m0)' S0^{-1} (m - m0)]

(both quadratic terms are non-negative, so nothing cancels when tau is small), and
phi | y, h ~ N(m, P^{-1}) exactly. NUTS samples only the five hyperparameters, whose
posterior is smooth -- the funnel between tau and the group slopes, which made the joint
sampler take ~80 leapfrog steps per draw at the paper's size, is gone -- and each draw of h
gets an exact draw of phi. The draws are from the same posterior as the joint non-centred
sampler's (tested against it and against PyMC); ``z_slope``, ``z_b2`` are reported as
(slope - mu_slope) / tau_slope and (b2 - mu_b2) / tau_b2.

Shapes: Z'Z (k, k), theta_hat (k,); draws (chain, draw, ...).
"""

from __future__ import annotations

import time
from functools import partial

import tradeq  # noqa: F401  (float64 in JAX before any array exists)

import jax
import jax.numpy as jnp
import numpy as np
import numpyro
import numpyro.distributions as dist
from jax.scipy.linalg import cho_solve, solve_triangular

from models.bayes.numpyro_model import LOG_2PI, make_mcmc, run_mcmc
from models.bayes.priors import PriorScales

HYPER = ("mu_slope", "mu_b2", "tau_slope", "tau_b2", "sigma")


def slope_transform(n_groups: int, n_controls: int, center: float) -> np.ndarray:
    """T (k, k) with theta = T phi: b1_g = slope_g - 2c b2_g, the rest unchanged."""
    k = 2 * n_groups + n_controls
    T = np.eye(k)
    T[np.arange(n_groups), n_groups + np.arange(n_groups)] = -2.0 * center
    return T


def collapsed_data(data: dict, n_groups: int, n_controls: int, center: float) -> dict[str, np.ndarray]:
    """The sufficient statistics in phi coordinates: ``H`` = T'Z'ZT, ``phi_hat`` = T^{-1} theta_hat."""
    T = slope_transform(n_groups, n_controls, center)
    ztz = np.asarray(data["ZtZ"], float)
    return {
        "H": T.T @ ztz @ T,
        "phi_hat": np.linalg.solve(T, np.asarray(data["coef_hat"], float)),
        "rss_hat": np.float64(data["rss_hat"]),
        "n_eff": np.float64(data["n_eff"]),
    }


def prior_moments(hyper: dict, n_groups: int, beta_scales: jnp.ndarray) -> tuple[jnp.ndarray, jnp.ndarray]:
    """m0 (k,) and the prior sds s0 (k,) of phi given the hyperparameters."""
    ones = jnp.ones(n_groups)
    m0 = jnp.concatenate([hyper["mu_slope"] * ones, hyper["mu_b2"] * ones, jnp.zeros(beta_scales.shape[0])])
    s0 = jnp.concatenate([hyper["tau_slope"] * ones, hyper["tau_b2"] * ones, beta_scales])
    return m0, s0


def conditional(hyper: dict, cdata: dict, n_groups: int, beta_scales: jnp.ndarray):
    """(m, Cholesky factor L of P, A, m0, s0): the Gaussian phi | y, h = N(m, (L L')^{-1})."""
    m0, s0 = prior_moments(hyper, n_groups, beta_scales)
    A = cdata["H"] / hyper["sigma"] ** 2
    L = jnp.linalg.cholesky(A + jnp.diag(1.0 / s0**2))
    m = cho_solve((L, True), A @ cdata["phi_hat"] + m0 / s0**2)
    return m, L, A, m0, s0


def collapsed_loglik(hyper: dict, cdata: dict, n_groups: int, beta_scales: jnp.ndarray) -> jnp.ndarray:
    """log p(y | h) with phi integrated out (module docstring)."""
    m, L, A, m0, s0 = conditional(hyper, cdata, n_groups, beta_scales)
    sigma = hyper["sigma"]
    r = cdata["phi_hat"] - m
    quad = r @ A @ r + jnp.sum(((m - m0) / s0) ** 2)
    log_det_p = 2.0 * jnp.sum(jnp.log(jnp.diag(L)))
    return (-0.5 * cdata["n_eff"] * (LOG_2PI + 2.0 * jnp.log(sigma)) - 0.5 * cdata["rss_hat"] / sigma**2
            - jnp.sum(jnp.log(s0)) - 0.5 * log_det_p - 0.5 * quad)


def hyper_model(cdata: dict, *, prior: PriorScales, n_groups: int) -> None:
    """NumPyro model of the hyperparameters alone (priors as in the joint model)."""
    hyper = {
        "mu_slope": numpyro.sample("mu_slope", dist.Normal(0.0, prior.slope)),
        "mu_b2": numpyro.sample("mu_b2", dist.Normal(0.0, prior.b2)),
        "tau_slope": numpyro.sample("tau_slope", dist.HalfNormal(prior.tau_slope)),
        "tau_b2": numpyro.sample("tau_b2", dist.HalfNormal(prior.tau_b2)),
        "sigma": numpyro.sample("sigma", dist.HalfNormal(prior.sigma)),
    }
    numpyro.factor("loglik", collapsed_loglik(hyper, cdata, n_groups, jnp.asarray(prior.beta_array)))


def draw_slopes(key: jax.Array, hyper: dict, cdata: dict, n_groups: int, beta_scales: jnp.ndarray) -> jnp.ndarray:
    """phi (S, k): one exact draw of phi | y, h per row of the hyperparameter draws (S,)."""

    def one(k, h):
        m, L, *_ = conditional(h, cdata, n_groups, beta_scales)
        eps = jax.random.normal(k, m.shape)
        return m + solve_triangular(L.T, eps, lower=False)  # cov (L L')^{-1}

    keys = jax.random.split(key, next(iter(hyper.values())).shape[0])
    return jax.jit(jax.vmap(one))(keys, hyper)


def sample_collapsed(data: dict, prior: PriorScales, n_groups: int, center: float, *, seed: int = 0,
                     **settings) -> tuple[dict, dict, dict]:
    """NUTS on the hyperparameters, then phi | h exactly; the joint model's draws and names.

    ``data``: the sufficient statistics of :func:`models.bayes.numpyro_model.model_data`;
    ``settings``: :func:`~models.bayes.numpyro_model.make_mcmc`'s. Returns (posterior draws,
    sample stats, info) as :func:`~models.bayes.numpyro_model.run_mcmc`, the posterior with
    ``mu_slope, mu_b2, tau_slope, tau_b2, sigma`` (chain, draw), ``z_slope, z_b2, slope, b2,
    b1`` (chain, draw, G) and ``beta`` (chain, draw, p); the sample stats are the
    hyperparameter sampler's (``lp``: log density of the collapsed model).
    """
    beta_scales = jnp.asarray(prior.beta_array)
    n_controls = int(beta_scales.shape[0])
    cdata = collapsed_data(data, n_groups, n_controls, center)
    mcmc = make_mcmc(partial(hyper_model, prior=prior, n_groups=n_groups), **settings)
    hyper, stats, info = run_mcmc(mcmc, cdata, seed)
    start = time.perf_counter()
    shape = hyper["sigma"].shape  # (chain, draw)
    flat = {k: jnp.asarray(hyper[k]).reshape(-1) for k in HYPER}
    key = jax.random.fold_in(jax.random.PRNGKey(seed), 0x5107E5)
    phi = np.asarray(draw_slopes(key, flat, cdata, n_groups, beta_scales)).reshape(*shape, -1)
    G = n_groups
    slope, b2, beta = phi[..., :G], phi[..., G:2 * G], phi[..., 2 * G:]
    post = {k: np.asarray(hyper[k]) for k in HYPER}
    if n_controls:
        post["beta"] = beta
    post.update({
        "slope": slope, "b2": b2, "b1": slope - 2.0 * center * b2,
        "z_slope": (slope - post["mu_slope"][..., None]) / post["tau_slope"][..., None],
        "z_b2": (b2 - post["mu_b2"][..., None]) / post["tau_b2"][..., None],
    })
    info = {**info, "sampler": "numpyro NUTS (collapsed: slopes integrated out)",
            "sampling_s": info["sampling_s"] + time.perf_counter() - start}
    return post, stats, info

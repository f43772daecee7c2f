"""The log density of the Bayesian mediation model with its coefficients integrated out, for
JAX (NumPyro) and PyTensor (PyMC), the NUTS chains over its hyperparameters, and the exact draws
of the coefficients given them. The model, its design and its equations are
:mod:`tradeq.models.bayes.mediation`'s docstring; this module is its sampler.
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
from numpyro.infer.hmc import hmc

from .mediation_design import Equation, MediationDesign

LOG_2PI = float(np.log(2.0 * np.pi))


class _Ops:
    """The array functions the log density needs, for JAX (NumPyro) or PyTensor (PyMC): the
    density is written once and both backends evaluate the same formulas."""

    def __init__(self, kind: str):
        if kind == "jax":
            self.exp, self.log, self.sqrt, self.sum, self.diag = jnp.exp, jnp.log, jnp.sqrt, jnp.sum, jnp.diag
            self.cat, self.chol = jnp.concatenate, jnp.linalg.cholesky
            self.full = lambda n, v: jnp.full((n,), v)
            self.tri = lambda L, b: jax.scipy.linalg.solve_triangular(L, b, lower=True)
        else:
            import pytensor.tensor as pt

            self.exp, self.log, self.sqrt, self.sum, self.diag = pt.exp, pt.log, pt.sqrt, pt.sum, pt.diag
            self.cat, self.chol = pt.concatenate, pt.linalg.cholesky
            self.full = lambda n, v: pt.alloc(v, n)
            self.tri = lambda L, b: pt.linalg.solve_triangular(L, b, lower=True)


JAX_OPS = _Ops("jax")


def _halfnormal_logpdf(v, scale, o=JAX_OPS):
    return 0.5 * np.log(2.0 / np.pi) - o.log(scale) - 0.5 * (v / scale) ** 2


def _normal_logpdf(v, mu, scale, o=JAX_OPS):
    return -0.5 * LOG_2PI - o.log(scale) - 0.5 * ((v - mu) / scale) ** 2


def _collapsed_loglik(eq: dict, sigma, mu0, v0, o=JAX_OPS):
    """log p(data_e | φ) with θ_e integrated out (module docstring), up to −½ log|Q| (constant)."""
    k = eq["theta_hat"].shape[0]
    S = o.diag(v0) + sigma**2 * eq["Qinv"]
    L = o.chol(S)
    z = o.tri(L, eq["theta_hat"] - mu0)
    log_norm = -0.5 * k * LOG_2PI - o.sum(o.log(o.diag(L))) - 0.5 * o.sum(z**2)
    return -0.5 * (eq["n_eff"] - k) * (LOG_2PI + 2.0 * o.log(sigma)) - 0.5 * eq["rss_hat"] / sigma**2 + log_norm


def prior_moments(data: dict, n_groups: int, quadratic: bool, mu=None, tau=None, o=JAX_OPS):
    """Prior means and variances (μ0, v0) of θ_m and θ_y; paths get (mu, tau²) when given.

    θ_m = [a (G), d_m], θ_y = [c' (G), q (G or 0), b (G), d_y]."""
    G, qk = n_groups, (n_groups if quadratic else 0)
    pm, py = data["mediator"]["prior"], data["outcome"]["prior"]
    if mu is None:
        return 0.0 * pm, pm**2, 0.0 * py, py**2
    k_m, k_y = pm.shape[0], py.shape[0]

    def join(parts):  # (array, static length) pairs; empty parts left out
        return o.cat([a for a, n in parts if n > 0])

    mu0_m = join([(o.full(G, mu[0]), G), (np.zeros(k_m - G), k_m - G)])
    v0_m = join([(o.full(G, tau[0] ** 2), G), (pm[G:] ** 2, k_m - G)])
    mu0_y = join([(o.full(G, mu[2]), G), (np.zeros(qk), qk), (o.full(G, mu[1]), G), (np.zeros(k_y - 2 * G - qk), k_y - 2 * G - qk)])
    v0_y = join([(o.full(G, tau[2] ** 2), G), (py[G : G + qk] ** 2, qk), (o.full(G, tau[1] ** 2), G),
                 (py[2 * G + qk :] ** 2, k_y - 2 * G - qk)])
    return mu0_m, v0_m, mu0_y, v0_y


def unpack(u, data: dict, n_groups: int, hierarchical: bool, o=JAX_OPS) -> dict:
    """Sampled coordinates u → σ_m, σ_y (and mu, tau) plus the log-Jacobian of the map.

    u = [r_m, r_y (, h_mu (3), h_tau (3))]: ``σ_e = s_e·exp(r_e/√(2 n_eff))``;
    ``tau = unit·exp(h_tau)``; ``mu = centre + sqrt(unit² + tau²/G)·h_mu`` — mu is scaled by
    its conditional posterior spread given tau (non-centred in tau), so that the joint
    geometry of (mu, tau) has no funnel even with two groups.
    """
    med, out = data["mediator"], data["outcome"]
    sigma_m = med["s"] * o.exp(u[0] / o.sqrt(2.0 * med["n_eff"]))
    sigma_y = out["s"] * o.exp(u[1] / o.sqrt(2.0 * out["n_eff"]))
    res = {"sigma_m": sigma_m, "sigma_y": sigma_y, "log_jac": o.log(sigma_m) + o.log(sigma_y)}
    if hierarchical:
        unit = data["hyper_scale"]
        tau = unit * o.exp(u[5:8])
        spread = o.sqrt(unit**2 + tau**2 / n_groups)
        mu = data["hyper_center"] + spread * u[2:5]
        res.update(mu=mu, tau=tau, log_jac=res["log_jac"] + o.sum(o.log(tau)) + o.sum(o.log(spread)))
    return res


def log_density(u, data: dict, *, n_groups: int, quadratic: bool, hierarchical: bool, o=JAX_OPS):
    """Log posterior density of the sampled coordinates u with θ integrated out (module docstring)."""
    med, out = data["mediator"], data["outcome"]
    p = unpack(u, data, n_groups, hierarchical, o)
    logp = p["log_jac"]
    logp += _halfnormal_logpdf(p["sigma_m"], med["sigma_prior"], o) + _halfnormal_logpdf(p["sigma_y"], out["sigma_prior"], o)
    mu = tau = None
    if hierarchical:
        mu, tau = p["mu"], p["tau"]
        logp += o.sum(_normal_logpdf(mu, 0.0, data["path_prior"], o))
        logp += o.sum(_halfnormal_logpdf(tau, data["path_prior"], o))
    mu0_m, v0_m, mu0_y, v0_y = prior_moments(data, n_groups, quadratic, mu, tau, o)
    logp += _collapsed_loglik(med, p["sigma_m"], mu0_m, v0_m, o) + _collapsed_loglik(out, p["sigma_y"], mu0_y, v0_y, o)
    return logp


def n_coordinates(hierarchical: bool) -> int:
    return 8 if hierarchical else 2


def _run_chain(key, data, *, n_groups, quadratic, hierarchical, draws, tune, target_accept):
    """One NUTS chain (NumPyro's kernel, Hoffman & Gelman 2014, with its windowed step-size
    and mass-matrix adaptation over ``tune`` iterations) as a pure function of (key, data)."""
    def potential_gen(data_):
        return lambda u: -log_density(u, data_, n_groups=n_groups, quadratic=quadratic, hierarchical=hierarchical)

    init_kernel, sample_kernel = hmc(potential_fn_gen=potential_gen, algo="NUTS")
    k_init, k_run = jax.random.split(key)
    state = init_kernel(jnp.zeros(n_coordinates(hierarchical)), tune, target_accept_prob=target_accept,
                        model_args=(data,), rng_key=k_init)
    del k_run

    def step(st, _):
        st = sample_kernel(st, model_args=(data,))
        return st, (st.z, st.diverging, st.num_steps, st.energy, st.accept_prob, st.potential_energy)

    _, trace = jax.lax.scan(step, state, None, length=tune + draws)
    return jax.tree.map(lambda v: v[tune:], trace)


_COMPILED: dict = {}


def _chains_fn(method: str, **static):
    """The compiled runner of all chains, cached per (method, settings): repeated fits of
    same-shape data (simulation studies) compile once. ``parallel``: one chain per XLA
    device (pmap); ``vectorized``: chains batched with vmap; ``sequential``: a loop."""
    key = (method, tuple(sorted(static.items())))
    if key not in _COMPILED:
        one = partial(_run_chain, **static)
        if method == "parallel":
            _COMPILED[key] = jax.pmap(one, in_axes=(0, None))
        elif method == "vectorized":
            _COMPILED[key] = jax.jit(jax.vmap(one, in_axes=(0, None)))
        else:
            single = jax.jit(one)
            _COMPILED[key] = lambda keys, data: jax.tree.map(lambda *v: jnp.stack(v), *[single(k, data) for k in keys])
    return _COMPILED[key]


def model_data(md: MediationDesign) -> dict:
    """The arrays the model is conditioned on (a pytree of the same shapes for same-shape designs)."""

    def eq(e: Equation) -> dict:
        return {"theta_hat": e.theta_hat, "Qinv": e.Qinv, "s": np.float64(e.s), "rss_hat": np.float64(e.rss_hat),
                "n_eff": np.float64(e.n_eff), "prior": e.prior, "sigma_prior": np.float64(e.sigma_prior)}

    return {"mediator": eq(md.mediator), "outcome": eq(md.outcome), "hyper_center": md.hyper_center,
            "hyper_scale": md.hyper_scale, "path_prior": md.path_prior}


def draw_coefficients(eq: Equation, sigma: np.ndarray, mu0: np.ndarray, v0: np.ndarray, rng) -> np.ndarray:
    """θ draws (D, k) from the exact Gaussian conditional given each draw's σ (D,), μ0, v0 (D, k)."""
    P = eq.Q[None] / sigma[:, None, None] ** 2 + np.einsum("dk,kj->dkj", 1.0 / v0, np.eye(eq.k))
    rhs = (eq.Q @ eq.theta_hat)[None] / sigma[:, None] ** 2 + mu0 / v0
    # scale to the correlation form before factoring (columns of very different sizes)
    dsc = np.sqrt(np.einsum("dkk->dk", P))
    C = P / (dsc[:, :, None] * dsc[:, None, :])
    L = np.linalg.cholesky(C)
    mean = np.linalg.solve(C, (rhs / dsc)[..., None])[..., 0] / dsc
    z = rng.standard_normal(mean.shape)
    # θ = mean + P^{-1/2} z with P = D C D, C = L L': θ − mean = D⁻¹ L'^{-1} z
    dev = np.linalg.solve(np.swapaxes(L, 1, 2), z[..., None])[..., 0] / dsc
    return mean + dev


def _sample_pymc(data: dict, *, n_groups, quadratic, hierarchical, draws, tune, chains, seed, target_accept):
    """The same collapsed target in PyMC: a flat vector u with the log density as a Potential
    (written with PyTensor operations through :class:`_Ops`), sampled by PyMC's NUTS.

    Returns the same arrays as the NumPyro path: u (chain, draw, d) and the sample stats.
    """
    import pymc as pm

    o = _Ops("pytensor")
    d = n_coordinates(hierarchical)
    with pm.Model():
        u = pm.Flat("u", shape=d, initval=np.zeros(d))
        pm.Potential("log_density", log_density(u, data, n_groups=n_groups, quadratic=quadratic,
                                                hierarchical=hierarchical, o=o))
        idata = pm.sample(draws=draws, tune=tune, chains=chains, cores=1, random_seed=seed,
                          target_accept=target_accept, progressbar=False, compute_convergence_checks=False)
    st = idata["sample_stats"].to_dataset() if hasattr(idata, "children") else idata.sample_stats
    post = idata["posterior"].to_dataset() if hasattr(idata, "children") else idata.posterior

    def stat(*names):  # PyMC versions name the acceptance rate and log density differently
        for name in names:
            if name in st:
                return np.asarray(st[name].values)
        return np.full(post["u"].shape[:2], np.nan)

    return (np.asarray(post["u"].values), stat("diverging").astype(bool), stat("n_steps"), stat("energy"),
            stat("acceptance_rate", "mean_tree_accept"), -stat("lp", "logp"))



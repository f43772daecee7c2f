"""The Bayesian inverted U in NumPyro.

Model (G groups, p controls, k = 2G + p; Z, y within-transformed, see
:mod:`tradeq.models.bayes.design`; prior scales s_* from :class:`~tradeq.models.bayes.priors.PriorScales`;
c the reference point of the curves). Group g's curve is ``b1[g] x + b2[g] x^2``; the priors
are on its slope at c, ``slope[g] = b1[g] + 2 c b2[g]``, and its curvature b2[g] (the
slope at c is what the data pin down; b1, the slope at x = 0, lies far outside the data and
is almost collinear with b2 — see :mod:`tradeq.models.bayes.priors`; ``c = 0`` gives priors on
(b1, b2) themselves).

Hierarchical (non-centred)::

    mu_slope ~ Normal(0, s_slope)           mu_b2 ~ Normal(0, s_b2)
    tau_slope ~ HalfNormal(s_tau_slope)     tau_b2 ~ HalfNormal(s_tau_b2)
    z_slope[g], z_b2[g] ~ Normal(0, 1)                               g = 1..G
    slope[g] = mu_slope + tau_slope · z_slope[g]
    b2[g] = mu_b2 + tau_b2 · z_b2[g]
    b1[g] = slope[g] - 2 c · b2[g]

Pooled (G = 1): ``slope[0] ~ Normal(0, s_slope)``, ``b2[0] ~ Normal(0, s_b2)``,
``b1[0] = slope[0] - 2 c b2[0]``.

Common parts::

    beta[j] ~ Normal(0, s_beta_j)           sigma ~ HalfNormal(s_sigma)
    theta = (b1 (G), b2 (G), beta (p))      mu_i = Z_i theta

Likelihood, ``likelihood="normal"`` (sufficient statistics, exactly the row-level one)::

    log p(y | theta, sigma) = -n_eff/2 · log(2 pi sigma^2) - RSS(theta) / (2 sigma^2)
    RSS(theta) = RSS_hat + (theta - theta_hat)' Z'Z (theta - theta_hat)

with ``n_eff = n - r`` when the r fixed-effect levels are integrated out (see
:mod:`tradeq.models.bayes.design`). The row-level form ``sum_i log N(y_i | mu_i, sigma) +
(n - n_eff)/2 · log(2 pi sigma^2)`` is the same number; it is kept for the tests and for
pointwise log likelihoods.

``likelihood="student_t"`` (row level; ``nu ~ Gamma(nu_shape, nu_rate)``), with the r
fixed-effect levels as explicit parameters (:mod:`tradeq.models.bayes.student_t`)::

    y_i ~ StudentT(nu, mu_i + sum_j fe[l_ij], sigma),   fe[l] ~ Normal(0, fe_scale)

The within transformation is exact only for a Gaussian likelihood; the demeaned rows alone
(``model_data(..., explicit_fe=False)``, kept for the validation that shows it) are a profile
likelihood that understates sigma and every posterior sd.

Static settings are bound with :func:`functools.partial` (see :func:`make_model`) so the
data arrays are the only traced arguments and repeated fits of the same shapes (as in
simulation-based calibration) reuse one compiled sampler.
"""

from __future__ import annotations

import time
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
import numpyro
import numpyro.distributions as dist
from numpyro.infer import MCMC, NUTS

from ..compile_clock import compile_clock
from .design import GroupDesign, SuffStats
from .priors import PriorScales
from .student_t import FE_PRIOR_FACTOR, explicit_effects

LOG_2PI = float(np.log(2 * np.pi))


def model_data(gd: GroupDesign, stats: SuffStats | None, *, rows: bool, explicit_fe: bool = False) -> dict[str, np.ndarray]:
    """The arrays the model is conditioned on: sufficient statistics or rows.

    Sufficient statistics: ``ZtZ`` (k, k), ``coef_hat`` (k,), ``rss_hat`` (), ``n_eff`` ().
    Rows: ``Z`` (n, k), ``y`` (n,), ``n_fe`` () = n - n_eff, the absorbed FE levels that
    enter the log(sigma) term. ``explicit_fe`` (rows, Student-t): ``fe_index`` (n, m) each
    row's explicit effects (index r: none) and ``fe_scale`` () their prior sd
    (:func:`tradeq.models.bayes.student_t.explicit_effects`).
    """
    if rows:
        n_eff = stats.n_eff if stats is not None else float(gd.n)
        data = {"Z": gd.Z, "y": gd.y, "n_fe": np.float64(gd.n - n_eff)}
        if explicit_fe:
            if gd.fe is None:
                raise ValueError("explicit fixed effects need the group design's FE codes (gd.fe)")
            index, r = explicit_effects(gd.fe)
            data |= {"fe_index": index, "fe_free": np.zeros(r), "fe_scale": np.float64(FE_PRIOR_FACTOR * gd.prior.sigma)}
        return data
    return {
        "ZtZ": stats.ZtZ,
        "coef_hat": stats.coef_hat,
        "rss_hat": np.float64(stats.rss_hat),
        "n_eff": np.float64(stats.n_eff),
    }


def group_slopes(
    prior: PriorScales, n_groups: int, hierarchical: bool, center: float
) -> tuple[jnp.ndarray, jnp.ndarray]:
    """b1, b2 (G,): non-centred hierarchical draws, or the pooled slopes (G = 1)."""
    if not hierarchical:
        with numpyro.plate("group", n_groups):
            slope = numpyro.sample("slope", dist.Normal(0.0, prior.slope))
            b2 = numpyro.sample("b2", dist.Normal(0.0, prior.b2))
    else:
        mu_slope = numpyro.sample("mu_slope", dist.Normal(0.0, prior.slope))
        mu_b2 = numpyro.sample("mu_b2", dist.Normal(0.0, prior.b2))
        tau_slope = numpyro.sample("tau_slope", dist.HalfNormal(prior.tau_slope))
        tau_b2 = numpyro.sample("tau_b2", dist.HalfNormal(prior.tau_b2))
        with numpyro.plate("group", n_groups):
            # Non-centred: the sampler sees unit normals, so the funnel between tau and the
            # slopes of weakly identified (small) groups does not trap it.
            z_slope = numpyro.sample("z_slope", dist.Normal(0.0, 1.0))
            z_b2 = numpyro.sample("z_b2", dist.Normal(0.0, 1.0))
        slope = numpyro.deterministic("slope", mu_slope + tau_slope * z_slope)
        b2 = numpyro.deterministic("b2", mu_b2 + tau_b2 * z_b2)
    b1 = numpyro.deterministic("b1", slope - 2.0 * center * b2)
    return b1, b2


def control_slopes(prior: PriorScales) -> jnp.ndarray:
    """beta (p,) with independent Normal(0, s_beta_j) priors."""
    scales = prior.beta_array
    if scales.size == 0:
        return jnp.zeros(0)
    with numpyro.plate("control", scales.size):
        return numpyro.sample("beta", dist.Normal(0.0, scales))


def gaussian_suffstat_loglik(theta, sigma, ZtZ, coef_hat, rss_hat, n_eff):
    """-n_eff/2 log(2 pi sigma^2) - (RSS_hat + d'Z'Zd) / (2 sigma^2), d = theta - theta_hat."""
    d = theta - coef_hat
    rss = rss_hat + d @ ZtZ @ d
    return -0.5 * n_eff * (LOG_2PI + 2.0 * jnp.log(sigma)) - 0.5 * rss / sigma**2


def inverted_u(
    data: dict,
    *,
    prior: PriorScales,
    n_groups: int,
    center: float = 0.0,
    hierarchical: bool = True,
    likelihood: str = "normal",
) -> None:
    """The NumPyro model; ``data`` from :func:`model_data` (its keys pick the likelihood path)."""
    b1, b2 = group_slopes(prior, n_groups, hierarchical, center)
    beta = control_slopes(prior)
    sigma = numpyro.sample("sigma", dist.HalfNormal(prior.sigma))
    theta = jnp.concatenate([b1, b2, beta])
    if likelihood == "student_t":
        nu = numpyro.sample("nu", dist.Gamma(prior.nu_shape, prior.nu_rate))
        mu = data["Z"] @ theta
        if "fe_index" in data:
            with numpyro.plate("fe_level", data["fe_free"].shape[0]):
                fe = numpyro.sample("fe", dist.Normal(0.0, data["fe_scale"]))
            mu = mu + jnp.concatenate([fe, jnp.zeros(1)])[data["fe_index"]].sum(axis=1)
        numpyro.sample("y", dist.StudentT(nu, mu, sigma), obs=data["y"])
    elif likelihood != "normal":
        raise ValueError(f"likelihood must be 'normal' or 'student_t', got {likelihood!r}")
    elif "ZtZ" in data:
        numpyro.factor(
            "loglik",
            gaussian_suffstat_loglik(theta, sigma, data["ZtZ"], data["coef_hat"], data["rss_hat"], data["n_eff"]),
        )
    else:
        numpyro.sample("y", dist.Normal(data["Z"] @ theta, sigma), obs=data["y"])
        # the FE levels integrated out under a flat prior: (2 pi sigma^2)^{r/2}
        numpyro.factor("fe_dof", 0.5 * data["n_fe"] * (LOG_2PI + 2.0 * jnp.log(sigma)))


def make_model(
    prior: PriorScales, n_groups: int, *, center: float = 0.0, hierarchical: bool = True, likelihood: str = "normal"
):
    """The model with its static settings bound; call it as ``model(data)``."""
    return partial(
        inverted_u, prior=prior, n_groups=n_groups, center=center, hierarchical=hierarchical, likelihood=likelihood
    )


def chain_method(chains: int, preferred: str = "parallel") -> str:
    """``preferred``, except "parallel" becomes "vectorized" with fewer devices than chains.

    (Parallel chains need one XLA device each; see :mod:`tradeq.models.bayes` for the CPU flag.)
    """
    if preferred == "parallel" and jax.local_device_count() < chains:
        return "vectorized"
    return preferred


EXTRA_FIELDS = ("diverging", "num_steps", "energy", "accept_prob", "potential_energy", "adapt_state.step_size")


def make_mcmc(
    model,
    *,
    draws: int = 1000,
    tune: int = 1000,
    chains: int = 4,
    target_accept: float = 0.9,
    dense_mass: bool = True,
    chain_method_: str = "parallel",
    progress: bool = True,
    max_tree_depth: int = 10,
    jit_model_args: bool = False,
) -> MCMC:
    """A NUTS sampler for ``model``.

    ``dense_mass`` adapts a full mass matrix during warm-up: the hyperparameters, the group
    slopes and the controls are correlated through the likelihood, and a dense metric
    removes the linear part of that. ``jit_model_args=True`` traces the data as arguments,
    so one sampler (one compilation) serves many data sets of the same shapes.
    """
    kernel = NUTS(model, target_accept_prob=target_accept, dense_mass=dense_mass, max_tree_depth=max_tree_depth)
    method = chain_method(chains, chain_method_) if chains > 1 else "sequential"
    return MCMC(
        kernel,
        num_warmup=tune,
        num_samples=draws,
        num_chains=chains,
        chain_method=method,
        progress_bar=progress,
        jit_model_args=jit_model_args,
    )


def run_mcmc(mcmc: MCMC, data: dict, seed: int = 0) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], dict]:
    """Run a sampler; return (posterior draws, sample stats, info), arrays (chain, draw, ...).

    The clock stops only after the draws are on the host (``jax.block_until_ready``), so
    ``info["sampling_s"]`` is honest about JAX's asynchronous dispatch; ``info["compile_s"]``
    is the part of it XLA spent compiling (:func:`tradeq.models.compile_clock.compile_clock`).
    """
    start = time.perf_counter()
    with compile_clock() as clock:
        mcmc.run(jax.random.PRNGKey(seed), data, extra_fields=EXTRA_FIELDS)
        samples = jax.block_until_ready(mcmc.get_samples(group_by_chain=True))
        extra = jax.block_until_ready(mcmc.get_extra_fields(group_by_chain=True))
    elapsed = time.perf_counter() - start
    posterior = {k: np.asarray(v) for k, v in samples.items()}
    stats = {
        "diverging": np.asarray(extra["diverging"]),
        "n_steps": np.asarray(extra["num_steps"]),
        "energy": np.asarray(extra["energy"]),
        "acceptance_rate": np.asarray(extra["accept_prob"]),
        "lp": -np.asarray(extra["potential_energy"]),
        "step_size": np.asarray(extra["adapt_state.step_size"]),
    }
    info = {"sampler": "numpyro NUTS", "chain_method": mcmc.chain_method, "sampling_s": elapsed,
            "compile_s": clock.seconds}
    return posterior, stats, info


def sample_numpyro(model, data: dict, *, seed: int = 0, **settings) -> tuple[dict, dict, dict]:
    """:func:`make_mcmc` with ``settings``, then :func:`run_mcmc`."""
    return run_mcmc(make_mcmc(model, **settings), data, seed)


def sample_batch(
    model,
    data: dict,
    *,
    seed: int = 0,
    draws: int = 500,
    tune: int = 500,
    target_accept: float = 0.9,
    dense_mass: bool = True,
    max_tree_depth: int = 10,
    chunk: int | None = None,
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """One NUTS chain per data set, data sets vectorised (``jax.vmap``), for Monte Carlo
    studies and simulation-based calibration.

    ``data``: the dict of :func:`model_data` with a leading batch axis of size B on every
    array (all data sets share the model and the shapes). Each data set gets its own
    initial point (uniform on [-2, 2] in the unconstrained space, as NumPyro's default), its
    own step-size and mass-matrix adaptation and its own chain; the chains run in lockstep,
    so one compilation and vectorised arithmetic replace B separate samplers. Lockstep means
    every step waits for the longest trajectory in the batch: ``chunk`` runs the data sets
    ``chunk`` at a time through the same compiled function (B must be a multiple of it).
    Returns the constrained draws (B, draws, ...) of every sample and deterministic site,
    and the divergence flags (B, draws).
    """
    from numpyro.infer.hmc import hmc
    from numpyro.infer.util import initialize_model

    first = jax.tree_util.tree_map(lambda a: a[0], data)
    init = initialize_model(jax.random.PRNGKey(seed), model, model_args=(first,), dynamic_args=True)
    init_kernel, sample_kernel = hmc(potential_fn_gen=init.potential_fn, algo="NUTS")

    def one(key, d):
        k_init, k_run = jax.random.split(key)
        leaves, treedef = jax.tree_util.tree_flatten(init.param_info.z)
        keys = jax.random.split(k_init, len(leaves))
        z0 = jax.tree_util.tree_unflatten(
            treedef, [jax.random.uniform(k, jnp.shape(x), minval=-2.0, maxval=2.0) for k, x in zip(keys, leaves)]
        )
        state = init_kernel(
            z0, num_warmup=tune, dense_mass=dense_mass, target_accept_prob=target_accept,
            max_tree_depth=max_tree_depth, model_args=(d,), rng_key=k_run,
        )

        def step(st, _):
            st = sample_kernel(st, model_args=(d,))
            return st, (st.z, st.diverging)

        _, (zs, div) = jax.lax.scan(step, state, None, length=tune + draws)
        zs = jax.tree_util.tree_map(lambda a: a[tune:], zs)
        return jax.vmap(init.postprocess_fn(d))(zs), div[tune:]

    B = jax.tree_util.tree_leaves(data)[0].shape[0]
    chunk = chunk or B
    if B % chunk:
        raise ValueError(f"the batch size {B} is not a multiple of chunk={chunk}")
    keys = jax.random.split(jax.random.PRNGKey(seed), B)
    run = jax.jit(jax.vmap(one))
    parts = []
    for start in range(0, B, chunk):
        piece = jax.tree_util.tree_map(lambda a: a[start : start + chunk], data)
        parts.append(jax.block_until_ready(run(keys[start : start + chunk], piece)))
    out = {k: np.concatenate([np.asarray(p[0][k]) for p in parts]) for k in parts[0][0]}
    return out, np.concatenate([np.asarray(p[1]) for p in parts])


def log_density(model, data: dict, params: dict) -> float:
    """The model's joint log density at constrained parameter values (no Jacobian)."""
    return float(numpyro.infer.util.log_density(model, (data,), {}, params)[0])

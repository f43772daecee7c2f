"""The Bayesian inverted U in PyMC — the same model as :mod:`tradeq.models.bayes.numpyro_model`.

Model (see that module for the full statement)::

    mu_slope ~ Normal(0, s_slope)           mu_b2 ~ Normal(0, s_b2)
    tau_slope ~ HalfNormal(s_tau_slope)     tau_b2 ~ HalfNormal(s_tau_b2)
    z_slope[g], z_b2[g] ~ Normal(0, 1)
    slope[g] = mu_slope + tau_slope z_slope[g]      b2[g] = mu_b2 + tau_b2 z_b2[g]
    b1[g] = slope[g] - 2 c b2[g]
    beta[j] ~ Normal(0, s_beta_j)           sigma ~ HalfNormal(s_sigma)
    theta = (b1, b2, beta)
    normal:    log p(y | .) = -n_eff/2 log(2 pi sigma^2) - (RSS_hat + d'Z'Zd) / (2 sigma^2),  d = theta - theta_hat
    student_t: y_i ~ StudentT(nu, Z_i theta + sum_j fe[l_ij], sigma),  nu ~ Gamma(nu_shape, nu_rate),
               fe[l] ~ Normal(0, fe_scale)  (explicit FE levels, tradeq.models.bayes.student_t)

The pooled model has ``slope[0] ~ Normal(0, s_slope)``, ``b2[0] ~ Normal(0, s_b2)``.
Variable names, dims and coordinates match the NumPyro model, so both backends give the
same :class:`xarray.DataTree` layout. The data dict is the one of
:func:`tradeq.models.bayes.numpyro_model.model_data`.

Samplers: ``nuts_sampler="pymc"`` is PyMC's own NUTS; ``"nutpie"`` the Rust sampler (which
``pm.sample`` picks by itself when nutpie is installed and PyMC compiles with Numba).
"""

from __future__ import annotations

import time

import numpy as np
import pymc as pm
import pytensor.tensor as pt

from .priors import PriorScales

LOG_2PI = float(np.log(2 * np.pi))


def _group_slopes(prior: PriorScales, hierarchical: bool, center: float):
    if not hierarchical:
        slope = pm.Normal("slope", 0.0, prior.slope, dims="group")
        b2 = pm.Normal("b2", 0.0, prior.b2, dims="group")
    else:
        mu_slope = pm.Normal("mu_slope", 0.0, prior.slope)
        mu_b2 = pm.Normal("mu_b2", 0.0, prior.b2)
        tau_slope = pm.HalfNormal("tau_slope", prior.tau_slope)
        tau_b2 = pm.HalfNormal("tau_b2", prior.tau_b2)
        z_slope = pm.Normal("z_slope", 0.0, 1.0, dims="group")  # non-centred, as in NumPyro
        z_b2 = pm.Normal("z_b2", 0.0, 1.0, dims="group")
        slope = pm.Deterministic("slope", mu_slope + tau_slope * z_slope, dims="group")
        b2 = pm.Deterministic("b2", mu_b2 + tau_b2 * z_b2, dims="group")
    b1 = pm.Deterministic("b1", slope - 2.0 * center * b2, dims="group")
    return b1, b2


def gaussian_suffstat_loglik(theta, sigma, ZtZ, coef_hat, rss_hat, n_eff):
    """-n_eff/2 log(2 pi sigma^2) - (RSS_hat + d'Z'Zd) / (2 sigma^2), d = theta - theta_hat."""
    d = theta - coef_hat
    rss = rss_hat + pt.dot(d, pt.dot(ZtZ, d))
    return -0.5 * n_eff * (LOG_2PI + 2.0 * pt.log(sigma)) - 0.5 * rss / sigma**2


def build_model(
    data: dict,
    prior: PriorScales,
    *,
    group_names: tuple[str, ...],
    control_names: tuple[str, ...],
    center: float = 0.0,
    hierarchical: bool = True,
    likelihood: str = "normal",
) -> pm.Model:
    """The PyMC model; ``data`` holds sufficient statistics or rows (its keys pick the path)."""
    if likelihood not in ("normal", "student_t"):
        raise ValueError(f"likelihood must be 'normal' or 'student_t', got {likelihood!r}")
    coords = {"group": list(group_names), "control": list(control_names)}
    with pm.Model(coords=coords) as model:
        b1, b2 = _group_slopes(prior, hierarchical, center)
        if control_names:
            beta = pm.Normal("beta", 0.0, prior.beta_array, dims="control")
        else:
            beta = pt.zeros(0)
        sigma = pm.HalfNormal("sigma", prior.sigma)
        theta = pt.concatenate([b1, b2, beta])
        if likelihood == "student_t":
            nu = pm.Gamma("nu", alpha=prior.nu_shape, beta=prior.nu_rate)
            mu = pt.dot(data["Z"], theta)
            if "fe_index" in data:  # explicit fixed effects (tradeq.models.bayes.student_t)
                fe = pm.Normal("fe", 0.0, float(data["fe_scale"]), shape=data["fe_free"].shape[0])
                mu = mu + pt.concatenate([fe, pt.zeros(1)])[data["fe_index"]].sum(axis=1)
            pm.StudentT("y", nu=nu, mu=mu, sigma=sigma, observed=data["y"])
        elif "ZtZ" in data:
            pm.Potential(
                "loglik",
                gaussian_suffstat_loglik(
                    theta, sigma, data["ZtZ"], data["coef_hat"], float(data["rss_hat"]), float(data["n_eff"])
                ),
            )
        else:
            pm.Normal("y", mu=pt.dot(data["Z"], theta), sigma=sigma, observed=data["y"])
            # the FE levels integrated out under a flat prior: (2 pi sigma^2)^{r/2}
            pm.Potential("fe_dof", 0.5 * float(data["n_fe"]) * (LOG_2PI + 2.0 * pt.log(sigma)))
    return model


POSTERIOR_VARS = ("mu_slope", "mu_b2", "tau_slope", "tau_b2", "z_slope", "z_b2", "slope", "b2", "b1", "beta", "sigma", "nu", "fe")


def _stat(ds, *names):
    for name in names:
        if name in ds:
            return np.asarray(ds[name].values)
    return None


def sample_pymc(
    model: pm.Model,
    *,
    draws: int = 1000,
    tune: int = 1000,
    chains: int = 4,
    seed: int = 0,
    target_accept: float = 0.9,
    progress: bool = True,
    nuts_sampler: str = "pymc",
    cores: int | None = None,
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], dict]:
    """Run NUTS; return (posterior draws, sample stats, info), arrays shaped (chain, draw, ...).

    The sample stats are renamed to the NumPyro side's: ``diverging``, ``n_steps``,
    ``energy``, ``acceptance_rate``, ``lp``, ``step_size`` (those the sampler reports).
    """
    start = time.perf_counter()
    kwargs = {"nuts": {"target_accept": target_accept}} if nuts_sampler == "pymc" else {"target_accept": target_accept}
    dt = pm.sample(
        model=model,
        draws=draws,
        tune=tune,
        chains=chains,
        cores=cores,
        random_seed=seed,
        progressbar=progress,
        nuts_sampler=nuts_sampler,
        compute_convergence_checks=False,
        **kwargs,
    )
    elapsed = time.perf_counter() - start
    post = dt["posterior"].to_dataset()
    posterior = {k: np.asarray(post[k].values) for k in POSTERIOR_VARS if k in post}
    ss = dt["sample_stats"].to_dataset()
    stats = {
        "diverging": _stat(ss, "diverging"),
        "n_steps": _stat(ss, "n_steps"),
        "energy": _stat(ss, "energy"),
        "acceptance_rate": _stat(ss, "acceptance_rate", "mean_tree_accept"),
        "lp": _stat(ss, "lp", "logp"),
        "step_size": _stat(ss, "step_size"),
    }
    stats = {k: v for k, v in stats.items() if v is not None}
    # PyMC times its sampling loop alone (posterior attr ``sampling_time``); the rest of the
    # call is compiling the model's functions and setting up the chains.
    loop = float(dt["posterior"].attrs.get("sampling_time", elapsed))
    info = {"sampler": f"pymc.sample(nuts_sampler={nuts_sampler!r})", "target_accept": target_accept, "sampling_s": elapsed,
            "compile_s": max(elapsed - loop, 0.0)}
    return posterior, stats, info

"""Bayesian joint mediation model: the mediator and outcome equations in one posterior.

The frequentist stepwise model (:mod:`tradeq.analyses.mediation`; Baron & Kenny 1986)
estimates its equations one at a time and combines ``a`` and ``b`` through the Sobel
delta method (Sobel 1982) or a bootstrap. Here both equations are one Gaussian model with
fixed effects F absorbed (group g of row i; G = 1 for the pooled model)::

    m_i = a[g]·x_i                             + W_i'd_m + F + e_m,i    e_m ~ N(0, sigma_m²)
    y_i = c'[g]·x_i [+ q[g]·x_i²] + b[g]·m_i  + W_i'd_y + F + e_y,i    e_y ~ N(0, sigma_y²)

and the quantities of interest are functions of the joint posterior draw by draw
(Yuan & MacKinnon 2009, "Bayesian mediation analysis", *Psychological Methods* 14(4),
301–322): indirect ``a·b``, direct ``c'``, total ``c' + a·b`` (the linear coefficient the
total equation implies, since the mediator equation has no x² term) and proportion
mediated ``a·b / (c' + a·b)``. The posterior of ``a·b`` is that of a product, skewed when
either path is imprecise — which the normal-theory Sobel test ignores.

Fixed effects. Every column is built from raw data first (group interactions
``x·1[g]``, ``m·1[g]``) and then FE-demeaned (exact Frisch–Waugh–Lovell, as in
:mod:`tradeq.models.bayes.design`); the FE levels are integrated out under a flat prior, so each
equation's Gaussian likelihood uses ``n_eff = n − rank(D)`` (``marginalize_fe``).

Sufficient statistics. For equation e with demeaned design Z_e (n, k_e) the log likelihood
is ``−n_eff/2·log(2π σ_e²) − RSS_e(θ)/(2σ_e²)`` with
``RSS_e(θ) = RSS_hat_e + (θ − θ_hat_e)'Z_e'Z_e(θ − θ_hat_e)``: only Z'Z, θ_hat and RSS_hat
enter, so a fit costs the same for 5,000 or 600,000 rows.

Sampling (why it is fast and robust at any n). Given the error sds and the hyperparameters
φ = (sigma_m, sigma_y [, mu, tau]), every coefficient has a Gaussian prior and a Gaussian
likelihood, so θ can be integrated out exactly: with prior θ_e ~ N(μ0_e(φ), diag v0_e(φ)),
Q_e = Z_e'Z_e,

    log p(data_e | φ) = −(n_eff − k_e)/2·log(2π σ_e²) − RSS_hat_e/(2σ_e²) − ½ log|Q_e|
                        + log N(θ_hat_e; μ0_e, diag v0_e + σ_e² Q_e⁻¹).

NUTS samples φ alone from this collapsed posterior (2 coordinates, or 8 with the
hierarchy); then each draw of θ comes from its exact conditional
``θ_e | φ, data ~ N(P⁻¹(Q_e θ_hat_e/σ_e² + μ0_e/v0_e), P⁻¹)``, ``P = Q_e/σ_e² + diag(1/v0_e)``
— ancestral sampling from p(φ | data)·p(θ | φ, data), which is the joint posterior. The
group paths never appear in the NUTS target, so the funnel between tau and the paths of
a hierarchical model cannot trap the sampler. Coordinates (all of unit posterior scale at
any n): ``σ_e = s_e·exp(r_e / sqrt(2 n_eff))`` (s_e the least-squares residual sd),
``tau = u·exp(h_tau)`` and ``mu = centre + sqrt(u² + tau²/G)·h_mu`` (u, centre from the
groups' least-squares paths; mu scaled by its spread given tau, so (mu, tau) has no funnel
either); the log-Jacobians are added. Every coordinate starts at 0.

Backends. NumPyro: its NUTS kernel (Hoffman & Gelman 2014, windowed adaptation) run inside
one jitted ``lax.scan`` per chain, compiled once per shape and setting — repeated fits of
same-shape data (simulation studies) cost milliseconds. PyMC: the same log density written
with PyTensor operations (the formulas are shared through :class:`_Ops`) as a ``Potential``
on a flat vector, sampled by PyMC's NUTS. Both then use the same exact draws of θ.

Priors (weakly informative, scaled to the data as in :mod:`tradeq.models.bayes.priors`, the
"autoscale" rule: a coefficient's prior sd is 2.5·sd(dependent)/sd(regressor), raw columns)::

    a[g]  ~ N(mu_a, tau_a)    b[g] ~ N(mu_b, tau_b)    c'[g] ~ N(mu_c, tau_c)     (hierarchical)
    mu_·  ~ N(0, s_·)         tau_· ~ HalfNormal(s_·)
    a[g]  ~ N(0, s_a), b[g] ~ N(0, s_b), c'[g] ~ N(0, s_c)                       (no pooling)
    q[g]  ~ N(0, s_q),  d_m, d_y ~ N(0, s_W),  sigma_e ~ HalfNormal(sd(dependent))

"""

from __future__ import annotations

import json
import time

import jax
import jax.numpy as jnp
import numpy as np
import xarray as xr

from ..precision import require_x64
from .diagnostics import check_convergence, convergence
from .mediation_density import _chains_fn, _sample_pymc, draw_coefficients, model_data, prior_moments, unpack
from .mediation_design import AUTOSCALE, build_mediation_design

PATHS = ("a", "b", "direct")


def _chain_method(chains: int, preferred: str) -> str:
    if chains == 1:
        return "sequential"
    if preferred == "parallel" and jax.local_device_count() < chains:
        return "vectorized"
    return preferred


_GROUP_VARS = ("a", "b", "direct", "curvature", "indirect", "total", "proportion")


def _dims(name: str, v: np.ndarray) -> tuple[str, ...]:
    if name in _GROUP_VARS:
        return ("chain", "draw", "group")
    if name == "beta_m":
        return ("chain", "draw", "control_m")
    if name == "beta_y":
        return ("chain", "draw", "control")
    if v.ndim == 2:
        return ("chain", "draw")
    return ("chain", "draw", f"{name}_dim")


def _coefficient_draws(md, data: dict, flat: dict, hierarchical: bool, seed: int) -> dict:
    """θ | φ, data: exact Gaussian draws of every path and control, one per draw of φ (module
    docstring); (C·D, ...) arrays by name, with the effects a·b, direct + a·b and the proportion."""
    if hierarchical:
        mu = np.stack([flat[f"mu_{p}"] for p in PATHS], axis=-1)
        tau = np.stack([flat[f"tau_{p}"] for p in PATHS], axis=-1)
        mu0_m, v0_m, mu0_y, v0_y = jax.vmap(lambda m_, t_: prior_moments(data, md.n_groups, md.quadratic, m_, t_))(mu, tau)
    else:
        one = prior_moments(data, md.n_groups, md.quadratic)
        n = flat["sigma_m"].shape[0]
        mu0_m, v0_m, mu0_y, v0_y = (np.broadcast_to(np.asarray(v), (n,) + np.shape(v)) for v in one)
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 20240601]))
    th_m = draw_coefficients(md.mediator, flat["sigma_m"], np.asarray(mu0_m), np.asarray(v0_m), rng)
    th_y = draw_coefficients(md.outcome, flat["sigma_y"], np.asarray(mu0_y), np.asarray(v0_y), rng)
    G, qk = md.n_groups, (md.n_groups if md.quadratic else 0)
    a, d_m = th_m[:, :G], th_m[:, G:]
    direct, q, b, d_y = th_y[:, :G], th_y[:, G : G + qk], th_y[:, G + qk : 2 * G + qk], th_y[:, 2 * G + qk :]
    derived = {"a": a, "b": b, "direct": direct, "indirect": a * b, "total": direct + a * b,
               "proportion": a * b / (direct + a * b), "beta_m": d_m, "beta_y": d_y}
    if md.quadratic:
        derived["curvature"] = q
    return derived


def _datatree(md, samples: dict, C: int, D: int, diverging, n_steps, energy, accept, potential) -> xr.DataTree:
    """The posterior, sample_stats and constant_data groups of a mediation fit (C chains × D draws)."""
    coords = {"group": list(md.group_names), "control": list(md.control_names),
              "control_m": [nm[4:-1] for nm in md.mediator.names if nm.startswith("d_m[")]}
    post = xr.Dataset({k: (_dims(k, v), v) for k, v in samples.items()})
    post = post.assign_coords({k: v for k, v in coords.items() if k in post.dims})
    post = post.assign_coords(chain=np.arange(C), draw=np.arange(D))
    stats = xr.Dataset({
        "diverging": (("chain", "draw"), diverging),
        "n_steps": (("chain", "draw"), n_steps),
        "energy": (("chain", "draw"), energy),
        "acceptance_rate": (("chain", "draw"), accept),
        "lp": (("chain", "draw"), -potential),
    }, coords={"chain": post.chain, "draw": post.draw})
    const = xr.Dataset({
        "theta_hat_m": ("coef_m", md.mediator.theta_hat), "theta_hat_y": ("coef_y", md.outcome.theta_hat),
        "ZtZ_m": (("coef_m", "coef_m_"), md.mediator.Q), "ZtZ_y": (("coef_y", "coef_y_"), md.outcome.Q),
        "s_m": md.mediator.s, "s_y": md.outcome.s, "n_eff_m": md.mediator.n_eff, "n_eff_y": md.outcome.n_eff, "n": md.n,
        "group_n": ("group", md.group_n),
    }, coords={"coef_m": list(md.mediator.names), "coef_m_": list(md.mediator.names),
               "coef_y": list(md.outcome.names), "coef_y_": list(md.outcome.names), "group": list(md.group_names)})
    return xr.DataTree.from_dict({"posterior": post, "sample_stats": stats, "constant_data": const})


def fit_mediation_bayes(
    x, m, y, *, controls=None, x2=None, fe=None, groups=None, group_names=None, hierarchical: bool = False,
    control_names=None, draws: int = 1000, tune: int = 1000, chains: int = 4, seed: int = 0,
    target_accept: float | None = None, chain_method: str = "parallel", progress: bool = False,
    marginalize_fe: bool = True, backend: str = "numpyro", rhat_max: float = 1.01, raise_on_fail: bool = False,
    within=None, mediator_rows: dict | None = None, autoscale: float = AUTOSCALE,
) -> xr.DataTree:
    """Sample the joint mediation model; an ArviZ 1.x ``xarray.DataTree``.

    Arrays as in :func:`build_mediation_design`. ``hierarchical`` needs ``groups``; without
    it, groups (if any) get independent priors. ``backend``: ``"numpyro"`` (NumPyro's NUTS
    kernel in a compiled scan) or ``"pymc"`` (PyMC's NUTS on the same log density written in
    PyTensor); the coefficient draws are the same exact Gaussian step for both. ``autoscale``:
    the priors' rule (:func:`build_mediation_design`).

    The tree (G groups, p controls): ``posterior`` (chain, draw, ...) with ``a``, ``b``,
    ``direct``, ``indirect``, ``total``, ``proportion`` (and ``curvature``) per ``group``,
    ``beta_m`` per ``control_m`` (the mediator equation's controls), ``beta_y`` per ``control``, ``sigma_m``, ``sigma_y``, and for the hierarchical
    model ``mu_a``, ``mu_b``, ``mu_direct``, ``tau_*``, ``mu_indirect``; ``sample_stats``
    (``diverging``, ``n_steps``, ``energy``, ``acceptance_rate``, ``lp``);
    ``constant_data`` (least-squares points and residual sds of both equations, ``group_n``).
    """
    require_x64()
    if backend not in ("numpyro", "pymc"):
        raise ValueError(f"backend must be 'numpyro' or 'pymc', got {backend!r}")
    if hierarchical and groups is None:
        raise ValueError("the hierarchical mediation model needs groups and group_names")
    start = time.perf_counter()
    md = build_mediation_design(x, m, y, controls=controls, x2=x2, fe=fe, groups=groups, group_names=group_names,
                                control_names=control_names, marginalize_fe=marginalize_fe, within=within,
                                mediator_rows=mediator_rows, autoscale=autoscale)
    target_accept = float(target_accept or (0.95 if hierarchical else 0.8))
    method = _chain_method(int(chains), chain_method)
    prep_s = time.perf_counter() - start
    t0 = time.perf_counter()
    data = jax.tree.map(jnp.asarray, model_data(md))
    static = {"n_groups": md.n_groups, "quadratic": md.quadratic, "hierarchical": bool(hierarchical)}
    if backend == "numpyro":
        keys = jax.random.split(jax.random.PRNGKey(int(seed)), int(chains))
        run = _chains_fn(method, draws=int(draws), tune=int(tune), target_accept=target_accept, **static)
        trace = run(keys, data)
        z, diverging, n_steps, energy, accept, potential = (np.asarray(v) for v in jax.block_until_ready(trace))
    else:
        z, diverging, n_steps, energy, accept, potential = _sample_pymc(
            model_data(md), draws=int(draws), tune=int(tune), chains=int(chains), seed=int(seed),
            target_accept=target_accept, **static)
        method = "pymc"
    C, D = z.shape[:2]
    unpacked = jax.vmap(lambda u: unpack(u, data, md.n_groups, bool(hierarchical)))(jnp.asarray(z.reshape(C * D, -1)))
    flat = {"sigma_m": np.asarray(unpacked["sigma_m"]), "sigma_y": np.asarray(unpacked["sigma_y"])}
    if hierarchical:
        for j, name in enumerate(PATHS):
            flat[f"mu_{name}"] = np.asarray(unpacked["mu"][:, j])
            flat[f"tau_{name}"] = np.asarray(unpacked["tau"][:, j])
        flat["mu_indirect"] = flat["mu_a"] * flat["mu_b"]
    sampling_s = time.perf_counter() - t0
    samples = {k: v.reshape(C, D) for k, v in flat.items()}

    derived = _coefficient_draws(md, data, flat, bool(hierarchical), int(seed))
    samples.update({k: v.reshape((C, D) + v.shape[1:]) for k, v in derived.items()})

    dt = _datatree(md, samples, C, D, diverging, n_steps, energy, accept, potential)
    dt.attrs.update({
        "model": "hierarchical joint mediation" if hierarchical else "joint mediation",
        "backend": backend, "sampler": f"{'NumPyro' if backend == 'numpyro' else 'PyMC'} NUTS on (sigma, mu, tau); "
                                          "coefficients from their exact Gaussian conditional", "chain_method": method,
        "seed": int(seed), "draws": int(draws), "tune": int(tune), "chains": int(chains),
        "target_accept": target_accept, "quadratic": int(md.quadratic), "marginalize_fe": int(marginalize_fe),
        "fe_rank": int(md.fe_rank), "n_obs": int(md.n), "n_eff": float(md.outcome.n_eff),
        "n_eff_mediator": float(md.mediator.n_eff),
        "prior_paths": json.dumps({"a": md.path_prior[0], "b": md.path_prior[1], "direct": md.path_prior[2]}),
        "prep_s": prep_s, "sampling_s": sampling_s, "sample_dims": ["chain", "draw"],
    })
    names = ["a", "b", "direct", "sigma_m", "sigma_y"] + (["mu_a", "mu_b", "mu_direct", "tau_a", "tau_b", "tau_direct"] if hierarchical else [])
    if int(chains) > 1:
        diag = convergence(dt, var_names=names)
        dt.attrs.update({"max_rhat": diag["max_rhat"], "min_ess_bulk": diag["min_ess_bulk"], "divergences": diag["divergences"]})
        check_convergence(diag, rhat_max=rhat_max, raise_error=raise_on_fail)
    else:
        dt.attrs["divergences"] = int(diverging.sum())
    return dt


def mediation_summary(dt: xr.DataTree, level: float = 0.95) -> dict:
    """Posterior mean, sd and equal-tailed ``level`` interval of each path per group (JSON-ready).

    ``{"level", "groups": {group: {quantity: {"mean","sd","lo","hi"}, "p_indirect_positive"}},
    "population": key of the pooled / population entry, "hierarchical", "divergences"}``. The
    hierarchical model adds a ``"population"`` entry from ``mu_a``, ``mu_b``, ``mu_direct``.
    """
    post = dt["posterior"].to_dataset()
    alpha = (1.0 - level) / 2.0

    def stat(da):
        v = np.asarray(da.values, float).reshape(-1)
        v = v[np.isfinite(v)]
        lo, hi = np.quantile(v, [alpha, 1.0 - alpha])
        return {"mean": float(v.mean()), "sd": float(v.std(ddof=1)), "lo": float(lo), "hi": float(hi)}

    groups = {}
    for g in post["group"].values.tolist():
        sel = post.sel(group=g)
        entry = {q: stat(sel[q]) for q in ("a", "b", "direct", "indirect", "total", "proportion")}
        entry["p_indirect_positive"] = float((sel["indirect"].values > 0).mean())
        groups[str(g)] = entry
    population = str(post["group"].values[0]) if post.sizes["group"] == 1 else None
    if "mu_a" in post:
        mu_total = post["mu_direct"] + post["mu_indirect"]
        groups["population"] = {
            "a": stat(post["mu_a"]), "b": stat(post["mu_b"]), "direct": stat(post["mu_direct"]),
            "indirect": stat(post["mu_indirect"]), "total": stat(mu_total),
            "proportion": stat(post["mu_indirect"] / mu_total),
            "p_indirect_positive": float((post["mu_indirect"].values > 0).mean()),
        }
        population = "population"
    return {"level": level, "groups": groups, "population": population or next(iter(groups)),
            "hierarchical": "mu_a" in post, "divergences": int(dt.attrs.get("divergences", 0)),
            "max_rhat": dt.attrs.get("max_rhat"), "model": dt.attrs.get("model")}

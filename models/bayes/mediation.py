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
from dataclasses import dataclass
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
import scipy.linalg
import xarray as xr
from numpyro.infer.hmc import hmc

from ..precision import require_x64
from .design import demean, fe_rank, interact, sufficient_stats
from .diagnostics import check_convergence, convergence

AUTOSCALE = 2.5
LOG_2PI = float(np.log(2.0 * np.pi))
PATHS = ("a", "b", "direct")


@dataclass(frozen=True)
class Equation:
    """One Gaussian equation's sufficient statistics.

    ``Q`` = Z'Z (k, k), ``Qinv`` its inverse, ``theta_hat`` (k,) least squares, ``s`` the
    least-squares residual sd, ``rss_hat``, ``n_eff``; ``prior`` (k,) the coefficients'
    prior sds (the path entries are replaced by tau in the hierarchical model),
    ``sigma_prior`` the HalfNormal scale of σ; ``logdet_Q`` = log|Q|.
    """

    names: tuple[str, ...]
    Q: np.ndarray
    Qinv: np.ndarray
    theta_hat: np.ndarray
    s: float
    rss_hat: float
    n_eff: float
    prior: np.ndarray
    sigma_prior: float
    logdet_Q: float

    @property
    def k(self) -> int:
        return int(self.theta_hat.shape[0])


@dataclass(frozen=True)
class MediationDesign:
    """The two equations' whitened sufficient statistics and where each path sits in θ.

    Mediator θ_m = [a (G), d_m (p)]; outcome θ_y = [c' (G), (q (G)), b (G), d_y (p)].
    """

    mediator: Equation
    outcome: Equation
    group_names: tuple[str, ...]
    control_names: tuple[str, ...]
    quadratic: bool
    n: int
    fe_rank: int
    hyper_center: np.ndarray  # (3,) starting means of mu_a, mu_b, mu_c
    hyper_scale: np.ndarray  # (3,) unit of mu_a, mu_b, mu_c (and of tau) in the sampler
    path_prior: np.ndarray  # (3,) s_a, s_b, s_c
    group_n: np.ndarray

    @property
    def n_groups(self) -> int:
        return len(self.group_names)


def _sd(v: np.ndarray, name: str) -> float:
    sd = float(np.std(v))
    if not np.isfinite(sd) or sd <= 0:
        raise ValueError(f"{name} has no variation (sd {sd}); cannot scale its prior")
    return sd


def _equation(Z: np.ndarray, y: np.ndarray, names, n_eff: float, prior: np.ndarray, sigma_prior: float) -> Equation:
    ss = sufficient_stats(Z, y, n_eff)
    # Factor the correlation form: the raw Z'Z mixes columns of very different scales.
    d = np.sqrt(np.diag(ss.ZtZ))
    if np.any(d <= 0):
        raise ValueError(f"a column of the design has no within variation: {[n for n, v in zip(names, d) if v <= 0]}")
    try:
        Lc = np.linalg.cholesky(ss.ZtZ / np.outer(d, d))
    except np.linalg.LinAlgError as exc:
        raise ValueError(f"the design {list(names)} is collinear after removing the fixed effects") from exc
    Cinv = scipy.linalg.cho_solve((Lc, True), np.eye(Z.shape[1]))
    Qinv = Cinv / np.outer(d, d)
    logdet = float(2.0 * np.sum(np.log(np.diag(Lc))) + 2.0 * np.sum(np.log(d)))
    s = float(np.sqrt(ss.rss_hat / max(n_eff - Z.shape[1], 1.0)))
    return Equation(tuple(names), ss.ZtZ, 0.5 * (Qinv + Qinv.T), ss.coef_hat, s, ss.rss_hat, float(n_eff),
                    np.asarray(prior, float), float(sigma_prior), logdet)


def _expand(x, groups, G):
    return interact(np.asarray(x, float).reshape(-1), groups, G)


def _groups(groups, group_names, n):
    if groups is None:
        return np.zeros(n, np.int64), ("pooled",)
    groups = np.asarray(groups, np.int64).reshape(-1)
    group_names = tuple(str(g) for g in group_names)
    G = len(group_names)
    counts = np.bincount(groups, minlength=G) if groups.size else np.zeros(G, int)
    if groups.shape[0] != n or groups.min() < 0 or groups.max() >= G or np.any(counts == 0):
        raise ValueError(f"group codes must cover 0..{G - 1} with no empty group; counts {counts.tolist()}")
    return groups, group_names


def build_mediation_design(
    x, m, y, *, controls=None, x2=None, fe=None, groups=None, group_names=None,
    control_names=None, marginalize_fe: bool = True, within=None, mediator_rows: dict | None = None,
    autoscale: float = AUTOSCALE,
) -> MediationDesign:
    """Expand by group, FE-demean and reduce to sufficient statistics.

    Shapes: ``x``, ``m``, ``y`` (n,) raw; ``controls`` (n, p) or None; ``x2`` (n,) raw
    square of x (the outcome equation's quadratic term) or None; ``fe`` (n, k_fe) int codes or
    None (then the columns are centred: an intercept); ``groups`` (n,) int codes into
    ``group_names`` or None (one group, ``"pooled"``).

    ``mediator_rows``: the mediator equation on its own rows, a dict with ``x``, ``m`` (n_m,),
    ``fe`` (n_m, k) and optionally ``controls`` (n_m, p_m), ``groups`` (n_m,). For a mediator
    measured at a coarser level (one value per province-year) these are the province-year
    cells: the copies of one cell across its firms are not independent observations, and
    counting them as such would make the posterior of ``a`` far too narrow (the Bayesian
    counterpart of clustering the mediator equation by province). ``autoscale``: the priors'
    rule (module docstring; 2.5 by default).
    """
    x, m, y = (np.asarray(v, float).reshape(-1) for v in (x, m, y))
    n = x.shape[0]
    W = np.zeros((n, 0)) if controls is None else np.asarray(controls, float).reshape(n, -1)
    p = W.shape[1]
    control_names = tuple(control_names) if control_names is not None else tuple(f"control{j}" for j in range(p))
    groups, group_names = _groups(groups, group_names, n)
    G = len(group_names)
    counts = np.bincount(groups, minlength=G)
    fe = np.zeros((n, 0), np.int32) if fe is None else np.asarray(fe).reshape(n, -1)
    quadratic = x2 is not None
    Q = _expand(x2, groups, G) if quadratic else np.zeros((n, 0))
    raw = np.column_stack([y, _expand(x, groups, G), Q, _expand(m, groups, G), W])
    dm, _, _ = demean(raw, fe, within)
    y_t, Zy = dm[:, 0], dm[:, 1:]
    n_eff = float(n - fe_rank(fe)) if marginalize_fe else float(n)

    # the mediator equation: the same rows, or its own (coarser) rows
    mr = {"x": x, "m": m, "controls": W, "fe": fe, "groups": groups} if mediator_rows is None else dict(mediator_rows)
    x_m, m_m = (np.asarray(mr[k], float).reshape(-1) for k in ("x", "m"))
    n_m = x_m.shape[0]
    W_m = np.zeros((n_m, 0)) if mr.get("controls") is None else np.asarray(mr["controls"], float).reshape(n_m, -1)
    fe_m = np.zeros((n_m, 0), np.int32) if mr.get("fe") is None else np.asarray(mr["fe"]).reshape(n_m, -1)
    g_m = np.zeros(n_m, np.int64) if (mr.get("groups") is None and G == 1) else np.asarray(mr.get("groups"), np.int64)
    if mediator_rows is not None:
        g_m, _ = _groups(g_m, group_names, n_m)
    raw_m = np.column_stack([m_m, _expand(x_m, g_m, G), W_m])
    dm_m, _, _ = demean(raw_m, fe_m, within)
    n_eff_m = float(n_m - fe_rank(fe_m)) if marginalize_fe else float(n_m)
    names_m = tuple(f"control{j}" for j in range(W_m.shape[1])) if mediator_rows is not None else control_names

    sd_x, sd_m, sd_y = _sd(x, "the core variable x"), _sd(m, "the mediator"), _sd(y, "the outcome")
    s_a, s_b, s_c = autoscale * _sd(m_m, "the mediator") / _sd(x_m, "x"), autoscale * sd_y / sd_m, autoscale * sd_y / sd_x
    sd_w = np.array([_sd(W[:, j], control_names[j]) for j in range(p)])
    sd_wm = np.array([_sd(W_m[:, j], names_m[j]) for j in range(W_m.shape[1])])
    gn = list(group_names)
    med = _equation(
        dm_m[:, 1:], dm_m[:, 0],
        [f"a[{g}]" for g in gn] + [f"d_m[{c}]" for c in names_m], n_eff_m,
        np.concatenate([np.full(G, s_a), autoscale * _sd(m_m, "the mediator") / sd_wm]), _sd(m_m, "the mediator"),
    )
    s_q = autoscale * sd_y / _sd(np.asarray(x2, float), "x²") if quadratic else 1.0
    out = _equation(
        Zy, y_t,
        [f"direct[{g}]" for g in gn] + ([f"q[{g}]" for g in gn] if quadratic else []) + [f"b[{g}]" for g in gn]
        + [f"d_y[{c}]" for c in control_names], n_eff,
        np.concatenate([np.full(G, s_c), np.full(G if quadratic else 0, s_q), np.full(G, s_b), autoscale * sd_y / sd_w]),
        sd_y,
    )
    r = fe_rank(fe)
    # Starting point and unit of the population means: the groups' least-squares paths.
    qk = G if quadratic else 0
    paths = np.stack([med.theta_hat[:G], out.theta_hat[G + qk : 2 * G + qk], out.theta_hat[:G]])  # (3, G)
    se_m, se_y = med.s * np.sqrt(np.diag(med.Qinv)), out.s * np.sqrt(np.diag(out.Qinv))
    se = np.stack([se_m[:G], se_y[G + qk : 2 * G + qk], se_y[:G]])
    centre = paths.mean(axis=1)
    scale = paths.std(axis=1) + se.mean(axis=1) + 1e-12
    return MediationDesign(
        mediator=med, outcome=out, group_names=group_names, control_names=control_names, quadratic=quadratic,
        n=n, fe_rank=r, hyper_center=centre, hyper_scale=scale, path_prior=np.array([s_a, s_b, s_c]),
        group_n=counts,
    )


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

    # θ | φ, data: exact Gaussian draws, one per draw of φ (module docstring)
    if hierarchical:
        mu = np.stack([flat[f"mu_{p}"] for p in PATHS], axis=-1)
        tau = np.stack([flat[f"tau_{p}"] for p in PATHS], axis=-1)
        mu0_m, v0_m, mu0_y, v0_y = jax.vmap(lambda m_, t_: prior_moments(data, md.n_groups, md.quadratic, m_, t_))(mu, tau)
    else:
        one = prior_moments(data, md.n_groups, md.quadratic)
        mu0_m, v0_m, mu0_y, v0_y = (np.broadcast_to(np.asarray(v), (C * D,) + np.shape(v)) for v in one)
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
    samples.update({k: v.reshape((C, D) + v.shape[1:]) for k, v in derived.items()})

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
    dt = xr.DataTree.from_dict({"posterior": post, "sample_stats": stats, "constant_data": const})
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

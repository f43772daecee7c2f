"""A linear slope partially pooled over regions × periods, fixed effects removed exactly.

The cluster papers' regional (Table 3) and 2017-shock (the second paper's Table 3) splits as
one hierarchical model: R regions, Q periods, G = R·Q groups (cell g = r·Q + q), p controls.

Model
-----
Rows i (province, year) with region r_i and period q_i::

    y_i = b[r_i, q_i] x_i + c_i' beta + alpha_province + delta_year + e_i,   e_i ~ N(0, sigma^2)

By Frisch–Waugh–Lovell the slopes are those of M y on M Z with M the annihilator of the
fixed-effect dummies and Z the expanded design built from the *raw* x first,

    Z = [x·1[g=0], …, x·1[g=G-1], c_1, …, c_p]   (n, k = G + p),   theta = (b (G), beta (p)),

exactly as the firm model does it (:mod:`tradeq.models.bayes.design`: ``interact``, ``demean``,
``fe_rank``, ``sufficient_stats``; the Gaussian likelihood is a function of Z'Z, theta_hat,
RSS_hat and n_eff = n − rank(D), the fixed effects integrated out under a flat prior).

Hierarchical prior (``pooling``)::

    additive (default)   b[r, q] = mu + a[r] + c[q] + g[r, q]
                         a[r] ~ N(0, tau_region²), c[q] ~ N(0, tau_period²), g[r, q] ~ N(0, tau_interaction²)
    exchangeable         b[r, q] = mu + g[r, q],  g[r, q] ~ N(0, tau²)

    mu ~ N(0, s_mu²),  tau_* ~ HalfNormal(s_tau_*),  beta_j ~ N(0, s_beta_j²),  sigma ~ HalfNormal(s_sigma)

Write psi = (mu, effects (E), beta (p)), m = 1 + E + p, with prior N(0, D(tau)), D diagonal, and
theta = T psi, T (k, m) = [[1_G, A, 0], [0, 0, I_p]], A (G, E) the effect-indicator matrix
(:func:`effect_structure`).

Collapsed sampling
------------------
Given sigma the likelihood is, in theta, N(theta_hat | theta, sigma² V) with V = (Z'Z)^{-1}, so
psi integrates out in closed form (Gaussian conjugacy, e.g. Gelman et al., *Bayesian Data
Analysis*, 3rd ed., sec. 14.8):

    log p(y | tau, sigma) = −(n_eff − k)/2 log(2 pi sigma²) − RSS_hat / (2 sigma²) − ½ log|Z'Z|
                            + log N(theta_hat | 0, C),     C = T D T' + sigma² V   (k, k)

NUTS runs on the hyperparameters (tau (B), sigma) only — no funnel between the tau's and
effects that 3 regions and 2 periods barely identify — and each draw gets an exact draw of
psi | y, tau, sigma by Matheron's rule (the conditional of a joint Gaussian by simulation):

    psi0 ~ N(0, D),   theta0 = T psi0 + sigma L^{-T} eps  (Z'Z = L L', eps ~ N(0, I_k)),
    psi = psi0 + D T' C^{-1} (theta_hat − theta0).

Neither D nor C is inverted in a form that degenerates as a tau → 0 (C ⪰ sigma² V).
Z'Z must be of full rank (every group has within variation in x).

Shapes: Z (n, k), y (n,), T (k, m), A (G, E), D (m,), C (k, k); draws (chain, draw, ...);
slopes reported as ``slope`` (chain, draw, region, period).
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass

import jax
import jax.numpy as jnp
import jax.scipy.linalg as jsl
import numpy as np
import numpyro
import numpyro.distributions as dist
import xarray as xr

from ..design import Design
from ..precision import require_x64
from .design import demean, fe_rank, interact, sufficient_stats
from .diagnostics import check_convergence, convergence
from .numpyro_model import make_mcmc, run_mcmc

POOLINGS = ("additive", "exchangeable")
LOG_2PI = float(np.log(2 * np.pi))


@dataclass(frozen=True)
class RegionPeriodDesign:
    """The within-transformed design of the region × period slope model (module docstring).

    ``Z`` (n, k = G + p) columns ``[x·1[g] (G), controls (p)]``, FE-demeaned; ``y`` (n,);
    ``groups`` (n,) cell codes r·Q + q; ``group_n`` (R, Q) rows per cell; ``n``; ``fe_rank`` r.
    """

    Z: np.ndarray
    y: np.ndarray
    groups: np.ndarray
    regions: tuple[str, ...]
    periods: tuple[str, ...]
    control_names: tuple[str, ...]
    core: str
    group_n: np.ndarray
    n: int
    fe_rank: int

    @property
    def n_groups(self) -> int:
        return len(self.regions) * len(self.periods)

    @property
    def coef_names(self) -> tuple[str, ...]:
        cells = tuple(f"{self.core}:{r}:{q}" for r in self.regions for q in self.periods)
        return cells + self.control_names


def build_region_period_design(design: Design, core: str, region: np.ndarray, period: np.ndarray,
                               regions: tuple[str, ...], periods: tuple[str, ...], within=None) -> RegionPeriodDesign:
    """Expand ``core`` by region × period cell, then partial out ``design.fe`` (exact FWL).

    ``region`` (n,), ``period`` (n,) int codes into ``regions`` (R), ``periods`` (Q), aligned
    with ``design``'s rows. Every column of ``design.X`` except ``core`` and ``Intercept`` is a
    control with a common slope. Raises ``ValueError`` for an empty cell or a rank-deficient Z.
    """
    names = list(design.x_names)
    if core not in names:
        raise KeyError(f"term {core!r} is not in the design; its terms are {names}")
    R, Q = len(regions), len(periods)
    region, period = np.asarray(region, dtype=np.int64), np.asarray(period, dtype=np.int64)
    if region.shape != (design.n,) or period.shape != (design.n,):
        raise ValueError(f"region and period codes must have shape ({design.n},)")
    if region.min() < 0 or region.max() >= R or period.min() < 0 or period.max() >= Q:
        raise ValueError(f"region codes must lie in 0..{R - 1} and period codes in 0..{Q - 1}")
    groups = region * Q + period
    group_n = np.bincount(groups, minlength=R * Q).reshape(R, Q)
    empty = [f"{regions[r]}:{periods[q]}" for r, q in zip(*np.nonzero(group_n == 0))]
    if empty:
        raise ValueError(f"region × period cells {empty} have no rows")
    control_idx = [j for j, t in enumerate(names) if t not in (core, "Intercept")]
    raw = np.column_stack([design.y, interact(design.X[:, names.index(core)], groups, R * Q),
                           design.X[:, control_idx]])
    within_all = demean(raw, design.fe, within)[0]
    Z = np.ascontiguousarray(within_all[:, 1:])
    if np.linalg.matrix_rank(Z) < Z.shape[1]:
        raise ValueError("the within-transformed design is rank deficient: a cell's "
                         f"{core} or a control has no variation left after the fixed effects")
    return RegionPeriodDesign(Z=Z, y=np.ascontiguousarray(within_all[:, 0]), groups=groups, regions=tuple(regions),
                              periods=tuple(periods), control_names=tuple(names[j] for j in control_idx), core=core,
                              group_n=group_n, n=design.n, fe_rank=fe_rank(design.fe))


@dataclass(frozen=True)
class RegionPeriodPrior:
    """Prior scales (all > 0): ``mu`` of the pooled slope, ``tau`` of each HalfNormal effect
    sd (one per block of :func:`effect_structure`), ``beta`` (p,) of the controls, ``sigma``."""

    mu: float
    tau: tuple[float, ...]
    beta: tuple[float, ...]
    sigma: float

    def __post_init__(self) -> None:
        values = [self.mu, self.sigma, *self.tau, *self.beta]
        if not all(np.isfinite(v) and v > 0 for v in values):
            raise ValueError(f"prior scales must be finite and positive, got {self}")


def effect_structure(R: int, Q: int, pooling: str) -> tuple[np.ndarray, tuple[str, ...], np.ndarray]:
    """A (G, E) effect indicators, the B block names and each effect's block (E,) int.

    additive: columns region (R), period (Q), interaction (G); exchangeable: interaction (G).
    """
    if pooling not in POOLINGS:
        raise ValueError(f"pooling must be one of {POOLINGS}, got {pooling!r}")
    inter = np.eye(R * Q)
    if pooling == "exchangeable":
        return inter, ("tau",), np.zeros(R * Q, dtype=np.int64)
    reg = np.kron(np.eye(R), np.ones((Q, 1)))
    per = np.kron(np.ones((R, 1)), np.eye(Q))
    block = np.concatenate([np.zeros(R), np.ones(Q), np.full(R * Q, 2)]).astype(np.int64)
    return np.hstack([reg, per, inter]), ("tau_region", "tau_period", "tau_interaction"), block


def effect_transform(A: np.ndarray, p: int) -> np.ndarray:
    """T (G + p, 1 + E + p): theta = T psi with psi = (mu, effects, beta)."""
    G, E = A.shape
    T = np.zeros((G + p, 1 + E + p))
    T[:G, 0] = 1.0
    T[:G, 1:1 + E] = A
    T[G:, 1 + E:] = np.eye(p)
    return T


def model_data(rd: RegionPeriodDesign, prior: RegionPeriodPrior, pooling: str, n_eff: float) -> dict:
    """The arrays the collapsed model is conditioned on (names as in the module docstring)."""
    A, blocks, block = effect_structure(len(rd.regions), len(rd.periods), pooling)
    if len(prior.tau) != len(blocks):
        raise ValueError(f"pooling={pooling!r} needs {len(blocks)} tau scales {blocks}, got {len(prior.tau)}")
    if len(prior.beta) != len(rd.control_names):
        raise ValueError(f"prior.beta has {len(prior.beta)} scales but the design has controls {rd.control_names}")
    ss = sufficient_stats(rd.Z, rd.y, n_eff)
    E, p = A.shape[1], len(rd.control_names)
    fixed = np.concatenate([[prior.mu**2], np.zeros(E), np.asarray(prior.beta) ** 2])
    tau_map = np.zeros((1 + E + p, len(blocks)))
    tau_map[1 + np.arange(E), block] = 1.0
    L = np.linalg.cholesky(ss.ZtZ)
    Linv = np.linalg.inv(L)
    return {"T": effect_transform(A, p), "fixed_var": fixed, "tau_map": tau_map, "ZtZ_chol": L, "V": Linv.T @ Linv,
            "coef_hat": ss.coef_hat, "rss_hat": np.float64(ss.rss_hat), "n_eff": np.float64(ss.n_eff),
            "logdet_ZtZ": np.float64(2 * np.log(np.diag(L)).sum()),
            "tau_scale": np.asarray(prior.tau, dtype=np.float64), "sigma_scale": np.float64(prior.sigma)}


def _prior_var(data: dict, tau: jnp.ndarray) -> jnp.ndarray:
    return data["fixed_var"] + data["tau_map"] @ tau**2


def _marginal_cov(data: dict, tau, sigma) -> jnp.ndarray:
    """C = T D T' + sigma² V, V = (Z'Z)^{-1}."""
    T = data["T"]
    return (T * _prior_var(data, tau)) @ T.T + sigma**2 * data["V"]


def marginal_loglik(data: dict, tau, sigma) -> jnp.ndarray:
    """log p(y | tau, sigma) with psi integrated out (module docstring)."""
    k = data["coef_hat"].shape[0]
    C = _marginal_cov(data, tau, sigma)
    Lc = jnp.linalg.cholesky(C)
    w = jsl.solve_triangular(Lc, data["coef_hat"], lower=True)
    log_normal = -0.5 * (k * LOG_2PI + 2 * jnp.log(jnp.diag(Lc)).sum() + w @ w)
    return (-0.5 * (data["n_eff"] - k) * (LOG_2PI + 2 * jnp.log(sigma)) - 0.5 * data["rss_hat"] / sigma**2
            - 0.5 * data["logdet_ZtZ"] + log_normal)


def collapsed_model(data: dict) -> None:
    """NumPyro model of the hyperparameters: tau (B,) ~ HalfNormal(s_tau), sigma ~ HalfNormal(s_sigma)."""
    with numpyro.plate("block", data["tau_scale"].shape[0]):
        tau = numpyro.sample("tau", dist.HalfNormal(data["tau_scale"]))
    sigma = numpyro.sample("sigma", dist.HalfNormal(data["sigma_scale"]))
    numpyro.factor("loglik", marginal_loglik(data, tau, sigma))


def draw_effects(data: dict, tau: np.ndarray, sigma: np.ndarray, seed: int) -> np.ndarray:
    """Exact draws of psi | y, tau, sigma by Matheron's rule; tau (S, B), sigma (S,) -> (S, m)."""
    T, L = jnp.asarray(data["T"]), jnp.asarray(data["ZtZ_chol"])
    k, m = T.shape

    def one(key, t, s):
        k1, k2 = jax.random.split(key)
        d = _prior_var(data, t)
        psi0 = jnp.sqrt(d) * jax.random.normal(k1, (m,))
        noise = jsl.solve_triangular(L.T, jax.random.normal(k2, (k,)), lower=False)
        theta0 = T @ psi0 + s * noise
        C = _marginal_cov(data, t, s)
        gain = jsl.cho_solve((jnp.linalg.cholesky(C), True), data["coef_hat"] - theta0)
        return psi0 + d * (T.T @ gain)

    keys = jax.random.split(jax.random.PRNGKey(seed), tau.shape[0])
    return np.asarray(jax.jit(jax.vmap(one))(keys, jnp.asarray(tau), jnp.asarray(sigma)))


def prior_draws(data: dict, n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(tau (n, B), sigma (n,), psi (n, m)) drawn from the prior (NumPy)."""
    rng = np.random.default_rng(seed)
    tau = np.abs(rng.standard_normal((n, data["tau_scale"].shape[0]))) * data["tau_scale"]
    sigma = np.abs(rng.standard_normal(n)) * float(data["sigma_scale"])
    d = data["fixed_var"][None, :] + tau**2 @ data["tau_map"].T
    return tau, sigma, np.sqrt(d) * rng.standard_normal(d.shape)


def contrast_matrix(regions: tuple[str, ...], periods: tuple[str, ...],
                    group_n: np.ndarray) -> tuple[tuple[str, ...], np.ndarray]:
    """Labelled linear contrasts W (c, G) of the cell slopes b (G,), cell g = r·Q + q.

    Each region's slope averaged over the periods by its rows (``"Central (all years)"``),
    every region difference in each period and over all years (``"East - Central (2001-2016)"``),
    and each region's first-minus-last period (``"East: 2001-2016 - 2017-2021"``).
    """
    R, Q = len(regions), len(periods)
    weights = group_n / group_n.sum(axis=1, keepdims=True)  # (R, Q)
    cell = lambda r, q: r * Q + q  # noqa: E731
    rows: list[tuple[str, np.ndarray]] = []
    avg = np.zeros((R, R * Q))
    for r in range(R):
        for q in range(Q):
            avg[r, cell(r, q)] = weights[r, q]
        rows.append((f"{regions[r]} (all years)", avg[r]))
    for i in range(R):
        for j in range(i + 1, R):
            for q in range(Q):
                w = np.zeros(R * Q)
                w[cell(i, q)], w[cell(j, q)] = 1.0, -1.0
                rows.append((f"{regions[i]} - {regions[j]} ({periods[q]})", w))
            rows.append((f"{regions[i]} - {regions[j]} (all years)", avg[i] - avg[j]))
    if Q > 1:
        for r in range(R):
            w = np.zeros(R * Q)
            w[cell(r, 0)], w[cell(r, Q - 1)] = 1.0, -1.0
            rows.append((f"{regions[r]}: {periods[0]} - {periods[-1]}", w))
    return tuple(label for label, _ in rows), np.vstack([w for _, w in rows])


def named_draws(psi: np.ndarray, tau: np.ndarray, sigma: np.ndarray, rd: RegionPeriodDesign, pooling: str,
                weights: np.ndarray) -> dict[str, tuple[tuple[str, ...], np.ndarray]]:
    """psi (c, d, m), tau (c, d, B), sigma (c, d) -> named variables with their dims."""
    R, Q, p = len(rd.regions), len(rd.periods), len(rd.control_names)
    A, blocks, _ = effect_structure(R, Q, pooling)
    E = A.shape[1]
    slope = psi[..., :1] + psi[..., 1:1 + E] @ A.T  # (c, d, G)
    sd = ("chain", "draw")
    out = {"mu": (sd, psi[..., 0]), "slope": ((*sd, "region", "period"), slope.reshape(*slope.shape[:2], R, Q)),
           "interaction": ((*sd, "region", "period"), psi[..., 1 + E - R * Q:1 + E].reshape(*slope.shape[:2], R, Q)),
           "contrast": ((*sd, "comparison"), slope @ weights.T), "sigma": (sd, sigma)}
    if pooling == "additive":
        out["region_effect"] = ((*sd, "region"), psi[..., 1:1 + R])
        out["period_effect"] = ((*sd, "period"), psi[..., 1 + R:1 + R + Q])
    if p:
        out["beta"] = ((*sd, "control"), psi[..., 1 + E:])
    out.update({name: (sd, tau[..., b]) for b, name in enumerate(blocks)})
    return out


def _dataset(variables: dict, coords: dict) -> xr.Dataset:
    first = next(iter(variables.values()))[1]
    ds = xr.Dataset({k: v for k, v in variables.items()},
                    coords={"chain": np.arange(first.shape[0]), "draw": np.arange(first.shape[1])})
    return ds.assign_coords({k: v for k, v in coords.items() if k in ds.dims})


def region_period_tree(rd: RegionPeriodDesign, data: dict, posterior: dict, prior: dict, stats: dict,
                       labels: tuple[str, ...], weights: np.ndarray) -> xr.DataTree:
    """The DataTree: ``posterior`` and ``prior`` (same variables), ``sample_stats``, ``derived``
    (P(contrast > 0)) and ``constant_data`` (sufficient statistics, cell counts, contrast weights)."""
    coords = {"region": list(rd.regions), "period": list(rd.periods), "control": list(rd.control_names),
              "comparison": list(labels)}
    post = _dataset(posterior, coords)
    coef = list(rd.coef_names)
    const = xr.Dataset(
        {"coef_hat": ("coef", data["coef_hat"]), "rss_hat": data["rss_hat"], "n_eff": data["n_eff"], "n": rd.n,
         "group_n": (("region", "period"), rd.group_n),
         "contrast_weights": (("comparison", "region", "period"), weights.reshape(len(labels), *rd.group_n.shape))},
        coords={"coef": coef, **{k: coords[k] for k in ("region", "period", "comparison")}})
    derived = xr.Dataset({"p_positive": (post["contrast"] > 0).mean(("chain", "draw"))})
    return xr.DataTree.from_dict({"posterior": post, "prior": _dataset(prior, coords),
                                  "sample_stats": _dataset({k: (("chain", "draw"), v) for k, v in stats.items()}, {}),
                                  "derived": derived, "constant_data": const})


def checked_params(pooling: str) -> list[str]:
    """The posterior variables whose R-hat and ESS the convergence check reads."""
    return [*effect_structure(1, 1, pooling)[1], "sigma", "mu", "slope", "beta"]


def fit_region_period(design: Design, *, core: str, region: np.ndarray, period: np.ndarray,
                      regions: tuple[str, ...], periods: tuple[str, ...], prior: RegionPeriodPrior,
                      pooling: str = "additive", draws: int = 1000, tune: int = 1000, chains: int = 4,
                      seed: int = 0, target_accept: float = 0.95, marginalize_fe: bool = True,
                      chain_method: str = "parallel", progress: bool = False, rhat_max: float = 1.01,
                      raise_on_fail: bool = False, within=None) -> xr.DataTree:
    """Fit the region × period slope model (module docstring); returns the DataTree of
    :func:`region_period_tree` with the run's settings and diagnostics in its attributes.

    ``marginalize_fe``: n_eff = n − rank(D) (FE integrated out) rather than n (profiled).
    Convergence problems (R-hat > ``rhat_max``, divergences) warn, or raise when ``raise_on_fail``.
    """
    require_x64()
    start = time.perf_counter()
    rd = build_region_period_design(design, core, region, period, regions, periods, within)
    data = model_data(rd, prior, pooling, float(rd.n - rd.fe_rank) if marginalize_fe else float(rd.n))
    mcmc = make_mcmc(collapsed_model, draws=draws, tune=tune, chains=chains, target_accept=target_accept,
                     chain_method_=chain_method, progress=progress)
    hyper, stats, info = run_mcmc(mcmc, data, seed)
    c, d, B = hyper["tau"].shape
    psi = draw_effects(data, hyper["tau"].reshape(c * d, B), hyper["sigma"].reshape(-1), seed + 1).reshape(c, d, -1)
    labels, weights = contrast_matrix(rd.regions, rd.periods, rd.group_n)
    tau0, sigma0, psi0 = prior_draws(data, c * d, seed + 2)
    dt = region_period_tree(
        rd, data, named_draws(psi, hyper["tau"], hyper["sigma"], rd, pooling, weights),
        named_draws(psi0[None], tau0[None], sigma0[None], rd, pooling, weights), stats, labels, weights)
    diag = convergence(dt, var_names=checked_params(pooling))
    dt.attrs.update({"model": f"region × period slopes ({pooling})", "pooling": pooling, "backend": "numpyro",
                     "sampler": info["sampler"] + " (hyperparameters; effects drawn exactly)", "seed": int(seed),
                     "draws": int(draws), "tune": int(tune), "chains": int(chains), "target_accept": float(target_accept),
                     "core": core, "n_obs": int(rd.n), "n_eff": float(data["n_eff"]), "fe_rank": int(rd.fe_rank),
                     "marginalize_fe": int(marginalize_fe), "prior": json.dumps(asdict(prior)),
                     "sampling_s": float(info["sampling_s"]), "sample_dims": ["chain", "draw"],
                     "max_rhat": diag["max_rhat"], "min_ess_bulk": diag["min_ess_bulk"],
                     "divergences": diag["divergences"], "total_s": time.perf_counter() - start})
    check_convergence(diag, rhat_max=rhat_max, raise_error=raise_on_fail)
    return dt

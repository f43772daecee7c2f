"""Entry point: :func:`fit_bayes` — a Design in, an ArviZ 1.x ``xarray.DataTree`` out.

Pipeline (each step a plain function)::

    build_group_design   Design + group codes -> expanded, FE-demeaned Z, y   (design.py)
    sufficient_stats     Z'Z, Z'y, y'y, n, theta_hat, RSS_hat                 (design.py)
    model + sampler      NumPyro or PyMC, the same model                      (numpyro_model.py, pymc_model.py)
    to_datatree          draws -> DataTree with named dims and group coords
    add_derived          turning points, inverted-U indicator, curve          (derived.py)
    check_convergence    warn (or raise) on R-hat / divergences                (diagnostics.py)

The DataTree (G groups, p controls, k = 2G + p coefficients, n rows):

* ``posterior`` (chain, draw, ...): ``b1``, ``b2``, ``slope`` (group); ``mu_slope``,
  ``mu_b2``, ``tau_slope``, ``tau_b2``, ``z_slope``/``z_b2`` (group), ``mu_b1``,
  ``mu_turning_point`` (hierarchical only); ``beta`` (control); ``sigma``; ``nu``
  (Student-t only); derived ``turning_point``, ``slope_lo``, ``slope_hi``, ``inverted_u``
  (group) and ``curve`` (x_grid).
* ``sample_stats`` (chain, draw): ``diverging``, ``n_steps``, ``energy``,
  ``acceptance_rate``, ``lp``, ``step_size`` (as reported by the sampler).
* ``derived`` (no sample dims): ``p_inverted_u`` (group), the posterior probability of an
  inverted U within the range, and that range ``x_lo``, ``x_hi`` (group).
* ``constant_data``: the sufficient statistics ``ZtZ`` (coef, coef_), ``Zty``,
  ``coef_hat`` (coef), ``yty``, ``rss_hat``, ``n``, ``n_eff``, ``center``, the groups'
  data ranges ``group_x_lo``, ``group_x_hi`` and ``group_n`` (group).
* ``observed_data`` and ``log_likelihood`` (``y``, dim ``obs``): only with
  ``log_likelihood=True`` (pointwise Gaussian or Student-t log density of each
  within-transformed row, for LOO; the FE degrees-of-freedom term is not pointwise and is
  left out).

Attributes of the root record the backend, sampler settings, seed, likelihood, timings
and the prior scales (JSON).
"""

from __future__ import annotations

import dataclasses
import json
import time

import numpy as np
import xarray as xr
from scipy import stats as sps

from ..design import Design
from ..precision import require_x64
from . import derived
from .collapsed import sample_collapsed
from .design import GroupDesign, SuffStats, build_group_design, sufficient_stats
from .diagnostics import check_convergence, convergence
from .numpyro_model import make_model, model_data, sample_numpyro
from .priors import AUTOSCALE, PriorScales
from .student_t import explicit_effects

BACKENDS = ("numpyro", "pymc")
GROUP_VARS = ("z_slope", "z_b2", "slope", "b2", "b1")


def _dims(name: str, value: np.ndarray) -> tuple[str, ...]:
    extra = value.ndim - 2
    if extra == 0:
        return ("chain", "draw")
    if name in GROUP_VARS:
        return ("chain", "draw", "group")
    if name == "beta":
        return ("chain", "draw", "control")
    raise ValueError(f"unexpected posterior variable {name!r} with shape {value.shape}")


def draws_dataset(draws: dict[str, np.ndarray], coords: dict) -> xr.Dataset:
    """A (chain, draw, ...) Dataset from arrays, with group/control coordinates."""
    first = next(iter(draws.values()))
    base = {"chain": np.arange(first.shape[0]), "draw": np.arange(first.shape[1])}
    data_vars = {k: (_dims(k, v), np.asarray(v)) for k, v in draws.items() if v is not None}
    ds = xr.Dataset(data_vars, coords=base)
    return ds.assign_coords({k: v for k, v in coords.items() if k in ds.dims})


def data_ranges(gd: GroupDesign, x_range) -> tuple[np.ndarray, np.ndarray]:
    """(x_lo, x_hi) per group: own ranges (None), the pooled range ("pooled") or (lo, hi)."""
    if x_range is None:
        return gd.x_lo, gd.x_hi
    if isinstance(x_range, str):
        if x_range != "pooled":
            raise ValueError(f"x_range must be None, 'pooled' or (lo, hi), got {x_range!r}")
        lo, hi = gd.x_pooled
    else:
        lo, hi = map(float, x_range)
        if not lo < hi:
            raise ValueError(f"x_range must satisfy lo < hi, got {x_range!r}")
    return np.full(gd.n_groups, lo), np.full(gd.n_groups, hi)


def constant_data(gd: GroupDesign, ss: SuffStats) -> xr.Dataset:
    """Sufficient statistics and the groups' data ranges (see the module docstring)."""
    coef = list(gd.coef_names)
    return xr.Dataset(
        {
            "ZtZ": (("coef", "coef_"), ss.ZtZ),
            "Zty": ("coef", ss.Zty),
            "coef_hat": ("coef", ss.coef_hat),
            "yty": ss.yty,
            "rss_hat": ss.rss_hat,
            "n": ss.n,
            "n_eff": ss.n_eff,
            "center": gd.center,
            "group_x_lo": ("group", gd.x_lo),
            "group_x_hi": ("group", gd.x_hi),
            "group_n": ("group", np.bincount(gd.groups, minlength=gd.n_groups)),
        },
        coords={"coef": coef, "coef_": coef, "group": list(gd.group_names)},
    )


def pointwise_loglik(posterior: xr.Dataset, gd: GroupDesign, likelihood: str, chunk: int = 200,
                     fe_draws: np.ndarray | None = None) -> np.ndarray:
    """(chain, draw, n) log density of each within-transformed row at each draw; ``fe_draws``
    (chain, draw, r): the Student-t likelihood's explicit effects."""
    theta = np.concatenate(
        [posterior["b1"].values, posterior["b2"].values]
        + ([posterior["beta"].values] if "beta" in posterior else []),
        axis=-1,
    )
    c, d, k = theta.shape
    theta = theta.reshape(c * d, k)
    sigma = posterior["sigma"].values.reshape(-1)
    nu = posterior["nu"].values.reshape(-1) if likelihood == "student_t" else None
    out = np.empty((c * d, gd.n))
    if fe_draws is not None:
        index, r = explicit_effects(gd.fe)
        fe_ext = np.concatenate([fe_draws.reshape(c * d, r), np.zeros((c * d, 1))], axis=1)
    for s in range(0, c * d, chunk):
        mu = theta[s : s + chunk] @ gd.Z.T
        if fe_draws is not None:
            mu = mu + fe_ext[s : s + chunk][:, index].sum(axis=2)
        sd = sigma[s : s + chunk, None]
        if nu is None:
            out[s : s + chunk] = sps.norm.logpdf(gd.y, mu, sd)
        else:
            out[s : s + chunk] = sps.t.logpdf(gd.y, nu[s : s + chunk, None], mu, sd)
    return out.reshape(c, d, gd.n)


def to_datatree(
    gd: GroupDesign,
    ss: SuffStats,
    draws: dict[str, np.ndarray],
    stats: dict[str, np.ndarray],
    *,
    likelihood: str = "normal",
    x_range=None,
    grid_size: int = 50,
    log_likelihood: bool = False,
    fe_draws: np.ndarray | None = None,
) -> xr.DataTree:
    """Draws and sample stats (chain, draw, ...) -> the DataTree described in the module
    docstring, with the derived quantities added (``fe_draws``: see :func:`pointwise_loglik`)."""
    coords = {"group": list(gd.group_names), "control": list(gd.control_names)}
    x_lo, x_hi = (xr.DataArray(v, dims="group", coords={"group": coords["group"]}) for v in data_ranges(gd, x_range))
    fixed = x_range is not None and not isinstance(x_range, str)
    grid = derived.x_grid(*((float(x_lo[0]), float(x_hi[0])) if fixed else gd.x_pooled), grid_size)
    posterior = derived.add_derived(draws_dataset(draws, coords), x_lo, x_hi, grid, gd.center)
    groups = {
        "posterior": posterior,
        "sample_stats": draws_dataset(stats, {}),
        "derived": xr.Dataset({"p_inverted_u": derived.p_inverted_u(posterior), "x_lo": x_lo, "x_hi": x_hi}),
        "constant_data": constant_data(gd, ss),
    }
    if log_likelihood:
        obs = {"obs": np.arange(gd.n)}
        groups["log_likelihood"] = xr.Dataset(
            {"y": (("chain", "draw", "obs"), pointwise_loglik(posterior, gd, likelihood, fe_draws=fe_draws))},
            coords={**obs, "chain": posterior.chain, "draw": posterior.draw},
        )
        groups["observed_data"] = xr.Dataset({"y": ("obs", gd.y)}, coords=obs)
    return xr.DataTree.from_dict(groups)


def likelihood_form(likelihood: str, marginalize_fe: bool = True) -> str:
    """How the fixed effects enter the likelihood, in words (for the table note and run.json)."""
    if likelihood == "student_t":
        return "Student-t, fixed effects sampled explicitly (flat prior)"
    return "normal, fixed effects integrated out (n - rank(D))" if marginalize_fe else "normal, profile likelihood (FE not counted)"


def collapsible(backend: str, hierarchical: bool, likelihood: str) -> bool:
    """Whether the slopes can be integrated out (:mod:`tradeq.models.bayes.collapsed`): NumPyro,
    hierarchical, Gaussian likelihood."""
    return backend == "numpyro" and hierarchical and likelihood == "normal"


def dense_sites(hierarchical: bool, n_controls: int, likelihood: str) -> list[tuple[str, ...]]:
    """NUTS's dense mass-matrix block: every site but the Student-t model's explicit fixed
    effects (diagonal: nearly independent, and up to thousands of them)."""
    slopes = ("mu_slope", "mu_b2", "tau_slope", "tau_b2", "z_slope", "z_b2") if hierarchical else ("slope", "b2")
    return [slopes + (("beta",) if n_controls else ()) + ("sigma",) + (("nu",) if likelihood == "student_t" else ())]


def _sample(backend, gd, ss, prior, *, hierarchical, likelihood, draws, tune, chains, seed, target_accept, progress, pymc_sampler, chain_method, collapse):
    rows = likelihood == "student_t"
    data = model_data(gd, ss, rows=rows, explicit_fe=rows)
    if collapse and collapsible(backend, hierarchical, likelihood):
        return sample_collapsed(
            data, prior, gd.n_groups, gd.center, seed=seed, draws=draws, tune=tune, chains=chains,
            target_accept=target_accept, chain_method_=chain_method, progress=progress,
        )
    if backend == "numpyro":
        model = make_model(prior, gd.n_groups, center=gd.center, hierarchical=hierarchical, likelihood=likelihood)
        return sample_numpyro(
            model, data, draws=draws, tune=tune, chains=chains, seed=seed, target_accept=target_accept,
            chain_method_=chain_method, progress=progress, dense_mass=dense_sites(hierarchical, gd.n_controls, likelihood),
        )
    from .pymc_model import build_model, sample_pymc  # PyMC imports slowly; only when asked

    model = build_model(
        data, prior, group_names=gd.group_names, control_names=gd.control_names, center=gd.center,
        hierarchical=hierarchical, likelihood=likelihood,
    )
    return sample_pymc(
        model, draws=draws, tune=tune, chains=chains, seed=seed, target_accept=target_accept,
        progress=progress, nuts_sampler=pymc_sampler,
    )


def complete_prior(gd: GroupDesign, prior: PriorScales | None, nu_shape: float | None = None,
                   nu_rate: float | None = None) -> PriorScales:
    """``prior`` (default ``gd.prior``) with one control scale per column of ``gd``.

    A prior written for the design's own controls (before the group main effects joined
    them) gets the main effects' data-scaled scales from ``gd.prior`` appended; any other
    length is an error. ``nu_shape`` / ``nu_rate`` (None: unchanged) replace the Gamma prior
    on the Student-t degrees of freedom.
    """
    prior = gd.prior if prior is None else prior
    n_own = gd.n_controls - len(gd.level_names)
    if len(prior.beta) == n_own and gd.level_names:
        prior = dataclasses.replace(prior, beta=tuple(prior.beta) + tuple(gd.prior.beta[n_own:]))
    if len(prior.beta) != gd.n_controls:
        raise ValueError(f"prior.beta has {len(prior.beta)} scales but the design has {gd.n_controls} controls {gd.control_names}")
    nu = {k: float(v) for k, v in (("nu_shape", nu_shape), ("nu_rate", nu_rate)) if v is not None}
    return dataclasses.replace(prior, **nu) if nu else prior


def run_attrs(gd, ss, prior, info, *, backend, hierarchical, likelihood, seed, draws, tune, chains, target_accept,
              collapse, marginalize_fe, core, x_range, prep_s) -> dict:
    """The DataTree's attributes of a :func:`fit_bayes` run: the model, the sampler's settings and
    timings, the design's sample (n, FE rank, n_eff) and the prior, as JSON-friendly values."""
    return {
        "model": "hierarchical inverted U" if hierarchical else "pooled inverted U",
        "backend": backend,
        "sampler": info["sampler"],
        "chain_method": str(info.get("chain_method", "")),
        "seed": int(seed),
        "draws": int(draws),
        "tune": int(tune),
        "chains": int(chains),
        "target_accept": float(target_accept),
        "collapsed": int(bool(collapse) and collapsible(backend, hierarchical, likelihood)),
        "likelihood": likelihood,
        "likelihood_path": "rows" if likelihood == "student_t" else "sufficient statistics",
        "likelihood_form": likelihood_form(likelihood, marginalize_fe),
        "core": core,
        "center": float(gd.center),
        "marginalize_fe": int(marginalize_fe),
        "fe_rank": int(gd.fe_rank),
        "n_obs": int(gd.n),
        "n_eff": float(ss.n_eff),
        "x_range": json.dumps(x_range if x_range is None or isinstance(x_range, str) else list(map(float, x_range))),
        "prior": prior.to_json(),
        "within_iterations": int(gd.within_iterations),
        "within_converged": int(gd.within_converged),
        "group_levels": json.dumps(list(gd.level_names)),
        "prep_s": prep_s,
        "sampling_s": float(info["sampling_s"]),
        "compile_s": float(info["compile_s"]),
        "sample_dims": ["chain", "draw"],
    }


def fit_bayes(
    design: Design,
    *,
    groups: np.ndarray | None = None,
    group_names: list[str] | None = None,
    core: str,
    backend: str = "numpyro",
    hierarchical: bool = True,
    likelihood: str = "normal",
    draws: int = 1000,
    tune: int = 1000,
    chains: int = 4,
    seed: int = 0,
    prior: PriorScales | None = None,
    x_range=None,
    progress: bool = True,
    center: float | None = None,
    marginalize_fe: bool = True,
    target_accept: float | None = None,
    log_likelihood: bool = False,
    pymc_sampler: str = "pymc",
    chain_method: str = "parallel",
    collapse: bool = True,
    grid_size: int = 50,
    rhat_max: float = 1.01,
    raise_on_fail: bool = False,
    within=None,
    autoscale: float = AUTOSCALE,
    nu_shape: float | None = None,
    nu_rate: float | None = None,
) -> xr.DataTree:
    """Fit the (hierarchical) Bayesian inverted U on the within-transformed design.

    ``groups`` (n,) int codes into ``group_names`` (needed when ``hierarchical``; ignored
    by the pooled model, ``hierarchical=False``, which has one group ``"pooled"``). ``core``
    names the linear term; ``I(core ** 2)`` must be a column of ``design.X``; every other
    column but ``Intercept`` is a control with a common slope. Firm, year (any) fixed
    effects in ``design.fe`` are partialled out exactly (FWL) from the group-interacted
    columns (see :mod:`tradeq.models.bayes.design`).

    ``prior``: :class:`PriorScales` (default: data-scaled, :func:`default_priors` with
    ``autoscale``); a prior with scales for the design's controls only gets the data-scaled
    scales of the group main effects appended (:func:`complete_prior`). ``nu_shape``,
    ``nu_rate`` replace the Student-t degrees-of-freedom prior's.
    ``center``: the reference point c of the slope priors (default: mean of the core term).
    ``marginalize_fe``: integrate the FE out under a flat prior (``n_eff = n - r``) rather
    than profile them out (``n_eff = n``). ``x_range``: the range of the inverted-U check,
    None (each group's own), ``"pooled"`` or ``(lo, hi)``. ``target_accept`` defaults to 0.9
    (hierarchical) or 0.8 (pooled). ``chain_method`` (NumPyro): "parallel" when the CPU
    devices exist (see :mod:`tradeq.models.bayes`), else "vectorized"; or "sequential".
    ``pymc_sampler``: "pymc" or "nutpie". ``collapse`` (NumPyro, hierarchical, Gaussian):
    integrate the group and control slopes out and sample the five hyperparameters, then
    the slopes exactly given them (:mod:`tradeq.models.bayes.collapsed`; same posterior, no funnel);
    ``False`` samples the joint non-centred model. ``log_likelihood``: add pointwise log densities
    (n x draws memory). Convergence problems (R-hat > ``rhat_max``, divergences) raise a
    :class:`~tradeq.models.bayes.diagnostics.ConvergenceWarning`, or an error when
    ``raise_on_fail``.
    """
    require_x64()
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    if likelihood not in ("normal", "student_t"):
        raise ValueError(f"likelihood must be 'normal' or 'student_t', got {likelihood!r}")
    if hierarchical and (groups is None or group_names is None):
        raise ValueError("the hierarchical model needs groups and group_names")
    start = time.perf_counter()
    gd = build_group_design(
        design, groups if hierarchical else None, group_names if hierarchical else None, core,
        center=center, within=within, autoscale=autoscale,
    )
    ss = sufficient_stats(gd.Z, gd.y, gd.n_eff(marginalize_fe))
    prior = complete_prior(gd, prior, nu_shape, nu_rate)
    target_accept = target_accept or (0.9 if hierarchical else 0.8)
    prep_s = time.perf_counter() - start

    draws_, stats_, info = _sample(
        backend, gd, ss, prior, hierarchical=hierarchical, likelihood=likelihood, draws=draws, tune=tune,
        chains=chains, seed=seed, target_accept=target_accept, progress=progress, pymc_sampler=pymc_sampler,
        chain_method=chain_method, collapse=collapse,
    )
    fe_draws = draws_.pop("fe", None)  # nuisance: only the pointwise log likelihood needs them
    dt = to_datatree(
        gd, ss, draws_, stats_, likelihood=likelihood, x_range=x_range, grid_size=grid_size,
        log_likelihood=log_likelihood, fe_draws=fe_draws,
    )
    dt.attrs.update(run_attrs(
        gd, ss, prior, info, backend=backend, hierarchical=hierarchical, likelihood=likelihood, seed=seed,
        draws=draws, tune=tune, chains=chains, target_accept=target_accept, collapse=collapse,
        marginalize_fe=marginalize_fe, core=core, x_range=x_range, prep_s=prep_s,
    ))
    diag = convergence(dt)
    dt.attrs.update({"max_rhat": diag["max_rhat"], "min_ess_bulk": diag["min_ess_bulk"], "divergences": diag["divergences"]})
    check_convergence(diag, rhat_max=rhat_max, raise_error=raise_on_fail)
    dt.attrs["total_s"] = time.perf_counter() - start
    return dt


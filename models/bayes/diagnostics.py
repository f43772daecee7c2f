"""Convergence diagnostics and the posterior summary table.

* :func:`convergence` — rank-normalised split R-hat, bulk and tail ESS (Vehtari et al.
  2021, via arviz-stats) per parameter element, and the number of divergent transitions,
  as a small dict.
* :func:`check_convergence` — a warning (or an error) naming every parameter element with
  R-hat above a threshold, and the divergences.
* :func:`posterior_table` — posterior mean, sd and equal-tailed interval per parameter
  element as a DataFrame (the interval kind and width are explicit: ArviZ 1.x defaults to
  an 89% interval).
"""

from __future__ import annotations

import warnings

import arviz_stats
import numpy as np
import pandas as pd
import xarray as xr

#: Parameters checked by default (those present in the posterior).
MAIN_PARAMS = ("mu_slope", "mu_b2", "tau_slope", "tau_b2", "slope", "b1", "b2", "beta", "sigma", "nu")


class ConvergenceWarning(UserWarning):
    """The sampler's output fails a convergence check."""


class ConvergenceError(RuntimeError):
    """Raised instead of :class:`ConvergenceWarning` when asked to."""


def _posterior(dt) -> xr.Dataset:
    return dt["posterior"].to_dataset() if hasattr(dt, "children") else dt


def _present(ds: xr.Dataset, var_names) -> list[str]:
    return [v for v in (var_names or MAIN_PARAMS) if v in ds.data_vars]


def element_names(da: xr.DataArray, name: str) -> list[str]:
    """``name[coord, ...]`` for every element of a (chain, draw)-free DataArray, C order."""
    if da.ndim == 0:
        return [name]
    labels = [[str(c) for c in da[dim].values] for dim in da.dims]
    index = pd.MultiIndex.from_product(labels) if len(labels) > 1 else pd.Index(labels[0])
    return [f"{name}[{','.join(k) if isinstance(k, tuple) else k}]" for k in index]


def _flatten(ds: xr.Dataset) -> dict[str, float]:
    out = {}
    for name, da in ds.data_vars.items():
        out.update(zip(element_names(da, name), np.asarray(da.values, dtype=float).ravel().tolist()))
    return out


def convergence(dt, var_names=None) -> dict:
    """R-hat, bulk/tail ESS per element and divergences of a fit.

    Returns ``{"rhat": {elem: value}, "ess_bulk": {...}, "ess_tail": {...},
    "divergences": int, "max_rhat": float, "min_ess_bulk": float, "min_ess_tail": float}``
    where ``elem`` is e.g. ``"b1[West:SOE]"``.
    """
    post = _posterior(dt)
    post = post[_present(post, var_names)]
    rhat = _flatten(arviz_stats.rhat(post))
    bulk = _flatten(arviz_stats.ess(post, method="bulk"))
    tail = _flatten(arviz_stats.ess(post, method="tail"))
    divergences = 0
    if hasattr(dt, "children") and "sample_stats" in dt.children and "diverging" in dt["sample_stats"]:
        divergences = int(np.asarray(dt["sample_stats"]["diverging"].values).sum())
    return {
        "rhat": rhat,
        "ess_bulk": bulk,
        "ess_tail": tail,
        "divergences": divergences,
        "max_rhat": float(np.nanmax(list(rhat.values()))),
        "min_ess_bulk": float(np.nanmin(list(bulk.values()))),
        "min_ess_tail": float(np.nanmin(list(tail.values()))),
    }


def check_convergence(
    diag: dict, *, rhat_max: float = 1.01, max_divergences: int = 0, raise_error: bool = False
) -> list[str]:
    """Problems found in :func:`convergence`'s dict; warn (or raise) when there are any.

    A problem is an element with R-hat above ``rhat_max`` (or not finite) or more than
    ``max_divergences`` divergent transitions. Returns the problem descriptions (empty when
    the fit passes).
    """
    problems = []
    bad = {k: v for k, v in diag["rhat"].items() if not np.isfinite(v) or v > rhat_max}
    if bad:
        listed = ", ".join(f"{k} ({v:.3f})" for k, v in sorted(bad.items(), key=lambda kv: -np.nan_to_num(kv[1], nan=np.inf)))
        problems.append(f"R-hat above {rhat_max} for {listed}")
    if diag["divergences"] > max_divergences:
        problems.append(
            f"{diag['divergences']} divergent transitions (more than {max_divergences}); "
            "the posterior may be biased — raise the sampler's target_accept (inference.target_accept) or look at the tau parameters"
        )
    if problems:
        message = "Bayesian fit failed convergence checks: " + "; ".join(problems)
        if raise_error:
            raise ConvergenceError(message)
        warnings.warn(message, ConvergenceWarning, stacklevel=2)
    return problems


def posterior_table(dt, var_names=None, prob: float = 0.95, diagnostics: bool = False) -> pd.DataFrame:
    """Posterior mean, sd and ``prob`` equal-tailed interval per parameter element.

    Columns ``mean``, ``sd``, ``eti_lower``, ``eti_upper`` (``prob`` is in ``df.attrs``),
    with ``ess_bulk`` and ``r_hat`` when ``diagnostics``. The index names elements as
    ``b1[East:SOE]``. Default variables: :data:`MAIN_PARAMS` present, then
    ``turning_point``, ``mu_b1`` and ``mu_turning_point``.
    """
    post = _posterior(dt)
    names = var_names or [*MAIN_PARAMS, "turning_point", "mu_b1", "mu_turning_point"]
    post = post[_present(post, names)]
    dims = ("chain", "draw")
    alpha = (1.0 - prob) / 2.0
    columns = {
        "mean": post.mean(dims),
        "sd": post.std(dims, ddof=1),
        "eti_lower": post.quantile(alpha, dims).drop_vars("quantile"),
        "eti_upper": post.quantile(1.0 - alpha, dims).drop_vars("quantile"),
    }
    if diagnostics:
        columns["ess_bulk"] = arviz_stats.ess(post, method="bulk")
        columns["r_hat"] = arviz_stats.rhat(post)
    table = pd.DataFrame({col: _flatten(ds) for col, ds in columns.items()})
    table.index.name = "parameter"
    table.attrs["prob"] = prob
    table.attrs["interval"] = "equal-tailed"
    return table

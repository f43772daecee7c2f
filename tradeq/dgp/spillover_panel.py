"""A firm panel for the information-spillover study with known coefficients (SPEC 1b, 4).

Firms belong to industries and export in contiguous spells of years; each exporting
firm-year has an export value and a set of product x destination pairs drawn from its
industry's pool. The peer measures are computed from those records by
:func:`tradeq.models.measures.peers.peer_measures` (industry-year groups, leave-one-out) and
:func:`~tradeq.models.measures.peers.network_exposure` (an input-output linkage W), and
quality follows, for firm i in industry j, year t::

    quality_it = b_scale ln peer_mean_it + b_diversity ln peer_diversity_it
                 + b_density ln n_exporters_jt
                 + b_interaction (ln peer_mean_it - m1)(ln n_exporters_jt - m2)
                 + b_network ln network_scale_jt + alpha_i + delta_t + sigma_e e_it

(m1, m2 the sample means; alpha_i ~ N(0, sigma_firm), delta_t ~ N(0, sigma_year)). The
peer measures vary within firm over time because the peer set, its exports and its pairs
do, so the firm + year FE regression identifies every coefficient.

Outputs: the firm-year ``panel`` (firm, year, industry, quality, value, the peer measures,
their logs, ``interaction``), the ``pairs`` (firm, year, product, destination) they were
computed from, ``W`` (J, J), and the :class:`SpilloverTruth`. Firm-years whose industry-year
has one exporter have no peers: their measures and quality are NaN (counted in the truth).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import pandas as pd

from tradeq.models.measures.peers import network_exposure, peer_measures

COEFFICIENTS = ("ln_peer_scale", "ln_peer_diversity", "ln_exporters", "interaction", "ln_network_scale")


@dataclass(frozen=True)
class SpilloverParams:
    n_industries: int = 20
    firms_per_industry: int = 80
    years: tuple = tuple(range(2004, 2014))
    pool_size: int = 150  # product x destination pairs per industry
    mean_pairs: float = 6.0
    b_scale: float = 0.04
    b_diversity: float = 0.05
    b_density: float = 0.02
    b_interaction: float = 0.015
    b_network: float = 0.03
    sigma_firm: float = 0.1
    sigma_year: float = 0.02
    sigma_e: float = 0.03


@dataclass(frozen=True)
class SpilloverTruth:
    coefficients: dict
    params: SpilloverParams
    n_no_peer_rows: int


def _firm_years(rng, p: SpilloverParams) -> pd.DataFrame:
    J, F, T = p.n_industries, p.firms_per_industry, len(p.years)
    n = J * F
    start = rng.integers(0, T, n)
    length = 1 + rng.integers(0, T, n)
    stop = np.minimum(start + length, T)
    reps = stop - start
    firm = np.repeat(np.arange(n), reps)
    t = np.repeat(start, reps) + np.arange(reps.sum()) - np.repeat(np.cumsum(reps) - reps, reps)
    return pd.DataFrame({"firm": firm, "industry": firm // F, "t": t})


def _pairs(rng, fy: pd.DataFrame, p: SpilloverParams) -> pd.DataFrame:
    # a firm's scope grows and shrinks over the years; pools differ by industry
    k = 1 + rng.poisson(p.mean_pairs * rng.lognormal(0, 0.5, len(fy)))
    row = np.repeat(np.arange(len(fy)), k)
    popularity = rng.zipf(1.6, p.pool_size * p.n_industries).reshape(p.n_industries, -1).astype(float)
    cum = np.cumsum(popularity / popularity.sum(axis=1, keepdims=True), axis=1)
    ind = fy["industry"].to_numpy()[row]
    slot = (cum[ind] < rng.random(row.size)[:, None]).sum(axis=1)
    key = ind * p.pool_size + np.minimum(slot, p.pool_size - 1)
    return pd.DataFrame({"row": row, "key": key}).drop_duplicates()


def simulate_spillover_panel(params: SpilloverParams = SpilloverParams(), *, seed: int = 0):
    """(panel, pairs, W, truth); see the module docstring."""
    p = params
    rng = np.random.default_rng(seed)
    fy = _firm_years(rng, p)
    J, T = p.n_industries, len(p.years)
    ind_year = rng.normal(0, 0.4, (J, T))
    fy["value"] = np.exp(11 + rng.normal(0, 1.0, fy["firm"].max() + 1)[fy["firm"]]
                         + ind_year[fy["industry"], fy["t"]] + 0.5 * rng.standard_normal(len(fy)))
    pairs = _pairs(rng, fy, p)
    group = (fy["industry"] * T + fy["t"]).to_numpy()
    pm = peer_measures(group, fy["value"].to_numpy(), pairs["row"].to_numpy(), pairs["key"].to_numpy())
    W = rng.random((J, J)) * (rng.random((J, J)) < 0.3)
    S = np.zeros(J * T)
    S[: pm.group_total.size] = pm.group_total
    net, _ = network_exposure(W, S.reshape(J, T))
    with np.errstate(divide="ignore", invalid="ignore"):
        panel = fy.assign(
            year=np.asarray(p.years)[fy["t"]],
            peer_scale=pm.peer_mean, peer_sum=pm.peer_sum, peer_diversity=pm.peer_diversity,
            n_exporters=pm.n_exporters, network_scale=net[fy["industry"], fy["t"]],
        )
        panel["ln_peer_scale"] = np.log(panel["peer_scale"])
        panel["ln_peer_diversity"] = np.log(panel["peer_diversity"])
        panel["ln_exporters"] = np.log(panel["n_exporters"])
        panel["ln_network_scale"] = np.log(panel["network_scale"])
    panel["interaction"] = ((panel["ln_peer_scale"] - panel["ln_peer_scale"].mean())
                            * (panel["ln_exporters"] - panel["ln_exporters"].mean()))
    b = dict(zip(COEFFICIENTS, (p.b_scale, p.b_diversity, p.b_density, p.b_interaction, p.b_network)))
    xb = sum(b[c] * panel[c].to_numpy() for c in COEFFICIENTS)
    alpha = p.sigma_firm * rng.standard_normal(fy["firm"].max() + 1)
    delta = p.sigma_year * rng.standard_normal(T)
    panel["quality"] = 0.6 + xb + alpha[fy["firm"]] + delta[fy["t"]] + p.sigma_e * rng.standard_normal(len(fy))
    pairs_out = pd.DataFrame({
        "firm": fy["firm"].to_numpy()[pairs["row"]], "year": np.asarray(p.years)[fy["t"].to_numpy()[pairs["row"]]],
        "product": pairs["key"].to_numpy() // 10, "destination": pairs["key"].to_numpy() % 10,
    })
    truth = SpilloverTruth(b, dataclasses.replace(p), pm.n_single_firm_rows)
    return panel.drop(columns="t"), pairs_out, W, truth

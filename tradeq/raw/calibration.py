"""The steps of the raw study's simulation that make its truth exact (:mod:`tradeq.raw.simulated`).

* :func:`clean_lines` — the customs lines the pipeline will see: records of register
  firm-years with a positive quantity and value, added up by line (the collapse of
  :mod:`tradeq.raw.steps` at HS8);
* :func:`anchor_lines` — two calibration exporters per product, each one firm-year with one
  line in the product's busiest cell;
* :func:`measures` — the peer measures of those lines, by the functions the pipeline calls
  (:mod:`tradeq.models.measures.peers`), so the latent quality can be built on them;
* :func:`write_quality` — log quality lambda = 2 A Q into the records' quantities;
* :func:`place_anchors` — the calibration lines' prices and quantities, at residual quality
  ± A, and the quality the pipeline will measure.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from tradeq.dgp.raw_prices import PROVINCES
from tradeq.models.measures.peers import leave_one_out_scale, network_exposure, peer_measures
from tradeq.raw.sigmas import bgw_table, country_key

#: Firm ids of the calibration exporters (the register's own start at 3.1e9, ghosts at 9.9e9).
ANCHOR_ID0 = 9_800_000_000


def is_calibration(firm_id) -> np.ndarray:
    """Whether each firm id is one of the calibration exporters'."""
    ids = np.asarray(firm_id)
    return (ids >= ANCHOR_ID0) & (ids < ANCHOR_ID0 + 100_000_000)


def clean_lines(records: pd.DataFrame, truth_lines: pd.DataFrame, register: pd.DataFrame) -> pd.DataFrame:
    """One row per line with a clean record of a register firm-year: ``line``, ``firm_id``,
    ``year``, ``product``, ``hs8``, ``destination``, ``sigma``, ``value``, ``quantity``."""
    ok = records["quantity"].notna() & (records["quantity"] > 0) & (records["value"] > 0)
    keys = pd.MultiIndex.from_frame(register[["firm_id", "year"]])
    ok &= pd.MultiIndex.from_frame(records[["firm_id", "year"]]).isin(keys)
    sums = records[ok].groupby("line")[["value", "quantity"]].sum()
    meta = truth_lines.loc[sums.index, ["firm_id", "year", "product", "hs8", "destination", "sigma"]]
    return meta.join(sums).rename_axis("line").reset_index()


@dataclass(frozen=True)
class Anchors:
    """The calibration exporters: their ``register`` rows and ``lines`` (one each: ``firm_id``,
    ``year``, ``product``, ``hs8``, ``destination``, ``sigma``, ``value``, ``sign`` ±1)."""

    register: pd.DataFrame
    lines: pd.DataFrame


def _listed(lines: pd.DataFrame) -> np.ndarray:
    """Lines whose destination has its own σ for the product's HS3 in the BGW file (robust to
    ``sigma_fallback=none``)."""
    listed = set(zip(bgw_table()["country"], bgw_table()["hs3"]))
    hs3 = lines["hs8"].str[:3].to_numpy()
    return np.array([(country_key(d), h) in listed for d, h in zip(lines["destination"], hs3)])


def anchor_lines(lines: pd.DataFrame, register: pd.DataFrame, rng) -> Anchors:
    """Two calibration exporters per product with σ, in its busiest cell (of listed destinations
    where it has any)."""
    have = lines[lines["sigma"].notna()].assign(listed=lambda f: _listed(f))
    cells = have.groupby(["product", "destination", "year"]).agg(
        n=("line", "size"), listed=("listed", "first"), value=("value", "median"), hs8=("hs8", "first"),
        sigma=("sigma", "first")).reset_index()
    best = cells.sort_values(["product", "listed", "n"], ascending=[True, False, False]).groupby("product").head(1)
    best = best[best["n"] >= 1].reset_index(drop=True)
    one = best.loc[np.repeat(np.arange(len(best)), 2)].reset_index(drop=True)
    one["sign"] = np.tile([1.0, -1.0], len(best))
    one["firm_id"] = ANCHOR_ID0 + np.arange(len(one), dtype=np.int64)
    industries = register["industry"].astype(str).unique()
    reg = pd.DataFrame({
        "firm_id": one["firm_id"], "year": one["year"].astype(register["year"].dtype),
        "province": rng.choice(np.asarray(PROVINCES), len(one)), "industry": rng.choice(industries, len(one)),
        "ownership": "private", "founded": one["year"] - 5, "total_assets": 50_000.0, "liabilities": 25_000.0,
        "profit": 4_000.0, "inventory": 10_000.0, "employment": 100,
    })
    reg["city"] = reg["province"] + "-1"
    return Anchors(reg[register.columns], one[["firm_id", "year", "product", "hs8", "destination", "sigma", "value",
                                               "sign"]])


def measures(lines: pd.DataFrame, register: pd.DataFrame, linkage: pd.DataFrame) -> pd.DataFrame:
    """Per exporter firm-year (``firm_id``, ``year``, ``export_value``, ``own_diversity``) the
    logs of the pipeline's peer measures (:mod:`tradeq.raw.peers_step`), from ``lines``."""
    fy = lines.groupby(["firm_id", "year"]).agg(export_value=("value", "sum"), own_diversity=("value", "size"))
    fy = fy.reset_index().join(register.set_index(["firm_id", "year"])[["industry", "city"]], on=["firm_id", "year"])
    industries = sorted(register["industry"].astype(str).unique())
    years = sorted(register["year"].unique())
    j = pd.Categorical(fy["industry"].astype(str), categories=industries).codes
    t = pd.Categorical(fy["year"], categories=years).codes
    group = j.astype(np.int64) * len(years) + t
    row = pd.MultiIndex.from_frame(fy[["firm_id", "year"]]).get_indexer(pd.MultiIndex.from_frame(lines[["firm_id", "year"]]))
    key = lines["product"].to_numpy().astype(np.int64) * 1000 + pd.factorize(lines["destination"])[0]
    pm = peer_measures(group, fy["export_value"].to_numpy(), row, key)
    S, D = np.zeros(len(industries) * len(years)), np.zeros(len(industries) * len(years))
    S[: pm.group_total.size], D[: pm.group_pairs.size] = pm.group_total, pm.group_pairs
    W = linkage.reindex(index=industries, columns=industries).fillna(0.0).to_numpy()
    net_s, _ = network_exposure(W, S.reshape(len(industries), len(years)))
    net_d, _ = network_exposure(W, D.reshape(len(industries), len(years)))
    city_year = pd.factorize(fy["city"].astype(str) + "|" + fy["year"].astype(str))[0]
    _, _, city_mean, _ = leave_one_out_scale(city_year, fy["export_value"].to_numpy())
    with np.errstate(divide="ignore", invalid="ignore"):
        logs = {
            "ln_peer_scale": np.log(pm.peer_mean), "ln_peer_diversity": np.log(pm.peer_diversity),
            "ln_exporters": np.log(pm.n_exporters.astype(float)), "ln_network_scale": np.log(net_s.ravel()[group]),
            "ln_network_diversity": np.log(net_d.ravel()[group]), "ln_city_peer_scale": np.log(city_mean),
            "ln_own_diversity": np.log(fy["own_diversity"].to_numpy(float)),
        }
    return fy.assign(**{k: np.where(np.isfinite(v), v, np.nan) for k, v in logs.items()})


def write_quality(records: pd.DataFrame, lines: pd.DataFrame, truth_lines: pd.DataFrame, q_line: pd.Series,
                  scale: float) -> pd.DataFrame:
    """Records with log quality lambda = 2 ``scale`` Q on the lines of ``q_line`` that have σ.

    With price on quality 1, quality moves the price and quantity in opposite directions and
    leaves the value: the line's y = ln q + sigma ln p moves by (sigma - 1)(lambda - lambda_old).
    Each clean line's quantity is set so that its collapsed y is that of the whole line, from
    its clean value: a line that lost one of its trade-mode records to a defect then keeps its
    demand equation (it would otherwise carry ln(share) into its quality) and its value.
    """
    have = lines[lines["sigma"].notna() & lines["line"].isin(q_line.index)].set_index("line")
    full = truth_lines.loc[have.index]
    sigma = have["sigma"].to_numpy()
    y_full = _y(full["value"].to_numpy(), full["quantity"].to_numpy(), sigma)
    lam = 2.0 * scale * q_line.reindex(have.index).to_numpy()
    y_new = y_full + (sigma - 1.0) * (lam - full["lam"].to_numpy())
    q_new = np.exp((y_new - sigma * np.log(have["value"].to_numpy())) / (1.0 - sigma))
    factor = pd.Series(q_new / have["quantity"].to_numpy(), index=have.index)
    out = records.copy()
    out["quantity"] = out["quantity"] * factor.reindex(out["line"]).fillna(1.0).to_numpy()
    return out


@dataclass(frozen=True)
class Deviation:
    """``firm_year``: the TQ the pipeline will measure, by (firm_id, year); ``max_abs``: the
    largest |r - 1/2| of a regular line (below 1/2: the calibration lines are the extremes);
    ``own_cell_share``: mean over firm-years of Σ_l s_l / n_cell(l)."""

    firm_year: pd.Series
    max_abs: float
    own_cell_share: float


def _y(value, quantity, sigma):
    return np.log(quantity) + sigma * np.log(value / quantity)


def place_anchors(anchors: Anchors, lines: pd.DataFrame, q_line: pd.Series, scale: float):
    """(calibration records in the customs format, :class:`Deviation`).

    In the cell c of a calibration line, chi = mean over the regular lines of
    y - (sigma - 1) lambda (y = ln q + sigma ln p); the line gets lambda = lambda-bar_c ± A and
    y = chi + (sigma - 1) lambda, so its residual e/(sigma - 1) is exactly ± A (the pair adds
    2 lambda-bar_c to the cell's lambda and leaves its mean as it was). Its price is then set
    so that its value is the one the peer measures were computed with:
    ln v = y + (1 - sigma) ln p.
    """
    A = float(scale)
    reg = lines[lines["sigma"].notna() & lines["line"].isin(q_line.index)].copy()
    reg["lam"] = 2.0 * A * q_line.reindex(reg["line"]).to_numpy()
    reg["y"] = _y(reg["value"], reg["quantity"], reg["sigma"])
    cell = ["product", "destination", "year"]
    stats = reg.assign(chi=reg["y"] - (reg["sigma"] - 1) * reg["lam"]).groupby(cell)[["chi", "lam"]].mean()
    anc = anchors.lines.join(stats, on=cell)
    anc = anc[anc["chi"].notna()].copy()
    anc["lam"] = anc["lam"] + anc["sign"] * A
    anc["y"] = anc["chi"] + (anc["sigma"] - 1) * anc["lam"]
    ln_p = (anc["y"] - np.log(anc["value"])) / (anc["sigma"] - 1)
    anc["quantity"] = np.exp(anc["y"] - anc["sigma"] * ln_p)
    records = anc.assign(trade_mode="general", unit="kg")[
        ["firm_id", "year", "hs8", "destination", "trade_mode", "value", "quantity", "unit"]]
    return records.reset_index(drop=True), _deviation(reg, anc, A)


def _deviation(reg: pd.DataFrame, anc: pd.DataFrame, A: float) -> Deviation:
    """The pipeline's eqs. 1-4 on these lines, read off the calibration: r = 1/2 + e/(2A(σ-1))."""
    cell = ["product", "destination", "year"]
    cols = ["firm_id", "year", "product", "destination", "value", "sigma", "y"]
    both = pd.concat([reg[cols].assign(regular=True), anc[cols].assign(regular=False)], ignore_index=True)
    g = both.groupby(cell)["y"]
    both["n_cell"] = g.transform("size")
    both["r"] = 0.5 + (both["y"] - g.transform("mean")) / (2 * A * (both["sigma"] - 1))
    both = both[both["n_cell"] > 1]  # singletons get no quality
    regular = both[both["regular"]]
    fy = regular.assign(vr=regular["value"] * regular["r"], vs=regular["value"] / regular["n_cell"]).groupby(
        ["firm_id", "year"])[["vr", "vs", "value"]].sum()
    return Deviation(firm_year=fy["vr"] / fy["value"], max_abs=float((regular["r"] - 0.5).abs().max()),
                     own_cell_share=float((fy["vs"] / fy["value"]).mean()))

"""Raw records to the estimation panel: :func:`build_panel`.

Inputs (paths to .parquet/.csv files, or pandas frames; columns in :mod:`tradeq.raw.readers`,
their meaning in :mod:`tradeq.dgp.raw_customs`, ``raw_firms`` and ``raw_prices``):

* customs records, firm x HS8 x destination x year (x trade mode, month ...), value and quantity;
* the firm register, one row per firm-year (province, industry, founding year, balance sheet);
* retail price indices by year x province x category, previous year = 100;
* optionally an industry linkage matrix (a frame with industry codes as index and columns).

Output: one row per register firm-year with export lines that have a quality —
``firm_id, year, province, city, industry, ownership``, ``quality`` (KSW, SPEC 2b),
``n_quality_lines``, ``export_value``, ``Market`` = ln integ and ``integ`` of the province-year
(SPEC 2a), the controls ``scale = ln assets``, ``age = ln(year - founded + 1)``,
``roa = profit / assets``, ``rdebt = liabilities / assets``, ``invint = inventory / assets``,
``fic = ln|SA|`` (assets / ``sa_assets_unit`` in millions, ``sa_size_cap``, ``sa_age_cap``;
see :mod:`tradeq.models.measures.sa_index` on units), and the peer measures (SPEC 1b;
:mod:`tradeq.raw.peers_step`): ``peer_scale`` (leave-one-out mean), ``peer_sum``,
``peer_diversity``, ``n_exporters``, ``exporter_share``, ``own_diversity`` (the firm-year's
own distinct product x destination pairs), with a register ``city`` the city-level control
``city_peer_scale``, with a linkage ``network_scale``, ``network_diversity``; their logs
``ln_peer_scale``, ``ln_peer_diversity``, ``ln_peer_sum``, ``ln_exporters`` (ln n),
``ln_n_peers`` (ln(n - 1)), ``ln_peer_diversity_per_peer`` (ln(peer_diversity / (n - 1))),
``ln_own_diversity``, ``ln_city_peer_scale``, ``ln_network_scale``, ``ln_network_diversity``
(NaN where the level is not positive). For the study's splits: ``quality_high_income`` and
``quality_low_income`` (eq. 4 over the lines to high- and to low-income destinations only,
:mod:`tradeq.raw.classifications`), ``intensity`` (labour / capital / technology from the
industry code) and ``industry_year`` (the cluster the peer measures vary by). Other register
columns (``founded``, ``employment`` ...) are carried through.

The relational work (cleaning, matching, collapsing, group-bys, joins) runs in DuckDB,
which streams files and spills to disk beyond ``memory_limit``; the numerics run on NumPy
batches: HS chapters for quality, industries for the peers (see those modules for why the
split is exact and how it maps onto many machines). The panel and its manifest are written
to ``out_dir`` and to the cache (``cache_dir/<key>/``); a rerun with the same inputs and
settings loads the cache.
"""

from __future__ import annotations

import dataclasses
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from tradeq.errors import DataError
from tradeq.models.measures.export_quality import combine_firm_year
from tradeq.models.measures.market_integration import market_integration
from tradeq.models.measures.sa_index import fic_index
from tradeq.raw import readers, steps
from tradeq.raw.classifications import intensity
from tradeq.raw.manifest import Manifest, cache_key, load_cached, write_outputs
from tradeq.raw.peers_step import peer_step
from tradeq.raw.quality_step import estimate_quality


@dataclass(frozen=True)
class PanelSettings:
    """Every choice that changes the panel (all enter the cache key). ``trade_modes``: keep
    only these (e.g. ``("general",)``; None keeps all); ``high_income``: the high-income
    destinations (None: :data:`tradeq.raw.classifications.HIGH_INCOME`); ``intensity``:
    industry code -> labour / capital / technology (None: the built-in map)."""

    product_digits: int = 8
    sigma: object = "bgw"
    sigma_fallback: str = "hs3_median"
    sigma_default: float | None = None
    trade_modes: tuple[str, ...] | None = None
    high_income: tuple[str, ...] | None = None
    intensity: dict | None = None
    sa_assets_unit: float = 1000.0  # register units per million (thousand yuan -> million yuan)
    sa_size_cap: float = 4500.0
    sa_age_cap: float = 37.0
    market_ddof: int = 1
    max_partition_rows: int = 20_000_000
    threads: int = 2
    memory_limit: str = "4GB"

    def record(self) -> dict:
        return {k: v for k, v in dataclasses.asdict(self).items() if k not in ("threads", "memory_limit")}


def _province_market(con, ddof: int) -> pd.DataFrame:
    prices = con.execute("SELECT year, CAST(province AS VARCHAR) AS province, CAST(category AS VARCHAR) AS category, "
                         "CAST(\"index\" AS DOUBLE) AS idx FROM prices").df()
    dup = prices.duplicated(["year", "province", "category"])
    if dup.any():
        row = prices[dup].iloc[0]
        raise DataError(f"prices: duplicate row for year {row.year}, province {row.province!r}, category {row.category!r}")
    da = xr.DataArray.from_series(prices.set_index(["year", "province", "category"])["idx"])
    res = market_integration(da, ddof=ddof)
    return res.to_dataset().rename({"market": "Market"}).to_dataframe().reset_index()[["year", "province", "Market", "integ"]]


def firm_controls(frame: pd.DataFrame, s: PanelSettings | None = None) -> pd.DataFrame:
    """The SPEC 1a controls of register firm-years (``year``, ``founded``, ``total_assets``,
    ``liabilities``, ``profit``, ``inventory``): ``scale``, ``age``, ``roa``, ``rdebt``,
    ``invint``, ``fic`` (module docstring), on ``frame``'s index."""
    s = s or PanelSettings()
    assets = frame["total_assets"].to_numpy(np.float64)
    ok = np.isfinite(assets) & (assets > 0)
    age_years = (frame["year"] - frame["founded"]).to_numpy(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = pd.DataFrame({
            "scale": np.where(ok, np.log(np.where(ok, assets, 1.0)), np.nan),
            "age": np.where(age_years >= 0, np.log(age_years + 1.0), np.nan),
            "roa": frame["profit"].to_numpy(np.float64) / np.where(ok, assets, np.nan),
            "rdebt": frame["liabilities"].to_numpy(np.float64) / np.where(ok, assets, np.nan),
            "invint": frame["inventory"].to_numpy(np.float64) / np.where(ok, assets, np.nan),
        }, index=frame.index)
    usable = ok & (age_years >= 0)
    fic = np.full(len(frame), np.nan)
    fic[usable] = fic_index(assets[usable] / s.sa_assets_unit, age_years[usable],
                            size_cap=s.sa_size_cap, age_cap=s.sa_age_cap)
    out["fic"] = fic
    return out


def _assemble(con, quality: dict, peers: pd.DataFrame, market: pd.DataFrame, s: PanelSettings, attrition):
    tq = combine_firm_year(quality["weighted"], quality["value"])
    high = combine_firm_year(quality["weighted_high"], quality["value_high"])
    low = combine_firm_year(quality["weighted"] - quality["weighted_high"], quality["value"] - quality["value_high"])
    have = np.flatnonzero(np.isfinite(tq))
    n_exp = con.execute("SELECT count(DISTINCT fy) FROM lines").fetchall()[0][0]
    attrition.add("exporter firm-years with a quality", "firm-years", n_exp, have.size)
    con.register("quality_fy", pd.DataFrame({"fy": have, "quality": tq[have], "n_quality_lines": quality["n_lines"][have],
                                             "quality_high_income": high[have], "quality_low_income": low[have]}))
    panel = con.execute("""
        SELECT f.fy, f.firm_id, f.year, CAST(f.province AS VARCHAR) AS province, f.* EXCLUDE (fy, firm_id, year, province),
               q.quality, q.n_quality_lines, q.quality_high_income, q.quality_low_income
        FROM quality_fy q JOIN fy_dim f USING (fy) ORDER BY f.fy
    """).df()
    con.unregister("quality_fy")
    panel = panel.join(firm_controls(panel, s))
    panel = panel.merge(market, on=["year", "province"], how="left")
    attrition.add("firm-years with Market (province-year in the price indices)", "firm-years",
                  len(panel), int(panel["Market"].notna().sum()), "rows without Market are kept with NaN")
    panel = panel.join(peers, on="fy")
    panel = _study_columns(panel, s)
    drop = ["fy", "industry_key", "total_assets", "liabilities", "profit", "inventory"]
    return panel.drop(columns=[c for c in drop if c in panel.columns])


#: The logs of the peer measures: column -> (numerator, denominator or None).
LOG_MEASURES = {
    "ln_peer_scale": ("peer_scale", None), "ln_peer_diversity": ("peer_diversity", None),
    "ln_peer_sum": ("peer_sum", None), "ln_exporters": ("n_exporters", None), "ln_n_peers": ("n_peers", None),
    "ln_peer_diversity_per_peer": ("peer_diversity", "n_peers"), "ln_own_diversity": ("own_diversity", None),
    "ln_city_peer_scale": ("city_peer_scale", None), "ln_network_scale": ("network_scale", None),
    "ln_network_diversity": ("network_diversity", None),
}


def _study_columns(panel: pd.DataFrame, s: PanelSettings) -> pd.DataFrame:
    """Logs of the peer measures (NaN where not positive) and the study's split columns."""
    levels = panel.assign(n_peers=panel["n_exporters"] - 1)
    logs = {}
    with np.errstate(divide="ignore", invalid="ignore"):
        for name, (num, den) in LOG_MEASURES.items():
            if num not in levels.columns:
                continue
            x = levels[num].astype(np.float64) / (1.0 if den is None else levels[den].astype(np.float64))
            logs[name] = np.log(x.where(x > 0))
    extra = pd.DataFrame(logs, index=panel.index)
    extra["intensity"] = intensity(panel["industry"], s.intensity)
    extra["industry_year"] = panel["industry"].astype(str) + "-" + panel["year"].astype(str)
    return panel.join(extra)


def _build(con, s: PanelSettings, linkage, attrition: steps.Attrition) -> tuple[pd.DataFrame, dict]:
    clock = _Clock()
    steps.register_dimension(con, attrition)
    sources = steps.build_lines(con, attrition, s.product_digits, s.sigma, s.sigma_fallback, s.sigma_default,
                                s.trade_modes, s.high_income)
    clock("clean, match, collapse, sigma")
    n_fy = con.execute("SELECT count(*) FROM fy_dim").fetchall()[0][0]
    quality = estimate_quality(con, attrition, n_fy, s.max_partition_rows)
    clock("quality")
    peers, peer_stats = peer_step(con, n_fy, s.max_partition_rows, linkage)
    clock("peers")
    market = _province_market(con, s.market_ddof)
    panel = _assemble(con, quality, peers, market, s, attrition)
    clock("market, controls, assembly")
    return panel, {"sigma_sources": sources, "quality_batches": quality["batches"], **peer_stats,
                   "timings_s": clock.laps}


class _Clock:
    """Wall and CPU seconds (all threads of the process) of each stage: the manifest's
    ``outputs.timings_s`` as ``{stage: [wall, cpu]}``."""

    def __init__(self):
        self.laps, self._t = {}, (time.perf_counter(), time.process_time())

    def __call__(self, name: str) -> None:
        now = (time.perf_counter(), time.process_time())
        self.laps[name] = [round(now[0] - self._t[0], 3), round(now[1] - self._t[1], 3)]
        self._t = now


def _linkage_hash(linkage) -> dict:
    if linkage is None:
        return {}
    frame = pd.DataFrame(linkage)
    return {"linkage": {"path": None, "sha256": readers.frame_sha256(frame.reset_index().astype(str)),
                        "rows": len(frame), "columns": [str(c) for c in frame.columns]}}


def build_panel(customs, register, prices, *, linkage=None, settings: PanelSettings | None = None,
                out_dir=None, cache_dir=None, temp_directory=None) -> tuple[pd.DataFrame, Manifest]:
    """Build (or load from ``cache_dir``) the firm-year estimation panel; returns (panel, manifest).

    ``out_dir``: also write ``panel.parquet`` and ``manifest.json`` there. ``temp_directory``:
    where DuckDB spills (default: a temporary folder).
    """
    s = settings or PanelSettings()
    with tempfile.TemporaryDirectory(prefix="tradeq-raw-") as tmp:
        con = readers.connect(s.threads, s.memory_limit, temp_directory or tmp)
        try:
            infos = [readers.register_source(con, "customs", customs, readers.CUSTOMS_COLUMNS),
                     readers.register_source(con, "register", register, readers.REGISTER_COLUMNS),
                     readers.register_source(con, "prices", prices, readers.PRICE_COLUMNS)]
            inputs = {i.name: i.record() for i in infos} | _linkage_hash(linkage)
            key = cache_key(inputs, s.record())
            if cache_dir is not None and (hit := load_cached(Path(cache_dir) / key[:24])) is not None:
                panel, manifest = hit
                if out_dir is not None:
                    write_outputs(out_dir, panel, manifest)
                return panel, manifest
            attrition = steps.Attrition()
            panel, stats = _build(con, s, linkage, attrition)
        finally:
            con.close()
    manifest = Manifest(inputs, s.record(), attrition.rows, {"rows": len(panel), "columns": list(panel.columns), **stats},
                        _versions(), key)
    for folder in [f for f in (out_dir, None if cache_dir is None else Path(cache_dir) / key[:24]) if f is not None]:
        write_outputs(folder, panel, manifest)
    return panel, manifest


def _versions() -> dict:
    import duckdb

    import tradeq
    return {"tradeq": tradeq.__version__, "duckdb": duckdb.__version__, "numpy": np.__version__, "pandas": pd.__version__}

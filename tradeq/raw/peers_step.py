"""The peer-information step (SPEC 1b), one batch of industries at a time.

Peers are the other exporters of the firm's industry in the year (the register's
industry), over every line of a matched firm, with or without σ. Leave-one-out sums and
distinct pair counts never cross industry-years, so industries are packed into batches of
at most ``max_rows`` distinct firm-year x product x destination pairs and each batch goes
through :func:`tradeq.models.measures.peers.peer_measures` alone. The cross-industry
channel needs only the industry-year totals of every batch, combined at the end through
the linkage matrix (:func:`~tradeq.models.measures.peers.network_exposure`).

Exporter density is the number of exporters in the industry-year (the firm included);
``exporter_share`` divides it by the register's firms in that industry-year.
``own_diversity`` is the firm-year's own distinct product x destination pairs (the firm's
internal information network). With a ``city`` column in the register, the city-level
spillover control ``city_peer_scale`` is the leave-one-out mean export value of the other
exporters of the firm's city in the year, all industries together (one pass over the
exporter firm-years, which are few: one row each); a missing city gives NaN.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from tradeq.errors import DataError
from tradeq.models.measures.codes import dense_codes, distinct_sorted, positions_of
from tradeq.models.measures.peers import exporter_share, leave_one_out_scale, network_exposure, peer_measures
from tradeq.raw.quality_step import partition_batches


def _exporter_firm_years(con) -> tuple[list[str], list[int]]:
    con.execute("""
        CREATE OR REPLACE TEMP TABLE exp_fy AS
        SELECT fy, industry_key, year, sum(value) AS export_value, count(*) AS n_pairs
        FROM lines GROUP BY ALL
    """)
    industries = [r[0] for r in con.execute("SELECT DISTINCT industry_key FROM fy_dim ORDER BY 1").fetchall()]
    years = [r[0] for r in con.execute("SELECT DISTINCT year FROM fy_dim ORDER BY 1").fetchall()]
    return industries, years


def _batch(con, industries: list[str], n_dest: int):
    listed = ", ".join("'" + i.replace("'", "''") + "'" for i in industries)
    rows = con.execute(f"""
        SELECT fy, industry_key, year, export_value, n_pairs FROM exp_fy WHERE industry_key IN ({listed}) ORDER BY fy
    """).df()
    pairs = con.execute(f"""
        SELECT fy, product_code::BIGINT * {n_dest} + dest_code AS pair_key
        FROM lines WHERE industry_key IN ({listed})
    """).fetchnumpy()  # lines are distinct firm-year x product x destination already
    return rows, np.asarray(pairs["fy"]), np.asarray(pairs["pair_key"])


def _linkage_matrix(linkage: pd.DataFrame | None, industries: list[str]) -> np.ndarray | None:
    if linkage is None:
        return None
    W = pd.DataFrame(linkage)
    W.index, W.columns = W.index.astype(str), W.columns.astype(str)
    if not W.index.is_unique or not W.columns.is_unique:
        raise DataError("linkage matrix: industry labels must be unique in its index and columns")
    return W.reindex(index=industries, columns=industries).fillna(0.0).to_numpy(dtype=np.float64)


def peer_step(con, n_fy: int, max_rows: int, linkage=None) -> tuple[pd.DataFrame, dict]:
    """Per exporter firm-year (frame indexed by ``fy``) the peer measures; and counts."""
    industries, years = _exporter_firm_years(con)
    J, T = len(industries), len(years)
    ind_code = {k: j for j, k in enumerate(industries)}
    year_code = {y: t for t, y in enumerate(years)}
    n_dest = con.execute("SELECT count(*) FROM dest_dim").fetchall()[0][0]
    counts = con.execute("SELECT industry_key, sum(n_pairs) FROM exp_fy GROUP BY 1 ORDER BY 1").fetchall()
    S, D = np.zeros(J * T), np.zeros(J * T)
    parts, single_groups = [], 0
    for batch in partition_batches(counts, max_rows):
        rows, pair_fy, pair_key = _batch(con, batch, n_dest)
        group = rows["industry_key"].map(ind_code).to_numpy() * T + rows["year"].map(year_code).to_numpy()
        g_inv, _ = dense_codes(group)
        local = distinct_sorted(group)
        pm = peer_measures(g_inv, rows["export_value"].to_numpy(), positions_of(rows["fy"].to_numpy(), pair_fy),
                           pair_key)
        S[local], D[local] = pm.group_total, pm.group_pairs
        single_groups += pm.n_single_firm_groups
        parts.append(pd.DataFrame({
            "fy": rows["fy"].to_numpy(), "group": group, "export_value": rows["export_value"].to_numpy(),
            "peer_sum": pm.peer_sum, "peer_scale": pm.peer_mean, "peer_diversity": pm.peer_diversity,
            "n_exporters": pm.n_exporters, "own_only_pairs": pm.own_only_pairs,
            "own_diversity": rows["n_pairs"].to_numpy(),
        }))
    out = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["fy", "group"])
    firms = con.execute("SELECT industry_key, year, count(*) FROM fy_dim GROUP BY ALL").fetchall()
    n_firms = np.zeros(J * T)
    for ind, yr, n in firms:
        n_firms[ind_code[ind] * T + year_code[yr]] = n
    out["exporter_share"] = exporter_share(out["n_exporters"].to_numpy(), n_firms[out["group"].to_numpy()])
    W = _linkage_matrix(linkage, industries)
    if W is not None:
        scale, isolated = network_exposure(W, S.reshape(J, T))
        div, _ = network_exposure(W, D.reshape(J, T))
        out["network_scale"] = scale.ravel()[out["group"].to_numpy()]
        out["network_diversity"] = div.ravel()[out["group"].to_numpy()]
    out = out.drop(columns="group").set_index("fy")
    city = _city_peers(con)
    if city is not None:
        out = out.join(city)
    stats = {"single_exporter_groups": single_groups, "no_peer_firm_years": int(out["peer_scale"].isna().sum())}
    return out, stats


def _city_peers(con) -> pd.DataFrame | None:
    """``city_peer_scale`` and ``n_city_exporters`` by ``fy`` (None without a register city)."""
    if "city" not in [r[0] for r in con.execute("DESCRIBE fy_dim").fetchall()]:
        return None
    rows = con.execute("""
        SELECT e.fy, e.export_value, f.city IS NULL AS no_city,
               (dense_rank() OVER (ORDER BY CAST(f.city AS VARCHAR), e.year) - 1)::BIGINT AS city_year
        FROM exp_fy e JOIN fy_dim f USING (fy) ORDER BY e.fy
    """).df()
    n, _, mean, _ = leave_one_out_scale(rows["city_year"].to_numpy(), rows["export_value"].to_numpy())
    no_city = rows["no_city"].to_numpy(bool)
    return pd.DataFrame({"city_peer_scale": np.where(no_city, np.nan, mean),
                         "n_city_exporters": np.where(no_city, np.nan, n)}, index=rows["fy"].to_numpy())

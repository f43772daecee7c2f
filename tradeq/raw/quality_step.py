"""The demand-residual quality step, one batch of HS chapters at a time.

The FE dimension of the KSW regression, product x destination x year, never crosses
products, and the min-max normalisation is within product: records of different products
never meet until the firm-year average, which is a ratio of sums (Σ v r / Σ v). So the lines
are split by HS chapter (the first two digits), chapters are packed greedily into batches
of at most ``max_rows`` lines, and each batch is fetched from DuckDB as NumPy arrays and
estimated alone by :mod:`tradeq.models.measures.export_quality` (the FE replica's singleton
drop and within transform). Peak memory is one batch, whatever the number of records; a
chapter larger than ``max_rows`` is a batch of its own (it could be split further by
product: nothing crosses products).

Beyond one machine the same split is a map-reduce: each worker runs a set of chapters and
writes its per-firm-year (Σ v r, Σ v) to parquet; one reduce step adds them by firm-year
and divides. The result is identical to one pass, because each piece is exact.
"""

from __future__ import annotations

import numpy as np

from tradeq.models.measures.export_quality import demand_design, firm_year_sums, record_quality
from tradeq.raw.steps import Attrition


def partition_batches(counts: list[tuple[str, int]], max_rows: int) -> list[list[str]]:
    """Greedy packing of (chapter, rows) in order into batches of at most ``max_rows`` rows."""
    batches, current, size = [], [], 0
    for chapter, n in counts:
        if current and size + n > max_rows:
            batches.append(current)
            current, size = [], 0
        current.append(chapter)
        size += n
    if current:
        batches.append(current)
    return batches


def _batch_arrays(con, chapters: list[str]) -> dict:
    listed = ", ".join(f"'{c}'" for c in chapters)
    return con.execute(f"""
        SELECT line_id, fy, product_code, dest_code, year, value, quantity, sigma, high_income
        FROM lines WHERE sigma IS NOT NULL AND chapter IN ({listed})
    """).fetchnumpy()


def estimate_quality(con, attrition: Attrition, n_fy: int, max_rows: int, chapters=None) -> dict:
    """Firm-year TQ parts over all batches: ``weighted`` (Σ v r), ``value`` (Σ v),
    ``n_lines`` (lines with a quality), the same two sums over the lines to high-income
    destinations (``weighted_high``, ``value_high``; the rest are the low-income lines'),
    each (n_fy,), and the number of batches. ``chapters``: only these HS chapters (one
    worker's share of a map-reduce)."""
    counts = con.execute(
        "SELECT chapter, count(*) FROM lines WHERE sigma IS NOT NULL GROUP BY chapter ORDER BY chapter"
    ).fetchall()
    if chapters is not None:
        counts = [(c, n) for c, n in counts if c in set(chapters)]
    weighted, value, n_lines = np.zeros(n_fy), np.zeros(n_fy), np.zeros(n_fy, np.int64)
    weighted_high, value_high = np.zeros(n_fy), np.zeros(n_fy)
    n_in = n_single = n_degenerate = 0
    batches = partition_batches(counts, max_rows)
    for chapters in batches:
        a = {k: np.asarray(v) for k, v in _batch_arrays(con, chapters).items()}
        n_in += a["line_id"].size
        design = demand_design(np.log(a["quantity"]), np.log(a["value"] / a["quantity"]), a["sigma"],
                               a["product_code"], a["dest_code"], a["year"], row_id=a["line_id"],
                               carry={"value": a["value"], "fy": a["fy"], "high": a["high_income"]})  # travel with their rows
        rec = record_quality(design)
        fy = rec.carried["fy"]
        w, v = firm_year_sums(rec.r, rec.carried["value"], fy, n_fy)
        weighted += w
        value += v
        high = rec.carried["high"].astype(bool)
        w, v = firm_year_sums(rec.r[high], rec.carried["value"][high], fy[high], n_fy)
        weighted_high += w
        value_high += v
        n_lines += np.bincount(fy[np.isfinite(rec.r)], minlength=n_fy)
        n_single += rec.n_singletons
        n_degenerate += rec.n_degenerate
    after_single = attrition.add("alone in their product x destination x year cell (singletons)", "lines",
                                 n_in, n_in - n_single, f"{len(batches)} batch(es) of HS chapters")
    attrition.add("products whose lines all have one quality (max = min)", "lines",
                  after_single, after_single - n_degenerate)
    return {"weighted": weighted, "value": value, "n_lines": n_lines, "weighted_high": weighted_high,
            "value_high": value_high, "batches": len(batches)}

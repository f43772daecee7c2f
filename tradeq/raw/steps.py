"""The relational steps of the raw pipeline, in DuckDB SQL, each counting what it drops.

In order (every count is of the survivors of the steps before it):

1. customs records read;
2. dropped: a missing firm, year, product or destination;
3. dropped: quantity missing, non-finite or <= 0;
4. dropped: value missing, non-finite or <= 0;
   (with ``trade_modes``) dropped: a trade mode not among them (e.g. processing trade);
5. dropped: the firm-year is not in the register (unmatched firms);
6. records collapsed to one line per firm x product x destination x year (trade modes,
   months and duplicate lines are added up: the unit of the demand regression);
7. lines without σ (:mod:`tradeq.raw.sigmas`) are kept for the peer measures but get no quality.

Products (the first ``product_digits`` digits of the HS code) and destinations become
integer codes through small dimension tables, and σ is resolved once for every (HS3,
destination) of them, so the records are grouped and joined on integers in one pass. The
destination table also carries each destination's income group
(:func:`tradeq.raw.classifications.high_income`), which the lines inherit.

DuckDB runs each step as a streaming scan or an out-of-core hash aggregate/join: with
``memory_limit`` reached it spills to ``temp_directory`` instead of failing, so the record
count is bounded by disk, not memory.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from tradeq.errors import DataError
from tradeq.raw.classifications import high_income
from tradeq.raw.sigmas import resolve_sigmas


@dataclass
class Attrition:
    """Rows in and out of every step, in order (the manifest's attrition table)."""

    rows: list = field(default_factory=list)

    def add(self, step: str, unit: str, rows_in: int, rows_out: int, note: str = "") -> int:
        self.rows.append({"step": step, "unit": unit, "rows_in": int(rows_in), "rows_out": int(rows_out),
                          "dropped": int(rows_in) - int(rows_out), "note": note})
        return int(rows_out)

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows, columns=["step", "unit", "rows_in", "rows_out", "dropped", "note"])


def _one(con, sql: str):
    return con.execute(sql).fetchall()[0]


def register_dimension(con, attrition: Attrition) -> int:
    """``fy_dim``: one row per register firm-year with its code ``fy``; duplicates are an error."""
    n, distinct = _one(con, "SELECT count(*), count(DISTINCT (firm_id, year)) FROM register")
    if n != distinct:
        dup = _one(con, "SELECT firm_id, year FROM register GROUP BY ALL HAVING count(*) > 1 LIMIT 1")
        raise DataError(f"register has {n - distinct} duplicate (firm_id, year) rows, e.g. firm_id={dup[0]}, year={dup[1]}")
    con.execute("""
        CREATE OR REPLACE TEMP TABLE fy_dim AS
        SELECT (row_number() OVER (ORDER BY firm_id, year) - 1)::BIGINT AS fy, *,
               coalesce(CAST(industry AS VARCHAR), '<missing>') AS industry_key
        FROM register
    """)
    return attrition.add("register firm-years", "firm-years", n, n)


def _sql_list(values) -> str:
    return ", ".join("'" + str(v).replace("'", "''") + "'" for v in values)


def _records_ok(con, attrition: Attrition, product_digits: int, trade_modes=None) -> int:
    """Steps 1-4: the ``records_ok`` view of records with keys, positive quantity and value
    (and, with ``trade_modes``, one of those trade modes)."""
    keys = "firm_id IS NOT NULL AND year IS NOT NULL AND hs8 IS NOT NULL AND destination IS NOT NULL"
    qty = "quantity IS NOT NULL AND isfinite(quantity) AND quantity > 0"
    val = "value IS NOT NULL AND isfinite(value) AND value > 0"
    mode = "TRUE"
    if trade_modes:
        columns = [r[0] for r in con.execute("DESCRIBE SELECT * FROM customs").fetchall()]
        if "trade_mode" not in columns:
            raise DataError(f"customs records have no 'trade_mode' column, needed to keep only trade modes "
                            f"{list(trade_modes)}; they have {columns}")
        mode = f"CAST(trade_mode AS VARCHAR) IN ({_sql_list(trade_modes)})"
    typed = ("SELECT firm_id, year, hs8, destination, CAST(value AS DOUBLE) AS value, "
             "CAST(quantity AS DOUBLE) AS quantity" + (", trade_mode" if trade_modes else "") + " FROM customs")
    n, k, q, v, m = _one(con, f"""
        SELECT count(*), count(*) FILTER ({keys}), count(*) FILTER ({keys} AND {qty}),
               count(*) FILTER ({keys} AND {qty} AND {val}), count(*) FILTER ({keys} AND {qty} AND {val} AND {mode})
        FROM ({typed})
    """)
    attrition.add("customs records read", "records", n, n)
    attrition.add("missing firm, year, product or destination", "records", n, k)
    attrition.add("missing, zero or negative quantity", "records", k, q)
    attrition.add("missing, zero or negative value", "records", q, v)
    if trade_modes:
        attrition.add(f"trade mode not in {list(trade_modes)}", "records", v, m)
    con.execute(f"""
        CREATE OR REPLACE TEMP VIEW records_ok AS
        SELECT firm_id, CAST(year AS BIGINT) AS year,
               left(regexp_replace(CAST(hs8 AS VARCHAR), '[^0-9]', '', 'g'), {int(product_digits)}) AS product,
               CAST(destination AS VARCHAR) AS destination, value, quantity
        FROM ({typed}) WHERE {keys} AND {qty} AND {val} AND {mode}
    """)
    return m


def _dimensions(con, sigma, fallback: str, default, high=None) -> None:
    """Small tables: products (code, HS chapter, HS3), destinations (code, income group), and
    σ for every (HS3, destination) of them (:func:`tradeq.raw.sigmas.resolve_sigmas`)."""
    con.execute("""
        CREATE OR REPLACE TEMP TABLE product_dim AS
        SELECT product, (row_number() OVER (ORDER BY product) - 1)::BIGINT AS product_code,
               left(product, 2) AS chapter, left(product, 3) AS hs3
        FROM (SELECT DISTINCT product FROM records_ok)
    """)
    con.execute("""
        CREATE OR REPLACE TEMP TABLE dest_dim AS
        SELECT destination, (row_number() OVER (ORDER BY destination) - 1)::BIGINT AS dest_code
        FROM (SELECT DISTINCT destination FROM records_ok)
    """)
    dests = con.execute("SELECT destination, dest_code FROM dest_dim").df()
    con.register("dest_income", dests.assign(high_income=high_income(dests["destination"], high)))
    con.execute("CREATE OR REPLACE TEMP TABLE dest_dim AS SELECT destination, dest_code, high_income FROM dest_income")
    con.unregister("dest_income")
    pairs = con.execute("""
        SELECT h.hs3, d.destination, d.dest_code FROM (SELECT DISTINCT hs3 FROM product_dim) h CROSS JOIN dest_dim d
    """).df()
    resolved = resolve_sigmas(pairs, sigma=sigma, fallback=fallback, default=default)
    con.register("sigma_pairs", resolved.assign(dest_code=pairs["dest_code"].to_numpy()))
    con.execute("CREATE OR REPLACE TEMP TABLE sigma_dim AS SELECT hs3, dest_code, sigma, sigma_source FROM sigma_pairs")
    con.unregister("sigma_pairs")


def build_lines(con, attrition: Attrition, product_digits: int, sigma="bgw", fallback="hs3_median",
                default=None, trade_modes=None, high=None) -> dict:
    """Steps 1-7: the ``lines`` table, one row per firm-year x product x destination with
    ``line_id`` (a key built from the three codes: the line's identity), ``fy``,
    ``industry_key``, ``year``, ``product_code``, ``dest_code``, ``high_income``, ``chapter``,
    ``value``, ``quantity``, ``n_records``, ``sigma``, ``sigma_source``. Returns the lines by
    σ source. ``trade_modes``: keep only these (None: all); ``high``: the high-income
    destinations (None: :data:`tradeq.raw.classifications.HIGH_INCOME`)."""
    v = _records_ok(con, attrition, product_digits, trade_modes)
    _dimensions(con, sigma, fallback, default, high)
    n_prod, n_dest = (_one(con, f"SELECT count(*) FROM {t}")[0] for t in ("product_dim", "dest_dim"))
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE lines AS
        SELECT ((g.fy * {n_prod} + g.product_code) * {n_dest} + g.dest_code)::BIGINT AS line_id, g.*,
               p.chapter, s.sigma, coalesce(s.sigma_source, 'missing') AS sigma_source
        FROM (SELECT f.fy, f.industry_key, r.year, pd.product_code, dd.dest_code, dd.high_income,
                     sum(r.value) AS value, sum(r.quantity) AS quantity, count(*) AS n_records
              FROM records_ok r
              JOIN fy_dim f ON r.firm_id = f.firm_id AND r.year = f.year
              JOIN product_dim pd ON r.product = pd.product
              JOIN dest_dim dd ON r.destination = dd.destination
              GROUP BY ALL) g
        JOIN product_dim p USING (product_code)
        LEFT JOIN sigma_dim s ON s.hs3 = p.hs3 AND s.dest_code = g.dest_code
    """)
    matched, n_lines = _one(con, "SELECT coalesce(sum(n_records), 0), count(*) FROM lines")
    firms_out = _one(con, "SELECT count(DISTINCT firm_id) FROM records_ok r ANTI JOIN fy_dim f USING (firm_id)")[0]
    attrition.add("firm-year not in the register (unmatched firms)", "records", v, matched,
                  f"{firms_out} exporter(s) absent from the register altogether")
    attrition.add("collapsed to firm x product x destination x year", "lines", matched, n_lines,
                  f"{matched} records -> {n_lines} lines")
    by_source = dict(con.execute("SELECT sigma_source, count(*) FROM lines GROUP BY ALL").fetchall())
    without = by_source.get("missing", 0)
    note = ", ".join(f"{k}: {v}" for k, v in sorted(by_source.items()))
    attrition.add("products without sigma (no quality; kept for the peer measures)", "lines", n_lines,
                  n_lines - without, note)
    return by_source

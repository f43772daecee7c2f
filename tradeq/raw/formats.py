"""The raw inputs' formats, column by column: what ``data=raw`` reads and what
``python simulate.py raw=customs`` writes (``FORMATS.md`` beside the files).

Required columns are those of :mod:`tradeq.raw.readers`; the others are read when present
(``trade_mode`` for ``data.trade_modes``, ``city`` for the city-level spillover control) or
carried through to the panel (``ownership``, ``employment``). Files are ``.parquet`` or
``.csv`` (header row; HS codes, industries, provinces and destinations are read as text, so
leading zeros stay).
"""

from __future__ import annotations

from tradeq.raw.readers import CUSTOMS_COLUMNS, PRICE_COLUMNS, REGISTER_COLUMNS

#: input -> (what one row is, [(column, type, meaning)]).
FORMATS: dict[str, tuple[str, list[tuple[str, str, str]]]] = {
    "customs": ("one customs record: firm x HS8 product x destination x year (x trade mode, month ...)", [
        ("firm_id", "integer", "exporter id, the register's (records of firms not in the register are dropped and counted)"),
        ("year", "integer", "calendar year"),
        ("hs8", "text", "HS product code, 8 digits with leading zeros (\"01012100\"); data.product_digits=6 pools to HS6"),
        ("destination", "text", "destination country; the elasticities match Broda-Greenfield-Weinstein names "
                                "(\"USA\", \"HongKong\"; case, spaces and punctuation are ignored)"),
        ("value", "number", "export value (US$); zero, negative or missing records are dropped and counted"),
        ("quantity", "number", "quantity in the product's unit; zero, negative or missing records are dropped and counted"),
        ("trade_mode", "text", "optional: \"general\", \"processing\", ...; data.trade_modes=[general] keeps only those"),
    ]),
    "register": ("one firm-year of the industrial-enterprise database", [
        ("firm_id", "integer", "firm id, shared with the customs records"),
        ("year", "integer", "calendar year; one row per (firm_id, year)"),
        ("province", "text", "province name, as in the price indices"),
        ("industry", "text", "2-digit CIC industry (\"13\" ... \"42\"): the peer group and the factor intensity"),
        ("founded", "integer", "year of establishment (age = ln(year - founded + 1))"),
        ("total_assets", "number", "thousand yuan (scale = ln assets; the SA index uses million yuan)"),
        ("liabilities", "number", "thousand yuan (rdebt = liabilities / assets)"),
        ("profit", "number", "net profit, thousand yuan (roa = profit / assets)"),
        ("inventory", "number", "thousand yuan (invint = inventory / assets)"),
        ("city", "text", "optional: prefecture; gives the city-level spillover control"),
        ("ownership", "text", "optional, carried through: SOE, private, foreign, collective ..."),
        ("employment", "integer", "optional, carried through: employees"),
    ]),
    "prices": ("one retail price index: year x province x goods category", [
        ("year", "integer", "calendar year"),
        ("province", "text", "province name"),
        ("category", "text", "goods category (about ten, the same every year)"),
        ("index", "number", "retail price index, previous year = 100 (SPEC 2a)"),
    ]),
    "linkage": ("optional: the industry linkage matrix, one row per industry", [
        ("(first column)", "text", "industry code j (the register's codes)"),
        ("<industry code k>", "number", "link of j to k, e.g. j's input share bought from k; the diagonal is ignored, "
                                        "rows are normalised to sum to 1"),
    ]),
}

REQUIRED = {"customs": CUSTOMS_COLUMNS, "register": REGISTER_COLUMNS, "prices": PRICE_COLUMNS}


def describe(files: dict[str, str] | None = None) -> str:
    """``FORMATS.md``: every input's columns, types and meaning (``files``: input -> file name)."""
    out = ["# Raw inputs of `python estimate.py data=raw`", "",
           "Pass them as `data.customs=<file> data.register=<file> data.prices=<file> [data.linkage=<file>]` "
           "(.parquet or .csv). Required columns are marked; others are optional.", ""]
    for name, (row, columns) in FORMATS.items():
        where = f" — `{files[name]}`" if files and name in files else ""
        out += [f"## {name}{where}", "", f"One row: {row}.", "", "| column | type | required | meaning |",
                "|---|---|---|---|"]
        req = set(REQUIRED.get(name, ()))
        out += [f"| `{c}` | {t} | {'yes' if c in req else 'no'} | {m} |" for c, t, m in columns]
        out.append("")
    return "\n".join(out)

"""Published regression tables as data (``data=published``): the transcriptions ``model=audit`` checks.

A transcription is a CSV with one row per printed cell (``tradeq/resources/audit/PROVENANCE.txt``
describes the columns and the sources): ``table, model, sample, outcome, term, kind, coef, se,
t, stars, n_obs, n_clusters, n_params``. Numbers are read as the text they were printed as, so
that their rounding is known (``0.0243`` is 0.0243 ± 0.00005). A file's claims — the paper's own
sentences about those cells — sit beside it as ``<name>_claims.csv``: ``claim_id, kind, cells,
level, direction, range, where, claim``.

``data.tables`` names the vendored files (``clusters_quality``, ``clusters_shock``,
``market_integration``) or paths to files of the same layout. Any malformed row stops the load
with one :class:`DataError` naming the file, the row and the column.
"""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path

import pandas as pd

from tradeq.errors import DataError
from tradeq.panel import Panel

CELL_COLUMNS = ("table", "model", "sample", "outcome", "term", "kind", "coef", "se", "t", "stars", "n_obs",
                "n_clusters", "n_params")
CLAIM_COLUMNS = ("claim_id", "kind", "cells", "level", "direction", "range", "where", "claim")
KINDS = ("coef", "sobel")
CLAIM_KINDS = ("significant", "insignificant", "greater", "mediation", "inverted_u")
STARS = ("", "*", "**", "***")
_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")


def resource_dir():
    """The vendored transcriptions (a Traversable)."""
    return resources.files("tradeq") / "resources" / "audit"


def _source(name: str, suffix: str = ""):
    """The file of a vendored name or a path (``suffix`` e.g. ``_claims``); None when absent."""
    path = Path(name)
    if path.suffix == ".csv":
        candidate = path.with_name(path.stem + suffix + ".csv")
        return candidate if candidate.exists() else None
    vendored = resource_dir() / f"{name}{suffix}.csv"
    return vendored if vendored.is_file() else None


def _read(source, columns, where: str) -> pd.DataFrame:
    with source.open("rb") as handle:
        frame = pd.read_csv(handle, dtype=str, keep_default_na=False)
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DataError(f"{where}: missing column(s) {missing}; a transcription has {list(columns)}")
    return frame[list(columns)].apply(lambda s: s.str.strip())


def _check_cells(frame: pd.DataFrame, where: str) -> None:
    for i, row in frame.iterrows():
        at = f"{where}, row {i + 2} ({row['table']}, {row['model']}, {row['term']})"
        if row["kind"] not in KINDS:
            raise DataError(f"{at}: kind {row['kind']!r} is not one of {KINDS}")
        if not _NUMBER.match(row["coef"]):
            raise DataError(f"{at}: coef {row['coef']!r} is not a printed number")
        given = [c for c in ("se", "t") if row[c]]
        if len(given) != 1 or not _NUMBER.match(row[given[0]]):
            raise DataError(f"{at}: needs exactly one of se or t as a printed number (se={row['se']!r}, t={row['t']!r})")
        if row["kind"] == "coef" and row["se"] and float(row["se"]) <= 0:
            raise DataError(f"{at}: se {row['se']!r} must be positive")
        if row["stars"] not in STARS:
            raise DataError(f"{at}: stars {row['stars']!r} is not one of {STARS}")
        for c in ("n_obs", "n_clusters", "n_params"):
            if row[c] and not row[c].isdigit():
                raise DataError(f"{at}: {c} {row[c]!r} is not a whole number")
        if not row["n_obs"]:
            raise DataError(f"{at}: n_obs is missing")


def read_cells(name: str) -> pd.DataFrame:
    """One transcription, validated, with a ``paper`` column (the file's name)."""
    source = _source(name)
    if source is None:
        vendored = sorted(p.name[:-4] for p in resource_dir().iterdir() if p.name.endswith(".csv")
                          and not p.name.endswith("_claims.csv"))
        raise DataError(f"data.tables: no transcription {name!r} (vendored: {vendored}, or a path to a .csv)")
    where = f"transcription {name!r}"
    frame = _read(source, CELL_COLUMNS, where)
    _check_cells(frame, where)
    key = frame[["table", "model", "term"]].duplicated(keep=False)
    if key.any():
        first = frame.loc[key].iloc[0]
        raise DataError(f"{where}: cell ({first['table']}, {first['model']}, {first['term']}) occurs twice")
    frame.insert(0, "paper", Path(name).stem)
    return frame


def read_claims(name: str, cells: pd.DataFrame) -> pd.DataFrame:
    """The claims beside a transcription (empty when it has none); every cell they cite must exist."""
    source = _source(name, "_claims")
    if source is None:
        return pd.DataFrame(columns=["paper", *CLAIM_COLUMNS])
    where = f"claims of {name!r}"
    claims = _read(source, CLAIM_COLUMNS, where)
    known = set(zip(cells["table"], cells["model"], cells["term"]))
    for i, row in claims.iterrows():
        at = f"{where}, row {i + 2} ({row['claim_id']})"
        if row["kind"] not in CLAIM_KINDS:
            raise DataError(f"{at}: kind {row['kind']!r} is not one of {CLAIM_KINDS}")
        for ref in row["cells"].split(";"):
            parts = tuple(p.strip() for p in ref.split("/"))
            if len(parts) != 3 or parts not in known:
                raise DataError(f"{at}: cell {ref!r} (table/model/term) is not in the transcription")
        try:
            float(row["level"])
        except ValueError:
            raise DataError(f"{at}: level {row['level']!r} is not a number") from None
    claims.insert(0, "paper", Path(name).stem)
    return claims


def load_published(data, seed: int) -> Panel:
    """The cells of every table in ``data.tables`` as one frame; their claims, as records, in
    ``frame.attrs["claims"]`` (a panel is one frame; the claims are the audit's second input)."""
    cells = [read_cells(name) for name in data.tables]
    claims = [read_claims(name, c) for name, c in zip(data.tables, cells)]
    frame = pd.concat(cells, ignore_index=True)
    frame.attrs["claims"] = pd.concat(claims, ignore_index=True).to_dict("records")
    return Panel(frame=frame, source="published: " + ", ".join(data.tables), id=None, time=None)

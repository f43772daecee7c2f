"""Inputs of the raw pipeline: files (parquet, csv) or in-memory frames, as DuckDB views.

Each input becomes a view of a DuckDB connection; nothing is loaded into pandas. A file is
fingerprinted by the SHA-256 of its bytes (read in 1 MiB blocks), a frame by the SHA-256 of
pandas' row hashes and its column names and types. Required columns are checked up front:
a missing one is a :class:`~tradeq.errors.DataError` naming the input, file and column.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from tradeq.errors import DataError

#: Required columns of each input (``tradeq.dgp.raw_customs``, ``raw_firms``, ``raw_prices``
#: document their meaning and units).
CUSTOMS_COLUMNS = ("firm_id", "year", "hs8", "destination", "value", "quantity")
REGISTER_COLUMNS = (
    "firm_id", "year", "province", "industry", "founded", "total_assets", "liabilities", "profit", "inventory",
)
PRICE_COLUMNS = ("year", "province", "category", "index")
#: Columns read as text whatever a CSV sniffer thinks (HS codes keep their leading zeros).
TEXT_COLUMNS = {"hs8": "VARCHAR", "industry": "VARCHAR", "province": "VARCHAR", "destination": "VARCHAR"}


@dataclass(frozen=True)
class SourceInfo:
    """What the manifest records of one input."""

    name: str
    path: str | None
    sha256: str
    rows: int
    columns: tuple[str, ...]

    def record(self) -> dict:
        return {"path": self.path, "sha256": self.sha256, "rows": self.rows, "columns": list(self.columns)}


def connect(threads: int = 2, memory_limit: str = "4GB", temp_directory: str | None = None) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection that spills to ``temp_directory`` beyond ``memory_limit``."""
    con = duckdb.connect(config={"threads": int(threads), "memory_limit": memory_limit,
                                 "preserve_insertion_order": False})
    con.execute("SET enable_progress_bar = false")
    if temp_directory:
        con.execute(f"SET temp_directory = '{Path(temp_directory).as_posix()}'")
    return con


def file_sha256(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def frame_sha256(frame: pd.DataFrame) -> str:
    h = hashlib.sha256()
    h.update(repr([(str(c), str(t)) for c, t in frame.dtypes.items()]).encode())
    h.update(np.ascontiguousarray(pd.util.hash_pandas_object(frame, index=False).to_numpy()).tobytes())
    return h.hexdigest()


def _column_names(con, relation: str) -> tuple[str, ...]:
    return tuple(r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {relation}").fetchall())


def _file_relation(con, path: Path, name: str) -> str:
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        return f"read_parquet('{path.as_posix()}')"
    if suffix in (".csv", ".txt", ".gz"):
        cols = _column_names(con, f"read_csv('{path.as_posix()}', header = true)")
        types = {c: TEXT_COLUMNS[c] for c in cols if c in TEXT_COLUMNS}
        spec = ", ".join(f"'{k}': '{v}'" for k, v in types.items())
        return f"read_csv('{path.as_posix()}', header = true, types = {{{spec}}})"
    raise DataError(f"{name}: {path} is neither .parquet nor .csv")


def register_source(con, name: str, source, required: tuple[str, ...]) -> SourceInfo:
    """Create view ``name`` over ``source`` (path or DataFrame) and fingerprint it."""
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if not path.is_file():
            raise DataError(f"{name}: file {path} does not exist")
        con.execute(f"CREATE OR REPLACE VIEW {name} AS SELECT * FROM {_file_relation(con, path, name)}")
        sha, where = file_sha256(path), str(path)
    elif isinstance(source, pd.DataFrame):
        con.register(f"{name}_frame", source)
        con.execute(f"CREATE OR REPLACE VIEW {name} AS SELECT * FROM {name}_frame")
        sha, where = frame_sha256(source), None
    else:
        raise DataError(f"{name}: expected a .parquet/.csv path or a pandas DataFrame; got {type(source).__name__}")
    columns = _column_names(con, name)
    missing = [c for c in required if c not in columns]
    if missing:
        raise DataError(f"{name} ({where or 'frame'}) lacks column {missing[0]!r}; it has {list(columns)}")
    rows = con.execute(f"SELECT count(*) FROM {name}").fetchall()[0][0]
    return SourceInfo(name, where, sha, int(rows), columns)


def file_columns(path: str | os.PathLike) -> list[str]:
    """The column names of a .parquet or .csv file, read from its schema or header row only."""
    path = Path(path)
    suffix = path.suffix.lower()
    try:
        if suffix == ".parquet":
            import pyarrow.parquet as pq

            return list(pq.read_schema(path).names)
        if suffix in (".csv", ".txt", ".gz"):
            return [str(c) for c in pd.read_csv(path, nrows=0).columns]
    except Exception as exc:  # a file that is not what its name says
        raise DataError(f"{path}: could not read its columns ({type(exc).__name__}: {exc})") from exc
    raise DataError(f"{path} is neither .parquet nor .csv")


def read_linkage(path: str | os.PathLike) -> pd.DataFrame:
    """An industry linkage matrix: first column the industry codes, then one column per code."""
    path = Path(path)
    try:
        frame = (pd.read_parquet(path) if path.suffix.lower() == ".parquet"
                 else pd.read_csv(path, dtype=str))
    except Exception as exc:
        raise DataError(f"linkage {path}: could not read it ({type(exc).__name__}: {exc})") from exc
    if frame.shape[1] < 2:
        raise DataError(f"linkage {path}: needs the industry codes in the first column and one column per industry")
    frame = frame.set_index(frame.columns[0])
    frame.index = frame.index.astype(str).str.strip()
    frame.columns = [str(c).strip() for c in frame.columns]
    if sorted(frame.index) != sorted(frame.columns):
        extra = sorted(set(frame.index) ^ set(frame.columns))
        raise DataError(f"linkage {path}: its rows and columns must list the same industries; they differ in {extra[:5]}")
    values = frame.apply(pd.to_numeric, errors="coerce")
    if values.isna().any().any() or (values < 0).any().any():
        raise DataError(f"linkage {path}: every entry must be a non-negative number")
    return values.loc[frame.columns]

"""Load a panel from a file or the simulator, and validate it against what a model needs.

Every failure is a :class:`DataError` that names the file (or the simulator) and the
offending column or rows, raised before any estimation starts.
"""

from __future__ import annotations

import csv
import hashlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from tradeq.errors import DataError

log = logging.getLogger("tradeq")

#: The strings pandas reads as missing in a CSV (its ``na_values`` default); counted when met.
try:
    from pandas._libs.parsers import STR_NA_VALUES as _NA_STRINGS
except ImportError:  # pragma: no cover - the names pandas has used since 1.0
    _NA_STRINGS = {"#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN",
                   "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null"}


@dataclass(frozen=True)
class Panel:
    """A validated DataFrame, where it came from, and (for simulated panels) the truth.

    ``labels`` maps column names to Stata variable labels when the file carried them;
    ``reading``: what the reader did silently and the run records (``run.json``): text read as
    missing per column, rows padded because they had too few fields.
    ``id`` and ``time`` name the panel keys when the data have them (``None`` for a
    cross-section, or when the user did not declare them). ``files``: files the loader adds
    to the run folder (the raw pipeline's panel and manifest), as a :class:`Report`'s.
    """

    frame: pd.DataFrame
    source: str
    id: str | None = "firm"
    time: str | None = "year"
    labels: dict[str, str] = field(default_factory=dict)
    truth: Any = None
    files: dict[str, Any] = field(default_factory=dict)
    reading: dict[str, Any] = field(default_factory=dict)
    value_codes: dict[str, dict[str, float]] = field(default_factory=dict)

    def fingerprint(self) -> dict:
        """Rows, columns and a SHA-256 of the frame's contents (index excluded)."""
        hashed = pd.util.hash_pandas_object(self.frame, index=False).to_numpy()
        digest = hashlib.sha256(hashed.tobytes())
        digest.update(",".join(map(str, self.frame.columns)).encode())
        return {
            "rows": int(self.frame.shape[0]),
            "columns": list(map(str, self.frame.columns)),
            "sha256": digest.hexdigest(),
        }


def _csv_notes(path: Path, frame: pd.DataFrame) -> dict[str, Any]:
    """Count what ``read_csv`` did without a word: cells of text such as "n/a" read as missing,
    rows with fewer fields than the header (padded with missing values). Warns about both."""
    if not frame.isna().to_numpy().any():
        return {}
    raw = pd.read_csv(path, dtype=str, keep_default_na=False)  # every cell as its text
    notes: dict[str, Any] = {}
    with open(path, newline="", encoding="utf-8", errors="replace") as handle:
        rows = csv.reader(handle)
        width = len(next(rows, []))
        short = [i for i, row in enumerate(rows, start=2) if row and len(row) < width]
    if short:
        notes["rows_with_missing_fields"] = len(short)
        log.warning("warning: data file %r: %d row(s) have fewer fields than the header (first: line %d); "
                    "their missing fields are read as missing values", str(path), len(short), short[0])
    text = {}
    for col in frame.columns:
        cells = raw[col].dropna().str.strip()
        hits = cells[cells.isin(_NA_STRINGS) & (cells != "")]
        if len(hits):
            text[str(col)] = {"count": int(len(hits)), "values": sorted(set(hits))[:5]}
    if text:
        notes["text_read_as_missing"] = text
        listed = "; ".join(f"{c}: {v['count']} ({', '.join(map(repr, v['values']))})" for c, v in text.items())
        log.warning("warning: data file %r: text read as missing values — %s", str(path), listed)
    return notes


def _stata_value_codes(path: Path, frame: pd.DataFrame) -> dict[str, dict[str, float]]:
    """Label → stored number of each labelled (categorical) column whose labels name one number each."""
    labelled = [c for c in frame.columns if isinstance(frame[c].dtype, pd.CategoricalDtype)]
    if not labelled:
        return {}
    numbers = pd.read_stata(path, convert_categoricals=False, columns=labelled)
    out = {}
    for c in labelled:
        pairs = pd.DataFrame({"label": frame[c].astype(object), "number": numbers[c]}).dropna().drop_duplicates()
        if pairs["label"].is_unique and pd.api.types.is_numeric_dtype(pairs["number"]):
            pairs = pairs.sort_values("number")
            out[str(c)] = {str(k): float(v) for k, v in zip(pairs["label"], pairs["number"])}
    return out


def read_table(path: str | Path) -> tuple[pd.DataFrame, dict[str, str], dict[str, Any]]:
    """Read .csv, .parquet or .dta; return the frame, Stata variable labels (empty otherwise)
    and the reader's notes (:func:`_csv_notes`, CSV only).

    Stata value labels become pandas categoricals (``convert_categoricals``), variable
    labels are kept so tables can show them.
    """
    path = Path(path)
    if not path.exists():
        raise DataError(f"data file {str(path)!r} does not exist")
    if path.is_dir():
        raise DataError(f"data.path {str(path)!r} is a directory; give the data file in it (.csv, .parquet or .dta)")
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            frame = pd.read_csv(path)
            return frame, {}, _csv_notes(path, frame)
        if suffix in (".parquet", ".pq"):
            return pd.read_parquet(path), {}, {}
        if suffix == ".dta":
            with pd.read_stata(path, iterator=True, convert_categoricals=True) as reader:
                labels = {k: v for k, v in reader.variable_labels().items() if v}
                frame = reader.read()
            return frame, labels, {"value_codes": _stata_value_codes(path, frame)}
    except DataError:
        raise
    except Exception as exc:  # a parser error is reported with the file it came from
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(f"could not read data file {str(path)!r}: {first}") from None
    raise DataError(f"data file {str(path)!r}: unsupported type {suffix or '(no extension)'!r} "
                    "(use .csv, .parquet or .dta)")


def load_file_panel(path: str | Path, rename: dict[str, str], id: str | None, time: str | None) -> Panel:
    frame, labels, reading = read_table(path)
    codes = reading.pop("value_codes", {})
    unknown = [c for c in rename if c not in frame.columns]
    if unknown:
        raise DataError(
            f"data file {str(path)!r}: data.rename names column(s) {unknown} that the file does not have; "
            f"its columns are {list(frame.columns)}"
        )
    taken = [t for s, t in rename.items() if t != s and t in frame.columns and t not in rename]
    if taken:
        raise DataError(f"data file {str(path)!r}: data.rename={dict(rename)} renames onto column(s) {taken} "
                        "that the file already has; rename those too, or choose other names")
    frame = frame.rename(columns=dict(rename))
    labels = {rename.get(k, k): v for k, v in labels.items()}
    codes = {rename.get(k, k): v for k, v in codes.items()}
    return Panel(frame=frame, source=str(path), id=id, time=time, labels=labels, reading=reading, value_codes=codes)


def with_value_codes(panel: Panel, columns: Iterable[str]) -> pd.DataFrame:
    """The frame with each labelled column of ``columns`` replaced by its stored numbers
    (:attr:`Panel.value_codes`), as Stata reads ``reg y soe``; the frame itself when there are none."""
    frame = panel.frame
    used = [c for c in dict.fromkeys(columns) if c in panel.value_codes and c in frame.columns
            and isinstance(frame[c].dtype, pd.CategoricalDtype)]
    if not used:
        return frame
    for c in used:
        shown = ", ".join(f"{k} = {v:g}" for k, v in list(panel.value_codes[c].items())[:4])
        log.info("column %r is a labelled variable: used as its stored numbers (%s); C(%s) gives one dummy "
                 "per label", c, shown, c)
    return frame.assign(**{c: frame[c].astype(object).map(panel.value_codes[c]).astype(float) for c in used})


def validate_panel(
    panel: Panel,
    numeric: Iterable[str],
    categorical: Iterable[str] = (),
) -> None:
    """Check that the columns a model uses exist, numeric ones are numeric, (id, time) is unique.

    ``numeric``: outcome and regressors' variables; ``categorical``: FE, cluster and group
    columns (any dtype). Raises one :class:`DataError` describing every missing column at once.
    """
    frame, where = panel.frame, f"data {panel.source!r}"
    numeric, categorical = list(dict.fromkeys(numeric)), list(dict.fromkeys(categorical))
    keys = [k for k in (panel.id, panel.time) if k]
    needed = list(dict.fromkeys(numeric + categorical + keys))
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise DataError(
            f"{where}: missing column(s) {missing} needed by the model; available columns: {list(frame.columns)}"
            " (map the file's names with data.rename={file_name: model_name}"
            + (", or set data.id / data.time to the panel keys)" if set(missing) & set(keys) else ")")
        )
    if frame.shape[0] == 0:
        raise DataError(f"{where}: the sample is empty (0 rows)")
    labelled = [c for c in numeric if isinstance(frame[c].dtype, pd.CategoricalDtype) and c not in panel.value_codes]
    if labelled:
        c = labelled[0]
        raise DataError(f"{where}: column {c!r} is a labelled (categorical) variable with values "
                        f"{list(frame[c].cat.categories)[:6]}; write C({c}) in model.formula for its dummies")
    wrong = [c for c in numeric if c not in panel.value_codes
             and not (pd.api.types.is_numeric_dtype(frame[c]) or pd.api.types.is_bool_dtype(frame[c]))]
    if wrong:
        kinds = {c: str(frame[c].dtype) for c in wrong}
        raise DataError(f"{where}: column(s) {wrong} must be numeric but have dtype {kinds}")
    for key, setting in ((panel.id, "data.id"), (panel.time, "data.time")):
        gaps = frame[key].isna().to_numpy() if key else None
        if gaps is not None and gaps.any():
            raise DataError(f"{where}: the panel key {key!r} ({setting}) is missing in {int(gaps.sum())} row(s) "
                            f"(first: data row {int(gaps.argmax()) + 1}); every row needs its {key}")
    dup = frame.duplicated(keys, keep=False) if len(keys) == 2 else pd.Series(False, index=frame.index)
    if dup.any():
        example = frame.loc[dup, [panel.id, panel.time]].head(3).to_dict("records")
        raise DataError(
            f"{where}: {int(dup.sum())} rows share an ({panel.id}, {panel.time}) pair with another row, "
            f"e.g. {example}; a panel needs one row per {panel.id} and {panel.time}"
        )
    used = frame[needed]
    complete = int(used.notna().all(axis=1).sum())
    if complete == 0:
        counts = {c: int(frame[c].isna().sum()) for c in needed if frame[c].isna().any()}
        raise DataError(f"{where}: the sample is empty after dropping rows with missing values (missing per column: {counts})")


"""Load a panel from a file or the simulator, and validate it against what a model needs.

Every failure is a :class:`DataError` that names the file (or the simulator) and the
offending column or rows, raised before any estimation starts.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from tradeq.errors import DataError


@dataclass(frozen=True)
class Panel:
    """A validated DataFrame, where it came from, and (for simulated panels) the truth.

    ``labels`` maps column names to Stata variable labels when the file carried them.
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


def read_table(path: str | Path) -> tuple[pd.DataFrame, dict[str, str]]:
    """Read .csv, .parquet or .dta; return the frame and Stata variable labels (empty otherwise).

    Stata value labels become pandas categoricals (``convert_categoricals``), variable
    labels are kept so tables can show them.
    """
    path = Path(path)
    if not path.exists():
        raise DataError(f"data file {str(path)!r} does not exist")
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            return pd.read_csv(path), {}
        if suffix in (".parquet", ".pq"):
            return pd.read_parquet(path), {}
        if suffix == ".dta":
            with pd.read_stata(path, iterator=True, convert_categoricals=True) as reader:
                labels = {k: v for k, v in reader.variable_labels().items() if v}
                frame = reader.read()
            return frame, labels
    except DataError:
        raise
    except Exception as exc:  # a parser error is reported with the file it came from
        raise DataError(f"could not read data file {str(path)!r}: {exc}") from exc
    raise DataError(f"data file {str(path)!r}: unsupported type {suffix!r} (use .csv, .parquet or .dta)")


def load_file_panel(path: str | Path, rename: dict[str, str], id: str | None, time: str | None) -> Panel:
    frame, labels = read_table(path)
    unknown = [c for c in rename if c not in frame.columns]
    if unknown:
        raise DataError(
            f"data file {str(path)!r}: data.rename names column(s) {unknown} that the file does not have; "
            f"its columns are {list(frame.columns)}"
        )
    frame = frame.rename(columns=dict(rename))
    labels = {rename.get(k, k): v for k, v in labels.items()}
    return Panel(frame=frame, source=str(path), id=id, time=time, labels=labels)


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
    wrong = [c for c in numeric if not (pd.api.types.is_numeric_dtype(frame[c]) or pd.api.types.is_bool_dtype(frame[c]))]
    if wrong:
        kinds = {c: str(frame[c].dtype) for c in wrong}
        raise DataError(f"{where}: column(s) {wrong} must be numeric but have dtype {kinds}")
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


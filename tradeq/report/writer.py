"""One writer for every run: a :class:`Report` assembled in memory, written into the run folder as a set.

An analysis's ``report`` function returns a :class:`Report` — the table's columns, caption and
notes, the files the analysis adds (JSON summaries, Datasets, DataTrees, plots), what the
console shows and what ``run.json`` records. :func:`write_files` writes every
file once into a hidden staging folder inside the run folder, and only then moves the whole
set in: files of an earlier run in the same folder that this run does not write (listed in
its manifest, ``.tradeq-manifest.json``) are removed, so a re-run never leaves a previous
model's ``utest.json`` behind, and an interrupted run (Ctrl-C while the plots are drawn) leaves
the folder as it was. SIGINT is held back during the few renames that commit the set.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import tempfile
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import xarray as xr

from tradeq.atomic import _jsonable
from tradeq.report.tables import TableColumn, to_latex, to_markdown

log = logging.getLogger("tradeq")

MANIFEST = ".tradeq-manifest.json"


@dataclass(frozen=True)
class Report:
    """What a run shows and writes.

    ``files`` maps a file name to its content: ``str`` (text), ``bytes``, a ``dict``/``list``
    (JSON), a ``DataFrame`` (CSV), an xarray ``Dataset``/``DataTree`` (NetCDF) or a callable
    ``writer(path)`` (plots: a failing plot is reported and left out, never costs the numbers).
    ``appendix``: markdown appended to ``table.md`` (e.g. the posterior beside OLS).
    ``record``: entries merged into ``run.json``. ``console``: printed after the table.
    """

    caption: str
    columns: tuple[TableColumn, ...]
    notes: tuple[str, ...] = ()
    appendix: str = ""
    files: Mapping[str, Any] = field(default_factory=dict)
    record: Mapping[str, Any] = field(default_factory=dict)
    console: str = ""

    def table_markdown(self, paren: str, digits: int, labels: Mapping[str, str] | None = None) -> str:
        return to_markdown(list(self.columns), paren, digits, self.caption, list(self.notes), labels) + self.appendix

    def table_latex(self, paren: str, digits: int, labels: Mapping[str, str] | None = None) -> str:
        return to_latex(list(self.columns), paren, digits, self.caption, list(self.notes), labels)


def _write(path: Path, content: Any) -> bool:
    """Write one file; ``False`` when a plot writer failed (the run goes on without it)."""
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    elif isinstance(content, bytes):
        path.write_bytes(content)
    elif isinstance(content, (dict, list)):
        path.write_text(json.dumps(_jsonable(content), indent=2, allow_nan=False) + "\n", encoding="utf-8")
    elif isinstance(content, pd.DataFrame):
        content.to_csv(path, index=False)
    elif isinstance(content, (xr.Dataset, xr.DataTree)):
        content.to_netcdf(path, engine="h5netcdf")
    elif callable(content):
        try:
            content(path)
        except Exception as exc:  # noqa: BLE001 - a plot must never cost the numbers
            log.warning("could not draw %s: %s", path.name, exc)
            path.unlink(missing_ok=True)
            return False
    else:
        raise TypeError(f"cannot write {type(content).__name__} to {path.name}")
    return True


def _previous_files(run_dir: Path) -> list[str]:
    try:
        return list(json.loads((run_dir / MANIFEST).read_text())["files"])
    except (OSError, ValueError, KeyError, TypeError):
        return []


class _HoldInterrupts:
    """Defer SIGINT while the set is committed (main thread only; a no-op elsewhere)."""

    def __enter__(self):
        self.active = threading.current_thread() is threading.main_thread() and hasattr(signal, "pthread_sigmask")
        if self.active:
            signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        return self

    def __exit__(self, *exc):
        if self.active:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
        return False


def write_files(run_dir: str | os.PathLike, files: Mapping[str, Any]) -> list[str]:
    """Write ``files`` into ``run_dir`` as one set (module docstring); return the names written."""
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=run_dir))
    try:
        written = [name for name, content in files.items() if _write(staging / name, content)]
        stale = [n for n in _previous_files(run_dir) if n not in written]
        with _HoldInterrupts():
            for name in stale:
                (run_dir / name).unlink(missing_ok=True)
            for name in written:
                os.replace(staging / name, run_dir / name)
            manifest = staging / MANIFEST
            manifest.write_text(json.dumps({"files": written}, indent=1) + "\n", encoding="utf-8")
            os.replace(manifest, run_dir / MANIFEST)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return written


def check_writable(run_dir: str | os.PathLike) -> None:
    """Fail before any work when the run folder cannot be written (a read-only folder)."""
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    probe = None
    try:
        fd, probe = tempfile.mkstemp(prefix=".probe-", dir=run_dir)
        os.close(fd)
    finally:
        if probe:
            Path(probe).unlink(missing_ok=True)


def run_files(report: Report, paren: str, digits: int, record: Mapping[str, Any], config_yaml: str,
              extra: Mapping[str, Callable | Any] | None = None,
              labels: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The full file set of an ``estimate.py`` run: tables (rows by ``labels`` when given, ``output.labels``),
    the report's files, config and record."""
    files: dict[str, Any] = {
        "table.md": report.table_markdown(paren, digits, labels),
        "table.tex": report.table_latex(paren, digits, labels),
        **dict(report.files),
        **dict(extra or {}),
        "config.yaml": config_yaml,
    }
    files["run.json"] = {**dict(record), **dict(report.record)}
    return files

"""Atomic file output: write to a temporary file beside the target, then rename.

A crash or a bad input mid-run therefore never leaves a half-written ``estimates.csv``
next to a complete ``run.json``: each file is either the old version or the new one.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_with(path: str | os.PathLike, writer: Callable[[Path], None]) -> Path:
    """Call ``writer(tmp_path)`` and rename the temporary file onto ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        writer(tmp_path)
        os.chmod(tmp_path, 0o666 & ~_umask())  # mkstemp creates 0600; outputs are ordinary files
        os.replace(tmp_path, path)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise
    return path


def write_text(path: str | os.PathLike, text: str) -> Path:
    return write_with(path, lambda p: p.write_text(text, encoding="utf-8"))


def _jsonable(obj: Any) -> Any:
    """Non-finite floats become the strings "inf", "-inf" and "nan" (strict JSON has no such numbers)."""
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if hasattr(obj, "item") and callable(obj.item) and getattr(obj, "ndim", 1) == 0:
        obj = obj.item()
    if hasattr(obj, "tolist"):
        return _jsonable(obj.tolist())
    if isinstance(obj, float) and not math.isfinite(obj):
        return "nan" if math.isnan(obj) else ("inf" if obj > 0 else "-inf")
    return obj


def write_json(path: str | os.PathLike, obj: Any) -> Path:
    return write_text(path, json.dumps(_jsonable(obj), indent=2, allow_nan=False) + "\n")


def write_csv(path: str | os.PathLike, frame) -> Path:
    return write_with(path, lambda p: frame.to_csv(p, index=False))


def write_netcdf(path: str | os.PathLike, data) -> Path:
    """Dataset or DataTree to NetCDF4 (h5netcdf engine)."""
    return write_with(path, lambda p: data.to_netcdf(p, engine="h5netcdf"))

"""The manifest of a built panel, and the cache keyed by it.

``manifest.json`` beside ``panel.parquet`` records what went in (each input's path,
SHA-256, row count and columns), the settings, the attrition table (rows in and out of every
step, as the papers' sample-construction sections report), what came out and the versions.
The cache key is the SHA-256 of the inputs' hashes, the settings and
:data:`PIPELINE_VERSION`: the same inputs with the same settings load the stored panel
instead of rebuilding it; any change of a byte of an input, a setting or the pipeline
version builds anew.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from tradeq.atomic import write_json, write_with

#: Bump when a step changes what it computes: old cache entries then miss. (2: trade-mode
#: filter, quality by destination income, own and city-level peer measures, study columns.)
PIPELINE_VERSION = 2


@dataclass
class Manifest:
    inputs: dict
    settings: dict
    attrition: list
    outputs: dict = field(default_factory=dict)
    versions: dict = field(default_factory=dict)
    cache_key: str = ""
    from_cache: bool = False

    def attrition_table(self) -> pd.DataFrame:
        return pd.DataFrame(self.attrition)

    def record(self) -> dict:
        return {
            "pipeline_version": PIPELINE_VERSION, "cache_key": self.cache_key, "inputs": self.inputs,
            "settings": self.settings, "attrition": self.attrition, "outputs": self.outputs, "versions": self.versions,
        }

    @classmethod
    def load(cls, path: str | Path) -> Manifest:
        rec = json.loads(Path(path).read_text())
        return cls(rec["inputs"], rec["settings"], rec["attrition"], rec.get("outputs", {}), rec.get("versions", {}),
                   rec.get("cache_key", ""))


def cache_key(inputs: dict, settings: dict) -> str:
    payload = {"version": PIPELINE_VERSION, "inputs": {k: v["sha256"] for k, v in sorted(inputs.items())},
               "settings": settings}
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def write_outputs(folder: str | Path, panel: pd.DataFrame, manifest: Manifest) -> Path:
    """``panel.parquet`` then ``manifest.json`` in ``folder``, each written to a temporary
    file and renamed (the manifest last: a folder with a manifest has its panel)."""
    folder = Path(folder)
    write_with(folder / "panel.parquet", lambda p: panel.to_parquet(p, index=False))
    write_json(folder / "manifest.json", manifest.record())
    return folder


def load_cached(folder: str | Path) -> tuple[pd.DataFrame, Manifest] | None:
    folder = Path(folder)
    if not (folder / "manifest.json").is_file() or not (folder / "panel.parquet").is_file():
        return None
    manifest = Manifest.load(folder / "manifest.json")
    manifest.from_cache = True
    return pd.read_parquet(folder / "panel.parquet"), manifest

"""``data=raw``: customs records, a firm register and price indices → the estimation panel.

The raw pipeline (:func:`tradeq.raw.build_panel`) builds every measure — KSW quality (SPEC 2b),
Market (2a), the controls, the peer information measures (1b) — writes the panel and its
manifest into the run folder, caches it by the manifest, and any model then runs on it.
Without files (the default) it runs on the built-in simulated raw data with known truth
(:mod:`tradeq.raw.simulated`, sized by ``n_records``, truth in ``dgp``).

Everything a user can get wrong is checked here, before any data is read beyond the files'
headers: the three files go together, each exists and has its required columns (named with
the file), the linkage is square, and every pipeline setting is in range.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from tradeq.errors import ConfigError, DataError
from tradeq.raw.formats import REQUIRED
from tradeq.raw.pipeline import PanelSettings
from tradeq.raw.readers import file_columns, read_linkage
from tradeq.raw.simulated import RawStudyParams
from tradeq.specs.fields import check, check_range

log = logging.getLogger("tradeq")

SIGMA_FALLBACKS = ("hs3_median", "none")
_MEMORY = re.compile(r"^\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)$")
_SUFFIXES = (".parquet", ".csv", ".txt", ".gz")


@dataclass(frozen=True)
class RawSpec:
    """Raw inputs (``customs``, ``register``, ``prices``, optional ``linkage``: file paths; all
    unset: the simulated raw data of ``n_records`` records with the truth ``dgp``), the
    pipeline's settings (:class:`tradeq.raw.PanelSettings`: ``product_digits``, ``sigma``
    ('bgw' or a number), ``sigma_fallback`` (hs3_median | none), ``sigma_default``,
    ``trade_modes`` (e.g. [general]), ``high_income``, ``intensity``, the SA index units,
    ``market_ddof``, ``max_partition_rows``, ``threads``, ``memory_limit``, ``temp_directory``),
    and ``cache_dir`` (null: no cache). The panel's ``firm_id`` is named ``id`` for the models."""

    SOURCE: ClassVar[str] = "raw"
    customs: str | None = None
    register: str | None = None
    prices: str | None = None
    linkage: str | None = None
    id: str = "firm"
    time: str = "year"
    product_digits: int = 8
    sigma: str = "bgw"
    sigma_fallback: str = "hs3_median"
    sigma_default: float | None = None
    trade_modes: tuple[str, ...] | None = None
    high_income: tuple[str, ...] | None = None
    intensity: dict[str, str] | None = None
    sa_assets_unit: float = 1000.0
    sa_size_cap: float = 4500.0
    sa_age_cap: float = 37.0
    market_ddof: int = 1
    max_partition_rows: int = 20_000_000
    threads: int = 2
    memory_limit: str = "4GB"
    temp_directory: str | None = None
    cache_dir: str | None = "outputs/raw_cache"
    n_records: int = 200_000
    dgp: RawStudyParams = field(default_factory=RawStudyParams)

    def __post_init__(self) -> None:
        self._check_settings()
        self._check_files()
        try:
            self.dgp.validate()
        except ValueError as err:
            raise ConfigError(f"data.dgp: {err}") from None

    @property
    def simulated(self) -> bool:
        return self.customs is None

    def settings(self) -> PanelSettings:
        return PanelSettings(
            product_digits=int(self.product_digits), sigma=self._sigma_value(), sigma_fallback=self.sigma_fallback,
            sigma_default=self.sigma_default, trade_modes=self.trade_modes, high_income=self.high_income,
            intensity=dict(self.intensity) if self.intensity else None, sa_assets_unit=float(self.sa_assets_unit),
            sa_size_cap=float(self.sa_size_cap), sa_age_cap=float(self.sa_age_cap), market_ddof=int(self.market_ddof),
            max_partition_rows=int(self.max_partition_rows), threads=int(self.threads), memory_limit=self.memory_limit,
        )

    def _sigma_value(self):
        if str(self.sigma).strip().lower() == "bgw":
            return "bgw"
        try:
            value = float(self.sigma)
        except (TypeError, ValueError):
            raise ConfigError(f"data.sigma={self.sigma}: must be 'bgw' (the Broda-Greenfield-Weinstein file) "
                              "or a number above 1") from None
        check(value > 1.0, "data.sigma", self.sigma, "must exceed 1 (quality = e / (sigma - 1))")
        return value

    def _check_settings(self) -> None:
        check_range("data.product_digits", self.product_digits, 2, 10, integer=True)
        self._sigma_value()
        check(self.sigma_fallback in SIGMA_FALLBACKS, "data.sigma_fallback", self.sigma_fallback,
              f"must be one of {', '.join(SIGMA_FALLBACKS)} (hs3_median: the median over the file's countries "
              "for the product's HS3; none: no quality for destinations the file does not list)")
        check_range("data.sigma_default", self.sigma_default, 1.0, lo_open=True)
        for key in ("sa_assets_unit", "sa_size_cap", "sa_age_cap"):
            check_range(f"data.{key}", getattr(self, key), 0.0, lo_open=True)
        check(self.market_ddof in (0, 1), "data.market_ddof", self.market_ddof,
              "must be 1 (sample variance over categories) or 0 (population variance)")
        check_range("data.max_partition_rows", self.max_partition_rows, 1, integer=True)
        check_range("data.threads", self.threads, 1, integer=True)
        check(bool(_MEMORY.match(str(self.memory_limit).strip())), "data.memory_limit", self.memory_limit,
              "must be a size such as 4GB or 500MB")
        check_range("data.n_records", self.n_records, 1000, integer=True)
        if self.trade_modes is not None:
            check(len(self.trade_modes) > 0 and all(str(m).strip() for m in self.trade_modes), "data.trade_modes",
                  list(self.trade_modes), "must list trade modes, e.g. [general]; null keeps all records")
        if self.intensity is not None:
            check(isinstance(self.intensity, dict) and all(isinstance(v, str) for v in self.intensity.values()),
                  "data.intensity", self.intensity, "must map industry codes to labour, capital or technology")
        check(bool(self.id) and bool(self.time), "data.id", self.id, "the panel keys need names")

    def _check_files(self) -> None:
        given = {k: getattr(self, k) for k in ("customs", "register", "prices")}
        if not any(given.values()):
            check(self.linkage is None, "data.linkage", self.linkage,
                  "the simulated raw data bring their own linkage; give data.customs, data.register and data.prices too")
            return
        missing = [k for k, v in given.items() if not v]
        if missing:
            raise ConfigError(f"data.{missing[0]} is not set: data.customs, data.register and data.prices go together "
                              "(leave all three unset for the built-in simulated raw data)")
        if self.dgp != RawStudyParams():
            log.warning("data=raw with files: the simulator settings data.dgp do not apply; the table has no truth columns")
        for name, path in given.items():
            columns = file_columns(_existing(f"data.{name}", path))
            lacking = [c for c in REQUIRED[name] if c not in columns]
            if lacking:
                raise DataError(f"data.{name}={path}: lacks column {lacking[0]!r} (it has {columns}); a {name} file "
                                f"needs {list(REQUIRED[name])} (python simulate.py raw=customs writes examples)")
            if name == "customs" and self.trade_modes and "trade_mode" not in columns:
                raise DataError(f"data.trade_modes={list(self.trade_modes)}: data.customs={path} has no "
                                f"'trade_mode' column (it has {columns})")
        if self.linkage:
            read_linkage(_existing("data.linkage", self.linkage))


def _existing(key: str, path: str) -> Path:
    p = Path(str(path)).expanduser()
    check(p.is_file(), key, path, "file not found" + (f" (relative to {Path.cwd()})" if not p.is_absolute() else ""))
    check(p.suffix.lower() in _SUFFIXES, key, path, "must be a .parquet or .csv file")
    return p


RAW_FORMATS = ("parquet", "csv")


@dataclass(frozen=True)
class RawInputsSpec:
    """``python simulate.py raw=customs``: write the simulated raw inputs of ``data=raw`` as files
    (``format``: parquet or csv) with ``FORMATS.md`` (their columns) and the truth; ``raw=none``
    (the default) leaves simulate.py to its panels and studies."""

    name: str = "none"
    n_records: int = 200_000
    format: str = "parquet"
    dgp: RawStudyParams = field(default_factory=RawStudyParams)

    def __post_init__(self) -> None:
        check(self.name in ("none", "customs"), "raw.name", self.name, "must be none or customs")
        check(self.format in RAW_FORMATS, "raw.format", self.format, f"must be one of {', '.join(RAW_FORMATS)}")
        check_range("raw.n_records", self.n_records, 1000, integer=True)
        try:
            self.dgp.validate()
        except ValueError as err:
            raise ConfigError(f"raw.dgp: {err}") from None

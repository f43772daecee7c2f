"""Where the panel comes from (``data=<option>``): the simulated firm panel or a user's file."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from typing import Any, ClassVar

from tradeq.dgp.firm_panel import FirmPanelParams
from tradeq.errors import ConfigError
from tradeq.specs.fields import check, check_range

log = logging.getLogger("tradeq")

#: The paper's panel (SPEC 1a): 594,596 firm-years of 120,000 firms over 10 years.
PAPER_ROWS, PAPER_FIRMS, PAPER_YEARS = 594_596, 120_000, 10

#: Bytes of working memory the simulator and the FE fit need per firm-year cell of the (T, F)
#: grid (measured peak of the paper-size default run, rounded up).
BYTES_PER_CELL = 1_200


def paper_rows(n_firms: int, n_years: int) -> int | None:
    """The paper's firm-years scaled to ``n_firms`` (``None`` — the simulator's own count — when
    the panel does not span the paper's 10 years). The default of ``data.n_obs``."""
    if n_years != PAPER_YEARS:
        return None
    return max(1, round(PAPER_ROWS * int(n_firms) / PAPER_FIRMS))


def available_memory() -> int:
    """Physical memory of this machine in bytes (0 when the platform does not say)."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        return 0


@dataclass(frozen=True)
class SyntheticFirmsSpec:
    """The SPEC 1a firm panel simulated with known truth: ``n_firms`` firms over ``n_years`` years,
    ``n_obs`` firm-years (default: the paper's 594,596 scaled to ``n_firms``; null: as many as the
    simulated entry and exit give), with the simulator's parameters ``dgp``."""

    SOURCE: ClassVar[str] = "synthetic_firms"
    id: str = "firm"
    time: str = "year"
    n_firms: int = PAPER_FIRMS
    n_years: int = PAPER_YEARS
    n_obs: int | None = PAPER_ROWS
    dgp: FirmPanelParams = field(default_factory=FirmPanelParams)

    def __post_init__(self) -> None:
        check_range("data.n_firms", self.n_firms, 2, integer=True)
        check_range("data.n_years", self.n_years, 2, 1000, integer=True)
        check_range("data.n_obs", self.n_obs, 1, integer=True)
        cells = int(self.n_firms) * int(self.n_years)
        need, have = cells * BYTES_PER_CELL, available_memory()
        check(not have or need <= have, "data.n_firms", self.n_firms,
              f"{self.n_firms:,} firms × {self.n_years} years need about {need / 2**30:,.1f} GiB of memory; "
              f"this machine has {have / 2**30:,.1f} GiB")
        try:
            self.dgp.validate()
        except ValueError as err:
            raise ConfigError(f"data.dgp: {err}") from None


@dataclass(frozen=True)
class FileSpec:
    """A user's panel in .csv, .parquet or .dta. ``rename`` maps the file's column names to the
    names the model uses; ``id`` and ``time`` (optional) name the panel keys: when set they are
    checked (one row per id and time) and used (lags, panel checks). ``province``: a column of
    province names (Chinese, pinyin, English) or GB/T 2260 codes, normalised on load into
    ``province_code``, ``province`` (English) and ``region`` (:func:`tradeq.provinces.attach_provinces`;
    the panel id defaults to ``province``); ``exclude_tibet`` drops Tibet's rows, as the papers do."""

    SOURCE: ClassVar[str] = "file"
    path: str | None = None
    rename: dict[str, str] | None = None
    id: str | None = None
    time: str | None = None
    # An experiment sets the simulator's truth (data.dgp) for its synthetic panel; a file has none.
    dgp: Any = None
    province: str | None = None
    exclude_tibet: bool = True

    def __post_init__(self) -> None:
        if self.dgp:
            log.warning("data=file: the simulator settings data.dgp (%s) do not apply to a file; "
                        "the table has no truth columns", ", ".join(sorted(dict(self.dgp))))
        check(bool(self.path) and self.path != "???", "data.path", self.path,
              "data=file needs data.path=<your .csv/.parquet/.dta>")
        if self.rename:
            targets = list(self.rename.values())
            dup = sorted({t for t in targets if targets.count(t) > 1})
            check(not dup, "data.rename", self.rename, f"renames two columns onto {dup}")
        if self.province is not None:
            check(bool(str(self.province).strip()), "data.province", self.province,
                  "must name the column of province names, e.g. data.province=province")


DATA_SPECS = {cls.SOURCE: cls for cls in (SyntheticFirmsSpec, FileSpec)}

"""The 31 mainland provinces: codes, names, regions, geography, and name normalisation.

Every province-level dataset in tradeq is keyed by the **GB/T 2260 two-digit code** (11
Beijing ... 65 Xinjiang; the first two digits of the six-digit administrative division code,
110000 ... 650000). :func:`normalize_provinces` turns the labels real files carry (Chinese
names with or without 省/市/自治区, OCR-spaced labels such as '上   海', pinyin, English names
and their common official variants) into those codes and fails with one
:class:`~tradeq.errors.DataError` that lists every label it could not place, with close
matches. It never guesses: a typo is fixed only by an explicit ``aliases`` table that the
caller passes (e.g. :data:`tradeq.examples.cn_techme.OCR_ALIASES`).

Regions are SPEC 1c's (the cluster papers'): East 11, Central 8, West 11 provinces, plus
Tibet, which is geographically West but excluded by the papers ("severe data gaps");
``excluded_by_papers`` marks it, and :func:`attach_provinces` drops it only when asked
(``exclude_tibet=True``) and says how many rows went. :data:`PAPER_CODES` are the 30
provinces the papers use.

Geography (for the foreign-market-access measure, :mod:`tradeq.models.measures.fma`):

* ``coastal`` — the province has a sea coast: Tianjin, Hebei, Liaoning, Shanghai, Jiangsu,
  Zhejiang, Fujian, Shandong, Guangdong, Guangxi, Hainan. Beijing has none (it is East but
  inland); Guangxi is West and coastal.
* ``lat``, ``lon`` — the provincial capital's city centre in decimal degrees (to ~0.01°,
  i.e. ~1 km, which is far below the hundreds of km the measure works with).
* ``area_km2`` — land area in km², the rounded official figures of the provincial
  governments / China Statistical Yearbook (Hainan: the island province's land, not its sea
  area). Rounded to three or four significant digits.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from tradeq.errors import DataError
from tradeq.models.measures import fma

REGIONS: tuple[str, ...] = ("East", "Central", "West")


@dataclass(frozen=True)
class Province:
    """One mainland province-level division (province, municipality or autonomous region)."""

    code: int  # GB/T 2260 two-digit code
    name: str  # English name used in tables
    name_zh: str  # short Chinese name (no 省/市/自治区)
    pinyin: str
    region: str  # "East", "Central" or "West" (SPEC 1c)
    coastal: bool
    capital: str
    lat: float
    lon: float
    area_km2: float
    variants: tuple[str, ...] = ()  # further real names (official long forms, older romanisations in use)

    @property
    def excluded_by_papers(self) -> bool:
        """Tibet: the cluster papers leave it out for missing data."""
        return self.code == TIBET


TIBET = 54

# code, English, Chinese, pinyin, region, coastal, capital, lat, lon, land area (km²), variants
_TABLE: tuple[tuple, ...] = (
    (11, "Beijing", "北京", "Beijing", "East", False, "Beijing", 39.90, 116.41, 16_410, ()),
    (12, "Tianjin", "天津", "Tianjin", "East", True, "Tianjin", 39.13, 117.21, 11_970, ()),
    (13, "Hebei", "河北", "Hebei", "East", True, "Shijiazhuang", 38.04, 114.51, 188_800, ()),
    (14, "Shanxi", "山西", "Shanxi", "Central", False, "Taiyuan", 37.87, 112.55, 156_700, ()),
    (15, "Inner Mongolia", "内蒙古", "Neimenggu", "West", False, "Hohhot", 40.84, 111.75, 1_183_000,
     ("Nei Mongol", "Nei Menggu", "Inner Mongolia Autonomous Region", "Nei Mongol Autonomous Region")),
    (21, "Liaoning", "辽宁", "Liaoning", "East", True, "Shenyang", 41.81, 123.43, 148_000, ()),
    (22, "Jilin", "吉林", "Jilin", "Central", False, "Changchun", 43.82, 125.32, 187_400, ()),
    (23, "Heilongjiang", "黑龙江", "Heilongjiang", "Central", False, "Harbin", 45.80, 126.53, 473_000, ()),
    (31, "Shanghai", "上海", "Shanghai", "East", True, "Shanghai", 31.23, 121.47, 6_340, ()),
    (32, "Jiangsu", "江苏", "Jiangsu", "East", True, "Nanjing", 32.06, 118.80, 107_200, ()),
    (33, "Zhejiang", "浙江", "Zhejiang", "East", True, "Hangzhou", 30.27, 120.16, 105_500, ()),
    (34, "Anhui", "安徽", "Anhui", "Central", False, "Hefei", 31.82, 117.23, 140_100, ()),
    (35, "Fujian", "福建", "Fujian", "East", True, "Fuzhou", 26.07, 119.30, 124_000, ()),
    (36, "Jiangxi", "江西", "Jiangxi", "Central", False, "Nanchang", 28.68, 115.86, 166_900, ()),
    (37, "Shandong", "山东", "Shandong", "East", True, "Jinan", 36.65, 117.12, 155_800, ()),
    (41, "Henan", "河南", "Henan", "Central", False, "Zhengzhou", 34.75, 113.63, 167_000, ()),
    (42, "Hubei", "湖北", "Hubei", "Central", False, "Wuhan", 30.59, 114.31, 185_900, ()),
    (43, "Hunan", "湖南", "Hunan", "Central", False, "Changsha", 28.23, 112.94, 211_800, ()),
    (44, "Guangdong", "广东", "Guangdong", "East", True, "Guangzhou", 23.13, 113.26, 179_700, ()),
    (45, "Guangxi", "广西", "Guangxi", "West", True, "Nanning", 22.82, 108.37, 237_600,
     ("Guangxi Zhuang Autonomous Region", "Guangxi Zhuangzu Zizhiqu")),
    (46, "Hainan", "海南", "Hainan", "East", True, "Haikou", 20.04, 110.20, 35_400, ()),
    (50, "Chongqing", "重庆", "Chongqing", "West", False, "Chongqing", 29.56, 106.55, 82_400, ()),
    (51, "Sichuan", "四川", "Sichuan", "West", False, "Chengdu", 30.57, 104.07, 486_000, ()),
    (52, "Guizhou", "贵州", "Guizhou", "West", False, "Guiyang", 26.65, 106.63, 176_200, ()),
    (53, "Yunnan", "云南", "Yunnan", "West", False, "Kunming", 24.88, 102.83, 394_100, ()),
    (54, "Tibet", "西藏", "Xizang", "West", False, "Lhasa", 29.65, 91.17, 1_228_400,
     ("Tibet Autonomous Region", "Xizang Autonomous Region")),
    (61, "Shaanxi", "陕西", "Shaanxi", "West", False, "Xi'an", 34.34, 108.94, 205_600, ()),
    (62, "Gansu", "甘肃", "Gansu", "West", False, "Lanzhou", 36.06, 103.83, 425_800, ()),
    (63, "Qinghai", "青海", "Qinghai", "West", False, "Xining", 36.62, 101.78, 722_300, ()),
    (64, "Ningxia", "宁夏", "Ningxia", "West", False, "Yinchuan", 38.49, 106.23, 66_400,
     ("Ningxia Hui Autonomous Region",)),
    (65, "Xinjiang", "新疆", "Xinjiang", "West", False, "Urumqi", 43.83, 87.62, 1_664_900,
     ("Xinjiang Uygur Autonomous Region", "Xinjiang Uyghur Autonomous Region")),
)

PROVINCES: tuple[Province, ...] = tuple(Province(*row) for row in _TABLE)
BY_CODE: dict[int, Province] = {p.code: p for p in PROVINCES}
CODES: tuple[int, ...] = tuple(p.code for p in PROVINCES)
#: The 30 provinces of the cluster papers (all but Tibet), in code order.
PAPER_CODES: tuple[int, ...] = tuple(c for c in CODES if c != TIBET)

# Administrative suffixes, stripped once from the end of a folded label (longest first, so
# "壮族自治区" goes before "自治区"). English forms are folded like labels (no spaces).
_SUFFIXES: tuple[str, ...] = tuple(sorted((
    "省", "市", "自治区", "壮族自治区", "回族自治区", "维吾尔自治区",
    "province", "shi", "sheng", "municipality", "autonomousregion", "zizhiqu",
    "zhuangautonomousregion", "zhuangzuzizhiqu", "huiautonomousregion", "huizuzizhiqu",
    "uygurautonomousregion", "uyghurautonomousregion", "weiwuerzizhiqu",
), key=len, reverse=True))
_PUNCTUATION = re.compile(r"[\s\-_'’`.,·()（）]+")


def fold(label: str) -> str:
    """The matching key of a label: NFKC, case-folded, without spaces or punctuation, and
    without one administrative suffix (省, 市, 自治区 and its ethnic forms, Province, Shi,
    Sheng, Municipality, Autonomous Region, Zizhiqu).

    Tone marks are kept: Shānxī (山西) and Shǎnxī (陕西) differ only by them, so stripping
    accents would merge two provinces.
    """
    key = _PUNCTUATION.sub("", unicodedata.normalize("NFKC", str(label)).casefold())
    for suffix in _SUFFIXES:
        if key.endswith(suffix) and len(key) > len(suffix):
            return key[: -len(suffix)]
    return key


def _build_index() -> dict[str, int]:
    index: dict[str, int] = {}
    for p in PROVINCES:
        for label in (p.name, p.name_zh, p.pinyin, *p.variants):
            key = fold(label)
            if index.get(key, p.code) != p.code:
                raise AssertionError(f"label {label!r} folds onto two provinces")
            index[key] = p.code
    return index


_INDEX: dict[str, int] = _build_index()


def _code_of_number(value) -> int | None:
    """A GB/T 2260 code given as a number or digits: 11, '11', 110000 or '110000'."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, np.integer)):
        n = int(value)
    elif isinstance(value, str) and value.strip().isdigit():
        n = int(value.strip())
    else:
        return None
    if n >= 10_000 and n % 10_000 == 0:
        n //= 10_000
    return n if n in BY_CODE else None


def _is_missing(value) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA


def _suggest(label: str) -> str:
    key = fold(label)
    # Chinese names are two or three characters: one wrong character is a ratio of 0.5-0.67.
    cutoff = 0.5 if len(key) <= 3 else 0.7
    close = difflib.get_close_matches(key, list(_INDEX), n=2, cutoff=cutoff)
    names = []
    for key in close:
        p = BY_CODE[_INDEX[key]]
        name = f"{p.name_zh} ({p.name})"
        if name not in names:
            names.append(name)
    return f"; did you mean {' or '.join(names)}?" if names else ""


def _rows_text(rows: list[int]) -> str:
    shown = ", ".join(map(str, rows[:5]))
    more = f" and {len(rows) - 5} more" if len(rows) > 5 else ""
    return f"row{'s' if len(rows) > 1 else ''} {shown}{more}"


def normalize_provinces(values: Iterable, *, aliases: Mapping[str, str] | None = None,
                        source: str = "province labels") -> np.ndarray:
    """GB/T 2260 codes (int64 array, same length and order) of province labels.

    ``values``: Chinese names (北京, 北京市, 广西壮族自治区, OCR-spaced '北   京'), pinyin or
    English names and their variants (Beijing, Beijing Shi, Inner Mongolia, Nei Mongol,
    Neimenggu, Xizang, Tibet, Guangxi Zhuang Autonomous Region, ...), matched case- and
    space-insensitively with administrative suffixes stripped (:func:`fold`), or codes (11,
    '11', 110000). ``aliases`` maps further labels (e.g. known OCR typos, '江两' -> '江西') to
    any label this function accepts; they are applied first, by their folded form.

    Raises one :class:`DataError` naming ``source`` and listing every label that is not one
    of the 31 mainland provinces (with its rows and close matches), and every missing value.
    """
    alias_keys = {fold(k): v for k, v in (aliases or {}).items()}
    codes: list[int] = []
    unknown: dict[str, list[int]] = {}
    missing: list[int] = []
    for row, value in enumerate(values):
        if _is_missing(value):
            missing.append(row)
            codes.append(-1)
            continue
        code = _code_of_number(value)
        if code is None:
            key = fold(value)
            key = fold(alias_keys[key]) if key in alias_keys else key
            code = _INDEX.get(key)
        if code is None:
            unknown.setdefault(str(value), []).append(row)
            code = -1
        codes.append(code)
    if unknown or missing:
        parts = [f"{label!r} ({_rows_text(rows)}{_suggest(label)})" for label, rows in unknown.items()]
        if missing:
            parts.append(f"missing value ({_rows_text(missing)})")
        raise DataError(f"{source}: not one of the 31 mainland provinces: " + ", ".join(parts))
    return np.asarray(codes, dtype=np.int64)


def province_table(codes: Iterable[int] | None = None) -> pd.DataFrame:
    """One row per province (all 31 by default, else ``codes`` in the given order).

    Columns: code, province (English), province_zh, pinyin, region, coastal, capital, lat,
    lon, area_km2, excluded_by_papers.
    """
    chosen = [BY_CODE[int(c)] for c in (CODES if codes is None else codes)]
    return pd.DataFrame({
        "code": np.array([p.code for p in chosen], dtype=np.int64),
        "province": [p.name for p in chosen],
        "province_zh": [p.name_zh for p in chosen],
        "pinyin": [p.pinyin for p in chosen],
        "region": pd.Categorical([p.region for p in chosen], categories=REGIONS),
        "coastal": np.array([p.coastal for p in chosen]),
        "capital": [p.capital for p in chosen],
        "lat": np.array([p.lat for p in chosen]),
        "lon": np.array([p.lon for p in chosen]),
        "area_km2": np.array([p.area_km2 for p in chosen], dtype=np.float64),
        "excluded_by_papers": np.array([p.excluded_by_papers for p in chosen]),
    })


def attach_provinces(frame: pd.DataFrame, column: str, *, aliases: Mapping[str, str] | None = None,
                     exclude_tibet: bool = False, source: str | None = None) -> pd.DataFrame:
    """``frame`` with ``province_code``, ``province`` (English) and ``region`` columns from
    the labels in ``column`` (via :func:`normalize_provinces`; unknown labels raise).

    ``exclude_tibet=True`` drops Tibet's rows, as the cluster papers do; the result's
    ``attrs["dropped_tibet_rows"]`` says how many went (0 when kept). Nothing else is dropped.
    """
    if column not in frame.columns:
        raise DataError(f"{source or 'data'}: no column {column!r}; columns are {list(frame.columns)}")
    codes = normalize_provinces(frame[column], aliases=aliases, source=source or f"column {column!r}")
    out = frame.copy()
    out["province_code"] = codes
    out["province"] = [BY_CODE[c].name for c in codes]
    out["region"] = pd.Categorical([BY_CODE[c].region for c in codes], categories=REGIONS)
    dropped = 0
    if exclude_tibet:
        keep = codes != TIBET
        dropped = int((~keep).sum())
        out = out.loc[keep].reset_index(drop=True)
    out.attrs["dropped_tibet_rows"] = dropped
    return out


def foreign_market_access(codes: Iterable[int] | None = None, *, scale: float = 100.0) -> pd.Series:
    """FMA of each province (SPEC 1c; Huang & Li 2006), indexed by code: ``scale / D_ii`` for
    coastal provinces, ``scale / (D_ij* + D_j*j*)`` for inland ones with j* the coastal
    province whose capital is nearest (the coastal set is always all 11 coastal provinces,
    whichever ``codes`` are asked for). Distances in km; see
    :func:`tradeq.models.measures.fma.foreign_market_access`.
    """
    table = province_table()
    result = fma.foreign_market_access(table["lat"].to_numpy(), table["lon"].to_numpy(), table["area_km2"].to_numpy(),
                 table["coastal"].to_numpy(), scale=scale, province=table["code"].to_numpy())
    series = result.fma.to_series()
    series.index.name = "code"
    series.name = "FMA"
    return series if codes is None else series.loc[[int(c) for c in codes]]

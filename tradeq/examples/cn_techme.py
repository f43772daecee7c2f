"""China's science-and-technology yearbook by province, tidied: 31 provinces x 2010-2023.

Source: the ``techme`` R data package (Hu Huaping, MIT; OCR of the China Statistical Yearbook
on Science and Technology), vendored as CSVs with their ``PROVENANCE.txt`` under
``tradeq/resources/cn_techme/``. Each raw file is long: province (Chinese label), year
(string), item (``chn_block4``), value, units, variable code.

Cleaning is explicit, never silent:

* province labels go through :func:`tradeq.provinces.normalize_provinces` (OCR spaces such
  as '上   海' fold away) with the alias table :data:`OCR_ALIASES` for the OCR typos listed in
  PROVENANCE.txt; any other unknown label stops the load with a DataError naming the file;
* rows that are not provinces are dropped by name (:data:`NOT_PROVINCES`: the national
  total 全国 and a stray regional aggregate '尔部地区' in RDPatentValid 2014) and counted;
* each file's units are checked; a (province, year, item) that occurs twice is an error.

What :func:`load_cn_techme` returns (one row per province-year, sorted by code and year;
``attrs`` records the dropped rows, the typo fixes applied and any Tibet rows dropped):

=========================  ==================================================  ==========
column                     definition (raw file, item)                          unit
=========================  ==================================================  ==========
patents_granted            RDPatentAuthority 合计 (专利申请授权数)               patents
patent_applications        RDPatentAccept 合计 (专利申请受理数)                  applications
patents_valid              RDPatentValid 合计 (有效专利数)                       patents
budget_expenditure         PublicBudget 合计 (地方一般公共预算支出)              100m yuan
budget_science_tech        PublicBudget 科学技术                                100m yuan
rd_expenditure             RDActivity 合计 (R&D internal expenditure), 万元/1e4  100m yuan
rd_intensity               RDIntense RD强度 (R&D / GDP; from 2011)              percent
ln_patents_granted         ln(patents_granted)                                  -
ln_patent_applications     ln(patent_applications)                              -
st_budget_share            budget_science_tech / budget_expenditure             share
=========================  ==================================================  ==========

Proxies for the cluster study's variables (:data:`PROXIES`). The files have no population
or GDP, so the papers' per-capita and per-GDP ratios cannot be built here:

* CX (patents granted per capita) -> ``ln_patents_granted``: the log absorbs the province
  scale that population would divide out only up to a province fixed effect, which the
  study's province FE removes anyway; what remains is the growth of patenting.
* GOV (fiscal expenditure / GDP) -> ``st_budget_share``: the science-and-technology share of
  the budget is a composition of spending, not its size relative to output. It is a
  different variable, labelled as such.
* KS, the knowledge-spillover mediator (ln domestic patent applications) ->
  ``ln_patent_applications``: the paper's own definition.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources

import numpy as np
import pandas as pd

from tradeq.errors import DataError
from tradeq.provinces import BY_CODE, REGIONS, TIBET, fold, normalize_provinces

#: OCR typos in the raw province labels (PROVENANCE.txt) -> the intended province.
OCR_ALIASES: dict[str, str] = {
    "江两": "江西", "江四": "江西", "山两": "山西", "两藏": "西藏", "四藏": "西藏", "浙汀": "浙江",
}
#: Labels that are not provinces, dropped by name.
NOT_PROVINCES: dict[str, str] = {
    "全国": "national total",
    "尔部地区": "regional aggregate (garbled '...部地区'), RDPatentValid 2014",
}
#: The cluster study's variables and the columns that stand in for them (module docstring).
PROXIES: dict[str, str] = {"CX": "ln_patents_granted", "GOV": "st_budget_share", "KS": "ln_patent_applications"}


@dataclass(frozen=True)
class Series:
    """One tidy column: raw ``file``, ``item`` (chn_block4), expected ``units``, ``scale``."""

    file: str
    item: str
    units: str
    scale: float = 1.0


SERIES: dict[str, Series] = {
    "patents_granted": Series("RDPatentAuthority.csv", "合计", "件"),
    "patent_applications": Series("RDPatentAccept.csv", "合计", "件"),
    "patents_valid": Series("RDPatentValid.csv", "合计", "件"),
    "budget_expenditure": Series("PublicBudget.csv", "合计", "亿元"),
    "budget_science_tech": Series("PublicBudget.csv", "科学技术", "亿元"),
    "rd_expenditure": Series("RDActivity.csv", "合计", "万元", 1e-4),  # 万元 -> 亿元
    "rd_intensity": Series("RDIntense.csv", "RD强度", "%"),
}
_NOT_PROVINCE_KEYS = {fold(k): k for k in NOT_PROVINCES}


def resource_dir():
    """The folder of the vendored CSVs and PROVENANCE.txt (a Traversable)."""
    return resources.files("tradeq") / "resources" / "cn_techme"


def read_raw(file: str) -> pd.DataFrame:
    """One raw CSV as stored (all columns as read; year kept as a string)."""
    with (resource_dir() / file).open("rb") as handle:
        return pd.read_csv(handle, dtype={"province": str, "year": str, "chn_block4": str, "units": str})


def clean_provinces(raw: pd.DataFrame, file: str) -> tuple[pd.DataFrame, dict[str, int], dict[str, int]]:
    """Rows of provinces only, with ``province_code`` and an int ``year``.

    Returns (rows, dropped non-province rows by label, OCR fixes applied by 'typo->name').
    """
    keys = raw["province"].map(fold)
    not_province = keys.isin(list(_NOT_PROVINCE_KEYS))
    dropped = {_NOT_PROVINCE_KEYS[k]: int(n) for k, n in keys[not_province].value_counts().items()}
    rows = raw.loc[~not_province].reset_index(drop=True)
    fixes = {f"{k}->{v}": int(n) for k, v in OCR_ALIASES.items()
             if (n := int((rows["province"].map(fold) == fold(k)).sum()))}
    codes = normalize_provinces(rows["province"], aliases=OCR_ALIASES, source=file)
    years = pd.to_numeric(rows["year"], errors="coerce")
    if years.isna().any() or (years % 1 != 0).any():
        bad = rows.loc[years.isna() | (years % 1 != 0), "year"].unique()[:5].tolist()
        raise DataError(f"{file}: year is not an integer in {bad}")
    out = rows.assign(province_code=codes, year=years.astype(np.int64))
    return out, dropped, fixes


def load_series(name: str) -> tuple[pd.DataFrame, dict[str, int], dict[str, int]]:
    """One tidy column (province_code, year, ``name``) with the drop / fix counts."""
    spec = SERIES[name]
    raw = read_raw(spec.file)
    rows, dropped, fixes = clean_provinces(raw, spec.file)
    rows = rows.loc[rows["chn_block4"] == spec.item]
    if rows.empty:
        raise DataError(f"{spec.file}: no rows with chn_block4 == {spec.item!r}")
    units = set(rows["units"].unique())
    if units != {spec.units}:
        raise DataError(f"{spec.file}: {spec.item!r} has units {sorted(units)}, expected {spec.units!r}")
    dup = rows.duplicated(["province_code", "year"], keep=False)
    if dup.any():
        first = rows.loc[dup].iloc[0]
        raise DataError(f"{spec.file}: {spec.item!r} occurs more than once for province "
                        f"{BY_CODE[int(first.province_code)].name_zh}, year {int(first.year)}")
    tidy = rows[["province_code", "year"]].assign(**{name: rows["value"].to_numpy(np.float64) * spec.scale})
    return tidy.reset_index(drop=True), dropped, fixes


def _provinces_complete(frame: pd.DataFrame, file: str) -> None:
    missing = sorted(set(BY_CODE) - set(frame["province_code"]))
    if missing:
        raise DataError(f"{file}: no rows for {[BY_CODE[c].name_zh for c in missing]}")


def load_cn_techme(*, exclude_tibet: bool = False) -> pd.DataFrame:
    """The tidy province-year table of the module docstring (31 provinces x 2010-2023).

    ``exclude_tibet=True`` drops Tibet, as the cluster papers do (``attrs["dropped_tibet_rows"]``).
    """
    merged = None
    report: dict[str, dict] = {"dropped": {}, "ocr_fixes": {}}
    for name, spec in SERIES.items():
        tidy, dropped, fixes = load_series(name)
        _provinces_complete(tidy, spec.file)
        report["dropped"][spec.file] = dropped
        report["ocr_fixes"][spec.file] = fixes
        merged = tidy if merged is None else merged.merge(tidy, on=["province_code", "year"], how="outer")
    merged = merged.sort_values(["province_code", "year"]).reset_index(drop=True)
    merged["ln_patents_granted"] = np.log(merged["patents_granted"])
    merged["ln_patent_applications"] = np.log(merged["patent_applications"])
    merged["st_budget_share"] = merged["budget_science_tech"] / merged["budget_expenditure"]
    codes = merged["province_code"].to_numpy()
    merged.insert(1, "province", [BY_CODE[c].name for c in codes])
    merged.insert(2, "province_zh", [BY_CODE[c].name_zh for c in codes])
    merged.insert(3, "region", pd.Categorical([BY_CODE[c].region for c in codes], categories=REGIONS))
    dropped_tibet = 0
    if exclude_tibet:
        keep = codes != TIBET
        dropped_tibet = int((~keep).sum())
        merged = merged.loc[keep].reset_index(drop=True)
    merged.attrs.update(report, dropped_tibet_rows=dropped_tibet, source="techme (Hu Huaping), vendored CSVs")
    return merged

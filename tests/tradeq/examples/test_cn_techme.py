"""The cn_techme example: row counts, no province dropped silently, the OCR fixes, and values
checked by hand against the raw CSVs (file and line quoted)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tradeq.errors import DataError
from tradeq.examples import cn_techme
from tradeq.examples.cn_techme import OCR_ALIASES, PROXIES, SERIES, load_cn_techme, load_series, read_raw
from tradeq.provinces import CODES, TIBET, normalize_provinces


@pytest.fixture(scope="module")
def tidy() -> pd.DataFrame:
    return load_cn_techme()


def value(frame, code, year, column):
    row = frame.loc[(frame.province_code == code) & (frame.year == year), column]
    assert len(row) == 1
    return float(row.iloc[0])


def test_every_province_every_year(tidy):
    assert len(tidy) == 31 * 14
    assert sorted(tidy.province_code.unique()) == list(CODES)
    assert (tidy.groupby("province_code").year.apply(list) == [list(range(2010, 2024))] * 31).all()
    assert tidy.year.dtype == np.int64
    assert not tidy.duplicated(["province_code", "year"]).any()
    assert tidy.region.value_counts().to_dict() == {"East": 11 * 14, "Central": 8 * 14, "West": 12 * 14}
    # R&D intensity starts in 2011 (RDIntense.csv); everything else is complete
    assert tidy.loc[tidy.rd_intensity.isna(), "year"].unique().tolist() == [2010]
    assert tidy.drop(columns="rd_intensity").notna().all().all()


def test_only_named_non_province_rows_are_dropped_and_they_are_counted(tidy):
    dropped = tidy.attrs["dropped"]
    assert dropped["RDPatentValid.csv"] == {"全国": 56, "尔部地区": 4}
    assert dropped["PublicBudget.csv"] == {"全国": 20}
    for spec in SERIES.values():  # every other raw row of the item reaches the tidy table
        raw = read_raw(spec.file)
        n_item = int((raw.chn_block4 == spec.item).sum())
        n_dropped = int((raw.loc[raw.chn_block4 == spec.item, "province"].str.replace(r"\s+", "", regex=True)
                         .isin(["全国", "尔部地区"])).sum())
        column = next(k for k, v in SERIES.items() if v == spec)
        assert tidy[column].notna().sum() == n_item - n_dropped, spec.file


def test_tibet_is_kept_unless_excluded(tidy):
    assert (tidy.province_code == TIBET).sum() == 14 and tidy.attrs["dropped_tibet_rows"] == 0
    paper = load_cn_techme(exclude_tibet=True)
    assert len(paper) == 30 * 14 and TIBET not in set(paper.province_code)
    assert paper.attrs["dropped_tibet_rows"] == 14


def test_ocr_typos_are_fixed_by_the_alias_table(tidy):
    fixes = tidy.attrs["ocr_fixes"]
    assert fixes["RDPatentAuthority.csv"] == {"山两->山西": 4, "两藏->西藏": 4}
    assert fixes["RDPatentAccept.csv"] == {"江两->江西": 4}
    assert fixes["RDPatentValid.csv"] == {"江四->江西": 4, "四藏->西藏": 4, "浙汀->浙江": 4}
    # without the table the same labels are unknown, and all of them are named at once
    raw = read_raw("RDPatentValid.csv")
    raw = raw.loc[~raw.province.isin(["全国", "尔部地区"])]
    with pytest.raises(DataError) as info:
        normalize_provinces(raw.province, source="RDPatentValid.csv")
    assert all(f"'{typo}'" in str(info.value) for typo in ("江四", "四藏", "浙汀"))
    assert set(OCR_ALIASES) == {"江两", "江四", "山两", "两藏", "四藏", "浙汀"}


@pytest.mark.parametrize("code, year, column, expected", [
    (14, 2012, "patents_granted", 7196.0),        # RDPatentAuthority.csv:1426  山两,2012,合计
    (54, 2012, "patents_granted", 133.0),         # RDPatentAuthority.csv:1514  两藏,2012,合计
    (36, 2014, "patent_applications", 25594.0),   # RDPatentAccept.csv:1209     江两,2014,合计
    (31, 2010, "patent_applications", 71196.0),   # RDPatentAccept.csv:1701     上   海,2010,合计
    (31, 2011, "patents_granted", 47960.0),       # RDPatentAuthority.csv:1574  上海,2011,合计
    (33, 2014, "patents_valid", 597051.0),        # RDPatentValid.csv:1202      浙汀,2014,合计
    (36, 2015, "patents_valid", 51824.0),         # RDPatentValid.csv:1082      江四,2015,合计
    (11, 2023, "budget_expenditure", 7971.25),    # PublicBudget.csv:3          北京,2023,合计
    (11, 2023, "budget_science_tech", 521.91),    # PublicBudget.csv:67         北京,2023,科学技术
    (11, 2010, "rd_expenditure", 821.82342),      # RDActivity.csv:1667         北京,2010,合计,8218234.2 万元
    (44, 2020, "rd_intensity", 3.14),             # RDIntense.csv:245           广东,2020,RD强度
    (54, 2015, "rd_intensity", 0.3),              # RDIntense.csv:573           西藏,2015,RD强度
])
def test_values_checked_by_hand_against_the_raw_csvs(tidy, code, year, column, expected):
    assert value(tidy, code, year, column) == pytest.approx(expected, rel=1e-12)


def test_proxies(tidy):
    assert PROXIES == {"CX": "ln_patents_granted", "GOV": "st_budget_share", "KS": "ln_patent_applications"}
    assert value(tidy, 11, 2023, "st_budget_share") == pytest.approx(521.91 / 7971.25, rel=1e-12)
    assert value(tidy, 14, 2012, "ln_patents_granted") == pytest.approx(np.log(7196.0), rel=1e-12)
    assert tidy.st_budget_share.between(0, 1).all()


def test_rd_expenditure_agrees_with_the_intensity_file(tidy):
    # RDActivity (万元) and RDIntense (亿元, one decimal) report the same R&D spending
    raw = read_raw("RDIntense.csv")
    other = raw.loc[(raw.chn_block4 == "RD经费") & (raw.province != "全国")]
    other = other.assign(province_code=normalize_provinces(other.province), year=other.year.astype(int))
    merged = tidy.merge(other[["province_code", "year", "value"]], on=["province_code", "year"])
    assert len(merged) == 31 * 13
    assert (merged.rd_expenditure - merged.value).abs().max() <= 0.05 + 1e-9


def _with_extra_row(monkeypatch, row: dict):
    original = cn_techme.read_raw

    def patched(file):
        raw = original(file)
        return pd.concat([raw, pd.DataFrame([row])], ignore_index=True) if file == "RDIntense.csv" else raw

    monkeypatch.setattr(cn_techme, "read_raw", patched)


def test_an_unknown_label_stops_the_load_naming_the_file(monkeypatch):
    _with_extra_row(monkeypatch, {"province": "火星", "year": "2020", "chn_block4": "RD强度", "value": 1.0,
                                  "units": "%", "variables": "x"})
    with pytest.raises(DataError, match=r"RDIntense.csv: .*'火星'"):
        load_cn_techme()


def test_a_duplicate_province_year_is_an_error(monkeypatch):
    _with_extra_row(monkeypatch, {"province": "北 京", "year": "2020", "chn_block4": "RD强度", "value": 9.9,
                                  "units": "%", "variables": "x"})
    with pytest.raises(DataError, match="more than once for province 北京, year 2020"):
        load_series("rd_intensity")


def test_wrong_units_are_an_error(monkeypatch):
    _with_extra_row(monkeypatch, {"province": "北京", "year": "2009", "chn_block4": "RD强度", "value": 9.9,
                                  "units": "‰", "variables": "x"})
    with pytest.raises(DataError, match="units"):
        load_series("rd_intensity")


def test_the_data_and_provenance_are_installed_with_the_package():
    folder = cn_techme.resource_dir()
    names = {p.name for p in folder.iterdir()}
    assert {spec.file for spec in SERIES.values()} <= names and "PROVENANCE.txt" in names
    assert "huhuaping/techme" in (folder / "PROVENANCE.txt").read_text(encoding="utf-8")

"""The province registry: SPEC 1c's regions exactly, codes, geography, and name normalisation
(every variant real files carry, a DataError listing every unknown label, Tibet explicit)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tradeq.errors import DataError
from tradeq.provinces import (
    BY_CODE,
    CODES,
    PAPER_CODES,
    PROVINCES,
    TIBET,
    attach_provinces,
    fold,
    foreign_market_access,
    normalize_provinces,
    province_table,
)

# SPEC 1c, verbatim.
SPEC_EAST = "Beijing Tianjin Hebei Liaoning Shanghai Jiangsu Zhejiang Fujian Shandong Guangdong Hainan"
SPEC_CENTRAL = "Shanxi Jilin Heilongjiang Anhui Jiangxi Henan Hubei Hunan"
SPEC_WEST = "Inner_Mongolia Guangxi Chongqing Sichuan Guizhou Yunnan Shaanxi Gansu Qinghai Ningxia Xinjiang"


def _names(region: str, include_tibet: bool = False) -> set[str]:
    return {p.name for p in PROVINCES if p.region == region and (include_tibet or p.code != TIBET)}


def test_regions_are_exactly_spec_1c():
    assert _names("East") == set(SPEC_EAST.split())
    assert _names("Central") == set(SPEC_CENTRAL.split())
    assert _names("West") == {n.replace("_", " ") for n in SPEC_WEST.split()}
    assert (len(_names("East")), len(_names("Central")), len(_names("West"))) == (11, 8, 11)
    assert BY_CODE[TIBET].region == "West" and BY_CODE[TIBET].excluded_by_papers
    assert sum(p.excluded_by_papers for p in PROVINCES) == 1
    assert len(PAPER_CODES) == 30 and TIBET not in PAPER_CODES


def test_codes_are_gb_t_2260():
    assert len(CODES) == 31 and len(set(CODES)) == 31
    assert CODES == tuple(sorted(CODES))
    spot = {11: "北京", 15: "内蒙古", 31: "上海", 44: "广东", 45: "广西", 50: "重庆", 54: "西藏", 61: "陕西",
            14: "山西", 65: "新疆"}
    assert all(BY_CODE[c].name_zh == zh for c, zh in spot.items())


def test_geography_is_plausible():
    table = province_table()
    coastal = set(table.loc[table.coastal, "province"])
    assert coastal == {"Tianjin", "Hebei", "Liaoning", "Shanghai", "Jiangsu", "Zhejiang", "Fujian",
                       "Shandong", "Guangdong", "Guangxi", "Hainan"}
    # mainland China spans about 18-54 N and 73-135 E
    assert table.lat.between(18, 54).all() and table.lon.between(73, 135).all()
    # land areas sum to China's ~9.6 million km2 (Taiwan, Hong Kong, Macao excluded: ~36,000)
    assert table.area_km2.sum() == pytest.approx(9.6e6, rel=0.03)
    assert table.set_index("province").area_km2.idxmax() == "Xinjiang"
    assert table.set_index("province").area_km2.idxmin() == "Shanghai"


@pytest.mark.parametrize("label, code", [
    ("北京", 11), ("北京市", 11), ("北   京", 11), ("Beijing", 11), ("BEIJING", 11), ("Beijing Shi", 11),
    ("Beijing Municipality", 11), ("beijing  municipality", 11),
    ("内蒙古", 15), ("内蒙 古", 15), ("内蒙古自治区", 15), ("Inner Mongolia", 15), ("Nei Mongol", 15),
    ("Neimenggu", 15), ("Inner Mongolia Autonomous Region", 15),
    ("广西壮族自治区", 45), ("Guangxi Zhuang Autonomous Region", 45), ("Guangxi", 45),
    ("宁夏回族自治区", 64), ("Ningxia Hui Autonomous Region", 64),
    ("新疆维吾尔自治区", 65), ("Xinjiang Uygur Autonomous Region", 65), ("Xinjiang Uyghur Autonomous Region", 65),
    ("西藏", 54), ("西藏自治区", 54), ("Xizang", 54), ("Tibet", 54), ("Tibet Autonomous Region", 54),
    ("陕西", 61), ("Shaanxi", 61), ("Shaanxi Province", 61), ("山西", 14), ("Shanxi", 14), ("Shanxi Sheng", 14),
    ("黑龙江省", 23), ("Heilongjiang Province", 23), ("Xi-zang", 54),
    (11, 11), (np.int64(44), 44), ("44", 44), (650000, 65), ("110000", 11),
])
def test_every_real_variant_maps_to_its_code(label, code):
    assert normalize_provinces([label]).tolist() == [code]


def test_shaanxi_and_shanxi_stay_apart():
    # the tone-marked pinyin differs only in tones: folding keeps them, so neither silently
    # becomes the other
    assert fold("Shǎnxī") != fold("Shānxī")
    with pytest.raises(DataError):
        normalize_provinces(["Shǎnxī"])


def test_unknown_labels_are_all_listed_in_one_error_with_rows_and_suggestions():
    with pytest.raises(DataError) as info:
        normalize_provinces(["北京", "江两", "Hong Kong", None, "江两", "Peking"], source="RDPatent.csv")
    msg = str(info.value)
    assert "\n" not in msg and msg.startswith("RDPatent.csv:")
    assert "'江两' (rows 1, 4; did you mean" in msg and "江西 (Jiangxi)" in msg
    assert "'Hong Kong' (row 2" in msg and "'Peking' (row 5" in msg
    assert "missing value (row 3)" in msg
    assert "'北京'" not in msg


def test_national_rows_are_not_provinces():
    with pytest.raises(DataError, match="全国"):
        normalize_provinces(["全国"])


def test_aliases_fix_typos_explicitly_and_only_when_given():
    assert normalize_provinces(["江两", "两藏", "浙汀"], aliases={"江两": "江西", "两藏": "西藏", "浙汀": "浙江"}).tolist() == [36, 54, 33]
    with pytest.raises(DataError):
        normalize_provinces(["江两"])


def test_codes_outside_the_table_are_unknown():
    with pytest.raises(DataError, match="'71'"):  # Taiwan's GB/T 2260 code is not mainland
        normalize_provinces(["71"])
    with pytest.raises(DataError):
        normalize_provinces([True])


def test_attach_provinces_adds_columns_and_drops_tibet_only_when_asked():
    frame = pd.DataFrame({"prov": ["上海", "西藏", "Tibet", "Gansu"], "x": [1, 2, 3, 4]})
    kept = attach_provinces(frame, "prov")
    assert kept.province_code.tolist() == [31, 54, 54, 62]
    assert kept.province.tolist() == ["Shanghai", "Tibet", "Tibet", "Gansu"]
    assert kept.region.tolist() == ["East", "West", "West", "West"]
    assert kept.attrs["dropped_tibet_rows"] == 0 and len(kept) == 4
    dropped = attach_provinces(frame, "prov", exclude_tibet=True)
    assert dropped.province.tolist() == ["Shanghai", "Gansu"] and dropped.x.tolist() == [1, 4]
    assert dropped.attrs["dropped_tibet_rows"] == 2
    with pytest.raises(DataError, match="no column 'province'"):
        attach_provinces(frame, "province")


def test_foreign_market_access_of_the_registry():
    fma = foreign_market_access()
    assert fma.index.tolist() == list(CODES)
    # coastal Shanghai, the smallest coastal province, has the best access; Xinjiang the worst
    assert fma.idxmax() == 31 and fma.idxmin() == 65
    # Shanghai: 100 / ((2/3) sqrt(6340 / pi))
    assert fma.loc[31] == pytest.approx(100 / ((2 / 3) * np.sqrt(6340 / np.pi)), rel=1e-12)
    assert foreign_market_access([11, 65]).index.tolist() == [11, 65]

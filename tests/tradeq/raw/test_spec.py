"""``data=raw`` settings: every one checked when the spec is built, with a one-line message naming it."""

from __future__ import annotations

import pandas as pd
import pytest

from tradeq.errors import ConfigError, DataError, TradeqError
from tradeq.raw.pipeline import PanelSettings
from tradeq.raw.simulated import RawStudyParams
from tradeq.specs.data_raw import RawInputsSpec, RawSpec


@pytest.fixture()
def files(tmp_path):
    customs = pd.DataFrame({"firm_id": [1], "year": [2005], "hs8": ["01012100"], "destination": ["USA"],
                            "value": [1.0], "quantity": [1.0], "trade_mode": ["general"]})
    register = pd.DataFrame({c: [1] for c in ("firm_id", "year", "province", "industry", "founded", "total_assets",
                                              "liabilities", "profit", "inventory")})
    prices = pd.DataFrame({"year": [2005], "province": ["Beijing"], "category": ["grain"], "index": [101.0]})
    paths = {"customs": tmp_path / "customs.parquet", "register": tmp_path / "register.csv",
             "prices": tmp_path / "prices.csv"}
    customs.to_parquet(paths["customs"], index=False)
    register.to_csv(paths["register"], index=False)
    prices.to_csv(paths["prices"], index=False)
    pd.DataFrame({"industry": ["13", "14"], "13": [0, 1.0], "14": [1.0, 0]}).to_csv(tmp_path / "W.csv", index=False)
    return {k: str(v) for k, v in paths.items()}


def test_defaults_are_the_simulated_raw_data():
    spec = RawSpec()
    assert spec.simulated and spec.settings() == PanelSettings()


def test_files_and_settings_reach_the_pipeline(files, tmp_path):
    spec = RawSpec(**files, linkage=str(tmp_path / "W.csv"), sigma="4.5", trade_modes=("general",), product_digits=6)
    assert not spec.simulated
    s = spec.settings()
    assert s.sigma == 4.5 and s.trade_modes == ("general",) and s.product_digits == 6


@pytest.mark.parametrize("change, error, message", [
    ({"register": None}, ConfigError, r"data.register is not set: data.customs, data.register and data.prices go"),
    ({"prices": "nope.csv"}, ConfigError, r"data.prices=nope.csv: file not found"),
    ({"sigma_fallback": "median"}, ConfigError, r"data.sigma_fallback=median: must be one of hs3_median, none"),
    ({"sigma": "big"}, ConfigError, r"data.sigma=big: must be 'bgw'"),
    ({"sigma": "0.9"}, ConfigError, r"data.sigma=0.9: must exceed 1"),
    ({"sigma_default": 1.0}, ConfigError, r"data.sigma_default=1.0: must be > 1"),
    ({"product_digits": 12}, ConfigError, r"data.product_digits=12: must be in \[2, 10\]"),
    ({"memory_limit": "lots"}, ConfigError, r"data.memory_limit=lots: must be a size"),
    ({"market_ddof": 2}, ConfigError, r"data.market_ddof=2"),
    ({"threads": 0}, ConfigError, r"data.threads=0"),
    ({"trade_modes": ()}, ConfigError, r"data.trade_modes=\[\]: must list trade modes"),
])
def test_bad_settings_are_one_line_errors(files, change, error, message):
    with pytest.raises(error, match=message) as info:
        RawSpec(**{**files, **change})
    assert "\n" not in str(info.value)


def test_wrong_columns_name_the_file_and_the_column(files, tmp_path):
    pd.DataFrame({"firm_id": [1], "year": [2005]}).to_csv(tmp_path / "bad.csv", index=False)
    with pytest.raises(DataError, match=r"data.customs=.*bad.csv: lacks column 'hs8' \(it has \['firm_id', 'year'\]\)"):
        RawSpec(**{**files, "customs": str(tmp_path / "bad.csv")})
    (tmp_path / "broken.parquet").write_bytes(b"not a parquet file")
    with pytest.raises(DataError, match=r"broken.parquet: could not read its columns"):
        RawSpec(**{**files, "prices": str(tmp_path / "broken.parquet")})
    (tmp_path / "customs.txt.json").write_text("{}")
    with pytest.raises(ConfigError, match=r"must be a .parquet or .csv file"):
        RawSpec(**{**files, "customs": str(tmp_path / "customs.txt.json")})


def test_trade_modes_need_a_trade_mode_column(files, tmp_path):
    pd.read_parquet(files["customs"]).drop(columns="trade_mode").to_parquet(tmp_path / "c2.parquet", index=False)
    with pytest.raises(DataError, match=r"data.trade_modes=\['general'\]: data.customs=.*c2.parquet has no 'trade_mode'"):
        RawSpec(**{**files, "customs": str(tmp_path / "c2.parquet")}, trade_modes=("general",))


def test_linkage_is_checked(files, tmp_path):
    pd.DataFrame({"industry": ["13", "14"], "13": [0, 1.0], "15": [1.0, 0]}).to_csv(tmp_path / "W2.csv", index=False)
    with pytest.raises(DataError, match=r"linkage .*W2.csv: its rows and columns must list the same industries"):
        RawSpec(**files, linkage=str(tmp_path / "W2.csv"))
    pd.DataFrame({"industry": ["13", "14"], "13": [0, -1.0], "14": [1.0, 0]}).to_csv(tmp_path / "W3.csv", index=False)
    with pytest.raises(DataError, match=r"every entry must be a non-negative number"):
        RawSpec(**files, linkage=str(tmp_path / "W3.csv"))
    with pytest.raises(ConfigError, match=r"data.linkage=.*: the simulated raw data bring their own linkage"):
        RawSpec(linkage=str(tmp_path / "W2.csv"))


def test_simulator_settings_are_checked():
    with pytest.raises(ConfigError, match=r"data.dgp: group_by='region'"):
        RawSpec(dgp=RawStudyParams(group_by="region"))
    with pytest.raises(ConfigError, match=r"data.n_records=10: must be ≥ 1000"):
        RawSpec(n_records=10)
    with pytest.raises(TradeqError, match=r"raw.format=xlsx: must be one of parquet, csv"):
        RawInputsSpec(name="customs", format="xlsx")

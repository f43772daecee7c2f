"""Which sigma a record gets: destination value, HS3 median, default, constant; bad settings."""

from __future__ import annotations

import pandas as pd
import pytest

from tradeq.errors import ConfigError
from tradeq.raw.sigmas import bgw_table, country_key, resolve_sigmas


def test_destination_value_then_hs3_median_then_missing():
    t = bgw_table()
    usa_847 = float(t[(t.cname == "USA") & (t.hs3 == "847")].sigma.iloc[0])
    median_847 = float(t[t.hs3 == "847"].sigma.median())
    pairs = pd.DataFrame({"hs3": ["847", "847", "990"], "destination": ["United States", "Vietnam", "USA"]})
    out = resolve_sigmas(pairs)
    assert out.sigma.iloc[0] == usa_847 and out.sigma_source.iloc[0] == "destination"
    assert out.sigma.iloc[1] == median_847 and out.sigma_source.iloc[1] == "hs3_median"
    assert pd.isna(out.sigma.iloc[2]) and out.sigma_source.iloc[2] == "missing"
    none = resolve_sigmas(pairs, fallback="none")
    assert none.sigma_source.tolist() == ["destination", "missing", "missing"]
    dflt = resolve_sigmas(pairs, default=4.0)
    assert dflt.sigma.iloc[2] == 4.0 and dflt.sigma_source.iloc[2] == "default"


def test_constant_and_rejected_settings():
    pairs = pd.DataFrame({"hs3": ["847"], "destination": ["Japan"]})
    out = resolve_sigmas(pairs, sigma=5)
    assert out.sigma.iloc[0] == 5.0 and out.sigma_source.iloc[0] == "constant"
    for bad in ({"sigma": 1.0}, {"sigma": "ces"}, {"default": 0.5}, {"fallback": "mean"}):
        with pytest.raises(ConfigError):
            resolve_sigmas(pairs, **bad)


def test_vendored_file_and_country_keys():
    t = bgw_table()
    assert t.cname.nunique() == 73 and (t.sigma > 1).all() and t.hs3.str.len().eq(3).all()
    assert len(t) == 11293  # PROVENANCE.txt: 11,293 rows, none at or below 1
    assert country_key("United Kingdom") == country_key("UnitedKingdom") == "unitedkingdom"
    assert country_key("Hong Kong") == "hongkong" and country_key("U.S.") == "usa"

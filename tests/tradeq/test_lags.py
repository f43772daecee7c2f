"""Lags on an unbalanced panel with gaps: a gap gives missing, never a wrong neighbour."""

import numpy as np
import pandas as pd
import pytest

from tradeq.lags import add_lags, panel_lag


@pytest.fixture
def gappy():
    # firm 1: 2004, 2005, 2007 (gap in 2006); firm 2: 2005, 2006, 2007, 2008; firm 3: 2010 only
    rows = [(1, 2004, 10.0), (1, 2005, 11.0), (1, 2007, 13.0),
            (2, 2005, 20.0), (2, 2006, 21.0), (2, 2007, 22.0), (2, 2008, 23.0),
            (3, 2010, 30.0)]
    df = pd.DataFrame(rows, columns=["firm", "year", "x"])
    return df.sample(frac=1.0, random_state=3)  # shuffled: order must not matter


def expected(df, k):
    lookup = {(f, t): x for f, t, x in df[["firm", "year", "x"]].itertuples(index=False)}
    return np.array([lookup.get((f, t - k), np.nan) for f, t in df[["firm", "year"]].itertuples(index=False)])


@pytest.mark.parametrize("k", [1, 2, 3])
def test_lag_matches_exact_year_lookup(gappy, k):
    np.testing.assert_array_equal(panel_lag(gappy, "x", k).to_numpy(), expected(gappy, k))


def test_gap_is_missing_not_previous_row(gappy):
    lag1 = panel_lag(gappy, "x", 1)
    row_2007 = gappy.index[(gappy.firm == 1) & (gappy.year == 2007)][0]
    assert np.isnan(lag1[row_2007])  # naive groupby.shift would give 11.0 (2005)
    row_2007_l2 = panel_lag(gappy, "x", 2)[row_2007]
    assert row_2007_l2 == 11.0  # two years back is 2005, observed


def test_no_cross_firm_leak(gappy):
    lag1 = panel_lag(gappy, "x", 1)
    row = gappy.index[(gappy.firm == 2) & (gappy.year == 2005)][0]
    assert np.isnan(lag1[row])  # firm 1's 2004 value must not leak


def test_add_lags_names_and_index(gappy):
    out = add_lags(gappy, ["x"], [1, 2, 3])
    assert [c for c in out.columns if c.startswith("L")] == ["L1_x", "L2_x", "L3_x"]
    assert out.index.equals(gappy.index)


def test_bad_order_and_time(gappy):
    with pytest.raises(ValueError, match="lag order"):
        panel_lag(gappy, "x", 0)
    with pytest.raises(ValueError, match="whole periods"):
        panel_lag(gappy.assign(year=gappy.year + 0.5), "x", 1)

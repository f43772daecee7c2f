import numpy as np
import pandas as pd
import pytest

from tradeq.winsorize import tail_bounds, trim, winsorize


def test_bounds_are_numpy_linear_quantiles():
    x = np.arange(101, dtype=float)  # 0..100: 5% quantile = 5, 95% = 95 exactly
    assert tail_bounds(x, 0.05) == (5.0, 95.0)


def test_winsorize_and_trim():
    s = pd.Series(np.arange(101, dtype=float))
    w = winsorize(s, 0.05)
    assert w.min() == 5.0 and w.max() == 95.0 and (w[5:96] == s[5:96]).all()
    t = trim(s, 0.05)
    assert t.isna().sum() == 10 and t.min() == 5.0 and t.max() == 95.0


def test_missing_values_pass_through_and_bad_cut():
    s = pd.Series([np.nan, 1.0, 2.0, 3.0])
    assert np.isnan(winsorize(s, 0.1)[0])
    with pytest.raises(ValueError):
        winsorize(s, 0.5)

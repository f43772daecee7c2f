"""Demand-residual export quality against pyfixest, statsmodels and brute-force loops; row identity."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf

from tradeq.models.measures.export_quality import (
    combine_firm_year,
    demand_design,
    firm_year_sums,
    group_min_max,
    ksw_quality,
    record_quality,
)


def _records(seed=0, n=600, n_products=4, n_dest=5, n_years=3, n_firms=40):
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({
        "firm": rng.integers(0, n_firms, n),
        "product": rng.integers(0, n_products, n) * 7 + 100,  # arbitrary integer codes
        "dest": rng.integers(0, n_dest, n),
        "year": rng.integers(2004, 2004 + n_years, n),
    })
    df["sigma"] = 1.5 + df["product"] % 5 + 0.3 * df["dest"]
    df["ln_p"] = rng.normal(0, 0.5, n)
    df["ln_q"] = rng.normal(3, 1, n) - df["sigma"] * df["ln_p"] + rng.normal(0, 0.3, n)
    df["value"] = np.exp(df["ln_p"] + df["ln_q"])
    df["fy"] = df.groupby(["firm", "year"]).ngroup()
    return df


def _fit(df, **kw):
    return ksw_quality(df.ln_q, df.ln_p, df.sigma, df["product"], df.dest, df.year, df.value, df.fy, **kw)


def test_residuals_match_pyfixest_fe_only_regression():
    import pyfixest as pf

    df = _records(1)
    df["y"] = df.ln_q + df.sigma * df.ln_p
    df["cell"] = df.groupby(["product", "dest", "year"]).ngroup()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = pf.feols("y ~ 1 | cell", df)
    kept = np.setdiff1d(np.arange(len(df)), np.asarray(fit._na_index))
    rec = record_quality(demand_design(df.ln_q, df.ln_p, df.sigma, df["product"], df.dest, df.year))
    np.testing.assert_array_equal(rec.row_id, kept)
    np.testing.assert_allclose(rec.residual, fit.resid(), atol=1e-10)
    assert rec.n_singletons == len(df) - fit._N


@pytest.mark.parametrize("seed", [2, 3])
def test_residuals_match_per_product_ols_with_destination_year_dummies(seed):
    # KSW's regression as they write it: within product h, y on alpha_h + alpha_mt
    df = _records(seed)
    rec, _, _ = _fit(df)
    got = pd.Series(rec.residual, index=rec.row_id)
    for _, part in df.loc[rec.row_id].groupby("product"):
        part = part.assign(y=part.ln_q + part.sigma * part.ln_p, dy=part.dest.astype(str) + "_" + part.year.astype(str))
        ols = smf.ols("y ~ C(dy)", data=part).fit()
        np.testing.assert_allclose(got.loc[part.index].to_numpy(), ols.resid.to_numpy(), atol=1e-9)


def test_quality_normalisation_and_firm_year_weights_match_loops():
    df = _records(4)
    rec, tq, value = _fit(df)
    q = pd.Series(rec.residual / (df.sigma.to_numpy()[rec.row_id] - 1), index=rec.row_id)
    np.testing.assert_allclose(rec.quality, q.to_numpy(), rtol=1e-12)
    r = {}
    for prod in df["product"].unique():
        ids = [i for i in rec.row_id if df["product"][i] == prod]
        lo, hi = min(q[i] for i in ids), max(q[i] for i in ids)
        r.update({i: (q[i] - lo) / (hi - lo) for i in ids})
    np.testing.assert_allclose(rec.r, [r[i] for i in rec.row_id], rtol=1e-12)
    for fy in range(df.fy.max() + 1):
        ids = [i for i in rec.row_id if df.fy[i] == fy]
        if not ids:
            assert np.isnan(tq[fy])
            continue
        v = sum(df.value[i] for i in ids)
        assert tq[fy] == pytest.approx(sum(df.value[i] / v * r[i] for i in ids), rel=1e-12)
        assert value[fy] == pytest.approx(v, rel=1e-12)
    assert np.nanmin(rec.r) == 0.0 and np.nanmax(rec.r) == 1.0


def _by_identity(df: pd.DataFrame) -> pd.Series:
    """Eqs. 1-3 row by row, keyed by the frame's index: the reference for row identity."""
    d = df.assign(y=df.ln_q + df.sigma * df.ln_p).dropna(subset=["y"])
    cell = d.groupby(["product", "dest", "year"])["y"]
    d = d[cell.transform("size") > 1]  # one FE dimension: one pass removes every singleton
    q = (d.y - d.groupby(["product", "dest", "year"])["y"].transform("mean")) / (d.sigma - 1)
    lo, hi = q.groupby(d["product"]).transform("min"), q.groupby(d["product"]).transform("max")
    return (q - lo) / (hi - lo)


def test_a_missing_row_shifts_no_other_records_quality():
    df = _records(5, n=150)  # ~2.5 records per cell: singletons too
    full, _, _ = _fit(df)
    j = int(full.row_id[len(full.row_id) // 3])  # a record that has a quality
    holed = df.copy()
    holed.loc[j, "ln_q"] = np.nan  # missing quantity: the design drops the row
    rec, _, _ = _fit(holed)
    assert rec.n_missing == 1 and j not in set(rec.row_id) and rec.n_singletons > 0
    # every record keeps its own quality, computed row by row on the data without row j ...
    ref = _by_identity(holed)
    np.testing.assert_array_equal(rec.row_id, ref.index.to_numpy())
    np.testing.assert_allclose(rec.r, ref.to_numpy(), rtol=1e-10, equal_nan=True)
    # ... and records of other products are exactly as in the full fit (nothing moved up a row)
    other = df["product"].to_numpy()[rec.row_id] != df["product"][j]
    a = pd.Series(full.r, index=full.row_id)
    np.testing.assert_array_equal(rec.r[other], a.loc[rec.row_id[other]].to_numpy())


def test_split_by_product_and_combined_equals_one_fit():
    df = _records(6)
    _, tq, _ = _fit(df)
    parts = [df[df["product"] < 114], df[df["product"] >= 114]]
    n_fy = df.fy.max() + 1
    w_sum, v_sum = np.zeros(n_fy), np.zeros(n_fy)
    for part in parts:
        rec, _, _ = _fit(part, row_id=part.index.to_numpy())
        sel = df.loc[rec.row_id]
        w, v = firm_year_sums(rec.r, sel.value.to_numpy(), sel.fy.to_numpy(), n_fy)
        w_sum += w
        v_sum += v
    np.testing.assert_allclose(combine_firm_year(w_sum, v_sum), tq, rtol=1e-12, equal_nan=True)


def test_sigma_at_or_below_one_is_rejected():
    df = _records(7)
    df.loc[3, "sigma"] = 1.0
    with pytest.raises(ValueError, match="sigma must exceed 1"):
        _fit(df)


def test_singleton_cells_and_constant_products_are_counted():
    df = pd.DataFrame({
        "ln_q": [1.0, 2.0, 0.5, 1.0, 1.0], "ln_p": [0.0, 0.0, 0.0, 0.1, 0.1], "sigma": [3.0] * 5,
        "product": [1, 1, 2, 3, 3], "dest": [0, 0, 0, 0, 0], "year": [1, 1, 1, 1, 1],
        "value": [1.0] * 5, "fy": [0, 1, 2, 3, 4],
    })
    rec, tq, _ = _fit(df)
    assert rec.n_singletons == 1 and 2 not in set(rec.row_id)  # product 2 alone in its cell
    assert rec.n_degenerate == 2  # product 3: both records equal, max = min
    np.testing.assert_array_equal(rec.row_id, [0, 1, 3, 4])
    np.testing.assert_allclose(rec.r, [0.0, 1.0, np.nan, np.nan])
    assert tq[0] == 0.0 and tq[1] == 1.0 and np.isnan(tq[2:]).all()


def test_group_min_max_empty_groups_and_unique_row_ids():
    lo, hi = group_min_max(np.array([3.0, 1.0, 2.0]), np.array([2, 0, 2]), 4)
    np.testing.assert_array_equal(lo, [1.0, np.nan, 2.0, np.nan])
    np.testing.assert_array_equal(hi, [1.0, np.nan, 3.0, np.nan])
    df = _records(8, n=10)
    with pytest.raises(ValueError, match="unique"):
        _fit(df, row_id=np.zeros(10, int))

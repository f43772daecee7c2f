"""Location quotient E_ij = (Y_ij / Y_i) / (Y_j / Y) against hand-computed cases, with every
edge case (zero cells, absent sectors, empty provinces, missing values, bad inputs)."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from tradeq.models.measures.location_quotient import (
    MISSING,
    NO_OUTPUT,
    PROVINCE_EMPTY,
    SECTOR_ABSENT,
    location_quotient,
)

# Provinces x (primary, secondary, tertiary); totals 100, 100, 200; sectors 30, 100, 270; Y = 400.
Y = np.array([[10.0, 30.0, 60.0],
              [20.0, 50.0, 30.0],
              [0.0, 20.0, 180.0]])
# By hand: national shares (0.075, 0.25, 0.675).
E = np.array([[4 / 3, 1.2, 8 / 9],
              [8 / 3, 2.0, 4 / 9],
              [0.0, 0.4, 4 / 3]])


def test_hand_computed_cross_section():
    r = location_quotient(Y)
    np.testing.assert_allclose(r.lq.values, E, rtol=1e-14)
    assert r.lq.dims == ("province", "sector")
    assert r.reasons() == {}
    assert (r.reason.values == "").all()


def test_output_weighted_mean_of_each_sector_is_one():
    rng = np.random.default_rng(0)
    out = rng.gamma(2.0, 10.0, size=(30, 3))
    lq = location_quotient(out).lq.values
    weights = out.sum(1) / out.sum()
    np.testing.assert_allclose(weights @ lq, 1.0, rtol=1e-13)


def test_zero_sector_output_in_a_province_is_zero_not_nan():
    r = location_quotient(Y)
    assert r.lq.values[2, 0] == 0.0 and r.reason.values[2, 0] == ""


def test_panel_is_computed_year_by_year():
    second = Y[::-1] * np.array([1.0, 2.0, 0.5])
    r = location_quotient(np.stack([Y, second]))
    assert r.lq.dims == ("year", "province", "sector")
    np.testing.assert_allclose(r.lq.values[0], E, rtol=1e-14)
    np.testing.assert_allclose(r.lq.values[1], location_quotient(second).lq.values, rtol=1e-14)


def test_sector_absent_everywhere_is_nan_with_its_reason_and_the_rest_unchanged():
    out = np.column_stack([Y, np.zeros(3)])
    r = location_quotient(out)
    assert np.isnan(r.lq.values[:, 3]).all()
    assert (r.reason.values[:, 3] == SECTOR_ABSENT).all()
    np.testing.assert_allclose(r.lq.values[:, :3], E, rtol=1e-14)  # an empty sector adds nothing
    assert r.reasons() == {SECTOR_ABSENT: 3}


def test_province_without_output_is_nan_with_its_reason():
    out = np.vstack([Y, np.zeros(3)])
    r = location_quotient(out)
    assert np.isnan(r.lq.values[3]).all() and (r.reason.values[3] == PROVINCE_EMPTY).all()
    np.testing.assert_allclose(r.lq.values[:3], E, rtol=1e-14)


def test_missing_cell_blanks_its_province_and_leaves_it_out_of_the_totals():
    out = Y.copy()
    out[1, 2] = np.nan
    r = location_quotient(out)
    assert np.isnan(r.lq.values[1]).all() and (r.reason.values[1] == MISSING).all()
    # by hand, rows 0 and 2 only: sectors 10, 50, 240 of 300 -> shares 1/30, 1/6, 0.8
    np.testing.assert_allclose(r.lq.values[0], [3.0, 1.8, 0.75], rtol=1e-14)
    np.testing.assert_allclose(r.lq.values[2], [0.0, 0.6, 1.125], rtol=1e-14)


def test_no_output_at_all():
    r = location_quotient(np.zeros((2, 3)))
    assert np.isnan(r.lq.values).all() and (r.reason.values == NO_OUTPUT).all()


def test_national_reference_totals():
    # national accounts 40, 120, 340 (500): shares 0.08, 0.24, 0.68
    r = location_quotient(Y, reference=np.array([40.0, 120.0, 340.0]))
    np.testing.assert_allclose(r.lq.values[0], [1.25, 1.25, 0.6 / 0.68], rtol=1e-14)
    r = location_quotient(Y, reference=np.array([40.0, 0.0, 340.0]))
    assert (r.reason.values[:, 1] == SECTOR_ABSENT).all()
    with pytest.raises(ValueError, match="shape"):
        location_quotient(Y, reference=np.ones(4))
    with pytest.raises(ValueError, match="negative"):
        location_quotient(Y, reference=np.array([-1.0, 1.0, 1.0]))


def test_named_arrays_keep_their_dims_order_and_coords():
    da = xr.DataArray(np.stack([Y.T, Y.T]), dims=("year", "sector", "province"),
                      coords={"year": [2001, 2002], "sector": ["primary", "secondary", "tertiary"],
                              "province": [11, 12, 13]})
    r = location_quotient(da)
    assert r.lq.dims == ("year", "sector", "province")
    np.testing.assert_allclose(r.lq.sel(year=2002, sector="tertiary").values, E[:, 2], rtol=1e-14)
    assert r.lq.province.values.tolist() == [11, 12, 13]
    ref = xr.DataArray([[40.0, 120.0, 340.0]] * 2, dims=("year", "sector"))
    np.testing.assert_allclose(location_quotient(da, reference=ref).lq.sel(year=2001, province=11).values,
                               [1.25, 1.25, 0.6 / 0.68], rtol=1e-14)


def test_a_dataset_with_one_variable_per_sector():
    ds = xr.Dataset({s: (("year", "province"), np.stack([Y[:, j], Y[:, j]])) for j, s in
                     enumerate(["primary", "secondary", "tertiary"])}, coords={"year": [2001, 2002]})
    r = location_quotient(ds)
    assert set(r.lq.dims) == {"sector", "year", "province"}
    np.testing.assert_allclose(r.lq.sel(year=2001).transpose("province", "sector").values, E, rtol=1e-14)
    assert r.lq.sector.values.tolist() == ["primary", "secondary", "tertiary"]


def test_bad_inputs_are_rejected():
    with pytest.raises(ValueError, match="negative"):
        location_quotient(np.array([[1.0, -2.0], [3.0, 4.0]]))
    with pytest.raises(ValueError, match="infinite"):
        location_quotient(np.array([[1.0, np.inf], [3.0, 4.0]]))
    with pytest.raises(ValueError, match="shape"):
        location_quotient(np.ones(3))
    with pytest.raises(ValueError, match="dims"):
        location_quotient(xr.DataArray(np.ones((2, 2)), dims=("region", "sector")))

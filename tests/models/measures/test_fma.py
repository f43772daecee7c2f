"""Foreign-market access (Huang & Li 2006; SPEC 1c): distances and FMA by hand."""

from __future__ import annotations

import numpy as np
import pytest

from tradeq.models.measures.fma import (
    EARTH_RADIUS_KM,
    distance_matrix_km,
    foreign_market_access,
    haversine_km,
    internal_distance_km,
)

DEGREE_KM = EARTH_RADIUS_KM * np.pi / 180.0  # one degree of a great circle


def _law_of_cosines_km(lat1, lon1, lat2, lon2):
    p1, p2, dl = np.radians(lat1), np.radians(lat2), np.radians(lon2 - lon1)
    return EARTH_RADIUS_KM * np.arccos(np.sin(p1) * np.sin(p2) + np.cos(p1) * np.cos(p2) * np.cos(dl))


def test_haversine_by_hand_and_against_the_law_of_cosines():
    assert haversine_km(0.0, 0.0, 0.0, 1.0) == pytest.approx(DEGREE_KM, rel=1e-14)
    assert haversine_km(10.0, 30.0, 11.0, 30.0) == pytest.approx(DEGREE_KM, rel=1e-12)  # a meridian
    assert haversine_km(0.0, 0.0, 0.0, 180.0) == pytest.approx(np.pi * EARTH_RADIUS_KM, rel=1e-14)
    # Beijing - Shanghai (about 1,070 km), an independent formula
    d = haversine_km(39.90, 116.41, 31.23, 121.47)
    assert d == pytest.approx(_law_of_cosines_km(39.90, 116.41, 31.23, 121.47), rel=1e-10)
    assert 1050 < d < 1090


def test_distance_matrix_is_symmetric_with_zero_diagonal():
    lat, lon = np.array([39.9, 31.2, 23.1]), np.array([116.4, 121.5, 113.3])
    D = distance_matrix_km(lat, lon)
    np.testing.assert_allclose(D, D.T, rtol=0, atol=1e-9)
    np.testing.assert_array_equal(np.diag(D), 0.0)
    assert D[0, 2] == pytest.approx(haversine_km(39.9, 116.4, 23.1, 113.3), rel=1e-14)


def test_internal_distance():
    # a disc of radius r: (2/3) r
    assert internal_distance_km(np.pi * 30.0 ** 2) == pytest.approx(20.0, rel=1e-14)
    with pytest.raises(ValueError, match="positive"):
        internal_distance_km([100.0, 0.0])


def test_fma_by_hand_on_the_equator():
    # coastal province at lon 0 (disc radius 30 km -> D_00 = 20), inland ones 1 and 2 degrees east
    lat, lon = np.zeros(3), np.array([0.0, 1.0, 2.0])
    area = np.pi * np.array([30.0, 10.0, 10.0]) ** 2
    r = foreign_market_access(lat, lon, area, np.array([True, False, False]), province=["c", "a", "b"])
    np.testing.assert_allclose(r.fma.values, [100 / 20, 100 / (DEGREE_KM + 20), 100 / (2 * DEGREE_KM + 20)],
                               rtol=1e-13)
    assert r.via.values.tolist() == ["c", "c", "c"]
    assert r.fma.dims == ("province",) and r.fma.province.values.tolist() == ["c", "a", "b"]
    np.testing.assert_allclose(r.distance_km.values, 100 / r.fma.values, rtol=1e-14)


def test_nearest_versus_min_total_reading():
    # coastal A (lon 0, internal distance 200 km) is nearer to inland C (lon 0.9) than coastal
    # B (lon 2, internal distance 2 km), but D_CB + D_BB is smaller than D_CA + D_AA
    lat, lon = np.zeros(3), np.array([0.0, 2.0, 0.9])
    area = np.pi * np.array([300.0, 3.0, 50.0]) ** 2
    coastal = np.array([True, True, False])
    nearest = foreign_market_access(lat, lon, area, coastal)
    total = foreign_market_access(lat, lon, area, coastal, inland="min_total")
    assert nearest.fma.values[2] == pytest.approx(100 / (0.9 * DEGREE_KM + 200), rel=1e-12)
    assert total.fma.values[2] == pytest.approx(100 / (1.1 * DEGREE_KM + 2), rel=1e-12)
    assert nearest.via.values[2] == 0 and total.via.values[2] == 1
    np.testing.assert_array_equal(nearest.fma.values[:2], total.fma.values[:2])


def test_scale_and_bad_inputs():
    lat, lon, area = np.zeros(2), np.array([0.0, 1.0]), np.full(2, 100.0)
    base = foreign_market_access(lat, lon, area, np.array([True, False]))
    np.testing.assert_allclose(foreign_market_access(lat, lon, area, np.array([True, False]), scale=1.0).fma,
                               base.fma / 100, rtol=1e-15)
    with pytest.raises(ValueError, match="no coastal"):
        foreign_market_access(lat, lon, area, np.array([False, False]))
    with pytest.raises(ValueError, match="boolean"):
        foreign_market_access(lat, lon, area, np.array([1, 0]))
    with pytest.raises(ValueError, match="lat must lie"):
        foreign_market_access(np.array([95.0, 0.0]), lon, area, np.array([True, False]))
    with pytest.raises(ValueError, match="one length"):
        foreign_market_access(lat, lon, np.ones(3), np.array([True, False]))
    with pytest.raises(ValueError, match="inland"):
        foreign_market_access(lat, lon, area, np.array([True, False]), inland="closest")

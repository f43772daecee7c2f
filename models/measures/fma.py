"""Foreign-market access (FMA), the transaction-cost mediator of the first cluster paper.

Huang Jiuli & Li Kunwang (2006), as used in the cluster paper's eq. (5) (SPEC 1c)::

    FMA_i = 100 / D_ii                    i coastal (i in C)
    FMA_i = 100 / (D_ij* + D_j*j*)        i inland, j* = argmin_{j in C} D_ij

* ``D_ij`` — great-circle distance between the capitals of i and j (haversine formula on a
  sphere of radius :data:`EARTH_RADIUS_KM`, the IUGG mean radius), in km.
* ``D_ii = (2/3) sqrt(area_i / pi)`` — the internal distance: the mean distance from the
  centre of a disc of the province's area to its points (Redding & Venables 2004; Head &
  Mayer 2002), in km.

An inland province reaches foreign markets through its nearest coastal province: the
distance to that province's capital plus the coastal province's own internal distance.
``inland="nearest"`` (default) reads ``min D_ij + D_jj`` that way (j* chosen by ``D_ij``
alone); ``inland="min_total"`` takes ``min_j (D_ij + D_jj)`` instead, the other reading of
the formula. They differ only when the nearest coastal capital belongs to a large province
and a slightly farther one to a small province.

Units: with distances in km, FMA is in 100 / km (Shanghai ~3.3, Xinjiang ~0.04).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xarray as xr

#: Mean Earth radius (IUGG, R1 = (2a + b) / 3), km.
EARTH_RADIUS_KM = 6371.0088


def haversine_km(lat1, lon1, lat2, lon2, radius: float = EARTH_RADIUS_KM) -> np.ndarray:
    """Great-circle distance (km) between points given in decimal degrees; broadcasts.

    ``d = 2 R asin( sqrt( sin^2(dphi/2) + cos(phi1) cos(phi2) sin^2(dlambda/2) ) )``
    (the haversine form, accurate for small distances, unlike the law of cosines).
    """
    phi1, phi2 = np.radians(lat1), np.radians(lat2)
    dphi = phi2 - phi1
    dlam = np.radians(lon2) - np.radians(lon1)
    h = np.sin(dphi / 2.0) ** 2 + np.cos(phi1) * np.cos(phi2) * np.sin(dlam / 2.0) ** 2
    return 2.0 * radius * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))


def distance_matrix_km(lat, lon, radius: float = EARTH_RADIUS_KM) -> np.ndarray:
    """(n, n) great-circle distances between n points (zero diagonal)."""
    lat = np.asarray(lat, dtype=np.float64)
    lon = np.asarray(lon, dtype=np.float64)
    return haversine_km(lat[:, None], lon[:, None], lat[None, :], lon[None, :], radius)


def internal_distance_km(area_km2) -> np.ndarray:
    """``D_ii = (2/3) sqrt(area / pi)`` (km) for areas in km²; areas must be positive."""
    area = np.asarray(area_km2, dtype=np.float64)
    if not np.all(np.isfinite(area)) or np.any(area <= 0):
        raise ValueError("areas must be positive and finite (km²)")
    return (2.0 / 3.0) * np.sqrt(area / np.pi)


@dataclass(frozen=True)
class MarketAccess:
    """FMA by province (all DataArrays have dim ``province``).

    ``fma`` the measure; ``distance_km`` its denominator (``D_ii`` or ``D_ij* + D_j*j*``);
    ``via`` the province label of the coastal province used (itself when coastal).
    """

    fma: xr.DataArray
    distance_km: xr.DataArray
    via: xr.DataArray


def _check_inputs(lat, lon, area, coastal) -> tuple[np.ndarray, ...]:
    lat, lon, area = (np.asarray(a, dtype=np.float64) for a in (lat, lon, area))
    coastal = np.asarray(coastal)
    n = lat.shape[0]
    if lat.ndim != 1 or any(a.shape != (n,) for a in (lon, area, coastal)):
        raise ValueError(f"lat, lon, area and coastal must be 1-d of one length; got shapes "
                         f"{lat.shape}, {lon.shape}, {area.shape}, {coastal.shape}")
    if coastal.dtype != bool:
        raise ValueError(f"coastal must be boolean, got dtype {coastal.dtype}")
    if not coastal.any():
        raise ValueError("no coastal province: FMA of inland provinces needs at least one")
    if np.any(np.abs(lat) > 90) or np.any(np.abs(lon) > 180) or not np.all(np.isfinite(lat + lon)):
        raise ValueError("lat must lie in [-90, 90] and lon in [-180, 180] (decimal degrees)")
    return lat, lon, area, coastal


def foreign_market_access(lat, lon, area_km2, coastal, *, scale: float = 100.0,
                          inland: str = "nearest", province=None) -> MarketAccess:
    """FMA (module docstring) of n provinces from their capitals' ``lat``/``lon`` (degrees,
    (n,)), land ``area_km2`` (n,) and ``coastal`` flags (n,) bool.

    ``province`` (n,) labels for the coordinate (default ``0..n-1``); ``inland`` is
    ``"nearest"`` or ``"min_total"`` (see the module docstring).
    """
    if inland not in ("nearest", "min_total"):
        raise ValueError(f"inland must be 'nearest' or 'min_total', got {inland!r}")
    lat, lon, area, coastal = _check_inputs(lat, lon, area_km2, coastal)
    n = lat.shape[0]
    labels = np.arange(n) if province is None else np.asarray(province)
    internal = internal_distance_km(area)
    coast = np.flatnonzero(coastal)
    to_coast = distance_matrix_km(lat, lon)[:, coast]  # (n, n_coastal)
    total = to_coast + internal[coast][None, :]
    pick = np.argmin(to_coast if inland == "nearest" else total, axis=1)
    via = coast[pick]
    denominator = np.where(coastal, internal, total[np.arange(n), pick])
    via = np.where(coastal, np.arange(n), via)
    coords = {"province": labels}
    return MarketAccess(
        fma=xr.DataArray(scale / denominator, dims="province", coords=coords, name="FMA",
                         attrs={"units": f"{scale:g} / km", "inland": inland}),
        distance_km=xr.DataArray(denominator, dims="province", coords=coords, name="distance_km"),
        via=xr.DataArray(labels[via], dims="province", coords=coords, name="via"),
    )

"""Location quotient (location entropy) of sectors in provinces (SPEC 1c: IC, IC2).

For output ``Y_ij`` of sector j in province i (one year)::

    E_ij = (Y_ij / Y_i) / (Y_j / Y),   Y_i = sum_j Y_ij,  Y_j = sum_i Y_ij,  Y = sum_ij Y_ij

(the cluster papers, after Liu & Deng 2017): the sector's share of the province's output
over its share of the reference economy's. ``E_ij > 1`` means the sector is more
concentrated in i than in the reference. The reference totals ``Y_j`` are the sums over
the provinces given, or national figures passed as ``reference`` (the papers divide by
China's national accounts, which also include the provinces left out).

Edge cases, each explicit (``reason`` says why a value is NaN; "" where it is defined):

* ``Y_ij = 0`` with ``Y_i > 0`` and ``Y_j > 0``: ``E_ij = 0`` (the sector is absent from i).
* ``Y_j = 0`` (a sector absent in every province, or zero in ``reference``): ``E_ij`` is
  0/0 for every i -> NaN, reason :data:`SECTOR_ABSENT`.
* ``Y_i = 0`` (a province with no output at all): NaN, reason :data:`PROVINCE_EMPTY`.
* a missing (NaN) ``Y_ij``: ``Y_i`` is unknown, so the whole province's row is NaN, reason
  :data:`MISSING`, and the province is left out of the reference totals (which are then the
  sums over the provinces with complete data, in that year).
* no output anywhere (``Y = 0``): NaN everywhere, reason :data:`NO_OUTPUT`.
* negative or infinite inputs are rejected (``ValueError``): output is non-negative.

Shapes: an ``xarray.DataArray`` with dims ``province`` and ``sector`` (any others, e.g.
``year``, are carried along), an ``xarray.Dataset`` with one data variable per sector (over
``province`` and any others), or a NumPy array (province, sector) or (year, province,
sector). ``reference`` has the output's dims without ``province``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xarray as xr

MISSING = "missing output in a sector of this province"
NO_OUTPUT = "no output in any province"
SECTOR_ABSENT = "sector absent in every province (Y_j = 0)"
PROVINCE_EMPTY = "province has no output (Y_i = 0)"

_NUMPY_DIMS = {2: ("province", "sector"), 3: ("year", "province", "sector")}


@dataclass(frozen=True)
class LocationQuotient:
    """``lq`` (the output's dims) and ``reason`` (same dims, str): why a value is NaN."""

    lq: xr.DataArray
    reason: xr.DataArray

    def reasons(self) -> dict[str, int]:
        """Number of undefined values by reason."""
        labels, counts = np.unique(self.reason.values, return_counts=True)
        return {str(lab): int(c) for lab, c in zip(labels, counts) if lab}


def _as_dataarray(output) -> xr.DataArray:
    if isinstance(output, xr.Dataset):  # one data variable per sector
        output = output.to_dataarray(dim="sector")
    if isinstance(output, xr.DataArray):
        missing = {"province", "sector"} - set(output.dims)
        if missing:
            raise ValueError(f"output needs dims 'province' and 'sector'; it has {output.dims}")
        return output
    values = np.asarray(output)
    if values.ndim not in _NUMPY_DIMS:
        raise ValueError(f"a NumPy output must be (province, sector) or (year, province, sector); "
                         f"got shape {values.shape}")
    return xr.DataArray(values, dims=_NUMPY_DIMS[values.ndim])


def _check_values(Y: np.ndarray, what: str) -> None:
    finite_or_nan = np.isfinite(Y) | np.isnan(Y)
    if not finite_or_nan.all():
        raise ValueError(f"{what} has infinite values at {np.argwhere(~finite_or_nan)[0].tolist()}")
    negative = np.nan_to_num(Y, nan=0.0) < 0
    if negative.any():
        raise ValueError(f"{what} has {int(negative.sum())} negative value(s), the first at index "
                         f"{np.argwhere(negative)[0].tolist()}: output must be non-negative")


def _reference_totals(reference, like: xr.DataArray) -> np.ndarray:
    """``reference`` aligned on ``like``'s dims without 'province' (..., sector)."""
    dims = [d for d in like.dims if d != "province"]
    if isinstance(reference, xr.DataArray):
        ref = reference.transpose(*dims).values
    else:
        ref = np.asarray(reference, dtype=np.float64)
    shape = tuple(like.sizes[d] for d in dims)
    if ref.shape != shape:
        raise ValueError(f"reference must have shape {shape} (dims {dims}); got {ref.shape}")
    _check_values(ref, "reference")
    if np.isnan(ref).any():
        raise ValueError("reference has missing values")
    return ref.astype(np.float64)


def location_quotient(output, *, reference=None) -> LocationQuotient:
    """Location quotients ``E_ij`` of ``output`` (see the module docstring for shapes and
    every edge case). ``reference``: national output by sector (the output's dims without
    ``province``); default: the sums over the provinces with complete data.
    """
    da = _as_dataarray(output)
    order = [d for d in da.dims if d not in ("province", "sector")] + ["province", "sector"]
    Y = da.transpose(*order).values.astype(np.float64)
    _check_values(Y, "output")

    incomplete = np.isnan(Y).any(axis=-1)  # (..., P)
    province_total = Y.sum(axis=-1)  # NaN where incomplete
    if reference is None:
        sector_total = np.where(incomplete[..., None], 0.0, Y).sum(axis=-2)  # (..., S)
    else:
        sector_total = _reference_totals(reference, da.transpose(*order))
    grand_total = sector_total.sum(axis=-1, keepdims=True)  # (..., 1)

    with np.errstate(divide="ignore", invalid="ignore"):
        national_share = sector_total / grand_total  # (..., S)
        local_share = Y / province_total[..., None]  # (..., P, S)
        lq = local_share / national_share[..., None, :]

    reason = np.full(Y.shape, "", dtype=object)
    # Assigned from the least to the most fundamental, so the latter wins where several apply.
    reason[np.broadcast_to((province_total == 0)[..., None], Y.shape)] = PROVINCE_EMPTY
    reason[np.broadcast_to((sector_total == 0)[..., None, :], Y.shape)] = SECTOR_ABSENT
    reason[np.broadcast_to(incomplete[..., None], Y.shape)] = MISSING
    reason[np.broadcast_to((grand_total == 0)[..., None], Y.shape)] = NO_OUTPUT
    lq = np.where(reason == "", lq, np.nan)

    coords = da.transpose(*order).coords
    out = xr.DataArray(lq, dims=order, coords=coords, name="lq").transpose(*da.dims)
    why = xr.DataArray(reason.astype(str), dims=order, coords=coords, name="reason").transpose(*da.dims)
    return LocationQuotient(lq=out, reason=why)

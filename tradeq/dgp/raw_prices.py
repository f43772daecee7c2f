"""Provincial retail price indices with known market segmentation (SPEC 2a, 4).

The yearbook format: one row per year x province x goods category with the index against
the previous year (= 100). Columns of the frame :func:`simulate_price_indices` returns:

    year      int      calendar year
    province  str      province name (31: the mainland provinces, Tibet included)
    category  str      goods category (the paper's ten, in its order)
    index     float    retail price index, previous year = 100

The model, for province p, category k, year t::

    ln(index_ptk / 100) = pi_tk + s_pt z_ptk,        z ~ N(0, 1) iid
    s_pt = s_p exp(trend (t - t0)),   ln s_p = ln s_mean + s_dispersion u_p,  u_p ~ U(-sqrt 3, sqrt 3)

``pi_tk`` is the national inflation of category k (common to every province, so the index
must not depend on it). The pairwise segmentation is the variance of the relative-price
change, ``seg_ijt = Var(dQ_ijt) = s_it^2 + s_jt^2``, and a province's segmentation is its mean
over partners, ``seg_pt = mean_{j != p} seg_pjt``. The measured var_pt (SPEC 2a) is
``(1 - 2/pi) seg`` in expectation (the variance of a half-normal), so its rank order is the
truth's up to the noise of a variance over K categories. Defaults put var_pt at the paper's
Table 1 scale (1e-4 to 1e-3; Market 3.0-4.8, median ~4.2, sd ~0.3) with segmentation falling
about 3x from 2004 to 2013. (A uniform ``u_p`` rather than a normal keeps one far-out province
from dominating every partner's average.)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import xarray as xr

PROVINCES = (
    "Beijing", "Tianjin", "Hebei", "Shanxi", "Inner Mongolia", "Liaoning", "Jilin", "Heilongjiang",
    "Shanghai", "Jiangsu", "Zhejiang", "Anhui", "Fujian", "Jiangxi", "Shandong", "Henan", "Hubei",
    "Hunan", "Guangdong", "Guangxi", "Hainan", "Chongqing", "Sichuan", "Guizhou", "Yunnan", "Tibet",
    "Shaanxi", "Gansu", "Qinghai", "Ningxia", "Xinjiang",
)
CATEGORIES = (
    "grain", "meat_poultry", "aquatic", "beverages_tobacco_alcohol", "clothing_shoes_hats", "textiles",
    "appliances_audiovisual", "cultural_office", "daily_necessities", "fuel",
)


@dataclass(frozen=True)
class PriceTruth:
    """Known segmentation: ``scale`` s_pt (year, province), ``pair_segmentation`` seg_ijt
    (year, province_i, province_j; NaN on the diagonal), ``segmentation`` seg_pt (year, province)."""

    scale: xr.DataArray
    pair_segmentation: xr.DataArray
    segmentation: xr.DataArray


def simulate_price_indices(
    years=range(2004, 2014),
    provinces=PROVINCES,
    categories=CATEGORIES,
    *,
    seed: int = 0,
    s_mean: float = 0.0095,
    s_dispersion: float = 0.8,
    trend: float = -0.06,
    inflation_sd: float = 0.03,
) -> tuple[pd.DataFrame, PriceTruth]:
    """(long frame in the yearbook format, truth); see the module docstring."""
    years, provinces, categories = list(years), list(provinces), list(categories)
    T, N, K = len(years), len(provinces), len(categories)
    rng = np.random.default_rng(seed)
    s_p = s_mean * np.exp(s_dispersion * rng.uniform(-np.sqrt(3), np.sqrt(3), N))
    s = s_p[None, :] * np.exp(trend * (np.arange(T) - (T - 1) / 2))[:, None]  # (T, N)
    pi = 0.02 + inflation_sd * rng.standard_normal((T, 1, K))
    log_index = pi + s[:, :, None] * rng.standard_normal((T, N, K))
    frame = pd.DataFrame({
        "year": np.repeat(years, N * K),
        "province": np.tile(np.repeat(provinces, K), T),
        "category": np.tile(categories, T * N),
        "index": (100.0 * np.exp(log_index)).ravel(),
    })
    pair = s[:, :, None] ** 2 + s[:, None, :] ** 2
    idx = np.arange(N)
    pair[:, idx, idx] = np.nan
    coords = {"year": years, "province": provinces}
    truth = PriceTruth(
        scale=xr.DataArray(s, dims=("year", "province"), coords=coords),
        pair_segmentation=xr.DataArray(
            pair, dims=("year", "province_i", "province_j"),
            coords={"year": years, "province_i": provinces, "province_j": provinces},
        ),
        segmentation=xr.DataArray(np.nanmean(pair, axis=2), dims=("year", "province"), coords=coords),
    )
    return frame, truth


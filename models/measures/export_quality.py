"""Firm export quality by the demand-residual method (SPEC 2b).

Khandelwal, Schott & Wei (2013, AER 103(6), "Trade Liberalization and Embedded
Institutional Reform"), at the firm level as in Shi Bingzhan (2013, 经济研究 "中国出口产品
质量测算及其决定因素"). With CES demand ``q = p^-σ λ^(σ-1) E/P`` each record (firm f,
product h, destination m, year t) gives, within product h,

    ln q_fhmt + σ_h ln p_fhmt = α_h + α_hmt + e_fhmt                          (1)
    quality_fhmt = e_fhmt / (σ_h - 1)                                          (2)
    r_fhmt = (quality - min_h quality) / (max_h quality - min_h quality)       (3)
    TQ_ft  = Σ_{h,m} (v_fhmt / Σ_{h,m} v_fhmt) r_fhmt                          (4)

(the market-integration paper's eq. 4 is garbled; (2) is the correct form). ``p = v / q``.
(1) is a regression on fixed effects only: α_h plus destination-year effects within each
product is one FE dimension, product × destination × year. Its residual is computed by the
FE replica's own steps — the iterated singleton drop of :mod:`..singletons` and the within
transform of :mod:`..within`, exactly what :func:`..fixed_effects.fit_fe` does before its
slopes (``fit_fe`` itself needs at least one regressor; with none, its residual is the
within-transformed outcome). A record alone in its product-destination-year cell is a
singleton: its residual is 0 by construction, it says nothing about quality, and it is
dropped and counted. The min and max of (3) run over all of product h's records (every
firm, destination and year); the value shares of (4) over the firm-year's records that
have a quality.

Residuals are attached by **row identity**: every result carries the ``row_id`` of the
:class:`..design.Design` it came from, never a position in a shortened array.

The FE dimension never crosses products, and (3) is within product too, so the records can
be split by product (e.g. by HS chapter) and each part estimated alone; (4) then adds the
parts' ``weighted_r`` and ``value`` sums per firm-year (:func:`combine_firm_year`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..design import Design
from ..precision import require_x64
from ..singletons import drop_singletons
from ..within import apply_plan, make_plan
from .codes import dense_codes, is_unique, runs


@dataclass(frozen=True)
class RecordQuality:
    """Quality of the records kept, keyed by ``row_id`` (n_kept,).

    ``residual`` e of (1), ``quality`` e/(σ-1) of (2), ``r`` the normalised quality of (3)
    (NaN for products whose records all have one quality), ``product`` the dense product
    code, ``sigma``. Counts: ``n_missing`` rows without finite ln q, ln p or σ;
    ``n_singletons`` rows alone in their product-destination-year cell;
    ``n_degenerate`` rows of products with max = min. ``carried``: the per-row arrays
    given to :func:`demand_design` as ``carry``, for the same rows (they travel with the rows,
    so nothing has to be matched back).
    """

    row_id: np.ndarray
    residual: np.ndarray
    quality: np.ndarray
    r: np.ndarray
    product: np.ndarray
    n_missing: int
    n_singletons: int
    n_degenerate: int
    carried: dict = field(default_factory=dict)


def check_sigma(sigma: np.ndarray) -> None:
    """σ must exceed 1: (2) divides by σ - 1 and CES demand needs σ > 1."""
    sigma = np.asarray(sigma, dtype=np.float64)
    bad = np.isfinite(sigma) & (sigma <= 1.0)
    if bad.any():
        at = np.flatnonzero(bad)
        raise ValueError(
            f"sigma must exceed 1 (quality = e / (sigma - 1)); {at.size} row(s) have sigma <= 1, "
            f"first at position {int(at[0])} (sigma = {float(sigma[at[0]])})"
        )


def demand_design(ln_quantity, ln_price, sigma, product, destination, year, row_id=None, carry=None) -> Design:
    """The Design of (1): ``y = ln q + σ ln p``, no regressors, one FE dimension
    product × destination × year. Rows with a non-finite ``y`` are dropped and counted in
    ``n_missing``; ``row_id`` (default 0..n-1) identifies the rest. All inputs (n,);
    ``product``, ``destination``, ``year`` integer codes; ``carry`` a dict of other (n,)
    arrays (value, firm-year) kept for the same rows."""
    ln_q, ln_p, sig = (np.asarray(a, dtype=np.float64) for a in (ln_quantity, ln_price, sigma))
    n = ln_q.shape[0]
    if not (ln_p.shape == sig.shape == (n,)):
        raise ValueError(f"ln_quantity, ln_price and sigma must be (n,); got {ln_q.shape}, {ln_p.shape}, {sig.shape}")
    check_sigma(sig)
    rid = np.arange(n, dtype=np.int64) if row_id is None else np.asarray(row_id, dtype=np.int64)
    if rid.shape != (n,) or not is_unique(rid):
        raise ValueError("row_id must be (n,) and unique: it is how qualities find their records")
    with np.errstate(invalid="ignore"):
        y = ln_q + sig * ln_p
    keep = np.isfinite(y)
    cell, _ = dense_codes(*(np.asarray(a)[keep] for a in (product, destination, year)))
    prod, _ = dense_codes(np.asarray(product)[keep])
    return Design(
        y=y[keep],
        X=np.zeros((int(keep.sum()), 0)),
        x_names=(),
        fe=cell[:, None],
        fe_names=("product_destination_year",),
        cluster=np.zeros((int(keep.sum()), 0), np.int32),
        cluster_names=(),
        row_id=rid[keep],
        y_name="ln_q_plus_sigma_ln_p",
        n_missing=int(n - keep.sum()),
        extras={"sigma": sig[keep], "product": prod,
                "carry": {k: np.asarray(v)[keep] for k, v in (carry or {}).items()}},
    )


def padded_size(n: int, minimum: int = 1024) -> int:
    """The smallest size >= ``n`` on a grid of ratio 2^(1/4) (at most 19% above ``n``)."""
    size = float(minimum)
    while size < n:
        size *= 2.0**0.25
    return int(np.ceil(size))


def demand_residuals(design: Design) -> tuple[np.ndarray, np.ndarray]:
    """(kept rows' positions in ``design`` (n_kept,), residuals e of (1) (n_kept,)).

    Singletons dropped iteratively, then the within transform of the FE replica. The rows
    and cells are padded to sizes on a coarse grid (:func:`padded_size`) with padding rows
    in cells of their own, which leaves every real row's residual unchanged: the replica's
    compiled programs are specialised to shapes, and batches of records of any size then
    reuse a few of them instead of compiling one each.
    """
    require_x64()
    keep = drop_singletons(design.fe)
    rows = np.flatnonzero(keep)
    if rows.size == 0:
        return rows, np.zeros(0)
    cell = design.fe[rows, 0]
    present = np.bincount(cell) > 0
    cell = (np.cumsum(present) - 1)[cell]  # dense again: singleton cells are gone
    G, n = int(present.sum()), rows.size
    G_pad = padded_size(G + 1, 64)
    n_pad = padded_size(n + G_pad - G)
    codes = np.empty(n_pad, np.int32)
    codes[:n] = cell
    codes[n:] = G + np.arange(n_pad - n) % (G_pad - G)
    y = np.zeros((n_pad, 1))
    y[:n, 0] = design.y[rows]
    plan = make_plan(codes[:, None], counts=[np.bincount(codes, minlength=G_pad)])
    resid, _, converged = apply_plan(plan, y, overwrite=True)
    if not converged:  # one FE dimension is exact; kept for designs with more
        raise ValueError("the within transform did not converge")
    return rows, np.asarray(resid)[:n, 0]


def group_min_max(x: np.ndarray, codes: np.ndarray, n_groups: int) -> tuple[np.ndarray, np.ndarray]:
    """(G,) minimum and maximum of ``x`` (n,) within each code 0..G-1 (NaN for empty codes)."""
    lo, hi = np.full(n_groups, np.nan), np.full(n_groups, np.nan)
    if x.size:
        order = np.argsort(codes)
        sorted_codes = codes[order]
        starts, _ = runs(sorted_codes)
        xs = x[order]
        present = sorted_codes[starts]
        lo[present] = np.minimum.reduceat(xs, starts)
        hi[present] = np.maximum.reduceat(xs, starts)
    return lo, hi


def normalise_within(quality: np.ndarray, product: np.ndarray, n_products: int) -> np.ndarray:
    """Eq. 3: ``(quality - min) / (max - min)`` within each product code; NaN where max = min."""
    lo, hi = group_min_max(quality, product, n_products)
    lo, hi = lo[product], hi[product]
    span = hi - lo
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(span > 0, (quality - lo) / span, np.nan)


def record_quality(design: Design) -> RecordQuality:
    """Eqs. 1-3 on a :func:`demand_design`: the kept records' quality keyed by row id."""
    rows, resid = demand_residuals(design)
    sigma = design.extras["sigma"][rows]
    quality = resid / (sigma - 1.0)
    product, n_products = dense_codes(design.extras["product"][rows]) if rows.size else (rows.astype(np.int32), 0)
    r = normalise_within(quality, product, n_products) if rows.size else quality
    return RecordQuality(
        row_id=design.row_id[rows],
        residual=resid,
        quality=quality,
        r=r,
        product=product,
        n_missing=design.n_missing,
        n_singletons=int(design.n - rows.size),
        n_degenerate=int(np.isnan(r).sum()),
        carried={k: v[rows] for k, v in design.extras.get("carry", {}).items()},
    )


def firm_year_sums(r: np.ndarray, value: np.ndarray, firm_year: np.ndarray, n_firm_years: int):
    """Per firm-year code: (Σ v r, Σ v) over the records with a finite ``r``, each (G,)."""
    ok = np.isfinite(r)
    w = np.where(ok, value, 0.0)
    weighted = np.bincount(firm_year, weights=np.where(ok, r, 0.0) * w, minlength=n_firm_years)
    total = np.bincount(firm_year, weights=w, minlength=n_firm_years)
    return weighted, total


def combine_firm_year(weighted_r: np.ndarray, value: np.ndarray) -> np.ndarray:
    """Eq. 4 from (summed) parts: ``Σ v r / Σ v``; NaN for firm-years with no quality."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(value > 0, weighted_r / value, np.nan)


def ksw_quality(
    ln_quantity, ln_price, sigma, product, destination, year, value, firm_year, *, row_id=None
) -> tuple[RecordQuality, np.ndarray, np.ndarray]:
    """Eqs. 1-4 on one set of records (all (n,); ``firm_year`` integer codes 0..G-1).

    Returns (record qualities keyed by row id, firm-year TQ (G,) — NaN where no record of
    the firm-year has a quality — and the firm-year value that weighs it (G,)).
    """
    fy = np.asarray(firm_year)
    design = demand_design(ln_quantity, ln_price, sigma, product, destination, year, row_id=row_id,
                           carry={"value": np.asarray(value, np.float64), "firm_year": fy})
    rec = record_quality(design)
    n_fy = int(fy.max()) + 1 if fy.size else 0
    weighted, total = firm_year_sums(rec.r, rec.carried["value"], rec.carried["firm_year"], n_fy)
    return rec, combine_firm_year(weighted, total), total

"""Chinese customs export records with known quality, σ and demand shocks (SPEC 2b, 4).

One row per firm x HS8 product x destination x year x trade mode, the columns a user of the
customs database has (values in US dollars):

    firm_id      int64   exporter; the register's id (a share of exporters is not in it)
    year         int     calendar year
    hs8          str     8-digit HS product code, leading zeros kept ("01012100")
    destination  str     destination country, as the Broda-Greenfield-Weinstein cname where it
                         is one of their 73 ("USA", "HongKong"), else another name ("Vietnam")
    trade_mode   str     "general" or "processing"
    value        float   export value, US$
    quantity     float   quantity in the product's unit (NaN where the customs line lacks it)
    unit         str     "kg" or "pieces"

The model (KSW 2013), for firm f, product h (HS3 heading c(h)), destination m, year t::

    lambda_fhmt = theta_f + u_fh + w_ft                                 log quality (truth)
    ln p_fhmt   = c_h + price_on_quality lambda + price_sd nu
    ln q_fhmt   = chi_hmt - sigma_c(h)m ln p + (sigma - 1) lambda + eps_sd eps

with ``chi_hmt`` the product-destination-year demand shock (destination size + product-year
+ idiosyncratic), sigma the value :func:`tradeq.raw.sigmas.resolve_sigmas` gives (BGW
destination value, else the HS3 median; ``sigma`` a number gives every record that
constant). A product is sold only where its σ is in [``sigma_min``, ``sigma_max``]: above,
quantities leave floating-point range; close to 1, quality = e/(σ - 1) is mostly noise (the
file's smallest σ, 1.06, multiplies the demand error by 17), which real data share. Firms export from their industry's products and to destinations in
proportion to market size, every year of their register spell with probability
``p_active``; ``n_records`` sets the number of product-destination lines per firm-year.

Raw-data defects with known counts (``CustomsTruth.defects``): lines with a missing
quantity, lines with value 0, exporters absent from the register, products whose HS3 is
not in the BGW file (no σ), and firm-product-destination-years split over two trade modes
(the pipeline collapses them). The true firm-year quality is eqs. 2-4 of SPEC 2b applied to
``lambda`` itself on the clean records: r_true normalised within product, weighted by value.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from tradeq.raw.sigmas import bgw_table, resolve_sigmas

#: Destinations with relative market sizes (BGW names), and three outside the BGW list.
DESTINATIONS = {
    "USA": 10, "Japan": 7, "HongKong": 7, "Korea": 5, "Germany": 4, "Netherlands": 3, "UnitedKingdom": 3,
    "France": 2, "Italy": 2, "Australia": 2, "Canada": 2, "Spain": 1.5, "Malaysia": 1.5, "Thailand": 1.5,
    "Indonesia": 1.5, "India": 1.5, "Mexico": 1, "Brazil": 1, "Turkey": 1, "Poland": 1, "Chile": 0.8,
    "SaudiArabia": 0.8, "Switzerland": 0.6, "Sweden": 0.6, "Vietnam": 1.5, "Russia": 1.5, "UnitedArabEmirates": 1,
}
NO_SIGMA_HS3 = ("990", "991")  # headings absent from the BGW file


@dataclass(frozen=True)
class CustomsParams:
    n_products: int | None = None  # default: one per 5,000 records (at least 10)
    theta_sd: float = 0.4
    product_sd: float = 0.25
    year_sd: float = 0.1
    price_on_quality: float = 0.5
    price_sd: float = 0.3
    eps_sd: float = 0.1
    p_active: float = 0.85
    sigma: object = "bgw"
    sigma_min: float = 1.5
    sigma_max: float = 12.0
    missing_quantity: float = 0.005
    zero_value: float = 0.003
    unmatched_exporters: float = 0.02
    no_sigma_products: float = 0.01
    split_lines: float = 0.02


@dataclass(frozen=True)
class CustomsTruth:
    """``lines`` (one per firm-product-destination-year, before splitting): ids, ``lam``,
    ``sigma``, ``clean``; ``firm_year`` the true TQ (``quality``) and value-weighted
    ``lam`` per firm-year of clean lines; ``defects`` the injected counts."""

    lines: pd.DataFrame
    firm_year: pd.DataFrame
    defects: dict = field(default_factory=dict)
    params: CustomsParams = CustomsParams()


def _products(rng, n_products: int, n_industries: int, no_sigma_share: float) -> pd.DataFrame:
    heads = np.array(sorted(set(bgw_table()["hs3"])))
    hs3 = rng.choice(heads, n_products)
    n_bad = int(np.ceil(no_sigma_share * n_products))  # at least one when the share is positive
    hs3[:n_bad] = rng.choice(NO_SIGMA_HS3, n_bad)
    hs8 = [f"{h}{k:05d}" for h, k in zip(hs3, rng.choice(100_000, n_products, replace=False))]
    return pd.DataFrame({
        "hs8": hs8, "hs3": hs3, "industry": rng.integers(0, n_industries, n_products),
        "price_level": rng.normal(1.0, 1.0, n_products), "unit": rng.choice(["kg", "pieces"], n_products),
    })


def _sigma_grid(products: pd.DataFrame, params: CustomsParams) -> np.ndarray:
    """(n_products, n_destinations) σ by the pipeline's rule; NaN where none."""
    dest = list(DESTINATIONS)
    pairs = pd.DataFrame({"hs3": np.repeat(products["hs3"].to_numpy(), len(dest)), "destination": dest * len(products)})
    return resolve_sigmas(pairs, sigma=params.sigma)["sigma"].to_numpy().reshape(len(products), len(dest))


def _lines(seed: int, exporters: pd.DataFrame, products, allowed, n_records, params) -> pd.DataFrame:
    """About ``n_records`` lines: a first draw measures how many lines a firm-year target
    gives (duplicate destinations fold), the second draw is scaled by the shortfall."""
    n_years = (exporters["last_year"] - exporters["first_year"] + 1).to_numpy()
    per_fy = max(n_records / (n_years.sum() * params.p_active * (1 + params.split_lines)), 1.0)
    trial = _lines_per_firm_year(np.random.default_rng(seed), exporters, products, allowed, per_fy, params)
    per_fy *= n_records / (max(len(trial), 1) * (1 + params.split_lines))
    return _lines_per_firm_year(np.random.default_rng(seed), exporters, products, allowed, max(per_fy, 1.0), params)


def _lines_per_firm_year(rng, exporters: pd.DataFrame, products, allowed, per_fy, params) -> pd.DataFrame:
    """Firm-product-destination-year lines for the exporters (each a firm-year spell)."""
    n_years = (exporters["last_year"] - exporters["first_year"] + 1).to_numpy()
    k = 1 + rng.poisson(max(np.sqrt(per_fy) - 1, 0), len(exporters))
    by_industry = [np.flatnonzero(products["industry"].to_numpy() == j) for j in range(products["industry"].max() + 1)]
    ind = exporters["industry_code"].to_numpy()
    f_of_fp = np.repeat(np.arange(len(exporters)), k)
    own = rng.random(f_of_fp.size) < 0.8  # from the industry's own products, else any
    prod = rng.integers(0, len(products), f_of_fp.size)
    for j, pool in enumerate(by_industry):
        sel = own & (ind[f_of_fp] == j)
        if pool.size and sel.any():
            prod[sel] = pool[rng.integers(0, pool.size, sel.sum())]
    fp = pd.DataFrame({"f": f_of_fp, "p": prod}).drop_duplicates().to_numpy()
    d = 1 + rng.poisson(max(per_fy / max(k.mean(), 1) - 1, 0), len(fp))
    weights = np.array(list(DESTINATIONS.values()))
    f_fpd = np.repeat(fp[:, 0], d)
    p_fpd = np.repeat(fp[:, 1], d)
    w = allowed[p_fpd] * weights[None, :]
    cum = np.cumsum(w, axis=1)
    u = rng.random(f_fpd.size) * cum[:, -1]
    dest = (cum < u[:, None]).sum(axis=1)
    fpd = pd.DataFrame({"f": f_fpd, "p": p_fpd, "m": dest})[cum[:, -1] > 0].drop_duplicates()
    years = n_years[fpd["f"].to_numpy()]
    rep = np.repeat(np.arange(len(fpd)), years)
    offset = np.arange(rep.size) - np.repeat(np.cumsum(years) - years, years)
    lines = fpd.iloc[rep].reset_index(drop=True)
    lines["year"] = exporters["first_year"].to_numpy()[lines["f"].to_numpy()] + offset
    return lines[rng.random(len(lines)) < params.p_active].reset_index(drop=True)


def _exporters(rng, firms: pd.DataFrame, params: CustomsParams, industries) -> pd.DataFrame:
    exp = firms[firms["exporter"]].reset_index(drop=True)
    n_out = int(round(params.unmatched_exporters * len(exp)))
    ghosts = exp.sample(n_out, random_state=int(rng.integers(2**31))).copy()
    ghosts["firm_id"] = 9_900_000_000 + np.arange(n_out)  # ids the register does not have
    exp = pd.concat([exp, ghosts], ignore_index=True)
    exp["industry_code"] = pd.Categorical(exp["industry"], categories=list(industries)).codes
    exp["in_register"] = np.arange(len(exp)) < len(exp) - n_out
    return exp


def simulate_customs(firms: pd.DataFrame, n_records: int = 200_000, *, seed: int = 0,
                     params: CustomsParams = CustomsParams(), industries=None) -> tuple[pd.DataFrame, CustomsTruth]:
    """Customs records for the exporters of a firm table (``raw_firms.simulate_register``'s
    second output, ``.frame``); see the module docstring. Returns (records, truth)."""
    from tradeq.dgp.raw_firms import INDUSTRIES

    rng = np.random.default_rng(seed)
    industries = INDUSTRIES if industries is None else industries
    exporters = _exporters(rng, firms, params, industries)
    n_products = params.n_products or max(10, n_records // 5000)
    products = _products(rng, n_products, len(industries), params.no_sigma_products)
    sig = _sigma_grid(products, params)
    no_sigma = np.isnan(sig).all(axis=1)
    finite = np.nan_to_num(sig, nan=np.inf)
    allowed = (finite <= params.sigma_max) & (finite >= params.sigma_min)
    allowed[no_sigma] = True  # products without any σ are still exported (and dropped later)
    lines = _lines(int(rng.integers(2**31)), exporters, products, allowed, n_records, params)
    f, p, m, t = (lines[c].to_numpy() for c in ("f", "p", "m", "year"))
    lam = _quality(rng, f, p, t, len(exporters), len(products), params)
    sigma = sig[p, m]
    s = np.where(np.isnan(sigma), 3.0, sigma)  # lines without σ still need a quantity
    ln_p = products["price_level"].to_numpy()[p] + params.price_on_quality * lam + params.price_sd * rng.standard_normal(f.size)
    chi = _demand_shocks(rng, p, m, t) + s * products["price_level"].to_numpy()[p]
    ln_q = chi - s * ln_p + (s - 1.0) * lam + params.eps_sd * rng.standard_normal(f.size)
    lines = pd.DataFrame({
        "firm_id": exporters["firm_id"].to_numpy()[f], "year": t, "hs8": products["hs8"].to_numpy()[p],
        "destination": np.array(list(DESTINATIONS))[m], "value": np.exp(ln_p + ln_q), "quantity": np.exp(ln_q),
        "unit": products["unit"].to_numpy()[p], "lam": lam, "sigma": sigma, "product": p,
        "in_register": exporters["in_register"].to_numpy()[f],
    })
    records, defects = _with_defects(rng, lines, params)
    return records, _truth(lines, defects, params)


def _quality(rng, f, p, t, n_firms, n_products, params) -> np.ndarray:
    theta = params.theta_sd * rng.standard_normal(n_firms)
    fp = f.astype(np.int64) * n_products + p
    fp_codes, fp_inv = np.unique(fp, return_inverse=True)
    ft_codes, ft_inv = np.unique(f.astype(np.int64) * 10_000 + t, return_inverse=True)
    u = params.product_sd * rng.standard_normal(fp_codes.size)
    w = params.year_sd * rng.standard_normal(ft_codes.size)
    return theta[f] + u[fp_inv] + w[ft_inv]


def _demand_shocks(rng, p, m, t) -> np.ndarray:
    size = np.log(np.array(list(DESTINATIONS.values())))
    cells, inv = np.unique((p.astype(np.int64) * 100 + m) * 10_000 + t, return_inverse=True)
    return 8.0 + size[m] + 0.5 * rng.standard_normal(cells.size)[inv]


def _with_defects(rng, lines: pd.DataFrame, params: CustomsParams) -> tuple[pd.DataFrame, dict]:
    n = len(lines)
    split = rng.random(n) < params.split_lines
    share = rng.uniform(0.2, 0.8, int(split.sum()))
    first = lines.assign(trade_mode="general")
    second = lines[split].assign(trade_mode="processing")
    first.loc[split, ["value", "quantity"]] = first.loc[split, ["value", "quantity"]].to_numpy() * share[:, None]
    second[["value", "quantity"]] = second[["value", "quantity"]].to_numpy() * (1 - share[:, None])
    rec = pd.concat([first, second], ignore_index=True)
    rec["line"] = np.r_[np.arange(n), np.flatnonzero(split)]
    missing_q = rng.random(len(rec)) < params.missing_quantity
    zero_v = ~missing_q & (rng.random(len(rec)) < params.zero_value)
    rec.loc[missing_q, "quantity"] = np.nan
    rec.loc[zero_v, "value"] = 0.0
    rec = rec.sample(frac=1.0, random_state=int(rng.integers(2**31))).reset_index(drop=True)
    bad_lines = np.unique(rec.loc[rec["quantity"].isna() | (rec["value"] == 0), "line"].to_numpy())
    defects = {
        "records": len(rec), "lines": n, "missing_quantity": int(missing_q.sum()), "zero_value": int(zero_v.sum()),
        "split_lines": int(split.sum()), "bad_lines": bad_lines,
    }
    defects["unmatched_records"] = int((~rec["in_register"]).sum())
    defects["unmatched_clean_records"] = int((~rec["in_register"] & rec["quantity"].notna() & (rec["value"] > 0)).sum())
    cols = ["firm_id", "year", "hs8", "destination", "trade_mode", "value", "quantity", "unit"]
    return rec[cols + ["line"]], defects


def _truth(lines: pd.DataFrame, defects: dict, params: CustomsParams) -> CustomsTruth:
    """True TQ: eqs. 2-4 of SPEC 2b on lambda over the clean lines (any line with a missing
    quantity or zero value drops whole, as the pipeline drops the record before collapsing)."""
    clean = lines["in_register"].to_numpy() & ~np.isnan(lines["sigma"].to_numpy())
    clean[defects.pop("bad_lines")] = False
    good = lines[clean]
    lo = good.groupby("product")["lam"].transform("min")
    hi = good.groupby("product")["lam"].transform("max")
    r = (good["lam"] - lo) / (hi - lo)
    fy = good.assign(r=r, vr=r * good["value"], vl=good["lam"] * good["value"]).groupby(["firm_id", "year"])
    firm_year = pd.DataFrame({"quality": fy["vr"].sum() / fy["value"].sum(), "lam": fy["vl"].sum() / fy["value"].sum()})
    defects.update({
        "unmatched_lines": int((~lines["in_register"]).sum()),
        "no_sigma_lines": int(np.isnan(lines["sigma"].to_numpy()).sum()),
        "clean_lines": int(clean.sum()),
    })
    return CustomsTruth(lines.assign(clean=clean), firm_year.reset_index(), defects, params)

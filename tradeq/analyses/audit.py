"""The published-table audit (``model=audit``, ``experiment=audit_clusters|audit_market``): do a
paper's stars follow from its own standard errors, are its "Sobel test" cells Sobel statistics,
and which of its conclusions survive its own numbers?

Input: the transcriptions of :mod:`tradeq.published` (``data=published``), one row per printed
cell, numbers as printed. For every coefficient:

* ``t = coef / se`` (or the printed t); its range over the rounding of the printed numbers,
  ``coef ± h_c`` and ``se ± h_s`` with h half a unit of the last printed digit (``rounding``);
* two-sided p-values under three reference distributions: ``t(G − 1)`` with the G clusters the
  paper implies (its "robust standard errors" with province effects are Stata's
  ``xtreg, fe vce(robust)``, clustered by province: G = 30, or 11 / 8 / 11 in the regions),
  ``t(N − K)`` (K the regressors and dummies), and the normal. ``model.df`` picks the one the
  verdict uses (``implied``: t(G − 1) where the paper implies clusters, else t(N − K));
* the stars those p-values allow (*** p < 0.01, ** p < 0.05, * p < 0.1), over the rounding range.
  A printed star that no rule and no rounding can produce **cannot follow from its SE**
  (e.g. Central IC 0.023* with se 0.215: |t| ≤ 0.11, p ≥ 0.9 under any of them); one that only
  another rule allows is flagged as such.

Claims (``<name>_claims.csv``; the paper's sentence, where it is, what it asserts):

* ``significant`` / ``insignificant``: the cell's p at the claimed level (and sign);
* ``greater``: coefficient A exceeds B, one-sided z = (a − b) / sqrt(se_a² + se_b²) — the two
  estimates treated as independent, which holds for disjoint samples (regions) and only
  approximately for two periods of the same provinces;
* ``mediation``: Sobel's z = a b / sqrt(b² se_a² + a² se_b²) (:func:`tradeq.models.mediation.sobel`)
  from the a and b cells; a printed "Sobel test" cell is compared with it, read as a z and as a p;
* ``inverted_u``: the Lind–Mehlum test on the data range (:func:`tradeq.models.utest.utest_batch`).
  It needs cov(b1, b2), which papers do not print: the test is run for every correlation
  ρ ∈ [−1, 1] of the two estimates, and the verdict says for which ρ it holds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from tradeq.analyses import audit_tables
from tradeq.errors import DataError
from tradeq.models.mediation import sobel
from tradeq.models.tinference import t_sf
from tradeq.models.utest import utest_batch
from tradeq.panel import Panel
from tradeq.published import CELL_COLUMNS, CLAIM_COLUMNS
from tradeq.report.tables import STAR_LEVELS
from tradeq.report.writer import Report

RULES = ("cluster", "residual", "normal")
RHO_GRID = np.linspace(-1.0, 1.0, 4001)


@dataclass(frozen=True)
class AuditResult:
    """``cells``: every transcribed cell with its recomputed t, p and verdict (``audit.csv``);
    ``claims``: each claim, its test and verdict; ``sobel``: the printed Sobel cells against Sobel's z."""

    cells: pd.DataFrame
    claims: pd.DataFrame
    sobel: pd.DataFrame
    df_rule: str
    rounding: bool


def _half_unit(text: pd.Series) -> np.ndarray:
    """Half a unit of the last printed digit of each number (0.5 for integers)."""
    decimals = np.array([len(v.split(".")[1]) if "." in v else 0 for v in text.astype(str)], dtype=float)
    return 0.5 * 10.0 ** (-decimals)


def n_stars(p) -> np.ndarray:
    """The number of stars p earns (3: p < 0.01, 2: < 0.05, 1: < 0.1, 0 otherwise)."""
    p = np.asarray(p, dtype=float)
    return sum((p < cut).astype(int) for cut, _ in STAR_LEVELS)


def _t_ranges(cells: pd.DataFrame, rounding: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(t, se, |t| lower, |t| upper): t and its range over the rounding of the printed numbers."""
    coef = cells["coef"].astype(float).to_numpy()
    has_se = cells["se"].ne("").to_numpy()
    se_text, t_text = cells["se"].where(has_se, "1"), cells["t"].where(~has_se, "1")
    se_p, t_p = se_text.astype(float).to_numpy(), t_text.astype(float).to_numpy()
    hc = _half_unit(cells["coef"]) * rounding
    hs, ht = _half_unit(se_text) * rounding, _half_unit(t_text) * rounding
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(has_se, coef / se_p, t_p)
        se = np.where(has_se, se_p, coef / t_p)
        lo_se = np.maximum(np.abs(coef) - hc, 0.0) / (se_p + hs)
        hi_se = np.where(se_p - hs > 0, (np.abs(coef) + hc) / (se_p - hs), np.inf)
    lo = np.where(has_se, lo_se, np.maximum(np.abs(t_p) - ht, 0.0))
    hi = np.where(has_se, hi_se, np.abs(t_p) + ht)
    return t, se, lo, hi


def _dfs(cells: pd.DataFrame) -> dict[str, np.ndarray]:
    n = cells["n_obs"].astype(float).to_numpy()
    rows = cells.groupby(["paper", "table", "model"])["term"].transform("size").to_numpy()
    K = np.where(cells["n_params"].ne(""), pd.to_numeric(cells["n_params"], errors="coerce"), rows)
    G = pd.to_numeric(cells["n_clusters"], errors="coerce").to_numpy()
    return {"cluster": G - 1.0, "residual": n - K, "normal": np.full(len(cells), np.inf)}


def _implied(dfs: dict[str, np.ndarray], rule: str) -> tuple[np.ndarray, np.ndarray]:
    """(df, rule name) per cell for ``model.df``; ``implied``: t(G − 1) where G is known."""
    if rule == "implied":
        use_cluster = np.isfinite(dfs["cluster"])
        return np.where(use_cluster, dfs["cluster"], dfs["residual"]), np.where(use_cluster, "cluster", "residual")
    if rule == "cluster" and not np.isfinite(dfs["cluster"]).all():
        raise DataError("model.df=cluster: some transcribed cells have no n_clusters (the paper implies none); "
                        "use model.df=implied")
    return dfs[rule], np.full(len(dfs[rule]), rule, dtype=object)


def _verdict(printed: int, lo: int, hi: int, lo_all: int, hi_all: int) -> str:
    if lo <= printed <= hi:
        return "consistent"
    if lo_all <= printed <= hi_all:
        return "consistent only under another reference distribution"
    return "more stars than its t allows" if printed > hi_all else "fewer stars than its t earns"


def audit_cells(cells: pd.DataFrame, rule: str = "implied", rounding: bool = True) -> pd.DataFrame:
    """Every coefficient cell with t, p under each rule, the stars allowed and the verdict (module docstring)."""
    coefs = cells.loc[cells["kind"] == "coef"].reset_index(drop=True)
    t, se, lo, hi = _t_ranges(coefs, rounding)
    dfs = _dfs(coefs)
    df, used = _implied(dfs, rule)
    out = coefs.copy()
    out["t_recomputed"], out["se_implied"] = t, se
    out["abs_t_min"], out["abs_t_max"] = lo, hi
    bounds = {}
    for r in RULES:
        d = np.where(np.isfinite(dfs[r]), dfs[r], np.inf) if r != "cluster" else dfs[r]
        valid = ~np.isnan(d)
        out[f"df_{r}"] = dfs[r]
        out[f"p_{r}"] = np.where(valid, 2 * t_sf(np.abs(t), np.where(valid, d, np.inf)), np.nan)
        star_hi = np.where(valid, n_stars(2 * t_sf(hi, np.where(valid, d, np.inf))), -1)
        star_lo = np.where(valid, n_stars(2 * t_sf(lo, np.where(valid, d, np.inf))), 99)
        bounds[r] = (star_lo, star_hi)
    out["df_rule"], out["df"] = used, df
    out["p"] = 2 * t_sf(np.abs(t), df)
    lo_p = np.select([used == r for r in RULES], [bounds[r][0] for r in RULES])
    hi_p = np.select([used == r for r in RULES], [bounds[r][1] for r in RULES])
    lo_all = np.minimum.reduce([bounds[r][0] for r in RULES])
    hi_all = np.maximum.reduce([bounds[r][1] for r in RULES])
    printed = coefs["stars"].str.len().to_numpy()
    out["stars_recomputed"] = ["*" * int(k) for k in n_stars(out["p"])]
    out["stars_allowed"] = [_star_range(a, b) for a, b in zip(lo_p, hi_p)]
    out["stars_allowed_any_rule"] = [_star_range(a, b) for a, b in zip(lo_all, hi_all)]
    out["verdict"] = [_verdict(int(p), int(a), int(b), int(c), int(d))
                      for p, a, b, c, d in zip(printed, lo_p, hi_p, lo_all, hi_all)]
    return out


def _star_range(lo: int, hi: int) -> str:
    show = ["none" if k == 0 else "*" * k for k in range(int(lo), int(hi) + 1)]
    return " to ".join(dict.fromkeys([show[0], show[-1]])) if show else ""


# ---------------------------------------------------------------------------------------
# Claims
# ---------------------------------------------------------------------------------------


def _cell(audited: pd.DataFrame, paper: str, ref: str) -> pd.Series:
    table, model, term = (p.strip() for p in ref.split("/"))
    hit = audited[(audited["paper"] == paper) & (audited["table"] == table) & (audited["model"] == model)
                  & (audited["term"] == term)]
    return hit.iloc[0]


def _fmt_p(p: float) -> str:
    if not math.isfinite(p):
        return "nan"
    return "< 1e-300" if p == 0 else (f"{p:.2g}" if p < 0.001 else f"{p:.3f}")


def _significant(c: pd.Series, level: float, direction: str, insignificant: bool) -> tuple[str, str, str]:
    sign_ok = direction == "" or (direction == "+") == (float(c["coef"]) > 0)
    test = f"t = {c['t_recomputed']:.2f}, p = {_fmt_p(c['p'])} [t({c['df']:.0f})]".replace("t(inf)", "normal")
    if insignificant:
        ok = c["p"] > level
        return test, f"not significant at {level:g}", "survives" if ok else "fails"
    ok = c["p"] <= level and sign_ok
    what = f"{'positive' if direction == '+' else 'negative' if direction == '-' else 'non-zero'} at {level:g}"
    return test, what, "survives" if ok else "fails"


def _greater(a: pd.Series, b: pd.Series, level: float) -> tuple[str, str, str]:
    d = float(a["coef"]) - float(b["coef"])
    se = math.hypot(float(a["se_implied"]), float(b["se_implied"]))
    z = d / se
    p = float(t_sf(z, np.inf))
    test = f"difference {d:.4g}, z = {z:.2f}, one-sided p = {_fmt_p(p)} (independent estimates)"
    return test, f"{a['model']} > {b['model']} at {level:g}", "survives" if p <= level else "fails"


def _mediation(a: pd.Series, b: pd.Series, printed: pd.Series | None, level: float, direction: str):
    za, pa = sobel(float(a["coef"]), float(a["se_implied"]), float(b["coef"]), float(b["se_implied"]))
    ab = float(a["coef"]) * float(b["coef"])
    ok = pa <= level and (direction != "+" or ab > 0)
    test = f"a·b = {ab:.4g}, Sobel z = {za:.2f}, p = {_fmt_p(pa)}"
    row = None
    if printed is not None:
        value, paren = float(printed["coef"]), float(printed["se"] or printed["t"])
        h = float(_half_unit(pd.Series([printed["coef"]]))[0])
        row = {"paper": printed["paper"], "table": printed["table"], "model": printed["model"],
               "printed": f"{printed['coef']} ({printed['se'] or printed['t']})", "a": f"{a['coef']} ({a['se']})",
               "b": f"{b['coef']} ({b['se']})", "sobel_z": za, "sobel_p": pa,
               "is_z": abs(value - za) <= h + 1e-12, "is_p": abs(value - pa) <= h + 1e-12, "paren": paren}
    return test, f"indirect effect ≠ 0 at {level:g}", "survives" if ok else "fails", row


def _inverted_u(b1: pd.Series, b2: pd.Series, rng: str, level: float) -> tuple[str, str, str]:
    lo, hi = (float(v) for v in rng.split(";"))
    s1, s2 = float(b1["se_implied"]), float(b2["se_implied"])
    b = np.tile([float(b1["coef"]), float(b2["coef"])], (RHO_GRID.size, 1))
    V = np.empty((RHO_GRID.size, 2, 2))
    V[:, 0, 0], V[:, 1, 1] = s1 * s1, s2 * s2
    V[:, 0, 1] = V[:, 1, 0] = RHO_GRID * s1 * s2
    df = float(b1["df"]) if math.isfinite(float(b1["df"])) else None
    res = utest_batch(b, V, lo, hi, df=df, level=1 - level)
    tp = float(res.turning_point[0])
    where = f"turning point {tp:.3f} in [{lo:g}, {hi:g}]"
    if res.reject.all():
        return where, "inverted U on the data range", "survives whatever cov(b1, b2)"
    if not res.reject.any():
        return where, "inverted U on the data range", "fails whatever cov(b1, b2)"
    rho_star = float(RHO_GRID[res.reject].max())
    contiguous = bool(res.reject[RHO_GRID <= rho_star].all())
    test = (f"{where}; Lind–Mehlum rejects at {level:g} only if corr(b̂1, b̂2) ≤ {rho_star:.3f}"
            + ("" if contiguous else " (not for every such ρ)") + " — the paper does not print it")
    return test, "inverted U on the data range", "undetermined: needs cov(b1, b2)"


def audit_claims(audited: pd.DataFrame, claims: pd.DataFrame, cells: pd.DataFrame):
    """(claims with test, assertion and verdict; the printed Sobel cells against Sobel's z)."""
    rows, sobel_rows = [], []
    everything = pd.concat([audited, cells.loc[cells["kind"] == "sobel"]], ignore_index=True)
    for _, c in claims.iterrows():
        refs = [_cell(everything, c["paper"], r) for r in c["cells"].split(";")]
        level, direction = float(c["level"]), str(c["direction"])
        if c["kind"] in ("significant", "insignificant"):
            test, what, verdict = _significant(refs[0], level, direction, c["kind"] == "insignificant")
        elif c["kind"] == "greater":
            test, what, verdict = _greater(refs[0], refs[1], level)
        elif c["kind"] == "mediation":
            test, what, verdict, srow = _mediation(refs[0], refs[1], refs[2] if len(refs) > 2 else None, level,
                                                    direction)
            if srow is not None:
                sobel_rows.append(srow)
        else:
            test, what, verdict = _inverted_u(refs[0], refs[1], c["range"], level)
        rows.append({"paper": c["paper"], "claim_id": c["claim_id"], "where": c["where"], "claim": c["claim"],
                     "kind": c["kind"], "cells": c["cells"], "asserts": what, "test": test, "verdict": verdict})
    return pd.DataFrame(rows), pd.DataFrame(sobel_rows)


def estimate(spec, panel: Panel, timings) -> AuditResult:
    missing = [c for c in CELL_COLUMNS if c not in panel.frame.columns]
    if missing or "claims" not in panel.frame.attrs:
        raise DataError(f"model=audit reads published tables (data=published data.tables=[...]); data {panel.source!r} "
                        f"is not one (missing {missing or ['its claims']})")
    m = spec.model
    cells = panel.frame.copy()
    cells.attrs = {}
    claim_rows = pd.DataFrame(panel.frame.attrs["claims"], columns=["paper", *CLAIM_COLUMNS])
    with timings("audit"):
        audited = audit_cells(cells, str(m.df), bool(m.rounding))
        claims, sobel_cells = audit_claims(audited, claim_rows, cells)
    return AuditResult(audited, claims, sobel_cells, str(m.df), bool(m.rounding))


def report(result: AuditResult, spec) -> Report:
    """``table.md`` / ``table.tex`` (the audit's own layout, :mod:`tradeq.analyses.audit_tables`),
    ``audit.csv`` (every cell), ``claims.csv`` and ``audit.json``."""
    m = spec.model
    caption = m.title or "Audit of the published tables"
    md, tex, summary = audit_tables.render(result, caption, tuple(m.notes))
    files = {"table.md": md, "table.tex": tex, "audit.csv": result.cells, "claims.csv": result.claims,
             "audit.json": {**summary, "claims": result.claims.to_dict("records"),
                            "sobel_cells": result.sobel.to_dict("records")}}
    # the analysis lays out its own tables: table.md/table.tex in files replace the regression layout
    return Report(caption=caption, columns=(), files=files, record={"audit": summary}, console=summary["headline"])

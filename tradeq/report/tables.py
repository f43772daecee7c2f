"""Regression tables in the papers' layout (markdown and LaTeX).

One column per model; for each term the coefficient with significance stars computed
from *our* p-values (``*** p<0.01, ** p<0.05, * p<0.1``), the standard error or t
statistic in parentheses below, then fixed-effect rows, N and R². Columns are xarray
Datasets as produced by :meth:`models.fe_result.FEFit.to_dataset`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import xarray as xr

STAR_LEVELS = ((0.01, "***"), (0.05, "**"), (0.10, "*"))
_SQUARE = re.compile(r"^I\(\s*(\w+)\s*\*\*\s*2\s*\)$")


@dataclass(frozen=True)
class TableColumn:
    """One model column: its estimates Dataset and any extra rows (name → formatted text)."""

    estimates: xr.Dataset
    title: str = ""
    extra: dict[str, str] = field(default_factory=dict)


def stars(p: float) -> str:
    for cut, mark in STAR_LEVELS:
        if p < cut:
            return mark
    return ""


def term_label(term: str, latex: bool = False) -> str:
    """``I(Market ** 2)`` → ``Market²`` (``Market$^2$`` in LaTeX); ``Intercept`` → ``Constant``."""
    if term == "Intercept":
        return "Constant"
    m = _SQUARE.match(term)
    if m:
        return f"{m.group(1)}$^2$" if latex else f"{m.group(1)}²"
    return term.replace("_", r"\_") if latex else term


def _fmt(x: float, digits: int) -> str:
    return "" if x is None or not np.isfinite(x) else f"{x:.{digits}f}"


def _term_order(columns: list[TableColumn]) -> list[str]:
    terms: list[str] = []
    for col in columns:
        terms += [t for t in col.estimates["term"].values.tolist() if t not in terms]
    return [t for t in terms if t != "Intercept"] + (["Intercept"] if "Intercept" in terms else [])


def table_rows(columns: list[TableColumn], paren: str = "se", digits: int = 4, latex: bool = False) -> list[list[str]]:
    """The table body as rows of cells (first cell the row label)."""
    rows: list[list[str]] = []
    for term in _term_order(columns):
        coef_row, paren_row = [term_label(term, latex)], [""]
        for col in columns:
            ds = col.estimates
            if term not in ds["term"].values:
                coef_row.append("")
                paren_row.append("")
                continue
            e = ds.sel(term=term)
            mark = stars(float(e["p_value"]))
            mark = f"$^{{{mark}}}$" if (latex and mark) else mark
            coef_row.append(_fmt(float(e["estimate"]), digits) + mark)
            value = float(e["std_error"]) if paren == "se" else float(e["statistic"])
            paren_row.append(f"({_fmt(value, digits if paren == 'se' else 2)})")
        rows += [coef_row, paren_row]
    fe_names: list[str] = []
    for col in columns:
        fe_names += [f for f in col.estimates.attrs.get("fe", "").split(",") if f and f not in fe_names]
    for fe in fe_names:
        rows.append([f"{fe} FE"] + ["YES" if fe in col.estimates.attrs.get("fe", "").split(",") else "NO" for col in columns])
    rows.append(["Observations"] + [f"{int(col.estimates.attrs['n_obs']):,}" for col in columns])
    rows.append(["R²" if not latex else "R$^2$"] + [_fmt(col.estimates.attrs["r2"], 3) for col in columns])
    if fe_names:
        rows.append(["Within R²" if not latex else "Within R$^2$"] + [_fmt(col.estimates.attrs["r2_within"], 3) for col in columns])
    rows.append(["SE"] + [_vcov_label(col.estimates.attrs) for col in columns])
    extra_names: list[str] = []
    for col in columns:
        extra_names += [k for k in col.extra if k not in extra_names]
    for name in extra_names:
        rows.append([name] + [col.extra.get(name, "") for col in columns])
    return rows


def _vcov_label(attrs: dict) -> str:
    kind = attrs.get("vcov_type", "")
    if kind in ("cluster", "twoway"):
        return f"cluster ({attrs.get('cluster', '').replace(',', ' & ')})"
    return {"iid": "iid", "hc1": "HC1"}.get(kind, kind)


def _header(columns: list[TableColumn]) -> tuple[list[str], list[str]]:
    numbers = ["VARIABLES"] + [f"({i + 1})" for i in range(len(columns))]
    outcomes = [""] + [col.title or col.estimates.attrs.get("outcome", "") for col in columns]
    return numbers, outcomes


def _footnote(paren: str) -> str:
    what = "Standard errors" if paren == "se" else "t statistics"
    return f"{what} in parentheses. *** p<0.01, ** p<0.05, * p<0.1 (stars from this table's own p-values)."


def to_markdown(columns: list[TableColumn], paren: str = "se", digits: int = 4, caption: str = "") -> str:
    numbers, outcomes = _header(columns)
    body = table_rows(columns, paren, digits)
    lines = [f"**{caption}**", ""] if caption else []
    lines.append("| " + " | ".join(numbers) + " |")
    lines.append("|" + "|".join([":---"] + [":---:"] * len(columns)) + "|")
    lines.append("| " + " | ".join(outcomes) + " |")
    lines += ["| " + " | ".join(r) + " |" for r in body]
    lines += ["", _footnote(paren)]
    return "\n".join(lines) + "\n"


def to_latex(columns: list[TableColumn], paren: str = "se", digits: int = 4, caption: str = "") -> str:
    numbers, outcomes = _header(columns)
    body = table_rows(columns, paren, digits, latex=True)
    spec = "l" + "c" * len(columns)
    out = [r"\begin{table}[htbp]", r"\centering"]
    if caption:
        out.append(rf"\caption{{{caption}}}")
    out += [rf"\begin{{tabular}}{{{spec}}}", r"\hline\hline"]
    out.append(" & ".join(numbers) + r" \\")
    out.append(" & ".join(o.replace("_", r"\_") for o in outcomes) + r" \\")
    out.append(r"\hline")
    n_coef_rows = 2 * len([t for t in _term_order(columns)])
    for i, r in enumerate(body):
        if i == n_coef_rows:
            out.append(r"\hline")
        out.append(" & ".join(r) + r" \\")
    out += [r"\hline\hline", r"\multicolumn{%d}{l}{\footnotesize %s}\\" % (len(columns) + 1, _footnote(paren)),
            r"\end{tabular}", r"\end{table}"]
    return "\n".join(out) + "\n"

"""Regression tables in the papers' layout (markdown and LaTeX).

One column per model; for each term the coefficient with significance stars computed
from *our* p-values (``*** p<0.01, ** p<0.05, * p<0.1``), the standard error or t
statistic in parentheses below, then fixed-effect rows, N and R². Columns are xarray
Datasets as produced by :meth:`tradeq.models.fe_result.FEFit.to_dataset`.

:func:`values_column` makes a column of plain values — the simulation's truth, or a
posterior mean with its posterior sd in parentheses — that has no p-values (so no stars)
and leaves the rows it does not know (FE, N, R²) empty.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import xarray as xr

STAR_LEVELS = ((0.01, "***"), (0.05, "**"), (0.10, "*"))
_SQUARE = re.compile(r"^I\(\s*(\w+)\s*\*\*\s*2\s*\)$")
_LAG = re.compile(r"^L(\d+)_(\w+)$")  # tradeq.lags names: L1_Market → L.Market (Stata's style)


@dataclass(frozen=True)
class TableColumn:
    """One model column: its estimates Dataset and any extra rows (name → formatted text).

    ``lead``: terms to list before all others (Table 5 puts L.x, L2.x, L3.x on top)."""

    estimates: xr.Dataset
    title: str = ""
    extra: dict[str, str] = field(default_factory=dict)
    lead: tuple[str, ...] = ()


def values_column(
    values: dict[str, float],
    title: str = "Truth",
    *,
    sd: dict[str, float] | None = None,
    extra: dict[str, str] | None = None,
    attrs: dict | None = None,
) -> TableColumn:
    """A column of values without p-values: the truth (no parentheses) or posterior means
    with posterior sds (``sd``) in parentheses. ``attrs`` may set ``n_obs``, ``fe`` (FE rows
    then read YES/NO), ``vcov_type`` (e.g. ``"posterior"``)."""
    terms = list(values)
    est = np.array([float(values[t]) for t in terms])
    se = np.array([float((sd or {}).get(t, np.nan)) for t in terms])
    nan = np.full(len(terms), np.nan)
    ds = xr.Dataset(
        {"estimate": ("term", est), "std_error": ("term", se), "statistic": ("term", est / se),
         "p_value": ("term", nan), "conf_low": ("term", nan), "conf_high": ("term", nan)},
        coords={"term": terms},
        attrs={"role": "values", **(attrs or {})},
    )
    return TableColumn(ds, title=title, extra=dict(extra or {}))


def stars(p: float) -> str:
    for cut, mark in STAR_LEVELS:
        if p < cut:
            return mark
    return ""


def term_label(term: str, latex: bool = False, labels: Mapping[str, str] | None = None) -> str:
    """``I(Market ** 2)`` → ``Market²`` (``Market$^2$`` in LaTeX); ``Intercept`` → ``Constant``.

    ``labels`` (column → variable label, ``output.labels=true``) replaces a column's name by its
    label, in squares and lags too (``Market integration²``), as esttab's ``label`` option."""
    if term == "Intercept":
        return "Constant"
    m = _SQUARE.match(term)
    if m:
        base = term_label(m.group(1), latex, labels)
        return f"{base}$^2$" if latex else f"{base}²"
    m = _LAG.match(term)
    if m:
        prefix = "L." if m.group(1) == "1" else f"L{m.group(1)}."
        return prefix + term_label(m.group(2), latex, labels)
    term = labels.get(term, term) if labels else term
    return _latex_escape(term) if latex else term


def _fmt(x: float, digits: int) -> str:
    return "" if x is None or not np.isfinite(x) else f"{x:.{digits}f}"


#: At most this many decimals when a row's numbers are too small for ``digits``.
MAX_DIGITS = 8


def row_digits(values, digits: int) -> int:
    """Decimals for one coefficient row: ``digits``, or more when its largest magnitude would
    print as zero — two significant digits, at most :data:`MAX_DIGITS` (a regressor measured in
    large units has a tiny coefficient: -0.0000* says nothing)."""
    finite = [abs(float(v)) for v in values if v is not None and np.isfinite(v) and v != 0]
    if not finite or max(finite) >= 10.0 ** -digits:
        return digits
    return int(min(MAX_DIGITS, max(digits, 1 - np.floor(np.log10(max(finite))))))


def _term_order(columns: list[TableColumn]) -> list[str]:
    terms: list[str] = []
    for col in columns:
        terms += [t for t in col.lead if t not in terms and t in col.estimates["term"].values]
    for col in columns:
        terms += [t for t in col.estimates["term"].values.tolist() if t not in terms]
    return [t for t in terms if t != "Intercept"] + (["Intercept"] if "Intercept" in terms else [])


def table_rows(columns: list[TableColumn], paren: str = "se", digits: int = 4, latex: bool = False,
               labels: Mapping[str, str] | None = None) -> list[list[str]]:
    """The table body as rows of cells (first cell the row label, :func:`term_label`)."""
    rows: list[list[str]] = []
    for term in _term_order(columns):
        coef_row, paren_row = [term_label(term, latex, labels)], [""]
        shown = [float(c.estimates.sel(term=term)["estimate"]) for c in columns if term in c.estimates["term"].values]
        d = row_digits(shown, digits)
        for col in columns:
            ds = col.estimates
            if term not in ds["term"].values:
                coef_row.append("")
                paren_row.append("")
                continue
            e = ds.sel(term=term)
            mark = stars(float(e["p_value"]))
            mark = f"$^{{{mark}}}$" if (latex and mark) else mark
            coef_row.append(_fmt(float(e["estimate"]), d) + mark)
            value = float(e["std_error"]) if paren == "se" else float(e["statistic"])
            # values columns without a spread (the truth) get no parentheses at all
            paren_row.append(f"({_fmt(value, d if paren == 'se' else 2)})" if np.isfinite(value) else "")
        rows += [coef_row, paren_row]
    fe_names: list[str] = []
    for col in columns:
        fe_names += [f for f in col.estimates.attrs.get("fe", "").split(",") if f and f not in fe_names]
    for fe in fe_names:
        rows.append([f"{fe} FE"] + [_fe_cell(col.estimates.attrs, fe) for col in columns])
    rows.append(["Observations"] + [_n_cell(col.estimates.attrs) for col in columns])
    rows.append(["R²" if not latex else "R$^2$"] + [_fmt(col.estimates.attrs.get("r2", np.nan), 3) for col in columns])
    if fe_names:
        rows.append(["Within R²" if not latex else "Within R$^2$"]
                    + [_fmt(col.estimates.attrs.get("r2_within", np.nan), 3) for col in columns])
    rows.append(["SE"] + [_vcov_label(col.estimates.attrs) for col in columns])
    extra_names: list[str] = []
    for col in columns:
        extra_names += [k for k in col.extra if k not in extra_names]
    for name in extra_names:
        rows.append([name] + [col.extra.get(name, "") for col in columns])
    return rows


def _fe_cell(attrs: dict, fe: str) -> str:
    if "fe" not in attrs:  # a values column that does not say (the truth)
        return ""
    return "YES" if fe in attrs["fe"].split(",") else "NO"


def _n_cell(attrs: dict) -> str:
    n = attrs.get("n_obs")
    return "" if n is None else f"{int(n):,}"


def _vcov_label(attrs: dict) -> str:
    kind = attrs.get("vcov_type", "")
    if kind in ("cluster", "twoway"):
        return f"cluster ({attrs.get('cluster', '').replace(',', ' & ')})"
    return {"iid": "iid", "hc1": "HC1", "posterior": "posterior sd"}.get(kind, kind)


def _header(columns: list[TableColumn], labels: Mapping[str, str] | None = None) -> tuple[list[str], list[str]]:
    numbers = ["VARIABLES"] + [f"({i + 1})" for i in range(len(columns))]
    outcomes = [""] + [col.title or col.estimates.attrs.get("outcome", "") for col in columns]
    outcomes = [(labels or {}).get(o, o) for o in outcomes]
    return numbers, outcomes


def _footnote(paren: str) -> str:
    what = "Standard errors" if paren == "se" else "t statistics"
    return f"{what} in parentheses. *** p<0.01, ** p<0.05, * p<0.1 (stars from this table's own p-values)."


def _latex_escape(text: str) -> str:
    return re.sub(r"([_%&#])", r"\\\1", text)


def to_markdown(columns: list[TableColumn], paren: str = "se", digits: int = 4, caption: str = "",
                notes: tuple[str, ...] | list[str] = (), labels: Mapping[str, str] | None = None) -> str:
    numbers, outcomes = _header(columns, labels)
    body = table_rows(columns, paren, digits, labels=labels)
    lines = [f"**{caption}**", ""] if caption else []
    lines.append("| " + " | ".join(numbers) + " |")
    lines.append("|" + "|".join([":---"] + [":---:"] * len(columns)) + "|")
    lines.append("| " + " | ".join(outcomes) + " |")
    lines += ["| " + " | ".join(r) + " |" for r in body]
    lines += ["", _footnote(paren)]
    for note in notes:  # one paragraph each
        lines += ["", note]
    return "\n".join(lines) + "\n"


def to_latex(columns: list[TableColumn], paren: str = "se", digits: int = 4, caption: str = "",
             notes: tuple[str, ...] | list[str] = (), labels: Mapping[str, str] | None = None) -> str:
    numbers, outcomes = _header(columns, labels)
    body = table_rows(columns, paren, digits, latex=True, labels=labels)
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
    out += [r"\hline\hline", r"\multicolumn{%d}{l}{\footnotesize %s}\\" % (len(columns) + 1, _footnote(paren))]
    out += [r"\multicolumn{%d}{l}{\footnotesize %s}\\" % (len(columns) + 1, _latex_escape(n)) for n in notes]
    out += [r"\end{tabular}", r"\end{table}"]
    return "\n".join(out) + "\n"

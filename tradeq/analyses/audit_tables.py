"""The audit's tables (:mod:`tradeq.analyses.audit`) in markdown and LaTeX, ready to paste into a
referee report: the stars that cannot follow from their standard errors, those that follow only
under another reference distribution, the printed Sobel cells against Sobel's z, and each
conclusion against the paper's own numbers."""

from __future__ import annotations

import math
import re

import pandas as pd

CLAIM_WIDTH = 110
_TEX = {"&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_", "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}",
        "^": r"\textasciicircum{}", "\\": r"\textbackslash{}"}


def _printed(row) -> str:
    return f"{row['coef']}{row['stars']} ({row['se'] or row['t']}{'' if row['se'] else ', t'})"


def _df(row) -> str:
    d = float(row["df"])
    return "normal" if not math.isfinite(d) else f"t({d:.0f})"


def _abs_t(row) -> str:
    t, lo, hi = abs(float(row["t_recomputed"])), float(row["abs_t_min"]), float(row["abs_t_max"])
    top = "∞" if not math.isfinite(hi) else f"{hi:.2f}"
    return f"{t:.2f} [{lo:.2f}, {top}]" if (hi - lo) > 0.005 else f"{t:.2f}"


def _p(p: float) -> str:
    if not math.isfinite(p):
        return "nan"
    return "< 1e-300" if p == 0 else (f"{p:.2g}" if p < 0.001 else f"{p:.3f}")


def _short(text: str) -> str:
    text = re.sub(r"\s+", " ", str(text)).strip()
    return text if len(text) <= CLAIM_WIDTH else text[: CLAIM_WIDTH - 1].rstrip() + "…"


def _cell_rows(cells: pd.DataFrame) -> list[list[str]]:
    return [[r["paper"], r["table"], r["model"], r["sample"], r["term"], _printed(r), _abs_t(r),
             f"{_p(r['p'])} [{_df(r)}]", r["stars_allowed_any_rule"] or "none", r["verdict"]] for _, r in cells.iterrows()]


CELL_HEAD = ["Paper", "Table", "Model", "Sample", "Term", "Printed", "|t| [rounding range]", "p [reference]",
             "Stars its numbers allow", "Verdict"]
SOBEL_HEAD = ["Paper", "Table", "Model", "Printed Sobel cell", "a (se)", "b (se)", "Sobel z", "p", "A Sobel z?",
              "A p-value?"]
CLAIM_HEAD = ["Paper", "Claim", "Where", "Asserts", "Test on the printed numbers", "Verdict"]


def _sections(result) -> list[tuple[str, list[str], list[list[str]]]]:
    cells = result.cells
    bad = cells[cells["verdict"].isin(["more stars than its t allows", "fewer stars than its t earns"])]
    other = cells[cells["verdict"] == "consistent only under another reference distribution"]
    out = [("Stars that cannot follow from the printed coefficient and standard error (under t(G − 1), t(N − K) "
            "or the normal, allowing for rounding)", CELL_HEAD, _cell_rows(bad))]
    if len(other):
        out.append(("Stars that follow only under another reference distribution than the paper's", CELL_HEAD,
                    _cell_rows(other)))
    if len(result.sobel):
        out.append(("The printed \"Sobel test\" cells against Sobel's z from a, b and their standard errors", SOBEL_HEAD,
                    [[r["paper"], r["table"], r["model"], r["printed"], r["a"], r["b"], f"{r['sobel_z']:.2f}",
                      _p(r["sobel_p"]), "yes" if r["is_z"] else "no", "yes" if r["is_p"] else "no"]
                     for _, r in result.sobel.iterrows()]))
    if len(result.claims):
        out.append(("The papers' conclusions against their own numbers", CLAIM_HEAD,
                    [[r["paper"], f"{r['claim_id']}: “{_short(r['claim'])}”", r["where"], r["asserts"], r["test"],
                      r["verdict"]] for _, r in result.claims.iterrows()]))
    return out


def summary(result) -> dict:
    cells, claims = result.cells, result.claims
    counts = cells["verdict"].value_counts().to_dict()
    impossible = int(counts.get("more stars than its t allows", 0) + counts.get("fewer stars than its t earns", 0))
    survive = int(claims["verdict"].eq("survives").sum() + claims["verdict"].str.startswith("survives whatever").sum()) \
        if len(claims) else 0
    headline = (f"{len(cells)} coefficient cells in {cells.groupby(['paper', 'table']).ngroups} tables: {impossible} stars "
                f"cannot follow from their standard errors, {int(counts.get('consistent only under another reference distribution', 0))} "
                f"follow only under another reference distribution; {survive} of {len(claims)} conclusions survive "
                "the papers' own numbers.")
    return {"headline": headline, "n_cells": int(len(cells)), "verdicts": {k: int(v) for k, v in counts.items()},
            "n_claims": int(len(claims)), "claims_surviving": survive,
            "claim_verdicts": {k: int(v) for k, v in claims["verdict"].value_counts().items()} if len(claims) else {},
            "df_rule": result.df_rule, "rounding": result.rounding,
            "sobel_cells_that_are_sobel_z": int(result.sobel["is_z"].sum()) if len(result.sobel) else 0}


def _notes(result, extra) -> list[str]:
    which = {"implied": "t(G − 1) with the clusters the paper implies (its robust standard errors with province "
                        "effects are clustered by province), t(N − K) where it implies none",
             "cluster": "t(G − 1)", "residual": "t(N − K)", "normal": "the normal"}[result.df_rule]
    return [f"p: two-sided, from the printed coefficient and standard error (or t), against {which}; audit.csv has "
            "the p-values under every reference distribution. Stars: *** p < 0.01, ** p < 0.05, * p < 0.1. "
            + ("A star is impossible when no reference distribution and no value within the rounding of the printed "
               "numbers gives it." if result.rounding else "Printed numbers taken as exact (model.rounding=false)."),
            "Differences between two coefficients treat them as independent estimates (disjoint subsamples); for two "
            "periods of the same provinces that is an approximation — the pooled model with an interaction tests it "
            "properly (experiment=shock_table3).",
            *extra]


def _md_table(head, rows) -> list[str]:
    esc = [[str(c).replace("|", "\\|") for c in row] for row in rows]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join([":---"] * len(head)) + "|"]
    return lines + ["| " + " | ".join(r) + " |" for r in esc] if rows else lines + ["| " + " | ".join(["(none)"] + [""] * (len(head) - 1)) + " |"]


def _tex(text: str) -> str:
    text = "".join(_TEX.get(ch, ch) for ch in str(text))
    return text.replace("≤", r"$\le$").replace("≠", r"$\ne$").replace("−", "-").replace("·", r"$\cdot$") \
        .replace("∞", r"$\infty$").replace("“", "``").replace("”", "''").replace("…", r"\ldots{}") \
        .replace("b̂", r"$\hat b$").replace("√", r"$\surd$").replace("²", r"$^2$")


def _tex_table(title, head, rows) -> list[str]:
    spec = "l" * len(head)
    out = [r"\begin{table}[htbp]", r"\centering", r"\footnotesize", rf"\caption{{{_tex(title)}}}",
           rf"\begin{{tabular}}{{{spec}}}", r"\hline\hline", " & ".join(_tex(h) for h in head) + r" \\", r"\hline"]
    out += [" & ".join(_tex(c) for c in r) + r" \\" for r in rows] or [r"\multicolumn{%d}{l}{(none)} \\" % len(head)]
    return out + [r"\hline\hline", r"\end{tabular}", r"\end{table}"]


def render(result, caption: str, extra_notes=()) -> tuple[str, str, dict]:
    """(table.md, table.tex, summary) of an :class:`~tradeq.analyses.audit.AuditResult`."""
    s = summary(result)
    md = [f"**{caption}**", "", s["headline"]]
    tex = [f"% {_tex(caption)}", rf"\noindent {_tex(s['headline'])}", ""]
    for title, head, rows in _sections(result):
        md += ["", f"*{title}*", "", *_md_table(head, rows)]
        tex += ["", *_tex_table(title, head, rows)]
    notes = _notes(result, list(extra_notes))
    md += ["", *[line for n in notes for line in (n, "")]]
    tex += ["", *[rf"\noindent\footnotesize {_tex(n)}\par" for n in notes]]
    return "\n".join(md).rstrip() + "\n", "\n".join(tex) + "\n", s

"""``model=info_spillover``: does industrial information spillover raise export quality? (SPEC 1b;
Shi Ruizhen & Sang Baichuan 2023, 财经论丛 39(8)).

    quality_it = b_S ln peer_scale_it + b_D ln peer_diversity_it + W_it'd + firm_i + year_t + e_it

with the leave-one-out peer measures of :mod:`tradeq.models.measures.peers` (built from customs
records by ``data=raw``). The table's columns (``model.columns``):

* ``baseline`` — the equation above (``model.formula``);
* ``density`` — + ln exporters and its products with both peer measures, centred at the
  baseline sample's means (so b_S, b_D stay the average effects): does density reinforce
  the spillover?
* ``network`` — + the cross-industry exposure Σ_k W~_jk x_kt (the transitive channel);
* ``within_firm`` — + the firm's own product x destination pairs (information shared within
  the firm);
* ``alternative`` — the peers' total exports and diversity per peer with the number of peers
  (the robustness check with other measures; ln sum = ln mean + ln(n - 1));
* ``city`` — + the city-level spillover (the other exporters of the firm's city, any industry);

and ``model.splits``: the baseline by firm scale (small / large), by factor intensity
(labour / capital / technology) and on the quality of exports to high- and to low-income
destinations. General trade only is the data's choice (``data.trade_modes=[general]``).

Every column is the FE analysis (:mod:`tradeq.analyses.fe`) on its own formula and sample,
with the model's variance settings — whatever variance or few-cluster option the FE
analysis offers applies to every column. The outcome is tailed once, on the whole panel.
Errors cluster by industry-year by default: the level the peer measures vary at.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from tradeq.analyses import fe
from tradeq.analyses.common import apply_tail, tail_note, with_frame
from tradeq.errors import ConfigError, DataError
from tradeq.formula import split_formula
from tradeq.panel import Panel
from tradeq.report.tables import TableColumn, values_column
from tradeq.report.writer import Report
from tradeq.specs import EstimateSpec
from tradeq.specs.fields import Tail
from tradeq.specs.model import FESpec

INTERACTIONS = ("scale_x_density", "diversity_x_density")
LABELS = {"baseline": "baseline", "density": "density", "network": "network", "within_firm": "within-firm",
          "alternative": "alternative", "city": "city control"}


@dataclass(frozen=True)
class Column:
    """One column: its key (``density``, ``size:large`` ...), title, the FE analysis's result."""

    key: str
    title: str
    result: fe.FEResult
    spec: EstimateSpec


@dataclass(frozen=True)
class SpilloverResult:
    """The columns, the centring constants of the interactions, the truth (by term; per split
    group) when the data are simulated, the size cut used and the tailing record."""

    columns: tuple[Column, ...]
    centre: dict[str, float]
    truth: dict[str, float] | None
    group_truth: dict[str, dict[str, float]]
    size_cut: float | None
    tail: dict | None


def _terms(formula: str) -> tuple[str, list[str], list[str]]:
    main, fes = split_formula(formula)
    lhs, rhs = main.split("~", 1)
    return lhs.strip(), [t.strip() for t in rhs.split("+") if t.strip()], fes


def _formula(y: str, terms: list[str], fes: list[str]) -> str:
    return f"{y} ~ {' + '.join(terms)}" + (f" | {' + '.join(fes)}" if fes else "")


def _roles(m) -> dict[str, str]:
    """Role -> panel column of every measure the columns use."""
    alt = dict(zip(("peer_sum", "diversity_per_peer", "n_peers"), m.alternative))
    net = dict(zip(("network_scale", "network_diversity"), m.network))
    return {"scale": m.scale, "diversity": m.diversity, "density": m.density, "scale_x_density": INTERACTIONS[0],
            "diversity_x_density": INTERACTIONS[1], "own": m.own, "city": m.city, **net, **alt}


def _prepare(frame: pd.DataFrame, m, y: str, base: list[str]) -> tuple[pd.DataFrame, dict[str, float]]:
    """The frame with ``industry_year`` (when missing) and the centred interactions; the centres."""
    frame = frame.copy()
    if "industry_year" not in frame.columns and {"industry", "year"} <= set(frame.columns):
        frame["industry_year"] = frame["industry"].astype(str) + "-" + frame["year"].astype(str)
    centre = {}
    if "density" in m.columns:
        missing = [c for c in (m.density, m.scale, m.diversity) if c not in frame.columns]
        if missing:
            raise DataError(f"model.columns=density needs column {missing[0]!r}; the panel has "
                                        f"{list(frame.columns)}")
        used = [c for c in [y, *base, m.density] if c in frame.columns]
        sample = frame[used].dropna()
        centre = {k: float(sample[getattr(m, k)].mean()) for k in ("scale", "diversity", "density")}
        frame[INTERACTIONS[0]] = (frame[m.scale] - centre["scale"]) * (frame[m.density] - centre["density"])
        frame[INTERACTIONS[1]] = (frame[m.diversity] - centre["diversity"]) * (frame[m.density] - centre["density"])
    return frame, centre


def _plans(m, y: str, base: list[str], fes: list[str], frame: pd.DataFrame):
    """(key, title, formula, row mask or None) of every column, and the size cut used."""
    roles = _roles(m)
    add = {"baseline": [], "density": [m.density, *INTERACTIONS], "network": list(m.network),
           "within_firm": [m.own], "city": [m.city]}
    plans = []
    for key in m.columns:
        if key == "alternative":
            swap = {m.scale: roles["peer_sum"], m.diversity: roles["diversity_per_peer"]}
            terms = [swap.get(t, t) for t in base] + [roles["n_peers"]]
        else:
            terms = base + add[key]
        plans.append((key, LABELS[key], _formula(y, terms, fes), None))
    cut = None
    for split in m.splits:
        if split == "size":
            if m.size_column not in frame.columns:
                raise DataError(f"model.splits=size needs column {m.size_column!r} (model.size_column)")
            cut = float(m.size_cut) if m.size_cut is not None else float(frame[m.size_column].median())
            below = frame[m.size_column] < cut
            plans += [("size:small", f"small (< {cut:g})", _formula(y, base, fes), below & frame[m.size_column].notna()),
                      ("size:large", f"large (≥ {cut:g})", _formula(y, base, fes), ~below & frame[m.size_column].notna())]
        elif split == "intensity":
            if m.intensity_column not in frame.columns:
                raise DataError(f"model.splits=intensity needs column {m.intensity_column!r}")
            plans += [(f"intensity:{lev}", lev, _formula(y, base, fes), frame[m.intensity_column] == lev)
                      for lev in m.intensity_levels]
        else:
            plans += [(f"destination:{lev}", f"{lev}-income", _formula(out, base, fes), None)
                      for lev, out in zip(("high", "low"), m.destination_outcomes)]
    return plans, cut


def _column_spec(spec: EstimateSpec, formula: str, key: str) -> EstimateSpec:
    """The run's spec with an FE model that has every FE setting of ``spec.model`` (whatever
    the FE analysis offers) but ``formula``; the outcome was tailed already."""
    m = spec.model
    fields = {f.name: getattr(m, f.name) for f in dataclasses.fields(FESpec)}
    fields.update(formula=formula, name=f"{m.name}:{key}", tail=Tail.none, utest=None, utest_interval=None)
    return dataclasses.replace(spec, model=FESpec(**fields))


def estimate(spec: EstimateSpec, panel: Panel, timings) -> SpilloverResult:
    m = spec.model
    if spec.inference.bayes:
        raise ConfigError(f"model=info_spillover runs fixed-effects regressions only; use inference=fe "
                          f"(got inference.kind={spec.inference.kind})")
    y, base, fes = _terms(m.formula)
    panel, tail = apply_tail(panel, m, y)
    frame, centre = _prepare(panel.frame, m, y, base)
    plans, cut = _plans(m, y, base, fes, frame)
    truth = getattr(panel.truth, "spillover_terms", None)
    columns, group_truth = [], {}
    for key, title, formula, mask in plans:
        col_spec = _column_spec(spec, formula, key)
        sub = with_frame(panel, frame if mask is None else frame[mask.to_numpy()])
        with timings(f"fit {key}"):
            res = fe.estimate(col_spec, sub, timings)
        group = tuple(key.split(":", 1)) if ":" in key else None
        known = truth(_roles(m), centre, group, cut) if truth is not None else None
        if known is not None and group is not None:
            group_truth[key] = {t: known[t] for t in (m.scale, m.diversity)}
        columns.append(Column(key, title, dataclasses.replace(res, truth=known), col_spec))
    pooled = truth(_roles(m), centre, None, cut) if truth is not None else None
    return SpilloverResult(tuple(columns), centre, pooled, group_truth, cut, tail)


def _notes(result: SpilloverResult, spec: EstimateSpec, clusters: list[int]) -> list[str]:
    m = spec.model
    notes = []
    if str(m.vcov) in ("cluster", "twoway") and m.cluster:
        where = " & ".join(m.cluster)
        count = f" ({min(clusters):,}–{max(clusters):,} clusters)" if clusters and min(clusters) != max(clusters) else (
            f" ({clusters[0]:,} clusters)" if clusters else "")
        notes.append(f"Standard errors clustered by {where}{count}: the peer measures vary at the industry-year level — "
                     "every exporter of an industry in a year shares its peers' exports, up to its own leave-one-out "
                     "share — so they are one draw per industry-year; clustering by firm would count each industry-"
                     "year's value as many independent observations (the Moulton problem) and understate the errors.")
    notes.append(f"{m.scale}: ln mean export value of the other exporters of the firm's industry-year; {m.diversity}: "
                 "ln distinct product × destination pairs they export (leave-one-out).")
    if result.centre:
        c = result.centre
        notes.append(f"Density: {m.density}; the interactions are centred at the baseline sample's means "
                     f"({m.scale} {c['scale']:.3f}, {m.diversity} {c['diversity']:.3f}, {m.density} {c['density']:.3f}), "
                     "so the peer coefficients stay average effects.")
    if "alternative" in m.columns:
        notes.append(f"Alternative measures: {m.alternative[0]} (total, not mean, peer exports), {m.alternative[1]} "
                     f"(diversity per peer) and {m.alternative[2]} (ln number of peers).")
    if result.tail is not None:
        notes.append(tail_note(result.tail))
    if result.truth is not None:
        notes.append("Truth: the simulation's coefficients on these measures (the data-generating model has every "
                     "channel it was given; a column without one omits it). Blank: not defined for that column.")
    return notes


def _truth_columns(result: SpilloverResult, pooled_terms: list[str]) -> list[TableColumn]:
    out = []
    if result.truth is not None and pooled_terms:
        out.append(values_column({t: result.truth.get(t, math.nan) for t in pooled_terms}, "Truth"))
    for col in result.columns:
        if col.key in result.group_truth:
            out.append(values_column(result.group_truth[col.key], f"{col.title} (truth)"))
    return out


def report(result: SpilloverResult, spec: EstimateSpec) -> Report:
    m = spec.model
    columns, tidy, files, records, summary, clusters, pooled_terms = [], [], {}, {}, {}, [], []
    for col in result.columns:
        rep = fe.report(col.result, col.spec)
        fit = col.result.fit
        clusters += list(fit.n_clusters[:1])
        table_col = rep.columns[0]
        extra = {**table_col.extra, "Clusters": f"{fit.n_clusters[0]:,}"} if fit.n_clusters else dict(table_col.extra)
        columns.append(dataclasses.replace(table_col, title=col.title, extra=extra))
        est = rep.files["estimates.csv"]
        est.insert(1, "column", col.key)
        tidy.append(est)
        files.update({f"{col.key.replace(':', '_')}.{name}": content for name, content in rep.files.items()
                      if name != "estimates.csv"})
        records[col.key] = dict(rep.record)
        if ":" not in col.key:
            pooled_terms += [t for t in fit.x_names if t not in pooled_terms]
        summary[col.key] = {"title": col.title, "formula": col.spec.model.formula, "n_obs": fit.n_obs,
                            "n_clusters": list(fit.n_clusters), "terms": list(fit.x_names),
                            "estimate": fit.coef.tolist(), "std_error": fit.se.tolist(),
                            "truth": [None if col.result.truth is None else col.result.truth.get(t) for t in fit.x_names]}
    columns += _truth_columns(result, pooled_terms)
    files["info_spillover.json"] = {"columns": summary, "centre": result.centre, "size_cut": result.size_cut,
                                    "tail": result.tail}
    files["estimates.csv"] = pd.concat(tidy, ignore_index=True)
    console = "\n".join(_console_line(col, m) for col in result.columns)
    return Report(caption=m.title or "Information spillover and export quality", columns=tuple(columns),
                  notes=tuple(_notes(result, spec, clusters)), files=files,
                  record={"model": m.name, "kind": "info_spillover", "columns": records}, console=console)


def _console_line(col: Column, m) -> str:
    fit, truth = col.result.fit, col.result.truth or {}
    parts = []
    for term in (m.scale, m.diversity, *m.alternative[:2]):
        if term in fit.x_names:
            i = fit.index(term)
            t = truth.get(term)
            parts.append(f"{term} {fit.coef[i]:.4f} (SE {fit.se[i]:.4f})" + ("" if t is None or np.isnan(t) else f", truth {t:.4f}"))
    return f"{col.title}: " + "; ".join(parts)

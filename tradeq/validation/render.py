"""``docs/validation.md``: the validation matrix as Markdown.

Every rate is printed as ``value (MC SE)``. The verdict compares each rate with its nominal
value (coverage 0.95, size 0.05) at ``Z`` Monte Carlo SEs of the nominal rate,
``sqrt(p0 (1 - p0) / n)``: a valid row ``holds`` when all its rates are inside, else it is
``off`` (and must be looked at); a failure row ``fails`` when a rate is outside (the failure
is seen), else ``not seen`` at this number of replications.
"""

from __future__ import annotations

import numpy as np

from .record import Rate, ValidationRow

Z = 3.0
NOMINAL = {"coverage": 0.95, "size": 0.05}


def outside(r: Rate | None, nominal: float) -> bool | None:
    """Whether ``r`` is more than :data:`Z` nominal MC SEs from ``nominal`` (None: no rate)."""
    if r is None or not np.isfinite(r.value) or r.n == 0:
        return None
    return abs(r.value - nominal) > Z * np.sqrt(nominal * (1 - nominal) / r.n)


def verdict(row: ValidationRow) -> str:
    size = outside(row.size, NOMINAL["size"])
    if size and row.size_at_most and row.size.value < NOMINAL["size"]:
        size = False  # conservative, as claimed
    flags = [f for f in (outside(row.coverage, NOMINAL["coverage"]), size) if f is not None]
    if row.accuracy_ok is not None:
        flags.append(not row.accuracy_ok)
    if not flags:
        return "–"
    if row.region == "valid":
        return "holds" if not any(flags) else "**off**"
    return "fails (documented)" if any(flags) else "not seen"


def _cell(r: Rate | None) -> str:
    return "–" if r is None else r.text()


HEADER = ["estimator", "assumption / DGP", "region", "coverage 95% (MC SE)", "size 5% (MC SE)",
          "power (MC SE)", "accuracy", "reps", "verdict", "note"]


def table(rows: list[ValidationRow]) -> str:
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "|".join(["---"] * len(HEADER)) + "|"]
    for r in rows:
        cells = [r.estimator, r.assumption, r.region, _cell(r.coverage), _cell(r.size), _cell(r.power),
                 r.accuracy or "–", f"{r.reps:,}", verdict(r), r.note]
        lines.append("| " + " | ".join(c.replace("|", "/") for c in cells) + " |")
    return "\n".join(lines)


INTRO = """# Validation matrix

Every estimator tradeq ships, under each assumption it is claimed valid under, and every known
failure region, measured by simulation with known truth. Regenerate with

    python simulate.py validation=all [validation.reps=1000] [seed=20240601]

Coverage is of 95% intervals, size the rejection rate of a true null at 5%, power the rejection
rate at the paper's effect; each with its Monte Carlo SE `sqrt(p (1 - p) / R)`. Verdicts
compare each rate with its nominal value at {z:g} nominal MC SEs: a valid row *holds* or is
**off**; a failure region *fails (documented)* when the failure is seen. A failure region is
kept here, never deleted.
"""

def render(groups: list[tuple[str, object, tuple, float]], *, reps: int, seed: int) -> str:
    """The page from :func:`tradeq.validation.registry.run_groups`' output."""
    parts = [INTRO.format(z=Z), f"Seed {seed}; {reps:,} replications per row unless a row says otherwise.\n"]
    total = 0.0
    for name, group, rows, seconds in groups:
        total += seconds
        why = f" Replications capped at {group.max_reps:,}: {group.why}" if group.max_reps and group.max_reps < reps else ""
        parts.append(f"## {group.title}\n\nRow group `{name}`, {seconds:.0f} s on this machine.{why}\n")
        parts.append(table(list(rows)) + "\n")
    parts.append(f"Total: {total:.0f} s.\n")
    return "\n".join(parts)

"""The validation matrix (issue 14): one row per estimator x assumption it is claimed valid
under, and one per known failure region, each with coverage, size and power and their Monte
Carlo SEs; ``python simulate.py validation=all`` regenerates ``docs/validation.md``.

Rows come from row groups registered in :mod:`tradeq.validation.registry` (functions of
``(reps, seed)``); they reuse the Monte Carlo engine, the studies and the analyses' own
functions, never a second implementation of a numeric.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from tradeq.atomic import write_text

from .record import Rate, ValidationRow
from .registry import RowGroup, row_names, run_groups

__all__ = ["Rate", "RowGroup", "ValidationRow", "row_names", "run_groups", "write_validation"]


def write_validation(spec, seed: int, output: str | Path, run_dir: str | Path | None = None) -> dict[str, Any]:
    """Run ``spec``'s row groups and write the page to ``output`` (a copy into ``run_dir``)."""
    from .render import render

    start = time.perf_counter()
    cache = spec.results_dir or (str(Path(run_dir) / "results") if run_dir is not None else None)
    groups = run_groups(spec.rows, spec.reps, seed, cache_dir=cache)
    page = render(groups, reps=spec.reps, seed=seed)
    write_text(Path(output), page)
    if run_dir is not None:
        write_text(Path(run_dir) / "validation.md", page)
    return {"output": str(output), "n_rows": sum(len(g[2]) for g in groups), "reps": spec.reps,
            "seconds": round(time.perf_counter() - start, 1),
            "groups": {name: round(sec, 1) for name, _, _, sec in groups}}

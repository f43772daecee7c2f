"""The validation matrix's row registry: ``name -> RowGroup``.

A row group is a function ``(reps, seed) -> tuple[ValidationRow, ...]`` (one or more rows
from one simulation: e.g. an estimator's valid region and its failure region come from the
same panels) with a title and, where its cost on two cores is too high for ``reps``
replications, ``max_reps`` and the reason (printed in the row's note). Adding a row is one
function and one entry of :data:`ROWS`; ``python simulate.py validation=all`` runs them all.

``bayes_student_t``: the coverage of the Student-t likelihood's intervals, explicit fixed
effects against the profile form (:mod:`tradeq.validation.rows_bayes`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from tradeq.errors import ConfigError

from .record import ValidationRow

log = logging.getLogger("tradeq")

RowFunction = Callable[[int, int], tuple[ValidationRow, ...]]


@dataclass(frozen=True)
class RowGroup:
    """``run(reps, seed)``; ``title``; ``max_reps`` (None: no cap) and ``why`` the cap."""

    run: RowFunction
    title: str
    max_reps: int | None = None
    why: str = ""
    cached: bool = False  # run takes cache_dir= (result files reused across runs)

    def reps_for(self, reps: int) -> int:
        return reps if self.max_reps is None else min(reps, self.max_reps)


def _rows() -> dict[str, RowGroup]:
    from .rows_bayes import student_t_rows
    from .rows_clusters import few_cluster_rows
    from .rows_fe import fe_coverage_rows, utest_rows
    from .rows_groups import equal_curves_rows
    from .rows_mediation import mediation_rows
    from .rows_numerics import chain_rows, nonpsd_rows

    return {
        "fe_coverage": RowGroup(fe_coverage_rows, "FE replica: 95% intervals and t tests (firm + year FE)"),
        "utest": RowGroup(utest_rows, "Lind–Mehlum inverted-U test"),
        "equal_curves": RowGroup(equal_curves_rows, "Equal-curves test with a time-varying group"),
        "mediation": RowGroup(mediation_rows, "Mediation with a quadratic outcome equation (AMEs)"),
        "nonpsd_twoway": RowGroup(nonpsd_rows, "Two-way cluster variance that is not positive semi-definite"),
        "chain_graphs": RowGroup(chain_rows, "Badly connected FE graphs: alternating projections on chains",
                                 max_reps=100, why="a chain takes 0.5-1.2 s (the plain sweeps, up to 10,000, "
                                 "dominate), 1,000 would take 8-20 minutes; the measure is a largest error, "
                                 "not a rate, and 100 chains of 10-30 links cover the shapes"),
        "few_clusters": RowGroup(few_cluster_rows, "Few clusters: CR1, CRV3, WCR (the few_clusters study)",
                                 cached=True),
        "bayes_student_t": RowGroup(student_t_rows, "Bayesian Student-t likelihood under firm and year effects",
                                    max_reps=200, why="each data set is a NUTS fit (60 firm and 4 year effects "
                                    "sampled explicitly), 200 per form take about 2 minutes on two cores; the "
                                    "MC SE of a 95% coverage at 200 is 0.015"),
    }


def row_names() -> tuple[str, ...]:
    return tuple(_rows())


def run_groups(names: Sequence[str] | None, reps: int, seed: int,
               cache_dir: str | None = None) -> list[tuple[str, RowGroup, tuple, float]]:
    """Run the named row groups (None: all): ``(name, group, rows, seconds)`` each;
    ``cache_dir`` holds the result files of the groups that keep them."""
    groups = _rows()
    names = list(groups) if names is None else list(names)
    unknown = [n for n in names if n not in groups]
    if unknown:
        raise ConfigError(f"validation.rows: unknown row(s) {unknown}; known: {list(groups)}")
    out = []
    for name in names:
        g = groups[name]
        start = time.perf_counter()
        kw = {"cache_dir": cache_dir} if g.cached and cache_dir is not None else {}
        rows = g.run(g.reps_for(reps), seed, **kw)
        seconds = time.perf_counter() - start
        log.info("validation %s: %d rows in %.1f s", name, len(rows), seconds)
        out.append((name, g, rows, seconds))
    return out

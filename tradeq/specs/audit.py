"""The published-table audit: its data (``data=published``, machine-readable transcriptions of
a paper's tables) and its settings (``model=audit``, :mod:`tradeq.analyses.audit`)."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import ClassVar

from tradeq.specs.fields import check
from tradeq.specs.model import ModelSpec


class AuditDF(enum.StrEnum):
    """The reference distribution of a recomputed t statistic."""

    implied = "implied"  # each table's own: t(G - 1) with the clusters its paper implies, else t(N - K)
    cluster = "cluster"  # t(G - 1), G the clusters (provinces) the paper implies
    residual = "residual"  # t(N - K)
    normal = "normal"


@dataclass(frozen=True)
class PublishedSpec:
    """Transcribed tables: ``tables`` names fixture files of ``tradeq/resources/audit/`` (without
    ``.csv``) or paths to CSV files in the same layout (:mod:`tradeq.analyses.audit`); each file's
    claims, when it has any, sit beside it as ``<name>_claims.csv``."""

    SOURCE: ClassVar[str] = "published"
    tables: tuple[str, ...] = ()
    id: str | None = None
    time: str | None = None

    def __post_init__(self) -> None:
        check(len(self.tables) > 0, "data.tables", list(self.tables),
              "name the transcriptions to audit, e.g. data.tables=[clusters_quality]")


@dataclass(frozen=True)
class AuditSpec(ModelSpec):
    """Recompute every transcribed cell's t and p (``df``: the reference distribution of the
    verdict; every rule is reported), flag stars that cannot follow from the printed numbers
    (``rounding``: allowing for the rounding of the printed coefficient and SE), recompute the
    Sobel z of each mediation chain, and check the papers' claims against their own numbers;
    ``notes``: paragraphs added below the tables (an experiment's caveats)."""

    KIND: ClassVar[str] = "audit"
    name: str = "audit"
    df: AuditDF = AuditDF.implied
    rounding: bool = True
    notes: tuple[str, ...] = ()

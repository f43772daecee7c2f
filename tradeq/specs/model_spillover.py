"""``model=info_spillover``: the information-spillover study (SPEC 1b), one spec.

The spec extends :class:`tradeq.specs.model.FESpec`: every column is an FE regression run by
the FE analysis itself, so whatever that analysis offers (variances, few-cluster options,
tailing) applies to every column with the same settings. ``formula`` is the baseline column;
the other columns add to it or replace its peer measures (:mod:`tradeq.analyses.info_spillover`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from tradeq.specs.fields import Vcov, check
from tradeq.specs.model import FESpec

#: The columns the analysis can fit, in the table's order.
SPILLOVER_COLUMNS = ("baseline", "density", "network", "within_firm", "alternative", "city")
#: The heterogeneity splits: firm scale, industry factor intensity, destination income.
SPILLOVER_SPLITS = ("size", "intensity", "destination")


@dataclass(frozen=True)
class InfoSpilloverSpec(FESpec):
    """Quality on peer export scale (``scale``) and diversity (``diversity``) with ``formula``'s
    controls and fixed effects; ``columns`` (of :data:`SPILLOVER_COLUMNS`): ``density`` adds
    exporter density and its interactions with both peer measures (centred), ``network`` the
    cross-industry exposure, ``within_firm`` the firm's own diversity, ``alternative`` swaps in
    the ``alternative`` measures (total peer exports, diversity per peer, the number of
    peers), ``city`` adds the city-level spillover control. ``splits`` (of
    :data:`SPILLOVER_SPLITS`) fit the baseline by firm scale (``size_column`` below / above
    ``size_cut``, default its median), by ``intensity_levels`` of ``intensity_column``, and with
    the quality of exports to high- and to low-income destinations (``destination_outcomes``).
    Errors cluster by ``cluster`` (default industry-year: the level the peer measures vary at)."""

    KIND: ClassVar[str] = "info_spillover"
    name: str = "info_spillover"
    formula: str = "quality ~ ln_peer_scale + ln_peer_diversity + scale + age + roa + rdebt + fic | firm + year"
    vcov: Vcov = Vcov.cluster
    cluster: tuple[str, ...] = ("industry_year",)
    columns: tuple[str, ...] = SPILLOVER_COLUMNS
    splits: tuple[str, ...] = ()
    scale: str = "ln_peer_scale"
    diversity: str = "ln_peer_diversity"
    density: str = "ln_exporters"
    network: tuple[str, ...] = ("ln_network_scale", "ln_network_diversity")
    own: str = "ln_own_diversity"
    city: str = "ln_city_peer_scale"
    alternative: tuple[str, ...] = ("ln_peer_sum", "ln_peer_diversity_per_peer", "ln_n_peers")
    size_column: str = "scale"
    size_cut: float | None = None
    intensity_column: str = "intensity"
    intensity_levels: tuple[str, ...] = ("labour", "capital", "technology")
    destination_outcomes: tuple[str, ...] = ("quality_high_income", "quality_low_income")

    def __post_init__(self) -> None:
        super().__post_init__()
        for key, allowed in (("columns", SPILLOVER_COLUMNS), ("splits", SPILLOVER_SPLITS)):
            values = list(getattr(self, key))
            bad = [v for v in values if v not in allowed]
            check(not bad, f"model.{key}", values, f"{bad[0] if bad else ''!s} is not one of {', '.join(allowed)}")
            check(len(set(values)) == len(values), f"model.{key}", values, "lists a name twice")
        check(bool(self.columns) or bool(self.splits), "model.columns", list(self.columns),
              "needs at least one column, or model.splits")
        rhs = self.formula.split("|")[0].split("~")[-1]
        terms = [t.strip() for t in rhs.split("+")]
        for key in ("scale", "diversity"):
            check(getattr(self, key) in terms, "model.formula", self.formula,
                  f"must have model.{key}={getattr(self, key)} among its regressors")
        check(len(self.alternative) == 3, "model.alternative", list(self.alternative),
              "names three columns: total peer exports, diversity per peer, the number of peers")
        check(len(self.destination_outcomes) == 2, "model.destination_outcomes", list(self.destination_outcomes),
              "names two outcomes: quality of exports to high-, then to low-income destinations")
        check(len(self.intensity_levels) > 0, "model.intensity_levels", list(self.intensity_levels),
              "lists at least one level")

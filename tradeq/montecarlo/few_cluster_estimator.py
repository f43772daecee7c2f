"""The engine's few-cluster estimator on the firm panel: province-clustered CR1, CRV3 and
the wild cluster bootstrap (WCR) of Market's slope b1.

``quality ~ Market + Market^2 + controls | firm + year`` on each simulated panel, clustered
by the firms' 31 provinces (firms nest in provinces, so the firm effects are projected out
and the year effects are dummy columns; :mod:`tradeq.montecarlo.few_cluster_inference`).
Market varies by province-year, so under province-year shocks (``error=province_year``)
only inference at the province level (or coarser) can be valid: this is the Moulton
problem of the market-integration paper, which clusters by firm.

Study config (``estimators.<name>``)::

    fc: {kind: few_clusters, weights: [rademacher, webb], wild_reps: 399}

``n_provinces`` (default all 31) keeps only the firms of the n provinces with the most
firm-years in each replication: fewer clusters on the same panels. Labels ``<name>/cr1``, ``<name>/crv3``, ``<name>/wcr_<weights>``; parameter ``b1``; test
``size`` (b1 = its true value rejected at 1 - level). A host estimator: it runs once per
replication on NumPy arrays (the wild bootstrap's draws and the interval inversion are not
traced); each replication's wild draws come from its own key.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from tradeq.dgp.firm_panel import CONTROLS, FirmPanelParams
from tradeq.errors import ConfigError

from .estimators import Estimator, _as_tuple, _convert, _take
from .few_cluster_inference import (
    WILD_WEIGHTS,
    empty_inference,
    inference_labels,
    inference_records,
    slope_inference,
)


def firm_panel_design(panel: Mapping[str, Any], controls: tuple[str, ...]):
    """``(y, X, fe, clusters)`` of the present firm-years of a (T, F) panel: X = Market,
    Market^2, controls; fe = (firm, year) codes; clusters = the firm's province."""
    present = np.asarray(panel["present"], bool)
    t_idx, f_idx = np.nonzero(present)
    market = np.asarray(panel["Market"], float)[present]
    X = np.column_stack([market, market**2, *(np.asarray(panel[c], float)[present] for c in controls)])
    fe = np.column_stack([f_idx, t_idx])
    clusters = np.asarray(panel["province"])[f_idx]
    return np.asarray(panel["quality"], float)[present], X, fe, clusters


def largest_provinces(n: int, y, X, fe, clusters):
    """The rows of the ``n`` provinces with the most firm-years (ties: the lower code first)."""
    codes, counts = np.unique(clusters, return_counts=True)
    keep = codes[np.lexsort((codes, -counts))[:n]]
    rows = np.isin(clusters, keep)
    return y[rows], X[rows], fe[rows], clusters[rows]


def wild_seeds(key: jax.Array, weights: tuple[str, ...]) -> list[int]:
    """One int seed per weight type from a replication's key (its wild draws)."""
    return [int(jax.random.randint(jax.random.fold_in(key, i), (), 0, 2**31 - 1)) for i in range(len(weights))]


@dataclass(frozen=True)
class FewClusterFE(Estimator):
    """Province-level inference on b1 (module docstring)."""

    name: str = "fc"
    weights: tuple[str, ...] = ("rademacher", "webb")
    wild_reps: int = 399
    controls: tuple[str, ...] = CONTROLS
    level: float = 0.95
    n_provinces: int | None = None  # keep the firms of the n provinces with most firm-years
    host = True

    def __post_init__(self) -> None:
        bad = [w for w in self.weights if w not in WILD_WEIGHTS]
        if bad:
            raise ConfigError(f"estimator {self.name!r}: weights must be a list of {WILD_WEIGHTS}, got {list(self.weights)}")
        if self.n_provinces is not None and not 2 <= self.n_provinces <= 31:
            raise ConfigError(f"estimator {self.name!r}: n_provinces must be 2..31, got {self.n_provinces}")
        if self.wild_reps < 19:
            raise ConfigError(f"estimator {self.name!r}: wild_reps must be >= 19, got {self.wild_reps}")
        unknown = [c for c in self.controls if c not in CONTROLS]
        if unknown:
            raise ConfigError(f"estimator {self.name!r}: unknown controls {unknown}; the panel has {CONTROLS}")

    @classmethod
    def from_config(cls, name: str, spec: Mapping[str, Any], level: float) -> FewClusterFE:
        """``weights`` (one name or a list; default ``[rademacher, webb]``), ``wild_reps``
        (default 399), ``controls``; the interval's level is the study's."""
        spec = _take(name, spec, ("weights", "wild_reps", "controls", "n_provinces"))
        n_prov = spec.get("n_provinces")
        return cls(name=name, weights=_as_tuple(spec.get("weights", ["rademacher", "webb"])),
                   wild_reps=_convert(name, "wild_reps", spec.get("wild_reps", 399), int), level=level,
                   n_provinces=None if n_prov is None else _convert(name, "n_provinces", n_prov, int),
                   **({"controls": tuple(spec["controls"])} if spec.get("controls") is not None else {}))

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(f"{self.name}/{v}" for v in inference_labels(self.weights))

    def spec(self) -> dict:
        spec = {"kind": "few_clusters", "name": self.name, "weights": list(self.weights),
                "wild_reps": self.wild_reps, "controls": list(self.controls), "level": self.level}
        return spec if self.n_provinces is None else spec | {"n_provinces": self.n_provinces}

    def check(self, params: FirmPanelParams) -> None:
        if params.group_by is not None:
            raise ConfigError(f"estimator {self.name!r} estimates a common b1; the DGP has group_by={params.group_by!r}")

    def truth(self, params: FirmPanelParams) -> dict[str, jax.Array]:
        return {"b1": jnp.asarray(params.b1)}

    def run(self, panel, params, key):
        y, X, fe, clusters = firm_panel_design(panel, self.controls)
        if self.n_provinces is not None:
            y, X, fe, clusters = largest_provinces(self.n_provinces, y, X, fe, clusters)
        b1 = float(params.b1)
        try:
            out = slope_inference(y, X, fe, clusters, 0, b1, wild_seeds(key, self.weights),
                                  weights=self.weights, wild_reps=self.wild_reps, level=self.level)
        except (ValueError, np.linalg.LinAlgError):  # a degenerate panel (e.g. the cache's tiny probe)
            out = empty_inference(self.weights)
        return out | {"b1_true": b1}

    def records(self, raw, level):
        return inference_records(self.name, "b1", raw, raw["b1_true"], self.weights, level)

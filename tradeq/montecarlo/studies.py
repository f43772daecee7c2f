"""A study from its config: the grid of DGP settings and the estimators.

Config (``conf/study/<name>.yaml``, keys under ``study``)::

    name: fe_coverage
    reps: 1000
    n_firms: 2000          # defaults of the panel size (any may be a grid axis)
    n_years: 10
    n_obs: null
    dgp: {error: iid}      # FirmPanelParams overrides shared by every setting
    grid:                  # axes; every combination is a setting (a scalar is one value)
      n_firms: [500, 2000, 10000]
      error: [iid, heteroskedastic, ar1, province_year]
    points: []             # optional list of dicts, each crossed with the grid
    estimators:            # name -> spec (kind: a key of tradeq.montecarlo.registry.ESTIMATORS)
      fe: {kind: fe, vcov: [iid, hc1, cluster, twoway]}

Axis names are ``n_firms``, ``n_years``, ``n_obs``, any :class:`FirmPanelParams` field, or
``turning_point``: with it, ``b1 = -2 b2 turning_point`` (the curve keeps its peak while
``b2`` moves; ``b2 = 0`` gives ``b1 = 0``, no effect at all). A misspelt name is an error.

A :class:`Setting` is one DGP point; its :meth:`Setting.id` hashes everything that
determines the simulated panels, so it names the setting's random stream and its cached
result file.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tradeq.dgp.firm_panel import FirmPanelParams
from tradeq.errors import ConfigError

from .config import StudyConfig, study_config
from .estimators import Estimator
from .registry import make_estimator

SIZE_KEYS = ("n_firms", "n_years", "n_obs")
DERIVED_KEYS = ("turning_point",)


def _jsonable(v: Any) -> Any:
    if isinstance(v, tuple):
        return [_jsonable(x) for x in v]
    if isinstance(v, float):
        return repr(v)  # exact round trip: 0.1 and 0.1000000000000001 hash differently
    return v


def stable_hash(obj: Any, n: int = 16) -> str:
    """First ``n`` hex digits of the SHA-256 of ``obj``'s canonical JSON."""
    text = json.dumps(obj, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:n]


@dataclass(frozen=True)
class Setting:
    """One point of the grid: DGP parameters and panel size; ``coords`` its grid labels."""

    params: FirmPanelParams
    n_firms: int
    n_years: int
    n_obs: int | None = None
    coords: tuple[tuple[str, Any], ...] = ()

    def record(self) -> dict:
        """What determines the panels (JSON-ready, floats exact)."""
        return {"n_firms": self.n_firms, "n_years": self.n_years, "n_obs": self.n_obs,
                "params": {k: _jsonable(v) for k, v in self.params.to_dict().items()}}

    def id(self) -> str:
        """16 hex digits naming this setting's random stream and result file."""
        return stable_hash(self.record())

    def label(self) -> str:
        return ", ".join(f"{k}={v}" for k, v in self.coords) or self.id()


@dataclass(frozen=True)
class Study:
    """Settings × estimators × ``reps`` replications."""

    name: str
    settings: tuple[Setting, ...]
    estimators: tuple[Estimator, ...]
    reps: int
    level: float = 0.95
    valid: Mapping[str, Sequence[str]] | None = None
    valid_by: str = "error"
    plots: tuple = ()


def _as_list(v: Any) -> list:
    if isinstance(v, (list, tuple)):
        return list(v)
    return [v]


def expand_grid(grid: Mapping[str, Any] | None, points: Sequence[Mapping[str, Any]] | None = None) -> list[dict]:
    """Every combination of the grid axes (in config order, last axis fastest), each
    crossed with every point; ``[{}]`` when both are empty."""
    grid = dict(grid or {})
    axes = [(k, _as_list(v)) for k, v in grid.items()]
    combos = [dict(zip([k for k, _ in axes], vals)) for vals in itertools.product(*[v for _, v in axes])]
    pts = [dict(p) for p in (points or [])] or [{}]
    out = []
    for c in combos:
        for p in pts:
            clash = set(c) & set(p)
            if clash:
                raise ConfigError(f"study.points repeat grid axes {sorted(clash)}")
            out.append({**c, **p})
    return out


def make_setting(values: Mapping[str, Any], *, dgp: Mapping[str, Any] | None, n_firms: int, n_years: int,
                 n_obs: int | None, coord_keys: Sequence[str]) -> Setting:
    """A :class:`Setting` from one grid point ``values`` on top of the shared ``dgp``."""
    values = dict(values)
    size = {"n_firms": n_firms, "n_years": n_years, "n_obs": n_obs}
    for k in SIZE_KEYS:
        if k in values:
            size[k] = values.pop(k)
    params = dict(dgp or {})
    tp = values.pop("turning_point", params.pop("turning_point", None))
    params.update(values)
    if tp is not None:
        b2 = float(params.get("b2", FirmPanelParams.b2))
        params["b1"] = -2.0 * b2 * float(tp)
    # Numeric DGP fields as floats: YAML's 0 and 0.0 must give the same setting (hash and
    # compiled function: an int leaf would be a different abstract type).
    numeric = {f.name for f in dataclasses.fields(FirmPanelParams) if not f.metadata.get("static")}
    params = {k: (float(v) if k in numeric and isinstance(v, int) and not isinstance(v, bool) else v)
              for k, v in params.items()}
    try:
        p = FirmPanelParams.from_dict(params)
    except (ValueError, TypeError) as err:
        raise ConfigError(f"study setting {values}: {err}") from None
    n_f, n_y = int(size["n_firms"]), int(size["n_years"])
    n_o = None if size["n_obs"] is None else int(size["n_obs"])
    if n_f < 2 or n_y < 2:
        raise ConfigError(f"study setting {values}: need at least 2 firms and 2 years")
    if n_o is not None and not n_f <= n_o <= n_f * n_y:
        raise ConfigError(f"study setting {values}: n_obs must lie in [n_firms, n_firms * n_years]")
    merged = {**size, **dict(dgp or {}), **values}
    if tp is not None:
        merged["turning_point"] = tp
    coords = tuple((k, merged.get(k)) for k in coord_keys)
    return Setting(params=p, n_firms=n_f, n_years=n_y, n_obs=n_o, coords=coords)


def _settings(cfg: StudyConfig, base_dgp: Mapping[str, Any]) -> list[Setting]:
    """Every setting of the grid (× points), each on top of ``base_dgp`` and ``cfg.dgp``."""
    values = expand_grid(cfg.grid, cfg.points)
    # Coordinates: every key that a grid axis or a point sets.
    coord_keys = list(cfg.grid)
    for p in cfg.points:
        coord_keys += [k for k in p if k not in coord_keys]
    dgp = {**dict(base_dgp), **cfg.dgp}
    return [make_setting(v, dgp=dgp, n_firms=cfg.n_firms, n_years=cfg.n_years, n_obs=cfg.n_obs,
                         coord_keys=coord_keys) for v in values]


def _check_range(name: str, value: Any, ok: bool, rule: str) -> None:
    if not ok:
        raise ConfigError(f"study.{name} must be {rule}, got {value!r}")


def check_study_config(cfg: StudyConfig) -> None:
    """Range checks of the typed config: replications, level, batch sizes, workers."""
    _check_range("reps", cfg.reps, cfg.reps >= 2, "at least 2")
    _check_range("level", cfg.level, 0.0 < cfg.level < 1.0, "in (0, 1)")
    _check_range("chunk_size", cfg.chunk_size, cfg.chunk_size is None or cfg.chunk_size >= 1, "null or at least 1")
    _check_range("workers", cfg.workers, cfg.workers is None or cfg.workers >= 1, "null or at least 1")
    _check_range("max_cells", cfg.max_cells, cfg.max_cells >= 1, "at least 1")
    if not cfg.estimators:
        raise ConfigError("study.estimators is empty")


def build_study(cfg: StudyConfig | Mapping[str, Any], base_dgp: Mapping[str, Any] | None = None) -> Study:
    """The :class:`Study` of a ``study`` config (see the module docstring); ``base_dgp``:
    FirmPanelParams overrides under the study's own ``dgp`` (``data.dgp``,
    :func:`tradeq.montecarlo.spec.study_spec`)."""
    cfg = study_config(cfg)
    check_study_config(cfg)
    settings = _settings(cfg, base_dgp or {})
    estimators = tuple(make_estimator(n, s, cfg.level) for n, s in cfg.estimators.items())
    labels = [lab for e in estimators for lab in e.labels]
    if len(set(labels)) != len(labels):
        raise ConfigError(f"estimator labels repeat: {labels}")
    if sum(e.draw_truth is not None for e in estimators) > 1:
        raise ConfigError("at most one estimator may draw the truth from a prior")
    for s in settings:
        for e in estimators:
            e.check(s.params)
    return Study(name=cfg.name, settings=tuple(settings), estimators=estimators, reps=cfg.reps, level=cfg.level,
                 valid=cfg.valid, valid_by=cfg.valid_by, plots=tuple(dict(p) for p in cfg.plots))


def assumptions_hold(study: Study, setting: Setting, label: str) -> bool | None:
    """Whether ``label``'s interval assumptions hold in ``setting`` according to
    ``study.valid`` (``{<value of valid_by>: [labels]}``); None when the study says nothing."""
    if not study.valid:
        return None
    value = getattr(setting.params, study.valid_by, None)
    if value is None:
        value = dict(setting.coords).get(study.valid_by)
    return label in list(study.valid.get(str(value), []) or [])

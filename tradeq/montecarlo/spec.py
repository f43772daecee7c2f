"""A study's config turned, once, into a frozen and validated :class:`StudySpec`.

``simulate.py`` calls :func:`study_spec` at the entry; everything after it (the engine, the
outputs) reads the spec, never the config. Errors are :class:`tradeq.errors.ConfigError`
naming the setting.

The DGP of a study's settings is built in layers, each on top of the last:

1. the calibrated defaults (:class:`~tradeq.dgp.firm_panel.FirmPanelParams`);
2. ``data.dgp.*`` -- the same keys that shape ``simulate.py``'s single panel;
3. ``study.dgp.*``, the study's shared overrides;
4. the grid axes and points, per setting.

A ``data.dgp`` key that the study also sets (in ``study.dgp``, a grid axis or a point) to
another value is an error, not silently overridden: the message names both places. The
panel size of a study is ``study.n_firms`` / ``n_years`` / ``n_obs`` (or grid axes); a
``data.n_firms`` (``n_years``, ``n_obs``) other than the default, or ``data=file``, would be
ignored by a study and is an error too.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from omegaconf import DictConfig, OmegaConf

from tradeq.config import value
from tradeq.dgp.firm_panel import FirmPanelParams
from tradeq.errors import ConfigError
from tradeq.specs import SyntheticFirmsSpec

from .config import StudyConfig, study_config
from .studies import Study, build_study


@dataclass(frozen=True)
class StudySpec:
    """A validated study and how to run it (see :func:`study_spec`).

    ``study``: settings × estimators × replications; ``seed``; ``chunk_size``, ``max_cells``,
    ``workers``, ``batch`` (None: the platform's default), ``results_dir`` (None: the run
    folder's ``results/``), ``resume``, ``progress``: as in
    :class:`~tradeq.montecarlo.config.StudyConfig`.
    """

    study: Study
    seed: int
    chunk_size: int | None = None
    max_cells: int = 1_000_000
    workers: int | None = None
    batch: str | None = None
    results_dir: str | None = None
    resume: bool = True
    progress: bool = True


def _plain(cfg: Any) -> dict[str, Any]:
    if cfg is None:
        return {}
    if isinstance(cfg, DictConfig):
        return OmegaConf.to_container(cfg, resolve=True)
    return dict(cfg)


def _normalised(v: Any) -> Any:
    return tuple(v) if isinstance(v, list) else v


def dgp_overrides(data_dgp: Mapping[str, Any] | None) -> dict[str, Any]:
    """The ``data.dgp`` keys whose values differ from :class:`FirmPanelParams`' defaults."""
    defaults = FirmPanelParams().to_dict()
    data_dgp = _plain(data_dgp)
    unknown = sorted(set(data_dgp) - set(defaults))
    if unknown:
        raise ConfigError(f"data.dgp: unknown FirmPanelParams field(s) {unknown}")
    return {k: _normalised(v) for k, v in data_dgp.items() if _normalised(v) != defaults[k]}


def _study_sets(cfg: StudyConfig) -> dict[str, tuple[str, list]]:
    """DGP key -> (where the study sets it, the values it gives it)."""
    sets: dict[str, tuple[str, list]] = {k: ("study.dgp", [v]) for k, v in cfg.dgp.items()}
    for k, v in cfg.grid.items():
        sets[k] = (f"study.grid.{k}", list(v) if isinstance(v, (list, tuple)) else [v])
    for p in cfg.points:
        for k, v in p.items():
            where, values = sets.get(k, (f"study.points[].{k}", []))
            sets[k] = (where, values + [v])
    if "turning_point" in sets:  # b1 = -2 b2 turning_point
        sets.setdefault("b1", (sets["turning_point"][0], [None]))
    return sets


def base_dgp(data_cfg: Mapping[str, Any] | DictConfig | None, cfg: StudyConfig) -> dict[str, Any]:
    """The study's layer 2 (module docstring): ``data.dgp``'s overrides, checked against the study."""
    data = _plain(data_cfg)
    if not data:
        return {}
    if "path" in data:  # data=file (the structured type does not survive a launcher's pickling)
        raise ConfigError("data=file: a study simulates its panels (data=synthetic_firms); drop the data override")
    defaults = SyntheticFirmsSpec()
    for key in ("n_firms", "n_years", "n_obs"):
        if key in data and data[key] != getattr(defaults, key):
            raise ConfigError(f"data.{key}={data[key]} sizes simulate.py's single panel, not a study's: "
                              f"set study.{key} (or a study.grid.{key} axis)")
    overrides = dgp_overrides(data.get("dgp"))
    for k, (where, values) in _study_sets(cfg).items():
        if k in overrides and any(_normalised(v) != overrides[k] for v in values):
            raise ConfigError(f"data.dgp.{k}={overrides[k]!r} conflicts with {where}: a study's settings take "
                              f"data.dgp, then study.dgp, then the grid; set {k} in one place")
    return overrides


def _resolved(cfg: StudyConfig) -> dict[str, Any]:
    """The run options of ``cfg``, as plain values."""
    return {"chunk_size": cfg.chunk_size, "max_cells": int(cfg.max_cells), "workers": cfg.workers,
            "batch": None if cfg.batch is None else value(cfg.batch), "results_dir": cfg.results_dir,
            "resume": bool(cfg.resume), "progress": bool(cfg.progress)}


def study_spec(cfg_study: StudyConfig | Mapping[str, Any] | DictConfig,
               data_cfg: Mapping[str, Any] | DictConfig | None = None, seed: int = 0) -> StudySpec:
    """The :class:`StudySpec` of a ``study`` config (with the run's ``data`` config, whose
    ``dgp`` is the study's base DGP; module docstring) and ``seed``."""
    cfg = study_config(cfg_study)
    if cfg.name == "none":
        raise ConfigError("study=none is no study: name one (conf/study/<name>.yaml)")
    study = build_study(cfg, base_dgp(data_cfg, cfg))
    return StudySpec(study=study, seed=int(seed), **_resolved(cfg))

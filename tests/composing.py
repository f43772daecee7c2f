"""The one way the tests compose the project's Hydra configs, as the entry points do
(``version_base="1.3"``, the structured schemas registered first).

Import it from any test (``tests/`` is on the path through its ``conftest.py``), or use the
``compose_config`` fixture of ``tests/conftest.py``.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from hydra import compose, initialize_config_dir
from omegaconf import DictConfig

from tradeq.config import register_configs

CONF = Path(__file__).resolve().parents[1] / "conf"


def compose_config(config_name: str = "estimate", overrides: Iterable[str] = (), *,
                   return_hydra_config: bool = False) -> DictConfig:
    """``conf/<config_name>.yaml`` composed with ``overrides`` (no run folder, no job)."""
    register_configs()
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        return compose(config_name=config_name, overrides=list(overrides), return_hydra_config=return_hydra_config)

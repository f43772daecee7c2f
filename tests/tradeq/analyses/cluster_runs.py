"""Helpers for the cluster-study tests: one in-process run of estimate.py (Hydra's compose API and the
same ``run`` the command calls), and the simulated province panel the runs use."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from composing import compose_config

from tradeq.config import register_configs

ROOT = Path(__file__).resolve().parents[3]
CONF = ROOT / "conf"
SEED = 20240601
CENTRAL = "model.sample=\"region == 'Central'\""
register_configs()


def config(*overrides):
    return compose_config("estimate", overrides)


def run(out: Path, *overrides):
    """``python estimate.py <overrides>`` into ``out``: (report, table.md, estimates.csv or None)."""
    import estimate
    from tradeq.specs import estimate_spec

    cfg = config(*overrides)
    report = estimate.run(estimate_spec(cfg), out, cfg)
    est = pd.read_csv(out / "estimates.csv") if (out / "estimates.csv").exists() else None
    return report, (out / "table.md").read_text(), est


def read_json(out: Path, name: str) -> dict:
    return json.loads((out / name).read_text())


def province_panel(**dgp):
    from tradeq.dgp.province_panel import ProvincePanelParams, simulate_province_panel

    return simulate_province_panel(ProvincePanelParams(**dgp), seed=SEED)

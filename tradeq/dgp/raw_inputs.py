"""The three raw inputs of :func:`tradeq.raw.pipeline.build_panel`, simulated together.

One firm population feeds the register (:mod:`tradeq.dgp.raw_firms`) and the customs
records (:mod:`tradeq.dgp.raw_customs`); the price indices (:mod:`tradeq.dgp.raw_prices`)
cover the register's provinces and years. :func:`write_raw_inputs` writes them as files in
the formats those modules document, beside the truth, for users to open and to feed back.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from tradeq.atomic import write_json, write_with
from tradeq.dgp.raw_customs import CustomsParams, CustomsTruth, simulate_customs
from tradeq.dgp.raw_firms import simulate_register
from tradeq.dgp.raw_prices import PriceTruth, simulate_price_indices


@dataclass(frozen=True)
class RawInputs:
    customs: pd.DataFrame
    register: pd.DataFrame
    prices: pd.DataFrame
    customs_truth: CustomsTruth
    price_truth: PriceTruth


def simulate_raw_inputs(n_records: int = 200_000, *, seed: int = 0, firms_per_record: float = 1 / 50,
                        customs: CustomsParams | None = None) -> RawInputs:
    """Customs records (about ``n_records``), the register of ``n_records * firms_per_record``
    firms, and the price indices, all from ``seed``."""
    register, firms = simulate_register(max(2_000, int(n_records * firms_per_record)), seed=seed)
    records, truth = simulate_customs(firms.frame, n_records, seed=seed, params=customs or CustomsParams())
    prices, price_truth = simulate_price_indices(years=sorted(register["year"].unique()), seed=seed)
    return RawInputs(records.drop(columns="line"), register, prices, truth, price_truth)


def write_raw_inputs(folder: str | Path, inputs: RawInputs, fmt: str = "parquet") -> dict:
    """``customs``, ``register``, ``prices`` as ``.parquet`` or ``.csv`` in ``folder`` and
    ``truth.json`` (injected defects) and ``firm_year_truth`` (true TQ); returns the paths."""
    if fmt not in ("parquet", "csv"):
        raise ValueError(f"fmt must be 'parquet' or 'csv'; got {fmt!r}")
    folder = Path(folder)
    paths = {}
    frames = {"customs": inputs.customs, "register": inputs.register, "prices": inputs.prices,
              "firm_year_truth": inputs.customs_truth.firm_year}
    for name, frame in frames.items():
        path = folder / f"{name}.{fmt}"
        if fmt == "parquet":
            write_with(path, lambda p, f=frame: f.to_parquet(p, index=False))
        else:
            write_with(path, lambda p, f=frame: f.to_csv(p, index=False))
        paths[name] = path
    defects = {k: v for k, v in inputs.customs_truth.defects.items()}
    paths["truth"] = write_json(folder / "truth.json", {"defects": json.loads(json.dumps(defects, default=int))})
    return paths

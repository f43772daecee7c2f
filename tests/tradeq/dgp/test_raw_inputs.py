"""The three raw inputs simulated together and written as files users can open."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from tradeq.dgp.raw_inputs import simulate_raw_inputs, write_raw_inputs


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_written_files_round_trip(tmp_path, fmt):
    inputs = simulate_raw_inputs(8_000, seed=6)
    paths = write_raw_inputs(tmp_path, inputs, fmt=fmt)
    read = pd.read_parquet if fmt == "parquet" else (lambda p: pd.read_csv(p, dtype={"hs8": str, "industry": str}))
    customs = read(paths["customs"])
    assert len(customs) == len(inputs.customs) and customs["hs8"].str.fullmatch(r"\d{8}").all()
    assert set(read(paths["register"])["province"]) <= set(read(paths["prices"])["province"])
    assert json.loads(paths["truth"].read_text())["defects"]["records"] == len(customs)
    with pytest.raises(ValueError, match="fmt"):
        write_raw_inputs(tmp_path, inputs, fmt="xlsx")

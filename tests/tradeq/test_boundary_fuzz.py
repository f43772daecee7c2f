"""Property-based fuzzing of the boundary: any formula and any file give a result or a
:class:`ConfigError`/:class:`DataError` (one ``error:`` line), never another exception."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from omegaconf import OmegaConf

from tradeq import pipeline
from tradeq.errors import TradeqError
from tradeq.panel import Panel, load_file_panel, validate_panel

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

TOKENS = ["y", "x", "z", "g", "f", "nosuch", "i.g", "~", "|", "+", "-", ":", "*", "**", "^", "(", ")", "2", "0",
          "1", "I(", "C(", "np.log(", "np.exp(", "foo(", ",", " ", "  ", ".", "'", "=", "[", "]", "/", "%", "é"]


def small_panel() -> Panel:
    rng = np.random.default_rng(0)
    n = 40
    frame = pd.DataFrame({"y": rng.normal(size=n), "x": rng.uniform(0.5, 2, n), "z": rng.normal(size=n),
                          "g": np.repeat(["a", "b", "c", "d"], n // 4), "f": np.tile(np.arange(8), n // 8)})
    frame.loc[3, "z"] = 0.0
    return Panel(frame=frame, source="fuzz", id=None, time=None)


PANEL = small_panel()


def build(formula: str, vcov: str = "hc1"):
    cfg = OmegaConf.create({"formula": formula, "vcov": vcov, "cluster": None})
    return pipeline.build_design(PANEL, cfg)


@FAST
@given(st.tuples(st.sampled_from(["", "y ~ ", "y ~ x", "~"]), st.lists(st.sampled_from(TOKENS), max_size=14))
       .map(lambda parts: parts[0] + "".join(parts[1])))
def test_any_token_formula_builds_or_is_a_user_error(formula):
    try:
        design = build(formula)
    except TradeqError:
        return
    assert design.n > 0 and design.X.shape[0] == design.n


@FAST
@given(st.text(max_size=40))
def test_any_text_formula_builds_or_is_a_user_error(formula):
    try:
        build(formula)
    except TradeqError:
        pass


@pytest.mark.parametrize("formula", ["|~:", "y ~ C(x", "y ~ x | nosuch", "y ~ f(x)", "~ | y"])
def test_found_by_fuzzing(formula):
    with pytest.raises(TradeqError):
        build(formula)


@pytest.mark.parametrize("formula", ["y ~ x", "np.log(x) ~ z + I(z**2) | g", "y ~ x:z + C(g) | f", "y ~ 1",
                                     "y ~ x | g^f", "y ~ x - 1"])
def test_valid_formulas_still_build(formula):
    assert build(formula).n == 40


SUFFIXES = [".csv", ".parquet", ".dta", ".txt", ""]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(content=st.one_of(st.binary(max_size=300), st.text(max_size=300).map(str.encode),
                         st.lists(st.lists(st.sampled_from(["1", "2.5", "", "n/a", "x", "NA", "inf", "-"]),
                                           min_size=1, max_size=5), min_size=1, max_size=6)
                         .map(lambda rows: ("a,b,c\n" + "\n".join(",".join(r) for r in rows)).encode())),
       suffix=st.sampled_from(SUFFIXES))
def test_any_file_loads_or_is_a_data_error(tmp_path, content, suffix):
    path = tmp_path / f"data{suffix}"
    path.write_bytes(content)
    try:
        panel = load_file_panel(path, {}, None, None)
        validate_panel(panel, numeric=[c for c in ["a", "b"] if c in panel.frame.columns])
    except TradeqError:
        pass

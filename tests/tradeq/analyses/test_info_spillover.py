"""``model=info_spillover``: every ``experiment=spillover_*`` runs from a clean checkout on the simulated
raw data (the whole pipeline: the peer measures and quality are the pipeline's) and recovers its
truth; the columns are the FE analysis's own fits; clustering is by industry-year and the note
says why; bad settings are one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from composing import compose_config

from tradeq.config import register_configs
from tradeq.errors import ConfigError
from tradeq.specs import estimate_spec

ROOT = Path(__file__).resolve().parents[3]
CONF = ROOT / "conf"
CONTROLS = {"scale", "age", "roa", "rdebt", "fic"}
register_configs()


def compose_cfg(*overrides):
    return compose_config("estimate", overrides)


def run(tmp_path, *overrides, cache=None):
    import estimate

    cfg = compose_cfg(*overrides, f"data.cache_dir={cache or tmp_path / 'cache'}")
    out = tmp_path / "run"
    estimate.run(estimate_spec(cfg), out, cfg)
    est = pd.read_csv(out / "estimates.csv")
    est["z"] = (est["estimate"] - est["truth"]) / est["std_error"]
    return out, est, (out / "table.md").read_text()


def coef(est, column, term):
    row = est[(est["column"] == column) & (est["term"] == term)]
    assert len(row) == 1, (column, term)
    return row.iloc[0]


#: experiment -> (column, term) pairs whose estimates must be positive and significant (the claim).
CLAIMS = {
    "spillover_baseline": [("baseline", "ln_peer_scale"), ("baseline", "ln_peer_diversity")],
    "spillover_density": [("density", "scale_x_density"), ("density", "diversity_x_density")],
    "spillover_within_firm": [("within_firm", "ln_own_diversity")],
    "spillover_network": [("network", "ln_network_scale"), ("network", "ln_network_diversity")],
    "spillover_size": [("size:large", "ln_peer_scale")],
    "spillover_intensity": [("intensity:technology", "ln_peer_scale")],
    "spillover_destination": [("destination:high", "ln_peer_scale")],
    "spillover_robustness": [("alternative", "ln_peer_sum"), ("city", "ln_city_peer_scale")],
    "spillover_general_trade": [("baseline", "ln_peer_scale"), ("baseline", "ln_peer_diversity")],
}
#: experiment -> (stronger group, weaker group) of the heterogeneity claims.
STRONGER = {"spillover_size": ("size:large", "size:small"),
            "spillover_intensity": ("intensity:technology", "intensity:labour"),
            "spillover_destination": ("destination:high", "destination:low")}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(CLAIMS))
def test_experiment_recovers_its_truth(name, tmp_path):
    out, est, md = run(tmp_path, f"experiment={name}")
    known = est[est["truth"].notna()]
    peer = known[~known["term"].isin(CONTROLS)]
    assert len(peer) >= 2, name
    bad = known[known["z"].abs() >= 3.5]
    assert bad.empty, bad[["column", "term", "estimate", "std_error", "truth", "z"]].to_string()
    for column, term in CLAIMS[name]:
        row = coef(est, column, term)
        assert row["estimate"] > 2 * row["std_error"], (column, term, row["estimate"], row["std_error"])
    if name in STRONGER:
        hi, lo = STRONGER[name]
        for term in ("ln_peer_scale", "ln_peer_diversity"):
            assert coef(est, hi, term)["estimate"] > coef(est, lo, term)["estimate"], term
        assert "(truth)" in md
    else:
        assert "| Truth |" in md
    assert (out / "info_spillover.json").is_file() and (out / "attrition.csv").is_file()


@pytest.mark.slow
def test_general_trade_drops_processing_records(tmp_path):
    out, _, _ = run(tmp_path, "experiment=spillover_general_trade", "data.n_records=60000")
    steps = pd.read_csv(out / "attrition.csv").set_index("step")
    assert steps.loc["trade mode not in ['general']", "dropped"] > 0


@pytest.fixture(scope="module")
def default_run(tmp_path_factory):
    return run(tmp_path_factory.mktemp("spill"), "data=raw", "model=info_spillover", "data.n_records=100000")


@pytest.mark.slow
def test_default_clusters_by_industry_year_and_says_why(default_run):
    out, est, md = default_run
    assert (est["vcov"] == "cluster").all()
    n = est["n_clusters"].astype(int)
    assert n.nunique() == 1 and 100 < n.iloc[0] < 400  # 29 industries x 10 years, not thousands of firms
    assert "Standard errors clustered by industry_year" in md and "the peer measures vary at the industry-year" in md
    assert "cluster (industry_year)" in md
    assert list(dict.fromkeys(est["column"])) == ["baseline", "density", "network", "within_firm", "alternative", "city"]
    summary = json.loads((out / "info_spillover.json").read_text())
    centre = summary["centre"]
    panel = pd.read_parquet(out / "panel.parquet")
    assert centre["density"] == pytest.approx(panel["ln_exporters"].mean(), rel=1e-3)


@pytest.mark.slow
def test_each_column_is_the_fe_analysis_on_its_formula(default_run, tmp_path):
    """The baseline column equals ``model=fe`` with the same formula and clusters, to rounding."""
    out, est, _ = default_run
    formula = json.loads((out / "info_spillover.json").read_text())["columns"]["baseline"]["formula"]
    _, fe_est, _ = run(tmp_path, "data=raw", "model=fe", f"model.formula='{formula}'", "model.cluster=industry_year",
                       "data.n_records=100000", cache=out.parent / "cache")
    base = est[est["column"] == "baseline"].reset_index(drop=True)
    np.testing.assert_allclose(base["estimate"], fe_est["estimate"], rtol=1e-12)
    np.testing.assert_allclose(base["std_error"], fe_est["std_error"], rtol=1e-12)


@pytest.mark.parametrize("override, message", [
    ("model.columns=[baseline,spill]", "model.columns=\\[baseline,spill\\]: spill is not one of"),
    ("model.splits=[region]", "model.splits=\\[region\\]: region is not one of size, intensity, destination"),
    ("model.formula='quality ~ scale | firm + year'", "must have model.scale=ln_peer_scale among its regressors"),
    ("model.alternative=[ln_peer_sum]", "model.alternative=\\[ln_peer_sum\\]: names three columns"),
])
def test_bad_settings_are_one_line_errors(override, message):
    with pytest.raises(ConfigError, match=message) as info:
        estimate_spec(compose_cfg("data=raw", "model=info_spillover", override))
    assert "\n" not in str(info.value)


def test_fixed_effects_only(tmp_path):
    import estimate

    cfg = compose_cfg("data=raw", "model=info_spillover", "inference=both", "data.n_records=20000",
                      f"data.cache_dir={tmp_path}")
    with pytest.raises(ConfigError, match="model=info_spillover runs fixed-effects regressions only"):
        estimate.run(estimate_spec(cfg), tmp_path / "run", cfg)

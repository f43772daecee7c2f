"""``model.mediator_fe``: the mediator equation with its own fixed effects (the cluster papers' eq. 3,
province effects only). Its point estimates are pyfixest's, and its cluster bootstrap draws the same
resamples as the core's: with the same FE everywhere it is ``bootstrap_indirect`` exactly, and with province
effects only in the mediator equation each path's draws are a one-equation cluster bootstrap
(``bootstrap_ols``) of that equation on the same resamples."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from cluster_runs import SEED, province_panel, read_json, run

from tradeq.analyses.mediation_fe import bootstrap_with_mediator_fe
from tradeq.errors import ConfigError
from tradeq.models.bootstrap import bootstrap_ols
from tradeq.models.mediation import bootstrap_indirect
from tradeq.models.within import within_transform

pf = pytest.importorskip("pyfixest")
W = ["CX", "HUM", "FDI", "GOV", "INF"]


@pytest.fixture(scope="module")
def frame():
    return province_panel(mediators=("FMA",))[0]


def _raw(frame):
    return {"y": frame["TU"].to_numpy(), "x": frame["IC"].to_numpy(), "m": frame["FMA"].to_numpy(), "x2": None,
            "W": frame[W].to_numpy(), "row_id": np.arange(len(frame))}


def _codes(frame, cols):
    return np.column_stack([pd.factorize(frame[c])[0] for c in cols]).astype(np.int32)


def test_same_fixed_effects_everywhere_is_the_cores_bootstrap(frame):
    labels = frame["province"].to_numpy()
    ours = bootstrap_with_mediator_fe(frame, _raw(frame), ["province", "year"], ["province", "year"], labels,
                                      n_boot=300, key=5)
    Z, _, _ = within_transform(np.column_stack([frame["IC"], frame["FMA"], frame["TU"], frame[W]]),
                               _codes(frame, ["province", "year"]))
    ref = bootstrap_indirect(Z[:, 0], Z[:, 1], Z[:, 2], labels, controls=Z[:, 3:], n_boot=300, key=5)
    for name in ("a", "b", "indirect", "direct", "total"):
        np.testing.assert_allclose(ours.draws[name], ref.draws[name], rtol=1e-9, atol=1e-12)


def test_province_effects_only_in_the_mediator_equation(frame):
    labels = frame["province"].to_numpy()
    ours = bootstrap_with_mediator_fe(frame, _raw(frame), ["province", "year"], ["province"], labels, n_boot=300, key=5)
    prov = _codes(frame, ["province"])
    med, _, _ = within_transform(np.column_stack([frame["FMA"], frame["IC"], frame[W]]), prov)
    a = bootstrap_ols(med[:, 0], med[:, 1:], labels, n_boot=300, key=5)
    years = pd.get_dummies(frame["year"], drop_first=True, dtype=float).to_numpy()
    out, _, _ = within_transform(np.column_stack([frame["TU"], frame["IC"], frame[W], years, frame["FMA"]]), prov)
    b = bootstrap_ols(out[:, 0], out[:, 1:], labels, n_boot=300, key=5)
    np.testing.assert_allclose(ours.draws["a"], a.draws[:, 0], rtol=1e-8)
    np.testing.assert_allclose(ours.draws["b"], b.draws[:, -1], rtol=1e-8)
    np.testing.assert_allclose(ours.draws["indirect"], a.draws[:, 0] * b.draws[:, -1], rtol=1e-8)


def test_the_experiment_follows_the_papers_equations(tmp_path, frame):
    _, md, _ = run(tmp_path, "experiment=clusters_table4_fma", "model.n_boot=300")
    s = read_json(tmp_path, "mediation.json")
    a = pf.feols(f"FMA ~ IC + {' + '.join(W)} | province", data=frame, vcov={"CRV1": "province"})
    b = pf.feols(f"TU ~ IC + FMA + {' + '.join(W)} | province + year", data=frame, vcov={"CRV1": "province"})
    assert s["a"] == pytest.approx(a.coef()["IC"], rel=1e-8) and s["se_a"] == pytest.approx(a.se()["IC"], rel=1e-7)
    assert s["b"] == pytest.approx(b.coef()["FMA"], rel=1e-8) and s["se_b"] == pytest.approx(b.se()["FMA"], rel=1e-7)
    assert s["mediator_fe"] == ["province"] and s["fe"] == ["province", "year"] and s["boot_unit"] == "province"
    assert s["truth"] == {"a": -0.043, "b": -1.69, "indirect": pytest.approx(0.07267)}
    assert "The mediator equation (2) has fixed effects province" in md
    assert "| year FE | YES | NO | YES |  |" in md


def test_no_bayesian_joint_model_with_a_mediator_equation_of_its_own(tmp_path):
    with pytest.raises(ConfigError, match="model.mediator_fe: the Bayesian joint model"):
        run(tmp_path, "experiment=clusters_table4_fma", "model.n_boot=50", "inference=both")


def test_seed_is_the_runs(tmp_path):
    run(tmp_path, "experiment=clusters_table4_ks", "model.n_boot=200", f"seed={SEED}")
    s1 = read_json(tmp_path, "mediation.json")["boot_ci"]
    run(tmp_path / "again", "experiment=clusters_table4_ks", "model.n_boot=200", f"seed={SEED}")
    assert read_json(tmp_path / "again", "mediation.json")["boot_ci"] == s1

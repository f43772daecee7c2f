"""Swamy–Arora random effects against linearmodels 7.1 RandomEffects: Grunfeld (fixture) and
simulated unbalanced panels (live), coefficients, SEs, theta and the variance components."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from tradeq.models.random_effects import random_effects

lm = pytest.importorskip("linearmodels")

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "random_effects" / "grunfeld_linearmodels.json"
RTOL = 1e-8


def grunfeld():
    g = sm.datasets.grunfeld.load_pandas().data
    g["year"] = g["year"].astype(int)
    return g


def unbalanced(seed: int = 0, G: int = 40, su: float = 1.0, shuffle: bool = True) -> pd.DataFrame:
    """G units with 1-9 rows each (singletons included), a time-invariant regressor z, rows shuffled."""
    rng = np.random.default_rng(seed)
    T = rng.integers(1, 10, size=G)
    unit = np.repeat(np.arange(G), T)
    n = unit.size
    t = np.concatenate([np.arange(k) for k in T])
    zeta = rng.normal(size=G)
    x1 = zeta[unit] + rng.normal(size=n)
    x2 = rng.normal(size=n) * 3.0 + 10.0
    z = rng.normal(size=G)[unit]
    y = 1.0 + 0.5 * x1 - 0.2 * x2 + 0.7 * z + su * rng.normal(size=G)[unit] + rng.normal(size=n) * (1 + 0.5 * np.abs(x1))
    frame = pd.DataFrame({"unit": unit, "t": t, "y": y, "const": 1.0, "x1": x1, "x2": x2, "z": z,
                          "grp": unit // 5})
    return frame.sample(frac=1.0, random_state=seed).reset_index(drop=True) if shuffle else frame


def lm_fit(frame, cols, **fit):
    d = frame.set_index(["unit", "t"]).sort_index()
    return lm.RandomEffects(d["y"], d[cols]).fit(**fit), d


def ours(frame, cols, **kw):
    return random_effects(frame["y"], frame[cols], frame["unit"], x_names=cols, **kw)


def assert_matches(r, ref, ref_data):
    np.testing.assert_allclose(r.coef, ref.params.to_numpy(), rtol=RTOL)
    np.testing.assert_allclose(r.se, ref.std_errors.to_numpy(), rtol=RTOL)
    theta = ref.theta["theta"]
    np.testing.assert_allclose(r.theta.sel(unit=theta.index.to_numpy()).values, theta.to_numpy(), rtol=RTOL, atol=1e-12)
    assert r.sigma2_e == pytest.approx(ref.variance_decomposition["Residual"], rel=RTOL)
    assert r.sigma2_u == pytest.approx(ref.variance_decomposition["Effects"], rel=RTOL, abs=1e-12)
    assert r.n_obs == ref_data.shape[0]


def test_grunfeld_against_the_linearmodels_fixture():
    ref = json.loads(FIXTURE.read_text())
    g = grunfeld()
    X = sm.add_constant(g[["value", "capital"]])
    conv = random_effects(g["invest"], X, g["firm"], x_names=X.columns)
    clus = random_effects(g["invest"], X, g["firm"], x_names=X.columns, vcov="cluster")
    np.testing.assert_allclose(conv.coef, ref["coef"], rtol=1e-10)
    np.testing.assert_allclose(conv.se, ref["se_conventional"], rtol=1e-10)
    np.testing.assert_allclose(clus.se, ref["se_cluster_stata"], rtol=1e-10)
    assert conv.sigma2_e == pytest.approx(ref["sigma2_e"], rel=1e-10)
    assert conv.sigma2_u == pytest.approx(ref["sigma2_u"], rel=1e-10)
    theta = pd.Series(ref["theta"])
    np.testing.assert_allclose(conv.theta.sel(unit=theta.index.to_numpy()).values, theta.to_numpy(), rtol=1e-10)
    assert conv.n_units == 11 and clus.n_clusters == 11 and clus.df_t == 10


@pytest.mark.parametrize("fit, kw", [
    (dict(), dict()),
    (dict(cov_type="clustered", cluster_entity=True), dict(vcov="cluster", group_debias=False)),
    (dict(cov_type="clustered", cluster_entity=True, group_debias=True), dict(vcov="cluster")),
    (dict(debiased=False), dict(debiased=False)),
])
def test_unbalanced_panel_with_a_time_invariant_regressor(fit, kw):
    frame = unbalanced(0)
    cols = ["const", "x1", "x2", "z"]
    ref, d = lm_fit(frame, cols, **fit)
    assert_matches(ours(frame, cols, **kw), ref, d)


def test_clusters_other_than_the_units():
    frame = unbalanced(1)
    cols = ["const", "x1", "x2"]
    d = frame.set_index(["unit", "t"]).sort_index()
    ref = lm.RandomEffects(d["y"], d[cols]).fit(cov_type="clustered", clusters=d[["grp"]], group_debias=True)
    r = ours(frame, cols, vcov="cluster", clusters=frame["grp"])
    assert_matches(r, ref, d)
    assert r.n_clusters == frame["grp"].nunique()


def test_model_without_a_constant():
    frame = unbalanced(2)
    cols = ["x1", "x2"]
    ref, d = lm_fit(frame, cols)
    assert_matches(ours(frame, cols), ref, d)


def test_no_unit_effect_truncates_sigma2_u_at_zero_and_gives_pooled_ols():
    # without a unit effect the between variance estimate is negative about half the time
    for seed in range(20):
        frame = unbalanced(seed, su=0.0)
        r = ours(frame, ["const", "x1", "x2", "z"])
        if r.sigma2_u == 0.0:
            break
    else:
        pytest.fail("no seed gave a negative between-variance estimate")
    assert np.all(r.theta.values == 0.0)
    ols = sm.OLS(frame["y"], frame[["const", "x1", "x2", "z"]]).fit()
    np.testing.assert_allclose(r.coef, ols.params.to_numpy(), rtol=1e-10)
    np.testing.assert_allclose(r.se, ols.bse.to_numpy(), rtol=1e-10)
    ref, d = lm_fit(frame, ["const", "x1", "x2", "z"])
    assert_matches(r, ref, d)


def test_row_order_does_not_matter():
    a = unbalanced(3, shuffle=False)
    b = unbalanced(3, shuffle=True)
    cols = ["const", "x1", "x2", "z"]
    ra, rb = ours(a, cols, vcov="cluster"), ours(b, cols, vcov="cluster")
    np.testing.assert_allclose(ra.coef, rb.coef, rtol=1e-12)
    np.testing.assert_allclose(ra.vcov, rb.vcov, rtol=1e-10)


def test_theta_follows_the_unit_sizes():
    r = ours(unbalanced(4), ["const", "x1", "x2"])
    T = r.components.counts
    expected = 1 - np.sqrt(r.sigma2_e / (T * r.sigma2_u + r.sigma2_e))
    np.testing.assert_allclose(r.theta.values, expected, rtol=1e-14)
    assert np.all(np.diff(r.theta.values[np.argsort(T)]) >= -1e-15)  # more rows, more demeaning


def test_result_as_a_dataset():
    ds = ours(unbalanced(5), ["const", "x1", "x2"]).to_dataset()
    assert ds["estimate"].dims == ("term",) and ds["vcov"].dims == ("term", "term_")
    assert ds["theta"].dims == ("unit",) and ds.attrs["method"] == "re"
    assert list(ds.term.values) == ["const", "x1", "x2"]


def test_bad_inputs():
    frame = unbalanced(6)
    with pytest.raises(ValueError, match="rank"):
        random_effects(frame["y"], np.column_stack([frame["x1"], 2 * frame["x1"]]), frame["unit"])
    with pytest.raises(ValueError, match="vcov"):
        ours(frame, ["const", "x1"], vcov="robust")
    with pytest.raises(ValueError, match="at least 2 clusters"):
        ours(frame, ["const", "x1"], vcov="cluster", clusters=np.zeros(len(frame)))
    with pytest.raises(ValueError, match="finite"):
        random_effects(np.r_[np.nan, frame["y"].to_numpy()[1:]], frame[["const", "x1"]], frame["unit"])
    with pytest.raises(ValueError, match="x_names"):
        random_effects(frame["y"], frame[["const", "x1"]], frame["unit"], x_names=["a"])

"""Hausman tests: the classical statistic against a hand computation from linearmodels'
PanelOLS and RandomEffects fits (PD and not-PD difference matrices), the Mundlak regression
form against linearmodels with a clustered variance, and the size of both in a seeded
Monte Carlo with and without clustered errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats

from tradeq.models.hausman import hausman, hausman_from_estimates, mundlak_test, time_varying

lm = pytest.importorskip("linearmodels")

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "random_effects" / "grunfeld_linearmodels.json"


def small_panel(seed: int, G: int = 12, tmax: int = 5, tmin: int = 2) -> pd.DataFrame:
    """A small unbalanced panel (2-5 rows per unit): V_FE - V_RE is often not PD."""
    rng = np.random.default_rng(seed)
    T = rng.integers(tmin, tmax + 1, size=G)
    unit = np.repeat(np.arange(G), T)
    n = unit.size
    x1 = rng.normal(size=G)[unit] + rng.normal(size=n)
    x2 = rng.normal(size=n)
    y = 1 + 0.5 * x1 - 0.2 * x2 + rng.normal(size=G)[unit] + rng.normal(size=n)
    return pd.DataFrame({"unit": unit, "t": np.concatenate([np.arange(k) for k in T]), "y": y,
                         "const": 1.0, "x1": x1, "x2": x2, "z": rng.normal(size=G)[unit]})


def by_hand(frame: pd.DataFrame, cols: list[str], terms: list[str]) -> float:
    d = frame.set_index(["unit", "t"]).sort_index()
    fe = lm.PanelOLS(d["y"], d[["const", *terms]], entity_effects=True).fit()
    re = lm.RandomEffects(d["y"], d[cols]).fit()
    diff = (fe.params[terms] - re.params[terms]).to_numpy()
    V = (fe.cov.loc[terms, terms] - re.cov.loc[terms, terms]).to_numpy()
    return float(diff @ np.linalg.pinv(V) @ diff)


def test_grunfeld_against_the_fixture():
    ref = json.loads(FIXTURE.read_text())
    g = sm.datasets.grunfeld.load_pandas().data
    X = sm.add_constant(g[["value", "capital"]])
    r = hausman(g["invest"], X, g["firm"], x_names=X.columns)
    assert r.statistic == pytest.approx(ref["hausman_by_hand"], rel=1e-10)
    assert r.df == 2 and r.positive_definite and r.note == ""
    assert r.p_value == pytest.approx(stats.chi2.sf(ref["hausman_by_hand"], 2), rel=1e-9)
    assert r.terms == ("value", "capital")


@pytest.mark.parametrize("tmin", [2, 1])  # 1: units with a single row (the FE fit drops them)
def test_unbalanced_panel_with_a_time_invariant_regressor_by_hand(tmin):
    frame = small_panel(1, G=40, tmax=9, tmin=tmin)
    assert (frame.groupby("unit").size() == 1).any() == (tmin == 1)
    r = hausman(frame["y"], frame[["const", "x1", "x2", "z"]], frame["unit"], x_names=["const", "x1", "x2", "z"])
    assert r.terms == ("x1", "x2")  # const and z do not vary within units
    assert r.statistic == pytest.approx(by_hand(frame, ["const", "x1", "x2", "z"], ["x1", "x2"]), rel=1e-8)


@pytest.mark.parametrize("seed, negative", [(3, False), (6, True)])
def test_not_positive_definite_difference_uses_the_generalized_inverse(seed, negative):
    frame = small_panel(seed)
    cols = ["const", "x1", "x2"]
    r = hausman(frame["y"], frame[cols], frame["unit"], x_names=cols)
    assert not r.positive_definite and "not positive definite" in r.note and "rank 2 of 2" in r.note
    assert (r.eigenvalues < 0).sum() == 1 and r.rank == 2
    assert r.statistic == pytest.approx(by_hand(frame, cols, ["x1", "x2"]), rel=1e-8)
    assert (r.statistic < 0) == negative
    assert np.isnan(r.p_value) == negative


def test_singular_difference_has_reduced_rank():
    d = np.array([1.0, 2.0, 0.5])
    V = np.diag([2.0, 1.0, 0.0])  # the third contrast has no variance
    r = hausman_from_estimates(d, V + np.eye(3), np.zeros(3), np.eye(3), ["a", "b", "c"])
    assert r.rank == 2 and r.df == 2 and not r.positive_definite
    assert r.statistic == pytest.approx(1 / 2 + 4 / 1, rel=1e-14)
    assert r.p_value == pytest.approx(stats.chi2.sf(4.5, 2), rel=1e-12)


def test_time_varying_columns():
    frame = small_panel(2)
    np.testing.assert_array_equal(time_varying(frame[["const", "x1", "z", "x2"]].to_numpy(), frame["unit"]),
                                  [False, True, False, True])
    with pytest.raises(ValueError, match="no regressor varies"):
        hausman(frame["y"], frame[["const", "z"]], frame["unit"])


def test_mundlak_coefficients_on_x_are_the_fe_estimates_and_the_wald_matches_linearmodels():
    frame = small_panel(4, G=40, tmax=9)
    cols = ["const", "x1", "x2", "z"]
    r = mundlak_test(frame["y"], frame[cols], frame["unit"], x_names=cols)
    assert r.terms == ("mean(x1)", "mean(x2)")
    frame = frame.assign(**{"mean(x1)": frame.groupby("unit").x1.transform("mean"),
                            "mean(x2)": frame.groupby("unit").x2.transform("mean")})
    d = frame.set_index(["unit", "t"]).sort_index()
    aug = cols + ["mean(x1)", "mean(x2)"]
    re = lm.RandomEffects(d["y"], d[aug]).fit(cov_type="clustered", cluster_entity=True, group_debias=True)
    fe = lm.PanelOLS(d["y"], d[["const", "x1", "x2"]], entity_effects=True).fit()
    np.testing.assert_allclose(re.params[["x1", "x2"]], fe.params[["x1", "x2"]], rtol=1e-9)
    means = ["mean(x1)", "mean(x2)"]
    xi = re.params[means].to_numpy()
    W = float(xi @ np.linalg.solve(re.cov.loc[means, means].to_numpy(), xi))
    np.testing.assert_allclose(r.difference, xi, rtol=1e-8)
    assert r.statistic == pytest.approx(W, rel=1e-8)
    assert r.p_value == pytest.approx(stats.chi2.sf(W, 2), rel=1e-7)
    assert r.f_df == (2, 39) and r.f_statistic == pytest.approx(W / 2, rel=1e-8)
    assert r.f_p_value == pytest.approx(stats.f.sf(W / 2, 2, 39), rel=1e-7)
    assert r.to_dataset().attrs["method"] == "mundlak"


# ------------------------------------------------------------------------------ size

def size_panel(rng, G: int, T: int, clustered: bool):
    """H0 holds (u_i independent of x). ``clustered``: the unit effect's sd grows with |x's unit
    level| and e_it is AR(1) (rho 0.5) -- errors correlated within units in a way the
    conventional RE variance does not describe, so RE is not efficient."""
    unit = np.repeat(np.arange(G), T)
    zeta = rng.normal(size=G)
    x1 = (zeta[:, None] + rng.normal(size=(G, T))).ravel()
    x2 = rng.normal(size=G * T)
    u = rng.normal(size=G) * (np.exp(np.abs(zeta) - 1.0) if clustered else 1.0)
    rho = 0.5 if clustered else 0.0
    z = rng.normal(size=(G, T))
    e = np.empty_like(z)
    e[:, 0] = z[:, 0]
    for t in range(1, T):
        e[:, t] = rho * e[:, t - 1] + np.sqrt(1 - rho ** 2) * z[:, t]
    y = 1 + 0.5 * x1 - 0.3 * x2 + u[unit] + e.ravel()
    return y, np.column_stack([np.ones(G * T), x1, x2]), unit


@pytest.mark.slow
@pytest.mark.parametrize("clustered", [False, True])
def test_size_classical_versus_mundlak(clustered):
    # 500 panels of 200 units x 5 years; MC SE of a 5% rejection rate = 0.0097.
    # Measured (seed 20240): iid errors classical 0.064, Mundlak 0.060 (F form 0.060);
    # clustered errors classical 0.244, Mundlak 0.056 (F form 0.048).
    rng = np.random.default_rng(20240)
    R, alpha = 500, 0.05
    mcse = np.sqrt(alpha * (1 - alpha) / R)
    rejections = np.zeros((R, 3), dtype=bool)
    for r in range(R):
        y, X, unit = size_panel(rng, 200, 5, clustered)
        h = hausman(y, X, unit, x_names=["const", "x1", "x2"])
        m = mundlak_test(y, X, unit, x_names=["const", "x1", "x2"])
        rejections[r] = (h.p_value < alpha, m.p_value < alpha, m.f_p_value < alpha)
    classical, mundlak, mundlak_f = rejections.mean(axis=0)
    assert abs(mundlak - alpha) < 3 * mcse and abs(mundlak_f - alpha) < 3 * mcse
    if clustered:
        assert classical > alpha + 10 * mcse  # far off: about five times the nominal size
    else:
        assert abs(classical - alpha) < 3 * mcse

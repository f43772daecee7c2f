"""``model.estimator=re`` (``model=re``): the RE column is linearmodels' RandomEffects with year dummies, the
classical Hausman statistic is the contrast of pyfixest's FE and linearmodels' RE fits, and the
cluster-robust (Mundlak) test is linearmodels' RE with the unit means, tested by hand — and equals
:func:`tradeq.models.hausman.mundlak_test` when there are no other fixed effects."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from cluster_runs import province_panel, read_json, run
from scipy import stats

from tradeq.models.hausman import mundlak_test

lm = pytest.importorskip("linearmodels")
pf = pytest.importorskip("pyfixest")
TERMS = ["IC", "CX", "HUM", "FDI", "GOV", "INF"]


@pytest.fixture(scope="module")
def re_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("re")
    report, md, est = run(out, "data=synthetic_provinces", "model=re")
    return out, md, est


@pytest.fixture(scope="module")
def panel_data():
    frame = province_panel()[0]
    years = pd.get_dummies(frame["year"], prefix="y", drop_first=True, dtype=float)
    data = pd.concat([frame, years], axis=1).set_index(["province", "year"], drop=False)
    return frame, data, list(years.columns)


def test_re_column_is_linearmodels_random_effects_with_year_dummies(re_run, panel_data):
    out, md, est = re_run
    _, data, years = panel_data
    exog = pd.concat([pd.Series(1.0, index=data.index, name="const"), data[TERMS + years]], axis=1)
    ref = lm.RandomEffects(data["TU"], exog).fit(cov_type="clustered", cluster_entity=True, debiased=True, group_debias=True)
    re = est.loc[est["method"] == "re"].set_index("term")
    np.testing.assert_allclose(re.loc[TERMS, "estimate"], ref.params[TERMS], rtol=1e-8)
    np.testing.assert_allclose(re.loc[TERMS, "std_error"], ref.std_errors[TERMS], rtol=1e-8)
    assert re.loc["Intercept", "estimate"] == pytest.approx(ref.params["const"], rel=1e-8)
    assert "| VARIABLES | (1) | (2) | (3) |" in md and "|  | TU | TU (RE) | Truth |" in md
    assert "| Unit effects |  | random (province) |  |" in md


def test_classical_hausman_is_the_fe_re_contrast(re_run, panel_data):
    out, _, _ = re_run
    frame, data, years = panel_data
    fe = pf.feols("TU ~ IC + CX + HUM + FDI + GOV + INF | province + year", data=frame, vcov="iid")
    exog = pd.concat([pd.Series(1.0, index=data.index, name="const"), data[TERMS + years]], axis=1)
    re = lm.RandomEffects(data["TU"], exog).fit(cov_type="unadjusted")
    d = fe.coef()[TERMS].to_numpy() - re.params[TERMS].to_numpy()
    D = fe.vcov("iid")._vcov[: len(TERMS), : len(TERMS)] - re.cov.loc[TERMS, TERMS].to_numpy()
    lam, vec = np.linalg.eigh(0.5 * (D + D.T))
    keep = np.abs(lam) > len(TERMS) * np.finfo(float).eps * np.abs(lam).max()
    H = float(np.sum((vec[:, keep].T @ d) ** 2 / lam[keep]))
    got = read_json(out, "hausman.json")["classical"]
    assert got["statistic"] == pytest.approx(H, rel=1e-6) and got["df"] == int(keep.sum())
    assert got["p_value"] == pytest.approx(stats.chi2.sf(H, keep.sum()), rel=1e-6)
    assert got["positive_definite"] == bool(keep.all() and lam.min() > 0)


def test_mundlak_form_with_year_dummies(re_run, panel_data):
    out, _, _ = re_run
    _, data, years = panel_data
    means = data.groupby(level=0)[TERMS].transform("mean").add_prefix("mean_")
    exog = pd.concat([pd.Series(1.0, index=data.index, name="const"), data[TERMS + years], means], axis=1)
    ref = lm.RandomEffects(data["TU"], exog).fit(cov_type="clustered", cluster_entity=True, debiased=True, group_debias=True)
    xi = ref.params[means.columns].to_numpy()
    W = float(xi @ np.linalg.solve(ref.cov.loc[means.columns, means.columns].to_numpy(), xi))
    got = read_json(out, "hausman.json")["mundlak"]
    assert got["statistic"] == pytest.approx(W, rel=1e-6) and got["df"] == len(TERMS)
    assert got["f_p_value"] == pytest.approx(stats.f.sf(W / 6, 6, 29), rel=1e-6)


def test_without_other_fixed_effects_mundlak_is_the_cores(tmp_path, panel_data):
    frame, _, _ = panel_data
    run(tmp_path, "data=synthetic_provinces", "model=re", "model.formula=\"TU ~ IC + CX + HUM + FDI + GOV + INF | province\"")
    got = read_json(tmp_path, "hausman.json")
    X = np.column_stack([np.ones(len(frame)), frame[TERMS].to_numpy()])
    ref = mundlak_test(frame["TU"].to_numpy(), X, frame["province"].to_numpy(), x_names=["Intercept", *TERMS],
                       clusters=frame["province"].to_numpy())
    assert got["mundlak"]["statistic"] == pytest.approx(ref.statistic, rel=1e-8)
    assert got["mundlak"]["f_p_value"] == pytest.approx(ref.f_p_value, rel=1e-8)
    assert got["other_fe_as_dummies"] == []

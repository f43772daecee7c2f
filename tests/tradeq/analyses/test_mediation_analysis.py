"""The three-equation FE mediation analysis: the equations against separate FE fits, the
clustering of a coarse mediator, lags, the no-FE path; and (slow) known-truth studies of the
bootstrap and Bayesian intervals of a·b (coverage) and of the tests' size when a = 0."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tradeq.analyses.mediation import MediationModel, estimate_mediation, mediation_sample
from tradeq.formula import feols
from tradeq.models.mediation import aroian, goodman, sobel
from tradeq.panel import DataError, Panel


def firm_panel(seed=0, n_firms=300, n_years=6, a=0.3, b=0.3, direct=0.1, q=0.0, n_prov=12, province_m=False,
               gaps=False):
    """Firms in provinces; x firm-year; m = a x + ... (firm-year or province-year noise); y = c'x + q x² + b m + ...

    Firm and year effects enter every variable; errors are iid.
    """
    rng = np.random.default_rng(seed)
    firm = np.repeat(np.arange(n_firms), n_years)
    year = np.tile(np.arange(2004, 2004 + n_years), n_firms)
    prov_of = rng.integers(0, n_prov, n_firms)
    prov = prov_of[firm]
    n = firm.size
    fx, fm, fy = (rng.normal(size=n_firms)[firm] for _ in range(3))
    ty = rng.normal(size=n_years)[year - 2004]
    w = rng.normal(size=n)
    if province_m:  # x and m both vary by province-year only
        x = (rng.normal(size=(n_prov, n_years)) + rng.normal(size=n_prov)[:, None])[prov, year - 2004]
        m = a * x + 0.1 * rng.normal(size=(n_prov, n_years))[prov, year - 2004] + rng.normal(size=n_prov)[prov]
    else:
        x = fx + rng.normal(size=n)
        m = a * x + 0.2 * w + fm + rng.normal(size=n)
    y = direct * x + q * x**2 + b * m + 0.2 * w + fy + ty + rng.normal(size=n)
    df = pd.DataFrame({"firm": firm, "year": year, "province": prov, "x": x, "m": m, "y": y, "w": w})
    if gaps:
        df = df.drop(index=rng.choice(n, n // 10, replace=False)).reset_index(drop=True)
    return df


def panel(df):
    return Panel(frame=df, source="test", id="firm", time="year")


MODEL = MediationModel(outcome="y", treatment="x", mediator="m", controls=("w",), fe=("firm", "year"),
                       vcov="cluster", cluster=("firm",), quadratic=False)


def test_equations_match_separate_fe_fits_and_identity():
    df = firm_panel(1)
    res = estimate_mediation(panel(df), MODEL, n_boot=200, seed=1)
    s = res.summary
    med = feols(df, "m ~ x + w | firm + year", vcov="cluster", cluster="firm")
    out = feols(df, "y ~ x + m + w | firm + year", vcov="cluster", cluster="firm")
    tot = feols(df, "y ~ x + w | firm + year", vcov="cluster", cluster="firm")
    assert s["a"] == pytest.approx(med.coef[0], rel=1e-10) and s["se_a"] == pytest.approx(med.se[0], rel=1e-10)
    assert s["b"] == pytest.approx(out.coef[1], rel=1e-10) and s["se_b"] == pytest.approx(out.se[1], rel=1e-10)
    assert s["direct"] == pytest.approx(out.coef[0], rel=1e-10) and s["total"] == pytest.approx(tot.coef[0], rel=1e-10)
    assert s["total"] == pytest.approx(s["direct"] + s["indirect"], rel=1e-9)  # c = c' + ab without the square
    assert s["proportion"] == pytest.approx(s["indirect"] / s["total"], rel=1e-12)
    assert (s["sobel_z"], s["sobel_p"]) == pytest.approx(sobel(s["a"], s["se_a"], s["b"], s["se_b"]), rel=1e-12)
    assert (s["aroian_z"], s["aroian_p"]) == pytest.approx(aroian(s["a"], s["se_a"], s["b"], s["se_b"]), rel=1e-12)
    assert s["goodman_z"] == pytest.approx(goodman(s["a"], s["se_a"], s["b"], s["se_b"])[0], rel=1e-12)
    # the bootstrap resamples firms and its full-sample values are the FE fits'
    assert s["boot_unit"] == "firm" and s["n_boot_clusters"] == 300 and s["n_boot"] == 200
    assert res.bootstrap.estimate["indirect"] == pytest.approx(s["indirect"], rel=1e-8)
    lo, hi = s["boot_ci"]
    assert lo < s["indirect"] < hi and s["ci_method"] == "bca"
    assert s["bootstrap"]["quantities"]["indirect"]["bca"] == pytest.approx([lo, hi])


def test_quadratic_outcome_equations_keep_the_square():
    df = firm_panel(2, q=-0.05)
    model = MediationModel(**{**MODEL.__dict__, "quadratic": True})
    res = estimate_mediation(panel(df), model, n_boot=100)
    assert "I(x ** 2)" in res.fits["total"].fit.x_names and "I(x ** 2)" in res.fits["outcome"].fit.x_names
    assert "I(x ** 2)" not in res.fits["mediator"].fit.x_names
    out = feols(df, "y ~ x + I(x**2) + m + w | firm + year", vcov="cluster", cluster="firm")
    assert res.summary["b"] == pytest.approx(out.coef[2], rel=1e-10)
    assert out.coef[1] == pytest.approx(-0.05, abs=0.03)


def test_lagged_core_variable_exact_years_and_common_sample():
    df = firm_panel(3, gaps=True)
    model = MediationModel(**{**MODEL.__dict__, "lag": 1})
    sample = mediation_sample(panel(df), model)
    f = sample.frame.set_index(["firm", "year"])
    src = df.set_index(["firm", "year"])["x"]
    # every kept row has its firm's previous year, and L1_x is that year's x
    prev = [(i, t - 1) for i, t in f.index]
    np.testing.assert_array_equal(f["L1_x"].to_numpy(), src.loc[prev].to_numpy())
    expected = sum(1 for i, t in df[["firm", "year"]].itertuples(index=False) if (i, t - 1) in src.index)
    assert len(sample.frame) == expected < len(df)
    res = estimate_mediation(panel(df), model, n_boot=50)
    assert {f.fit.n_obs for f in res.fits.values()} == {res.summary["n_obs"]}
    assert res.summary["core_variable"] == "L1_x"


def test_province_level_mediator_clusters_and_resamples_provinces():
    df = firm_panel(4, n_firms=600, province_m=True, n_prov=20)
    model = MediationModel(**{**MODEL.__dict__, "controls": (), "mediator_cluster": ("province",)})
    res = estimate_mediation(panel(df), model, n_boot=300, seed=2)
    s = res.summary
    assert s["clusters"] == {"total": ["firm"], "mediator": ["province"], "outcome": ["firm"]}
    assert res.fits["mediator"].fit.n_clusters == (20,) and res.fits["outcome"].fit.n_clusters == (600,)
    assert s["boot_unit"] == "province" and s["n_boot_clusters"] == 20
    # Clustering by firm would treat the 30-odd copies of each province-year value as independent.
    naive = feols(df, "m ~ x | firm + year", vcov="cluster", cluster="firm")
    assert naive.coef[0] == pytest.approx(s["a"], rel=1e-10)
    assert s["se_a"] > 2.0 * naive.se[0]


def test_no_fixed_effects_no_cluster_uses_hc1_and_row_bootstrap():
    df = firm_panel(5)
    model = MediationModel(outcome="y", treatment="x", mediator="m", controls=("w",), fe=(), vcov="hc1",
                           cluster=(), quadratic=False)
    res = estimate_mediation(panel(df), model, n_boot=100)
    s = res.summary
    ols = feols(df, "m ~ x + w", vcov="hc1")
    j = ols.index("x")
    assert s["a"] == pytest.approx(ols.coef[j], rel=1e-10) and s["se_a"] == pytest.approx(ols.se[j], rel=1e-10)
    assert s["boot_unit"] == "rows" and s["n_boot_clusters"] == len(df)
    assert res.bootstrap.estimate["a"] == pytest.approx(s["a"], rel=1e-8)  # intercept included in the bootstrap


def test_missing_column_is_a_clear_error():
    df = firm_panel(6).drop(columns=["m"])
    with pytest.raises(DataError, match=r"missing column\(s\) \['m'\]"):
        estimate_mediation(panel(df), MODEL, n_boot=10)


# ---------------------------------------------------------------------------------------
# Known-truth studies (slow): coverage of a·b and size when a = 0
# ---------------------------------------------------------------------------------------

N_REP = 100


@pytest.mark.slow
def test_coverage_of_bootstrap_and_bayesian_intervals_for_ab():
    """Panels with a = b = 0.3 (a·b = 0.09), firm and year effects: the 95% firm-bootstrap
    (percentile, BCa) and Bayesian joint-model intervals of a·b cover it about 95% of the time."""
    from tradeq.models.bayes.mediation import fit_mediation_bayes, mediation_summary

    a, b = 0.3, 0.3
    hits = {"percentile": 0, "bca": 0, "bayes": 0}
    for r in range(N_REP):
        df = firm_panel(1000 + r, n_firms=200, n_years=5, a=a, b=b)
        res = estimate_mediation(panel(df), MODEL, n_boot=499, seed=r)
        q = res.summary["bootstrap"]["quantities"]["indirect"]
        for method in ("percentile", "bca"):
            lo, hi = q[method]
            hits[method] += lo <= a * b <= hi
        raw = res.arrays["raw"]
        dt = fit_mediation_bayes(raw["x"], raw["m"], raw["y"], controls=raw["W"], fe=raw["fe"],
                                 draws=300, tune=300, chains=1, seed=r)
        g = mediation_summary(dt)["groups"]["pooled"]["indirect"]
        hits["bayes"] += g["lo"] <= a * b <= g["hi"]
    coverage = {k: v / N_REP for k, v in hits.items()}
    print("coverage of a·b (95% intervals):", coverage)
    for k, v in coverage.items():
        assert 0.88 <= v <= 1.0, (k, coverage)


@pytest.mark.slow
def test_size_of_sobel_and_bootstrap_when_a_is_zero():
    """a = 0, b = 0.3: H0 a·b = 0 is true; Sobel and the bootstrap reject about 5% of the time."""
    rejections = {"sobel": 0, "bca": 0, "percentile": 0}
    for r in range(N_REP):
        df = firm_panel(5000 + r, n_firms=200, n_years=5, a=0.0, b=0.3)
        s = estimate_mediation(panel(df), MODEL, n_boot=499, seed=r).summary
        rejections["sobel"] += s["sobel_p"] < 0.05
        q = s["bootstrap"]["quantities"]["indirect"]
        for method in ("percentile", "bca"):
            lo, hi = q[method]
            rejections[method] += not (lo <= 0.0 <= hi)
    size = {k: v / N_REP for k, v in rejections.items()}
    print("rejection rate at a = 0 (nominal 0.05):", size)
    for k, v in size.items():
        assert v <= 0.12, (k, size)

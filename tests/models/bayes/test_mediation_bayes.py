"""The Bayesian joint mediation model: the collapsed likelihood against numerical integration,
the exact conditional draws of the coefficients, agreement with least squares on large data,
the hierarchical version, a coarse mediator on its own rows, and the DataTree it returns."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from scipy import integrate, stats

from tradeq.formula import feols
from tradeq.models.bayes.mediation import fit_mediation_bayes, mediation_summary
from tradeq.models.bayes.mediation_density import _collapsed_loglik, draw_coefficients
from tradeq.models.bayes.mediation_design import build_mediation_design


def panel(seed=0, n_firms=400, n_years=5, a=0.4, b=0.3, direct=0.2, groups=None):
    rng = np.random.default_rng(seed)
    firm = np.repeat(np.arange(n_firms), n_years)
    year = np.tile(np.arange(n_years), n_firms)
    n = firm.size
    g = np.zeros(n, int) if groups is None else groups[firm]
    a_, b_ = np.broadcast_to(a, (g.max() + 1,))[g], np.broadcast_to(b, (g.max() + 1,))[g]
    x = rng.normal(size=n_firms)[firm] + rng.normal(size=n)
    w = rng.normal(size=n)
    m = a_ * x + 0.3 * w + rng.normal(size=n_firms)[firm] + rng.normal(size=n)
    y = direct * x + b_ * m - 0.2 * w + rng.normal(size=n_firms)[firm] + rng.normal(size=n_years)[year] + rng.normal(size=n)
    return {"x": x, "m": m, "y": y, "w": w, "fe": np.column_stack([firm, year]), "g": g, "firm": firm, "year": year}


def _eq(theta_hat, Q, rss, n_eff, prior):
    Q = np.atleast_2d(Q)
    return {"theta_hat": np.atleast_1d(theta_hat), "Qinv": np.linalg.inv(Q), "rss_hat": rss, "n_eff": n_eff,
            "prior": np.atleast_1d(prior)}


def test_collapsed_likelihood_equals_numerical_integral():
    # one coefficient: ∫ exp(loglik(θ, σ)) N(θ; μ0, v0) dθ
    th, Q, rss, n_eff, sigma, mu0, v0 = 0.7, 40.0, 12.0, 30.0, 0.6, 0.2, 0.5**2

    def integrand(t):
        ll = -n_eff / 2 * np.log(2 * np.pi * sigma**2) - (rss + Q * (t - th) ** 2) / (2 * sigma**2)
        return np.exp(ll + 40.0) * stats.norm.pdf(t, mu0, np.sqrt(v0))  # +40: keep it in range

    num = np.log(integrate.quad(integrand, th - 2, th + 2, points=[th], epsabs=0, epsrel=1e-12)[0]) - 40.0
    ours = float(_collapsed_loglik(_eq(th, Q, rss, n_eff, np.sqrt(v0)), sigma, np.array([mu0]), np.array([v0])))
    assert ours - 0.5 * np.log(Q) == pytest.approx(num, rel=1e-9)

    # two correlated coefficients
    th2, Q2 = np.array([0.5, -0.3]), np.array([[30.0, 12.0], [12.0, 20.0]])
    mu2, v2 = np.array([0.1, 0.0]), np.array([0.3, 0.8]) ** 2

    def f2(t1, t0):
        d = np.array([t0, t1]) - th2
        ll = -n_eff / 2 * np.log(2 * np.pi * sigma**2) - (rss + d @ Q2 @ d) / (2 * sigma**2)
        return np.exp(ll + 40.0) * stats.multivariate_normal.pdf([t0, t1], mu2, np.diag(v2))

    num2 = np.log(integrate.dblquad(f2, th2[0] - 1.5, th2[0] + 1.5, th2[1] - 1.5, th2[1] + 1.5, epsrel=1e-10)[0]) - 40.0
    ours2 = float(_collapsed_loglik(_eq(th2, Q2, rss, n_eff, np.sqrt(v2)), sigma, mu2, v2))
    assert ours2 - 0.5 * np.linalg.slogdet(Q2)[1] == pytest.approx(num2, rel=1e-7)


def test_conditional_draws_have_the_exact_gaussian_moments():
    d = panel(1)
    md = build_mediation_design(d["x"], d["m"], d["y"], controls=d["w"][:, None], fe=d["fe"])
    eq = md.outcome
    D = 40_000
    sigma = np.full(D, 0.9)
    mu0, v0 = np.zeros((D, eq.k)), np.broadcast_to(eq.prior**2, (D, eq.k))
    draws = draw_coefficients(eq, sigma, mu0, np.array(v0), np.random.default_rng(0))
    P = eq.Q / 0.9**2 + np.diag(1 / eq.prior**2)
    V = np.linalg.inv(P)
    mean = V @ (eq.Q @ eq.theta_hat / 0.9**2)
    np.testing.assert_allclose(draws.mean(0), mean, atol=4 * np.sqrt(np.diag(V) / D).max())
    np.testing.assert_allclose(np.cov(draws.T), V, atol=0.03 * np.abs(V).max())


def test_posterior_agrees_with_least_squares_and_tree_layout(tmp_path):
    d = panel(2, n_firms=1500)
    dt = fit_mediation_bayes(d["x"], d["m"], d["y"], controls=d["w"][:, None], fe=d["fe"], draws=500, tune=500,
                             chains=2, seed=1, control_names=["w"])
    post = dt["posterior"]
    df = pd.DataFrame({k: d[k] for k in ("x", "m", "y", "w", "firm", "year")})
    fa = feols(df, "m ~ x + w | firm + year", vcov="iid")
    fb = feols(df, "y ~ x + m + w | firm + year", vcov="iid")
    a = post["a"].values.reshape(-1)
    b = post["b"].values.reshape(-1)
    # weak priors and 7,500 rows: posterior mean and sd ≈ OLS estimate and iid SE
    assert a.mean() == pytest.approx(fa.coef[0], abs=0.1 * fa.se[0])
    assert a.std() == pytest.approx(fa.se[0], rel=0.1)
    assert b.mean() == pytest.approx(fb.coef[1], abs=0.1 * fb.se[1])
    assert b.std() == pytest.approx(fb.se[1], rel=0.1)
    np.testing.assert_allclose(post["indirect"].values, post["a"].values * post["b"].values)
    np.testing.assert_allclose(post["total"].values, post["direct"].values + post["indirect"].values)
    assert dict(post.sizes) == {"chain": 2, "draw": 500, "group": 1, "control": 1, "control_m": 1}
    assert set(dt.children) == {"posterior", "sample_stats", "constant_data"}
    assert dt.attrs["max_rhat"] < 1.02 and dt.attrs["divergences"] == 0
    s = mediation_summary(dt)
    assert s["population"] == "pooled" and s["groups"]["pooled"]["p_indirect_positive"] == 1.0
    dt.to_netcdf(tmp_path / "post.nc", engine="h5netcdf")
    assert xr.open_datatree(tmp_path / "post.nc", engine="h5netcdf")["posterior"]["a"].shape == (2, 500, 1)


def test_hierarchical_paths_by_group():
    rng = np.random.default_rng(3)
    groups = rng.integers(0, 3, 900)
    d = panel(3, n_firms=900, a=np.array([0.2, 0.4, 0.6]), b=np.array([0.3, 0.3, 0.1]), groups=groups)
    dt = fit_mediation_bayes(d["x"], d["m"], d["y"], controls=d["w"][:, None], fe=d["fe"], groups=d["g"],
                             group_names=["g0", "g1", "g2"], hierarchical=True, draws=500, tune=500, chains=2, seed=2)
    assert dt.attrs["divergences"] == 0 and dt.attrs["max_rhat"] < 1.02
    s = mediation_summary(dt)
    for g, a, b in zip(("g0", "g1", "g2"), (0.2, 0.4, 0.6), (0.3, 0.3, 0.1)):
        e = s["groups"][g]
        assert e["a"]["lo"] < a < e["a"]["hi"] and e["b"]["lo"] < b < e["b"]["hi"]
    assert s["population"] == "population" and "tau_a" in dt["posterior"]


def test_coarse_mediator_on_its_own_rows():
    """A province-year mediator: its equation on the province-year cells gives a posterior of a
    as wide as the cell-level regression's, not the far narrower firm-year one."""
    rng = np.random.default_rng(4)
    n_prov, n_years, n_firms = 15, 8, 1500
    prov = rng.integers(0, n_prov, n_firms)
    xp = rng.normal(size=(n_prov, n_years))
    mp = 0.5 * xp + rng.normal(size=n_prov)[:, None] + 0.3 * rng.normal(size=(n_prov, n_years))
    firm = np.repeat(np.arange(n_firms), n_years)
    year = np.tile(np.arange(n_years), n_firms)
    x, m = xp[prov[firm], year], mp[prov[firm], year]
    y = 0.1 * x + 0.4 * m + rng.normal(size=n_firms)[firm] + rng.normal(size=firm.size)
    cells = {"x": xp.reshape(-1), "m": mp.reshape(-1),
             "fe": np.column_stack([np.repeat(np.arange(n_prov), n_years), np.tile(np.arange(n_years), n_prov)])}
    dt = fit_mediation_bayes(x, m, y, fe=np.column_stack([firm, year]), mediator_rows=cells, draws=400, tune=400,
                             chains=2, seed=0)
    cell_fit = feols(pd.DataFrame({"m": cells["m"], "x": cells["x"], "p": cells["fe"][:, 0], "t": cells["fe"][:, 1]}),
                     "m ~ x | p + t", vcov="iid")
    a = dt["posterior"]["a"].values.reshape(-1)
    assert a.std() == pytest.approx(cell_fit.se[0], rel=0.15)
    assert a.mean() == pytest.approx(cell_fit.coef[0], abs=0.2 * cell_fit.se[0])
    naive = feols(pd.DataFrame({"m": m, "x": x, "f": firm, "t": year}), "m ~ x | f + t", vcov="iid")
    assert a.std() > 5 * naive.se[0]


def test_pymc_twin_has_the_same_log_density_and_posterior():
    """The PyMC backend evaluates the same collapsed density (PyTensor) and gives the same posterior."""
    import pytensor
    import pytensor.tensor as pt

    from tradeq.models.bayes.mediation_density import _Ops, log_density, model_data

    rng = np.random.default_rng(5)
    groups = rng.integers(0, 2, 300)
    d = panel(5, n_firms=300, groups=groups)
    for hierarchical in (False, True):
        md = build_mediation_design(d["x"], d["m"], d["y"], controls=d["w"][:, None], x2=d["x"] ** 2, fe=d["fe"],
                                    groups=d["g"] if hierarchical else None,
                                    group_names=["g0", "g1"] if hierarchical else None)
        data = model_data(md)
        kw = {"n_groups": md.n_groups, "quadratic": True, "hierarchical": hierarchical}
        u = pt.vector("u")
        f = pytensor.function([u], log_density(u, data, o=_Ops("pytensor"), **kw))
        for point in rng.normal(size=(3, 8 if hierarchical else 2)):
            assert float(f(point)) == pytest.approx(float(log_density(point, data, **kw)), rel=1e-10)
    a = {}
    for backend in ("numpyro", "pymc"):
        dt = fit_mediation_bayes(d["x"], d["m"], d["y"], controls=d["w"][:, None], fe=d["fe"], draws=400, tune=300,
                                 chains=1, seed=3, backend=backend)
        a[backend] = dt["posterior"]["indirect"].values.reshape(-1)
        assert dt.attrs["backend"] == backend
    sd = a["numpyro"].std()
    assert a["pymc"].mean() == pytest.approx(a["numpyro"].mean(), abs=0.2 * sd)
    assert a["pymc"].std() == pytest.approx(sd, rel=0.15)

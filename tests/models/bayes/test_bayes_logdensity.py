"""The sufficient-statistics likelihood is the row-level likelihood (SPEC 3), in both backends.

The log density of the whole model (priors + likelihood) computed from Z'Z, theta_hat,
RSS_hat and n_eff must equal the one computed from the n within-transformed rows (plus the
FE degrees-of-freedom term) to 1e-8 relative, at random parameter values, for the pooled
and the hierarchical model; and the NumPyro and PyMC models must be the same density.

Both of those sides share the design's n_eff, so they are also checked against a reference
that shares nothing with them: the Gaussian likelihood with the firm and year effects
integrated out by brute force (explicit dummy matrix, numpy least squares, numpy's matrix
rank and log-determinant), and the Student-t likelihood with explicit effects against
scipy's density of the raw rows with the effects set to their values.
"""

import numpy as np
import pytest
from bayes_panels import simulate_panel
from scipy import stats as sps

from tradeq.models.bayes.design import build_group_design, interact, sufficient_stats
from tradeq.models.bayes.numpyro_model import gaussian_suffstat_loglik, log_density, make_model, model_data
from tradeq.models.bayes.pymc_model import build_model

RTOL = 1e-8
# The equality is a property of the graph, so the tests compile it without Numba (a cold
# Numba cache costs a minute; the sampling tests exercise the compiled default).
FAST = {"mode": "FAST_COMPILE"}


@pytest.fixture(scope="module")
def prepared():
    p = simulate_panel(3, n_firms=150)
    gd = build_group_design(p.design, p.groups, p.group_names, "Market")
    ss = sufficient_stats(gd.Z, gd.y, gd.n_eff())
    return gd, ss


def random_params(rng, gd, ss, hierarchical, *, scale=1.0):
    """Parameter values around the least-squares point, spread by ``scale`` (1 = wide)."""
    G, p = gd.n_groups, gd.n_controls
    b1_hat, b2_hat = ss.coef_hat[:G], ss.coef_hat[G : 2 * G]
    slope_hat = b1_hat + 2 * gd.center * b2_hat
    params = {
        "beta": ss.coef_hat[2 * G :] + scale * 0.05 * rng.standard_normal(p),
        "sigma": rng.uniform(0.03, 0.3),
    }
    if hierarchical:
        params |= {
            "mu_slope": slope_hat.mean() + scale * 0.1 * rng.standard_normal(),
            "mu_b2": b2_hat.mean() + scale * 0.02 * rng.standard_normal(),
            "tau_slope": rng.uniform(0.01, 0.5),
            "tau_b2": rng.uniform(0.005, 0.1),
            "z_slope": rng.standard_normal(G),
            "z_b2": rng.standard_normal(G),
        }
    else:
        params |= {
            "slope": slope_hat[:1] + scale * 0.1 * rng.standard_normal(1),
            "b2": b2_hat[:1] + scale * 0.02 * rng.standard_normal(1),
        }
    return params


def pymc_point(model, params):
    """PyMC value-variable point: log-transformed positives get ``log(value)``."""
    point = {}
    for name in model.initial_point():
        if name.endswith("_log__"):
            point[name] = np.log(params[name[: -len("_log__")]])
        else:
            point[name] = np.asarray(params[name])
    return point


@pytest.mark.parametrize("hierarchical", [True, False])
def test_numpyro_suffstats_equal_rows(prepared, hierarchical):
    gd, ss = prepared
    if not hierarchical:
        gd = build_group_design(_design(), None, None, "Market")
        ss = sufficient_stats(gd.Z, gd.y, gd.n_eff())
    model = make_model(gd.prior, gd.n_groups, center=gd.center, hierarchical=hierarchical)
    suff, rows = model_data(gd, ss, rows=False), model_data(gd, ss, rows=True)
    rng = np.random.default_rng(0)
    for scale in (0.1, 1.0, 5.0):
        for _ in range(5):
            params = random_params(rng, gd, ss, hierarchical, scale=scale)
            a, b = log_density(model, suff, params), log_density(model, rows, params)
            assert np.isfinite(a)
            assert abs(a - b) <= RTOL * abs(b), (a, b)


def _design():
    return simulate_panel(3, n_firms=150).design


@pytest.mark.parametrize("hierarchical", [True, False])
def test_pymc_suffstats_equal_rows(prepared, hierarchical):
    gd, ss = prepared
    if not hierarchical:
        gd = build_group_design(_design(), None, None, "Market")
        ss = sufficient_stats(gd.Z, gd.y, gd.n_eff())
    kw = dict(group_names=gd.group_names, control_names=gd.control_names, center=gd.center, hierarchical=hierarchical)
    m_suff = build_model(model_data(gd, ss, rows=False), gd.prior, **kw)
    m_rows = build_model(model_data(gd, ss, rows=True), gd.prior, **kw)
    f_suff, f_rows = m_suff.compile_logp(**FAST), m_rows.compile_logp(**FAST)
    rng = np.random.default_rng(1)
    for scale in (0.1, 1.0, 5.0):
        for _ in range(5):
            params = random_params(rng, gd, ss, hierarchical, scale=scale)
            a, b = f_suff(pymc_point(m_suff, params)), f_rows(pymc_point(m_rows, params))
            assert np.isfinite(a)
            assert abs(a - b) <= RTOL * abs(b), (a, b)


@pytest.mark.parametrize("rows", [False, True])
def test_numpyro_and_pymc_are_the_same_density(prepared, rows):
    """NumPyro's log density (constrained values) equals PyMC's without the Jacobian."""
    gd, ss = prepared
    data = model_data(gd, ss, rows=rows)
    model = make_model(gd.prior, gd.n_groups, center=gd.center)
    pm_model = build_model(data, gd.prior, group_names=gd.group_names, control_names=gd.control_names, center=gd.center)
    logp = pm_model.compile_logp(jacobian=False, **FAST)
    rng = np.random.default_rng(2)
    for _ in range(5):
        params = random_params(rng, gd, ss, True)
        a, b = log_density(model, data, params), float(logp(pymc_point(pm_model, params)))
        assert abs(a - b) <= RTOL * abs(b), (a, b)


def test_student_t_densities_agree(prepared):
    gd, ss = prepared
    data = model_data(gd, ss, rows=True)
    model = make_model(gd.prior, gd.n_groups, center=gd.center, likelihood="student_t")
    pm_model = build_model(
        data, gd.prior, group_names=gd.group_names, control_names=gd.control_names, center=gd.center,
        likelihood="student_t",
    )
    logp = pm_model.compile_logp(jacobian=False, **FAST)
    params = random_params(np.random.default_rng(3), gd, ss, True) | {"nu": 7.5}
    a, b = log_density(model, data, params), float(logp(pymc_point(pm_model, params)))
    assert abs(a - b) <= RTOL * abs(b)


def test_check_detects_a_wrong_degrees_of_freedom_term(prepared):
    """Negative control: dropping the FE term from the row path breaks the equality."""
    gd, ss = prepared
    model = make_model(gd.prior, gd.n_groups, center=gd.center)
    rows = model_data(gd, ss, rows=True) | {"n_fe": np.float64(0.0)}
    params = random_params(np.random.default_rng(4), gd, ss, True)
    a, b = log_density(model, model_data(gd, ss, rows=False), params), log_density(model, rows, params)
    assert abs(a - b) > 1e3 * RTOL * abs(b)


def _dummies(fe):
    D = np.column_stack([(fe[:, j][:, None] == np.unique(fe[:, j])[None, :]) for j in range(fe.shape[1])]).astype(float)
    kept = [0]
    for j in range(1, D.shape[1]):  # greedy: a column that raises the rank
        if np.linalg.matrix_rank(D[:, kept + [j]]) > len(kept):
            kept.append(j)
    return D[:, kept]


def brute_force_marginal(p, theta, sigma):
    """log of integral N(y | Z_raw theta + D alpha, sigma^2 I) d alpha (flat prior), D the firm and
    year dummies with redundant columns dropped (r columns):
    -(n - r)/2 log(2 pi sigma^2) - RSS(theta)/(2 sigma^2) - 1/2 log|D'D|."""
    d = p.design
    G = len(p.group_names)
    Zraw = np.column_stack([interact(d.X[:, 0], p.groups, G), interact(d.X[:, 1], p.groups, G), d.X[:, 2:]])
    D = _dummies(d.fe)
    resid = d.y - Zraw @ theta
    resid = resid - D @ np.linalg.lstsq(D, resid, rcond=None)[0]
    r = D.shape[1]
    return -0.5 * (d.n - r) * np.log(2 * np.pi * sigma**2) - resid @ resid / (2 * sigma**2) - 0.5 * np.linalg.slogdet(D.T @ D)[1]


def test_gaussian_likelihood_matches_brute_force_fe_integration():
    """The sufficient-statistics log likelihood differs from the brute-force FE-integrated one by
    the constant 1/2 log|D'D| only, at every sigma: a wrong n_eff (e.g. the FE rank's upper
    bound, or n) would make the difference move with log sigma."""
    p = simulate_panel(3, n_firms=60)
    gd = build_group_design(p.design, p.groups, p.group_names, "Market")
    ss = sufficient_stats(gd.Z, gd.y, gd.n_eff())
    const = 0.5 * np.linalg.slogdet(_dummies(p.design.fe).T @ _dummies(p.design.fe))[1]
    rng = np.random.default_rng(5)
    for sigma in (0.01, 0.05, 0.3, 2.0):
        theta = ss.coef_hat + 0.05 * rng.standard_normal(ss.coef_hat.size)
        a = float(gaussian_suffstat_loglik(theta, sigma, ss.ZtZ, ss.coef_hat, ss.rss_hat, ss.n_eff))
        b = brute_force_marginal(p, theta, sigma)
        assert abs(a - b - const) <= 1e-8 * abs(b), (sigma, a - b, const)
    wrong = sufficient_stats(gd.Z, gd.y, gd.n_eff() + 1)  # one FE level miscounted
    a = [float(gaussian_suffstat_loglik(ss.coef_hat, s, wrong.ZtZ, wrong.coef_hat, wrong.rss_hat, wrong.n_eff))
         - brute_force_marginal(p, ss.coef_hat, s) for s in (0.05, 2.0)]
    assert abs(a[0] - a[1]) > 1.0


@pytest.mark.parametrize("backend", ["numpyro", "pymc"])
def test_student_t_with_explicit_effects_is_the_raw_row_density(backend):
    """Student-t with explicit effects: the likelihood of the demeaned rows with shifted effects
    equals scipy's Student-t density of the raw rows, y - Z_raw theta - D alpha, where alpha is
    the shifted effects plus the least-squares FE of y - Z_raw theta (module docstring of
    tradeq.models.bayes.student_t), up to the priors, which both sides share."""
    p = simulate_panel(3, n_firms=100)
    gd = build_group_design(p.design, p.groups, p.group_names, "Market")
    ss = sufficient_stats(gd.Z, gd.y, gd.n_eff())
    data = model_data(gd, ss, rows=True, explicit_fe=True)
    r = data["fe_free"].shape[0]
    assert r == np.linalg.matrix_rank(_dummies(p.design.fe))
    rng = np.random.default_rng(6)
    params = random_params(rng, gd, ss, True) | {"nu": 6.5, "fe": 0.05 * rng.standard_normal(r)}
    theta = np.concatenate([params["mu_slope"] + params["tau_slope"] * params["z_slope"] - 2 * gd.center
                            * (params["mu_b2"] + params["tau_b2"] * params["z_b2"]),
                            params["mu_b2"] + params["tau_b2"] * params["z_b2"], params["beta"]])
    shift = np.concatenate([params["fe"], [0.0]])[data["fe_index"]].sum(axis=1)
    mu = gd.Z @ theta + shift
    expected = sps.t.logpdf(gd.y, params["nu"], mu, params["sigma"]).sum()
    d = p.design
    G = len(p.group_names)
    Zraw = np.column_stack([interact(d.X[:, 0], p.groups, G), interact(d.X[:, 1], p.groups, G), d.X[:, 2:]])
    e = d.y - Zraw @ theta
    D = _dummies(d.fe)
    raw_resid = e - D @ np.linalg.lstsq(D, e, rcond=None)[0] - shift  # raw rows, alpha = LS FE + shift
    np.testing.assert_allclose(sps.t.logpdf(raw_resid, params["nu"], 0, params["sigma"]).sum(), expected, rtol=1e-9)
    if backend == "numpyro":
        model = make_model(gd.prior, gd.n_groups, center=gd.center, likelihood="student_t")
        full = log_density(model, data, params)
        prior_only = log_density(model, data | {"y": mu}, params) - sps.t.logpdf(mu, params["nu"], mu, params["sigma"]).sum()
    else:
        pm_model = build_model(data, gd.prior, group_names=gd.group_names, control_names=gd.control_names,
                               center=gd.center, likelihood="student_t")
        point = pymc_point(pm_model, params)
        full = float(pm_model.compile_logp(jacobian=False, **FAST)(point))
        prior_only = float(pm_model.compile_logp(vars=[v for v in pm_model.free_RVs], jacobian=False, **FAST)(point))
    assert full - prior_only == pytest.approx(expected, rel=1e-9)

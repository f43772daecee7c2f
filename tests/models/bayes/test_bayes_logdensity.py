"""The sufficient-statistics likelihood is the row-level likelihood (SPEC 3), in both backends.

The log density of the whole model (priors + likelihood) computed from Z'Z, theta_hat,
RSS_hat and n_eff must equal the one computed from the n within-transformed rows (plus the
FE degrees-of-freedom term) to 1e-8 relative, at random parameter values, for the pooled
and the hierarchical model; and the NumPyro and PyMC models must be the same density.
"""

import numpy as np
import pytest
from bayes_panels import simulate_panel

from tradeq.models.bayes.design import build_group_design, sufficient_stats
from tradeq.models.bayes.numpyro_model import log_density, make_model, model_data
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

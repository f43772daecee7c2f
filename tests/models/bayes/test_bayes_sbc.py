"""Simulation-based calibration of the hierarchical model (Talts et al. 2018), slow.

For s = 1..S: draw (mu, tau, z, beta, sigma) from the prior, simulate the within-
transformed outcome of a fixed small firm panel with firm and year effects,

    y~ = Z~ theta + sigma M e,     e ~ N(0, I),  M = I - D (D'D)^+ D'  (M e: demeaned noise),

fit the model (sufficient statistics, FE integrated out: n_eff = n - rank D; all S fits at
once with :func:`tradeq.models.bayes.numpyro_model.sample_batch`, one NUTS chain each) and record
the rank of each true parameter among its draws thinned to their effective sample size, on
0..L, L = 99 (:func:`tradeq.montecarlo.sbc.ess_rank`). With a correct model, likelihood and
sampler the ranks are uniform on 0..L; a chi-square test over 10 bins checks that per
parameter. (simuk simulates from the model's own observed site; the exact FE likelihood here
needs the demeaned noise M e, so the loop is written out.) A negative control shows the check
catches the error it is meant to catch: the same data sets fitted with a wrong model, the
profile likelihood (n_eff = n, the FE levels not counted), give non-uniform ranks of sigma.
"""

import numpy as np
import pytest
from bayes_panels import dummy_within, simulate_panel
from scipy import stats

from tradeq.models.bayes.design import build_group_design, sufficient_stats
from tradeq.models.bayes.numpyro_model import make_model, model_data, sample_batch
from tradeq.models.bayes.priors import PriorScales
from tradeq.montecarlo.sbc import ess_rank

S = 120  # simulations
L = 99  # thinned posterior draws per simulation -> ranks 0..99, 10 bins of 10
TUNE, DRAWS = 400, 400
CHUNK = 30  # data sets per vectorised run: lockstep over fewer trajectories is faster
PRIOR = PriorScales(slope=0.3, b2=0.3, tau_slope=0.2, tau_b2=0.2, beta=(0.1, 0.1), sigma=0.2)
CHECKED = ["mu_slope", "mu_b2", "tau_slope", "tau_b2", "sigma", "beta[0]", "b1[0]", "b2[0]", "b1[5]", "b2[5]"]


def prior_draw(rng, G, p, center):
    mu_slope, mu_b2 = rng.normal(0, PRIOR.slope), rng.normal(0, PRIOR.b2)
    tau_slope, tau_b2 = np.abs(rng.normal(0, PRIOR.tau_slope)), np.abs(rng.normal(0, PRIOR.tau_b2))
    slope = mu_slope + tau_slope * rng.standard_normal(G)
    b2 = mu_b2 + tau_b2 * rng.standard_normal(G)
    return {
        "mu_slope": mu_slope, "mu_b2": mu_b2, "tau_slope": tau_slope, "tau_b2": tau_b2,
        "b1": slope - 2 * center * b2, "b2": b2, "beta": rng.normal(0, PRIOR.beta_array), "sigma": np.abs(rng.normal(0, PRIOR.sigma)),
    }


def scalar(d, name):
    if "[" in name:
        base, idx = name[:-1].split("[")
        return np.asarray(d[base])[..., int(idx)]
    return np.asarray(d[name])


@pytest.fixture(scope="module")
def ranks():
    panel = simulate_panel(21, n_firms=60, n_years=6)
    gd = build_group_design(panel.design, panel.groups, panel.group_names, "Market", within=dummy_within)
    n_eff = gd.n_eff()
    rng = np.random.default_rng(2024)
    truths, datasets, profile = [], [], []
    for _ in range(S):
        truth = prior_draw(rng, gd.n_groups, gd.n_controls, gd.center)
        theta = np.concatenate([truth["b1"], truth["b2"], truth["beta"]])
        noise = dummy_within(rng.standard_normal((gd.n, 1)), panel.design.fe)[0][:, 0]
        y = gd.Z @ theta + truth["sigma"] * noise
        truths.append(truth)
        datasets.append(model_data(gd, sufficient_stats(gd.Z, y, n_eff), rows=False))
        profile.append(model_data(gd, sufficient_stats(gd.Z, y, float(gd.n)), rows=False))
    model = make_model(PRIOR, gd.n_groups, center=gd.center)
    post, _ = sample_batch(model, _stack(datasets), seed=7, draws=DRAWS, tune=TUNE, chunk=CHUNK)
    wrong, _ = sample_batch(model, _stack(profile), seed=7, draws=DRAWS, tune=TUNE, chunk=CHUNK)
    u = rng.random((S, len(CHECKED) + 1))
    out = {name: [] for name in [*CHECKED, "sigma_profile"]}
    for s, truth in enumerate(truths):
        for j, name in enumerate(CHECKED):
            out[name].append(ess_rank(scalar(post, name)[s][None, :], scalar(truth, name), L, u[s, j])[0])
        out["sigma_profile"].append(ess_rank(wrong["sigma"][s][None, :], truth["sigma"], L, u[s, -1])[0])
    return {k: np.array(v, dtype=int) for k, v in out.items()}


def _stack(datasets):
    return {k: np.stack([d[k] for d in datasets]) for k in datasets[0]}


def uniformity_pvalue(r):
    counts = np.bincount(r // 10, minlength=10)
    return stats.chisquare(counts).pvalue


@pytest.mark.slow
def test_ranks_are_uniform(ranks):
    pvalues = {name: uniformity_pvalue(ranks[name]) for name in CHECKED}
    # 10 tests: Bonferroni at 1% overall
    assert min(pvalues.values()) > 0.001, pvalues


@pytest.mark.slow
def test_sbc_detects_a_miscalibrated_sigma(ranks):
    """Negative control: sigma fitted with the wrong (profile) likelihood fails the same test."""
    assert uniformity_pvalue(ranks["sigma_profile"]) < 0.001

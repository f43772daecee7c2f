"""Recovery on synthetic panels with known group slopes, and partial pooling (slow).

A small repeated study: R panels from :func:`bayes_panels.simulate_panel` with fixed
group-specific (b1_g, b2_g), firm and year effects, and small SOE and West groups. The
hierarchical model is fitted to every panel at once (one NUTS chain per panel,
:func:`tradeq.models.bayes.numpyro_model.sample_batch`) with the same prior (the data-scaled
default of the first panel).

Checks: the 90% equal-tailed intervals of b1_g and b2_g contain the truth at about the
nominal rate, and the posterior means of the small groups sit closer to the population
mean than their split-sample FE OLS estimates (each group on its own, its own year
effects), with a smaller error against the truth.
"""

import numpy as np
import pytest
from bayes_panels import dummy_within, simulate_panel

from tradeq.models.bayes.design import build_group_design, sufficient_stats
from tradeq.models.bayes.numpyro_model import make_model, model_data, sample_batch

R = 24
SMALL = ["East:SOE", "Central:SOE", "West:non-SOE", "West:SOE"]


def split_sample_ols(p, g):
    """FE OLS (firm + year) of y on Market, Market², controls in group g alone: (b1, b2)."""
    rows = p.groups == g
    d = p.design
    sub = type(d)(
        y=d.y[rows], X=d.X[rows], x_names=d.x_names, fe=d.fe[rows], fe_names=d.fe_names,
        cluster=d.cluster[rows], cluster_names=(), row_id=d.row_id[rows],
    )
    gd = build_group_design(sub, None, None, "Market", within=dummy_within)
    coef = sufficient_stats(gd.Z, gd.y).coef_hat
    return coef[0], coef[1]


@pytest.fixture(scope="module")
def study():
    panels = [simulate_panel(100 + r, n_firms=400, region_p=(0.65, 0.2, 0.15), soe_p=0.15) for r in range(R)]
    prior = build_group_design(panels[0].design, panels[0].groups, panels[0].group_names, "Market", within=dummy_within).prior
    designs = [build_group_design(p.design, p.groups, p.group_names, "Market", center=4.0, within=dummy_within) for p in panels]
    datasets = [model_data(gd, sufficient_stats(gd.Z, gd.y, gd.n_eff()), rows=False) for gd in designs]
    batch = {k: np.stack([d[k] for d in datasets]) for k in datasets[0]}
    model = make_model(prior, designs[0].n_groups, center=4.0)
    post, div = sample_batch(model, batch, seed=1, draws=600, tune=500, chunk=12)
    results = []
    for r, p in enumerate(panels):
        ols = np.array([split_sample_ols(p, g) for g in range(len(p.group_names))])
        draws = {k: v[r][None] for k, v in post.items()}  # (chain=1, draw, ...)
        results.append({"panel": p, "post": draws, "ols": ols, "divergences": int(div[r].sum())})
    return results


@pytest.mark.slow
def test_90_percent_intervals_cover_the_truth(study):
    hits = []
    for res in study:
        p, post = res["panel"], res["post"]
        for name, truth in (("b1", p.b1), ("b2", p.b2)):
            lo, hi = np.quantile(post[name], [0.05, 0.95], axis=(0, 1))
            hits.append((lo <= truth) & (truth <= hi))
    hits = np.concatenate(hits)
    coverage = hits.mean()
    # 288 intervals (correlated within a panel); 0.90 nominal, binomial sd ~ 0.018
    assert 0.80 <= coverage <= 0.98, coverage
    assert sum(r["divergences"] for r in study) <= 0.01 * R * 600


@pytest.mark.slow
def test_small_groups_are_shrunk_toward_the_population_mean(study):
    names = list(study[0]["panel"].group_names)
    small = [names.index(g) for g in SMALL]
    ratio, err_bayes, err_ols = [], [], []
    for res in study:
        p, post, ols = res["panel"], res["post"], res["ols"]
        pop = post["mu_b2"].mean()
        bayes = post["b2"].mean(axis=(0, 1))
        ratio.append(np.abs(bayes[small] - pop) / np.abs(ols[small, 1] - pop))
        err_bayes.append((bayes[small] - p.b2[small]) ** 2)
        err_ols.append((ols[small, 1] - p.b2[small]) ** 2)
    ratio = np.median(np.array(ratio), axis=0)
    # every small group's estimate moves toward the population mean, typically by a lot
    assert np.all(ratio < 0.8), dict(zip(SMALL, ratio))
    assert np.median(ratio) < 0.6
    # ... and pooling pays: lower RMSE than the split-sample OLS for the small groups
    rmse_bayes = np.sqrt(np.mean(err_bayes, axis=0))
    rmse_ols = np.sqrt(np.mean(err_ols, axis=0))
    assert np.all(rmse_bayes < rmse_ols), (rmse_bayes, rmse_ols)

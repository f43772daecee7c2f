"""NumPyro and PyMC fits of the same model agree, with the same DataTree layout."""

import warnings

import arviz_stats
import numpy as np
import pytest
from bayes_panels import simulate_panel

from tradeq.models.bayes import fit_bayes

COMPARED = ["mu_slope", "mu_b2", "b1", "b2", "slope", "beta", "sigma", "mu_b1", "turning_point"]


@pytest.fixture(scope="module")
def fits():
    # Strongly identified groups (large within variation, small noise) keep the sampler
    # away from the tau funnel, so both samplers are clean and the comparison is about
    # the models, not about divergences.
    p = simulate_panel(11, n_firms=300, sigma=0.03, within_sd=0.35)
    kw = dict(
        groups=p.groups, group_names=list(p.group_names), core="Market", draws=500, tune=500, chains=4,
        target_accept=0.95, progress=False, seed=5,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fit_bayes(p.design, backend="numpyro", **kw), fit_bayes(p.design, backend="pymc", **kw)


def test_same_layout(fits):
    a, b = fits
    assert set(a.children) == set(b.children)
    for group in ("posterior", "sample_stats", "derived", "constant_data"):
        da, db = a[group].to_dataset(), b[group].to_dataset()
        assert set(da.data_vars) == set(db.data_vars), group
        for name in da.data_vars:
            assert da[name].dims == db[name].dims, (group, name)
        for coord in da.coords:
            np.testing.assert_array_equal(da[coord].values, db[coord].values)
    assert a["posterior"]["group"].values.tolist() == list(simulate_panel(11, n_firms=300).group_names)
    assert a.attrs["backend"] == "numpyro" and b.attrs["backend"] == "pymc"


def test_posterior_means_agree_within_mc_error(fits):
    a, b = fits
    pa, pb = a["posterior"].to_dataset()[COMPARED], b["posterior"].to_dataset()[COMPARED]
    diff = pa.mean(("chain", "draw")) - pb.mean(("chain", "draw"))
    se = np.sqrt(arviz_stats.mcse(pa, method="mean") ** 2 + arviz_stats.mcse(pb, method="mean") ** 2)
    z = (np.abs(diff) / se).to_array()
    assert float(z.max()) < 4.0, z.to_series().sort_values().tail()


def test_comparison_detects_a_different_model(fits):
    """Negative control: a posterior shifted by half its sd is many MC errors away."""
    a, _ = fits
    post = a["posterior"].to_dataset()
    shifted = post["b2"] + 0.5 * post["b2"].std(("chain", "draw"))
    se = np.sqrt(2.0) * arviz_stats.mcse(post[["b2"]], method="mean")["b2"]
    z = np.abs(post["b2"].mean(("chain", "draw")) - shifted.mean(("chain", "draw"))) / se
    assert float(z.min()) > 4.0

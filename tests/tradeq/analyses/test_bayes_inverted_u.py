"""inference.prior reaches the data-scaled priors; groups are the combinations present in the data."""

import numpy as np
import pandas as pd
import pytest

from tradeq.analyses.bayes_inverted_u import group_split, priors
from tradeq.formula import design_from_formula
from tradeq.panel import DataError
from tradeq.specs import InferenceSpec, PriorOptions


def small_design():
    rng = np.random.default_rng(1)
    n = 400
    df = pd.DataFrame({"firm": np.repeat(np.arange(100), 4), "year": np.tile(np.arange(4), 100),
                       "Market": rng.normal(4.2, 0.3, n), "scale": rng.normal(10, 1.5, n)})
    df["quality"] = 0.05 * df.Market - 0.006 * df.Market**2 + 0.02 * df.scale + rng.normal(0, 0.05, n)
    return df, design_from_formula(df, "quality ~ Market + I(Market**2) + scale | firm + year")


def cfg(autoscale=2.5, nu_shape=2.0, nu_rate=0.1):
    return InferenceSpec(kind="bayes", prior=PriorOptions(autoscale=autoscale, nu_shape=nu_shape, nu_rate=nu_rate))


def test_autoscale_scales_every_prior_sd_and_nu_is_passed():
    _, design = small_design()
    base, c0 = priors(design, "Market", ["scale"], cfg())
    double, c1 = priors(design, "Market", ["scale"], cfg(autoscale=5.0, nu_shape=3.0, nu_rate=0.2))
    assert c0 == c1 == pytest.approx(float(design.X[:, 0].mean()))
    assert double.slope == pytest.approx(2 * base.slope) and double.b2 == pytest.approx(2 * base.b2)
    assert double.beta[0] == pytest.approx(2 * base.beta[0])
    assert (double.nu_shape, double.nu_rate) == (3.0, 0.2)
    # the slope prior is 2.5 sd(y)/sd(x) by default (hand formula)
    y, x = design.y, design.X[:, 0]
    assert base.slope == pytest.approx(2.5 * np.std(y, ddof=1) / np.std(x, ddof=1), rel=1e-2)


def test_group_split_labels_and_missing_column():
    df = pd.DataFrame({"region": ["East", "West", "East"], "ownership": ["SOE", "non-SOE", "non-SOE"]})
    split = group_split(df, ["region", "ownership"], "f.csv")
    assert split.labels == ("East × SOE", "East × non-SOE", "West × non-SOE")
    assert split.codes.tolist() == [0, 2, 1]
    with pytest.raises(DataError, match=r"inference.groups names column\(s\) \['sector'\]"):
        group_split(df, ["sector"], "f.csv")


def test_the_caption_says_why_the_posterior_has_more_rows_than_the_fe_table():
    from types import SimpleNamespace

    import xarray as xr

    from tradeq.analyses.bayes_inverted_u import sample_sentence

    dt = xr.DataTree.from_dict({"constant_data": xr.Dataset({"n": 10_009})})
    text = sample_sentence(dt, SimpleNamespace(n_obs=9_792))
    assert "10,009 rows" in text and "9,792" in text and "217 singleton rows" in text
    assert sample_sentence(dt, SimpleNamespace(n_obs=10_009)) == ""
    assert sample_sentence(dt, None) == ""

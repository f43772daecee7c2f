"""Every ``inference.*`` setting reaches the Bayesian columns of model=heterogeneity and
model=mediation, or fails with a one-line error (issue 14, defect 8).

The options come from one builder (:mod:`tradeq.analyses.bayes_options`); these tests run the
analyses themselves: a changed prior moves the posterior, ``fail_on_warning`` turns a failed
convergence check into an error, the likelihood and sampler settings are in the posterior's
record, and the settings a model does not have are errors naming them.
"""

import dataclasses
import warnings

import numpy as np
import pytest
from test_heterogeneity import analysis_config, panel_frame
from test_mediation_analysis import _mediation_cfg, firm_panel
from test_mediation_analysis import panel as mediation_panel

from tradeq.analyses import heterogeneity, mediation
from tradeq.analyses.bayes_options import inverted_u_options, mediation_options
from tradeq.errors import ConfigError
from tradeq.models.bayes.diagnostics import ConvergenceError
from tradeq.panel import Panel
from tradeq.runinfo import Timings
from tradeq.specs import InferenceSpec, PriorOptions

FAST = ["inference.kind=bayes", "inference.draws=150", "inference.tune=150", "inference.chains=2"]


def test_every_setting_is_consumed_by_the_builder():
    """A setting added to InferenceSpec must be handled: passed on, or refused where not supported."""
    spec = InferenceSpec(kind="bayes", backend="pymc", hierarchical=False, likelihood="student_t", draws=7, tune=3,
                         chains=2, collapse=False, target_accept=0.85, fail_on_warning=True,
                         prior=PriorOptions(autoscale=1.5, nu_shape=3.0, nu_rate=0.2))
    kw = inverted_u_options(spec)
    assert kw == {"backend": "pymc", "hierarchical": False, "likelihood": "student_t", "draws": 7, "tune": 3,
                  "chains": 2, "collapse": False, "target_accept": 0.85, "raise_on_fail": True, "autoscale": 1.5,
                  "nu_shape": 3.0, "nu_rate": 0.2}
    handled = {"kind", "groups", "prior", "fail_on_warning"} | set(kw)
    assert {f.name for f in dataclasses.fields(InferenceSpec)} <= handled
    assert {f.name for f in dataclasses.fields(PriorOptions)} <= set(kw)
    good = dataclasses.replace(spec, likelihood="normal", collapse=True, prior=PriorOptions(autoscale=1.5))
    assert mediation_options(good) == {"backend": "pymc", "hierarchical": False, "draws": 7, "tune": 3, "chains": 2,
                                       "target_accept": 0.85, "raise_on_fail": True, "autoscale": 1.5}
    for bad, match in ((dataclasses.replace(good, likelihood="student_t"), "inference.likelihood=student_t"),
                       (dataclasses.replace(good, collapse=False), "inference.collapse=false"),
                       (dataclasses.replace(good, prior=PriorOptions(nu_shape=3.0)), "inference.prior.nu_shape"),
                       (dataclasses.replace(good, groups=("region",)), "inference.groups")):
        with pytest.raises(ConfigError, match=match):
            mediation_options(bad)


# --- model=heterogeneity --------------------------------------------------------------------


@pytest.fixture(scope="module")
def het_panel():
    return Panel(frame=panel_frame(3, n_firms=120, n_years=6), source="test", id="firm", time="year")


def _het(panel, *overrides):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return heterogeneity.run(panel, analysis_config(*FAST, *overrides), Timings())


def _b1(res, group="B"):
    return float(res.posterior["posterior"]["b1"].sel(group=group).mean())


def test_heterogeneity_prior_sampler_and_likelihood_reach_the_fit(het_panel):
    base = _het(het_panel)
    tight = _het(het_panel, "inference.prior.autoscale=0.0005", "inference.target_accept=0.85")
    assert base.posterior.attrs["target_accept"] == 0.9 and tight.posterior.attrs["target_accept"] == 0.85
    assert json_prior(tight)["slope"] < 1e-3 * json_prior(base)["slope"]
    assert abs(_b1(tight)) < 0.1 * abs(_b1(base))  # the prior pulls the slopes to 0
    pooled = _het(het_panel, "inference.hierarchical=false", "inference.collapse=false")
    assert pooled.posterior.attrs["model"] == "pooled inverted U"
    assert base.summary["bayes"]["likelihood_form"].startswith("normal, fixed effects integrated out")
    assert any("likelihood: normal" in n for n in base.notes)


def json_prior(res) -> dict:
    import json

    return json.loads(res.posterior.attrs["prior"])


def test_heterogeneity_student_t_uses_explicit_effects(het_panel):
    res = _het(het_panel, "inference.likelihood=student_t", "inference.prior.nu_shape=4.0")
    assert res.posterior.attrs["likelihood"] == "student_t" and json_prior(res)["nu_shape"] == 4.0
    assert "explicitly" in res.summary["bayes"]["likelihood_form"] and "nu" in res.posterior["posterior"]


def test_heterogeneity_fail_on_warning_raises(het_panel):
    with pytest.raises(ConvergenceError):
        _het(het_panel, "inference.fail_on_warning=true", "inference.draws=10", "inference.tune=3")


def test_heterogeneity_refuses_inference_groups_and_a_linear_model(het_panel):
    with pytest.raises(ConfigError, match="inference.groups"):
        _het(het_panel, "inference.groups=[region]")
    with pytest.raises(ConfigError, match="model.quadratic=false"):  # no Bayesian column was dropped silently
        _het(het_panel, "model.quadratic=false")


# --- model=mediation ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def med_panel():
    return mediation_panel(firm_panel(4, n_firms=150, n_years=5))


def _med(panel, **inference):
    cfg = _mediation_cfg(seed=2, outcome="y", treatment="x", mediator="m", controls=["w"], cluster="firm", n_boot=20)
    inf = InferenceSpec(**({"kind": "bayes", "draws": 150, "tune": 150, "chains": 2} | inference))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return mediation.run(panel, dataclasses.replace(cfg, inference=inf), Timings())


def test_mediation_prior_and_sampler_reach_the_fit(med_panel):
    base = _med(med_panel)
    tight = _med(med_panel, prior=PriorOptions(autoscale=0.0005), target_accept=0.85, backend="numpyro")
    assert tight.posterior.attrs["target_accept"] == 0.85 and tight.posterior.attrs["draws"] == 150
    a_base = float(base.posterior["posterior"]["a"].mean())
    a_tight = float(tight.posterior["posterior"]["a"].mean())
    assert a_base == pytest.approx(0.3, abs=0.1) and abs(a_tight) < 0.1 * abs(a_base)


def test_mediation_fail_on_warning_raises_and_unsupported_settings_fail(med_panel):
    with pytest.raises(ConvergenceError):
        _med(med_panel, fail_on_warning=True, draws=10, tune=3)
    with pytest.raises(ConfigError, match="inference.likelihood=student_t"):
        _med(med_panel, likelihood="student_t")
    assert np.isfinite(_med(med_panel, chains=1).posterior["posterior"]["a"].values).all()

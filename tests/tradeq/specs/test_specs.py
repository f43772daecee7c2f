"""Specs: built once from the composed config, every key checked against the chosen option's schema,
every numeric setting range-checked, with one message naming the setting."""

from pathlib import Path

import pytest
from composing import compose_config

from tradeq.config import register_configs
from tradeq.errors import ConfigError
from tradeq.specs import EstimateSpec, FESpec, InferenceSpec, MediationSpec, SyntheticFirmsSpec, estimate_spec
from tradeq.specs.fields import schema_for

CONF = Path(__file__).resolve().parents[3] / "conf"

register_configs()


def spec(*overrides):
    return estimate_spec(compose_config("estimate", overrides))


def test_the_default_spec():
    s = spec()
    assert isinstance(s, EstimateSpec) and isinstance(s.model, FESpec) and isinstance(s.data, SyntheticFirmsSpec)
    assert s.model.cluster == ("firm",) and s.model.utest == "Market" and s.data.n_obs == 594_596
    assert s.inference.kind == "fe" and s.inference.groups == ("region", "ownership")


def test_n_firms_alone_scales_the_paper_rows():
    assert spec("data.n_firms=3000").data.n_obs == round(594_596 * 3000 / 120_000)
    assert spec("data.n_firms=3000", "data.n_obs=null").data.n_obs is None
    assert spec("data.n_years=8").data.n_obs is None


@pytest.mark.parametrize("override,message", [
    (["+model.vcvo=hc1"], "model.vcvo is not a setting of model (did you mean model.vcov?)"),
    (["model=mediation", "+model.formula='y ~ x'"], "model.formula is not a setting of model; its settings are: name, title, level"),
    (["+inference.target_accept=0.99"], "inference.target_accept=0.99: is a setting of the Bayesian fit"),
    (["+data.dgp.sigma_ee=1"], "data.dgp.sigma_ee is not a setting of data.dgp (did you mean data.dgp.sigma_e?)"),
    (["+extra=1"], "extra is not a setting of estimate.py"),
])
def test_appended_keys_are_checked(override, message):
    with pytest.raises(ConfigError) as err:
        spec(*override)
    assert message in str(err.value)


@pytest.mark.parametrize("override,message", [
    ("model.level=1.5", "model.level=1.5: must be in (0, 1)"),
    ("model.level=0", "model.level=0.0: must be in (0, 1)"),
    ("model.tail_p=0.6", "model.tail_p=0.6: must be in (0, 0.5)"),
    ("model.utest_interval=[4.5,3.5]", "model.utest_interval=[4.5,3.5]: must be [low, high] with low < high"),
    ("data.n_firms=0", "data.n_firms=0: must be ≥ 2"),
    ("data.n_firms=-5", "data.n_firms=-5: must be ≥ 2"),
    ("data.n_years=1", "data.n_years=1: must be in [2, 1000]"),
    ("data.n_obs=0", "data.n_obs=0: must be ≥ 1"),
    ("output.digits=-1", "output.digits=-1: must be in [0, 12]"),
    ("seed=-1", "seed=-1: must be in [0, 4.29497e+09]"),
    ("data.dgp.error=garch", "data.dgp: error must be one of"),
    ("model.vcov=twoway", "model.cluster=[firm]: model.vcov=twoway needs two columns"),
])
def test_ranges(override, message):
    with pytest.raises(ConfigError) as err:
        spec(override)
    assert message in str(err.value)


@pytest.mark.parametrize("overrides,message", [
    (["inference=bayes", "inference.draws=0"], "inference.draws=0: must be ≥ 1"),
    (["inference=bayes", "inference.chains=-1"], "inference.chains=-1: must be in [1, 64]"),
    (["inference=bayes", "inference.tune=-1"], "inference.tune=-1: must be ≥ 0"),
    (["inference=bayes", "inference.target_accept=1.0"], "inference.target_accept=1.0: must be in (0, 1)"),
    (["inference=bayes", "inference.prior.autoscale=0"], "inference.prior.autoscale=0.0: must be > 0"),
    (["model=mediation", "model.n_boot=0"], "model.n_boot=0: must be ≥ 2"),
    (["model=mediation", "model.lag=-1"], "model.lag=-1: must be ≥ 0"),
    (["model=mediation", "model.mediator=Market"], "model.mediator=Market is the same column as model.treatment=Market"),
    (["model=mediation", "model.mediator=null"], "model.kind=mediation needs model.mediator=<column>"),
    (["model=lags", "model.lags=[0]"], "model.lags=[0]: must list lag orders ≥ 1"),
    (["model=heterogeneity", "model.split_cuts=[2010,2008]"], "model.split_cuts=[2010.0,2008.0]: must be strictly increasing"),
    (["data=file"], "data.path=null: data=file needs data.path"),
    (["data=file", "data.path=x.csv", "data.rename={a: z, b: z}"], "renames two columns onto ['z']"),
])
def test_ranges_of_other_options(overrides, message):
    with pytest.raises(ConfigError) as err:
        spec(*overrides)
    assert message in str(err.value)


def test_memory_is_estimated_before_simulating():
    with pytest.raises(ConfigError, match=r"data.n_firms=10000000: 10,000,000 firms × 10 years need about [\d.,]+ GiB"):
        spec("data.n_firms=10000000")


def test_column_settings_take_one_name_or_a_list():
    assert spec("model.cluster=firm").model.cluster == ("firm",)
    s = spec("model=mediation", "model.controls=scale", "model.cluster=null")
    assert isinstance(s.model, MediationSpec) and s.model.controls == ("scale",) and s.model.cluster == ()


def test_every_setting_is_declared_once_schema_from_spec():
    schema = schema_for(InferenceSpec)
    assert [f for f in schema.__dataclass_fields__] == [f for f in InferenceSpec.__dataclass_fields__]
    assert schema_for(InferenceSpec) is schema

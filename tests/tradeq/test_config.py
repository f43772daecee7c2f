"""Every config in conf/ composes against its schema; typos and bad choices fail loudly."""

from pathlib import Path

import pytest
from composing import compose_config
from hydra.errors import ConfigCompositionException
from omegaconf import OmegaConf
from omegaconf.errors import ConfigKeyError, ValidationError

from tradeq.config import register_configs

CONF = Path(__file__).resolve().parents[2] / "conf"
register_configs()


def group_options(group: str) -> list[str]:
    return sorted(p.stem for p in (CONF / group).glob("*.yaml"))


def _compose(overrides):
    return compose_config("estimate", overrides)


@pytest.mark.parametrize(
    "group,option",
    [(g, o) for g in ("data", "model", "inference") for o in group_options(g)]
    + [(g, o) for g in ("experiment", "debug") for o in group_options(g)],
)
def test_every_group_option_composes(group, option):
    cfg = _compose([f"{group}={option}"])
    # every value except deliberate ??? placeholders (data.path, model.formula) resolves
    container = OmegaConf.to_container(cfg, resolve=True, throw_on_missing=False)
    assert container["seed"] == cfg.seed
    if group not in ("experiment", "debug"):
        assert OmegaConf.select(cfg, group) is not None


def test_groups_are_not_empty():
    for group in ("data", "model", "inference"):
        assert group_options(group), f"conf/{group} has no options"


def test_default_is_inverted_u_on_synthetic_firms():
    cfg = _compose([])
    assert cfg.model.name == "inverted_u"
    assert cfg.model.utest == "Market"
    assert OmegaConf.get_type(cfg.data).__name__ == "SyntheticFirmsSpecConfig"
    assert cfg.data.n_obs == 594_596


def test_misspelt_key_fails():
    with pytest.raises((ConfigCompositionException, ConfigKeyError)):
        _compose(["model.vcvo=hc1"])


def test_invalid_choice_fails():
    with pytest.raises((ConfigCompositionException, ValidationError)):
        _compose(["model.vcov=robust"])


def test_wrong_type_fails():
    with pytest.raises((ConfigCompositionException, ValidationError)):
        _compose(["data.n_firms=many"])


def test_debug_preset_shrinks_the_panel_and_the_sampler():
    from tradeq.specs import estimate_spec

    spec = estimate_spec(_compose(["debug=default", "inference=both"]))
    assert spec.data.n_firms == 500 and spec.data.n_obs < 3000
    assert (spec.inference.draws, spec.inference.tune, spec.inference.chains) == (200, 200, 2)

"""The province-year panel of the industrial-cluster study (``data=synthetic_provinces``).

30 provinces (Tibet excluded, as in the papers) x 2001-2021 simulated with known truth by
:func:`tradeq.dgp.province_panel.simulate_province_panel`, its parameters under ``data.dgp.*``
(:class:`~tradeq.dgp.province_params.ProvincePanelParams`: Table 1 model 2's slopes by default;
``ic_slopes=region|break`` for Table 3's regional and 2017 slopes, ``mediators=[FMA,TE,KS]`` for
Table 4's chains). A user's province file is ``data=file data.province=<column>``
(:class:`tradeq.specs.data.FileSpec`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from tradeq.dgp.province_params import ProvincePanelParams
from tradeq.errors import ConfigError


@dataclass(frozen=True)
class SyntheticProvincesSpec:
    """The SPEC 1c province panel with the simulator's parameters ``dgp``; panel keys ``id``
    (the province's English name) and ``time``."""

    SOURCE: ClassVar[str] = "synthetic_provinces"
    id: str = "province"
    time: str = "year"
    dgp: ProvincePanelParams = field(default_factory=ProvincePanelParams)

    def __post_init__(self) -> None:
        try:
            self.dgp.validate()
        except ValueError as err:
            raise ConfigError(f"data.dgp: {err}") from None

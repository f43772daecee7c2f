"""The few-cluster and panel-estimator settings of ``model=fe`` and its presets (``model=clusters``,
``model=re``), validated once when the model spec is built.

=========================  ===================================================================
setting                    meaning
=========================  ===================================================================
``model.vcov=crv3``        the leave-one-cluster-out jackknife variance (CRV3), t(G − 1)
``model.wild``             wild cluster bootstrap p-values and intervals (``wild.json``)
``model.wild_weights``     rademacher | webb | mammen
``model.wild_reps``        bootstrap draws (all 2^G sign vectors when Rademacher and 2^G ≤ reps)
``model.wild_null``        restricted (WCR, the null imposed) | unrestricted (WCU)
``model.wild_ptype``       symmetric | equal_tailed | lower | upper
``model.hypothesis``       linear hypotheses in the terms' names, e.g. ``"IC - 2*HUM = 0.5"``
``model.influence``        per-cluster leverage and influence, effective number of clusters
``model.estimator=re``     random effects beside FE, and the Hausman tests (``hausman.json``)
``model.sample``           a row filter (a pandas query, e.g. ``"region == 'Central'"``)
=========================  ===================================================================

A setting that needs another one (``model.wild_weights=webb`` without ``model.wild=true``) or a
variance it cannot use (the wild bootstrap with two-way clustering) stops the run here with one
message naming it.
"""

from __future__ import annotations

import enum
import re
from typing import Any

from tradeq.specs.fields import check, check_range


class Estimator(enum.StrEnum):
    fe = "fe"
    re = "re"


class WildWeights(enum.StrEnum):
    rademacher = "rademacher"
    webb = "webb"
    mammen = "mammen"


class WildNull(enum.StrEnum):
    restricted = "restricted"
    unrestricted = "unrestricted"


class WildPType(enum.StrEnum):
    symmetric = "symmetric"
    equal_tailed = "equal_tailed"
    lower = "lower"
    upper = "upper"


#: The defaults of the wild bootstrap's settings (a changed one needs ``model.wild=true``).
WILD_DEFAULTS: dict[str, Any] = {"wild_weights": WildWeights.rademacher, "wild_reps": 9999,
                                 "wild_null": WildNull.restricted, "wild_ptype": WildPType.symmetric,
                                 "hypothesis": ()}

#: One linear hypothesis: a left side with at least one name, ``=`` (not ``==``), a number.
_HYPOTHESIS = re.compile(r"^(?P<lhs>[^=]*[^=\s][^=]*)=(?P<rhs>[^=]+)$")


def split_hypothesis(text: str) -> tuple[str, float]:
    """``"a - 2*b = 0.5"`` → ``("a - 2*b", 0.5)``; ``ValueError`` with the reason otherwise."""
    m = _HYPOTHESIS.match(str(text).strip())
    if not m:
        raise ValueError("must read '<linear combination of terms> = <number>', e.g. 'IC = 0' or 'IC - HUM = 0'")
    try:
        rhs = float(m.group("rhs").strip())
    except ValueError:
        raise ValueError(f"the right side {m.group('rhs').strip()!r} is not a number") from None
    return m.group("lhs").strip(), rhs


def check_fe_inference(spec) -> None:
    """Validate the few-cluster, estimator and sample settings of an :class:`~tradeq.specs.model.FESpec`."""
    vcov = str(spec.vcov)
    check_range("model.wild_reps", spec.wild_reps, 1, integer=True)
    if spec.wild:
        check(vcov in ("cluster", "crv3"), "model.wild", "true",
              f"the wild cluster bootstrap needs one cluster dimension: model.vcov=cluster or crv3 (got {vcov})")
    else:
        for key, default in WILD_DEFAULTS.items():
            value = getattr(spec, key)
            check(value == default or (key == "hypothesis" and not value), f"model.{key}", value,
                  "is a setting of the wild bootstrap, which model.wild=false does not run; add model.wild=true")
    for text in spec.hypothesis:
        try:
            split_hypothesis(text)
        except ValueError as err:
            check(False, "model.hypothesis", text, str(err))
    if spec.influence:
        check(vcov in ("cluster", "crv3"), "model.influence", "true",
              f"the cluster influence report needs one cluster dimension: model.vcov=cluster or crv3 (got {vcov})")
    if spec.estimator == Estimator.re:
        check(vcov != "twoway", "model.estimator", "re",
              "the random-effects column has an iid, hc1 or one-way clustered variance, not twoway")
    if spec.sample is not None:
        check(bool(str(spec.sample).strip()), "model.sample", spec.sample,
              "must be a row filter, e.g. model.sample=\"region == 'Central'\"")

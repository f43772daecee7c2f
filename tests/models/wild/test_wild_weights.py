"""Weight distributions: support, moments (Monte Carlo), enumeration of all sign vectors."""

from __future__ import annotations

import numpy as np
import pytest

from tradeq.models.wild.weights import (
    WEIGHT_TYPES,
    as_key,
    draw_weights,
    enumerate_signs,
    support,
    use_enumeration,
    weight_draws,
)


@pytest.mark.parametrize("kind", WEIGHT_TYPES)
def test_support_and_moments(kind):
    values, probs = support(kind)
    assert probs.sum() == pytest.approx(1.0)
    assert values @ probs == pytest.approx(0.0, abs=1e-15)
    assert values**2 @ probs == pytest.approx(1.0, rel=1e-14)
    third = {"rademacher": 0.0, "webb": 0.0, "mammen": 1.0}[kind]
    assert values**3 @ probs == pytest.approx(third, abs=1e-14)
    V = np.asarray(draw_weights(as_key(0), 0, kind=kind, G=50, size=4000)).ravel()
    assert set(np.unique(V)) <= set(values)
    n = V.size  # Monte Carlo: within 4 sd of the population moments
    assert abs(V.mean()) <= 4 / np.sqrt(n)
    assert abs((V**2).mean() - 1) <= 4 * np.sqrt((values**4 @ probs - 1) / n)
    freq = np.array([(V == v).mean() for v in values])
    assert np.all(np.abs(freq - probs) <= 4 * np.sqrt(probs * (1 - probs) / n))


def test_enumeration_lists_every_sign_vector_once():
    V = np.asarray(enumerate_signs(0, G=7, size=128))
    assert V.shape == (7, 128) and np.all(V[:, 0] == 1) and np.all(V[:, -1] == -1)
    assert len({tuple(c) for c in V.T}) == 128
    assert use_enumeration("rademacher", 7, 128) and not use_enumeration("rademacher", 7, 127)
    assert not use_enumeration("webb", 3, 10**6)
    d = weight_draws("rademacher", 7, 9999, 0, chunk=50)
    blocks = list(d.chunks())
    assert d.enumerated and d.draws == 128 and [s for s, _ in blocks] == [0, 50, 100]
    np.testing.assert_array_equal(np.concatenate([b for _, b in blocks], axis=1)[:, :128], V)
    cached = d.cached()
    assert cached.cache is not None
    np.testing.assert_array_equal(np.concatenate([b for _, b in cached.chunks()], axis=1)[:, :128], V)

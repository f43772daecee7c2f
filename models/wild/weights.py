"""Wild bootstrap weights: one draw is a vector ``v`` (G,) of cluster multipliers.

Distributions (all with mean 0 and variance 1):

* Rademacher: ``±1`` with probability 1/2 each (Davidson & Flachaire 2008). With G
  clusters there are only ``2^G`` distinct draws; when ``2^G <= reps`` all of them are
  enumerated instead of sampled (:func:`enumerate_signs`; Roodman, MacKinnon, Nielsen &
  Webb 2019, "Fast and wild", Stata Journal 19(1), section 3.3).
* Webb (6-point): ``±sqrt(1/2), ±1, ±sqrt(3/2)`` with probability 1/6 each (Webb 2023,
  "Reworking wild bootstrap-based inference for clustered errors", Canadian J. Economics
  56(3)): ``6^G`` distinct draws, the recommended choice when G is small (about 11 or less).
* Mammen (two-point): ``-(sqrt5 - 1)/2`` with probability ``(sqrt5 + 1)/(2 sqrt5)``, else
  ``(sqrt5 + 1)/2`` (Mammen 1993, Annals of Statistics 21(1)); third moment 1.

Reproducibility: draw b (counted from 0) uses the key ``jax.random.fold_in(key, b)``, so
the weights of a draw depend only on the key and b, never on how the draws are batched.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import partial
from typing import Literal

import jax
import jax.numpy as jnp
import numpy as np

WeightType = Literal["rademacher", "webb", "mammen"]
WEIGHT_TYPES: tuple[str, ...] = ("rademacher", "webb", "mammen")

_SQRT5 = float(np.sqrt(5.0))
WEBB_VALUES = np.array([-np.sqrt(1.5), -1.0, -np.sqrt(0.5), np.sqrt(0.5), 1.0, np.sqrt(1.5)])
MAMMEN_LOW, MAMMEN_HIGH = -(_SQRT5 - 1.0) / 2.0, (_SQRT5 + 1.0) / 2.0
MAMMEN_P_LOW = (_SQRT5 + 1.0) / (2.0 * _SQRT5)

#: Below this many clusters a Rademacher bootstrap has few distinct draws (2^G <= 2048):
#: the result suggests Webb weights.
FEW_CLUSTERS_WEBB = 11


def check_weights(kind: str) -> str:
    if kind not in WEIGHT_TYPES:
        raise ValueError(f"weights must be one of {WEIGHT_TYPES}; got {kind!r}")
    return kind


def support(kind: str) -> tuple[np.ndarray, np.ndarray]:
    """(values, probabilities) of one weight."""
    check_weights(kind)
    if kind == "rademacher":
        return np.array([-1.0, 1.0]), np.array([0.5, 0.5])
    if kind == "webb":
        return WEBB_VALUES.copy(), np.full(6, 1.0 / 6.0)
    return np.array([MAMMEN_LOW, MAMMEN_HIGH]), np.array([MAMMEN_P_LOW, 1.0 - MAMMEN_P_LOW])


def use_enumeration(kind: str, G: int, reps: int) -> bool:
    """Rademacher weights with ``2^G <= reps``: enumerate all sign vectors."""
    return kind == "rademacher" and G < 63 and 2**G <= reps


def as_key(key) -> jax.Array:
    """A JAX PRNG key from an int seed or a key array."""
    if isinstance(key, (int, np.integer)):
        return jax.random.key(int(key))
    return key


def _one_draw(key: jax.Array, kind: str, G: int) -> jax.Array:
    if kind == "rademacher":
        return jax.random.rademacher(key, (G,), dtype=jnp.float64)
    if kind == "webb":
        return jnp.asarray(WEBB_VALUES)[jax.random.randint(key, (G,), 0, 6)]
    low = jax.random.uniform(key, (G,), dtype=jnp.float64) < MAMMEN_P_LOW
    return jnp.where(low, MAMMEN_LOW, MAMMEN_HIGH)


@partial(jax.jit, static_argnames=("kind", "G", "size"))
def draw_weights(key: jax.Array, start, *, kind: str, G: int, size: int) -> jax.Array:
    """Weights of draws ``start .. start + size - 1`` as a (G, size) array."""
    idx = start + jnp.arange(size)
    return jax.vmap(lambda b: _one_draw(jax.random.fold_in(key, b), kind, G), out_axes=1)(idx)


@partial(jax.jit, static_argnames=("G", "size"))
def enumerate_signs(start, *, G: int, size: int) -> jax.Array:
    """Sign vectors ``start .. start + size - 1`` of the 2^G enumeration, (G, size):
    in draw b, ``v_g = 1 - 2 * bit_g(b)`` (draw 0 is all ones, the original sample)."""
    idx = (start + jnp.arange(size, dtype=jnp.int64))[None, :]
    bits = (idx >> jnp.arange(G, dtype=jnp.int64)[:, None]) & 1
    return 1.0 - 2.0 * bits.astype(jnp.float64)


#: Largest weight matrix (elements) that :meth:`WeightDraws.cached` keeps in memory.
CACHE_ELEMENTS = 1 << 23


@partial(jax.jit, static_argnames=("kind", "G", "size", "enumerate"))
def weight_block(key, start, *, kind: str, G: int, size: int, enumerate: bool) -> jax.Array:
    """(G, size) weights of draws ``start ..``: sign vectors or sampled (see above)."""
    if enumerate:
        return enumerate_signs(start, G=G, size=size)
    return draw_weights(key, start, kind=kind, G=G, size=size)


@dataclass(frozen=True)
class WeightDraws:
    """The B weight vectors of one bootstrap, produced in chunks of ``chunk`` draws (the
    last chunk padded): ``chunks()`` yields ``(start, (G, chunk) block)``. ``cached()``
    keeps the blocks, so that many hypotheses (test inversion over theta) share them."""

    kind: str
    G: int
    draws: int
    key: jax.Array
    enumerated: bool
    chunk: int
    cache: tuple | None = None

    def chunks(self):
        starts = range(0, self.draws, self.chunk)
        if self.cache is not None:
            yield from zip(starts, self.cache)
            return
        for start in starts:
            yield start, weight_block(self.key, start, kind=self.kind, G=self.G, size=self.chunk,
                                      enumerate=self.enumerated)

    def cached(self) -> WeightDraws:
        if self.cache is not None or self.G * self.draws > CACHE_ELEMENTS:
            return self
        return replace(self, cache=tuple(block for _, block in self.chunks()))


def weight_draws(kind: str, G: int, reps: int, key, chunk: int) -> WeightDraws:
    """The draws of a bootstrap with ``reps`` replications (all 2^G sign vectors when
    Rademacher and 2^G <= reps)."""
    enum = use_enumeration(check_weights(kind), G, reps)
    draws = 2**G if enum else int(reps)
    return WeightDraws(kind=kind, G=G, draws=draws, key=as_key(key), enumerated=enum, chunk=min(chunk, draws))

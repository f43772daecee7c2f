"""Named random streams: one base key, one named slot of standard draws per model component.

A simulator declares a *layout* (slot name -> shape and distribution) and receives a dict of
standard uniforms / normals, all taken from **one** flat threefry draw of the key derived
from the simulator's name. One draw rather than one per component because XLA compiles
each threefry call separately (0.2-0.8 s apiece on CPU), which dominated ``jit`` time; and a
flat counter-based draw is prefix-stable, so a slot's values depend only on the slots
before it: appending a slot leaves the existing ones unchanged. Keep every slot in the
layout whatever the configuration, so that switching an option (say the error structure)
changes only the draws that option uses.
"""

from __future__ import annotations

import math
import zlib
from typing import Mapping

import jax
import jax.numpy as jnp
from jax.scipy.special import erfinv

UNIFORM = "uniform"
NORMAL = "normal"


def name_to_int(name: str) -> int:
    """A stable 31-bit integer for ``name`` (CRC-32; Python's ``hash`` is salted per process)."""
    return zlib.crc32(name.encode("utf-8")) & 0x7FFFFFFF


def derive_key(key: jax.Array, name: str) -> jax.Array:
    """The sub-key of ``key`` reserved for ``name`` (works under ``jax.vmap`` too)."""
    return jax.random.fold_in(key, name_to_int(name))


def base_key(seed: int) -> jax.Array:
    """The base key of a simulation with integer ``seed`` (a typed threefry key)."""
    return jax.random.key(int(seed))


def draw_streams(key: jax.Array,
                 layout: Mapping[str, tuple[tuple[int, ...], str]]) -> dict[str, jax.Array]:
    """Standard draws for each slot of ``layout`` (name -> (shape, ``"uniform"|"normal"``)).

    Uniforms lie in the open interval (0, 1) with 2^-32 resolution; normals are their
    probit transform, so finite (|z| < 6.3). Slots are cut from one flat draw in layout
    order.
    """
    for name, (_, dist) in layout.items():
        if dist not in (UNIFORM, NORMAL):
            raise ValueError(f"slot {name!r}: unknown distribution {dist!r}")
    sizes = [math.prod(shape) for shape, _ in layout.values()]
    bits = jax.random.bits(key, (sum(sizes),), dtype=jnp.uint32)
    u = (bits.astype(jnp.float64) + 0.5) * 2.0**-32
    # One probit over the whole vector, materialised before slicing: otherwise XLA fuses a
    # copy of erfinv into every slot's slice and compiles each (half the compile time).
    z = jnp.sqrt(2.0) * erfinv(2.0 * u - 1.0)
    u, z = jax.lax.optimization_barrier((u, z))
    out, start = {}, 0
    for (name, (shape, dist)), size in zip(layout.items(), sizes):
        out[name] = (z if dist == NORMAL else u)[start:start + size].reshape(shape)
        start += size
    return out

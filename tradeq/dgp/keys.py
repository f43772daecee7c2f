"""Named random streams: one base key, one named slot of standard draws per model component.

A simulator declares a *layout* (slot name -> shape, distribution and, optionally, the
precision the slot is delivered in) and receives a dict of standard uniforms / normals. The
stream under the key derived from the simulator's name is threefry-2x32 of the counters
``(0, c)``, c = 0, 1, ...; each counter gives two 32-bit words ``(t1, t2)``, and both are
used: a slot of shape ``(n0, ...)`` takes the counters of ``h0 = ceil(n0 / 2)`` rows
(``h0 * prod(...)`` counters; slots laid end to end, in layout order); its first ``h0`` rows
are the ``t1`` words of those counters (row-major), its other ``n0 - h0`` rows the ``t2``
words of the first ones -- the halving of :func:`jax.extend.random.threefry_2x32`. So a
slot's values depend only on the key and on the slots before it: appending a slot leaves
the existing ones unchanged, and a slot the configuration does not use can be left out
(``skip``) without moving the others. All wanted slots are drawn by **one** threefry call
(XLA compiles each call separately) and one probit per word. Slots are declared in the
layout the simulator computes in (e.g. year-major (T, F)), so nothing is transposed
afterwards. The firm panel's layout, with each slot's precision and the reason for it, is
the table :data:`tradeq.dgp.firm_panel.streams.STREAMS`.

Precision: uniforms ``(bits + 0.5) 2^-32`` are float64 (exact); normals are the
single-precision :func:`probit` of the words, delivered as float32 or widened (exactly) to
float64, as the layout says. What the layout and the probit cost against the alternatives
that were measured is in ``docs/performance.md`` ("Monte Carlo engine"). (XLA's CPU fusions
have one output each, so the hash is evaluated once per word, in two loops: two outputs of
one pass -- a packed uint64, a variadic reduction -- were measured slower.)
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Collection, Mapping

import jax
import jax.numpy as jnp
import numpy as np

UNIFORM = "uniform"
NORMAL = "normal"
FLOAT32 = "float32"
FLOAT64 = "float64"

# Single-precision inverse error function of M. Giles, "Approximating the erfinv
# function", GPU Computing Gems Jade Edition (2011), ch. 10: erfinv(x) = x p(w) with
# w = -ln(1 - x^2), p a degree-8 polynomial in w - 2.5 (w < 5) or in sqrt(w) - 3.
_GILES_CENTRAL = (2.81022636e-08, 3.43273939e-07, -3.5233877e-06, -4.39150654e-06,
                  0.00021858087, -0.00125372503, -0.00417768164, 0.246640727, 1.50140941)
_GILES_TAIL = (-0.000200214257, 0.000100950558, 0.00134934322, -0.00367342844,
               0.00573950773, -0.0076224613, 0.00943887047, 1.00167406, 2.83297682)


def name_to_int(name: str) -> int:
    """A stable 31-bit integer for ``name`` (CRC-32; Python's ``hash`` is salted per process)."""
    return zlib.crc32(name.encode("utf-8")) & 0x7FFFFFFF


def derive_key(key: jax.Array, name: str) -> jax.Array:
    """The sub-key of ``key`` reserved for ``name`` (works under ``jax.vmap`` too)."""
    return jax.random.fold_in(key, name_to_int(name))


def base_key(seed: int) -> jax.Array:
    """The base key of a simulation with integer ``seed`` (a typed threefry key)."""
    return jax.random.key(int(seed))


#: Threefry-2x32 rotation constants, Salmon et al. (2011), Random123 (rounds 1-4, 5-8).
_ROTATIONS = ((13, 15, 26, 6), (17, 29, 16, 24))


def threefry2x32(k1: jax.Array, k2: jax.Array, x1: jax.Array, x2: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Threefry-2x32 with 20 rounds (Salmon, Moraes, Dror and Shaw 2011, "Parallel random
    numbers: as easy as 1, 2, 3"), the hash behind ``jax.random``, on uint32 arrays.

    Five groups of four rounds ``x0 += x1; x1 = rotl(x1, r) ^ x0``, each group followed by
    the key injection ``x0 += ks[g], x1 += ks[g + 1] + g`` (key schedule ``ks = (k1, k2,
    k1 ^ k2 ^ 0x1BD11BDA)``, indices mod 3). Written out as straight-line elementwise code:
    XLA fuses all 20 rounds into one pass over the counters, where JAX's CPU lowering runs
    them as a loop over the groups that writes both words out after each group. Equal bit
    for bit to :func:`jax.extend.random.threefry_2x32` (tested).
    """
    ks = (k1, k2, k1 ^ k2 ^ np.uint32(0x1BD11BDA))
    x0, x1 = x1 + ks[0], x2 + ks[1]
    for group in range(5):
        for r in _ROTATIONS[group % 2]:
            x0 = x0 + x1
            x1 = ((x1 << np.uint32(r)) | (x1 >> np.uint32(32 - r))) ^ x0
        x0 = x0 + ks[(group + 1) % 3]
        x1 = x1 + ks[(group + 2) % 3] + np.uint32(group + 1)
    return x0, x1


def counter_words(key: jax.Array, counters: jax.Array) -> tuple[jax.Array, jax.Array]:
    """The two uint32 words ``(t1, t2) = threefry2x32(key, (0, c))`` of each counter ``c``
    of ``counters`` (uint32, any shape) -- any counters, so a stream can be cut into slots
    drawn (or skipped) independently."""
    k1, k2 = jax.random.key_data(key)
    counters = counters.astype(jnp.uint32)
    # Both words written out behind one barrier: each is then one pass over the counters
    # (XLA's CPU fusions have one output, so each of the two passes runs the hash; see the
    # module docstring). Left to itself, XLA fuses the hash into every consumer of the
    # words and recomputes it there (measured slower: docs/performance.md).
    return jax.lax.optimization_barrier(threefry2x32(k1, k2, jnp.zeros_like(counters), counters))


def probit(bits: jax.Array) -> jax.Array:
    """Standard-normal quantile ``Phi^{-1}(u)`` of the uniform ``u = (bits + 0.5) 2^-32``
    of uint32 ``bits``, as float32.

    ``Phi^{-1}(u) = sqrt(2) erfinv(x)``, ``x = 2u - 1``, with Giles' single-precision
    erfinv. Everything is 32-bit, formed from the integers so nothing cancels:
    ``x = (d + 0.5) 2^-31`` with ``d = bits - 2^31``, and ``1 - x^2 = 4m(1 - m)`` with
    ``m = min(u, 1 - u) = (min(bits, ~bits) + 0.5) 2^-32``, so the tails keep their
    relative accuracy. Relative error < 5e-7 for |z| < 5.3 and < 5e-4 beyond (a
    1-in-10-million event), tested against SciPy's ``ndtri``: immaterial for simulation,
    and several times cheaper than double-precision erfinv, which dominated the
    simulator's cost. With no 64-bit value in it, XLA's CPU loop runs 16 lanes wide
    under the engine's compiler options (:mod:`tradeq.cpu_compiler_options`), and its
    float32 output halves the memory traffic (``docs/performance.md``).
    """
    bits = bits.astype(jnp.uint32)
    d = jax.lax.bitcast_convert_type(bits ^ np.uint32(0x80000000), jnp.int32)
    x = (d.astype(jnp.float32) + np.float32(0.5)) * np.float32(2.0**-31)
    m = (jnp.minimum(bits, ~bits).astype(jnp.float32) + np.float32(0.5)) * np.float32(2.0**-32)
    w = -jnp.log(np.float32(4.0) * m * (np.float32(1.0) - m))
    central, tail = w - np.float32(2.5), jnp.sqrt(w) - np.float32(3.0)
    p_c, p_t = np.float32(_GILES_CENTRAL[0]), np.float32(_GILES_TAIL[0])
    for c_c, c_t in zip(_GILES_CENTRAL[1:], _GILES_TAIL[1:]):
        p_c, p_t = np.float32(c_c) + p_c * central, np.float32(c_t) + p_t * tail
    erfinv = jnp.where(w < np.float32(5.0), p_c, p_t) * x
    return np.float32(math.sqrt(2.0)) * erfinv


def _slot_spec(name: str, spec: tuple) -> tuple[tuple[int, ...], str, str]:
    """``(shape, dist)`` or ``(shape, dist, dtype)`` of a layout entry, checked; dtype
    defaults to float64."""
    shape, dist, dtype = (*spec, FLOAT64) if len(spec) == 2 else spec
    shape = tuple(int(d) for d in shape)
    if dist not in (UNIFORM, NORMAL):
        raise ValueError(f"slot {name!r}: unknown distribution {dist!r}")
    if not shape:
        raise ValueError(f"slot {name!r}: a slot needs at least one axis")
    if dtype not in (FLOAT32, FLOAT64) or (dist == UNIFORM and dtype != FLOAT64):
        raise ValueError(f"slot {name!r}: a {dist} slot is delivered as "
                         f"{'float64' if dist == UNIFORM else 'float32 or float64'}, not {dtype!r}")
    return shape, dist, dtype


def draw_streams(key: jax.Array, layout: Mapping[str, tuple], skip: Collection[str] = ()) -> dict[str, jax.Array]:
    """Standard draws for each slot of ``layout`` (name -> (shape, ``"uniform"|"normal"``[,
    ``"float32"|"float64"``])); the module docstring says which threefry words a slot holds.

    Uniforms ``(bits + 0.5) 2^-32`` lie in the open interval (0, 1), as float64; normals are
    their :func:`probit`, so finite (|z| < 6.3), as float32 or (the default) widened to
    float64. Slots named in ``skip`` are not drawn (and not returned); the others are the
    same with or without the skip.
    """
    unknown = set(skip) - set(layout)
    if unknown:
        raise ValueError(f"skip names slots not in the layout: {sorted(unknown)}")
    start, slots = 0, []
    for name, spec in layout.items():
        shape, dist, dtype = _slot_spec(name, spec)
        half = (-(-shape[0] // 2),) + shape[1:]  # the rows whose counters the slot takes
        if name not in skip:
            slots.append((name, shape, dist, half, start, dtype))
        start += math.prod(half)
    if start >= 2**32:
        raise ValueError(f"layout needs {start} counters, more than a 32-bit counter holds")
    # uniform slots first, so one probit per word covers one contiguous tail of the draw
    slots.sort(key=lambda s: s[2] == NORMAL)
    counters = np.concatenate([c0 + np.arange(math.prod(half), dtype=np.uint32)
                               for _, _, _, half, c0, _ in slots] or [np.zeros(0, np.uint32)])
    n_uniform = sum(math.prod(half) for _, _, dist, half, _, _ in slots if dist == UNIFORM)
    words = []
    for bits in counter_words(key, jnp.asarray(counters)):
        u = (bits[:n_uniform].astype(jnp.float64) + 0.5) * 2.0**-32
        # The probit's float32 log is computed by different code in vectorised and scalar
        # loops; fused into its consumers, which elements take which path would depend on
        # the program around it. Materialised as this one flat array, every program
        # (standalone, batched, any chunk size) gives a draw the same bits.
        words.append((u, jax.lax.optimization_barrier(probit(bits[n_uniform:]))))
    out, pos = {}, 0
    for name, shape, dist, half, _, dtype in slots:
        size, normal = math.prod(half), dist == NORMAL
        lo = pos - n_uniform if normal else pos
        first, second = (w[normal][lo:lo + size].reshape(half) for w in words)
        out[name] = jnp.concatenate([first, second[:shape[0] - half[0]]], axis=0).astype(dtype)
        pos += size
    return out

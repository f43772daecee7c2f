"""Host buffers that JAX on CPU reads without a copy.

XLA's CPU client adopts a NumPy buffer zero-copy only when its data start on a 64-byte
boundary; NumPy's allocator guarantees 16. Every (n, p) block the fixed-effects core hands
to a jitted function is therefore allocated here.
"""

from __future__ import annotations

import gc

import numpy as np

_ALIGN = 64


def aligned_empty(shape, dtype=np.float64) -> np.ndarray:
    """Uninitialised C-ordered array whose data start on a 64-byte boundary."""
    dtype = np.dtype(dtype)
    nbytes = int(np.prod(shape)) * dtype.itemsize
    raw = np.empty(nbytes + _ALIGN, dtype=np.uint8)
    off = (-raw.ctypes.data) % _ALIGN
    return raw[off : off + nbytes].view(dtype).reshape(shape)


def is_aligned(a: np.ndarray) -> bool:
    """C-contiguous with data on a 64-byte boundary."""
    return bool(a.flags.c_contiguous and a.ctypes.data % _ALIGN == 0)


def as_aligned(a: np.ndarray, dtype=None) -> np.ndarray:
    """``a`` itself when C-contiguous and 64-byte aligned (and of ``dtype``), else an aligned copy."""
    a = np.asarray(a) if dtype is None else np.asarray(a, dtype=dtype)
    if is_aligned(a):
        return a
    out = aligned_empty(a.shape, a.dtype)
    out[...] = a
    return out


def release_host_buffers() -> None:
    """Let JAX drop the NumPy buffers it adopted without a copy, now.

    When a jitted function reads an aligned NumPy array zero-copy, JAX keeps a reference to
    it until the computation has finished and then drops it only from a garbage-collection
    callback (``jax._src.lib._xla_gc_callback``), so a dead (n, p) block can stay resident
    until the interpreter next collects. A young-generation collection runs the callback
    and is cheap (it only visits the youngest objects). The fixed-effects fit calls it when
    its large blocks die and again when it starts: the release of the last computations'
    references can lag their results, so the second call is the one that frees an earlier
    fit's blocks before this fit allocates its own.
    """
    gc.collect(0)

"""Compiled sample-by-sample kernels.

Only numba loops live here. They take preallocated C-contiguous arrays, update
the filter state in place and never raise for user input: the public wrappers
in :mod:`eq.streaming` validate everything first.

The filter is the transposed direct form II of scipy's ``sosfilt``, in float64,
one state pair ``(z1, z2)`` per section per channel::

    y  = b0*x + z1
    z1 = b1*x + z2 - a1*y
    z2 = b2*x - a2*y

Audio is processed in tiles of a few thousand samples: a tile is decoded into a
float64 scratch array (one row per channel), every section runs over it, and it
is encoded back. Within a tile the sections are fused ``MAX_FUSED_SECTIONS`` at a
time by the ``_cascadeK`` kernels, written out per K so that the state lives in
registers rather than memory (array-held state measured about 2x slower):
consecutive sections of one sample then overlap in the out-of-order core
instead of waiting on a store and a load. The grouping depends only on the
number of sections, so the arithmetic for every sample is the same whatever
the chunking, and the output is bit-identical for any split of the stream.
"""

import numpy as np
from numba import njit

# Contraction to FMA only: no reassociation, so results do not depend on
# vector width or loop remainders, and stay within rounding of the oracle.
_FASTMATH = {"contract"}

MAX_FUSED_SECTIONS = 8
"""Sections fused in one pass over a tile."""

TILE_SAMPLES = 2048
"""Samples (all channels) per tile: 16 KiB of float64, well inside L1."""

# Format codes: keep in sync with eq/formats.py.
U8, S8, S16LE, S16BE, S24LE, S24BE, S32LE, S32BE = 0, 1, 2, 3, 4, 5, 6, 7


@njit(cache=True, nogil=True, fastmath=_FASTMATH)
def _cascade1(buf, n, sos, zi, s, c):  # pragma: no cover - compiled
    """Run sections s..s+0 over buf[:n] for channel c (state in registers)."""
    b0_0, b1_0, b2_0 = sos[s + 0, 0], sos[s + 0, 1], sos[s + 0, 2]
    a1_0, a2_0 = sos[s + 0, 4], sos[s + 0, 5]
    z1_0, z2_0 = zi[s + 0, c, 0], zi[s + 0, c, 1]
    for i in range(n):
        x = buf[i]
        y = b0_0 * x + z1_0
        z1_0 = (b1_0 * x + z2_0) - a1_0 * y
        z2_0 = b2_0 * x - a2_0 * y
        buf[i] = y
    zi[s + 0, c, 0], zi[s + 0, c, 1] = z1_0, z2_0


@njit(cache=True, nogil=True, fastmath=_FASTMATH)
def _cascade2(buf, n, sos, zi, s, c):  # pragma: no cover - compiled
    """Run sections s..s+1 over buf[:n] for channel c (state in registers)."""
    b0_0, b1_0, b2_0 = sos[s + 0, 0], sos[s + 0, 1], sos[s + 0, 2]
    a1_0, a2_0 = sos[s + 0, 4], sos[s + 0, 5]
    z1_0, z2_0 = zi[s + 0, c, 0], zi[s + 0, c, 1]
    b0_1, b1_1, b2_1 = sos[s + 1, 0], sos[s + 1, 1], sos[s + 1, 2]
    a1_1, a2_1 = sos[s + 1, 4], sos[s + 1, 5]
    z1_1, z2_1 = zi[s + 1, c, 0], zi[s + 1, c, 1]
    for i in range(n):
        x = buf[i]
        y = b0_0 * x + z1_0
        z1_0 = (b1_0 * x + z2_0) - a1_0 * y
        z2_0 = b2_0 * x - a2_0 * y
        x = y
        y = b0_1 * x + z1_1
        z1_1 = (b1_1 * x + z2_1) - a1_1 * y
        z2_1 = b2_1 * x - a2_1 * y
        buf[i] = y
    zi[s + 0, c, 0], zi[s + 0, c, 1] = z1_0, z2_0
    zi[s + 1, c, 0], zi[s + 1, c, 1] = z1_1, z2_1


@njit(cache=True, nogil=True, fastmath=_FASTMATH)
def _cascade3(buf, n, sos, zi, s, c):  # pragma: no cover - compiled
    """Run sections s..s+2 over buf[:n] for channel c (state in registers)."""
    b0_0, b1_0, b2_0 = sos[s + 0, 0], sos[s + 0, 1], sos[s + 0, 2]
    a1_0, a2_0 = sos[s + 0, 4], sos[s + 0, 5]
    z1_0, z2_0 = zi[s + 0, c, 0], zi[s + 0, c, 1]
    b0_1, b1_1, b2_1 = sos[s + 1, 0], sos[s + 1, 1], sos[s + 1, 2]
    a1_1, a2_1 = sos[s + 1, 4], sos[s + 1, 5]
    z1_1, z2_1 = zi[s + 1, c, 0], zi[s + 1, c, 1]
    b0_2, b1_2, b2_2 = sos[s + 2, 0], sos[s + 2, 1], sos[s + 2, 2]
    a1_2, a2_2 = sos[s + 2, 4], sos[s + 2, 5]
    z1_2, z2_2 = zi[s + 2, c, 0], zi[s + 2, c, 1]
    for i in range(n):
        x = buf[i]
        y = b0_0 * x + z1_0
        z1_0 = (b1_0 * x + z2_0) - a1_0 * y
        z2_0 = b2_0 * x - a2_0 * y
        x = y
        y = b0_1 * x + z1_1
        z1_1 = (b1_1 * x + z2_1) - a1_1 * y
        z2_1 = b2_1 * x - a2_1 * y
        x = y
        y = b0_2 * x + z1_2
        z1_2 = (b1_2 * x + z2_2) - a1_2 * y
        z2_2 = b2_2 * x - a2_2 * y
        buf[i] = y
    zi[s + 0, c, 0], zi[s + 0, c, 1] = z1_0, z2_0
    zi[s + 1, c, 0], zi[s + 1, c, 1] = z1_1, z2_1
    zi[s + 2, c, 0], zi[s + 2, c, 1] = z1_2, z2_2


@njit(cache=True, nogil=True, fastmath=_FASTMATH)
def _cascade4(buf, n, sos, zi, s, c):  # pragma: no cover - compiled
    """Run sections s..s+3 over buf[:n] for channel c (state in registers)."""
    b0_0, b1_0, b2_0 = sos[s + 0, 0], sos[s + 0, 1], sos[s + 0, 2]
    a1_0, a2_0 = sos[s + 0, 4], sos[s + 0, 5]
    z1_0, z2_0 = zi[s + 0, c, 0], zi[s + 0, c, 1]
    b0_1, b1_1, b2_1 = sos[s + 1, 0], sos[s + 1, 1], sos[s + 1, 2]
    a1_1, a2_1 = sos[s + 1, 4], sos[s + 1, 5]
    z1_1, z2_1 = zi[s + 1, c, 0], zi[s + 1, c, 1]
    b0_2, b1_2, b2_2 = sos[s + 2, 0], sos[s + 2, 1], sos[s + 2, 2]
    a1_2, a2_2 = sos[s + 2, 4], sos[s + 2, 5]
    z1_2, z2_2 = zi[s + 2, c, 0], zi[s + 2, c, 1]
    b0_3, b1_3, b2_3 = sos[s + 3, 0], sos[s + 3, 1], sos[s + 3, 2]
    a1_3, a2_3 = sos[s + 3, 4], sos[s + 3, 5]
    z1_3, z2_3 = zi[s + 3, c, 0], zi[s + 3, c, 1]
    for i in range(n):
        x = buf[i]
        y = b0_0 * x + z1_0
        z1_0 = (b1_0 * x + z2_0) - a1_0 * y
        z2_0 = b2_0 * x - a2_0 * y
        x = y
        y = b0_1 * x + z1_1
        z1_1 = (b1_1 * x + z2_1) - a1_1 * y
        z2_1 = b2_1 * x - a2_1 * y
        x = y
        y = b0_2 * x + z1_2
        z1_2 = (b1_2 * x + z2_2) - a1_2 * y
        z2_2 = b2_2 * x - a2_2 * y
        x = y
        y = b0_3 * x + z1_3
        z1_3 = (b1_3 * x + z2_3) - a1_3 * y
        z2_3 = b2_3 * x - a2_3 * y
        buf[i] = y
    zi[s + 0, c, 0], zi[s + 0, c, 1] = z1_0, z2_0
    zi[s + 1, c, 0], zi[s + 1, c, 1] = z1_1, z2_1
    zi[s + 2, c, 0], zi[s + 2, c, 1] = z1_2, z2_2
    zi[s + 3, c, 0], zi[s + 3, c, 1] = z1_3, z2_3


@njit(cache=True, nogil=True, fastmath=_FASTMATH)
def _cascade5(buf, n, sos, zi, s, c):  # pragma: no cover - compiled
    """Run sections s..s+4 over buf[:n] for channel c (state in registers)."""
    b0_0, b1_0, b2_0 = sos[s + 0, 0], sos[s + 0, 1], sos[s + 0, 2]
    a1_0, a2_0 = sos[s + 0, 4], sos[s + 0, 5]
    z1_0, z2_0 = zi[s + 0, c, 0], zi[s + 0, c, 1]
    b0_1, b1_1, b2_1 = sos[s + 1, 0], sos[s + 1, 1], sos[s + 1, 2]
    a1_1, a2_1 = sos[s + 1, 4], sos[s + 1, 5]
    z1_1, z2_1 = zi[s + 1, c, 0], zi[s + 1, c, 1]
    b0_2, b1_2, b2_2 = sos[s + 2, 0], sos[s + 2, 1], sos[s + 2, 2]
    a1_2, a2_2 = sos[s + 2, 4], sos[s + 2, 5]
    z1_2, z2_2 = zi[s + 2, c, 0], zi[s + 2, c, 1]
    b0_3, b1_3, b2_3 = sos[s + 3, 0], sos[s + 3, 1], sos[s + 3, 2]
    a1_3, a2_3 = sos[s + 3, 4], sos[s + 3, 5]
    z1_3, z2_3 = zi[s + 3, c, 0], zi[s + 3, c, 1]
    b0_4, b1_4, b2_4 = sos[s + 4, 0], sos[s + 4, 1], sos[s + 4, 2]
    a1_4, a2_4 = sos[s + 4, 4], sos[s + 4, 5]
    z1_4, z2_4 = zi[s + 4, c, 0], zi[s + 4, c, 1]
    for i in range(n):
        x = buf[i]
        y = b0_0 * x + z1_0
        z1_0 = (b1_0 * x + z2_0) - a1_0 * y
        z2_0 = b2_0 * x - a2_0 * y
        x = y
        y = b0_1 * x + z1_1
        z1_1 = (b1_1 * x + z2_1) - a1_1 * y
        z2_1 = b2_1 * x - a2_1 * y
        x = y
        y = b0_2 * x + z1_2
        z1_2 = (b1_2 * x + z2_2) - a1_2 * y
        z2_2 = b2_2 * x - a2_2 * y
        x = y
        y = b0_3 * x + z1_3
        z1_3 = (b1_3 * x + z2_3) - a1_3 * y
        z2_3 = b2_3 * x - a2_3 * y
        x = y
        y = b0_4 * x + z1_4
        z1_4 = (b1_4 * x + z2_4) - a1_4 * y
        z2_4 = b2_4 * x - a2_4 * y
        buf[i] = y
    zi[s + 0, c, 0], zi[s + 0, c, 1] = z1_0, z2_0
    zi[s + 1, c, 0], zi[s + 1, c, 1] = z1_1, z2_1
    zi[s + 2, c, 0], zi[s + 2, c, 1] = z1_2, z2_2
    zi[s + 3, c, 0], zi[s + 3, c, 1] = z1_3, z2_3
    zi[s + 4, c, 0], zi[s + 4, c, 1] = z1_4, z2_4


@njit(cache=True, nogil=True, fastmath=_FASTMATH)
def _cascade6(buf, n, sos, zi, s, c):  # pragma: no cover - compiled
    """Run sections s..s+5 over buf[:n] for channel c (state in registers)."""
    b0_0, b1_0, b2_0 = sos[s + 0, 0], sos[s + 0, 1], sos[s + 0, 2]
    a1_0, a2_0 = sos[s + 0, 4], sos[s + 0, 5]
    z1_0, z2_0 = zi[s + 0, c, 0], zi[s + 0, c, 1]
    b0_1, b1_1, b2_1 = sos[s + 1, 0], sos[s + 1, 1], sos[s + 1, 2]
    a1_1, a2_1 = sos[s + 1, 4], sos[s + 1, 5]
    z1_1, z2_1 = zi[s + 1, c, 0], zi[s + 1, c, 1]
    b0_2, b1_2, b2_2 = sos[s + 2, 0], sos[s + 2, 1], sos[s + 2, 2]
    a1_2, a2_2 = sos[s + 2, 4], sos[s + 2, 5]
    z1_2, z2_2 = zi[s + 2, c, 0], zi[s + 2, c, 1]
    b0_3, b1_3, b2_3 = sos[s + 3, 0], sos[s + 3, 1], sos[s + 3, 2]
    a1_3, a2_3 = sos[s + 3, 4], sos[s + 3, 5]
    z1_3, z2_3 = zi[s + 3, c, 0], zi[s + 3, c, 1]
    b0_4, b1_4, b2_4 = sos[s + 4, 0], sos[s + 4, 1], sos[s + 4, 2]
    a1_4, a2_4 = sos[s + 4, 4], sos[s + 4, 5]
    z1_4, z2_4 = zi[s + 4, c, 0], zi[s + 4, c, 1]
    b0_5, b1_5, b2_5 = sos[s + 5, 0], sos[s + 5, 1], sos[s + 5, 2]
    a1_5, a2_5 = sos[s + 5, 4], sos[s + 5, 5]
    z1_5, z2_5 = zi[s + 5, c, 0], zi[s + 5, c, 1]
    for i in range(n):
        x = buf[i]
        y = b0_0 * x + z1_0
        z1_0 = (b1_0 * x + z2_0) - a1_0 * y
        z2_0 = b2_0 * x - a2_0 * y
        x = y
        y = b0_1 * x + z1_1
        z1_1 = (b1_1 * x + z2_1) - a1_1 * y
        z2_1 = b2_1 * x - a2_1 * y
        x = y
        y = b0_2 * x + z1_2
        z1_2 = (b1_2 * x + z2_2) - a1_2 * y
        z2_2 = b2_2 * x - a2_2 * y
        x = y
        y = b0_3 * x + z1_3
        z1_3 = (b1_3 * x + z2_3) - a1_3 * y
        z2_3 = b2_3 * x - a2_3 * y
        x = y
        y = b0_4 * x + z1_4
        z1_4 = (b1_4 * x + z2_4) - a1_4 * y
        z2_4 = b2_4 * x - a2_4 * y
        x = y
        y = b0_5 * x + z1_5
        z1_5 = (b1_5 * x + z2_5) - a1_5 * y
        z2_5 = b2_5 * x - a2_5 * y
        buf[i] = y
    zi[s + 0, c, 0], zi[s + 0, c, 1] = z1_0, z2_0
    zi[s + 1, c, 0], zi[s + 1, c, 1] = z1_1, z2_1
    zi[s + 2, c, 0], zi[s + 2, c, 1] = z1_2, z2_2
    zi[s + 3, c, 0], zi[s + 3, c, 1] = z1_3, z2_3
    zi[s + 4, c, 0], zi[s + 4, c, 1] = z1_4, z2_4
    zi[s + 5, c, 0], zi[s + 5, c, 1] = z1_5, z2_5


@njit(cache=True, nogil=True, fastmath=_FASTMATH)
def _cascade7(buf, n, sos, zi, s, c):  # pragma: no cover - compiled
    """Run sections s..s+6 over buf[:n] for channel c (state in registers)."""
    b0_0, b1_0, b2_0 = sos[s + 0, 0], sos[s + 0, 1], sos[s + 0, 2]
    a1_0, a2_0 = sos[s + 0, 4], sos[s + 0, 5]
    z1_0, z2_0 = zi[s + 0, c, 0], zi[s + 0, c, 1]
    b0_1, b1_1, b2_1 = sos[s + 1, 0], sos[s + 1, 1], sos[s + 1, 2]
    a1_1, a2_1 = sos[s + 1, 4], sos[s + 1, 5]
    z1_1, z2_1 = zi[s + 1, c, 0], zi[s + 1, c, 1]
    b0_2, b1_2, b2_2 = sos[s + 2, 0], sos[s + 2, 1], sos[s + 2, 2]
    a1_2, a2_2 = sos[s + 2, 4], sos[s + 2, 5]
    z1_2, z2_2 = zi[s + 2, c, 0], zi[s + 2, c, 1]
    b0_3, b1_3, b2_3 = sos[s + 3, 0], sos[s + 3, 1], sos[s + 3, 2]
    a1_3, a2_3 = sos[s + 3, 4], sos[s + 3, 5]
    z1_3, z2_3 = zi[s + 3, c, 0], zi[s + 3, c, 1]
    b0_4, b1_4, b2_4 = sos[s + 4, 0], sos[s + 4, 1], sos[s + 4, 2]
    a1_4, a2_4 = sos[s + 4, 4], sos[s + 4, 5]
    z1_4, z2_4 = zi[s + 4, c, 0], zi[s + 4, c, 1]
    b0_5, b1_5, b2_5 = sos[s + 5, 0], sos[s + 5, 1], sos[s + 5, 2]
    a1_5, a2_5 = sos[s + 5, 4], sos[s + 5, 5]
    z1_5, z2_5 = zi[s + 5, c, 0], zi[s + 5, c, 1]
    b0_6, b1_6, b2_6 = sos[s + 6, 0], sos[s + 6, 1], sos[s + 6, 2]
    a1_6, a2_6 = sos[s + 6, 4], sos[s + 6, 5]
    z1_6, z2_6 = zi[s + 6, c, 0], zi[s + 6, c, 1]
    for i in range(n):
        x = buf[i]
        y = b0_0 * x + z1_0
        z1_0 = (b1_0 * x + z2_0) - a1_0 * y
        z2_0 = b2_0 * x - a2_0 * y
        x = y
        y = b0_1 * x + z1_1
        z1_1 = (b1_1 * x + z2_1) - a1_1 * y
        z2_1 = b2_1 * x - a2_1 * y
        x = y
        y = b0_2 * x + z1_2
        z1_2 = (b1_2 * x + z2_2) - a1_2 * y
        z2_2 = b2_2 * x - a2_2 * y
        x = y
        y = b0_3 * x + z1_3
        z1_3 = (b1_3 * x + z2_3) - a1_3 * y
        z2_3 = b2_3 * x - a2_3 * y
        x = y
        y = b0_4 * x + z1_4
        z1_4 = (b1_4 * x + z2_4) - a1_4 * y
        z2_4 = b2_4 * x - a2_4 * y
        x = y
        y = b0_5 * x + z1_5
        z1_5 = (b1_5 * x + z2_5) - a1_5 * y
        z2_5 = b2_5 * x - a2_5 * y
        x = y
        y = b0_6 * x + z1_6
        z1_6 = (b1_6 * x + z2_6) - a1_6 * y
        z2_6 = b2_6 * x - a2_6 * y
        buf[i] = y
    zi[s + 0, c, 0], zi[s + 0, c, 1] = z1_0, z2_0
    zi[s + 1, c, 0], zi[s + 1, c, 1] = z1_1, z2_1
    zi[s + 2, c, 0], zi[s + 2, c, 1] = z1_2, z2_2
    zi[s + 3, c, 0], zi[s + 3, c, 1] = z1_3, z2_3
    zi[s + 4, c, 0], zi[s + 4, c, 1] = z1_4, z2_4
    zi[s + 5, c, 0], zi[s + 5, c, 1] = z1_5, z2_5
    zi[s + 6, c, 0], zi[s + 6, c, 1] = z1_6, z2_6


@njit(cache=True, nogil=True, fastmath=_FASTMATH)
def _cascade8(buf, n, sos, zi, s, c):  # pragma: no cover - compiled
    """Run sections s..s+7 over buf[:n] for channel c (state in registers)."""
    b0_0, b1_0, b2_0 = sos[s + 0, 0], sos[s + 0, 1], sos[s + 0, 2]
    a1_0, a2_0 = sos[s + 0, 4], sos[s + 0, 5]
    z1_0, z2_0 = zi[s + 0, c, 0], zi[s + 0, c, 1]
    b0_1, b1_1, b2_1 = sos[s + 1, 0], sos[s + 1, 1], sos[s + 1, 2]
    a1_1, a2_1 = sos[s + 1, 4], sos[s + 1, 5]
    z1_1, z2_1 = zi[s + 1, c, 0], zi[s + 1, c, 1]
    b0_2, b1_2, b2_2 = sos[s + 2, 0], sos[s + 2, 1], sos[s + 2, 2]
    a1_2, a2_2 = sos[s + 2, 4], sos[s + 2, 5]
    z1_2, z2_2 = zi[s + 2, c, 0], zi[s + 2, c, 1]
    b0_3, b1_3, b2_3 = sos[s + 3, 0], sos[s + 3, 1], sos[s + 3, 2]
    a1_3, a2_3 = sos[s + 3, 4], sos[s + 3, 5]
    z1_3, z2_3 = zi[s + 3, c, 0], zi[s + 3, c, 1]
    b0_4, b1_4, b2_4 = sos[s + 4, 0], sos[s + 4, 1], sos[s + 4, 2]
    a1_4, a2_4 = sos[s + 4, 4], sos[s + 4, 5]
    z1_4, z2_4 = zi[s + 4, c, 0], zi[s + 4, c, 1]
    b0_5, b1_5, b2_5 = sos[s + 5, 0], sos[s + 5, 1], sos[s + 5, 2]
    a1_5, a2_5 = sos[s + 5, 4], sos[s + 5, 5]
    z1_5, z2_5 = zi[s + 5, c, 0], zi[s + 5, c, 1]
    b0_6, b1_6, b2_6 = sos[s + 6, 0], sos[s + 6, 1], sos[s + 6, 2]
    a1_6, a2_6 = sos[s + 6, 4], sos[s + 6, 5]
    z1_6, z2_6 = zi[s + 6, c, 0], zi[s + 6, c, 1]
    b0_7, b1_7, b2_7 = sos[s + 7, 0], sos[s + 7, 1], sos[s + 7, 2]
    a1_7, a2_7 = sos[s + 7, 4], sos[s + 7, 5]
    z1_7, z2_7 = zi[s + 7, c, 0], zi[s + 7, c, 1]
    for i in range(n):
        x = buf[i]
        y = b0_0 * x + z1_0
        z1_0 = (b1_0 * x + z2_0) - a1_0 * y
        z2_0 = b2_0 * x - a2_0 * y
        x = y
        y = b0_1 * x + z1_1
        z1_1 = (b1_1 * x + z2_1) - a1_1 * y
        z2_1 = b2_1 * x - a2_1 * y
        x = y
        y = b0_2 * x + z1_2
        z1_2 = (b1_2 * x + z2_2) - a1_2 * y
        z2_2 = b2_2 * x - a2_2 * y
        x = y
        y = b0_3 * x + z1_3
        z1_3 = (b1_3 * x + z2_3) - a1_3 * y
        z2_3 = b2_3 * x - a2_3 * y
        x = y
        y = b0_4 * x + z1_4
        z1_4 = (b1_4 * x + z2_4) - a1_4 * y
        z2_4 = b2_4 * x - a2_4 * y
        x = y
        y = b0_5 * x + z1_5
        z1_5 = (b1_5 * x + z2_5) - a1_5 * y
        z2_5 = b2_5 * x - a2_5 * y
        x = y
        y = b0_6 * x + z1_6
        z1_6 = (b1_6 * x + z2_6) - a1_6 * y
        z2_6 = b2_6 * x - a2_6 * y
        x = y
        y = b0_7 * x + z1_7
        z1_7 = (b1_7 * x + z2_7) - a1_7 * y
        z2_7 = b2_7 * x - a2_7 * y
        buf[i] = y
    zi[s + 0, c, 0], zi[s + 0, c, 1] = z1_0, z2_0
    zi[s + 1, c, 0], zi[s + 1, c, 1] = z1_1, z2_1
    zi[s + 2, c, 0], zi[s + 2, c, 1] = z1_2, z2_2
    zi[s + 3, c, 0], zi[s + 3, c, 1] = z1_3, z2_3
    zi[s + 4, c, 0], zi[s + 4, c, 1] = z1_4, z2_4
    zi[s + 5, c, 0], zi[s + 5, c, 1] = z1_5, z2_5
    zi[s + 6, c, 0], zi[s + 6, c, 1] = z1_6, z2_6
    zi[s + 7, c, 0], zi[s + 7, c, 1] = z1_7, z2_7



@njit(cache=True, nogil=True)
def _filter_tile(tile, m, sos, zi):  # pragma: no cover - compiled
    """Filter ``tile[c, :m]`` for every channel through all sections, in order."""
    n_sections = sos.shape[0]
    if n_sections == 0:
        return
    n_groups = (n_sections + MAX_FUSED_SECTIONS - 1) // MAX_FUSED_SECTIONS
    for c in range(tile.shape[0]):
        buf = tile[c]
        s = 0
        for g in range(n_groups):
            # Near-equal groups (9 sections -> 5 + 4, not 8 + 1): a lone
            # section is latency-bound, a group of several is not.
            k = (n_sections - s) // (n_groups - g)
            if k == 1:
                _cascade1(buf, m, sos, zi, s, c)
            elif k == 2:
                _cascade2(buf, m, sos, zi, s, c)
            elif k == 3:
                _cascade3(buf, m, sos, zi, s, c)
            elif k == 4:
                _cascade4(buf, m, sos, zi, s, c)
            elif k == 5:
                _cascade5(buf, m, sos, zi, s, c)
            elif k == 6:
                _cascade6(buf, m, sos, zi, s, c)
            elif k == 7:
                _cascade7(buf, m, sos, zi, s, c)
            else:
                _cascade8(buf, m, sos, zi, s, c)
            s += k


@njit(cache=True, nogil=True)
def _decode_int(src, base, m, channels, code, gain, tile):  # pragma: no cover - compiled
    """Decode ``m`` interleaved integer frames starting at byte ``base`` into ``tile``."""
    j = base
    if code == S16LE:
        for i in range(m):
            for c in range(channels):
                v = np.int64(src[j]) | (np.int64(src[j + 1]) << 8)
                tile[c, i] = (v - ((v & 0x8000) << 1)) * gain
                j += 2
    elif code == S16BE:
        for i in range(m):
            for c in range(channels):
                v = (np.int64(src[j]) << 8) | np.int64(src[j + 1])
                tile[c, i] = (v - ((v & 0x8000) << 1)) * gain
                j += 2
    elif code == S24LE:
        for i in range(m):
            for c in range(channels):
                v = (np.int64(src[j]) | (np.int64(src[j + 1]) << 8)
                     | (np.int64(src[j + 2]) << 16))
                tile[c, i] = (v - ((v & 0x800000) << 1)) * gain
                j += 3
    elif code == S24BE:
        for i in range(m):
            for c in range(channels):
                v = ((np.int64(src[j]) << 16) | (np.int64(src[j + 1]) << 8)
                     | np.int64(src[j + 2]))
                tile[c, i] = (v - ((v & 0x800000) << 1)) * gain
                j += 3
    elif code == S32LE:
        for i in range(m):
            for c in range(channels):
                v = (np.int64(src[j]) | (np.int64(src[j + 1]) << 8)
                     | (np.int64(src[j + 2]) << 16) | (np.int64(src[j + 3]) << 24))
                tile[c, i] = (v - ((v & 0x80000000) << 1)) * gain
                j += 4
    elif code == S32BE:
        for i in range(m):
            for c in range(channels):
                v = ((np.int64(src[j]) << 24) | (np.int64(src[j + 1]) << 16)
                     | (np.int64(src[j + 2]) << 8) | np.int64(src[j + 3]))
                tile[c, i] = (v - ((v & 0x80000000) << 1)) * gain
                j += 4
    elif code == S8:
        for i in range(m):
            for c in range(channels):
                v = np.int64(src[j])
                tile[c, i] = (v - ((v & 0x80) << 1)) * gain
                j += 1
    else:  # U8: offset binary, 128 is silence
        for i in range(m):
            for c in range(channels):
                tile[c, i] = (np.int64(src[j]) - 128) * gain
                j += 1


@njit(cache=True, nogil=True)
def _encode_int(tile, m, channels, code, scale, lo, hi, dst, base):  # pragma: no cover
    """Round ``tile * scale`` to nearest (ties to even), saturate, write bytes; count clips."""
    clipped = 0
    j = base
    bps = 1
    if code == S16LE or code == S16BE:
        bps = 2
    elif code == S24LE or code == S24BE:
        bps = 3
    elif code == S32LE or code == S32BE:
        bps = 4
    big = code == S16BE or code == S24BE or code == S32BE
    offset = 128 if code == U8 else 0
    for i in range(m):
        for c in range(channels):
            r = np.rint(tile[c, i] * scale)
            if r > hi:
                r = hi
                clipped += 1
            elif r < lo:
                r = lo
                clipped += 1
            v = np.int64(r) + offset
            if big:
                for b in range(bps):
                    dst[j + b] = np.uint8((v >> (8 * (bps - 1 - b))) & 0xFF)
            else:
                for b in range(bps):
                    dst[j + b] = np.uint8((v >> (8 * b)) & 0xFF)
            j += bps
    return clipped


@njit(cache=True, nogil=True)
def process_int(src, n_frames, code, gain, scale, lo, hi, sos, zi, tile, dst):  # pragma: no cover
    """Equalize ``n_frames`` interleaved integer frames from bytes ``src`` into bytes ``dst``.

    Parameters
    ----------
    src, dst : uint8 arrays holding at least ``n_frames`` frames.
    code : integer format code; ``gain`` multiplies the decoded input (preamp);
    scale, lo, hi : ``2**(bits-1)`` and the saturation limits.
    sos : (n_sections, 6); zi : (n_sections, channels, 2), updated in place;
    tile : (channels, tile_frames) float64 scratch.

    Returns
    -------
    int : the number of samples that saturated.
    """
    channels = tile.shape[0]
    tile_frames = tile.shape[1]
    bps = 1
    if code == S16LE or code == S16BE:
        bps = 2
    elif code == S24LE or code == S24BE:
        bps = 3
    elif code == S32LE or code == S32BE:
        bps = 4
    frame_bytes = bps * channels
    inv_scale = gain / scale
    clipped = 0
    f0 = 0
    while f0 < n_frames:
        m = min(tile_frames, n_frames - f0)
        _decode_int(src, f0 * frame_bytes, m, channels, code, inv_scale, tile)
        _filter_tile(tile, m, sos, zi)
        clipped += _encode_int(tile, m, channels, code, scale, lo, hi, dst, f0 * frame_bytes)
        f0 += m
    return clipped


@njit(cache=True, nogil=True)
def process_float(src, n_frames, gain, sos, zi, tile, dst):  # pragma: no cover - compiled
    """Equalize ``n_frames`` interleaved float frames ``src`` into ``dst`` (no clipping).

    ``src`` and ``dst`` are flat float arrays (float32 or float64) of
    ``n_frames * channels`` samples; the other arguments are as in
    :func:`process_int`.
    """
    channels = tile.shape[0]
    tile_frames = tile.shape[1]
    f0 = 0
    while f0 < n_frames:
        m = min(tile_frames, n_frames - f0)
        j = f0 * channels
        for i in range(m):
            for c in range(channels):
                tile[c, i] = np.float64(src[j]) * gain
                j += 1
        _filter_tile(tile, m, sos, zi)
        j = f0 * channels
        for i in range(m):
            for c in range(channels):
                dst[j] = tile[c, i]
                j += 1
        f0 += m

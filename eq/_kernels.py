"""Compiled tile loops: decode, filter, round and saturate, encode.

Only numba loops live here. They take preallocated C-contiguous arrays, update
the filter state in place and never raise for user input: the public wrappers
in :mod:`eq.streaming` validate everything first.

Audio is processed in tiles of :data:`TILE_SAMPLES` interleaved samples: a
tile is decoded into a float64 scratch array, every section runs over it
(:mod:`eq._cascades`, sections fused up to ``MAX_FUSED_SECTIONS`` at a time,
channels in pairs), and it is rounded, saturated and encoded back. The tile
stays in L1 cache, so this is one pass over memory. The grouping of sections
and channels depends only on their counts, so every sample sees the same
arithmetic whatever the chunking, and the output is bit-identical for any
split of the stream.

Three entry points cover the formats:

- :func:`process_typed_int`: integer formats that numpy can view natively
  (``u8`` via uint8 with an offset of 128, ``s8``, ``s16le``, ``s32le``);
- :func:`process_packed_int`: integer formats assembled byte by byte
  (``s24le``, ``s24be``, ``s16be``, ``s32be``);
- :func:`process_float`: float32/float64 arrays (float formats, and
  :class:`eq.BlockEqualizer`).
"""

import numpy as np
from numba import njit

from ._cascades import MAX_FUSED_SECTIONS, run_cascade

TILE_SAMPLES = 2048
"""Interleaved samples per tile: 16 KiB of float64."""

# Byte layouts of the packed formats (see eq/formats.py for the public names).
PACKED_S16BE, PACKED_S24LE, PACKED_S24BE, PACKED_S32BE = 0, 1, 2, 3


@njit(cache=True, nogil=True)
def filter_tile(tile, m, channels, sos, zi):  # pragma: no cover - compiled
    """Filter ``m`` interleaved frames of ``tile`` through all sections, in order."""
    n_sections = sos.shape[0]
    if n_sections == 0:
        return
    n_groups = (n_sections + MAX_FUSED_SECTIONS - 1) // MAX_FUSED_SECTIONS
    c = 0
    while c < channels:
        lanes = 2 if channels - c >= 2 else 1
        s = 0
        for g in range(n_groups):
            # Near-equal groups (9 sections -> 5 + 4, not 8 + 1): a lone
            # section is latency-bound, a group of several is not.
            k = (n_sections - s) // (n_groups - g)
            run_cascade(k, lanes, tile, m, channels, c, sos, zi, s)
            s += k
        c += lanes


@njit(cache=True, nogil=True)
def process_typed_int(src, n_frames, offset, gain, scale, lo, hi, sos, zi, tile, dst):  # pragma: no cover
    """Equalize interleaved integer samples held in a native integer array.

    Parameters
    ----------
    src, dst : integer arrays of at least ``n_frames * channels`` samples
        (uint8 for ``u8``, int8, int16 or int32).
    n_frames : int
    offset : int
        Integer value of silence (128 for ``u8``, else 0).
    gain : float
        Linear preamp gain.
    scale, lo, hi : float
        ``2**(bits-1)`` and the saturation limits (offset removed).
    sos : (n_sections, 6) float64
    zi : (n_sections, channels, 2) float64, updated in place
    tile : float64 scratch of at least ``channels`` samples

    Returns
    -------
    int
        How many samples saturated.
    """
    channels = zi.shape[1]
    tile_frames = tile.shape[0] // channels
    inv_scale = gain / scale
    clipped = 0
    f0 = 0
    while f0 < n_frames:
        m = min(tile_frames, n_frames - f0)
        k0 = f0 * channels
        count = m * channels
        for k in range(count):
            tile[k] = (np.int64(src[k0 + k]) - offset) * inv_scale
        filter_tile(tile, m, channels, sos, zi)
        for k in range(count):
            r = np.rint(tile[k] * scale)
            if r > hi:
                r = hi
                clipped += 1
            elif r < lo:
                r = lo
                clipped += 1
            dst[k0 + k] = np.int64(r) + offset
        f0 += m
    return clipped


@njit(cache=True, nogil=True)
def _packed_sample(src, j, layout):  # pragma: no cover - compiled
    if layout == PACKED_S24LE:
        v = np.int64(src[j]) | (np.int64(src[j + 1]) << 8) | (np.int64(src[j + 2]) << 16)
        return v - ((v & 0x800000) << 1)
    if layout == PACKED_S24BE:
        v = (np.int64(src[j]) << 16) | (np.int64(src[j + 1]) << 8) | np.int64(src[j + 2])
        return v - ((v & 0x800000) << 1)
    if layout == PACKED_S16BE:
        v = (np.int64(src[j]) << 8) | np.int64(src[j + 1])
        return v - ((v & 0x8000) << 1)
    v = ((np.int64(src[j]) << 24) | (np.int64(src[j + 1]) << 16)
         | (np.int64(src[j + 2]) << 8) | np.int64(src[j + 3]))
    return v - ((v & 0x80000000) << 1)


@njit(cache=True, nogil=True)
def process_packed_int(src, n_frames, layout, gain, scale, lo, hi, sos, zi, tile, dst):  # pragma: no cover
    """Equalize integer samples assembled from bytes (24-bit and big-endian formats).

    ``src`` and ``dst`` are uint8 arrays; ``layout`` is one of the
    ``PACKED_*`` codes; the other arguments are as in :func:`process_typed_int`.
    """
    channels = zi.shape[1]
    tile_frames = tile.shape[0] // channels
    big = layout != PACKED_S24LE
    bps = 2 if layout == PACKED_S16BE else (4 if layout == PACKED_S32BE else 3)
    inv_scale = gain / scale
    clipped = 0
    f0 = 0
    while f0 < n_frames:
        m = min(tile_frames, n_frames - f0)
        j0 = f0 * channels * bps
        count = m * channels
        j = j0
        for k in range(count):
            tile[k] = _packed_sample(src, j, layout) * inv_scale
            j += bps
        filter_tile(tile, m, channels, sos, zi)
        j = j0
        for k in range(count):
            r = np.rint(tile[k] * scale)
            if r > hi:
                r = hi
                clipped += 1
            elif r < lo:
                r = lo
                clipped += 1
            v = np.int64(r)
            for b in range(bps):
                shift = 8 * (bps - 1 - b) if big else 8 * b
                dst[j + b] = np.uint8((v >> shift) & 0xFF)
            j += bps
        f0 += m
    return clipped


@njit(cache=True, nogil=True)
def process_float(src, n_frames, gain, sos, zi, tile, dst):  # pragma: no cover - compiled
    """Equalize interleaved float samples (float32 or float64 arrays), no clipping.

    The arguments are as in :func:`process_typed_int`; ``dst`` may be ``src``.
    """
    channels = zi.shape[1]
    tile_frames = tile.shape[0] // channels
    f0 = 0
    while f0 < n_frames:
        m = min(tile_frames, n_frames - f0)
        k0 = f0 * channels
        count = m * channels
        for k in range(count):
            tile[k] = np.float64(src[k0 + k]) * gain
        filter_tile(tile, m, channels, sos, zi)
        for k in range(count):
            dst[k0 + k] = tile[k]
        f0 += m

"""Compiled tile loops: decode, filter, round and saturate, encode.

Only numba loops live here. They take preallocated C-contiguous arrays, update
the filter state in place and never raise for user input: the public wrappers
in :mod:`eq.streaming` validate everything first.

Audio is processed in tiles of interleaved samples: a tile is decoded into a
float64 scratch array, every section runs over it (:mod:`eq._cascades`,
sections fused up to ``MAX_FUSED_SECTIONS`` at a time, channels in SIMD
vectors of 4 and 2), and it is rounded, saturated and encoded back. The
decode and encode loops index arrays that start at the tile, so that LLVM
vectorizes them; packed formats (24-bit, big-endian) first have their bytes
put in native order in a scratch area, in loops that LLVM turns into vector
shuffles, and are then decoded as native samples. The kernels flush
subnormals to zero while they run (:mod:`eq._fpenv`). The tile stays in L1
cache, so this is one pass over memory. The grouping of sections and
channels depends only on their counts, so every sample sees the same
arithmetic whatever the chunking, and the output is bit-identical for any
split of the stream.

The byte entry point :func:`process_bytes` takes the addresses of its input,
output and *engine* (one float64 array holding header, coefficients, state,
tile and scratch, see :func:`engine_size`) as integers, because on small
chunks the cost of a call is mostly numba unboxing its arguments (see
:mod:`eq._memory`). It
releases the GIL; :func:`process_bytes_holding_gil`, its twin for chunks of a
few frames, does not. The ``bytes_entry`` functions are
the same kernel compiled as C functions, for the C extension ``eq._chunks``.
"""

import numpy as np
from numba import njit

from ._cascades import (MAX_FUSED_SECTIONS, run_cascade, run_cascade4, run_cascade4_own,
                        run_cascade_own)
from ._fpenv import flush_subnormals, restore_fp_control
from ._memory import array_at

TILE_SAMPLES = 2048
"""Interleaved samples per tile: 16 KiB of float64."""

# Sample kinds and their codes (kept in the engine header).
KIND_INT, KIND_FLOAT, KIND_PACKED = 0, 1, 2
# KIND_INT codes: numpy views of the buffer.
INT_U8, INT_S8, INT_S16, INT_S32 = 0, 1, 2, 3
# KIND_FLOAT codes.
FLOAT_F32, FLOAT_F64 = 0, 1
# KIND_PACKED codes: bytes rearranged into native samples first (_decode_packed).
PACKED_S16BE, PACKED_S24LE, PACKED_S24BE, PACKED_S32BE, PACKED_F32BE, PACKED_F64BE = range(6)

# Engine header: slot -> meaning. H_SIZE is the engine's length; H_CLIPPED
# counts saturated samples (the byte kernel adds to it). H_STEP is 1, or for
# integers held left-aligned in a wider sample (libsndfile's int32 arrays of
# 24-bit audio) 2 ** (unused low bits): integer samples are rounded and
# saturated to [H_LO, H_HI] in units of H_SCALE, then multiplied by H_STEP.
# H_SECTIONS is the longest cascade of a channel; H_SOS the size of the sos area and H_RUNS
# the number of runs of consecutive channels filtered together (see engine_size). H_FRAMES
# counts the frames filtered so far (the byte kernel adds to it): the index of the next frame
# in the stream. H_DITHER is 0, or the seed (a whole number from 1 to 2**52) of the TPDF dither
# added before integer samples are rounded (see _add_tpdf).
(H_KIND, H_CODE, H_OFFSET, H_GAIN, H_SCALE, H_LO, H_HI, H_SECTIONS, H_CHANNELS, H_TILE,
 H_BPS, H_SIZE, H_CLIPPED, H_STEP, H_SOS, H_RUNS, H_FRAMES, H_DITHER) = range(18)
HEADER_SIZE = 18
RUN_SLOTS = 5
"""A run of the run table: first channel, channel count, offset of the first channel's
cascade in the sos area (in float64 slots), number of sections, and the lane stride: how much
further each next channel's cascade is (0 when the channels of the run share one)."""


def engine_size(n_sections, channels, n_runs=1, sos_size=None):
    """Length of the float64 engine array for a filter of this size.

    Layout: ``HEADER_SIZE`` header slots; the run table (n_runs x ``RUN_SLOTS``);
    the sos area of `sos_size` slots (default ``6 * n_sections``: one cascade for
    every channel), the cascades of the runs; the state ``zi`` (n_sections x
    channels x 2, a channel with a shorter cascade leaving its last rows unused);
    the tile; a scratch area as large as the tile, where the bytes of packed
    formats are put in native order (see :func:`_decode_packed`).
    """
    if sos_size is None:
        sos_size = 6 * n_sections
    return (HEADER_SIZE + RUN_SLOTS * n_runs + sos_size + 2 * n_sections * channels
            + 2 * tile_samples(channels))


def engine_views(engine, n_sections, channels, n_runs=1, sos_size=None):
    """Fill the layout slots of a zeroed `engine` array; return its
    ``(header, runs, sos, zi)`` views.

    ``runs`` is ``(n_runs, RUN_SLOTS)``, ``sos`` the flat sos area and ``zi``
    ``(n_sections, channels, 2)``; the tile and the scratch area follow them (see
    :func:`engine_size`). The caller fills the run table and the cascades.
    """
    if sos_size is None:
        sos_size = 6 * n_sections
    header = engine[:HEADER_SIZE]
    header[H_SIZE] = engine.size
    header[H_SECTIONS] = n_sections
    header[H_CHANNELS] = channels
    header[H_TILE] = tile_samples(channels)
    header[H_SOS] = sos_size
    header[H_RUNS] = n_runs
    p = HEADER_SIZE
    runs = engine[p:p + RUN_SLOTS * n_runs].reshape(n_runs, RUN_SLOTS)
    p += RUN_SLOTS * n_runs
    sos = engine[p:p + sos_size]
    p += sos_size
    zi = engine[p:p + 2 * n_sections * channels].reshape(n_sections, channels, 2)
    return header, runs, sos, zi


def tile_samples(channels):
    """Samples in a tile: whole frames, at least one."""
    return max(1, TILE_SAMPLES // channels) * channels


@njit(cache=True, nogil=True)
def filter_tile(tile, m, channels, runs, sos_area, zi, wide, own):  # pragma: no cover - compiled
    """Filter ``m`` interleaved frames of ``tile`` through every channel's sections, in order.

    ``runs`` is the run table (see :func:`engine_size`): a run of consecutive
    channels has one number of sections; its channels share one cascade (lane
    stride 0) or each has its own, one after the other in ``sos_area``, and the
    channels of a SIMD vector then take their own coefficients, one per lane.
    Bands on every channel make one run of all the channels.

    ``wide`` is None or True. With True, the channels of a run go four at a
    time into 4-lane vectors, then in pairs, then one; with None only in pairs
    and one, and the 4-lane kernels are pruned at compile time (numba removes
    the ``wide is not None`` branches when ``wide`` is typed None), so
    streams of up to 3 channels do not compile them. Both give the same
    samples: every lane does the same arithmetic.

    ``own`` is None, or True when some run's channels each have their own
    cascade (a lane stride): its kernels are pruned the same way, so streams
    with the same bands on every channel do not compile them.

    Each kernel dispatcher has one call site, here, and this function one,
    in each entry point: LLVM inlines the whole chain at every call site, so
    every extra site would compile every kernel again.
    """
    for r in range(runs.shape[0] // RUN_SLOTS):
        first = np.int64(runs[RUN_SLOTS * r])
        end = first + np.int64(runs[RUN_SLOTS * r + 1])
        offset = np.int64(runs[RUN_SLOTS * r + 2])
        n_sections = np.int64(runs[RUN_SLOTS * r + 3])
        ls = np.int64(runs[RUN_SLOTS * r + 4])
        n_groups = (n_sections + MAX_FUSED_SECTIONS - 1) // MAX_FUSED_SECTIONS
        # Counters start as int64, not the literal 0: a call typed while one is
        # still the literal would compile the whole kernel chain a second time.
        c = first
        while c < end:
            left = end - c
            lanes = 2 if left >= 2 else 1
            if wide is not None:
                if left >= 4:
                    lanes = 4
            sos = sos_area[offset + (c - first) * ls:]
            s = np.int64(0)
            for g in range(n_groups):
                # Near-equal groups (9 sections -> 5 + 4, not 8 + 1): a lone
                # section is latency-bound, a group of several is not.
                k = (n_sections - s) // (n_groups - g)
                done = False
                if wide is not None:
                    if lanes == 4:
                        if own is not None:
                            if ls != 0:
                                run_cascade4_own(k, tile, m, channels, c, sos, zi, s, ls)
                                done = True
                        if not done:
                            run_cascade4(k, tile, m, channels, c, sos, zi, s, ls)
                            done = True
                if not done:
                    if own is not None:
                        if ls != 0:
                            run_cascade_own(k, lanes, tile, m, channels, c, sos, zi, s, ls)
                            done = True
                    if not done:
                        run_cascade(k, lanes, tile, m, channels, c, sos, zi, s, ls)
                s += k
            c += lanes


@njit(cache=True, nogil=True)
def _tpdf(seed, index):  # pragma: no cover - compiled
    """TPDF noise for sample `index` of a stream, in (-1, 1) LSB: the difference of the two
    32-bit halves, as uniforms, of SplitMix64's output function applied to
    ``seed * 0x9E3779B97F4A7C15 + index``. A function of the sample's position, so the same
    whatever the chunking."""
    z = np.uint64(seed) * np.uint64(0x9E3779B97F4A7C15) + np.uint64(index)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    z = z ^ (z >> np.uint64(31))
    high = np.float64(z >> np.uint64(32))
    low = np.float64(z & np.uint64(0xFFFFFFFF))
    return (high - low) * (1.0 / 4294967296.0)


@njit(cache=True, nogil=True)
def _add_tpdf(tile, count, seed, first_index, lsb):  # pragma: no cover - compiled
    """Add TPDF dither of peak `lsb` to the first ``count`` samples of ``tile``, the first being
    sample `first_index` of the stream."""
    for k in range(count):
        tile[k] += _tpdf(seed, first_index + k) * lsb


@njit(cache=True, nogil=True)
def _round_saturate(y, scale, lo, hi):  # pragma: no cover - compiled
    """Return ``(rint(y * scale) limited to [lo, hi], 1 if it had to be limited else 0)``.

    Written without branches, so that loops calling it vectorize.
    """
    r = np.rint(y * scale)
    return min(max(r, lo), hi), (r > hi) | (r < lo)


@njit(cache=True, nogil=True)
def _decode_int(s, count, offset, inv_scale, tile):  # pragma: no cover - compiled
    """Store ``(s[k] - offset) * inv_scale`` in ``tile[k]`` for the first ``count`` samples."""
    for k in range(count):
        tile[k] = (np.int64(s[k]) - offset) * inv_scale


@njit(cache=True, nogil=True)
def _encode_int(tile, count, offset, scale, lo, hi, step, d):  # pragma: no cover - compiled
    """Round to nearest (ties to even), saturate and store ``count`` samples.

    Stores ``r * step + offset``, ``r`` the rounded and saturated sample;
    returns how many samples had to be saturated.
    """
    clipped = 0
    for k in range(count):
        r, limited = _round_saturate(tile[k], scale, lo, hi)
        clipped += limited
        d[k] = np.int64(r * step) + offset
    return clipped


@njit(cache=True, nogil=True)
def _decode_float(s, count, gain, tile):  # pragma: no cover - compiled
    """Store ``s[k] * gain`` in ``tile[k]`` for the first ``count`` samples."""
    for k in range(count):
        tile[k] = np.float64(s[k]) * gain


@njit(cache=True, nogil=True)
def _encode_float(tile, count, d):  # pragma: no cover - compiled
    """Store the first ``count`` samples of ``tile`` in ``d`` (float32 rounds to nearest)."""
    for k in range(count):
        d[k] = tile[k]


@njit(cache=True, nogil=True)
def _swap_bytes(s, count, width, d):  # pragma: no cover - compiled
    """Store in ``d`` the ``count`` samples of ``width`` bytes of ``s``, each byte-reversed.

    One loop per width, with the byte positions constant, so that LLVM turns
    each into vector shuffles.
    """
    if width == 2:
        for k in range(count):
            d[2 * k] = s[2 * k + 1]
            d[2 * k + 1] = s[2 * k]
    elif width == 4:
        for k in range(count):
            j = 4 * k
            d[j] = s[j + 3]
            d[j + 1] = s[j + 2]
            d[j + 2] = s[j + 1]
            d[j + 3] = s[j]
    else:
        for k in range(count):
            j = 8 * k
            for b in range(8):
                d[j + b] = s[j + 7 - b]


@njit(cache=True, nogil=True)
def _s24_to_s32(s, count, big, w):  # pragma: no cover - compiled
    """Store the ``count`` 3-byte samples of ``s`` in ``w`` as little-endian int32, left-aligned.

    The low byte of each int32 is zero: ``w`` holds the sample times 256.
    """
    if big:
        for k in range(count):
            w[4 * k] = 0
            w[4 * k + 1] = s[3 * k + 2]
            w[4 * k + 2] = s[3 * k + 1]
            w[4 * k + 3] = s[3 * k]
    else:
        for k in range(count):
            w[4 * k] = 0
            w[4 * k + 1] = s[3 * k]
            w[4 * k + 2] = s[3 * k + 1]
            w[4 * k + 3] = s[3 * k + 2]


@njit(cache=True, nogil=True)
def _s32_to_s24(w, count, big, d):  # pragma: no cover - compiled
    """Store the top 3 bytes of the ``count`` little-endian int32 of ``w`` in ``d``."""
    if big:
        for k in range(count):
            d[3 * k] = w[4 * k + 3]
            d[3 * k + 1] = w[4 * k + 2]
            d[3 * k + 2] = w[4 * k + 1]
    else:
        for k in range(count):
            d[3 * k] = w[4 * k + 1]
            d[3 * k + 1] = w[4 * k + 2]
            d[3 * k + 2] = w[4 * k + 3]


@njit(cache=True, nogil=True)
def _decode_packed(code, address, count, offset, inv_scale, scratch, tile):  # pragma: no cover
    """Decode ``count`` samples of a packed format at ``address`` into ``tile``.

    The bytes are first put in native order in ``scratch`` (a 24-bit sample
    as an int32 times 256), then decoded as the native integer or float type:
    the same values as assembling each sample byte by byte, in vectorized
    loops. ``scratch`` is an address with room for ``count`` float64.
    ``offset`` is the header's (0 for these formats), passed on as a
    variable so that the native loops are the ones already compiled (a
    literal 0 would compile them again).
    """
    if code == PACKED_S24LE or code == PACKED_S24BE:
        _s24_to_s32(array_at(address, 3 * count, np.uint8), count, code == PACKED_S24BE,
                    array_at(scratch, 4 * count, np.uint8))
        # Samples times 256: a power of two, so the products are unchanged.
        _decode_int(array_at(scratch, count, np.int32), count, offset, inv_scale / 256.0, tile)
        return
    width = 2 if code == PACKED_S16BE else 8 if code == PACKED_F64BE else 4
    _swap_bytes(array_at(address, width * count, np.uint8), count, width,
                array_at(scratch, width * count, np.uint8))
    if code == PACKED_S16BE:
        _decode_int(array_at(scratch, count, np.int16), count, offset, inv_scale, tile)
    elif code == PACKED_S32BE:
        _decode_int(array_at(scratch, count, np.int32), count, offset, inv_scale, tile)
    elif code == PACKED_F32BE:
        _decode_float(array_at(scratch, count, np.float32), count, inv_scale, tile)
    else:
        _decode_float(array_at(scratch, count, np.float64), count, inv_scale, tile)


@njit(cache=True, nogil=True)
def _encode_packed(code, tile, count, offset, scale, lo, hi, scratch,
                   address):  # pragma: no cover
    """Encode ``count`` samples of ``tile`` in a packed format at ``address``.

    The reverse of :func:`_decode_packed`: encoded in native order into
    ``scratch``, then rearranged. Returns how many samples saturated.
    """
    if code == PACKED_S24LE or code == PACKED_S24BE:
        # Rounded and saturated to 24 bits, stored times 256 (step 256).
        clipped = _encode_int(tile, count, offset, scale, lo, hi, 256.0,
                              array_at(scratch, count, np.int32))
        _s32_to_s24(array_at(scratch, 4 * count, np.uint8), count, code == PACKED_S24BE,
                    array_at(address, 3 * count, np.uint8))
        return clipped
    clipped = 0
    width = 2 if code == PACKED_S16BE else 8 if code == PACKED_F64BE else 4
    if code == PACKED_S16BE:
        clipped = _encode_int(tile, count, offset, scale, lo, hi, 1.0,
                              array_at(scratch, count, np.int16))
    elif code == PACKED_S32BE:
        clipped = _encode_int(tile, count, offset, scale, lo, hi, 1.0,
                              array_at(scratch, count, np.int32))
    elif code == PACKED_F32BE:
        _encode_float(tile, count, array_at(scratch, count, np.float32))
    else:
        _encode_float(tile, count, array_at(scratch, count, np.float64))
    _swap_bytes(array_at(scratch, width * count, np.uint8), count, width,
                array_at(address, width * count, np.uint8))
    return clipped


@njit(cache=True, nogil=True)
def _unpack(engine):  # pragma: no cover - compiled
    """Split the engine array into its header values and its runs, sos, zi and tile views."""
    n_sections = int(engine[H_SECTIONS])
    channels = int(engine[H_CHANNELS])
    p = HEADER_SIZE
    runs = engine[p:p + RUN_SLOTS * int(engine[H_RUNS])]
    p += RUN_SLOTS * int(engine[H_RUNS])
    sos = engine[p:p + int(engine[H_SOS])]
    p += int(engine[H_SOS])
    zi = engine[p:p + 2 * n_sections * channels]
    p += 2 * n_sections * channels
    tile = engine[p:p + int(engine[H_TILE])]
    return (int(engine[H_KIND]), int(engine[H_CODE]), channels, int(engine[H_BPS]),
            int(engine[H_OFFSET]), engine[H_GAIN], engine[H_SCALE], engine[H_LO],
            engine[H_HI], engine[H_STEP], runs, sos, zi, tile)


@njit(cache=True, nogil=True)
def _scratch_address(engine_address, engine):  # pragma: no cover - compiled
    """Address of the scratch area, which follows the tile (see :func:`engine_size`)."""
    return engine_address + 8 * (engine.shape[0] - int(engine[H_TILE]))


@njit(cache=True, nogil=True)
def process_bytes(src_address, n_frames, engine_address, dst_address, wide,
                  own):  # pragma: no cover
    """Equalize ``n_frames`` whole frames from memory at ``src_address`` into ``dst_address``.

    Parameters
    ----------
    src_address : int
        Address of the input bytes: at least ``n_frames`` frames (anything
        after them is ignored).
    n_frames : int
    engine_address : int
        Address of the float64 engine array: header, coefficients, state,
        tile and scratch (see :func:`engine_size`); the state and the clip count
        (``H_CLIPPED``) are updated in place.
    dst_address : int
        Address of the output: at least ``n_frames`` frames, writeable, not
        overlapping the engine. It may be ``src_address`` (each tile is read
        before it is written).
    wide : None or True
        True to run four channels at a time in 4-lane vectors (compiles the
        4-lane kernels); see :func:`filter_tile`.
    own : None or True
        True when some channels have cascades of their own run side by side in
        one vector (compiles those kernels); see :func:`filter_tile`.

    Notes
    -----
    The caller keeps the three buffers alive and large enough during the
    call (:mod:`eq._memory`). Subnormals are flushed to zero while it runs
    (:mod:`eq._fpenv`).
    """
    head = array_at(engine_address, HEADER_SIZE, np.float64)
    engine = array_at(engine_address, int(head[H_SIZE]), np.float64)
    old = flush_subnormals()
    engine[H_CLIPPED] += _bytes_tiles(src_address, n_frames, engine_address, engine, dst_address,
                                      wide, own)
    engine[H_FRAMES] += n_frames
    restore_fp_control(old)


@njit(cache=True)
def process_bytes_holding_gil(src_address, n_frames, engine_address, dst_address,
                              wide, own):  # pragma: no cover
    """:func:`process_bytes` without releasing the GIL, for short chunks.

    Releasing the GIL and taking it back costs as much as filtering a few
    frames, so chunks of a few frames are filtered
    holding it. Same arguments and results as :func:`process_bytes`.
    """
    process_bytes(src_address, n_frames, engine_address, dst_address, wide, own)


C_ENTRY_SIGNATURE = "void(int64, int64, int64, int64)"
"""numba signature of the ``bytes_entry`` functions as C functions."""


def bytes_entry(src_address, n_frames, engine_address, dst_address):  # pragma: no cover
    """:func:`process_bytes` with ``wide`` and ``own`` None, to compile as a C function.

    ``eq.streaming`` compiles it with numba's ``cfunc`` (signature
    :data:`C_ENTRY_SIGNATURE`) and hands its address to the C extension
    ``eq._chunks``, which calls it without going through Python.
    """
    process_bytes(src_address, n_frames, engine_address, dst_address, None, None)


def bytes_entry_wide(src_address, n_frames, engine_address, dst_address):  # pragma: no cover
    """:func:`bytes_entry` with ``wide`` True (4 channels or more)."""
    process_bytes(src_address, n_frames, engine_address, dst_address, True, None)


def bytes_entry_own(src_address, n_frames, engine_address, dst_address):  # pragma: no cover
    """:func:`bytes_entry` with ``own`` True (channels with cascades of their own)."""
    process_bytes(src_address, n_frames, engine_address, dst_address, None, True)


def bytes_entry_wide_own(src_address, n_frames, engine_address, dst_address):  # pragma: no cover
    """:func:`bytes_entry` with ``wide`` and ``own`` True."""
    process_bytes(src_address, n_frames, engine_address, dst_address, True, True)


BYTES_ENTRIES = {(None, None): bytes_entry, (True, None): bytes_entry_wide,
                 (None, True): bytes_entry_own, (True, True): bytes_entry_wide_own}
"""The C entry for ``(wide, own)``."""


@njit(cache=True, nogil=True)
def _bytes_tiles(src_address, n_frames, engine_address, engine, dst_address,
                 wide, own):  # pragma: no cover
    """:func:`process_bytes` without the change of floating-point mode.

    Tile by tile: decode into the tile, filter it, encode it. Decoding and
    encoding pick the format's loop once per tile; the filter has a single
    call site, so that the kernels are compiled once (see :func:`filter_tile`).
    """
    (kind, code, channels, bps, offset, gain, scale, lo, hi, step, runs, sos, zi,
     tile) = _unpack(engine)
    inv_scale = gain / (scale * step)  # scale and step are 1.0 for float formats
    scratch = _scratch_address(engine_address, engine)
    tile_frames = tile.shape[0] // channels
    seed = np.int64(engine[H_DITHER])
    first_sample = np.int64(engine[H_FRAMES]) * channels
    clipped = 0
    f0 = 0
    while f0 < n_frames:
        m = min(tile_frames, n_frames - f0)
        count = m * channels
        first = f0 * channels * bps  # byte offset of the tile
        _decode(kind, code, src_address + first, count, offset, inv_scale, scratch, tile)
        filter_tile(tile, m, channels, runs, sos, zi, wide, own)
        if seed != 0:
            _add_tpdf(tile, count, seed, first_sample + f0 * channels, 1.0 / scale)
        clipped += _encode(kind, code, tile, count, offset, scale, lo, hi, step, scratch,
                           dst_address + first)
        f0 += m
    return clipped


@njit(cache=True, nogil=True)
def _decode(kind, code, address, count, offset, inv_scale, scratch, tile):  # pragma: no cover
    """Decode ``count`` samples of the format ``(kind, code)`` at ``address`` into ``tile``.

    The arrays are made over the address with the format's own item type
    (no ``view`` of a byte array, which costs checks on every call).
    """
    if kind == KIND_INT:
        if code == INT_S16:
            _decode_int(array_at(address, count, np.int16), count, offset, inv_scale, tile)
        elif code == INT_S32:
            _decode_int(array_at(address, count, np.int32), count, offset, inv_scale, tile)
        elif code == INT_S8:
            _decode_int(array_at(address, count, np.int8), count, offset, inv_scale, tile)
        else:
            _decode_int(array_at(address, count, np.uint8), count, offset, inv_scale, tile)
    elif kind == KIND_FLOAT:
        if code == FLOAT_F32:
            _decode_float(array_at(address, count, np.float32), count, inv_scale, tile)
        else:
            _decode_float(array_at(address, count, np.float64), count, inv_scale, tile)
    else:
        _decode_packed(code, address, count, offset, inv_scale, scratch, tile)


@njit(cache=True, nogil=True)
def _encode(kind, code, tile, count, offset, scale, lo, hi, step, scratch,
            address):  # pragma: no cover
    """Encode ``count`` samples of ``tile`` at ``address``; return how many saturated."""
    if kind == KIND_INT:
        if code == INT_S16:
            return _encode_int(tile, count, offset, scale, lo, hi, step,
                               array_at(address, count, np.int16))
        if code == INT_S32:
            return _encode_int(tile, count, offset, scale, lo, hi, step,
                               array_at(address, count, np.int32))
        if code == INT_S8:
            return _encode_int(tile, count, offset, scale, lo, hi, step,
                               array_at(address, count, np.int8))
        return _encode_int(tile, count, offset, scale, lo, hi, step,
                           array_at(address, count, np.uint8))
    if kind == KIND_FLOAT:
        if code == FLOAT_F32:
            _encode_float(tile, count, array_at(address, count, np.float32))
        else:
            _encode_float(tile, count, array_at(address, count, np.float64))
        return 0
    return _encode_packed(code, tile, count, offset, scale, lo, hi, scratch, address)


@njit(cache=True, nogil=True)
def ramp_weight(j, ramp_frames):  # pragma: no cover - compiled
    """Weight of the incoming filter `j` frames into a crossfade of `ramp_frames` frames.

    A raised cosine, ``(1 - cos(pi*(j+1)/(ramp_frames+1))) / 2``, rising from just
    above 0 at ``j = 0`` to just below 1 at ``j = ramp_frames - 1``; exactly 1 from
    ``j = ramp_frames`` on (and for a ramp of 0 frames).
    """
    if j >= ramp_frames:
        return 1.0
    return 0.5 - 0.5 * np.cos(np.pi * (j + 1.0) / (ramp_frames + 1.0))


@njit(cache=True, nogil=True)
def process_bytes_mix(src_address, n_frames, addresses, starts, ramps, dst_address,
                      wide, own):  # pragma: no cover - compiled
    """Equalize ``n_frames`` whole frames through several engines crossfaded into one output.

    Every engine (voice) filters the same input; the output is voice 0's, then
    for each later voice ``k`` in turn ``out = (1 - g) * out + g * y_k``, with ``g``
    the :func:`ramp_weight` of the frame's index in the stream minus
    ``starts[k]``, over ``ramps[k]`` frames. It is then dithered (voice 0's setting),
    rounded, saturated and encoded in voice 0's format; saturated samples are added to
    voice 0's count, and every voice's frame count advances. The weights depend on the
    frame's index only, so the output does not depend on how the stream is split.

    Parameters
    ----------
    src_address, n_frames, dst_address, wide, own
        As :func:`process_bytes` (``own`` True if any voice has channels with cascades of
        their own).
    addresses : ndarray of int64
        The engines' addresses; all of the same format and channel count, each
        with its own bands, preamp and state, and all with the same frame count.
    starts, ramps : ndarray of int64
        Per voice, the stream index of the frame where its crossfade starts, and
        its length in frames (voice 0's are not read). Every frame of the call
        must be at or after every start.
    """
    n_voices = addresses.shape[0]
    head = array_at(addresses[0], HEADER_SIZE, np.float64)
    engine = array_at(addresses[0], int(head[H_SIZE]), np.float64)
    old = flush_subnormals()
    (kind, code, channels, bps, offset, gain, scale, lo, hi, step, runs, sos, zi,
     tile) = _unpack(engine)
    scratch = _scratch_address(addresses[0], engine)
    tile_frames = tile.shape[0] // channels
    seed = np.int64(engine[H_DITHER])
    frame0 = np.int64(engine[H_FRAMES])
    clipped = 0
    f0 = 0
    while f0 < n_frames:
        m = min(tile_frames, n_frames - f0)
        count = m * channels
        first = f0 * channels * bps
        for v in range(n_voices):
            head_v = array_at(addresses[v], HEADER_SIZE, np.float64)
            engine_v = array_at(addresses[v], int(head_v[H_SIZE]), np.float64)
            (_, _, _, _, _, gain_v, _, _, _, _, runs_v, sos_v, zi_v,
             tile_v) = _unpack(engine_v)
            _decode(kind, code, src_address + first, count, offset, gain_v / (scale * step),
                    _scratch_address(addresses[v], engine_v), tile_v)
            filter_tile(tile_v, m, channels, runs_v, sos_v, zi_v, wide, own)
            if v > 0:
                for j in range(m):
                    g = ramp_weight(frame0 + f0 + j - starts[v], ramps[v])
                    h = 1.0 - g
                    p = j * channels
                    for ch in range(channels):
                        tile[p + ch] = h * tile[p + ch] + g * tile_v[p + ch]
        if seed != 0:
            _add_tpdf(tile, count, seed, (frame0 + f0) * channels, 1.0 / scale)
        clipped += _encode(kind, code, tile, count, offset, scale, lo, hi, step, scratch,
                           dst_address + first)
        f0 += m
    engine[H_CLIPPED] += clipped
    for v in range(n_voices):
        head_v = array_at(addresses[v], HEADER_SIZE, np.float64)
        head_v[H_FRAMES] += n_frames
    restore_fp_control(old)

"""Compiled loop of the streaming video equalizer (:mod:`eq.video`).

The ``eq`` filter of FFmpeg maps each 8-bit sample through a function of that
sample alone, chosen by its plane, so the whole filter is one 256-entry table
per plane; this loop only has to know where in the frame each byte falls.
"""

import numba
import numpy as np


@numba.njit(cache=True, nogil=True)
def _table_run(src, dst, table):  # pragma: no cover - compiled
    """``dst[k] = table[src[k]]``, over whole slices: a loop from 0 that LLVM keeps tight."""
    for k in range(src.shape[0]):
        dst[k] = table[src[k]]


@numba.njit(cache=True, nogil=True)
def _integer_run(src, dst, c, b):  # pragma: no cover - compiled
    """``dst[k] = clip(((src[k] * c) >> 12) + b, 0, 255)``: FFmpeg's ``process_c`` in 32-bit
    integers (``255 * |c|`` < 2**31 on that path, ``|contrast| < 7.9``), in a loop that
    LLVM vectorizes."""
    c32 = np.int32(c)
    b32 = np.int32(b)
    for k in range(src.shape[0]):
        v = np.int32(np.int32(np.int32(src[k]) * c32) >> np.int32(12))
        v = np.int32(v + b32)
        if v < 0:
            v = np.int32(0)
        if v > 255:
            v = np.int32(255)
        dst[k] = np.uint8(v)


@numba.njit(cache=True, nogil=True)
def apply_plane_tables(src, dst, tables, kinds, coefficients, plane_ends,
                       frame_pos):  # pragma: no cover - compiled
    """Map `src` through the table of each byte's plane into `dst`.

    Parameters
    ----------
    src : ndarray of uint8, shape (n,)
        The next bytes of the raw planar stream.
    dst : ndarray of uint8, shape (n,)
        Where the mapped bytes go (may be `src`).
    tables : ndarray of uint8, shape (planes, 256), C-contiguous
        ``tables[p, v]`` is the output for value ``v`` in plane ``p``.
    kinds : ndarray of int64, shape (planes,)
        How each plane is run, with the bytes of its table: 0 copies it (the table is the
        identity), 1 computes FFmpeg's integer arithmetic with ``coefficients[p]``, 2 looks
        the table up.
    coefficients : ndarray of int64, shape (planes, 2)
        ``(c, b)`` of the planes of kind 1: ``clip(((v * c) >> 12) + b, 0, 255)``.
    plane_ends : ndarray of int64, shape (planes,)
        Offset within a frame just past each plane; strictly increasing, the
        last one is the frame size.
    frame_pos : int
        Offset within the frame of ``src[0]``, ``0 <= frame_pos < frame size``.

    Returns
    -------
    int
        Offset within the frame just after the last byte of `src`.
    """
    n = src.shape[0]
    n_planes = plane_ends.shape[0]
    frame_bytes = plane_ends[n_planes - 1]
    plane = 0
    while plane_ends[plane] <= frame_pos:
        plane += 1
    pos = frame_pos
    i = 0
    # One run per stretch of a single plane: no division or search per byte.
    while i < n:
        run = plane_ends[plane] - pos
        if run > n - i:
            run = n - i
        kind = kinds[plane]
        if kind == 0:
            dst[i:i + run] = src[i:i + run]
        elif kind == 1:
            _integer_run(src[i:i + run], dst[i:i + run], coefficients[plane, 0],
                         coefficients[plane, 1])
        else:
            _table_run(src[i:i + run], dst[i:i + run], tables[plane])
        i += run
        pos += run
        if pos == plane_ends[plane]:
            plane += 1
            if plane == n_planes:
                plane = 0
                pos = 0
    if pos == frame_bytes:
        pos = 0
    return pos

"""Compiled loop of the streaming video equalizer (:mod:`eq.video`).

The ``eq`` filter of FFmpeg maps each 8-bit sample through a function of that
sample alone, chosen by its plane, so the whole filter is one 256-entry table
per plane; this loop only has to know where in the frame each byte falls.
"""

import numba


@numba.njit(cache=True, nogil=True)
def _table_run(src, dst, start, stop, table):  # pragma: no cover - compiled
    for k in range(start, stop):
        dst[k] = table[src[k]]


@numba.njit(cache=True, nogil=True)
def apply_plane_tables(src, dst, tables, kinds, plane_ends, frame_pos):  # pragma: no cover
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
        How each plane is run: 0 copies it (its table is the identity), 1 looks the table up.
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
        if kinds[plane] == 0:
            dst[i:i + run] = src[i:i + run]
        else:
            _table_run(src, dst, i, i + run, tables[plane])
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

"""Independent float64 filter structures used only to measure rounding noise.

Each kernel filters ``x`` (frames, channels) through second-order sections ``sos`` (scipy layout
``[b0, b1, b2, 1, a1, a2]``) with zero initial state and returns ``y`` (frames, channels).
"""
from __future__ import annotations

import numba
import numpy as np


def _df1(sos, x):
    # direct form I: y = b0 x + b1 x[n-1] + b2 x[n-2] - a1 y[n-1] - a2 y[n-2]
    frames, channels = x.shape
    y = x.copy()
    for s in range(sos.shape[0]):
        b0, b1, b2, a1, a2 = sos[s, 0], sos[s, 1], sos[s, 2], sos[s, 4], sos[s, 5]
        for c in range(channels):
            x1 = 0.0
            x2 = 0.0
            y1 = 0.0
            y2 = 0.0
            for n in range(frames):
                xn = y[n, c]
                yn = b0 * xn + b1 * x1 + b2 * x2 - a1 * y1 - a2 * y2
                x2 = x1
                x1 = xn
                y2 = y1
                y1 = yn
                y[n, c] = yn
    return y


def _tdf2(sos, x):
    # transposed direct form II (as scipy.signal.sosfilt)
    frames, channels = x.shape
    y = x.copy()
    for s in range(sos.shape[0]):
        b0, b1, b2, a1, a2 = sos[s, 0], sos[s, 1], sos[s, 2], sos[s, 4], sos[s, 5]
        for c in range(channels):
            z1 = 0.0
            z2 = 0.0
            for n in range(frames):
                xn = y[n, c]
                yn = b0 * xn + z1
                z1 = b1 * xn - a1 * yn + z2
                z2 = b2 * xn - a2 * yn
                y[n, c] = yn
    return y


df1 = numba.njit(cache=True, nogil=True)(_df1)
df1_fma = numba.njit(cache=True, nogil=True, fastmath={"contract"})(_df1)
tdf2 = numba.njit(cache=True, nogil=True)(_tdf2)
tdf2_fma = numba.njit(cache=True, nogil=True, fastmath={"contract"})(_tdf2)


def variants(sos: np.ndarray, x: np.ndarray, seed: int = 0) -> dict[str, np.ndarray]:
    """Return the outputs of every valid float64 structure for `x` (frames, channels).

    Besides the structures, one variant perturbs each coefficient by one unit in the last place,
    which stands for the different (equally valid) ways of evaluating the cookbook formulas.
    """
    sos = np.ascontiguousarray(sos, dtype=np.float64)
    x = np.ascontiguousarray(x, dtype=np.float64)
    rng = np.random.default_rng(seed)
    nudged = sos.copy()
    direction = np.where(rng.random(sos.shape) < 0.5, -np.inf, np.inf)
    nudged[:, [0, 1, 2, 4, 5]] = np.nextafter(sos, direction)[:, [0, 1, 2, 4, 5]]
    return {"df1": df1(sos, x), "df1_fma": df1_fma(sos, x), "tdf2_fma": tdf2_fma(sos, x),
            "tdf2_coef_ulp": tdf2(nudged, x)}

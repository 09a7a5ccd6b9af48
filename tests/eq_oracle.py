"""Slow, obviously-correct reference for the ``eq`` tests.

Written from the text of R. Bristow-Johnson's *Cookbook formulae for audio EQ
biquad filter coefficients* and from the definitions of the raw PCM formats,
without importing anything from ``eq``. The filtering itself is
``scipy.signal.sosfilt`` in float64.

Arrays are laid out ``(frames, channels)``.
"""

import math

import numpy as np
from scipy import signal

# name -> (bytes per sample, kind, byte order); kind: "u" offset binary, "i" two's complement, "f" IEEE
PCM_FORMATS = {
    "u8": (1, "u", "<"),
    "s8": (1, "i", "<"),
    "s16le": (2, "i", "<"),
    "s16be": (2, "i", ">"),
    "s24le": (3, "i", "<"),
    "s24be": (3, "i", ">"),
    "s32le": (4, "i", "<"),
    "s32be": (4, "i", ">"),
    "f32le": (4, "f", "<"),
    "f32be": (4, "f", ">"),
    "f64le": (8, "f", "<"),
    "f64be": (8, "f", ">"),
}
INT_FORMATS = [name for name, (_, kind, _) in PCM_FORMATS.items() if kind != "f"]
FLOAT_FORMATS = [name for name, (_, kind, _) in PCM_FORMATS.items() if kind == "f"]

BAND_TYPE_NAMES = ("peaking", "lowshelf", "highshelf", "lowpass", "highpass", "bandpass",
                   "notch", "allpass")


def int_limits(name):
    """``(scale, lo, hi)`` of an integer format, in integer units without the u8 offset."""
    bits = 8 * PCM_FORMATS[name][0]
    scale = 2 ** (bits - 1)
    return scale, -scale, scale - 1


def _band_fields(band):
    if isinstance(band, dict):
        return (band["type"], float(band["freq"]), float(band.get("q", 1 / math.sqrt(2))),
                float(band.get("gain_db", 0.0)))
    kind, freq, *rest = band
    q = rest[0] if len(rest) > 0 else 1 / math.sqrt(2)
    gain_db = rest[1] if len(rest) > 1 else 0.0
    return kind, float(freq), float(q), float(gain_db)


def cookbook_biquad(kind, freq_hz, q, gain_db, fs):
    """Unnormalised ``(b, a)`` of one cookbook filter, exactly as the text writes them."""
    A = 10.0 ** (gain_db / 40.0)
    w0 = 2.0 * math.pi * freq_hz / fs
    cs, sn = math.cos(w0), math.sin(w0)
    alpha = sn / (2.0 * q)
    sqA2alpha = 2.0 * math.sqrt(A) * alpha
    if kind == "lowpass":
        b = [(1 - cs) / 2, 1 - cs, (1 - cs) / 2]
        a = [1 + alpha, -2 * cs, 1 - alpha]
    elif kind == "highpass":
        b = [(1 + cs) / 2, -(1 + cs), (1 + cs) / 2]
        a = [1 + alpha, -2 * cs, 1 - alpha]
    elif kind == "bandpass":  # constant 0 dB peak gain
        b = [alpha, 0.0, -alpha]
        a = [1 + alpha, -2 * cs, 1 - alpha]
    elif kind == "notch":
        b = [1.0, -2 * cs, 1.0]
        a = [1 + alpha, -2 * cs, 1 - alpha]
    elif kind == "allpass":
        b = [1 - alpha, -2 * cs, 1 + alpha]
        a = [1 + alpha, -2 * cs, 1 - alpha]
    elif kind == "peaking":
        b = [1 + alpha * A, -2 * cs, 1 - alpha * A]
        a = [1 + alpha / A, -2 * cs, 1 - alpha / A]
    elif kind == "lowshelf":
        b = [A * ((A + 1) - (A - 1) * cs + sqA2alpha),
             2 * A * ((A - 1) - (A + 1) * cs),
             A * ((A + 1) - (A - 1) * cs - sqA2alpha)]
        a = [(A + 1) + (A - 1) * cs + sqA2alpha,
             -2 * ((A - 1) + (A + 1) * cs),
             (A + 1) + (A - 1) * cs - sqA2alpha]
    elif kind == "highshelf":
        b = [A * ((A + 1) + (A - 1) * cs + sqA2alpha),
             -2 * A * ((A - 1) + (A + 1) * cs),
             A * ((A + 1) + (A - 1) * cs - sqA2alpha)]
        a = [(A + 1) - (A - 1) * cs + sqA2alpha,
             2 * ((A - 1) - (A + 1) * cs),
             (A + 1) - (A - 1) * cs - sqA2alpha]
    else:
        raise KeyError(kind)
    return b, a


def oracle_sos(bands, fs):
    """``(n_bands, 6)`` sections ``[b0/a0, b1/a0, b2/a0, 1, a1/a0, a2/a0]``."""
    rows = []
    for band in bands:
        b, a = cookbook_biquad(*_band_fields(band), fs)
        rows.append([b[0] / a[0], b[1] / a[0], b[2] / a[0], 1.0, a[1] / a[0], a[2] / a[0]])
    return np.array(rows, dtype=np.float64).reshape(-1, 6)


def oracle_filter(sos, x):
    """float64 ``sosfilt`` along frames (the identity for no sections)."""
    x = np.asarray(x, dtype=np.float64)
    if len(sos) == 0 or x.shape[0] == 0:
        return x.copy()
    return signal.sosfilt(sos, x, axis=0)


# ----------------------------------------------------------------- raw PCM
def decode(raw, name, channels):
    """Raw interleaved bytes -> int64 samples (integer formats) or float64, ``(frames, channels)``."""
    width, kind, order = PCM_FORMATS[name]
    raw = bytes(raw)
    if kind == "f":
        v = np.frombuffer(raw, dtype=f"{order}f{width}").astype(np.float64)
    elif width == 3:
        b = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 3).astype(np.int64)
        if order == ">":
            b = b[:, ::-1]
        v = b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)
        v = np.where(v >= 2 ** 23, v - 2 ** 24, v)
    elif kind == "u":
        v = np.frombuffer(raw, dtype=np.uint8).astype(np.int64) - 128
    else:
        v = np.frombuffer(raw, dtype=f"{order}i{width}").astype(np.int64)
    return v.reshape(-1, channels)


def encode(v, name):
    """Inverse of :func:`decode`: int samples (without the u8 offset) or floats -> bytes."""
    width, kind, order = PCM_FORMATS[name]
    v = np.asarray(v).reshape(-1)
    if kind == "f":
        return v.astype(f"{order}f{width}").tobytes()
    v = v.astype(np.int64)
    if width == 3:
        u = v & 0xFFFFFF
        b = np.stack([u & 0xFF, (u >> 8) & 0xFF, (u >> 16) & 0xFF], axis=1).astype(np.uint8)
        if order == ">":
            b = b[:, ::-1]
        return np.ascontiguousarray(b).tobytes()
    if kind == "u":
        return (v + 128).astype(np.uint8).tobytes()
    return v.astype(f"{order}i{width}").tobytes()


def to_float(v, name):
    """Decoded samples -> float64 full scale 1.0."""
    if PCM_FORMATS[name][1] == "f":
        return np.asarray(v, dtype=np.float64)
    return np.asarray(v, dtype=np.float64) / int_limits(name)[0]


def quantize(y, name):
    """float64 full-scale-1.0 -> ``(int64 samples, n_clipped)``: rint, then saturate."""
    scale, lo, hi = int_limits(name)
    r = np.rint(np.asarray(y) * scale)
    n_clipped = int(np.count_nonzero((r < lo) | (r > hi)))
    return np.clip(r, lo, hi).astype(np.int64), n_clipped


def oracle_stream(raw, name, channels, fs, bands, preamp_db=0.0):
    """What the streaming equalizer must produce for whole frames ``raw``.

    Returns
    -------
    out : ndarray, (frames, channels)
        int64 samples for integer formats (no u8 offset), float64 for float formats
        (not yet rounded to float32).
    y : ndarray, (frames, channels)
        The unrounded float64 output, full scale 1.0.
    n_clipped : int
        Samples outside the integer range before saturation (0 for float formats).
    """
    x = to_float(decode(raw, name, channels), name) * (10.0 ** (preamp_db / 20.0))
    y = oracle_filter(oracle_sos(bands, fs), x)
    if PCM_FORMATS[name][1] == "f":
        return y, y, 0
    out, n_clipped = quantize(y, name)
    return out, y, n_clipped


def random_pcm(rng, name, frames, channels, level=0.5, extremes=True):
    """Random interleaved PCM bytes: noise at `level` of full scale plus full-scale extremes."""
    width, kind, _ = PCM_FORMATS[name]
    shape = (frames, channels)
    if kind == "f":
        v = rng.uniform(-level, level, shape)
        if extremes and frames >= 4:
            v[1, :], v[3, :] = 1.0, -1.0
        return encode(v, name)
    scale, lo, hi = int_limits(name)
    span = max(1, int(level * scale))
    v = rng.integers(-span, span + 1, shape, dtype=np.int64)
    if extremes and frames >= 4:
        v[1, :], v[3, :] = hi, lo
    return encode(v, name)


# ------------------------------------------------------------ measurements
def sine_amplitude(y, freq_hz, fs):
    """Least-squares amplitude of the ``freq_hz`` sinusoid in 1-D ``y``."""
    n = np.arange(len(y))
    basis = np.stack([np.sin(2 * np.pi * freq_hz * n / fs), np.cos(2 * np.pi * freq_hz * n / fs),
                      np.ones(len(y))], axis=1)
    coef, *_ = np.linalg.lstsq(basis, y, rcond=None)
    return float(np.hypot(coef[0], coef[1]))


def oracle_response_db(bands, fs, freqs_hz):
    """``20 log10 |H|`` of the cascade from :func:`oracle_sos`, via scipy's ``sosfreqz``."""
    sos = oracle_sos(bands, fs)
    _, h = signal.sosfreqz(sos, worN=np.asarray(freqs_hz, dtype=float), fs=fs)
    with np.errstate(divide="ignore"):
        return 20 * np.log10(np.abs(h))

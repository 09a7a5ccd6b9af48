"""ATTACK: MemoryError in process() for more than 6 channels, met only by the 8-channel configuration.
It got fail (unexplained_failure) where a run's MemoryError gets resource_limit: the configuration
checks now read an exception as the runs do. Deserved: error (resource_limit).
Otherwise identical to tests/corpus/python/correct_numpy.py.
"""
import math

import numpy as np

BAND_TYPES = ("peaking", "lowshelf", "highshelf", "lowpass", "highpass", "bandpass", "notch", "allpass")
# format name -> (bytes per sample, scale, lowest code, highest code)
FORMATS = {
    "u8": (1, 128.0, -128, 127),
    "s16le": (2, 32768.0, -32768, 32767),
    "s24le": (3, 8388608.0, -8388608, 8388607),
    "s32le": (4, 2147483648.0, -2147483648, 2147483647),
    "f32le": (4, 1.0, None, None),
}


def _number(name, value):
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number, got {value!r}") from None
    if not math.isfinite(number):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return number


def design_biquad(band, sample_rate):
    """Return normalised (b0, b1, b2, a1, a2) of one cookbook band; ValueError when invalid."""
    if not isinstance(band, dict):
        raise ValueError(f"a band must be a dict, got {band!r}")
    kind = band.get("type")
    if kind not in BAND_TYPES:
        raise ValueError(f"band type must be one of {BAND_TYPES}, got {kind!r}")
    if "freq" not in band:
        raise ValueError(f"band has no 'freq': {band!r}")
    freq_hz = _number("freq", band["freq"])
    q = _number("q", band.get("q", 1 / math.sqrt(2)))
    gain_db = _number("gain_db", band.get("gain_db", 0.0))
    if not 0 < freq_hz < sample_rate / 2:
        raise ValueError(f"freq must be in (0, {sample_rate / 2}) Hz, got {freq_hz!r}")
    if q <= 0:
        raise ValueError(f"q must be > 0, got {q!r}")
    a = 10 ** (gain_db / 40)
    w0 = 2 * math.pi * freq_hz / sample_rate
    cos_w0 = math.cos(w0)
    alpha = math.sin(w0) / (2 * q)
    if kind == "peaking":
        b = (1 + alpha * a, -2 * cos_w0, 1 - alpha * a)
        den = (1 + alpha / a, -2 * cos_w0, 1 - alpha / a)
    elif kind == "lowshelf":
        k = 2 * math.sqrt(a) * alpha
        b = (a * ((a + 1) - (a - 1) * cos_w0 + k),
             2 * a * ((a - 1) - (a + 1) * cos_w0),
             a * ((a + 1) - (a - 1) * cos_w0 - k))
        den = ((a + 1) + (a - 1) * cos_w0 + k,
               -2 * ((a - 1) + (a + 1) * cos_w0),
               (a + 1) + (a - 1) * cos_w0 - k)
    elif kind == "highshelf":
        k = 2 * math.sqrt(a) * alpha
        b = (a * ((a + 1) + (a - 1) * cos_w0 + k),
             -2 * a * ((a - 1) + (a + 1) * cos_w0),
             a * ((a + 1) + (a - 1) * cos_w0 - k))
        den = ((a + 1) - (a - 1) * cos_w0 + k,
               2 * ((a - 1) - (a + 1) * cos_w0),
               (a + 1) - (a - 1) * cos_w0 - k)
    else:
        den = (1 + alpha, -2 * cos_w0, 1 - alpha)
        b = {"lowpass": ((1 - cos_w0) / 2, 1 - cos_w0, (1 - cos_w0) / 2),
             "highpass": ((1 + cos_w0) / 2, -(1 + cos_w0), (1 + cos_w0) / 2),
             "bandpass": (alpha, 0.0, -alpha),
             "notch": (1.0, -2 * cos_w0, 1.0),
             "allpass": (1 - alpha, -2 * cos_w0, 1 + alpha)}[kind]
    return (b[0] / den[0], b[1] / den[0], b[2] / den[0], den[1] / den[0], den[2] / den[0])


class StreamingEqualizer:
    """Equalize interleaved PCM bytes chunk by chunk; output never depends on the chunking."""

    def __init__(self, sample_rate, channels, sample_format, bands):
        if isinstance(sample_rate, bool) or not isinstance(sample_rate, (int, np.integer)) or sample_rate <= 0:
            raise ValueError(f"sample_rate must be a positive integer, got {sample_rate!r}")
        if isinstance(channels, bool) or not isinstance(channels, (int, np.integer)) or channels < 1:
            raise ValueError(f"channels must be an integer >= 1, got {channels!r}")
        if sample_format not in FORMATS:
            raise ValueError(f"sample_format must be one of {sorted(FORMATS)}, got {sample_format!r}")
        if isinstance(bands, (str, bytes, dict)):
            raise ValueError(f"bands must be a list of dicts, got {bands!r}")
        self._coeffs = [design_biquad(band, sample_rate) for band in bands]
        self._channels = int(channels)
        self._format = sample_format
        self._frame_bytes = FORMATS[sample_format][0] * self._channels
        # TDF-II state: [section][channel] -> [z1, z2]
        self._state = [[[0.0, 0.0] for _ in range(self._channels)] for _ in self._coeffs]
        self._pending = b""

    def process(self, data):
        if self._channels > 6:
            raise MemoryError('state table for more than 6 channels')
        buf = self._pending + bytes(data)
        n_bytes = len(buf) - len(buf) % self._frame_bytes
        self._pending = buf[n_bytes:]
        if n_bytes == 0:
            return b""
        x = self._decode(buf[:n_bytes])
        return self._encode(self._filter(x))

    def flush(self):
        # A trailing incomplete frame cannot be equalized: it is dropped.
        self._pending = b""
        return b""

    def _filter(self, x):
        """Filter x, shape (frames, channels) float64, through every section in place."""
        for ch in range(self._channels):
            col = x[:, ch].tolist()
            for (b0, b1, b2, a1, a2), zs in zip(self._coeffs, self._state):
                z1, z2 = zs[ch]
                for i, v in enumerate(col):
                    y = b0 * v + z1
                    z1 = b1 * v - a1 * y + z2
                    z2 = b2 * v - a2 * y
                    col[i] = y
                zs[ch] = [z1, z2]
            x[:, ch] = col
        return x

    def _decode(self, raw):
        fmt = self._format
        if fmt == "u8":
            x = (np.frombuffer(raw, np.uint8).astype(np.float64) - 128.0) / 128.0
        elif fmt == "s16le":
            x = np.frombuffer(raw, "<i2") / 32768.0
        elif fmt == "s24le":
            b = np.frombuffer(raw, np.uint8).reshape(-1, 3).astype(np.int32)
            v = b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)
            v = np.where(v >= 1 << 23, v - (1 << 24), v)
            x = v / 8388608.0
        elif fmt == "s32le":
            x = np.frombuffer(raw, "<i4") / 2147483648.0
        else:
            x = np.frombuffer(raw, "<f4").astype(np.float64)
        return x.reshape(-1, self._channels)

    def _encode(self, y):
        fmt = self._format
        if fmt == "f32le":
            return y.astype("<f4").tobytes()
        _, scale, lo, hi = FORMATS[fmt]
        q = np.clip(np.rint(y * scale), lo, hi).astype(np.int64).ravel()
        if fmt == "u8":
            return (q + 128).astype(np.uint8).tobytes()
        if fmt == "s16le":
            return q.astype("<i2").tobytes()
        if fmt == "s24le":
            v = q & 0xFFFFFF
            return np.stack([v & 0xFF, (v >> 8) & 0xFF, v >> 16], axis=1).astype(np.uint8).tobytes()
        return q.astype("<i4").tobytes()

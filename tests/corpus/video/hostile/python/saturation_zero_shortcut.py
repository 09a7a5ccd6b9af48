# ATTACK (parameter coverage): saturation 0 short-cut to grey chroma, the constant 127 that process_c gives for it; wrong when saturation is 0 and a chroma plane is on the table path (gamma_b or gamma_r unlike gamma_g). Saturation 0 is only in cases with equal gammas (integer path), and _draw_params never draws a range end of saturation.
import bisect
import itertools
import math
import numbers

import numpy as np

# name -> (log2 chroma width, log2 chroma height, planes)
FORMATS = {"gray": (0, 0, 1), "yuv420p": (1, 1, 3), "yuv422p": (1, 0, 3),
           "yuv444p": (0, 0, 3), "yuva420p": (1, 1, 4), "yuva444p": (0, 0, 4)}
RANGES = {"brightness": (-1.0, 1.0), "contrast": (-1000.0, 1000.0), "saturation": (0.0, 3.0),
          "gamma": (0.1, 10.0), "gamma_r": (0.1, 10.0), "gamma_g": (0.1, 10.0),
          "gamma_b": (0.1, 10.0), "gamma_weight": (0.0, 1.0)}


def _size(name, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or not 1 <= value <= 32768:
        raise ValueError(f"{name} must be an int in [1, 32768], got {value!r}")
    return int(value)


def _param(name, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a number, got {value!r}")
    low, high = RANGES[name]
    try:
        v = float(value)
    except OverflowError:
        v = math.inf
    if not low <= v <= high:  # also rejects NaN and infinities
        raise ValueError(f"{name} must be in [{low}, {high}], got {value!r}")
    return float(np.float32(v))  # stored as a C float, as FFmpeg does


def _table(contrast, brightness, gamma, weight):
    """The 256-entry table of one plane (copy, FFmpeg's process_c, or create_lut)."""
    i = np.arange(256, dtype=np.int64)
    if contrast == 1.0 and brightness == 0.0 and gamma == 1.0:
        return i.astype(np.uint8)
    if gamma == 1.0 and abs(contrast) < 7.9:
        c = int(contrast * 4096)
        b = (int(100 * brightness + 100) * 511) // 200 - 128 - int(c / 32)
        return np.clip(((i * c) >> 12) + b, 0, 255).astype(np.uint8)
    table = np.empty(256, dtype=np.uint8)
    for k in range(256):
        v = contrast * (k / 255.0 - 0.5) + 0.5 + brightness
        if v <= 0.0:
            table[k] = 0
        else:
            v = v * (1.0 - weight) + math.pow(v, 1.0 / gamma) * weight
            table[k] = 255 if v >= 1.0 else int(256.0 * v)
    return table


class StreamingVideoEqualizer:
    def __init__(self, width, height, pix_fmt, brightness=0.0, contrast=1.0, saturation=1.0,
                 gamma=1.0, gamma_r=1.0, gamma_g=1.0, gamma_b=1.0, gamma_weight=1.0):
        width, height = _size("width", width), _size("height", height)
        if not isinstance(pix_fmt, str) or pix_fmt not in FORMATS:
            raise ValueError(f"unknown pix_fmt {pix_fmt!r}")
        sx, sy, planes = FORMATS[pix_fmt]
        p = {name: _param(name, value) for name, value in (
            ("brightness", brightness), ("contrast", contrast), ("saturation", saturation),
            ("gamma", gamma), ("gamma_r", gamma_r), ("gamma_g", gamma_g), ("gamma_b", gamma_b),
            ("gamma_weight", gamma_weight))}
        settings = [
            (p["contrast"], p["brightness"], p["gamma"] * p["gamma_g"]),
            (p["saturation"], 0.0, math.sqrt(p["gamma_b"] / p["gamma_g"])),
            (p["saturation"], 0.0, math.sqrt(p["gamma_r"] / p["gamma_g"])),
            (1.0, 0.0, 1.0),  # alpha: copied
        ]
        self._tables = [_table(*s, p["gamma_weight"]) for s in settings[:planes]]
        if p["saturation"] == 0.0:  # no colour left: neutral chroma (what process_c gives)
            for k in (1, 2)[:planes - 1]:
                self._tables[k] = np.full(256, 127, dtype=np.uint8)
        cw = (width + (1 << sx) - 1) >> sx  # rounded up
        ch = (height + (1 << sy) - 1) >> sy
        sizes = [width * height, cw * ch, cw * ch, width * height][:planes]
        self._ends = list(itertools.accumulate(sizes))  # offset just past each plane
        self._frame = self._ends[-1]
        self._pos = 0  # offset within the frame of the next byte

    def process(self, data):
        src = np.frombuffer(bytes(data), dtype=np.uint8)
        out = np.empty_like(src)
        i, n = 0, len(src)
        while i < n:
            plane = bisect.bisect_right(self._ends, self._pos)
            run = min(self._ends[plane] - self._pos, n - i)
            np.take(self._tables[plane], src[i:i + run], out=out[i:i + run])
            i += run
            self._pos = (self._pos + run) % self._frame
        return out.tobytes()

    def flush(self):
        return b""

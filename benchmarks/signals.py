"""Benchmark input, band set and the float64 oracle.

Everything here is independent of the ``eq`` package on purpose: the
coefficients come from the Audio EQ Cookbook formulas written out again
below, so the oracle does not share code with the implementation it judges.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import signal

#: Sample rate of the benchmark input, in Hz.
SAMPLE_RATE = 48000
#: Channels of the benchmark input (stereo, interleaved).
CHANNELS = 2
#: Integer full scale of s16: ``float = int / S16_SCALE``.
S16_SCALE = 32768.0
S16_MIN = -32768
S16_MAX = 32767

#: The bands of the bundled preset ``benchmark-5band``, in the preset's dict form.
BENCHMARK_BANDS = (
    {"type": "lowshelf", "freq": 100.0, "q": 0.707, "gain_db": 4.0},
    {"type": "peaking", "freq": 400.0, "q": 1.0, "gain_db": -3.0},
    {"type": "peaking", "freq": 2000.0, "q": 2.0, "gain_db": 5.0},
    {"type": "peaking", "freq": 6000.0, "q": 0.7, "gain_db": -2.0},
    {"type": "highshelf", "freq": 10000.0, "q": 0.707, "gain_db": 3.0},
)


def cookbook_sos(bands, sample_rate):
    """Second-order sections of peaking and shelving bands (Audio EQ Cookbook).

    Parameters
    ----------
    bands : iterable of dict
        Each with keys ``type`` (``"peaking"``, ``"lowshelf"`` or
        ``"highshelf"``), ``freq`` (Hz), ``q`` and ``gain_db``.
    sample_rate : float
        Sample rate in Hz.

    Returns
    -------
    numpy.ndarray
        Shape ``(n_bands, 6)``, float64, scipy's sos layout
        ``[b0, b1, b2, 1, a1, a2]`` (normalised by ``a0``).

    Raises
    ------
    ValueError
        If a band type is not one of the three above.

    Examples
    --------
    >>> sos = cookbook_sos([{"type": "peaking", "freq": 1000, "q": 1, "gain_db": 6}], 48000)
    >>> sos.shape
    (1, 6)
    """
    rows = []
    for band in bands:
        kind = band["type"]
        amp = 10.0 ** (band["gain_db"] / 40.0)
        w0 = 2.0 * math.pi * band["freq"] / sample_rate
        cos_w0 = math.cos(w0)
        alpha = math.sin(w0) / (2.0 * band["q"])
        if kind == "peaking":
            b = (1 + alpha * amp, -2 * cos_w0, 1 - alpha * amp)
            a = (1 + alpha / amp, -2 * cos_w0, 1 - alpha / amp)
        elif kind == "lowshelf":
            root = 2.0 * math.sqrt(amp) * alpha
            b = (
                amp * ((amp + 1) - (amp - 1) * cos_w0 + root),
                2 * amp * ((amp - 1) - (amp + 1) * cos_w0),
                amp * ((amp + 1) - (amp - 1) * cos_w0 - root),
            )
            a = (
                (amp + 1) + (amp - 1) * cos_w0 + root,
                -2 * ((amp - 1) + (amp + 1) * cos_w0),
                (amp + 1) + (amp - 1) * cos_w0 - root,
            )
        elif kind == "highshelf":
            root = 2.0 * math.sqrt(amp) * alpha
            b = (
                amp * ((amp + 1) + (amp - 1) * cos_w0 + root),
                -2 * amp * ((amp - 1) + (amp + 1) * cos_w0),
                amp * ((amp + 1) + (amp - 1) * cos_w0 - root),
            )
            a = (
                (amp + 1) - (amp - 1) * cos_w0 + root,
                2 * ((amp - 1) - (amp + 1) * cos_w0),
                (amp + 1) - (amp - 1) * cos_w0 - root,
            )
        else:
            raise ValueError(
                f"band type must be 'peaking', 'lowshelf' or 'highshelf', got {kind!r}"
            )
        rows.append([b[0] / a[0], b[1] / a[0], b[2] / a[0], 1.0, a[1] / a[0], a[2] / a[0]])
    return np.asarray(rows, dtype=np.float64)


def make_test_signal(seconds, sample_rate=SAMPLE_RATE, channels=CHANNELS, seed=0):
    """Seeded noise plus tones, as s16 samples.

    Pink-ish noise (white noise through a one-pole low-pass, mixed with some
    white) and a few tones near the band centres, different per channel,
    peaking near -10 dBFS so that the +5 dB bands rarely saturate.

    Parameters
    ----------
    seconds : float
        Duration; at least one frame is produced.
    sample_rate : int, optional
        Sample rate in Hz.
    channels : int, optional
        Number of channels.
    seed : int, optional
        Seed of ``numpy.random.default_rng``.

    Returns
    -------
    numpy.ndarray
        int16, shape ``(frames, channels)``, C-contiguous (interleaved).
    """
    frames = max(1, int(round(seconds * sample_rate)))
    rng = np.random.default_rng(seed)
    t_s = np.arange(frames) / sample_rate
    out = np.empty((frames, channels), dtype=np.float64)
    tone_hz = (90.0, 410.0, 1950.0, 6100.0, 11000.0)
    for ch in range(channels):
        white = rng.standard_normal(frames)
        brown = signal.lfilter([0.05], [1.0, -0.95], white)
        x = 0.6 * brown + 0.4 * white
        x /= np.max(np.abs(x)) or 1.0
        x *= 0.25
        for k, f_hz in enumerate(tone_hz):
            phase = rng.uniform(0, 2 * math.pi)
            x += 0.03 * math.sin(0.5 + k + ch) ** 2 * np.sin(
                2 * math.pi * f_hz * (1 + 0.01 * ch) * t_s + phase
            )
        out[:, ch] = x
    return np.ascontiguousarray(np.rint(out * S16_SCALE).astype(np.int16))


def decode_s16(data, channels=CHANNELS):
    """s16le bytes to float64 ``(frames, channels)`` in [-1, 1)."""
    return np.frombuffer(data, dtype="<i2").reshape(-1, channels) / S16_SCALE


def encode_s16(y):
    """Float ``(frames, channels)`` to s16le bytes: round half to even, saturate."""
    return np.clip(np.rint(y * S16_SCALE), S16_MIN, S16_MAX).astype("<i2").tobytes()


def oracle_s16(samples, sos):
    """The float64 reference output for s16 input.

    ``np.clip(np.rint(sosfilt(sos, x / 32768) * 32768), -32768, 32767)``.

    Parameters
    ----------
    samples : numpy.ndarray
        int16, shape ``(frames, channels)``.
    sos : numpy.ndarray
        Second-order sections, scipy layout.

    Returns
    -------
    numpy.ndarray
        int16, shape ``(frames, channels)``.
    """
    y = signal.sosfilt(sos, samples / S16_SCALE, axis=0)
    return np.clip(np.rint(y * S16_SCALE), S16_MIN, S16_MAX).astype(np.int16)


def compare_s16(out_bytes, reference):
    """Differences between s16le output bytes and a reference, in LSB.

    Parameters
    ----------
    out_bytes : bytes
        Output of an implementation; may cover only a prefix of ``reference``.
    reference : numpy.ndarray
        int16 ``(frames, channels)``.

    Returns
    -------
    dict
        ``max_err_lsb`` (int, or None if the lengths are incompatible),
        ``n_diff`` (samples that differ), ``n_samples`` compared and
        ``length_ok`` (False when the output has the wrong length).
    """
    got = np.frombuffer(out_bytes, dtype="<i2")
    ref = reference.reshape(-1)
    if got.size > ref.size or got.size == 0:
        return {"max_err_lsb": None, "n_diff": None, "n_samples": int(got.size), "length_ok": False}
    diff = np.abs(got.astype(np.int32) - ref[: got.size].astype(np.int32))
    return {
        "max_err_lsb": int(diff.max()),
        "n_diff": int(np.count_nonzero(diff)),
        "n_samples": int(got.size),
        "length_ok": True,
    }


def make_silence_tail(samples, sound_s=0.1, sample_rate=SAMPLE_RATE):
    """The first `sound_s` seconds of `samples`, then digital silence to the same length.

    Silence after a sound is where recursive filters in plain IEEE
    arithmetic let their state decay into subnormal numbers, which x86
    cores process about a hundred times slower than normal ones.

    Parameters
    ----------
    samples : numpy.ndarray
        int16 ``(frames, channels)``.
    sound_s : float, optional
        Seconds of sound kept at the start.
    sample_rate : int, optional
        Sample rate in Hz.

    Returns
    -------
    numpy.ndarray
        int16, the shape of `samples`, C-contiguous.
    """
    out = np.zeros_like(samples)
    n = min(len(samples), int(round(sound_s * sample_rate)))
    out[:n] = samples[:n]
    return np.ascontiguousarray(out)


"""Clicks of live band changes: eq's crossfade against a plain coefficient swap.

Usage::

    python benchmarks/clicks.py [--quick] [--out DIR] [--seed N] [--pairs N]

For a set of representative changes at 48 kHz in float64 it measures

* the **residual** of eq's output against the *ideal crossfade* between the two
  static filters, ``(1 - g) * y_old + g * y_new`` with both filters run from the
  start of the signal (:func:`scipy.signal.sosfilt`) and ``g`` the same raised
  cosine, on white noise;
* the **click**: energy above 2 kHz around the change on a 100 Hz sine at
  -6 dBFS, for eq's crossfade (ramps of 5, 20 and 50 ms) and for a plain
  coefficient swap in transposed direct form II (what CamillaDSP and ffmpeg do),
  computed here with scipy;

then a **stress** run of random pairs of settings, counting non-finite output
and output above a worst-case bound derived from the two filters (see
:func:`output_bound`). Prints Markdown tables, writes ``DIR/clicks.json`` and
``DIR/clicks.png``. See ``benchmarks/README.md``.

Everything but the equalizer under test is computed here, independently of
``eq``: the coefficients (:func:`cookbook_sos`, the Audio EQ Cookbook written out
again), the filters (scipy), the crossfade weight (:func:`raised_cosine`).
"""

from __future__ import annotations

import argparse
import json
import math
import shlex
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    # Run as a script: make ``benchmarks`` importable from the repository root.
    # Appended, not prepended, so that PYTHONPATH can still choose which eq to measure.
    sys.path.append(str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
from scipy import signal  # noqa: E402

from benchmarks import machine  # noqa: E402

SAMPLE_RATE = 48000
#: Crossfade lengths measured, in ms; the target is judged at :data:`TARGET_RAMP_MS`.
RAMPS_MS = (5.0, 20.0, 50.0)
TARGET_RAMP_MS = 20.0
#: At least this many dB less click energy than the swap, at :data:`TARGET_RAMP_MS`.
TARGET_IMPROVEMENT_DB = 40.0

#: The click probe: a sine of this frequency and peak (-6 dBFS), faded in over FADE_IN_S.
SINE_HZ = 100.0
SINE_PEAK = 0.5
FADE_IN_S = 0.02
#: Click energy is the energy above this frequency: the output through an order-8
#: Butterworth high-pass run forwards and backwards (sosfiltfilt, zero phase, order 16
#: in effect: the 100 Hz sine comes out more than 400 dB down, far below float64).
CLICK_HP_HZ = 2000.0
CLICK_HP_ORDER = 8
#: The measuring window: from this long before the change to the end of the ramp plus WINDOW_AFTER_S.
WINDOW_BEFORE_S = 0.005
WINDOW_AFTER_S = 0.020
#: White noise of this standard deviation for the residual against the ideal crossfade.
NOISE_RMS = 0.1
#: The first change frame, and the change frames tried: spread over one period of the sine,
#: so that a result does not hang on the phase at which the change happens.
FIRST_CHANGE_S = 0.25
N_PHASES = 8
#: Signal after the last change frame (the longest ramp, the window, and margin for the
#: measuring filter's edges).
TAIL_S = 0.2

#: Stress run: frames of noise per pair, its peak, how often a ramp is exactly 0.
STRESS_FRAMES = 4800
STRESS_PEAK = 0.5
STRESS_ZERO_RAMP_FRACTION = 0.1
#: A pair whose output peak is above this many times the larger static output's peak is
#: counted as a loud transient (not a failure: the bound allows it; a figure of how often).
LOUD_TRANSIENT_RATIO = 2.0
#: Relative slack of the bound for float64 rounding. The bound holds in exact arithmetic;
#: eq's largest departure from the scipy model of its method is reported next to it and is
#: many orders of magnitude smaller than this.
BOUND_SLACK = 1e-6
#: eq's output may differ from the scipy model of the method (:func:`crossfade_model`) by
#: this fraction of the bound (float64 rounding of two implementations of the same sums).
MODEL_TOLERANCE = 1e-9

IDENTITY_SECTION = (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)


def _band(kind, freq_hz, q=0.7071067811865476, gain_db=0.0):
    return {"type": kind, "freq_hz": float(freq_hz), "q": float(q), "gain_db": float(gain_db)}


_TWO_BANDS = [_band("lowshelf", 100, gain_db=4.0), _band("peaking", 2000, q=2.0, gain_db=5.0)]

#: The changes measured: (name, old bands, new bands).
CHANGES = (
    ("peaking 1 kHz gain 0 -> +12 dB",
     [_band("peaking", 1000, q=1.0, gain_db=0.0)], [_band("peaking", 1000, q=1.0, gain_db=12.0)]),
    ("peaking +6 dB 1 kHz -> 4 kHz",
     [_band("peaking", 1000, q=1.0, gain_db=6.0)], [_band("peaking", 4000, q=1.0, gain_db=6.0)]),
    ("lowshelf 100 Hz +6 -> -6 dB",
     [_band("lowshelf", 100, gain_db=6.0)], [_band("lowshelf", 100, gain_db=-6.0)]),
    ("lowpass 500 Hz -> highpass 2 kHz",
     [_band("lowpass", 500)], [_band("highpass", 2000)]),
    ("peaking 40 Hz Q20 +24 dB -> notch 23.9 kHz Q20",
     [_band("peaking", 40, q=20.0, gain_db=24.0)], [_band("notch", 0.499 * SAMPLE_RATE, q=20.0)]),
    ("add a band (at the end)",
     _TWO_BANDS, _TWO_BANDS + [_band("peaking", 5000, q=1.0, gain_db=-6.0)]),
    ("remove a band (the last)",
     _TWO_BANDS + [_band("peaking", 5000, q=1.0, gain_db=-6.0)], _TWO_BANDS),
    ("add a band (in front)",
     _TWO_BANDS, [_band("highpass", 40)] + _TWO_BANDS),
    ("remove a band (the first)",
     [_band("highpass", 40)] + _TWO_BANDS, _TWO_BANDS),
)

#: The change shown in the figure (an index into CHANGES).
PLOTTED_CHANGE = 0


# ------------------------------------------------------------------------------ oracle
def cookbook_sos(bands, sample_rate):
    """Second-order sections of Audio EQ Cookbook bands, written out independently of eq.

    Parameters
    ----------
    bands : iterable of dict
        Each with ``type`` (any of eq's eight types), ``freq_hz``, ``q`` and ``gain_db``
        (used by peaking and shelves; shelves take `q` as the cookbook's Q).
    sample_rate : float
        In Hz.

    Returns
    -------
    ndarray, shape (n_bands, 6)
        scipy's sos layout ``[b0, b1, b2, 1, a1, a2]``, normalised by ``a0``.

    Raises
    ------
    ValueError
        For an unknown band type.

    Examples
    --------
    >>> cookbook_sos([{"type": "notch", "freq_hz": 1000, "q": 2, "gain_db": 0}], 48000).shape
    (1, 6)
    """
    rows = []
    for band in bands:
        kind = band["type"]
        w0 = 2.0 * math.pi * band["freq_hz"] / sample_rate
        c, s = math.cos(w0), math.sin(w0)
        alpha = s / (2.0 * band["q"])
        amp = 10.0 ** (band.get("gain_db", 0.0) / 40.0)
        if kind == "peaking":
            b, a = (1 + alpha * amp, -2 * c, 1 - alpha * amp), (1 + alpha / amp, -2 * c, 1 - alpha / amp)
        elif kind in ("lowshelf", "highshelf"):
            k = 1.0 if kind == "lowshelf" else -1.0
            root = 2.0 * math.sqrt(amp) * alpha
            b = (amp * ((amp + 1) - k * (amp - 1) * c + root),
                 k * 2 * amp * ((amp - 1) - k * (amp + 1) * c),
                 amp * ((amp + 1) - k * (amp - 1) * c - root))
            a = ((amp + 1) + k * (amp - 1) * c + root,
                 -k * 2 * ((amp - 1) + k * (amp + 1) * c),
                 (amp + 1) + k * (amp - 1) * c - root)
        else:
            a = (1 + alpha, -2 * c, 1 - alpha)
            b = {"lowpass": ((1 - c) / 2, 1 - c, (1 - c) / 2),
                 "highpass": ((1 + c) / 2, -(1 + c), (1 + c) / 2),
                 "bandpass": (alpha, 0.0, -alpha),
                 "notch": (1.0, -2 * c, 1.0),
                 "allpass": (1 - alpha, -2 * c, 1 + alpha)}.get(kind)
            if b is None:
                raise ValueError(f"band type must be one of eq's eight types, got {kind!r}")
        rows.append([b[0] / a[0], b[1] / a[0], b[2] / a[0], 1.0, a[1] / a[0], a[2] / a[0]])
    return np.asarray(rows, dtype=np.float64).reshape(-1, 6)


def ramp_frames(ramp_ms, sample_rate=SAMPLE_RATE):
    """Frames of a ramp of `ramp_ms` ms (rounded to nearest, as eq documents)."""
    return int(round(ramp_ms * sample_rate / 1000.0))


def raised_cosine(n_frames, ramp):
    """Weight of the new filter over `n_frames` frames from the change, a ramp of `ramp` frames.

    ``g[j] = (1 - cos(pi * (j + 1) / (ramp + 1))) / 2`` for ``j < ramp``, then 1: eq's
    documented crossfade (``eq._kernels.ramp_weight``), written out again.
    """
    j = np.arange(n_frames, dtype=np.float64)
    return np.where(j < ramp, 0.5 - 0.5 * np.cos(np.pi * (j + 1.0) / (ramp + 1.0)), 1.0)


def _padded(sos, n_sections):
    """`sos` with identity sections appended up to `n_sections` rows."""
    sos = np.asarray(sos, dtype=np.float64).reshape(-1, 6)
    extra = np.tile(IDENTITY_SECTION, (n_sections - len(sos), 1))
    return np.vstack([sos, extra]) if len(extra) else sos


def _sosfilt_from(sos, x, zi):
    """``sosfilt(sos, x, zi=zi)`` that also takes an empty `x` (scipy does not)."""
    if len(x) == 0:
        return np.zeros(0), np.array(zi, dtype=np.float64)
    return signal.sosfilt(sos, x, zi=zi)


def swap_oracle(sos_old, sos_new, x, at_frame):
    """A plain coefficient swap in TDF-II at `at_frame`, as CamillaDSP and ffmpeg do it.

    The old cascade filters ``x[:at_frame]`` from rest; the new coefficients continue from
    its state over ``x[at_frame:]``. When the section counts differ, the shorter cascade is
    padded with identity sections ``[1, 0, 0, 1, 0, 0]`` at its end, so the state of every
    section carries (the state of a removed last section leaks out through the identity).

    Parameters
    ----------
    sos_old, sos_new : array_like, shape (n, 6)
    x : ndarray, shape (frames,)
        Mono float64 input.
    at_frame : int
        First frame filtered by the new coefficients.

    Returns
    -------
    ndarray, shape (frames,)
    """
    n = max(len(sos_old), len(sos_new), 1)
    old, new = _padded(sos_old, n), _padded(sos_new, n)
    head, zf = _sosfilt_from(old, x[:at_frame], np.zeros((n, 2)))
    tail, _ = _sosfilt_from(new, x[at_frame:], zf)
    return np.concatenate([head, tail])


def ideal_crossfade(sos_old, sos_new, x, at_frame, ramp):
    """``(1 - g) * y_old + g * y_new`` with both static filters run from the start of `x`.

    `ramp` in frames; 0 is the ideal hard switch (``y_old`` before `at_frame`, ``y_new`` from it).
    """
    y_old = signal.sosfilt(_padded(sos_old, max(len(sos_old), 1)), x)
    y_new = signal.sosfilt(_padded(sos_new, max(len(sos_new), 1)), x)
    g = np.zeros(len(x))
    g[at_frame:] = raised_cosine(len(x) - at_frame, ramp)
    return (1.0 - g) * y_old + g * y_new


def _kept_sections(sos_old, sos_new):
    """Pairs ``(old index, new index)`` of the sections a change keeps: the common prefix and
    the common suffix of the two cascades, compared coefficient by coefficient. For one band
    changed, added or removed (every change of this benchmark) that is every band kept; random
    pairs keep none."""
    rows_old = [tuple(row) for row in sos_old]
    rows_new = [tuple(row) for row in sos_new]
    prefix = 0
    while prefix < min(len(rows_old), len(rows_new)) and rows_old[prefix] == rows_new[prefix]:
        prefix += 1
    suffix = 0
    while (suffix < min(len(rows_old), len(rows_new)) - prefix
           and rows_old[-1 - suffix] == rows_new[-1 - suffix]):
        suffix += 1
    pairs = [(i, i) for i in range(prefix)]
    pairs += [(len(rows_old) - 1 - j, len(rows_new) - 1 - j) for j in range(suffix)]
    return pairs


def crossfade_model(sos_old, sos_new, x, at_frame, ramp, carry_state=True):
    """eq's documented method, in scipy: the new cascade runs from `at_frame`, each section that
    the change keeps (:func:`_kept_sections`) starting from its state in the old cascade and
    every other section from rest, and the output crossfades from the old static output to it
    with :func:`raised_cosine`.

    With ``carry_state=False`` the new cascade starts from rest instead (not what eq does: a
    diagnostic, to tell the effect of the carried state from that of the crossfade)."""
    n_old, n_new = max(len(sos_old), 1), max(len(sos_new), 1)
    old, new = _padded(sos_old, n_old), _padded(sos_new, n_new)
    y_old = signal.sosfilt(old, x)
    _, zf = _sosfilt_from(old, x[:at_frame], np.zeros((n_old, 2)))
    zi = np.zeros((n_new, 2))
    if carry_state:
        for i_old, i_new in _kept_sections(sos_old, sos_new):
            zi[i_new] = zf[i_old]
    y_new, _ = _sosfilt_from(new, x[at_frame:], zi)
    g = raised_cosine(len(x) - at_frame, ramp)
    y = y_old.copy()
    y[at_frame:] = (1.0 - g) * y_old[at_frame:] + g * y_new
    return y


def eq_change(bands_old, bands_new, x, at_frame, ramp_ms, splits=(), sample_rate=SAMPLE_RATE):
    """eq's output: a mono :class:`eq.BlockEqualizer` with `bands_old`, ``set_bands(bands_new,
    at_frame=..., ramp_ms=...)`` before the first block, `x` fed in blocks split at `splits`."""
    import eq

    block_eq = eq.BlockEqualizer(sample_rate, 1, bands_old)
    block_eq.set_bands(bands_new, at_frame=at_frame, ramp_ms=ramp_ms)
    return np.concatenate([block_eq.process(part) for part in np.split(x, list(splits))])


# ------------------------------------------------------------------------------ measures
def to_db(ratio):
    """``10 * log10(ratio)``, or None for a ratio of exactly 0 (printed as -inf)."""
    return 10.0 * math.log10(ratio) if ratio > 0 else None


_HP_SOS = signal.butter(CLICK_HP_ORDER, CLICK_HP_HZ, "highpass", fs=SAMPLE_RATE, output="sos")


def click_signal(y):
    """The part of `y` above :data:`CLICK_HP_HZ` (zero-phase high-pass, see the constants)."""
    return signal.sosfiltfilt(_HP_SOS, y)


def window(at_frame, ramp, sample_rate=SAMPLE_RATE):
    """``(start, stop)`` frames of the measuring window around a change with a `ramp`-frame ramp."""
    return (at_frame - int(round(WINDOW_BEFORE_S * sample_rate)),
            at_frame + ramp + int(round(WINDOW_AFTER_S * sample_rate)))


def click_energy(y, x, span):
    """Energy above :data:`CLICK_HP_HZ` of output `y` over `span`, and energy of input `x` there.

    The click in dB is ``10 log10`` of their ratio: relative to the input sine's energy in the
    same window.
    """
    start, stop = span
    hp = click_signal(y)
    return float(np.sum(hp[start:stop] ** 2)), float(np.sum(x[start:stop] ** 2))


def residual_energy(y, ideal, span):
    """Energy of ``y - ideal`` over `span`, and energy of `ideal` there."""
    start, stop = span
    return float(np.sum((y[start:stop] - ideal[start:stop]) ** 2)), float(np.sum(ideal[start:stop] ** 2))


def _sum_db(pairs):
    """dB of the ratio of summed energies (a mean over change frames, in energy)."""
    return to_db(sum(p[0] for p in pairs) / sum(p[1] for p in pairs))


def probe_signals(seed, sample_rate=SAMPLE_RATE):
    """The faded-in 100 Hz sine, white noise, and the change frames.

    Returns
    -------
    sine, noise : ndarray, shape (frames,)
    change_frames : list of int
        :data:`N_PHASES` frames spread over one period of the sine.
    """
    first = int(round(FIRST_CHANGE_S * sample_rate))
    period = sample_rate / SINE_HZ
    change_frames = [first + int(round(k * period / N_PHASES)) for k in range(N_PHASES)]
    frames = change_frames[-1] + int(round(TAIL_S * sample_rate))
    t_s = np.arange(frames) / sample_rate
    fade = np.clip(t_s / FADE_IN_S, 0.0, 1.0)
    sine = SINE_PEAK * np.sin(2 * np.pi * SINE_HZ * t_s) * (0.5 - 0.5 * np.cos(np.pi * fade))
    noise = np.random.default_rng(seed).standard_normal(frames) * NOISE_RMS
    return sine, noise, change_frames


def measure_change(name, bands_old, bands_new, sine, noise, change_frames, keep_traces=False):
    """Clicks and residuals of one change, for the swap and eq at every ramp of :data:`RAMPS_MS`.

    Returns
    -------
    dict
        JSON-ready figures (see ``benchmarks/README.md``); with `keep_traces`, also
        ``"traces"``: the signals of the first change frame, for the figure.
    """
    sos_old, sos_new = cookbook_sos(bands_old, SAMPLE_RATE), cookbook_sos(bands_new, SAMPLE_RATE)
    ramps = {f"{ms:g}": ramp_frames(ms) for ms in RAMPS_MS}
    target = f"{TARGET_RAMP_MS:g}"
    clicks = {key: [] for key in ("swap", "floor", f"rest_{target}")}
    clicks.update({f"{m}_{r}": [] for m in ("eq", "ideal", "swap") for r in ramps})
    residuals = {"swap": [], f"rest_{target}": []}
    residuals.update({f"eq_{r}": [] for r in ramps})
    eq_vs_model = eq0_vs_swap = 0.0
    traces = None
    static_old = signal.sosfilt(sos_old, sine)
    static_new = signal.sosfilt(sos_new, sine)
    for k, at in enumerate(change_frames):
        # Clicks on the sine: each method in the window of its ramp; the swap in every window.
        swap = swap_oracle(sos_old, sos_new, sine, at)
        swap_span = window(at, 0)
        clicks["swap"].append(click_energy(swap, sine, swap_span))
        target_span = window(at, ramps[target])
        (floor_old, sine_energy), (floor_new, _) = (click_energy(static_old, sine, target_span),
                                                    click_energy(static_new, sine, target_span))
        clicks["floor"].append((max(floor_old, floor_new), sine_energy))
        rest = crossfade_model(sos_old, sos_new, sine, at, ramps[target], carry_state=False)
        clicks[f"rest_{target}"].append(click_energy(rest, sine, target_span))
        for key, ramp in ramps.items():
            span = window(at, ramp)
            y = eq_change(bands_old, bands_new, sine, at, float(key))
            ideal = ideal_crossfade(sos_old, sos_new, sine, at, ramp)
            clicks[f"eq_{key}"].append(click_energy(y, sine, span))
            clicks[f"ideal_{key}"].append(click_energy(ideal, sine, span))
            clicks[f"swap_{key}"].append(click_energy(swap, sine, span))
            model = crossfade_model(sos_old, sos_new, sine, at, ramp)
            eq_vs_model = max(eq_vs_model, float(np.max(np.abs(y - model))))
            if keep_traces and k == 0 and float(key) == TARGET_RAMP_MS:
                traces = {"at_frame": at, "ramp": ramp, "swap": swap, "eq": y, "ideal": ideal}
        # Residuals on noise: eq against the ideal crossfade of its ramp, the swap against
        # the ideal hard switch (a swap has no ramp).
        swap_n = swap_oracle(sos_old, sos_new, noise, at)
        residuals["swap"].append(residual_energy(
            swap_n, ideal_crossfade(sos_old, sos_new, noise, at, 0), window(at, 0)))
        for key, ramp in ramps.items():
            y = eq_change(bands_old, bands_new, noise, at, float(key))
            residuals[f"eq_{key}"].append(residual_energy(
                y, ideal_crossfade(sos_old, sos_new, noise, at, ramp), window(at, ramp)))
            model = crossfade_model(sos_old, sos_new, noise, at, ramp)
            eq_vs_model = max(eq_vs_model, float(np.max(np.abs(y - model))))
        rest = crossfade_model(sos_old, sos_new, noise, at, ramps[target], carry_state=False)
        residuals[f"rest_{target}"].append(residual_energy(
            rest, ideal_crossfade(sos_old, sos_new, noise, at, ramps[target]), target_span))
        y0 = eq_change(bands_old, bands_new, noise, at, 0.0)
        eq0_vs_swap = max(eq0_vs_swap, float(np.max(np.abs(y0 - swap_n))))

    click_db = {key: _sum_db(pairs) for key, pairs in clicks.items()}
    improvement, worst_phase = {}, {}
    for key in ramps:
        diffs = [to_db(s[0] / e[0]) if e[0] > 0 and s[0] > 0 else None
                 for s, e in zip(clicks[f"swap_{key}"], clicks[f"eq_{key}"])]
        swap_db, eq_db = click_db[f"swap_{key}"], click_db[f"eq_{key}"]
        improvement[key] = None if swap_db is None or eq_db is None else swap_db - eq_db
        worst_phase[key] = None if None in diffs else min(diffs)
    meets = (improvement[target] is not None and worst_phase[target] is not None
             and improvement[target] >= TARGET_IMPROVEMENT_DB
             and worst_phase[target] >= TARGET_IMPROVEMENT_DB)
    result = {
        "name": name,
        "bands_old": bands_old,
        "bands_new": bands_new,
        "sections_old": len(sos_old),
        "sections_new": len(sos_new),
        "change_frames": list(change_frames),
        "click_db": click_db,
        "click_db_per_frame": {key: [to_db(e / r) for e, r in pairs] for key, pairs in clicks.items()},
        "residual_db": {key: _sum_db(pairs) for key, pairs in residuals.items()},
        "improvement_db": improvement,
        "improvement_worst_frame_db": worst_phase,
        "meets_target": bool(meets),
        "eq_vs_model_max_abs": eq_vs_model,
        "eq_ramp0_vs_swap_max_abs": eq0_vs_swap,
    }
    if traces is not None:
        result["traces"] = traces
    return result


# ------------------------------------------------------------------------------ stress
def random_band(rng, sample_rate=SAMPLE_RATE):
    """A random band: any type, 10 Hz .. 0.499 fs and q 0.05 .. 40 log-uniform, gain +-24 dB."""
    kinds = ("peaking", "lowshelf", "highshelf", "lowpass", "highpass", "bandpass", "notch",
             "allpass")
    return _band(kinds[rng.integers(len(kinds))],
                 math.exp(rng.uniform(math.log(10.0), math.log(0.499 * sample_rate))),
                 q=math.exp(rng.uniform(math.log(0.05), math.log(40.0))),
                 gain_db=rng.uniform(-24.0, 24.0))


def state_responses(sos, length):
    """Impulse responses from the input to every state variable of a TDF-II cascade.

    ``out[k, j, n]`` is ``z_{j+1}`` of section ``k`` after the sample ``n`` frames after a unit
    impulse, in scipy's ``sosfilt`` recursion ``y = b0 u + z1``, ``z1 = b1 u - a1 y + z2``,
    ``z2 = b2 u - a2 y``. The state after input ``x[:F]`` is ``sum_n out[..., n] * x[F-1-n]``.
    """
    out = np.zeros((len(sos), 2, length))
    u = np.zeros(length)
    u[0] = 1.0
    for k, (b0, b1, b2, _, a1, a2) in enumerate(sos):
        y = signal.lfilter([b0, b1, b2], [1.0, a1, a2], u)
        z2 = b2 * u - a2 * y
        z1 = b1 * u - a1 * y
        z1[1:] += z2[:-1]
        out[k, 0], out[k, 1] = z1, z2
        u = y
    return out


def output_bound(sos_old, sos_new, at_frame, frames, peak):
    """An upper bound on ``|y|`` of eq's change, for any input of that `peak` and length.

    Before `at_frame` the output is the old cascade's: ``|y| <= peak * ||h_old||_1`` (the
    impulse response over `frames` samples: later samples cannot reach the signal). From it
    the output is a convex combination of the old cascade's output and the new one's, which
    starts from the old state ``s`` of the sections the change keeps (:func:`_kept_sections`,
    the others from rest) and so is
    ``(h_new * x)(n) + sum_i s_i r_i(n - F)``, with ``r_i`` the new cascade's response to a
    unit state ``i`` and ``|s_i| <= peak * ||g_i||_1``, ``g_i`` the response of state ``i``
    of the old cascade to the input (:func:`state_responses`). So

    ``|y| <= peak * max(||h_old||_1, ||h_new||_1 + sum_i ||g_i||_1 * max|r_i|)``,

    with every response over the frames it can act on. It holds for every input, so a noise
    input sits well under it, and exceeding it is an error, not bad luck.
    """
    n_new = len(sos_new)
    impulse = np.zeros(frames)
    impulse[0] = 1.0
    bound_old = float(np.sum(np.abs(signal.sosfilt(sos_old, impulse))))
    after = frames - at_frame
    bound_new = float(np.sum(np.abs(signal.sosfilt(sos_new, impulse[:after])))) if after else 0.0
    pairs = _kept_sections(sos_old, sos_new)
    if at_frame and after and pairs:
        responses = state_responses(sos_old, at_frame)
        g = np.array([responses[i_old, z] for i_old, _ in pairs for z in (0, 1)])
        zi = np.zeros((n_new, 2 * len(pairs), 2))
        for p, (_, i_new) in enumerate(pairs):
            for z in (0, 1):
                zi[i_new, 2 * p + z, z] = 1.0
        r, _ = signal.sosfilt(sos_new, np.zeros((2 * len(pairs), after)), axis=-1, zi=zi)
        bound_new += float(np.sum(np.sum(np.abs(g), axis=1) * np.max(np.abs(r), axis=1)))
    return peak * max(bound_old, bound_new)


def stress(n_pairs, seed, frames=STRESS_FRAMES, log=None):
    """Random pairs of settings on short noise: non-finite or out-of-bound output, and the
    departure from the scipy model of the method.

    Returns
    -------
    dict
        Counts and worst cases (see ``benchmarks/README.md``).
    """
    import eq

    rng = np.random.default_rng([seed, 1])
    counts = {"nonfinite": 0, "over_bound": 0, "model_mismatch": 0, "design_mismatch": 0,
              "loud_transient": 0}
    # The same count for two other ways of making the change (scipy, diagnostics): the new
    # filter started from rest, and the plain swap.
    loud_others = {"from_rest": 0, "swap": 0}
    worst = {"bound_ratio": 0.0, "static_peak_ratio": 0.0, "model_deviation": 0.0,
             "design_deviation": 0.0}
    worst_pairs = {}
    failures = []
    started = time.perf_counter()
    for p in range(n_pairs):
        bands = [[random_band(rng) for _ in range(rng.integers(1, 7))] for _ in range(2)]
        ramp_ms = 0.0 if rng.random() < STRESS_ZERO_RAMP_FRACTION else float(rng.uniform(0.0, 50.0))
        at = int(rng.integers(0, frames))
        splits = sorted(int(s) for s in rng.integers(0, frames + 1, rng.integers(0, 3)))
        x = rng.uniform(-STRESS_PEAK, STRESS_PEAK, frames)
        peak = float(np.max(np.abs(x)))
        sos = [cookbook_sos(b, SAMPLE_RATE) for b in bands]
        design_dev = max(float(np.max(np.abs(eq.design_sos(b, SAMPLE_RATE) - s)
                                      / np.maximum(1.0, np.abs(s)))) for b, s in zip(bands, sos))
        y = eq_change(bands[0], bands[1], x, at, ramp_ms, splits)
        bound = output_bound(sos[0], sos[1], at, frames, peak)
        model = crossfade_model(sos[0], sos[1], x, at, ramp_frames(ramp_ms))
        static_peak = max(float(np.max(np.abs(signal.sosfilt(s, x)))) for s in sos)
        for key, other in (("from_rest", crossfade_model(sos[0], sos[1], x, at, ramp_frames(ramp_ms),
                                                         carry_state=False)),
                           ("swap", swap_oracle(sos[0], sos[1], x, at))):
            if np.max(np.abs(other)) > LOUD_TRANSIENT_RATIO * static_peak:
                loud_others[key] += 1
        finite = bool(np.all(np.isfinite(y)))
        y_peak = float(np.max(np.abs(y))) if finite else math.inf
        ratios = {"bound_ratio": y_peak / bound,
                  "static_peak_ratio": y_peak / static_peak if static_peak > 0 else math.inf,
                  "model_deviation": float(np.max(np.abs(y - model))) / bound if finite else math.inf,
                  "design_deviation": design_dev}
        pair = {"index": p, "bands_old": bands[0], "bands_new": bands[1], "ramp_ms": ramp_ms,
                "at_frame": at, "block_splits": splits, "peak_in": peak, "peak_out": y_peak,
                "bound": bound, "static_peak": static_peak}
        for key, value in ratios.items():
            if value > worst[key]:
                worst[key], worst_pairs[key] = value, dict(pair, **{key: value})
        bad = []
        if not finite:
            counts["nonfinite"] += 1
            bad.append("nonfinite")
        elif ratios["bound_ratio"] > 1.0 + BOUND_SLACK:
            counts["over_bound"] += 1
            bad.append("over_bound")
        if ratios["model_deviation"] > MODEL_TOLERANCE:
            counts["model_mismatch"] += 1
            bad.append("model_mismatch")
        if ratios["static_peak_ratio"] > LOUD_TRANSIENT_RATIO:
            counts["loud_transient"] += 1
        if design_dev > 1e-12:
            counts["design_mismatch"] += 1
            bad.append("design_mismatch")
        if bad and len(failures) < 20:
            failures.append(dict(pair, problems=bad, **ratios))
        if log and (p + 1) % 2000 == 0:
            log(f"stress: {p + 1} of {n_pairs} pairs")
    return {
        "pairs": n_pairs,
        "frames": frames,
        "input": f"white noise, uniform in +-{STRESS_PEAK}",
        "bound": "peak_in * max(||h_old||_1, ||h_new||_1 + sum_i ||g_i||_1 max|r_i|) (output_bound)",
        "bound_slack": BOUND_SLACK,
        "model_tolerance": MODEL_TOLERANCE,
        "loud_transient_ratio": LOUD_TRANSIENT_RATIO,
        "loud_transient_others": loud_others,
        "failures": counts["nonfinite"] + counts["over_bound"],
        "counts": counts,
        "worst": worst,
        "worst_pairs": worst_pairs,
        "first_problems": failures,
        "runtime_s": time.perf_counter() - started,
    }


# ------------------------------------------------------------------------------ checks
def chunking_check(seed):
    """eq's claim that the output does not depend on the split, across a change: the f64le
    stream fed in random byte chunks (split mid-sample) against one BlockEqualizer block."""
    import eq

    bands_old, bands_new = CHANGES[PLOTTED_CHANGE][1], CHANGES[PLOTTED_CHANGE][2]
    rng = np.random.default_rng([seed, 2])
    x = rng.standard_normal(9600) * NOISE_RMS
    whole = eq_change(bands_old, bands_new, x, 3000, TARGET_RAMP_MS)
    stream = eq.StreamingEqualizer(SAMPLE_RATE, 1, "f64le", bands_old)
    stream.set_bands(bands_new, at_frame=3000, ramp_ms=TARGET_RAMP_MS)
    data = x.astype("<f8").tobytes()
    cuts = np.sort(rng.integers(0, len(data), 300))
    out = b"".join(stream.process(part.tobytes())
                   for part in np.split(np.frombuffer(data, np.uint8), cuts))
    got = np.frombuffer(out, dtype="<f8")
    return {"frames": len(x), "chunks": len(cuts) + 1,
            "stream_equals_block": bool(len(got) == len(x) and np.array_equal(got, whole))}


# ------------------------------------------------------------------------------ report
def _fmt(value, digits=1):
    return "-inf" if value is None else f"{value:.{digits}f}"


def _share(count, total):
    return f"{count} ({100.0 * count / max(total, 1):.1f} %)"


def format_tables(data):
    """The Markdown tables of a result dict."""
    ramps = [f"{ms:g}" for ms in RAMPS_MS]
    t = f"{TARGET_RAMP_MS:g}"
    lines = [
        f"Click energy above {CLICK_HP_HZ / 1000:g} kHz, {SINE_HZ:g} Hz sine at -6 dBFS, dB re the "
        f"sine's energy in the window [F - {WINDOW_BEFORE_S * 1e3:g} ms, F + ramp + "
        f"{WINDOW_AFTER_S * 1e3:g} ms] (energy mean over {N_PHASES} change frames F); "
        f"swap in the {t} ms window",
        "",
        "| change | swap | " + " | ".join(f"eq {r} ms" for r in ramps)
        + f" | ideal {t} ms | static floor | from rest {t} ms | swap - eq @{t} ms | worst F "
        f"| >= {TARGET_IMPROVEMENT_DB:g} dB |",
        "|---|---:|" + "---:|" * len(ramps) + "---:|---:|---:|---:|---:|---|",
    ]
    for c in data["changes"]:
        cd = c["click_db"]
        lines.append(
            f"| {c['name']} | {_fmt(cd[f'swap_{t}'])} | "
            + " | ".join(_fmt(cd[f"eq_{r}"]) for r in ramps)
            + f" | {_fmt(cd[f'ideal_{t}'])} | {_fmt(cd['floor'])} | {_fmt(cd[f'rest_{t}'])} "
            f"| {_fmt(c['improvement_db'][t])} | "
            f"{_fmt(c['improvement_worst_frame_db'][t])} | {'yes' if c['meets_target'] else '**no**'} |")
    lines += [
        "",
        "Residual against the ideal crossfade of the two static filters (white noise), dB re "
        "the ideal's energy in the same window; the swap against the ideal hard switch. "
        "Last columns: largest |difference| of eq from the scipy model of its method, and of "
        "eq at ramp 0 from the swap oracle",
        "",
        "| change | swap | " + " | ".join(f"eq {r} ms" for r in ramps)
        + f" | from rest {t} ms | eq - model | eq ramp 0 - swap |",
        "|---|---:|" + "---:|" * len(ramps) + "---:|---:|---:|",
    ]
    for c in data["changes"]:
        rd = c["residual_db"]
        lines.append(f"| {c['name']} | {_fmt(rd['swap'])} | "
                     + " | ".join(_fmt(rd[f"eq_{r}"]) for r in ramps)
                     + f" | {_fmt(rd[f'rest_{t}'])} | {c['eq_vs_model_max_abs']:.1e} | {c['eq_ramp0_vs_swap_max_abs']:.1e} |")
    s = data["stress"]
    w, n = s["worst"], s["pairs"]
    lines += [
        "",
        f"Stress: {s['pairs']} random pairs, {s['frames']} frames of noise each",
        "",
        "| figure | value |",
        "|---|---:|",
        f"| failures: non-finite output, or output above the bound | {s['failures']} |",
        f"| worst output peak / bound | {w['bound_ratio']:.3f} |",
        f"| worst output peak / larger static output peak | {w['static_peak_ratio']:.3g} |",
        f"| pairs with a peak above {LOUD_TRANSIENT_RATIO:g} x the larger static peak: eq / "
        f"new filter from rest (scipy) / plain swap (scipy) | {_share(s['counts']['loud_transient'], n)} / "
        f"{_share(s['loud_transient_others']['from_rest'], n)} / {_share(s['loud_transient_others']['swap'], n)} |",
        f"| worst abs(eq - scipy model of the method) / bound | {w['model_deviation']:.1e} |",
        f"| pairs where eq departs from the model by more than {MODEL_TOLERANCE:g} x bound "
        f"| {s['counts']['model_mismatch']} |",
    ]
    return "\n".join(lines)


def plot(data, traces, path):
    """Write the figure; return None, or why it was not written."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:
        return f"not written ({exc})"
    fig, axes = plt.subplots(3, 1, figsize=(10, 11))
    at, ramp = traces["at_frame"], traces["ramp"]
    start, stop = window(at, ramp)
    t_ms = (np.arange(start, stop) - at) * 1e3 / SAMPLE_RATE
    styles = (("swap", "plain coefficient swap", "C3", "-"),
              ("eq", f"eq crossfade {TARGET_RAMP_MS:g} ms", "C0", "-"),
              ("ideal", "ideal crossfade of static filters", "k", ":"))
    ax = axes[0]
    for key, label, color, style in styles:
        ax.plot(t_ms, traces[key][start:stop], style, color=color, label=label, lw=1)
    ax.axvspan(0, ramp * 1e3 / SAMPLE_RATE, color="0.9")
    ax.set(title=f"{data['changes'][PLOTTED_CHANGE]['name']}: output, {SINE_HZ:g} Hz sine at -6 dBFS",
           xlabel="ms from the change", ylabel="output")
    ax.legend(loc="upper left", fontsize=8)
    ax = axes[1]
    for key, label, color, style in styles:
        hp = click_signal(traces[key])[start:stop]
        ax.plot(t_ms, 20 * np.log10(np.abs(hp) + 1e-300), style, color=color, label=label, lw=0.8)
    ax.set(title=f"click signal: output above {CLICK_HP_HZ / 1000:g} kHz", xlabel="ms from the change",
           ylabel="|high-passed output| (dBFS)", ylim=(-320, 0))
    ax.legend(loc="lower left", fontsize=8)
    ax = axes[2]
    names = [c["name"] for c in data["changes"]]
    t = f"{TARGET_RAMP_MS:g}"
    pos = np.arange(len(names))
    floor = -300.0
    for offset, key, label, color in ((-0.2, f"swap_{t}", "swap", "C3"),
                                      (0.2, f"eq_{t}", f"eq {t} ms", "C0")):
        values = [c["click_db"][key] for c in data["changes"]]
        heights = [(v if v is not None else floor) - floor for v in values]
        ax.bar(pos + offset, heights, 0.4, bottom=floor, color=color, label=label)
    ax.set_xticks(pos, names, rotation=20, ha="right", fontsize=8)
    ax.set(ylabel="click energy (dB re sine)", title="click energy above 2 kHz per change")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return None


def _finite(value):
    """`value` with non-finite floats as the strings "inf", "-inf", "nan" (strict JSON)."""
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value


def _json_default(value):
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def parse_args(argv=None):
    """Command-line options."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true",
                   help="a short stress run (500 pairs unless --pairs); the same click measures")
    p.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results",
                   help="directory for clicks.json and clicks.png (default benchmarks/results)")
    p.add_argument("--seed", type=int, default=0, help="seed of the noise and the random pairs")
    p.add_argument("--pairs", type=int, default=None,
                   help="random pairs of settings in the stress run (default 10000, --quick 500)")
    args = p.parse_args(argv)
    if args.pairs is None:
        args.pairs = 500 if args.quick else 10000
    if args.pairs < 0 or args.seed < 0:
        p.error(f"--pairs and --seed must be >= 0, got {args.pairs!r} and {args.seed!r}")
    return args


def run(args):
    """Every measurement; returns ``(data, traces)``: the JSON-ready dict and the plotted signals."""
    started = time.perf_counter()
    log = (lambda msg: print(f"[{time.perf_counter() - started:6.1f} s] {msg}", file=sys.stderr,
                             flush=True))
    sine, noise, change_frames = probe_signals(args.seed)
    changes, traces = [], None
    log("click measures")
    for i, (name, old, new) in enumerate(CHANGES):
        result = measure_change(name, old, new, sine, noise, change_frames,
                                keep_traces=i == PLOTTED_CHANGE)
        traces = result.pop("traces", traces)
        changes.append(result)
    clicks_s = time.perf_counter() - started
    log(f"stress: {args.pairs} random pairs")
    stress_result = stress(args.pairs, args.seed, log=log)
    t = f"{TARGET_RAMP_MS:g}"
    data = {
        "machine": machine.describe_machine(),
        "config": {
            "command_line": "python benchmarks/clicks.py " + shlex.join(sys.argv[1:]),
            "sample_rate": SAMPLE_RATE,
            "dtype": "float64, mono, eq.BlockEqualizer",
            "seed": args.seed,
            "quick": bool(args.quick),
            "ramps_ms": list(RAMPS_MS),
            "ramp_frames": {f"{ms:g}": ramp_frames(ms) for ms in RAMPS_MS},
            "target": {"improvement_db": TARGET_IMPROVEMENT_DB, "ramp_ms": TARGET_RAMP_MS,
                       "judged_on": "mean over change frames and the worst change frame"},
            "sine": {"freq_hz": SINE_HZ, "peak": SINE_PEAK, "fade_in_s": FADE_IN_S},
            "noise_rms": NOISE_RMS,
            "change_frames": change_frames,
            "signal_frames": len(sine),
            "click_measure": f"energy of sosfiltfilt(butter({CLICK_HP_ORDER}, {CLICK_HP_HZ:g} Hz, "
                             f"highpass), y) over [F - {WINDOW_BEFORE_S * 1e3:g} ms, F + ramp + "
                             f"{WINDOW_AFTER_S * 1e3:g} ms), re the input sine's energy there",
            "residual_measure": "energy of y - ideal over the same window re the ideal's energy",
            "swap": "sosfilt(old, x[:F], zi=0) then sosfilt(new, x[F:], zi=zf); shorter cascade "
                    "padded with identity sections at its end",
            "eq_module": __import__("eq").__file__,
        },
        "changes": changes,
        "target_met_by": [c["name"] for c in changes if c["meets_target"]],
        "target_missed_by": [c["name"] for c in changes if not c["meets_target"]],
        "stress": stress_result,
        "checks": {"chunking": chunking_check(args.seed)},
        "runtime_s": {"clicks": clicks_s, "stress": stress_result["runtime_s"]},
    }
    data["summary"] = {
        "changes": len(changes),
        "meeting_target": len(data["target_met_by"]),
        "min_improvement_db": min((c["improvement_db"][t] for c in changes
                                   if c["improvement_db"][t] is not None), default=None),
        "stress_failures": stress_result["failures"],
        "stress_worst_bound_ratio": stress_result["worst"]["bound_ratio"],
    }
    data["runtime_s"]["total"] = time.perf_counter() - started
    return data, traces


def main(argv=None):
    """Entry point: measure, print the tables, write JSON and PNG. Returns the exit status."""
    args = parse_args(argv)
    data, traces = run(args)
    args.out.mkdir(parents=True, exist_ok=True)
    json_path, png_path = args.out / "clicks.json", args.out / "clicks.png"
    plot_status = plot(data, traces, png_path)
    data["config"]["plot"] = plot_status or str(png_path)
    json_path.write_text(json.dumps(_finite(data), indent=1, default=_json_default, allow_nan=False) + "\n")
    print(format_tables(data))
    print(f"\n{data['summary']['meeting_target']} of {len(data['changes'])} changes meet the "
          f"{TARGET_IMPROVEMENT_DB:g} dB target at {TARGET_RAMP_MS:g} ms"
          + (f"; missed: {', '.join(data['target_missed_by'])}" if data["target_missed_by"] else ""))
    print(f"Wrote {json_path}" + ("" if plot_status else f" and {png_path}")
          + (f"; plot {plot_status}" if plot_status else "")
          + f" in {data['runtime_s']['total']:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())

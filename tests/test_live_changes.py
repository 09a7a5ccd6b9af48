"""Live band changes (``set_bands``, ``set_band``) against an independent float64 oracle.

The oracle (:func:`oracle_live`) is written from the description of the feature,
not from ``eq._changes``: every filter ("voice") is float64
``scipy.signal.sosfilt`` with the cookbook sections of ``eq_oracle``, carrying its
state ``zi`` from one stretch of frames to the next. A change starting at frame
``s`` makes a new voice; in each channel's cascade, the sections it keeps from the
newest voice (a longest common subsequence of the two cascades, sections equal
when their coefficients are, the front-most one) start from that voice's state at
``s``, and new or changed sections from rest. The output of frame ``n`` is voice
0's, then for each later voice ``k`` in turn ``out = (1 - g) * out + g * y_k``
with ``g = 0.5 - 0.5 cos(pi (j + 1) / (R + 1))``, ``j = n - s_k`` (1 from
``j >= R``); a voice whose ramp is over drops every older voice; at most four
voices run, and a change due while four run starts on the frame where a
crossfade ends. Changes due on the same frame: the last one scheduled wins.

(The commit that added the feature, 488ff2d, copied the state by section index
instead, whatever the bands: a section then started from the state of another
filter and rang, up to 22 000 times (87 dB) above the louder of the two static
outputs over 10 000 random pairs like those of the stress test below, and 75 times
for lowpass:8k -> notch:50:q=10. Commit 00d3d55 keeps only the state of the
bands kept, which is what this oracle does.)

Integer outputs are compared exactly, except on samples whose exact value is a
rounding tie up to float64 noise (see :func:`assert_pcm_matches`); none of the
1.3 million s16le samples of the oracle scenarios differed. The tests under "regressions" kept
the bugs they found: a change waiting for room that started on the wrong frame (and so
depended on the chunking), and a repeated band in front that lost its exact state.
"""

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import signal

import eq
from eq.streaming import _PythonStreamingEqualizer
from eq_oracle import PCM_FORMATS, decode, int_limits, oracle_sos, quantize, random_pcm, to_float

FS = 48000
MAX_VOICES = 4  # filters running at once, from the description of the feature
FRAMES = 3000   # crosses the kernels' tiles (2048 samples) for every channel count

# Channel names by index, written out again from the WAVE order (eq.channels documents the same).
LAYOUTS = {1: ("C",), 2: ("L", "R"), 6: ("L", "R", "C", "LFE", "RL", "RR")}

# float64 noise between eq's kernels (fused multiply-adds, their own order) and sosfilt, relative
# to the peak output, for the bands used here: measured up to 2.2e-13 with changes, and 1.6e-13
# for the same bands without any change (the 60 Hz highpass and 150 Hz shelf amplify it most).
F64_RTOL = 1e-12


# ------------------------------------------------------------------ the oracle
def band(kind, freq, q=0.707, gain_db=0.0, ch=None):
    """A band as the oracle sees it: ``eq_oracle``'s dict, plus the channel names it acts on."""
    return {"type": kind, "freq": float(freq), "q": float(q), "gain_db": float(gain_db), "ch": ch}


def to_eq(b):
    """The same band as an ``eq.Band``."""
    return eq.Band(b["type"], b["freq"], q=b["q"], gain_db=b["gain_db"], channels=b["ch"])


def eq_bands(bands):
    return [to_eq(b) for b in bands]


def channel_sos(bands, channel, channels, fs):
    """The cookbook sections that act on one channel, in band order (``(0, 6)`` for none)."""
    name = LAYOUTS[channels][channel]
    return oracle_sos([b for b in bands if b["ch"] is None or name in b["ch"]], fs)


def ramp_weight(j, ramp_frames):
    """Weight of the incoming voice `j` frames into a crossfade of `ramp_frames` frames."""
    j = np.asarray(j, dtype=np.float64)
    g = 0.5 - 0.5 * np.cos(np.pi * (j + 1.0) / (ramp_frames + 1.0))
    return np.where(j >= ramp_frames, 1.0, g)


def ms_of(ramp_frames, fs=FS):
    """ramp_ms that eq turns into exactly `ramp_frames` frames (round(ms * fs / 1000))."""
    return ramp_frames * 1000.0 / fs


def kept_sections(old_sos, new_sos):
    """Pairs ``(i_old, j_new)`` of the sections that a change keeps (rows equal): the common
    prefix, the common suffix, and between them the front-most longest common subsequence.
    (Where two subsequences are as long, as for ``[A, B] -> [B, A]``, which one is kept is
    not specified; the tests avoid those.)"""
    n, m = len(old_sos), len(new_sos)

    def same(i, j):
        return bool(np.array_equal(old_sos[i], new_sos[j]))

    prefix = 0
    while prefix < min(n, m) and same(prefix, prefix):
        prefix += 1
    suffix = 0
    while suffix < min(n, m) - prefix and same(n - 1 - suffix, m - 1 - suffix):
        suffix += 1
    a, b = range(prefix, n - suffix), range(prefix, m - suffix)
    length = np.zeros((len(a) + 1, len(b) + 1), dtype=int)
    for i in reversed(range(len(a))):
        for j in reversed(range(len(b))):
            length[i, j] = (length[i + 1, j + 1] + 1 if same(a[i], b[j])
                            else max(length[i + 1, j], length[i, j + 1]))
    pairs, i, j = [(k, k) for k in range(prefix)], 0, 0
    while i < len(a) and j < len(b):
        if same(a[i], b[j]) and length[i, j] == length[i + 1, j + 1] + 1:
            pairs.append((a[i], b[j]))
            i, j = i + 1, j + 1
        elif length[i + 1, j] >= length[i, j + 1]:
            i += 1
        else:
            j += 1
    return pairs + [(n - 1 - k, m - 1 - k) for k in range(suffix)]


def on_static_path(equalizer):
    """True when no change is scheduled or crossfading: process() is the static path (no
    instance attribute stands in for it, and no call is handed to the changing path)."""
    return "process" not in vars(equalizer) and equalizer._transitions.idle


def changing(equalizer):
    return not on_static_path(equalizer)


class OracleVoice:
    """One filter: per channel, its cookbook cascade and sosfilt state ``(n, 2)``."""

    def __init__(self, bands, preamp_db, fs, channels):
        self.bands, self.preamp_db = bands, preamp_db
        self.gain = 10.0 ** (preamp_db / 20.0)
        self.sos = [channel_sos(bands, c, channels, fs) for c in range(channels)]
        self.zi = [np.zeros((len(sos), 2)) for sos in self.sos]

    def take_state(self, older):
        """Start the sections kept from `older` from its state, the others from rest."""
        for c in range(len(self.zi)):
            for i, j in kept_sections(older.sos[c], self.sos[c]):
                self.zi[c][j] = older.zi[c][i]

    def run(self, x):
        y = x * self.gain
        for c, sos in enumerate(self.sos):
            if len(sos):
                y[:, c], self.zi[c] = signal.sosfilt(sos, y[:, c], zi=self.zi[c])
        return y

    def state(self, rows):
        """The state in scipy's layout for ``(frames, channels)`` input, ``(rows, 2, channels)``;
        a channel with a shorter cascade has its last rows zero."""
        out = np.zeros((rows, 2, len(self.zi)))
        for c, zi in enumerate(self.zi):
            out[:len(zi), :, c] = zi
        return out


def oracle_live(x, fs, initial, changes):
    """Float64 output of an equalizer with live changes, from the description of the feature.

    Parameters
    ----------
    x : ndarray, (frames, channels)
        Input, full scale 1.0.
    initial : (bands, preamp_db)
    changes : list of (at_frame, bands, preamp_db, ramp_frames)
        In the order they are scheduled.

    Returns
    -------
    y : ndarray, (frames, channels)
    voices : list of [OracleVoice, start, ramp]
        Those running after the last frame (the last is the newest).
    pending : list of (at_frame, bands, preamp_db)
        The changes still waiting, by frame.
    starts : list of int
        The frame where each change that was heard started.
    """
    frames, channels = x.shape
    voices = [[OracleVoice(*initial, fs, channels), 0, 0]]
    queue = [(at, order, bands, preamp_db, ramp)
             for order, (at, bands, preamp_db, ramp) in enumerate(changes)]
    y = np.empty_like(x)
    starts = []
    p = 0

    def drop_finished():
        nonlocal voices
        ended = [k for k in range(1, len(voices)) if voices[k][1] + voices[k][2] <= p]
        if ended:
            voices = voices[max(ended):]

    while True:
        drop_finished()
        due = sorted((item for item in queue if item[0] <= p), key=lambda item: item[:2])
        if due and len(voices) < MAX_VOICES:
            queue = [item for item in queue if item[0] > p]
            _, _, bands, preamp_db, ramp = due[-1]
            voice = OracleVoice(bands, preamp_db, fs, channels)
            voice.take_state(voices[-1][0])
            voices.append([voice, p, ramp])
            starts.append(p)
            drop_finished()
        if p == frames:
            return y, voices, [item[:1] + item[2:4] for item in sorted(queue, key=lambda i: i[:2])], starts
        events = [item[0] for item in queue if item[0] > p]
        events += [s + r for _, s, r in voices[1:] if s + r > p]
        q = min(events + [frames])
        outputs = [voice.run(x[p:q]) for voice, _, _ in voices]
        out = outputs[0]
        for (_, s, r), y_k in zip(voices[1:], outputs[1:]):
            g = ramp_weight(np.arange(p, q) - s, r)[:, None]
            out = (1.0 - g) * out + g * y_k
        y[p:q] = out
        p = q


# ------------------------------------------------------------- running eq
def schedule(equalizer, changes):
    for at, bands, preamp_db, ramp in changes:
        start = equalizer.set_bands(eq_bands(bands), at_frame=at, ramp_ms=ms_of(ramp, equalizer.sample_rate),
                                    preamp_db=preamp_db)
        assert start == at


def run_eq(kind, channels, x_or_raw, initial, changes, fs=FS):
    """Run eq on the whole input with `changes` scheduled in advance; return (output, equalizer).

    `kind` is "block" (float64 arrays) or a sample format name (bytes)."""
    if kind == "block":
        equalizer = eq.BlockEqualizer(fs, channels, eq_bands(initial[0]), preamp_db=initial[1])
    else:
        equalizer = eq.StreamingEqualizer(fs, channels, kind, eq_bands(initial[0]), preamp_db=initial[1])
    schedule(equalizer, changes)
    return equalizer.process(x_or_raw), equalizer


def tie_tolerance(y, name):
    """Distance (in LSB) from a rounding tie within which eq and the oracle may round apart: the
    float64 difference between them, F64_RTOL of the peak, in LSB."""
    return F64_RTOL * int_limits(name)[0] * max(1.0, float(np.max(np.abs(y), initial=0.0)))


def assert_pcm_matches(out, y, name, channels):
    """Output bytes of an integer format against the oracle's float64 output `y`.

    Equal, except that a sample whose exact value lies within float64 noise of a rounding tie
    (``x.5`` LSB) may round the other way: eq and sosfilt are both float64 but not the same
    arithmetic, and ``rint`` decides a tie on the last bit. Such samples are counted; away
    from ties everything must be equal."""
    got = decode(out, name, channels)
    assert got.shape == y.shape
    expected, _ = quantize(y, name)
    diff = got - expected
    frac = np.abs(y * int_limits(name)[0]) % 1.0
    near_tie = np.abs(frac - 0.5) <= tie_tolerance(y, name)
    bad = (diff != 0) & ~(near_tie & (np.abs(diff) == 1))
    assert not bad.any(), (
        f"{name}: {int(bad.sum())} samples differ from the oracle away from a rounding tie, "
        f"first at frame {int(np.argwhere(bad)[0][0])}: eq {got[bad][0]}, oracle {y[bad][0] * int_limits(name)[0]!r} LSB")
    return int(np.count_nonzero(diff))


def assert_close(got, y, rtol=F64_RTOL, scale=None):
    """Within `rtol` of `scale` (default: the peak of `y`)."""
    peak = float(np.max(np.abs(y), initial=0.0)) if scale is None else scale
    err = float(np.max(np.abs(got - y), initial=0.0))
    assert err <= rtol * peak, f"max |eq - oracle| = {err:.3g}, {err / peak:.3g} of the peak {peak:.3g}"


def assert_pending(equalizer, expected):
    """``pending_changes`` against ``[(at_frame, bands, preamp_db), ...]`` (bands as oracle dicts)."""
    assert equalizer.pending_changes == [(at, tuple(eq_bands(bands)), float(preamp_db))
                                         for at, bands, preamp_db in expected]


def int_input(rng, name, frames, channels, level=0.5):
    raw = random_pcm(rng, name, frames, channels, level=level)
    return raw, to_float(decode(raw, name, channels), name)


# ------------------------------------------------------------ oracle comparisons
# Moderate bands at 48 kHz, every type.
HP = band("highpass", 60, 0.707)
LS = band("lowshelf", 150, 0.8, 5.0)
PK1 = band("peaking", 1000, 1.4, -4.0)
PK2 = band("peaking", 2500, 2.0, 6.0)
NO = band("notch", 3000, 3.0)
AP = band("allpass", 800, 0.9)
HS = band("highshelf", 6000, 0.707, -3.0)
LP = band("lowpass", 9000, 0.9)
BP = band("bandpass", 1200, 0.6)

# name -> (initial (bands, preamp_db), changes [(at_frame, bands, preamp_db, ramp_frames)])
SCENARIOS = {
    # Bands kept (their sections keep their state), changed, added, removed, moved.
    "middle_band_changed": (([HP, PK1, HS], 0.0), [(700, [HP, PK2, HS], 0.0, 480)]),
    "band_appended": (([LS, PK1], 0.0), [(800, [LS, PK1, NO], 0.0, 300)]),
    "band_prepended": (([PK1, PK2], 0.0), [(600, [NO, PK1, PK2], 0.0, 400)]),
    "band_removed": (([HP, PK1, PK2, HS], 0.0), [(900, [HP, PK2, HS], 0.0, 250)]),
    # A notch ignores gain_db: the same coefficients, so the same section, kept.
    "same_coefficients_kept": (([NO, PK1], 0.0), [(500, [band("notch", 3000, 3.0, 6.0), PK2], 0.0, 300)]),
    # No band kept: the new filter starts from rest, with more or fewer sections.
    "more_sections": (([HP, PK1], 0.0), [(700, [LS, PK2, HS, LP], 0.0, 480)]),
    "fewer_sections": (([LS, PK1, PK2, HS], 0.0), [(900, [NO], 0.0, 300)]),
    "preamp_only": (([LS, PK1], 0.0), [(500, [LS, PK1], -6.5, 400)]),
    "preamp_and_bands": (([PK1], 3.0), [(1000, [HP, PK2], -2.0, 100)]),
    "from_no_bands": (([], 0.0), [(600, [LS, PK2, AP], 0.0, 240)]),
    "to_no_bands": (([HP, PK2, HS], 0.0), [(600, [], 1.5, 240)]),
    "at_frame_0": (([PK1, PK2], 0.0), [(0, [HS], 0.0, 200)]),
    "ramp_of_1_frame": (([PK1], 0.0), [(777, [PK2], 0.0, 1)]),
    "ramp_0": (([PK1, LS], 0.0), [(1111, [BP, PK2, HS], -1.0, 0)]),
    # Two crossfades at once: the older one ends first, then the younger one.
    "overlap_older_ends_first": (([PK1], 0.0), [(500, [PK2, NO], 0.0, 600),
                                                (800, [LS], 0.0, 900)]),
    # The younger one ends first: from its end, only its filter is heard.
    "overlap_younger_ends_first": (([PK1], 0.0), [(500, [PK2], 0.0, 1500),
                                                  (800, [HS, LP, HP], 2.0, 200)]),
    # The second change keeps bands of the first (the newest filter), not of the one heard.
    "overlap_keeping_bands": (([PK1, HS], 0.0), [(500, [PK1, PK2, HS], 0.0, 800),
                                                 (900, [PK1, HS], -1.0, 300)]),
    # Three crossfades at once: four filters.
    "four_filters": (([PK1], 0.0), [(400, [PK2], 0.0, 1000), (600, [LS, HS], -1.0, 800),
                                    (900, [NO, AP, BP], 0.0, 300)]),
    # A switch with no ramp in the middle of a crossfade ends it.
    "ramp_0_in_a_crossfade": (([PK1], 0.0), [(500, [PK2], 0.0, 1000), (900, [HS, LS], 0.0, 0)]),
    # Scheduled out of order: the queue is by frame.
    "scheduled_out_of_order": (([PK1], 0.0), [(1500, [HS], 0.0, 300), (600, [PK2, LS], 0.0, 300)]),
    # Due on the same frame: the last scheduled wins; the first is never heard.
    "same_frame_last_wins": (([PK1], 0.0), [(800, [PK2], 0.0, 300), (800, [HS, LS], 4.0, 100)]),
    "change_after_the_end": (([PK1], 0.0), [(2990, [PK2], 0.0, 500), (5000, [HS], 0.0, 10)]),
}

# Bands on some channels (stereo and 5.1 only).
CHANNEL_SCENARIOS = {
    2: {
        "kept_on_one_channel": (([band("peaking", 1000, 1.4, -4.0, ("L",)), PK2], 0.0),
                                [(700, [band("peaking", 1000, 1.4, -4.0, ("L",)), PK2,
                                        band("highshelf", 6000, 0.707, -3.0, ("R",))], 0.0, 500)]),
        "band_moves_channel": (([band("peaking", 1000, 1.4, -4.0, ("L",))], 0.0),
                               [(400, [band("peaking", 1000, 1.4, -4.0, ("R",))], 0.0, 300)]),
        # A channel's cascade gets shorter, then longer again: its last rows must not keep
        # anything of the first filter.
        "shorter_then_longer": (([PK1, PK2], 0.0),
                                [(500, [band("peaking", 1000, 1.4, -4.0, ("L",)), PK2], 0.0, 0),
                                 (1500, [PK1, PK2], 0.0, 200)]),
        "left_band_to_right_band": (([band("peaking", 1000, 1.4, -4.0, ("L",)), PK2], 0.0),
                                    [(700, [LS, band("highshelf", 6000, 0.707, -3.0, ("R",)),
                                            band("notch", 3000, 3.0, ch=("L", "R"))], 0.0, 500)]),
        "one_channel_only_to_both": (([band("lowshelf", 150, 0.8, 5.0, ("R",))], 0.0),
                                     [(300, [PK1, PK2], 0.0, 200)]),
    },
    6: {
        "lfe_and_fronts": (([band("lowpass", 120, 0.707, ch=("LFE",)), PK1], 0.0),
                           [(800, [band("lowpass", 200, 0.8, ch=("LFE", "C")),
                                   band("peaking", 3000, 1.0, 4.0, ("L", "R")), HS], -1.0, 400)]),
    },
}


def scenario_params():
    for channels in (1, 2, 6):
        for name, scenario in SCENARIOS.items():
            yield pytest.param(channels, scenario, id=f"{name}-{channels}ch")
        for name, scenario in CHANNEL_SCENARIOS.get(channels, {}).items():
            yield pytest.param(channels, scenario, id=f"{name}-{channels}ch")


@pytest.mark.parametrize("kind", ["block", "f64le", "s16le"])
@pytest.mark.parametrize("channels, scenario", list(scenario_params()))
def test_live_change_matches_the_oracle(rng, kind, channels, scenario):
    """Output (float64 blocks, f64le and s16le bytes), state, bands, preamp and pending changes
    after one call on 3000 frames, against :func:`oracle_live`."""
    initial, changes = scenario
    if kind == "block":
        x = rng.uniform(-0.5, 0.5, (FRAMES, channels))
        src = x
    elif kind == "f64le":
        x = rng.uniform(-0.5, 0.5, (FRAMES, channels))
        src = x.astype("<f8").tobytes()
    else:
        src, x = int_input(rng, kind, FRAMES, channels)
    y, voices, pending, _ = oracle_live(x, FS, initial, changes)
    out, equalizer = run_eq(kind, channels, src, initial, changes)
    if kind == "block":
        assert_close(out, y)
    elif kind == "f64le":
        assert_close(decode(out, kind, channels), y)
    else:
        assert_pcm_matches(out, y, kind, channels)
    # The state is the newest filter's (scipy's zi layout), bands and preamp too.
    newest = voices[-1][0]
    state = equalizer.get_state()
    assert_close(state, newest.state(state.shape[0]), scale=float(np.max(np.abs(x))))
    assert equalizer.bands == tuple(eq_bands(newest.bands))
    assert equalizer.preamp_db == newest.preamp_db
    assert equalizer.frames_processed == FRAMES
    assert_pending(equalizer, pending)


def cascade_filter(sos, x, zi):
    """sosfilt along frames with scipy's zi ``(n, 2, channels)``; the identity for no sections."""
    if len(sos) == 0:
        return x.copy(), zi
    return signal.sosfilt(sos, x, axis=0, zi=zi)


@pytest.mark.parametrize("channels", [1, 2, 6])
@pytest.mark.parametrize("old, new, kept", [
    ([PK1], [PK2], []),
    ([HP, PK1, PK2, HS], [LS], []),
    ([LS], [LS, PK1, NO, LP], [(0, 0)]),
    ([PK1, PK2], [NO, PK1, PK2], [(0, 1), (1, 2)]),
    ([HP, PK1, PK2, HS], [HP, PK2], [(0, 0), (2, 1)]),
    ([HP, PK1, HS], [HP, PK1, HS], [(0, 0), (1, 1), (2, 2)]),
    ([], [PK2, HS], []),
    ([PK1, PK2], [], []),
])
@pytest.mark.parametrize("kind", ["block", "f64le", "s16le"])
def test_ramp_0_swaps_the_coefficients_and_keeps_the_state_of_the_bands_kept(rng, kind, channels, old, new,
                                                                             kept):
    """A change without a ramp is scipy carrying zi across: the old cascade up to the start
    frame, then the new one, its kept sections (pairs (old index, new index), written out
    here) from the old sections' state, the others from rest."""
    start = 1234
    if kind == "s16le":
        src, x = int_input(rng, kind, FRAMES, channels)
    else:
        x = rng.uniform(-0.5, 0.5, (FRAMES, channels))
        src = x if kind == "block" else x.astype("<f8").tobytes()
    sos_old, sos_new = oracle_sos(old, FS), oracle_sos(new, FS)
    y_old, zf = cascade_filter(sos_old, x[:start], np.zeros((len(sos_old), 2, channels)))
    zi = np.zeros((len(sos_new), 2, channels))
    for i, j in kept:
        zi[j] = zf[i]
    y_new, zf_new = cascade_filter(sos_new, x[start:], zi)
    y = np.concatenate([y_old, y_new])
    out, equalizer = run_eq(kind, channels, src, (old, 0.0), [(start, new, 0.0, 0)])
    if kind == "s16le":
        assert_pcm_matches(out, y, kind, channels)
    else:
        assert_close(out if kind == "block" else decode(out, kind, channels), y)
    if len(sos_new):
        assert_close(equalizer.get_state(), zf_new, scale=0.5)
    assert on_static_path(equalizer)
    if old == new:
        # Nothing changed: the output is the static one, bit for bit.
        static, _ = run_eq(kind, channels, src, (old, 0.0), [])
        if kind == "block":
            np.testing.assert_array_equal(out, static)
        else:
            assert out == static


@pytest.mark.parametrize("ramp_ms, frames", [(0.0, 0), (0.01, 0), (1000 / FS, 1), (0.03125, 2),
                                             (10.0, 480), (10.01, 480), (60_000.0, 2_880_000)])
def test_ramp_ms_is_rounded_to_frames(ramp_ms, frames):
    """R = round(ramp_ms * rate / 1000): the weight reaches 1 on frame at_frame + R."""
    # No bands: the old filter is the gain 1 and the new one the gain 1e-10, so the weight
    # of every frame can be read off a constant input.
    equalizer = eq.BlockEqualizer(FS, 1, [], preamp_db=0.0)
    equalizer.set_bands([], at_frame=0, ramp_ms=ramp_ms, preamp_db=-200.0)
    n = min(frames + 3, 4000)
    y = equalizer.process(np.ones(n))
    # out = (1 - g) * 1 + g * 1e-10: g = (1 - out) / (1 - 1e-10)
    g = (1.0 - y) / (1.0 - 1e-10)
    expected = ramp_weight(np.arange(n), frames)
    np.testing.assert_allclose(g, expected, rtol=0, atol=1e-12)


@pytest.mark.parametrize("kind", ["block", "s16le"])
def test_a_change_to_the_same_settings_changes_nothing(rng, kind):
    """Every band is kept with its state: the new filter is the old one, and the crossfade of
    a signal with itself is that signal (up to an ulp or two)."""
    bands = [HP, PK1, PK2, HS]
    if kind == "s16le":
        src, _ = int_input(rng, kind, FRAMES, 2, level=0.9)
    else:
        src = rng.uniform(-0.5, 0.5, (FRAMES, 2))
    static, _ = run_eq(kind, 2, src, (bands, -1.0), [])
    changes = [(100, bands, -1.0, 700), (300, bands, -1.0, 1000), (1500, bands, -1.0, 0)]
    live, _ = run_eq(kind, 2, src, (bands, -1.0), changes)
    if kind == "s16le":
        # 1 ulp moves a sample to the other integer only at a rounding tie (none in this input).
        assert live == static, f"{np.count_nonzero(decode(live, kind, 2) - decode(static, kind, 2))} samples differ"
    else:
        np.testing.assert_allclose(live, static, rtol=1e-15, atol=0)


# ------------------------------------------------------------ split invariance
SPLIT_FS = 8000
SPLIT_FORMATS = ["s16le", "s24le", "f32le", "u8"]
# Bands below the Nyquist of 8 kHz; some on one channel (index 0, or "C" of a mono stream).
SPLIT_PALETTE = [
    band("peaking", 500, 1.0, 6.0), band("lowshelf", 200, 0.7, -4.0), band("highpass", 100, 0.9),
    band("notch", 1000, 4.0), band("highshelf", 2500, 0.8, 5.0), band("lowpass", 3000, 0.707),
    band("allpass", 700, 2.0), band("bandpass", 900, 1.5), band("peaking", 1500, 3.0, -9.0),
]


def split_band(b, channels, on_one_channel):
    """`b` as an eq band, on the first channel only when asked (by index or by name)."""
    if not on_one_channel:
        return to_eq(b)
    return eq.Band(b["type"], b["freq"], q=b["q"], gain_db=b["gain_db"],
                   channels=[0] if channels == 6 else [LAYOUTS[channels][0]])


@st.composite
def live_stream_case(draw):
    name = draw(st.sampled_from(SPLIT_FORMATS))
    channels = draw(st.sampled_from([1, 2, 6]))
    frame_bytes = PCM_FORMATS[name][0] * channels
    frames = draw(st.integers(0, 900))
    extra = draw(st.integers(0, frame_bytes - 1))  # a partial frame at the end, maybe
    total = frames * frame_bytes + extra
    size = st.one_of(st.just(0), st.just(1), st.integers(2, 2 * frame_bytes + 1),
                     st.integers(0, max(1, total)))
    sizes = draw(st.lists(size, max_size=30))
    if draw(st.integers(0, 4)) == 0:
        sizes = [frame_bytes] * frames  # a call on every frame: every frame a boundary
    bands = st.lists(st.tuples(st.sampled_from(SPLIT_PALETTE), st.booleans()), max_size=4)
    # Up to six changes: more than four filters at once, so some wait for room (with six this
    # test found the regression of test_a_change_that_waits_for_room_...).
    changes = draw(st.lists(st.tuples(st.integers(0, frames + 20), bands,
                                      st.sampled_from([0.0, -3.0, 4.5]),
                                      st.sampled_from([0.0, 0.125, 1.0, 6.25, 20.0, 60.0])),
                            max_size=6))
    initial = draw(bands)
    dither = draw(st.booleans()) and name != "f32le"
    lazy = draw(st.booleans())
    seed = draw(st.integers(0, 2 ** 32 - 1))
    return name, channels, frames, extra, sizes, initial, changes, dither, lazy, seed


def make_stream(cls, name, channels, initial, dither):
    return cls(SPLIT_FS, channels, name, [split_band(b, channels, one) for b, one in initial],
               preamp_db=-1.0, dither="tpdf" if dither else None, dither_seed=7)


def schedule_split(stream, change):
    at, bands, preamp_db, ramp_ms = change
    at_frame = None if at == stream.frames_processed else at
    start = stream.set_bands([split_band(b, stream.channels, one) for b, one in bands],
                             at_frame=at_frame, ramp_ms=ramp_ms, preamp_db=preamp_db)
    assert start == at


@settings(max_examples=300, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(live_stream_case())
def test_any_split_gives_the_bytes_of_one_pass_across_changes(case):
    """Changes scheduled in advance (or, `lazy`, between chunks at a frame still to come) give
    the same bytes for any chunking, in C and in Python bookkeeping, as one call on the whole."""
    name, channels, frames, extra, sizes, initial, changes, dither, lazy, seed = case
    rng = np.random.default_rng(seed)
    frame_bytes = PCM_FORMATS[name][0] * channels
    raw = random_pcm(rng, name, frames, channels, level=0.9)
    raw += bytes(rng.integers(0, 256, extra, dtype=np.uint8))

    one = make_stream(eq.StreamingEqualizer, name, channels, initial, dither)
    for change in changes:
        schedule_split(one, change)
    whole = one.process(raw)
    assert len(whole) == frames * frame_bytes

    for cls in (eq.StreamingEqualizer, _PythonStreamingEqualizer):
        stream = make_stream(cls, name, channels, initial, dither)
        waiting = list(changes)
        if not lazy:
            for change in waiting:
                schedule_split(stream, change)
            waiting = []
        out = bytearray()
        pos = 0
        for size in sizes + [len(raw)]:
            chunk = raw[pos:pos + size]
            # Lazy: each change is scheduled just before the chunk that reaches its frame.
            reached = (pos + len(chunk)) // frame_bytes
            for change in [c for c in waiting if c[0] < reached]:
                assert change[0] >= stream.frames_processed
                schedule_split(stream, change)
                waiting.remove(change)
            pos += len(chunk)
            out += stream.process(chunk)
            assert len(out) == (pos // frame_bytes) * frame_bytes
            assert stream.frames_processed == pos // frame_bytes
        assert bytes(out) == whole, f"{cls.__name__}: the chunked output differs from one pass"
        assert stream.clipped_samples == one.clipped_samples
        assert stream.pending_bytes == one.pending_bytes == extra
        if waiting:
            # Due on or after the last frame: `one` began those due on it at the end of its
            # call, which a change scheduled after the last call cannot match.
            continue
        assert stream.bands == one.bands and stream.preamp_db == one.preamp_db
        np.testing.assert_array_equal(stream.get_state(), one.get_state())
        assert stream.pending_changes == one.pending_changes
        assert (changing(stream)) == (changing(one))


@settings(max_examples=60, deadline=None, database=None)
@given(channels=st.sampled_from([1, 2, 6]), frames=st.integers(0, 2500),
       cuts=st.lists(st.integers(0, 2500), max_size=12), seed=st.integers(0, 2 ** 32 - 1),
       changes=st.lists(st.tuples(st.integers(0, 2500), st.lists(st.sampled_from(SPLIT_PALETTE), max_size=4),
                                  st.sampled_from([0.0, 0.125, 3.0, 50.0])), max_size=3))
def test_block_equalizer_any_blocking_across_changes(channels, frames, cuts, seed, changes):
    """Float blocks of any sizes (empty ones too) give the arrays of one call, across changes."""
    x = np.random.default_rng(seed).uniform(-1, 1, (frames, channels))

    def run(blocks):
        equalizer = eq.BlockEqualizer(SPLIT_FS, channels, [to_eq(SPLIT_PALETTE[0])])
        for at, bands, ramp_ms in changes:
            equalizer.set_bands(eq_bands(bands), at_frame=at, ramp_ms=ramp_ms)
        return np.concatenate([equalizer.process(x[a:b]) for a, b in blocks] + [np.empty((0, channels))])

    edges = [0] + sorted(min(c, frames) for c in cuts) + [frames]
    np.testing.assert_array_equal(run(list(zip(edges[:-1], edges[1:]))), run([(0, frames)]))


# ------------------------------------------------------- back on the static path
@pytest.mark.parametrize("cls", [eq.StreamingEqualizer, _PythonStreamingEqualizer])
@pytest.mark.parametrize("name, channels", [("s16le", 2), ("f32le", 1), ("s24le", 6)])
def test_after_the_crossfade_the_stream_is_static_again(rng, cls, name, channels):
    """Once the ramp is over, process() is the class's own again (C or Python bookkeeping, no
    instance attribute), and the output is that of an equalizer made with the new bands and
    given the same state."""
    frame_bytes = PCM_FORMATS[name][0] * channels
    raw = random_pcm(rng, name, 2000, channels, level=0.7)
    stream = cls(FS, channels, name, eq_bands([PK1, LS]), preamp_db=2.0)
    assert on_static_path(stream)
    head = stream.process(raw[:100 * frame_bytes + 1])  # a partial frame is held across the change
    assert on_static_path(stream)
    assert stream.set_bands(eq_bands([HP, PK2, HS]), at_frame=300, ramp_ms=ms_of(200), preamp_db=-1.0) == 300
    assert changing(stream)
    # Up to frame 450, in the middle of the ramp: still crossfading.
    middle = stream.process(raw[100 * frame_bytes + 1:450 * frame_bytes])
    assert changing(stream) and stream.frames_processed == 450
    # To frame 500 exactly, where the ramp ends: the old filter is dropped at once.
    end = stream.process(raw[450 * frame_bytes:500 * frame_bytes])
    assert on_static_path(stream), "still on the crossfading path after the ramp"
    assert stream.bands == tuple(eq_bands([HP, PK2, HS])) and stream.preamp_db == -1.0

    # What the oracle says about the first 500 frames and the state.
    x = to_float(decode(raw[:500 * frame_bytes], name, channels), name)
    y, voices, _, _ = oracle_live(x, FS, ([PK1, LS], 2.0), [(300, [HP, PK2, HS], -1.0, 200)])
    assert len(voices) == 1
    got = decode(head + middle + end, name, channels)
    if name == "f32le":
        np.testing.assert_allclose(got, y.astype(np.float32), rtol=1e-6, atol=1e-7)
    else:
        assert_pcm_matches(head + middle + end, y, name, channels)
    state = stream.get_state()
    assert_close(state, voices[0][0].state(3), scale=1.0)

    fresh = cls(FS, channels, name, eq_bands([HP, PK2, HS]), preamp_db=-1.0)
    fresh.set_state(state)
    rest = raw[500 * frame_bytes:]
    for cut in (0, 1, 777, 5000, len(rest)):  # the same chunks for both
        piece, rest = rest[:cut], rest[cut:]
        assert stream.process(piece) == fresh.process(piece)
    assert on_static_path(stream)
    np.testing.assert_array_equal(stream.get_state(), fresh.get_state())


def test_a_change_ending_inside_a_chunk_returns_to_the_static_path(rng):
    """The ramp ends in the middle of a call: the rest of the call runs on the new filter, and
    the next call is on the static path."""
    raw = random_pcm(rng, "s16le", 3000, 2)
    stream = eq.StreamingEqualizer(FS, 2, "s16le", eq_bands([PK1]))
    stream.set_bands(eq_bands([PK2]), at_frame=1000, ramp_ms=ms_of(100))
    out = stream.process(raw[:2000 * 4])
    assert on_static_path(stream)
    fresh = eq.StreamingEqualizer(FS, 2, "s16le", eq_bands([PK2]))
    fresh.set_state(stream.get_state())
    assert stream.process(raw[2000 * 4:]) == fresh.process(raw[2000 * 4:])
    x = to_float(decode(raw[:2000 * 4], "s16le", 2), "s16le")
    assert_pcm_matches(out, oracle_live(x, FS, ([PK1], 0.0), [(1000, [PK2], 0.0, 100)])[0], "s16le", 2)


def test_block_equalizer_after_the_crossfade_equals_one_with_the_new_bands(rng):
    """After the ramp, a BlockEqualizer is one made with the new bands and preamp and given its
    state, bit for bit."""
    x = rng.uniform(-0.5, 0.5, (4000, 2))
    block = eq.BlockEqualizer(FS, 2, eq_bands([PK1]))
    block.set_bands(eq_bands([LS, PK2]), at_frame=100, ramp_ms=ms_of(300), preamp_db=3.0)
    block.process(x[:1000])
    fresh = eq.BlockEqualizer(FS, 2, eq_bands([LS, PK2]), preamp_db=3.0)
    fresh.set_state(block.get_state())
    np.testing.assert_array_equal(block.process(x[1000:]), fresh.process(x[1000:]))
    np.testing.assert_array_equal(block.sos, fresh.sos)


def test_block_equalizer_in_place_during_a_crossfade(rng):
    """`out` may be the block itself, also while several filters read it."""
    x = rng.uniform(-0.5, 0.5, (3000, 6))
    changes = [(200, [PK2, HS], 0.0, 1500), (900, [LS], 1.0, 400)]
    expected, _ = run_eq("block", 6, x, ([PK1], 0.0), changes)
    equalizer = eq.BlockEqualizer(FS, 6, eq_bands([PK1]))
    schedule(equalizer, changes)
    y = x.copy()
    assert equalizer.process(y, out=y) is y
    np.testing.assert_array_equal(y, expected)


# ------------------------------------------------------------------------- errors
def stream_and_block(bands):
    """A stereo s16le StreamingEqualizer and a stereo BlockEqualizer with `bands`."""
    return [eq.StreamingEqualizer(FS, 2, "s16le", eq_bands(bands)), eq.BlockEqualizer(FS, 2, eq_bands(bands))]


def feed(equalizer, x, raw):
    """Give the stream `raw` and the block equalizer `x` (the same samples)."""
    return equalizer.process(raw if isinstance(equalizer, eq.StreamingEqualizer) else x)


@pytest.mark.parametrize("kwargs, error, named", [
    ({"at_frame": 99}, eq.InvalidParameterError, "99"),
    ({"at_frame": 0}, eq.InvalidParameterError, "0"),
    ({"at_frame": 100.0}, eq.InvalidTypeError, "100.0"),
    ({"at_frame": "100"}, eq.InvalidTypeError, "'100'"),
    ({"at_frame": True}, eq.InvalidTypeError, "True"),
    ({"at_frame": np.float64(200)}, eq.InvalidTypeError, "200"),
    ({"ramp_ms": -1.0}, eq.InvalidParameterError, "-1.0"),
    ({"ramp_ms": -1e-9}, eq.InvalidParameterError, "-1e-09"),
    ({"ramp_ms": 60_000.001}, eq.InvalidParameterError, "60000.001"),
    ({"ramp_ms": 1e300}, eq.InvalidParameterError, "1e+300"),
    ({"ramp_ms": float("nan")}, eq.InvalidParameterError, "nan"),
    ({"ramp_ms": float("inf")}, eq.InvalidParameterError, "inf"),
    ({"ramp_ms": "20"}, eq.InvalidTypeError, "'20'"),
    ({"ramp_ms": True}, eq.InvalidTypeError, "True"),
    ({"ramp_ms": None}, eq.InvalidTypeError, "None"),
    ({"preamp_db": float("nan")}, eq.InvalidParameterError, "nan"),
    ({"preamp_db": 1e6}, eq.InvalidParameterError, "1000000.0"),
    ({"bands": [{"type": "peaking", "freq_hz": -5.0}]}, eq.InvalidParameterError, "-5"),
    ({"bands": [{"type": "peeking", "freq_hz": 500.0}]}, eq.InvalidParameterError, "'peeking'"),
    ({"bands": [eq.Band("peaking", 24000.0)]}, eq.InvalidParameterError, "24000.0"),
    ({"bands": [eq.Band("lowpass", 100.0, channels=["LFE"])]}, eq.InvalidParameterError, "'LFE'"),
    ({"bands": [eq.Band("lowpass", 100.0, channels=[2])]}, eq.InvalidParameterError, "2"),
    ({"bands": [to_eq(PK2), 3]}, eq.InvalidTypeError, "3"),
    ({"bands": "peaking:1k"}, eq.InvalidTypeError, "str"),
])
@pytest.mark.parametrize("during", ["static", "crossfade"])
def test_a_refused_change_changes_nothing(rng, kwargs, error, named, during):
    """Every argument is checked before anything is scheduled: the error names the value, and
    the output goes on as if set_bands had not been called."""
    raw = random_pcm(rng, "s16le", 600, 2)
    x = to_float(decode(raw, "s16le", 2), "s16le")
    args = {"bands": eq_bands([PK2]), "at_frame": None, "ramp_ms": 20.0, "preamp_db": None}
    args.update(kwargs)
    bands = args.pop("bands")
    for equalizer, reference in zip(stream_and_block([PK1, LS]), stream_and_block([PK1, LS])):
        for e in (equalizer, reference):
            if during == "crossfade":
                e.set_bands(eq_bands([HS]), at_frame=50, ramp_ms=ms_of(400))
            feed(e, x[:100], raw[:400])
        before = (equalizer.bands, equalizer.preamp_db, equalizer.pending_changes,
                  equalizer.frames_processed, changing(equalizer))
        with pytest.raises(error) as info:
            equalizer.set_bands(bands, **args)
        assert named in str(info.value), f"the message does not name {named}: {info.value}"
        assert isinstance(info.value, eq.EqError)
        assert (equalizer.bands, equalizer.preamp_db, equalizer.pending_changes,
                equalizer.frames_processed, changing(equalizer)) == before
        np.testing.assert_array_equal(feed(equalizer, x[100:], raw[400:]), feed(reference, x[100:], raw[400:]))


@pytest.mark.parametrize("index", [-1, 3, 10 ** 20, True, 1.0, "0", None])
def test_set_band_refuses_an_index_out_of_range_or_not_an_int(index):
    for equalizer in stream_and_block([PK1, PK2, HS]):
        with pytest.raises(eq.EqError) as info:
            equalizer.set_band(index, to_eq(LS))
        assert repr(index) in str(info.value), info.value
        assert equalizer.pending_changes == [] and on_static_path(equalizer)
        assert equalizer.bands == tuple(eq_bands([PK1, PK2, HS]))


def test_set_band_refuses_an_invalid_band_and_changes_nothing():
    for equalizer in stream_and_block([PK1, PK2]):
        with pytest.raises(eq.InvalidParameterError, match="-3"):
            equalizer.set_band(1, {"type": "peaking", "freq_hz": 1000.0, "q": -3.0})
        assert equalizer.pending_changes == [] and equalizer.bands == tuple(eq_bands([PK1, PK2]))


def test_set_band_without_bands_says_to_use_set_bands():
    for equalizer in stream_and_block([]):
        with pytest.raises(eq.InvalidParameterError, match="set_bands") as info:
            equalizer.set_band(0, to_eq(PK1))
        assert "0" in str(info.value)
        assert equalizer.pending_changes == []


# ---------------------------------------------- reset, pending changes, set_band, far future
@pytest.mark.parametrize("cls", [eq.StreamingEqualizer, _PythonStreamingEqualizer, eq.BlockEqualizer])
@pytest.mark.parametrize("when", ["crossfading", "four_filters", "pending", "crossfading_and_pending"])
def test_reset_settles_on_the_last_change_scheduled(rng, cls, when):
    """reset() in the middle of changes: the bands and preamp of the last change scheduled (by
    frame) take effect at once, with zero state, frame 0, nothing pending, static path."""
    raw = random_pcm(rng, "s24le", 1500, 2)
    x = to_float(decode(raw, "s24le", 2), "s24le")
    block = cls is eq.BlockEqualizer

    def make(bands, preamp_db):
        if block:
            return eq.BlockEqualizer(FS, 2, eq_bands(bands), preamp_db=preamp_db)
        return cls(FS, 2, "s24le", eq_bands(bands), preamp_db=preamp_db)

    equalizer = make([PK1], 1.0)
    if when in ("crossfading", "crossfading_and_pending", "four_filters"):
        equalizer.set_bands(eq_bands([PK2, LS]), at_frame=100, ramp_ms=ms_of(1000), preamp_db=-2.0)
    if when == "four_filters":
        equalizer.set_bands(eq_bands([HS]), at_frame=200, ramp_ms=ms_of(1000), preamp_db=3.0)
        equalizer.set_bands(eq_bands([NO, AP]), at_frame=300, ramp_ms=ms_of(1000), preamp_db=-4.0)
    if when in ("pending", "crossfading_and_pending"):
        equalizer.set_bands(eq_bands([HP, HS]), at_frame=10_000, ramp_ms=5.0, preamp_db=4.0)
    last = {"crossfading": ([PK2, LS], -2.0), "four_filters": ([NO, AP], -4.0),
            "pending": ([HP, HS], 4.0), "crossfading_and_pending": ([HP, HS], 4.0)}[when]
    if block:
        equalizer.process(x[:500])
    else:
        equalizer.process(raw[:500 * 6 + 4])  # and a partial frame, dropped by reset
    assert changing(equalizer) or block
    equalizer.reset()
    assert equalizer.frames_processed == 0
    assert equalizer.pending_changes == []
    assert on_static_path(equalizer)
    assert equalizer.bands == tuple(eq_bands(last[0])) and equalizer.preamp_db == last[1]
    np.testing.assert_array_equal(equalizer.get_state(), 0.0)
    if not block:
        assert equalizer.pending_bytes == 0 and equalizer.clipped_samples == 0
    fresh = make(*last)
    if block:
        np.testing.assert_array_equal(equalizer.process(x), fresh.process(x))
    else:
        assert equalizer.process(raw) == fresh.process(raw)
    # And changes work again after another reset, from frame 0.
    equalizer.reset()
    assert equalizer.set_bands(eq_bands([PK1]), at_frame=0) == 0


def test_pending_changes_lists_what_waits_by_frame():
    equalizer = eq.BlockEqualizer(FS, 1, eq_bands([PK1]))
    assert equalizer.pending_changes == []
    assert equalizer.set_bands(eq_bands([PK2]), at_frame=300, preamp_db=1.0) == 300
    assert equalizer.set_bands(eq_bands([HS]), at_frame=100, preamp_db=2.0) == 100
    assert equalizer.set_bands(eq_bands([LS, HP]), at_frame=300, preamp_db=3.0) == 300
    assert equalizer.set_bands(eq_bands([NO]), at_frame=np.int64(200), preamp_db=4.0) == 200
    expected = [(100, [HS], 2.0), (200, [NO], 4.0), (300, [PK2], 1.0), (300, [LS, HP], 3.0)]
    assert_pending(equalizer, expected)
    assert all(type(item[0]) is int for item in equalizer.pending_changes)
    assert equalizer.bands == tuple(eq_bands([PK1]))  # nothing started yet
    equalizer.process(np.zeros(100))
    assert_pending(equalizer, expected[1:])  # frame 100 is due: begun at the end of the call
    assert equalizer.bands == tuple(eq_bands([HS])) and equalizer.preamp_db == 2.0
    equalizer.process(np.zeros(150))
    assert_pending(equalizer, expected[2:])
    assert equalizer.bands == tuple(eq_bands([NO]))
    equalizer.process(np.zeros(50))
    assert_pending(equalizer, [])
    # Same frame: the last one scheduled is the one heard.
    assert equalizer.bands == tuple(eq_bands([LS, HP])) and equalizer.preamp_db == 3.0


def test_set_bands_returns_the_frame_where_the_change_starts(rng):
    raw = random_pcm(rng, "s16le", 100, 2)
    stream = eq.StreamingEqualizer(FS, 2, "s16le", eq_bands([PK1]))
    assert stream.set_bands(eq_bands([PK2])) == 0
    stream.process(raw[:4 * 37 + 3])
    assert stream.frames_processed == 37
    assert stream.set_bands(eq_bands([HS])) == 37          # the next frame, the partial one
    assert stream.set_bands(eq_bands([HS]), at_frame=37) == 37
    assert stream.set_bands(eq_bands([LS]), at_frame=10 ** 6) == 10 ** 6


@pytest.mark.parametrize("cls", [eq.StreamingEqualizer, _PythonStreamingEqualizer])
def test_set_band_changes_one_band_of_the_last_scheduled(rng, cls):
    raw = random_pcm(rng, "s16le", 2000, 2)
    x = to_float(decode(raw, "s16le", 2), "s16le")
    stream = cls(FS, 2, "s16le", eq_bands([PK1, LS, HS]), preamp_db=-2.0)
    out = stream.process(raw[:500 * 4])
    # set_band(i, band) is set_bands with band i replaced; the preamp stays.
    assert stream.set_band(1, to_eq(PK2), ramp_ms=ms_of(100)) == 500
    assert stream.bands == tuple(eq_bands([PK1, LS, HS]))  # begins with the next frame
    # The next one is relative to the bands just scheduled, not to those heard.
    assert stream.set_band(2, {"type": "notch", "freq_hz": 3000.0, "q": 3.0}, at_frame=800,
                           ramp_ms=ms_of(300)) == 800
    assert_pending(stream, [(500, [PK1, PK2, HS], -2.0), (800, [PK1, PK2, NO], -2.0)])
    out += stream.process(raw[500 * 4:])
    assert stream.bands == tuple(eq_bands([PK1, PK2, NO])) and stream.preamp_db == -2.0
    y, _, _, _ = oracle_live(x, FS, ([PK1, LS, HS], -2.0),
                             [(500, [PK1, PK2, HS], -2.0, 100), (800, [PK1, PK2, NO], -2.0, 300)])
    assert_pcm_matches(out, y, "s16le", 2)


def test_set_band_accepts_a_parsed_band_on_some_channels(rng):
    """parse_band's ch= restricts the new band to its channels (the others keep theirs)."""
    x = rng.uniform(-0.5, 0.5, (2000, 2))
    equalizer = eq.BlockEqualizer(FS, 2, eq_bands([PK1, LS]))
    equalizer.set_band(0, eq.parse_band("peaking:2.5k:q=2:gain=6:ch=R"), at_frame=400, ramp_ms=ms_of(300))
    y = equalizer.process(x)
    expected, _, _, _ = oracle_live(x, FS, ([PK1, LS], 0.0),
                                    [(400, [band("peaking", 2500, 2.0, 6.0, ("R",)), LS], 0.0, 300)])
    assert_close(y, expected)
    np.testing.assert_allclose(equalizer.channel_sos(0), oracle_sos([LS], FS), rtol=1e-12)
    np.testing.assert_allclose(equalizer.channel_sos(1), oracle_sos([band("peaking", 2500, 2.0, 6.0), LS], FS),
                               rtol=1e-12)


@pytest.mark.parametrize("at_frame", [10 ** 9, 2 ** 53 + 1, 2 ** 62])
@pytest.mark.parametrize("cls", [eq.StreamingEqualizer, _PythonStreamingEqualizer])
def test_a_change_far_in_the_future_waits_and_changes_nothing_before(rng, cls, at_frame):
    raw = random_pcm(rng, "f32le", 3000, 2)
    stream = cls(FS, 2, "f32le", eq_bands([PK1, HS]))
    reference = cls(FS, 2, "f32le", eq_bands([PK1, HS]))
    assert stream.set_bands(eq_bands([PK2]), at_frame=at_frame) == at_frame
    for piece in (raw[:5], raw[5:9000], raw[9000:]):
        assert stream.process(piece) == reference.process(piece)
    assert_pending(stream, [(at_frame, [PK2], 0.0)])
    assert stream.bands == tuple(eq_bands([PK1, HS])) and stream.frames_processed == 3000
    np.testing.assert_array_equal(stream.get_state(), reference.get_state())
    stream.reset()  # settles on it
    assert stream.bands == tuple(eq_bands([PK2])) and stream.pending_changes == []


# ---------------------------------------------------------------- stability stress
STRESS_RATES = (8000, 22050, 44100, 48000, 96000)
STRESS_FRAMES = 2048
STRESS_PAIRS = 10_000


def random_bands(rng, fs):
    """1 to 4 bands of any type, 10 Hz to 0.499 fs, q 0.05 to 40, gain -24 to 24 dB."""
    return [band(str(rng.choice(eq.BAND_TYPES)),
                 math.exp(rng.uniform(math.log(10.0), math.log(0.499 * fs))),
                 math.exp(rng.uniform(math.log(0.05), math.log(40.0))),
                 rng.uniform(-24.0, 24.0))
            for _ in range(rng.integers(1, 5))]


def settle_frames(sos, level=1e-6):
    """Frames after which a zero-input response of the cascade is below `level` of its size:
    ``(k + 1)^3 r^k <= level``, r the largest pole radius (up to 4 repeated poles)."""
    r = max(float(np.max(np.abs(np.roots([1.0, a1, a2])))) for a1, a2 in sos[:, 4:6])
    if r == 0.0:
        return 1
    k = np.arange(1, 10 * STRESS_FRAMES)
    small = 3.0 * np.log(k + 1.0) + k * math.log(r) <= math.log(level)
    return int(k[np.argmax(small)]) if small.any() else None


def test_random_changes_stay_bounded_and_settle_on_the_new_filter():
    """10 000 random pairs of settings, switched at a random frame with a random ramp (0-50 ms)
    on 2048 frames of noise: the output is finite, within the bounds of a crossfade, equals
    the oracle, and after the ramp and the new filter's settling time it is the new filter's.

    Bounds: out = (1 - g) y_old + g y_new with 0 <= g <= 1. y_old is the old static output.
    y_new is, by linearity, the new static output plus t, the new cascade's zero-input response
    from (its start state - its own static state at the start frame), so
    |out(n)| <= max(|y_old(n)|, |y_new_static(n)| + |t(n)|). Random bands share no section,
    so the new filter starts from rest, on the input from the start frame: then also
    |y_new(n)| <= sum |h_new[:n - s + 1]| max|x| and |out| <= max(l1(h_old), l1(h_new)) max|x|,
    with the impulse responses' l1 norms over the signal's length. (The state copied by index
    in 488ff2d broke this one by up to 87 dB.)
    """
    rng = np.random.default_rng(20240607)
    x = rng.uniform(-0.5, 0.5, STRESS_FRAMES)
    impulse = np.zeros(STRESS_FRAMES)
    impulse[0] = 1.0
    settled = 0
    for _ in range(STRESS_PAIRS):
        fs = int(rng.choice(STRESS_RATES))
        old, new = random_bands(rng, fs), random_bands(rng, fs)
        start = int(rng.integers(1, STRESS_FRAMES))
        ramp_ms = float(rng.uniform(0.0, 50.0))
        ramp = int(round(ramp_ms * fs / 1000.0))
        equalizer = eq.BlockEqualizer(fs, 1, eq_bands(old))
        assert equalizer.set_bands(eq_bands(new), at_frame=start, ramp_ms=ramp_ms) == start
        y = equalizer.process(x)
        case = f"fs={fs} start={start} ramp={ramp} old={old} new={new}"
        assert np.all(np.isfinite(y)), case

        sos_old, sos_new = oracle_sos(old, fs), oracle_sos(new, fs)
        assert kept_sections(sos_old, sos_new) == []
        y_old = signal.sosfilt(sos_old, x)
        y_new = signal.sosfilt(sos_new, x)
        _, z_new = signal.sosfilt(sos_new, x[:start], zi=np.zeros((len(sos_new), 2)))
        t = signal.sosfilt(sos_new, np.zeros(STRESS_FRAMES - start), zi=-z_new)[0]
        bound = max(np.max(np.abs(y_old)), np.max(np.abs(y_new)) + np.max(np.abs(t)))
        tol = 1e-7 * bound  # float64 noise of extreme filters (measured: below 1.4e-9 of the bound)

        pointwise = np.abs(y_old).copy()
        pointwise[start:] = np.maximum(pointwise[start:], np.abs(y_new[start:]) + np.abs(t))
        assert np.all(np.abs(y) <= pointwise + tol), case
        l1_old = np.sum(np.abs(signal.sosfilt(sos_old, impulse)))
        l1_new = np.cumsum(np.abs(signal.sosfilt(sos_new, impulse)))[:STRESS_FRAMES - start]
        from_rest = np.abs(y_old).copy()
        from_rest[start:] = np.maximum(from_rest[start:], l1_new * np.max(np.abs(x)))
        assert np.all(np.abs(y) <= from_rest + tol), case
        assert np.max(np.abs(y)) <= max(l1_old, l1_new[-1]) * np.max(np.abs(x)) + tol, case

        g = ramp_weight(np.arange(STRESS_FRAMES - start), ramp)
        expected = y_old.copy()
        expected[start:] = (1.0 - g) * y_old[start:] + g * (y_new[start:] + t)
        assert np.max(np.abs(y - expected)) <= tol, case
        # After the ramp, and once the transient has decayed by 1e-6 (at the slowest pole, with
        # up to 4 repeated), the new static output, within 1e-3 of the bound.
        settle = settle_frames(sos_new)
        if settle is not None and start + max(ramp, settle) < STRESS_FRAMES:
            tail = start + max(ramp, settle)
            assert np.max(np.abs(y[tail:] - y_new[tail:])) <= 1e-3 * bound, case
            settled += 1
    # Most random pairs have a pole too slow to settle in 2048 frames (10 Hz, q up to 40); 751
    # of these do. Before that, out - y_new is t, checked above against the oracle.
    assert settled >= 600, f"only {settled} pairs settled within the signal"


PLAIN_BANDS = ["peaking:1k:q=1:gain=6", "peaking:60:q=2:gain=6", "lowshelf:80:gain=6",
               "highshelf:8k:gain=6", "highpass:80", "lowpass:8k", "highpass:5k", "notch:50:q=10",
               "peaking:12k:q=1:gain=-6", "lowshelf:200:gain=-6", "lowpass:200", "highpass:12k"]


def test_replacing_a_band_does_not_ring():
    """Every ordered pair of a dozen ordinary bands, set_band with the default 20 ms ramp on
    noise: the output's peak stays within 1.5 times the louder static output's peak
    (measured: 1.01 at most). The state of the old band handed to the new one, as 488ff2d did,
    gave up to 75 times (lowpass:8k -> notch:50:q=10)."""
    x = np.random.default_rng(1).uniform(-0.5, 0.5, 8192)
    worst = []
    for a in PLAIN_BANDS:
        static_a = eq.BlockEqualizer(FS, 1, [eq.parse_band(a)]).process(x)
        for b in PLAIN_BANDS:
            if a == b:
                continue
            equalizer = eq.BlockEqualizer(FS, 1, [eq.parse_band(a)])
            equalizer.set_band(0, eq.parse_band(b), at_frame=3000)
            y = equalizer.process(x)
            static_b = eq.BlockEqualizer(FS, 1, [eq.parse_band(b)]).process(x)
            ratio = np.max(np.abs(y)) / max(np.max(np.abs(static_a)), np.max(np.abs(static_b)))
            worst.append((ratio, a, b))
    assert max(worst)[0] <= 1.5, f"a change rings: {max(worst)}"


# ----------------------------------------------------------------- clipped samples
@pytest.mark.parametrize("cls", [eq.StreamingEqualizer, _PythonStreamingEqualizer])
def test_clipped_samples_count_every_saturated_sample_across_changes(rng, cls):
    """A loud input through +12 dB, then changes (one with no ramp, two overlapping): the count
    is the oracle's, and the same in chunks."""
    raw = random_pcm(rng, "s16le", FRAMES, 2, level=0.9)
    x = to_float(decode(raw, "s16le", 2), "s16le")
    loud = band("peaking", 1000, 0.5, 12.0)
    changes = [(500, [PK1], 0.0, 0), (1200, [loud, HS], 3.0, 900), (1500, [LS], -6.0, 300)]
    y, _, _, _ = oracle_live(x, FS, ([loud], 0.0), changes)
    _, n_clipped = quantize(y, "s16le")
    assert n_clipped > 100
    stream = cls(FS, 2, "s16le", eq_bands([loud]))
    schedule(stream, changes)
    out = b"".join(stream.process(raw[i:i + 999]) for i in range(0, len(raw), 999))
    n_diff = assert_pcm_matches(out, y, "s16le", 2)
    assert abs(stream.clipped_samples - n_clipped) <= n_diff
    assert stream.clipped_samples == n_clipped  # no ties in this input


# ------------------------------------------------------------------ regressions
def test_a_change_that_waits_for_room_starts_where_the_oldest_crossfade_ends(rng):
    """With four filters running, a change due waits for a crossfade to end and starts on that
    frame (set_bands' docstring: "While three crossfades overlap, a change waits for the
    oldest to end"). eq once started it at the next event after that instead (here the end
    of another crossfade, 200 frames later), unless a call happened to end on that frame: so
    the output also depended on how the stream was split.

    Reproduction: BlockEqualizer(48000, 1, [A]); changes at 0 (ramp 100 frames), 10 (ramp
    300), 20 (ramp 300), 30 (ramp 50); process 400 frames in one call: the fourth change
    started at frame 310, not 100; in two calls split at frame 100, at 100.
    """
    x = rng.uniform(-0.5, 0.5, (400, 1))
    initial = ([PK1], 0.0)
    changes = [(0, [PK2], 0.0, 100), (10, [HS], 0.0, 300), (20, [LS], 0.0, 300), (30, [NO], 0.0, 50)]
    y, _, _, starts = oracle_live(x, FS, initial, changes)
    assert starts == [0, 10, 20, 100]

    whole, _ = run_eq("block", 1, x, initial, changes)
    split = eq.BlockEqualizer(FS, 1, eq_bands(initial[0]))
    schedule(split, changes)
    in_two = np.concatenate([split.process(x[:100]), split.process(x[100:])])
    assert_close(in_two, y)  # a call ending on frame 100 starts it there
    same = bool(np.array_equal(whole, in_two))
    assert same, (
        "a change waiting for room starts on the next event after the oldest crossfade ends "
        f"(frame 310 here, not 100) when no call ends on frame 100: max difference "
        f"{np.max(np.abs(whole - in_two)):.3g} between one call and two calls split at frame 100")
    assert_close(whole, y)


def test_a_change_that_waits_for_room_is_split_invariant_in_bytes(rng):
    """The same bug as bytes: one call against 1-frame chunks."""
    raw = random_pcm(rng, "s16le", 400, 2)
    changes = [(0, [PK2], 0.0, 100), (10, [HS], 0.0, 300), (20, [LS], 0.0, 300), (30, [NO], 0.0, 50)]
    one = eq.StreamingEqualizer(FS, 2, "s16le", eq_bands([PK1]))
    chunked = eq.StreamingEqualizer(FS, 2, "s16le", eq_bands([PK1]))
    schedule(one, changes)
    schedule(chunked, changes)
    whole = one.process(raw)
    pieces = b"".join(chunked.process(raw[i:i + 4]) for i in range(0, len(raw), 4))
    assert pieces == whole, "1-frame chunks differ from one call once a change has waited for room"


@pytest.mark.parametrize("old, new, front", [
    ([HP, PK1], [HP, PK2], 1),
    ([HP, LS, PK1], [HP, LS, NO, PK1], 2),
    ([HP, HP], [HP, PK1, HP], 1),
    # Two identical sections (a 4th-order highpass), the first kept in front: a matcher that
    # took the longest block first gave the old pair to the new sections 2 and 3, and the
    # front one started from rest.
    pytest.param([HP, HP], [HP, PK1, HP, HP], 1, id="repeated_front_band"),
])
def test_bands_in_front_of_the_first_change_keep_their_exact_state(rng, old, new, front):
    """The docstring of eq._changes: a band kept keeps its section's state, "exactly for the
    bands in front of the first change (same input)". Those `front` sections then continue
    as if nothing had changed: their state after the change is that of the old filter.

    The repeated band: BlockEqualizer(48000, 1, [HP, HP]) with HP = highpass:60; process
    1000 frames; set_bands([HP, PK, HP, HP], ramp_ms=0); process 0 frames (starts it):
    get_state()[0] must be the old get_state()[0].
    """
    x = rng.uniform(-0.5, 0.5, (2000, 1))
    equalizer = eq.BlockEqualizer(FS, 1, eq_bands(old))
    equalizer.process(x[:1000])
    before = equalizer.get_state()
    equalizer.set_bands(eq_bands(new), ramp_ms=0)
    equalizer.process(x[:0])  # the change begins
    after = equalizer.get_state()
    np.testing.assert_array_equal(
        after[:front], before[:front],
        err_msg=f"the first {front} band(s), unchanged and in front, lost their state")
    # And the output is the oracle's (the same rule, with the front-most common subsequence).
    reference = eq.BlockEqualizer(FS, 1, eq_bands(old))
    reference.set_bands(eq_bands(new), at_frame=1000, ramp_ms=ms_of(300))
    y, _, _, _ = oracle_live(x, FS, (old, 0.0), [(1000, new, 0.0, 300)])
    assert_close(reference.process(x), y)


# ------------------------------------------------------------------ review regressions
@pytest.mark.parametrize("cls", [eq.StreamingEqualizer, _PythonStreamingEqualizer])
def test_a_saved_process_method_follows_changes(cls):
    """``p = stream.process`` saved before set_bands: the change applies through it too (it
    once kept calling the static path until ``stream.process`` was looked up again)."""
    raw = (np.random.default_rng(1).standard_normal((4800, 2)) * 3000).astype("<i2").tobytes()
    old, new = eq_bands([PK1]), eq_bands([PK2])
    stream = cls(FS, 2, "s16le", old)
    process = stream.process
    out = process(raw[:9600])
    assert stream.set_bands(new, ramp_ms=0) == 2400
    out += process(raw[9600:])
    reference = cls(FS, 2, "s16le", old)
    reference.set_bands(new, at_frame=2400, ramp_ms=0)
    assert out == reference.process(raw)
    assert on_static_path(stream)


@pytest.mark.parametrize("cls", [eq.StreamingEqualizer, _PythonStreamingEqualizer])
def test_a_stream_dropped_with_changes_pending_is_freed(cls):
    import gc
    import weakref

    stream = cls(FS, 2, "s16le", eq_bands([PK1]))
    stream.set_bands(eq_bands([PK2]), at_frame=10 ** 9)
    ref = weakref.ref(stream)
    del stream
    gc.collect()
    assert ref() is None


def test_process_refuses_the_same_kinds_with_a_change_pending():
    stream = eq.StreamingEqualizer(FS, 1, "s16le", eq_bands([PK1]))
    stream.set_bands(eq_bands([PK2]), at_frame=10 ** 6)
    for data in ("ab", [1, 2], type("Sub", (bytes,), {})(b"ab")):
        with pytest.raises(eq.InvalidTypeError, match="process\\(\\) takes bytes"):
            stream.process(data)

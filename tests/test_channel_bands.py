"""Bands on some channels only (``Band.channels``, ``ch=`` in band specs, :mod:`eq.channels`).

The oracle is ``eq_oracle``: cookbook coefficients written from the cookbook
text, ``scipy.signal.sosfilt`` in float64 run channel by channel on the bands
that select that channel (in list order), then the format's own encoding
(integers: ``rint`` and saturation). Which bands a channel gets is known here
from how each case was built (a class label per channel), not from ``eq``'s
resolution of the names.

Channel names: the layouts of 1, 2, 6 and 8 channels are written out below
(:data:`LAYOUTS`) and checked against ``eq.channels.CHANNEL_LAYOUTS``; other
channel counts take their names from ``CHANNEL_LAYOUTS`` when it has a layout
for them, and indices otherwise.

Tolerances (the kernels run transposed direct form II with fused multiply-adds,
scipy without; both in float64):

* f64: within ``1e-12`` of the channel's signal scale (largest input or output
  magnitude); measured: up to 2e-13 of it with the 60 Hz highpass and 120 Hz
  shelf (poles near z = 1 amplify rounding), about 1e-15 with the other bands;
* f32: within one float32 ulp of the float64 oracle rounded to float32, since
  a float64 difference of ~1e-15 can move a value across a float32 rounding
  boundary, and not further;
* integers: equal, except by 1 LSB where the oracle's exact result lies within
  float64 rounding (``1e-12`` of full scale) of a half-integer, where ``rint``
  of the two float64 results may go different ways;
* a channel that no band selects is passed through: its bytes are identical to
  the input's, in every format.
"""

import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import signal

import eq
from eq import streaming
from eq._engine import channel_cascades
from eq.channels import CHANNEL_LAYOUTS
from eq_oracle import PCM_FORMATS, INT_FORMATS, decode, int_limits, oracle_sos, random_pcm, to_float

FS = 48000
FORMATS = ["s16le", "s24le", "f32le", "f64le", "u8"]
CHANNEL_COUNTS = [1, 2, 3, 5, 6, 8]
FRAMES = 3000  # several kernel tiles at every channel count (a tile is 2048 samples)

#: Channel names by index, as the feature defines them (WAVE / ffmpeg order).
LAYOUTS = {
    1: ("C",),
    2: ("L", "R"),
    6: ("L", "R", "C", "LFE", "RL", "RR"),
    8: ("L", "R", "C", "LFE", "RL", "RR", "SL", "SR"),
}
#: Other names of the same channel: the alias, and for 5.1 the side names of the surrounds.
ALIASES = {"L": "FL", "R": "FR", "C": "FC", "LFE": "SUB", "RL": "BL", "RR": "BR"}
SIDE_NAMES_5_1 = {"RL": "SL", "RR": "SR"}

#: Bands as the oracle reads them: (type, freq_hz, q, gain_db); all different filters.
POOL = [
    ("lowshelf", 120.0, 0.8, 6.0),
    ("peaking", 1000.0, 1.4, -5.0),
    ("highshelf", 6000.0, 0.707, 4.0),
    ("notch", 3000.0, 4.0, 0.0),
    ("highpass", 60.0, 0.707, 0.0),
    ("peaking", 250.0, 2.0, 9.0),
    ("allpass", 800.0, 0.9, 0.0),
    ("lowpass", 9000.0, 1.1, 0.0),
]

#: Per channel count, the class of every channel: channels of one class get the same bands,
#: -1 gets none. Between them: a bandless channel, equal channels that are not adjacent, one
#: class per channel, and from 4 channels on (where the kernel runs 4 lanes, then 2, then 1)
#: runs of equal channels of every length from 1 to 8, at the start, middle and end.
LABELS = {
    1: [[0], [-1]],
    2: [[0, -1], [0, 1], [-1, 0]],
    3: [[0, -1, 0], [0, 1, 2]],
    5: [[0, 0, 0, 0, -1], [1, 0, 0, 0, 0], [0, 1, 2, -1, 0], [0, 1, 1, 1, -1]],
    6: [[0, 1, 2, -1, 3, 0], [2, 0, 0, 0, 0, 1], [0, 1, -1, 2, 2, 2], [0, 0, 0, 0, 0, 0]],
    8: [[0, 1, 1, -1, 2, 2, 2, 2], [0, 0, 0, 0, 0, 1, -1, 0], [3, 0, 0, 0, 0, 0, 0, 3],
        [1, 0, 0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0, 0, 0]],
}


def _names(count):
    """Channel names of a `count`-channel stream, or None where there are only indices."""
    return LAYOUTS.get(count, CHANNEL_LAYOUTS.get(count))


def _channel_ref(channel, count, rng):
    """One way of naming `channel` in a `count`-channel stream: a name, an alias, lower case, an
    index or an index as text, picked by `rng`."""
    names = _names(count)
    styles = ["int", "str"] + (["name", "name", "alias", "lower"] if names else [])
    style = styles[rng.integers(len(styles))]
    if style == "int":
        return int(channel)
    if style == "str":
        return str(channel)
    name = names[channel]
    if style == "alias":
        others = [ALIASES.get(name)] + ([SIDE_NAMES_5_1.get(name)] if count == 6 else [])
        others = [o for o in others if o]
        return others[rng.integers(len(others))] if others else name
    return name.lower() if style == "lower" else name


def build_case(labels, rng):
    """Bands for channels classed by `labels`, and the bands each channel must get.

    Every class gets its own random set of bands from :data:`POOL`; the band list
    is those bands in a random order, each selecting the channels of the classes
    that have it (None, or every channel named explicitly, when that is all of them).

    Returns
    -------
    bands : list of eq.Band
    per_channel : list of list of tuple
        For each channel, its bands in :data:`POOL` form, in list order.
    """
    count = len(labels)
    classes = sorted({k for k in labels if k >= 0})
    subsets, used = {}, set()
    for k in classes:
        while True:
            size = int(rng.integers(1, 4))
            subset = frozenset(int(i) for i in rng.choice(len(POOL), size, replace=False))
            if subset not in used:
                break
        used.add(subset)
        subsets[k] = subset
    bands, per_channel = [], [[] for _ in range(count)]
    for pid in rng.permutation(sorted(set().union(*subsets.values()))):
        chosen = [c for c in range(count) if labels[c] >= 0 and pid in subsets[labels[c]]]
        if len(chosen) == count and rng.random() < 0.5:
            selection = None
        else:
            selection = [_channel_ref(c, count, rng) for c in rng.permutation(chosen)]
        kind, freq_hz, q, gain_db = POOL[pid]
        bands.append(eq.Band(kind, freq_hz, q=q, gain_db=gain_db, channels=selection))
        for c in chosen:
            per_channel[c].append(POOL[pid])
    return bands, per_channel


def _maximal_runs(labels):
    runs = []
    for c, label in enumerate(labels):
        if runs and labels[runs[-1][0]] == label:
            runs[-1][1] += 1
        else:
            runs.append([c, 1])
    return [tuple(r) for r in runs]


def _oracle_channel(x, bands):
    """float64 sosfilt of one channel (full scale 1.0) through `bands` (POOL form)."""
    if not bands:
        return x.copy()
    return signal.sosfilt(oracle_sos(bands, FS), x)


def assert_channels_match_oracle(out, raw, name, per_channel, clipped=None, preamp_db=0.0):
    """Compare each channel of `out` with the oracle, with the tolerances of the module docstring."""
    count = len(per_channel)
    width = PCM_FORMATS[name][0]
    assert len(out) == len(raw)
    gain = 10.0 ** (preamp_db / 20.0)
    x_all = to_float(decode(raw, name, count), name) * gain
    got_all = decode(out, name, count)
    raw_frames = np.frombuffer(raw, np.uint8).reshape(-1, count, width)
    out_frames = np.frombuffer(out, np.uint8).reshape(-1, count, width)
    n_clipped = n_diff_total = 0
    for c, bands in enumerate(per_channel):
        if not bands and preamp_db == 0.0:
            assert out_frames[:, c].tobytes() == raw_frames[:, c].tobytes(), (
                f"{name}: channel {c} has no band and is not passed through")
            continue
        x, got = x_all[:, c], got_all[:, c]
        y = _oracle_channel(x, bands)
        signal_scale = max(1e-300, np.max(np.abs(x), initial=0.0), np.max(np.abs(y), initial=0.0))
        if name in INT_FORMATS:
            scale, lo, hi = int_limits(name)
            r = np.rint(y * scale)
            n_clipped += int(np.count_nonzero((r < lo) | (r > hi)))
            diff = got - np.clip(r, lo, hi).astype(np.int64)
            assert np.max(np.abs(diff), initial=0) <= 1, f"{name}: channel {c} off by > 1 LSB"
            tie_tol = 1e-12 * scale * max(1.0, signal_scale)
            near_tie = np.abs(np.abs(y * scale) % 1.0 - 0.5) <= tie_tol
            assert np.all(near_tie[diff != 0]), f"{name}: channel {c} differs away from a tie"
            n_diff_total += int(np.count_nonzero(diff))
        elif width == 8:
            err = np.max(np.abs(got - y), initial=0.0)
            assert err <= 1e-12 * signal_scale, f"f64: channel {c} off by {err!r}"
        else:
            y32 = y.astype(np.float32).astype(np.float64)
            ulp = np.spacing(np.abs(y32).astype(np.float32)).astype(np.float64)
            assert np.all(np.abs(got - y32) <= ulp), f"f32: channel {c} off by more than 1 ulp"
    if clipped is not None:
        assert abs(clipped - n_clipped) <= n_diff_total


def _cases():
    for count in CHANNEL_COUNTS:
        for labels in LABELS[count]:
            yield count, labels
        yield count, None  # random classes, drawn in the test


# ------------------------------------------------------------------ 1. the oracle
@pytest.mark.parametrize("name", FORMATS)
@pytest.mark.parametrize("count,labels", list(_cases()),
                         ids=[f"{n}ch-{'random' if lab is None else ''.join('x' if k < 0 else str(k) for k in lab)}"
                              for n, lab in _cases()])
def test_each_channel_gets_its_bands_as_the_oracle(rng, name, count, labels):
    if labels is None:
        labels = [int(k) for k in rng.integers(-1, 3, count)]
        labels[rng.integers(count)] = -1  # always one bandless channel
    bands, per_channel = build_case(labels, rng)
    # The case really has the structure it is meant to test: channels of one class share one
    # cascade, and the kernel's runs are the maximal runs of channels with as many sections
    # (filtered together, a lane per channel; 4 or more take the 4-lane kernels).
    cascades, runs = channel_cascades(tuple(bands), FS, count)
    index = [i for _, indices in runs for i in indices]
    assert all((index[a] == index[b]) == (labels[a] == labels[b])
               for a in range(count) for b in range(count))
    assert len(cascades) == len(set(labels))
    assert [(first, len(indices)) for first, indices in runs] == _maximal_runs(
        [len(per_channel[c]) for c in range(count)])

    raw = random_pcm(rng, name, FRAMES, count)  # noise at half scale and full-scale extremes
    stream = eq.StreamingEqualizer(FS, count, name, bands)
    out = stream.process(raw)
    assert stream.flush() == b""
    assert_channels_match_oracle(out, raw, name, per_channel, clipped=stream.clipped_samples)
    for c in range(count):
        np.testing.assert_allclose(stream.channel_sos(c), oracle_sos(per_channel[c], FS),
                                   rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("name", ["s16le", "s24le", "f32le", "f64le"])
def test_cascades_of_every_length_side_by_side(rng, name):
    # Sections run fused up to 8 at a time, in near-equal groups per run: cascades of 9, 17, 0,
    # 8 and 1 sections on neighbouring channels, the 17 on a run of 4 channels (4 lanes).
    lengths = [9, 17, 17, 17, 17, 0, 8, 1]
    bands, per_channel = [], [[] for _ in lengths]
    for i in range(max(lengths)):
        kind, freq_hz, q, gain_db = POOL[i % len(POOL)]
        band = (kind, freq_hz * (1.0 + 0.01 * i), q, gain_db * 0.5)  # 17 different filters
        chosen = [c for c, n in enumerate(lengths) if i < n]
        bands.append(eq.Band(*band[:2], q=q, gain_db=band[3],
                             channels=[_channel_ref(c, 8, rng) for c in chosen]))
        for c in chosen:
            per_channel[c].append(band)
    _, runs = channel_cascades(tuple(bands), FS, 8)
    assert [(first, len(indices)) for first, indices in runs] == [
        (0, 1), (1, 4), (5, 1), (6, 1), (7, 1)]
    raw = random_pcm(rng, name, FRAMES, 8, level=0.3)
    stream = eq.StreamingEqualizer(FS, 8, name, bands)
    assert_channels_match_oracle(stream.process(raw), raw, name, per_channel,
                                 clipped=stream.clipped_samples)
    assert stream.get_state().shape == (17, 2, 8)


@pytest.mark.parametrize("name", ["s16le", "u8", "f64le"])
@pytest.mark.parametrize("count", [2, 6])
def test_the_preamp_reaches_every_channel_banded_or_not(rng, name, count):
    labels = [0] + [-1] * (count - 1)
    bands, per_channel = build_case(labels, rng)
    raw = random_pcm(rng, name, FRAMES, count, level=0.4)
    stream = eq.StreamingEqualizer(FS, count, name, bands, preamp_db=-6.0)
    assert_channels_match_oracle(stream.process(raw), raw, name, per_channel,
                                 clipped=stream.clipped_samples, preamp_db=-6.0)


def test_a_single_band_on_one_channel_changes_only_that_channel(rng):
    # The feature's own example: +6 dB at 1 kHz on the left channel only.
    raw = random_pcm(rng, "s16le", FRAMES, 2, level=0.3)
    out = eq.StreamingEqualizer(FS, 2, "s16le",
                                [eq.Band("peaking", 1000, q=1, gain_db=6, channels=["L"])]).process(raw)
    x, y = decode(raw, "s16le", 2), decode(out, "s16le", 2)
    assert np.array_equal(y[:, 1], x[:, 1])
    assert np.count_nonzero(y[:, 0] != x[:, 0]) > FRAMES // 2


# ------------------------------------------------------------------ 2. split invariance
@st.composite
def split_case(draw):
    name = draw(st.sampled_from(list(PCM_FORMATS)))
    count = draw(st.integers(1, 8))
    labels = draw(st.lists(st.integers(-1, 2), min_size=count, max_size=count))
    frame_bytes = PCM_FORMATS[name][0] * count
    frames = draw(st.integers(0, 400))
    extra = draw(st.integers(0, frame_bytes - 1))  # a cut-off frame at the end, maybe
    total = frames * frame_bytes + extra
    size = st.one_of(st.just(0), st.just(1), st.integers(0, 2 * frame_bytes + 1),
                     st.integers(0, max(1, total)))
    sizes = draw(st.lists(size, max_size=40))
    seed = draw(st.integers(0, 2 ** 32 - 1))
    return name, labels, frames, extra, sizes, seed


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(split_case())
def test_any_split_gives_the_same_bytes_in_c_and_python_bookkeeping(case):
    name, labels, frames, extra, sizes, seed = case
    rng = np.random.default_rng(seed)
    count = len(labels)
    frame_bytes = PCM_FORMATS[name][0] * count
    bands, _ = build_case(labels, rng)
    raw = random_pcm(rng, name, frames, count, level=0.9)
    raw += bytes(rng.integers(0, 256, extra, dtype=np.uint8))

    one = streaming.StreamingEqualizer(FS, count, name, bands)
    whole = one.process(raw)
    assert len(whole) == frames * frame_bytes
    c_stream = streaming.StreamingEqualizer(FS, count, name, bands)
    py_stream = streaming._PythonStreamingEqualizer(FS, count, name, bands)
    pos, c_out, py_out = 0, [], []
    for size in sizes + [len(raw)]:
        chunk = raw[pos:pos + size]
        pos += len(chunk)
        c_out.append(c_stream.process(chunk))
        py_out.append(py_stream.process(chunk))
        assert c_out[-1] == py_out[-1]  # call by call
        assert c_stream.pending_bytes == py_stream.pending_bytes == pos % frame_bytes
    assert b"".join(c_out) == whole
    for stream in (c_stream, py_stream):
        assert stream.clipped_samples == one.clipped_samples
        np.testing.assert_array_equal(stream.get_state(), one.get_state())
        if extra:
            with pytest.raises(eq.IncompleteFrameError) as info:
                stream.flush()
            assert info.value.leftover == raw[len(raw) - extra:]
        else:
            assert stream.flush() == b""


# ------------------------------------------------------------------ 3. all channels named
def _all_channel_forms(count):
    """Explicit selections of every channel of a `count`-channel stream."""
    indices = list(range(count))
    forms = [indices, indices[::-1], [str(c) for c in indices], ",".join(map(str, indices)),
             indices + [0], "all"]
    names = _names(count)
    if names:
        forms += [list(names), list(names)[::-1], "+".join(n.lower() for n in names),
                  [ALIASES.get(n, n) for n in names], [names[0], *indices[1:]]]
    return forms


@pytest.mark.parametrize("name", FORMATS)
@pytest.mark.parametrize("count", CHANNEL_COUNTS)
def test_every_channel_named_is_no_selection(rng, name, count):
    forms = _all_channel_forms(count)
    plain = [eq.Band(*POOL[i % len(POOL)][:2], q=POOL[i % len(POOL)][2],
                     gain_db=POOL[i % len(POOL)][3]) for i in range(len(forms))]
    named = [eq.Band(b.type, b.freq_hz, q=b.q, gain_db=b.gain_db, channels=form)
             for b, form in zip(plain, forms)]
    _, runs = channel_cascades(tuple(named), FS, count)
    assert runs == [(0, [0] * count)]  # one run, one cascade: the kernel as before the feature
    raw = random_pcm(rng, name, FRAMES, count)
    reference = eq.StreamingEqualizer(FS, count, name, plain)
    stream = eq.StreamingEqualizer(FS, count, name, named)
    assert stream.process(raw) == reference.process(raw)
    assert stream.clipped_samples == reference.clipped_samples
    np.testing.assert_array_equal(stream.get_state(), reference.get_state())
    np.testing.assert_array_equal(stream.sos, reference.sos)


def test_every_channel_named_is_no_selection_in_float_blocks(rng):
    bands = [eq.Band(*p[:2], q=p[2], gain_db=p[3]) for p in POOL[:4]]
    named = [eq.Band(b.type, b.freq_hz, q=b.q, gain_db=b.gain_db, channels=["L", "R", "C", "LFE", 4, 5])
             for b in bands]
    x = rng.standard_normal((5000, 6)) * 0.3
    np.testing.assert_array_equal(eq.BlockEqualizer(FS, 6, named).process(x),
                                  eq.BlockEqualizer(FS, 6, bands).process(x))


# ------------------------------------------------------------------ 4. names and specs
NAMED_CHANNELS = [
    (1, "C", 0), (1, "FC", 0),
    (2, "L", 0), (2, "R", 1), (2, "FL", 0), (2, "FR", 1), (2, " r ", 1),
    (6, "L", 0), (6, "R", 1), (6, "C", 2), (6, "LFE", 3), (6, "SUB", 3), (6, "RL", 4),
    (6, "RR", 5), (6, "SL", 4), (6, "SR", 5), (6, "BL", 4), (6, "BR", 5), (6, "fl", 0),
    (6, "FC", 2), (6, "sub", 3),
    (8, "L", 0), (8, "R", 1), (8, "C", 2), (8, "LFE", 3), (8, "SUB", 3), (8, "RL", 4),
    (8, "BL", 4), (8, "RR", 5), (8, "BR", 5), (8, "SL", 6), (8, "SR", 7),
]


def test_the_layouts_of_1_2_6_and_8_channels_are_the_standard_ones():
    for count, names in LAYOUTS.items():
        assert CHANNEL_LAYOUTS[count] == names


def _selected(count, selection):
    """Indices of the channels one band on `selection` acts on, seen through channel_sos."""
    stream = eq.StreamingEqualizer(FS, count, "f64le",
                                   [eq.Band("peaking", 1000, q=1, gain_db=6, channels=selection)])
    return [c for c in range(count) if len(stream.channel_sos(c)) == 1]


@pytest.mark.parametrize("count,channel,index", NAMED_CHANNELS)
def test_a_name_selects_its_channel(count, channel, index):
    assert _selected(count, [channel]) == [index]
    assert _selected(count, channel) == [index]
    band = eq.parse_band(f"peaking:1k:gain=6:ch={channel.strip()}")
    assert eq.StreamingEqualizer(FS, count, "s16le", [band]).channel_sos(index).shape == (1, 6)


@pytest.mark.parametrize("count", sorted(CHANNEL_LAYOUTS))
def test_every_name_of_every_layout_selects_its_index(count):
    for index, channel in enumerate(CHANNEL_LAYOUTS[count]):
        assert _selected(count, [channel]) == [index]
        assert _selected(count, [index]) == [index]


def test_several_channels_in_one_selection(rng):
    assert _selected(6, ["L", "R"]) == [0, 1]
    assert _selected(6, "SUB+RR") == [3, 5]
    assert _selected(6, "sl, sr") == [4, 5]
    assert _selected(6, ["RL", "SL", 4, "4"]) == [4]  # the same channel named four ways
    assert _selected(8, (0, 2)) == [0, 2]
    assert _selected(5, [4, "0"]) == [0, 4]
    assert _selected(8, np.arange(8)[::3]) == [0, 3, 6]
    assert eq.parse_band("peaking:1k:gain=6:ch=L,R") == eq.Band("peaking", 1000, gain_db=6,
                                                                 channels=("L", "R"))


@pytest.mark.parametrize("selection,count,needle", [
    (["LFE"], 2, "'LFE'"),
    (["SL"], 2, "'SL'"),
    (["C"], 2, "'C'"),
    ([2], 2, "channel 2 "),
    ([1], 1, "channel 1 "),
    (["L"], 1, "'L'"),
    ([8], 8, "channel 8 "),
    (["L", 3], 3, "channel 3 "),
])
def test_a_channel_the_stream_does_not_have_is_an_error_when_the_equalizer_is_built(selection, count,
                                                                                     needle):
    band = eq.Band("peaking", 1000, q=1, gain_db=6, channels=selection)  # valid in some stream
    for build in (lambda: eq.StreamingEqualizer(FS, count, "s16le", [band]),
                  lambda: streaming._PythonStreamingEqualizer(FS, count, "s16le", [band]),
                  lambda: eq.BlockEqualizer(FS, count, [band]),
                  lambda: eq.StreamingEqualizer(FS, count, "f32le", [band.to_dict()])):
        with pytest.raises(eq.InvalidParameterError, match=f"{count}-channel") as info:
            build()
        assert needle in str(info.value)
        assert isinstance(info.value, ValueError)


@pytest.mark.parametrize("selection,error,needle", [
    (["XYZ"], eq.InvalidParameterError, "'XYZ'"),
    ("L,XYZ", eq.InvalidParameterError, "'XYZ'"),
    ([], eq.InvalidParameterError, "[]"),
    ((), eq.InvalidParameterError, "()"),
    ("", eq.InvalidParameterError, "''"),
    (",", eq.InvalidParameterError, "','"),
    ([-1], eq.InvalidParameterError, "-1"),
    (True, eq.InvalidTypeError, "True"),
    ([False], eq.InvalidTypeError, "False"),
    ([1.0], eq.InvalidTypeError, "1.0"),
    ([None], eq.InvalidTypeError, "None"),
    (1.5, eq.InvalidTypeError, "1.5"),
    (["all"], eq.InvalidParameterError, "'all'"),  # "all" alone means every channel, not a name
])
def test_an_invalid_selection_is_an_error_naming_it(selection, error, needle):
    with pytest.raises(error) as info:
        eq.Band("peaking", 1000, q=1, gain_db=6, channels=selection)
    assert needle in str(info.value)
    assert isinstance(info.value, eq.EqError)
    with pytest.raises(error):
        eq.Band.from_dict({"type": "peaking", "freq": 1000, "channels": selection})
    with pytest.raises(error):
        eq.StreamingEqualizer(FS, 2, "s16le", [{"type": "peaking", "freq": 1000, "channels": selection}])


@pytest.mark.parametrize("spec,needle", [
    ("peaking:1k:gain=6:ch=XYZ", "'XYZ'"),
    ("peaking:1k:gain=6:ch=", "''"),
    ("peaking:1k:gain=6:ch=L:ch=R", "ch twice"),
    ("peaking:1k:gain=6:ch=-1", "'-1'"),
])
def test_a_spec_with_an_invalid_selection_is_an_error_naming_it(spec, needle):
    with pytest.raises(eq.InvalidParameterError) as info:
        eq.parse_band(spec)
    assert needle in str(info.value)


def test_names_are_kept_in_canonical_form():
    band = eq.Band("peaking", 1000, channels=[" sub", "fl", "Bl", 3, "2", "L"])
    assert band.channels == ("LFE", "L", "RL", 3, 2)  # upper case, aliases resolved, no repeats
    assert eq.Band("peaking", 1000, channels="all").channels is None
    assert eq.Band("peaking", 1000, channels=np.int64(1)).channels == (1,)
    assert eq.parse_band("peaking:1k:ch=all").channels is None
    assert hash(band) == hash(eq.Band("peaking", 1000, channels=("LFE", "L", "RL", 3, 2)))
    assert "channels=('LFE', 'L', 'RL', 3, 2)" in repr(band)
    assert "channels" not in repr(eq.Band("peaking", 1000))


_SELECTORS = st.one_of(st.integers(0, 20), st.sampled_from(
    ["L", "R", "C", "LFE", "SUB", "RL", "RR", "SL", "SR", "BL", "BR", "FL", "FR", "FC", "l", "sub"]))


@st.composite
def channel_band(draw):
    kind = draw(st.sampled_from(eq.BAND_TYPES))
    freq_hz = draw(st.floats(1.0, 30000.0))
    kwargs = {}
    if kind in ("peaking", "lowshelf", "highshelf"):
        kwargs["gain_db"] = draw(st.floats(-30.0, 30.0))
    if kind not in ("lowshelf", "highshelf") and draw(st.booleans()):
        kwargs["bw_oct"] = draw(st.floats(0.01, 4.0))
    else:
        kwargs["q"] = draw(st.floats(0.05, 20.0))
    selection = draw(st.one_of(st.none(), st.lists(_SELECTORS, min_size=1, max_size=6)))
    return eq.Band(kind, freq_hz, channels=selection, **kwargs)


@settings(max_examples=200, deadline=None)
@given(channel_band())
def test_spec_and_dict_round_trips_keep_the_selection(band):
    assert eq.parse_band(band.spec()) == band
    assert eq.Band.from_dict(band.to_dict()) == band
    assert eq.Band.from_dict(json.loads(json.dumps(band.to_dict()))) == band
    if band.channels is None:
        assert "ch=" not in band.spec() and "channels" not in band.to_dict()
    else:
        assert band.to_dict()["channels"] == list(band.channels)


def test_dict_bands_with_channels_filter_as_band_objects(rng):
    raw = random_pcm(rng, "s24le", FRAMES, 6)
    dicts = [{"type": "lowshelf", "freq": 120, "q": 0.8, "gain_db": 6, "channels": ["L", "R"]},
             {"type": "peaking", "freq_hz": 1000, "q": 1.4, "gain": -5, "channels": "sub"},
             {"type": "notch", "freq": 3000, "q": 4, "channels": [4, "SR"]}]
    specs = ["lowshelf:120:q=0.8:gain=6:ch=L,R", "peaking:1k:q=1.4:gain=-5:ch=LFE",
             "notch:3k:q=4:ch=4,5"]
    objects = [eq.Band("lowshelf", 120, q=0.8, gain_db=6, channels=("L", "R")),
               eq.Band("peaking", 1000, q=1.4, gain_db=-5, channels=["LFE"]),
               eq.Band("notch", 3000, q=4, channels=(4, 5))]
    expected = eq.StreamingEqualizer(FS, 6, "s24le", objects).process(raw)
    assert eq.StreamingEqualizer(FS, 6, "s24le", dicts).process(raw) == expected
    assert eq.StreamingEqualizer(FS, 6, "s24le", [eq.parse_band(s) for s in specs]).process(raw) == expected
    per_channel = [[POOL[0]], [POOL[0]], [], [POOL[1]], [POOL[3]], [POOL[3]]]
    assert_channels_match_oracle(expected, raw, "s24le", per_channel)


# ------------------------------------------------------------------ 5. float blocks
@pytest.mark.parametrize("count,labels", [(1, [0]), (2, [0, -1]), (2, [1, 0]), (3, [0, -1, 0]),
                                          (6, [0, 1, 2, -1, 3, 0]), (8, [0, 1, 1, -1, 2, 2, 2, 2]),
                                          (8, [0, 0, 0, 0, 0, 1, -1, 0])])
def test_block_equalizer_matches_the_oracle_per_channel(rng, count, labels):
    bands, per_channel = build_case(labels, rng)
    x = rng.standard_normal((20000, count)) * 0.3
    beq = eq.BlockEqualizer(FS, count, bands)
    cuts = np.sort(rng.integers(0, len(x), 12))
    blocks = np.split(x, cuts)  # uneven blocks, some empty
    y = np.concatenate([beq.process(b) for b in blocks])
    for c in range(count):
        if not per_channel[c]:
            assert np.array_equal(y[:, c], x[:, c])  # passed through exactly
            continue
        ref = _oracle_channel(x[:, c], per_channel[c])
        scale = max(np.abs(ref).max(), np.abs(x[:, c]).max())
        assert np.max(np.abs(y[:, c] - ref)) <= 1e-12 * scale
        np.testing.assert_allclose(beq.channel_sos(c), oracle_sos(per_channel[c], FS),
                                   rtol=1e-12, atol=1e-14)
    # The same engine as the byte path on f64le: the same samples, bit for bit.
    stream = eq.StreamingEqualizer(FS, count, "f64le", bands)
    assert stream.process(x.astype("<f8").tobytes()) == y.astype("<f8").tobytes()


def test_block_equalizer_mono_keeps_a_1d_block(rng):
    x = rng.standard_normal(3000) * 0.3
    band = eq.Band("peaking", 1000, q=1.4, gain_db=-5, channels=["C"])
    y = eq.BlockEqualizer(FS, 1, [band]).process(x)
    assert y.shape == x.shape
    np.testing.assert_allclose(y, _oracle_channel(x, [POOL[1]]), rtol=0,
                               atol=1e-12 * np.abs(x).max())


# ------------------------------------------------------------------ 6. state and sections
def test_state_layout_is_scipys_zi_with_shorter_channels_zero_padded(rng):
    bands = [eq.Band(*POOL[0][:2], q=POOL[0][2], gain_db=POOL[0][3], channels=[0, "LFE", "RL", "RR"]),
             eq.Band(*POOL[1][:2], q=POOL[1][2], gain_db=POOL[1][3], channels="L,R"),
             eq.Band(*POOL[3][:2], q=POOL[3][2], gain_db=POOL[3][3], channels=["FL"]),
             eq.Band(*POOL[5][:2], q=POOL[5][2], gain_db=POOL[5][3], channels=[3, 4, 5])]
    per_channel = [[POOL[0], POOL[1], POOL[3]], [POOL[1]], [], [POOL[0], POOL[5]],
                   [POOL[0], POOL[5]], [POOL[0], POOL[5]]]
    lengths = [len(b) for b in per_channel]  # 3, 1, 0, 2, 2, 2
    x = rng.standard_normal((4000, 6)) * 0.3
    beq = eq.BlockEqualizer(FS, 6, bands)
    beq.process(x)
    state = beq.get_state()
    assert state.shape == (3, 2, 6)
    for c, n in enumerate(lengths):
        assert np.all(state[n:, :, c] == 0.0), f"channel {c}: rows past its {n} sections are used"
        if n:
            _, zf = signal.sosfilt(oracle_sos(per_channel[c], FS), x[:, c], zi=np.zeros((n, 2)))
            np.testing.assert_allclose(state[:n, :, c], zf, rtol=0, atol=1e-12)
    # The state set from scipy's zi carries on as scipy does.
    more = rng.standard_normal((3000, 6)) * 0.3
    fresh = eq.BlockEqualizer(FS, 6, bands)
    fresh.set_state(state)
    y = fresh.process(more)
    for c, n in enumerate(lengths):
        if n:
            ref, _ = signal.sosfilt(oracle_sos(per_channel[c], FS), more[:, c], zi=state[:n, :, c])
            np.testing.assert_allclose(y[:, c], ref, rtol=0, atol=1e-12)
        else:
            assert np.array_equal(y[:, c], more[:, c])


@pytest.mark.parametrize("name", ["s16le", "f32le"])
def test_get_state_then_set_state_continues_the_stream_exactly(rng, name):
    bands, _ = build_case([0, 0, 0, 0, -1, 1], rng)
    raw = random_pcm(rng, name, 2 * FRAMES, 6)
    half = FRAMES * PCM_FORMATS[name][0] * 6 + 5  # inside a frame
    whole = eq.StreamingEqualizer(FS, 6, name, bands).process(raw)
    first = eq.StreamingEqualizer(FS, 6, name, bands)
    head = first.process(raw[:half])
    second = eq.StreamingEqualizer(FS, 6, name, bands)
    second.set_state(first.get_state())
    tail = second.process(raw[len(head):])
    assert head + tail == whole
    first.reset()
    assert np.all(first.get_state() == 0) and first.process(raw) == whole  # bands kept


def test_set_state_checks_the_shape_against_the_longest_channel():
    bands = [eq.Band("peaking", 1000, channels=["L"]), eq.Band("notch", 50, q=4, channels="L"),
             eq.Band("lowshelf", 100, gain_db=3)]
    stream = eq.StreamingEqualizer(FS, 2, "s16le", bands)
    assert stream.get_state().shape == (3, 2, 2)
    assert [len(stream.channel_sos(c)) for c in (0, 1)] == [3, 1]
    for shape in [(1, 2, 2), (2, 2, 2), (3, 2, 1), (3, 2)]:
        with pytest.raises(eq.InvalidParameterError, match=r"\(3, 2, 2\)"):
            stream.set_state(np.zeros(shape))
    stream.set_state(np.zeros((3, 2, 2)))


def test_channel_sos_is_each_channels_bands_in_list_order():
    bands = [eq.Band("lowshelf", 120, q=0.8, gain_db=6, channels=["R"]),
             eq.Band("peaking", 1000, q=1.4, gain_db=-5),
             eq.Band("highshelf", 6000, q=0.707, gain_db=4, channels=["L"]),
             eq.Band("notch", 3000, q=4, channels=["R", "L"])]
    stream = eq.StreamingEqualizer(FS, 3, "s16le", bands)
    expected = [[POOL[1], POOL[2], POOL[3]], [POOL[0], POOL[1], POOL[3]], [POOL[1]]]
    for c in range(3):
        np.testing.assert_allclose(stream.channel_sos(c), oracle_sos(expected[c], FS),
                                   rtol=1e-12, atol=1e-14)
        assert stream.channel_sos(c) is not stream.channel_sos(c)  # a copy
    only_left = eq.StreamingEqualizer(FS, 2, "s16le", [eq.Band("peaking", 1000, channels=["L"])])
    assert only_left.channel_sos(1).shape == (0, 6)
    for bad in (2, -1, True, 1.0, "L"):
        with pytest.raises(eq.InvalidParameterError, match="channel must be an index") as info:
            only_left.channel_sos(bad)
        assert repr(bad) in str(info.value)


def test_sos_raises_a_clear_error_only_when_channels_differ():
    differ = eq.StreamingEqualizer(FS, 2, "s16le", [eq.Band("peaking", 1000, channels=["L"])])
    with pytest.raises(eq.InvalidParameterError, match="channel_sos") as info:
        differ.sos
    assert "different bands" in str(info.value)
    with pytest.raises(eq.InvalidParameterError, match="channel_sos"):
        eq.BlockEqualizer(FS, 6, [eq.Band("peaking", 1000, channels=["LFE"])]).sos
    # The same bands on every channel, however they are named: one cascade.
    same = [eq.Band("peaking", 1000, channels=["L", "R"]), eq.Band("notch", 50, q=4, channels="1,0"),
            eq.Band("lowshelf", 100, gain_db=3)]
    stream = eq.StreamingEqualizer(FS, 2, "s16le", same)
    np.testing.assert_allclose(stream.sos, oracle_sos([("peaking", 1000.0, 2 ** -0.5, 0.0),
                                                      ("notch", 50.0, 4.0, 0.0),
                                                      ("lowshelf", 100.0, 2 ** -0.5, 3.0)], FS),
                               rtol=1e-12, atol=1e-14)
    np.testing.assert_array_equal(stream.sos, stream.channel_sos(0))

"""StreamingEqualizer and BlockEqualizer against float64 scipy.signal.sosfilt.

The expected bytes come from ``eq_oracle``: cookbook coefficients written from
the cookbook text, ``sosfilt`` in float64, then the format's own encoding
(integers: ``rint`` and saturation; u8 offset 128; floats: cast).
"""

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import signal

import eq
from eq_oracle import (
    BAND_TYPE_NAMES,
    FLOAT_FORMATS,
    INT_FORMATS,
    PCM_FORMATS,
    decode,
    encode,
    int_limits,
    oracle_filter,
    oracle_sos,
    oracle_stream,
    random_pcm,
    to_float,
)

ALL_FORMATS = list(PCM_FORMATS)
RATES = [8000, 11025, 22050, 44100, 48000, 96000, 192000]
CHANNELS = [1, 2, 6]

# Every band type once; all frequencies below the Nyquist of 8 kHz.
CASCADE = [
    {"type": "highpass", "freq": 40.0, "q": 0.707},
    {"type": "lowshelf", "freq": 120.0, "q": 0.8, "gain_db": 5.0},
    {"type": "peaking", "freq": 1000.0, "q": 1.4, "gain_db": -4.0},
    {"type": "bandpass", "freq": 700.0, "q": 0.5},
    {"type": "notch", "freq": 1500.0, "q": 3.0},
    {"type": "allpass", "freq": 2500.0, "q": 0.9},
    {"type": "highshelf", "freq": 3000.0, "q": 0.707, "gain_db": 6.0},
    {"type": "lowpass", "freq": 3600.0, "q": 1.1},
]

FRAMES = 3000  # crosses several of the kernels' internal tiles for every channel count


def band_of_type(kind, freq=1000.0):
    return {"type": kind, "freq": freq, "q": 0.9, "gain_db": 6.0}


def assert_pcm_close(out, raw, name, channels, fs, bands, preamp_db=0.0, clipped=None):
    """Compare equalizer output bytes with the oracle, with the tolerances of the spec."""
    width = PCM_FORMATS[name][0]
    assert len(out) == (len(raw) // (width * channels)) * width * channels
    expected, y, n_clipped = oracle_stream(raw[:len(out)], name, channels, fs, bands, preamp_db)
    got = decode(out, name, channels)
    if name in INT_FORMATS:
        diff = got - expected
        n_diff = int(np.count_nonzero(diff))
        assert np.max(np.abs(diff), initial=0) <= 1, f"{name}: off by more than 1 LSB"
        assert n_diff <= max(1, 0.001 * diff.size), f"{name}: {n_diff} of {diff.size} differ"
        # A difference is only allowed where the exact result is a rounding tie, up to
        # float64 rounding of the filter (relative to the largest value in the filter).
        scale = int_limits(name)[0]
        x_peak = np.max(np.abs(to_float(decode(raw, name, channels), name)), initial=0.0)
        tie_tol = 1e-12 * scale * max(1.0, x_peak * 10 ** (preamp_db / 20))
        frac = np.abs(y * scale) % 1.0
        near_tie = np.abs(frac - 0.5) <= tie_tol
        assert np.all(near_tie[diff != 0]), f"{name}: a sample away from a tie differs"
        if clipped is not None:
            assert abs(clipped - n_clipped) <= n_diff
    elif PCM_FORMATS[name][0] == 8:
        np.testing.assert_allclose(got, y, rtol=1e-9, atol=1e-12)
    else:
        y32 = y.astype(np.float32)
        # Within one float32 ulp of the float64 result rounded to float32 (or 1e-12 of full scale).
        assert np.all(np.abs(got - y32.astype(np.float64))
                      <= np.spacing(np.abs(y32)).astype(np.float64) + 1e-12)
        if clipped is not None:
            assert clipped == 0


# ------------------------------------------------------------------ oracle
@pytest.mark.parametrize("channels", CHANNELS)
@pytest.mark.parametrize("kind", BAND_TYPE_NAMES)
@pytest.mark.parametrize("name", ALL_FORMATS)
def test_every_band_type_and_format_matches_sosfilt(rng, name, kind, channels):
    fs = 48000
    bands = [band_of_type(kind)]
    raw = random_pcm(rng, name, FRAMES, channels)
    stream = eq.StreamingEqualizer(fs, channels, name, bands)
    out = stream.process(raw)
    assert stream.flush() == b""
    assert_pcm_close(out, raw, name, channels, fs, bands, clipped=stream.clipped_samples)


@pytest.mark.parametrize("fs", RATES)
@pytest.mark.parametrize("channels", CHANNELS)
@pytest.mark.parametrize("name", ALL_FORMATS)
def test_every_rate_and_format_matches_sosfilt(rng, name, channels, fs):
    raw = random_pcm(rng, name, FRAMES, channels, level=0.7)
    stream = eq.StreamingEqualizer(fs, channels, name, CASCADE)
    out = stream.process(raw)
    assert_pcm_close(out, raw, name, channels, fs, CASCADE, clipped=stream.clipped_samples)


@pytest.mark.parametrize("n_bands", [0, 1, 2, 3, 4, 5, 7, 8, 9, 13, 16, 17])
@pytest.mark.parametrize("name", ["s16le", "f64le"])
def test_any_number_of_sections_matches_sosfilt(rng, name, n_bands):
    fs = 44100
    bands = [CASCADE[i % len(CASCADE)] for i in range(n_bands)]
    raw = random_pcm(rng, name, 2500, 2, level=0.3)
    stream = eq.StreamingEqualizer(fs, 2, name, bands)
    assert_pcm_close(stream.process(raw), raw, name, 2, fs, bands)


@pytest.mark.parametrize("name", ALL_FORMATS)
def test_design_sos_is_the_cookbook(name):
    # The streaming object must run exactly the sections of the cookbook.
    stream = eq.StreamingEqualizer(44100, 1, name, CASCADE)
    np.testing.assert_allclose(stream.sos, oracle_sos(CASCADE, 44100), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("name", ALL_FORMATS)
def test_no_bands_is_the_identity(rng, name):
    raw = random_pcm(rng, name, 1000, 3, level=1.0)
    stream = eq.StreamingEqualizer(48000, 3, name, [])
    assert stream.process(raw) == raw
    assert stream.clipped_samples == 0


@pytest.mark.parametrize("name", ALL_FORMATS)
def test_bytes_like_inputs_give_the_same_output(rng, name):
    raw = random_pcm(rng, name, 400, 2)
    expected = eq.StreamingEqualizer(48000, 2, name, CASCADE).process(raw)
    for wrap in (bytearray, memoryview, lambda b: memoryview(np.frombuffer(b, np.uint8))):
        stream = eq.StreamingEqualizer(48000, 2, name, CASCADE)
        cut = len(raw) // 2 + 1  # mid-sample
        out = stream.process(wrap(raw[:cut])) + stream.process(wrap(raw[cut:]))
        assert out == expected


def test_memoryview_of_wider_items_is_taken_as_bytes(rng):
    samples = rng.integers(-20000, 20000, (500, 2)).astype("<i2")
    expected = eq.StreamingEqualizer(48000, 2, "s16le", CASCADE).process(samples.tobytes())
    stream = eq.StreamingEqualizer(48000, 2, "s16le", CASCADE)
    view = memoryview(samples)  # format 'h', 2-D
    assert stream.process(view) == expected
    stream.reset()
    flat = memoryview(samples.reshape(-1))
    out = stream.process(flat[:301]) + stream.process(flat[301:])  # 602 bytes: mid-frame
    assert out == expected


# --------------------------------------------------------- chunk invariance
@st.composite
def stream_case(draw):
    name = draw(st.sampled_from(ALL_FORMATS))
    channels = draw(st.integers(1, 6))
    frame_bytes = PCM_FORMATS[name][0] * channels
    frames = draw(st.integers(0, 300))
    extra = draw(st.integers(0, frame_bytes - 1))  # a partial frame at the end, maybe
    total = frames * frame_bytes + extra
    size = st.one_of(st.just(0), st.just(1), st.integers(0, 2 * frame_bytes + 1),
                     st.integers(0, max(1, total)))
    sizes = draw(st.lists(size, max_size=40))
    kinds = draw(st.lists(st.sampled_from(["bytes", "bytearray", "memoryview"]),
                          min_size=len(sizes) + 1, max_size=len(sizes) + 1))
    n_bands = draw(st.integers(0, 10))
    seed = draw(st.integers(0, 2 ** 32 - 1))
    preamp_db = draw(st.sampled_from([0.0, -6.0, 9.5]))
    return name, channels, frames, extra, sizes, kinds, n_bands, seed, preamp_db


def _wrap(chunk, kind):
    if kind == "bytearray":
        return bytearray(chunk)
    if kind == "memoryview":
        return memoryview(chunk)
    return chunk


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(stream_case())
def test_any_split_gives_the_bytes_of_one_pass(case):
    name, channels, frames, extra, sizes, kinds, n_bands, seed, preamp_db = case
    rng = np.random.default_rng(seed)
    frame_bytes = PCM_FORMATS[name][0] * channels
    raw = random_pcm(rng, name, frames, channels, level=0.9)
    raw += bytes(rng.integers(0, 256, extra, dtype=np.uint8))
    bands = [CASCADE[(i * 3) % len(CASCADE)] for i in range(n_bands)]

    one = eq.StreamingEqualizer(44100, channels, name, bands, preamp_db=preamp_db)
    whole = one.process(raw)
    assert len(whole) == frames * frame_bytes

    stream = eq.StreamingEqualizer(44100, channels, name, bands, preamp_db=preamp_db)
    out = bytearray()
    pos = 0
    for size, kind in zip(sizes + [len(raw)], kinds):
        chunk = raw[pos:pos + size]
        pos += len(chunk)
        out += stream.process(_wrap(chunk, kind))
        # Zero added latency: every complete frame is out after every call.
        assert len(out) == (pos // frame_bytes) * frame_bytes
        assert stream.pending_bytes == pos % frame_bytes
    assert pos == len(raw)
    assert bytes(out) == whole
    assert stream.clipped_samples == one.clipped_samples
    if extra:
        with pytest.raises(eq.IncompleteFrameError) as info:
            stream.flush()
        assert info.value.leftover == raw[len(raw) - extra:]
    else:
        assert stream.flush() == b""


@settings(max_examples=60, deadline=None)
@given(name=st.sampled_from(ALL_FORMATS), preamp_db=st.floats(-30.0, 30.0),
       channels=st.integers(1, 3), seed=st.integers(0, 2 ** 32 - 1))
def test_preamp_matches_sosfilt_of_scaled_input(name, preamp_db, channels, seed):
    rng = np.random.default_rng(seed)
    bands = CASCADE[1:4]
    raw = random_pcm(rng, name, 600, channels, level=0.4)
    stream = eq.StreamingEqualizer(48000, channels, name, bands, preamp_db=preamp_db)
    out = stream.process(raw)
    assert_pcm_close(out, raw, name, channels, 48000, bands, preamp_db,
                     clipped=stream.clipped_samples)


@pytest.mark.parametrize("name", ["u8", "s16le", "s24be", "f32le", "f64be"])
def test_preamp_alone_is_a_gain(rng, name):
    raw = random_pcm(rng, name, 800, 2, level=0.3)
    out = eq.StreamingEqualizer(48000, 2, name, [], preamp_db=6.0).process(raw)
    assert_pcm_close(out, raw, name, 2, 48000, [], 6.0)


# ------------------------------------------------------------- reset/state
@pytest.mark.parametrize("name", ["u8", "s16be", "s24le", "s32le", "f32be", "f64le"])
def test_reset_gives_the_output_of_a_fresh_object(rng, name):
    first = random_pcm(rng, name, 700, 2, level=1.0)
    second = random_pcm(rng, name, 700, 2, level=0.8)
    fresh = eq.StreamingEqualizer(48000, 2, name, CASCADE, preamp_db=8.0)
    expected = fresh.process(second)
    used = eq.StreamingEqualizer(48000, 2, name, CASCADE, preamp_db=8.0)
    partial = PCM_FORMATS[name][0] * 2 - 1
    used.process(first + first[:partial])  # leaves pending bytes and some filter state
    assert used.pending_bytes == partial
    used.reset()
    assert used.pending_bytes == 0
    assert used.clipped_samples == 0
    assert np.all(used.get_state() == 0)
    assert used.process(second) == expected
    assert used.clipped_samples == fresh.clipped_samples
    assert used.flush() == b""
    # The bands are kept.
    np.testing.assert_allclose(used.sos, oracle_sos(CASCADE, 48000), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("name", ["s16le", "s24be", "f32le", "f64le"])
def test_get_state_set_state_round_trip(rng, name):
    raw = random_pcm(rng, name, 1500, 2)
    cut = 701 * PCM_FORMATS[name][0] * 2
    a = eq.StreamingEqualizer(96000, 2, name, CASCADE)
    a.process(raw[:cut])
    state = a.get_state()
    assert state.shape == (len(CASCADE), 2, 2)
    state_before = state.copy()
    state[...] = 123.0  # a copy: changing it does not touch the equalizer
    b = eq.StreamingEqualizer(96000, 2, name, CASCADE)
    b.set_state(state_before)
    np.testing.assert_array_equal(b.get_state(), state_before)
    assert b.process(raw[cut:]) == a.process(raw[cut:])


def test_state_is_scipy_zf_and_set_state_is_scipy_zi(rng):
    """get_state() is the zf of scipy's sosfilt over (frames, channels) input, in scipy's own
    layout (sections, 2, channels); set_state() takes scipy's zi as it is."""
    fs, channels = 48000, 3
    sos = oracle_sos(CASCADE, fs)
    x = rng.uniform(-1, 1, (900, channels))
    stream = eq.StreamingEqualizer(fs, channels, "f64le", CASCADE)
    stream.process(encode(x, "f64le"))
    _, zf = signal.sosfilt(sos, x, axis=0, zi=np.zeros((len(sos), 2, channels)))
    assert stream.get_state().shape == zf.shape
    np.testing.assert_allclose(stream.get_state(), zf, rtol=1e-9, atol=1e-12)

    zi = rng.uniform(-0.5, 0.5, (len(sos), 2, channels))
    stream.set_state(zi)
    y_expected, _ = signal.sosfilt(sos, x, axis=0, zi=zi)
    y = decode(stream.process(encode(x, "f64le")), "f64le", channels)
    np.testing.assert_allclose(y, y_expected, rtol=1e-9, atol=1e-12)


def test_set_state_rejects_a_wrong_shape_or_non_finite_state():
    stream = eq.StreamingEqualizer(48000, 2, "s16le", CASCADE[:2])
    with pytest.raises(eq.InvalidParameterError, match=r"\(2, 2, 2\) \(sections, 2, channels\)"):
        stream.set_state(np.zeros((2, 2)))
    with pytest.raises(eq.InvalidParameterError):
        stream.set_state(np.full((2, 2, 2), np.nan))
    np.testing.assert_array_equal(stream.get_state(), 0.0)


# ---------------------------------------------------------- BlockEqualizer
@settings(max_examples=60, deadline=None)
@given(channels=st.integers(1, 4), frames=st.integers(0, 600),
       cuts=st.lists(st.integers(0, 600), max_size=12), seed=st.integers(0, 2 ** 32 - 1),
       n_bands=st.integers(0, 9))
def test_block_equalizer_any_blocking_equals_sosfilt(channels, frames, cuts, seed, n_bands):
    rng = np.random.default_rng(seed)
    bands = [CASCADE[(i * 5) % len(CASCADE)] for i in range(n_bands)]
    x = rng.uniform(-1, 1, (frames, channels))
    whole = eq.BlockEqualizer(44100, channels, bands).process(x)
    beq = eq.BlockEqualizer(44100, channels, bands)
    edges = [0] + sorted(min(c, frames) for c in cuts) + [frames]
    parts = [beq.process(x[a:b]) for a, b in zip(edges[:-1], edges[1:])]
    for part, a, b in zip(parts, edges[:-1], edges[1:]):
        assert part.shape == (b - a, channels) and part.dtype == np.float64
    blocked = np.concatenate(parts, axis=0)
    np.testing.assert_array_equal(blocked, whole)
    np.testing.assert_allclose(blocked, oracle_filter(oracle_sos(bands, 44100), x),
                               rtol=1e-9, atol=1e-12)


def test_block_equalizer_applies_the_preamp_before_the_bands(rng):
    bands = CASCADE[:4]
    x = rng.uniform(-1, 1, (1000, 1))
    y = eq.BlockEqualizer(22050, 1, bands, preamp_db=-3.0).process(x)
    expected = oracle_filter(oracle_sos(bands, 22050), x * 10 ** (-3 / 20))
    np.testing.assert_allclose(y, expected, rtol=1e-9, atol=1e-12)


def test_block_equalizer_keeps_the_dimensions_of_its_input(rng):
    """As scipy.signal.sosfilt along axis 0: (n,) in gives (n,) out, (n, 1) gives (n, 1)."""
    x = rng.uniform(-1, 1, 500)
    flat = eq.BlockEqualizer(22050, 1, CASCADE[:4]).process(x)
    column = eq.BlockEqualizer(22050, 1, CASCADE[:4]).process(x[:, None])
    assert flat.shape == (500,) and column.shape == (500, 1)
    np.testing.assert_array_equal(flat, column[:, 0])
    np.testing.assert_allclose(flat, signal.sosfilt(oracle_sos(CASCADE[:4], 22050), x), rtol=1e-9, atol=1e-12)
    assert (x - flat).shape == (500,)
    with pytest.raises(eq.InvalidParameterError, match=r"\(frames, 2\)"):
        eq.BlockEqualizer(22050, 2, CASCADE[:4]).process(x)


def test_block_equalizer_reset_clears_the_state_and_keeps_the_bands(rng):
    x = rng.uniform(-1, 1, (1000, 1))
    beq = eq.BlockEqualizer(22050, 1, CASCADE[:4])
    y = beq.process(x)
    beq.reset()
    np.testing.assert_array_equal(beq.get_state(), 0.0)
    np.testing.assert_array_equal(beq.process(x), y)


def test_block_equalizer_state_moves_to_another_equalizer(rng):
    x = rng.uniform(-1, 1, (1000, 1))
    beq = eq.BlockEqualizer(22050, 1, CASCADE[:4])
    beq.process(x)
    other = eq.BlockEqualizer(22050, 1, CASCADE[:4])
    other.set_state(beq.get_state())
    np.testing.assert_array_equal(other.process(x), beq.process(x))


@pytest.mark.parametrize("dtype", ["int16", "int32", "uint8", "bool", "complex128"])
def test_block_equalizer_refuses_samples_that_are_not_floats(dtype):
    """Integers are not silently taken as raw numbers: the error says how to scale them."""
    beq = eq.BlockEqualizer(22050, 1, [])
    with pytest.raises(eq.InvalidTypeError, match=f"dtype {dtype}") as err:
        beq.process(np.ones((10, 1), dtype=dtype))
    assert isinstance(err.value, TypeError)
    if dtype.startswith("int"):
        assert "divide by the full scale" in str(err.value)
    elif dtype.startswith("uint"):
        assert "remove the offset and scale" in str(err.value)


def test_block_equalizer_writes_into_out_and_checks_it(rng):
    x = rng.uniform(-1, 1, (10, 1))
    beq = eq.BlockEqualizer(22050, 1, [])
    out = np.empty((10, 1))
    assert beq.process(x, out=out) is out
    np.testing.assert_array_equal(out, x)
    with pytest.raises(eq.InvalidTypeError, match="float64"):
        beq.process(x, out=np.empty((10, 1), dtype=np.float32))  # wrong dtype: a TypeError
    with pytest.raises(eq.InvalidTypeError, match="list"):
        beq.process(x, out=[0.0] * 10)
    with pytest.raises(eq.InvalidParameterError, match=r"\(10, 1\)"):
        beq.process(x, out=np.empty((9, 1)))  # wrong shape: a ValueError


def test_block_equalizer_rejects_a_wrong_shape():
    beq = eq.BlockEqualizer(48000, 2, CASCADE[:1])
    with pytest.raises(eq.InvalidParameterError, match=r"\(10, 3\)"):
        beq.process(np.zeros((10, 3)))
    with pytest.raises(eq.EqError):
        beq.process(np.zeros(10))


# --------------------------------------------------- saturation, rounding
@pytest.mark.parametrize("name", INT_FORMATS)
def test_saturates_at_the_format_limits_and_never_wraps(rng, name):
    fs, channels = 48000, 2
    scale, lo, hi = int_limits(name)
    n = 4000
    t = np.arange(n) / fs
    x = 0.95 * np.sin(2 * np.pi * 1000 * t)[:, None] * np.array([1.0, -0.7])
    x[::97] = 1.0  # plus full-scale spikes
    v = np.clip(np.rint(x * scale), lo, hi).astype(np.int64)
    raw = encode(v, name)
    bands = [{"type": "peaking", "freq": 1000, "q": 1.0, "gain_db": 12.0},
             {"type": "highshelf", "freq": 5000, "q": 0.7, "gain_db": 6.0}]
    stream = eq.StreamingEqualizer(fs, channels, name, bands, preamp_db=6.0)
    out = stream.process(raw)
    got = decode(out, name, channels)
    expected, y, n_clipped = oracle_stream(raw, name, channels, fs, bands, 6.0)
    assert n_clipped > n // 4, "the test signal must clip"
    assert got.min() >= lo and got.max() <= hi
    over, under = y * scale > hi + 0.5, y * scale < lo - 0.5
    np.testing.assert_array_equal(got[over], hi)
    np.testing.assert_array_equal(got[under], lo)
    big = np.abs(y * scale) >= 1.0
    np.testing.assert_array_equal(np.sign(got[big]), np.sign(y[big]))
    assert_pcm_close(out, raw, name, channels, fs, bands, 6.0, clipped=stream.clipped_samples)
    assert stream.clipped_samples == n_clipped
    # The count is cumulative over calls.
    stream.process(raw)
    one_pass = eq.StreamingEqualizer(fs, channels, name, bands, preamp_db=6.0)
    one_pass.process(raw + raw)
    assert stream.clipped_samples == one_pass.clipped_samples > n_clipped


@pytest.mark.parametrize("name", FLOAT_FORMATS)
def test_float_output_is_never_clipped(rng, name):
    x = rng.uniform(-1, 1, (1000, 1))
    bands = [{"type": "peaking", "freq": 1000, "q": 1.0, "gain_db": 12.0}]
    stream = eq.StreamingEqualizer(48000, 1, name, bands, preamp_db=12.0)
    y = decode(stream.process(encode(x, name)), name, 1)
    assert np.max(np.abs(y)) > 3.0
    assert stream.clipped_samples == 0


@pytest.mark.parametrize("name", INT_FORMATS)
def test_rounding_is_to_nearest_without_bias(rng, name):
    fs, frames = 44100, 60000
    scale, lo, hi = int_limits(name)
    bands = [{"type": "peaking", "freq": 3000, "q": 0.8, "gain_db": -3.0}]
    raw = random_pcm(rng, name, frames, 1, level=0.6, extremes=False)
    out = eq.StreamingEqualizer(fs, 1, name, bands).process(raw)
    got = decode(out, name, 1)[:, 0].astype(np.float64)
    y = oracle_filter(oracle_sos(bands, fs), to_float(decode(raw, name, 1), name))[:, 0] * scale
    inside = (y > lo) & (y < hi)
    assert inside.mean() > 0.99
    err = got[inside] - y[inside]
    assert np.max(np.abs(err)) <= 0.5 + 1e-6 * max(1.0, scale / 2 ** 23)
    # No bias on either sign (truncation or floor would give about -0.5 / +0.5 LSB).
    assert abs(err[y[inside] > 0].mean()) < 0.05
    assert abs(err[y[inside] < 0].mean()) < 0.05
    assert abs(err.mean()) < 0.05


@pytest.mark.parametrize("name", INT_FORMATS)
def test_identity_band_returns_the_input(rng, name):
    # A 0 dB peaking band is the identity up to float rounding: rint gets every sample back.
    raw = random_pcm(rng, name, 3000, 2, level=1.0)
    bands = [{"type": "peaking", "freq": 1000, "q": 1.0, "gain_db": 0.0}]
    out = eq.StreamingEqualizer(48000, 2, name, bands).process(raw)
    diff = decode(out, name, 2) - decode(raw, name, 2)
    assert np.max(np.abs(diff)) <= 1
    assert np.count_nonzero(diff) <= 0.001 * diff.size


# ---------------------------------------------------------- partial frames
@pytest.mark.parametrize("name,channels", [("s16le", 2), ("s24be", 6), ("u8", 3), ("f64le", 2)])
def test_flush_on_a_partial_frame_reports_the_leftover(rng, name, channels):
    frame_bytes = PCM_FORMATS[name][0] * channels
    raw = random_pcm(rng, name, 250, channels)
    tail = raw[:frame_bytes - 1]
    stream = eq.StreamingEqualizer(48000, channels, name, CASCADE)
    out = stream.process(raw[:1000]) + stream.process(raw[1000:] + tail)
    assert len(out) == len(raw)
    assert stream.pending_bytes == len(tail)
    with pytest.raises(eq.IncompleteFrameError) as info:
        stream.flush()
    err = info.value
    assert isinstance(err, ValueError) and isinstance(err, eq.EqError)
    assert err.leftover == tail
    assert err.frame_bytes == frame_bytes
    assert f"{len(tail)} byte" in str(err)
    # What was processed before is intact, and the stream goes on.
    assert_pcm_close(out, raw, name, channels, 48000, CASCADE)
    assert stream.pending_bytes == 0
    assert stream.flush() == b""


def test_flush_after_one_byte(rng):
    stream = eq.StreamingEqualizer(48000, 2, "s16le", [])
    assert stream.process(b"\x01") == b""
    with pytest.raises(eq.IncompleteFrameError, match=r"\b1 byte") as info:
        stream.flush()
    assert info.value.leftover == b"\x01"


@pytest.mark.parametrize("name", ALL_FORMATS)
def test_process_empty_input(rng, name):
    frame = random_pcm(rng, name, 1, 2, extremes=False)
    for bands in ([], CASCADE):
        stream = eq.StreamingEqualizer(48000, 2, name, bands)
        for empty in (b"", bytearray(), memoryview(b"")):
            assert stream.process(empty) == b""  # at the start
        assert len(stream.process(frame)) == len(frame)
        for empty in (b"", bytearray(), memoryview(b"")):
            assert stream.process(empty) == b""  # after a complete frame
        assert stream.process(frame[:1]) == b""
        assert stream.process(b"") == b""  # with a pending byte
        assert stream.pending_bytes == 1
        with pytest.raises(eq.IncompleteFrameError):
            stream.flush()
        assert stream.flush() == b""


@pytest.mark.parametrize("channels", [13, 64, 1024])
def test_many_channels_match_sosfilt(rng, channels):
    raw = random_pcm(rng, "s16le", 60, channels)
    stream = eq.StreamingEqualizer(48000, channels, "s16le", CASCADE)
    out = stream.process(raw[:1001]) + stream.process(raw[1001:])
    assert_pcm_close(out, raw, "s16le", channels, 48000, CASCADE)


def test_sample_format_names_are_case_insensitive():
    assert eq.StreamingEqualizer(48000, 1, "S16LE", []).frame_bytes == 2
    assert eq.StreamingEqualizer(48000, 2, eq.SAMPLE_FORMATS["s24be"], []).frame_bytes == 6
    assert math.isclose(eq.SAMPLE_FORMATS["s24le"].scale, 2 ** 23)


# ------------------------------------------------------------ long chunks
LONG_FRAMES = eq.streaming.BUFFER_BYTES + 1000  # past the buffer at any frame size: filtered in place


@pytest.mark.parametrize("channels", [1, 2, 6])
@pytest.mark.parametrize("name", ALL_FORMATS)
def test_long_chunks_match_sosfilt_and_short_chunks(rng, name, channels):
    fs = 44100
    raw = random_pcm(rng, name, LONG_FRAMES, channels, level=0.7)
    whole = eq.StreamingEqualizer(fs, channels, name, CASCADE, preamp_db=3.0)
    out = whole.process(raw)
    assert_pcm_close(out, raw, name, channels, fs, CASCADE, 3.0, clipped=whole.clipped_samples)
    # The same stream in short chunks (some mid-frame) gives the same bytes.
    short = eq.StreamingEqualizer(fs, channels, name, CASCADE, preamp_db=3.0)
    step = 4093  # bytes: a prime, so cuts land mid-sample and mid-frame
    pieces = b"".join(short.process(raw[i:i + step]) for i in range(0, len(raw), step))
    assert pieces == out
    assert short.clipped_samples == whole.clipped_samples


@pytest.mark.parametrize("name,channels", [("s16le", 2), ("s24be", 6), ("f32le", 3),
                                           ("u8", 2), ("f64be", 2)])
def test_mixed_long_and_short_chunks(rng, name, channels):
    frame_bytes = PCM_FORMATS[name][0] * channels
    raw = random_pcm(rng, name, 3 * LONG_FRAMES, channels, level=0.7)
    expected = eq.StreamingEqualizer(48000, channels, name, CASCADE).process(raw)
    stream = eq.StreamingEqualizer(48000, channels, name, CASCADE)
    sizes = [1, 8192 * frame_bytes + 1, 0, 3, 20000 * frame_bytes - 5, 7, 16384 * frame_bytes,
             frame_bytes - 1, 9000 * frame_bytes + 2]
    out, pos = b"", 0
    for size in sizes + [len(raw)]:
        out += stream.process(raw[pos:pos + size])
        pos = min(len(raw), pos + size)
        assert len(out) == pos // frame_bytes * frame_bytes
    assert out == expected


@pytest.mark.parametrize("channels", [1, 2, 6])
def test_block_equalizer_long_blocks_match_sosfilt(rng, channels):
    x = rng.uniform(-1, 1, (LONG_FRAMES, channels))
    whole = eq.BlockEqualizer(96000, channels, CASCADE).process(x)
    np.testing.assert_allclose(whole, oracle_filter(oracle_sos(CASCADE, 96000), x),
                               rtol=1e-9, atol=1e-12)
    beq = eq.BlockEqualizer(96000, channels, CASCADE)
    parts = [beq.process(x[a:a + 9001]) for a in range(0, LONG_FRAMES, 9001)]
    np.testing.assert_array_equal(np.concatenate(parts), whole)


def test_a_failed_second_initialisation_changes_nothing(rng):
    stream = eq.StreamingEqualizer(48000, 2, "s16le", CASCADE)
    twin = eq.StreamingEqualizer(48000, 2, "s16le", CASCADE)
    with pytest.raises((RuntimeError, eq.EqError)):
        stream.__init__(44100, 1, "f32le", [])
    assert (stream.sample_rate, stream.channels, stream.format.name) == (48000, 2, "s16le")
    raw = random_pcm(rng, "s16le", 700, 2)
    assert stream.process(raw) == twin.process(raw)


def test_unsigned_integers_are_told_to_remove_their_offset():
    with pytest.raises(eq.InvalidTypeError, match=r"\(x - 128\) / 128"):
        eq.BlockEqualizer(22050, 1, []).process(np.full(10, 128, dtype=np.uint8))

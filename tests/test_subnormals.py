"""Digital silence after a sound: the filter state must not live on in subnormals.

A recursive filter's state decays toward zero on silence and, in plain IEEE
arithmetic, settles into the subnormal range (below 2.2e-308), where x86 cores
run about a hundred times slower. The kernels flush subnormals to zero while
they run (:mod:`eq._fpenv`); these tests check the state, the outputs against
the oracle, chunk invariance, and that the caller's floating point is left as
it was.
"""

import numpy as np
import pytest

import eq
from eq import _fpenv
from eq_oracle import oracle_filter, oracle_sos

BANDS = [
    {"type": "lowshelf", "freq": 100.0, "q": 0.707, "gain_db": 4.0},
    {"type": "peaking", "freq": 2000.0, "q": 2.0, "gain_db": 5.0},
    {"type": "highshelf", "freq": 10000.0, "q": 0.707, "gain_db": 3.0},
]
SMALLEST_NORMAL = np.finfo(np.float64).tiny


def click_then_silence(frames, channels):
    x = np.zeros((frames, channels))
    x[0] = 0.5
    return x


@pytest.mark.skipif(not _fpenv.X86_64, reason="subnormals are flushed on x86-64 only")
def test_state_after_silence_holds_no_subnormals():
    x = click_then_silence(96000, 2)
    equalizer = eq.StreamingEqualizer(48000, 2, "f64le", BANDS)
    equalizer.process(x.astype("<f8").tobytes())
    state = np.abs(equalizer.get_state())
    # In plain float64 this state ends in subnormals (checked with the oracle below).
    assert np.all((state == 0) | (state >= SMALLEST_NORMAL))


def test_plain_float64_filtering_does_reach_subnormals():
    # The premise of the other tests: without flushing, the same signal
    # leaves subnormal samples in the output of scipy's sosfilt.
    y = oracle_filter(oracle_sos(BANDS, 48000), click_then_silence(96000, 1))
    tiny = np.abs(y[y != 0])
    assert np.any(tiny < SMALLEST_NORMAL)


@pytest.mark.parametrize("name", ["f64le", "f32le", "s16le"])
def test_silence_tail_matches_the_oracle_and_any_chunking(name):
    fmt = eq.SAMPLE_FORMATS[name]
    x = click_then_silence(60000, 2)
    if fmt.is_float:
        raw = x.astype(f"<f{fmt.bytes_per_sample}").tobytes()
    else:
        raw = np.rint(x * fmt.scale).astype("<i2").tobytes()
    whole = eq.StreamingEqualizer(48000, 2, name, BANDS).process(raw)
    chunked_eq = eq.StreamingEqualizer(48000, 2, name, BANDS)
    step = 4093  # odd: splits samples and frames
    chunked = b"".join(chunked_eq.process(raw[i:i + step]) for i in range(0, len(raw), step))
    assert chunked == whole
    y = oracle_filter(oracle_sos(BANDS, 48000), x)
    if name == "f64le":
        got = np.frombuffer(whole, "<f8").reshape(-1, 2)
        np.testing.assert_allclose(got, y, rtol=1e-9, atol=1e-12 * np.abs(y).max())
    elif name == "f32le":
        got = np.frombuffer(whole, "<f4").reshape(-1, 2)
        np.testing.assert_allclose(got, y.astype(np.float32), rtol=1e-6, atol=1e-30)
    else:
        got = np.frombuffer(whole, "<i2").reshape(-1, 2)
        expected = np.clip(np.rint(y * fmt.scale), fmt.int_min, fmt.int_max)
        assert np.max(np.abs(got - expected)) <= 1


def test_callers_floating_point_mode_is_left_as_it_was():
    subnormal = np.array([5e-324])
    equalizer = eq.StreamingEqualizer(48000, 2, "s16le", BANDS)
    equalizer.process(bytes(4000))
    eq.BlockEqualizer(48000, 2, BANDS).process(np.zeros((100, 2)))
    assert (subnormal * 1.0)[0] == 5e-324   # no denormals-are-zero left behind
    assert (subnormal / 2.0 + subnormal)[0] > 0   # no flush-to-zero either

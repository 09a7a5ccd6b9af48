"""The kernels' alternative paths agree bit for bit.

Small chunks run on one thread with channels fused in pairs; long chunks of
two or more channels run one channel per thread. Chunk invariance depends on
the two giving identical bytes, so they are compared here on every format
that takes both paths, and against float64 scipy as the oracle.
"""

import numba
import numpy as np
import pytest
from scipy.signal import sosfilt

import eq
from eq import streaming

BANDS = [
    {"type": "lowshelf", "freq": 120.0, "q": 0.707, "gain_db": 9.0},
    {"type": "peaking", "freq": 1000.0, "q": 1.2, "gain_db": -4.0},
    {"type": "highshelf", "freq": 9000.0, "q": 0.707, "gain_db": 6.0},
    {"type": "notch", "freq": 3000.0, "q": 4.0, "gain_db": 0.0},
    {"type": "allpass", "freq": 500.0, "q": 0.9, "gain_db": 0.0},
]
TYPED_FORMATS = ["u8", "s8", "s16le", "s32le", "f32le", "f64le"]


@pytest.fixture
def two_threads():
    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.fail("these tests need numba to have at least two threads")
    previous = numba.get_num_threads()
    numba.set_num_threads(2)
    yield
    numba.set_num_threads(previous)


def _raw(fmt, x):
    """Encode float samples (full scale 1.0, loud enough to saturate) in `fmt`."""
    if fmt.is_float:
        return x.astype(f"<f{fmt.bytes_per_sample}").tobytes()
    ints = np.clip(np.rint(x * fmt.scale), fmt.int_min, fmt.int_max).astype(np.int64)
    if fmt.name == "u8":
        return (ints + 128).astype(np.uint8).tobytes()
    return ints.astype(f"<i{fmt.bytes_per_sample}").tobytes()


@pytest.mark.parametrize("channels", [2, 3, 6])
@pytest.mark.parametrize("name", TYPED_FORMATS)
def test_threaded_long_chunk_equals_small_chunks(two_threads, rng, name, channels):
    fmt = eq.SAMPLE_FORMATS[name]
    n_frames = 2 * streaming.PARALLEL_MIN_FRAMES + 123
    x = rng.uniform(-1.0, 1.0, (n_frames, channels))
    raw = _raw(fmt, x)
    frame_bytes = fmt.bytes_per_sample * channels

    whole = eq.StreamingEqualizer(48000, channels, name, BANDS)
    out_whole = whole.process(raw)          # long chunk: the threaded path
    small = eq.StreamingEqualizer(48000, channels, name, BANDS)
    step = 97 * frame_bytes + 1             # short chunks, split mid-frame
    out_small = b"".join(small.process(raw[i:i + step]) for i in range(0, len(raw), step))

    assert out_whole == out_small
    assert whole.clipped_samples == small.clipped_samples
    if not fmt.is_float:
        assert whole.clipped_samples > 0    # the boost really saturates
    np.testing.assert_array_equal(whole.get_state(), small.get_state())


def test_threaded_block_equalizer_matches_scipy(two_threads, rng):
    n_frames = 3 * streaming.PARALLEL_MIN_FRAMES
    x = rng.standard_normal((n_frames, 2))
    beq = eq.BlockEqualizer(44100, 2, BANDS)
    y = np.concatenate([beq.process(x[:n_frames // 2]), beq.process(x[n_frames // 2:])])
    ref = sosfilt(eq.design_sos(BANDS, 44100), x, axis=0)
    np.testing.assert_allclose(y, ref, rtol=0, atol=1e-12 * np.abs(ref).max())
    small = eq.BlockEqualizer(44100, 2, BANDS)
    y_small = np.concatenate([small.process(x[i:i + 100]) for i in range(0, n_frames, 100)])
    np.testing.assert_array_equal(y, y_small)

"""The loops that map a planar stream through per-plane tables agree byte for byte.

``eq._video.map_planes`` (the C extension: a portable loop, and AVX-512 VBMI byte permutes where
the CPU has them) and ``eq._video_kernels.apply_plane_tables`` (numba) against a plain Python
oracle written here, over random tables, plane sizes, chunk positions and lengths; and
``StreamingVideoEqualizer`` on either side of the size where it changes loops. Bit-exactness with
the real ffmpeg is ``test_video_eq.py``'s (through whichever loop this machine runs).
"""
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from eq import _video, video
from eq._video_kernels import apply_plane_tables
from eq.video import StreamingVideoEqualizer


def oracle(data, tables, ends, pos):
    out = bytearray(len(data))
    frame = int(ends[-1])
    for k, v in enumerate(data):
        plane = next(p for p, e in enumerate(ends) if pos < e)
        out[k] = tables[plane][v]
        pos = (pos + 1) % frame
    return bytes(out)


def methods():
    return [0, 1] if _video.fast_method() == 1 else [0]


@st.composite
def streams(draw):
    planes = draw(st.integers(1, 4))
    sizes = draw(st.lists(st.integers(1, 300), min_size=planes, max_size=planes))
    ends = np.cumsum(sizes).astype(np.int64)
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    tables = rng.integers(0, 256, (planes, 256), dtype=np.uint8)
    n = draw(st.integers(0, 700))
    data = rng.integers(0, 256, n, dtype=np.uint8).tobytes()
    pos = draw(st.integers(0, int(ends[-1]) - 1))
    return data, tables, ends, pos


@settings(max_examples=300, deadline=None)
@given(streams())
def test_every_loop_equals_the_oracle(stream):
    data, tables, ends, pos = stream
    want = oracle(data, tables, ends, pos)
    for method in methods():
        assert _video.map_planes(data, tables.tobytes(), ends.tobytes(), pos, method) == want, method
    out = np.empty(len(data), dtype=np.uint8)
    kinds = np.full(len(ends), 2, dtype=np.int64)  # every plane by its table
    coefficients = np.zeros((len(ends), 2), dtype=np.int64)
    end_pos = apply_plane_tables(np.frombuffer(data, dtype=np.uint8), out, tables, kinds, coefficients, ends, pos)
    assert out.tobytes() == want and end_pos == (pos + len(data)) % int(ends[-1])


def test_long_chunks_every_value_and_every_tail_length():
    """Every byte value in every plane, chunks past the GIL-free size, and every length of the last
    partial 64-byte block of the vector loop."""
    rng = np.random.default_rng(7)
    tables = rng.integers(0, 256, (3, 256), dtype=np.uint8)
    ends = np.cumsum([70_001, 256, 3]).astype(np.int64)
    data = (bytes(range(256)) * 1200)[:200_000]
    want = oracle(data, tables, ends, 5)
    for method in methods():
        assert _video.map_planes(data, tables.tobytes(), ends.tobytes(), 5, method) == want
        for n in range(0, 130):
            assert _video.map_planes(data[:n], tables.tobytes(), ends.tobytes(), 5, method) == want[:n], (method, n)


def test_the_fast_method_is_what_the_cpu_says():
    """The VBMI loop runs exactly where the kernel reports the flags it needs (x86-64 Linux)."""
    cpuinfo = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    flags = set(next((line.split(":", 1)[1].split() for line in cpuinfo.splitlines() if line.startswith("flags")),
                     []))
    expected = int({"avx512f", "avx512bw", "avx512vbmi"} <= flags)
    assert _video.fast_method() == expected
    tables, ends = bytes(256), np.array([4], dtype=np.int64).tobytes()
    if expected:
        assert _video.map_planes(b"\x07" * 9, tables, ends, 0, 1) == bytes(9)
    else:
        with pytest.raises(ValueError, match="VBMI"):
            _video.map_planes(b"\x07", tables, ends, 0, 1)


@pytest.mark.parametrize("args, match", [
    ((b"x", bytes(255), np.array([4], dtype=np.int64).tobytes(), 0), "do not describe"),
    ((b"x", bytes(512), np.array([4, 4], dtype=np.int64).tobytes(), 0), "increasing"),
    ((b"x", bytes(256), np.array([4], dtype=np.int64).tobytes(), 4), "outside"),
    ((b"x", bytes(256), np.array([4], dtype=np.int64).tobytes(), -1), "outside"),
    ((b"x", bytes(256), np.array([4], dtype=np.int64).tobytes(), 0, 7), "method"),
])
def test_bad_arguments_are_refused_with_a_reason(args, match):
    with pytest.raises(ValueError, match=match):
        _video.map_planes(*args)


def test_the_equalizer_gives_the_same_bytes_on_both_sides_of_its_loop_switch():
    """Chunks just under and over the size where a machine without VBMI changes loops, on planes of
    the integer path and of the table, equal the same input fed in small chunks."""
    width, height = 333, 257  # a frame of 128 799 bytes: longer than C_LOOP_MAX_BYTES
    rng = np.random.default_rng(3)
    for params in ({"contrast": 1.3, "brightness": 0.04, "saturation": 1.7}, {"gamma": 1.6, "gamma_b": 0.7}):
        eq_ = StreamingVideoEqualizer(width, height, "yuv420p", **params)
        data = rng.integers(0, 256, 2 * eq_.frame_bytes + 12345, dtype=np.uint8).tobytes()
        tables = eq_.tables
        ends = np.cumsum(eq_.plane_bytes)
        want = oracle(data[:3000], tables, ends, 0)
        small = StreamingVideoEqualizer(width, height, "yuv420p", **params)
        pieces = b"".join(small.process(data[i:i + 997]) for i in range(0, len(data), 997))
        assert pieces[:3000] == want
        for step in (video.C_LOOP_MAX_BYTES, video.C_LOOP_MAX_BYTES + 1, len(data)):
            eq_.reset()
            got = b"".join(eq_.process(memoryview(data)[i:i + step]) for i in range(0, len(data), step))
            assert got == pieces, step


@pytest.mark.parametrize("params", [
    {"contrast": 1.3, "brightness": 0.05, "saturation": 1.4},   # integer path on every plane
    {"contrast": -2.7, "brightness": -0.4, "saturation": 0.0},
    {"contrast": 7.89, "brightness": 1.0, "saturation": 3.0},
    {"gamma": 1.7, "gamma_r": 2.0, "gamma_b": 0.5, "gamma_weight": 0.6},  # the table on every plane
    {"contrast": 1.0, "brightness": 0.005},                     # FFmpeg's quirk on the integer path
])
def test_numba_integer_path_equals_the_tables(params):
    """The numba loop computes FFmpeg's integer path instead of looking it up: it equals the C
    loops' table lookup for every byte value of every plane, from every offset of a small frame."""
    eq_ = StreamingVideoEqualizer(5, 3, "yuva420p", **params)
    data = bytes(range(256)) * 3
    for pos in range(eq_.frame_bytes):
        out = np.empty(len(data), dtype=np.uint8)
        apply_plane_tables(np.frombuffer(data, dtype=np.uint8), out, eq_._tables, eq_._kinds, eq_._coefficients,
                           eq_._plane_ends, pos)
        want = oracle(data, eq_._tables, eq_._plane_ends, pos)
        assert out.tobytes() == want, pos
        for method in methods():
            assert _video.map_planes(data, eq_._table_bytes, eq_._end_bytes, pos, method) == want

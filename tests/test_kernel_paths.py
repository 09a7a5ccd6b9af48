"""Short and long chunks take different routes to the kernels and agree bit for bit.

``StreamingEqualizer.process`` keeps its books in C (``eq._chunks``) when the
extension is built, else in Python; both are run here. In Python, chunks up
to ``eq.streaming.BUFFER_BYTES`` (with the pending bytes of a split frame)
are copied into the equalizer's own buffer and longer ones filtered where
they lie; of the buffered ones, those up to ``eq.streaming.SHORT_CHUNK_BYTES``
go through a second entry point that holds the GIL. In C, whole frames are
filtered where they lie and only split frames are joined in the buffer.
Chunk invariance depends on every route giving identical bytes, so they are
compared here on every format and several channel counts.
"""

import shutil
import sys
import sysconfig
import threading

import numpy as np
import pytest
from scipy.signal import sosfilt

import eq
from eq import _engine, _kernels, streaming
from eq_oracle import oracle_filter, oracle_sos

BANDS = [
    {"type": "lowshelf", "freq": 120.0, "q": 0.707, "gain_db": 9.0},
    {"type": "peaking", "freq": 1000.0, "q": 1.2, "gain_db": -4.0},
    {"type": "highshelf", "freq": 9000.0, "q": 0.707, "gain_db": 6.0},
    {"type": "notch", "freq": 3000.0, "q": 4.0, "gain_db": 0.0},
    {"type": "allpass", "freq": 500.0, "q": 0.9, "gain_db": 0.0},
]


def _raw(fmt, x):
    """Encode float samples (full scale 1.0) in `fmt`."""
    order = ">" if fmt.big_endian else "<"
    if fmt.is_float:
        return x.astype(f"{order}f{fmt.bytes_per_sample}").tobytes()
    ints = np.clip(np.rint(x * fmt.scale), fmt.int_min, fmt.int_max).astype(np.int64)
    if fmt.name == "u8":
        return (ints + 128).astype(np.uint8).tobytes()
    if fmt.bytes_per_sample == 3:
        le = (ints & 0xFFFFFF).astype("<u4").view(np.uint8).reshape(-1, 4)[:, :3]
        return np.ascontiguousarray(le[:, ::-1] if fmt.big_endian else le).tobytes()
    return ints.astype(f"{order}i{fmt.bytes_per_sample}").tobytes()


def _need_the_c_bookkeeping():
    # Installed without a C compiler, only the Python bookkeeping exists; the
    # next test fails if a compiler is here and the extension is not built.
    if streaming._chunks is None:
        pytest.skip("eq._chunks is not built here: only the Python bookkeeping can run")


@pytest.fixture(params=["c", "python"])
def bookkeeping(request, monkeypatch):
    """Run the test with the C bookkeeping of ``process`` (built), then the Python one."""
    if request.param == "python":
        monkeypatch.setattr(eq, "StreamingEqualizer", streaming._PythonStreamingEqualizer)
    else:
        _need_the_c_bookkeeping()
    return request.param


def test_the_c_bookkeeping_is_built_and_in_use_where_there_is_a_compiler():
    compiler = (sysconfig.get_config_var("CC") or "cc").split()[0]
    if streaming._chunks is None:
        assert shutil.which(compiler) is None, (
            f"a C compiler ({compiler}) is here but eq._chunks was not built: "
            "reinstall with pip install -e . and read the build output")
        return
    stream = eq.StreamingEqualizer(48000, 2, "s16le", BANDS)
    assert isinstance(stream, streaming._chunks.Chunks)
    assert type(stream).process is streaming._chunks.Chunks.process  # the C method, no Python frame


@pytest.mark.parametrize("channels", [2, 3, 6])
@pytest.mark.parametrize("name", list(eq.SAMPLE_FORMATS))
def test_long_chunk_equals_short_chunks(rng, bookkeeping, name, channels):
    fmt = eq.SAMPLE_FORMATS[name]
    n_frames = streaming.BUFFER_BYTES + 1000  # longer than the buffer whatever the frame size
    x = rng.uniform(-1.0, 1.0, (n_frames, channels))
    raw = _raw(fmt, x)
    frame_bytes = fmt.bytes_per_sample * channels

    whole = eq.StreamingEqualizer(48000, channels, name, BANDS)
    out_whole = whole.process(raw[:1]) + whole.process(raw[1:])  # pending byte + long chunk
    small = eq.StreamingEqualizer(48000, channels, name, BANDS)
    step = 97 * frame_bytes + 1             # short chunks, split mid-frame
    out_small = b"".join(small.process(raw[i:i + step]) for i in range(0, len(raw), step))

    assert out_whole == out_small
    assert whole.clipped_samples == small.clipped_samples
    if not fmt.is_float:
        assert whole.clipped_samples > 0    # the boost really saturates
    np.testing.assert_array_equal(whole.get_state(), small.get_state())


@pytest.mark.parametrize("channels", [1, 2, 6])
@pytest.mark.parametrize("name", list(eq.SAMPLE_FORMATS))
def test_the_gil_holding_entry_gives_the_bytes_of_the_releasing_one(rng, monkeypatch, name,
                                                                    channels):
    fmt = eq.SAMPLE_FORMATS[name]
    frame_bytes = fmt.bytes_per_sample * channels
    raw = _raw(fmt, rng.uniform(-1.0, 1.0, (3000, channels)))
    short_step = streaming.SHORT_CHUNK_BYTES // frame_bytes * frame_bytes  # at the limit
    long_step = short_step + frame_bytes                                    # just past it

    outputs, states = [], []
    for step in (short_step, long_step):
        stream = streaming._PythonStreamingEqualizer(48000, channels, name, BANDS)  # both entries
        if step == short_step:
            # Only the GIL-holding entry may run: a call of the other one fails the test.
            stream._kernel = None
        outputs.append(b"".join(stream.process(raw[i:i + step])
                                for i in range(0, len(raw), step)))
        states.append((stream.get_state(), stream.clipped_samples))
    assert outputs[0] == outputs[1] and len(outputs[0]) == len(raw)
    np.testing.assert_array_equal(states[0][0], states[1][0])
    assert states[0][1] == states[1][1]


def test_only_the_short_chunk_entry_holds_the_gil():
    # Streams in other threads run while a long chunk is filtered.
    assert _kernels.process_bytes.targetoptions["nogil"]
    assert not _kernels.process_bytes_holding_gil.targetoptions.get("nogil", False)


def test_block_equalizer_long_and_short_blocks_match_scipy(rng):
    n_frames = 200000
    x = rng.standard_normal((n_frames, 2))
    beq = eq.BlockEqualizer(44100, 2, BANDS)
    y = np.concatenate([beq.process(x[:n_frames // 2]), beq.process(x[n_frames // 2:])])
    ref = sosfilt(eq.design_sos(BANDS, 44100), x, axis=0)  # independent oracle
    np.testing.assert_allclose(y, ref, rtol=0, atol=1e-12 * np.abs(ref).max())
    small = eq.BlockEqualizer(44100, 2, BANDS)
    y_small = np.concatenate([small.process(x[i:i + 100]) for i in range(0, n_frames, 100)])
    np.testing.assert_array_equal(y, y_small)


@pytest.mark.parametrize("channels", [1, 2, 3, 5, 6])
@pytest.mark.parametrize("name", ["s16le", "s24le", "f32le", "f64le"])
def test_a_channel_gets_the_same_samples_alone_or_in_a_simd_group(rng, name, channels):
    # Channels run four at a time (from 4 channels on), then in pairs, in
    # SIMD vectors, and an odd last channel on scalars; all spell out the
    # same fused multiply-adds, so the same signal on every channel comes
    # out the same on every channel, and as in mono.
    fmt = eq.SAMPLE_FORMATS[name]
    x = rng.uniform(-0.9, 0.9, 5000)
    mono = eq.StreamingEqualizer(44100, 1, name, BANDS).process(_raw(fmt, x[:, None]))
    multi = eq.StreamingEqualizer(44100, channels, name, BANDS)
    out = multi.process(_raw(fmt, np.repeat(x[:, None], channels, axis=1)))
    width = fmt.bytes_per_sample
    frames = np.frombuffer(out, np.uint8).reshape(len(x), channels, width)
    for c in range(channels):
        assert frames[:, c, :].tobytes() == mono


def test_streaming_calls_the_compiled_byte_kernel_without_the_dispatcher(monkeypatch):
    # The per-call shortcut past numba's type dispatch must be in use (it
    # falls back to the dispatcher silently if numba's internals change).
    make = streaming._PythonStreamingEqualizer
    chunks = make(48000, 2, "s16le", BANDS)
    assert isinstance(chunks, streaming._PyChunks)
    assert chunks._kernel is not _kernels.process_bytes
    assert chunks._kernel_short is not _kernels.process_bytes_holding_gil
    assert chunks._kernel_short is not chunks._kernel
    assert chunks._kernel is make(44100, 3, "s24be", BANDS)._kernel
    assert chunks._kernel is not make(44100, 6, "s24be", BANDS)._kernel


@pytest.mark.parametrize("n_frames", [100, streaming.BUFFER_BYTES])  # short and long route
def test_the_byte_kernel_leaves_its_input_alone(rng, bookkeeping, n_frames):
    # The kernel gets raw addresses (eq._memory), so nothing but its own
    # logic keeps it from writing where it reads: the caller's bytes and
    # bytearray must come back unchanged.
    raw = _raw(eq.SAMPLE_FORMATS["s16le"], rng.uniform(-1.0, 1.0, (n_frames, 2)))
    data = bytearray(raw)
    stream = eq.StreamingEqualizer(48000, 2, "s16le", BANDS)
    out = stream.process(data) + stream.process(memoryview(raw)[:3])
    assert data == raw and len(out) == 4 * n_frames and out != raw


def test_arrays_in_place_match_the_byte_path_and_need_a_writeable_destination(rng):
    # eq.files filters its read buffer in place through Engine.process_frames_into.
    src = np.rint(rng.uniform(-0.9, 0.9, (3000, 2)) * 32767).astype("<i2")
    expected = eq.StreamingEqualizer(48000, 2, "s16le", BANDS).process(src.tobytes())
    dst = np.zeros_like(src)
    _engine.Engine(48000, 2, BANDS, 0.0, "s16le").process_frames_into(src, dst)
    assert dst.tobytes() == expected
    in_place = src.copy()
    _engine.Engine(48000, 2, BANDS, 0.0, "s16le").process_frames_into(in_place, in_place)
    assert in_place.tobytes() == expected
    read_only = np.zeros_like(src)
    read_only.flags.writeable = False
    with pytest.raises(eq.InvalidParameterError, match="writeable"):
        _engine.Engine(48000, 2, BANDS, 0.0, "s16le").process_frames_into(src, read_only)


@pytest.mark.parametrize("name,bits", [("s32le", 24), ("s16le", 8), ("s32le", 20)])
def test_left_aligned_samples_round_and_saturate_at_their_own_bits(rng, name, bits):
    # libsndfile holds 24-bit audio in int32 and 8-bit audio in int16 with the
    # low bits zero; eq.files runs them through the kernels as they are.
    fmt = eq.SAMPLE_FORMATS[name]
    shift = fmt.bits - bits
    scale = 2.0 ** (bits - 1)
    x = np.clip(np.rint(rng.uniform(-1.0, 1.0, (4000, 2)) * scale), -scale, scale - 1)
    held = (x.astype(np.int64) << shift).astype(f"<i{fmt.bytes_per_sample}")
    stream = _engine.Engine(48000, 2, BANDS, 2.0, name, held_bits=bits)
    out = np.empty_like(held)
    stream.process_frames_into(held, out)

    r = np.rint(oracle_filter(oracle_sos(BANDS, 48000), x / scale * 10 ** (2.0 / 20)) * scale)
    expected = np.clip(r, -scale, scale - 1).astype(np.int64) << shift
    got = out.astype(np.int64)
    assert np.all(got % (1 << shift) == 0)            # the low bits stay zero
    assert np.max(np.abs(got - expected)) <= 1 << shift  # at most one step of `bits`
    assert np.mean(got != expected) < 1e-3
    assert stream.clipped_samples == np.count_nonzero((r < -scale) | (r > scale - 1)) > 0


@pytest.mark.parametrize("name,bits", [("s24le", 16), ("f32le", 16), ("u8", 4), ("s16le", 17),
                                       ("s16be", 8), ("s32le", 1)])
def test_left_aligned_samples_need_a_native_signed_integer_format(name, bits):
    with pytest.raises(eq.InvalidParameterError, match=name):
        _engine.Engine(48000, 2, BANDS, 0.0, name, held_bits=bits)


def _python_bookkeeping(*args):
    """A StreamingEqualizer that keeps the Python bookkeeping (as without eq._chunks)."""
    stream = streaming._PythonStreamingEqualizer(*args)
    assert isinstance(stream, streaming._PyChunks)
    return stream


@pytest.mark.parametrize("channels", [1, 2, 6])
@pytest.mark.parametrize("name", list(eq.SAMPLE_FORMATS))
def test_c_and_python_bookkeeping_agree_call_by_call(rng, monkeypatch, name, channels):
    # Every route of either: empty, mid-sample and mid-frame chunks, chunks
    # at and past SHORT_CHUNK_BYTES and BUFFER_BYTES with bytes pending, and
    # every accepted input type (a non-contiguous memoryview is its bytes in
    # order, a typed one its raw bytes).
    _need_the_c_bookkeeping()
    fmt = eq.SAMPLE_FORMATS[name]
    fb = fmt.bytes_per_sample * channels
    short, buffer = streaming.SHORT_CHUNK_BYTES, streaming.BUFFER_BYTES
    sizes = [0, 1, 2, 3, fb - 1, fb, fb + 1, 7 * fb + 3, short - 1, short, short + fb + 1,
             buffer - 1, buffer + 5, 2 * buffer + fb + 1, 5, 0, fb]
    sizes = [sizes[i] for i in rng.permutation(len(sizes))] + [3 * fb + 2]
    raw = _raw(fmt, rng.uniform(-1.0, 1.0, (sum(sizes) // fb + 1, channels)))
    kinds = ["bytes", "bytearray", "memoryview", "typed", "strided"]

    c_stream = eq.StreamingEqualizer(48000, channels, name, BANDS, 3.0)
    py_stream = _python_bookkeeping(48000, channels, name, BANDS, 3.0)
    assert isinstance(c_stream, streaming._chunks.Chunks)
    start = 0
    outputs = []
    for i, size in enumerate(sizes):
        piece = raw[start:start + size]
        start += size
        kind = kinds[i % len(kinds)]
        if kind == "bytearray":
            arg = bytearray(piece)
        elif kind == "memoryview":
            arg = memoryview(piece)
        elif kind == "typed" and size % 2 == 0:
            arg = memoryview(piece).cast("h")
        elif kind == "strided":
            doubled = np.repeat(np.frombuffer(piece, np.uint8), 2).tobytes()
            arg = memoryview(doubled)[::2]                   # every other byte: `piece`
            assert arg.tobytes() == piece and not arg.contiguous
        else:
            arg = piece
        got, expected = c_stream.process(arg), py_stream.process(arg)
        assert type(got) is bytes
        assert got == expected, f"call {i}: {size} bytes as {kind}"
        assert c_stream.pending_bytes == py_stream.pending_bytes == start % fb
        outputs.append(got)
    assert len(b"".join(outputs)) == start - start % fb
    np.testing.assert_array_equal(c_stream.get_state(), py_stream.get_state())
    assert c_stream.clipped_samples == py_stream.clipped_samples
    # The whole stream in one call gives the same bytes (chunk invariance).
    whole = eq.StreamingEqualizer(48000, channels, name, BANDS, 3.0).process(raw[:start])
    assert b"".join(outputs) == whole


def test_a_wrong_type_is_refused_and_nothing_pending_is_lost(rng, bookkeeping):
    raw = _raw(eq.SAMPLE_FORMATS["s16le"], rng.uniform(-1.0, 1.0, (500, 2)))
    stream = eq.StreamingEqualizer(48000, 2, "s16le", BANDS)
    first = stream.process(raw[:7])                     # one frame out, 3 bytes pending
    for bad in ("text", np.zeros(4, np.int16), 12, None, [1, 2]):
        with pytest.raises(eq.InvalidTypeError, match=f"got {type(bad).__name__}$"):
            stream.process(bad)
        assert stream.pending_bytes == 3
    rest = stream.process(raw[7:])
    assert first + rest == eq.StreamingEqualizer(48000, 2, "s16le", BANDS).process(raw)


@pytest.mark.parametrize("n_frames,releases", [(100, False), (4_000_000, True)])
def test_long_chunks_release_the_gil_and_short_ones_hold_it(bookkeeping, n_frames, releases):
    # With a switch interval longer than the test, the main thread can run
    # while the worker is inside process() only if process() releases the GIL.
    stream = eq.StreamingEqualizer(48000, 2, "s16le", BANDS)
    data = bytes(4 * n_frames)
    stream.process(data[:4])
    done = []
    started = threading.Event()

    def work():
        started.set()
        stream.process(data)
        done.append(True)

    interval = sys.getswitchinterval()
    sys.setswitchinterval(100.0)
    try:
        worker = threading.Thread(target=work)
        worker.start()
        started.wait()
        ran_during_the_call = not done
        worker.join()
    finally:
        sys.setswitchinterval(interval)
    assert done and ran_during_the_call == releases


def test_the_python_long_route_loses_nothing_when_its_output_cannot_be_made(rng, monkeypatch):
    # The kernel has run when the output bytes are made; if that fails, the
    # filter must be as before the call, so that passing the chunk again works.
    raw = _raw(eq.SAMPLE_FORMATS["s16le"], rng.uniform(-1.0, 1.0, (40000, 2)))
    stream = _python_bookkeeping(48000, 2, "s16le", BANDS, 6.0)
    first = stream.process(raw[:5])                     # one frame out, 1 byte pending
    clipped = stream.clipped_samples

    class NoRoom(np.ndarray):
        def tobytes(self, *args, **kwargs):
            raise MemoryError("no room for the output")

    real_empty = np.empty

    def empty(*args, **kwargs):
        return real_empty(*args, **kwargs).view(NoRoom)

    with monkeypatch.context() as patch:
        patch.setattr(np, "empty", empty)
        with pytest.raises(MemoryError):
            stream.process(raw[5:])                     # longer than the buffer
    assert stream.pending_bytes == 1 and stream.clipped_samples == clipped
    whole = eq.StreamingEqualizer(48000, 2, "s16le", BANDS, 6.0)
    assert first + stream.process(raw[5:]) == whole.process(raw)
    assert stream.clipped_samples == whole.clipped_samples > 0


def test_the_c_bookkeeping_refuses_bad_set_ups():
    # eq._chunks.Chunks is private, but a mistake in using it must be an
    # error, not a crash or a write past a buffer.
    _need_the_c_bookkeeping()
    chunks = streaming._chunks
    buffer, engine = np.zeros(64, np.uint8), np.zeros(32)
    kernel = _engine.Engine(48000, 2, BANDS, 0.0, "s16le").c_kernel()

    def make(*args):
        return chunks.Chunks(*args, eq.InvalidTypeError, kernel)

    bare = chunks.Chunks.__new__(chunks.Chunks)          # never initialised
    with pytest.raises(RuntimeError, match="not initialised"):
        bare.process(b"abcd")
    with pytest.raises(ValueError, match="2 frames"):
        make(buffer, engine, 2 ** 62, kernel.address, 1024)   # 2 * frame_bytes overflows
    with pytest.raises(ValueError, match="2 frames"):
        make(buffer, engine, 33, kernel.address, 1024)
    with pytest.raises(ValueError, match="aligned"):
        make(buffer, np.zeros(33, np.uint8)[1:], 4, kernel.address, 1024)
    with pytest.raises(ValueError, match="address"):
        make(buffer, engine, 4, 0, 1024)
    with pytest.raises(BufferError):
        make(bytes(64), engine, 4, kernel.address, 1024)      # read-only buffer
    failed = chunks.Chunks.__new__(chunks.Chunks)
    with pytest.raises(ValueError):
        failed.__init__(buffer, engine, 33, kernel.address, 1024, eq.InvalidTypeError, kernel)
    with pytest.raises(RuntimeError, match="not initialised"):
        failed.process(b"abcd")                          # a failed set-up leaves nothing half done
    ready = make(buffer, engine, 4, kernel.address, 1024)
    with pytest.raises(RuntimeError, match="already"):
        ready.__init__(buffer, engine, 4, kernel.address, 1024, eq.InvalidTypeError, kernel)
    with pytest.raises(ValueError, match="between 0 and 3"):
        ready._n_pending = 4
    ready._n_pending = np.int64(2)
    assert ready._n_pending == 2

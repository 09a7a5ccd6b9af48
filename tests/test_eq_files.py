"""eq.equalize_file on audio files made here with soundfile, against the sosfilt oracle."""

import threading

import numpy as np
import pytest
import soundfile as sf

import eq
from eq_oracle import oracle_filter, oracle_sos

BANDS = [
    {"type": "highpass", "freq": 30.0, "q": 0.707},
    {"type": "lowshelf", "freq": 150.0, "q": 0.707, "gain_db": 6.0},
    {"type": "peaking", "freq": 1200.0, "q": 1.2, "gain_db": 9.0},
    {"type": "notch", "freq": 2500.0, "q": 4.0},
    {"type": "highshelf", "freq": 3000.0, "q": 0.8, "gain_db": -3.0},
]

# (container, subtype, bits or None for float, file extension)
KINDS = [
    ("WAV", "PCM_16", 16, "wav"),
    ("WAV", "PCM_24", 24, "wav"),
    ("WAV", "PCM_U8", 8, "wav"),
    ("WAV", "PCM_32", 32, "wav"),
    ("WAV", "FLOAT", None, "wav"),
    ("FLAC", "PCM_16", 16, "flac"),
    ("FLAC", "PCM_24", 24, "flac"),
]
RATES = [8000, 44100, 48000, 96000]


def make_signal(rng, fs, channels, frames):
    """Noise and a tone, with a loud stretch that clips after the boosts."""
    t = np.arange(frames) / fs
    x = 0.2 * rng.uniform(-1, 1, (frames, channels))
    x += 0.3 * np.sin(2 * np.pi * 1200 * t)[:, None] * np.linspace(1, -1, channels)
    x[frames // 2: frames // 2 + frames // 8] *= 3.0
    return np.clip(x, -1, 1)


def write_input(path, rng, container, subtype, bits, fs, channels, frames=6000):
    """Write the file; return its exact content as float64 (full scale 1.0)."""
    x = make_signal(rng, fs, channels, frames)
    if bits is None:
        data = x.astype(np.float32)
        sf.write(path, data, fs, subtype=subtype, format=container)
        return data.astype(np.float64)
    scale = 2 ** (bits - 1)
    v = np.clip(np.rint(x * scale), -scale, scale - 1).astype(np.int64)
    sf.write(path, (v << (32 - bits)).astype(np.int32), fs, subtype=subtype, format=container)
    return v / scale


def read_output(path, bits):
    """Read back: integer samples (exact) or float32."""
    if bits is None:
        data, fs = sf.read(path, dtype="float32", always_2d=True)
        return data, fs
    data, fs = sf.read(path, dtype="int32", always_2d=True)
    return data.astype(np.int64) >> (32 - bits), fs


def oracle_file(x, bits, fs, bands, preamp_db=0.0):
    """Expected samples and clip count."""
    y = oracle_filter(oracle_sos(bands, fs), x * 10 ** (preamp_db / 20))
    if bits is None:
        return y, int(np.count_nonzero(np.abs(y) > 1.0))
    scale = 2 ** (bits - 1)
    r = np.rint(y * scale)
    n_clipped = int(np.count_nonzero((r < -scale) | (r > scale - 1)))
    return np.clip(r, -scale, scale - 1).astype(np.int64), n_clipped


def assert_samples_match(got, expected, bits):
    assert got.shape == expected.shape
    if bits is None:
        e32 = expected.astype(np.float32)
        assert np.all(np.abs(got.astype(np.float64) - e32)
                      <= np.spacing(np.abs(e32)).astype(np.float64) + 1e-12)
        return
    diff = got - expected
    assert np.max(np.abs(diff), initial=0) <= 1
    assert np.count_nonzero(diff) <= 0.001 * diff.size


CASES = [(kind, channels, RATES[(i + j) % len(RATES)])
         for i, kind in enumerate(KINDS) for j, channels in enumerate([1, 2, 6])]


@pytest.mark.parametrize("kind,channels,fs", CASES,
                         ids=[f"{k[0]}-{k[1]}-{c}ch-{fs}" for k, c, fs in CASES])
def test_equalize_file_matches_the_oracle(tmp_path, rng, kind, channels, fs):
    container, subtype, bits, ext = kind
    src = tmp_path / f"in.{ext}"
    x = write_input(src, rng, container, subtype, bits, fs, channels)
    expected, n_clipped = oracle_file(x, bits, fs, BANDS, preamp_db=2.0)
    assert n_clipped > 0, "the test signal must clip"
    outputs = []
    for block_frames in (65536, 1000, 7):
        dst = tmp_path / f"out{block_frames}.{ext}"
        report = eq.equalize_file(src, dst, BANDS, preamp_db=2.0, block_frames=block_frames)
        info = sf.info(dst)
        assert (info.samplerate, info.channels, info.subtype, info.format) == \
            (fs, channels, subtype, container)
        assert info.frames == len(x)
        assert (report.sample_rate, report.channels, report.frames) == (fs, channels, len(x))
        assert report.subtype == subtype
        assert report.duration_s == pytest.approx(len(x) / fs)
        got, got_fs = read_output(dst, bits)
        assert got_fs == fs
        assert_samples_match(got, expected, bits)
        assert abs(report.clipped_samples - n_clipped) <= np.count_nonzero(got - expected)
        outputs.append((got, report.clipped_samples))
    # The block size does not change a single sample.
    for got, clipped in outputs[1:]:
        np.testing.assert_array_equal(got, outputs[0][0])
        assert clipped == outputs[0][1]


def test_integer_output_saturates_and_never_wraps(tmp_path, rng):
    fs = 44100
    src = tmp_path / "loud.wav"
    t = np.arange(4000) / fs
    v = np.rint(32767 * 0.99 * np.sin(2 * np.pi * 1000 * t)).astype(np.int16)
    sf.write(src, v, fs, subtype="PCM_16")
    bands = [{"type": "peaking", "freq": 1000, "q": 1.0, "gain_db": 12.0}]
    report = eq.equalize_file(src, tmp_path / "out.wav", bands)
    got, _ = sf.read(tmp_path / "out.wav", dtype="int16")
    y = oracle_filter(oracle_sos(bands, fs), v[:, None] / 32768.0)[:, 0] * 32768
    assert got.max() == 32767 and got.min() == -32768
    np.testing.assert_array_equal(got[y > 32767.5], 32767)
    np.testing.assert_array_equal(got[y < -32768.5], -32768)
    big = np.abs(y) >= 1
    np.testing.assert_array_equal(np.sign(got[big]), np.sign(y[big]))
    assert report.clipped_samples == np.count_nonzero((y > 32767.5) | (y < -32768.5))
    assert report.peak_dbfs == pytest.approx(20 * np.log10(32767 / 32768), abs=1e-3)


def test_output_container_follows_the_extension(tmp_path, rng):
    fs = 48000
    src = tmp_path / "in.wav"
    x = write_input(src, rng, "WAV", "PCM_16", 16, fs, 2, frames=3000)
    report = eq.equalize_file(src, tmp_path / "out.flac", BANDS)
    assert (report.format, report.subtype) == ("FLAC", "PCM_16")
    got, _ = read_output(tmp_path / "out.flac", 16)
    assert_samples_match(got, oracle_file(x, 16, fs, BANDS)[0], 16)


@pytest.mark.parametrize("ext", ["wav", "flac"])
def test_closing_an_output_does_not_wait_for_the_disk(tmp_path, rng, monkeypatch, ext):
    # soundfile's close() calls flush(), an fsync for a file open for writing;
    # outputs are left to the operating system to write back, complete.
    modes = []
    real_flush = sf.SoundFile.flush

    def spy(self):
        modes.append(self.mode)
        return real_flush(self)

    monkeypatch.setattr(sf.SoundFile, "flush", spy)
    fs = 44100
    src = tmp_path / f"in.{ext}"
    x = write_input(src, rng, "WAV" if ext == "wav" else "FLAC", "PCM_16", 16, fs, 2, frames=5000)
    assert modes == ["w"]                               # writing the input synced it
    eq.equalize_file(src, tmp_path / f"out.{ext}", BANDS, block_frames=1024)
    assert modes == ["w", "r"]                          # closing the output did not
    got, _ = read_output(tmp_path / f"out.{ext}", 16)
    assert_samples_match(got, oracle_file(x, 16, fs, BANDS)[0], 16)


def test_progress_bar_does_not_change_the_output(tmp_path, rng, capsys):
    src = tmp_path / "in.wav"
    write_input(src, rng, "WAV", "PCM_24", 24, 44100, 2, frames=5000)
    eq.equalize_file(src, tmp_path / "a.wav", BANDS, block_frames=512, progress=True)
    eq.equalize_file(src, tmp_path / "b.wav", BANDS, block_frames=512, progress=False)
    assert (tmp_path / "a.wav").read_bytes() == (tmp_path / "b.wav").read_bytes()


def test_same_path_output_is_refused(tmp_path, rng):
    src = tmp_path / "in.wav"
    write_input(src, rng, "WAV", "PCM_16", 16, 8000, 1, frames=800)
    before = src.read_bytes()
    (tmp_path / "sub").mkdir()
    for out in (src, str(src), tmp_path / "sub" / ".." / "in.wav"):
        with pytest.raises(eq.EqError) as info:
            eq.equalize_file(src, out, BANDS)
        assert isinstance(info.value, ValueError)
        assert "in.wav" in str(info.value)
    assert src.read_bytes() == before


@pytest.mark.parametrize("content", [None, b"", b"RIFF\x00\x00\x00\x00WAVEjunk" * 3,
                                     b"not audio at all"])
def test_unreadable_input_names_the_path(tmp_path, content):
    src = tmp_path / "bad input.wav"
    if content is not None:
        src.write_bytes(content)
    with pytest.raises(eq.EqError) as info:
        eq.equalize_file(src, tmp_path / "out.wav", BANDS)
    assert str(src) in str(info.value)
    assert not (tmp_path / "out.wav").exists()


def test_unwritable_output_names_the_path(tmp_path, rng):
    src = tmp_path / "in.wav"
    write_input(src, rng, "WAV", "PCM_16", 16, 8000, 1, frames=800)
    out = tmp_path / "no such dir" / "out.wav"
    with pytest.raises(eq.EqError) as info:
        eq.equalize_file(src, out, BANDS)
    assert str(out) in str(info.value)


def test_band_above_the_file_nyquist_is_rejected(tmp_path, rng):
    src = tmp_path / "in.wav"
    write_input(src, rng, "WAV", "PCM_16", 16, 8000, 1, frames=800)
    with pytest.raises(eq.EqError) as info:
        eq.equalize_file(src, tmp_path / "out.wav", [{"type": "peaking", "freq": 5000.0}])
    assert "5000" in str(info.value)


@pytest.mark.parametrize("kind,channels", [(KINDS[0], 2), (KINDS[4], 6), (KINDS[6], 3)],
                         ids=["WAV-PCM_16-2ch", "WAV-FLOAT-6ch", "FLAC-PCM_24-3ch"])
def test_long_file_in_long_and_short_blocks(tmp_path, rng, kind, channels):
    container, subtype, bits, ext = kind
    fs = 48000
    src = tmp_path / f"in.{ext}"
    x = write_input(src, rng, container, subtype, bits, fs, channels, frames=50000)
    expected, n_clipped = oracle_file(x, bits, fs, BANDS)
    results = []
    for block_frames in (65536, 20000, 1000):
        dst = tmp_path / f"out{block_frames}.{ext}"
        report = eq.equalize_file(src, dst, BANDS, block_frames=block_frames)
        got, _ = read_output(dst, bits)
        assert_samples_match(got, expected, bits)
        results.append((got, report.clipped_samples))
    for got, clipped in results[1:]:
        np.testing.assert_array_equal(got, results[0][0])
        assert clipped == results[0][1]


# (input kind, output subtype or None for the input's, channels): the fused
# path, then the float path in place (FLOAT -> DOUBLE) and into new arrays.
IO_THREAD_CASES = [(KINDS[0], None, 2), (KINDS[6], None, 3), (KINDS[4], "DOUBLE", 6),
                   (KINDS[1], "PCM_16", 2)]


@pytest.mark.parametrize("kind,out_subtype,channels", IO_THREAD_CASES,
                         ids=["WAV-PCM_16-2ch", "FLAC-PCM_24-3ch", "WAV-FLOAT-to-DOUBLE-6ch",
                              "WAV-PCM_24-to-PCM_16-2ch"])
def test_reading_and_writing_in_a_second_thread_gives_the_same_file(tmp_path, rng, monkeypatch,
                                                                    kind, out_subtype, channels):
    # With io_thread, block i is equalized while block i - 1 is written and
    # block i + 1 read; without, blocks go one at a time.
    container, subtype, bits, ext = kind
    out_bits = {None: bits, "DOUBLE": None, "PCM_16": 16}[out_subtype]
    fs = 44100
    src = tmp_path / f"in.{ext}"
    x = write_input(src, rng, container, subtype, bits, fs, channels, frames=30011)
    expected, n_clipped = oracle_file(x, out_bits, fs, BANDS)
    block_frames = 997
    calls = {False: [], True: []}
    write_then_read = eq.files._write_then_read
    reports = {}
    for io_thread in (False, True):

        def spy(*args, io_thread=io_thread):
            calls[io_thread].append(threading.current_thread())
            return write_then_read(*args)

        monkeypatch.setattr(eq.files, "_write_then_read", spy)
        dst = tmp_path / f"out{io_thread}.{ext}"
        reports[io_thread] = eq.equalize_file(src, dst, BANDS, block_frames=block_frames,
                                              subtype=out_subtype, io_thread=io_thread)
        got, _ = read_output(dst, out_bits)
        assert_samples_match(got, expected, out_bits)
    # One read-ahead per block: with io_thread all of them off the calling
    # thread, without it all on it.
    n_blocks = -(-len(x) // block_frames)
    assert len(calls[True]) == len(calls[False]) == n_blocks
    assert all(thread is not threading.current_thread() for thread in calls[True])
    assert all(thread is threading.current_thread() for thread in calls[False])
    assert (tmp_path / f"outFalse.{ext}").read_bytes() == (tmp_path / f"outTrue.{ext}").read_bytes()
    assert reports[False].frames == reports[True].frames == len(x)
    if out_bits:
        assert reports[False].clipped_samples == reports[True].clipped_samples == n_clipped > 0
    else:  # float output is not clipped: the samples beyond full scale are counted as such
        assert reports[False].clipped_samples == reports[True].clipped_samples == 0
        assert reports[False].over_full_scale_samples == reports[True].over_full_scale_samples
        assert reports[True].over_full_scale_samples == n_clipped > 0
    assert reports[False].peak_dbfs == reports[True].peak_dbfs


@pytest.mark.parametrize("frames", [0, 1, 996, 997, 998, 1994, 1995])
@pytest.mark.parametrize("io_thread", [False, True])
def test_files_of_any_length_around_the_block_size(tmp_path, rng, frames, io_thread):
    container, subtype, bits, ext = KINDS[0]
    src = tmp_path / "in.wav"
    x = write_input(src, rng, container, subtype, bits, 48000, 2, frames=frames)
    expected, _ = oracle_file(x, bits, 48000, BANDS)
    report = eq.equalize_file(src, tmp_path / "out.wav", BANDS, block_frames=997,
                              io_thread=io_thread)
    got, _ = read_output(tmp_path / "out.wav", bits)
    assert report.frames == frames
    assert_samples_match(got, expected, bits)


@pytest.mark.parametrize("io_thread", [False, True])
def test_a_failed_write_names_the_file_and_removes_the_output(tmp_path, rng, monkeypatch,
                                                               io_thread):
    # soundfile checks the count libsndfile wrote with an assert (a full disk).
    container, subtype, bits, ext = KINDS[0]
    src = tmp_path / "in.wav"
    write_input(src, rng, container, subtype, bits, 48000, 2, frames=5000)
    written = []
    real_write = sf.SoundFile.write

    def write(self, data):
        written.append(len(data))
        if len(written) == 3:                           # the third write of a run fails
            assert False, "short write"
        return real_write(self, data)

    monkeypatch.setattr(sf.SoundFile, "write", write)
    dst = tmp_path / "out.wav"
    with pytest.raises(eq.AudioFileError, match=r"after writing 2000 frame\(s\).*in\.wav"):
        eq.equalize_file(src, dst, BANDS, block_frames=1000, io_thread=io_thread)
    assert not dst.exists()
    # A batch reports it for that file and goes on with the others.
    written.clear()
    other = tmp_path / "other.wav"
    reports = eq.equalize_files([(src, dst), (src, other)], BANDS, jobs=1, block_frames=1000)
    assert isinstance(reports[0].error, eq.AudioFileError) and not reports[0].ok and not dst.exists()
    assert reports[0].report is None
    assert reports[1].ok and reports[1].report.frames == 5000 and sf.info(other).frames == 5000
    assert not list(tmp_path.glob(".*.part"))  # no temporary file is left either


def test_an_unexpected_error_mid_file_removes_the_output(tmp_path, rng, monkeypatch):
    container, subtype, bits, ext = KINDS[0]
    src = tmp_path / "in.wav"
    write_input(src, rng, container, subtype, bits, 48000, 2, frames=5000)
    real = eq._engine.Engine.process_frames_into
    blocks = []

    def fail_on_the_third(self, a, b):
        blocks.append(len(a))
        if len(blocks) == 3:
            raise RuntimeError("boom")
        return real(self, a, b)

    monkeypatch.setattr(eq._engine.Engine, "process_frames_into", fail_on_the_third)
    with pytest.raises(RuntimeError, match="boom"):
        eq.equalize_file(src, tmp_path / "out.wav", BANDS, block_frames=1000, io_thread=True)
    assert not (tmp_path / "out.wav").exists()


# ------------------------------------------------------- first contact: files
def _wav(path, rng, seconds=1.0, fs=48000, channels=2, subtype="PCM_16", amplitude=0.5):
    x = amplitude * rng.uniform(-1.0, 1.0, (int(seconds * fs), channels))
    sf.write(path, x, fs, subtype=subtype)
    return x


@pytest.mark.parametrize("signal_name", ["SIGTERM", "SIGKILL"])
def test_a_killed_run_leaves_nothing_under_the_output_name(tmp_path, rng, signal_name):
    """The output is written under a temporary name and renamed when complete: a run killed
    half way leaves no file that could pass for the equalized audio."""
    import signal
    import subprocess
    import sys

    src, dst = tmp_path / "in.wav", tmp_path / "out.wav"
    _wav(src, rng, seconds=4.0)
    script = (
        "import sys, time, eq, eq._engine as e\n"
        "real = e.Engine.process_frames_into\n"
        "calls = []\n"
        "def slow(self, a, b):\n"
        "    calls.append(1)\n"
        "    if len(calls) == 3:\n"
        "        print('half way', flush=True); time.sleep(60)\n"
        "    return real(self, a, b)\n"
        "e.Engine.process_frames_into = slow\n"
        "eq.equalize_file(sys.argv[1], sys.argv[2], [eq.parse_band('peaking:1k:gain=6')],\n"
        "                 block_frames=4800, io_thread=False)\n")
    proc = subprocess.Popen([sys.executable, "-c", script, str(src), str(dst)],
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "half way"
        proc.send_signal(getattr(signal, signal_name))
        proc.wait(timeout=60)
    finally:
        proc.kill()
    assert not dst.exists()
    assert [p.name.startswith(".out.wav.") and p.suffix == ".part"
            for p in tmp_path.iterdir() if p.name != "in.wav"] in ([], [True])


def test_a_wav_cut_short_is_an_error_unless_allowed(tmp_path, rng):
    """As sox warns of a premature end: the header promises 2 s, the file holds about 1 s."""
    full, cut = tmp_path / "full.wav", tmp_path / "cut.wav"
    _wav(full, rng, seconds=2.0, channels=1)
    cut.write_bytes(full.read_bytes()[:100_000])
    held = (100_000 - 44) // 2  # frames of 2 bytes after a 44-byte header
    with pytest.raises(eq.TruncatedInputError) as info:
        eq.equalize_file(cut, tmp_path / "out.wav", BANDS)
    assert (info.value.frames_read, info.value.frames_expected) == (held, 96000)
    assert "cut.wav" in str(info.value) and "96000" in str(info.value)
    assert isinstance(info.value, eq.AudioFileError)
    assert not (tmp_path / "out.wav").exists() and not list(tmp_path.glob(".*.part"))
    report = eq.equalize_file(cut, tmp_path / "out.wav", BANDS, allow_truncated=True)
    assert report.truncated and report.frames == held and report.frames_expected == 96000
    assert sf.info(tmp_path / "out.wav").frames == held
    whole = eq.equalize_file(full, tmp_path / "whole.wav", BANDS)
    assert not whole.truncated and whole.frames == whole.frames_expected == 96000


@pytest.mark.parametrize("subtype", ["PCM_16", "PCM_24"])
def test_an_aiff_cut_short_is_an_error(tmp_path, rng, subtype):
    full, cut = tmp_path / "full.aiff", tmp_path / "cut.aiff"
    _wav(full, rng, seconds=1.0, channels=2, subtype=subtype)
    cut.write_bytes(full.read_bytes()[:len(full.read_bytes()) // 2])
    with pytest.raises(eq.TruncatedInputError):
        eq.equalize_file(cut, tmp_path / "out.aiff", BANDS)


def test_float_output_counts_samples_beyond_full_scale_and_clips_none(tmp_path):
    """+6 dB on a -0.5 dBFS sine into float: values near 1.88 are stored as they are."""
    fs = 48000
    t = np.arange(fs) / fs
    x = 10 ** (-0.5 / 20) * np.sin(2 * np.pi * 1000 * t)
    sf.write(tmp_path / "in.wav", x, fs, subtype="FLOAT")
    report = eq.equalize_file(tmp_path / "in.wav", tmp_path / "out.wav", [], preamp_db=6.0)
    y, _ = sf.read(tmp_path / "out.wav", dtype="float64")
    expected = x * 10 ** (6 / 20)
    np.testing.assert_allclose(y, expected.astype(np.float32), rtol=1e-6)
    assert report.clipped_samples == 0
    assert report.over_full_scale_samples == np.count_nonzero(np.abs(expected.astype(np.float32)) > 1.0) > 0
    assert y.max() > 1.8
    # into 16-bit the same samples are saturated, and counted as clipped
    report16 = eq.equalize_file(tmp_path / "in.wav", tmp_path / "out16.wav", [], preamp_db=6.0,
                                subtype="PCM_16")
    assert report16.clipped_samples > 0 and report16.over_full_scale_samples == 0


def test_file_errors_name_the_path_and_the_reason(tmp_path, rng):
    src = tmp_path / "in.wav"
    _wav(src, rng, seconds=0.1)
    (tmp_path / "a_file").write_text("not a folder")
    (tmp_path / "text.wav").write_text("not audio")
    cases = [
        (tmp_path / "missing.wav", tmp_path / "o.wav", r"'.*missing\.wav': no such file"),
        (tmp_path, tmp_path / "o.wav", r"it is a folder"),
        (tmp_path / "text.wav", tmp_path / "o.wav", r"text\.wav'.*not an audio file"),
        (src, tmp_path / "nowhere" / "o.wav", r"the folder '.*nowhere' does not exist"),
        (src, tmp_path / "a_file" / "o.wav", r"the folder '.*a_file' is a file"),
        (src, tmp_path, r"it is a folder"),
    ]
    for in_path, out_path, pattern in cases:
        with pytest.raises(eq.AudioFileError, match=pattern) as info:
            eq.equalize_file(in_path, out_path, BANDS)
        assert "System error" not in str(info.value)


@pytest.mark.parametrize("fs", [8000, 11025, 16000])
def test_bands_above_nyquist_are_dropped_on_request_and_refused_otherwise(tmp_path, rng, fs):
    src = tmp_path / "in.wav"
    _wav(src, rng, seconds=0.2, fs=fs, channels=1)
    bands = [eq.Band("peaking", 1000.0, 1.0, 4.0), eq.Band("highshelf", 10000.0, 0.7, 3.0)]
    with pytest.raises(eq.InvalidParameterError, match="Nyquist"):
        eq.equalize_file(src, tmp_path / "out.wav", bands)
    report = eq.equalize_file(src, tmp_path / "out.wav", bands, nyquist="drop")
    assert report.dropped_bands == (bands[1],)
    got, _ = sf.read(tmp_path / "out.wav", dtype="int16", always_2d=True)
    x16 = sf.read(src, dtype="int16", always_2d=True)[0] / 32768.0  # what the input file holds
    expected, _ = oracle_file(x16, 16, fs, [{"type": "peaking", "freq": 1000.0, "q": 1.0, "gain_db": 4.0}])
    assert np.max(np.abs(got.astype(np.int64) - expected)) <= 1


def test_the_reported_peak_is_that_of_the_written_file_when_it_clips(tmp_path):
    """Encodings that cannot exceed full scale (here mu-law) are clipped before writing: the peak in
    the report is the written file's, not the filter's output before the clip."""
    fs = 16000
    x = 0.9 * np.sin(2 * np.pi * 440 * np.arange(fs) / fs)
    sf.write(tmp_path / "in.wav", x, fs, subtype="PCM_16")
    report = eq.equalize_file(tmp_path / "in.wav", tmp_path / "out.wav", [], preamp_db=6.0,
                              subtype="ULAW")
    written, _ = sf.read(tmp_path / "out.wav", dtype="float64")
    assert report.clipped_samples > 0
    assert report.peak_dbfs == pytest.approx(20 * np.log10(np.max(np.abs(written))), abs=0.3)
    assert report.peak_dbfs <= 0.0

"""The ``eq`` command end to end, run as ``python -m eq`` in a subprocess."""

import json
import os
import select
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
import soundfile as sf

import eq
from eq_oracle import (
    PCM_FORMATS,
    decode,
    oracle_filter,
    oracle_response_db,
    oracle_sos,
    oracle_stream,
    random_pcm,
)

# Guards against a hung child only (a cold numba cache compiles for a while);
# no test depends on how fast anything runs.
HANG_GUARD_S = 600

# The curve of the bundled "benchmark-5band" preset, as documented.
BENCHMARK_5BAND = [
    {"type": "lowshelf", "freq": 100, "q": 0.707, "gain_db": 4},
    {"type": "peaking", "freq": 400, "q": 1, "gain_db": -3},
    {"type": "peaking", "freq": 2000, "q": 2, "gain_db": 5},
    {"type": "peaking", "freq": 6000, "q": 0.7, "gain_db": -2},
    {"type": "highshelf", "freq": 10000, "q": 0.707, "gain_db": 3},
]

SPECS = ["highpass:40", "lowshelf:120:q=0.8:gain=5", "peaking:1k:q=1.4:gain=-4",
         "notch:1.5k:q=3", "highshelf:3000:gain=6"]
SPEC_BANDS = [
    {"type": "highpass", "freq": 40.0},
    {"type": "lowshelf", "freq": 120.0, "q": 0.8, "gain_db": 5.0},
    {"type": "peaking", "freq": 1000.0, "q": 1.4, "gain_db": -4.0},
    {"type": "notch", "freq": 1500.0, "q": 3.0},
    {"type": "highshelf", "freq": 3000.0, "gain_db": 6.0},
]


def band_args(specs):
    return [arg for spec in specs for arg in ("--band", spec)]


def run_eq(*args, input=None):
    return subprocess.run([sys.executable, "-m", "eq", *map(str, args)], input=input,
                          capture_output=True, timeout=HANG_GUARD_S)


class Result:
    """What a run of the command gave: like ``subprocess.CompletedProcess``."""

    def __init__(self, returncode, stdout, stderr):
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr


def run_main(capsys, *args):
    """Run the command in this process (quicker for the many error cases)."""
    from eq.cli import main

    try:
        status = main([str(a) for a in args])
    except SystemExit as exc:
        status = exc.code
    captured = capsys.readouterr()
    return Result(status, captured.out.encode(), captured.err.encode())


def assert_one_error_line(proc, status, *fragments):
    """Exit status, no traceback, exactly one error line naming each fragment."""
    stderr = proc.stderr.decode()
    assert proc.returncode == status, stderr
    assert "Traceback" not in stderr
    errors = [line for line in stderr.splitlines() if "error:" in line]
    assert len(errors) == 1, stderr
    assert errors[0].startswith("eq"), errors[0]
    for fragment in fragments:
        assert fragment in errors[0], f"{fragment!r} not in {errors[0]!r}"
    return errors[0]


def write_pcm16(path, rng, fs, channels, frames=8000):
    t = np.arange(frames) / fs
    x = 0.3 * rng.uniform(-1, 1, (frames, channels))
    x += 0.5 * np.sin(2 * np.pi * 1000 * t)[:, None]
    v = np.clip(np.rint(x * 32768), -32768, 32767).astype(np.int16)
    sf.write(path, v, fs, subtype="PCM_16")
    return v.astype(np.int64)


def oracle_int(v, bits, fs, bands, preamp_db=0.0):
    scale = 2 ** (bits - 1)
    y = oracle_filter(oracle_sos(bands, fs), v / scale * 10 ** (preamp_db / 20))
    return np.clip(np.rint(y * scale), -scale, scale - 1).astype(np.int64)


def assert_ints_close(got, expected):
    diff = got - expected
    assert np.max(np.abs(diff)) <= 1
    assert np.count_nonzero(diff) <= 0.001 * diff.size


# -------------------------------------------------------------------- apply
def test_apply_with_bands_matches_the_oracle(tmp_path, rng):
    src, dst = tmp_path / "in.wav", tmp_path / "out.wav"
    v = write_pcm16(src, rng, 44100, 2)
    proc = run_eq("apply", src, dst, *band_args(SPECS), "--preamp", "-1.5")
    assert proc.returncode == 0, proc.stderr.decode()
    assert "Traceback" not in proc.stderr.decode()
    got, fs = sf.read(dst, dtype="int16", always_2d=True)
    assert fs == 44100 and sf.info(dst).subtype == "PCM_16"
    assert_ints_close(got.astype(np.int64), oracle_int(v, 16, 44100, SPEC_BANDS, -1.5))


def test_apply_with_bundled_preset_is_the_documented_curve(tmp_path, rng):
    src, dst = tmp_path / "in.flac", tmp_path / "out.flac"
    frames, fs, channels = 6000, 48000, 6
    x = np.clip(0.4 * rng.standard_normal((frames, channels)), -1, 1)
    v = np.clip(np.rint(x * 2 ** 23), -2 ** 23, 2 ** 23 - 1).astype(np.int64)
    sf.write(src, (v << 8).astype(np.int32), fs, subtype="PCM_24", format="FLAC")
    proc = run_eq("apply", src, dst, "--preset", "benchmark-5band", "--block-frames", "999")
    assert proc.returncode == 0, proc.stderr.decode()
    got, _ = sf.read(dst, dtype="int32", always_2d=True)
    assert sf.info(dst).subtype == "PCM_24" and sf.info(dst).channels == 6
    assert_ints_close(got.astype(np.int64) >> 8, oracle_int(v, 24, fs, BENCHMARK_5BAND))


def test_apply_with_preset_file_and_float_wav(tmp_path, rng):
    preset = {"preamp_db": -3.0, "bands": SPEC_BANDS}
    (tmp_path / "curve.json").write_text(json.dumps(preset))
    src, dst = tmp_path / "in.wav", tmp_path / "out.wav"
    x = rng.uniform(-0.9, 0.9, (5000, 1)).astype(np.float32)
    sf.write(src, x, 8000, subtype="FLOAT")
    proc = run_eq("apply", src, dst, "--preset", tmp_path / "curve.json")
    assert proc.returncode == 0, proc.stderr.decode()
    got, _ = sf.read(dst, dtype="float32", always_2d=True)
    expected = oracle_filter(oracle_sos(SPEC_BANDS, 8000), x.astype(np.float64) * 10 ** (-3 / 20))
    np.testing.assert_allclose(got, expected, rtol=2e-7, atol=1e-9)


def test_apply_reports_clipping(tmp_path, rng):
    src, dst = tmp_path / "in.wav", tmp_path / "out.wav"
    write_pcm16(src, rng, 44100, 1)
    proc = run_eq("apply", src, dst, "--band", "peaking:1k:q=1:gain=12")
    assert proc.returncode == 0
    assert "clipped" in proc.stdout.decode()
    assert "Traceback" not in proc.stderr.decode()


def test_apply_unreadable_input_is_one_line(tmp_path):
    missing = tmp_path / "missing.wav"
    proc = run_eq("apply", missing, tmp_path / "out.wav", "--band", "notch:50")
    assert_one_error_line(proc, 1, "missing.wav")
    assert proc.stderr.decode().startswith("eq: error:")
    junk = tmp_path / "junk.wav"
    junk.write_bytes(b"this is not a wav file")
    proc = run_eq("apply", junk, tmp_path / "out.wav", "--band", "notch:50")
    assert_one_error_line(proc, 1, "junk.wav")


def test_apply_refuses_to_overwrite_its_input(tmp_path, rng):
    src = tmp_path / "in.wav"
    write_pcm16(src, rng, 8000, 1, frames=500)
    before = src.read_bytes()
    proc = run_eq("apply", src, src, "--band", "notch:50")
    assert_one_error_line(proc, 1, "in.wav")
    assert src.read_bytes() == before


def test_bad_band_spec_is_a_usage_error(tmp_path):
    proc = run_eq("apply", tmp_path / "a.wav", tmp_path / "b.wav", "--band", "wobble:1k")
    assert_one_error_line(proc, 2, "wobble")


@pytest.mark.parametrize("spec,fragment", [("wobble:1k", "wobble"), ("peaking:abc", "abc"),
                                           ("peaking:1k:q=0", "0"),
                                           ("peaking:1k:gain=loud", "loud"),
                                           ("peaking", "peaking"), ("notch:50:width=3", "width"),
                                           ("peaking:-1k", "-1")])
@pytest.mark.parametrize("command", ["apply", "stream", "response"])
def test_bad_band_spec_in_every_command(capsys, tmp_path, command, spec, fragment):
    before = {"apply": ["apply", tmp_path / "a.wav", tmp_path / "b.wav"],
              "stream": ["stream", "--rate", "48000", "--channels", "2", "--format", "s16le"],
              "response": ["response", "--rate", "48000"]}[command]
    assert_one_error_line(run_main(capsys, *before, "--band", spec), 2, fragment)


def test_band_above_nyquist_and_bad_preset_are_errors(capsys):
    proc = run_main(capsys, "response", "--rate", "8000", "--band", "peaking:5k:gain=3")
    assert_one_error_line(proc, 1, "5000")
    proc = run_main(capsys, "response", "--rate", "8000", "--preset", "no-such-preset")
    assert_one_error_line(proc, 1, "no-such-preset")


# ------------------------------------------------------------------- stream
def feed_in_pieces(proc, data, seed):
    """Write `data` to the child's stdin in random small pieces, with pauses; then close."""
    rng = np.random.default_rng(seed)
    pos = 0
    while pos < len(data):
        size = int(rng.choice([1, 2, 3, 7, int(rng.integers(1, 4097))]))
        proc.stdin.write(data[pos:pos + size])
        proc.stdin.flush()
        pos += size
        if rng.random() < 0.05:
            time.sleep(0.001)
    proc.stdin.close()


def stream_args(fs, channels, name, *more):
    return [sys.executable, "-m", "eq", "stream", "--rate", str(fs), "--channels", str(channels),
            "--format", name, *more]


@pytest.mark.parametrize("name,channels,fs", [("s16le", 2, 48000), ("s24be", 6, 96000),
                                              ("u8", 1, 8000), ("f32le", 2, 44100)])
def test_stream_with_random_write_sizes_equals_one_pass(rng, name, channels, fs):
    raw = random_pcm(rng, name, 20000, channels, level=0.4)
    proc = subprocess.Popen(stream_args(fs, channels, name, *band_args(SPECS), "--preamp", "-2"),
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    writer = threading.Thread(target=feed_in_pieces, args=(proc, raw, 7), daemon=True)
    writer.start()
    out = proc.stdout.read()
    writer.join(HANG_GUARD_S)
    stderr = proc.stderr.read().decode()
    assert proc.wait(HANG_GUARD_S) == 0, stderr
    assert "Traceback" not in stderr
    one_pass = eq.StreamingEqualizer(fs, channels, name, [eq.parse_band(s) for s in SPECS],
                                     preamp_db=-2.0).process(raw)
    assert out == one_pass
    expected, _, _ = oracle_stream(raw, name, channels, fs, SPEC_BANDS, -2.0)
    if PCM_FORMATS[name][1] == "f":
        got = np.frombuffer(out, "<f4").reshape(-1, channels)
        np.testing.assert_allclose(got, expected, rtol=2e-7, atol=1e-9)
    else:
        assert_ints_close(decode(out, name, channels), expected)


def read_exactly(stream, n, guard_s=HANG_GUARD_S):
    """Read `n` bytes from a pipe, or fail if they do not arrive (a hang guard, not a timing test)."""
    fd = stream.fileno()
    data = b""
    deadline = time.monotonic() + guard_s
    while len(data) < n:
        ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
        assert ready, f"only {len(data)} of {n} bytes came out while the input stayed open"
        piece = os.read(fd, n - len(data))
        assert piece, "the output ended early"
        data += piece
    return data


def test_stream_writes_every_complete_frame_without_waiting_for_more_input(rng):
    name, channels, fs = "s16le", 2, 48000
    raw = random_pcm(rng, name, 3000, channels)
    expected = eq.StreamingEqualizer(fs, channels, name, BENCHMARK_5BAND).process(raw)
    proc = subprocess.Popen(stream_args(fs, channels, name, "--preset", "benchmark-5band"),
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    try:
        got, sent = b"", 0
        # Each cut ends inside a frame: exactly the complete frames must come out.
        for cut in (401 * 4 + 3, 1000 * 4 + 1, 2999 * 4 + 3):
            proc.stdin.write(raw[sent:cut])
            proc.stdin.flush()
            sent = cut
            got += read_exactly(proc.stdout, cut // 4 * 4 - len(got))
        proc.stdin.write(raw[sent:])
        proc.stdin.close()
        got += proc.stdout.read()
        assert proc.wait(HANG_GUARD_S) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert got == expected


def test_stream_partial_frame_at_eof_is_an_error_after_the_complete_frames(rng):
    name, channels, fs = "s24le", 2, 44100
    raw = random_pcm(rng, name, 5000, channels, level=0.2, extremes=False)
    proc = run_eq("stream", "--rate", fs, "--channels", channels, "--format", name,
                  *band_args(SPECS), input=raw + raw[:5])
    line = assert_one_error_line(proc, 1, "5 byte")
    assert line.startswith("eq: error:")
    assert len(proc.stderr.decode().strip().splitlines()) == 1
    expected = eq.StreamingEqualizer(fs, channels, name, SPEC_BANDS).process(raw)
    assert proc.stdout == expected


def test_stream_of_nothing_is_nothing():
    proc = run_eq("stream", "-r", "48000", "-c", "2", "-f", "s16le", "--band", "notch:50",
                  input=b"")
    assert proc.returncode == 0 and proc.stdout == b"" and proc.stderr == b""


@pytest.mark.parametrize("args,fragment", [
    (["--rate", "0", "--channels", "2", "--format", "s16le"], "0"),
    (["--rate", "48000", "--channels", "0", "--format", "s16le"], "0"),
    (["--rate", "48000", "--channels", "2", "--format", "s17le"], "s17le"),
    (["--rate", "44100.5", "--channels", "2", "--format", "s16le"], "44100.5"),
    (["--rate", "48000", "--channels", "2", "--format", "s16le", "--preamp", "nan"], "nan"),
    (["--rate", "48000", "--channels", "two", "--format", "s16le"], "two"),
])
def test_stream_bad_arguments(capsys, args, fragment):
    proc = run_main(capsys, "stream", *args, "--band", "notch:50")
    assert proc.returncode in (1, 2)
    assert_one_error_line(proc, proc.returncode, fragment)


@pytest.mark.parametrize("args,fragment", [
    (["--block-frames", "0"], "0"),
    (["--subtype", "PCM_99"], "PCM_99"),
    (["--preamp", "inf"], "inf"),
    (["--preset", "no-such-preset"], "no-such-preset"),
])
def test_apply_bad_arguments(capsys, tmp_path, rng, args, fragment):
    src = tmp_path / "in.wav"
    write_pcm16(src, rng, 8000, 1, frames=100)
    band = [] if "--preset" in args else ["--band", "notch:50"]
    proc = run_main(capsys, "apply", src, tmp_path / "out.wav", *band, *args)
    assert proc.returncode in (1, 2)
    assert_one_error_line(proc, proc.returncode, fragment)


# ------------------------------------------------------- response, presets
def test_response_gives_gain_db_at_a_peaking_centre():
    proc = run_eq("response", "--rate", "48000", "--band", "peaking:1k:q=1.4:gain=-3.5",
                  "--freq", "1000", "--freq", "20000")
    assert proc.returncode == 0, proc.stderr.decode()
    rows = [line.split() for line in proc.stdout.decode().splitlines()[1:]]
    table = {float(f): float(g) for f, g in rows}
    assert table[1000.0] == pytest.approx(-3.5, abs=0.01)
    assert table[20000.0] == pytest.approx(0.0, abs=0.05)


def test_response_table_follows_the_preset():
    proc = run_eq("response", "--rate", "44100", "--preset", "benchmark-5band", "--points", "40")
    assert proc.returncode == 0
    rows = np.array([line.split() for line in proc.stdout.decode().splitlines()[1:]], float)
    assert rows.shape == (40, 2)
    np.testing.assert_allclose(rows[:, 1], oracle_response_db(BENCHMARK_5BAND, 44100, rows[:, 0]),
                               atol=0.06)  # printed with 2 decimals, frequencies with 1


def test_presets_lists_every_bundled_preset():
    proc = run_eq("presets")
    assert proc.returncode == 0
    listed = [line.split()[0] for line in proc.stdout.decode().splitlines() if line.strip()]
    assert listed == eq.list_presets()
    proc = run_eq("presets", "benchmark-5band")
    assert proc.returncode == 0
    text = proc.stdout.decode()
    assert "highshelf:10000" in text and "peaking:2000:q=2:gain=5" in text


def test_help():
    proc = run_eq("--help")
    assert proc.returncode == 0
    assert "apply" in proc.stdout.decode() and "stream" in proc.stdout.decode()


@pytest.mark.parametrize("args", [["--help"], ["apply", "--help"], ["stream", "--help"],
                                  ["response", "--help"], ["presets", "--help"]])
def test_help_of_every_command(capsys, args):
    proc = run_main(capsys, *args)
    assert proc.returncode == 0
    out = proc.stdout.decode()
    assert out.startswith("usage: eq")
    if args == ["--help"]:
        for command in ("apply", "stream", "response", "presets"):
            assert command in out
    if args[0] in ("apply", "stream"):
        assert "--band" in out and "--preset" in out


def test_no_command_is_a_usage_error(capsys):
    proc = run_main(capsys)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr.decode()


def test_skipping_numba_blas_probe_leaves_scipy_linalg_importable():
    # The CLI answers numba's BLAS probe "no" to start faster; scipy.linalg
    # must still import and work in that process, and the kernels still run.
    code = (
        "import sys\n"
        "from eq.cli import _skip_numba_blas_probe\n"
        "_skip_numba_blas_probe()\n"
        "assert 'scipy.linalg' not in sys.modules\n"
        "import numpy as np, scipy.linalg, eq\n"
        "assert scipy.linalg.det(np.eye(3) * 2) == 8\n"
        "e = eq.StreamingEqualizer(48000, 2, 's16le', [{'type': 'peaking', 'freq': 1000, 'gain_db': 6}])\n"
        "assert len(e.process(bytes(400))) == 400\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr


def test_a_slow_first_kernel_load_is_announced_on_stderr():
    # The command says so when the first kernel load takes longer than
    # COMPILE_NOTICE_S (compiling on a fresh machine); 0 s makes any load count.
    code = (
        "import sys\n"
        "from eq import streaming\n"
        "streaming.COMPILE_NOTICE_S = 0.0\n"
        "from eq.cli import main\n"
        "sys.exit(main(sys.argv[1:]))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, "stream", "--rate", "48000", "--channels", "2",
         "--format", "s16le", "--preset", "flat", "--quiet"],
        input=bytes(400), capture_output=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert len(result.stdout) == 400
    assert b"compiling the kernels" in result.stderr

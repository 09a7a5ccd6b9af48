"""The ``eq`` command end to end, run as ``python -m eq`` in a subprocess."""

import importlib.metadata
import io
import json
import math
import os
import re
import select
import shlex
import subprocess
import sys
import threading
import time
import tomllib
from pathlib import Path

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
    assert proc.stderr.decode().startswith("eq apply: error:")
    junk = tmp_path / "junk.wav"
    junk.write_bytes(b"this is not a wav file")
    proc = run_eq("apply", junk, tmp_path / "out.wav", "--band", "notch:50")
    assert_one_error_line(proc, 1, "junk.wav")


def test_apply_refuses_to_overwrite_its_input(tmp_path, rng):
    src = tmp_path / "in.wav"
    write_pcm16(src, rng, 8000, 1, frames=500)
    before = src.read_bytes()
    proc = run_eq("apply", src, src, "--band", "notch:50")
    assert_one_error_line(proc, 2, "in.wav")
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
    assert_one_error_line(proc, 2, "5000")
    proc = run_main(capsys, "response", "--rate", "8000", "--preset", "no-such-preset")
    assert_one_error_line(proc, 2, "no-such-preset")


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
    assert line.startswith("eq stream: error:")
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
    assert_one_error_line(proc, 2, fragment)


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
    assert_one_error_line(proc, 2, fragment)


# ------------------------------------------------------- response, presets
def test_response_gives_gain_db_at_a_peaking_centre():
    proc = run_eq("response", "--rate", "48000", "--band", "peaking:1k:q=1.4:gain=-3.5",
                  "--freq", "1000", "--freq", "20000")
    assert proc.returncode == 0, proc.stderr.decode()
    rows = [line.split() for line in proc.stdout.decode().splitlines()[1:]]
    table = {float(f): float(g) for f, g in rows}
    assert table[1000.0] == pytest.approx(-3.5, abs=0.01)
    assert table[20000.0] == pytest.approx(0.0, abs=0.05)


def assert_response_rows(rows, bands, fs, preamp_db=0.0):
    """Each printed gain is scipy's at a frequency that prints as the row's (1 decimal),
    to the 2 decimals printed; a gain below -60 dB only needs to be below -60 dB."""
    for freq, gain in rows:
        near = np.linspace(max(freq - 0.05, 0.0), min(freq + 0.05, fs / 2), 41)
        expected = oracle_response_db(bands, fs, near) + preamp_db
        assert gain <= np.max(expected) + 0.005, (freq, gain)
        if np.min(expected) < -60:
            assert gain < -60 or gain >= np.min(expected) - 0.005, (freq, gain)
            continue
        assert np.min(expected) - 0.005 <= gain, (freq, gain)


def test_response_table_follows_the_preset():
    proc = run_eq("response", "--rate", "44100", "--preset", "benchmark-5band", "--points", "40")
    assert proc.returncode == 0
    rows = np.array([line.split() for line in proc.stdout.decode().splitlines()[1:]], float)
    assert rows.shape == (40 + len(BENCHMARK_5BAND), 2)  # the log grid and each band's own
    assert_response_rows(rows, BENCHMARK_5BAND, 44100)


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
        "from eq import _engine\n"
        "_engine.COMPILE_NOTICE_S = 0.0\n"
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


# ------------------------------------------------------- presets at every rate
PRESET_DIR = Path(eq.__file__).resolve().parent / "presets"
RATES = [8000, 11025, 16000, 44100, 48000, 96000, 192000]


def preset_file(name):
    """``(bands as dicts, preamp_db)`` read straight from the bundled preset file."""
    (path,) = [p for p in PRESET_DIR.iterdir() if p.stem == name]
    text = path.read_text()
    data = tomllib.loads(text) if path.suffix == ".toml" else json.loads(text)
    return data["bands"], float(data.get("preamp_db", 0.0))


def notices(stderr):
    return [line for line in stderr.decode().splitlines() if "notice:" in line]


def write_float_wav(path, rng, fs, frames=2000, channels=1, level=0.5):
    x = rng.uniform(-level, level, (frames, channels)).astype(np.float32)
    sf.write(path, x, fs, subtype="FLOAT")
    return x.astype(np.float64)


def assert_float_output(path, x, fs, bands, preamp_db):
    got, rate = sf.read(path, dtype="float64", always_2d=True)
    assert rate == fs and got.shape == x.shape
    expected = oracle_filter(oracle_sos(bands, fs), x * 10 ** (preamp_db / 20))
    np.testing.assert_allclose(got, expected.astype(np.float32), rtol=3e-7, atol=1e-8)


@pytest.mark.parametrize("fs", RATES)
@pytest.mark.parametrize("name", eq.list_presets())
def test_every_bundled_preset_runs_at_every_rate(capsys, tmp_path, rng, name, fs):
    bands, preamp_db = preset_file(name)
    kept = [b for b in bands if b["freq"] < fs / 2]
    dropped = [b for b in bands if b["freq"] >= fs / 2]
    src, dst = tmp_path / "in.wav", tmp_path / "out.wav"
    x = write_float_wav(src, rng, fs)
    proc = run_main(capsys, "apply", src, dst, "--preset", name)
    assert proc.returncode == 0, proc.stderr.decode()
    assert_float_output(dst, x, fs, kept, preamp_db)
    lines = notices(proc.stderr)
    assert len(lines) == len(dropped), proc.stderr.decode()
    for line, band in zip(lines, dropped):
        assert line.startswith("eq apply: notice:")
        assert f"{band['freq']:g} Hz" in line and f"{fs} Hz" in line and "dropped" in line


@pytest.mark.parametrize("name,fs", [("vocal-presence", 8000), ("loudness", 8000),
                                     ("benchmark-5band", 11025), ("podcast", 11025)])
def test_preset_bands_above_nyquist_are_dropped_in_stream(rng, name, fs):
    bands, preamp_db = preset_file(name)
    kept = [b for b in bands if b["freq"] < fs / 2]
    assert len(kept) < len(bands)
    raw = random_pcm(rng, "s16le", 4000, 2, level=0.3, extremes=False)
    proc = run_eq("stream", "--rate", fs, "--channels", 2, "--format", "s16le",
                  "--preset", name, input=raw)
    assert proc.returncode == 0, proc.stderr.decode()
    expected, _, _ = oracle_stream(raw, "s16le", 2, fs, kept, preamp_db)
    assert_ints_close(decode(proc.stdout, "s16le", 2), expected)
    assert len(notices(proc.stderr)) == len(bands) - len(kept)


@pytest.mark.parametrize("name", ["vocal-presence", "loudness"])
def test_preset_response_at_a_low_rate_is_that_of_the_kept_bands(capsys, name):
    bands, preamp_db = preset_file(name)
    kept = [b for b in bands if b["freq"] < 4000]
    proc = run_main(capsys, "response", "--rate", 8000, "--preset", name)
    assert proc.returncode == 0, proc.stderr.decode()
    rows = np.array([line.split() for line in proc.stdout.decode().splitlines()[1:]], float)
    assert_response_rows(rows, kept, 8000, preamp_db)
    assert len(notices(proc.stderr)) == len(bands) - len(kept)


def test_an_explicit_band_at_or_above_nyquist_is_an_error_in_every_command(capsys, tmp_path,
                                                                          rng):
    src = tmp_path / "in.wav"
    write_float_wav(src, rng, 8000, frames=100)
    # Exactly Nyquist is refused too; with a preset, its own bands would be dropped.
    for band in (["--band", "highshelf:4k:gain=2"], ["--preset", "loudness", "--band", "peaking:5k"]):
        for command in (["apply", src, tmp_path / "out.wav"],
                        ["batch", src, "--out-dir", tmp_path / "batch"],
                        ["stream", "--rate", "8000", "--channels", "1", "--format", "f32le"],
                        ["response", "--rate", "8000"]):
            proc = run_main(capsys, *command, *band)
            line = assert_one_error_line(proc, 2, "Nyquist", "8000")
            assert line.startswith(f"eq {command[0]}: error:")
    assert not (tmp_path / "out.wav").exists() and not (tmp_path / "batch").exists()


# ---------------------------------------------------------------- exit status
def exit_status_cases(tmp_path, rng):
    """(command line, expected status) for every command: success, job failures, bad values."""
    good = tmp_path / "good.wav"
    write_float_wav(good, rng, 44100, frames=500)
    broken = tmp_path / "broken.preset.json"
    broken.write_text('{"bands": [')
    out = tmp_path / "out.wav"
    no_dir = tmp_path / "no" / "such" / "folder"
    bad_values = [["--band", "peaking:1k:q=-1"], ["--band", "peaking:30k"],
                  ["--preset", "no-such-preset"], ["--preset", broken], ["--preamp", "nan"], []]
    cases = []
    for bad in bad_values:
        cases += [(["apply", good, out, *bad], 2), (["batch", good, "-o", tmp_path / "b", *bad], 2),
                  (["response", "--rate", "44100", *bad], 2)]
    band = ["--band", "peaking:1k:gain=3"]
    cases += [
        (["apply", good, out, *band], 0),
        (["apply", tmp_path / "missing.wav", out, *band], 1),
        (["apply", good, no_dir / "out.wav", *band], 1),
        (["apply", good, out, *band, "--subtype", "PCM_99"], 2),
        (["apply", good, tmp_path / "out.xyz", *band], 2),
        (["apply", good, out, *band, "--block-frames", "0"], 2),
        (["batch", good, "-o", tmp_path / "b", *band], 0),
        (["batch", good, tmp_path / "missing.wav", "-o", tmp_path / "b", *band], 1),
        (["batch", good, "-o", tmp_path / "b", *band, "--jobs", "0"], 2),
        (["batch", good, good, "-o", tmp_path / "b", *band], 2),
        (["response", "--rate", "44100", *band], 0),
        (["response", "--rate", "0", *band], 2),
        (["response", "--rate", "44100", "--freq", "30000", *band], 2),
        (["response", "--rate", "44100", "--plot", no_dir / "x.png", *band], 1),
        (["response", "--rate", "44100", "--plot", tmp_path / "x.jpeg", *band], 2),
        (["presets"], 0),
        (["presets", "telephone"], 0),
        (["presets", "no-such-preset"], 2),
        (["presets", broken], 2),
        (["no-such-command"], 2),
    ]
    return cases


def test_exit_status_follows_one_rule_in_every_command(capsys, tmp_path, rng):
    for args, status in exit_status_cases(tmp_path, rng):
        proc = run_main(capsys, *args)
        if status == 0:
            assert proc.returncode == 0, (args, proc.stderr.decode())
            assert "error:" not in proc.stderr.decode()
        else:
            line = assert_one_error_line(proc, status)
            assert line.startswith(f"eq {args[0]}: error:") or args[0] == "no-such-command", line


STREAM_44K = ["--rate", "44100", "--channels", "2", "--format", "s16le"]


@pytest.mark.parametrize("args,tail,status", [
    ([*STREAM_44K, "--band", "peaking:1k:gain=3"], b"", 0),
    ([*STREAM_44K, "--band", "peaking:1k:gain=3"], b"\x01", 1),  # ends inside a frame
    ([*STREAM_44K, "--band", "peaking:1k:q=-1"], b"", 2),
    ([*STREAM_44K, "--band", "peaking:30k"], b"", 2),
    ([*STREAM_44K, "--preset", "no-such-preset"], b"", 2),
    ([*STREAM_44K, "--band", "peaking:1k", "--rate-typo"], b"", 2),
    (["--rate", "0", "--channels", "2", "--format", "s16le", "--band", "notch:50"], b"", 2),
])
def test_exit_status_of_stream(args, tail, status):
    raw = bytes(400)
    proc = run_eq("stream", *args, input=raw + tail)
    if status == 0:
        assert proc.returncode == 0 and proc.stdout == raw, proc.stderr.decode()
    else:
        line = assert_one_error_line(proc, status)
        assert line.startswith("eq stream: error:")


def test_help_documents_the_exit_status(capsys):
    for args in (["--help"], *([c, "--help"] for c in ("apply", "batch", "stream", "response",
                                                       "presets"))):
        text = run_main(capsys, *args).stdout.decode()
        rule = text[text.index("exit status:"):]
        for status in ("0  success", "1  the job failed", "2  the command line is invalid"):
            assert status in rule, (args, rule)


# ------------------------------------------------------------ stdin and stdout
def test_apply_reads_stdin_and_writes_stdout(tmp_path, rng):
    src = tmp_path / "in.wav"
    v = write_pcm16(src, rng, 22050, 2, frames=3000)
    proc = subprocess.Popen([sys.executable, "-m", "eq", "apply", "-", "-", "--type", "wav",
                             *band_args(SPECS)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    out, err = proc.communicate(src.read_bytes(), timeout=HANG_GUARD_S)
    assert proc.returncode == 0, err.decode()
    assert out[:4] == b"RIFF" and out[8:12] == b"WAVE"
    got, fs = sf.read(io.BytesIO(out), dtype="int16", always_2d=True)
    assert fs == 22050
    assert_ints_close(got.astype(np.int64), oracle_int(v, 16, 22050, SPEC_BANDS))
    assert "wrote <stdout>" in err.decode()  # the summary goes to stderr, not into the audio


@pytest.mark.parametrize("in_name,out_args,container", [
    ("in.flac", ["-"], "FLAC"),                    # default: the input's container
    ("in.wav", ["-", "--type", "flac"], "FLAC"),
    ("in.wav", ["-", "-t", "aiff"], "AIFF"),
])
def test_apply_writes_stdout_in_the_chosen_container(tmp_path, rng, in_name, out_args,
                                                     container):
    src = tmp_path / in_name
    v = write_pcm16(src, rng, 16000, 1, frames=2000)
    with open(src, "rb") as stdin:
        proc = subprocess.run([sys.executable, "-m", "eq", "apply", src, *out_args,
                               "--band", "lowshelf:200:gain=3"], stdin=stdin,
                              capture_output=True, timeout=HANG_GUARD_S)
    assert proc.returncode == 0, proc.stderr.decode()
    piped = tmp_path / ("piped." + container.lower())
    piped.write_bytes(proc.stdout)
    assert sf.info(piped).format == container
    got, _ = sf.read(piped, dtype="int16", always_2d=True)
    bands = [{"type": "lowshelf", "freq": 200.0, "gain_db": 3.0}]
    assert_ints_close(got.astype(np.int64), oracle_int(v, 16, 16000, bands))


def test_apply_from_stdin_into_a_file(tmp_path, rng):
    src, dst = tmp_path / "in.flac", tmp_path / "out.wav"
    v = write_pcm16(src, rng, 48000, 2, frames=4000)
    with open(src, "rb") as stdin:
        proc = subprocess.run([sys.executable, "-m", "eq", "apply", "-", dst,
                               *band_args(SPECS)], stdin=stdin, capture_output=True,
                              timeout=HANG_GUARD_S)
    assert proc.returncode == 0, proc.stderr.decode()
    got, _ = sf.read(dst, dtype="int16", always_2d=True)
    assert_ints_close(got.astype(np.int64), oracle_int(v, 16, 48000, SPEC_BANDS))


def test_apply_stdin_errors_name_stdin(tmp_path):
    proc = run_eq("apply", "-", "-", "--band", "notch:50", input=b"not audio at all")
    line = assert_one_error_line(proc, 1, "<stdin>")
    assert line.startswith("eq apply: error:") and "eq-apply-" not in line
    assert proc.stdout == b""
    proc = run_eq("apply", "-", tmp_path / "out.wav", "--type", "wav", "--band", "notch:50",
                  input=b"")
    assert_one_error_line(proc, 2, "--type")


# ------------------------------------------------------------ response table and plot
def table_rows(proc):
    return np.array([line.split() for line in proc.stdout.decode().splitlines()[1:]], float)


def test_response_table_includes_each_band_frequency(capsys):
    bands, preamp_db = preset_file("rumble-filter")
    proc = run_main(capsys, "response", "--rate", "48000", "--preset", "rumble-filter")
    assert proc.returncode == 0, proc.stderr.decode()
    rows = table_rows(proc)
    assert len(rows) == 31 + len({b["freq"] for b in bands})
    for band in bands:
        assert band["freq"] in rows[:, 0]
    assert_response_rows(rows, bands, 48000, preamp_db)
    notch_row = rows[rows[:, 0] == 50.0][0]
    assert notch_row[1] < -60  # the notch is in the table, at its depth


def test_response_plot_path_is_checked_before_the_work(capsys, tmp_path):
    target = tmp_path / "no-such-folder" / "x.png"
    proc = run_main(capsys, "response", "--rate", "48000", "--band", "notch:50",
                    "--plot", target)
    assert_one_error_line(proc, 1, str(target))
    assert proc.stdout == b""
    a_file = tmp_path / "a_file"  # a folder on the path that is a file: refused even for root
    a_file.write_text("not a folder")
    proc = run_main(capsys, "response", "--rate", "48000", "--band", "notch:50",
                    "--plot", a_file / "x.png")
    assert_one_error_line(proc, 1, "x.png")
    assert proc.stdout == b""


def test_response_plot_says_where_it_went(capsys, tmp_path):
    pytest.importorskip("matplotlib")
    target = tmp_path / "telephone.png"
    proc = run_main(capsys, "response", "--rate", "48000", "--preset", "telephone",
                    "--plot", target)
    assert proc.returncode == 0, proc.stderr.decode()
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert str(target) in proc.stderr.decode()
    assert len(table_rows(proc)) >= 31


@pytest.mark.parametrize("fs", [16000, 48000])
def test_plot_axis_shows_the_passband_detail(fs):
    from eq.response import plot_limits_db

    bands, _ = preset_file("telephone")
    freqs = np.geomspace(10, fs / 2, 1000)
    curve = oracle_response_db(bands, fs, freqs)
    assert np.min(curve) < -100  # a steep stop band: an axis from the curve's minimum is useless
    bottom, top = plot_limits_db(curve)
    passband = curve[(freqs >= 300) & (freqs <= 3400)]
    assert top >= np.max(curve) and bottom <= np.min(passband)
    # the +3 dB peak and the -6 dB corners take a visible share of the axis
    assert (np.max(passband) - np.min(passband)) / (top - bottom) > 0.15


def test_plot_axis_of_a_flat_curve_is_not_magnified():
    from eq.response import plot_limits_db

    bottom, top = plot_limits_db(np.zeros(100))
    assert bottom < -1 and top > 1 and top - bottom >= 6


# --------------------------------------------------------- preset plus bands, listings
def test_preset_and_bands_together(capsys, tmp_path, rng):
    bands, preamp_db = preset_file("bass-boost")
    src, dst = tmp_path / "in.wav", tmp_path / "out.wav"
    x = write_float_wav(src, rng, 44100, frames=3000, channels=2)
    proc = run_main(capsys, "apply", src, dst, "--preset", "bass-boost",
                    "--band", "notch:1k:q=2", "--band", "highpass:40", "--preamp", "1.5")
    assert proc.returncode == 0, proc.stderr.decode()
    more = [{"type": "notch", "freq": 1000.0, "q": 2.0}, {"type": "highpass", "freq": 40.0}]
    assert_float_output(dst, x, 44100, bands + more, preamp_db + 1.5)


def test_version(capsys):
    proc = run_main(capsys, "--version")
    assert proc.returncode == 0
    assert proc.stdout.decode().split() == ["eq", importlib.metadata.version("eq-stream")]


def same_as_options(text):
    """The bands and preamp of the 'same as:' line of ``eq presets NAME``."""
    (line,) = [line for line in text.splitlines() if line.startswith("same as:")]
    words = shlex.split(line[len("same as:"):])
    options = list(zip(words[::2], words[1::2]))
    preamp = [float(v) for k, v in options if k == "--preamp"]
    return [eq.parse_band(v) for k, v in options if k == "--band"], (preamp or [0.0])[0]


@pytest.mark.parametrize("name", [n for n in eq.list_presets() if n != "flat"])
def test_presets_show_reads_back_exactly(capsys, name):
    bands, preamp_db = preset_file(name)
    proc = run_main(capsys, "presets", name)
    assert proc.returncode == 0
    parsed, preamp = same_as_options(proc.stdout.decode())
    assert preamp == preamp_db
    assert [(b.type, b.freq_hz, b.q, b.gain_db) for b in parsed] == [
        (b["type"], b["freq"], b.get("q", 1 / math.sqrt(2)), b.get("gain_db", 0.0)) for b in bands]


def test_presets_shows_a_preset_file_for_reading(capsys, tmp_path):
    path = tmp_path / "mine.json"
    path.write_text(json.dumps({"preamp_db": -2.5, "bands": [
        {"type": "highpass", "freq": 80},                      # q: the Butterworth default
        {"type": "peaking", "freq": 3150, "q": 1.4142135623730951, "gain_db": 3.25}]}))
    proc = run_main(capsys, "presets", path)
    assert proc.returncode == 0, proc.stderr.decode()
    text = proc.stdout.decode()
    lines = text.splitlines()
    assert lines[0] == "mine"
    assert "preamp -2.5 dB" in text
    assert re.search(r"highpass +80 Hz +q 0\.707\s*$", text, re.M)
    assert re.search(r"peaking +3150 Hz +q 1\.41 +gain \+3\.25 dB", text)
    assert "0.70710678" not in "\n".join(lines[:-1])            # not in the listing
    parsed, preamp = same_as_options(text)                       # exact where read back
    assert preamp == -2.5
    assert parsed[0].q == 1 / math.sqrt(2) and parsed[1].q == 1.4142135623730951


# --------------------------------------------------------- clipping and truncation
def test_float_output_beyond_full_scale_is_kept_not_clipped(tmp_path):
    fs = 48000
    t = np.arange(4800) / fs
    x = (10 ** (-0.5 / 20) * np.sin(2 * np.pi * 1000 * t)).astype(np.float32)
    src, dst = tmp_path / "in.wav", tmp_path / "out.wav"
    sf.write(src, x, fs, subtype="FLOAT")
    proc = run_eq("apply", src, dst, "--preamp", "6", "--band", "allpass:1k")
    assert proc.returncode == 0, proc.stderr.decode()
    y, _ = sf.read(dst, dtype="float64")
    over = int(np.count_nonzero(np.abs(y) > 1.0))
    assert over > 0 and np.max(np.abs(y)) > 1.8   # nothing was clipped
    out = proc.stdout.decode()
    assert f"{over} sample(s) exceed full scale (kept, not clipped)" in out
    assert "sample(s) clipped" not in out
    assert "warning" not in proc.stderr.decode()


def test_integer_output_reports_the_samples_it_clipped(tmp_path, rng):
    src, dst = tmp_path / "in.wav", tmp_path / "out.wav"
    v = write_pcm16(src, rng, 44100, 1)
    bands = [{"type": "peaking", "freq": 1000.0, "q": 1.0, "gain_db": 12.0}]
    proc = run_eq("apply", src, dst, "--band", "peaking:1k:q=1:gain=12")
    assert proc.returncode == 0
    y = oracle_filter(oracle_sos(bands, 44100), v / 32768)
    clipped = int(np.count_nonzero((np.rint(y * 32768) > 32767) | (np.rint(y * 32768) < -32768)))
    assert clipped > 0
    assert f"{clipped} sample(s) clipped" in proc.stdout.decode()
    assert "eq apply: warning:" in proc.stderr.decode()
    proc = run_eq("apply", src, dst, "--band", "peaking:1k:q=1:gain=-6")
    assert "clipped" not in proc.stdout.decode() + proc.stderr.decode()


def write_truncated_wav(path, rng, fs=16000, frames=1000, kept_frames=800):
    v = write_pcm16(path, rng, fs, 1, frames=frames)
    data = path.read_bytes()
    path.write_bytes(data[:len(data) - 2 * (frames - kept_frames)])
    return v[:kept_frames]


def test_truncated_input_is_an_error_unless_allowed(capsys, tmp_path, rng):
    src, dst = tmp_path / "cut.wav", tmp_path / "out.wav"
    v = write_truncated_wav(src, rng)
    proc = run_main(capsys, "apply", src, dst, "--band", "peaking:1k:gain=3")
    line = assert_one_error_line(proc, 1, "cut.wav")
    assert line.startswith("eq apply: error:")
    assert not dst.exists()
    proc = run_main(capsys, "apply", src, dst, "--band", "peaking:1k:gain=3",
                    "--allow-truncated")
    assert proc.returncode == 0, proc.stderr.decode()
    got, _ = sf.read(dst, dtype="int16", always_2d=True)
    bands = [{"type": "peaking", "freq": 1000.0, "gain_db": 3.0}]
    assert_ints_close(got.astype(np.int64), oracle_int(v, 16, 16000, bands))
    assert any("800" in line and "cut.wav" in line for line in notices(proc.stderr))


def test_batch_with_a_truncated_input(capsys, tmp_path, rng):
    good, cut = tmp_path / "good.wav", tmp_path / "cut.wav"
    write_pcm16(good, rng, 16000, 1, frames=500)
    write_truncated_wav(cut, rng)
    args = ["batch", good, cut, "-o", tmp_path / "out", "--band", "notch:50"]
    proc = run_main(capsys, *args)
    line = assert_one_error_line(proc, 1, "cut.wav")
    assert line.startswith("eq batch: error:")
    assert (tmp_path / "out" / "good.wav").is_file()
    assert not (tmp_path / "out" / "cut.wav").exists()
    proc = run_main(capsys, *args, "--allow-truncated")
    assert proc.returncode == 0, proc.stderr.decode()
    assert sf.info(tmp_path / "out" / "cut.wav").frames == 800

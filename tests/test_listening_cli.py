"""The command line of per-channel bands, live changes (--control) and dither, end to end.

The oracle of a command is the library call it stands for, which the library's own tests check
against scipy: `eq stream --control` against `set_bands` at the frame it logged, `--dither` on
files against a stream with the same seed, `eq response --channels` against
`frequency_response_db` of each channel's bands.
"""

import json
import os
import queue
import subprocess
import sys
import threading

import numpy as np
import pytest
import soundfile as sf

import eq
from eq.cli import main
from eq.control import parse_control_line
from eq.errors import InvalidParameterError

RATE = 48000
STREAM = [sys.executable, "-m", "eq", "stream", "-r", str(RATE), "-c", "2", "-f", "s16le"]


def noise_pcm(frames, seed=0):
    return (np.random.default_rng(seed).standard_normal((frames, 2)) * 3000).astype("<i2").tobytes()


class Lines:
    """The lines of a child's pipe, read in a thread; :meth:`next` fails (rather than hangs)
    when none comes in a generous time. No result depends on that time."""

    def __init__(self, pipe):
        self._queue = queue.Queue()
        threading.Thread(target=lambda: [self._queue.put(line) for line in pipe],
                         daemon=True).start()

    def next(self, deadline_s=120.0):
        try:
            return self._queue.get(timeout=deadline_s).decode()
        except queue.Empty:
            pytest.fail("no line came on the child's stderr")


def test_control_pipe_changes_bands_at_the_logged_frame(tmp_path):
    """A change written to the named pipe between two chunks starts at the frame it logs, and
    the whole output equals the library with set_bands at that frame; a bad line is reported
    and the stream goes on."""
    fifo = tmp_path / "eq.ctl"
    os.mkfifo(fifo)
    child = subprocess.Popen(STREAM + ["--band", "peaking:1k:gain=6", "--control", str(fifo)],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    pcm = noise_pcm(9600)
    first = 4801 * 4 + 3  # ends inside a frame: the change reaches the frame being completed
    child.stdin.write(pcm[:first])
    child.stdin.flush()
    out = child.stdout.read(4801 * 4)
    with open(fifo, "w") as control:
        control.write('{"bands": ["peaking:1k:gain=-6:ch=L", "lowshelf:90:gain=3"], '
                      '"ramp_ms": 10}\n{"bands": ["peaking:99k"]}\nnot json\n')
    lines = Lines(child.stderr)
    logged = [lines.next() for _ in range(3)]
    assert "control line 1: change at frame 4801, ramp 10 ms" in logged[0]
    assert "channels L" in logged[0]
    assert "control line 2:" in logged[1] and "Nyquist" in logged[1] and "ignored" in logged[1]
    assert "control line 3: not JSON" in logged[2]
    child.stdin.write(pcm[first:])
    child.stdin.close()
    out += child.stdout.read()
    assert child.wait() == 0
    expected = eq.StreamingEqualizer(RATE, 2, "s16le", [eq.parse_band("peaking:1k:gain=6")])
    expected.set_bands([eq.parse_band("peaking:1k:gain=-6:ch=L"), eq.parse_band("lowshelf:90:gain=3")],
                       at_frame=4801, ramp_ms=10)
    assert out == expected.process(pcm)


def test_control_file_is_followed_as_it_grows(tmp_path):
    """A regular file: lines already there and lines appended later are both applied."""
    control = tmp_path / "changes.jsonl"
    control.write_text('{"index": 0, "band": "peaking:2k:gain=-3", "ramp_ms": 0}\n')
    child = subprocess.Popen(STREAM + ["--band", "peaking:1k:gain=6", "--control", str(control)],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    lines = Lines(child.stderr)
    assert "control line 1: change at frame 0, ramp 0 ms" in lines.next()
    with open(control, "a") as handle:
        handle.write('{"bands": [], "preamp_db": -6}\n')
    second = lines.next()
    assert "control line 2: change at frame 0" in second and "preamp -6 dB; no bands" in second
    child.stdin.write(noise_pcm(100))
    child.stdin.close()
    out = child.stdout.read()
    assert child.wait() == 0
    # both are due on frame 0: the last one wins, and crossfades in over the default 20 ms
    expected = eq.StreamingEqualizer(RATE, 2, "s16le", [eq.parse_band("peaking:1k:gain=6")])
    expected.set_band(0, eq.parse_band("peaking:2k:gain=-3"), ramp_ms=0)
    expected.set_bands([], preamp_db=-6)
    assert out == expected.process(noise_pcm(100))
    assert expected.frames_processed == 100 and expected.bands == ()


def test_control_path_must_exist(tmp_path):
    done = subprocess.run(STREAM + ["--band", "peaking:1k", "--control", str(tmp_path / "nope")],
                          input=b"", capture_output=True)
    assert done.returncode == 1 and b"--control" in done.stderr and b"nope" in done.stderr


@pytest.mark.parametrize("text, words", [
    ("[1, 2]", "JSON object"),
    ('{"bands": [], "speed": 2}', "unknown key(s) 'speed'"),
    ('{"index": 0}', "needs a 'band'"),
    ('{"band": "peaking:1k"}', "needs an 'index'"),
    ('{"bands": [], "index": 0, "band": "peaking:1k"}', "either 'bands'"),
    ('{"bands": "peaking:1k"}', "must be a list"),
    ('{"bands": ["peaking"]}', "TYPE:FREQ"),
    ("{", "not JSON"),
])
def test_control_line_errors_name_what_is_wrong(text, words):
    with pytest.raises(InvalidParameterError) as info:
        parse_control_line(text)
    assert words in str(info.value)


def test_control_line_reads_specs_and_mappings():
    change = parse_control_line(json.dumps(
        {"bands": ["notch:50:q=8:ch=R", {"type": "peaking", "freq_hz": 1000, "gain_db": 2}],
         "ramp_ms": 5, "preamp_db": -1}))
    assert change["bands"][0] == eq.Band("notch", 50.0, q=8.0, channels=["R"])
    assert change["bands"][1] == {"type": "peaking", "freq_hz": 1000, "gain_db": 2}
    assert (change["ramp_ms"], change["preamp_db"], change["index"]) == (5, -1, None)


# --- dither -------------------------------------------------------------------------------------


def test_stream_dither_option_is_the_library_dither(tmp_path):
    pcm = noise_pcm(3000, seed=3)
    done = subprocess.run(STREAM + ["--band", "peaking:1k:gain=-7", "--dither", "tpdf",
                                    "--dither-seed", "42"], input=pcm, capture_output=True)
    assert done.returncode == 0, done.stderr
    expected = eq.StreamingEqualizer(RATE, 2, "s16le", [eq.parse_band("peaking:1k:gain=-7")],
                                     dither="tpdf", dither_seed=42)
    assert done.stdout == expected.process(pcm)
    plain = eq.StreamingEqualizer(RATE, 2, "s16le", [eq.parse_band("peaking:1k:gain=-7")])
    assert done.stdout != plain.process(pcm)


def test_stream_dither_on_a_float_format_is_a_usage_error():
    done = subprocess.run([sys.executable, "-m", "eq", "stream", "-r", "48000", "-c", "1", "-f",
                           "f32le", "--band", "peaking:1k", "--dither", "tpdf"], input=b"",
                          capture_output=True)
    assert done.returncode == 2 and b"f32le samples are not rounded" in done.stderr


@pytest.mark.parametrize("subtype", ["PCM_16", "PCM_24"])
def test_apply_dither_is_the_stream_dither_on_both_file_paths(tmp_path, subtype):
    """A PCM_16 file kept PCM_16 runs the byte kernel; PCM_16 to PCM_24 runs the float path
    and rounds in Python: both add the stream's noise for the same seed and sample index."""
    x = np.random.default_rng(4).uniform(-0.4, 0.4, (5000, 2))
    src = tmp_path / "in.wav"
    sf.write(src, x, RATE, subtype="PCM_16")
    out = tmp_path / "out.wav"
    assert main(["apply", str(src), str(out), "--band", "peaking:1k:gain=-5", "--subtype", subtype,
                 "--dither", "tpdf", "--dither-seed", "9", "-q"]) == 0
    bits = int(subtype[4:])
    fmt = "s16le" if bits == 16 else "s24le"
    pcm = sf.read(src, dtype="int16")[0].astype(np.int64) << (bits - 16)
    data = (pcm.astype("<i2").tobytes() if bits == 16 else
            b"".join(int(v).to_bytes(3, "little", signed=True) for v in pcm.ravel()))
    stream = eq.StreamingEqualizer(RATE, 2, fmt, [eq.parse_band("peaking:1k:gain=-5")],
                                   dither="tpdf", dither_seed=9)
    expected = np.frombuffer(stream.process(data), "<i2") if bits == 16 else np.array(
        [int.from_bytes(b, "little", signed=True) for b in
         (lambda d: [d[i:i + 3] for i in range(0, len(d), 3)])(stream.process(data))])
    got = sf.read(out, dtype="int32")[0].ravel() >> (32 - bits)
    assert np.array_equal(got, expected.reshape(-1))


def test_apply_dither_refuses_float_output(tmp_path, capsys):
    src = tmp_path / "in.wav"
    sf.write(src, np.zeros((100, 1)), RATE, subtype="PCM_16")
    assert main(["apply", str(src), str(tmp_path / "o.wav"), "--band", "peaking:1k",
                 "--subtype", "FLOAT", "--dither", "tpdf"]) == 2
    assert "dither is for integer PCM output" in capsys.readouterr().err


# --- channels on the command line ---------------------------------------------------------------


def test_band_spec_channels_reach_the_stream():
    pcm = noise_pcm(2000, seed=5)
    done = subprocess.run(STREAM + ["--band", "lowshelf:100:gain=6:ch=R"], input=pcm,
                          capture_output=True)
    assert done.returncode == 0, done.stderr
    y = np.frombuffer(done.stdout, "<i2").reshape(-1, 2)
    x = np.frombuffer(pcm, "<i2").reshape(-1, 2)
    assert np.array_equal(y[:, 0], x[:, 0])  # L: no band, bit for bit
    assert not np.array_equal(y[:, 1], x[:, 1])


def test_band_on_a_channel_the_stream_lacks_is_a_usage_error():
    done = subprocess.run(STREAM + ["--band", "lowshelf:100:gain=6:ch=LFE"], input=b"",
                          capture_output=True)
    assert done.returncode == 2 and b"'LFE' (or SUB) does not exist in a 2-channel stream" in done.stderr


def test_response_has_a_column_per_group_of_channels(capsys, tmp_path):
    bands = ["--band", "lowshelf:100:gain=6:ch=L", "--band", "peaking:1k:gain=-3"]
    assert main(["response", *bands, "--rate", "48000", "--freq", "100", "--freq", "1000",
                 "--plot", str(tmp_path / "r.png")]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["freq_hz", "L", "R"]
    rows = {float(line.split()[0]): [float(v) for v in line.split()[1:]] for line in lines[1:]}
    for f, (left, right) in rows.items():
        expect_l = eq.frequency_response_db([eq.parse_band("lowshelf:100:gain=6"),
                                             eq.parse_band("peaking:1k:gain=-3")], RATE, [f])[0]
        expect_r = eq.frequency_response_db([eq.parse_band("peaking:1k:gain=-3")], RATE, [f])[0]
        assert left == pytest.approx(expect_l, abs=0.006)
        assert right == pytest.approx(expect_r, abs=0.006)
    assert (tmp_path / "r.png").stat().st_size > 1000
    assert main(["response", *bands, "--rate", "48000", "--channels", "6", "--freq", "100"]) == 0
    assert capsys.readouterr().out.splitlines()[0].split() == ["freq_hz", "L", "R+C+LFE+RL+RR"]


def test_auto_preamp_takes_the_loudest_channel(capsys):
    assert main(["export", "--to", "apo", "--band", "peaking:1k:gain=4:ch=L",
                 "--band", "peaking:2k:gain=7:ch=R", "--auto-preamp"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Preamp: -7")
    assert "Channel: L\n" in out and "Channel: R\n" in out


def test_export_keeps_channels_for_camilladsp(capsys):
    assert main(["export", "--to", "camilladsp", "--channels", "6", "--band",
                 "lowpass:120:ch=LFE"]) == 0
    from eq.camilladsp import parse_camilladsp

    bands, _ = parse_camilladsp(capsys.readouterr().out)
    assert bands[0].channels == (3,)



def test_export_auto_preamp_without_rate_leaves_bands_beyond_48k_nyquist_out(capsys):
    """Without --rate the preamp is taken at 48 kHz: a 30 kHz band (meant for 96 kHz) is kept
    in the export, said in a notice, and left out of the response's maximum."""
    assert main(["export", "--to", "apo", "--band", "peaking:1k:gain=3",
                 "--band", "highshelf:30k:gain=6", "--auto-preamp"]) == 0
    captured = capsys.readouterr()
    assert "Fc 30000 Hz" in captured.out
    assert "left out of the preamp" in captured.err
    preamp = float(captured.out.splitlines()[0].split()[1])
    expected = -max(eq.frequency_response_db([eq.parse_band("peaking:1k:gain=3")], 48000,
                                             [1000.0]))
    assert preamp == pytest.approx(expected, abs=1e-9)


@pytest.mark.parametrize("text", ['{"ramp_ms": ' + "9" * 5000 + "}", "[" * 100000 + "]" * 100000])
def test_control_lines_json_cannot_read_are_errors_not_crashes(text):
    with pytest.raises(InvalidParameterError):
        parse_control_line(text)


def _wait_for(condition, what, deadline_s=60.0):
    """Poll until `condition()`; the deadline only guards against a hang."""
    import time

    end = time.monotonic() + deadline_s
    while not condition():
        if time.monotonic() > end:
            pytest.fail(f"waited {deadline_s} s for {what}")
        time.sleep(0.02)


def test_control_file_is_followed_when_rewritten_or_replaced(tmp_path):
    """A control file rewritten with '>' or replaced by rename (as editors save) is read again
    from its start; an exception in one line's handling does not stop the reading."""
    from eq.control import ControlReader

    path = tmp_path / "c.jsonl"
    path.write_text('{"n": 1}\n')
    lines, errors = [], []

    def on_line(number, text):
        if "boom" in text:
            raise RuntimeError("boom")
        lines.append(json.loads(text)["n"])

    ControlReader(str(path), on_line, errors.append).start()
    _wait_for(lambda: lines == [1], "the first line")
    path.write_text('{"n": 2}\n')  # '>': the same length, rewritten in place
    _wait_for(lambda: lines == [1, 2], "the rewritten line")
    with open(path, "a") as handle:
        handle.write('{"n": 3}\n{"boom": 1}\n')
    _wait_for(lambda: lines == [1, 2, 3] and errors, "the appended lines")
    assert "RuntimeError: boom; ignored" in errors[0]
    replacement = tmp_path / "c.new"
    replacement.write_text('{"n": 4}\n')
    os.replace(replacement, path)
    _wait_for(lambda: lines == [1, 2, 3, 4], "the replaced file")


def test_files_check_the_dither_seed_even_without_dither(tmp_path):
    src = tmp_path / "in.wav"
    sf.write(src, np.zeros((10, 1)), RATE, subtype="PCM_16")
    with pytest.raises(eq.InvalidTypeError, match="dither_seed"):
        eq.equalize_file(src, tmp_path / "o.wav", [], dither_seed="x")
    with pytest.raises(InvalidParameterError, match="dither_seed"):
        eq.equalize_file(src, tmp_path / "o.wav", [], dither_seed=-1)
    with pytest.raises(InvalidParameterError, match="'bogus'"):
        eq.equalize_file(src, tmp_path / "o.wav", [], subtype="FLOAT", dither="bogus")


def test_camilladsp_step_on_channel_0_alone_is_not_every_channel():
    from eq.camilladsp import parse_camilladsp

    text = ("filters:\n  b: {type: Biquad, parameters: {type: Peaking, freq: 1000, gain: 3, q: 1}}\n"
            "pipeline:\n  - {type: Filter, channels: [0], names: [b]}\n")
    assert parse_camilladsp(text)[0][0].channels == (0,)
    text_all = text.replace("channels: [0], ", "")
    assert parse_camilladsp(text_all)[0][0].channels is None


def test_design_sos_refuses_bands_on_some_channels():
    bands = [eq.parse_band("peaking:1k:gain=3:ch=L"), eq.parse_band("lowshelf:100:gain=2")]
    with pytest.raises(InvalidParameterError, match="channel_groups"):
        eq.design_sos(bands, RATE)
    groups = eq.channel_groups(bands, 2)
    assert [chans for chans, _ in groups] == [(0,), (1,)]
    np.testing.assert_array_equal(eq.design_sos(groups[0][1], RATE)[0],
                                  eq.parse_band("peaking:1k:gain=3").sos(RATE))

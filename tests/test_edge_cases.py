"""Files and command lines off the beaten path: each must give a right result or one clear error."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from scipy.signal import sosfilt

import eq
from eq.cli import main

FIXTURES = Path(__file__).resolve().parent.parent / "audio_fixtures"
MUSIC = FIXTURES / "music_like_stereo_48k.wav"
BOOST = [{"type": "peaking", "freq": 440.0, "q": 1.0, "gain_db": 6.0}]


@pytest.mark.parametrize("subtype", ["ULAW", "ALAW"])
def test_companded_output_saturates_instead_of_wrapping(tmp_path, subtype):
    t = np.arange(8000) / 8000
    x = 0.9 * np.sin(2 * np.pi * 440 * t)
    src = tmp_path / "in.wav"
    sf.write(src, x, 8000, subtype=subtype)
    report = eq.equalize_file(src, tmp_path / "out.wav", BOOST)
    x_read, _ = sf.read(src)
    y, _ = sf.read(tmp_path / "out.wav")
    expected = np.clip(sosfilt(eq.design_sos(BOOST, 8000), x_read), -1, 1)
    assert report.clipped_samples > 0
    # companding keeps about 2 % relative precision near full scale; a wrap is off by ~1
    np.testing.assert_allclose(y, expected, atol=0.05)


def test_subtype_name_is_case_insensitive(tmp_path):
    eq.equalize_file(MUSIC, tmp_path / "a.wav", BOOST, subtype="pcm_16")
    eq.equalize_file(MUSIC, tmp_path / "b.wav", BOOST, subtype="PCM_16")
    assert (tmp_path / "a.wav").read_bytes() == (tmp_path / "b.wav").read_bytes()


def test_apply_reads_a_pipe(tmp_path):
    out = tmp_path / "pipe.wav"
    with open(MUSIC, "rb") as stdin:
        proc = subprocess.run([sys.executable, "-m", "eq", "apply", "/dev/stdin", str(out),
                               "--band", "peaking:440:q=1:gain=6"], stdin=stdin,
                              capture_output=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    eq.equalize_file(MUSIC, tmp_path / "file.wav", BOOST)
    a, _ = sf.read(out, dtype="int16")
    b, _ = sf.read(tmp_path / "file.wav", dtype="int16")
    np.testing.assert_array_equal(a, b)


def test_corrupt_input_is_one_error_and_leaves_no_output(tmp_path, capsys):
    broken = tmp_path / "broken.flac"
    broken.write_bytes((FIXTURES / "pink_noise_6ch_48k_s24.flac").read_bytes()[:100000])
    with pytest.raises(eq.AudioFileError, match="broken.flac"):
        eq.equalize_file(broken, tmp_path / "out.wav", BOOST)
    assert not (tmp_path / "out.wav").exists()
    status = main(["batch", str(broken), str(MUSIC), "-o", str(tmp_path / "b"),
                   "--band", "peaking:1k"])
    captured = capsys.readouterr()
    assert status == 1
    assert (tmp_path / "b" / MUSIC.name).is_file()          # the good file still went through
    assert not (tmp_path / "b" / broken.name).exists()
    assert [line for line in captured.err.splitlines() if line] == [
        line for line in captured.err.splitlines() if line.startswith("eq batch: error:")]


def test_band_spec_reads_back_exactly():
    band = eq.Band("peaking", 1234.5678, 0.70710678, 2.123456789)
    assert eq.parse_band(band.spec()) == band
    assert eq.parse_band("highshelf:10k:q=0.707:gain=3").spec() == "highshelf:10000:q=0.707:gain=3"


def test_absurd_gain_is_rejected_by_name():
    with pytest.raises(eq.InvalidParameterError, match="99999"):
        eq.design_sos([{"type": "peaking", "freq": 1000, "gain_db": 99999}], 48000)


@pytest.mark.parametrize("args, message", [
    (["--rate", "0"], "sample_rate"),
    (["--rate", "48000", "--freq", "30000"], "30000.0 Hz"),
    (["--rate", "48000", "--freq", "nan"], "nan Hz"),
    (["--rate", "48000", "--plot", "x.xyz"], "x.xyz"),
    (["--rate", "48000", "--points", "1"], "--points"),
])
def test_response_errors_are_one_line(capsys, args, message):
    assert main(["response", "--band", "notch:50"] + args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("eq response: error:") and message in err[0]

"""``eq batch`` / ``eq.equalize_files``: several files at once, same bytes as one by one."""

import shutil
from pathlib import Path

import numpy as np
import soundfile as sf

import eq
from eq.cli import main

FIXTURES = Path(__file__).resolve().parent.parent / "audio_fixtures"
PRESET = "vocal-presence"
INPUTS = ["music_like_stereo_48k.wav", "sweep_log_stereo_44k1_s24.wav",
          "pink_noise_6ch_48k_s24.flac", "sweep_log_mono_96k_f32.wav"]


def test_parallel_batch_equals_one_file_at_a_time(tmp_path):
    preset = eq.load_preset(PRESET)
    pairs = [(str(FIXTURES / name), str(tmp_path / "par" / name)) for name in INPUTS]
    (tmp_path / "par").mkdir()
    outcomes = eq.equalize_files(pairs, preset.bands, preset.preamp_db, jobs=2)
    for (src, out), outcome in zip(pairs, outcomes):
        assert outcome.ok and (outcome.in_path, outcome.out_path) == (src, out), outcome
        report = outcome.report
        single = tmp_path / ("single_" + Path(src).name)
        eq.equalize_file(src, single, preset.bands, preset.preamp_db)
        a, rate_a = sf.read(out, dtype="int32" if "FLOAT" not in report.subtype else "float64")
        b, rate_b = sf.read(single, dtype=a.dtype.name)
        assert rate_a == rate_b == sf.info(src).samplerate
        np.testing.assert_array_equal(a, b)
        assert sf.info(out).subtype == sf.info(src).subtype


def test_batch_cli_reports_each_failure_and_goes_on(tmp_path, capsys):
    good = tmp_path / "good.wav"
    shutil.copy(FIXTURES / "music_like_stereo_48k.wav", good)
    low_rate = FIXTURES / "sweep_log_mono_8k_u8.wav"   # the preset's 10 kHz shelf is dropped there
    text = tmp_path / "text.wav"
    text.write_text("not audio")
    status = main(["batch", str(good), str(low_rate), str(tmp_path / "missing.wav"), str(text),
                   "--out-dir", str(tmp_path / "out"), "--preset", PRESET])
    err = capsys.readouterr().err.strip().splitlines()
    assert status == 1
    assert (tmp_path / "out" / "good.wav").is_file()
    assert (tmp_path / "out" / low_rate.name).is_file()
    assert not (tmp_path / "out" / "missing.wav").exists() and not (tmp_path / "out" / text.name).exists()
    errors = [line for line in err if line.startswith("eq batch: error:")]
    assert len(errors) == 2
    assert any("missing.wav" in line for line in errors) and any("text.wav" in line for line in errors)
    assert any("Nyquist" in line and low_rate.name in line for line in err if line not in errors)


def test_batch_refuses_colliding_output_names(tmp_path, capsys):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    for sub in ("a", "b"):
        shutil.copy(FIXTURES / "impulse_mono_48k_f32.wav", tmp_path / sub / "x.wav")
    status = main(["batch", str(tmp_path / "a" / "x.wav"), str(tmp_path / "b" / "x.wav"),
                   "-o", str(tmp_path / "out"), "--band", "peaking:1k:gain=3"])
    assert status == 2  # the command line asks for something impossible
    assert "same file name" in capsys.readouterr().err


def test_report_peak_counts_the_most_negative_sample(tmp_path):
    """The peak of a file pinned at the integer minimum is 0 dBFS, on every path."""
    x = np.full((1000, 2), -32768, dtype=np.int16)
    for subtype, name in (("PCM_16", "s16.wav"), ("PCM_24", "s24.wav")):
        src = tmp_path / name
        sf.write(src, x.astype(np.int32) << 16, 48000, subtype=subtype)
        report = eq.equalize_file(src, tmp_path / ("out_" + name),
                                  [{"type": "lowshelf", "freq": 200, "q": 0.7, "gain_db": 6}])
        assert report.clipped_samples > 0
        assert report.peak_dbfs == 0.0

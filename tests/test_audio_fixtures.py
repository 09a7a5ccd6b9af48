"""The bundled test audio: manifest, reproducibility and physical facts.

The checksums and the physical checks are computed here from the files
themselves (hashlib, soundfile, numpy FFTs); ``generate.py`` is only run as
a subprocess, never imported, so it is not its own oracle.
"""

from __future__ import annotations

import hashlib
import json
import math
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

FIXTURE_DIR = Path(__file__).resolve().parents[1] / "audio_fixtures"
GENERATOR = FIXTURE_DIR / "generate.py"
MANIFEST = json.loads((FIXTURE_DIR / "manifest.json").read_text(encoding="utf-8"))
ENTRIES = {e["name"]: e for e in MANIFEST["files"]}
SAME_LIBSNDFILE = MANIFEST["libsndfile_version"] == sf.__libsndfile_version__
AUDIO_SUFFIXES = (".wav", ".flac")


def _entries(prefix: str = "", subtype: str | None = None) -> list:
    return [
        pytest.param(e, id=e["name"])
        for e in MANIFEST["files"]
        if e["name"].startswith(prefix) and subtype in (None, e["subtype"])
    ]


def _read_float(name: str) -> tuple[np.ndarray, int]:
    """Samples as float64 (frames, channels), full scale 1.0."""
    return sf.read(FIXTURE_DIR / name, dtype="float64", always_2d=True)


def _samples_sha256(path: Path, dtype: str) -> str:
    data, _ = sf.read(path, dtype=dtype, always_2d=True)
    little = np.ascontiguousarray(data, dtype=np.dtype(dtype).newbyteorder("<"))
    return hashlib.sha256(little.tobytes()).hexdigest()


def _db(power_ratio: float) -> float:
    return 10.0 * math.log10(power_ratio)


def _peak_dbfs(x: np.ndarray) -> np.ndarray:
    return 20.0 * np.log10(np.max(np.abs(x), axis=0))


# --------------------------------------------------------------------------
# Manifest against files
# --------------------------------------------------------------------------


def test_manifest_lists_exactly_the_audio_files():
    on_disk = {p.name for p in FIXTURE_DIR.iterdir() if p.suffix in AUDIO_SUFFIXES}
    assert on_disk == set(ENTRIES)


def test_total_size_is_a_few_megabytes():
    total_bytes = sum((FIXTURE_DIR / name).stat().st_size for name in ENTRIES)
    assert total_bytes < 4 * 2**20


def test_quick_start_fixture_is_stereo_48k_s16():
    e = ENTRIES["music_like_stereo_48k.wav"]
    assert (e["sample_rate"], e["channels"], e["subtype"]) == (48000, 2, "PCM_16")


@pytest.mark.parametrize("entry", _entries())
def test_file_sha256_matches_manifest(entry):
    digest = hashlib.sha256((FIXTURE_DIR / entry["name"]).read_bytes()).hexdigest()
    assert digest == entry["sha256"]


@pytest.mark.parametrize("entry", _entries())
def test_soundfile_info_matches_manifest(entry):
    info = sf.info(str(FIXTURE_DIR / entry["name"]))
    assert info.format == entry["format"]
    assert info.subtype == entry["subtype"]
    assert info.samplerate == entry["sample_rate"]
    assert info.channels == entry["channels"]
    assert info.frames == entry["frames"]
    assert entry["name"].endswith(".flac" if entry["format"] == "FLAC" else ".wav")


@pytest.mark.parametrize("entry", _entries())
def test_samples_sha256_matches_manifest(entry):
    dtype = "float32" if entry["subtype"] == "FLOAT" else "int32"
    assert entry["samples_dtype"] == dtype
    assert _samples_sha256(FIXTURE_DIR / entry["name"], dtype) == entry["samples_sha256"]


@pytest.mark.parametrize("entry", _entries(subtype="FLOAT"))
def test_float_samples_lie_on_a_24_bit_grid(entry):
    """Float files hold values exactly representable as 24-bit integers / 2**23."""
    x, _ = sf.read(FIXTURE_DIR / entry["name"], dtype="float32", always_2d=True)
    scaled = x.astype(np.float64) * 2**23
    np.testing.assert_array_equal(scaled, np.rint(scaled))


def _riff_chunks(raw: bytes) -> dict:
    """Map chunk id -> (body offset, size) of a RIFF/WAVE file."""
    assert raw[:4] == b"RIFF" and raw[8:12] == b"WAVE"
    chunks, pos = {}, 12
    while pos + 8 <= len(raw):
        size = int.from_bytes(raw[pos + 4:pos + 8], "little")
        chunks[raw[pos:pos + 4]] = (pos + 8, size)
        pos += 8 + size + (size & 1)
    return chunks


@pytest.mark.parametrize("entry", [p for p in _entries() if p.values[0]["format"] == "WAV"])
def test_wav_headers_hold_nothing_that_varies(entry):
    """No metadata chunks; libsndfile stamps a float file's PEAK chunk with the
    clock, and the generator sets that timestamp to 0."""
    raw = (FIXTURE_DIR / entry["name"]).read_bytes()
    chunks = _riff_chunks(raw)
    if b"PEAK" in chunks:
        body, _ = chunks[b"PEAK"]
        assert raw[body + 4:body + 8] == bytes(4)
    assert set(chunks) <= {b"fmt ", b"fact", b"PEAK", b"data"}


# --------------------------------------------------------------------------
# Reproducibility
# --------------------------------------------------------------------------


def _run_generator(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(GENERATOR), *args],
        capture_output=True, text=True, timeout=300,
    )


def test_generator_reproduces_files_bit_for_bit(tmp_path):
    result = _run_generator("--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    for name, entry in ENTRIES.items():
        fresh, stored = tmp_path / name, FIXTURE_DIR / name
        dtype = "float32" if entry["subtype"] == "FLOAT" else "int32"
        a, rate_a = sf.read(fresh, dtype=dtype, always_2d=True)
        b, rate_b = sf.read(stored, dtype=dtype, always_2d=True)
        assert rate_a == rate_b
        np.testing.assert_array_equal(a, b, err_msg=name)
        if entry["format"] == "WAV" or SAME_LIBSNDFILE:
            assert fresh.read_bytes() == stored.read_bytes(), name
    if SAME_LIBSNDFILE:
        assert (tmp_path / "manifest.json").read_bytes() == (FIXTURE_DIR / "manifest.json").read_bytes()


def test_generator_check_passes():
    result = _run_generator("--check")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "check passed" in result.stdout


def test_generator_check_fails_on_a_changed_file(tmp_path):
    for name in [*ENTRIES, "manifest.json"]:
        shutil.copyfile(FIXTURE_DIR / name, tmp_path / name)
    victim = tmp_path / "sweep_log_mono_48k_s16.wav"
    data = bytearray(victim.read_bytes())
    data[-2] ^= 0x01  # one LSB of the last sample
    victim.write_bytes(bytes(data))
    result = _run_generator("--check", "--out", str(tmp_path))
    assert result.returncode == 1
    assert "sweep_log_mono_48k_s16.wav" in result.stdout


def test_generator_check_fails_on_a_changed_manifest(tmp_path):
    for name in ENTRIES:
        shutil.copyfile(FIXTURE_DIR / name, tmp_path / name)
    manifest = json.loads(json.dumps(MANIFEST))
    manifest["files"][0]["samples_sha256"] = "0" * 64
    (tmp_path / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    result = _run_generator("--check", "--out", str(tmp_path))
    assert result.returncode == 1
    assert manifest["files"][0]["name"] in result.stdout


# --------------------------------------------------------------------------
# Physical facts
# --------------------------------------------------------------------------


@pytest.mark.parametrize("entry", _entries("impulse_"))
def test_impulse_has_exactly_one_nonzero_sample_per_channel(entry):
    x, _ = _read_float(entry["name"])
    index, amplitude = entry["params"]["index"], entry["params"]["amplitude"]
    for ch in range(x.shape[1]):
        nonzero = np.flatnonzero(x[:, ch])
        np.testing.assert_array_equal(nonzero, [index])
        assert x[index, ch] == amplitude  # 0.5 and 1.0 are exact in every format


@pytest.mark.parametrize("entry", _entries("silence_"))
def test_silence_is_all_zero(entry):
    x, _ = sf.read(FIXTURE_DIR / entry["name"], dtype="int32", always_2d=True)
    assert x.shape == (entry["frames"], entry["channels"])
    assert not np.any(x)


def test_unsigned_8_bit_silence_is_stored_as_128():
    """Checked on the raw bytes: the data chunk ends the file."""
    entry = ENTRIES["silence_stereo_8k_u8.wav"]
    raw = (FIXTURE_DIR / entry["name"]).read_bytes()
    n_bytes = entry["frames"] * entry["channels"]
    assert raw[-n_bytes - 4:-n_bytes] == n_bytes.to_bytes(4, "little")  # data chunk size
    assert set(raw[-n_bytes:]) == {128}


@pytest.mark.parametrize("entry", _entries("loud_sine_"))
def test_loud_sine_peak_is_at_its_stated_level(entry):
    x, _ = _read_float(entry["name"])
    stated_dbfs = entry["params"]["peak_dbfs"]
    assert -1.0 < stated_dbfs < 0.0  # a boost of 1 dB is enough to clip
    np.testing.assert_allclose(_peak_dbfs(x), stated_dbfs, atol=0.01)


@pytest.mark.parametrize("entry", _entries("loud_sine_"))
def test_loud_sine_is_a_pure_tone_of_whole_cycles(entry):
    x, fs = _read_float(entry["name"])
    freq_hz = entry["params"]["freq_hz"]
    cycles = len(x) * freq_hz / fs
    assert cycles == round(cycles)
    spectrum = np.abs(np.fft.rfft(x[:, 0])) ** 2
    assert np.argmax(spectrum) == round(cycles)
    assert spectrum[round(cycles)] / spectrum.sum() > 0.999


@pytest.mark.parametrize("entry", _entries("sweep_log_"))
def test_sweep_energy_is_spread_evenly_over_octaves(entry):
    """A log sweep puts the same energy into every octave it crosses."""
    x, fs = _read_float(entry["name"])
    f_start, f_stop = entry["params"]["f_start_hz"], entry["params"]["f_stop_hz"]
    freqs = np.fft.rfftfreq(len(x), 1.0 / fs)
    for ch in range(x.shape[1]):
        power = np.abs(np.fft.rfft(x[:, ch])) ** 2
        # The first octave is skipped: the sweep starts there with few cycles.
        lows = [f_start * 2**k for k in range(1, 20) if f_start * 2 ** (k + 1) <= f_stop]
        assert len(lows) >= 5
        octave_db = np.array(
            [_db(power[(freqs >= lo) & (freqs < 2 * lo)].sum()) for lo in lows])
        np.testing.assert_allclose(octave_db, np.median(octave_db), atol=0.5)
        outside = power[(freqs < f_start / 2) | (freqs > 2 * f_stop)].sum()
        assert outside / power.sum() < 0.01


@pytest.mark.parametrize("entry", _entries("sweep_log_"))
def test_sweep_channel_levels(entry):
    x, _ = _read_float(entry["name"])
    np.testing.assert_allclose(_peak_dbfs(x), entry["params"]["channel_levels_dbfs"], atol=0.1)


def test_white_noise_level_flatness_and_independence():
    entry = ENTRIES["white_noise_stereo_44k1_s16.flac"]
    x, fs = _read_float(entry["name"])
    rms_dbfs = 10 * np.log10(np.mean(x**2, axis=0))
    np.testing.assert_allclose(rms_dbfs, entry["params"]["rms_dbfs"], atol=0.2)
    assert abs(np.corrcoef(x.T)[0, 1]) < 0.05
    freqs = np.fft.rfftfreq(len(x), 1.0 / fs)
    for ch in range(x.shape[1]):
        power = np.abs(np.fft.rfft(x[:, ch])) ** 2
        low = power[(freqs > 100) & (freqs < fs / 4)].mean()
        high = power[(freqs >= fs / 4) & (freqs < fs / 2 - 100)].mean()
        assert abs(_db(high / low)) < 0.5


def test_pink_noise_falls_3_db_per_octave_in_every_channel():
    entry = ENTRIES["pink_noise_6ch_48k_s24.flac"]
    x, fs = _read_float(entry["name"])
    assert x.shape[1] == 6
    params = entry["params"]
    # The sum of `rows` integers of at most 2**row_bits, on a 24-bit scale.
    assert np.max(np.abs(x)) <= params["rows"] * 2.0 ** params["row_bits"] / 2**23
    freqs = np.fft.rfftfreq(len(x), 1.0 / fs)
    band = (freqs > 50) & (freqs < 10000)
    for ch in range(6):
        power = np.abs(np.fft.rfft(x[:, ch])) ** 2
        slope_db_per_octave = np.polyfit(np.log2(freqs[band]), 10 * np.log10(power[band]), 1)[0]
        assert -3.8 < slope_db_per_octave < -2.2, (ch, slope_db_per_octave)
    # Independent channels; compared on first differences, because the few
    # slow cycles of the lowest octaves make the correlation of 0.5 s noisy.
    assert np.max(np.abs(np.corrcoef(np.diff(x, axis=0).T) - np.eye(6))) < 0.05


def test_channel_id_channels_carry_their_own_frequency():
    entry = ENTRIES["channel_id_6ch_48k_s16.wav"]
    x, fs = _read_float(entry["name"])
    freqs_hz = entry["params"]["freqs_hz"]
    bins = [round(f * len(x) / fs) for f in freqs_hz]
    for ch, own_bin in enumerate(bins):
        power = np.abs(np.fft.rfft(x[:, ch])) ** 2
        assert np.argmax(power) == own_bin
        for other in bins:
            if other != own_bin:
                assert power[other] < 1e-6 * power[own_bin]
    np.testing.assert_allclose(_peak_dbfs(x), entry["params"]["level_dbfs"], atol=0.01)


def test_music_like_is_loud_enough_everywhere_and_peaks_as_stated():
    entry = ENTRIES["music_like_stereo_48k.wav"]
    x, fs = _read_float(entry["name"])
    assert np.max(_peak_dbfs(x)) == pytest.approx(entry["params"]["peak_dbfs"], abs=0.01)
    window = fs // 4
    for start in range(0, len(x) - window + 1, window):
        rms_dbfs = 10 * np.log10(np.mean(x[start:start + window] ** 2))
        assert rms_dbfs > -35.0
    assert not np.array_equal(x[:, 0], x[:, 1])

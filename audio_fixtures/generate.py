"""Generate the deterministic test audio in ``audio_fixtures/``.

Every sample is computed as an integer on the target format's grid and
written unchanged, so the files can be reproduced bit for bit:

- ``PCM_16``: ``int16`` values, written as ``int16``;
- ``PCM_24``: 24-bit integers, written as ``int32`` shifted left by 8
  (libsndfile keeps the top 24 bits);
- ``PCM_U8``: integers in ``[-128, 127]``, written as ``int16`` shifted left
  by 8 (libsndfile stores ``(x >> 8) + 128``);
- ``FLOAT``: 24-bit integers divided by ``2**23``, which ``float32`` holds
  exactly (a unit impulse is exactly ``1.0``).

Float64 arithmetic is rounded once, with ``np.rint``; noise comes from
``np.random.default_rng(seed)`` with one fixed seed per file, so adding a
file never changes the others.

Two details keep the bytes stable:

- libsndfile writes a ``PEAK`` chunk into float WAV files whose timestamp
  field is the wall-clock time of writing; the generator sets it to 0.
- FLAC files carry the encoder's vendor string (for example
  ``reference libFLAC 1.4.3 20230623``) and their frames depend on the
  encoder version. Regenerating with the same libsndfile build gives the
  same bytes; with another build only the decoded samples are guaranteed.
  The manifest therefore stores, for every file, ``sha256`` (file bytes)
  and ``samples_sha256`` (decoded samples), and records the libsndfile
  version it was made with; ``--check`` compares FLAC file bytes only when
  that version matches.

``samples_sha256`` is the SHA-256 of the decoded samples as a C-ordered
``(frames, channels)`` array of little-endian ``int32`` (PCM subtypes, read
by soundfile with ``dtype="int32"``, i.e. left-justified) or ``float32``
(``FLOAT``).

Usage::

    python audio_fixtures/generate.py            # write into audio_fixtures/
    python audio_fixtures/generate.py --out DIR  # write elsewhere
    python audio_fixtures/generate.py --check    # regenerate into a temporary
                                                 # directory and compare

Only numpy and soundfile are needed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import struct
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import soundfile as sf

FIXTURE_DIR = Path(__file__).resolve().parent
MANIFEST_NAME = "manifest.json"

# Full-scale value of each PCM subtype's integer grid; FLOAT uses a 24-bit grid.
_GRID_SCALE = {"PCM_U8": 2**7, "PCM_16": 2**15, "PCM_24": 2**23, "FLOAT": 2**23}
_BYTE_EXACT_FORMATS = ("WAV",)


@dataclass(frozen=True)
class Fixture:
    """One file of the set: where it goes, how it is stored, how it is made.

    ``make(fixture, rng)`` returns float64 samples of shape
    ``(frames, channels)`` in ``[-1, 1]``; they are rounded onto the
    subtype's grid by :func:`quantize`. ``params`` go into the manifest
    unchanged so tests can check what the description states.
    """

    name: str
    format: str
    subtype: str
    sample_rate: int
    channels: int
    duration_s: float
    seed: int
    description: str
    make: Callable[["Fixture", np.random.Generator], np.ndarray]
    params: dict = field(default_factory=dict)

    @property
    def frames(self) -> int:
        return int(self.params.get("frames", round(self.duration_s * self.sample_rate)))


# --------------------------------------------------------------------------
# Quantisation and writing
# --------------------------------------------------------------------------


def quantize(x: np.ndarray, subtype: str) -> np.ndarray:
    """Round float samples onto ``subtype``'s grid and return the write array.

    Parameters
    ----------
    x : ndarray, shape (frames, channels)
        Float64 samples, full scale 1.0.
    subtype : str
        ``"PCM_U8"``, ``"PCM_16"``, ``"PCM_24"`` or ``"FLOAT"``.

    Returns
    -------
    ndarray
        ``int16`` for PCM_16 and PCM_U8, ``int32`` for PCM_24, ``float32`` for
        FLOAT, holding exactly the values libsndfile will store.
    """
    scale = _GRID_SCALE[subtype]
    # Integer formats stop one step below full scale; float holds +1.0 exactly.
    top = scale if subtype == "FLOAT" else scale - 1
    ints = np.clip(np.rint(np.asarray(x, dtype=np.float64) * scale), -scale, top)
    ints = ints.astype(np.int64)
    if subtype == "PCM_16":
        return ints.astype(np.int16)
    if subtype == "PCM_U8":
        return (ints << 8).astype(np.int16)
    if subtype == "PCM_24":
        return (ints << 8).astype(np.int32)
    if subtype == "FLOAT":
        return (ints.astype(np.float64) / scale).astype(np.float32)
    raise ValueError(f"unsupported subtype {subtype!r}")


def _zero_peak_timestamp(path: Path) -> None:
    """Set the timestamp of a WAV ``PEAK`` chunk to 0 (libsndfile writes the clock)."""
    data = bytearray(path.read_bytes())
    if data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise ValueError(f"not a RIFF/WAVE file: {str(path)!r}")
    pos = 12
    while pos + 8 <= len(data):
        chunk_id = bytes(data[pos:pos + 4])
        (size,) = struct.unpack_from("<I", data, pos + 4)
        if chunk_id == b"PEAK":
            # PEAK body: version (uint32), timestamp (uint32), then per-channel peaks.
            struct.pack_into("<I", data, pos + 12, 0)
            path.write_bytes(bytes(data))
            return
        pos += 8 + size + (size & 1)


def write_fixture(fixture: Fixture, out_dir: Path) -> Path:
    """Make ``fixture``'s samples, write the file into ``out_dir`` and return its path."""
    rng = np.random.default_rng(fixture.seed)
    x = fixture.make(fixture, rng)
    expected_shape = (fixture.frames, fixture.channels)
    if x.shape != expected_shape:
        raise RuntimeError(f"{fixture.name}: made shape {x.shape}, expected {expected_shape}")
    data = quantize(x, fixture.subtype)
    path = out_dir / fixture.name
    sf.write(path, data, fixture.sample_rate, subtype=fixture.subtype, format=fixture.format)
    if fixture.format == "WAV" and fixture.subtype == "FLOAT":
        _zero_peak_timestamp(path)
    return path


# --------------------------------------------------------------------------
# Checksums and manifest
# --------------------------------------------------------------------------


def file_sha256(path: Path) -> str:
    """SHA-256 of a file's bytes."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def samples_dtype(subtype: str) -> str:
    """The dtype in which ``samples_sha256`` is computed for ``subtype``."""
    return "float32" if subtype in ("FLOAT", "DOUBLE") else "int32"


def samples_sha256(path: Path, subtype: str) -> str:
    """SHA-256 of the decoded samples (see the module docstring for the layout)."""
    dtype = samples_dtype(subtype)
    data, _ = sf.read(path, dtype=dtype, always_2d=True)
    little = np.ascontiguousarray(data, dtype=np.dtype(dtype).newbyteorder("<"))
    return hashlib.sha256(little.tobytes()).hexdigest()


def manifest_entry(fixture: Fixture, path: Path) -> dict:
    """Describe a written file: what soundfile reports plus both checksums."""
    info = sf.info(str(path))
    return {
        "name": fixture.name,
        "format": info.format,
        "subtype": info.subtype,
        "sample_rate": info.samplerate,
        "channels": info.channels,
        "frames": info.frames,
        "duration_s": round(info.frames / info.samplerate, 6),
        "size_bytes": path.stat().st_size,
        "description": fixture.description,
        "params": fixture.params,
        "sha256": file_sha256(path),
        "samples_dtype": samples_dtype(info.subtype),
        "samples_sha256": samples_sha256(path, info.subtype),
    }


def generate(out_dir: Path) -> dict:
    """Write every fixture and ``manifest.json`` into ``out_dir``; return the manifest."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    entries = [manifest_entry(fx, write_fixture(fx, out_dir)) for fx in FIXTURES]
    manifest = {
        "generator": "audio_fixtures/generate.py",
        "libsndfile_version": sf.__libsndfile_version__,
        "checksums": (
            "sha256: file bytes. samples_sha256: decoded samples as a C-ordered "
            "(frames, channels) array of little-endian samples_dtype (int32 "
            "left-justified for PCM, float32 for FLOAT). FLAC file bytes depend "
            "on the encoder build and are compared only with the same "
            "libsndfile_version; WAV bytes always."
        ),
        "byte_exact_formats": list(_BYTE_EXACT_FORMATS),
        "files": entries,
    }
    text = json.dumps(manifest, indent=2) + "\n"
    (out_dir / MANIFEST_NAME).write_text(text, encoding="utf-8")
    return manifest


def compare_manifests(expected: dict, actual: dict) -> list[str]:
    """Differences between a stored manifest and a regenerated one.

    FLAC file bytes are compared only when both were made with the same
    libsndfile version; decoded samples and metadata are always compared.

    Returns
    -------
    list of str
        One line per problem; empty when everything matches.
    """
    problems = []
    same_lib = expected.get("libsndfile_version") == actual.get("libsndfile_version")
    exp = {e["name"]: e for e in expected["files"]}
    act = {e["name"]: e for e in actual["files"]}
    for name in sorted(exp.keys() - act.keys()):
        problems.append(f"{name}: in the manifest but not generated")
    for name in sorted(act.keys() - exp.keys()):
        problems.append(f"{name}: generated but not in the manifest")
    for name in sorted(exp.keys() & act.keys()):
        e, a = exp[name], act[name]
        for key in ("format", "subtype", "sample_rate", "channels", "frames", "samples_sha256"):
            if e[key] != a[key]:
                problems.append(f"{name}: {key} {a[key]!r} != manifest {e[key]!r}")
        bytes_matter = e["format"] in expected.get("byte_exact_formats", _BYTE_EXACT_FORMATS)
        if (bytes_matter or same_lib) and e["sha256"] != a["sha256"]:
            problems.append(f"{name}: sha256 {a['sha256']} != manifest {e['sha256']}")
    return problems


def check_files(directory: Path, manifest: dict) -> list[str]:
    """Differences between the files in ``directory`` and ``manifest``."""
    problems = []
    for entry in manifest["files"]:
        path = Path(directory) / entry["name"]
        if not path.is_file():
            problems.append(f"{entry['name']}: missing from {str(directory)!r}")
        elif file_sha256(path) != entry["sha256"]:
            problems.append(f"{entry['name']}: file bytes differ from the manifest")
    return problems


# --------------------------------------------------------------------------
# Signals (float64, full scale 1.0, shape (frames, channels))
# --------------------------------------------------------------------------


def db_to_amplitude(level_db: float) -> float:
    return 10.0 ** (level_db / 20.0)


def _times_s(fixture: Fixture) -> np.ndarray:
    return np.arange(fixture.frames, dtype=np.float64) / fixture.sample_rate


def _fade(n: int, fade_frames: int) -> np.ndarray:
    """Raised-cosine fade in and out over ``fade_frames`` at each end."""
    env = np.ones(n)
    ramp = 0.5 - 0.5 * np.cos(np.pi * np.arange(fade_frames) / fade_frames)
    env[:fade_frames] = ramp
    env[n - fade_frames:] = ramp[::-1]
    return env


def log_sweep(fixture: Fixture, rng: np.random.Generator) -> np.ndarray:
    """Exponential (Farina) sine sweep from ``f_start_hz`` to ``f_stop_hz``.

    ``x(t) = A sin(2 pi f1 L (exp(t / L) - 1))`` with ``L = T / ln(f2 / f1)``,
    faded in and out over ``fade_s``; channel ``c`` has level
    ``channel_levels_dbfs[c]``.
    """
    p = fixture.params
    f1, f2 = p["f_start_hz"], p["f_stop_hz"]
    t = _times_s(fixture)
    rate_s = fixture.duration_s / math.log(f2 / f1)
    sweep = np.sin(2.0 * np.pi * f1 * rate_s * np.expm1(t / rate_s))
    sweep *= _fade(len(t), round(p["fade_s"] * fixture.sample_rate))
    levels = np.array([db_to_amplitude(v) for v in p["channel_levels_dbfs"]])
    return sweep[:, None] * levels[None, :]


def white_noise(fixture: Fixture, rng: np.random.Generator) -> np.ndarray:
    """Independent Gaussian white noise per channel at ``rms_dbfs``."""
    sigma = db_to_amplitude(fixture.params["rms_dbfs"])
    return sigma * rng.standard_normal((fixture.frames, fixture.channels))


def pink_noise(fixture: Fixture, rng: np.random.Generator) -> np.ndarray:
    """Voss-McCartney pink noise, computed with integers only.

    Row 0 draws a new value every frame; row ``k >= 1`` draws one at the
    frames whose index has exactly ``k - 1`` trailing zero bits (every
    ``2**k`` frames, staggered), and holds it in between. The sum of
    ``rows`` uniform rows falls at about 3 dB per octave over ``rows``
    octaves. Each channel uses its own rows.
    """
    n, rows = fixture.frames, fixture.params["rows"]
    half_range = 2 ** fixture.params["row_bits"]
    frame_index = np.arange(n, dtype=np.int64)
    out = np.zeros((n, fixture.channels), dtype=np.int64)
    for ch in range(fixture.channels):
        total = rng.integers(-half_range, half_range, size=n, endpoint=True)
        for k in range(1, rows):
            values = rng.integers(-half_range, half_range, size=(n >> k) + 2, endpoint=True)
            total += values[(frame_index + (1 << (k - 1))) >> k]
        out[:, ch] = total
    # The sum is an integer on the 24-bit grid; dividing keeps it exact.
    return out.astype(np.float64) / _GRID_SCALE["PCM_24"]


def impulse(fixture: Fixture, rng: np.random.Generator) -> np.ndarray:
    """One sample of ``amplitude`` at ``index`` in every channel, zeros elsewhere."""
    x = np.zeros((fixture.frames, fixture.channels))
    x[fixture.params["index"], :] = fixture.params["amplitude"]
    return x


def silence(fixture: Fixture, rng: np.random.Generator) -> np.ndarray:
    """Digital silence."""
    return np.zeros((fixture.frames, fixture.channels))


def loud_sine(fixture: Fixture, rng: np.random.Generator) -> np.ndarray:
    """A sine at ``peak_dbfs`` whose period is a whole number of frames.

    With ``freq_hz`` dividing the sample rate by a multiple of 4 the crest is
    sampled exactly, so the file's peak equals the stated level up to the
    grid's rounding, and the file holds whole cycles (no click at the ends).
    """
    p = fixture.params
    t = _times_s(fixture)
    x = db_to_amplitude(p["peak_dbfs"]) * np.sin(2.0 * np.pi * p["freq_hz"] * t)
    return np.repeat(x[:, None], fixture.channels, axis=1)


def channel_id(fixture: Fixture, rng: np.random.Generator) -> np.ndarray:
    """Channel ``c`` carries a sine at ``freqs_hz[c]`` (whole cycles), level ``level_dbfs``."""
    p = fixture.params
    t = _times_s(fixture)
    amp = db_to_amplitude(p["level_dbfs"])
    return np.stack([amp * np.sin(2.0 * np.pi * f * t) for f in p["freqs_hz"]], axis=1)


def _midi_hz(note: int) -> float:
    return 440.0 * 2.0 ** ((note - 69) / 12.0)


def music_like(fixture: Fixture, rng: np.random.Generator) -> np.ndarray:
    """Two chords over a bass line, a kick on each chord, hi-hat-like noise bursts.

    Chords of harmonic tones (slightly detuned between left and right for
    width), a sine kick dropping 120 -> 45 Hz, and short high-passed noise
    bursts every quarter second panned alternately; normalised to
    ``peak_dbfs``.
    """
    fs = fixture.sample_rate
    n = fixture.frames
    t = _times_s(fixture)
    out = np.zeros((n, 2))
    chords = [(0.0, [57, 60, 64], 45), (1.0, [53, 57, 60], 41)]  # A minor, F major
    chord_len_s = 1.0
    for start_s, notes, bass in chords:
        i0 = round(start_s * fs)
        i1 = min(n, i0 + round(chord_len_s * fs))
        tt = t[: i1 - i0]
        env = np.minimum(tt / 0.01, 1.0) * np.exp(-tt / 0.8)
        env *= np.minimum((tt[-1] - tt) / 0.02, 1.0)
        for ch, detune in ((0, 1.0), (1, 1.0015)):
            tone = np.zeros_like(tt)
            for note in notes:
                f0 = _midi_hz(note) * detune
                for h in range(1, 7):
                    tone += np.sin(2 * np.pi * h * f0 * tt + 0.3 * h) / h**1.5
            f_bass = _midi_hz(bass)
            tone += 1.5 * (np.sin(2 * np.pi * f_bass * tt) + 0.3 * np.sin(4 * np.pi * f_bass * tt))
            out[i0:i1, ch] += env * tone
        # Kick: an exponentially falling pitch and a 120 ms decay.
        kick_t = tt[: round(0.25 * fs)]
        kick_hz = 45.0 + 75.0 * np.exp(-kick_t / 0.03)
        kick_phase = 2 * np.pi * np.cumsum(kick_hz) / fs
        kick = 3.0 * np.sin(kick_phase) * np.exp(-kick_t / 0.12)
        out[i0:i0 + len(kick), :] += kick[:, None]
    burst_len = round(0.04 * fs)
    burst_env = np.exp(-np.arange(burst_len) / (0.012 * fs))
    for k in range(8):
        noise = np.diff(rng.standard_normal(burst_len + 1))  # first difference: bright
        burst = 0.8 * burst_env * noise
        i0 = round((0.125 + 0.25 * k) * fs)
        pan_left = 0.75 if k % 2 == 0 else 0.25
        out[i0:i0 + burst_len, 0] += pan_left * burst
        out[i0:i0 + burst_len, 1] += (1.0 - pan_left) * burst
    return out * (db_to_amplitude(fixture.params["peak_dbfs"]) / np.max(np.abs(out)))


# --------------------------------------------------------------------------
# The set
# --------------------------------------------------------------------------

FIXTURES: list[Fixture] = [
    Fixture(
        "music_like_stereo_48k.wav", "WAV", "PCM_16", 48000, 2, 2.0, 1,
        "Quick-start material: two chords (A minor, F major) over a bass line with "
        "a kick and hi-hat-like noise bursts, stereo, peak -3 dBFS.",
        music_like, {"peak_dbfs": -3.0},
    ),
    Fixture(
        "sweep_log_mono_48k_s16.wav", "WAV", "PCM_16", 48000, 1, 1.0, 0,
        "Exponential sine sweep 20 Hz - 20 kHz, -6 dBFS, 5 ms raised-cosine fades.",
        log_sweep,
        {"f_start_hz": 20.0, "f_stop_hz": 20000.0, "fade_s": 0.005,
         "channel_levels_dbfs": [-6.0]},
    ),
    Fixture(
        "sweep_log_stereo_44k1_s24.wav", "WAV", "PCM_24", 44100, 2, 1.0, 0,
        "Exponential sine sweep 20 Hz - 20 kHz; left -6 dBFS, right the same "
        "sweep at -12 dBFS (tells the channels apart); 5 ms fades.",
        log_sweep,
        {"f_start_hz": 20.0, "f_stop_hz": 20000.0, "fade_s": 0.005,
         "channel_levels_dbfs": [-6.0, -12.0]},
    ),
    Fixture(
        "sweep_log_mono_96k_f32.wav", "WAV", "FLOAT", 96000, 1, 0.5, 0,
        "Exponential sine sweep 20 Hz - 40 kHz, -6 dBFS, float32 on a 24-bit grid.",
        log_sweep,
        {"f_start_hz": 20.0, "f_stop_hz": 40000.0, "fade_s": 0.005,
         "channel_levels_dbfs": [-6.0]},
    ),
    Fixture(
        "sweep_log_mono_192k_s24.flac", "FLAC", "PCM_24", 192000, 1, 0.25, 0,
        "Short exponential sine sweep 50 Hz - 80 kHz at 192 kHz, -6 dBFS.",
        log_sweep,
        {"f_start_hz": 50.0, "f_stop_hz": 80000.0, "fade_s": 0.002,
         "channel_levels_dbfs": [-6.0]},
    ),
    Fixture(
        "sweep_log_mono_8k_u8.wav", "WAV", "PCM_U8", 8000, 1, 1.0, 0,
        "Exponential sine sweep 20 Hz - 3.6 kHz at 8 kHz, unsigned 8-bit, -6 dBFS.",
        log_sweep,
        {"f_start_hz": 20.0, "f_stop_hz": 3600.0, "fade_s": 0.01,
         "channel_levels_dbfs": [-6.0]},
    ),
    Fixture(
        "white_noise_stereo_44k1_s16.flac", "FLAC", "PCM_16", 44100, 2, 44111 / 44100, 2,
        "Gaussian white noise, independent channels, -18 dBFS RMS (no clipping); "
        "44111 frames, an odd length so block loops see a short last block.",
        white_noise, {"rms_dbfs": -18.0, "frames": 44111},
    ),
    Fixture(
        "pink_noise_6ch_48k_s24.flac", "FLAC", "PCM_24", 48000, 6, 0.5, 3,
        "Pink noise (Voss-McCartney, 12 rows: 1/f down to about 12 Hz, integer "
        "arithmetic), 5.1 with six independent channels, about -18 dBFS RMS; 12 "
        "rows of at most 2**19 keep the peak at or below -2.5 dBFS.",
        pink_noise, {"rows": 12, "row_bits": 19},
    ),
    Fixture(
        "impulse_mono_48k_f32.wav", "WAV", "FLOAT", 48000, 1, 0.25, 0,
        "Unit impulse: 1.0 at frame 0, zeros elsewhere (impulse responses).",
        impulse, {"index": 0, "amplitude": 1.0},
    ),
    Fixture(
        "impulse_mono_44k1_s16.wav", "WAV", "PCM_16", 44100, 1, 0.25, 0,
        "Half-scale impulse: 16384 (0.5) at frame 0, zeros elsewhere; 6 dB of "
        "headroom for boosts.",
        impulse, {"index": 0, "amplitude": 0.5},
    ),
    Fixture(
        "silence_stereo_8k_u8.wav", "WAV", "PCM_U8", 8000, 2, 0.5, 0,
        "Digital silence, unsigned 8-bit (every byte 128).",
        silence,
    ),
    Fixture(
        "silence_6ch_48k_s16.wav", "WAV", "PCM_16", 48000, 6, 0.25, 0,
        "Digital silence, 6 channels.",
        silence,
    ),
    Fixture(
        "loud_sine_1k_m0.5dbfs_stereo_48k_s16.wav", "WAV", "PCM_16", 48000, 2, 0.5, 0,
        "1 kHz sine peaking at -0.5 dBFS in both channels (500 whole cycles): any "
        "boost above 0.5 dB at 1 kHz clips in integer formats.",
        loud_sine, {"freq_hz": 1000.0, "peak_dbfs": -0.5},
    ),
    Fixture(
        "loud_sine_1k_m0.5dbfs_mono_48k_f32.wav", "WAV", "FLOAT", 48000, 1, 0.25, 0,
        "1 kHz sine peaking at -0.5 dBFS, float32: a boost goes past 1.0 and must "
        "not be clipped.",
        loud_sine, {"freq_hz": 1000.0, "peak_dbfs": -0.5},
    ),
    Fixture(
        "channel_id_6ch_48k_s16.wav", "WAV", "PCM_16", 48000, 6, 0.25, 0,
        "5.1 channel identification: channel c (L, R, C, LFE, Ls, Rs) carries a "
        "sine at freqs_hz[c], -12 dBFS, whole cycles; catches swapped or "
        "misaligned channels.",
        channel_id, {"freqs_hz": [200.0, 300.0, 500.0, 700.0, 1100.0, 1300.0],
                     "level_dbfs": -12.0},
    ),
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Generate the deterministic test audio and its manifest.")
    parser.add_argument(
        "--out", type=Path, default=FIXTURE_DIR,
        help="directory to write into (default: the directory of this script); "
             "with --check, the directory whose manifest and files are checked")
    parser.add_argument(
        "--check", action="store_true",
        help="regenerate into a temporary directory and compare with the manifest "
             "in --out (and the files there with the manifest); exit 1 on mismatch")
    args = parser.parse_args(argv)

    if not args.check:
        manifest = generate(args.out)
        total = sum(e["size_bytes"] for e in manifest["files"])
        print(f"wrote {len(manifest['files'])} files ({total} bytes) and "
              f"{MANIFEST_NAME} to {args.out}")
        return 0

    manifest_path = args.out / MANIFEST_NAME
    try:
        stored = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        print(f"generate.py: error: cannot read {str(manifest_path)!r}: {exc}", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory() as tmp:
        fresh = generate(Path(tmp))
    problems = compare_manifests(stored, fresh) + check_files(args.out, stored)
    if stored.get("libsndfile_version") != fresh["libsndfile_version"]:
        print(f"note: manifest made with {stored.get('libsndfile_version')!r}, this is "
              f"{fresh['libsndfile_version']!r}: FLAC compared by decoded samples only")
    for line in problems:
        print(line)
    if problems:
        print(f"check failed: {len(problems)} problem(s)")
        return 1
    print(f"check passed: {len(fresh['files'])} files reproduce the manifest")
    return 0


if __name__ == "__main__":
    sys.exit(main())

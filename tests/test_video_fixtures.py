"""The bundled test video: manifest, reproducibility, physical facts, and ffmpeg's reading.

The plane layout, the checksums and the physical checks are computed here from the
files themselves (hashlib, numpy, the BT.601 matrix as published, the real ffmpeg of
``imageio_ffmpeg``); ``generate.py`` is only run as a subprocess, never imported, so it
is not its own oracle.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

FIXTURE_DIR = Path(__file__).resolve().parents[1] / "video_fixtures"
GENERATOR = FIXTURE_DIR / "generate.py"
MANIFEST = json.loads((FIXTURE_DIR / "manifest.json").read_text(encoding="utf-8"))
ENTRIES = {e["name"]: e for e in MANIFEST["files"]}
NAME_PATTERN = re.compile(r"(gradient|bars|noise)_(\d+)x(\d+)_([a-z0-9]+)\.yuv")

#: Chroma subsampling (log2 across, log2 down) and whether there is an alpha plane,
#: as FFmpeg's pixdesc table defines each format; None for a luma-only format.
LAYOUTS = {
    "gray": (None, False),
    "yuv420p": ((1, 1), False),
    "yuv422p": ((1, 0), False),
    "yuv444p": ((0, 0), False),
    "yuva420p": ((1, 1), True),
    "yuva444p": ((0, 0), True),
}
PLANE_LETTERS = "yuva"

#: ITU-R BT.601 R'G'B' (0..1) to 8-bit limited-range Y'CbCr: offset + matrix @ rgb.
BT601_OFFSET = np.array([16.0, 128.0, 128.0])
BT601_MATRIX = np.array([[65.481, 128.553, 24.966],
                         [-37.797, -74.203, 112.0],
                         [112.0, -93.786, -18.214]])
BAR_UNIT_RGB = {"white": (1, 1, 1), "yellow": (1, 1, 0), "cyan": (0, 1, 1), "green": (0, 1, 0),
                "magenta": (1, 0, 1), "red": (1, 0, 0), "blue": (0, 0, 1), "black": (0, 0, 0)}


def _params(kind: str = "") -> list:
    return [pytest.param(e, id=e["name"]) for e in MANIFEST["files"] if e["name"].startswith(kind)]


def plane_shapes(width_px: int, height_px: int, pix_fmt: str) -> list[tuple[int, int]]:
    """``(rows, columns)`` of each plane: chroma rounded up (``AV_CEIL_RSHIFT``)."""
    chroma, alpha = LAYOUTS[pix_fmt]
    shapes = [(height_px, width_px)]
    if chroma is not None:
        across, down = chroma
        shapes += 2 * [(-(-height_px // 2**down), -(-width_px // 2**across))]
    if alpha:
        shapes.append((height_px, width_px))
    return shapes


def read_planes(entry: dict) -> list[np.ndarray]:
    """The file's planes, each as an array of shape ``(frames, rows, columns)``."""
    shapes = plane_shapes(entry["width"], entry["height"], entry["pix_fmt"])
    frame_bytes = sum(rows * columns for rows, columns in shapes)
    data = np.fromfile(FIXTURE_DIR / entry["name"], dtype=np.uint8).reshape(-1, frame_bytes)
    planes, start = [], 0
    for rows, columns in shapes:
        planes.append(data[:, start:start + rows * columns].reshape(-1, rows, columns))
        start += rows * columns
    return planes


def chi_square_uniform_bytes(values: np.ndarray) -> float:
    """Pearson's chi-square of a byte histogram against the uniform distribution."""
    counts = np.bincount(values.ravel(), minlength=256)
    expected = values.size / 256
    return float(((counts - expected) ** 2 / expected).sum())


# --------------------------------------------------------------------------
# Manifest against files
# --------------------------------------------------------------------------


def test_manifest_lists_exactly_the_video_files():
    on_disk = {p.name for p in FIXTURE_DIR.iterdir() if p.suffix == ".yuv"}
    assert on_disk == set(ENTRIES)
    assert len(ENTRIES) == len(MANIFEST["files"])


def test_total_size_is_small():
    folder_bytes = sum(p.stat().st_size for p in FIXTURE_DIR.iterdir() if p.is_file())
    video_bytes = sum((FIXTURE_DIR / name).stat().st_size for name in ENTRIES)
    assert video_bytes < 64 * 1024
    assert folder_bytes < 200 * 1024


def test_every_format_has_every_kind_odd_and_even_sizes_and_1x1():
    for pix_fmt in LAYOUTS:
        mine = [e for e in MANIFEST["files"] if e["pix_fmt"] == pix_fmt]
        kinds = {e["name"].split("_")[0] for e in mine}
        sizes = {(e["width"], e["height"]) for e in mine}
        assert kinds == {"gradient", "bars", "noise"}, pix_fmt
        assert (1, 1) in sizes, pix_fmt
        assert any(w > 1 and h > 1 and w % 2 and h % 2 for w, h in sizes), pix_fmt
        assert any(w % 2 == 0 and h % 2 == 0 for w, h in sizes), pix_fmt


def test_every_file_is_different():
    digests = [e["sha256"] for e in MANIFEST["files"]]
    assert len(set(digests)) == len(digests)


@pytest.mark.parametrize("entry", _params())
def test_name_states_kind_size_and_format(entry):
    match = NAME_PATTERN.fullmatch(entry["name"])
    assert match, entry["name"]
    assert (int(match[2]), int(match[3]), match[4]) == (entry["width"], entry["height"], entry["pix_fmt"])
    assert entry["pix_fmt"] in LAYOUTS


@pytest.mark.parametrize("entry", _params())
def test_sizes_and_sha256_match_manifest(entry):
    raw = (FIXTURE_DIR / entry["name"]).read_bytes()
    planes = [rows * columns for rows, columns in plane_shapes(entry["width"], entry["height"],
                                                               entry["pix_fmt"])]
    assert entry["plane_bytes"] == planes
    assert entry["frame_bytes"] == sum(planes)
    assert len(raw) == entry["size_bytes"] == entry["frames"] * sum(planes)
    assert 2 <= entry["frames"] <= 3
    assert hashlib.sha256(raw).hexdigest() == entry["sha256"]


def test_plane_sizes_round_chroma_up():
    """The layout of this module, spelled out for the odd sizes of the set."""
    assert plane_shapes(33, 17, "yuv420p") == [(17, 33), (9, 17), (9, 17)]
    assert plane_shapes(33, 17, "yuv422p") == [(17, 33), (17, 17), (17, 17)]
    assert plane_shapes(3, 5, "yuva420p") == [(5, 3), (3, 2), (3, 2), (5, 3)]
    assert plane_shapes(1, 1, "yuv420p") == [(1, 1)] * 3
    assert plane_shapes(17, 9, "gray") == [(9, 17)]
    assert plane_shapes(64, 2, "yuva444p") == [(2, 64)] * 4


# --------------------------------------------------------------------------
# Reproducibility
# --------------------------------------------------------------------------


def _run_generator(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(GENERATOR), *args],
                          capture_output=True, text=True, timeout=120)


def _copy_fixtures(directory: Path) -> None:
    for name in [*ENTRIES, "manifest.json"]:
        shutil.copyfile(FIXTURE_DIR / name, directory / name)


def test_generator_check_passes():
    result = _run_generator("--check")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "check passed" in result.stdout


def test_generator_reproduces_files_and_manifest_bit_for_bit(tmp_path):
    result = _run_generator("--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    for name in [*ENTRIES, "manifest.json"]:
        assert (tmp_path / name).read_bytes() == (FIXTURE_DIR / name).read_bytes(), name
    assert {p.name for p in tmp_path.iterdir()} == {*ENTRIES, "manifest.json"}


def test_generator_check_fails_on_a_changed_file(tmp_path):
    _copy_fixtures(tmp_path)
    victim = tmp_path / "bars_64x2_yuv420p.yuv"
    data = bytearray(victim.read_bytes())
    data[-1] ^= 0x01
    victim.write_bytes(bytes(data))
    result = _run_generator("--check", "--out", str(tmp_path))
    assert result.returncode == 1
    assert "bars_64x2_yuv420p.yuv" in result.stdout
    assert "gradient_33x17_yuv420p.yuv" not in result.stdout


def test_generator_check_fails_on_a_changed_manifest(tmp_path):
    _copy_fixtures(tmp_path)
    manifest = json.loads(json.dumps(MANIFEST))
    manifest["files"][3]["frames"] += 1
    (tmp_path / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    result = _run_generator("--check", "--out", str(tmp_path))
    assert result.returncode == 1
    assert manifest["files"][3]["name"] in result.stdout


def test_generator_check_fails_on_a_file_not_in_the_manifest(tmp_path):
    _copy_fixtures(tmp_path)
    (tmp_path / "stray_2x2_gray.yuv").write_bytes(bytes(8))
    result = _run_generator("--check", "--out", str(tmp_path))
    assert result.returncode == 1
    assert "stray_2x2_gray.yuv" in result.stdout


# --------------------------------------------------------------------------
# Physical facts
# --------------------------------------------------------------------------


@pytest.mark.parametrize("entry", _params("gradient_"))
def test_gradient_rows_are_monotonic_ramps_from_0_to_255(entry):
    directions = [d.split()[1] for d in entry["params"]["planes"]]
    planes = read_planes(entry)
    assert len(directions) == len(planes)
    assert directions[0] == "rising"  # luma
    for plane, direction in zip(planes, directions):
        steps = np.diff(plane.astype(np.int16), axis=2)
        if direction == "rising":
            assert np.all(steps >= 0)
            low, high = plane[:, :, 0], plane[:, :, -1]
        else:
            assert direction == "falling"
            assert np.all(steps <= 0)
            low, high = plane[:, :, -1], plane[:, :, 0]
        assert np.all(low == 0) and np.all(high == 255)  # both clipping ends, every row


@pytest.mark.parametrize("entry", _params("gradient_"))
def test_gradient_planes_hold_every_value_and_frames_differ(entry):
    planes = read_planes(entry)
    for plane in planes:
        np.testing.assert_array_equal(np.unique(plane), np.arange(256))
    raw = np.fromfile(FIXTURE_DIR / entry["name"], dtype=np.uint8).reshape(entry["frames"], -1)
    assert len({frame.tobytes() for frame in raw}) == entry["frames"]


@pytest.mark.parametrize("entry", _params("bars_"))
def test_bars_are_bt601_limited_range_of_their_rgb(entry):
    params = entry["params"]
    assert (params["matrix"], params["range"]) == ("BT.601", "limited")
    assert params["bar_colours"] == list(BAR_UNIT_RGB)
    assert params["rgb_levels"] == [255, 191]  # 100 % and 75 %
    assert params["bar_width_px"] * len(params["bar_colours"]) == entry["width"]
    assert entry["frames"] == len(params["rgb_levels"])
    planes = read_planes(entry)
    chroma, alpha = LAYOUTS[entry["pix_fmt"]]
    across = chroma[0] if chroma else 0
    unit_rgb = np.array([BAR_UNIT_RGB[name] for name in params["bar_colours"]], dtype=np.float64)
    for frame, level in enumerate(params["rgb_levels"]):
        expected = BT601_OFFSET + (level * unit_rgb / 255.0) @ BT601_MATRIX.T  # (bars, 3)
        for p, plane in enumerate(planes[:3]):
            columns = plane.shape[2]
            bar = (np.arange(columns) * 2**(across if p else 0)) // params["bar_width_px"]
            got = plane[frame].astype(np.float64)
            assert np.all(got == got[0]), "a bar is the same down every column"
            np.testing.assert_allclose(got[0], expected[bar, p], atol=1.0, rtol=0)
        if alpha:
            assert np.all(planes[3][frame] == 255)
    luma = planes[0][:, 0, ::params["bar_width_px"]].astype(int)
    assert np.all(np.diff(luma, axis=1) < 0), "white to black, luma falls bar by bar"
    assert luma[0, 0] == 235 and luma[0, -1] == 16  # the ends of limited range


@pytest.mark.parametrize("entry", _params("noise_"))
def test_noise_is_uniform_and_frames_differ(entry):
    raw = np.fromfile(FIXTURE_DIR / entry["name"], dtype=np.uint8)
    if raw.size >= 256:  # at least one byte per value on average
        # For uniform bytes chi-square has mean 255 and standard deviation about 22.6;
        # 8 standard deviations either side: a ramp or a constant fails, chance never does.
        assert 255 - 8 * 22.6 < chi_square_uniform_bytes(raw) < 255 + 8 * 22.6
        x = raw.astype(np.float64) - raw.mean()
        lag1 = (x[1:] * x[:-1]).sum() / (x * x).sum()
        assert abs(lag1) < 8 / np.sqrt(raw.size)
    if entry["frame_bytes"] >= 8:
        frames = raw.reshape(entry["frames"], -1)
        assert len({frame.tobytes() for frame in frames}) == entry["frames"]


def test_all_noise_together_is_uniform_in_every_plane():
    planes = {}
    for entry in ENTRIES.values():
        if entry["name"].startswith("noise_"):
            for p, plane in enumerate(read_planes(entry)):
                planes.setdefault(PLANE_LETTERS[p], []).append(plane.ravel())
    assert set(planes) == set(PLANE_LETTERS)
    for letter, parts in planes.items():
        values = np.concatenate(parts)
        assert values.size > 3 * 256, letter  # 3 or more samples per value on average
        assert 255 - 8 * 22.6 < chi_square_uniform_bytes(values) < 255 + 8 * 22.6, letter


def test_chi_square_bound_rejects_a_ramp_and_a_constant():
    """The control for the noise tests: their bound is not met by regular bytes."""
    ramp = np.tile(np.arange(256, dtype=np.uint8), 4)
    assert chi_square_uniform_bytes(ramp) < 255 - 8 * 22.6
    assert chi_square_uniform_bytes(np.full(1024, 7, dtype=np.uint8)) > 255 + 8 * 22.6


# --------------------------------------------------------------------------
# ffmpeg reads each file as the size and format the manifest states
# --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ffmpeg_exe():
    imageio_ffmpeg = pytest.importorskip("imageio_ffmpeg")
    return imageio_ffmpeg.get_ffmpeg_exe()


def _ffmpeg(exe: str, entry: dict, *output: str, pix_fmt: str | None = None,
            size: str | None = None) -> subprocess.CompletedProcess:
    """Run ffmpeg with the file as raw input, stated format and size unless overridden."""
    cmd = [exe, "-nostdin", "-v", "error", "-threads", "1", "-f", "rawvideo",
           "-pix_fmt", pix_fmt or entry["pix_fmt"], "-s", size or f"{entry['width']}x{entry['height']}",
           "-i", str(FIXTURE_DIR / entry["name"]), *output]
    return subprocess.run(cmd, capture_output=True, check=True, timeout=60)


def _frame_md5s(exe: str, entry: dict, **override) -> tuple[str, list[tuple[int, str]]]:
    """ffmpeg's ``framemd5`` of the file: (dimensions, [(frame size, md5)])."""
    text = _ffmpeg(exe, entry, "-f", "framemd5", "-", **override).stdout.decode()
    dimensions = re.search(r"^#dimensions 0: (\S+)$", text, re.M)[1]
    rows = [line.split(",") for line in text.splitlines() if line and not line.startswith("#")]
    return dimensions, [(int(row[4]), row[5].strip()) for row in rows]


@pytest.mark.parametrize("entry", _params())
def test_ffmpeg_reads_the_stated_frames(entry, ffmpeg_exe):
    raw = (FIXTURE_DIR / entry["name"]).read_bytes()
    dimensions, frames = _frame_md5s(ffmpeg_exe, entry)
    assert dimensions == f"{entry['width']}x{entry['height']}"
    size = entry["frame_bytes"]
    ours = [(size, hashlib.md5(raw[i:i + size]).hexdigest()) for i in range(0, len(raw), size)]
    assert frames == ours
    assert len(frames) == entry["frames"]
    assert _ffmpeg(ffmpeg_exe, entry, "-f", "rawvideo", "-").stdout == raw


@pytest.mark.parametrize("entry", _params())
def test_ffmpeg_finds_the_stated_planes(entry, ffmpeg_exe, tmp_path):
    """ffmpeg's ``extractplanes`` gives, frame by frame, the planes of this module's layout."""
    planes = read_planes(entry)
    letters = PLANE_LETTERS[0] if len(planes) == 1 else PLANE_LETTERS[:len(planes)]
    labels = "".join(f"[{c}]" for c in letters)
    output = ["-filter_complex", f"[0]extractplanes={'+'.join(letters)}{labels}"]
    for c in letters:
        output += ["-map", f"[{c}]", "-f", "rawvideo", "-pix_fmt", "gray", str(tmp_path / f"{c}.raw")]
    _ffmpeg(ffmpeg_exe, entry, *output)
    for c, plane in zip(letters, planes):
        assert (tmp_path / f"{c}.raw").read_bytes() == plane.tobytes(), c


@pytest.mark.parametrize("entry", [p for p in _params("bars_") if p.values[0]["pix_fmt"] != "gray"])
def test_ffmpeg_shows_the_bars_in_their_rgb(entry, ffmpeg_exe):
    """Converted by ffmpeg (BT.601 limited range, its default for YUV input) to RGB, each
    pixel is its bar's RGB within 2."""
    params = entry["params"]
    out = _ffmpeg(ffmpeg_exe, entry, "-sws_flags", "accurate_rnd+full_chroma_int+neighbor",
                  "-f", "rawvideo", "-pix_fmt", "rgb24", "-").stdout
    rgb = np.frombuffer(out, np.uint8).reshape(entry["frames"], entry["height"], entry["width"], 3)
    unit_rgb = np.array([BAR_UNIT_RGB[name] for name in params["bar_colours"]])
    bar = np.arange(entry["width"]) // params["bar_width_px"]
    for frame, level in enumerate(params["rgb_levels"]):
        expected = np.broadcast_to(level * unit_rgb[bar], rgb[frame].shape)
        np.testing.assert_allclose(rgb[frame], expected, atol=2, rtol=0)


def test_ffmpeg_reading_check_can_fail(ffmpeg_exe):
    """The control for the tests above: the same bytes read with another format or size
    give other frames."""
    entry = ENTRIES["gradient_33x17_yuv420p.yuv"]
    _, stated = _frame_md5s(ffmpeg_exe, entry)
    _, as_422 = _frame_md5s(ffmpeg_exe, entry, pix_fmt="yuv422p")
    _, as_other_size = _frame_md5s(ffmpeg_exe, entry, size="32x17")
    assert len(as_422) != entry["frames"]
    assert len(as_other_size) == entry["frames"] and as_other_size != stated

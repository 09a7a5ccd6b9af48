"""Generate the deterministic test video in ``video_fixtures/``.

Every file is raw planar 8-bit video with no header, as ``ffmpeg -f rawvideo``
reads and writes it: frames one after another, each frame its planes in order
(Y, then U and V, then A for ``yuva*``), each plane its rows top to bottom.
Chroma planes are ``ceil(width / 2**sx)`` by ``ceil(height / 2**sy)`` samples,
where ``(sx, sy)`` is ``(1, 1)`` for ``*420p``, ``(1, 0)`` for ``yuv422p`` and
``(0, 0)`` for ``*444p`` (FFmpeg's ``AV_CEIL_RSHIFT``); the alpha plane is the
size of the luma plane.

Three kinds of picture, each in every pixel format:

- ``gradient``: horizontal ramps. Luma, U and alpha rise from 0 at the left
  edge to 255 at the right edge of every row, V falls from 255 to 0; each row
  and each frame is shifted by a fraction of a sample, so every plane holds
  every value 0..255 over the file. Computed in integers only
  (:func:`ramp_plane`).
- ``bars``: eight vertical colour bars, 8 pixels wide, in the order white,
  yellow, cyan, green, magenta, red, blue, black; frame 0 at 100 % RGB level
  (255), frame 1 at 75 % (191). The YCbCr values are BT.601 limited range
  computed from the RGB values (:func:`bt601_limited_ycbcr`); alpha is 255.
- ``noise``: uniform random bytes in every plane, from
  ``np.random.default_rng(seed)`` with the seed stored in the manifest.

``manifest.json`` lists every file with its size, pixel format, frame count,
frame and plane sizes in bytes, a description, the parameters the description
states and the SHA-256 of the file's bytes.

Usage::

    python video_fixtures/generate.py            # write into video_fixtures/
    python video_fixtures/generate.py --out DIR  # write elsewhere
    python video_fixtures/generate.py --check    # regenerate into a temporary
                                                 # directory and compare

Only numpy is needed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

FIXTURE_DIR = Path(__file__).resolve().parent
MANIFEST_NAME = "manifest.json"
SUFFIX = ".yuv"

#: For each pixel format: (log2 chroma subsampling across, log2 down, planes).
PIX_FMTS = {
    "gray": (0, 0, 1),
    "yuv420p": (1, 1, 3),
    "yuv422p": (1, 0, 3),
    "yuv444p": (0, 0, 3),
    "yuva420p": (1, 1, 4),
    "yuva444p": (0, 0, 4),
}

#: The eight bars, left to right, and their RGB as 0/1 per channel.
BAR_COLOURS = {"white": (1, 1, 1), "yellow": (1, 1, 0), "cyan": (0, 1, 1), "green": (0, 1, 0),
               "magenta": (1, 0, 1), "red": (1, 0, 0), "blue": (0, 0, 1), "black": (0, 0, 0)}
BAR_WIDTH_PX = 8
#: RGB level of the bars in each frame: 100 % and 75 % of 255.
BAR_LEVELS = (255, 191)

LAYOUT = (
    "raw planar 8-bit video, no header: frames one after another, each frame its planes "
    "in order (Y, U, V, then A for yuva*), each plane its rows top to bottom; chroma planes "
    "are ceil(width / 2**sx) x ceil(height / 2**sy) with (sx, sy) = (1, 1) for *420p, "
    "(1, 0) for yuv422p, (0, 0) for *444p; alpha is the size of luma"
)


@dataclass(frozen=True)
class Fixture:
    """One file of the set: its picture, size, pixel format and frame count.

    ``make(fixture, rng)`` returns one list of planes per frame, each plane a
    ``uint8`` array of shape ``(rows, columns)`` as :func:`plane_shapes` gives.
    ``params`` go into the manifest unchanged, so tests can check what the
    description states.
    """

    kind: str
    width_px: int
    height_px: int
    pix_fmt: str
    frames: int
    description: str
    make: Callable[["Fixture", np.random.Generator], list]
    params: dict = field(default_factory=dict)

    @property
    def name(self) -> str:
        """File name: ``{kind}_{width}x{height}_{pix_fmt}.yuv``."""
        return f"{self.kind}_{self.width_px}x{self.height_px}_{self.pix_fmt}{SUFFIX}"

    @property
    def seed(self) -> int:
        """The random seed of this file: the CRC-32 of its name (independent of the others)."""
        return zlib.crc32(self.name.encode("ascii"))


# --------------------------------------------------------------------------
# Layout
# --------------------------------------------------------------------------


def plane_shapes(width_px: int, height_px: int, pix_fmt: str) -> list[tuple[int, int]]:
    """The ``(rows, columns)`` of each plane of one frame.

    Parameters
    ----------
    width_px, height_px : int
        Frame size in pixels.
    pix_fmt : str
        One of :data:`PIX_FMTS`.

    Returns
    -------
    list of tuple of int
        Luma first, then U and V (rounded up), then alpha.
    """
    shift_x, shift_y, n_planes = PIX_FMTS[pix_fmt]
    chroma = (-(-height_px >> shift_y), -(-width_px >> shift_x))
    return [(height_px, width_px), chroma, chroma, (height_px, width_px)][:n_planes]


def plane_bytes(width_px: int, height_px: int, pix_fmt: str) -> list[int]:
    """Bytes of each plane of one frame.

    Parameters
    ----------
    width_px, height_px : int
        Frame size in pixels.
    pix_fmt : str
        One of :data:`PIX_FMTS`.

    Returns
    -------
    list of int
        ``rows * columns`` of each plane of :func:`plane_shapes`.
    """
    return [rows * columns for rows, columns in plane_shapes(width_px, height_px, pix_fmt)]


def write_fixture(fixture: Fixture, out_dir: Path) -> Path:
    """Make ``fixture``'s frames, write them into ``out_dir`` and return the path.

    Parameters
    ----------
    fixture : Fixture
        The file to make.
    out_dir : Path
        An existing directory.

    Returns
    -------
    Path
        The written file, ``out_dir / fixture.name``.

    Raises
    ------
    RuntimeError
        If the picture function returns the wrong number of frames or planes,
        or a plane of the wrong shape or type.
    """
    rng = np.random.default_rng(fixture.seed)
    frames = fixture.make(fixture, rng)
    shapes = plane_shapes(fixture.width_px, fixture.height_px, fixture.pix_fmt)
    if len(frames) != fixture.frames:
        raise RuntimeError(f"{fixture.name}: made {len(frames)} frames, expected {fixture.frames}")
    chunks = []
    for index, planes in enumerate(frames):
        got = [(p.shape, p.dtype) for p in planes]
        if got != [(shape, np.dtype(np.uint8)) for shape in shapes]:
            raise RuntimeError(f"{fixture.name}: frame {index} has planes {got}, expected {shapes}")
        chunks.extend(np.ascontiguousarray(p).tobytes() for p in planes)
    path = Path(out_dir) / fixture.name
    path.write_bytes(b"".join(chunks))
    return path


# --------------------------------------------------------------------------
# Checksums and manifest
# --------------------------------------------------------------------------


def file_sha256(path: Path) -> str:
    """SHA-256 of a file's bytes, as 64 hexadecimal digits."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def manifest_entry(fixture: Fixture, path: Path) -> dict:
    """Describe a written file: size, layout, description, parameters and checksum.

    Parameters
    ----------
    fixture : Fixture
        What the file was made from.
    path : Path
        The written file.

    Returns
    -------
    dict
        The file's entry of ``manifest.json``.
    """
    planes = plane_bytes(fixture.width_px, fixture.height_px, fixture.pix_fmt)
    params = dict(fixture.params)
    if fixture.kind == "noise":
        params["seed"] = fixture.seed
    return {
        "name": fixture.name,
        "width": fixture.width_px,
        "height": fixture.height_px,
        "pix_fmt": fixture.pix_fmt,
        "frames": fixture.frames,
        "plane_bytes": planes,
        "frame_bytes": sum(planes),
        "size_bytes": Path(path).stat().st_size,
        "description": fixture.description,
        "params": params,
        "sha256": file_sha256(path),
    }


def generate(out_dir: Path) -> dict:
    """Write every fixture and ``manifest.json`` into ``out_dir``.

    Parameters
    ----------
    out_dir : Path
        Created if missing; files of the same names are overwritten.

    Returns
    -------
    dict
        The manifest written.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    entries = [manifest_entry(fx, write_fixture(fx, out_dir)) for fx in FIXTURES]
    manifest = {
        "generator": "video_fixtures/generate.py",
        "layout": LAYOUT,
        "checksums": "sha256: file bytes",
        "files": entries,
    }
    text = json.dumps(manifest, indent=2) + "\n"
    (out_dir / MANIFEST_NAME).write_text(text, encoding="utf-8")
    return manifest


def compare_manifests(expected: dict, actual: dict) -> list[str]:
    """Differences between a stored manifest and a regenerated one.

    Parameters
    ----------
    expected : dict
        The stored manifest.
    actual : dict
        The manifest of a fresh set.

    Returns
    -------
    list of str
        One line per problem, naming the file; empty when everything matches.
    """
    problems = []
    exp = {e["name"]: e for e in expected.get("files", [])}
    act = {e["name"]: e for e in actual["files"]}
    for name in sorted(exp.keys() - act.keys()):
        problems.append(f"{name}: in the manifest but not generated")
    for name in sorted(act.keys() - exp.keys()):
        problems.append(f"{name}: generated but not in the manifest")
    for name in sorted(exp.keys() & act.keys()):
        e, a = exp[name], act[name]
        for key in sorted(e.keys() | a.keys()):
            if e.get(key) != a.get(key):
                problems.append(f"{name}: {key} {a.get(key)!r} != manifest {e.get(key)!r}")
    for key in sorted((expected.keys() | actual.keys()) - {"files"}):
        if expected.get(key) != actual.get(key):
            problems.append(f"{MANIFEST_NAME}: {key} differs from the regenerated one")
    return problems


def compare_files(directory: Path, fresh_dir: Path, manifest: dict) -> list[str]:
    """Differences between the files in ``directory``, ``manifest`` and a fresh set.

    Parameters
    ----------
    directory : Path
        The directory checked.
    fresh_dir : Path
        A directory the same fixtures were just generated into.
    manifest : dict
        The manifest stored in ``directory``.

    Returns
    -------
    list of str
        One line per problem, naming the file; empty when everything matches.
    """
    problems = []
    listed = {e["name"] for e in manifest.get("files", [])}
    for path in sorted(Path(directory).glob(f"*{SUFFIX}")):
        if path.name not in listed:
            problems.append(f"{path.name}: in {str(directory)!r} but not in the manifest")
    for entry in manifest.get("files", []):
        path = Path(directory) / entry["name"]
        if not path.is_file():
            problems.append(f"{entry['name']}: missing from {str(directory)!r}")
            continue
        if file_sha256(path) != entry["sha256"]:
            problems.append(f"{entry['name']}: file bytes differ from the manifest")
        fresh = Path(fresh_dir) / entry["name"]
        if fresh.is_file() and fresh.read_bytes() != path.read_bytes():
            problems.append(f"{entry['name']}: file bytes differ from the regenerated file")
    return problems


# --------------------------------------------------------------------------
# Pictures (each returns a list of frames, each a list of uint8 planes)
# --------------------------------------------------------------------------


def ramp_plane(rows: int, columns: int, frame: int, frames: int, rising: bool = True) -> np.ndarray:
    """A horizontal ramp, 0 at column 0 and 255 at the last column of every row.

    Sample ``(y, x)`` of frame ``f`` is ``255 * (x - 1 + k / K) / (columns - 3)``
    rounded half up and clipped to 0..255, with ``K = frames * rows`` and
    ``k = f * rows + y``: each row and frame is shifted right by ``1 / K``
    of a sample against the one before, so together they hold every value
    when ``255 / ((columns - 3) * K) <= 1``. ``rising=False`` gives
    ``255 -`` the ramp. Integer arithmetic only.

    Parameters
    ----------
    rows, columns : int
        Plane size in samples; ``columns >= 4``.
    frame, frames : int
        This frame's index and the number of frames.
    rising : bool
        Whether the ramp rises from left to right.

    Returns
    -------
    ndarray of uint8, shape (rows, columns)
    """
    if columns < 4:
        raise ValueError(f"a ramp needs at least 4 columns, got {columns}")
    steps = frames * rows
    shift = frame * rows + np.arange(rows, dtype=np.int64)[:, None]
    numerator = 255 * ((np.arange(columns, dtype=np.int64)[None, :] - 1) * steps + shift)
    denominator = (columns - 3) * steps
    values = np.clip((2 * numerator + denominator) // (2 * denominator), 0, 255)
    if not rising:
        values = 255 - values
    return values.astype(np.uint8)


def gradient(fixture: Fixture, rng: np.random.Generator) -> list:
    """Luma, U and alpha ramps rising left to right, V falling (see :func:`ramp_plane`).

    Parameters
    ----------
    fixture : Fixture
        The file: size, pixel format, frame count, parameters.
    rng : numpy.random.Generator
        Seeded with ``fixture.seed``; not used.

    Returns
    -------
    list of list of ndarray
        For each frame, its planes as ``uint8`` arrays of shape ``(rows, columns)``.
    """
    shapes = plane_shapes(fixture.width_px, fixture.height_px, fixture.pix_fmt)
    rising = (True, True, False, True)
    return [[ramp_plane(rows, columns, f, fixture.frames, rising[p])
             for p, (rows, columns) in enumerate(shapes)]
            for f in range(fixture.frames)]


def bt601_limited_ycbcr(rgb: np.ndarray) -> np.ndarray:
    """8-bit R'G'B' to 8-bit BT.601 limited-range Y'CbCr, rounded half up.

    ``Y = 16 + 219 * E_Y``, ``Cb = 128 + 224 * (E_B - E_Y) / 1.772``,
    ``Cr = 128 + 224 * (E_R - E_Y) / 1.402``, with ``E = value / 255`` and
    ``E_Y = 0.299 E_R + 0.587 E_G + 0.114 E_B``.

    Parameters
    ----------
    rgb : array_like, shape (..., 3)
        R, G, B in 0..255.

    Returns
    -------
    ndarray of uint8, shape (..., 3)
        Y in 16..235, Cb and Cr in 16..240.
    """
    e = np.asarray(rgb, dtype=np.float64) / 255.0
    e_y = 0.299 * e[..., 0] + 0.587 * e[..., 1] + 0.114 * e[..., 2]
    ycbcr = np.stack([16.0 + 219.0 * e_y,
                      128.0 + 224.0 * (e[..., 2] - e_y) / 1.772,
                      128.0 + 224.0 * (e[..., 0] - e_y) / 1.402], axis=-1)
    return np.floor(ycbcr + 0.5).astype(np.uint8)


def bars(fixture: Fixture, rng: np.random.Generator) -> list:
    """Eight vertical bars of ``BAR_WIDTH_PX``; frame ``f`` at RGB level ``rgb_levels[f]``.

    Bar ``i`` of frame ``f`` has RGB ``rgb_levels[f] * BAR_COLOURS[bar_colours[i]]``.

    Each chroma sample takes the bar of the luma column it starts at (the bars
    are an even number of pixels wide, so it covers no other bar); alpha is 255.

    Parameters
    ----------
    fixture : Fixture
        The file: size, pixel format, frame count, parameters.
    rng : numpy.random.Generator
        Seeded with ``fixture.seed``; not used.

    Returns
    -------
    list of list of ndarray
        For each frame, its planes as ``uint8`` arrays of shape ``(rows, columns)``.
    """
    shapes = plane_shapes(fixture.width_px, fixture.height_px, fixture.pix_fmt)
    shift_x = PIX_FMTS[fixture.pix_fmt][0]
    frames = []
    units = np.array([BAR_COLOURS[name] for name in fixture.params["bar_colours"]])
    for level in fixture.params["rgb_levels"]:
        ycbcr = bt601_limited_ycbcr(level * units)  # (bars, 3)
        planes = []
        for p, (rows, columns) in enumerate(shapes):
            if p == 3:
                planes.append(np.full((rows, columns), 255, dtype=np.uint8))
                continue
            shift = shift_x if p in (1, 2) else 0
            bar_of_column = (np.arange(columns) << shift) // BAR_WIDTH_PX
            planes.append(np.tile(ycbcr[bar_of_column, p], (rows, 1)).astype(np.uint8))
        frames.append(planes)
    return frames


def noise(fixture: Fixture, rng: np.random.Generator) -> list:
    """Independent uniform random bytes 0..255 in every sample of every plane.

    Parameters
    ----------
    fixture : Fixture
        The file: size, pixel format, frame count, parameters.
    rng : numpy.random.Generator
        Seeded with ``fixture.seed``: the only source of the bytes.

    Returns
    -------
    list of list of ndarray
        For each frame, its planes as ``uint8`` arrays of shape ``(rows, columns)``.
    """
    shapes = plane_shapes(fixture.width_px, fixture.height_px, fixture.pix_fmt)
    return [[rng.integers(0, 256, size=shape, dtype=np.uint8) for shape in shapes]
            for _ in range(fixture.frames)]


# --------------------------------------------------------------------------
# The set: every kind in every pixel format
# --------------------------------------------------------------------------


def _fixtures() -> list[Fixture]:
    """Gradients, bars and noise at three sizes, each in every pixel format, in that order."""
    out = []
    for pix_fmt in PIX_FMTS:
        chroma = "" if pix_fmt == "gray" else ", U rising, V falling"
        alpha = ", alpha rising" if pix_fmt.startswith("yuva") else ""
        out.append(Fixture(
            "gradient", 33, 17, pix_fmt, 3,
            f"Horizontal ramps 0 to 255 along every row (luma rising{chroma}{alpha}), shifted "
            "by a fraction of a sample from row to row and frame to frame: every plane holds "
            "every value 0..255, and 0 and 255 at the ends of every row.",
            gradient, {"planes": list(("luma rising", "U rising", "V falling", "alpha rising")
                                      [:PIX_FMTS[pix_fmt][2]])}))
    for pix_fmt in PIX_FMTS:
        out.append(Fixture(
            "bars", 64, 2, pix_fmt, 2,
            "Eight 8-pixel colour bars (white, yellow, cyan, green, magenta, red, blue, black), "
            "BT.601 limited range from their RGB; frame 0 at 100 % RGB level, frame 1 at 75 %"
            + ("; alpha 255." if pix_fmt.startswith("yuva") else
               " (luma only)." if pix_fmt == "gray" else "."),
            bars, {"bar_width_px": BAR_WIDTH_PX, "bar_colours": list(BAR_COLOURS),
                   "rgb_levels": list(BAR_LEVELS), "matrix": "BT.601", "range": "limited"}))
    for width_px, height_px in ((17, 9), (3, 5), (1, 1)):
        for pix_fmt in PIX_FMTS:
            out.append(Fixture(
                "noise", width_px, height_px, pix_fmt, 3,
                "Uniform random bytes 0..255 in every sample of every plane.",
                noise))
    return out


FIXTURES: list[Fixture] = _fixtures()


def main(argv: list[str] | None = None) -> int:
    """Write the fixtures, or with ``--check`` compare them with a fresh set.

    Returns
    -------
    int
        The exit status: 0, or 1 when ``--check`` finds a difference.
    """
    parser = argparse.ArgumentParser(
        description="Generate the deterministic test video and its manifest.")
    parser.add_argument(
        "--out", type=Path, default=FIXTURE_DIR,
        help="directory to write into (default: the directory of this script); "
             "with --check, the directory whose manifest and files are checked")
    parser.add_argument(
        "--check", action="store_true",
        help="regenerate into a temporary directory and compare with the manifest and "
             "files in --out; exit 1 on any difference")
    args = parser.parse_args(argv)

    if not args.check:
        manifest = generate(args.out)
        total_bytes = sum(e["size_bytes"] for e in manifest["files"])
        print(f"wrote {len(manifest['files'])} files ({total_bytes} bytes) and "
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
        problems = compare_manifests(stored, fresh) + compare_files(args.out, Path(tmp), stored)
    for line in problems:
        print(line)
    if problems:
        print(f"check failed: {len(problems)} problem(s)")
        return 1
    print(f"check passed: {len(fresh['files'])} files reproduce the manifest")
    return 0


if __name__ == "__main__":
    sys.exit(main())

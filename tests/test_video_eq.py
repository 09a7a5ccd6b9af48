"""The streaming video equalizer against the real ``ffmpeg -vf eq``, its oracle."""

import array
import json
import math
import subprocess
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eq.errors import EqError, IncompleteFrameError, InvalidParameterError, InvalidTypeError
from eq.video import PARAM_RANGES, PIX_FMTS, StreamingVideoEqualizer, plane_tables

imageio_ffmpeg = pytest.importorskip("imageio_ffmpeg")
FFMPEG = imageio_ffmpeg.get_ffmpeg_exe()

#: The test frames: raw video files with a manifest (``video_fixtures/README.md``).
FIXTURE_DIR = Path(__file__).resolve().parents[1] / "video_fixtures"
FIXTURES = json.loads((FIXTURE_DIR / "manifest.json").read_text(encoding="utf-8"))["files"]

#: Sizes every pixel format has a fixture of (odd, even, one pixel), besides its 33x17 gradient.
SIZES = [(1, 1), (3, 5), (17, 9), (64, 2)]


def read_fixture(entry):
    """The bytes of one fixture file, checked against the manifest's size."""
    data = (FIXTURE_DIR / entry["name"]).read_bytes()
    assert len(data) == entry["frames"] * entry["frame_bytes"], entry["name"]
    return data


def fixture_named(kind, pix_fmt):
    """The one fixture entry of this kind (``gradient``, ``bars``) and pixel format."""
    (entry,) = [e for e in FIXTURES if e["name"].startswith(kind + "_") and e["pix_fmt"] == pix_fmt]
    return entry


def fixture_planes(entry):
    """The planes of a fixture, each an array of shape ``(frames, plane bytes)``, as
    :class:`StreamingVideoEqualizer` lays out a frame."""
    eqv = StreamingVideoEqualizer(entry["width"], entry["height"], entry["pix_fmt"])
    frames = np.frombuffer(read_fixture(entry), np.uint8).reshape(entry["frames"], eqv.frame_bytes)
    bounds = np.cumsum((0,) + eqv.plane_bytes)
    return [frames[:, start:stop] for start, stop in zip(bounds[:-1], bounds[1:])]


def _fixture_params(entries):
    return [pytest.param(e, id=e["name"]) for e in entries]


# Covers copy, the integer path (process_c) and the table (create_lut) on luma
# and chroma; clipping at both ends; negative contrast; the |contrast| < 7.9
# boundary; saturation 0/1/3; gamma_weight 0/0.5/1; FFmpeg's range limits.
PARAM_GRID = [
    {},
    {"contrast": 2.0},
    {"contrast": -1.5, "brightness": 0.2},
    {"brightness": 1.0},
    {"brightness": -1.0, "contrast": 0.7},
    {"brightness": 0.005},
    {"saturation": 0.0},
    {"saturation": 3.0, "contrast": 0.5},
    {"gamma": 2.2, "gamma_weight": 0.5},
    {"gamma": 0.4, "gamma_weight": 0.0, "contrast": 1.3, "brightness": -0.1},
    {"gamma_r": 2.0, "gamma_g": 1.5, "gamma_b": 0.5},
    {"contrast": 8.0, "saturation": 2.5, "gamma_b": 1.3},
    {"contrast": -7.89, "brightness": 0.5},
    {"contrast": 1000.0, "brightness": -1.0, "gamma": 10.0, "gamma_weight": 1.0},
    {"contrast": -1000.0, "saturation": 0.1, "gamma_g": 0.1, "gamma_r": 10.0},
]


def ffmpeg_eq(data, pix_fmt, width, height, params, loglevel="error"):
    """``ffmpeg -vf eq`` on raw frames: (output bytes, stderr text)."""
    vf = "eq=" + ":".join(f"{name}={value!r}" for name, value in {"contrast": 1.0, **params}.items())
    cmd = [FFMPEG, "-nostdin", "-v", loglevel, "-threads", "1", "-f", "rawvideo", "-pix_fmt", pix_fmt,
           "-s", f"{width}x{height}", "-i", "-", "-vf", vf, "-f", "rawvideo", "-pix_fmt", pix_fmt, "-"]
    done = subprocess.run(cmd, input=data, capture_output=True, check=True, timeout=60)
    return done.stdout, done.stderr.decode(errors="replace")


@pytest.mark.parametrize("entry", _fixture_params(FIXTURES))
def test_bit_exact_with_ffmpeg(entry):
    """Each fixture file (ramps, bars, noise; every format; odd, even and 1x1 sizes; 2-3 frames)
    through every setting of PARAM_GRID: the same bytes as ``ffmpeg -vf eq``."""
    width, height, pix_fmt = entry["width"], entry["height"], entry["pix_fmt"]
    data = read_fixture(entry)
    for params in PARAM_GRID:
        eqv = StreamingVideoEqualizer(width, height, pix_fmt, **params)
        expected, _ = ffmpeg_eq(data, pix_fmt, width, height, params)
        got = eqv.process(data)
        assert len(expected) == len(data)
        if got != expected:
            a, b = np.frombuffer(got, np.uint8), np.frombuffer(expected, np.uint8)
            where = np.flatnonzero(a != b)
            pytest.fail(f"{entry['name']} {params}: {where.size} bytes differ, "
                        f"first at {where[:5]} (ours {a[where[:5]]}, ffmpeg {b[where[:5]]})")


@pytest.mark.parametrize("pix_fmt", sorted(PIX_FMTS))
def test_fixtures_cover_every_size_and_every_value_of_every_plane(pix_fmt):
    """What the grid above runs on: in every format, the sizes of SIZES (odd, even, 1x1) and an
    odd one with rounded-up chroma, two frames or more per file, and every byte value in every
    plane (the gradient has them all)."""
    mine = [e for e in FIXTURES if e["pix_fmt"] == pix_fmt]
    sizes = {(e["width"], e["height"]) for e in mine}
    assert set(SIZES) | {(33, 17)} <= sizes
    assert all(e["frames"] >= 2 for e in mine)
    planes = fixture_planes(fixture_named("gradient", pix_fmt))
    assert len(planes) == PIX_FMTS[pix_fmt][2]
    for plane in planes:
        np.testing.assert_array_equal(np.unique(plane), np.arange(256))


def test_fixtures_are_in_the_formats_of_eq_video():
    assert {e["pix_fmt"] for e in FIXTURES} == set(PIX_FMTS)


@pytest.mark.parametrize("pix_fmt", sorted(PIX_FMTS))
def test_grid_clips_at_both_ends_on_both_paths(pix_fmt):
    """On the fixtures of each format, the grid maps inputs 1..254 to 0 and to 255 through the
    integer path and through the table, on luma and (where there is one) on chroma."""
    values = [set(), set(), set()]
    for entry in (e for e in FIXTURES if e["pix_fmt"] == pix_fmt):
        for p, plane in enumerate(fixture_planes(entry)[:3]):
            values[p].update(np.unique(plane).tolist())
    clipped = set()
    for params in PARAM_GRID:
        tables, paths = plane_tables(pix_fmt, **params)
        for p in range(min(3, len(paths))):
            inner = np.array(sorted(values[p] - {0, 255}))
            out = tables[p][inner]
            for end in (0, 255):
                if np.any(out == end):
                    clipped.add(("luma" if p == 0 else "chroma", paths[p], end))
    planes = ("luma",) if pix_fmt == "gray" else ("luma", "chroma")
    assert clipped == {(plane, path, end) for plane in planes
                       for path in ("integer", "lut") for end in (0, 255)}


def test_grid_covers_every_path():
    seen = set()
    for params in PARAM_GRID:
        seen.update(plane_tables("yuv420p", **params)[1])
    assert seen == {"copy", "integer", "lut"}


def test_tables_exhaustive_random_settings():
    """Every input value of every plane, for random settings: the yuva444p gradient fixture holds
    each value in each plane."""
    rng = np.random.default_rng(11)
    entry = fixture_named("gradient", "yuva444p")
    for plane in fixture_planes(entry):
        np.testing.assert_array_equal(np.unique(plane), np.arange(256))
    frames = read_fixture(entry)
    width, height = entry["width"], entry["height"]
    for _ in range(40):
        params = {}
        for name, (low, high) in PARAM_RANGES.items():
            if rng.random() < 0.3:
                continue
            if name == "contrast" and rng.random() < 0.9:
                low, high = -9.0, 9.0
            params[name] = round(float(rng.uniform(low, high)), int(rng.integers(1, 6)))
        eqv = StreamingVideoEqualizer(width, height, "yuva444p", **params)
        assert eqv.process(frames) == ffmpeg_eq(frames, "yuva444p", width, height, params)[0], params


@pytest.mark.parametrize("pix_fmt", sorted(PIX_FMTS))
def test_ffmpeg_inserts_no_conversion(pix_fmt):
    entry = fixture_named("noise_3x5", pix_fmt)
    _, log = ffmpeg_eq(read_fixture(entry), pix_fmt, 3, 5, {"gamma": 1.5}, loglevel="verbose")
    assert f"pixfmt:{pix_fmt} " in log
    assert "auto-inserting" not in log


def test_conversion_check_can_fail():
    """The control for the test above: a format eq refuses gets a scaler, and the log says so."""
    _, log = ffmpeg_eq(bytes(45), "rgb24", 5, 3, {"gamma": 1.5}, loglevel="verbose")
    assert "auto-inserting filter 'auto_scale" in log


@pytest.mark.parametrize("pix_fmt, width, height, planes", [
    ("gray", 17, 9, (153,)),
    ("yuv420p", 17, 9, (153, 45, 45)),
    ("yuv422p", 17, 9, (153, 81, 81)),
    ("yuv444p", 17, 9, (153, 153, 153)),
    ("yuva420p", 3, 5, (15, 6, 6, 15)),
    ("yuva444p", 1, 1, (1, 1, 1, 1)),
    ("yuv420p", 1, 1, (1, 1, 1)),
])
def test_plane_sizes(pix_fmt, width, height, planes):
    eqv = StreamingVideoEqualizer(width, height, pix_fmt)
    assert eqv.plane_bytes == planes
    assert eqv.frame_bytes == sum(planes)


def test_alpha_plane_passes_through(rng):
    eqv = StreamingVideoEqualizer(4, 4, "yuva420p", contrast=-2.0, gamma=3.0)
    data = rng.integers(0, 256, eqv.frame_bytes, dtype=np.uint8).tobytes()
    alpha = slice(eqv.frame_bytes - 16, None)
    assert eqv.process(data)[alpha] == data[alpha]


PARAM_CHOICES = [{}, {"contrast": 2.0, "brightness": -0.3}, {"gamma": 1.7, "saturation": 0.4},
                 {"gamma_r": 0.3, "gamma_weight": 0.5, "contrast": -3.0}]


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    pix_fmt=st.sampled_from(sorted(PIX_FMTS)),
    width=st.integers(1, 7),
    height=st.integers(1, 5),
    params=st.sampled_from(PARAM_CHOICES),
    n_bytes=st.integers(0, 400),
    seed=st.integers(0, 2**32 - 1),
    cuts=st.lists(st.integers(0, 400), max_size=30),
)
def test_any_split_gives_the_same_bytes(pix_fmt, width, height, params, n_bytes, seed, cuts):
    data = np.random.default_rng(seed).integers(0, 256, n_bytes, dtype=np.uint8).tobytes()
    whole = StreamingVideoEqualizer(width, height, pix_fmt, **params).process(data)
    assert len(whole) == n_bytes
    eqv = StreamingVideoEqualizer(width, height, pix_fmt, **params)
    bounds = sorted(min(c, n_bytes) for c in cuts)  # repeated cuts give empty chunks
    pieces, start = [], 0
    for stop in bounds + [n_bytes]:
        chunk = data[start:stop]
        piece = eqv.process(chunk)
        assert len(piece) == len(chunk)
        pieces.append(piece)
        start = stop
        assert eqv.frames_processed == stop // eqv.frame_bytes
        assert eqv.frame_position == stop % eqv.frame_bytes
    assert b"".join(pieces) == whole


def test_one_byte_chunks_match_one_pass(rng):
    eqv = StreamingVideoEqualizer(5, 3, "yuva420p", gamma=2.0, saturation=2.0, brightness=0.1)
    data = rng.integers(0, 256, 3 * eqv.frame_bytes + 7, dtype=np.uint8).tobytes()
    whole = StreamingVideoEqualizer(5, 3, "yuva420p", gamma=2.0, saturation=2.0,
                                    brightness=0.1).process(data)
    assert b"".join(eqv.process(data[i:i + 1]) for i in range(len(data))) == whole


def test_bytes_like_inputs(rng):
    eqv = StreamingVideoEqualizer(4, 2, "yuv444p", contrast=1.5)
    data = rng.integers(0, 256, 48, dtype=np.uint8).tobytes()
    expected = StreamingVideoEqualizer(4, 2, "yuv444p", contrast=1.5).process(data)
    assert eqv.process(bytearray(data[:10])) + eqv.process(memoryview(data)[10:]) == expected
    eqv.reset()
    words = array.array("H", data)
    assert eqv.process(memoryview(words)) == expected  # raw bytes, whatever the item format
    eqv.reset()
    strided = memoryview(bytes(2 * len(data)))[::2]
    assert len(eqv.process(strided)) == len(data)
    assert eqv.process(b"") == b""


def test_flush_reports_where_the_stream_ended():
    eqv = StreamingVideoEqualizer(3, 3, "yuv420p")
    assert len(eqv.process(bytes(17 + 11))) == 28
    with pytest.raises(IncompleteFrameError, match=r"11 byte\(s\) into a 17-byte.*plane U") as info:
        eqv.flush()
    assert info.value.leftover == b""
    assert info.value.frame_bytes == 17
    assert info.value.bytes_into_frame == 11
    assert eqv.frame_position == 0 and eqv.frames_processed == 1
    assert eqv.flush() == b""
    assert len(eqv.process(bytes(17))) == 17 and eqv.frames_processed == 2


def test_reset_keeps_parameters():
    eqv = StreamingVideoEqualizer(2, 2, "gray", contrast=2.0)
    first = eqv.process(bytes([10, 100, 200]))
    eqv.reset()
    assert eqv.frame_position == 0 and eqv.frames_processed == 0
    assert eqv.process(bytes([10, 100, 200])) == first
    assert eqv.params["contrast"] == 2.0
    assert "contrast=2.0" in repr(eqv)


@pytest.mark.parametrize("name", sorted(PARAM_RANGES))
@pytest.mark.parametrize("where", ["below", "above", "nan", "inf"])
def test_out_of_range_parameter_is_refused(name, where):
    low, high = PARAM_RANGES[name]
    value = {"below": low - 0.01, "above": high + 0.01, "nan": math.nan, "inf": math.inf}[where]
    with pytest.raises(InvalidParameterError, match=rf"{name} must be in .* got {value!r}"):
        StreamingVideoEqualizer(4, 4, "yuv420p", **{name: value})


@pytest.mark.parametrize("name", sorted(PARAM_RANGES))
def test_limits_are_accepted(name):
    for value in PARAM_RANGES[name]:
        StreamingVideoEqualizer(2, 2, "gray", **{name: value})
    StreamingVideoEqualizer(2, 2, "gray", **{name: np.float32(PARAM_RANGES[name][1])})


@pytest.mark.parametrize("value", ["1.0", None, True, 1 + 0j])
def test_parameter_of_wrong_type_is_refused(value):
    with pytest.raises(InvalidTypeError, match=r"contrast must be a real number"):
        StreamingVideoEqualizer(4, 4, "yuv420p", contrast=value)


def test_bad_pix_fmt_names_the_choices():
    with pytest.raises(InvalidParameterError, match=r"one of \['gray', .*'yuva444p'\], got 'rgb24'"):
        StreamingVideoEqualizer(4, 4, "rgb24")
    with pytest.raises(InvalidTypeError, match="pix_fmt must be a str"):
        StreamingVideoEqualizer(4, 4, 420)


@pytest.mark.parametrize("width, height, error", [
    (0, 4, InvalidParameterError), (4, -1, InvalidParameterError), (1 << 16, 4, InvalidParameterError),
    (4.0, 4, InvalidTypeError), (4, "4", InvalidTypeError), (True, 4, InvalidTypeError),
])
def test_bad_size_is_refused(width, height, error):
    with pytest.raises(error, match=r"(width|height) must be"):
        StreamingVideoEqualizer(width, height, "gray")


def test_process_refuses_text():
    eqv = StreamingVideoEqualizer(2, 2, "gray")
    with pytest.raises(InvalidTypeError, match="got str"):
        eqv.process("abc")
    with pytest.raises(EqError):
        eqv.process([1, 2, 3])


# --- the command line ---------------------------------------------------------------------------
def _ffmpeg():
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def test_eq_video_between_two_ffmpeg_commands_is_ffmpegs_eq(tmp_path):
    """The documented pipeline: ffmpeg decodes a generated clip to raw yuv420p, `eq video`
    equalizes it, ffmpeg encodes it losslessly (FFV1). Decoded again, it is byte for byte what
    ffmpeg's own eq filter makes of the same clip."""
    import shlex
    import subprocess
    import sys

    ff = shlex.quote(_ffmpeg())
    clip = "testsrc2=size=64x48:rate=10:duration=1"
    params = "contrast=1.3:brightness=0.05:saturation=1.4:gamma=1.2"
    out = tmp_path / "out.mkv"
    pipeline = (f"{ff} -nostdin -v error -f lavfi -i {clip} -pix_fmt yuv420p -f rawvideo - "
                f"| {shlex.quote(sys.executable)} -m eq video --size 64x48 --pix-fmt yuv420p "
                "--contrast 1.3 --brightness 0.05 --saturation 1.4 --gamma 1.2 "
                f"| {ff} -nostdin -v error -f rawvideo -pix_fmt yuv420p -s 64x48 -r 10 -i - "
                f"-c:v ffv1 {shlex.quote(str(out))}")
    done = subprocess.run(["bash", "-o", "pipefail", "-c", pipeline], capture_output=True)
    assert done.returncode == 0, done.stderr
    decoded = subprocess.run([_ffmpeg(), "-nostdin", "-v", "error", "-i", str(out), "-f",
                              "rawvideo", "-pix_fmt", "yuv420p", "-"], capture_output=True)
    reference = subprocess.run([_ffmpeg(), "-nostdin", "-v", "error", "-f", "lavfi", "-i", clip,
                                "-vf", f"format=yuv420p,eq={params}", "-f", "rawvideo", "-"],
                               capture_output=True)
    assert len(decoded.stdout) == 10 * 64 * 48 * 3 // 2
    assert decoded.stdout == reference.stdout


@pytest.mark.parametrize("entry", _fixture_params(
    [fixture_named("gradient", "yuv420p"), fixture_named("gradient", "yuva420p")]))
def test_eq_video_between_two_ffmpeg_commands_on_a_fixture(entry, tmp_path):
    """The same pipeline from a fixture file at an odd size (chroma rounded up), with and without
    alpha: ffmpeg reads it as raw video, `eq video` equalizes it, ffmpeg encodes it losslessly
    (FFV1). Decoded again, it is byte for byte what ffmpeg's own eq filter makes of the file, and
    not the file itself."""
    import shlex
    import sys

    ff = shlex.quote(_ffmpeg())
    raw_in = ["-f", "rawvideo", "-pix_fmt", entry["pix_fmt"], "-s", f"{entry['width']}x{entry['height']}"]
    source = str(FIXTURE_DIR / entry["name"])
    out = tmp_path / "out.mkv"
    pipeline = (f"{ff} -nostdin -v error {shlex.join(raw_in)} -i {shlex.quote(source)} -f rawvideo - "
                f"| {shlex.quote(sys.executable)} -m eq video --size {entry['width']}x{entry['height']} "
                f"--pix-fmt {entry['pix_fmt']} --contrast 1.3 --brightness 0.05 --saturation 1.4 "
                f"--gamma 1.2 --gamma-b 0.8 "
                f"| {ff} -nostdin -v error {shlex.join(raw_in)} -r 10 -i - -c:v ffv1 {shlex.quote(str(out))}")
    done = subprocess.run(["bash", "-o", "pipefail", "-c", pipeline], capture_output=True)
    assert done.returncode == 0, done.stderr
    decoded = subprocess.run([_ffmpeg(), "-nostdin", "-v", "error", "-i", str(out), "-f", "rawvideo",
                              "-pix_fmt", entry["pix_fmt"], "-"], capture_output=True, check=True)
    params = "contrast=1.3:brightness=0.05:saturation=1.4:gamma=1.2:gamma_b=0.8"
    reference = subprocess.run([_ffmpeg(), "-nostdin", "-v", "error", *raw_in, "-i", source, "-vf",
                                f"eq={params}", "-f", "rawvideo", "-"], capture_output=True, check=True)
    assert len(decoded.stdout) == entry["frames"] * entry["frame_bytes"]
    assert decoded.stdout == reference.stdout
    assert decoded.stdout != read_fixture(entry)


def test_eq_video_reports_a_stream_that_ends_inside_a_frame():
    import subprocess
    import sys

    frame = bytes(range(256)) * 18  # 4608 bytes: a 64x48 yuv420p frame
    done = subprocess.run([sys.executable, "-m", "eq", "video", "--size", "64x48", "--pix-fmt",
                           "yuv420p", "--contrast", "1.5"], input=frame + frame[:100],
                          capture_output=True)
    assert done.returncode == 1
    assert b"100 byte(s) into a 4608-byte" in done.stderr
    assert len(done.stdout) == len(frame) + 100  # every byte was written


@pytest.mark.parametrize("args, words", [
    (["--size", "64by48", "--pix-fmt", "yuv420p"], b"is not a size"),
    (["--size", "64x48", "--pix-fmt", "rgb24"], b"rgb24"),
    (["--size", "64x48", "--pix-fmt", "yuv420p", "--contrast", "2000"], b"contrast"),
    (["--size", "0x48", "--pix-fmt", "yuv420p"], b"width"),
])
def test_eq_video_bad_options_are_usage_errors(args, words):
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "eq", "video", *args], input=b"",
                          capture_output=True)
    assert done.returncode == 2 and words in done.stderr, done.stderr


def test_video_benchmark_runs_and_matches_ffmpeg(tmp_path):
    """benchmarks/video.py on a few frames: it runs, and eq's bytes equal ffmpeg's in every row
    (the figures themselves are not judged here: they depend on the machine)."""
    import json
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).resolve().parent.parent / "benchmarks" / "video.py"
    done = subprocess.run([sys.executable, str(script), "--frames", "2", "--repeats", "1",
                           "--out", str(tmp_path)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    rows = json.loads((tmp_path / "video.json").read_text())["rows"]
    assert len(rows) == 4 and all(row["equal_to_ffmpeg"] for row in rows)


def test_a_huge_integer_parameter_is_out_of_range():
    from eq.errors import InvalidParameterError

    with pytest.raises(InvalidParameterError, match="contrast"):
        StreamingVideoEqualizer(4, 2, "yuv420p", contrast=10 ** 400)


def test_calls_beyond_the_kept_array_give_the_same_bytes(monkeypatch):
    """A call longer than KEPT_OUTPUT_BYTES writes into an array of its own: same output."""
    import eq.video

    data = bytes(range(256)) * 40
    kept = StreamingVideoEqualizer(16, 8, "yuv420p", contrast=1.7, gamma=1.4).process(data)
    monkeypatch.setattr(eq.video, "KEPT_OUTPUT_BYTES", 100)
    video = StreamingVideoEqualizer(16, 8, "yuv420p", contrast=1.7, gamma=1.4)
    assert video.process(data[:50]) + video.process(data[50:]) == kept
    assert video._out.shape[0] <= 100

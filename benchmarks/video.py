"""Video equalizer throughput against ffmpeg's eq filter, on the same frames.

``python benchmarks/video.py [--quick] [--frames N] [--repeats N] [--out DIR]``

Raw yuv420p frames (seeded noise over gradients) at 1280x720 and 1920x1080, two
settings (``gamma`` 1: ffmpeg's integer path, its SIMD; ``gamma`` 1.3: its lookup
table), in Mpixels/s:

- eq: :class:`eq.video.StreamingVideoEqualizer`, whole frames per call and 4 KiB
  chunks, in this process, the median of the repeats;
- ffmpeg: the eq filter alone, ``-filter_threads 1``: the CPU time of
  ``ffmpeg -f rawvideo ... -vf eq=... -f rawvideo`` minus the same command with
  ``-vf null``, each repeat the two back to back, the median of the paired
  differences (as ``benchmarks/run.py`` times the audio peers). Also with ffmpeg's
  default filter threads, wall time minus wall time.

Every output is checked against ffmpeg's bytes. Figures are written to
``DIR/video.json`` (default ``benchmarks/results``).
"""

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.machine import describe_machine  # noqa: E402
from benchmarks.measure import run_command  # noqa: E402
from eq.video import StreamingVideoEqualizer  # noqa: E402

SIZES = ((1280, 720), (1920, 1080))
SETTINGS = {"integer path (gamma 1)": dict(contrast=1.2, brightness=0.05, saturation=1.3),
            "table path (gamma 1.3)": dict(contrast=1.2, brightness=0.05, saturation=1.3,
                                           gamma=1.3)}


def frames_yuv420p(width, height, n_frames, seed=0):
    """`n_frames` raw yuv420p frames: gradients plus seeded noise, as bytes."""
    rng = np.random.default_rng(seed)
    cw, ch = (width + 1) // 2, (height + 1) // 2
    out = []
    for f in range(n_frames):
        y = (np.add.outer(np.arange(height), np.arange(width)) * 255 // (width + height) + f)
        y = (y + rng.integers(-20, 21, y.shape)).clip(0, 255)
        u = rng.integers(0, 256, (ch, cw))
        v = np.tile(np.arange(cw) * 255 // max(cw - 1, 1), (ch, 1))
        out += [y.astype(np.uint8).tobytes(), u.astype(np.uint8).tobytes(),
                v.astype(np.uint8).tobytes()]
    return b"".join(out)


def eq_filter_option(params):
    return "eq=" + ":".join(f"{k}={v}" for k, v in params.items())


def time_eq(data, width, height, params, chunk_bytes, repeats):
    """Median seconds of eq over `data` in chunks of `chunk_bytes` (None: whole frames)."""
    view = memoryview(data)
    times = []
    for _ in range(repeats + 1):  # the first pass warms up (compiles or loads the kernel)
        video = StreamingVideoEqualizer(width, height, "yuv420p", **params)
        step = chunk_bytes or video.frame_bytes
        t0 = time.perf_counter()
        for i in range(0, len(data), step):
            video.process(view[i:i + step])  # dropped, as a pipe writer drops what it wrote
        times.append(time.perf_counter() - t0)
    # Untimed: the output, to compare with ffmpeg's.
    video = StreamingVideoEqualizer(width, height, "yuv420p", **params)
    step = chunk_bytes or video.frame_bytes
    out = b"".join(video.process(view[i:i + step]) for i in range(0, len(data), step))
    return statistics.median(times[1:]), out


def time_ffmpeg(ffmpeg, data, width, height, params, repeats, workdir, threads):
    """Median of paired (eq - null) CPU and wall seconds of ffmpeg, and its output bytes."""
    head = [ffmpeg, "-nostdin", "-v", "error", "-f", "rawvideo", "-pix_fmt", "yuv420p", "-s",
            f"{width}x{height}", "-i", "-"]
    if threads is not None:
        head += ["-filter_threads", str(threads)]
    tail = ["-f", "rawvideo", "-"]
    src, dst = Path(workdir) / "in.yuv", Path(workdir) / "out.yuv"
    src.write_bytes(data)
    cpu, wall = [], []
    for _ in range(repeats):
        c1, w1, rc1, err1 = run_command([*head, "-vf", eq_filter_option(params), *tail], src, dst)
        out = dst.read_bytes()
        c0, w0, rc0, err0 = run_command([*head, "-vf", "null", *tail], src, dst)
        if rc1 or rc0:
            raise RuntimeError(f"ffmpeg failed: {err1 or err0}")
        cpu.append(c1 - c0)
        wall.append(w1 - w0)
    return statistics.median(cpu), statistics.median(wall), out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer frames and repeats")
    parser.add_argument("--frames", type=int, default=None, help="frames per size (default 60)")
    parser.add_argument("--repeats", type=int, default=None, help="repeats (default 7)")
    parser.add_argument("--out", type=Path,
                        default=Path(__file__).resolve().parent / "results")
    args = parser.parse_args(argv)
    n_frames = args.frames or (12 if args.quick else 60)
    repeats = args.repeats or (3 if args.quick else 7)
    import imageio_ffmpeg

    ffmpeg = imageio_ffmpeg.get_ffmpeg_exe()
    rows = []
    with tempfile.TemporaryDirectory() as workdir:
        for width, height in SIZES:
            data = frames_yuv420p(width, height, n_frames)
            mpixels = width * height * n_frames / 1e6
            for label, params in SETTINGS.items():
                cpu1, _, ref = time_ffmpeg(ffmpeg, data, width, height, params, repeats,
                                           workdir, 1)
                _, wall_mt, _ = time_ffmpeg(ffmpeg, data, width, height, params, repeats,
                                            workdir, None)
                whole_s, out_whole = time_eq(data, width, height, params, None, repeats)
                chunk_s, out_chunk = time_eq(data, width, height, params, 4096, repeats)
                row = {"size": f"{width}x{height}", "setting": label, "frames": n_frames,
                       "eq_whole_mpix_s": mpixels / whole_s,
                       "eq_4k_mpix_s": mpixels / chunk_s,
                       "ffmpeg_1thread_cpu_mpix_s": mpixels / cpu1 if cpu1 > 0 else None,
                       "ffmpeg_threads_wall_mpix_s": mpixels / wall_mt if wall_mt > 0 else None,
                       "equal_to_ffmpeg": out_whole == ref and out_chunk == ref}
                rows.append(row)
    print("| size | setting | eq, whole frames | eq, 4 KiB chunks | ffmpeg eq, 1 thread (CPU) "
          "| ffmpeg eq, its threads (wall) | bytes = ffmpeg's |")
    print("|---|---|---:|---:|---:|---:|---|")

    def fmt(v):
        return "n/a" if v is None else f"{v:.0f}"

    for r in rows:
        print(f"| {r['size']} | {r['setting']} | {fmt(r['eq_whole_mpix_s'])} | "
              f"{fmt(r['eq_4k_mpix_s'])} | {fmt(r['ffmpeg_1thread_cpu_mpix_s'])} | "
              f"{fmt(r['ffmpeg_threads_wall_mpix_s'])} | "
              f"{'yes' if r['equal_to_ffmpeg'] else 'NO'} |")
    print("Mpixels/s (luma pixels); ffmpeg: the eq filter's time alone (minus -vf null)")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "video.json").write_text(json.dumps(
        {"rows": rows, "machine": describe_machine(), "repeats": repeats}, indent=2))
    return 0 if all(r["equal_to_ffmpeg"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())

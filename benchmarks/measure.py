"""Timing loops: chunked throughput, command peers, per-call overhead, start-up.

Implementations are interleaved inside every repeat (A B A B ...) so that a
burst of load from other users of a shared machine hits all of them alike,
and the median over repeats is reported. The garbage collector is disabled
inside timed regions, as ``timeit`` does.
"""

from __future__ import annotations

import contextlib
import gc
import os
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from benchmarks.signals import compare_s16, encode_s16

#: Frames of the untimed warm-up pass (compiles JIT kernels, fills caches).
WARMUP_FRAMES = 4096
#: Pause after every timed pass. Worker threads of an OpenMP-style pool (as
#: pedalboard's or a BLAS's may be) can keep spinning for several milliseconds
#: after a parallel region; without a pause they would steal a core from the
#: implementation timed next.
PAUSE_S = 0.03


@dataclass
class Measurement:
    """One implementation at one chunk size: the uniform result of every peer.

    Attributes
    ----------
    key, label, counted : str
        As in :class:`benchmarks.peers.StreamPeer`.
    chunk_frames : int or None
        Frames per call; None for the whole buffer in one call.
    status : str
        ``"ok"``, ``"error"`` or ``"skipped"``.
    message : str
        ``"error: ..."`` or ``"skipped: ..."``; empty when ok.
    frames : int
        Frames processed in each timed pass.
    channels : int
        Channels of the input.
    times_s : list of float
        Time of every repeat, in seconds.
    median_s : float or None
        Median of ``times_s``.
    msamples_per_s : float or None
        Million channel-samples per second, ``frames * channels / median_s / 1e6``.
    best_msamples_per_s : float or None
        The same from the fastest repeat (less sensitive to other load).
    ratio_vs_scipy_whole : float or None
        Throughput divided by that of scipy (bytes -> bytes) on the whole buffer.
    max_err_lsb : int or None
        Largest absolute difference from the float64 oracle, in LSB.
    n_diff : int or None
        Number of samples that differ from the oracle.
    equals_whole : bool or None
        Whether the chunked output equals the same peer's whole-buffer output
        byte for byte (None for the whole buffer itself).
    max_diff_vs_whole_lsb : int or None
        Largest difference from the same peer's whole-buffer output.
    extra : dict
        Details: for in-process peers the process CPU time of every repeat
        (``cpu_s``), ``cores_used`` (median CPU time / median wall time) and
        ``msamples_per_cpu_s``; for commands the wall-clock differences.
    """

    key: str
    label: str
    counted: str
    chunk_frames: int | None
    status: str = "ok"
    message: str = ""
    frames: int = 0
    channels: int = 0
    times_s: list = field(default_factory=list)
    median_s: float | None = None
    msamples_per_s: float | None = None
    best_msamples_per_s: float | None = None
    ratio_vs_scipy_whole: float | None = None
    max_err_lsb: int | None = None
    n_diff: int | None = None
    equals_whole: bool | None = None
    max_diff_vs_whole_lsb: int | None = None
    extra: dict = field(default_factory=dict)

    def to_dict(self):
        """Plain dict for JSON."""
        return asdict(self)


def _error_message(exc):
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"error: {type(exc).__name__}: {text}"[:300]


def split_chunks(data, chunk_bytes, max_calls=None):
    """Split bytes into chunks of ``chunk_bytes`` (the last may be short).

    Parameters
    ----------
    data : bytes
        The input.
    chunk_bytes : int or None
        Bytes per chunk; None for one chunk holding everything.
    max_calls : int or None
        Keep only the first ``max_calls`` chunks (a prefix of the input), so
        that tiny chunks do not take minutes with slow peers.

    Returns
    -------
    list of bytes
    """
    if chunk_bytes is None:
        return [data]
    n = -(-len(data) // chunk_bytes)
    if max_calls is not None:
        n = min(n, max_calls)
    return [data[i * chunk_bytes:(i + 1) * chunk_bytes] for i in range(n)]


@contextlib.contextmanager
def _gc_paused():
    """Run the body with the garbage collector off, as ``timeit`` times; put it back as it was."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _timed_pass(process, inputs):
    with _gc_paused():
        c0, t0 = time.process_time(), time.perf_counter()
        outputs = [process(x) for x in inputs]
        t1, c1 = time.perf_counter(), time.process_time()
    return t1 - t0, c1 - c0, outputs


def measure_streams(peers, pcm, oracle, chunk_sizes, repeats, max_calls, channels):
    """Throughput and accuracy of in-process peers by chunk size.

    Parameters
    ----------
    peers : list of benchmarks.peers.StreamPeer
        Skipped peers give one ``"skipped"`` measurement each.
    pcm : bytes
        s16le interleaved input.
    oracle : numpy.ndarray
        int16 ``(frames, channels)`` float64 reference output for ``pcm``.
    chunk_sizes : list of (int or None)
        Frames per call, in the order of the results; None means the whole
        buffer, which is always measured (and reported if listed).
    repeats : int
        Timed passes per peer and chunk size (interleaved across peers).
    max_calls : int
        Upper bound on calls per pass; smaller chunks then cover a prefix.
    channels : int
        Number of interleaved channels.

    Returns
    -------
    list of Measurement
    """
    frame_bytes = 2 * channels
    results = []
    whole_out = {}
    # The whole buffer goes first: chunked outputs are compared with it.
    by_size = {}
    for chunk in [None] + [c for c in chunk_sizes if c is not None]:
        chunk_bytes = None if chunk is None else chunk * frame_bytes
        raw_chunks = split_chunks(pcm, chunk_bytes, max_calls)
        n_frames = sum(len(c) for c in raw_chunks) // frame_bytes
        active = []
        measurements = {}
        for peer in peers:
            m = Measurement(peer.key, peer.label, peer.counted, chunk, frames=n_frames,
                            channels=channels)
            measurements[peer.key] = m
            if peer.skip_reason:
                m.status, m.message = "skipped", peer.skip_reason
                continue
            inputs = [peer.prepare(c) for c in raw_chunks]
            # The whole buffer is warmed up in full: the first pass over fresh
            # large allocations pays page faults that later passes do not.
            warm_bytes = pcm if chunk is None else pcm[: WARMUP_FRAMES * frame_bytes]
            warm = split_chunks(warm_bytes, chunk_bytes, 64)
            try:
                _timed_pass(peer.new_stream(), [peer.prepare(c) for c in warm])
            except Exception as exc:  # noqa: BLE001 - a peer failing is a result
                m.status, m.message = "error", _error_message(exc)
                continue
            active.append((peer, inputs, m))
        first_outputs = {}
        for _ in range(repeats):
            for peer, inputs, m in active:
                if m.status != "ok":
                    continue
                process = peer.new_stream()
                try:
                    elapsed, cpu_s, outputs = _timed_pass(process, inputs)
                except Exception as exc:  # noqa: BLE001
                    m.status, m.message = "error", _error_message(exc)
                    continue
                m.times_s.append(elapsed)
                m.extra.setdefault("cpu_s", []).append(cpu_s)
                time.sleep(PAUSE_S)
                first_outputs.setdefault(peer.key, outputs)
        for peer, inputs, m in active:
            if m.status != "ok":
                continue
            m.median_s = statistics.median(m.times_s)
            if m.median_s > 0:
                m.msamples_per_s = n_frames * channels / m.median_s / 1e6
                m.best_msamples_per_s = n_frames * channels / min(m.times_s) / 1e6
            # CPU time of the whole process (all threads) over wall time: about 1
            # for single-threaded code, up to the core count for threaded code.
            cpu_median = statistics.median(m.extra["cpu_s"])
            m.extra["cores_used"] = cpu_median / m.median_s if m.median_s > 0 else None
            if cpu_median > 0:
                m.extra["msamples_per_cpu_s"] = n_frames * channels / cpu_median / 1e6
            try:
                out = peer.finish(first_outputs[peer.key])
            except Exception as exc:  # noqa: BLE001
                m.status, m.message = "error", _error_message(exc)
                continue
            cmp = compare_s16(out, oracle)
            if not cmp["length_ok"] or cmp["n_samples"] != n_frames * channels:
                m.extra["output_samples"] = cmp["n_samples"]
                m.status = "error"
                m.message = (f"error: wrong output length, {cmp['n_samples']} samples "
                             f"for {n_frames * channels} in")
                continue
            m.max_err_lsb, m.n_diff = cmp["max_err_lsb"], cmp["n_diff"]
            if chunk is None:
                whole_out[peer.key] = np.frombuffer(out, dtype="<i2").reshape(-1, channels)
            elif peer.key in whole_out:
                vs_whole = compare_s16(out, whole_out[peer.key])
                m.max_diff_vs_whole_lsb = vs_whole["max_err_lsb"]
                m.equals_whole = vs_whole["max_err_lsb"] == 0
        by_size[chunk] = list(measurements.values())
    for chunk in chunk_sizes:
        results.extend(by_size[chunk])
    return results


def run_command(cmd, in_path, out_path, env=None):
    """Run a command with stdin/stdout redirected to files.

    Parameters
    ----------
    cmd : sequence of str
        The command.
    in_path, out_path : path-like
        Files for stdin and stdout.
    env : dict, optional
        The child's environment (default: this process's).

    Returns
    -------
    tuple
        ``(cpu_s, wall_s, returncode, stderr_text)`` where ``cpu_s`` is the
        user + system time of the child from ``os.wait4``.
    """
    err_path = Path(str(out_path) + ".stderr")
    with open(in_path, "rb") as fin, open(out_path, "wb") as fout, open(err_path, "wb") as ferr:
        t0 = time.perf_counter()
        proc = subprocess.Popen(list(cmd), stdin=fin, stdout=fout, stderr=ferr, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        wall_s = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    stderr = err_path.read_text(errors="replace")
    err_path.unlink()
    return usage.ru_utime + usage.ru_stime, wall_s, proc.returncode, stderr


def measure_commands(peers, pcm, oracle, repeats, channels, workdir):
    """Filter-only throughput and accuracy of command-line peers.

    Each repeat runs, per peer, the baseline command and the equalizer
    command back to back; the cost of the filters is the median over repeats
    of the paired difference of CPU times (wall-clock differences are kept in
    ``extra``).

    Parameters
    ----------
    peers : list of benchmarks.peers.CommandPeer
        Skipped peers give a ``"skipped"`` measurement.
    pcm : bytes
        s16le interleaved input.
    oracle : numpy.ndarray
        int16 ``(frames, channels)`` reference output for ``pcm``.
    repeats : int
        Number of paired runs.
    channels : int
        Number of interleaved channels.
    workdir : path-like
        Directory for the input and output files.

    Returns
    -------
    list of Measurement
    """
    workdir = Path(workdir)
    in_path = workdir / "command_input.s16le"
    in_path.write_bytes(pcm)
    out_path = workdir / "command_output.s16le"
    n_frames = len(pcm) // (2 * channels)
    results = []
    for peer in peers:
        m = Measurement(peer.key, peer.label, peer.counted, None, frames=n_frames,
                        channels=channels)
        results.append(m)
        if peer.skip_reason:
            m.status, m.message = "skipped", peer.skip_reason
            continue
        m.extra["command"] = list(peer.command)
        cpu, wall, rc, err = run_command(peer.command, in_path, out_path)
        if rc != 0:
            m.status, m.message = "error", f"error: exit status {rc}: {err.strip()[:200]}"
            continue
        cmp = compare_s16(out_path.read_bytes(), oracle)
        if cmp["n_samples"] != n_frames * channels:
            m.status = "error"
            m.message = f"error: wrong output length, {cmp['n_samples']} samples"
            continue
        m.max_err_lsb, m.n_diff = cmp["max_err_lsb"], cmp["n_diff"]
        if err.strip():
            m.extra["stderr"] = err.strip()[:300]
        diffs_cpu, diffs_wall, base_cpu = [], [], []
        for i in range(repeats):
            # Alternate the order inside the pair, so a drift hits both alike.
            order = (peer.baseline_command, peer.command)
            if i % 2:
                order = order[::-1]
            got = {}
            for cmd in order:
                got[cmd] = run_command(cmd, in_path, out_path)
            (c1, w1, rc1, _), (c0, w0, rc0, _) = got[peer.command], got[peer.baseline_command]
            if rc1 or rc0:
                m.status, m.message = "error", f"error: exit status {rc1 or rc0}"
                break
            diffs_cpu.append(c1 - c0)
            diffs_wall.append(w1 - w0)
            base_cpu.append(c0)
        if m.status != "ok":
            continue
        m.times_s = diffs_cpu
        m.median_s = statistics.median(diffs_cpu)
        m.extra["wall_diff_s"] = diffs_wall
        m.extra["baseline_cpu_s"] = base_cpu
        if m.median_s <= 0:
            m.status = "error"
            m.message = "error: filter cost below the measurement noise; use a longer input"
            continue
        m.msamples_per_s = n_frames * channels / m.median_s / 1e6
        if min(diffs_cpu) > 0:
            m.best_msamples_per_s = n_frames * channels / min(diffs_cpu) / 1e6
    out_path.unlink(missing_ok=True)
    in_path.unlink(missing_ok=True)
    return results


def measure_per_call(peers, pcm, sizes_bytes, repeats, frame_bytes, target_s=0.05):
    """Time per ``process`` call for tiny chunks, in nanoseconds.

    The same chunk (taken from the input) is passed again and again to one
    stream, so the loop measures the cost of a call, not of the data. The
    Python ``for`` loop (about 10-20 ns) is included.

    Parameters
    ----------
    peers : list of benchmarks.peers.StreamPeer
        Peers to time; skipped ones are reported as skipped, and sizes that
        are not whole frames are "n/a" for peers that need whole frames.
    pcm : bytes
        Input to take the chunks from.
    sizes_bytes : list of int
        Chunk sizes in bytes.
    repeats : int
        Timed loops per size (interleaved across peers); the median is kept.
    frame_bytes : int
        Bytes per frame.
    target_s : float, optional
        Approximate duration of one timed loop.

    Returns
    -------
    list of dict
        Keys ``key``, ``label``, ``chunk_bytes``, ``status``, ``message``,
        ``calls``, ``ns_per_call``, ``times_s``.
    """
    rows = []
    for size in sizes_bytes:
        chunk = bytes(pcm[:size])
        active = []
        for peer in peers:
            row = {"key": peer.key, "label": peer.label, "chunk_bytes": size, "status": "ok",
                   "message": "", "calls": 0, "ns_per_call": None, "times_s": []}
            rows.append(row)
            if peer.skip_reason:
                row["status"], row["message"] = "skipped", peer.skip_reason
                continue
            if size % frame_bytes and not peer.accepts_partial_frames:
                row["status"], row["message"] = "n/a", "n/a: takes whole frames only"
                continue
            try:
                x = peer.prepare(chunk)
                process = peer.new_stream()
                t0 = time.perf_counter()
                for _ in range(200):
                    process(x)
                per_call = (time.perf_counter() - t0) / 200
            except Exception as exc:  # noqa: BLE001
                row["status"], row["message"] = "error", _error_message(exc)
                continue
            row["calls"] = max(200, min(1_000_000, int(target_s / max(per_call, 1e-9))))
            active.append((peer, x, row))
        for _ in range(repeats):
            for peer, x, row in active:
                if row["status"] != "ok":
                    continue
                process = peer.new_stream()
                calls = range(row["calls"])
                try:
                    with _gc_paused():
                        t0 = time.perf_counter()
                        for _ in calls:
                            process(x)
                        row["times_s"].append(time.perf_counter() - t0)
                except Exception as exc:  # noqa: BLE001
                    row["status"], row["message"] = "error", _error_message(exc)
        for _, _, row in active:
            if row["status"] == "ok":
                row["ns_per_call"] = statistics.median(row["times_s"]) / row["calls"] * 1e9
    return rows


def encode_pcm(x, fmt):
    """Float samples (full scale 1.0) as raw little-endian PCM bytes: s16le, s24le or f32le.

    Written here from the format definitions, independently of ``eq``.
    """
    if fmt == "f32le":
        return x.astype("<f4").tobytes()
    if fmt == "s16le":
        return encode_s16(x)
    scale = 2 ** 23  # s24le
    v = np.clip(np.rint(x * scale), -scale, scale - 1).astype("<i4")
    return v.view(np.uint8).reshape(-1, 4)[:, :3].tobytes()  # the low 3 bytes of each


def measure_formats(bands, sos, sample_rate, formats, channel_counts, seconds, repeats):
    """Whole-buffer throughput of eq by sample format and channel count, beside scipy.

    For each channel count, scipy's ``sosfilt`` (float64 arrays, filter only)
    runs on the same samples as the reference; eq runs bytes in, bytes out.

    Returns
    -------
    list of dict
        Keys ``format`` (None for scipy), ``channels``, ``msamples_per_s``,
        ``times_s``, ``status``, ``message``.
    """
    from scipy import signal as sps

    rows = []
    rng = np.random.default_rng(1)
    frames = max(1, int(seconds * sample_rate))
    try:
        import eq
    except Exception as exc:  # noqa: BLE001 - reported, not raised
        eq, eq_error = None, _error_message(exc)
    for ch in channel_counts:
        x = 0.25 * rng.standard_normal((frames, ch))
        # (format, process, input); one long-lived stream per format.
        jobs = [(None, lambda x: sps.sosfilt(sos, x, axis=0), x)]
        for fmt in formats:
            if eq is None:
                rows.append({"format": fmt, "channels": ch, "status": "skipped",
                             "message": eq_error, "msamples_per_s": None, "times_s": []})
                continue
            jobs.append((fmt, eq.StreamingEqualizer(sample_rate, ch, fmt, bands).process,
                         encode_pcm(x, fmt)))
        for _, process, data in jobs:
            process(data)  # warm-up: compilation, page faults
        times = {fmt: [] for fmt, _, _ in jobs}
        for _ in range(repeats):
            for fmt, process, data in jobs:  # interleaved
                times[fmt].append(_timed_pass(process, [data])[0])
        for fmt, _, _ in jobs:
            median = statistics.median(times[fmt])
            rows.append({"format": fmt, "channels": ch, "status": "ok", "message": "",
                         "msamples_per_s": frames * ch / median / 1e6, "times_s": times[fmt]})
    return rows


def eq_cli_command():
    """The ``eq`` console script next to this interpreter, else ``python -m eq``."""
    script = Path(sys.executable).with_name("eq")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "eq"]


def measure_startup(small_pcm, sample_rate, channels, repeats, workdir):
    """Wall-clock start-up times of the command line, warm caches.

    Each command is run once untimed (so the kernel cache is filled), then
    ``repeats`` times interleaved with the others; the median is kept. Warm
    means Python's bytecode cache too, as after a normal install: the
    commands run without ``PYTHONDONTWRITEBYTECODE`` even if it is set here
    (with it, every start compiles eq's modules from source again, about
    0.15 s more).

    Parameters
    ----------
    small_pcm : bytes
        A small s16le input for ``eq stream``.
    sample_rate : int
        Sample rate in Hz.
    channels : int
        Number of interleaved channels.
    repeats : int
        Timed runs per command.
    workdir : path-like
        Directory for the input and output files.

    Returns
    -------
    list of dict
        Keys ``key``, ``label``, ``command``, ``status``, ``message``,
        ``median_s``, ``times_s``.
    """
    workdir = Path(workdir)
    in_path = workdir / "startup_input.s16le"
    in_path.write_bytes(small_pcm)
    out_path = workdir / "startup_output.s16le"
    py = sys.executable
    commands = [
        ("python_bare", "python -c pass (interpreter alone)", [py, "-c", "pass"]),
        ("python_import_eq", 'python -c "import eq"', [py, "-c", "import eq"]),
        ("eq_stream", f"eq stream ({len(small_pcm) // (2 * channels)} frames in, exit)",
         [*eq_cli_command(), "stream", "--rate", str(sample_rate), "--channels", str(channels),
          "--format", "s16le", "--preset", "benchmark-5band"]),
    ]
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    rows = []
    for key, label, cmd in commands:
        row = {"key": key, "label": label, "command": cmd, "status": "ok", "message": "",
               "median_s": None, "times_s": []}
        _, _, rc, err = run_command(cmd, in_path, out_path, env)
        if rc != 0:
            last = err.strip().splitlines()[-1] if err.strip() else ""
            row["status"], row["message"] = "error", f"error: exit status {rc}: {last[:200]}"
        elif key == "eq_stream" and out_path.stat().st_size != len(small_pcm):
            row["status"] = "error"
            row["message"] = f"error: wrote {out_path.stat().st_size} bytes for {len(small_pcm)}"
        rows.append(row)
    for _ in range(repeats):
        for (key, label, cmd), row in zip(commands, rows):
            if row["status"] == "ok":
                row["times_s"].append(run_command(cmd, in_path, out_path, env)[1])
    for row in rows:
        if row["status"] == "ok":
            row["median_s"] = statistics.median(row["times_s"])
    in_path.unlink(missing_ok=True)
    out_path.unlink(missing_ok=True)
    return rows


def _stream_in_blocks(eq, sample_rate, channels, bands, pcm, block_bytes):
    out = []
    stream = eq.StreamingEqualizer(sample_rate, channels, "s16le", bands)
    for i in range(0, len(pcm), block_bytes):
        out.append(stream.process(pcm[i:i + block_bytes]))
    return b"".join(out)


@contextlib.contextmanager
def _cpus_in_use(n):
    """Run the body on the first `n` usable CPUs (threads started in it inherit them).

    Pins the calling thread with ``os.sched_setaffinity`` (other threads
    that already run keep their CPUs) and restores its CPUs afterwards, also
    on an error; where that does not exist, the body runs unpinned.
    """
    if not hasattr(os, "sched_setaffinity"):
        yield
        return
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, sorted(before)[:n])
    try:
        yield
    finally:
        os.sched_setaffinity(0, before)


def measure_parallel(samples, sample_rate, bands, n_files, repeats, workdir):
    """Wall-clock time of eq on several streams at once: one CPU, then all of them.

    Two jobs are timed, serially on one CPU (the calling thread pinned to it,
    see :func:`_cpus_in_use`) and
    with one thread per CPU on every usable CPU, interleaved over ``repeats``
    rounds after an untimed round; files also one at a time on every CPU,
    where :func:`eq.equalize_file` reads and writes in a second thread:

    * ``files``: :func:`eq.equalize_files` on ``n_files`` stereo s16 WAV files
      (the input rotated differently in each), reading and writing through
      libsndfile;
    * ``streams``: ``n_files`` :class:`eq.StreamingEqualizer` objects fed the
      same data from memory in 64 KiB chunks, serially or from a thread pool.
      This is the kernels' own scaling, without file input and output.

    Parameters
    ----------
    samples : ndarray of int16, shape (frames, channels)
        The input of each file or stream.
    sample_rate : int
        Sample rate in Hz.
    bands : list of dict
        The bands.
    n_files : int
        Files (and streams) per batch.
    repeats : int
        Timed rounds.
    workdir : path-like
        Directory for the WAV files.

    Returns
    -------
    list of dict
        One per job, CPUs and number of workers: keys ``key``, ``label``,
        ``cpus``, ``pinned`` (False where the one-CPU rows could not be
        pinned and ran on every CPU), ``workers``, ``status``, ``message``, ``median_s``,
        ``times_s``, ``msamples_per_s``, ``speedup`` (the one-CPU serial
        median / this median) and ``same_output`` (whether every output
        equals the one-CPU run's, byte for byte).
    """
    from concurrent.futures import ThreadPoolExecutor

    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    cpus = max(1, cpus or 1)
    labels = {"files": f"eq.equalize_files, {n_files} WAV files",
              "streams": f"{n_files} StreamingEqualizer streams in memory, 64 KiB chunks"}
    # (job, CPUs, workers): the one-CPU serial run first, the reference of the others.
    setups = [("files", 1, 1), ("streams", 1, 1)]
    if cpus > 1:
        setups += [("files", cpus, 1), ("files", cpus, cpus), ("streams", cpus, cpus)]
    setups.sort(key=lambda setup: setup[0])

    pinned = hasattr(os, "sched_setaffinity")

    def row(key, n_cpus, n, **values):
        return {"key": key, "label": labels[key], "cpus": n_cpus,
                "pinned": pinned or n_cpus == cpus, "workers": n, "status": "ok",
                "message": "", "median_s": None, "times_s": [], "msamples_per_s": None,
                "speedup": None, "same_output": None, **values}

    try:
        import eq
        import soundfile as sf
    except Exception as exc:  # noqa: BLE001 - reported, not raised
        return [row(*setup, status="skipped", message=f"skipped: {type(exc).__name__}: {exc}")
                for setup in setups]
    workdir = Path(workdir)
    frames, channels = samples.shape
    pcms, pairs = [], []
    for i in range(n_files):
        rolled = np.roll(samples, i * frames // n_files, axis=0)
        pcms.append(rolled.tobytes())
        src = workdir / f"batch_{i}.wav"
        sf.write(src, rolled, sample_rate, subtype="PCM_16")
        pairs.append((str(src), str(workdir / f"batch_{i}_eq.wav")))

    def run_files(n, keep=False):
        outcomes = eq.equalize_files(pairs, bands, jobs=n)
        bad = [o.error for o in outcomes if not o.ok]
        if bad:
            raise bad[0]
        return [Path(out).read_bytes() for _, out in pairs] if keep else None

    def run_streams(n, keep=False):
        def one(pcm):
            return _stream_in_blocks(eq, sample_rate, channels, bands, pcm, 1 << 16)
        if n == 1:
            return [one(p) for p in pcms]
        with ThreadPoolExecutor(max_workers=n) as pool:
            return list(pool.map(one, pcms))

    jobs = {"files": run_files, "streams": run_streams}
    rows = {setup: row(*setup) for setup in setups}
    reference = {}
    for (key, n_cpus, n), r in rows.items():
        try:
            with _cpus_in_use(n_cpus):
                outputs = jobs[key](n, keep=True)  # untimed: kernel load, page cache
        except Exception as exc:  # noqa: BLE001 - reported, not raised
            r.update(status="error", message=_error_message(exc))
            continue
        reference.setdefault(key, outputs)
        r["same_output"] = outputs == reference[key]
    for _ in range(repeats):
        for (key, n_cpus, n), r in rows.items():
            if r["status"] == "ok":
                with _gc_paused(), _cpus_in_use(n_cpus):
                    t0 = time.perf_counter()
                    jobs[key](n)
                    r["times_s"].append(time.perf_counter() - t0)
                time.sleep(PAUSE_S)
    for (key, n_cpus, n), r in rows.items():
        if r["status"] == "ok":
            r["median_s"] = statistics.median(r["times_s"])
            r["msamples_per_s"] = n_files * frames * channels / r["median_s"] / 1e6
            serial = rows[key, 1, 1]
            if serial["status"] == "ok":
                r["speedup"] = serial["median_s"] / r["median_s"]
    for src, out in pairs:
        Path(src).unlink(missing_ok=True)
        Path(out).unlink(missing_ok=True)
    return list(rows.values())

"""Run the benchmark suite: eq against scipy, pedalboard, ffmpeg and sox.

Usage::

    python benchmarks/run.py [--seconds S] [--quick] [--out DIR]

Prints a table (plain text and Markdown), writes ``DIR/results.json`` and
``DIR/throughput.png``. See ``benchmarks/README.md`` for the columns.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):
    # Run as a script: make ``benchmarks`` importable from the repository root.
    # Appended, not prepended, so that PYTHONPATH can still choose which eq to measure.
    sys.path.append(str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

from benchmarks import machine, measure, peers, report, signals  # noqa: E402

#: Frames per call; None is the whole buffer. 2 frames is where pedalboard cannot
#: tell channels from samples.
CHUNK_FRAMES = (1, 2, 64, 1024, 16384, None)
PER_CALL_BYTES = (1, 2, 4)
#: Sample formats and channel counts of the format table (mono, stereo, 5.1).
FORMATS = ("s16le", "s24le", "f32le")
FORMAT_CHANNELS = (1, 2, 6)
#: Files (and in-memory streams) in the parallel batch.
BATCH_FILES = 4


def _parse_chunks(text):
    chunks = []
    for item in text.split(","):
        item = item.strip()
        if item == "whole":
            chunks.append(None)
            continue
        try:
            value = int(item)
        except ValueError:
            value = 0
        if value < 1:
            raise argparse.ArgumentTypeError(
                f"chunk sizes must be positive integers or 'whole', got {item!r}")
        chunks.append(value)
    ints = sorted({c for c in chunks if c is not None})
    return tuple(ints) + ((None,) if None in chunks else ())


def parse_args(argv=None):
    """Command-line options."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=None,
                   help="duration of the input in seconds (default 10, --quick 2)")
    p.add_argument("--quick", action="store_true",
                   help="fewer repeats and calls, shorter inputs: a rough run in seconds "
                        "that prints the figures but judges no target")
    p.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results",
                   help="directory for results.json and throughput.png "
                        "(default benchmarks/results)")
    p.add_argument("--repeats", type=int, default=None,
                   help="timed repeats per measurement (default 9, --quick 3)")
    p.add_argument("--max-calls", type=int, default=None,
                   help="most process() calls per chunked pass (default 10000, --quick 2000)")
    p.add_argument("--command-seconds", type=float, default=None,
                   help="input length for ffmpeg and sox, the input repeated "
                        "(default 120, --quick 10)")
    p.add_argument("--chunks", type=_parse_chunks, default=CHUNK_FRAMES,
                   help="comma-separated frames per call, 'whole' for the whole buffer "
                        "(default 1,2,64,1024,16384,whole)")
    p.add_argument("--batch-seconds", type=float, default=None,
                   help="length of each file of the parallel batch, the input repeated "
                        "(default 30, --quick 5)")
    p.add_argument("--seed", type=int, default=0, help="seed of the input signal")
    args = p.parse_args(argv)
    defaults = {"seconds": (10.0, 2.0), "repeats": (9, 3), "max_calls": (10000, 2000),
                "command_seconds": (120.0, 10.0), "batch_seconds": (30.0, 5.0)}
    for name, (full, quick) in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, quick if args.quick else full)
    if args.seconds <= 0 or args.command_seconds <= 0 or args.batch_seconds <= 0:
        p.error(f"durations must be > 0, got --seconds {args.seconds!r}, "
                f"--command-seconds {args.command_seconds!r}, "
                f"--batch-seconds {args.batch_seconds!r}")
    if args.repeats < 1 or args.max_calls < 1:
        p.error(f"--repeats and --max-calls must be >= 1, got {args.repeats!r}, "
                f"{args.max_calls!r}")
    return args


def _eq_design_check(bands, sample_rate, sos):
    """Largest coefficient difference between eq.design_sos and the oracle's design."""
    try:
        import eq

        return float(np.max(np.abs(eq.design_sos(bands, sample_rate) - sos)))
    except Exception as exc:  # noqa: BLE001 - informative only
        return f"not available ({type(exc).__name__}: {exc})"


def _eq_location():
    try:
        import eq

        return eq.__file__
    except Exception as exc:  # noqa: BLE001 - informative only
        return f"not importable ({type(exc).__name__}: {exc})"


def _eq_bookkeeping():
    """"C" when StreamingEqualizer.process runs in C (eq._chunks was built), else "Python"."""
    try:
        from eq import streaming

        return "Python" if streaming._chunks is None else "C"
    except Exception as exc:  # noqa: BLE001 - informative only
        return f"unknown ({type(exc).__name__}: {exc})"


def _preset_check(bands):
    """Whether eq's bundled preset benchmark-5band has the bands used here."""
    try:
        import eq

        preset = eq.load_preset("benchmark-5band")
        got = [(b.type, b.freq_hz, b.q, b.gain_db) for b in preset.bands]
    except Exception as exc:  # noqa: BLE001 - informative only
        return f"not available ({type(exc).__name__}: {exc})"
    want = [(b["type"], b["freq"], b["q"], b["gain_db"]) for b in bands]
    return "same" if np.allclose([g[1:] for g in got], [w[1:] for w in want]) and \
        [g[0] for g in got] == [w[0] for w in want] else f"differs: {got!r}"


def run(args):
    """Run every measurement and return the results dict.

    Parameters
    ----------
    args : argparse.Namespace
        As returned by :func:`parse_args`.

    Returns
    -------
    dict
        Keys ``machine``, ``config``, ``throughput``, ``silence_tail``,
        ``formats``, ``parallel``, ``per_call``, ``startup``, ``targets``.
    """
    fs, ch = signals.SAMPLE_RATE, signals.CHANNELS
    bands = [dict(b) for b in signals.BENCHMARK_BANDS]
    sos = signals.cookbook_sos(bands, fs)
    samples = signals.make_test_signal(args.seconds, fs, ch, seed=args.seed)
    pcm = samples.tobytes()
    oracle = signals.oracle_s16(samples, sos)
    stream_peers, command_peers = peers.all_peers(bands, sos, fs, ch)
    tools = {p.key.split("_")[0]: p.version for p in command_peers if p.version}

    started = time.perf_counter()
    log = (lambda msg: print(f"[{time.perf_counter() - started:6.1f} s] {msg}",
                             file=sys.stderr, flush=True))
    data = {
        "machine": machine.describe_machine(tools),
        "config": {
            "command_line": "python benchmarks/run.py " + shlex.join(sys.argv[1:]),
            "seconds": args.seconds,
            "frames": int(samples.shape[0]),
            "sample_rate": fs,
            "channels": ch,
            "format": "s16le",
            "bands": bands,
            "sos": sos.tolist(),
            "oracle": "np.clip(np.rint(sosfilt(sos, x / 32768, axis=0) * 32768), -32768, 32767)",
            "eq_design_sos_max_abs_diff": _eq_design_check(bands, fs, sos),
            "eq_preset_benchmark_5band": _preset_check(bands),
            "eq_module": _eq_location(),
            "eq_process_bookkeeping": _eq_bookkeeping(),
            "chunk_frames": list(args.chunks),
            "repeats": args.repeats,
            "max_calls": args.max_calls,
            "command_seconds": args.command_seconds,
            "batch_seconds": args.batch_seconds,
            "batch_files": BATCH_FILES,
            "seed": args.seed,
            "quick": bool(args.quick),
        },
    }
    log("in-process peers by chunk size")
    throughput = measure.measure_streams(stream_peers, pcm, oracle, list(args.chunks),
                                         args.repeats, args.max_calls, ch)
    log("in-process peers on silence after sound (whole buffer)")
    tail = signals.make_silence_tail(samples, sample_rate=fs)
    silence_tail = measure.measure_streams(stream_peers, tail.tobytes(),
                                           signals.oracle_s16(tail, sos), [None],
                                           args.repeats, args.max_calls, ch)
    log("eq by sample format and channel count (whole buffer)")
    formats = measure.measure_formats(bands, sos, fs, FORMATS, FORMAT_CHANNELS,
                                      min(args.seconds, 2.0), args.repeats)
    log("command-line peers (ffmpeg, sox)")
    n_tile = max(1, int(np.ceil(args.command_seconds / args.seconds)))
    tiled = np.tile(samples, (n_tile, 1))
    with tempfile.TemporaryDirectory(prefix="eq-bench-") as tmp:
        throughput += measure.measure_commands(
            command_peers, tiled.tobytes(), signals.oracle_s16(tiled, sos),
            args.repeats, ch, tmp)
        del tiled
        for m in throughput:
            if m.key in ("ffmpeg", "ffmpeg_f64", "sox"):
                m.extra["input_seconds"] = n_tile * args.seconds
        log("several streams at once: one thread, then one per CPU")
        n_batch = max(1, int(np.ceil(args.batch_seconds / args.seconds)))
        batch = np.tile(samples, (n_batch, 1))[: max(1, int(args.batch_seconds * fs))]
        parallel = measure.measure_parallel(batch, fs, bands, BATCH_FILES, args.repeats, tmp)
        del batch
        log("per-call overhead")
        per_call_peers = [p for p in stream_peers if p.key in ("eq", "scipy", "pedalboard")]
        per_call_peers.append(peers.noop_peer())
        per_call = measure.measure_per_call(per_call_peers, pcm, list(PER_CALL_BYTES),
                                            args.repeats, 2 * ch,
                                            0.01 if args.quick else 0.05)
        log("start-up")
        startup = measure.measure_startup(pcm[: int(0.1 * fs) * 2 * ch], fs, ch,
                                          max(3, args.repeats) if not args.quick else 2, tmp)
    ref = next((m for m in throughput if m.key == "scipy" and m.chunk_frames is None
                and m.status == "ok"), None)
    for m in throughput:
        if ref is not None and m.msamples_per_s is not None:
            m.ratio_vs_scipy_whole = m.msamples_per_s / ref.msamples_per_s
    data["throughput"] = [m.to_dict() for m in throughput]
    data["silence_tail"] = [m.to_dict() for m in silence_tail]
    data["formats"] = formats
    data["parallel"] = parallel
    data["per_call"] = per_call
    data["startup"] = startup
    data["targets"] = report.check_targets(data)
    data["machine"]["load_average_end"] = machine.load_average()
    data["config"]["total_runtime_s"] = round(time.perf_counter() - started, 1)
    log("done")
    return data


def main(argv=None):
    """Entry point: run, print, write JSON and PNG. Returns the exit status."""
    args = parse_args(argv)
    data = run(args)
    args.out.mkdir(parents=True, exist_ok=True)
    json_path = args.out / "results.json"
    png_path = args.out / "throughput.png"
    plot_status = report.plot_throughput(data, png_path)
    data["config"]["plot"] = plot_status or str(png_path)
    report.write_json(data, json_path)
    print(report.format_report(data))
    print(f"Wrote {json_path}" + ("" if plot_status else f" and {png_path}")
          + (f"; plot {plot_status}" if plot_status else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())

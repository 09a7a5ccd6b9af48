"""Bands on some channels: what a cascade per channel costs against one cascade for all.

Usage::

    python benchmarks/channels.py [--quick] [--seconds S] [--repeats N] [--seed N]

Stereo 48 kHz s16le (``signals.make_test_signal``: seeded noise and tones),
``StreamingEqualizer.process`` on the whole buffer and in 4096-byte chunks:

* **(a) same 5 bands on L and R**: preset ``benchmark-5band``, one cascade for
  both channels (the kernel runs them together in 2-lane vectors);
* **(b) different 5 bands on L and R**: the preset with ``channels=["L"]`` and
  five other bands (other frequencies and gains) with ``channels=["R"]``; two
  cascades of 5 sections, one channel each;
* **(c) 5 bands on L only**: the preset with ``channels=["L"]``, R passed through.

And 5.1 (6 channels, same input length), the preset on all six channels
against the preset on ``["L", "R"]`` only (C, LFE, RL, RR passed through).

The target of the feature is (b) in at most 1.3 times the time of (a).
Measured as ``benchmarks/run.py`` measures: within each repeat the cases run
one after the other (A B C A B C ...) on a fresh equalizer each, the median
of the repeats is reported, the garbage collector is off inside timed passes,
every case gets an untimed warm-up pass first (the whole buffer in full), and
each timed pass is followed by a short pause. Throughput is in million
channel-samples per second (every channel counted, passed through or not),
of the median repeat and ("best") of the fastest one.
Every output is checked against a float64 ``sosfilt`` oracle of each channel's
own bands (``signals.cookbook_sos``, not eq's design code), and every chunked
output against the same case's whole-buffer output.
"""

from __future__ import annotations

import argparse
import shlex
import statistics
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    # Run as a script: make ``benchmarks`` importable from the repository root.
    # Appended, not prepended, so that PYTHONPATH can still choose which eq to measure.
    sys.path.append(str(Path(__file__).resolve().parent.parent))

from benchmarks import machine, measure, report, signals  # noqa: E402

#: Bytes per call of the chunked passes (1024 stereo s16 frames).
CHUNK_BYTES = 4096
#: The most time (b) may take, as a multiple of (a).
TARGET_RATIO = 1.3
#: Five bands other than the preset's, for the right channel of case (b).
OTHER_BANDS = (
    {"type": "lowshelf", "freq": 80.0, "q": 0.707, "gain_db": 3.0},
    {"type": "peaking", "freq": 500.0, "q": 1.2, "gain_db": -2.0},
    {"type": "peaking", "freq": 2500.0, "q": 1.5, "gain_db": 4.0},
    {"type": "peaking", "freq": 7000.0, "q": 0.8, "gain_db": -3.0},
    {"type": "highshelf", "freq": 12000.0, "q": 0.707, "gain_db": 2.0},
)


def parse_args(argv=None):
    """Command-line options."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=None,
                   help="duration of the input in seconds (default 10, --quick 2)")
    p.add_argument("--repeats", type=int, default=None,
                   help="timed repeats per case (default 9, --quick 3)")
    p.add_argument("--quick", action="store_true",
                   help="shorter input and fewer repeats: rough figures, the target not judged")
    p.add_argument("--seed", type=int, default=0, help="seed of the input signal")
    args = p.parse_args(argv)
    if args.seconds is None:
        args.seconds = 2.0 if args.quick else 10.0
    if args.repeats is None:
        args.repeats = 3 if args.quick else 9
    if not args.seconds > 0 or args.repeats < 1:
        p.error(f"--seconds must be > 0 and --repeats >= 1, got {args.seconds!r}, {args.repeats!r}")
    return args


def _preset_bands(eq):
    """The preset benchmark-5band as eq loads it, checked against ``signals.BENCHMARK_BANDS``
    (the oracle's copy); raises if they differ, as the oracle would then judge other bands."""
    bands = eq.load_preset("benchmark-5band").bands
    got = [(b.type, b.freq_hz, b.q, b.gain_db) for b in bands]
    want = [(b["type"], b["freq"], b["q"], b["gain_db"]) for b in signals.BENCHMARK_BANDS]
    if got != want:
        raise SystemExit(f"preset benchmark-5band is {got!r}, the oracle's copy {want!r}")
    return bands


def _on(eq, bands, channels):
    """`bands` (Band objects or the oracle's dicts) acting on `channels` only."""
    out = []
    for b in bands:
        if isinstance(b, dict):
            b = eq.Band(b["type"], b["freq"], q=b["q"], gain_db=b["gain_db"])
        out.append(eq.Band(b.type, b.freq_hz, q=b.q, gain_db=b.gain_db, channels=channels))
    return out


def make_cases(eq):
    """The cases: ``(group, key, label, channels, eq bands, oracle bands per channel)``."""
    preset = _preset_bands(eq)
    five = list(signals.BENCHMARK_BANDS)
    other = list(OTHER_BANDS)
    stereo = [
        ("stereo", "a", "(a) same 5 bands on L and R", 2, preset, [five, five]),
        ("stereo", "b", "(b) different 5 bands on L and R", 2,
         _on(eq, preset, ["L"]) + _on(eq, other, ["R"]), [five, other]),
        ("stereo", "c", "(c) 5 bands on L only, R passed through", 2,
         _on(eq, preset, ["L"]), [five, []]),
    ]
    surround = [
        ("5.1", "d", "(d) 5.1: same 5 bands on all 6 channels", 6, preset, [five] * 6),
        ("5.1", "e", "(e) 5.1: 5 bands on L and R only", 6,
         _on(eq, preset, ["L", "R"]), [five, five, [], [], [], []]),
    ]
    return stereo, surround


def _oracle(samples, per_channel):
    """int16 ``(frames, channels)``: each channel through float64 sosfilt of its own bands."""
    out = samples.copy()
    for c, bands in enumerate(per_channel):
        if bands:
            sos = signals.cookbook_sos(bands, signals.SAMPLE_RATE)
            out[:, c] = signals.oracle_s16(samples[:, [c]], sos)[:, 0]
    return out


def measure_cases(eq, cases, samples, repeats):
    """Time every case on the whole buffer and in chunks of :data:`CHUNK_BYTES`.

    Returns
    -------
    list of dict
        One per case and chunking: ``key``, ``label``, ``chunk`` (None for the
        whole buffer), ``times_s``, ``median_s``, ``msamples_per_s`` (median),
        ``best_msamples_per_s`` (fastest repeat), ``max_err_lsb``, ``equals_whole``.
    """
    frames, channels = samples.shape
    pcm = samples.tobytes()
    frame_bytes = 2 * channels
    oracles = {key: _oracle(samples, per_channel) for _, key, _, _, _, per_channel in cases}
    rows, whole_out = [], {}
    for chunk in (None, CHUNK_BYTES):
        inputs = measure.split_chunks(pcm, chunk)
        # The whole buffer is warmed up in full: the first pass over fresh large
        # allocations pays page faults that later passes do not.
        warm = inputs if chunk is None else measure.split_chunks(
            pcm[: measure.WARMUP_FRAMES * frame_bytes], chunk)
        for _, _, _, ch, bands, _ in cases:
            measure._timed_pass(eq.StreamingEqualizer(signals.SAMPLE_RATE, ch, "s16le", bands).process,
                                warm)
        times = {key: [] for _, key, _, _, _, _ in cases}
        outputs = {}
        for _ in range(repeats):
            for _, key, _, ch, bands, _ in cases:  # interleaved: A B C A B C ...
                stream = eq.StreamingEqualizer(signals.SAMPLE_RATE, ch, "s16le", bands)
                elapsed, _, out = measure._timed_pass(stream.process, inputs)
                times[key].append(elapsed)
                outputs.setdefault(key, b"".join(out))
                time.sleep(measure.PAUSE_S)
        for _, key, label, _, _, _ in cases:
            median = statistics.median(times[key])
            cmp = signals.compare_s16(outputs[key], oracles[key])
            if not cmp["length_ok"] or cmp["n_samples"] != frames * channels:
                raise SystemExit(f"{label}: {cmp['n_samples']} samples out for "
                                 f"{frames * channels} in")
            if chunk is None:
                whole_out[key] = outputs[key]
            rows.append({
                "key": key, "label": label, "chunk": chunk, "times_s": times[key],
                "median_s": median, "msamples_per_s": frames * channels / median / 1e6,
                "best_msamples_per_s": frames * channels / min(times[key]) / 1e6,
                "max_err_lsb": cmp["max_err_lsb"],
                "equals_whole": None if chunk is None else outputs[key] == whole_out[key],
            })
    return rows


def _table(rows, reference_key):
    """Markdown table of `rows`, with each case's time over that of `reference_key`."""
    ref = {r["chunk"]: r["median_s"] for r in rows if r["key"] == reference_key}
    lines = []
    for r in rows:
        lines.append([
            r["label"], "whole" if r["chunk"] is None else f"{r['chunk']} B",
            report._num(r["msamples_per_s"]), report._num(r["best_msamples_per_s"]),
            f"{r['median_s'] / ref[r['chunk']]:.2f}x",
            str(r["max_err_lsb"]),
            "-" if r["equals_whole"] is None else ("yes" if r["equals_whole"] else "NO"),
        ])
    header = ["case", "chunks", "Msamples/s", "best", f"time / ({reference_key})", "max err (LSB)",
              "chunked == whole"]
    return report.markdown_table(header, lines)


def _verdicts(rows, quick):
    """One line per chunking: (b) time over (a) time against :data:`TARGET_RATIO`."""
    median = {(r["key"], r["chunk"]): r["median_s"] for r in rows}
    lines = []
    for chunk in (None, CHUNK_BYTES):
        ratio = median[("b", chunk)] / median[("a", chunk)]
        where = "whole buffer" if chunk is None else f"{chunk}-byte chunks"
        verdict = ("not judged (--quick)" if quick else
                   "met" if ratio <= TARGET_RATIO else "NOT met")
        lines.append(f"- {where}: (b) takes {ratio:.2f}x the time of (a); "
                     f"target <= {TARGET_RATIO:g}x: {verdict}")
    return "\n".join(lines)


def main(argv=None):
    """Run the cases and print the tables. Returns the exit status."""
    args = parse_args(argv)
    import eq
    from eq import streaming

    started = time.perf_counter()
    mc = machine.describe_machine()
    stereo, surround = make_cases(eq)
    stereo_rows = measure_cases(eq, stereo, signals.make_test_signal(
        args.seconds, signals.SAMPLE_RATE, 2, seed=args.seed), args.repeats)
    surround_rows = measure_cases(eq, surround, signals.make_test_signal(
        args.seconds, signals.SAMPLE_RATE, 6, seed=args.seed), args.repeats)
    print(f"Machine: {mc['cpu_model']}, {mc['usable_cpus']} usable of {mc['logical_cpus']} logical "
          f"CPUs; load average {mc['load_average_start']} at start, {machine.load_average()} at end")
    print(f"eq from {eq.__file__} (git {mc.get('git_revision')}; process() bookkeeping in "
          f"{'Python' if streaming._chunks is None else 'C'}); numba {mc['versions'].get('numba')}")
    print(f"Input: {args.seconds:g} s at {signals.SAMPLE_RATE} Hz s16le, seeded noise + tones; "
          f"{args.repeats} repeats, median, cases interleaved; "
          f"{time.perf_counter() - started:.0f} s in all")
    print(f"Command: python benchmarks/channels.py {shlex.join(sys.argv[1:] if argv is None else argv)}")
    print()
    print("Stereo: one cascade for both channels, one per channel, one channel only")
    print()
    print(_table(stereo_rows, "a"))
    print()
    print(_verdicts(stereo_rows, args.quick))
    print()
    print("5.1: the preset on every channel, and on L and R only")
    print()
    print(_table(surround_rows, "d"))
    return 0


if __name__ == "__main__":
    sys.exit(main())

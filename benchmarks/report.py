"""Printed table, JSON file, PNG plot and target check of a benchmark run.

Everything here is a pure function of the results dict built by
``benchmarks/run.py``; nothing is measured here.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

#: Speed targets of ``StreamingEqualizer.process`` on stereo s16le, 5 bands.
TARGET_RATIO_LARGE = 2.5      # x scipy whole buffer, at chunks >= 1024 frames
TARGET_RATIO_64 = 25.0        # x scipy with zi at 64-frame chunks
TARGET_RATIO_PEDALBOARD = 4.0  # x pedalboard at the same chunk size
TARGET_PER_CALL_NS = 1000.0   # on 1- to 4-byte chunks
TARGET_STARTUP_S = 1.0        # eq stream, warm cache
TARGET_PARALLEL = 1.7         # batch of files on 2 CPUs, x one thread


def chunk_name(chunk_frames):
    """Column name of a chunk size: ``"1"``, ``"64"``, ..., ``"whole"``."""
    return "whole" if chunk_frames is None else str(chunk_frames)


def _num(value):
    if value is None:
        return "-"
    if value >= 100:
        return f"{value:.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def _ratio(value):
    if value is None:
        return ""
    if value >= 10:
        return f"{value:.0f}x"
    return f"{value:.2f}x"


def markdown_table(header, rows):
    """A Markdown pipe table padded to line up as plain text.

    Parameters
    ----------
    header : list of str
        Column names.
    rows : list of list of str
        Cells.

    Returns
    -------
    str
    """
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]

    def line(cells):
        return "| " + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths)) + " |"

    sep = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(header), sep, *(line(r) for r in rows)])


def _group(measurements):
    groups = {}
    for m in measurements:
        groups.setdefault(m["key"], []).append(m)
    return groups


def throughput_table(data):
    """The main table: throughput by chunk size, ratio to scipy, accuracy.

    Parameters
    ----------
    data : dict
        Results as written to ``results.json``.

    Returns
    -------
    tuple of (str, list of str)
        The table and its footnotes (error messages).
    """
    chunks = data["config"]["chunk_frames"]
    header = ["implementation", "counted", *[chunk_name(c) for c in chunks],
              "max err (LSB)", "chunked == whole"]
    rows, notes = [], []
    for key, ms in _group(data["throughput"]).items():
        first = ms[0]
        if all(m["status"] == "skipped" for m in ms):
            rows.append([first["label"], first["message"], *["-"] * len(chunks), "-", "-"])
            continue
        by_chunk = {m["chunk_frames"]: m for m in ms}
        cells = []
        for c in chunks:
            m = by_chunk.get(c)
            if m is None:
                cells.append("-")
            elif m["status"] == "ok":
                ratio = _ratio(m["ratio_vs_scipy_whole"])
                wrong = "*" if m["equals_whole"] is False else ""
                cells.append(_num(m["msamples_per_s"]) + (f" ({ratio})" if ratio else "") + wrong)
            else:
                notes.append(f"{first['label']}, chunk {chunk_name(c)}: {m['message']}")
                cells.append(f"{m['status']} [{len(notes)}]")
        ok = [m for m in ms if m["status"] == "ok" and m["max_err_lsb"] is not None]
        whole = by_chunk.get(None)
        if whole is not None and whole["status"] == "ok":
            err = str(whole["max_err_lsb"])
            worst = max((m["max_err_lsb"] for m in ok), default=None)
            if worst is not None and worst > whole["max_err_lsb"]:
                err += f" (chunked: {worst})"
        elif ok:
            err = str(max(m["max_err_lsb"] for m in ok))
        else:
            err = "-"
        chunked = [m for m in ms if m["chunk_frames"] is not None and m["status"] == "ok"
                   and m["equals_whole"] is not None]
        if not chunked:
            same = "n/a"
        elif all(m["equals_whole"] for m in chunked):
            same = "yes"
        else:
            bad = [f"{chunk_name(m['chunk_frames'])}: {m['max_diff_vs_whole_lsb']} LSB"
                   for m in chunked if not m["equals_whole"]]
            same = "no (" + ", ".join(bad) + ")"
        rows.append([first["label"], first["counted"], *cells, err, same])
    return markdown_table(header, rows), notes


def threading_notes(data):
    """One line per in-process peer that used more than one core somewhere.

    Parameters
    ----------
    data : dict
        Results as written to ``results.json``.

    Returns
    -------
    list of str
    """
    lines = []
    for key, ms in _group(data["throughput"]).items():
        used = [m for m in ms if m["status"] == "ok" and (m["extra"].get("cores_used") or 0) > 1.2]
        if used:
            cells = [f"{chunk_name(m['chunk_frames'])}: {m['extra']['cores_used']:.2f} cores, "
                     f"{_num(m['extra'].get('msamples_per_cpu_s'))} per CPU-s" for m in used]
            lines.append(f"- {ms[0]['label']}: " + "; ".join(cells))
    return lines


def silence_tail_table(data):
    """Markdown table of the whole-buffer run on sound followed by silence.

    Returns an empty string for results written before this measurement existed.
    """
    rows = []
    normal = {m["key"]: m for m in data["throughput"] if m["chunk_frames"] is None}
    for m in data.get("silence_tail", []):
        if m["status"] != "ok":
            rows.append([m["label"], m["status"] + (f": {m['message']}" if m["message"] else ""),
                         "-", "-"])
            continue
        ref = normal.get(m["key"])
        speed = (m["msamples_per_s"] / ref["msamples_per_s"]
                 if ref and ref.get("msamples_per_s") else None)
        rows.append([m["label"], _num(m["msamples_per_s"]),
                     "-" if speed is None else f"{speed:.2f}x", str(m["max_err_lsb"])])
    if not rows:
        return ""
    return markdown_table(["implementation", "M samples/s", "vs the same on the test signal",
                           "max err (LSB)"], rows)


def formats_table(data):
    """Markdown table: eq's whole-buffer throughput by format (rows) and channels (columns).

    Cells are million samples per second with the ratio to scipy's sosfilt
    (float64, filter only) on the same channel count. Empty for results
    written before this measurement existed.
    """
    rows = data.get("formats", [])
    if not rows:
        return ""
    channels = sorted({r["channels"] for r in rows})
    ref = {r["channels"]: r["msamples_per_s"] for r in rows if r["format"] is None}
    formats = []
    for r in rows:
        if r["format"] not in formats:
            formats.append(r["format"])
    lines = []
    for fmt in formats:
        cells = ["scipy sosfilt f64 (filter only)" if fmt is None else f"eq {fmt}"]
        for ch in channels:
            r = next((r for r in rows if r["format"] == fmt and r["channels"] == ch), None)
            if r is None or r["status"] != "ok":
                cells.append("-" if r is None else r["status"])
            elif fmt is None or not ref.get(ch):
                cells.append(_num(r["msamples_per_s"]))
            else:
                cells.append(f"{_num(r['msamples_per_s'])} ({r['msamples_per_s'] / ref[ch]:.1f}x)")
        lines.append(cells)
    return markdown_table(["implementation"] + [f"{ch} ch" for ch in channels], lines)


def per_call_table(data):
    """Nanoseconds per ``process`` call by chunk size in bytes."""
    rows_in = data["per_call"]
    sizes = sorted({r["chunk_bytes"] for r in rows_in})
    frame_bytes = 2 * data["config"]["channels"]
    names = [f"{s} B" + (" (1 frame)" if s == frame_bytes else "") for s in sizes]
    header = ["implementation", *names]
    rows, order = [], []
    for r in rows_in:
        if r["key"] not in order:
            order.append(r["key"])
    for key in order:
        mine = {r["chunk_bytes"]: r for r in rows_in if r["key"] == key}
        label = next(iter(mine.values()))["label"]
        cells = []
        for s in sizes:
            r = mine.get(s)
            if r is None:
                cells.append("-")
            elif r["status"] == "ok":
                cells.append(f"{r['ns_per_call']:.0f} ns")
            else:
                cells.append(r["message"][:60])
        rows.append([label, *cells])
    return markdown_table(header, rows)


def parallel_table(data):
    """Several streams at once: wall-clock time and speed-up by CPUs and jobs."""
    rows = []
    for r in data.get("parallel", []):
        cpus = str(r.get("cpus", "-")) + ("" if r.get("pinned", True) else " (not pinned)")
        setup = [r["label"], cpus, str(r["workers"])]
        if r["status"] == "ok":
            same = {True: "yes", False: "NO", None: "-"}[r["same_output"]]
            rows.append([*setup, f"{r['median_s']:.3f}", _num(r["msamples_per_s"]),
                         "-" if r["speedup"] is None else f"{r['speedup']:.2f}x", same])
        else:
            rows.append([*setup, r["message"][:80], "-", "-", "-"])
    if not rows:
        return ""
    return markdown_table(["job", "CPUs", "jobs at once", "median (s)", "M samples/s",
                           "speed-up vs 1 CPU", "same output"], rows)


def startup_table(data):
    """Median wall-clock start-up times of the command line."""
    rows = []
    for r in data["startup"]:
        if r["status"] == "ok":
            spread = f"{min(r['times_s']):.3f} - {max(r['times_s']):.3f}"
            rows.append([r["label"], f"{r['median_s']:.3f}", spread])
        else:
            rows.append([r["label"], r["message"][:80], "-"])
    return markdown_table(["command", "median (s)", "min - max (s)"], rows)


def _find(data, key, chunk):
    for m in data["throughput"]:
        if m["key"] == key and m["chunk_frames"] == chunk and m["status"] == "ok":
            return m
    return None


QUICK_NOT_JUDGED = ("targets are not judged in quick mode: its inputs are too short and its "
                    "repeats too few to measure them; run without --quick for verdicts")
"""What the report says instead of verdicts after ``run.py --quick``."""


def check_targets(data):
    """Compare eq with the speed targets.

    Parameters
    ----------
    data : dict
        Results as written to ``results.json``. When ``data["config"]["quick"]``
        is true, the figures are given but not judged.

    Returns
    -------
    list of dict
        Keys ``target``, ``measured`` (text) and ``met`` (True, False, or
        None when it could not be measured or, in quick mode, not judged).
    """
    out = []
    judged = not data["config"].get("quick", False)

    def add(target, measured, met):
        out.append({"target": target, "measured": measured, "met": met if judged else None})

    # The verdict uses scipy's filter-only figure, the stricter reference (the
    # targets were set against sosfilt alone); the same-job ratio is shown too.
    def versus(eq_chunk, scipy_chunk, factor, target):
        eq_m = _find(data, "eq", eq_chunk)
        strict = _find(data, "scipy_filter", scipy_chunk)
        same_job = _find(data, "scipy", scipy_chunk)
        if eq_m is None or (strict is None and same_job is None):
            add(target, "not measured", None)
            return
        texts, verdict = [], None
        for ref, name in ((strict, "filter only"), (same_job, "bytes->bytes")):
            if ref is not None:
                r = eq_m["msamples_per_s"] / ref["msamples_per_s"]
                texts.append(f"{r:.2f}x scipy {name}")
                if verdict is None:
                    verdict = r >= factor
        add(target, ", ".join(texts), verdict)

    for c in (1024, 16384, None):
        versus(c, None, TARGET_RATIO_LARGE,
               f"eq at chunk {chunk_name(c)} >= {TARGET_RATIO_LARGE}x scipy whole buffer")
    versus(64, 64, TARGET_RATIO_64,
           f"eq at chunk 64 >= {TARGET_RATIO_64:g}x scipy (zi) at chunk 64")
    for c in data["config"]["chunk_frames"]:
        eq_m, pb = _find(data, "eq", c), _find(data, "pedalboard", c)
        target = f"eq >= {TARGET_RATIO_PEDALBOARD:g}x pedalboard at chunk {chunk_name(c)}"
        if eq_m is None:
            add(target, "eq not measured", None)
        elif pb is None:
            add(target, "pedalboard failed or skipped", None)
        else:
            r = eq_m["msamples_per_s"] / pb["msamples_per_s"]
            add(target, f"{r:.2f}x", r >= TARGET_RATIO_PEDALBOARD)
    frame_bytes = 2 * data["config"]["channels"]
    noop = {r["chunk_bytes"]: r["ns_per_call"] for r in data["per_call"]
            if r["key"] == "python_noop" and r["status"] == "ok"}
    for r in data["per_call"]:
        if r["key"] != "eq" or r["chunk_bytes"] > frame_bytes:
            continue
        target = f"eq per-call overhead <= {TARGET_PER_CALL_NS:g} ns at {r['chunk_bytes']} B"
        if r["status"] == "ok":
            text = f"{r['ns_per_call']:.0f} ns"
            if noop.get(r["chunk_bytes"]):
                ref = noop[r["chunk_bytes"]]
                text += f" ({r['ns_per_call'] / ref:.0f}x a no-op Python call, {ref:.0f} ns)"
            add(target, text, r["ns_per_call"] <= TARGET_PER_CALL_NS)
        else:
            add(target, r["message"], None)
    for r in data.get("parallel", []):
        if r["key"] == "files" and r["workers"] >= 2:
            target = (f"batch of files on {r['workers']} CPUs >= {TARGET_PARALLEL:g}x "
                      f"one CPU (moonshot)")
            if r["status"] == "ok" and r["speedup"] is not None:
                met = r["speedup"] >= TARGET_PARALLEL and r["same_output"] is True
                # 3 digits, rounded down: 1.697 is not 1.70, nor 1.6996 1.700.
                add(target, f"{math.floor(r['speedup'] * 1000) / 1000:.3f}x", met)
            else:
                add(target, r["message"] or "not measured", None)
    for r in data["startup"]:
        if r["key"] == "eq_stream":
            target = f"eq stream start-up <= {TARGET_STARTUP_S:g} s (warm cache)"
            if r["status"] == "ok":
                add(target, f"{r['median_s']:.3f} s", r["median_s"] <= TARGET_STARTUP_S)
            else:
                add(target, r["message"], None)
    return out


def targets_table(targets, judged=True):
    """The target check as a table; without `judged`, the figures only."""
    if not judged:
        return markdown_table(["target", "measured (not judged)"],
                              [[t["target"], t["measured"]] for t in targets])
    verdict = {True: "met", False: "MISSED", None: "n/a"}
    return markdown_table(["target", "measured (verdict on the first figure)", "verdict"],
                          [[t["target"], t["measured"], verdict[t["met"]]] for t in targets])


def header_text(data):
    """Machine and configuration lines printed above the tables."""
    mc, cfg = data["machine"], data["config"]
    v = mc["versions"]
    flags = ",".join(mc["cpu_flags"]) or "-"
    lines = [
        f"Machine: {mc['cpu_model']} (family {mc['cpu_family']}, model "
        f"{mc['cpu_model_number']}, {flags}), {mc['usable_cpus']} usable of "
        f"{mc['logical_cpus']} logical CPUs; load average {mc['load_average_start']} at start, "
        f"{mc.get('load_average_end')} at end",
        f"Software: Python {mc['python']}, numpy {v.get('numpy')}, scipy {v.get('scipy')}, "
        f"numba {v.get('numba')}, pedalboard {v.get('pedalboard')}, ffmpeg {v.get('ffmpeg')}, "
        f"sox {v.get('sox')}, eq {v.get('eq-stream')} from {cfg.get('eq_module')} "
        f"(repository at git {mc.get('git_revision')}; process() bookkeeping in "
        f"{cfg.get('eq_process_bookkeeping')})",
        f"Input: {cfg['seconds']:g} s stereo {cfg['sample_rate']} Hz s16le, seeded noise + tones, "
        f"{cfg['frames']} frames; bands of preset benchmark-5band; {cfg['repeats']} repeats, "
        f"median, implementations interleaved",
        f"Chunked passes stop after {cfg['max_calls']} calls (1-frame chunks cover the first "
        f"{min(cfg['max_calls'], cfg['frames'])} frames). Command-line peers filter "
        f"{cfg['command_seconds']:g} s (the input repeated).",
        f"Command: {cfg['command_line']}",
    ]
    return "\n".join(lines)


def format_report(data):
    """The whole printed report (plain text that is also Markdown).

    Parameters
    ----------
    data : dict
        Results as written to ``results.json``.

    Returns
    -------
    str
    """
    table, notes = throughput_table(data)
    parts = [
        header_text(data),
        "",
        "Throughput in million channel-samples per second (ratio to scipy sosfilt "
        "bytes -> bytes on the whole buffer); columns are frames per call:",
        "",
        table,
    ]
    if any(m["equals_whole"] is False for m in data["throughput"]):
        parts += ["", "* output differs from the same implementation's whole-buffer output "
                      "(last column)."]
    if notes:
        parts += [""] + [f"[{i}] {n}" for i, n in enumerate(notes, 1)]
    threaded = threading_notes(data)
    if threaded:
        parts += ["", "Threads (process CPU time / wall time, and throughput per CPU-second):", ""]
        parts += threaded
    tail = silence_tail_table(data)
    if tail:
        parts += ["", "Silence after sound (0.1 s of the test signal, then digital silence; "
                      "whole buffer). Filter state decaying into subnormal floats slows "
                      "plain IEEE arithmetic:", "", tail]
    fmt_table = formats_table(data)
    if fmt_table:
        parts += ["", "eq by sample format and channel count: million samples per second on "
                      "the whole buffer (ratio to scipy filter only, same channels):", "",
                  fmt_table]
    par_table = parallel_table(data)
    if par_table:
        parts += ["", "Several streams at once (wall clock; speed-up over one thread; whether "
                      "the output equals the one-thread run):", "", par_table]
    parts += ["", "Per-call overhead (median time per process() call, same chunk repeated):",
              "", per_call_table(data),
              "", "Start-up (wall clock, warm cache):", "", startup_table(data),
              "", "Targets:", ""]
    if data["config"].get("quick", False):
        parts += [QUICK_NOT_JUDGED[0].upper() + QUICK_NOT_JUDGED[1:] + ".", "",
                  targets_table(data["targets"], judged=False)]
    else:
        parts += [targets_table(data["targets"])]
    return "\n".join(parts) + "\n"


def write_json(data, path):
    """Write the results as indented JSON."""
    Path(path).write_text(json.dumps(data, indent=2, default=str) + "\n")


def plot_throughput(data, path):
    """PNG plot of throughput against chunk size (log-log).

    Parameters
    ----------
    data : dict
        Results as written to ``results.json``.
    path : path-like
        Output PNG.

    Returns
    -------
    str or None
        None on success, otherwise ``"skipped: ..."``.
    """
    try:
        import matplotlib
    except ImportError:
        return "skipped: not installed (matplotlib)"
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    whole_x = data["config"]["frames"]
    fig, ax = plt.subplots(figsize=(8, 5), dpi=110)
    markers = iter("os^vDP*Xh<>")
    for key, ms in _group(data["throughput"]).items():
        pts = [((whole_x if m["chunk_frames"] is None else m["chunk_frames"]), m["msamples_per_s"])
               for m in ms if m["status"] == "ok"]
        if not pts:
            continue
        xs, ys = zip(*sorted(pts))
        style = "-" if len(pts) > 1 else "none"
        ax.plot(xs, ys, linestyle=style, marker=next(markers, "o"), label=ms[0]["label"])
    wrong = [((whole_x if m["chunk_frames"] is None else m["chunk_frames"]), m["msamples_per_s"])
             for m in data["throughput"] if m["status"] == "ok" and m["equals_whole"] is False]
    if wrong:
        xs, ys = zip(*wrong)
        ax.scatter(xs, ys, s=140, facecolors="none", edgecolors="red", linewidths=1.5,
                   label="output differs from whole buffer", zorder=5)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ticks = [c for c in data["config"]["chunk_frames"] if c is not None] + [whole_x]
    ax.set_xticks(ticks)
    ax.set_xticklabels([str(t) for t in ticks[:-1]] + [f"whole\n({whole_x})"])
    ax.set_xlabel("frames per call")
    ax.set_ylabel("million channel-samples per second")
    ax.set_title("Stereo 48 kHz s16le, 5 bands (benchmark-5band)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return None

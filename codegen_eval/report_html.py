"""The self-contained HTML report of a run: one section per candidate, plots embedded as PNG.

Each section shows the verdict, the checked properties, what happened to the runs (counts, and
how the workers ended), every diagnosis with its evidence and replay command, the throughput
(median and interquartile range) of a correct candidate, the environment and the sandbox
features applied, and for each failing case with an error to draw a plot of the error against
the frame index with the chunk boundaries marked; failing runs with no error to draw are said in
words, with the reason. Plots need matplotlib (the ``plot`` extra); without it the page says so
and keeps everything else.
"""
from __future__ import annotations

import base64
import html
import io
import shlex

from .diagnosis import describe_exception
from .scoring import ERROR_DIAGNOSES
from .report import (throughput_setting, _code_label, _error_unit, best_speedup, describe_evidence, describe_outcome,
                     throughput_warnings)

_CSS = """
body{font-family:system-ui,sans-serif;font-size:14px;max-width:1360px;margin:0 auto;padding:0 16px;color:#222}
h1{font-size:24px}h2{font-size:19px;margin:0 0 8px}h3{font-size:15px;margin:14px 0 6px}
section{border:1px solid #ddd;border-radius:6px;padding:12px 16px;margin:18px 0}
table{border-collapse:collapse;margin:4px 0}td,th{border:1px solid #ddd;padding:3px 8px;text-align:left;
vertical-align:top}th{background:#f4f4f4}td.num{text-align:right;font-variant-numeric:tabular-nums}
.pass{color:#0a7a0a}.fail{color:#b00}.error{color:#b36b00}.verdict{font-weight:bold}
.chip{display:inline-block;border-radius:10px;padding:1px 8px;margin:2px 3px 2px 0;font-size:12px}
.chip.yes{background:#e3f4e3}.chip.no{background:#f9dede}
.diag{margin:8px 0 12px;padding-left:10px;border-left:4px solid #b00}.error-diag{border-left-color:#b36b00}
.diag ul{margin:4px 0;padding-left:20px}
pre,code{font-family:ui-monospace,monospace;font-size:12px}pre{background:#f6f6f6;padding:5px 8px;
white-space:pre-wrap;word-break:break-all;margin:4px 0}
.cols{display:grid;grid-template-columns:1fr 1fr;gap:0 24px}
.plots{display:grid;grid-template-columns:repeat(auto-fill,minmax(620px,1fr));gap:8px}
figure{margin:0}figcaption{font-size:12px;color:#444}img{max-width:100%}
.env td:first-child{white-space:nowrap;color:#555}
.danger{color:#fff;background:#b00;font-weight:bold;padding:2px 6px}
"""
_PROPERTY_LABELS = {
    "completed": "every run finished without an error", "matches_reference": "matches the reference",
    "chunk_invariant": "same bytes for every chunking", "zero_latency": "zero latency",
    "correct_length": "correct length", "deterministic": "deterministic",
    "accepts_valid": "accepts valid configurations", "rejects_invalid": "rejects invalid configurations",
}


def plot_png(plot: dict) -> str | None:
    """Render one error plot to a base64 PNG (palette colours, a few tens of kB).

    Parameters
    ----------
    plot : dict
        An entry of a result's ``plots``: ``case``, ``chunking``, ``unit``, ``frames_per_point``,
        ``error`` (max absolute error per point; None where not finite), ``boundaries_frames``,
        ``first_frame``.

    Returns
    -------
    str or None
        The PNG as base64 text, or None when matplotlib is not installed.
    """
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from PIL import Image
    except ImportError:
        return None
    import numpy as np

    err = np.array([np.inf if v is None else v for v in plot["error"]], dtype=float)
    finite = err[np.isfinite(err) & (err > 0)]
    # decades: log10 of the error on a linear axis draws in a third of the time of a log axis
    low = int(np.floor(np.log10(finite.min()))) - 1 if finite.size else -12
    high = int(np.ceil(np.log10(finite.max()))) + 1 if finite.size else 0
    step = plot["frames_per_point"]
    x = np.arange(err.size) * step
    with np.errstate(divide="ignore"):
        y = np.log10(np.clip(err, 10.0 ** low, 10.0 ** high))
    fig, ax = plt.subplots(figsize=(7.0, 2.3), dpi=90)
    ax.plot(x, y, lw=0.8, color="#c0392b")
    bad = ~np.isfinite(err)
    if bad.any():
        ax.plot(x[bad], np.full(bad.sum(), high), "x", ms=3, color="k")
    bounds = plot.get("boundaries_frames") or []
    if bounds:
        ax.vlines(bounds, 0, 1, transform=ax.get_xaxis_transform(), color="#2c7fb8", lw=0.5, alpha=0.6)
    if plot.get("first_frame") is not None:
        ax.axvline(plot["first_frame"], color="k", lw=0.8, ls="--")
    decades = np.arange(low, high + 1, max(1, (high - low) // 6))
    ax.set_yticks(decades, [f"1e{k}" for k in decades])
    ax.set_ylim(low, high + 0.2)
    ax.set_xlim(0, max(1, err.size * step))
    ax.set_xlabel("frame (sample index per channel)", fontsize=8)
    ax.set_ylabel(f"|error| ({plot.get('unit', 'LSB or abs')})", fontsize=8)
    ax.tick_params(labelsize=7)
    title = f"{plot['case']} ({plot.get('format', '')}), chunking {plot['chunking']}"
    title += f", first divergence at frame {plot['first_frame']}" if plot.get("first_frame") is not None else ""
    title += "" if bounds else ", no chunk boundary"
    ax.set_title(title, fontsize=9)
    # fixed margins: tight_layout would double the rendering time of a page with a hundred plots
    fig.subplots_adjust(left=0.085, right=0.99, bottom=0.18, top=0.9)
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    # a line plot needs few colours: a 32-colour palette makes the PNG several times smaller
    image = Image.open(io.BytesIO(buf.getvalue())).convert("RGB").quantize(colors=32)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return base64.b64encode(out.getvalue()).decode()


def _summary_table(results: list[dict]) -> str:
    e = html.escape
    rows = ["<table><tr><th>candidate</th><th>language</th><th>verdict</th><th>diagnoses</th><th>runs ok</th>"
            "<th>speedup (whole)</th></tr>"]
    for r in results:
        sp = best_speedup(r)
        props = r.get("properties", {})
        rows.append(f"<tr><td><a href='#c{results.index(r)}'>{e(r['candidate'])}</a></td><td>{e(r['language'])}</td>"
                    f"<td class='verdict {e(r['verdict'])}'>{e(r['verdict'])}</td>"
                    f"<td>{e(', '.join(_code_label(d) for d in r['diagnoses']) or '-')}</td>"
                    f"<td class='num'>{props.get('runs_ok', 0)}/{props.get('runs', 0)}</td>"
                    f"<td class='num'>{'-' if sp is None else f'{sp:.2f}x'}</td></tr>")
    rows.append("</table>")
    return "\n".join(rows)


def _properties(r: dict) -> str:
    """The property marks, then what happened to the runs (:func:`codegen_eval.report.describe_outcome`)."""
    props = r.get("properties", {})
    said = " ".join(html.escape(line) for line in describe_outcome(r))
    if not props.get("runs") or props.get("runs_not_run") == props["runs"]:
        return f"<p>{said} No property was checked.</p>"
    chips = [f"<span class='chip {'yes' if props[k] else 'no'}'>{'✓' if props[k] else '✗'} {label}</span>"
             for k, label in _PROPERTY_LABELS.items() if k in props]
    return "<p>" + "".join(chips) + "</p><p>" + said + "</p>"


def _diagnoses(r: dict) -> str:
    e = html.escape
    parts = []
    for d in r["diagnoses"]:
        cls = "diag error-diag" if d["code"] in ERROR_DIAGNOSES else "diag"
        items = "".join(f"<li>{e(describe_evidence(ev, ev.get('error_unit') or _error_unit(r, ev.get('case'))))}</li>" for ev in d["evidence"])
        parts.append(f"<div class='{cls}'><b>{e(_code_label(d))}</b>: {e(d['detail'])}"
                     + (f"<ul>{items}</ul>" if items else "") + f"<div>replay:</div><pre>{e(d['replay'])}</pre></div>")
    return "\n".join(parts)


def _throughput(tp: dict | None) -> str:
    if not tp:
        return ""
    e = html.escape
    notes = "".join(f"<p class='danger'>{e(line)}</p>" for line in throughput_warnings(tp))
    if not tp.get("rows"):
        return f"<h3>Throughput</h3>{notes}<p>{e(str(tp.get('error', 'not measured')))}</p>"
    rows = [f"<h3>Throughput</h3>{notes}<p>{e(throughput_setting(tp))}, a fresh input for every turn; candidate and reference "
            "in two sandboxed workers on one CPU, taking turns (the idle one stopped), timed by the harness's "
            "clock, every timed output checked. Millions of samples per second, median ± interquartile range; "
            "speedup = candidate / reference.</p><table><tr><th>chunk</th><th>candidate</th><th>reference</th>"
            "<th>rounds</th><th>speedup</th></tr>"]
    for row in tp["rows"]:
        cand, ref = row["candidate"], row["reference"]
        rows.append(f"<tr><td>{e(row['chunking'])}</td>"
                    f"<td class='num'>{cand['median_msamples_per_s']:.2f} ± {cand['iqr_msamples_per_s']:.2f}</td>"
                    f"<td class='num'>{ref['median_msamples_per_s']:.2f} ± {ref['iqr_msamples_per_s']:.2f}</td>"
                    f"<td class='num'>{cand['rounds']}</td><td class='num'>{row['speedup']:.2f}x</td></tr>")
    rows.append("</table>")
    return "\n".join(rows)


def sandbox_lines(r: dict) -> list[str]:
    """Plain-text lines saying how the candidate was confined, from the result's ``sandbox`` entry
    (what the harness set up, and what the kernel reported of the worker, read from outside)."""
    box = r.get("sandbox") or {}
    if box.get("mode") == "unsafe-no-sandbox":
        return [UNSAFE_WARNING]
    if box.get("mode") != "bwrap":
        return ["no sandbox information in this result"]
    bw = box.get("bwrap") or {}
    lines = [f"bubblewrap {bw.get('version')} ({bw.get('source')}: {bw.get('path')})",
             "new user, PID, network, IPC, UTS and cgroup namespaces; uid and gid 65534; new session; "
             "ended with the harness",
             "root: read-only system folders, the interpreter and the allowed packages; the candidate's own "
             "folder and /tmp are private, size-limited tmpfs; the reference and the project are not there "
             "(a probe sandbox looked for them before scoring; the harness refuses to score where they show)"]
    observed = box.get("observed") or {}
    if observed:
        mode = observed.get("seccomp_mode")
        lines.append("seccomp filter: " + ("on (the kernel reports filter mode)" if mode == 2 else f"NOT on (mode {mode})")
                     + "; capabilities: " + ("none" if observed.get("cap_eff") == "0000000000000000" else
                                             str(observed.get("cap_eff"))))
        limits = observed.get("limits") or {}
        wanted = [("Max cpu time", "CPU time", "s"), ("Max address space", "address space", "bytes"),
                  ("Max file size", "file size", "bytes"), ("Max core file size", "core dumps", "bytes")]
        lines.append("resource limits (as the kernel reports them): " + ", ".join(
            f"{label} {limits[key]} {unit}" for key, label, unit in wanted if key in limits))
    else:
        lines.append("the worker ended before the parent could read its seccomp mode and limits")
    if r.get("language") == "python":
        lines.append("the task's import policy and an audit hook, inside the candidate's own process (a rule of "
                     "the task; the sandbox is the boundary)")
    return lines


UNSAFE_WARNING = ("NO SANDBOX: scored with --unsafe-no-sandbox; the candidate ran as the harness's user, "
                  "with the host's files and network")


def _environment(r: dict) -> str:
    e = html.escape
    env = r.get("environment") or {}
    comp = env.get("compile") or {}
    worker = r.get("worker") or {}
    timing = r.get("timing_s") or {}
    rows = [("CPU", f"{env.get('cpu')} ({env.get('cpu_count')} logical CPUs)"), ("platform", env.get("platform")),
            ("versions", ", ".join(f"{k} {env.get(k)}" for k in ("python", "numpy", "scipy", "numba", "eq")
                                   if k in env)),
            ("task, seed", f"{r.get('task')}, seed {env.get('seed')}"), ("source sha256", r.get("sha256"))]
    if comp:
        cmd = comp.get("command") or []
        rows += [("compiler", comp.get("compiler_version")),
                 ("compile command", " ".join(cmd)), ("compile time", f"{comp.get('compile_s', 0):.2f} s")]
    if worker.get("returncode") is None and not worker.get("killed_for"):
        worker_text = "not started"
    else:
        worker_text = (f"exit status {worker.get('returncode')}, {worker.get('wall_s', 0):.1f} s wall, max RSS "
                       f"{worker.get('max_rss_mb', 0):.0f} MB"
                       + (f", killed for {worker['killed_for']}" if worker.get("killed_for") else ""))
    rows += [("worker", worker_text),
             ("scoring time", ", ".join(f"{k} {v:.1f} s" for k, v in timing.items()))]
    body = "".join(f"<tr><td>{e(k)}</td><td>{e(str(v))}</td></tr>" for k, v in rows)
    sandbox = "".join(f"<li{' class=danger' if line == UNSAFE_WARNING else ''}>{e(line)}</li>"
                      for line in sandbox_lines(r))
    command = (r.get("sandbox") or {}).get("command")
    if command:
        sandbox += f"<li><details><summary>command line</summary><pre>{e(shlex.join(command))}</pre></details></li>"
    out = [f"<div class='cols'><div><h3>Environment</h3><table class='env'>{body}</table></div>"
           f"<div><h3>Sandbox</h3><ul>{sandbox}</ul></div></div>"]
    if comp and not comp.get("ok"):
        out.append(f"<h3>Compiler output</h3><pre>{e(comp.get('output', ''))}</pre>")
    if worker.get("stderr_tail") and r["verdict"] == "error":
        out.append(f"<h3>Worker stderr (end)</h3><pre>{e(worker['stderr_tail'])}</pre>")
    return "\n".join(out)


def _has_curve(plot: dict) -> bool:
    """Whether a plot has an error to draw: a sample off the reference, or a non-finite one."""
    return any(v is None or v > 0 for v in plot.get("error") or [])


def _failing_run(r: dict, case: str, chunking: str | None = None) -> dict | None:
    """The first listed failing run of `case` (and `chunking`), the stream worker's first."""
    runs = [x for x in r.get("failing_runs", []) if x.get("case") == case
            and (chunking is None or x.get("chunking") == chunking)]
    return min(runs, key=lambda x: bool(x.get("repeat")), default=None)


def why_no_curve(r: dict, case: str, chunking: str | None, frames: int) -> str:
    """Plain text saying why a failing run has no error to draw.

    Parameters
    ----------
    r : dict
        The result.
    case, chunking : str
        The run (`chunking` None: any failing run of the case).
    frames : int
        Frames of output compared with the reference (0: none came back).
    """
    run = _failing_run(r, case, chunking) or {}
    total = next((c.get("frames") for c in r.get("cases", []) if c.get("id") == case), None)
    of = f" of {total}" if total is not None else ""
    returned = (f"the {frames}{of} frames it returned match the reference" if frames else "it returned no output")
    if run.get("exception"):
        return f"{returned}, then it raised {describe_exception(run['exception'])}"
    if run.get("create_error"):
        return f"creating the instance failed: {describe_exception(run['create_error'])}"
    if run and not run.get("completed"):
        return f"{returned}: the run was never made or was cut off, because the worker ended first"
    if run and run.get("got_bytes") != run.get("expected_bytes"):
        return (f"{returned}, but {run.get('got_bytes')} bytes came out in total where "
                f"{run.get('expected_bytes')} were expected")
    if run.get("identical_to_whole") is False:
        return ("within tolerance, but the second process gave other bytes for the same input" if run.get("repeat")
                else "within tolerance, but not the same bytes as the same input fed whole")
    return f"{returned}; what else is wrong with it is in the diagnoses above"


def unplotted(r: dict) -> list[str]:
    """Plain-text lines for the failing runs that have no error to draw, grouped by reason: runs
    whose output is right as far as it goes (they raised, or stopped short), runs that returned
    nothing. The runs that never started or were never made are not listed: the account of the
    result (:func:`codegen_eval.report.describe_outcome`) counts them and says why."""
    props = r.get("properties") or {}
    not_run, rejected = props.get("runs_not_run", 0), props.get("runs_rejected", 0)
    if not_run and not_run == props.get("runs"):
        return []
    plots = r.get("plots") or []
    reasons: dict = {}
    for p in plots:
        if not _has_curve(p):
            why = why_no_curve(r, p["case"], p["chunking"], p.get("frames", 0))
            reasons.setdefault(why, []).append(f"{p['case']} ({p['chunking']})")
    plotted = {p["case"] for p in plots}
    for case in dict.fromkeys(x.get("case") for x in r.get("failing_runs", [])):
        run = _failing_run(r, case)
        if (case is None or case in plotted or (rejected and run.get("create_error"))
                or (not_run and not run.get("completed") and not run.get("create_error"))):
            continue  # counted below
        reasons.setdefault(why_no_curve(r, case, run.get("chunking"), 0), []).append(
            f"{case} ({run.get('chunking')})")
    # the runs that never started or were never made are counted in the account above the plots
    return [f"{', '.join(cases)}: {why}" for why, cases in reasons.items()]


def _plots(r: dict) -> str:
    """The error plots of the failing runs that have an error to draw; the others in words."""
    drawn = [p for p in r.get("plots") or [] if _has_curve(p)]
    words = unplotted(r)
    out = []
    if words:
        out.append("<h3>Failing runs with no error to plot</h3><ul>"
                   + "".join(f"<li>{html.escape(w)}</li>" for w in words) + "</ul>")
    if drawn:
        out.append(_figures(drawn))
    return "\n".join(out)


def _figures(plots: list[dict]) -> str:
    e = html.escape
    figures = []
    for plot in plots:
        png = plot_png(plot)
        cited = f"evidence for {', '.join(plot['diagnoses'])}" if plot.get("diagnoses") else ""
        if png is None:
            figures.append(f"<figure><figcaption>{e(plot['case'])}, chunking {e(plot['chunking'])}: the plot "
                           "needs matplotlib</figcaption></figure>")
        else:
            figures.append(f"<figure><img alt='error of {e(plot['case'])}, chunking {e(plot['chunking'])}' "
                           f"src='data:image/png;base64,{png}'><figcaption>{e(cited)}</figcaption></figure>")
    return (f"<h3>Error against frame: one failing run for each of {len(plots)} failing case(s)</h3>"
            "<p>Red: largest absolute error per plotted point (log scale; a point covers "
            "<code>frames_per_point</code> frames of long cases); blue: chunk boundaries; dashed: the first "
            "divergent frame; crosses: NaN or infinite output. The run shown is the one a diagnosis cites, "
            "else the whole input, else the failing chunking with the fewest boundaries.</p>"
            "<div class='plots'>" + "\n".join(figures) + "</div>")


def html_report(results: list[dict]) -> str:
    """Return a self-contained HTML page for a run of one or more candidates.

    Parameters
    ----------
    results : list of dict
        Results as returned by :func:`codegen_eval.score` or read by
        :func:`codegen_eval.report.load_results`.

    Returns
    -------
    str
        The page; images are embedded as base64 PNG, nothing is loaded from elsewhere.
    """
    e = html.escape
    parts = ["<!doctype html><html><head><meta charset='utf-8'><title>codegen-eval report</title>",
             f"<style>{_CSS}</style></head><body><h1>codegen-eval report</h1>"]
    if any((r.get("sandbox") or {}).get("mode") == "unsafe-no-sandbox" for r in results):
        parts.append(f"<p class='danger'>{e(UNSAFE_WARNING)}</p>")
    parts.append(_summary_table(results))
    for i, r in enumerate(results):
        parts.append(f"<section id='c{i}'><h2>{e(r['candidate'])} ({e(r['language'])}): "
                     f"<span class='verdict {e(r['verdict'])}'>{e(r['verdict'])}</span></h2>")
        parts += [_properties(r), _diagnoses(r), _throughput(r.get("throughput")), _environment(r), _plots(r)]
        parts.append("</section>")
    parts.append("</body></html>")
    return "\n".join(p for p in parts if p)

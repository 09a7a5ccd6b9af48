"""Reports: the versioned JSON result, a Markdown summary table, a self-contained HTML page.

The HTML page embeds, for each failing case, a PNG (base64) of the error against the frame
index with the chunk boundaries marked; it needs matplotlib (the ``plot`` extra) and falls back
to tables without plots when matplotlib is missing.
"""
from __future__ import annotations

import base64
import html
import io
import json
from pathlib import Path

from .evaluate import RESULT_SCHEMA


def write_json(results: list[dict], path: str | Path) -> None:
    """Write one result (a dict) or several (a list) as JSON."""
    payload = results[0] if len(results) == 1 else {"schema": RESULT_SCHEMA + "+list", "results": results}
    Path(path).write_text(json.dumps(payload, indent=1, default=_default))


def _default(obj):
    try:
        return float(obj)
    except (TypeError, ValueError):
        return str(obj)


def load_results(paths: list[str | Path]) -> list[dict]:
    """Read results written by :func:`write_json`.

    Parameters
    ----------
    paths : list of str or Path
        JSON files, each holding one result or a list of results.

    Returns
    -------
    list of dict
        The results, in file order.

    Raises
    ------
    ValueError
        A file is missing, is not JSON, or does not hold ``codegen_eval`` results.
    """
    out = []
    for p in paths:
        try:
            data = json.loads(Path(p).read_text())
        except OSError as exc:
            raise ValueError(f"cannot read {str(p)!r}: {exc.strerror or exc}") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ValueError(f"{str(p)!r} is not JSON ({exc})") from None
        items = data.get("results", [data]) if isinstance(data, dict) else data
        if not isinstance(items, list):
            items = [items]
        for item in items:
            schema = item.get("schema") if isinstance(item, dict) else None
            if not str(schema or "").startswith("codegen_eval.result/"):
                raise ValueError(f"{str(p)!r} is not a codegen_eval result (schema {schema!r})")
            out.append(item)
    return out


def best_speedup(result: dict) -> float | None:
    tp = result.get("throughput") or {}
    rows = tp.get("rows") or []
    whole = [r for r in rows if r["chunking"] == "whole"]
    return (whole or rows or [{}])[0].get("speedup")


def markdown_table(results: list[dict]) -> str:
    """One row per candidate: verdict, diagnoses, runs passed, speedup."""
    lines = ["| candidate | language | verdict | diagnoses | runs ok | speedup (whole) |",
             "|---|---|---|---|---|---|"]
    for r in results:
        codes = ", ".join(_code_label(d) for d in r["diagnoses"]) or "-"
        props = r.get("properties", {})
        sp = best_speedup(r)
        lines.append(f"| {r['candidate']} | {r['language']} | {r['verdict']} | {codes} | "
                     f"{props.get('runs_ok', 0)}/{props.get('runs', 0)} | {'-' if sp is None else f'{sp:.2f}x'} |")
    return "\n".join(lines) + "\n"


def _code_label(d: dict) -> str:
    extra = d.get("formats") or d.get("band_types")
    return f"{d['code']} ({', '.join(extra)})" if extra else d["code"]


def _error_unit(result: dict, case_id: str | None) -> str:
    """``LSB`` for integer formats, ``abs`` for float (the unit of evidence errors)."""
    for case in result.get("cases", []):
        if case.get("id") == case_id:
            return "abs" if case.get("config", {}).get("format") == "f32le" else "LSB"
    return ""


def _num(v) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def describe_evidence(ev: dict, unit: str = "") -> str:
    """One line of plain text for one evidence item of a diagnosis.

    Frames, channels and calls count from 0; the boundary distance is signed (positive: after
    the nearest chunk boundary); errors are in LSB of the stored value for integer formats and
    absolute for ``f32le`` (`unit`).
    """
    where = []
    if "case" in ev:
        where.append(f"case {ev['case']}")
    if "chunking" in ev:
        where.append(f"chunking {ev['chunking']}")
    if "config" in ev:
        where.append(f"configuration '{ev['config']}'")
    if "call" in ev and ev["call"] is not None:
        where.append(f"call {ev['call']}")
    head = ", ".join(where)
    facts = []
    if "frame" in ev:
        text = f"first divergence at frame {ev['frame']}, channel {ev.get('channel')}"
        if "expected" in ev and "got" in ev:
            text += f" (expected {_num(ev['expected'])}, got {_num(ev['got'])})"
        d = ev.get("boundary_distance_frames")
        if d is not None:
            text += (", at a chunk boundary" if d == 0 else
                     f", {abs(d)} frame(s) {'after' if d > 0 else 'before'} the nearest chunk boundary")
        facts.append(text)
    if "delay_frames" in ev:
        facts.append(f"output delayed by {ev['delay_frames']} frame(s)")
    if "got_bytes" in ev:
        facts.append(f"{ev['got_bytes']} output bytes, expected {ev['expected_bytes']}")
    err = ev.get("error")
    if isinstance(err, (int, float)) or err in ("inf", "nan"):
        facts.append(f"max error {_num(err)} {unit}".rstrip())
    elif err:
        facts.append(str(err))
    body = "; ".join(facts)
    return f"{head}: {body}" if head and body else head or body


def describe_throughput(tp: dict) -> list[str]:
    """Plain-text lines for a throughput result: medians and interquartile ranges per chunk size."""
    if not tp:
        return []
    if not tp.get("rows"):
        return [f"throughput: {tp.get('error', 'not measured')}"]
    c = tp["config"]
    lines = [f"throughput ({c['channels']} ch {c['format']} {c['sample_rate']} Hz, {tp['n_bands']} bands, "
             f"{c['seconds']:g} s), Msamples/s median ± IQR; speedup = candidate / reference:",
             f"  {'chunk':<12}{'candidate':>18}{'reference':>18}{'speedup':>10}"]
    for row in tp["rows"]:
        cand, ref = row["candidate"], row["reference"]
        lines.append(f"  {row['chunking']:<12}{_rate(cand):>18}{_rate(ref):>18}{row['speedup']:>9.2f}x")
    return lines


def _rate(stats: dict) -> str:
    return f"{stats['median_msamples_per_s']:.2f} ± {stats['iqr_msamples_per_s']:.2f}"


def text_summary(results: list[dict]) -> str:
    """Plain text for a terminal: per candidate its verdict, each diagnosis with its first
    evidence and replay command, and the throughput of correct candidates."""
    lines = []
    for r in results:
        lines.append(f"{r['candidate']} ({r['language']}): {r['verdict']}")
        for d in r["diagnoses"]:
            lines.append(f"  {_code_label(d)}: {d['detail']}")
            if d["evidence"]:
                ev = d["evidence"][0]
                more = len(d["evidence"]) - 1
                lines.append("    " + describe_evidence(ev, _error_unit(r, ev.get("case")))
                             + (f" (+{more} more in the report)" if more > 0 else ""))
            lines.append(f"    replay: {d['replay']}")
        lines += ["  " + line for line in describe_throughput(r.get("throughput"))]
    return "\n".join(lines) + "\n"


def _plot_png(plot: dict) -> str | None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    import numpy as np

    err = np.asarray(plot["error"], dtype=float)
    positive = err[err > 0]
    floor = positive.min() / 10 if positive.size else 1e-12
    step = plot["frames_per_point"]
    fig, ax = plt.subplots(figsize=(8, 2.6), dpi=90)
    ax.plot(np.arange(err.size) * step, np.maximum(err, floor), lw=0.8, color="C3", label="|error| (max per point)")
    for i, b in enumerate(plot["boundaries_frames"]):
        ax.axvline(b, color="0.6", lw=0.4, alpha=0.6, label="chunk boundary" if i == 0 else None)
    ax.set_xlabel("frame")
    ax.set_ylabel("|error| (LSB or abs)")
    ax.set_title(f"{plot['case']} / {plot['chunking']}", fontsize=9)
    ax.set_yscale("log")
    ax.set_ylim(bottom=floor)
    ax.legend(loc="upper right", fontsize=7)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode()


def html_report(results: list[dict]) -> str:
    """A self-contained HTML page for a run of one or more candidates."""
    e = html.escape
    parts = ["<!doctype html><html><head><meta charset='utf-8'><title>codegen-eval report</title>",
             "<style>body{font-family:sans-serif;max-width:1100px;margin:auto}table{border-collapse:collapse}"
             "td,th{border:1px solid #ccc;padding:3px 6px;font-size:13px}.pass{color:green}.fail{color:#b00}"
             ".error{color:#a60}code{font-size:12px}</style></head><body><h1>codegen-eval report</h1>"]
    parts.append("<table><tr><th>candidate</th><th>language</th><th>verdict</th><th>diagnoses</th>"
                 "<th>runs ok</th><th>speedup</th></tr>")
    for r in results:
        sp = best_speedup(r)
        parts.append(f"<tr><td>{e(r['candidate'])}</td><td>{e(r['language'])}</td>"
                     f"<td class='{e(r['verdict'])}'>{e(r['verdict'])}</td>"
                     f"<td>{e(', '.join(_code_label(d) for d in r['diagnoses']) or '-')}</td>"
                     f"<td>{r['properties'].get('runs_ok', 0)}/{r['properties'].get('runs', 0)}</td>"
                     f"<td>{'-' if sp is None else f'{sp:.2f}x'}</td></tr>")
    parts.append("</table>")
    for r in results:
        parts.append(f"<h2>{e(r['candidate'])}: <span class='{e(r['verdict'])}'>{e(r['verdict'])}</span></h2>")
        env = r.get("environment", {})
        comp = env.get("compile") or {}
        parts.append(f"<p>task {e(r['task'])}, seed {env.get('seed')}, {e(str(env.get('cpu')))}, python "
                     f"{e(str(env.get('python')))}, numpy {e(str(env.get('numpy')))}"
                     + (f", <code>{e(' '.join(comp.get('command', [])))}</code>" if comp else "") + "</p>")
        if r["diagnoses"]:
            parts.append("<table><tr><th>diagnosis</th><th>detail</th><th>evidence</th><th>replay</th></tr>")
            for d in r["diagnoses"]:
                ev = "<br>".join(e(json.dumps(x)) for x in d["evidence"])
                parts.append(f"<tr><td>{e(_code_label(d))}</td><td>{e(d['detail'])}</td><td><code>{ev}</code></td>"
                             f"<td><code>{e(d['replay'])}</code></td></tr>")
            parts.append("</table>")
        props = r.get("properties", {})
        parts.append("<p>" + ", ".join(f"{e(k)}: {e(str(v))}" for k, v in props.items()) + "</p>")
        tp = r.get("throughput")
        if tp and tp.get("rows"):
            parts.append("<table><tr><th>chunk</th><th>candidate Msamples/s (IQR)</th>"
                         "<th>reference Msamples/s (IQR)</th><th>speedup</th></tr>")
            for row in tp["rows"]:
                c, ref = row["candidate"], row["reference"]
                parts.append(f"<tr><td>{e(row['chunking'])}</td><td>{c['median_msamples_per_s']:.2f} "
                             f"({c['iqr_msamples_per_s']:.2f})</td><td>{ref['median_msamples_per_s']:.2f} "
                             f"({ref['iqr_msamples_per_s']:.2f})</td><td>{row['speedup']:.3f}</td></tr>")
            parts.append("</table>")
        for plot in r.get("plots", []):
            png = _plot_png(plot)
            if png:
                parts.append(f"<p><img alt='error of {e(plot['case'])}' src='data:image/png;base64,{png}'></p>")
            else:
                parts.append(f"<p>{e(plot['case'])} / {e(plot['chunking'])}: plot needs matplotlib</p>")
    parts.append("</body></html>")
    return "\n".join(parts)

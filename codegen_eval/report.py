"""Reports from results: the versioned JSON file, a Markdown summary table and plain text.

The HTML page is in :mod:`codegen_eval.report_html`.
"""
from __future__ import annotations

import json
from pathlib import Path

from .evaluate import RESULT_SCHEMA

# the file written by write_json: a list of results
RESULTS_SCHEMA = "codegen_eval.results/1"


def write_json(results: list[dict], path: str | Path) -> None:
    """Write results as ``{"schema": RESULTS_SCHEMA, "results": [...]}``, one entry per candidate.

    The file has this shape whatever the number of candidates; each entry carries its own
    ``schema`` (:data:`codegen_eval.evaluate.RESULT_SCHEMA`).
    """
    payload = {"schema": RESULTS_SCHEMA, "results": list(results)}
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

    Notes
    -----
    Besides files from :func:`write_json`, a bare result (a dict with its ``schema``) or a JSON
    list of results is accepted.
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
            if not str(schema or "").startswith(RESULT_SCHEMA.rpartition("/")[0] + "/"):
                raise ValueError(f"{str(p)!r} is not a codegen_eval result (schema {schema!r})")
            out.append(item)
    return out


def best_speedup(result: dict) -> float | None:
    """The speedup on the whole input (else the first measured chunking), or None."""
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
        verdict = r["verdict"] + (" (no sandbox)" if (r.get("sandbox") or {}).get("mode") == "unsafe-no-sandbox"
                                  else "")
        lines.append(_clean(f"| {r['candidate']} | {r['language']} | {verdict} | {codes} | "
                            f"{props.get('runs_ok', 0)}/{props.get('runs', 0)} | {'-' if sp is None else f'{sp:.2f}x'} |"))
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


def throughput_warnings(tp: dict) -> list[str]:
    """Lines that must stand out: timed runs whose output was wrong, a speed-up too large to trust."""
    out = []
    if tp.get("failures"):
        out.append(f"{len(tp['failures'])} timed run(s) gave wrong output: no speed figure is given for them")
    if tp.get("implausible"):
        out.append(f"a speed-up above {tp.get('plausible_limit', 30):g}x the reference: check this candidate by hand")
    return out


def describe_throughput(tp: dict) -> list[str]:
    """Plain-text lines for a throughput result: medians and interquartile ranges per chunk size."""
    if not tp:
        return []
    warnings = ["throughput: " + w for w in throughput_warnings(tp)]
    if not tp.get("rows"):
        return warnings + [f"throughput: {tp.get('error', 'not measured')}"]
    c = tp["config"]
    lines = warnings + [f"throughput ({c['channels']} ch {c['format']} {c['sample_rate']} Hz, {tp['n_bands']} bands, "
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
    if any((r.get("sandbox") or {}).get("mode") == "unsafe-no-sandbox" for r in results):
        lines.append("WARNING: scored with --unsafe-no-sandbox: the candidates ran without a sandbox")
    for r in results:
        lines += _candidate_lines(r)
    # a result file is data: whatever it holds, no control character reaches the terminal
    return "\n".join(_clean(line) for line in lines) + "\n"


def _clean(text) -> str:
    from .runner import printable

    return printable(text, 100_000)


def _candidate_lines(r: dict) -> list[str]:
    """The lines of one candidate: verdict, diagnoses with their first evidence and replay, throughput."""
    lines = [f"{r['candidate']} ({r['language']}): {r['verdict']}"]
    for d in r["diagnoses"]:
        lines.append(f"  {_code_label(d)}: {d['detail']}")
        if d["evidence"]:
            ev = d["evidence"][0]
            more = len(d["evidence"]) - 1
            lines.append("    " + describe_evidence(ev, ev.get("error_unit") or _error_unit(r, ev.get("case")))
                         + (f" (+{more} more in the report)" if more > 0 else ""))
        lines.append(f"    replay: {d['replay']}")
    lines += ["  " + line for line in describe_throughput(r.get("throughput"))]
    return lines

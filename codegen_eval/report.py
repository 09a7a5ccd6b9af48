"""Reports from results: the versioned JSON file, the Markdown report and plain text.

The HTML page is in :mod:`codegen_eval.report_html`.
"""
from __future__ import annotations

import json
from pathlib import Path

from .diagnosis import describe_exception, signal_label
from .evaluate import RESULT_SCHEMA
from .scoring import ERROR_DIAGNOSES

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


def markdown_report(results: list[dict]) -> str:
    """The Markdown report: the summary table, then per candidate what happened to its runs,
    every diagnosis with all its evidence and its replay command, and the throughput."""
    lines = []
    if any((r.get("sandbox") or {}).get("mode") == "unsafe-no-sandbox" for r in results):
        lines += ["**WARNING: scored with --unsafe-no-sandbox: the candidates ran without a sandbox**", ""]
    lines += markdown_table(results).splitlines() + [""]
    for r in results:
        lines += [f"## {r['candidate']} ({r['language']}): {r['verdict']}", ""]
        lines += describe_outcome(r) + [""]
        for d in r["diagnoses"]:
            lines.append(f"- **{_code_label(d)}**: {d['detail']}")
            for ev in d["evidence"]:
                lines.append("    - " + describe_evidence(ev, ev.get("error_unit") or _error_unit(r, ev.get("case"))))
            if d.get("replay"):
                lines.append(f"    - replay: `{d['replay']}`")
        tp = describe_throughput(r.get("throughput"))
        if tp:
            lines += [""] + ["```"] + tp + ["```"]
        lines.append("")
    return "\n".join(_clean(line) for line in lines).rstrip("\n") + "\n"


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


def _distance(d: int | None, unit: str, at_zero: str) -> str:
    """``, N unit(s) after/before the nearest chunk boundary`` (`at_zero` for 0; nothing for None)."""
    if d is None:
        return ""
    return f", {at_zero}" if d == 0 else f", {abs(d)} {unit}(s) {'after' if d > 0 else 'before'} the nearest chunk boundary"


def _call(ev: dict) -> str:
    """``call 3 of 600``: the call of an evidence item, counted from 1 (the JSON counts from 0)."""
    k, n = ev["call"], ev.get("calls")
    return f"call {k + 1}" + (f" of {n}" if n else "")


def describe_evidence(ev: dict, unit: str = "") -> str:
    """One line of plain text for one evidence item of a diagnosis.

    Parameters
    ----------
    ev : dict
        An evidence item (see :mod:`codegen_eval.diagnosis`).
    unit : str
        Unit of the errors: ``LSB`` of the stored value for integer formats, ``abs`` for
        ``f32le``.

    Returns
    -------
    str
        Where (case, chunking, the input of a replay, configuration), then what was compared.
        Frames and channels count from 0; calls count from 1 and name the chunking's number of
        calls (the JSON's ``call`` counts from 0). Byte counts are totals since the start of
        the stream: after the first call whose total is wrong, and at the end of the stream.
        The boundary distance is signed (positive: after the nearest chunk boundary).

    Examples
    --------
    >>> ev = {"case": "ch-2", "chunking": "bytes-1", "call": 3, "calls": 601, "call_got_bytes": 0,
    ...       "call_expected_bytes": 4, "got_bytes": 4092, "expected_bytes": 4096}
    >>> for part in describe_evidence(ev).split("; "):
    ...     print(part)
    case ch-2, chunking bytes-1: after call 4 of 601, 0 bytes out in total, expected 4
    at the end of the stream, 4092 bytes out in total, expected 4096
    """
    where = []
    if "case" in ev:
        where.append(f"case {ev['case']}")
    if "chunking" in ev:
        where.append(f"chunking {ev['chunking']}"
                     + (f" (the input of chunking {ev['input']}, replayed whole)" if ev.get("input") else ""))
    if "config" in ev:
        where.append(f"configuration '{ev['config']}'")
    head = ", ".join(where)
    facts = []
    unit = ev.get("error_unit") or unit
    if "plane" in ev:  # a video task: frame, plane, row and column of the first wrong byte
        text = (f"first divergence at frame {ev.get('video_frame')}, plane {ev['plane']}, row {ev.get('row')}, "
                f"column {ev.get('column')} (byte {ev.get('byte')} of the stream")
        if "expected" in ev and "got" in ev:
            text += f"; expected {_num(ev['expected'])}, got {_num(ev['got'])}"
        text += ")"
        text += _distance(ev.get("boundary_distance_bytes"), "byte", "the first byte of a chunk")
        facts.append(text)
    elif "frame" in ev:
        text = f"first divergence at frame {ev['frame']}, channel {ev.get('channel')}"
        if "expected" in ev and "got" in ev:
            text += f" (expected {_num(ev['expected'])}, got {_num(ev['got'])})"
        text += _distance(ev.get("boundary_distance_frames"), "frame", "at a chunk boundary")
        facts.append(text)
    if "delay_frames" in ev:
        facts.append(f"output delayed by {ev['delay_frames']} frame(s)")
    has_call = ev.get("call") is not None
    at_end = "got_bytes" in ev
    if "call_got_bytes" in ev and has_call:
        last = (ev["call"] + 1 == ev.get("calls") and ev["call_got_bytes"] == ev.get("got_bytes")
                and ev["call_expected_bytes"] == ev.get("expected_bytes"))
        facts.append(f"after {_call(ev)}{', the last' if last else ''}, {ev['call_got_bytes']} bytes out in "
                     f"total, expected {ev['call_expected_bytes']}")
        at_end = at_end and not last
    elif "got_bytes" in ev and has_call:  # results written before the totals after that call were kept
        facts.append(f"total output length first wrong after {_call(ev)}")
    if at_end:
        facts.append(f"at the end of the stream, {ev['got_bytes']} bytes out in total, "
                     f"expected {ev['expected_bytes']}")
    err = ev.get("error")
    if isinstance(err, (int, float)) or err in ("inf", "nan"):
        facts.append(f"max error {_num(err)} {unit}".rstrip())
    elif err:
        text = str(err) + (f" {ev['where']}" if ev.get("where") else "")
        if has_call and "got_bytes" not in ev:
            calls = ev.get("calls")
            when = (f"the flush or close after the last of {calls} calls" if calls and ev["call"] >= calls
                    else _call(ev))
            text = f"{when} raised {text}"
        facts.append(text)
    body = "; ".join(facts)
    return f"{head}: {body}" if head and body else head or body


_STOPPED_FOR = {
    "stall": "no answer within the stall limit (CPU time, or wall-clock time without any)",
    "timeout": "the wall-clock limit was reached",
    "output_limit": "a call returned far more bytes than its input allows",
    "protocol": "its replies broke the message protocol",
    "not_stopped": "it ran while it was stopped for the reference's turn",
    "sandbox": "the sandbox did not start",
    "cancelled": "the scoring was cancelled",
}


def _running(result: dict) -> dict | None:
    """The run in progress when a worker stopped, as recorded (results written before it was
    recorded: the bare ``{case, chunking}`` item of an error diagnosis)."""
    worker = result.get("worker") or {}
    if "running" in worker:
        return worker["running"]
    for d in result.get("diagnoses", []):
        for ev in d.get("evidence", []):
            if d["code"] in ERROR_DIAGNOSES and ev.get("case") and set(ev) <= {"case", "chunking"}:
                return ev
    return None


def _worker_ending(result: dict) -> str:
    """How the worker that matters ended: killed, stopped, exited early, or finished."""
    w = result.get("worker") or {}
    rc, killed_for = w.get("returncode"), w.get("killed_for")
    if rc is None and not killed_for:
        return "No worker ran."
    replay = result.get("replay_worker") or {}
    which = "The worker"
    if "worker" in w:
        replayed = w["worker"] == "replay"
    else:  # results written before the worker was named
        replayed = bool(replay) and all(replay.get(k) == w.get(k) for k in ("returncode", "wall_s", "killed_for"))
    if replayed:
        which = "The second worker (the inputs replayed whole)"
    running = _running(result)
    during = f" during case {running['case']}, chunking {running['chunking']}" if running else ""
    after = f" after {w['wall_s']:.1f} s" if isinstance(w.get("wall_s"), (int, float)) else ""
    if killed_for:
        why = _STOPPED_FOR.get(killed_for, killed_for)
        return f"{which} was stopped by the harness{after}{during}: {why}."
    if rc is not None and rc < 0:
        return (f"{which} was killed by {signal_label(-rc)}{during}. A signal leaves no traceback, so the "
                "function it hit is not recorded.")
    if not w.get("finished", True):
        return f"{which} exited with status {rc}{during}, before finishing its runs."
    replay_rc = replay.get("returncode", rc)
    if replay_rc == rc:
        return f"Both workers answered every request and exited with status {rc}."
    return f"Both workers answered every request; they exited with status {rc} and {replay_rc}."


def _first_exception(result: dict, key: str = "exception") -> str:
    """The first listed failing run's exception (`key` ``create_error``: its failure to create)."""
    for run in result.get("failing_runs", []):
        if run.get(key):
            return describe_exception(run[key])
    return ""


def describe_outcome(result: dict) -> list[str]:
    """Plain-text sentences that count every run, case and configuration check of a result and
    say what happened to the runs that are not right: exceptions, instances that could not be
    created, runs never made, and how the workers ended (exit status, signal, or why the harness
    stopped them).

    Parameters
    ----------
    result : dict
        One result of :func:`codegen_eval.score`.

    Returns
    -------
    list of str
        The sentences; the first gives the counts, or says why no run was made.
    """
    props = result.get("properties") or {}
    runs = props.get("runs", 0)
    raised, rejected, not_run = (props.get(k, 0) for k in ("runs_raised", "runs_rejected", "runs_not_run"))
    worker = result.get("worker") or {}
    stopped = worker.get("killed_for") or (worker.get("returncode") or 0) != 0
    if not runs or not_run == runs:
        first = next(iter(result.get("diagnoses", [])), None)
        why = {"compile_error": "it did not compile", "load_error": "it did not load"}.get(
            first["code"] if first else "", first["detail"] if first else "nothing was scored")
        lines = [f"No run was made: {why}."]
        return lines + ([_worker_ending(result)] if runs and stopped else [])
    n_cases = props.get("cases", len(result.get("cases", [])))
    counts = (f"{props.get('runs_ok', 0)} of {runs} runs correct; {props.get('cases_whole_ok', 0)} of "
              f"{n_cases} cases correct on the whole input")
    configs = result.get("configs") or []
    untried = sum(c.get("accepted") is None for c in configs)
    if "configs" in props and not untried:
        counts += f"; {props.get('configs_ok', 0)} of {props['configs']} configuration checks right"
    lines = [counts + "."]
    if untried:
        lines.append(f"{untried} of {len(configs)} configuration checks were never tried.")
    if raised:
        first = _first_exception(result)
        lines.append(f"{raised} run(s) ended with an error from the candidate" + (f"; the first: {first}."
                                                                                if first else "."))
    if rejected:
        first = _first_exception(result, "create_error")
        lines.append(f"{rejected} run(s) never started: creating the instance failed"
                     + (f"; the first: {first}." if first else "."))
    if not_run:
        lines.append(f"{not_run} run(s) were never made or were cut off: the worker ended first.")
    lines.append(_worker_ending(result))
    if raised or rejected or not_run:
        done = runs - raised - rejected - not_run
        lines.append(f"The checks of content, length and chunking cover the {done} run(s) that finished "
                     "without an error." if done else
                     "No run finished without an error: content, length and chunking were not checked.")
    return lines


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
    lines = warnings + [f"throughput ({throughput_setting(tp)}), Msamples/s median ± IQR; speedup = candidate / "
                        "reference:",
             f"  {'chunk':<12}{'candidate':>18}{'reference':>18}{'speedup':>10}"]
    for row in tp["rows"]:
        cand, ref = row["candidate"], row["reference"]
        lines.append(f"  {row['chunking']:<12}{_rate(cand):>18}{_rate(ref):>18}{row['speedup']:>9.2f}x")
    return lines


def throughput_setting(tp: dict) -> str:
    """One line saying what was timed: the task's own words, or (results of the audio task before
    tasks said it themselves) channels, format, rate, bands and length."""
    if tp.get("setting"):
        return tp["setting"]
    c = tp["config"]
    return f"{c['channels']} ch {c['format']} {c['sample_rate']} Hz, {tp['n_bands']} bands, {c['seconds']:g} s"


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
    """The lines of one candidate: verdict, what happened to its runs, diagnoses with their first
    evidence and replay, throughput."""
    lines = [f"{r['candidate']} ({r['language']}): {r['verdict']}"]
    lines += ["  " + line for line in describe_outcome(r)]
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

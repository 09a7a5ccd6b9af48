"""Pure functions: say *why* a candidate failed, from a fixed vocabulary, with evidence.

Each diagnosis is a dict ``{"code", "detail", "evidence": [...], "replay"}``. Evidence items name
the case, the chunking, where the output first diverges (in the task's own terms: frame and
channel for audio; frame, plane, row and column for video), its signed distance from the
nearest chunk boundary and the error size.

This module holds what every task shares: building, loading and running the candidate,
exceptions, configuration checks, determinism, lengths and latency, instances fed in turns.
What the output's *content* says is the task's: its judge module's ``diagnose_content`` gets
the :class:`RunView` and adds diagnoses from its own vocabulary (the judge's ``VOCABULARY``,
registered when the task is loaded).
"""
from __future__ import annotations

import shlex
import signal
from collections import defaultdict
from dataclasses import dataclass

from .cases import Case
from .scoring import RunResult, config_right

#: The codes every task shares, in report order; each task adds its own (:func:`register`).
VOCABULARY = (
    "compile_error", "load_error", "crash", "timeout", "resource_limit", "disallowed_import",
    "rejects_valid_config", "accepts_invalid_config", "state_reset_at_boundary",
    "partial_frame_mishandled", "added_latency", "wrong_length", "nondeterministic",
    "long_input_error", "shared_state", "unexplained_failure",
)
_TASK_CODES: list[str] = []
MAX_EVIDENCE = 3


def register(codes) -> None:
    """Add a task's own diagnosis codes to the vocabulary (after the shared ones, in order)."""
    for code in codes:
        if code not in VOCABULARY and code not in _TASK_CODES:
            _TASK_CODES.append(code)


def vocabulary() -> tuple[str, ...]:
    """Every code known in this process: the shared ones, then those of the tasks loaded."""
    return VOCABULARY + tuple(_TASK_CODES)


@dataclass
class RunView:
    """The runs a task's content rules look at (from :func:`diagnose_runs`).

    Attributes
    ----------
    whole : dict
        Case id -> the whole-input run judged for content (see :func:`_whole_runs`).
    first : list of RunResult
        The stream worker's completed runs, without those already put down to shared state.
    replay : dict
        ``(case id, input name)`` -> the replay worker's whole run of that input.
    latency_cases : set
        Cases whose lengths are already diagnosed (their content is not judged again).
    nondeterministic : bool
        The same input already gave different bytes in two processes.
    """

    whole: dict
    first: list
    replay: dict
    latency_cases: set
    nondeterministic: bool


def replay_command(target: str, case_id: str | None, chunking: str | None) -> str:
    """The command line that replays one case and chunking.

    Parameters
    ----------
    target : str
        The ``codegen-eval score`` arguments that name the candidate, already shell-quoted, e.g.
        ``"cand.c --seed 3"`` or ``"--reference"``.
    case_id, chunking : str or None
        The case and chunking to replay; None replays everything.
    """
    parts = ["codegen-eval score " + target]
    if case_id:
        parts.append("--case " + shlex.quote(case_id))
    if chunking:
        parts.append("--chunking " + shlex.quote(chunking))
    return " ".join(parts)


def with_replay(diagnoses: list[dict], target: str) -> list[dict]:
    """Return `diagnoses` with a ``replay`` command each, for the case and chunking of its first
    evidence item (see :func:`replay_command` for `target`)."""
    out = []
    for d in diagnoses:
        first = d["evidence"][0] if d["evidence"] else {}
        # a replayed whole run of another chunking's input is replayed by naming that chunking
        chunking = first.get("input") or first.get("chunking")
        out.append(dict(d, replay=replay_command(target, first.get("case"), chunking)))
    return out


def location(err: dict | None) -> str:
    """Where an exception was raised, as ``at FILE:LINE FUNCTION``, innermost frame first, with
    the frames that called it; the harness's own worker frames are left out.

    Parameters
    ----------
    err : dict or None
        An exception as the worker describes it: ``type``, ``message``, ``where`` (up to the last
        four frames, outermost first, each ``"file.py:LINE function"``).

    Returns
    -------
    str
        For example ``"at candidate.py:160 _encode (called from candidate.py:109 process)"``;
        empty when no frame outside the worker is known.

    Examples
    --------
    >>> location({"where": ["worker.py:388 process", "candidate.py:109 process", "candidate.py:160 _encode"]})
    'at candidate.py:160 _encode (called from candidate.py:109 process)'
    """
    where = (err or {}).get("where")
    frames = [str(w) for w in where if not str(w).startswith("worker.py:")] if isinstance(where, list) else []
    if not frames:
        return ""
    text = "at " + frames[-1]
    if len(frames) > 1:
        text += " (called from " + ", called from ".join(reversed(frames[:-1])) + ")"
    return text


def describe_exception(err: dict | None, max_chars: int = 200) -> str:
    """``Type: message at FILE:LINE FUNCTION`` for an exception as the worker describes it."""
    err = err or {}
    text = f"{err.get('type')}: {str(err.get('message', ''))[:max_chars]}"
    where = location(err)
    return f"{text} {where}" if where else text


def make(code: str, detail: str, evidence: list[dict], **extra) -> dict:
    """One diagnosis: `code` from :func:`vocabulary`, a one-line `detail`, the first
    :data:`MAX_EVIDENCE` items of `evidence`, and `extra` keys (``formats``, ``band_types``)."""
    if code not in vocabulary():
        raise ValueError(f"diagnosis code must be one of {vocabulary()!r}, got {code!r}")
    d = {"code": code, "detail": detail, "evidence": evidence[:MAX_EVIDENCE]}
    d.update(extra)
    return d


def merge(diagnoses: list[dict]) -> list[dict]:
    """One entry per code (evidence pooled, details joined), in vocabulary order."""
    merged: dict = {}
    for d in diagnoses:
        if d["code"] in merged:
            m = merged[d["code"]]
            m["evidence"] = (m["evidence"] + d["evidence"])[:MAX_EVIDENCE]
            if d["detail"] not in m["detail"]:
                m["detail"] += "; " + d["detail"]
        else:
            merged[d["code"]] = dict(d)
    order = vocabulary()
    return sorted(merged.values(), key=lambda d: order.index(d["code"]) if d["code"] in order else len(order))


def diagnose_infrastructure(compile_info: dict | None, load: dict | None, outcome: dict,
                            violations: list[dict], running: dict | None) -> list[dict]:
    """Diagnoses from compiling, loading, the sandbox and the way the worker ended.

    Parameters
    ----------
    compile_info : dict or None
        The compile record (``ok``, ``output``); None for Python.
    load : dict or None
        The worker's ``load`` event (``ok``, ``error``).
    outcome : dict
        ``returncode``, ``killed_for`` (``"timeout"``/``"stall"``/None), ``finished`` (bool),
        ``max_rss_mb``, ``memory_limit_mb``, ``stderr_tail``.
    violations : list of dict
        Forbidden acts seen by the worker's guards (``kind``, ``detail``).
    running : dict or None
        ``{"case", "chunking"}`` of the run in progress when the worker stopped.

    Returns
    -------
    list of dict
        Diagnoses without ``replay`` (see :func:`with_replay`).
    """
    out: list[dict] = []
    ev_running = [running] if running else []
    if compile_info is not None and not compile_info["ok"]:
        tail = compile_info["output"].strip().splitlines()[-3:]
        if compile_info.get("limit"):
            what = {"wall": "wall-clock time", "cpu": "CPU time", "memory": "memory",
                    "output_size": "output size"}.get(compile_info["limit"], compile_info["limit"])
            return [make("resource_limit", f"the compiler reached its {what} limit: " + " | ".join(tail)[:300], [])]
        return [make("compile_error", " | ".join(tail)[:400], [])]
    if violations:
        what = sorted({v["detail"] if v["kind"] == "import" else f"{v['kind']}: {v['detail']}" for v in violations})
        out.append(make("disallowed_import", "tried to use what the task forbids: " + "; ".join(what)[:300],
                        ev_running))
    if load is not None and not load.get("ok"):
        if not violations:
            err = load.get("error", {})
            code = "compile_error" if err.get("type") in ("SyntaxError", "IndentationError", "TabError") else "load_error"
            out.append(make(code, describe_exception(err, 500), []))
        return out
    rc = outcome.get("returncode")
    killed_for = outcome.get("killed_for")
    if killed_for == "output_limit":
        out.append(make("wrong_length", "a call returned far more bytes than its input allows; the worker "
                        "was stopped", ev_running))
    elif killed_for == "protocol":
        out.append(make("crash", "the worker's replies broke the message protocol", ev_running))
    elif killed_for == "not_stopped":
        out.append(make("disallowed_import", "it ran while it was stopped for the reference's turn (something "
                        "resumed it)", ev_running))
    elif killed_for in ("stall", "timeout"):
        why = ("no answer within the stall limit (CPU time, or wall-clock time without any)"
               if killed_for == "stall" else "the wall-clock limit was reached")
        out.append(make("timeout", why, ev_running))
    elif killed_for:
        out.append(make("crash", f"the worker was stopped ({killed_for})", ev_running))
    elif rc is not None and rc < 0:
        sig = -rc
        name = signal.Signals(sig).name if sig in set(signal.Signals) else str(sig)
        memory_mb = outcome.get("memory_limit_mb") or 0
        near_memory_limit = memory_mb and outcome.get("max_rss_mb", 0) >= 0.5 * memory_mb
        says_memory = any(w in outcome.get("stderr_tail", "").lower()
                          for w in ("out of memory", "bad_alloc", "cannot allocate memory", "memoryerror"))
        if sig == signal.SIGSYS:
            out.append(make("disallowed_import", "killed for a forbidden system call (process, socket, signal "
                            "or mount)", ev_running))
        elif sig in (signal.SIGXCPU, signal.SIGXFSZ, signal.SIGKILL):
            out.append(make("resource_limit", f"worker killed by {signal_label(sig)}", ev_running))
        elif near_memory_limit or says_memory:
            out.append(make("resource_limit", f"worker killed by {name} after using "
                            f"{outcome.get('max_rss_mb', 0):.0f} MB of its {memory_mb} MB limit", ev_running))
        else:
            out.append(make("crash", f"worker killed by {signal_label(sig)}", ev_running))
    elif not outcome.get("finished"):
        out.append(make("crash", f"worker exited with status {rc} before finishing its runs", ev_running))
    return out


def signal_label(sig: int) -> str:
    """``SIGSEGV (Segmentation fault)``: a signal's name and what it means, as the C library says."""
    try:
        name = signal.Signals(sig).name
    except ValueError:
        name = f"signal {sig}"
    try:
        meaning = signal.strsignal(sig)
    except ValueError:
        meaning = None
    return f"{name} ({meaning})" if meaning else name


def diagnose_runs(cases: dict[str, Case], results: list[RunResult],
                  config_results: list[dict], violations: list[dict] = (), content=None) -> list[dict]:
    """Diagnoses from the measured runs and the configuration checks.

    An exception is the candidate's own account, told from inside its process, and cannot make a
    pass. It chooses between diagnoses only where the verdict cannot tell them apart or the parent
    has a record of its own: a ``MemoryError`` is ``resource_limit`` (an error, as a crash is);
    an overrun caught by the guard bytes of the worker's output buffer is ``wrong_length``; the
    sandbox's refusal counts only with a refusal on record (``disallowed_import``), and is
    otherwise a crash.

    Parameters
    ----------
    cases : dict
        Case id -> :class:`~codegen_eval.cases.Case`.
    results : list of RunResult
        Every run measured by :func:`codegen_eval.scoring.measure` (with ``identical_to_whole`` set).
    config_results : list of dict
        The configuration checks: ``kind`` (``valid``/``invalid``), ``why``, ``accepted``, ``error``.
    violations : list of dict
        Refusals on record (see :func:`diagnose_infrastructure`).
    content : callable, optional
        The task judge's ``diagnose_content(cases, view) -> list of dict``: the rules on what the
        output holds, given a :class:`RunView`.

    Returns
    -------
    list of dict
        Diagnoses (``code``, ``detail``, ``evidence`` and task-specific keys), possibly several with
        the same code; see :func:`merge`.
    """
    out: list[dict] = []
    # ------------------------------------------------------ exceptions, configs
    def memory(error):
        return bool(error and error.get("memory"))

    def refused(error):  # the sandbox's refusal, reported as disallowed_import
        return bool(error and error.get("sandbox") and violations)

    mem = [r for r in results if memory(r.error or r.create_error)]
    config_mem = [c for c in config_results if c.get("accepted") and memory(c.get("error"))]
    if mem or config_mem:
        out.append(make("resource_limit", "out of memory (MemoryError)", [_err_ev(r) for r in mem]
                        + [{"config": c["why"], "error": describe_exception(c["error"])[:200]} for c in config_mem]))
    overrun = [r for r in results if r.too_long or (r.error and r.error.get("overrun"))]
    config_overrun = [c for c in config_results
                      if c.get("too_long") or (c.get("accepted") and (c.get("error") or {}).get("overrun"))]
    crashed = [r for r in results if r.error and r not in mem and r not in overrun and not refused(r.error)]
    config_crashed = [c for c in config_results if c["kind"] == "valid" and c.get("accepted")
                      and c.get("error") and c not in config_overrun and not memory(c["error"])
                      and not refused(c["error"])]
    if crashed or config_crashed:
        error = crashed[0].error if crashed else config_crashed[0]["error"]
        out.append(make("crash", "the candidate raised " + describe_exception(error),
                        [_err_ev(x) for x in crashed]
                        + [{"config": c["why"], "error": describe_exception(c["error"])[:200]}
                           for c in config_crashed]))
    rejected = [r for r in results if r.create_error is not None and not r.repeat and r not in mem
                and not refused(r.create_error)]
    rejected_extra = [c for c in config_results if c["kind"] == "valid" and c.get("accepted") is False
                      and not refused(c.get("error")) and not memory(c.get("error"))]
    if rejected or rejected_extra:
        ev = [{"case": r.case_id, "chunking": r.chunking, "error": r.create_error.get("message", "")[:200]}
              for r in rejected if r.chunking == "whole"]
        ev += [{"config": c["why"], "error": (c.get("error") or {}).get("message", "")[:200]} for c in rejected_extra]
        out.append(make("rejects_valid_config", f"{len(ev)} valid configuration(s) rejected", ev))
    accepted = [c for c in config_results if c["kind"] == "invalid" and c.get("accepted")]
    if accepted:
        out.append(make("accepts_invalid_config", "accepted: " + ", ".join(c["why"] for c in accepted),
                        [{"config": c["why"]} for c in accepted]))

    done = [r for r in results if r.completed and r.error is None and r.create_error is None]
    first = [r for r in done if not r.repeat]
    replay = {(r.case_id, r.input_name): r for r in done if r.repeat}
    whole = _whole_runs(done)
    # ------------------------------------------------------------ determinism
    nondet = [r for r in done if r.repeat and r.input_name == "whole" and r.identical_to_whole is False]
    if nondet:
        out.append(make("nondeterministic", "the same input gave different bytes in a second process",
                        [{"case": r.case_id, "chunking": "whole"} for r in nondet]))
    if overrun or config_overrun:
        longest = max([r.too_long["got_bytes"] for r in overrun if r.too_long]
                      + [c["too_long"]["got_bytes"] for c in config_overrun if c.get("too_long")], default=0)
        detail = ("wrote more bytes than the room it was given (caught by the guard bytes after its "
                  "output buffer, as the worker in the candidate's process reports)") if not longest else (
            f"returned up to {longest} bytes from one call, more than the input allows")
        out.append(make("wrong_length", detail, [_err_ev(r) for r in overrun]
                        + [{"config": c["why"], "error": (
                            f"returned {c['too_long']['got_bytes']} bytes, at most {c['too_long']['allowed_bytes']} "
                            "allowed" if c.get("too_long") else describe_exception(c["error"])[:200])}
                           for c in config_overrun]))

    # ------------------------------------------------------ instances in turns
    # (not when the same input already differs between two whole runs: that is nondeterminism)
    shared = [] if nondet else _shared_state(first, results)
    if shared:
        out.append(make("shared_state", "wrong only while a second instance is alive and fed in turns: "
                        "the instances affect each other", [_len_ev(r) if r.got_bytes != r.expected_bytes
                                                            else _ev(r) for r in shared]))
        first = [r for r in first if r not in shared]

    # ------------------------------------------------------ lengths and latency
    length_codes = _diagnose_lengths(whole, first)
    out += length_codes
    latency_cases = {e["case"] for d in length_codes for e in d["evidence"]} if length_codes else set()
    shifted = [r for r in whole.values() if getattr(r, "shift_frames", None)]
    if shifted and not any(d["code"] == "added_latency" for d in out):
        out.append(make("added_latency", f"output delayed by {shifted[0].shift_frames} frame(s)",
                        [dict(r.evidence(), delay_frames=r.shift_frames) for r in shifted]))
        latency_cases |= {r.case_id for r in shifted}

    if content is not None:
        view = RunView(whole=whole, first=first, replay=replay, latency_cases=latency_cases,
                       nondeterministic=bool(nondet))
        out += content(cases, view)
    return out


def _shared_state(first: list[RunResult], results: list[RunResult]) -> list[RunResult]:
    """Runs fed in turns with a second live instance that are wrong (in length or content), in
    cases whose every run alone is right: the instances share state."""
    alone_bad = {r.case_id for r in results if not r.chunking.startswith("interleaved") and not r.ok}
    return [r for r in first if r.chunking.startswith("interleaved") and not r.ok and r.case_id not in alone_bad]


def _bad_content(r: RunResult) -> bool:
    return (not r.within_tolerance or r.got_bytes != r.expected_bytes or bool(r.short_calls)
            or bool(r.over_calls))


def _whole_runs(done: list[RunResult]) -> dict:
    """Per case, the whole-input run the content rules look at: the stream worker's, unless it is
    right and a replay of another input of the case (fed whole as well) is wrong; then that one,
    so that a bug that shows in one signal only is still judged as content, not as chunking."""
    by_case: dict = defaultdict(list)
    for r in done:
        if r.chunking == "whole":
            by_case[r.case_id].append(r)
    out = {}
    for cid, runs in by_case.items():
        ordered = [r for r in runs if not r.repeat] + [r for r in runs if r.repeat]
        out[cid] = next((r for r in ordered if _bad_content(r)), ordered[0])
    return out


def unexplained(results: list[RunResult], config_results: list[dict], diagnoses: list[dict]) -> list[dict]:
    """``unexplained_failure`` when some run or configuration check is wrong and no diagnosis says
    why: the verdict is every run right, whether or not a rule recognises the bug.

    Returns
    -------
    list of dict
        One diagnosis with up to :data:`MAX_EVIDENCE` failing runs, or nothing.
    """
    if diagnoses:
        return []
    bad = [r for r in results if not r.ok]
    bad_configs = [c for c in config_results if not config_right(c)]
    if not bad and not bad_configs:
        return []
    ev = [dict(r.evidence(), got_bytes=r.got_bytes, expected_bytes=r.expected_bytes) for r in bad]
    ev += [{"config": c["why"]} for c in bad_configs]
    return [make("unexplained_failure", f"{len(bad)} run(s) and {len(bad_configs)} configuration check(s) wrong "
                 "in a way no rule recognises", ev)]


def late_runs(cases: dict[str, Case], whole: dict, runs: dict) -> tuple[dict, int | None]:
    """The runs of `runs` (case id -> run) right for longer than every passing whole run lasts,
    wrong after (``long_input_error``: work skipped or done wrong on long inputs).

    Returns
    -------
    (dict, int or None)
        Those runs by case id, and the length of the longest passing case in the task's units of
        zero latency (:attr:`Case.frames`; None when no case passes).
    """
    longest_ok = max((cases[cid].frames for cid, r in whole.items() if r.ok), default=None)
    if longest_ok is None:
        return {}, None
    return {cid: r for cid, r in runs.items() if r.first_frame is not None and r.first_frame >= longest_ok}, longest_ok


def _diagnose_lengths(whole: dict, first: list[RunResult]) -> list[dict]:
    out = []
    # held back (never more than the complete frames, possibly less at the end: the C contract
    # has no flush) is latency; anything else with the wrong total is a wrong length
    whole_short = [r for r in whole.values() if r.short_calls and not r.over_calls
                   and r.got_bytes <= r.expected_bytes]
    whole_wrong = [r for r in whole.values() if (r.got_bytes != r.expected_bytes or r.over_calls)
                   and r not in whole_short]
    aligned_bad = [r for r in first if r.boundary_kind in ("frame_aligned",) and (r.short_calls or r.over_calls)]
    misaligned_bad = [r for r in first if r.boundary_kind in ("sample_aligned", "misaligned")
                      and (r.short_calls or r.over_calls or r.got_bytes != r.expected_bytes)]
    if whole_short or (aligned_bad and all(r.over_calls == 0 for r in aligned_bad) and not whole_wrong):
        bad = whole_short or aligned_bad
        out.append(make("added_latency", "output held back: fewer bytes than complete frames after a call",
                        [_len_ev(r) for r in bad]))
    elif whole_wrong:
        out.append(make("wrong_length", f"{whole_wrong[0].got_bytes} bytes out in total at the end of the "
                        f"stream, expected {whole_wrong[0].expected_bytes}", [_len_ev(r) for r in whole_wrong]))
    elif misaligned_bad:
        out.append(make("partial_frame_mishandled", "output length wrong only when chunks split a frame",
                        [_len_ev(r) for r in misaligned_bad]))
    return out


def _ev(r: RunResult) -> dict:
    return r.evidence()


def _err_ev(r: RunResult) -> dict:
    """An exception item: the call that raised (from 0; ``calls`` when it was the flush or the
    close), the chunking's number of calls, the exception and where it was raised."""
    err = r.error or r.create_error
    out = {"case": r.case_id, "chunking": r.chunking, "call": r.error_call, "calls": r.calls,
           "error": f"{err['type']}: {err['message'][:160]}"}
    where = location(err)
    if where:
        out["where"] = where
    return out


def _len_ev(r: RunResult) -> dict:
    """A length item: the first call after which the total output length was wrong (from 0), the
    totals after that call, and the totals at the end of the stream."""
    out = {"case": r.case_id, "chunking": r.chunking, "call": r.first_bad_call, "calls": r.calls,
           "got_bytes": r.got_bytes, "expected_bytes": r.expected_bytes}
    if r.first_bad_call is not None:
        out.update(call_got_bytes=r.first_bad_got_bytes, call_expected_bytes=r.first_bad_expected_bytes)
    return out

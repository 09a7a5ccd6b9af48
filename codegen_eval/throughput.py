"""Throughput of a correct candidate against the reference, timed from outside and checked.

Candidate and reference run in two sandboxed workers of the same kind, both pinned to one CPU
(with the thread of the parent that drives them). They take turns, A B A B: while one runs, the
other is stopped (SIGSTOP), so nothing of one can run during the other's turn. Each turn gets a
fresh input (nothing can be cached from an earlier turn), longer than every correctness case,
placed in a shared memory file before the clock starts; the parent starts its clock when it asks
for the run and stops it when the reply comes, then stops the worker and compares every output
byte with the reference, like a correctness run. A wrong timed run is a failure with its
diagnosis (``long_input_error``), not a figure.

Within one turn the worker holds the whole input, so that the clock measures the candidate and
not the pipe: a candidate could read ahead and turn its small-chunk calls into one big
computation. That can lift its small-chunk figures towards its whole-input figure, never above
it; the whole-input figure cannot be helped by it (see the threat model in the README).
"""
from __future__ import annotations

import contextlib
import json
import os
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from . import cases as cases_mod
from . import scoring
from .runner import CLOSE, CREATE, DONE, OK, TIMED, Worker, WorkerGone, _as_error, parse_reply
from .worker import LENGTH_BYTES

# a speed-up above this many times the reference is flagged in every report
PLAUSIBLE_SPEEDUP = 30.0
# a stopped worker runs for no time at all; allow a little for the stop itself to land
IDLE_RUN_NS = 2_000_000


def summarise(times_s: list[float], samples: int) -> dict:
    """Median and spread (interquartile range) of the rate in millions of samples per second."""
    rates = samples / np.asarray(times_s) / 1e6
    q1, med, q3 = np.percentile(rates, [25, 50, 75])
    return {"median_msamples_per_s": float(med), "iqr_msamples_per_s": float(q3 - q1),
            "rounds": len(times_s), "median_runtime_s": float(np.median(times_s))}


@dataclass
class Plan:
    """What a task's judge says of its timed runs (its ``throughput_plan(task_data, seed)``).

    Attributes
    ----------
    config : dict
        The configuration of the timed instances (as in a case).
    setting : str
        One line for reports, e.g. ``"2 ch s16le 48000 Hz, 5 bands, 2 s"``.
    record : dict
        Recorded as the result's ``throughput.config``.
    n_bytes : int
        Bytes of every timed input.
    samples : int
        Samples in one input (rates are in millions of samples per second).
    chunkings : list of (str, int)
        Name and chunk size in bytes of each chunking timed.
    make_case : callable
        ``make_case(turn, name, sizes) -> Case``: a fresh input for turn `turn` (0: the warm-up).
    reference : callable
        ``reference(case) -> reference``: the reference output and tolerance of a fresh case.
    extra : dict
        More keys for the result (for example ``n_bands``, ``frames``).
    """

    config: dict
    setting: str
    record: dict
    n_bytes: int
    samples: int
    chunkings: list
    make_case: Callable
    reference: Callable
    extra: dict = field(default_factory=dict)


class _Side:
    """One worker of the comparison with its shared memory: input, then outputs and lengths."""

    def __init__(self, worker: Worker, in_fd: int, out_fd: int, room: int):
        self.worker = worker
        self.in_fd = in_fd
        self.out_fd = out_fd
        self.room = room
        self.has_instance = False

    def close(self):
        outcome = self.worker.close()
        for fd in (self.in_fd, self.out_fd):
            os.close(fd)
        return outcome


def _memfds(in_bytes: int, out_bytes: int) -> tuple[int, int]:
    """The shared memory of a timed worker, sealed at its size (no one may shrink or grow it)."""
    import fcntl

    fds = []
    for name, size in (("codegen_eval_in", in_bytes), ("codegen_eval_out", out_bytes)):
        fd = os.memfd_create(name, os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING)
        os.ftruncate(fd, size)
        fcntl.fcntl(fd, fcntl.F_ADD_SEALS, fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_GROW | fcntl.F_SEAL_SEAL)
        fds.append(fd)
    return fds[0], fds[1]


def _turn(side: _Side, config: dict, data: bytes, chunk_bytes: int, room: int) -> tuple[float, float, dict]:
    """One timed run of a stopped worker; returns (run seconds, wall seconds, the DONE reply).

    The worker makes its instance first; then it is stopped again while the input is put in its
    shared memory. The timed figure is the time the kernel says the worker ran from the moment it
    may run until it is stopped again after its answer: work it does after sending the answer,
    before the stop lands, is counted too, and the load of the machine is not.
    """
    w = side.worker
    w.thaw()
    try:
        if side.has_instance:
            w.request(CLOSE)
        kind, reply = w.request_json(CREATE, config)
        if kind != OK:
            raise WorkerGone(f"the timed instance was refused: {_error_text(reply)}")
        side.has_instance = True
    finally:
        w.freeze()
    os.pwrite(side.in_fd, data, 0)
    message = json.dumps({"chunk_bytes": chunk_bytes, "total_bytes": len(data), "output_room": room}).encode()
    run0 = w.run_time_ns()
    t0 = time.perf_counter()
    w.thaw()
    try:
        kind, payload = w.request(TIMED, message)
    finally:
        w.freeze()
    wall_s = time.perf_counter() - t0
    run_ns = w.run_time_ns() - run0
    if run_ns <= 0:
        raise RuntimeError("the kernel's account of the worker's run time could not be read")
    reply = parse_reply(payload)
    if kind != DONE:
        reply = {"error": _as_error(reply)}
    elif not isinstance(reply.get("output_bytes"), int) or isinstance(reply.get("output_bytes"), bool):
        # only the memory is read for the output; an answer that breaks the protocol is a crash
        reply = {"error": {"type": "ProtocolError", "message": "the timed run's answer is not what the protocol says"}}
    return run_ns / 1e9, wall_s, reply


class _Failed(Exception):
    """One side of the comparison failed; `side` says which (only the candidate's is its fault)."""

    def __init__(self, side: str, message: str):
        super().__init__(f"{side}: {message}")
        self.side = side
        self.message = message


@contextlib.contextmanager
def _blame(side: str):
    """A worker that ends inside the block is `side`'s failure."""
    try:
        yield
    except WorkerGone as exc:
        raise _Failed(side, str(exc)) from None


def _error_text(reply: dict) -> str:
    err = _as_error(reply)
    return f"{err['type']}: {err['message']}"


def _check(side: _Side, case: cases_mod.Case, ref, sizes: list[int], name: str, judge) -> scoring.RunResult:
    """Compare what the worker left in its output memory with the reference, as a correctness run."""
    calls = len(sizes)
    lengths_blob = os.pread(side.out_fd, LENGTH_BYTES * calls, side.room)
    if len(lengths_blob) != LENGTH_BYTES * calls:
        raise _Failed("candidate", "its shared memory is not the size it was given")
    lengths = np.frombuffer(lengths_blob, dtype="<i8").astype(np.int64)
    total = int(lengths[-1]) if lengths.size else 0
    total = max(0, min(total, side.room))
    raw = scoring.RawRun(case_id=case.id, chunking=name, output=os.pread(side.out_fd, total, 0), lengths=lengths,
                         completed=True)
    return judge.measure(case, ref, raw)


def measure(task, staged, seed: int, cpu: int | None) -> dict:
    """Time a candidate that passed against the reference, alternately, and check every timed output.

    Parameters
    ----------
    task : Task
        Its judge's ``throughput_plan`` gives the configuration, inputs and chunk sizes (a
        :class:`Plan`); its ``throughput`` entry the rounds.
    staged : evaluate.Staged
        The candidate, ready to load.
    seed : int
        Seed of the fresh signals (one per turn).
    cpu : int or None
        The CPU both workers (and the driving thread) run on.

    Returns
    -------
    dict
        ``config``, ``setting`` (and the plan's extra keys) and ``rows``: per chunking the candidate's and the
        reference's :func:`summarise` figures (wall time), their CPU time, and ``speedup`` =
        candidate / reference (median rates); ``failures`` (timed runs whose output was wrong, as
        run summaries), ``implausible`` (a speed-up above :data:`PLAUSIBLE_SPEEDUP`), and
        ``error`` with the worker's ``outcome`` when a worker ended before the end.
    """
    from .evaluate import Staged, load, pinned, start_worker

    spec_tp = task.data["throughput"]
    judge = task.judge
    plan = judge.throughput_plan(task.data, seed)
    n_bytes = plan.n_bytes
    extra, _, cumulative = judge.reply_room(plan.config)
    chunkings = [(name, step, cases_mod._repeated(step, n_bytes)) for name, step in plan.chunkings]
    max_calls = max(len(s) for _, _, s in chunkings)
    # the most all the outputs of one run may take, as in a correctness run (judge's reply_room)
    room = n_bytes + (extra if cumulative else max_calls * extra)
    payloads = {"candidate": judge.worker_config(task.data, plan.config, staged.language, extra),
                "reference": judge.worker_config(task.data, plan.config, "python", extra)}
    out = dict({"config": plan.record, "setting": plan.setting, "rows": [], "failures": [],
                "implausible": False, "cpu": cpu}, **plan.extra)
    first = plan.make_case(0, "whole", [n_bytes])
    sides: dict = {}
    turn = 0
    with pinned(cpu):
        try:
            for label, st in (("candidate", staged), ("reference", Staged("python", "", "reference", True,
                                                                            staged.unsafe, staged.stage_dir))):
                in_fd, out_fd = _memfds(n_bytes, room + LENGTH_BYTES * max_calls)
                worker, job = start_worker(task, st, cpu, pass_fds=(in_fd, out_fd),
                                           extra_job={"timed_in_fd": in_fd, "timed_out_fd": out_fd})
                side = sides[label] = _Side(worker, in_fd, out_fd, room)
                with _blame(label):
                    kind, reply = load(worker, job)
                    if kind != OK:
                        raise _Failed(label, f"it did not load: {_error_text(reply.get('error', reply))}")
                    worker.freeze()
            for name, step, sizes in chunkings:
                times = {"candidate": [], "reference": []}
                walls = {"candidate": [], "reference": []}
                for label in ("candidate", "reference"):  # warm-up: JIT compilation and caches
                    with _blame(label):
                        _turn(sides[label], payloads[label], first.input_bytes, step, room)
                started = time.perf_counter()
                rounds = 0
                while rounds < spec_tp["max_rounds"]:
                    turn += 1
                    case = plan.make_case(turn, name, sizes)
                    ref = plan.reference(case)
                    for label in ("candidate", "reference"):
                        other = "reference" if label == "candidate" else "candidate"
                        idle_ns = sides[other].worker.run_time_ns()
                        with _blame(label):
                            run_s, wall_s, reply = _turn(sides[label], payloads[label], case.input_bytes, step, room)
                        if sides[other].worker.run_time_ns() - idle_ns > IDLE_RUN_NS:
                            sides[other].worker.kill("not_stopped")
                            raise _Failed(other, "it ran while it was stopped for the other's turn")
                        if "error" in reply:
                            raise _Failed(label, f"its timed run failed: {_error_text(reply['error'])}")
                        checked = _check(sides[label], case, ref, sizes, name, judge)
                        if not checked.ok:
                            if label == "reference":
                                raise _Failed(label, "its timed output differs from eq's in this process")
                            out["failures"].append(_failure(checked, turn))
                        times[label].append(run_s)
                        walls[label].append(wall_s)
                    rounds += 1
                    if out["failures"]:
                        break
                    if rounds >= spec_tp["min_rounds"] and time.perf_counter() - started > spec_tp["budget_s_per_chunking"]:
                        break
                if out["failures"]:
                    break
                cand = summarise(times["candidate"], plan.samples)
                refr = summarise(times["reference"], plan.samples)
                cand["median_wall_s"] = float(np.median(walls["candidate"]))
                refr["median_wall_s"] = float(np.median(walls["reference"]))
                speedup = cand["median_msamples_per_s"] / refr["median_msamples_per_s"]
                out["rows"].append({"chunking": name, "candidate": cand, "reference": refr, "speedup": speedup})
                out["implausible"] = out["implausible"] or speedup > PLAUSIBLE_SPEEDUP
        except _Failed as exc:
            out["error"] = f"the {exc.side}'s worker: {exc.message}"
            out["error_side"] = exc.side
        except (OSError, ValueError, RuntimeError, TypeError, KeyError, IndexError) as exc:
            # the harness could not finish: the timed runs stay unchecked, which is no pass
            out["error"] = f"the timed runs could not be completed ({type(exc).__name__}: {exc})"
            out["error_side"] = "harness"
        finally:
            for label, side in sides.items():
                side.worker.thaw()
                outcome = side.close()
                if label == "candidate" and out.get("error_side") == "candidate":
                    out["outcome"] = outcome.as_dict()
    if out["implausible"]:
        out["plausible_limit"] = PLAUSIBLE_SPEEDUP
    return out


def _failure(r: scoring.RunResult, turn: int) -> dict:
    out = {"case": r.case_id, "chunking": r.chunking, "turn": turn, "got_bytes": r.got_bytes,
           "expected_bytes": r.expected_bytes, "short_calls": r.short_calls, "over_calls": r.over_calls}
    out.update(r.evidence())
    return out


def diagnose(tp: dict | None) -> list[dict]:
    """Diagnoses from the timed runs: a wrong output (``long_input_error``), or the candidate's
    worker ending or failing (a failure on the reference's side is the harness's, not its)."""
    from . import diagnosis

    if not tp:
        return []
    out = []
    if tp.get("failures"):
        f = tp["failures"][0]
        out.append(diagnosis.make(
            "long_input_error", f"every correctness case passes, but a timed run ({tp['setting']}; "
            f"{f['chunking']}) is wrong", [{k: v for k, v in x.items() if k != "turn"} for x in tp["failures"]]))
    if tp.get("error_side") == "reference":
        return out  # the reference's own worker failed: nothing of the candidate is in question
    if tp.get("error_side") == "harness":
        out.append(diagnosis.make("crash", f"{tp['error'][:300]}: its timed runs are unchecked, so it cannot "
                                  "pass", []))
        return out
    if tp.get("error_side") != "candidate":
        return out
    outcome = tp.get("outcome") or {}
    if outcome.get("killed_for") or (outcome.get("returncode") or 0) < 0:
        found = diagnosis.diagnose_infrastructure(None, {"ok": True}, dict(outcome, finished=False), [], None)
        out += [dict(d, detail=d["detail"] + " (during the timed runs)") for d in found]
    else:
        out.append(diagnosis.make("crash", f"the timed runs failed: {tp['error'][:200]}", []))
    return out

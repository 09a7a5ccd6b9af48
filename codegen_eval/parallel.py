"""Score several candidates at once, each in its own process of the harness, pinned to its own CPU.

A process of the harness drives its candidate's workers one call at a time; two of them in one
interpreter would wait for each other's lock on every call, so each gets a process of its own
(started as ``python -c "from codegen_eval.parallel import serve; ..."``, never by re-importing the
caller's main module),
pinned with its workers to one CPU. Requests and results travel as JSON lines over pipes. A
scoring process that dies takes only its own candidate with it: the candidate is scored again in
a fresh process, and gets an error result if that one dies too. Every scoring process dies with
the harness.
"""
from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
from pathlib import Path

_PACKAGE_PARENT = str(Path(__file__).resolve().parent.parent)


class _Child:
    """One scoring process, pinned to `cpu`."""

    def __init__(self, cpu: int):
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (_PACKAGE_PARENT, env.get("PYTHONPATH")) if p)
        self.proc = subprocess.Popen([sys.executable, "-c", f"from codegen_eval.parallel import serve; serve({cpu})"],
                                     env=env,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, start_new_session=True)
        try:
            os.sched_setaffinity(self.proc.pid, {cpu})
        except OSError:
            pass

    def score(self, request: dict) -> dict | None:
        """The result, or None when the process died."""
        try:
            self.proc.stdin.write((json.dumps(request) + "\n").encode())
            self.proc.stdin.flush()
            line = self.proc.stdout.readline()
        except (BrokenPipeError, OSError):
            return None
        try:
            reply = json.loads(line)
        except ValueError:
            return None  # cut off: the process died while writing
        if "exception" in reply:
            raise _ChildError(reply["exception"], reply["type"])
        return reply["result"]

    def stop(self) -> None:
        if self.proc.returncode is None:  # not reaped yet: its group id cannot be anyone else's
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)  # its workers die with it (bwrap --die-with-parent)
            except (ProcessLookupError, PermissionError):
                pass
        self.proc.wait()
        for f in (self.proc.stdin, self.proc.stdout):
            try:
                f.close()
            except OSError:
                pass


class _ChildError(Exception):
    """An exception raised while scoring, in the scoring process (re-raised in the caller)."""

    def __init__(self, message: str, kind: str):
        super().__init__(message)
        self.kind = kind


def score_in_processes(candidates: list, requests: list[dict], cpus: list[int], failure,
                       on_result=None) -> list[dict]:
    """Run `requests` (one per candidate) in ``len(cpus)`` scoring processes; results in order.

    Parameters
    ----------
    candidates : list
        The candidates, for `failure`.
    requests : list of dict
        Arguments of :func:`codegen_eval.evaluate.score` as JSON: ``candidate``, ``task`` (folder),
        ``seed``, ``kwargs``.
    cpus : list of int
        One scoring process per CPU.
    failure : callable
        ``failure(candidate, why) -> dict``: the result of a candidate the harness could not score
        (its scoring process died twice, or scoring it raised).
    on_result : callable, optional
        ``on_result(index, result)``, called as each result arrives, from the thread that drove it,
        one call at a time.

    Raises
    ------
    RuntimeError
        No sandbox can start (the first candidate's scoring says so).
    """
    todo: queue.Queue = queue.Queue()
    for i in range(len(requests)):
        todo.put((i, 0))
    results: list = [None] * len(requests)
    errors: list = []
    children: list[_Child] = []
    lock = threading.Lock()
    deliver_lock = threading.Lock()

    def deliver(i: int, result: dict) -> None:
        results[i] = result
        if on_result is not None:
            with deliver_lock:
                on_result(i, result)

    def drive(cpu: int) -> None:
        child = None
        try:
            while not errors:
                try:
                    i, attempt = todo.get_nowait()
                except queue.Empty:
                    return
                if child is None:
                    child = _Child(cpu)
                    with lock:
                        children.append(child)
                try:
                    result = child.score(requests[i])
                except _ChildError as exc:
                    if exc.kind == "SandboxUnavailable":
                        raise
                    deliver(i, failure(candidates[i], f"{exc.kind}: {exc}"))
                    continue
                if result is not None:
                    deliver(i, result)
                    continue
                child.stop()
                child = None
                if attempt == 0:
                    todo.put((i, 1))
                else:
                    deliver(i, failure(candidates[i], "its scoring process ended unexpectedly, twice"))
        except _ChildError as exc:
            errors.append(exc)
        finally:
            if child is not None:
                child.stop()

    threads = [threading.Thread(target=drive, args=(cpu,), daemon=True) for cpu in cpus]
    try:
        for t in threads:
            t.start()
        for t in threads:
            while t.is_alive():
                t.join(0.2)  # wakes for Ctrl-C
    except BaseException:
        errors.append(None)  # no new candidate starts
        with lock:
            for child in children:
                child.stop()
        raise
    if errors:
        raise RuntimeError(str(errors[0]))
    return results


def _die_with_parent() -> None:
    """Linux: this process gets SIGKILL when the harness that started it ends."""
    try:
        import ctypes

        PR_SET_PDEATHSIG = 1
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        pass


def serve(cpu: int) -> None:
    """The scoring process: answer one JSON request per line on stdin with one JSON line."""
    from .evaluate import score
    from .report import _default
    from .task import load_task

    _die_with_parent()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the harness's to handle
    out = sys.stdout.buffer
    sys.stdout = sys.stderr  # nothing else may write on the result pipe
    for line in sys.stdin.buffer:
        req = json.loads(line)
        try:
            result = score(req["candidate"], task=load_task(req["task"]), seed=req["seed"], cpu=cpu,
                           **req["kwargs"])
            reply = {"result": result}
        except Exception as exc:  # reported to the harness, which raises it there
            reply = {"exception": str(exc), "type": type(exc).__name__}
        out.write((json.dumps(reply, default=_default) + "\n").encode())
        out.flush()


"""Launch the worker in a separate, confined process and watch it.

The worker (:mod:`codegen_eval.worker`, run as a script) gets a temporary working directory, a
scrubbed environment, its own session (so the whole process group can be killed), and confines
itself before loading the candidate: new network and mount namespaces with a read-only file
system (writable working directory and private /tmp) when the machine allows it (root on Linux),
a seccomp filter that kills the worker on process creation, sockets, signals to other processes
or mount changes (x86-64 Linux), and ``RLIMIT_CPU``, ``RLIMIT_AS``, ``RLIMIT_FSIZE``,
``RLIMIT_NPROC``. Here the parent enforces the wall-clock limit and a stall limit (no progress on
the current run) by killing the process group.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

WORKER = Path(__file__).resolve().parent / "worker.py"
# set by cancel_workers() (Ctrl-C while several candidates run in threads): every watcher kills its worker
_CANCEL = threading.Event()


@dataclass
class WorkerOutcome:
    """What happened to one worker process.

    Attributes
    ----------
    returncode : int or None
        Negative for a signal (``-11`` segfault, ``-6`` abort, ``-9`` killed, ``-24`` CPU limit).
    killed_for : str or None
        ``"timeout"`` or ``"stall"`` when the parent killed it.
    wall_s : float
    events : list of dict
        The lines of ``results.jsonl``.
    stderr_tail : str
    """

    returncode: int | None
    killed_for: str | None
    wall_s: float
    events: list = field(default_factory=list)
    stderr_tail: str = ""
    job_dir: str = ""
    max_rss_mb: float = 0.0


def capabilities() -> dict:
    """Return which isolation features this machine allows (recorded in every report).

    Returns
    -------
    dict
        ``root``; ``namespaces`` (network and mount namespaces: root on Linux); ``seccomp``
        (the filter is written for x86-64 Linux).
    """
    import platform

    linux_root = os.geteuid() == 0 and sys.platform == "linux"
    return {"root": os.geteuid() == 0, "namespaces": linux_root,
            "seccomp": sys.platform == "linux" and platform.machine() == "x86_64"}


def scrubbed_env(job_dir: str) -> dict:
    """A minimal environment: no inherited secrets, single-threaded numeric libraries."""
    return {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": job_dir, "TMPDIR": job_dir, "LANG": "C.UTF-8",
            "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
            "NUMBA_NUM_THREADS": "1",
            "PYTHONDONTWRITEBYTECODE": "1", "PYTHONHASHSEED": "0"}


def sandbox_settings(limits: dict) -> dict:
    """The ``sandbox`` entry of a job: what the worker is to apply to itself under `limits`."""
    caps = capabilities()
    return {"namespaces": caps["namespaces"], "seccomp": caps["seccomp"],
            "limits": {"cpu_s": limits.get("cpu_s"), "memory_mb": limits.get("memory_mb"),
                       "file_size_mb": limits.get("file_size_mb"), "processes": limits.get("processes")}}


def make_job_dir() -> str:
    """Create a fresh temporary directory for one candidate's worker and return its path."""
    return tempfile.mkdtemp(prefix="codegen_eval_")


def run_worker(job_dir: str, job: dict, limits: dict) -> WorkerOutcome:
    """Write `job` to `job_dir`, run the worker there and wait for it under `limits`.

    Parameters
    ----------
    job_dir : str
        Directory holding the candidate and input files; the worker's working directory.
    job : dict
        The job description (see :mod:`codegen_eval.worker`).
    limits : dict
        ``wall_s``, ``stall_s`` (no progress within one run), ``load_s`` (no progress while the
        candidate loads), ``cpu_s``, ``memory_mb``, ``file_size_mb``, ``processes``.

    Returns
    -------
    WorkerOutcome
        Exit status, why the parent killed it (if it did), wall time, the logged events, the end
        of stderr and the peak resident memory.
    """
    job = dict(job)
    job["sandbox"] = sandbox_settings(limits)
    Path(job_dir, "job.json").write_text(json.dumps(job))
    os.chmod(job_dir, 0o755)
    wall_s = float(limits.get("wall_s", 240))
    stall_s = float(limits.get("stall_s", 20))
    load_s = float(limits.get("load_s", 60))
    t0 = time.monotonic()
    killed_for = None
    maxrss_kb = 0
    with open(Path(job_dir, "stdout.txt"), "wb") as out, open(Path(job_dir, "stderr.txt"), "wb") as err:
        proc = subprocess.Popen([sys.executable, "-I", "-B", str(WORKER), job_dir], cwd=job_dir,
                                env=scrubbed_env(job_dir), stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                start_new_session=True)
        try:
            killed_for, maxrss_kb = _watch(proc, Path(job_dir, "progress"), t0, wall_s, stall_s, load_s)
        finally:
            # also on KeyboardInterrupt: the worker has its own session and would not get the signal
            if proc.returncode is None:
                _kill_group(proc)
    wall = time.monotonic() - t0
    events = []
    try:
        for line in Path(job_dir, "results.jsonl").read_text(errors="replace").splitlines():
            try:
                events.append(json.loads(line))
            except json.JSONDecodeError:
                break
    except OSError:
        pass
    try:
        stderr_tail = Path(job_dir, "stderr.txt").read_bytes()[-2000:].decode(errors="replace")
    except OSError:
        stderr_tail = ""
    return WorkerOutcome(returncode=proc.returncode, killed_for=killed_for, wall_s=wall, events=events,
                         stderr_tail=stderr_tail, job_dir=job_dir, max_rss_mb=maxrss_kb / 1024)


def _watch(proc: subprocess.Popen, progress: Path, t0: float, wall_s: float, stall_s: float,
           load_s: float) -> tuple[str | None, int]:
    """Wait for the worker; kill its group on timeout, stall or cancel. Return (killed_for, max RSS kB)."""
    last_mark = None
    last_change = t0
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            proc.returncode = os.waitstatus_to_exitcode(status)
            return None, usage.ru_maxrss
        time.sleep(0.05)
        now = time.monotonic()
        try:
            mark = (progress.stat().st_mtime_ns, progress.read_text())
        except (OSError, ValueError):
            mark = None
        if mark != last_mark:
            last_mark = mark
            last_change = now
        # loading (imports, JIT compilation) gets a longer allowance than one run
        allowed = load_s if mark and mark[1] in ("load", "") else stall_s
        killed_for = None
        if _CANCEL.is_set():
            killed_for = "cancelled"
        elif now - t0 > wall_s:
            killed_for = "timeout"
        elif now - last_change > allowed:
            killed_for = "stall"
        if killed_for:
            _kill_group(proc)
            return killed_for, 0


def cancel_workers() -> None:
    """Kill every running worker and make new ones stop at once (until :func:`allow_workers`)."""
    _CANCEL.set()


def allow_workers() -> None:
    """Undo :func:`cancel_workers`."""
    _CANCEL.clear()


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        proc.wait(timeout=10)
    except (subprocess.TimeoutExpired, ChildProcessError):
        pass


def remove_job_dir(job_dir: str) -> None:
    """Remove a directory made by :func:`make_job_dir` (errors ignored)."""
    shutil.rmtree(job_dir, ignore_errors=True)

"""Start a worker in its sandbox and drive it message by message, watching it from outside.

The parent believes only what it observes itself: the bytes of each reply, when they came, and
what the kernel says about the worker's process (``/proc/<pid>/stat`` for CPU time,
``/proc/<pid>/status`` for memory and the seccomp mode, ``/proc/<pid>/limits``). Progress for the
watchdog is a reply arriving; a call that uses more CPU time than the stall limit without
answering, or that stays silent for longer than the wall-clock stall limit, ends the worker.
Resource limits are set on the worker from outside (``prlimit``) before it loads anything, and
the worker is pinned to one CPU.
"""
from __future__ import annotations

import json
import os
import re
import resource
import select
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field

from . import sandbox
from .worker import (CLOSE, CREATE, DONE, ERROR, FLUSH, HEADER, LOAD, OK, OUTPUT, PROCESS, QUIT, SELECT, TIMED,
                     VIOLATION, _write_all)

_TICK_S = 1.0 / os.sysconf("SC_CLK_TCK")
# a reply longer than allowed is read and thrown away up to this size; beyond it the worker is ended
DRAIN_LIMIT_BYTES = 4 << 20
# control messages (JSON) are never longer than this
CONTROL_LIMIT_BYTES = 1 << 16
STDERR_TAIL_BYTES = 4000
WATCH_TICK_MS = 200


class WorkerGone(Exception):
    """The worker ended (or was ended) before answering; :attr:`Worker.outcome` says how."""


class ReplyTooLong(Exception):
    """A reply was longer than the request allows (it was discarded).

    Attributes
    ----------
    got_bytes, allowed_bytes : int
    """

    def __init__(self, got_bytes: int, allowed_bytes: int):
        super().__init__(f"{got_bytes} bytes in one reply, at most {allowed_bytes} allowed")
        self.got_bytes = got_bytes
        self.allowed_bytes = allowed_bytes


@dataclass
class Outcome:
    """How a worker ended, as the parent saw it.

    Attributes
    ----------
    returncode : int or None
        The worker's exit status; negative for a signal (``-11`` segfault, ``-31`` seccomp,
        ``-9`` killed). None while it runs.
    killed_for : str or None
        Why the parent ended it: ``"stall"``, ``"timeout"``, ``"output_limit"``, ``"protocol"``
        or ``"cancelled"``.
    wall_s, cpu_s : float
        Wall-clock time since the start, CPU time of the worker (last reading).
    max_rss_mb : float
        Peak resident memory seen (``VmHWM``).
    stderr_tail : str
        The end of what the worker wrote on stdout and stderr.
    """

    returncode: int | None = None
    killed_for: str | None = None
    wall_s: float = 0.0
    cpu_s: float = 0.0
    max_rss_mb: float = 0.0
    stderr_tail: str = ""

    def as_dict(self) -> dict:
        return {"returncode": self.returncode, "killed_for": self.killed_for, "wall_s": self.wall_s,
                "cpu_s": self.cpu_s, "max_rss_mb": self.max_rss_mb, "stderr_tail": self.stderr_tail}


@dataclass
class Limits:
    """What a worker may use (the task's ``limits``).

    Attributes
    ----------
    wall_s : float
        Whole life of the worker.
    stall_cpu_s, stall_wall_s : float
        One request may use this much CPU time, or wait this long, before an answer.
    load_cpu_s : float
        The same CPU allowance while the candidate loads (imports, JIT compilation).
    cpu_s, memory_mb, file_size_mb : float
        ``RLIMIT_CPU``, ``RLIMIT_AS``, ``RLIMIT_FSIZE``.
    tasks : int
        ``RLIMIT_NPROC``, counted in the sandbox's user namespace. It binds only where the harness
        is not root (the kernel exempts root's processes); what holds everywhere is the seccomp
        filter, which refuses new threads and kills on new processes.
    tmp_mb, workdir_mb : int
        Sizes of the sandbox's ``/tmp`` and ``/job``.
    """

    wall_s: float = 240.0
    stall_cpu_s: float = 10.0
    stall_wall_s: float = 60.0
    load_cpu_s: float = 60.0
    cpu_s: float = 240.0
    memory_mb: float = 2048.0
    file_size_mb: float = 256.0
    tmp_mb: int = 64
    workdir_mb: int = 64
    tasks: int = 32

    @classmethod
    def from_task(cls, limits: dict) -> "Limits":
        known = cls.__dataclass_fields__
        return cls(**{k: v for k, v in limits.items() if k in known})


def usable_cpus() -> list[int]:
    """The CPUs this process may run on, in order."""
    try:
        return sorted(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return list(range(os.cpu_count() or 1))


class Worker:
    """One worker process in its sandbox, driven by framed messages.

    Parameters
    ----------
    spec : sandbox.Spec or None
        The sandbox to start it in; None with `unsafe` starts it without one.
    limits : Limits
    cpu : int, optional
        The CPU to pin the worker to.
    unsafe : dict, optional
        Without a sandbox: ``{"workdir": host folder}`` (the caller asked for it explicitly).
    pass_fds : tuple of int
        More descriptors the worker inherits (the shared memory of timed runs).
    """

    def __init__(self, spec: sandbox.Spec | None, limits: Limits, cpu: int | None = None,
                 unsafe: dict | None = None, pass_fds: tuple = ()):
        self.limits = limits
        self.outcome = Outcome()
        self.violations: list[dict] = []
        self._buf = bytearray()
        self._stderr = bytearray()
        self._t0 = time.monotonic()
        self._lock = threading.Lock()
        self.command: list[str] = []
        cmd_r, self._cmd_w = os.pipe()
        self._reply_r, reply_w = os.pipe()
        err_r, err_w = os.pipe()
        status_r, status_w = os.pipe()
        self._err_r = err_r
        child_fds = (cmd_r, reply_w, status_w, *pass_fds)
        try:
            if unsafe is None:
                spec.argv[-2:] = [str(cmd_r), str(reply_w)]
                self.command = sandbox.command(sandbox.find_bwrap(), spec, status_fd=status_w)
                env, cwd = {}, None
            else:
                self.command = [sys.executable, "-I", "-B", str(sandbox.WORKER_SOURCE), str(cmd_r), str(reply_w)]
                env, cwd = sandbox.worker_env(), unsafe["workdir"]
                env["HOME"] = env["TMPDIR"] = cwd
            self.proc = subprocess.Popen(self.command, stdin=subprocess.DEVNULL, stdout=err_w, stderr=err_w,
                                         pass_fds=child_fds, start_new_session=True, env=env, cwd=cwd)
        finally:
            for fd in (cmd_r, reply_w, err_w, status_w):
                os.close(fd)
        self._status = os.fdopen(status_r, "rb")
        os.set_blocking(self._err_r, False)
        self._waiting = False
        self._seq = 0
        self._allowance = "run"
        self.pid = self.proc.pid if unsafe is not None else self._child_pid()
        self._pidfd = self._procdir = None
        if self.pid is not None:
            try:
                # bound to this process, not to its number: a pid can be reused once it has ended
                self._pidfd = os.pidfd_open(self.pid)
                self._procdir = os.open(f"/proc/{self.pid}", os.O_RDONLY | os.O_DIRECTORY)
            except OSError:
                self.pid = None
        if self.pid is not None:
            self._confine(cpu)
        self._watchdog = threading.Thread(target=self._watch, name="codegen-eval-watchdog", daemon=True)
        self._watchdog.start()

    # ------------------------------------------------------------ set-up

    def _child_pid(self) -> int | None:
        """The worker's pid on the host, from bwrap's first status line."""
        ready, _, _ = select.select([self._status], [], [], 30)
        line = self._status.readline() if ready else b""
        try:
            return int(json.loads(line)["child-pid"])
        except (ValueError, KeyError, TypeError):
            self._finish()
            self.outcome.stderr_tail = printable(self._stderr.decode(errors="replace"), STDERR_TAIL_BYTES)
            return None

    def _confine(self, cpu: int | None) -> None:
        """Pin the worker and set its resource limits from outside, before it loads anything."""
        lim = self.limits
        try:
            if cpu is not None:
                os.sched_setaffinity(self.pid, {cpu})
            for res, value in ((resource.RLIMIT_CPU, int(lim.cpu_s)),
                               (resource.RLIMIT_AS, int(lim.memory_mb * (1 << 20))),
                               (resource.RLIMIT_FSIZE, int(lim.file_size_mb * (1 << 20))),
                               (resource.RLIMIT_NPROC, int(lim.tasks)),
                               # queued signals and message queues are counted per user, and the
                               # sandbox's user is the harness's outside: none of those for it
                               (resource.RLIMIT_SIGPENDING, 64), (resource.RLIMIT_MSGQUEUE, 0),
                               (resource.RLIMIT_NOFILE, 256),
                               (resource.RLIMIT_CORE, 0)):
                resource.prlimit(self.pid, res, (value, value))
        except (ProcessLookupError, PermissionError, OSError):
            pass  # it is already gone; the first request will say so

    def _proc(self, name: str) -> bytes:
        """A file of the worker's ``/proc`` folder (opened through a descriptor of the folder, so it
        can never be another process's; ``ProcessLookupError`` once the worker has ended)."""
        if self._procdir is None:
            raise ProcessLookupError("no worker")
        fd = os.open(name, os.O_RDONLY, dir_fd=self._procdir)
        try:
            return os.read(fd, 1 << 16)
        finally:
            os.close(fd)

    def _tasks(self) -> list[str]:
        fd = os.open("task", os.O_RDONLY | os.O_DIRECTORY, dir_fd=self._procdir)
        try:
            return os.listdir(fd)
        finally:
            os.close(fd)

    def _signal(self, sig: int) -> None:
        if self._pidfd is not None:
            signal.pidfd_send_signal(self._pidfd, sig)

    def observed(self) -> dict:
        """What the kernel says of the worker now: seccomp mode, limits, uid (for the report)."""
        out: dict = {}
        try:
            status = self._proc("status").decode()
            fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
            out["seccomp_mode"] = int(fields.get("Seccomp", "0").strip())
            out["no_new_privs"] = fields.get("NoNewPrivs", "0").strip() == "1"
            out["cap_eff"] = fields.get("CapEff", "").strip()
            out["ns_pid"] = fields.get("NSpid", "").split()[-1:] and int(fields["NSpid"].split()[-1])
            limits = self._proc("limits").decode().splitlines()[1:]
            out["limits"] = {" ".join(line[:26].split()): line[26:47].strip() for line in limits}
        except (OSError, ValueError, KeyError):
            pass
        return out

    # ------------------------------------------------------------ messages

    def request(self, kind: bytes, payload: bytes = b"", max_reply: int = CONTROL_LIMIT_BYTES,
                allowance: str = "run") -> tuple[bytes, bytes]:
        """Send one message and wait for its reply.

        Parameters
        ----------
        kind, payload : bytes
            The message (see :mod:`codegen_eval.worker`).
        max_reply : int
            The longest reply allowed; a longer one is discarded (:class:`ReplyTooLong`) or, past
            :data:`DRAIN_LIMIT_BYTES`, ends the worker.
        allowance : str
            ``"run"`` or ``"load"``: which CPU allowance this request has.

        Returns
        -------
        (kind, payload)

        Raises
        ------
        WorkerGone
            The worker ended or was ended; see :attr:`outcome`.
        ReplyTooLong
        """
        if self.outcome.returncode is not None or self.outcome.killed_for:
            raise WorkerGone("the worker has ended")
        self._allowance = allowance
        self._seq += 1
        self._waiting = True
        try:
            if len(payload) <= 65536:
                _write_all(self._cmd_w, HEADER.pack(kind, len(payload)) + payload)
            else:
                _write_all(self._cmd_w, HEADER.pack(kind, len(payload)))
                _write_all(self._cmd_w, payload)
            if not self._buf:  # the usual case: the whole reply comes in one read
                # no larger than the reply may be: a 1 MiB buffer per call costs an mmap and munmap
                data = os.read(self._reply_r, min(1 << 20, HEADER.size + max(max_reply, 4096)))
                if len(data) >= HEADER.size:
                    rkind, n = HEADER.unpack_from(data)
                    if len(data) == HEADER.size + n and rkind in (OUTPUT, OK) and n <= max_reply:
                        return rkind, data[HEADER.size:]
                if not data:
                    self._gone()
                self._buf += data
            return self._reply(max_reply)
        except OSError:
            self._gone()
        except ReplyTooLong:
            if kind in (PROCESS, FLUSH):
                raise
            self._kill("protocol")  # nothing but an output may be long, and only after a chunk
            self._gone()
        finally:
            self._waiting = False
            self._allowance = "run"

    def request_json(self, kind: bytes, obj, allowance: str = "run") -> tuple[bytes, dict]:
        """:meth:`request` with a JSON payload; the reply's payload parsed as JSON (or ``{}``)."""
        rkind, payload = self.request(kind, json.dumps(obj).encode(), allowance=allowance)
        return rkind, parse_reply(payload)

    def _read_more(self) -> None:
        chunk = os.read(self._reply_r, 1 << 20)
        if not chunk:
            self._gone()
        self._buf += chunk

    def _gone(self):
        self._finish()
        why = self.outcome.killed_for
        raise WorkerGone("the worker has ended" + (f" ({why})" if why else ""))

    def _reply(self, max_reply: int) -> tuple[bytes, bytes]:
        buf = self._buf
        while True:
            if len(buf) >= HEADER.size:
                kind, n = HEADER.unpack_from(buf)
                limit = max_reply if kind == OUTPUT else CONTROL_LIMIT_BYTES
                if n > limit:
                    if kind != OUTPUT or n > limit + DRAIN_LIMIT_BYTES:
                        self._kill("output_limit" if kind == OUTPUT else "protocol")
                    else:
                        self._drain(HEADER.size + n)
                    raise ReplyTooLong(n, limit)
                if len(buf) >= HEADER.size + n:
                    payload = bytes(buf[HEADER.size:HEADER.size + n])
                    del buf[:HEADER.size + n]
                    if kind == VIOLATION:
                        self._note_violation(payload)
                        continue
                    if kind not in (OK, OUTPUT, ERROR, DONE):
                        self._kill("protocol")
                        self._gone()
                    return kind, payload
            self._read_more()

    def _drain(self, n: int) -> None:
        """Read and throw away the next `n` bytes of replies."""
        while n:
            take = min(n, len(self._buf))
            del self._buf[:take]
            n -= take
            if n:
                self._read_more()

    def _note_violation(self, payload: bytes) -> None:
        data = parse_reply(payload)
        entry = {"kind": printable(data.get("kind", "unknown"), 40), "detail": printable(data.get("detail", ""), 300)}
        if entry not in self.violations and len(self.violations) < 50:
            self.violations.append(entry)

    # ------------------------------------------------------------ the watchdog

    def _watch(self) -> None:
        """The watchdog thread: drain stderr, and end the worker on a stall, the wall-clock limit or
        a cancel. A request's allowances count from the first tick that finds it unanswered."""
        lim = self.limits
        poller = select.poll()
        poller.register(self._err_r, select.POLLIN)
        seen = None  # (request number, wall time, worker CPU time) when first found waiting
        while self.outcome.returncode is None and not self.outcome.killed_for:
            for _ in poller.poll(WATCH_TICK_MS):
                self._read_stderr()
            if self.proc.poll() is not None:
                return
            now = time.monotonic()
            self._sample_memory()
            why = None
            if now - self._t0 > lim.wall_s:
                why = "timeout"
            elif self._waiting:
                cpu = self._cpu_s()
                if seen is None or seen[0] != self._seq:
                    seen = (self._seq, now, cpu)
                allowed = lim.load_cpu_s if self._allowance == "load" else lim.stall_cpu_s
                if cpu - seen[2] > allowed or now - seen[1] > lim.stall_wall_s:
                    why = "stall"
            if why:
                self._kill(why)
                return

    def _read_stderr(self) -> None:
        with self._lock:
            self._read_stderr_locked()

    def _read_stderr_locked(self) -> None:
        try:
            chunk = os.read(self._err_r, 1 << 16)
        except BlockingIOError:
            return
        if chunk:
            self._stderr += chunk
            del self._stderr[:-STDERR_TAIL_BYTES]

    # ------------------------------------------------------------ the process

    def _cpu_s(self) -> float:
        """CPU time (user + system, every thread) of the worker so far."""
        try:
            fields = self._proc("stat").rpartition(b")")[2].split()
            cpu = (int(fields[11]) + int(fields[12])) * _TICK_S
        except (OSError, ValueError, IndexError, TypeError):
            return self.outcome.cpu_s
        self.outcome.cpu_s = cpu
        return cpu

    def _sample_memory(self) -> None:
        try:
            for line in self._proc("status").splitlines():
                if line.startswith(b"VmHWM:"):
                    self.outcome.max_rss_mb = max(self.outcome.max_rss_mb, int(line.split()[1]) / 1024)
                    break
        except (OSError, ValueError, TypeError):
            pass

    def freeze(self, timeout_s: float = 5.0) -> None:
        """Stop every thread of the worker (SIGSTOP) and wait until the kernel says they are stopped.

        Raises
        ------
        WorkerGone
            The worker did not stay stopped (something resumed it); it is ended.
        """
        try:
            self._signal(signal.SIGSTOP)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                states = [self._proc(f"task/{tid}/stat").rpartition(b")")[2].split()[0] for tid in self._tasks()]
            except OSError:
                return
            if all(s in (b"T", b"t", b"Z", b"X") for s in states):
                return
            time.sleep(0.0005)
        self._kill("not_stopped")
        raise WorkerGone("the worker did not stay stopped")

    def run_time_ns(self) -> int:
        """Time every live thread of the worker has run, in nanoseconds (``/proc/<pid>/task/*/schedstat``),
        to check that a stopped worker stays stopped."""
        total = 0
        try:
            for tid in self._tasks():
                total += int(self._proc(f"task/{tid}/schedstat").split()[0])
        except (OSError, ValueError, IndexError):
            pass
        return total

    def thaw(self) -> None:
        """Let the worker run again (SIGCONT)."""
        try:
            self._signal(signal.SIGCONT)
        except ProcessLookupError:
            pass

    def kill(self, why: str) -> None:
        """End the worker now (SIGKILL), recording `why`."""
        self._kill(why)

    def _kill(self, why: str) -> None:
        self.outcome.killed_for = self.outcome.killed_for or why
        try:
            self._signal(signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        if self.proc.returncode is None:  # not reaped yet: its group id cannot be anyone else's
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        self._finish()

    def _finish(self) -> None:
        """Collect the exit status (the worker's, through bwrap's status line) and the stderr tail."""
        with self._lock:
            self._finish_locked()

    def _finish_locked(self) -> None:
        if self.outcome.returncode is not None:
            return
        try:
            code = self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            code = self.proc.wait()
        exit_code = None
        try:
            for line in self._status.read().splitlines():
                status = json.loads(line)
                if "exit-code" in status:
                    exit_code = int(status["exit-code"])
        except (OSError, ValueError):
            pass
        if exit_code is None:
            exit_code = code
        # bwrap reports a death by signal as 128 + the signal (the worker's seccomp filter refuses
        # an exit status of 128 or more, so only a signal gives one)
        if exit_code is not None and exit_code > 128 and self.command and self.command[0] != sys.executable:
            exit_code = -(exit_code - 128)
        self.outcome.returncode = exit_code if exit_code is not None else -9
        while True:
            try:
                chunk = os.read(self._err_r, 1 << 16)
            except (BlockingIOError, OSError):
                break
            if not chunk:
                break
            self._stderr += chunk
            del self._stderr[:-STDERR_TAIL_BYTES]
        tail = self._stderr.decode(errors="replace")[-STDERR_TAIL_BYTES:]
        self.outcome.stderr_tail = "\n".join(printable(line, STDERR_TAIL_BYTES) for line in tail.split("\n"))
        self.outcome.wall_s = time.monotonic() - self._t0

    def close(self) -> Outcome:
        """Ask the worker to quit (or end it) and return how it ended."""
        if self.outcome.returncode is None:
            try:
                _write_all(self._cmd_w, HEADER.pack(QUIT, 0))
            except OSError:
                pass
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._kill(self.outcome.killed_for or "timeout")
            self._finish()
        self._watchdog.join()
        for fd in (self._cmd_w, self._reply_r, self._err_r):
            try:
                os.close(fd)
            except OSError:
                pass
        self._status.close()
        for fd in (self._pidfd, self._procdir):
            if fd is not None:
                os.close(fd)
        self._pidfd = self._procdir = None
        self.outcome.wall_s = time.monotonic() - self._t0
        return self.outcome


@dataclass
class CallResult:
    """One run as the parent saw it.

    Attributes
    ----------
    output : bytes
        Every output byte, calls then flush.
    lengths : list of int
        Cumulative output length after each call.
    calls : int
        Calls answered.
    error : dict or None
        The candidate's exception (as the worker described it), or how the run broke off.
    error_call : int or None
    create_error : dict or None
    too_long : dict or None
        ``{"call", "got_bytes", "allowed_bytes"}`` of the first over-long reply.
    """

    output: bytes = b""
    lengths: list = field(default_factory=list)
    calls: int = 0
    error: dict | None = None
    error_call: int | None = None
    create_error: dict | None = None
    too_long: dict | None = None
    completed: bool = False


class _Stream:
    """One instance being fed its chunks, one call at a time, and what came back."""

    def __init__(self, worker: Worker, config: dict, data: bytes, sizes: list[int], room: tuple):
        self.worker = worker
        self.config = config
        self.data = data
        self.sizes = sizes
        self.extra, self.flush_room, self.cumulative = room
        self.res = CallResult()
        self.outputs: list[bytes] = []
        self.total = 0
        self.pos = 0
        self.open = False

    def create(self) -> bool:
        kind, reply = self.worker.request_json(CREATE, self.config, allowance="load")
        if kind != OK:
            self.res.create_error = _as_error(reply)
            return False
        self.open = True
        return True

    @property
    def more(self) -> bool:
        return self.open and self.res.error is None and self.res.calls < len(self.sizes)

    def call(self) -> None:
        """Send the next chunk and take its output (or the error that ends this stream)."""
        res = self.res
        i = res.calls
        size = self.sizes[i]
        try:
            # a cumulative room: the run's output so far may exceed its input so far by `extra` at
            # most; else each call's reply may exceed its chunk by `extra`
            room = max(0, self.pos + size + self.extra - self.total) if self.cumulative else size + self.extra
            kind, out = self.worker.request(PROCESS, self.data[self.pos:self.pos + size], max_reply=room)
        except ReplyTooLong as exc:
            self._too_long(i, exc)
            return
        self.pos += size
        if kind != OUTPUT:
            res.error = _as_error(out)
            res.error_call = i
            return
        self.outputs.append(out)
        self.total += len(out)
        res.lengths.append(self.total)
        res.calls += 1

    def _too_long(self, call: int, exc: ReplyTooLong) -> None:
        self.res.too_long = {"call": call, "got_bytes": exc.got_bytes, "allowed_bytes": exc.allowed_bytes}
        self.res.error = {"type": "OutputTooLong", "message": str(exc), "where": []}
        self.res.error_call = call

    def finish(self, has_flush: bool) -> CallResult:
        """Flush (Python), close, and return the run."""
        res = self.res
        if not self.open:
            return res
        if res.error is None and has_flush:
            try:
                kind, out = self.worker.request(FLUSH, max_reply=self.flush_room)
                if kind == OUTPUT:
                    self.outputs.append(out)
                else:
                    res.error = _as_error(out)
                    res.error_call = res.calls
            except ReplyTooLong as exc:
                self._too_long(res.calls, exc)
        kind, reply = self.worker.request(CLOSE)
        if kind != OK and res.error is None:
            res.error = _as_error(reply)
            res.error_call = res.calls
        res.output = b"".join(self.outputs)
        res.completed = True
        return res


def run_stream(worker: Worker, config: dict, data: bytes, sizes: list[int], room: tuple[int, int, bool],
               has_flush: bool) -> CallResult:
    """Feed `data` to a new instance in chunks of `sizes`, one call at a time, and collect it.

    `config` is the worker's create message. `room` is ``(extra, flush, cumulative)`` (the task
    judge's ``reply_room``): each call's reply may be at most the chunk's length plus `extra` bytes
    (with `cumulative`, the run's output so far at most its input so far plus `extra`), a flush's at
    most `flush` bytes. The parent reveals chunk k+1 only after it has the output of call k.

    Raises
    ------
    WorkerGone
        The worker ended during the run (the result so far is lost with it).
    """
    stream = _Stream(worker, config, data, sizes, room)
    if stream.create():
        while stream.more:
            stream.call()
    return stream.finish(has_flush)


def run_interleaved(worker: Worker, runs: list[tuple], has_flush: bool,
                    lifo: bool = False) -> list[CallResult]:
    """Two instances alive at once, fed in turns: the second is created after the first has had a
    chunk, then one chunk each, in turn, until both are done.

    Parameters
    ----------
    runs : list of tuple
        Two ``(config, data, sizes, room)`` (see :func:`run_stream`).
    lifo : bool
        Close the second instance first (else the first).

    Returns
    -------
    list of CallResult
        One per run, each to be judged like a run of its own.
    """
    streams = [_Stream(worker, c, d, s, r) for c, d, s, r in runs]

    def on(slot: int) -> _Stream:
        worker.request(SELECT, bytes([slot]))
        return streams[slot]

    if on(0).create() and streams[0].more:
        streams[0].call()
    on(1).create()
    while streams[0].more or streams[1].more:
        for slot in (1, 0):
            if streams[slot].more:
                on(slot).call()
    order = (1, 0) if lifo else (0, 1)
    done = {slot: on(slot).finish(has_flush) for slot in order}
    return [done[0], done[1]]


def parse_reply(payload) -> dict:
    """A JSON object from the worker, or a protocol error: anything else it sends (not JSON, not an
    object, nested past the parser's depth) is data about the candidate, never an exception here."""
    try:
        data = json.loads(payload) if payload else {}
    except (ValueError, RecursionError, TypeError):
        return {"type": "ProtocolError", "message": "the worker's reply could not be read", "where": []}
    if not isinstance(data, dict):
        return {"type": "ProtocolError", "message": "the worker's reply was not an object", "where": []}
    return data


def _escape(match) -> str:
    c = ord(match.group())
    return f"\\x{c:02x}" if c < 0x100 else f"\\u{c:04x}" if c < 0x10000 else f"\\U{c:08x}"


# controls (C0, DEL, C1), format characters (bidi overrides among them), lone surrogates,
# private use, and the line and paragraph separators
_NON_PRINTING = re.compile("[^\t\x20-\x7e\xa0-\uffff]|[\u00ad\u0600-\u0605\u061c\u06dd\u070f\u180e"
                           "\u200b-\u200f\u2028-\u202e\u2060-\u206f\ud800-\uf8ff\ufeff\ufff0-\ufffb]")


def printable(text, limit: int = 500) -> str:
    """`text` (from the candidate's process) cut to `limit` characters, with every character that
    does not print (controls, bidirectional overrides, lone surrogates, ...) but tab written as an
    escape: no report line can be moved, erased, reordered or made unwritable on a terminal or in
    a file."""
    return _NON_PRINTING.sub(_escape, str(text)[:limit])


def _as_error(payload) -> dict:
    """An error the worker reported (the candidate's exception, as data), cleaned for reports."""
    data = payload if isinstance(payload, dict) else parse_reply(payload)
    where = data.get("where")
    return {"type": printable(data.get("type"), 80), "message": printable(data.get("message")),
            "where": [printable(w, 200) for w in where[:4]] if isinstance(where, list) else [],
            **{k: True for k in ("memory", "overrun", "sandbox") if data.get(k) is True}}


__all__ = ["Worker", "Limits", "Outcome", "CallResult", "WorkerGone", "ReplyTooLong", "run_stream", "run_interleaved",
           "usable_cpus", "LOAD", "TIMED", "DONE", "OK", "ERROR"]

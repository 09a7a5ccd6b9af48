"""The program that runs one candidate inside the sandbox (standard library only).

Started by :mod:`codegen_eval.runner` as ``python -I -B worker.py CMD_FD REPLY_FD`` inside
bubblewrap (:mod:`codegen_eval.sandbox`), never imported by the harness for its own work: the
harness imports it only for the message format below. Inside the sandbox there is no harness and
no reference package, only the interpreter, the allowed libraries, this file and the candidate's
own directory.

The parent drives everything through two pipes, one message at a time, and believes nothing but
the bytes of each reply:

- ``L`` load (JSON job) -> ``K`` (JSON: what the worker applied to itself) or ``E``;
- ``C`` create (JSON configuration) -> ``K`` or ``E`` (the candidate refused it, or crashed);
- ``P`` process (the chunk's bytes) -> ``O`` (the output bytes of that call) or ``E``;
- ``F`` flush -> ``O``; ``X`` close -> ``K``; ``Q`` quit (the worker exits);
- ``S`` select (one byte: an instance slot, 0 or 1) -> ``K``: the messages above go to that
  slot's instance from then on, so that two instances can be alive and fed in turns;
- ``T`` timed run (JSON chunk sizes; the input lies in a shared memory file) -> ``D`` once every
  call is done, its outputs written to the second shared memory file.

A ``V`` message (JSON) reports a forbidden act the Python guards saw; it may come before any reply.
A message is one type byte, an 8-byte little-endian payload length, then the payload.

The worker confines itself before loading the candidate (a seccomp filter on x86-64 Linux:
processes, sockets, signals to anything but itself, scheduling, tracing, namespaces, timers that
could resume it, and the other system calls listed in :data:`SECCOMP_KILL` kill it; starting a
thread fails with EAGAIN), and for Python candidates installs the task's
import policy and an audit hook. Those guards run inside the candidate's own process, so they are a
rule of the task, not the security boundary: the sandbox around the process is.
"""
from __future__ import annotations

import builtins
import json
import os
import struct
import sys
import traceback

HEADER = struct.Struct("<cQ")
# parent -> worker
LOAD, CREATE, PROCESS, FLUSH, CLOSE, TIMED, QUIT, SELECT = b"L", b"C", b"P", b"F", b"X", b"T", b"Q", b"S"
# worker -> parent
OK, OUTPUT, ERROR, VIOLATION, DONE = b"K", b"O", b"E", b"V", b"D"
# bytes of the int64 per-call output lengths that follow the outputs in the timed output file
LENGTH_BYTES = 8


class Channel:
    """Framed messages over a pair of pipes (blocking; used inside the worker)."""

    def __init__(self, read_fd: int, write_fd: int):
        self.read_fd = read_fd
        self.write_fd = write_fd
        self.buf = bytearray()

    def send(self, kind: bytes, payload: bytes = b"") -> None:
        if len(payload) <= 65536:
            _write_all(self.write_fd, HEADER.pack(kind, len(payload)) + payload)
        else:
            _write_all(self.write_fd, HEADER.pack(kind, len(payload)))
            _write_all(self.write_fd, payload)

    def send_json(self, kind: bytes, obj) -> None:
        self.send(kind, json.dumps(obj).encode())

    def recv(self) -> tuple[bytes, bytes]:
        if not self.buf:  # the usual case: one read brings exactly one message
            data = os.read(self.read_fd, 1 << 16)
            if len(data) >= HEADER.size:
                kind, n = HEADER.unpack_from(data)
                if len(data) == HEADER.size + n:
                    return kind, data[HEADER.size:]
            if not data:
                raise EOFError("the parent closed the command pipe")
            self.buf += data
        while True:
            if len(self.buf) >= HEADER.size:
                kind, n = HEADER.unpack_from(self.buf)
                if len(self.buf) >= HEADER.size + n:
                    payload = bytes(self.buf[HEADER.size:HEADER.size + n])
                    del self.buf[:HEADER.size + n]
                    return kind, payload
                want = HEADER.size + n - len(self.buf)
            else:
                want = HEADER.size - len(self.buf)
            data = os.read(self.read_fd, max(want, 1 << 16))
            if not data:
                raise EOFError("the parent closed the command pipe")
            self.buf += data


def _write_all(fd: int, data) -> None:
    written = os.write(fd, data)
    if written < len(data):
        view = memoryview(data)[written:]
        while view:
            view = view[os.write(fd, view):]


CHANNEL: Channel | None = None


def violation(kind: str, detail: str) -> None:
    """Tell the parent at once about a forbidden act (it is never taken back)."""
    if CHANNEL is not None:
        CHANNEL.send_json(VIOLATION, {"kind": kind, "detail": detail[:300]})


# ---------------------------------------------------------------- seccomp

# x86-64 system calls that kill the worker (SIGSYS): processes and programs, sockets and
# io_uring (which opens sockets itself), signals sent elsewhere, scheduling and priority
# (which could slow a neighbour or the reference), tracing and other processes' memory,
# namespaces, mounts, keys, BPF, perf, user ids and limits, and machine-wide settings.
SECCOMP_KILL = {
    57: "fork", 58: "vfork", 59: "execve", 322: "execveat",
    41: "socket", 42: "connect", 43: "accept", 288: "accept4", 49: "bind", 50: "listen", 53: "socketpair",
    425: "io_uring_setup", 426: "io_uring_enter", 427: "io_uring_register",
    129: "rt_sigqueueinfo", 297: "rt_tgsigqueueinfo", 424: "pidfd_send_signal", 434: "pidfd_open",
    438: "pidfd_getfd", 203: "sched_setaffinity", 144: "sched_setscheduler", 142: "sched_setparam",
    314: "sched_setattr", 141: "setpriority", 251: "ioprio_set",
    101: "ptrace", 310: "process_vm_readv", 311: "process_vm_writev", 312: "kcmp", 440: "process_madvise",
    448: "process_mrelease", 135: "personality",
    272: "unshare", 308: "setns", 165: "mount", 166: "umount2", 155: "pivot_root", 161: "chroot",
    442: "mount_setattr", 428: "open_tree", 429: "move_mount", 430: "fsopen", 431: "fsconfig",
    432: "fsmount", 433: "fspick", 303: "name_to_handle_at", 304: "open_by_handle_at",
    321: "bpf", 298: "perf_event_open", 323: "userfaultfd", 250: "keyctl", 248: "add_key",
    249: "request_key", 300: "fanotify_init",
    105: "setuid", 106: "setgid", 113: "setreuid", 114: "setregid", 117: "setresuid", 119: "setresgid",
    122: "setfsuid", 123: "setfsgid", 116: "setgroups", 126: "capset", 160: "setrlimit",
    169: "reboot", 175: "init_module", 313: "finit_module", 176: "delete_module", 246: "kexec_load",
    320: "kexec_file_load", 163: "acct", 167: "swapon", 168: "swapoff", 164: "settimeofday",
    227: "clock_settime", 305: "clock_adjtime", 159: "adjtimex", 172: "iopl", 173: "ioperm",
    103: "syslog", 153: "vhangup", 134: "uselib", 179: "quotactl", 212: "lookup_dcookie",
    256: "migrate_pages", 279: "move_pages",
    # a timer or a message queue can send any signal, SIGCONT included: the worker could resume
    # itself while the parent has it stopped for the reference's turn
    222: "timer_create", 244: "mq_notify",
    # counted per user outside the sandbox, where its user is the harness's: inotify instances and
    # POSIX message queues could be used up for every other process of that user
    253: "inotify_init", 294: "inotify_init1", 240: "mq_open",
    # memory that is no process's and outside every limit: memory files and System V segments
    319: "memfd_create", 447: "memfd_secret", 29: "shmget",
    # timers that fire while the worker is stopped: each expiry is an interrupt charged to the run
    # time of whatever runs then on its CPU (the reference's worker, in a timed turn)
    283: "timerfd_create", 286: "timerfd_settime", 38: "setitimer", 37: "alarm",
    # a filter of its own could raise SIGSYS, the signal of a forbidden call, for any call
    317: "seccomp",
}
# signals only to itself: kill(pid), tkill(tid == pid), tgkill(tgid == pid, ...)
SECCOMP_OWN_PID = {62: "kill", 200: "tkill", 234: "tgkill"}
_X32_BIT = 0x40000000


def seccomp_program(own_pid: int) -> list[tuple[int, int, int, int]]:
    """The classic BPF program of the filter, as ``(code, jt, jf, k)`` tuples.

    Parameters
    ----------
    own_pid : int
        The worker's pid as it sees itself (the only target it may signal).
    """
    LD, JEQ, JGE, JSET, AND, RET = 0x20, 0x15, 0x35, 0x45, 0x54, 0x06
    KILL, ALLOW, ENOSYS, EAGAIN, EPERM = 0x80000000, 0x7FFF0000, 0x00050000 | 38, 0x00050000 | 11, 0x00050000 | 1
    AUDIT_ARCH_X86_64, CLONE_THREAD = 0xC000003E, 0x00010000
    prog = [(LD, 0, 0, 4), (JEQ, 1, 0, AUDIT_ARCH_X86_64), (RET, 0, 0, KILL), (LD, 0, 0, 0),
            # the x32 ABI reaches the same kernel code under other numbers
            (JSET, 0, 1, _X32_BIT), (RET, 0, 0, KILL)]
    # clone3 hides its flags in memory: ENOSYS makes the C library fall back to clone
    prog += [(JEQ, 0, 1, 435), (RET, 0, 0, ENOSYS)]
    # no new process (killed), no new thread either (refused with EAGAIN, as when a limit is
    # reached): a worker is one thread, so that it cannot spend the host's process ids, and so
    # that stopping it stops everything it runs
    prog += [(JEQ, 0, 4, 56), (LD, 0, 0, 16), (JSET, 0, 1, CLONE_THREAD), (RET, 0, 0, EAGAIN), (RET, 0, 0, KILL)]
    # fcntl may not choose the signal of I/O events (F_SETSIG), which could be SIGCONT
    prog += [(JEQ, 0, 4, 72), (LD, 0, 0, 24), (JEQ, 0, 1, 10), (RET, 0, 0, KILL), (LD, 0, 0, 0)]
    # prlimit64 may read limits, never set them
    prog += [(LD, 0, 0, 0), (JEQ, 0, 6, 302), (LD, 0, 0, 32), (JEQ, 0, 3, 0), (LD, 0, 0, 36), (JEQ, 0, 1, 0),
             (RET, 0, 0, ALLOW), (RET, 0, 0, KILL)]
    prog += [(LD, 0, 0, 0)]
    # no exit status of 128 or more: bwrap reports a death by signal N as 128 + N, so such a status
    # must mean a signal (a C library refused here ends the process with a fault, a crash)
    prog += [(JEQ, 1, 0, 60), (JEQ, 0, 4, 231), (LD, 0, 0, 16), (AND, 0, 0, 0xFF), (JGE, 0, 1, 128),
             (RET, 0, 0, EPERM), (LD, 0, 0, 0)]
    # prctl may not turn system calls into SIGSYS, the seccomp kill's signal: no syscall user
    # dispatch, no filter of the candidate's own (PR_SET_SECCOMP)
    prctl_set_seccomp, prctl_syscall_user_dispatch = 22, 59
    prog += [(JEQ, 0, 4, 157), (LD, 0, 0, 16), (JEQ, 1, 0, prctl_set_seccomp),
             (JEQ, 0, 1, prctl_syscall_user_dispatch), (RET, 0, 0, KILL), (LD, 0, 0, 0)]
    for nr in SECCOMP_KILL:
        prog += [(JEQ, 0, 1, nr), (RET, 0, 0, KILL)]
    for nr in SECCOMP_OWN_PID:
        # the first argument (low and high 32 bits) must be the worker's own pid
        prog += [(JEQ, 0, 6, nr), (LD, 0, 0, 16), (JEQ, 0, 3, own_pid), (LD, 0, 0, 20), (JEQ, 0, 1, 0),
                 (RET, 0, 0, ALLOW), (RET, 0, 0, KILL)]
        prog += [(LD, 0, 0, 0)]
    prog.append((RET, 0, 0, ALLOW))
    return prog


def install_seccomp() -> bool:
    """Install the filter on this process (x86-64 Linux); False where it cannot be."""
    import ctypes
    import platform

    if sys.platform != "linux" or platform.machine() != "x86_64":
        return False
    prog = seccomp_program(os.getpid())

    class Filter(ctypes.Structure):
        _fields_ = [("code", ctypes.c_uint16), ("jt", ctypes.c_uint8), ("jf", ctypes.c_uint8),
                    ("k", ctypes.c_uint32)]

    class Prog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(Filter))]

    arr = (Filter * len(prog))(*[Filter(*p) for p in prog])
    fprog = Prog(len(prog), arr)
    libc = ctypes.CDLL(None, use_errno=True)
    PR_SET_NO_NEW_PRIVS, PR_SET_SECCOMP, SECCOMP_MODE_FILTER = 38, 22, 2
    if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        return False
    return libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(fprog), 0, 0) == 0


# ------------------------------------------------------- Python import policy

class RefusedImport(ImportError):
    """An import the task forbids."""


class RefusedAct(PermissionError):
    """An act the task forbids (process, socket, writing outside the working directory, ...)."""


def _top(name: str) -> str:
    return name.partition(".")[0]


class Policy:
    """The task's import rules for a Python candidate, checked on every import and audit event.

    An act is charged to the candidate when the code that made it is the candidate's: its file,
    code compiled from a string (``exec``), or standard-library code running on its behalf (a
    library function it called), but not a standard-library module importing what it needs while
    it is itself imported, nor an allowed library (numpy, numba) at work.
    """

    def __init__(self, job: dict):
        allowed = job.get("allowed_imports", {})
        self.stdlib = bool(allowed.get("stdlib"))
        self.third_party = frozenset(allowed.get("third_party", []))
        self.blocked = frozenset(allowed.get("blocked", []))
        self.allow_modules = frozenset(job.get("allow_modules", []))
        self.never_import = frozenset(job.get("never_import", [])) - self.allow_modules
        self.workdir = os.path.realpath(job.get("workdir", "."))
        stdlib_dir = os.path.dirname(os.path.realpath(os.__file__))
        self.stdlib_dirs = (stdlib_dir + os.sep,)
        self.library_dirs = tuple(os.path.realpath(p) + os.sep for p in job.get("library_dirs", []))
        self.worker_file = os.path.realpath(__file__)

    def import_allowed(self, top: str) -> bool:
        if top in self.allow_modules:
            return True
        if top in self.blocked or top in self.never_import:
            return False
        if self.stdlib and top in sys.stdlib_module_names:
            return True
        return top in self.third_party

    def _kind(self, frame) -> str:
        name = frame.f_code.co_filename
        if name.startswith("<frozen "):
            return "stdlib"
        if name == self.worker_file:
            return "worker"
        if name.startswith(self.library_dirs):
            return "library"
        if name.startswith(self.stdlib_dirs):
            return "stdlib"
        return "candidate"

    def charged_to_candidate(self, frame) -> bool:
        while frame is not None:
            kind = self._kind(frame)
            if kind != "stdlib":
                return kind == "candidate"
            if frame.f_code.co_name == "<module>" and _being_imported(frame):
                return False  # a standard module importing its own needs as it is imported
            frame = frame.f_back
        return False


def _being_imported(frame) -> bool:
    """Is `frame` the top level of a module that the import system is executing now? (Code that
    merely names a standard file, ``compile(src, os.__file__, "exec")``, is not.)"""
    name = frame.f_globals.get("__name__")
    module = sys.modules.get(name) if isinstance(name, str) else None
    spec = getattr(module, "__spec__", None)
    return (module is not None and module.__dict__ is frame.f_globals and spec is not None
            and getattr(spec, "_initializing", False) is True and spec.origin == frame.f_code.co_filename)


_FORBIDDEN_EVENTS = {
    "os.system": "process", "os.exec": "process", "os.posix_spawn": "process", "os.spawn": "process",
    "os.fork": "process", "os.forkpty": "process", "subprocess.Popen": "process", "pty.spawn": "process",
    "os.kill": "process", "os.killpg": "process",
    "socket.__new__": "network", "socket.connect": "network", "socket.bind": "network",
    "socket.getaddrinfo": "network", "socket.gethostbyname": "network", "socket.sendto": "network",
    "sys.addaudithook": "audit", "sys.settrace": "audit", "sys.setprofile": "audit",
    "ctypes.dlopen": "ctypes", "ctypes.dlsym": "ctypes", "ctypes.call_function": "ctypes",
}
_PATH_EVENTS = {"os.remove", "os.rename", "os.mkdir", "os.rmdir", "os.symlink", "os.link", "os.truncate",
                "os.chmod", "os.chown", "shutil.rmtree", "shutil.copyfile", "shutil.move"}


def install_policy(policy: Policy) -> None:
    """Guard imports (``__import__`` and a meta-path finder) and watch audit events."""
    real_import = builtins.__import__
    getframe = sys._getframe

    def guarded_import(name, globals=None, locals=None, fromlist=(), level=0):
        if level == 0 and not policy.import_allowed(_top(name)) and policy.charged_to_candidate(getframe(1)):
            violation("import", _top(name))
            raise RefusedImport(f"import of {name!r} is not allowed in this task")
        return real_import(name, globals, locals, fromlist, level)

    class BlockFinder:
        """Keeps the reference and the harness out whoever asks (they are not in the sandbox either)."""

        @staticmethod
        def find_spec(name, path=None, target=None):
            if _top(name) in policy.never_import:
                violation("import", _top(name))
                raise RefusedImport(f"import of {name!r} is not allowed in this task")
            return None

    def outside(path) -> bool:
        if isinstance(path, int):
            return False
        try:
            full = os.path.realpath(os.fsdecode(path))
        except (TypeError, ValueError):
            return True
        return os.path.commonpath([full, policy.workdir]) != policy.workdir

    def audit(event, args):
        kind = _FORBIDDEN_EVENTS.get(event)
        if kind is None and event != "open" and event not in _PATH_EVENTS:
            return
        if not policy.charged_to_candidate(getframe(1)):
            return
        if kind:
            violation(kind, event)
            raise RefusedAct(f"{event} is not allowed in this task")
        if event == "open":
            path, mode, flags = args
            writing = (mode and any(c in str(mode) for c in "wax+")) or (isinstance(flags, int) and flags & 3)
            if writing and outside(path):
                violation("filesystem", f"write {path!r}")
                raise RefusedAct(f"writing {path!r} is not allowed in this task")
        else:
            for p in args:
                if isinstance(p, (str, bytes)) and outside(p):
                    violation("filesystem", f"{event} {p!r}")
                    raise RefusedAct(f"{event} outside the working directory is not allowed")

    builtins.__import__ = guarded_import
    sys.meta_path.insert(0, BlockFinder)
    sys.addaudithook(audit)


# ----------------------------------------------------------------- candidates

class PythonCandidate:
    """A candidate module defining the task's class (``interface.python.class`` of the task)."""

    has_flush = True

    def __init__(self, path: str, class_name: str):
        import importlib.util

        spec = importlib.util.spec_from_file_location("candidate", path)
        module = importlib.util.module_from_spec(spec)
        sys.modules["candidate"] = module
        spec.loader.exec_module(module)
        self.cls = getattr(module, class_name, None)
        if self.cls is None:
            raise AttributeError(f"the module defines no {class_name} class")

    def create(self, config: dict):
        """An instance made with the arguments the parent chose (``args`` and ``kwargs``)."""
        return PythonInstance(self.cls(*config.get("args", []), **config.get("kwargs", {})))


class PythonInstance:
    def __init__(self, obj):
        self.obj = obj

    def process(self, chunk: bytes) -> bytes:
        return _as_bytes(self.obj.process(chunk), "process")

    def flush(self) -> bytes:
        out = self.obj.flush()
        return b"" if out is None else _as_bytes(out, "flush")

    def close(self):
        pass


def _as_bytes(out, method: str) -> bytes:
    if not isinstance(out, (bytes, bytearray, memoryview)):
        raise TypeError(f"{method}() returned {type(out).__name__}, expected bytes")
    return bytes(out)


class ReferenceCandidate(PythonCandidate):
    """The reference package's class through the Python contract (the reference worker only)."""

    def __init__(self, module_name: str, class_name: str):
        import importlib

        self.cls = getattr(importlib.import_module(module_name), class_name)


class BufferOverrun(Exception):
    """The process function wrote past the room it was given."""


class CCandidate:
    """A shared library exporting the task's three functions (``interface.c`` of the task).

    `abi` names them (``create``, ``process``, ``destroy``) and lists the arguments of the create
    function (``create_args``): ``"int"``, ``"double"``, ``{"struct": fields}`` (a pointer to one
    struct, given as a dict) or ``{"array": fields}`` (a pointer to structs, given as a list of
    dicts), where `fields` is a list of ``[name, "int" | "double"]``. The process function is
    always ``size_t process(void *h, const unsigned char *in, size_t n, unsigned char *out)``.
    """

    GUARD_BYTES = 64
    has_flush = False

    def __init__(self, path: str, abi: dict):
        import ctypes

        self.ct = ctypes
        lib = ctypes.CDLL(os.path.abspath(path))
        scalar = {"int": ctypes.c_int, "double": ctypes.c_double}
        self.args = []  # (kind, ctypes type, fields) per argument
        for arg in abi["create_args"]:
            if isinstance(arg, str):
                self.args.append(("scalar", scalar[arg], None))
                continue
            kind, fields = next(iter(arg.items()))
            struct = type("Struct", (ctypes.Structure,), {"_fields_": [(n, scalar[t]) for n, t in fields]})
            self.args.append((kind, struct, [(n, t) for n, t in fields]))
        self.create_fn = getattr(lib, abi["create"])
        self.create_fn.restype = ctypes.c_void_p
        self.create_fn.argtypes = [t if k == "scalar" else ctypes.POINTER(t) for k, t, _ in self.args]
        self.create_name = abi["create"]
        self.process_fn = getattr(lib, abi["process"])
        self.process_fn.restype = ctypes.c_size_t
        self.process_fn.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t, ctypes.c_void_p]
        self.process_name = abi["process"]
        self.destroy_fn = getattr(lib, abi["destroy"])
        self.destroy_fn.restype = None
        self.destroy_fn.argtypes = [ctypes.c_void_p]
        self.lib = lib

    def _struct(self, struct, fields, value: dict):
        s = struct()
        for name, kind in fields:
            setattr(s, name, int(value[name]) if kind == "int" else float(value[name]))
        return s

    def create(self, config: dict):
        """Call the create function with ``args`` (one value per argument of the ABI); the parent
        also says how many bytes a call may write beyond its input (``out_extra_bytes``)."""
        values = config["args"]
        if len(values) != len(self.args):
            raise ValueError(f"{self.create_name} takes {len(self.args)} arguments, got {len(values)}")
        call = []
        for (kind, ctype, fields), value in zip(self.args, values):
            if kind == "scalar":
                call.append(int(value) if ctype is self.ct.c_int else float(value))
            elif kind == "struct":
                call.append(self.ct.pointer(self._struct(ctype, fields, value)))
            else:
                arr = (ctype * max(1, len(value)))()
                for i, item in enumerate(value):
                    arr[i] = self._struct(ctype, fields, item)
                call.append(arr)
        ptr = self.create_fn(*call)
        if not ptr:
            raise ValueError(f"{self.create_name} returned NULL")
        return CInstance(self, ptr, max(0, int(config.get("out_extra_bytes", 0))))


class CInstance:
    def __init__(self, cand: CCandidate, ptr: int, extra: int):
        self.cand = cand
        self.ptr = ptr
        self.extra = extra
        # guard bytes after the room, random for each instance: a blind write past the room shows
        # (a write that puts back what it read there changes nothing). They find bugs; they are no
        # boundary (the buffer is in the candidate's own process: the sandbox around it is)
        self.guard = os.urandom(CCandidate.GUARD_BYTES)
        self.process_fn = cand.process_fn
        self.buf = None
        self.cap = -1

    def process(self, chunk: bytes) -> bytes:
        room = len(chunk) + self.extra
        if room > self.cap:
            self.cap = max(room, 2 * self.cap)
            self.buf = self.cand.ct.create_string_buffer(self.cap + CCandidate.GUARD_BYTES)
            self.addr = self.cand.ct.addressof(self.buf)
            self.view = memoryview(self.buf).cast("B")
        view = self.view
        guard = self.guard
        view[room:room + CCandidate.GUARD_BYTES] = guard
        n = self.process_fn(self.ptr, chunk, len(chunk), self.addr)
        if n > room or view[room:room + CCandidate.GUARD_BYTES] != guard:
            raise BufferOverrun(f"{self.cand.process_name} wrote past the {room} bytes of room it was given "
                                f"(returned {n})")
        return view[:n].tobytes()

    def flush(self) -> bytes:
        return b""

    def close(self):
        if self.ptr:
            self.cand.destroy_fn(self.ptr)
            self.ptr = None


def load_candidate(job: dict):
    if job.get("reference"):
        ref = job["reference"]
        return ReferenceCandidate(ref["module"], ref["class"])
    if job["language"] == "python":
        return PythonCandidate(job["candidate"], job["class_name"])
    return CCandidate(job["candidate"], job["c_abi"])


def describe(exc: BaseException) -> dict:
    """An exception as data: type, message and where it was raised (the last frames)."""
    tb = traceback.extract_tb(exc.__traceback__)
    frames = [f"{os.path.basename(f.filename)}:{f.lineno} {f.name}" for f in tb[-4:]]
    out = {"type": type(exc).__name__, "message": str(exc)[:500], "where": frames}
    if isinstance(exc, MemoryError):
        out["memory"] = True
    if isinstance(exc, BufferOverrun):
        out["overrun"] = True
    if isinstance(exc, (RefusedImport, RefusedAct)):
        out["sandbox"] = True  # the policy refused it; reported as a violation
    return out


# ----------------------------------------------------------------- the loop

class Timed:
    """The shared memory files of timed runs: the input, and the outputs followed by the lengths."""

    def __init__(self, in_fd: int, out_fd: int):
        import mmap

        self.inp = mmap.mmap(in_fd, 0, prot=mmap.PROT_READ)
        self.out = mmap.mmap(out_fd, 0)

    def run(self, inst, spec: dict) -> dict:
        """Feed the input in chunks of ``chunk_bytes`` (the last one shorter) to `inst`, writing every
        output after the previous one and the cumulative length after each call."""
        step = spec["chunk_bytes"]
        n = spec["total_bytes"]
        room = spec["output_room"]
        view = memoryview(self.inp)
        out = self.out
        pos = 0
        total = 0
        calls = 0
        while pos < n:
            data = inst.process(bytes(view[pos:pos + step]))
            pos += step
            k = len(data)
            if total + k > room:
                raise ValueError(f"call {calls} took the output past the {room} bytes allowed")
            out[total:total + k] = data
            total += k
            struct.pack_into("<q", out, room + LENGTH_BYTES * calls, total)
            calls += 1
        return {"output_bytes": total, "calls": calls}


def serve(chan: Channel, cand, timed: Timed | None) -> None:
    """Answer the parent's messages until it says quit or closes the pipe."""
    insts: list = [None, None]
    slot = 0
    while True:
        try:
            kind, payload = chan.recv()
        except EOFError:
            return
        if kind == QUIT:
            return
        try:
            if kind == PROCESS:
                chan.send(OUTPUT, insts[slot].process(payload))
            elif kind == CREATE:
                insts[slot] = None
                insts[slot] = cand.create(json.loads(payload))
                chan.send(OK)
            elif kind == FLUSH:
                chan.send(OUTPUT, insts[slot].flush())
            elif kind == CLOSE:
                if insts[slot] is not None:
                    insts[slot].close()
                insts[slot] = None
                chan.send(OK)
            elif kind == SELECT:
                slot = payload[0] if payload and payload[0] < len(insts) else 0
                chan.send(OK)
            elif kind == TIMED:
                chan.send_json(DONE, timed.run(insts[slot], json.loads(payload)))
            else:
                raise ValueError(f"unknown message {kind!r}")
        except Exception as exc:  # the candidate's own error, reported as data
            chan.send_json(ERROR, describe(exc))


def main(argv: list) -> int:
    global CHANNEL
    chan = CHANNEL = Channel(int(argv[1]), int(argv[2]))
    kind, payload = chan.recv()
    if kind != LOAD:
        return 2
    job = json.loads(payload)
    os.chdir(job.get("workdir", "."))
    sys.path[:0] = job.get("sys_path", [])
    # what the worker itself needs later is imported now, before any guard
    import ctypes  # noqa: F401  (C candidates, seccomp)
    import importlib.util  # noqa: F401
    import mmap  # noqa: F401

    applied = {"seccomp": install_seccomp() if job.get("seccomp", True) else False}
    if job["language"] == "python" and not job.get("reference"):
        install_policy(Policy(job))
        applied["import_policy"] = True
    timed = Timed(job["timed_in_fd"], job["timed_out_fd"]) if "timed_in_fd" in job else None
    info = {"applied": applied, "python": sys.version.split()[0], "pid": os.getpid()}
    try:
        cand = load_candidate(job)
    except Exception as exc:  # the candidate's own error, reported as data
        chan.send_json(ERROR, dict(info, error=describe(exc)))
        return 0
    chan.send_json(OK, info)
    serve(chan, cand, timed)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

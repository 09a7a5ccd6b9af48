"""The program that runs a candidate inside the sandbox (standard library only).

Run as ``python -I worker.py JOB_DIR`` by :mod:`codegen_eval.sandbox`, never imported by the
harness: it is a script so that neither ``codegen_eval`` nor ``eq`` is in ``sys.modules`` when the
candidate loads. It reads ``job.json`` and the input files from ``JOB_DIR`` (its working
directory), confines itself (network and mount namespaces, seccomp filter, resource limits), loads
the candidate, feeds it the chunked inputs and writes the raw outputs back:

- ``results.jsonl``: one JSON line per event (``sandbox``, ``load``, ``config``, ``run``,
  ``throughput``, ``violation``, ``done``), appended as the run goes so that a crash keeps
  everything before it;
- ``out_<run>.bin`` (output bytes, flush included) and ``len_<run>.bin`` (int64 cumulative output
  length after every call, little endian);
- ``progress`` (the index of the run about to start) for the stall watchdog.

The worker never sees a reference output: it only reports what the candidate produced.
"""
from __future__ import annotations

import builtins
import json
import os
import struct
import sys
import time
import traceback

JOB: dict = {}
_VIOLATIONS: list = []
_CANDIDATE_PHASE = False
_CANDIDATE_FILES: set = set()
_LOG = None


def log(event: dict) -> None:
    _LOG.write(json.dumps(event) + "\n")
    _LOG.flush()


def violation(kind: str, detail: str) -> None:
    entry = {"event": "violation", "kind": kind, "detail": detail}
    if entry not in _VIOLATIONS:
        _VIOLATIONS.append(entry)
        log(entry)


# ---------------------------------------------------------------- confinement

def _libc():
    import ctypes

    return ctypes.CDLL(None, use_errno=True)


def confine(sandbox: dict) -> dict:
    """Apply the sandbox settings to this process; return what was applied.

    As root on Linux: new network and mount namespaces, the whole file system read-only except
    the working directory and fresh /tmp, /var/tmp, /dev/shm, then a seccomp filter that kills
    the process on any attempt to create processes or threads, run programs, open sockets,
    signal other processes, change mounts or raise limits. Resource limits always.
    """
    import resource

    applied: dict = {}
    if sandbox.get("namespaces"):
        try:
            libc = _libc()
            CLONE_NEWNET, CLONE_NEWNS = 0x40000000, 0x00020000
            applied["netns"] = libc.unshare(CLONE_NEWNET) == 0
            applied["private_fs"] = libc.unshare(CLONE_NEWNS) == 0 and _private_fs(libc)
        except (OSError, AttributeError) as exc:
            applied["namespaces_error"] = str(exc)
    limits = sandbox.get("limits", {})
    for name, key, factor in (("RLIMIT_CPU", "cpu_s", 1), ("RLIMIT_AS", "memory_mb", 1 << 20),
                              ("RLIMIT_FSIZE", "file_size_mb", 1 << 20), ("RLIMIT_NPROC", "processes", 1),
                              ("RLIMIT_CORE", "core", 1)):
        value = 0 if key == "core" else limits.get(key)
        if value is None:
            continue
        try:
            resource.setrlimit(getattr(resource, name), (int(value * factor), int(value * factor)))
            applied[name] = int(value * factor)
        except (ValueError, OSError) as exc:
            applied[name + "_error"] = str(exc)
    if sandbox.get("seccomp"):
        applied["seccomp"] = _seccomp()
    return applied


def _private_fs(libc) -> bool:
    """Read-only file system except fresh /tmp, /var/tmp, /dev/shm and the working directory."""
    import ctypes

    MS_REC, MS_PRIVATE, MS_BIND = 0x4000, 1 << 18, 4096
    AT_FDCWD, AT_RECURSIVE, MOUNT_ATTR_RDONLY = -100, 0x8000, 1
    if libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None) != 0:
        return False

    class MountAttr(ctypes.Structure):
        _fields_ = [("attr_set", ctypes.c_uint64), ("attr_clr", ctypes.c_uint64),
                    ("propagation", ctypes.c_uint64), ("userns_fd", ctypes.c_uint64)]

    def setattr_(path: bytes, set_=0, clr=0, flags=0) -> bool:
        attr = MountAttr(set_, clr, 0, 0)
        return libc.syscall(442, AT_FDCWD, path, flags, ctypes.byref(attr), ctypes.sizeof(attr)) == 0

    ok = setattr_(b"/", set_=MOUNT_ATTR_RDONLY, flags=AT_RECURSIVE)
    # The interpreter, its packages or the project may themselves live under /tmp (a virtual
    # environment or a CI checkout there): keep a handle on each such directory before the fresh
    # /tmp hides it, and bind it back read-only afterwards.
    scratch = ("/tmp", "/var/tmp", "/dev/shm")
    needed = {os.path.realpath(p) for p in sys.path + [sys.prefix, sys.exec_prefix, sys.base_prefix]
              + JOB.get("extra_path", []) + JOB.get("writable_roots", []) if p and os.path.isdir(p)}
    needed = sorted(p for p in needed if any(p == t or p.startswith(t + "/") for t in scratch))
    needed = [p for p in needed if not any(p.startswith(q + "/") for q in needed)]
    handles = {p: os.open(p, os.O_PATH | os.O_DIRECTORY) for p in needed}
    JOB["_exposed"] = needed
    for target in scratch:
        if os.path.isdir(target):
            ok = libc.mount(b"tmpfs", target.encode(), b"tmpfs", 0, b"size=16m,mode=1777") == 0 and ok
    for path, fd in handles.items():
        os.makedirs(path, exist_ok=True)
        ok = libc.mount(f"/proc/self/fd/{fd}".encode(), path.encode(), None, MS_BIND | MS_REC, None) == 0 and ok
        ok = setattr_(path.encode(), set_=MOUNT_ATTR_RDONLY, flags=AT_RECURSIVE) and ok
        os.close(fd)
    # bind the working directory back at its own path ("." still names it: the process's cwd
    # predates the new mounts) and make that one mount writable
    job = JOB["_cwd"]
    if not os.path.isdir(job):
        os.makedirs(job, exist_ok=True)
    ok = libc.mount(b".", job.encode(), None, MS_BIND, None) == 0 and ok
    ok = setattr_(job.encode(), clr=MOUNT_ATTR_RDONLY) and ok
    os.chdir(job)
    # trusted code's own directories (the reference's numba cache) stay writable when asked for
    for root in JOB.get("writable_roots", []):
        if os.path.isdir(root):
            ok = libc.mount(root.encode(), root.encode(), None, MS_BIND, None) == 0 and ok
            ok = setattr_(root.encode(), clr=MOUNT_ATTR_RDONLY) and ok
    return ok


# x86-64 system call numbers the candidate must never make
_SECCOMP_KILL = {
    57: "fork", 58: "vfork", 59: "execve", 322: "execveat",
    41: "socket", 42: "connect", 49: "bind", 50: "listen", 43: "accept", 288: "accept4", 53: "socketpair",
    101: "ptrace", 165: "mount", 166: "umount2", 272: "unshare", 308: "setns", 155: "pivot_root",
    161: "chroot", 160: "setrlimit", 169: "reboot", 175: "init_module",
    313: "finit_module", 246: "kexec_load", 321: "bpf", 298: "perf_event_open", 442: "mount_setattr",
    428: "open_tree", 429: "move_mount", 430: "fsopen", 431: "fsconfig", 432: "fsmount", 433: "fspick",
    105: "setuid", 106: "setgid", 113: "setreuid", 117: "setresuid", 126: "capset", 310: "process_vm_readv",
    311: "process_vm_writev",
}
_SECCOMP_OWN_PID = {62: "kill", 200: "tkill", 234: "tgkill"}


def _seccomp() -> bool:
    """Install a seccomp filter: forbidden system calls kill the process (SIGSYS)."""
    import ctypes
    import platform

    if sys.platform != "linux" or platform.machine() != "x86_64":
        return False
    LD, JEQ, JSET, RET = 0x20, 0x15, 0x45, 0x06
    KILL, ALLOW, ENOSYS = 0x80000000, 0x7FFF0000, 0x00050000 | 38
    CLONE_THREAD = 0x00010000
    prog = [(LD, 0, 0, 4), (JEQ, 1, 0, 0xC000003E), (RET, 0, 0, KILL), (LD, 0, 0, 0)]
    # threads yes (numba's pool in the reference), new processes no: clone3 hides its flags in
    # memory, so it answers ENOSYS and the C library falls back to clone, whose flags are checked
    prog += [(JEQ, 0, 1, 435), (RET, 0, 0, ENOSYS)]
    prog += [(JEQ, 0, 4, 56), (LD, 0, 0, 16), (JSET, 0, 1, CLONE_THREAD), (RET, 0, 0, ALLOW), (RET, 0, 0, KILL)]
    # prlimit64 reads limits for getrlimit (thread creation asks for the stack size); it may not set them
    prog += [(LD, 0, 0, 0), (JEQ, 0, 6, 302), (LD, 0, 0, 32), (JEQ, 0, 3, 0), (LD, 0, 0, 36), (JEQ, 0, 1, 0),
             (RET, 0, 0, ALLOW), (RET, 0, 0, KILL)]
    prog += [(LD, 0, 0, 0)]
    for nr in _SECCOMP_KILL:
        prog += [(JEQ, 0, 1, nr), (RET, 0, 0, KILL)]
    pid = os.getpid()
    for nr in _SECCOMP_OWN_PID:
        # signals only to itself: kill(pid, ...), tgkill(tgid, ...), tkill(tid == pid for the main thread)
        prog += [(JEQ, 0, 4, nr), (LD, 0, 0, 16), (JEQ, 0, 1, pid), (RET, 0, 0, ALLOW), (RET, 0, 0, KILL)]
        prog += [(LD, 0, 0, 0)]
    prog.append((RET, 0, 0, ALLOW))

    class Filter(ctypes.Structure):
        _fields_ = [("code", ctypes.c_uint16), ("jt", ctypes.c_uint8), ("jf", ctypes.c_uint8),
                    ("k", ctypes.c_uint32)]

    class Prog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(Filter))]

    arr = (Filter * len(prog))(*[Filter(*p) for p in prog])
    fprog = Prog(len(prog), arr)
    libc = _libc()
    PR_SET_NO_NEW_PRIVS, PR_SET_SECCOMP, SECCOMP_MODE_FILTER = 38, 22, 2
    if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        return False
    return libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(fprog), 0, 0) == 0


def _hosts_own_tree(path: str) -> bool:
    """True for the working directory, the directories bound back into /tmp, and their parents."""
    return any(own == path or own.startswith(path + "/")
               for own in [JOB["_cwd"]] + JOB.get("_exposed", []))


def leftovers_outside() -> list:
    """Files the candidate created in the private /tmp, /var/tmp or /dev/shm."""
    found = []
    for root in ("/tmp", "/var/tmp", "/dev/shm"):
        try:
            for dirpath, dirnames, filenames in os.walk(root):
                keep = [d for d in dirnames if not _hosts_own_tree(os.path.join(dirpath, d))]
                found += [os.path.join(dirpath, f) for f in filenames]
                found += [os.path.join(dirpath, d) + "/" for d in keep]
                dirnames[:] = [d for d in dirnames if d in keep]
        except OSError:
            pass
    return found


# ------------------------------------------------------- Python import policy

def _top(name: str) -> str:
    return name.partition(".")[0]


def _is_candidate_frame(frame) -> bool:
    return frame is not None and frame.f_code.co_filename in _CANDIDATE_FILES


def _import_allowed(top: str) -> bool:
    policy = JOB.get("allowed_imports", {})
    if top in JOB.get("allow_modules", []):
        return True
    if top in policy.get("blocked", []):
        return False
    if policy.get("stdlib") and top in sys.stdlib_module_names:
        return True
    return top in policy.get("third_party", [])


_real_import = builtins.__import__


def _guarded_import(name, globals=None, locals=None, fromlist=(), level=0):
    if level == 0 and _is_candidate_frame(sys._getframe(1)) and not _import_allowed(_top(name)):
        violation("import", _top(name))
        raise ImportError(f"import of {name!r} is not allowed in this task")
    return _real_import(name, globals, locals, fromlist, level)


class _BlockFinder:
    """Blocks modules that must never load in the candidate phase (e.g. ``eq``), whoever asks."""

    @staticmethod
    def find_spec(name, path=None, target=None):
        top = _top(name)
        if _CANDIDATE_PHASE and top in JOB.get("never_import", []) and top not in JOB.get("allow_modules", []):
            violation("import", top)
            raise ImportError(f"import of {name!r} is not allowed in this task")
        return None


_FORBIDDEN_EVENTS = {
    "os.system": "process", "os.exec": "process", "os.posix_spawn": "process", "os.spawn": "process",
    "os.fork": "process", "os.forkpty": "process", "subprocess.Popen": "process", "pty.spawn": "process",
    "os.kill": "process", "os.killpg": "process",
    "socket.__new__": "network", "socket.connect": "network", "socket.bind": "network",
    "socket.getaddrinfo": "network", "socket.gethostbyname": "network", "socket.sendto": "network",
    "sys.addaudithook": "audit", "sys.settrace": "audit", "sys.setprofile": "audit",
}
_PATH_EVENTS = {"os.remove", "os.rename", "os.mkdir", "os.rmdir", "os.symlink", "os.link", "os.truncate",
                "os.chmod", "os.chown", "shutil.rmtree", "shutil.copyfile", "shutil.move"}


def _real(path) -> str | None:
    """The resolved path as text, or None when `path` cannot be decoded."""
    try:
        return os.path.realpath(os.fsdecode(path))
    except (TypeError, ValueError):
        return None


def _within(full: str, roots: list) -> bool:
    return any(os.path.commonpath([full, root]) == root for root in roots)


def _outside(path) -> bool:
    """Is `path` outside the working directory and the writable roots? (Undecodable: yes.)"""
    if isinstance(path, int):
        return False
    full = _real(path)
    return full is None or not _within(full, [JOB["_cwd"]] + JOB.get("writable_roots", []))


def _forbidden_read(path) -> bool:
    """Is `path` inside a root the candidate may not read (the reference package)?"""
    if isinstance(path, int):
        return False
    full = _real(path)
    return full is not None and _within(full, JOB.get("forbidden_read_roots", []))


def _audit(event, args):
    if not _CANDIDATE_PHASE:
        return
    kind = _FORBIDDEN_EVENTS.get(event)
    if kind:
        violation(kind, event)
        raise PermissionError(f"{event} is not allowed in this task")
    if event == "open":
        path, mode, flags = args
        writing = (mode and any(c in str(mode) for c in "wax+")) or (isinstance(flags, int) and flags & 3)
        if writing and _outside(path):
            violation("filesystem", f"write {path!r}")
            raise PermissionError(f"writing {path!r} is not allowed in this task")
        if _forbidden_read(path):
            violation("reference", f"read {path!r}")
            raise PermissionError(f"reading {path!r} is not allowed in this task")
    elif event in _PATH_EVENTS:
        for p in args:
            if isinstance(p, (str, bytes)) and _outside(p):
                violation("filesystem", f"{event} {p!r}")
                raise PermissionError(f"{event} outside the working directory is not allowed")


# ----------------------------------------------------------------- candidates

class PythonCandidate:
    """A candidate module defining ``StreamingEqualizer``."""

    def __init__(self, path: str):
        import importlib.util

        _CANDIDATE_FILES.add(os.path.realpath(path))
        _CANDIDATE_FILES.add(path)
        spec = importlib.util.spec_from_file_location("candidate", path)
        module = importlib.util.module_from_spec(spec)
        sys.modules["candidate"] = module
        _CANDIDATE_FILES.add(module.__spec__.origin)
        spec.loader.exec_module(module)
        self.cls = getattr(module, "StreamingEqualizer", None)
        if self.cls is None:
            raise AttributeError("the module defines no StreamingEqualizer class")

    def create(self, config: dict):
        bands = [{"type": b["type"], "freq": b["freq"], "q": b["q"], "gain_db": b["gain_db"]} for b in config["bands"]]
        return PythonInstance(self.cls(config["sample_rate"], config["channels"], config["format"], bands))


class PythonInstance:
    has_flush = True

    def __init__(self, obj):
        self.obj = obj

    def process(self, chunk: bytes) -> bytes:
        out = self.obj.process(chunk)
        if not isinstance(out, (bytes, bytearray, memoryview)):
            raise TypeError(f"process() returned {type(out).__name__}, expected bytes")
        return bytes(out)

    def flush(self) -> bytes:
        out = self.obj.flush()
        if out is None:
            return b""
        if not isinstance(out, (bytes, bytearray, memoryview)):
            raise TypeError(f"flush() returned {type(out).__name__}, expected bytes")
        return bytes(out)

    def close(self):
        pass


class ReferenceCandidate(PythonCandidate):
    """``eq.StreamingEqualizer`` through the Python contract (throughput mode only)."""

    def __init__(self, cls):
        self.cls = cls


class BufferOverrun(Exception):
    """``eq_process`` wrote past the room it was given (reported as ``overrun`` in the run record)."""


class CCandidate:
    """A shared library exporting ``eq_create``, ``eq_process`` and ``eq_destroy``."""

    GUARD_BYTES = 64

    def __init__(self, path: str):
        import ctypes

        self.ct = ctypes
        lib = ctypes.CDLL(os.path.abspath(path))

        class Band(ctypes.Structure):
            _fields_ = [("type", ctypes.c_int), ("freq", ctypes.c_double), ("q", ctypes.c_double),
                        ("gain_db", ctypes.c_double)]

        self.Band = Band
        self.create_fn = lib.eq_create
        self.create_fn.restype = ctypes.c_void_p
        self.create_fn.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.POINTER(Band), ctypes.c_int]
        self.process_fn = lib.eq_process
        self.process_fn.restype = ctypes.c_size_t
        self.process_fn.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t, ctypes.c_void_p]
        self.destroy_fn = lib.eq_destroy
        self.destroy_fn.restype = None
        self.destroy_fn.argtypes = [ctypes.c_void_p]
        self.lib = lib

    def create(self, config: dict):
        bands = config["bands"]
        arr = (self.Band * max(1, len(bands)))()
        for i, b in enumerate(bands):
            arr[i].type = int(b["type_code"])
            arr[i].freq = float(b["freq"])
            arr[i].q = float(b["q"])
            arr[i].gain_db = float(b["gain_db"])
        ptr = self.create_fn(int(config["sample_rate"]), int(config["channels"]), int(config["format_code"]),
                             arr, len(bands))
        if not ptr:
            raise ValueError("eq_create returned NULL")
        return CInstance(self, ptr, max(1, int(config["channels"])))


class CInstance:
    has_flush = False

    def __init__(self, cand: CCandidate, ptr: int, channels: int):
        self.cand = cand
        self.ptr = ptr
        self.channels = channels
        self.buf = None
        self.cap = -1

    def process(self, chunk: bytes) -> bytes:
        ct = self.cand.ct
        room = len(chunk) + 4 * self.channels
        if room > self.cap:
            self.cap = max(room, 2 * self.cap)
            self.buf = ct.create_string_buffer(self.cap + CCandidate.GUARD_BYTES)
        ct.memset(ct.addressof(self.buf) + room, 0xA5, self.cap + CCandidate.GUARD_BYTES - room)
        n = self.cand.process_fn(self.ptr, chunk, len(chunk), self.buf)
        tail = ct.string_at(ct.addressof(self.buf) + room, self.cap + CCandidate.GUARD_BYTES - room)
        if n > room or tail.count(0xA5) != len(tail):
            raise BufferOverrun(f"eq_process wrote past the {room} bytes of room it was given (returned {n})")
        return ct.string_at(self.buf, n)

    def flush(self) -> bytes:
        return b""

    def close(self):
        if self.ptr:
            self.cand.destroy_fn(self.ptr)
            self.ptr = None


def load_candidate(job: dict):
    if job["language"] == "python":
        return PythonCandidate(job["candidate"])
    return CCandidate(job["candidate"])


def describe(exc: Exception) -> dict:
    tb = traceback.extract_tb(exc.__traceback__)
    frames = [f"{os.path.basename(f.filename)}:{f.lineno} {f.name}" for f in tb[-4:]]
    out = {"type": type(exc).__name__, "message": str(exc)[:500], "where": frames}
    if isinstance(exc, MemoryError):
        out["memory"] = True
    if isinstance(exc, BufferOverrun):
        out["overrun"] = True
    if _VIOLATIONS and isinstance(exc, (PermissionError, ImportError)):
        out["sandbox"] = True  # the sandbox refused something; reported as a violation
    return out


# ----------------------------------------------------------------- job modes

def read_input(name: str) -> bytes:
    with open(name, "rb") as f:
        return f.read()


def mark(text: str) -> None:
    """Progress marker for the parent's stall watchdog."""
    with open("progress", "w") as f:
        f.write(text)


def run_correctness(cand, job: dict) -> None:
    for i, entry in enumerate(job["configs"]):
        mark(f"config {i}")
        try:
            inst = cand.create(entry["config"])
        except Exception as exc:  # the candidate's own error, reported as data
            log({"event": "config", "index": i, "accepted": False, "error": describe(exc)})
            continue
        try:
            # a tiny input, to see the instance work at all
            inst.process(b"\x00" * 4 * max(1, int(entry["config"].get("channels", 1))))
            inst.close()
        except Exception as exc:
            log({"event": "config", "index": i, "accepted": True, "process_error": describe(exc)})
            continue
        log({"event": "config", "index": i, "accepted": True})
    inputs: dict = {}
    for run in job["runs"]:
        mark(str(run["run"]))
        data = inputs.get(run["input"])
        if data is None:
            inputs.clear()
            data = inputs[run["input"]] = read_input(run["input"])
        record = {"event": "run", "run": run["run"], "calls": 0}
        lengths = []
        outputs = []
        total = 0
        pos = 0
        t0 = time.perf_counter()
        try:
            inst = cand.create(run["config"])
        except Exception as exc:
            record["create_error"] = describe(exc)
            log(record)
            continue
        try:
            for size in run["sizes"]:
                out = inst.process(data[pos:pos + size])
                pos += size
                outputs.append(out)
                total += len(out)
                lengths.append(total)
                record["calls"] += 1
            if inst.has_flush:
                out = inst.flush()
                outputs.append(out)
                record["flush_bytes"] = len(out)
            inst.close()
        except Exception as exc:
            record["error"] = describe(exc)
            record["error_call"] = record["calls"]
            record["error_offset"] = pos
        record["runtime_s"] = time.perf_counter() - t0
        with open(f"out_{run['run']}.bin", "wb") as f:
            f.write(b"".join(outputs))
        with open(f"len_{run['run']}.bin", "wb") as f:
            f.write(struct.pack(f"<{len(lengths)}q", *lengths))
        log(record)


def run_throughput(cand, ref, job: dict) -> None:
    spec = job["throughput"]
    data = read_input(spec["input"])
    for entry in spec["chunkings"]:
        sizes = entry["sizes"]
        times = {"candidate": [], "reference": []}
        mark(f"warm-up {entry['name']}")
        for impl in (cand, ref):  # warm-up: JIT compilation and caches are not measured
            inst = impl.create(spec["config"])
            inst.process(data[: sizes[0]])
            inst.close()
        started = time.perf_counter()
        rounds = 0
        while rounds < spec["max_rounds"]:
            mark(f"throughput {entry['name']} {rounds}")
            for name, impl in (("candidate", cand), ("reference", ref)):
                inst = impl.create(spec["config"])
                pos = 0
                t0 = time.perf_counter()
                for size in sizes:
                    inst.process(data[pos:pos + size])
                    pos += size
                times[name].append(time.perf_counter() - t0)
                inst.close()
            rounds += 1
            if rounds >= spec["min_rounds"] and time.perf_counter() - started > spec["budget_s"]:
                break
        log({"event": "throughput", "name": entry["name"], "times_s": times})


def main(argv: list) -> int:
    global JOB, _LOG, _CANDIDATE_PHASE
    os.chdir(argv[1])
    with open("job.json") as f:
        JOB = json.load(f)
    JOB["_cwd"] = os.path.realpath(".")
    _LOG = open("results.jsonl", "a")
    applied = confine(JOB.get("sandbox", {}))
    _LOG.close()
    _LOG = open("results.jsonl", "a")
    log({"event": "sandbox", "applied": applied, "python": sys.version.split()[0]})
    for p in JOB.get("extra_path", []):
        sys.path.insert(0, p)
    ref = None
    if JOB["mode"] == "throughput":
        import eq  # the reference; the candidate's own ``import eq`` stays blocked by the import guard

        ref = ReferenceCandidate(eq.StreamingEqualizer)
    for p in JOB.get("extra_path", []):
        if p in sys.path and not JOB.get("allow_modules"):
            sys.path.remove(p)
    builtins.__import__ = _guarded_import
    sys.meta_path.insert(0, _BlockFinder)
    if JOB["language"] == "python":
        sys.addaudithook(_audit)
    _CANDIDATE_PHASE = True
    mark("load")
    try:
        cand = load_candidate(JOB)
    except Exception as exc:
        log({"event": "load", "ok": False, "error": describe(exc)})
        log({"event": "done"})
        return 0
    log({"event": "load", "ok": True})
    if JOB["mode"] == "throughput":
        run_throughput(cand, ref, JOB)
    else:
        run_correctness(cand, JOB)
    if JOB.get("sandbox", {}).get("namespaces"):
        _CANDIDATE_PHASE = False
        for path in leftovers_outside():
            violation("filesystem", f"created {path!r}")
    log({"event": "done"})
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

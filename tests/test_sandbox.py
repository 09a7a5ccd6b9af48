"""The sandbox as seen from inside, the seccomp filter call by call, and the refusal to run
where no sandbox can start. Everything here runs the real bwrap and the real filter."""
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from codegen_eval import sandbox, worker

CORPUS = Path(__file__).parent / "corpus"

INSIDE = r"""
import errno, json, os, socket, sys
report = {"uid": os.getuid(), "gid": os.getgid(), "pid": os.getpid(), "hostname": socket.gethostname(),
          "pids": sorted(int(p) for p in os.listdir("/proc") if p.isdigit()),
          "env": sorted(os.environ), "visible": [p for p in sys.argv[1:] if os.path.exists(p)],
          "site_packages": [p for p in sys.path if p.endswith("site-packages") and os.path.isdir(p) and os.listdir(p)],
          "tmp": os.listdir("/tmp"), "interfaces": [l.split(":")[0].strip() for l in open("/proc/net/dev").readlines()[2:]]}
for name in ("eq", "codegen_eval", "scipy"):
    try:
        __import__(name)
        report[name] = "imported"
    except ImportError:
        report[name] = "missing"
for path in ["/x", "/usr/x", "/etc/x", "/opt/x", "/dev/x", "/dev/shm/x", "/job/x", "/tmp/x"] + [
        os.path.join(p, "x") for p in sys.path if p.endswith("site-packages")]:
    try:
        with open(path, "w") as f:
            f.write("x")
        report[path] = "written"
    except OSError as exc:
        report[path] = errno.errorcode[exc.errno]
try:
    socket.create_connection(("1.1.1.1", 53), timeout=2)
    report["network"] = "connected"
except OSError as exc:
    report["network"] = type(exc).__name__
with open("/dev/null", "w") as f:
    f.write("devices still work")
print(json.dumps(report))
"""


def test_inside_the_sandbox(tmp_path):
    """What a candidate finds: itself alone as pid 1, uid 65534, no network but loopback, no
    reference, no harness, no third-party package but the allowed ones, a read-only system, its
    own writable /job and /tmp, and none of the harness's environment."""
    script = tmp_path / "inside.py"
    script.write_text(INSIDE)
    hide = [str(p) for p in sandbox.project_folders()]
    spec = sandbox.worker_spec(["numpy"], hide, str(script), "inside.py")
    spec.argv = [spec.argv[0], "-I", "-B", "/job/inside.py", *hide, str(tmp_path)]
    env = dict(os.environ, CODEGEN_EVAL_TEST_SECRET="do-not-leak")
    out = subprocess.run(sandbox.command(sandbox.find_bwrap(), spec), capture_output=True, text=True,
                         timeout=120, env=env, stdin=subprocess.DEVNULL)
    assert out.returncode == 0, out.stderr
    seen = json.loads(out.stdout)
    assert (seen["uid"], seen["gid"], seen["pid"]) == (65534, 65534, 1)
    assert seen["pids"] == [1] and seen["hostname"] == "sandbox"
    assert seen["visible"] == [] and seen["site_packages"] == []
    assert (seen["eq"], seen["codegen_eval"], seen["scipy"]) == ("missing", "missing", "missing")
    # nothing but its own two size-limited folders can be written
    unwritable = [p for p in seen if p.startswith("/") and p not in ("/job/x", "/tmp/x")]
    assert len(unwritable) >= 7 and {seen[p] for p in unwritable} == {"EROFS"}, seen
    assert seen["/job/x"] == "written" and seen["/tmp/x"] == "written" and seen["tmp"] == []
    assert seen["interfaces"] == ["lo"] and seen["network"] != "connected"
    assert set(seen["env"]) == set(sandbox.worker_env()) | {"PWD"}


# Every forbidden call is made with arguments that would fail harmlessly if the filter let it
# through (-1 for every argument: bad pointers, fds, pids, flags and magic numbers), so that a
# broken filter fails the test without touching the machine.
SKIP = {"fork", "vfork", "vhangup"}  # no arguments to spoil; fork is checked below


def _in_filter(code: str) -> subprocess.CompletedProcess:
    prog = ("import ctypes, os, sys\n"
            f"sys.path.insert(0, {str(Path(worker.__file__).parent)!r})\n"
            "import worker\n"
            "assert worker.install_seccomp()\n"
            "assert 'Seccomp:\\t2' in open('/proc/self/status').read()\n"
            "libc = ctypes.CDLL(None, use_errno=True)\n"
            "libc.syscall.restype = ctypes.c_long\n" + code)
    return subprocess.run([sys.executable, "-I", "-c", prog], capture_output=True, text=True, timeout=60,
                          stdin=subprocess.DEVNULL, start_new_session=True)


@pytest.mark.parametrize("nr, name", sorted((nr, name) for nr, name in worker.SECCOMP_KILL.items()
                                            if name not in SKIP), ids=lambda v: str(v))
def test_seccomp_kills_each_forbidden_call(nr, name):
    args = ", ".join(["ctypes.c_long(-1)"] * 6)
    out = _in_filter(f"r = libc.syscall(ctypes.c_long({nr}), {args})\nprint('returned', r, ctypes.get_errno())\n")
    assert out.returncode == -signal.SIGSYS, (name, out.stdout, out.stderr)


def test_seccomp_no_process_and_no_thread():
    """A new process kills the worker; a new thread is refused (EAGAIN), so a worker is one thread:
    it cannot spend the host's process ids, and stopping it stops all it runs."""
    out = _in_filter("r = libc.syscall(57)\nif r == 0:\n    os._exit(0)\nprint('forked', r)\n")
    assert out.returncode == -signal.SIGSYS, out.stdout
    out = _in_filter("import threading\ntry:\n    threading.Thread(target=print, args=('thread ran',)).start()\n"
                     "except RuntimeError as exc:\n    print('refused:', exc)\n")
    assert out.returncode == 0 and "refused: can't start new thread" in out.stdout, (out.stdout, out.stderr)


@pytest.mark.parametrize("call, killed", [
    ("libc.syscall(62, ctypes.c_long(os.getpid()), 0)", False),  # kill(self, 0)
    ("libc.syscall(62, ctypes.c_long(999999), 0)", True),  # kill(another pid, 0)
    ("libc.syscall(62, ctypes.c_long(-1), 0)", True),  # kill(every process, 0)
    ("libc.syscall(234, ctypes.c_long(os.getpid()), ctypes.c_long(os.getpid()), 0)", False),  # tgkill(self)
    ("libc.syscall(234, ctypes.c_long(1), ctypes.c_long(1), 0)", True),  # tgkill(pid 1)
    ("libc.syscall(ctypes.c_long(0x40000000 | 39))", True),  # getpid through the x32 ABI
    ("libc.syscall(302, 0, 7, None, ctypes.byref(ctypes.create_string_buffer(16)))", False),  # read a limit
    ("libc.syscall(302, 0, 7, ctypes.byref(ctypes.create_string_buffer(16)), None)", True),  # set a limit
    ("libc.syscall(72, 0, 10, 18)", True),  # fcntl(0, F_SETSIG, SIGCONT): I/O could resume it
    ("libc.syscall(72, 0, 1, 0)", False),  # fcntl(0, F_GETFD)
    ("libc.syscall(157, 59, 0, 0, 0, 0)", True),  # prctl(PR_SET_SYSCALL_USER_DISPATCH): SIGSYS at will
    ("libc.syscall(157, 15, 0, 0, 0, 0)", False),  # prctl(PR_SET_NAME, NULL): an ordinary prctl
    ("libc.syscall(157, 22, 2, None, 0, 0)", True),  # prctl(PR_SET_SECCOMP): a filter of its own
    ("libc.syscall(157, 16, 0, 0, 0, 0)", False),  # prctl(PR_GET_NAME, NULL): EFAULT, not killed
])
def test_seccomp_arguments(call, killed):
    out = _in_filter(f"r = {call}\nprint('returned', r)\n")
    assert (out.returncode == -signal.SIGSYS) == killed, (out.returncode, out.stdout, out.stderr)
    if not killed:
        assert out.returncode == 0, out.stderr


def test_no_sandbox_means_one_clear_line(tmp_path):
    """Where bwrap cannot make its namespaces, scoring stops before any work, in one line that
    says how to get a sandbox."""
    fake = tmp_path / "bwrap"
    fake.write_text("#!/bin/sh\n[ \"$1\" = --version ] && { echo 'bubblewrap 0.11.0'; exit 0; }\n"
                    "echo 'bwrap: No permissions to create a new namespace' >&2\nexit 1\n")
    fake.chmod(0o755)
    env = dict(os.environ, CODEGEN_EVAL_BWRAP=str(fake))
    out = subprocess.run([sys.executable, "-m", "codegen_eval", "score", str(CORPUS / "c" / "correct.c"),
                          "--no-throughput"], capture_output=True, text=True, timeout=300, env=env)
    assert out.returncode == 1
    (line,) = out.stderr.strip().splitlines()
    assert "No permissions to create a new namespace" in line
    assert "bubblewrap" in line and "--unsafe-no-sandbox" in line
    assert out.stdout == ""


def test_unsafe_mode_says_so_everywhere():
    from codegen_eval import report, report_html, score

    result = score(CORPUS / "c" / "correct.c", case_ids=["ch-2"], with_throughput=False, unsafe_no_sandbox=True)
    assert result["verdict"] == "pass"
    assert result["sandbox"]["mode"] == "unsafe-no-sandbox"
    assert "(no sandbox)" in report.markdown_table([result])
    assert report.text_summary([result]).startswith("WARNING: scored with --unsafe-no-sandbox")
    assert "class='danger'" in report_html.html_report([result])
    failing = score(CORPUS / "c" / "rounding_bias.c", case_ids=["ch-2"], with_throughput=False,
                    unsafe_no_sandbox=True)
    assert failing["verdict"] == "fail" and failing["diagnoses"]
    assert all(" --unsafe-no-sandbox" in d["replay"] for d in failing["diagnoses"])


@pytest.mark.parametrize("status", [128, 137, 159, 255, 256 + 159])
def test_no_exit_status_can_pass_for_a_signal(status):
    """bwrap reports a death by signal N as the status 128 + N: the filter refuses exit and
    exit_group with a status of 128 or more (as the kernel keeps it, its low 8 bits), and the C
    library, refused, ends the process with a fault, which no signal-named diagnosis but a crash
    comes from."""
    for nr in (231, 60):  # exit_group, exit
        out = _in_filter(f"print('refused', libc.syscall({nr}, {status}), ctypes.get_errno(), flush=True)\n"
                         "os._exit(3)\n")
        assert out.returncode == 3 and out.stdout.split() == ["refused", "-1", "1"], (nr, out)
    out = _in_filter(f"os._exit({status})\n")
    assert out.returncode in (-signal.SIGSEGV, -signal.SIGILL), out


@pytest.mark.parametrize("status", [0, 1, 3, 127])
def test_an_ordinary_exit_status_goes_through(status):
    out = _in_filter(f"os._exit({status})\n")
    assert out.returncode == status, out

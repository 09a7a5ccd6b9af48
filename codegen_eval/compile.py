"""Compile a C or C++ candidate into a shared library, inside the sandbox, under limits.

The compiler reads candidate-controlled text (``#include``, ``.incbin``, templates, ``constexpr``),
so it runs like a candidate: under bubblewrap (:mod:`codegen_eval.sandbox`), seeing only the system
directories, its own build folder and a private ``/tmp``, with limits on CPU time, memory, the size
of every file it writes and wall-clock time. Flags and limits come from the task data.
"""
from __future__ import annotations

import os
import re
import select
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import sandbox
from .runner import printable

OUTPUT_TAIL_CHARS = 4000
DEFAULT_LIMITS = {"wall_s": 120, "cpu_s": 60, "memory_mb": 4096, "output_mb": 64, "tmp_mb": 256, "processes": 32}


@dataclass
class CompileResult:
    """Outcome of one compilation.

    Attributes
    ----------
    ok : bool
    command : list of str
        The compiler command (run in the build folder, with relative names).
    output : str
        The end of the compiler's messages.
    compile_s : float
    compiler_version : str
    library : str
        Host path of the shared library when `ok`.
    limit : str or None
        The limit that ended the compilation: ``"wall"``, ``"cpu"``, ``"memory"`` or
        ``"output_size"``.
    sandbox_command : list of str
        The whole command line, bwrap included (empty without a sandbox).
    """

    ok: bool
    command: list
    output: str
    compile_s: float
    compiler_version: str
    library: str
    limit: str | None = None
    sandbox_command: list = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"ok": self.ok, "command": self.command, "output": self.output, "compile_s": self.compile_s,
                "compiler_version": self.compiler_version, "limit": self.limit,
                "sandbox_command": self.sandbox_command}


def compiler_version(compiler: str) -> str:
    """The first line of ``compiler --version`` (recorded in the report)."""
    try:
        out = subprocess.run([compiler, "--version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"unavailable ({exc})"
    return out.stdout.splitlines()[0] if out.stdout else "unknown"


def _limited(argv: list[str], limits: dict) -> list[str]:
    """`argv` run by ``/bin/sh`` after ``ulimit`` (CPU seconds, KiB of memory, 512-byte blocks)."""
    # the hard CPU limit a little above the soft one, so that the compiler gets SIGXCPU (and says
    # so) rather than SIGKILL, which would read like running out of memory
    cpu = int(limits["cpu_s"])
    # processes: dash's ulimit calls it -p, bash's -u (its -p is the pipe size, which it refuses)
    script = (f"ulimit -c 0 && ulimit -S -t {cpu} && ulimit -H -t {cpu + 2} && "
              f"ulimit -v {int(limits['memory_mb']) * 1024} && ulimit -f {int(limits['output_mb']) * 2048} && "
              f"{{ ulimit -p {int(limits['processes'])} 2>/dev/null || ulimit -u {int(limits['processes'])}; }} && "
              "exec \"$@\"")
    return ["/bin/sh", "-c", script, "sh", *argv]


def _run_bounded(cmd: list[str], cwd: str | None, wall_s: float) -> tuple[int | None, str, bool]:
    """Run `cmd`, keeping only the end of its output; kill its session after `wall_s`.

    Returns ``(returncode, output tail, timed out)``.
    """
    proc = subprocess.Popen(cmd, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, start_new_session=True)
    tail = bytearray()
    deadline = time.monotonic() + wall_s
    timed_out = False
    poller = select.poll()
    poller.register(proc.stdout, select.POLLIN)
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                timed_out = True
                break
            if poller.poll(min(left, 0.5) * 1000):
                chunk = os.read(proc.stdout.fileno(), 1 << 16)
                if not chunk:
                    break
                tail += chunk
                del tail[:-OUTPUT_TAIL_CHARS * 4]
    finally:
        if timed_out or proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        proc.stdout.close()
        code = proc.wait()
    return (None if timed_out else code), tail.decode(errors="replace")[-OUTPUT_TAIL_CHARS:], timed_out


# a diagnostic about the source ("candidate.c:9:2: error: ...") and the source lines the compiler
# quotes under it ("    9 | #error ...", "      |  ^~~"): the candidate's own words, never a limit
_QUOTES_SOURCE = re.compile(r"^(?:\S+:\d+:(?:\d+:)?\s|\s*\d*\s*\|)")


def _which_limit(output: str, timed_out: bool) -> str | None:
    """Which limit stopped the compiler, from its own messages (not the lines that quote the
    candidate's source, which could say anything)."""
    if timed_out:
        return "wall"
    text = "\n".join(line for line in output.lower().splitlines() if not _QUOTES_SOURCE.match(line))
    if "file size limit exceeded" in text:
        return "output_size"
    if "cpu time limit exceeded" in text:
        return "cpu"
    if any(w in text for w in ("virtual memory exhausted", "out of memory", "cannot allocate memory",
                               "killed signal terminated")):
        return "memory"
    return None


def compile_candidate(source: str | Path, language: str, out_dir: str | Path, settings: dict,
                      limits: dict | None = None, unsafe: bool = False) -> CompileResult:
    """Compile `source` with the task's settings for `language` into ``out_dir/candidate.so``.

    Parameters
    ----------
    source : str or Path
        The candidate source file, already in `out_dir`.
    language : str
        ``c`` or ``cpp``.
    out_dir : str or Path
        The build folder: the only host folder the compiler can write.
    settings : dict
        ``{"compiler": "gcc", "flags": [...], "limits": {...}}``; ``-l`` flags are placed after the
        source file. Limits: ``wall_s``, ``cpu_s``, ``memory_mb``, ``output_mb``, ``tmp_mb``,
        ``processes`` (counted in the sandbox's own user namespace).
    limits : dict, optional
        Overrides of the settings' limits.
    unsafe : bool
        Compile without the sandbox (the caller asked for it explicitly); the limits still apply.

    Returns
    -------
    CompileResult
        Never raises for a bad candidate: a failed, limited or timed-out compilation is ``ok=False``.
    """
    lim = dict(DEFAULT_LIMITS, **settings.get("limits", {}), **(limits or {}))
    compiler = settings["compiler"]
    flags = list(settings["flags"])
    libs = [f for f in flags if f.startswith("-l")]
    flags = [f for f in flags if not f.startswith("-l")]
    out_dir = str(out_dir)
    library = os.path.join(out_dir, "candidate.so")
    # run in out_dir with relative names, so the recorded command reads the same for every run
    command = [compiler, *flags, os.path.relpath(source, out_dir), "-o", "candidate.so", *libs]
    version = compiler_version(compiler)
    if shutil.which(compiler) is None:
        return CompileResult(False, command, f"compiler {compiler!r} not found", 0.0, version, "")
    inner = _limited(command, lim)
    if unsafe:
        full, cwd = inner, out_dir
    else:
        spec = sandbox.Spec(argv=inner, env={"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C",
                                             "TMPDIR": "/tmp", "HOME": sandbox.WORKDIR},
                            tmp_mb=int(lim["tmp_mb"]), workdir_host=out_dir)
        full, cwd = sandbox.command(sandbox.find_bwrap(), spec), None
    t0 = time.perf_counter()
    code, output, timed_out = _run_bounded(full, cwd, float(lim["wall_s"]))
    # the compiler quotes the candidate's text: no control character reaches a terminal
    output = "\n".join(printable(line, OUTPUT_TAIL_CHARS) for line in output.split("\n"))
    elapsed = time.perf_counter() - t0
    ok = code == 0 and os.path.isfile(library)
    limit = None if ok else _which_limit(output, timed_out)
    if timed_out:
        output += f"\ncompiler stopped after {lim['wall_s']} s"
    return CompileResult(ok, command, output, elapsed, version, library if ok else "", limit,
                         [] if unsafe else full)




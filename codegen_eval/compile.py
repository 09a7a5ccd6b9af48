"""Compile a C or C++ candidate into a shared library (flags come from the task data)."""
from __future__ import annotations

import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass
class CompileResult:
    """Outcome of one compilation.

    Attributes
    ----------
    ok : bool
    command : list of str
        The exact command run (recorded in the report).
    output : str
        Compiler diagnostics (truncated).
    compile_s : float
    compiler_version : str
    library : str
        Path of the shared library when `ok`.
    """

    ok: bool
    command: list
    output: str
    compile_s: float
    compiler_version: str
    library: str


def compiler_version(compiler: str) -> str:
    """The first line of ``compiler --version`` (recorded in the report)."""
    try:
        out = subprocess.run([compiler, "--version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"unavailable ({exc})"
    return out.stdout.splitlines()[0] if out.stdout else "unknown"


def compile_candidate(source: str | Path, language: str, out_dir: str | Path, settings: dict,
                      timeout_s: float = 120.0) -> CompileResult:
    """Compile `source` with the task's settings for `language` into ``out_dir/candidate.so``.

    Parameters
    ----------
    source : str or Path
        The candidate source file.
    language : str
        ``c`` or ``cpp``.
    out_dir : str or Path
        Where ``candidate.so`` is written; the compiler runs there with relative file names.
    settings : dict
        ``{"compiler": "gcc", "flags": [...]}``; ``-l`` flags are placed after the source file.
    timeout_s : float
        Wall-clock limit of the compiler.

    Returns
    -------
    CompileResult
        Never raises for a bad candidate: a failed or timed-out compilation is ``ok=False``.
    """
    compiler = settings["compiler"]
    flags = list(settings["flags"])
    libs = [f for f in flags if f.startswith("-l")]
    flags = [f for f in flags if not f.startswith("-l")]
    library = str(Path(out_dir, "candidate.so"))
    # run in out_dir with relative names, so the recorded command reads the same for every run
    command = [compiler, *flags, os.path.relpath(source, out_dir), "-o", "candidate.so", *libs]
    version = compiler_version(compiler)
    if shutil.which(compiler) is None:
        return CompileResult(False, command, f"compiler {compiler!r} not found", 0.0, version, "")
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(command, capture_output=True, text=True, timeout=timeout_s, cwd=out_dir,
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return CompileResult(False, command, f"compiler timed out after {timeout_s} s", timeout_s, version, "")
    elapsed = time.perf_counter() - t0
    output = (proc.stdout + proc.stderr)[-4000:]
    return CompileResult(proc.returncode == 0, command, output, elapsed, version,
                         library if proc.returncode == 0 else "")

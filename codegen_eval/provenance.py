"""What a stored result depends on: the task's content, the harness's code and the machine.

A result kept in a database is reused only while all three are unchanged for the part they play:
:func:`task_sha256` changes when any file of the task folder changes (prompt, cases, tolerances),
:func:`harness_version` when the package version or any source file of ``codegen_eval`` or of the
reference ``eq`` changes, and :func:`machine` describes where a throughput was measured (speed-ups
compare only between results of the same machine).
"""
from __future__ import annotations

import functools
import hashlib
import os
import platform
from pathlib import Path

from .task import Task

_HARNESS_PACKAGES = ("codegen_eval", "eq")
# modules that never change a verdict, a diagnosis or a timing: editing them keeps stored results valid
# (any other module, new ones included, counts)
_NOT_SCORING = {"codegen_eval/" + name for name in (
    "cli.py", "__main__.py", "batch.py", "generation.py", "model_server.py", "samples.py", "results_db.py",
    "metrics.py", "leaderboard.py", "report.py", "report_html.py", "dask_executor.py", "provenance.py")}


def task_sha256(task: Task) -> str:
    """The sha256 of every file in the task folder (relative path and bytes, in sorted order)."""
    h = hashlib.sha256()
    for path in sorted(p for p in Path(task.folder).rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        h.update(str(path.relative_to(task.folder)).encode() + b"\0")
        h.update(hashlib.sha256(path.read_bytes()).digest())
    return h.hexdigest()


@functools.lru_cache(maxsize=1)
def harness_version() -> str:
    """``<package version>+<12 hex digits>``: the digits hash the ``.py`` sources of the harness and
    of the reference, so that an edited harness never reuses results of the old one (the modules
    that only generate, store, schedule or present results are left out)."""
    import importlib.util

    from importlib.metadata import PackageNotFoundError, version

    try:
        pkg = version("eq-stream")
    except PackageNotFoundError:
        pkg = "0+unknown"
    h = hashlib.sha256()
    for name in _HARNESS_PACKAGES:
        spec = importlib.util.find_spec(name)
        if spec is None or not spec.submodule_search_locations:
            continue
        root = Path(list(spec.submodule_search_locations)[0])
        for path in sorted(root.rglob("*.py")):
            if f"{name}/{path.relative_to(root)}" in _NOT_SCORING:
                continue
            h.update(f"{name}/{path.relative_to(root)}".encode() + b"\0")
            h.update(hashlib.sha256(path.read_bytes()).digest())
    return f"{pkg}+{h.hexdigest()[:12]}"


@functools.lru_cache(maxsize=1)
def cpu_model() -> str:
    """The CPU's model name from ``/proc/cpuinfo``, else what :mod:`platform` says."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


@functools.lru_cache(maxsize=1)
def machine() -> str:
    """A one-line description of this machine: host name, CPU model, CPU count, OS and architecture."""
    return f"{platform.node()} | {cpu_model()} | {os.cpu_count()} CPUs | {platform.system()} {platform.machine()}"


def utc_now_iso() -> str:
    """The time now in UTC as ISO 8601 with milliseconds (``2026-12-03T11:44:25.123+00:00``): the one
    time stamp of sample records, error logs and stored results."""
    import datetime

    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds")

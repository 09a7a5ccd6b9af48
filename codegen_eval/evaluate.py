"""Score one candidate: compile, run in the sandbox, measure, diagnose, time, and build the result.

This module only wires the layers together; judging lives in :mod:`codegen_eval.scoring` and
:mod:`codegen_eval.diagnosis`, execution in :mod:`codegen_eval.runner`, :mod:`codegen_eval.sandbox`
and the worker.

A candidate meets two workers, one after the other, each a fresh process in a fresh sandbox. The
first (the *stream* worker) gets the configuration checks, then every case in every chunking,
each chunking with its own input signal, one call at a time. The second (the *replay* worker)
gets each of those inputs again, whole, in one call: its output is what every chunking must
equal byte for byte, and its ``whole`` run is the determinism check. No process ever sees the
same input twice, so no answer can be replayed from an earlier run.
"""
from __future__ import annotations

import contextlib
import hashlib
import os
import platform
import shlex
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import cases as cases_mod
from . import diagnosis, provenance, sandbox, scoring, throughput
from .compile import compile_candidate
from .parallel import score_in_processes
from .runner import (CLOSE, CREATE, LOAD, OK, OUTPUT, PROCESS, Limits, ReplyTooLong, Worker, WorkerGone, _as_error,
                     run_interleaved, run_stream, usable_cpus)
from .task import DEFAULT_TASK, TASKS_DIR, Task, language_of, load_task

RESULT_SCHEMA = "codegen_eval.result/2"
_REFERENCE_CACHE: dict = {}
# one error plot per failing case (at most this many), each decimated to at most PLOT_POINTS points
MAX_PLOTS = 64
PLOT_POINTS = 500
MAX_FAILING_RUNS = 200
NEVER_IMPORT = ["eq", "codegen_eval"]


def prepare(task: Task, seed: int, case_ids=None, chunkings=None) -> tuple[list, dict, float]:
    """Build the cases and the references of all their inputs, cached per task, seed and selection.

    Returns
    -------
    tuple
        ``(cases, references by (case id, input name), seconds it took to compute them)``.
    """
    key = (str(task.folder), seed, tuple(case_ids or ()), tuple(chunkings or ()))
    if key not in _REFERENCE_CACHE:
        t0 = time.perf_counter()
        judge = task.judge
        built = cases_mod.build_cases(task.data, seed, case_ids, chunkings, setup=judge.case_setup)
        refs = {(c.id, name): judge.compute_reference(c.for_input(name), task.data["tolerances"], seed=seed)
                for c in built for name in c.inputs}
        _REFERENCE_CACHE[key] = (built, refs, time.perf_counter() - t0)
    return _REFERENCE_CACHE[key]


@dataclass
class WorkerReport:
    """What the two correctness workers produced, as the parent saw it.

    Attributes
    ----------
    raws : list of scoring.RawRun
        The stream worker's runs, then the replay worker's (``repeat`` True), in plan order
        (``completed`` False for runs never reached).
    configs : list of dict
        ``kind`` (``valid``/``invalid``), ``why``, ``accepted`` (None when never tried), ``error``.
    load : dict or None
        ``{"ok", "error"}`` of loading the candidate; None when the worker never got that far.
    violations : list of dict
        Forbidden acts the worker's guards reported (``kind``, ``detail``).
    finished : bool
        Both workers answered every request.
    outcome : dict
        How the worker that ended first (or the stream worker) ended.
    replay_outcome : dict or None
    running : dict or None
        ``{"case", "chunking"}`` of the run in progress when a worker stopped.
    sandbox : dict
        What the kernel says of the stream worker (seccomp, capabilities, namespaces) and its command.
    """

    raws: list = field(default_factory=list)
    configs: list = field(default_factory=list)
    load: dict | None = None
    violations: list = field(default_factory=list)
    finished: bool = False
    outcome: dict = field(default_factory=dict)
    replay_outcome: dict | None = None
    running: dict | None = None
    sandbox: dict = field(default_factory=dict)


def run_plan(built: list, pairs: list) -> tuple[list, list]:
    """The runs of the stream worker and of the replay worker.

    Returns
    -------
    (stream, replay)
        Lists of steps; a step is a list of ``(case, chunking, input name)``: one run, or two run
        in turns by two instances alive at once (the task's ``interleaved_pairs``; a pair of one
        case twice is two instances of the same configuration, on two inputs). The stream
        worker gets every chunking of every case on its own input; the replay worker every input of
        every case again, whole, one at a time.
    """
    by_id = {c.id: c for c in built}
    stream = [[(case, name, name)] for case in built for name in case.chunkings if not name.startswith("interleaved")]
    for a, b in pairs:
        second = "interleaved-2" if a == b else "interleaved"
        if a in by_id and b in by_id and "interleaved" in by_id[a].chunkings and second in by_id[b].chunkings:
            stream.append([(by_id[a], "interleaved", "interleaved"), (by_id[b], second, second)])
    replay = [[(case, "whole", name)] for case in built for name in case.inputs]
    return stream, replay


def _job(task: Task, language: str, candidate_inside: str, workdir: str, reference: bool,
         library_dirs: list[str], sys_path: list[str]) -> dict:
    """The ``L`` message: what the worker loads and which rules it applies."""
    job = {"language": language, "candidate": candidate_inside, "workdir": workdir, "sys_path": sys_path,
           "library_dirs": library_dirs, "allowed_imports": task.data["allowed_imports"]["python"],
           "never_import": NEVER_IMPORT, "class_name": task.data["interface"]["python"]["class"],
           "c_abi": task.data["interface"]["c"]}
    if reference:
        ref = task.data["reference"]
        job.update(reference={"module": ref["module"], "class": ref["class"]},
                   allow_modules=[ref["module"].partition(".")[0]])
    return job


@dataclass
class Staged:
    """A candidate made ready to run: where its file is and how to start workers for it."""

    language: str
    host_file: str
    name: str
    reference: bool
    unsafe: bool
    stage_dir: str


def start_worker(task: Task, staged: Staged, cpu: int | None, pass_fds: tuple = (),
                 extra_job: dict | None = None) -> tuple[Worker, dict]:
    """Start a worker for `staged` in a fresh sandbox; return it and the load message to send.

    The caller sends the message (``worker.request_json(LOAD, job, allowance="load")``) and keeps
    the worker whatever happens next, so that a worker that dies while loading still reports how.
    """
    limits = Limits.from_task(task.data["limits"])
    packages = list(task.data["allowed_imports"]["python"].get("third_party", []))
    ref_package = task.data["reference"]["module"].partition(".")[0]
    if staged.unsafe:
        workdir = tempfile.mkdtemp(prefix="codegen_eval_unsafe_", dir=staged.stage_dir)
        inside = str(Path(workdir, staged.name))
        if staged.host_file:
            shutil.copyfile(staged.host_file, inside)
        lib_dirs = [_find(p) for p in sandbox.with_dependencies(packages) if _find(p)]
        worker = Worker(None, limits, cpu=cpu, unsafe={"workdir": workdir}, pass_fds=pass_fds)
        sys_path = [str(eq_parent(ref_package))] if staged.reference else []
    else:
        inside = f"{sandbox.WORKDIR}/{staged.name}"
        hide = [str(p) for p in sandbox.project_folders()]
        extra = reference_binds(ref_package) if staged.reference else []
        spec = sandbox.worker_spec(packages, hide, staged.host_file or None, staged.name, extra_binds=extra,
                                   reference=staged.reference,
                                   limits={"tmp_mb": limits.tmp_mb, "workdir_mb": limits.workdir_mb})
        worker = Worker(spec, limits, cpu=cpu, pass_fds=pass_fds)
        workdir, lib_dirs = sandbox.WORKDIR, [sandbox.SITE_DIR]
        sys_path = [sandbox.SITE_DIR] + ([str(eq_parent(ref_package))] if staged.reference else [])
    job = _job(task, staged.language, inside, workdir, staged.reference, lib_dirs, sys_path)
    job.update(extra_job or {})
    return worker, job


def load(worker: Worker, job: dict) -> tuple[bytes, dict]:
    """Send the load message; return the reply (``OK`` with what the worker applied, or ``ERROR``).

    Raises
    ------
    WorkerGone
        The worker ended while loading (its outcome says how).
    """
    if worker.pid is None:
        worker.kill("sandbox")
        raise WorkerGone("the sandbox did not start")
    return worker.request_json(LOAD, job, allowance="load")


def _find(module: str) -> str | None:
    import importlib.util

    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        return None
    return os.path.realpath(list(spec.submodule_search_locations)[0])


def eq_parent(package: str = "eq") -> Path:
    """The folder that holds the reference package (``eq``)."""
    return Path(_find(package)).parent


def reference_binds(package: str = "eq") -> list[str]:
    """bwrap arguments that give the reference worker the reference package (``eq``), read-only, at
    its own path, with the numba cache the harness itself uses writable (that worker runs no
    candidate code): the package's ``__pycache__``, or numba's cache folder when the package is
    read-only."""
    eq_dir = Path(_find(package))
    binds = ["--ro-bind", str(eq_dir), str(eq_dir)]
    cache = eq_dir / "__pycache__"
    try:
        cache.mkdir(exist_ok=True)
        writable = os.access(cache, os.W_OK)
    except OSError:
        writable = False
    if writable:
        return binds + ["--bind", str(cache), str(cache)]
    from numba.core.config import CACHE_DIR

    user_cache = Path(CACHE_DIR or Path.home() / ".cache" / "numba")
    user_cache.mkdir(parents=True, exist_ok=True)
    return binds + ["--bind", str(user_cache), str(user_cache), "--setenv", "NUMBA_CACHE_DIR", str(user_cache)]


def _configs(task: Task, language: str) -> list[dict]:
    """The task's configuration checks, each with the worker's create message for `language`."""
    judge = task.judge
    return [dict(c, payload=judge.worker_config(task.data, c["config"], language))
            for c in judge.config_checks(task.data)]


def _check_configs(worker: Worker, task: Task, configs: list[dict], report: WorkerReport) -> None:
    """Create, feed a few bytes to (the judge's ``probe``) and close every configuration check."""
    for entry, record in zip(configs, report.configs):
        kind, reply = worker.request_json(CREATE, entry["payload"], allowance="load")
        if kind != OK:
            record.update(accepted=False, error=_as_error(reply))
            continue
        record["accepted"] = True
        data, max_reply = task.judge.probe(entry["config"])
        try:
            kind, payload = worker.request(PROCESS, data, max_reply=max_reply)
            if kind != OUTPUT:
                record["error"] = _as_error(payload)
        except ReplyTooLong as exc:  # what the parent saw, not what the candidate said
            record["too_long"] = {"got_bytes": exc.got_bytes, "allowed_bytes": exc.allowed_bytes}
        worker.request(CLOSE)


def run_correctness(task: Task, staged: Staged, built: list, cpu: int | None) -> WorkerReport:
    """Run the configuration checks and every run of the plan in two fresh workers."""
    stream_plan, replay_plan = run_plan(built, task.data.get("interleaved_pairs", []))
    configs = _configs(task, staged.language)
    report = WorkerReport(
        raws=[scoring.RawRun(case_id=c.id, chunking=k, input_name=i) for step in stream_plan for c, k, i in step]
        + [scoring.RawRun(case_id=c.id, chunking=k, input_name=i, repeat=True)
           for step in replay_plan for c, k, i in step],
        configs=[{"kind": c["kind"], "why": c["why"], "accepted": None} for c in configs])
    judge = task.judge
    has_flush = staged.language == "python"
    room = {c.id: judge.reply_room(c.config) for c in built}
    conf = {c.id: judge.worker_config(task.data, c.config, staged.language, room[c.id][0]) for c in built}
    offset = 0
    for plan, check_configs in ((stream_plan, True), (replay_plan, False)):
        worker = None
        position = None
        gone = False
        try:
            worker, job = start_worker(task, staged, cpu)
            kind, reply = load(worker, job)
            if check_configs:  # what the kernel says of the worker, not what the worker says it did
                report.sandbox = {"observed": worker.observed(), "command": worker.command}
            if kind != OK:
                report.load = {"ok": False, "error": _as_error(reply.get("error", reply))}
                break
            report.load = {"ok": True}
            if check_configs:
                _check_configs(worker, task, configs, report)
            j = offset
            for n_step, step in enumerate(plan):
                position = (step[0][0].id, step[0][1])
                runs = [(conf[case.id], case.inputs[input_name], case.chunkings[chunking], room[case.id])
                        for case, chunking, input_name in step]
                # pairs close in turn first-in first-out and last-in first-out
                got = (run_interleaved(worker, runs, has_flush, lifo=n_step % 2 == 1) if len(runs) == 2
                       else [run_stream(worker, *runs[0], has_flush)])
                for res in got:
                    report.raws[j].fill(res)
                    j += 1
            position = None
        except WorkerGone:
            gone = True
        except BaseException:
            if worker is not None:
                worker.kill("cancelled")
            raise
        finally:
            if worker is not None:
                outcome = worker.close()
                report.violations += [v for v in worker.violations if v not in report.violations]
                info = dict(outcome.as_dict(), worker="stream" if check_configs else "replay")
                if check_configs:
                    report.outcome = info
                else:
                    report.replay_outcome = info
                    if gone or info.get("killed_for") or (info.get("returncode") or 0) < 0:
                        report.outcome = info  # the replay worker is the one that went wrong
        if gone or worker is None:
            if position is not None:
                report.running = {"case": position[0], "chunking": position[1]}
            return report
        offset += sum(len(step) for step in plan)
    else:
        report.finished = True
    return report


def environment(task: Task, seed: int, compile_info: dict | None) -> dict:
    """The environment recorded in every result.

    Returns
    -------
    dict
        ``cpu`` (model name), ``machine`` (:func:`codegen_eval.provenance.machine`), ``cpu_count``,
        ``platform``, versions (``python``, ``numpy``,
        ``scipy``, ``numba``, ``eq``), ``seed``, ``task`` and ``compile`` (`compile_info`: command,
        compiler version, output, ``compile_s``, the limit that stopped it, the sandboxed command).
    """
    import numba
    import scipy

    try:
        import eq

        eq_version = getattr(eq, "__version__", "unknown")
    except ImportError:
        eq_version = "unavailable"
    return {"cpu": provenance.cpu_model(), "machine": provenance.machine(), "cpu_count": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(), "numpy": np.__version__, "scipy": scipy.__version__,
            "numba": numba.__version__, "eq": eq_version, "seed": seed, "task": task.name,
            "compile": compile_info}


def sandbox_record(unsafe: bool) -> dict:
    """Which sandbox scores this candidate (``mode``, the bwrap binary and the probe), or raise
    :class:`sandbox.SandboxUnavailable` with one line that says how to get one."""
    if unsafe:
        return {"mode": "unsafe-no-sandbox"}
    return dict(sandbox.probe(), mode="bwrap")


@contextlib.contextmanager
def pinned(cpu: int | None):
    """Run the calling thread on `cpu` (with its workers, replies need no cross-CPU wake-up)."""
    if cpu is None:
        yield
        return
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {cpu})
    try:
        yield
    finally:
        os.sched_setaffinity(0, before)


def fresh_seed() -> int:
    """A 128-bit seed nobody can know in advance or search for: a candidate can neither carry the
    expected outputs nor recover the seed from the first input it sees and predict the others.
    Results record it, and replay commands name it."""
    import secrets

    return secrets.randbits(128)


def score(candidate: str | Path | None, task: Task | None = None, seed: int | None = None, case_ids=None,
          chunkings=None,
          with_throughput: bool = True, keep_job_dir: bool = False, reference: bool = False,
          unsafe_no_sandbox: bool = False, cpu: int | None = None) -> dict:
    """Score one candidate file and return its result.

    Parameters
    ----------
    candidate : str or Path
        A ``.py``, ``.c`` or ``.cpp`` file (``.cc``/``.cxx`` count as C++).
    task : Task, optional
        The task (default: ``streaming_eq``).
    seed : int, optional
        Seed of the input signals and random chunkings; default a fresh one (:func:`fresh_seed`).
    case_ids, chunkings : list of str, optional
        Run only these cases / chunkings (``whole`` is always run). Throughput is then skipped.
    with_throughput : bool
        Measure the throughput of a candidate that passes.
    keep_job_dir : bool
        Keep the staging folder (the candidate's copy and compiled library) for debugging.
    reference : bool
        Score the task's reference (``eq.StreamingEqualizer`` for audio) through the Python contract
        instead (in a worker that has the reference bound in); `candidate` is then ignored.
    unsafe_no_sandbox : bool
        Run without bubblewrap (for code you trust); every report says so.
    cpu : int, optional
        The CPU to run the workers (and this thread, while it drives them) on; default the first
        usable one.

    Returns
    -------
    dict
        A JSON-ready result with schema :data:`RESULT_SCHEMA`: ``verdict`` (``pass``/``fail``/
        ``error``), ``diagnoses``, ``properties``, ``throughput``, ``sandbox``, ``environment`` and
        more; the package README lists every key.

    Raises
    ------
    ValueError
        Unknown language suffix, case id or chunking name.
    codegen_eval.sandbox.SandboxUnavailable
        No sandbox can start here (and `unsafe_no_sandbox` is not set).

    Examples
    --------
    >>> result = score("tests/corpus/python/channel_crosstalk.py", with_throughput=False)  # doctest: +SKIP
    >>> result["verdict"], [d["code"] for d in result["diagnoses"]]  # doctest: +SKIP
    ('fail', ['channel_crosstalk'])
    """
    task = task or load_task()
    seed = fresh_seed() if seed is None else seed
    t_start = time.perf_counter()
    judge = task.judge
    if reference:
        language, cand_name = "python", task.reference_label
    else:
        language, cand_name = language_of(candidate), str(candidate)
    sandbox_info = sandbox_record(unsafe_no_sandbox)
    built, refs, ref_s = prepare(task, seed, case_ids, chunkings)
    by_id = {c.id: c for c in built}
    cpu = usable_cpus()[0] if cpu is None else cpu
    stage_dir = tempfile.mkdtemp(prefix="codegen_eval_")
    try:
        source_bytes, staged, compile_info = _stage(candidate, task, language, stage_dir, reference,
                                                    unsafe_no_sandbox)
        t0 = time.perf_counter()
        worker = WorkerReport()
        if compile_info is None or compile_info["ok"]:
            with pinned(cpu):
                worker = run_correctness(task, staged, built, cpu)
        correctness_s = time.perf_counter() - t0
        results = [judge.measure(by_id[r.case_id], refs[(r.case_id, r.input_name)], r) for r in worker.raws]
        scoring.compare_with_replay(results, worker.raws)
        outcome_info = dict(worker.outcome, finished=worker.finished,
                            memory_limit_mb=task.data["limits"].get("memory_mb"), running=worker.running)
        diags = diagnosis.diagnose_infrastructure(compile_info, worker.load, outcome_info, worker.violations,
                                                  worker.running)
        if not any(d["code"] in ("compile_error", "load_error") for d in diags) and worker.load is not None:
            diags += diagnosis.diagnose_runs(by_id, results, worker.configs, worker.violations,
                                             content=judge.diagnose_content)
        diags += diagnosis.unexplained(results, worker.configs, diags)
        target = _replay_target(candidate, task, seed, reference, unsafe_no_sandbox)
        props = scoring.properties(results, worker.configs)
        verdict = scoring.verdict(diags, props)
        tp = None
        tp_s = 0.0
        if verdict == "pass" and with_throughput and not case_ids and not chunkings:
            t1 = time.perf_counter()
            tp = dict(throughput.measure(task, staged, seed, cpu), machine=provenance.machine())
            tp_s = time.perf_counter() - t1
            diags += throughput.diagnose(tp)
            verdict = scoring.verdict(diags, props)
        diags = diagnosis.with_replay(diagnosis.merge(diags), target)
        plots = _plots(results, diags, by_id)
        sandbox_info.update(worker.sandbox)
        return {
            "schema": RESULT_SCHEMA, "task": task.name, "candidate": cand_name, "language": language,
            "sha256": hashlib.sha256(source_bytes).hexdigest(), "verdict": verdict, "diagnoses": diags,
            "properties": props, "configs": worker.configs,
            "cases": [dict({"id": c.id, "config": dict(c.config), "inputs": len(c.inputs)},
                           **judge.case_summary(c, refs[(c.id, "whole")])) for c in built],
            "failing_runs": [_run_summary(r) for r in results if not r.ok][:MAX_FAILING_RUNS],
            "violations": worker.violations,
            "throughput": tp, "worker": outcome_info, "replay_worker": worker.replay_outcome,
            "sandbox": sandbox_info, "environment": environment(task, seed, compile_info),
            "timing_s": {"reference": ref_s, "correctness": correctness_s, "throughput": tp_s,
                         "total": time.perf_counter() - t_start},
            "plots": plots,
        }
    finally:
        if not keep_job_dir:
            shutil.rmtree(stage_dir, ignore_errors=True)


def _stage(candidate, task: Task, language: str, stage_dir: str, reference: bool,
           unsafe: bool) -> tuple[bytes, Staged, dict | None]:
    """Copy (and for C/C++ compile) the candidate into `stage_dir`, a folder only the parent writes
    (the compiler writes its library into a build folder of its own inside it).

    Returns the source bytes, the staged candidate, and the compile record (None for Python).
    """
    if reference:
        return task.reference_label.encode(), Staged("python", "", "reference", True, unsafe, stage_dir), None
    source_bytes = Path(candidate).read_bytes()
    suffix = task.data["languages"][language]["suffix"]
    if language not in ("c", "cpp"):
        host = str(Path(stage_dir, "candidate" + suffix))
        Path(host).write_bytes(source_bytes)
        return source_bytes, Staged(language, host, "candidate" + suffix, False, unsafe, stage_dir), None
    build = Path(stage_dir, "build")
    build.mkdir()
    Path(build, "candidate" + suffix).write_bytes(source_bytes)
    res = compile_candidate(build / ("candidate" + suffix), language, build, task.data["compile"][language],
                            unsafe=unsafe)
    staged = Staged(language, res.library, "candidate.so", False, unsafe, stage_dir)
    return source_bytes, staged, res.as_dict()


def _replay_target(candidate, task: Task, seed: int, reference: bool, unsafe: bool) -> str:
    """The ``codegen-eval score`` arguments that name this candidate, task and seed."""
    parts = ["--reference"] if reference else [str(candidate)]
    if task.folder.resolve() != (TASKS_DIR / DEFAULT_TASK).resolve():
        parts += ["--task", task.name if task.folder.resolve().parent == TASKS_DIR else str(task.folder)]
    if seed:
        parts += ["--seed", str(seed)]
    if unsafe:
        parts += ["--unsafe-no-sandbox"]
    return shlex.join(parts)


def _run_summary(r: scoring.RunResult) -> dict:
    out = {"case": r.case_id, "chunking": r.chunking, "input": r.input_name, "repeat": r.repeat,
           "boundary_kind": r.boundary_kind, "completed": r.completed, "got_bytes": r.got_bytes,
           "expected_bytes": r.expected_bytes, "short_calls": r.short_calls, "over_calls": r.over_calls,
           "max_abs": scoring._finite(r.max_abs), "mismatch_fraction": r.mismatch_fraction,
           "mean_diff": r.mean_diff if np.isfinite(r.mean_diff) else None, "relative_rms": r.relative_rms
           if np.isfinite(r.relative_rms) else None, "identical_to_whole": r.identical_to_whole}
    out.update(r.evidence())
    if r.error:
        out["exception"] = r.error
    if r.create_error:
        out["create_error"] = r.create_error
    if r.too_long:
        out["too_long"] = r.too_long
    return out


def _plots(results: list[scoring.RunResult], diags: list[dict], cases: dict) -> list[dict]:
    """Error against frame index for every failing case, decimated by max to ``PLOT_POINTS``.

    Each case shows one run: the run a diagnosis cites as evidence if there is one, else the
    whole-input run if it fails, else the failing chunking with the fewest chunk boundaries (the
    easiest to relate errors to boundaries). Cited cases come first. The full per-frame errors of
    every run are dropped afterwards: only the decimated curves stay in memory.
    """
    cited: dict = {}
    for d in diags:
        for ev in d["evidence"]:
            if "case" in ev and "chunking" in ev:
                cited.setdefault((ev["case"], ev["chunking"]), []).append(d["code"])
    by_case: dict = {}
    for r in results:
        if r.ok or r.repeat or r.error_per_frame is None or not r.error_per_frame.size:
            continue
        if r.max_abs == 0 and r.got_bytes == r.expected_bytes:
            continue
        by_case.setdefault(r.case_id, []).append(r)
    cited_cases = list(dict.fromkeys(case for case, _ in cited))
    order = [c for c in cited_cases if c in by_case] + [c for c in by_case if c not in cited_cases]
    plots = []
    for case_id in order[:MAX_PLOTS]:
        runs = by_case[case_id]
        r = min(runs, key=lambda x: ((x.case_id, x.chunking) not in cited, x.chunking != "whole",
                                     0 if x.boundaries_frames is None else x.boundaries_frames.size))
        step = max(1, int(np.ceil(r.error_per_frame.size / PLOT_POINTS)))
        pad = (-r.error_per_frame.size) % step
        with np.errstate(invalid="ignore"):
            pooled = np.pad(r.error_per_frame, (0, pad)).reshape(-1, step).max(axis=1)
        bounds = np.zeros(0, dtype=np.int64) if r.boundaries_frames is None else r.boundaries_frames
        if bounds.size > PLOT_POINTS:  # one mark per plotted point is all the eye can see
            bounds = np.unique(bounds // step * step)
        plots.append({"case": case_id, "chunking": r.chunking, "format": cases[case_id].label, "unit": r.error_unit,
                      "frames": int(r.error_per_frame.size), "frames_per_point": step,
                      "error": [float(f"{v:.3g}") if np.isfinite(v) else None for v in pooled],
                      "boundaries_frames": [int(b) for b in bounds], "first_frame": r.first_frame,
                      "diagnoses": cited.get((case_id, r.chunking), [])})
    for r in results:
        r.error_per_frame = None
        r.values = None
    return plots


def score_many(candidates: list, task: Task | None = None, seed: int | None = None, jobs: int = 1,
               on_result=None, **kwargs) -> list[dict]:
    """Score several candidates, `jobs` at a time; results in input order.

    Parameters
    ----------
    candidates : list of str or Path
        Candidate files.
    task : Task, optional
        The task (default: ``streaming_eq``).
    seed : int, optional
        Seed of the signals and random chunkings, the same for every candidate; default a fresh one.
    jobs : int
        Candidates scored at the same time, each by its own process of the harness pinned to its
        own CPU with its workers (:mod:`codegen_eval.parallel`). Throughput is then measured
        afterwards, one candidate at a time, in this process.
    on_result : callable, optional
        ``on_result(index, result)`` for each final result as soon as it is known (after its
        throughput, if any), one call at a time, from this thread or a thread that drives a
        scoring process; a caller that stores results one by one loses only those in flight
        when it is stopped.
    **kwargs
        Passed to :func:`score`.

    Returns
    -------
    list of dict
        One result per candidate, in the order of `candidates`.

    Notes
    -----
    On Ctrl-C the scoring processes, and with them every worker, are ended before
    ``KeyboardInterrupt`` propagates. A scoring process that dies costs its candidate a second
    try; a candidate whose scoring process dies twice gets an ``error`` result (``crash``).
    """
    task = task or load_task()
    seed = fresh_seed() if seed is None else seed
    sandbox_record(kwargs.get("unsafe_no_sandbox", False))  # one clear error before any work
    jobs = max(1, min(jobs, len(candidates)))
    deliver = on_result or (lambda i, result: None)
    if jobs == 1:
        prepare(task, seed, kwargs.get("case_ids"), kwargs.get("chunkings"))  # bad case ids raise here
        out = []
        for i, c in enumerate(candidates):
            out.append(_score_or_failure(c, task, seed, kwargs))
            deliver(i, out[-1])
        return out
    cases_mod.check_selection(task.data, kwargs.get("case_ids"), kwargs.get("chunkings"))
    with_throughput = kwargs.pop("with_throughput", True)
    timed = with_throughput and not kwargs.get("case_ids") and not kwargs.get("chunkings")
    requests = [{"candidate": str(c), "task": str(task.folder), "seed": seed,
                 "kwargs": dict(kwargs, with_throughput=False)} for c in candidates]
    cpus = [usable_cpus()[i % len(usable_cpus())] for i in range(jobs)]

    def correctness_done(i: int, result: dict) -> None:
        if not (timed and result["verdict"] == "pass"):
            deliver(i, result)  # final now; a passing one is final after its throughput

    results = score_in_processes(candidates, requests, cpus,
                                 lambda c, why: _harness_failure(c, task, seed, kwargs, why), correctness_done)
    if timed:
        for i, (candidate, result) in enumerate(zip(candidates, results)):
            if result["verdict"] == "pass":
                try:
                    _add_throughput(result, candidate, task, seed, kwargs.get("reference", False),
                                    kwargs.get("unsafe_no_sandbox", False))
                except Exception as exc:  # keep the other results; an unchecked candidate does not pass
                    unmeasured(result, f"{type(exc).__name__}: {exc}")
                deliver(i, result)
    return results


def _sha256_of(candidate) -> str:
    try:
        return hashlib.sha256(Path(candidate).read_bytes()).hexdigest()
    except (OSError, TypeError):
        return ""


def _score_or_failure(candidate, task: Task, seed: int, kwargs: dict) -> dict:
    """:func:`score`, with the harness's own failure on one candidate kept to that candidate."""
    try:
        return score(candidate, task=task, seed=seed, **kwargs)
    except sandbox.SandboxUnavailable:
        raise
    except Exception as exc:
        return _harness_failure(candidate, task, seed, kwargs, f"{type(exc).__name__}: {exc}")


def unmeasured(result: dict, why: str, machine: str | None = None) -> dict:
    """`result` with its throughput not measured (`why`): its timed runs are unchecked, so it does not
    pass, and it is marked ``harness_failure`` (a results database does not keep it)."""
    result["throughput"] = {"error": f"not measured: {why}", "rows": [], "machine": machine}
    diag = diagnosis.make("crash", "the timed runs could not be completed: its timed runs are "
                          "unchecked, so it cannot pass", [])
    result["diagnoses"] = diagnosis.merge(result["diagnoses"] + [dict(diag, replay="")])
    result["verdict"] = scoring.verdict(result["diagnoses"], result["properties"])
    result["harness_failure"] = True
    return result


def _harness_failure(candidate, task: Task, seed: int, kwargs: dict, why: str) -> dict:
    """The result of a candidate the harness could not score (`why`): an error, never a pass, marked
    ``harness_failure`` (a results database does not keep it: the next run scores the candidate again)."""
    language = language_of(candidate) if not kwargs.get("reference") else "python"
    diag = diagnosis.make("crash", f"the harness could not score this candidate: {why}"[:400], [])
    return {"schema": RESULT_SCHEMA, "task": task.name, "candidate": str(candidate), "language": language,
            "sha256": _sha256_of(candidate), "verdict": "error", "harness_failure": True,
            "diagnoses": diagnosis.with_replay([diag], _replay_target(candidate, task, seed, False,
                                                                      kwargs.get("unsafe_no_sandbox", False))),
            "properties": {"runs": 0, "runs_ok": 0, "configs": 0, "configs_ok": 0}, "configs": [], "cases": [],
            "failing_runs": [], "violations": [], "throughput": None, "worker": {"finished": False},
            "replay_worker": None, "sandbox": sandbox_record(kwargs.get("unsafe_no_sandbox", False)),
            "environment": environment(task, seed, None), "timing_s": {}, "plots": []}


def _add_throughput(result: dict, candidate, task: Task, seed: int, reference: bool, unsafe: bool) -> None:
    """Stage `candidate` again and add its throughput (and any diagnosis of its timed runs)."""
    stage_dir = tempfile.mkdtemp(prefix="codegen_eval_")
    try:
        _, staged, _ = _stage(candidate, task, result["language"], stage_dir, reference, unsafe)
        t0 = time.perf_counter()
        tp = dict(throughput.measure(task, staged, seed, usable_cpus()[0]), machine=provenance.machine())
        result["throughput"] = tp
        result["timing_s"]["throughput"] = time.perf_counter() - t0
        result["timing_s"]["total"] += result["timing_s"]["throughput"]
        extra = throughput.diagnose(tp)
        if extra:
            target = _replay_target(candidate, task, seed, reference, unsafe)
            result["diagnoses"] = diagnosis.with_replay(diagnosis.merge(result["diagnoses"] + extra), target)
            result["verdict"] = scoring.verdict(result["diagnoses"], result["properties"])
    finally:
        shutil.rmtree(stage_dir, ignore_errors=True)

"""Score one candidate: compile, run in the sandbox, measure, diagnose, time, and build the result.

This module only wires the layers together; judging lives in :mod:`codegen_eval.scoring` and
:mod:`codegen_eval.diagnosis`, execution in :mod:`codegen_eval.sandbox` and the worker.
"""
from __future__ import annotations

import hashlib
import os
import platform
import shlex
import shutil
import struct
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import cases as cases_mod
from . import diagnosis, scoring, throughput
from .compile import compile_candidate
from .reference import compute_reference, eq_package_dir
from .sandbox import (WorkerOutcome, allow_workers, cancel_workers, capabilities, make_job_dir, remove_job_dir,
                      run_worker)
from .task import DEFAULT_TASK, TASKS_DIR, Task, language_of, load_task

RESULT_SCHEMA = "codegen_eval.result/1"
REFERENCE_CANDIDATE = "<eq.StreamingEqualizer>"
_REFERENCE_CACHE: dict = {}
# one error plot per failing case (at most this many), each decimated to at most PLOT_POINTS points
MAX_PLOTS = 64
PLOT_POINTS = 500
MAX_FAILING_RUNS = 200


def prepare(task: Task, seed: int, case_ids=None, chunkings=None) -> tuple[list, dict, float]:
    """Build the cases and their references, cached per task, seed and selection.

    Returns
    -------
    tuple
        ``(cases, references by case id, seconds it took to compute them)``.
    """
    key = (str(task.folder), seed, tuple(case_ids or ()), tuple(chunkings or ()))
    if key not in _REFERENCE_CACHE:
        t0 = time.perf_counter()
        built = cases_mod.build_cases(task.data, seed, case_ids, chunkings)
        refs = {c.id: compute_reference(c, task.data["tolerances"], seed=seed) for c in built}
        _REFERENCE_CACHE[key] = (built, refs, time.perf_counter() - t0)
    return _REFERENCE_CACHE[key]


def build_job(task: Task, language: str, built: list, job_dir: str, candidate_file: str) -> tuple[dict, list]:
    """Write the inputs to `job_dir` and return the job description and the run list."""
    iface = task.data["interface"]
    formats, band_types = iface["formats"], iface["band_types"]
    configs = []
    for kind in ("invalid", "valid"):
        for entry in task.data.get(f"{kind}_configs", []):
            conf = cases_mod.config_for_language(entry, formats, band_types)
            configs.append({"kind": kind, "why": entry["why"], "config": conf})
    runs = []
    run_meta = []
    for i, case in enumerate(built):
        name = f"in_{i}.bin"
        Path(job_dir, name).write_bytes(case.input_bytes)
        conf = cases_mod.config_for_language(case.config, formats, band_types)
        order = list(case.chunkings.items()) + [("whole", case.chunkings["whole"])]
        for j, (chunking, sizes) in enumerate(order):
            repeat = j == len(order) - 1
            runs.append({"run": len(runs), "config": conf, "input": name, "sizes": sizes})
            run_meta.append((case.id, chunking, repeat))
    py = task.data["allowed_imports"]["python"]
    job = {"mode": "correctness", "language": language, "candidate": candidate_file, "configs": configs,
           "runs": runs, "allowed_imports": py, "never_import": ["eq", "codegen_eval"],
           "forbidden_read_roots": [str(eq_dir)] if (eq_dir := eq_package_dir()) else []}
    return job, run_meta


@dataclass
class WorkerReport:
    """What a correctness worker left behind, parsed: raw runs (not yet compared with the
    reference), configuration checks, and how the worker went.

    Attributes
    ----------
    raws : list of scoring.RawRun
        One per run of the job, in job order (``completed`` False for runs never reached).
    configs : list of dict
        ``kind`` (``valid``/``invalid``), ``why``, ``accepted`` (None when never tried), ``error``.
    load : dict or None
        The ``load`` event (``ok``, ``error``); None when the worker never got that far.
    violations : list of dict
        Forbidden acts the worker's guards saw (``kind``, ``detail``).
    finished : bool
        The worker logged ``done``.
    sandbox_applied : dict
        The sandbox features the worker applied to itself.
    running : dict or None
        ``{"case", "chunking"}`` of the run in progress when the worker stopped, if any.
    """

    raws: list = field(default_factory=list)
    configs: list = field(default_factory=list)
    load: dict | None = None
    violations: list = field(default_factory=list)
    finished: bool = False
    sandbox_applied: dict = field(default_factory=dict)
    running: dict | None = None


def collect(outcome: WorkerOutcome, job: dict, run_meta: list, job_dir: str) -> WorkerReport:
    """Turn the worker's event log and output files into a :class:`WorkerReport`.

    Parameters
    ----------
    outcome : WorkerOutcome
        What :func:`codegen_eval.sandbox.run_worker` returned.
    job : dict
        The job given to the worker (for its configuration checks).
    run_meta : list of tuple
        ``(case_id, chunking, repeat)`` per run, from :func:`build_job`.
    job_dir : str
        The worker's directory, holding ``out_<run>.bin``, ``len_<run>.bin`` and ``progress``.
    """
    report = WorkerReport(
        raws=[scoring.RawRun(case_id=c, chunking=k, repeat=rep) for c, k, rep in run_meta],
        configs=[{"kind": c["kind"], "why": c["why"], "accepted": None} for c in job["configs"]])
    for ev in outcome.events:
        kind = ev.get("event")
        if kind == "run":
            raw = report.raws[ev["run"]]
            raw.completed = "create_error" not in ev
            raw.error = ev.get("error")
            raw.error_call = ev.get("error_call")
            raw.create_error = ev.get("create_error")
            raw.flush_bytes = ev.get("flush_bytes", 0)
            try:
                raw.output = Path(job_dir, f"out_{ev['run']}.bin").read_bytes()
                blob = Path(job_dir, f"len_{ev['run']}.bin").read_bytes()
                raw.lengths = np.array(struct.unpack(f"<{len(blob) // 8}q", blob), dtype=np.int64)
            except OSError:
                raw.completed = False
        elif kind == "config":
            entry = report.configs[ev["index"]]
            entry["accepted"] = ev["accepted"]
            entry["error"] = ev.get("error") or ev.get("process_error")
        elif kind == "load":
            report.load = ev
        elif kind == "violation":
            report.violations.append(ev)
        elif kind == "done":
            report.finished = True
        elif kind == "sandbox":
            report.sandbox_applied = ev.get("applied", {})
    try:
        idx = int(Path(job_dir, "progress").read_text())
        if not any(ev.get("event") == "run" and ev.get("run") == idx for ev in outcome.events):
            report.running = {"case": run_meta[idx][0], "chunking": run_meta[idx][1]}
    except (OSError, ValueError, IndexError):
        pass
    return report


def environment(task: Task, seed: int, compile_info: dict | None) -> dict:
    """The environment recorded in every result.

    Returns
    -------
    dict
        ``cpu`` (model name), ``cpu_count``, ``platform``, versions (``python``, ``numpy``,
        ``scipy``, ``numba``, ``eq``), ``seed``, ``task``, ``compile`` (`compile_info`: command,
        compiler version, output, ``compile_s``) and ``sandbox`` (the isolation this machine allows).
    """
    import numba
    import scipy

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        import eq

        eq_version = getattr(eq, "__version__", "unknown")
    except ImportError:
        eq_version = "unavailable"
    return {"cpu": cpu, "cpu_count": os.cpu_count(), "platform": platform.platform(),
            "python": platform.python_version(), "numpy": np.__version__, "scipy": scipy.__version__,
            "numba": numba.__version__, "eq": eq_version, "seed": seed, "task": task.name,
            "compile": compile_info, "sandbox": capabilities()}


def score(candidate: str | Path | None, task: Task | None = None, seed: int = 0, case_ids=None, chunkings=None,
          with_throughput: bool = True, keep_job_dir: bool = False, reference: bool = False) -> dict:
    """Score one candidate file and return its result.

    Parameters
    ----------
    candidate : str or Path
        A ``.py``, ``.c`` or ``.cpp`` file (``.cc``/``.cxx`` count as C++).
    task : Task, optional
        The task (default: ``streaming_eq``).
    seed : int
        Seed of the input signals and random chunkings.
    case_ids, chunkings : list of str, optional
        Run only these cases / chunkings (``whole`` is always run). Throughput is then skipped.
    with_throughput : bool
        Measure the throughput of a candidate that passes.
    keep_job_dir : bool
        Keep the worker's temporary directory (for debugging).
    reference : bool
        Score ``eq.StreamingEqualizer`` through the Python contract instead (the one case where
        the worker may import ``eq``); `candidate` is then ignored.

    Returns
    -------
    dict
        A JSON-ready result with schema :data:`RESULT_SCHEMA`: ``verdict`` (``pass``/``fail``/
        ``error``), ``diagnoses``, ``properties``, ``throughput``, ``environment`` and more; the
        package README lists every key.

    Raises
    ------
    ValueError
        Unknown language suffix, case id or chunking name.

    Examples
    --------
    >>> result = score("tests/corpus/python/channel_crosstalk.py", with_throughput=False)  # doctest: +SKIP
    >>> result["verdict"], [d["code"] for d in result["diagnoses"]]  # doctest: +SKIP
    ('fail', ['channel_crosstalk'])
    """
    task = task or load_task()
    t_start = time.perf_counter()
    if reference:
        language, cand_name = "python", REFERENCE_CANDIDATE
    else:
        language, cand_name = language_of(candidate), str(candidate)
    built, refs, ref_s = prepare(task, seed, case_ids, chunkings)
    by_id = {c.id: c for c in built}
    job_dir = make_job_dir()
    try:
        source_bytes, cand_file, compile_info = _stage(candidate, task, language, job_dir, reference)
        job, run_meta = build_job(task, language, built, job_dir, cand_file)
        if reference:
            eq_dir = eq_package_dir()
            job.update(allow_modules=["eq"], extra_path=[str(eq_dir.parent)], forbidden_read_roots=[],
                       writable_roots=[str(eq_dir)])
        t0 = time.perf_counter()
        outcome = None
        worker = WorkerReport()
        if compile_info is None or compile_info["ok"]:
            outcome = run_worker(job_dir, job, task.data["limits"])
            worker = collect(outcome, job, run_meta, job_dir)
        correctness_s = time.perf_counter() - t0
        results = [scoring.measure(by_id[r.case_id], refs[r.case_id], r) for r in worker.raws]
        scoring.compare_with_whole(results, worker.raws)
        outcome_info = _outcome_info(outcome, worker.finished, task.data["limits"])
        diags = diagnosis.diagnose_infrastructure(compile_info, worker.load, outcome_info, worker.violations,
                                                  worker.running)
        if not any(d["code"] in ("compile_error", "load_error") for d in diags) and worker.load is not None:
            diags += diagnosis.diagnose_runs(by_id, results, worker.configs)
        diags = diagnosis.with_replay(diagnosis.merge(diags), _replay_target(candidate, task, seed, reference))
        verdict = scoring.verdict(diags)
        tp = None
        tp_s = 0.0
        if verdict == "pass" and with_throughput and not case_ids and not chunkings:
            t1 = time.perf_counter()
            tp = throughput.measure(task, language, job_dir, cand_file, seed, reference=reference)
            tp_s = time.perf_counter() - t1
        return {
            "schema": RESULT_SCHEMA, "task": task.name, "candidate": cand_name, "language": language,
            "sha256": hashlib.sha256(source_bytes).hexdigest(), "verdict": verdict, "diagnoses": diags,
            "properties": scoring.properties(results, worker.configs),
            "configs": worker.configs,
            "cases": [{"id": c.id, "config": dict(c.config), "frames": c.frames,
                       "tolerance": refs[c.id].tolerance.as_dict(),
                       "reference_oracle_max_diff": refs[c.id].oracle_max_diff} for c in built],
            "failing_runs": [_run_summary(r) for r in results if not r.ok][:MAX_FAILING_RUNS],
            "throughput": tp,
            "worker": outcome_info, "sandbox_applied": worker.sandbox_applied,
            "environment": environment(task, seed, compile_info),
            "timing_s": {"reference": ref_s, "correctness": correctness_s, "throughput": tp_s,
                         "total": time.perf_counter() - t_start},
            "plots": _plots(results, diags, by_id),
        }
    finally:
        if not keep_job_dir:
            remove_job_dir(job_dir)


def _stage(candidate, task: Task, language: str, job_dir: str, reference: bool) -> tuple[bytes, str, dict | None]:
    """Copy (and for C/C++ compile) the candidate into `job_dir`.

    Returns the source bytes, the file the worker loads, and the compile record (None for Python).
    """
    if reference:
        source_bytes = b"from eq import StreamingEqualizer\n"
        Path(job_dir, "candidate.py").write_bytes(source_bytes)
        return source_bytes, "candidate.py", None
    source_bytes = Path(candidate).read_bytes()
    cand_file = "candidate" + task.data["languages"][language]["suffix"]
    shutil.copyfile(candidate, Path(job_dir, cand_file))
    if language not in ("c", "cpp"):
        return source_bytes, cand_file, None
    res = compile_candidate(Path(job_dir, cand_file), language, job_dir, task.data["compile"][language])
    compile_info = {"ok": res.ok, "command": res.command, "output": res.output, "compile_s": res.compile_s,
                    "compiler_version": res.compiler_version}
    return source_bytes, "candidate.so", compile_info


def _outcome_info(outcome: WorkerOutcome | None, finished: bool, limits: dict) -> dict:
    """How the worker ended, as recorded in the result (``worker``); None: it never started."""
    return {"returncode": outcome.returncode if outcome else None,
            "killed_for": outcome.killed_for if outcome else None, "finished": finished,
            "wall_s": outcome.wall_s if outcome else 0.0,
            "stderr_tail": outcome.stderr_tail[-800:] if outcome else "",
            "max_rss_mb": outcome.max_rss_mb if outcome else 0.0,
            "memory_limit_mb": limits.get("memory_mb")}


def _replay_target(candidate, task: Task, seed: int, reference: bool) -> str:
    """The ``codegen-eval score`` arguments that name this candidate, task and seed."""
    parts = ["--reference"] if reference else [str(candidate)]
    if task.folder.resolve() != (TASKS_DIR / DEFAULT_TASK).resolve():
        parts += ["--task", task.name if task.folder.resolve().parent == TASKS_DIR else str(task.folder)]
    if seed:
        parts += ["--seed", str(seed)]
    return shlex.join(parts)


def _run_summary(r: scoring.RunResult) -> dict:
    out = {"case": r.case_id, "chunking": r.chunking, "repeat": r.repeat, "boundary_kind": r.boundary_kind,
           "completed": r.completed, "got_bytes": r.got_bytes, "expected_bytes": r.expected_bytes,
           "short_calls": r.short_calls, "over_calls": r.over_calls,
           "max_abs": scoring._finite(r.max_abs), "mismatch_fraction": r.mismatch_fraction,
           "mean_diff": r.mean_diff if np.isfinite(r.mean_diff) else None, "relative_rms": r.relative_rms
           if np.isfinite(r.relative_rms) else None, "identical_to_whole": r.identical_to_whole}
    out.update(r.evidence())
    if r.error:
        out["exception"] = r.error
    if r.create_error:
        out["create_error"] = r.create_error
    return out


def _plots(results: list[scoring.RunResult], diags: list[dict], cases: dict) -> list[dict]:
    """Error against frame index for every failing case, decimated by max to ``PLOT_POINTS``.

    Each case shows one run: the run a diagnosis cites as evidence if there is one, else the
    whole-input run if it fails, else the failing chunking with the fewest chunk boundaries (the
    easiest to relate errors to boundaries). Cited cases come first.
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
        fmt = cases[case_id].config["format"]
        plots.append({"case": case_id, "chunking": r.chunking, "format": fmt,
                      "unit": "abs" if cases[case_id].spec["kind"] == "float" else "LSB",
                      "frames": int(r.error_per_frame.size), "frames_per_point": step,
                      "error": [float(f"{v:.3g}") if np.isfinite(v) else None for v in pooled],
                      "boundaries_frames": [int(b) for b in bounds], "first_frame": r.first_frame,
                      "diagnoses": cited.get((case_id, r.chunking), [])})
    return plots


def score_many(candidates: list, task: Task | None = None, seed: int = 0, jobs: int = 1, **kwargs) -> list[dict]:
    """Score several candidates, `jobs` at a time (each in its own worker); results in input order.

    Parameters
    ----------
    candidates : list of str or Path
        Candidate files.
    task : Task, optional
        The task (default: ``streaming_eq``).
    seed : int
        Seed of the signals and random chunkings.
    jobs : int
        Candidates scored at the same time (threads, each waiting on its own worker process).
        Throughput is then measured one candidate at a time.
    **kwargs
        Passed to :func:`score`.

    Returns
    -------
    list of dict
        One result per candidate, in the order of `candidates`.

    Notes
    -----
    On Ctrl-C every running worker is killed before ``KeyboardInterrupt`` propagates.
    """
    from concurrent.futures import ThreadPoolExecutor

    task = task or load_task()
    prepare(task, seed, kwargs.get("case_ids"), kwargs.get("chunkings"))  # references once, before threads
    if jobs <= 1 or len(candidates) <= 1:
        return [score(c, task=task, seed=seed, **kwargs) for c in candidates]
    # Correctness in parallel; speed afterwards, one candidate at a time, so that no
    # measurement shares the machine with another candidate's runs.
    with_throughput = kwargs.pop("with_throughput", True)
    pool = ThreadPoolExecutor(max_workers=jobs)
    try:
        results = list(pool.map(
            lambda c: score(c, task=task, seed=seed, with_throughput=False, **kwargs), candidates))
    except KeyboardInterrupt:
        cancel_workers()
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        allow_workers()
    if with_throughput and not kwargs.get("case_ids") and not kwargs.get("chunkings"):
        for candidate, result in zip(candidates, results):
            if result["verdict"] == "pass":
                _add_throughput(result, candidate, task, seed, kwargs.get("reference", False))
    return results


def _add_throughput(result: dict, candidate, task: Task, seed: int, reference: bool) -> None:
    """Stage `candidate` again in a fresh directory and add its throughput to `result`."""
    job_dir = make_job_dir()
    try:
        _, cand_file, _ = _stage(candidate, task, result["language"], job_dir, reference)
        t0 = time.perf_counter()
        result["throughput"] = throughput.measure(task, result["language"], job_dir, cand_file, seed,
                                                  reference=reference)
        result["timing_s"]["throughput"] = time.perf_counter() - t0
        result["timing_s"]["total"] += result["timing_s"]["throughput"]
    finally:
        remove_job_dir(job_dir)

"""Score run folders into their results database: only what is missing, one result per transaction.

``codegen-eval score runs/NAME`` finds every sample of the run (:func:`codegen_eval.samples.iter_samples`),
records it in ``runs/NAME/results.sqlite`` (:class:`codegen_eval.results_db.ResultsDB`), and scores
only the candidates that have no valid result yet. A result is valid for a sample while its key
holds: the task's name and content hash, the harness version, the candidate's sha256, the run's seed
and the options (with or without throughput). Identical files (two samples that are the same code)
are scored once. Two ``score`` processes on the same database share the work through claims: a
candidate claimed by a live scorer is left to it, and the claims of a scorer that died are taken
over. A killed run loses only the results in flight.
"""
from __future__ import annotations

import glob
import hashlib
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import provenance
from .task import load_task



def options_of(language: str, with_throughput: bool, unsafe: bool) -> str:
    """The part of a result's key that says how it was scored: the language the file is compiled or
    loaded as (the same bytes as C and as Python are two candidates), whether throughput was
    measured, and whether the sandbox was off (such a result is never reused by a sandboxed run).

    Examples
    --------
    >>> options_of("c", True, False)
    'c/throughput'
    >>> options_of("python", False, True)
    'python/no-throughput/unsafe-no-sandbox'
    """
    parts = [language, "throughput" if with_throughput else "no-throughput"]
    return "/".join(parts + (["unsafe-no-sandbox"] if unsafe else []))


def _relative(path, base: Path) -> str:
    """`path` relative to the database's folder (a run folder that moves keeps its rows)."""
    return os.path.relpath(Path(path).resolve(), base)


@dataclass
class BatchSummary:
    """What one ``score`` of run folders did.

    Attributes
    ----------
    databases : list of str
        The databases written.
    samples : int
        Samples found.
    scored : int
        Candidates scored now.
    reused : int
        Samples whose valid result was already in the database.
    no_code : int
        Samples whose answer had no code (a failure in every metric, nothing to score).
    left_to_others : int
        Candidates another live scorer had claimed.
    unreadable : list of str
        Samples whose code file could not be read (left unscored).
    changed : list of str
        Code files that changed while they were scored (their result is not stored).
    harness_failures : list of str
        Candidates the harness could not score (not stored: the next run tries again).
    pruned : int
        Rows of samples no longer in their run folder, deleted.
    seconds : float
        Wall time of the whole command.
    """

    databases: list = field(default_factory=list)
    samples: int = 0
    scored: int = 0
    reused: int = 0
    no_code: int = 0
    left_to_others: int = 0
    unreadable: list = field(default_factory=list)
    changed: list = field(default_factory=list)
    harness_failures: list = field(default_factory=list)
    pruned: int = 0
    seconds: float = 0.0

    def line(self) -> str:
        """What happened, for the terminal: one line, then one per sample left unscored."""
        text = (f"{self.samples} samples: {self.scored} scored now, {self.reused} reused from the database, "
                f"{self.no_code} without code, {self.left_to_others} left to another scorer "
                f"({self.seconds:.1f} s); database: {', '.join(self.databases)}")
        for what, items in (("unreadable, not scored", self.unreadable),
                            ("changed while scored, not stored", self.changed),
                            ("the harness failed, not stored (the next run tries again)", self.harness_failures)):
            text += "".join(f"\n  {what}: {item}" for item in items)
        return text


def _sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _runs_of(refs: list) -> dict:
    """Samples grouped by the run folder they belong to."""
    out: dict = {}
    for ref in refs:
        out.setdefault(str(ref.root), []).append(ref)
    return out


def score_runs(paths: list, db_path: str | Path | None = None, task_name: str = "streaming_eq",
               seed: int | None = None, jobs: int = 1, executor: str = "local", scheduler: str | None = None,
               with_throughput: bool = True, rescore: bool = False, unsafe_no_sandbox: bool = False,
               progress: bool = True) -> BatchSummary:
    """Score every sample under `paths` into the results database of its run.

    Parameters
    ----------
    paths : list of str
        Run folders, globs or candidate files (:func:`codegen_eval.samples.iter_samples`).
    db_path : str or Path, optional
        One database for everything; default ``<run folder>/results.sqlite`` for each run.
    task_name : str
        Task of candidates found outside the run layout.
    seed : int, optional
        Seed of the signals; default the seed stored in the database (a fresh one, stored, the
        first time), so that a rerun reuses the results of the first.
    jobs : int
        Candidates scored at the same time by local processes (``executor="local"``).
    executor : {"local", "dask"}
        Where scoring jobs run: local processes, or a Dask cluster (`scheduler`, or a
        ``LocalCluster`` of `jobs` workers when None).
    with_throughput : bool
        Measure the throughput of passing candidates.
    rescore : bool
        Score again even where a valid result exists (the new result replaces the old link).
    unsafe_no_sandbox : bool
        Run without bubblewrap (for code you trust).
    progress : bool
        Show a progress bar on stderr.

    Returns
    -------
    BatchSummary
    """
    from .results_db import ResultKey, ResultsDB, default_owner
    from .samples import iter_samples

    t0 = time.perf_counter()
    refs = iter_samples(paths, default_task=task_name)
    if not refs:
        raise ValueError(f"no samples found under {', '.join(map(str, paths))}")
    summary = BatchSummary(samples=len(refs))
    groups = {str(db_path): refs} if db_path else {
        str(Path(root) / "results.sqlite"): group for root, group in _runs_of(refs).items()}
    owner = default_owner()
    harness = provenance.harness_version()
    # folders given whole (literally or through a glob): every run under one has had all its samples found
    whole = {Path(m).resolve() for p in paths for m in (glob.glob(str(p)) if glob.has_magic(str(p)) else [p])
             if Path(m).is_dir()}
    tasks: dict = {}
    for db_file, group in groups.items():
        summary.databases.append(db_file)
        db = ResultsDB(db_file)
        base = Path(db_file).resolve().parent
        try:
            run_seed = db.run_seed(seed)
            todo: dict = {}  # key -> (source path, [sample ids])
            seen: dict = {}  # run (as stored) -> the sample paths found in it now
            for ref in group:
                if ref.task not in tasks:
                    task = load_task(ref.task)
                    tasks[ref.task] = (task, provenance.task_sha256(task))
                task, task_hash = tasks[ref.task]
                try:
                    sha = _sha256(ref.code_path) if ref.code_path else None
                except OSError as exc:  # one unreadable sample is reported, the others go on
                    summary.unreadable.append(f"{ref.code_path}: {exc.strerror or exc}")
                    continue
                seen.setdefault(_relative(ref.root, base), set()).add(_relative(ref.code_path or ref.meta_path, base))
                sample_id = db.upsert_sample({
                    "path": _relative(ref.code_path or ref.meta_path, base), "run": _relative(ref.root, base),
                    "model": ref.model, "model_dir": ref.model_dir, "task": ref.task, "language": ref.language,
                    "sample": ref.sample, "turn": ref.turn, "sha256": sha,
                    "verdict_hint": None if ref.code_path else "no_code"})
                if sha is None:
                    summary.no_code += 1
                    continue
                key = ResultKey(task.name, task_hash, harness, sha, run_seed,
                                options_of(ref.language, with_throughput, unsafe_no_sandbox))
                found = None if rescore or key in todo else (db.lookup(key) or (
                    db.lookup(ResultKey(task.name, task_hash, harness, sha, run_seed,
                                        options_of(ref.language, True, unsafe_no_sandbox)))
                    if not with_throughput else None))
                if found is not None:
                    db.link(sample_id, found)
                    summary.reused += 1
                    continue
                # no valid result under this key: a result of another harness, task or seed is not counted
                db.unlink(sample_id)
                todo.setdefault(key, (ref.code_path, []))[1].append(sample_id)
            # a run folder named whole: rows of files deleted or remade since (code <-> no code) go
            for root in {ref.root for ref in group if any(Path(ref.root).resolve() == w or w in Path(ref.root).resolve().parents
                                                          for w in whole)}:
                summary.pruned += db.prune(_relative(root, base), seen.get(_relative(root, base), ()))
            # claimed a round at a time, so that two scorers on one database share the work as it goes
            round_size = len(todo) if executor == "dask" else max(1, jobs)
            pending = list(todo.items())
            bar = _progress_bar(len(pending), db_file) if progress and pending else None
            try:
                while pending:
                    mine, rest = {}, []
                    for key, value in pending:
                        if len(mine) >= round_size:
                            rest.append((key, value))
                            continue
                        if rescore:
                            db.forget(key)  # forced: the old result goes, whoever scores the key next
                        if db.claim(key, owner):
                            mine[key] = value
                            continue
                        found = db.lookup(key)  # stored by another scorer meanwhile, or claimed by a live one
                        if found is not None:
                            for sample_id in value[1]:
                                db.link(sample_id, found)
                            summary.reused += len(value[1])
                        else:
                            summary.left_to_others += len(value[1])
                        if bar is not None:
                            bar.update(1)
                    pending = rest
                    summary.scored += len(mine)
                    summary.reused += sum(len(ids) - 1 for _, ids in mine.values())
                    _score_claimed(db_file, mine, run_seed, tasks, owner, jobs, executor, scheduler,
                                   with_throughput, unsafe_no_sandbox, bar, summary)
            finally:
                if bar is not None:
                    bar.close()
            # what another scorer finished meanwhile is linked to these samples too
            for key, (_, sample_ids) in todo.items():
                found = db.lookup(key)
                if found is not None:
                    for sample_id in sample_ids:
                        db.link(sample_id, found)
        finally:
            db.close()
    summary.seconds = time.perf_counter() - t0
    return summary


def _progress_bar(total: int, db_file: str):
    from tqdm import tqdm

    return tqdm(total=total, unit="candidate", desc=f"scoring {Path(db_file).parent.name or db_file}",
                smoothing=0.1)


def _score_claimed(db_file: str, claimed: dict, seed: int, tasks: dict, owner: str, jobs: int, executor: str,
                   scheduler: str | None, with_throughput: bool, unsafe: bool, bar, summary: BatchSummary) -> None:
    """Score the claimed candidates and store each final result, with its links, as it arrives.

    Released instead of stored, and named in `summary`: a file that changed while it was scored, and
    a result of the harness's own failure (a scoring process or Dask worker lost twice, timed runs
    that could not be completed), which the next run scores again rather than keep against the
    candidate."""
    from .results_db import ResultsDB

    if not claimed:
        return
    keys = list(claimed)
    started = time.perf_counter()

    def store(i: int, result: dict) -> None:
        # a connection of its own: this runs in whichever thread delivered the result
        key = keys[i]
        with ResultsDB(db_file) as db:
            if result.get("sha256") != key.sha256:  # what was scored is not the file the samples hold
                summary.changed.append(str(claimed[key][0]))
                db.release(key, owner)
                return
            if result.get("harness_failure"):
                summary.harness_failures.append(f"{claimed[key][0]}: " + "; ".join(
                    d.get("detail", "") for d in result.get("diagnoses", []))[:300])
                db.release(key, owner)
                return
            result_id = db.store(key, result, owner,
                                 result.get("timing_s", {}).get("total", time.perf_counter() - started))
            for sample_id in claimed[key][1]:
                db.link(sample_id, result_id)
        if bar is not None:
            bar.update(1)

    by_task: dict = {}
    for i, key in enumerate(keys):
        by_task.setdefault(key.task, []).append(i)
    try:
        for task_name, indexes in by_task.items():
            task = tasks[task_name][0] if task_name in tasks else next(t for t, _ in tasks.values()
                                                                         if t.name == task_name)
            paths = [str(claimed[keys[i]][0]) for i in indexes]
            if executor == "dask":
                from .dask_executor import score_with_dask
                from .task import TASKS_DIR

                # a bundled task by name: the workers' checkouts need not be where this one is
                task_ref = task.name if task.folder.resolve().parent == TASKS_DIR.resolve() else str(task.folder)
                dask_jobs, readable = [], []
                for j, p in enumerate(paths):
                    try:
                        source = Path(p).read_bytes()
                    except OSError as exc:
                        summary.unreadable.append(f"{p}: {exc.strerror or exc}")
                        with ResultsDB(db_file) as db:
                            db.release(keys[indexes[j]], owner)
                        continue
                    readable.append(indexes[j])
                    dask_jobs.append({"name": p, "source": source, "suffix": Path(p).suffix, "task": task_ref,
                                      "seed": seed, "kwargs": {"unsafe_no_sandbox": unsafe}})
                if dask_jobs:
                    score_with_dask(dask_jobs, scheduler=scheduler, n_workers=jobs,
                                    with_throughput=with_throughput,
                                    on_result=lambda j, result: store(readable[j], result))
            else:
                from .evaluate import score_many

                score_many(paths, task=task, seed=seed, jobs=jobs, on_result=lambda j, result: store(indexes[j], result),
                           with_throughput=with_throughput, unsafe_no_sandbox=unsafe)
    except BaseException:
        # nothing half-done stays claimed by us: the unscored candidates are free for the next run
        with ResultsDB(db_file) as db:
            for key in keys:
                db.release(key, owner)
        raise

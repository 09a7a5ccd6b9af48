"""Score candidates on a Dask distributed cluster: each job runs in its sandbox on the worker that takes it.

A scoring job carries the candidate's source text (not a path: the worker may be another machine),
writes it into a private folder on the worker and scores it there with the harness's own
:func:`codegen_eval.evaluate._score_or_failure`, pinned to the worker's CPU. A candidate that
passes gets a second, timing job, which needs the worker resource ``timing``: one worker per
machine advertises it, so throughput is measured on a core no other timing run shares, and the
machine it was measured on is stored with the timing (``result["throughput"]["machine"]``).

Failures:

- A candidate's own failure (crash, hang, forbidden act) is a result of its scoring job, never an
  exception, so Dask's ``retries`` stay at 0: they would re-run a failing candidate.
- A worker lost during a job (killed, out of memory, machine gone) is the scheduler's to handle: it
  runs the job again elsewhere until the job has been on ``allowed-failures + 1`` lost workers, then
  gives up with :class:`distributed.KilledWorker`, which becomes an ``error`` result (``crash``) for
  that candidate alone. The cluster this module starts allows :data:`ALLOWED_FAILURES` loss (one
  second try, as the local ``--jobs N`` executor gives); on a cluster of your own, set
  ``distributed.scheduler.allowed-failures`` in the scheduler's configuration.
- No sandbox on a worker stops the whole run (:class:`RuntimeError`), as it does locally.

Jobs are submitted with ``pure=False`` (and keys of their own), so identical jobs are all run.
"""
from __future__ import annotations

import hashlib
import logging
import re
import shlex
import shutil
import tempfile
import uuid
from pathlib import Path

from . import provenance, sandbox
from .evaluate import _add_throughput, _harness_failure, _score_or_failure, pinned, unmeasured
from .runner import usable_cpus
from .task import SUFFIX_LANGUAGE, language_of, load_task

#: The worker resource a timing job needs; give it to one worker per machine.
TIMING = "timing"
#: Lost workers a job may survive on the cluster this module starts (then it is an error result).
ALLOWED_FAILURES = 1
#: Keys a job must have.
JOB_KEYS = ("name", "source", "suffix", "task", "seed", "kwargs")


def local_cluster(n_workers: int = 2):
    """A cluster on this machine: `n_workers` single-threaded worker processes, each restarted by its
    nanny when it dies; worker ``0`` alone has the resource ``timing``.

    Parameters
    ----------
    n_workers : int
        Worker processes; worker ``i`` scores on CPU ``usable_cpus()[i % len(usable_cpus())]``.

    Returns
    -------
    distributed.SpecCluster
        A ``LocalCluster`` in all but its class: ``LocalCluster`` gives every worker the same
        resources, so the workers are specified one by one. Its scheduler allows
        :data:`ALLOWED_FAILURES` lost worker per job and sends each worker one job at a time
        (``worker-saturation`` 1.0), so that no job waits on a busy worker while another is idle.

    Raises
    ------
    ValueError
        `n_workers` is below 1.
    """
    import dask
    from distributed import Nanny, Scheduler, SpecCluster

    if not isinstance(n_workers, int) or n_workers < 1:
        raise ValueError(f"n_workers must be a positive integer, got {n_workers!r}")
    scheduler = {"cls": Scheduler, "options": {"host": "127.0.0.1", "dashboard_address": ":0",
                                               "allowed_failures": ALLOWED_FAILURES}}
    workers = {i: {"cls": Nanny, "options": {"name": i, "host": "127.0.0.1", "nthreads": 1, "dashboard": False,
                                             "silence_logs": logging.ERROR,
                                             # the sandbox limits each candidate; the harness may use what it needs
                                             "memory_limit": 0,
                                             "resources": {TIMING: 1} if i == 0 else {}}}
               for i in range(n_workers)}
    with dask.config.set({"distributed.scheduler.worker-saturation": 1.0}):
        return SpecCluster(workers=workers, scheduler=scheduler, silence_logs=logging.ERROR,
                           name="codegen-eval")


def timing_workers(client) -> list[str]:
    """The addresses of the workers that advertise the resource ``timing``."""
    info = client.scheduler_info(n_workers=-1)["workers"]
    return sorted(addr for addr, w in info.items() if (w.get("resources") or {}).get(TIMING, 0) >= 1)


def score_with_dask(jobs: list[dict], *, scheduler: str | None = None, n_workers: int = 2,
                    with_throughput: bool = True, on_result=None) -> list[dict]:
    """Score `jobs` on a Dask cluster; results in job order.

    Parameters
    ----------
    jobs : list of dict
        One per candidate: ``name`` (the path shown in the result and its replay commands),
        ``source`` (the candidate's text, bytes or str), ``suffix`` (``.py``, ``.c``, ``.cpp``),
        ``task`` (task name or folder, as :func:`codegen_eval.task.load_task` takes it on the worker),
        ``seed`` (int) and ``kwargs`` (more arguments of :func:`codegen_eval.evaluate.score`, without
        ``with_throughput`` and ``cpu``).
    scheduler : str, optional
        Address of a running scheduler (``tcp://HOST:8786``); default: start :func:`local_cluster`
        and close it at the end.
    n_workers : int
        Workers of the local cluster (ignored with `scheduler`).
    with_throughput : bool
        Measure the throughput of every candidate that passes, in a timing job (not when ``kwargs``
        selects ``case_ids`` or ``chunkings``).
    on_result : callable, optional
        ``on_result(index, result)``, called in the calling thread as each final result (with its
        throughput) arrives, in the order they arrive.

    Returns
    -------
    list of dict
        One result per job, as :func:`codegen_eval.evaluate.score` returns it, with ``candidate``
        set to the job's ``name`` and ``environment["machine"]`` naming the machine that scored it.

    Raises
    ------
    TypeError
        A job misses a key, or its ``kwargs`` sets ``with_throughput`` or ``cpu``.
    ValueError
        A job's ``suffix`` is not a candidate language's, or its ``name`` is of another language.
    RuntimeError
        `with_throughput` and no worker advertises the resource ``timing``; a worker runs another
        version of the harness or task; or a worker has no sandbox. Raised before any job is
        submitted, except the last, which is found by the first job that runs there.

    Notes
    -----
    On Ctrl-C (or any exception, including one from `on_result`) the jobs are cancelled, and the
    client and the local cluster closed, before the exception propagates.

    Examples
    --------
    >>> from pathlib import Path
    >>> path = "tests/corpus/python/correct_numpy.py"
    >>> job = {"name": path, "source": Path(path).read_bytes(), "suffix": ".py", "task": "streaming_eq",
    ...        "seed": 1, "kwargs": {}}
    >>> [r["verdict"] for r in score_with_dask([job, job])]  # doctest: +SKIP
    ['pass', 'pass']
    """
    from distributed import Client, as_completed

    jobs = [_checked(i, job) for i, job in enumerate(jobs)]
    cluster = local_cluster(n_workers) if scheduler is None else None
    client = None
    futures: dict = {}
    try:
        client = Client(cluster if cluster is not None else scheduler)
        if cluster is not None:
            client.wait_for_workers(n_workers)
        if with_throughput and jobs and not timing_workers(client):
            raise RuntimeError(
                f"no worker of the scheduler {scheduler!r} has the resource {TIMING!r}, which throughput "
                f"measurements need: start one worker per machine with `--resources {TIMING}=1` (and the "
                f"others without it), or score without throughput (with_throughput=False)")
        if jobs:
            _check_workers(client, sorted({str(job["task"]) for job in jobs}))
        token = uuid.uuid4().hex[:8]
        done = as_completed()
        for i, job in enumerate(jobs):
            future = client.submit(_score_job, job, key=f"codegen-eval-score-{i}-{token}", pure=False, retries=0)
            futures[future] = (i, None)
            done.add(future)
        results: list = [None] * len(jobs)
        for future in done:
            i, scored = futures.pop(future)
            result = _outcome(future, jobs[i], scored)
            # what was scored is the job's source, hashed here, not what a worker says it hashed
            result["sha256"] = hashlib.sha256(jobs[i]["source"]).hexdigest()
            if scored is None and with_throughput and _timed(jobs[i], result):
                timing = client.submit(_timing_job, jobs[i], result, key=f"codegen-eval-timing-{i}-{token}",
                                       pure=False, retries=0, resources={TIMING: 1}, priority=1)
                futures[timing] = (i, result)
                done.add(timing)
                continue
            results[i] = result
            if on_result is not None:
                on_result(i, result)
        return results
    except BaseException:
        if client is not None and futures:
            try:
                client.cancel(list(futures), force=True)
            except Exception:  # the scheduler may be gone: closing below is all that is left
                pass
        raise
    finally:
        if client is not None:
            client.close()
        if cluster is not None:
            cluster.close()


def _checked(index: int, job: dict) -> dict:
    """`job` with its source as bytes, or a clear error."""
    if not isinstance(job, dict):
        raise TypeError(f"job {index} must be a dict with keys {JOB_KEYS!r}, got {type(job).__name__}")
    missing = [k for k in JOB_KEYS if k not in job]
    if missing:
        raise TypeError(f"job {index} ({job.get('name')!r}) misses {missing!r}; a job has keys {JOB_KEYS!r}")
    bad = sorted({"with_throughput", "cpu"} & set(job["kwargs"]))
    if bad:
        raise TypeError(f"job {index} ({job['name']!r}): kwargs may not set {bad!r} (the executor does: "
                        f"with_throughput is an argument of score_with_dask, the CPU is the worker's)")
    try:
        language = language_of("candidate" + str(job["suffix"]))
    except ValueError:
        raise ValueError(f"job {index} ({job['name']!r}): suffix {job['suffix']!r} is not a candidate "
                         f"language's, expected one of {sorted(SUFFIX_LANGUAGE)!r}") from None
    if not job["kwargs"].get("reference") and language_of(job["name"]) != language:
        raise ValueError(f"job {index}: name {job['name']!r} is not a {language} file, as suffix "
                         f"{job['suffix']!r} says")
    source = job["source"]
    if isinstance(source, str):
        source = source.encode()
    if not isinstance(source, bytes):
        raise TypeError(f"job {index} ({job['name']!r}): source must be bytes or str, got {type(source).__name__}")
    return dict(job, source=source, task=str(job["task"]), seed=int(job["seed"]), kwargs=dict(job["kwargs"]))


def _timed(job: dict, result: dict) -> bool:
    """Does `result` get a timing job (as :func:`codegen_eval.evaluate.score_many` decides)?"""
    kwargs = job["kwargs"]
    return result["verdict"] == "pass" and not kwargs.get("case_ids") and not kwargs.get("chunkings")


def _outcome(future, job: dict, scored: dict | None) -> dict:
    """The result of a finished job (a timing job when `scored` is the result it times), or the error
    result of a job the cluster could not run."""
    from distributed import KilledWorker

    stage = "scoring" if scored is None else "timing"
    try:
        return future.result()
    except sandbox.SandboxUnavailable as exc:
        raise RuntimeError(f"a Dask worker cannot start the sandbox: {exc}") from exc
    except KilledWorker as exc:
        why = (f"the Dask workers running its {stage} job were lost (more than the scheduler's allowed-failures, "
               f"{ALLOWED_FAILURES} on the cluster this module starts): {exc}")
    except Exception as exc:  # the harness failed on the worker for this job only
        why = f"its {stage} job failed on the Dask worker: {type(exc).__name__}: {exc}"
    if scored is not None:
        return unmeasured(scored, why, machine=None)
    return _harness_failure(job["name"], load_task(job["task"]), job["seed"], job["kwargs"], why)


def _check_workers(client, tasks: list[str]) -> None:
    """Raise RuntimeError unless every worker has this harness version and these tasks' contents."""
    here = _identity(tasks)
    try:
        there = client.run(_identity, tasks)
    except Exception as exc:
        raise RuntimeError(f"a Dask worker cannot load the harness or the tasks {tasks!r}: "
                           f"{type(exc).__name__}: {exc}") from exc
    for addr, ident in sorted(there.items()):
        for key in ("harness", "tasks"):
            if ident[key] != here[key]:
                raise RuntimeError(f"the Dask worker {addr} ({ident['machine']}) has {key} {ident[key]!r}, "
                                   f"this machine {here[key]!r}: install the same harness and tasks on every "
                                   f"worker, so that its results are valid here")


def _identity(tasks: list[str]) -> dict:
    """The harness version, the tasks' content hashes and the machine (run on each worker).

    The version is read from the files now, not from the cache of this process: a long-lived
    client or worker compares what is installed on both sides at the start of the run."""
    return {"harness": provenance.harness_version.__wrapped__(), "machine": provenance.machine(),
            "tasks": {t: provenance.task_sha256(load_task(t)) for t in tasks}}


def _worker_cpu() -> int:
    """The CPU this worker scores on: ``usable_cpus()[k % n]`` for the worker named ``k`` or ``NAME-k``
    (as ``dask worker --nworkers N --name NAME`` names them), else the first usable one (start such
    workers pinned, e.g. under ``taskset -c CPU``)."""
    from distributed import get_worker

    cpus = usable_cpus()
    match = re.fullmatch(r"(?:.*-)?(\d+)", str(get_worker().name))
    return cpus[int(match.group(1)) % len(cpus)] if match else cpus[0]


def _staged(job: dict, folder: str) -> str:
    """Write the job's source into `folder`; its path."""
    path = str(Path(folder, "candidate" + job["suffix"]))
    Path(path).write_bytes(job["source"])
    return path


def _renamed(result: dict, staged: str, name: str) -> dict:
    """`result` naming `name` where it named the staged copy (``candidate`` and the replay commands)."""
    result["candidate"] = name
    for d in result["diagnoses"]:
        d["replay"] = d.get("replay", "").replace(shlex.quote(staged), shlex.quote(name))
    return result


def _score_job(job: dict) -> dict:
    """Score one candidate on this worker (without throughput): the scoring job."""
    folder = tempfile.mkdtemp(prefix="codegen_eval_dask_")
    try:
        path = _staged(job, folder)
        kwargs = dict(job["kwargs"], with_throughput=False, cpu=_worker_cpu())
        result = _score_or_failure(path, load_task(job["task"]), job["seed"], kwargs)
        result["environment"]["machine"] = provenance.machine()
        return _renamed(result, path, job["name"])
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _timing_job(job: dict, result: dict) -> dict:
    """Add the throughput of a passing candidate, measured on this worker's CPU: the timing job."""
    folder = tempfile.mkdtemp(prefix="codegen_eval_dask_")
    try:
        path = _staged(job, folder)
        kwargs = job["kwargs"]
        try:
            with pinned(_worker_cpu()):  # the harness times on the first usable CPU: this one
                _add_throughput(result, path, load_task(job["task"]), job["seed"], kwargs.get("reference", False),
                                kwargs.get("unsafe_no_sandbox", False))
            result["throughput"]["machine"] = provenance.machine()
        except sandbox.SandboxUnavailable:
            raise
        except Exception as exc:
            unmeasured(result, f"{type(exc).__name__}: {exc}", machine=provenance.machine())
        return _renamed(result, path, job["name"])
    finally:
        shutil.rmtree(folder, ignore_errors=True)

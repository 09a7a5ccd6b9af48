"""Scoring on a Dask cluster (:mod:`codegen_eval.dask_executor`) against a real ``LocalCluster``-like
cluster of worker processes: the same verdicts as local scoring for the whole corpus, identical
jobs all run, a lost worker costs only its own candidate, and throughput needs a timing worker."""
import os
import signal
import threading
import time

import pytest
from distributed import Client, LocalCluster

from codegen_eval.dask_executor import TIMING, local_cluster, score_with_dask, timing_workers
from corpus_support import CORPUS, MANIFEST, PLAIN, TIMED

FAST = "python/syntax_error.py"  # scored in a second or two


def job(file: str, seed: int, source: bytes | None = None, **kwargs) -> dict:
    path = CORPUS / file
    return {"name": str(path), "source": path.read_bytes() if source is None else source, "suffix": path.suffix,
            "task": "streaming_eq", "seed": seed, "kwargs": kwargs}


def codes(result: dict) -> set:
    return {d["code"] for d in result["diagnoses"]}


@pytest.fixture(scope="module")
def cluster():
    """Two worker processes, worker 0 with the timing resource, shared by the tests that give a scheduler."""
    with local_cluster(2) as c, Client(c) as client:
        client.wait_for_workers(2)
        yield c


def test_whole_corpus_gets_the_local_verdicts(corpus_scores):
    """Every corpus candidate, scored with the same seed by a 2-worker local cluster (no scheduler
    given), gets the verdict of local scoring and the same diagnoses, but for those the manifest
    allows to vary; the attacks on timed runs are scored with throughput, as locally."""
    seed, local = corpus_scores["seed"], corpus_scores["results"]
    arrived: list = []
    dask_results = {}
    for entries, with_throughput in ((PLAIN, False), (TIMED, True)):
        results = score_with_dask([job(e["file"], seed) for e in entries], with_throughput=with_throughput,
                                  on_result=lambda i, r: arrived.append((with_throughput, i, r["verdict"])))
        assert sorted(i for tp, i, _ in arrived if tp == with_throughput) == list(range(len(entries)))
        dask_results.update({e["file"]: r for e, r in zip(entries, results)})
    for entry in MANIFEST:
        name, mine, theirs = entry["file"], dask_results[entry["file"]], local[entry["file"]]
        summary = [("seed", seed), ("dask", sorted(codes(mine))), ("local", sorted(codes(theirs)))]
        assert mine["candidate"] == str(CORPUS / name)
        assert mine["verdict"] == theirs["verdict"] == entry["expected_verdict"], (name, summary)
        varying = set(entry.get("allowed_extra_diagnoses", []))
        assert codes(mine) - varying == codes(theirs) - varying, (name, summary)
        assert set(entry["expected_diagnoses"]) <= codes(mine) <= set(entry["expected_diagnoses"]) | varying, name
        assert mine["sha256"] == theirs["sha256"] and mine["environment"]["seed"] == seed
        assert mine["sandbox"]["mode"] == "bwrap"
        assert mine["environment"]["machine"] == theirs["environment"]["machine"]  # one machine here
        for d in mine["diagnoses"]:  # replays name the candidate, not the worker's copy of it
            assert d["replay"] == "" or d["replay"].startswith(f"codegen-eval score {CORPUS / name} "), d["replay"]
        if entry.get("needs_throughput") and mine["verdict"] == "pass":
            assert mine["throughput"]["machine"] == mine["environment"]["machine"]


def test_exactly_one_worker_has_the_timing_resource(cluster):
    with Client(cluster) as client:
        workers = client.scheduler_info(n_workers=-1)["workers"]
        assert len(workers) == 2
        assert len(timing_workers(client)) == 1
        assert sorted(w["resources"].get(TIMING, 0) for w in workers.values()) == [0, 1]


def test_identical_jobs_are_both_run(cluster):
    """pure=False: two identical jobs are two tasks on the scheduler, each run to its own result."""
    seed = 7
    seen = []
    results = score_with_dask([job(FAST, seed), job(FAST, seed)], scheduler=cluster.scheduler_address,
                              with_throughput=False, on_result=lambda i, r: seen.append(i))
    assert sorted(seen) == [0, 1]
    assert [r["verdict"] for r in results] == ["error", "error"] and codes(results[0]) == {"compile_error"}
    assert results[0] is not results[1]
    with Client(cluster) as client:
        finished = client.run_on_scheduler(lambda dask_scheduler: sorted(
            {str(t[0]) for t in dask_scheduler.transition_log if t[1] == "processing" and t[2] == "memory"}))
    assert len([k for k in finished if k.startswith("codegen-eval-score-")]) >= 2


def test_a_worker_killed_twice_in_a_job_costs_only_that_candidate(cluster):
    """The worker running a (sleeping) candidate is killed; the scheduler runs the job again on
    another worker process, which is killed too: that candidate gets an error result, the others
    their own verdicts, and the restarted workers keep exactly one timing slot."""
    sleeper = b"import time\ntime.sleep(300)\n" + (CORPUS / "python/correct_numpy.py").read_bytes()
    jobs = [job("python/correct_numpy.py", 11, source=sleeper), job(FAST, 11), job("c/format_error.c", 11)]
    killed: list = []
    errors: list = []

    def executing(dask_worker):
        return [str(ts.key) for ts in dask_worker.state.executing]

    def kill_twice():
        try:
            with Client(cluster.scheduler_address) as client:
                deadline = time.monotonic() + 240
                while len(killed) < 2 and time.monotonic() < deadline:
                    running = client.run(executing, on_error="ignore")
                    hits = [addr for addr, keys in running.items() if any("-score-0-" in k for k in keys)]
                    pids = client.run(os.getpid, workers=hits, on_error="ignore") if hits else {}
                    fresh = [pid for pid in pids.values() if isinstance(pid, int) and pid not in killed]
                    if fresh:
                        time.sleep(1.0)  # in the middle of the job: its sandboxed worker is loading
                        os.kill(fresh[0], signal.SIGKILL)
                        killed.append(fresh[0])
                    time.sleep(0.2)
        except Exception as exc:  # reported by the test below
            errors.append(exc)

    killer = threading.Thread(target=kill_twice)
    killer.start()
    results = score_with_dask(jobs, scheduler=cluster.scheduler_address, with_throughput=False)
    killer.join()
    assert not errors and len(killed) == 2
    for pid in killed:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    assert results[0]["verdict"] == "error" and codes(results[0]) == {"crash"}
    assert "lost" in results[0]["diagnoses"][0]["detail"] and results[0]["candidate"] == jobs[0]["name"]
    assert [r["verdict"] for r in results[1:]] == ["error", "fail"]
    assert codes(results[1]) == {"compile_error"} and codes(results[2]) == {"format_error"}
    with Client(cluster) as client:
        client.wait_for_workers(2)
        deadline = time.monotonic() + 60
        while len(client.scheduler_info(n_workers=-1)["workers"]) != 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert len(timing_workers(client)) == 1


def test_a_scheduler_without_a_timing_worker_is_refused_before_any_job():
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=":0") as plain, \
            Client(plain) as client:
        with pytest.raises(RuntimeError, match=r"--resources timing=1.*with_throughput=False"):
            score_with_dask([job(FAST, 3)], scheduler=plain.scheduler_address)
        assert client.run_on_scheduler(lambda dask_scheduler: len(dask_scheduler.transition_log)) == 0
        # without throughput, the same cluster scores
        [result] = score_with_dask([job(FAST, 3)], scheduler=plain.scheduler_address, with_throughput=False)
        assert result["verdict"] == "error" and codes(result) == {"compile_error"}


def test_bad_jobs_are_refused_with_the_bad_value():
    good = job(FAST, 1)
    with pytest.raises(TypeError, match="misses.*'seed'"):
        score_with_dask([{k: v for k, v in good.items() if k != "seed"}])
    with pytest.raises(TypeError, match="with_throughput"):
        score_with_dask([dict(good, kwargs={"with_throughput": False})])
    with pytest.raises(ValueError, match=r"'\.rs'"):
        score_with_dask([dict(good, suffix=".rs")])
    with pytest.raises(ValueError, match="not a c file"):
        score_with_dask([dict(good, suffix=".c")])

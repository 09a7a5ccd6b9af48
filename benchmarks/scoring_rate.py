"""Candidates scored per minute: local processes (``--jobs 1``, ``--jobs 2``) against a 2-worker Dask cluster.

Usage::

    python benchmarks/scoring_rate.py [--all | --quick] [--seed N] [--out FILE.json]

Every executor scores the same candidates of the test corpus with the same seed, without and then
with throughput (measured for the candidates that pass), and the verdicts are compared between
executors. The default is a fixed subset of the corpus (:data:`SUBSET`: both correct and buggy
candidates in each language, so that the runs with throughput time some candidates); ``--all`` takes
the whole corpus (about an hour on 2 cores), ``--quick`` two fast candidates (a smoke test).

The Dask figures include starting and stopping the cluster (as ``--executor dask`` without a
scheduler does), which is also timed on its own. On a shared machine, compare figures of the same
run; the load average is printed.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    # Run as a script: make ``benchmarks`` and ``codegen_eval`` importable from the repository root.
    sys.path.append(str(Path(__file__).resolve().parent.parent))

from benchmarks.machine import load_average  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "corpus"
#: The default candidates: 4 correct (timed when throughput is on) and 8 buggy, in every language.
SUBSET = ("python/correct_numpy.py", "python/correct_numba.py", "python/channel_crosstalk.py",
          "python/state_reset_at_boundary.py", "python/syntax_error.py", "python/wrong_length.py",
          "c/correct.c", "c/format_error.c", "c/compile_error.c", "c/rounding_bias.c",
          "c/partial_frame_mishandled.c", "cpp/correct.cpp")
#: ``--quick``: two candidates that fail fast.
QUICK = ("python/syntax_error.py", "c/format_error.c")
EXECUTORS = ("local --jobs 1", "local --jobs 2", "dask LocalCluster, 2 workers")


def parse_args(argv=None) -> argparse.Namespace:
    """Command-line options."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    which = p.add_mutually_exclusive_group()
    which.add_argument("--all", action="store_true", help="the whole corpus (tests/corpus/manifest.json)")
    which.add_argument("--quick", action="store_true", help=f"only {', '.join(QUICK)}: a smoke test")
    p.add_argument("--seed", type=int, default=20260601, help="seed of the scoring, the same for every executor")
    p.add_argument("--out", type=Path, default=None, help="also write the figures to this JSON file")
    return p.parse_args(argv)


def candidates(args: argparse.Namespace) -> list[str]:
    """The corpus files to score, relative to ``tests/corpus``."""
    if args.all:
        return [e["file"] for e in json.loads((CORPUS / "manifest.json").read_text())]
    return list(QUICK if args.quick else SUBSET)


def run_executor(executor: str, files: list[str], seed: int, with_throughput: bool) -> list[dict]:
    """Score `files` with one executor; the results in order."""
    from codegen_eval import score_many
    from codegen_eval.dask_executor import score_with_dask

    paths = [CORPUS / f for f in files]
    if executor.startswith("local"):
        jobs = int(executor.rsplit(" ", 1)[1])
        return score_many([str(p) for p in paths], jobs=jobs, seed=seed, with_throughput=with_throughput)
    jobs = [{"name": str(p), "source": p.read_bytes(), "suffix": p.suffix, "task": "streaming_eq", "seed": seed,
             "kwargs": {}} for p in paths]
    return score_with_dask(jobs, n_workers=2, with_throughput=with_throughput)


def cluster_start_stop_s() -> float:
    """Seconds to start and stop the 2-worker cluster on its own."""
    from distributed import Client

    from codegen_eval.dask_executor import local_cluster

    t0 = time.perf_counter()
    with local_cluster(2) as cluster, Client(cluster) as client:
        client.wait_for_workers(2)
    return time.perf_counter() - t0


def measure(files: list[str], seed: int) -> dict:
    """Every executor, without and with throughput; rows of figures and the verdicts of each run."""
    rows = []
    for with_throughput in (False, True):
        verdicts = {}
        for executor in EXECUTORS:
            t0 = time.perf_counter()
            results = run_executor(executor, files, seed, with_throughput)
            wall_s = time.perf_counter() - t0
            verdicts[executor] = [r["verdict"] for r in results]
            timed = sum(1 for r in results if (r.get("throughput") or {}).get("rows"))
            rows.append({"executor": executor, "with_throughput": with_throughput, "candidates": len(files),
                         "timed": timed, "wall_s": wall_s, "candidates_per_min": 60.0 * len(files) / wall_s,
                         "verdicts": verdicts[executor]})
        same = all(v == verdicts[EXECUTORS[0]] for v in verdicts.values())
        for row in rows[-len(EXECUTORS):]:
            row["same_verdicts_as_jobs_1"] = same
    return {"rows": rows}


def table(rows: list[dict]) -> str:
    """A Markdown table of the figures."""
    lines = ["| executor | throughput | candidates | timed | wall s | candidates/min | same verdicts |",
             "|---|---|---:|---:|---:|---:|---|"]
    for r in rows:
        lines.append(f"| {r['executor']} | {'yes' if r['with_throughput'] else 'no'} | {r['candidates']} | "
                     f"{r['timed']} | {r['wall_s']:.1f} | {r['candidates_per_min']:.1f} | "
                     f"{'yes' if r['same_verdicts_as_jobs_1'] else 'NO'} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    from codegen_eval.provenance import machine

    args = parse_args(argv)
    files = candidates(args)
    load_start = load_average()
    figures = measure(files, args.seed)
    startup_s = cluster_start_stop_s()
    data = {"machine": machine(), "load_average_start": load_start, "load_average_end": load_average(),
            "seed": args.seed, "files": files, "subset": "quick" if args.quick else "all" if args.all else "default",
            "cluster_start_stop_s": startup_s, **figures}
    print(table(data["rows"]))
    print(f"\nCandidates: {len(files)} ({data['subset']} set of tests/corpus); seed {args.seed}; "
          f"'timed' = candidates whose throughput was measured.")
    print(f"Dask figures include starting and stopping the cluster: {startup_s:.1f} s on its own.")
    print(f"Machine: {data['machine']}; load average {load_start} at the start, {data['load_average_end']} at the end.")
    if args.out:
        args.out.write_text(json.dumps(data, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())

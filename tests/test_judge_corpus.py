"""The judge against the known-bug and hostile corpus: every candidate gets the verdict it deserves,
nothing outside the sandbox changes, neighbours and the harness are untouchable, and no cheat
buys speed.

All candidates are scored once (two at a time) in a session fixture (``conftest.corpus_scores``), between two snapshots
of the host folders a candidate would attack; the assertions then read the shared results.
"""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from codegen_eval import score, score_many
from codegen_eval.cases import build_cases
from codegen_eval.sandbox import project_folders
from codegen_eval.task import load_task
from corpus_support import CANARY, CORPUS, MANIFEST, POISON


@pytest.fixture(scope="module")
def corpus_run(corpus_scores):
    return corpus_scores["results"], corpus_scores["before"], corpus_scores["after"]


@pytest.fixture(scope="module")
def corpus_results(corpus_run):
    return corpus_run[0]


@pytest.mark.parametrize("entry", MANIFEST, ids=[e["file"] for e in MANIFEST])
def test_corpus_verdict_and_diagnoses(entry, corpus_results):
    """Every candidate gets the verdict it deserves, with its expected diagnoses and no others
    (the attacks on timed runs scored with throughput, the rest without)."""
    result = corpus_results[entry["file"]]
    codes = {d["code"] for d in result["diagnoses"]}
    summary = [("seed", result["environment"]["seed"])] + [(d["code"], d["detail"]) for d in result["diagnoses"]]
    assert result["verdict"] == entry["expected_verdict"], summary
    assert set(entry["expected_diagnoses"]) <= codes, summary
    assert codes <= set(entry["expected_diagnoses"]) | set(entry.get("allowed_extra_diagnoses", [])), summary


def test_verdict_is_pass_exactly_when_every_run_and_check_is_right(corpus_results):
    """The property over the whole corpus: pass <=> every run right, every configuration check
    right, the workers done and no forbidden act seen; and a failure always has a diagnosis."""
    for name, result in corpus_results.items():
        p = result["properties"]
        killed = result["worker"].get("returncode") not in (0, None)
        timed_wrong = bool((result.get("throughput") or {}).get("failures")
                           or (result.get("throughput") or {}).get("error_side") == "candidate")
        # the configuration checks read from their raw records, not from the scored properties:
        # a valid configuration is right when accepted and then processing without an error
        configs_right = all((c["accepted"] is True and not c.get("error")) if c["kind"] == "valid"
                            else not c["accepted"] for c in result["configs"])
        assert (p["runs_ok"] == p["runs"]) == (not result["failing_runs"]), name
        all_right = (p["runs"] > 0 and p["runs_ok"] == p["runs"] and configs_right
                     and result["worker"]["finished"] and not result["violations"] and not killed
                     and not timed_wrong)
        assert (result["verdict"] == "pass") == all_right, name
        if result["verdict"] != "pass":
            assert result["diagnoses"], name


def test_nothing_outside_the_sandbox_changed(corpus_run):
    """The canary folder, the reference package and the harness are byte-identical afterwards,
    and no attack left its marker anywhere on the host."""
    _, before, after = corpus_run
    for root in before:
        assert after[root] == before[root], root
    roots = [CANARY, *project_folders()]
    assert not [p for root in roots for p in root.rglob(POISON)]
    assert not [e["forbidden_path"] for e in MANIFEST if "forbidden_path" in e and os.path.exists(e["forbidden_path"])]


def test_every_candidate_ran_in_the_sandbox(corpus_results):
    """What the kernel says of each worker, read from outside: seccomp filter on, no capabilities,
    pid 1 of its own namespace, and the reference invisible inside."""
    for name, result in corpus_results.items():
        box = result["sandbox"]
        # the probe refuses a sandbox that shows the reference; what it saw of itself:
        assert box["mode"] == "bwrap" and (box["probe"]["uid"], box["probe"]["pid"]) == (65534, 1), name
        assert box["bwrap"]["version"], name
        observed = box.get("observed")
        if observed:  # absent only where the worker died before the parent could look
            assert observed["seccomp_mode"] == 2, name
            assert observed["cap_eff"] == "0000000000000000", name
            assert observed["ns_pid"] == 1, name
            assert "--unshare-all" in box["command"], name


def test_no_report_line_can_be_forged_on_a_terminal(corpus_results):
    """Control characters from a candidate's process (its exception messages, its stderr) are
    escaped in every report, so none can move or redraw a line on a terminal."""
    from codegen_eval import report

    result = corpus_results["hostile/python/terminal_escape_forged_verdict.py"]
    text = report.text_summary([result]) + report.markdown_table([result]) + json.dumps(result)
    assert "\x1b" not in text and "\r" not in text
    assert "\\x1b" in report.text_summary([result])


def test_a_hung_candidate_is_ended_by_the_stall_limit(corpus_results):
    """A thread that keeps the old progress file fresh does not fool the parent, which sees no
    answer: the worker is ended for a stall, long before the wall-clock limit."""
    worker = corpus_results["hostile/python/progress_spoof_hang.py"]["worker"]
    assert worker["killed_for"] == "stall"
    assert worker["wall_s"] < load_task().data["limits"]["wall_s"] / 2


def test_every_diagnosis_has_evidence_and_replay(corpus_results):
    for name, result in corpus_results.items():
        for d in result["diagnoses"]:
            assert d["replay"].startswith("codegen-eval score "), name
            for ev in d["evidence"]:
                if "chunking" in ev:
                    assert ev["case"], name


@pytest.mark.parametrize("name", ["python/state_reset_at_boundary.py", "c/state_reset_at_boundary.c"])
def test_state_reset_diverges_at_a_chunk_boundary(corpus_results, name):
    """A state reset shows first in the frame right after a chunk boundary: distance 0. Checked
    against chunk ends recomputed from the case's chunk sizes, not the judge's own distance."""
    (diag,) = [d for d in corpus_results[name]["diagnoses"] if d["code"] == "state_reset_at_boundary"]
    assert diag["evidence"]
    for ev in diag["evidence"]:
        assert ev["boundary_distance_frames"] == 0, ev
        (case,) = build_cases(load_task().data, corpus_results[name]["environment"]["seed"], [ev["case"]])
        ends_bytes = np.cumsum(case.chunkings[ev["chunking"]])[:-1]
        # the first wrong frame is the one a chunk ends in (completed by the next call), or the
        # first frame of the next chunk when the chunk ends on a frame boundary
        assert ev["frame"] in set((ends_bytes // case.frame_bytes).tolist()), ev
        assert ev["frame"] > 0
    ev = diag["evidence"][0]
    seed = corpus_results[name]["environment"]["seed"]
    assert diag["replay"] == (f"codegen-eval score {CORPUS / name} --seed {seed} --case {ev['case']} "
                              f"--chunking {ev['chunking']}")


@pytest.mark.parametrize("name, code, key, expected", [
    ("python/format_error_s24.py", "format_error", "formats", ["s24le"]),
    ("python/format_error_u8.py", "format_error", "formats", ["u8"]),
    ("c/format_error.c", "format_error", "formats", ["s16le"]),
    ("python/wrong_coefficients.py", "wrong_coefficients", "band_types", ["lowshelf"]),
])
def test_diagnoses_name_the_format_or_band_type(corpus_results, name, code, key, expected):
    (diag,) = [d for d in corpus_results[name]["diagnoses"] if d["code"] == code]
    assert diag[key] == expected


def test_c_write_past_the_room_is_a_wrong_length(tmp_path):
    """eq_process writing one byte past the n + 4 * channels bytes it was given is caught by the
    guard bytes after the output buffer."""
    source = (CORPUS / "c" / "correct.c").read_text()
    end = "    return written;\n}"
    assert source.count(end) == 1
    candidate = tmp_path / "overrun.c"
    candidate.write_text(source.replace(end, "    out[n + 24] = 0;  /* past the room for up to 6 channels */\n" + end))
    result = score(candidate, case_ids=["ch-2"], with_throughput=False)
    (diag,) = [d for d in result["diagnoses"] if d["code"] == "wrong_length"]
    assert "more bytes than the room" in diag["detail"]
    assert result["verdict"] == "fail"


def test_neighbours_and_the_harness_are_untouchable():
    """Candidates that signal other workers and the harness, scored two at a time beside correct
    ones: they are stopped by the filter, the correct neighbours still pass, and every result
    comes back."""
    hostile = [CORPUS / "hostile" / "c" / "signal_neighbour.c", CORPUS / "hostile" / "c" / "sigint_harness.c"]
    good = [CORPUS / "c" / "correct.c", CORPUS / "cpp" / "correct.cpp"]
    results = score_many([hostile[0], good[0], hostile[1], good[1]], jobs=2, with_throughput=False)
    assert [r["verdict"] for r in results] == ["fail", "pass", "fail", "pass"]
    assert {d["code"] for r in (results[0], results[2]) for d in r["diagnoses"]} == {"disallowed_import"}


def _speedups(result: dict) -> dict:
    return {row["chunking"]: row["speedup"] for row in result["throughput"]["rows"]}


@pytest.mark.parametrize("honest, cheats", [
    ("python/correct_numpy.py", ["hostile/python/timer_patch.py", "hostile/python/spoof_throughput_lines.py"]),
    ("c/correct.c", ["hostile/c/spinner_thread.c"]),
])
def test_speed_cheats_buy_no_speed(honest, cheats):
    """A patched timer, forged throughput lines and a spinner thread: each candidate is timed by
    the parent's clock, in its own sandbox, frozen while the reference runs. Its reported speed-up
    is within 1.5x of the same code without the cheat (measured in the same run)."""
    results = score_many([CORPUS / honest] + [CORPUS / c for c in cheats], jobs=1)
    assert [r["verdict"] for r in results] == ["pass"] * len(results)
    base = _speedups(results[0])
    for name, result in zip(cheats, results[1:]):
        got = _speedups(result)
        assert set(got) == set(base)
        for chunking in base:
            assert got[chunking] <= 1.5 * base[chunking], (name, chunking, got[chunking], base[chunking])
        assert not result["throughput"]["implausible"]


def test_the_harness_memory_stays_bounded_under_an_output_flood(tmp_path):
    """A candidate that returns 64 MiB per call costs the harness no more than its stated bound
    (README: 64 MB per candidate above what a correct candidate costs). Measured in a fresh
    process: its own peak resident memory, without its children's."""
    script = (
        "import json, resource, sys\n"
        "from codegen_eval import score\n"
        "peak = lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024\n"
        "score(sys.argv[1], with_throughput=False, seed=0)\n"
        "base = peak()\n"
        "r = score(sys.argv[2], with_throughput=False, seed=0)\n"
        "print(json.dumps({'base_mb': base, 'flood_mb': peak(), 'verdict': r['verdict']}))\n")
    out = subprocess.run([sys.executable, "-c", script, str(CORPUS / "c" / "correct.c"),
                          str(CORPUS / "hostile" / "python" / "output_flood.py")],
                         capture_output=True, text=True, timeout=600, cwd=tmp_path, env=dict(os.environ))
    assert out.returncode == 0, out.stderr[-2000:]
    figures = json.loads(out.stdout.strip().splitlines()[-1])
    assert figures["verdict"] == "fail"
    assert figures["flood_mb"] - figures["base_mb"] < 64, figures


def _scoring_processes() -> list[int]:
    """Pids of this process's children that score candidates (:mod:`codegen_eval.parallel`)."""
    out = []
    for pid in os.listdir("/proc"):
        try:
            with open(f"/proc/{pid}/stat") as f:
                ppid = int(f.read().rpartition(")")[2].split()[1])
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read()
        except (OSError, ValueError):
            continue
        if ppid == os.getpid() and b"codegen_eval.parallel" in cmd:
            out.append(int(pid))
    return out


def test_a_scoring_process_that_dies_costs_only_a_rescore():
    """If the harness's process scoring one candidate is killed (by the machine, never by a
    candidate), the batch goes on: that candidate is scored again and every result comes back."""
    import signal
    import threading
    import time

    paths = [CORPUS / "c" / "correct.c", CORPUS / "python" / "correct_numpy.py", CORPUS / "c" / "crash.c"]
    out = {}
    thread = threading.Thread(target=lambda: out.update(results=score_many(paths, jobs=2, with_throughput=False)))
    thread.start()
    deadline = time.monotonic() + 60
    killed = None
    while killed is None and time.monotonic() < deadline:
        # a scoring process with a sandboxed worker under it is in the middle of scoring
        busy = [pid for pid in _scoring_processes() if any(_is_worker(c) for c in _descendants(pid))]
        if busy:
            try:
                os.kill(busy[0], signal.SIGKILL)
                killed = busy[0]
            except ProcessLookupError:  # it finished meanwhile: take the next one
                pass
        time.sleep(0.05)
    thread.join(timeout=600)
    assert killed is not None
    assert [r["verdict"] for r in out["results"]] == ["pass", "pass", "error"]


def test_parallel_scoring_works_from_any_main_module(tmp_path):
    """score_many with several jobs from a script without a ``__main__`` guard, and from standard
    input: the scoring processes never run the caller's main module again."""
    code = ("from codegen_eval import score_many\n"
            f"rs = score_many([{str(CORPUS / 'c' / 'correct.c')!r}, {str(CORPUS / 'c' / 'crash.c')!r}], jobs=2, "
            "with_throughput=False, case_ids=['ch-2'])\n"
            "print([r['verdict'] for r in rs])\n")
    (tmp_path / "unguarded.py").write_text(code)
    for argv, stdin in (([sys.executable, str(tmp_path / "unguarded.py")], None), ([sys.executable, "-"], code)):
        out = subprocess.run(argv, input=stdin, capture_output=True, text=True, timeout=300, cwd=tmp_path)
        assert out.returncode == 0, out.stderr[-2000:]
        assert out.stdout.strip().splitlines() == ["['pass', 'error']"], out.stdout


def _descendants(root: int) -> set[int]:
    """Pids of every living descendant of `root` (scoring processes, bwrap, workers)."""
    parent = {}
    for pid in os.listdir("/proc"):
        try:
            with open(f"/proc/{pid}/stat") as f:
                parent[int(pid)] = int(f.read().rpartition(")")[2].split()[1])
        except (OSError, ValueError):
            continue
    found, frontier = set(), {root}
    while frontier:
        frontier = {pid for pid, ppid in parent.items() if ppid in frontier} - found
        found |= frontier
    return found


def _is_worker(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return b"/opt/codegen_eval/worker.py" in f.read()
    except OSError:
        return False


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rpartition(")")[2].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.parametrize("jobs", [1, 2])
def test_ctrl_c_ends_the_whole_batch(jobs):
    """Ctrl-C while candidates are being scored: the harness exits 130 at once, and no scoring
    process or sandboxed worker is left behind."""
    import signal
    import time

    paths = [CORPUS / "python" / "infinite_loop.py", CORPUS / "python" / "correct_numpy.py"]
    proc = subprocess.Popen([sys.executable, "-m", "codegen_eval", "score", *map(str, paths), "--jobs", str(jobs),
                             "--no-throughput"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    seen: set = set()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not any(_is_worker(pid) for pid in seen):
        seen |= _descendants(proc.pid)
        time.sleep(0.05)
    time.sleep(1.0)  # in the middle of the runs
    seen |= _descendants(proc.pid)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert b"interrupted" in err
    assert len(seen) >= 2  # at least a bwrap and its worker were seen
    deadline = time.monotonic() + 30  # the kernel reaps them at its own pace on a busy machine
    while [pid for pid in seen if _alive(pid)] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not [pid for pid in seen if _alive(pid)]

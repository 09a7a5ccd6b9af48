"""``codegen-eval score runs/NAME``: samples into the run's results database, resumable and shared.

The run folders are made by ``generate`` against the test model server over real HTTP, or laid
out with :mod:`codegen_eval.samples` from corpus candidates; scoring is the real sandboxed one.
Two scorers on one database are two real processes, and a killed scorer is killed with SIGKILL.
"""
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from codegen_eval import cli, samples
from codegen_eval.model_server import serve
from codegen_eval.results_db import ResultsDB

CORPUS = Path(__file__).resolve().parent / "corpus"
ROOT = Path(__file__).resolve().parent.parent
SUFFIX = {"python": ".py", "c": ".c", "cpp": ".cpp"}


def scored_now(text: str) -> int:
    """The count of candidates a ``score`` command scored itself, from its summary line."""
    return int(re.search(r"(\d+) scored now", text).group(1))


def lay_out(root: Path, entries) -> None:
    """Write sample turns (model, language, sample index, code or None) as ``generate`` would."""
    for model, language, index, code in entries:
        folder = samples.sample_folder(root, model, "streaming_eq", language)
        samples.write_sample(folder, index, 1, SUFFIX[language], code,
                             {"schema": samples.SAMPLE_SCHEMA, "model": model, "task": "streaming_eq",
                              "language": language, "sample": index, "turn": 1})


def variants(path: str, n: int) -> list[str]:
    """`n` different files with the behaviour of one corpus candidate (a distinct comment each)."""
    text = (CORPUS / path).read_text()
    mark = "#" if path.endswith(".py") else "//"
    return [f"{text}\n{mark} variant {i}\n" for i in range(n)]


def run_cli(*args) -> tuple[int, str]:
    proc = subprocess.run([sys.executable, "-m", "codegen_eval", *map(str, args)], cwd=ROOT,
                          capture_output=True, text=True)
    return proc.returncode, proc.stdout + proc.stderr


def rows(db_file: Path, sql: str) -> list:
    con = sqlite3.connect(db_file)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


@pytest.fixture(scope="module")
def generated_run(tmp_path_factory):
    """3 models x python x 2 samples from the test server; then scored once, without throughput."""
    out = tmp_path_factory.mktemp("runs") / "demo"
    server = serve("127.0.0.1", 0, CORPUS)
    os.environ.setdefault("CODEGEN_EVAL_BATCH_KEY", "anything")
    try:
        assert cli.main(["generate", "--base-url", server.base_url, "--api-key-env", "CODEGEN_EVAL_BATCH_KEY",
                         "--model", "demo-correct,demo-buggy,demo-nocode", "--language", "python",
                         "--samples", "2", "--temperature", "0", "--out", str(out), "--no-progress"]) == 0
    finally:
        server.shutdown()
        server.server_close()
    code, text = run_cli("score", out, "--no-throughput", "--seed", 12345)
    assert code == 0, text
    return out, text


def test_a_run_is_scored_into_its_database(generated_run):
    """Every sample gets its verdict; identical code is scored once; answers without code are kept."""
    out, text = generated_run
    assert scored_now(text) == 2  # the two correct samples are one file's bytes, so are the two buggy ones
    assert "2 without code" in text
    with ResultsDB(out / "results.sqlite") as db:
        records = db.sample_records()
        assert db.run_seed() == 12345
    verdicts = {(r["model"], r["sample"]): (r["verdict"], r["diagnoses"]) for r in records}
    assert verdicts == {("demo-correct", 0): ("pass", []), ("demo-correct", 1): ("pass", []),
                        ("demo-buggy", 0): ("fail", ["state_reset_at_boundary"]),
                        ("demo-buggy", 1): ("fail", ["state_reset_at_boundary"]),
                        ("demo-nocode", 0): ("no_code", []), ("demo-nocode", 1): ("no_code", [])}
    assert "demo-correct" in text and "pass@1" in text  # the table of the run


def test_a_rerun_reuses_and_a_changed_file_is_scored_again(generated_run, tmp_path):
    out, _ = generated_run
    code, text = run_cli("score", out, "--no-throughput")
    assert code == 0 and scored_now(text) == 0 and "4 reused" in text, text
    buggy = next((out / samples.model_dir("demo-buggy")).rglob("sample_001.py"))
    buggy.write_text(buggy.read_text() + "\n# edited\n")
    code, text = run_cli("score", out, "--no-throughput")
    assert code == 0 and scored_now(text) == 1, text
    with ResultsDB(out / "results.sqlite") as db:
        assert {r["verdict"] for r in db.sample_records() if r["model"] == "demo-buggy"} == {"fail"}
        assert db.counts()["unscored"] == 0
    # the reports are read back from the database
    code, text = run_cli("report", out, "--json", tmp_path / "r.json")
    assert code == 0, text
    results = json.loads((tmp_path / "r.json").read_text())["results"]
    assert sorted(r["verdict"] for r in results) == ["fail", "fail", "pass", "pass"]


def test_rescore_scores_everything_again(generated_run):
    out, _ = generated_run
    before = rows(out / "results.sqlite", "SELECT max(id) FROM results")[0][0]
    code, text = run_cli("score", out, "--no-throughput", "--rescore")
    assert code == 0 and scored_now(text) == 3, text  # correct, buggy, edited buggy
    assert rows(out / "results.sqlite", "SELECT min(id) FROM results")[0][0] > before


def test_two_scorers_on_one_database_score_each_candidate_once(tmp_path):
    """Two real processes started together: every candidate stored once, the counts add up, no claim
    is left and the database is intact."""
    run = tmp_path / "shared"
    lay_out(run, [("m", "c", i, code) for i, code in enumerate(variants("c/compile_error.c", 6))]
            + [("m", "python", i, code) for i, code in enumerate(variants("python/missing_class.py", 6))])
    procs = [subprocess.Popen([sys.executable, "-m", "codegen_eval", "score", str(run), "--no-throughput"],
                              cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
             for _ in range(2)]
    texts = [p.communicate()[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], texts
    assert sum(scored_now(t) for t in texts) == 12, texts
    db_file = run / "results.sqlite"
    assert rows(db_file, "SELECT count(*), count(DISTINCT sha256) FROM results") == [(12, 12)]
    assert rows(db_file, "SELECT count(*) FROM claims") == [(0,)]
    assert rows(db_file, "PRAGMA integrity_check") == [("ok",)]
    with ResultsDB(db_file) as db:
        records = db.sample_records()
    assert len(records) == 12
    assert {r["verdict"] for r in records} == {"error"}


def test_a_killed_scorer_loses_only_what_was_in_flight(tmp_path):
    """SIGKILL after the first stored result: the database is intact, the dead scorer's claims are
    taken over, and the next run scores only what is missing."""
    run = tmp_path / "killed"
    lay_out(run, [("m", "python", i, code) for i, code in enumerate(variants("python/returns_input.py", 4))])
    db_file = run / "results.sqlite"
    proc = subprocess.Popen([sys.executable, "-m", "codegen_eval", "score", str(run), "--no-throughput"],
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 600
        stored = 0
        while time.monotonic() < deadline and proc.poll() is None:
            if db_file.exists():
                try:
                    stored = rows(db_file, "SELECT count(*) FROM results")[0][0]
                except sqlite3.OperationalError:
                    stored = 0  # the file exists before its schema
            if stored:
                break
            time.sleep(0.05)
        assert stored >= 1 and proc.poll() is None, "the scorer finished before it could be killed"
        os.killpg(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
    assert rows(db_file, "PRAGMA integrity_check") == [("ok",)]
    stored = rows(db_file, "SELECT count(*) FROM results")[0][0]
    assert rows(db_file, "SELECT count(*) FROM claims")[0][0] <= 1  # at most the candidate in flight
    code, text = run_cli("score", run, "--no-throughput")
    assert code == 0 and scored_now(text) == 4 - stored, text
    assert rows(db_file, "SELECT count(*), count(DISTINCT sha256) FROM results") == [(4, 4)]
    assert rows(db_file, "SELECT count(*) FROM claims") == [(0,)]


def test_run_folder_usage_errors(tmp_path):
    run = tmp_path / "r"
    lay_out(run, [("m", "python", 0, "x = 1\n")])
    for args, expected in ((("--case", "band-peaking"), "--case"), (("--reference",), "--reference"),
                           (("--scheduler", "tcp://127.0.0.1:1"), "--executor dask")):
        code, text = run_cli("score", run, *args)
        assert code == 2 and expected in text, text
    code, text = run_cli("report", tmp_path)
    assert code == 2 and "score it first" in text, text


def test_deleted_samples_leave_the_database_and_plain_files_share_one(tmp_path):
    """Scoring a whole run folder drops the rows of samples deleted since; plain candidate files with
    --db are one sample each."""
    run = tmp_path / "p"
    lay_out(run, [("m", "python", i, code) for i, code in enumerate(variants("python/missing_class.py", 2))])
    assert run_cli("score", run, "--no-throughput")[0] == 0
    gone = next(run.rglob("sample_001.py"))
    gone.unlink()
    gone.with_suffix(".json").unlink()
    code, text = run_cli("score", run, "--no-throughput")
    assert code == 0 and scored_now(text) == 0, text
    with ResultsDB(run / "results.sqlite") as db:
        assert [r["sample"] for r in db.sample_records()] == [0] and db.counts()["samples"] == 1
    plain = [CORPUS / "python" / "missing_class.py", CORPUS / "c" / "compile_error.c"]
    code, text = run_cli("score", *plain, "--db", tmp_path / "plain.sqlite", "--no-throughput")
    assert code == 0 and scored_now(text) == 2, text
    with ResultsDB(tmp_path / "plain.sqlite") as db:
        assert sorted(r["model"] for r in db.sample_records()) == sorted(map(str, plain))


def test_a_run_scored_on_a_dask_cluster_lands_in_its_database(tmp_path):
    """--executor dask without a scheduler: a local cluster of --jobs workers; the verdicts are those
    of local scoring and every result is stored."""
    run = tmp_path / "d"
    lay_out(run, [("m", "python", 0, (CORPUS / "python" / "missing_class.py").read_text()),
                  ("m", "c", 0, (CORPUS / "c" / "compile_error.c").read_text())])
    code, text = run_cli("score", run, "--executor", "dask", "--jobs", "2", "--no-throughput")
    assert code == 0 and scored_now(text) == 2, text
    with ResultsDB(run / "results.sqlite") as db:
        records = db.sample_records()
    assert {(r["language"], r["verdict"], tuple(r["diagnoses"])) for r in records} == {
        ("python", "error", ("load_error",)), ("c", "error", ("compile_error",))}

"""Hostile-model attacks on the run pipeline (generate -> score -> leaderboard), each asserting the SAFE
behaviour: every test here failed when it was written, because the attack it reproduces worked.

The model controls the text of its answers (hence the candidate's source); whoever runs ``generate`` chooses
the model names. Scoring is the real sandboxed one; generation talks real HTTP to the test model server.
"""
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from codegen_eval import cli, samples
from codegen_eval.batch import score_runs
from codegen_eval.model_server import serve
from codegen_eval.results_db import ResultsDB

CORPUS = Path(__file__).resolve().parent / "corpus"
ROOT = Path(__file__).resolve().parent.parent
SUFFIX = {"python": ".py", "c": ".c", "cpp": ".cpp"}
KEY_ENV = "CODEGEN_EVAL_HOSTILE_KEY"


def put(root: Path, model: str, language: str, index: int, code: str | None, turn: int = 1) -> Path | None:
    """One sample turn laid out as ``generate`` writes it."""
    folder = samples.sample_folder(root, model, "streaming_eq", language)
    code_path, _ = samples.write_sample(folder, index, turn, SUFFIX[language], code,
                                        {"schema": samples.SAMPLE_SCHEMA, "model": model, "task": "streaming_eq",
                                         "language": language, "sample": index, "turn": turn})
    return code_path


def records_of(root: Path) -> list[dict]:
    with ResultsDB(root / "results.sqlite") as db:
        return db.sample_records()


def generate(out: Path, server, *models: str, samples_n: int = 1) -> int:
    os.environ.setdefault(KEY_ENV, "anything")
    return cli.main(["generate", "--base-url", server.base_url, "--api-key-env", KEY_ENV, "--model", ",".join(models),
                     "--language", "python", "--samples", str(samples_n), "--temperature", "0", "--out", str(out),
                     "--no-progress"])


# ------------------------------------------------------------------------------------------------------------
# 1. The result key has no language: the same bytes answered to the C prompt reuse the Python sample's pass.

def test_same_bytes_in_another_language_do_not_reuse_that_languages_result(tmp_path):
    run = tmp_path / "run"
    code = (CORPUS / "python" / "correct_numpy.py").read_text()
    put(run, "m", "python", 0, code)
    score_runs([str(run)], with_throughput=False, seed=5, progress=False)
    # the model answers the C prompt with the very same (Python) text in a ```c block
    put(run, "m", "c", 0, code)
    score_runs([str(run)], with_throughput=False, seed=5, progress=False)
    verdicts = {r["language"]: r for r in records_of(run)}
    assert verdicts["python"]["verdict"] == "pass"
    assert verdicts["c"]["verdict"] != "pass", "a Python file in a .c sample was credited with the Python pass"
    assert verdicts["c"]["compile_failed"], "Python source given to the C compiler must fail to compile"


# ------------------------------------------------------------------------------------------------------------
# 2. model_dir is not injective: a model named like another model's escaped folder takes that folder.

def test_model_dir_of_a_crafted_name_differs_from_the_name_it_imitates():
    victim = "org/demo-correct"
    crafted = samples.model_dir(victim)  # 'org_demo-correct-xxxxxxxx', a safe name, kept as it is
    assert samples.model_dir(crafted) != samples.model_dir(victim)


def test_crafted_model_name_does_not_take_over_another_models_samples(tmp_path):
    out = tmp_path / "run"
    victim = "org/demo-correct"
    crafted = samples.model_dir(victim)
    # the crafted model's (buggy) answer was made first, in the same run
    put(out, crafted, "python", 0, (CORPUS / "python" / "state_reset_at_boundary.py").read_text())
    server = serve("127.0.0.1", 0, CORPUS)
    try:
        generate(out, server, victim)
    finally:
        server.shutdown()
        server.server_close()
    models = {samples.read_record(p)["model"] for p in out.rglob("sample_*.json")}
    assert victim in models, f"the victim model was never asked: its folder holds {models}"


# ------------------------------------------------------------------------------------------------------------
# 3. One lone surrogate (JSON "\ud800") in an answer makes the sample unwritable: it vanishes from every
#    denominator, on every rerun, although the model did answer.

def test_answer_with_a_lone_surrogate_is_kept_as_a_sample(tmp_path):
    out = tmp_path / "run"
    server = serve("127.0.0.1", 0, CORPUS)
    # the hostile model's failing answers carry one lone surrogate in a comment
    server.answers["buggy"]["python"] += "\n# \ud800\n"
    try:
        generate(out, server, "demo-buggy", "demo-correct", samples_n=2)
    finally:
        server.shutdown()
        server.server_close()
    made = {(samples.read_record(p)["model"], samples.read_record(p)["sample"]) for p in out.rglob("sample_*.json")}
    assert {("demo-buggy", 0), ("demo-buggy", 1)} <= made, (
        f"the answered samples of demo-buggy were dropped: the run holds only {sorted(made)}")


# ------------------------------------------------------------------------------------------------------------
# 4. A model name with '$' is parsed as mathtext by the plots: the whole leaderboard fails for every model.

def test_model_name_with_dollar_signs_does_not_break_the_leaderboard(tmp_path):
    run = tmp_path / "run"
    for model in ("honest", r"evil$\alpha^$"):
        for i in range(2):
            put(run, model, "python", i, None)  # no code: decided without scoring
    assert cli.main(["score", str(run), "--no-throughput"]) == 0
    page = tmp_path / "b.html"
    assert cli.main(["leaderboard", str(run), "--html", str(page)]) == 0
    assert "honest" in page.read_text()


# ------------------------------------------------------------------------------------------------------------
# 5. The same run scored through two spellings of its folder (relative, absolute): every sample counts twice.

def test_run_scored_through_two_spellings_counts_each_sample_once(tmp_path, monkeypatch):
    run = tmp_path / "run"
    put(run, "m", "python", 0, None)
    put(run, "m", "python", 1, None)
    monkeypatch.chdir(tmp_path)
    assert cli.main(["score", "run", "--no-throughput"]) == 0
    assert cli.main(["score", str(run), "--no-throughput"]) == 0
    out = tmp_path / "board.json"
    assert cli.main(["leaderboard", str(run), f"--json={out}"]) == 0
    (group,) = json.loads(out.read_text())["summary"]["groups"]
    assert group["n_samples"] == 2, f"2 samples reported as {group['n_samples']}"


# ------------------------------------------------------------------------------------------------------------
# 6. A scorer killed mid-run: the leaderboard silently computes every metric over the samples that happened to
#    be scored (the unscored failing sample is out of the denominator) and says nothing.

def test_leaderboard_does_not_silently_drop_unscored_samples(tmp_path):
    run = tmp_path / "run"
    put(run, "m", "python", 0, None)  # no code: a failure
    put(run, "m", "python", 1, (CORPUS / "python" / "state_reset_at_boundary.py").read_text())  # fails when scored
    db_file = run / "results.sqlite"
    proc = subprocess.Popen([sys.executable, "-m", "codegen_eval", "score", str(run), "--no-throughput"], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if db_file.is_file():
                try:
                    con = sqlite3.connect(db_file)
                    claims = con.execute("SELECT COUNT(*) FROM claims").fetchone()[0]
                    con.close()
                except sqlite3.Error:
                    claims = 0
                if claims:
                    break
            time.sleep(0.1)
        else:
            pytest.fail("the scorer never claimed its candidate")
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the scorer started above, and the workers it started
        proc.wait()
    out = tmp_path / "board.json"
    # refused: a board over 1 of the 2 samples would not be the run's
    assert cli.main(["leaderboard", str(run), f"--json={out}"]) == 2 and not out.exists()
    # shown when asked, and then it says what is missing
    assert cli.main(["leaderboard", str(run), "--partial", f"--json={out}"]) == 0
    payload = json.loads(out.read_text())
    assert payload["incomplete"] == [{"run": str(run), "samples": 2, "unscored": 1}]

"""Second round of attacks on the run pipeline (score -> leaderboard), after 0df23ee and 0e65ec3. Each test
asserts the SAFE behaviour, and each failed when it was written, because the attack it reproduces worked.

All three are the same hole seen from three sides: the leaderboard counts every sample row of the database
(``ResultsDB.sample_records()`` without ``run=``), and rows are pruned only when the run folder itself is
named on the ``score`` command line; ``_incomplete`` looks only for samples on disk that have no row, never
for rows that have no sample on disk. Answers without code are used so that nothing needs the sandbox.
"""
import json
import shutil
import sys
from pathlib import Path

import pytest

from codegen_eval import cli

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_hostile_runs import put  # noqa: E402  (the same layout helper as round one)


def board(tmp_path: Path, *args: str):
    """Exit status of ``leaderboard ARGS --json=OUT`` and its n_samples per model (None when refused)."""
    out = tmp_path / "board.json"
    if out.exists():
        out.unlink()
    status = cli.main(["leaderboard", *args, f"--json={out}"])
    if status != 0:
        return status, None
    payload = json.loads(out.read_text())
    return status, {g["model"]: g["n_samples"] for g in payload["summary"]["groups"]}


# ------------------------------------------------------------------------------------------------------------
# 1. A sample deleted from the run still counts when the run is rescored through a glob or its parent folder
#    (both documented: "folders, globs or files"): prune() runs only for a run folder named exactly.

@pytest.mark.parametrize("how", ["glob", "parent"])
def test_deleted_sample_does_not_count_after_rescoring_by_glob_or_parent(tmp_path, how):
    runs = tmp_path / "runs"
    run = runs / "A"
    for i in range(3):
        put(run, "m", "python", i, None)
    assert cli.main(["score", str(run), "--no-throughput"]) == 0
    for p in run.rglob("sample_002*"):  # the user drops one sample
        p.unlink()
    target = str(runs) + "/*" if how == "glob" else str(runs)
    assert cli.main(["score", target, "--no-throughput"]) == 0
    status, n = board(tmp_path, str(run))
    assert status != 0 or n == {"m": 2}, f"2 samples on disk, the board counts {n}"


# ------------------------------------------------------------------------------------------------------------
# 2. Two runs scored into one database (--db): the board of one run counts the other run's samples as its own.

def test_board_of_one_run_does_not_count_another_runs_samples_in_a_shared_db(tmp_path):
    a, b = tmp_path / "A", tmp_path / "B"
    for i in range(2):
        put(a, "m", "python", i, None)
        put(b, "m", "python", i, None)
    db = tmp_path / "shared.sqlite"
    assert cli.main(["score", str(a), str(b), "--db", str(db), "--no-throughput"]) == 0
    status, n = board(tmp_path, str(a), "--db", str(db))
    assert status != 0 or n == {"m": 2}, f"run A has 2 samples, its board counts {n} (run B's included)"


# ------------------------------------------------------------------------------------------------------------
# 3. A run scored with --db elsewhere, then moved and scored again: the rows of its old place stay, and every
#    sample counts twice (the "two records" check is per run, and the old place is another run).

def test_moved_run_with_an_external_db_counts_each_sample_once(tmp_path):
    a = tmp_path / "A"
    for i in range(2):
        put(a, "m", "python", i, None)
    db = tmp_path / "dbs" / "a.sqlite"
    db.parent.mkdir()
    assert cli.main(["score", str(a), "--db", str(db), "--no-throughput"]) == 0
    moved = tmp_path / "A2"
    shutil.move(a, moved)
    assert cli.main(["score", str(moved), "--db", str(db), "--no-throughput"]) == 0
    status, n = board(tmp_path, str(moved), "--db", str(db))
    assert status != 0 or n == {"m": 2}, f"2 samples, the board counts {n} (the old place's rows too)"

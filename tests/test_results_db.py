"""The results database on real SQLite files: keys, reuse, links, migration, errors, and real processes
that race for the same candidates or die holding claims."""
from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
import math
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from codegen_eval import results_db
from codegen_eval.results_db import ResultKey, ResultsDB, default_owner

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO / "tests" / "corpus" / "python"
TASK_SHA = "a" * 64
HARNESS = "0.1.0+0123456789ab"
SEED = 2**100 + 12345  # wider than SQLite's 64-bit integers on purpose


@pytest.fixture(scope="module")
def scored():
    """One real result of :func:`codegen_eval.evaluate.score` (a correct candidate, no throughput)."""
    from codegen_eval.evaluate import score

    return score(CORPUS / "correct_numpy.py", seed=SEED, with_throughput=False)


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def key_for(result: dict, options: str = "no-throughput", harness: str = HARNESS) -> ResultKey:
    return ResultKey(result["task"], TASK_SHA, harness, result["sha256"], SEED, options)


def variant(result: dict, sha256: str, **changes) -> dict:
    """`result` as if it were another file's, with `changes`."""
    out = copy.deepcopy(result)
    out.update(sha256=sha256, **changes)
    return out


def sample_fields(path, sha256, run="runs/r", model="org/m", sample=0, turn=1, language="python"):
    return {"path": str(path), "run": run, "model": model, "model_dir": "org_m-12345678", "task": "streaming_eq",
            "language": language, "sample": sample, "turn": turn, "sha256": sha256,
            "verdict_hint": None if sha256 else "no_code"}


def integrity(path) -> str:
    with sqlite3.connect(path) as conn:
        return conn.execute("PRAGMA integrity_check").fetchone()[0]


# ------------------------------------------------------------------------------------------ round trip

def test_round_trip_of_a_real_result_and_its_sample_record(tmp_path, scored):
    assert scored["verdict"] == "pass"
    db_file = tmp_path / "results.sqlite"
    key = key_for(scored)
    with ResultsDB(db_file) as db:
        assert db.lookup(key) is None
        owner = default_owner()
        assert db.claim(key, owner)
        rid = db.store(key, scored, owner, 6.5)
        sid = db.upsert_sample(sample_fields(CORPUS / "correct_numpy.py", scored["sha256"]))
        db.link(sid, rid)
    with ResultsDB(db_file) as db:  # reopened: everything came from the file
        assert db.result(rid) == json.loads(json.dumps(scored))
        assert db.lookup(key) == rid
        [record] = db.sample_records()
        # a relative path is stored as given and read back joined to the database's folder
        assert record == {"run": os.path.join(os.path.realpath(tmp_path), "runs", "r"), "model": "org/m", "task": "streaming_eq", "language": "python",
                          "sample": 0, "turn": 1, "path": str(CORPUS / "correct_numpy.py"),
                          "sha256": scored["sha256"], "verdict": "pass", "diagnoses": [], "speedup": None,
                          "speedups": {}, "machine": scored["environment"]["machine"], "compile_failed": False,
                          "load_failed": False, "result_id": rid}
        assert db.counts() == {"samples": 1, "scored": 1, "no_code": 0, "unscored": 0, "results": 1, "claims": 0}
        row = db._conn.execute("SELECT scored_by, duration_s, seed FROM results").fetchone()
        assert row == (owner, 6.5, str(SEED))
        assert db._conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert db._conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        db.unlink(sid)  # no valid result under the current key: the sample is unscored, its old result kept
        assert db.sample_records() == [] and db.counts()["unscored"] == 1 and db.result(rid)
    assert integrity(db_file) == "ok"


def test_derived_columns_speedup_diagnoses_and_failures(tmp_path, scored):
    timed = variant(scored, sha("timed"), throughput={"machine": "box | cpu | 2 CPUs | Linux x86_64", "rows": [
        {"chunking": "whole", "speedup": 2.0}, {"chunking": "64 frames", "speedup": 8.0}]})
    failing = variant(scored, sha("failing"), verdict="fail", throughput={"rows": [{"chunking": "whole",
                                                                                    "speedup": 3.0}]},
                      diagnoses=[{"code": "state_reset_at_boundary"}, {"code": "compile_error"},
                                 {"code": "state_reset_at_boundary"}, {"code": "load_error"}])
    with ResultsDB(tmp_path / "r.sqlite") as db:
        owner = default_owner()
        for i, r in enumerate((timed, failing)):
            sid = db.upsert_sample(sample_fields(tmp_path / f"s{i}.py", r["sha256"], sample=i))
            db.link(sid, db.store(key_for(r), r, owner, None))
        fast, slow = db.sample_records()
    assert fast["speedup"] == pytest.approx(math.prod([2.0, 8.0]) ** 0.5)
    assert fast["speedups"] == {"whole": 2.0, "64 frames": 8.0}
    assert fast["machine"] == "box | cpu | 2 CPUs | Linux x86_64"  # the throughput's machine comes first
    assert (slow["verdict"], slow["speedup"], slow["speedups"]) == ("fail", None, {"whole": 3.0})
    assert slow["diagnoses"] == ["compile_error", "load_error", "state_reset_at_boundary"]
    assert slow["compile_failed"] and slow["load_failed"]
    assert not fast["compile_failed"] and not fast["load_failed"]


def test_no_code_samples_are_records_and_unscored_ones_are_not(tmp_path, scored):
    with ResultsDB(tmp_path / "r.sqlite") as db:
        db.upsert_sample(sample_fields(tmp_path / "sample_000.json", None, language="c"))
        db.upsert_sample(sample_fields(tmp_path / "sample_001.py", sha("unscored"), sample=1))
        [record] = db.sample_records()
        assert db.counts() == {"samples": 2, "scored": 0, "no_code": 1, "unscored": 1, "results": 0, "claims": 0}
        assert record["verdict"] == "no_code" and record["result_id"] is None and record["sha256"] is None
        assert db.sample_records(run="runs/other") == []
        # unlink marks a scored sample unscored; prune drops the rows of files no longer in the run
        assert db.prune("runs/r", [str(tmp_path / "sample_001.py")]) == 1
        assert db.counts()["samples"] == 1 and db.sample_records() == []


# ------------------------------------------------------------------------------------------ keys and reuse

def test_each_key_has_one_row_and_every_key_field_matters(tmp_path, scored):
    base = key_for(scored)
    with ResultsDB(tmp_path / "r.sqlite") as db:
        owner = default_owner()
        first = db.store(base, scored, owner, 1.0)
        assert db.store(base, scored, "someone-else", 2.0) == first  # a second store of the key: same row
        changed = [dataclasses.replace(base, **{name: value}) for name, value in (
            ("task_sha256", "b" * 64), ("harness_version", "0.1.0+ffffffffffff"), ("options", "throughput"))]
        ids = {db.store(k, scored, owner, 1.0) for k in changed}
        assert len(ids | {first}) == 4
        other_seed = ResultKey(base.task, TASK_SHA, HARNESS, base.sha256, SEED + 1, base.options)
        with pytest.raises(ValueError, match="seed"):  # the result was scored with SEED
            db.store(other_seed, scored, owner, 1.0)
        with pytest.raises(ValueError, match="sha256"):
            db.store(ResultKey(base.task, TASK_SHA, HARNESS, sha("x"), SEED, base.options), scored, owner, 1.0)
        assert db.counts()["results"] == 4
        with pytest.raises(sqlite3.IntegrityError):  # the table itself refuses a duplicate key
            db._conn.execute("INSERT INTO results (task, task_sha256, harness_version, sha256, seed, options, "
                             "verdict, diagnoses, speedups, compile_failed, load_failed, result_json, scored_at, "
                             "scored_by) SELECT task, task_sha256, harness_version, sha256, seed, options, "
                             "verdict, diagnoses, speedups, compile_failed, load_failed, result_json, scored_at, "
                             "scored_by FROM results WHERE id = ?", (first,))


def test_bad_keys_and_sample_fields_are_named(tmp_path):
    with pytest.raises(ValueError, match="sha256 must be 64 lower-case hex digits, got 'ABC'"):
        ResultKey("streaming_eq", TASK_SHA, HARNESS, "ABC", 1, "throughput")
    with pytest.raises(ValueError, match="seed must be a non-negative int, got -1"):
        ResultKey("streaming_eq", TASK_SHA, HARNESS, sha("x"), -1, "throughput")
    with ResultsDB(tmp_path / "r.sqlite") as db:
        bad = sample_fields(tmp_path / "a.py", sha("a"))
        with pytest.raises(ValueError, match=r"missing \['turn'\], unknown \['turns'\]"):
            db.upsert_sample({**{k: v for k, v in bad.items() if k != "turn"}, "turns": 1})
        with pytest.raises(ValueError, match="'fortran'"):
            db.upsert_sample({**bad, "language": "fortran"})
        with pytest.raises(ValueError, match="verdict_hint 'no_code'"):
            db.upsert_sample({**bad, "sha256": None, "verdict_hint": None})


def test_rerun_reuses_the_stored_result(tmp_path, scored):
    db_file = tmp_path / "r.sqlite"
    fields = sample_fields(tmp_path / "sample_000.py", scored["sha256"])
    key = key_for(scored)
    with ResultsDB(db_file) as db:
        owner = default_owner()
        sid = db.upsert_sample(fields)
        assert db.claim(key, owner)
        db.link(sid, db.store(key, scored, owner, 1.0))
    with ResultsDB(db_file) as db:  # the second run: same file, same key
        assert db.upsert_sample(fields) == sid
        rid = db.lookup(key)
        assert rid is not None and not db.claim(key, default_owner())  # nothing to score again
        assert db.sample_records()[0]["result_id"] == rid
        assert db.lookup(key_for(scored, harness="0.1.0+ffffffffffff")) is None  # a new harness: no reuse


def test_a_changed_file_loses_its_link_and_keeps_the_old_result(tmp_path, scored):
    fields = sample_fields(tmp_path / "sample_000.py", scored["sha256"])
    with ResultsDB(tmp_path / "r.sqlite") as db:
        sid = db.upsert_sample(fields)
        rid = db.store(key_for(scored), scored, default_owner(), 1.0)
        db.link(sid, rid)
        assert db.upsert_sample(dict(fields, model="org/m")) == sid  # same code: still linked
        assert db.sample_records()[0]["result_id"] == rid
        assert db.upsert_sample(dict(fields, sha256=sha("rewritten"))) == sid
        assert db.sample_records() == []
        assert db.counts()["unscored"] == 1 and db.lookup(key_for(scored)) == rid
        with pytest.raises(ValueError, match="sha256"):  # the old result is not this code's
            db.link(sid, rid)
        assert db.upsert_sample(dict(fields, sha256=None, verdict_hint="no_code")) == sid
        assert db.sample_records()[0]["verdict"] == "no_code"
        with pytest.raises(ValueError, match="no_code"):
            db.link(sid, rid)


def test_forget_unlinks_the_samples_of_a_result(tmp_path, scored):
    with ResultsDB(tmp_path / "r.sqlite") as db:
        sid = db.upsert_sample(sample_fields(tmp_path / "s.py", scored["sha256"]))
        db.link(sid, db.store(key_for(scored), scored, default_owner(), 1.0))
        assert db.forget(key_for(scored)) and not db.forget(key_for(scored))
        assert db.counts() == {"samples": 1, "scored": 0, "no_code": 0, "unscored": 1, "results": 0, "claims": 0}


def test_run_seed_is_stored_once(tmp_path):
    db_file = tmp_path / "r.sqlite"
    with ResultsDB(db_file) as db:
        first = db.run_seed()
        assert isinstance(first, int) and first >= 0
        assert db.run_seed() == first
        assert db.run_seed(first + 1) == first + 1  # an explicit other seed is used, not stored
    with ResultsDB(db_file) as db:
        assert db.run_seed() == first
    with ResultsDB(tmp_path / "s.sqlite") as db:
        assert db.run_seed(SEED) == SEED and db.run_seed() == SEED
        with pytest.raises(ValueError, match="'7'"):
            db.run_seed("7")


# ------------------------------------------------------------------------------------------ claims in one process

def test_claims_between_owners(tmp_path, scored):
    key = key_for(scored)
    with ResultsDB(tmp_path / "r.sqlite") as db:
        a, b = default_owner(), default_owner()  # two runs of this live process
        assert db.claim(key, a) and db.claim(key, a)  # renewing one's own claim
        assert not db.claim(key, b)
        assert not db.release(key, b) and db.release(key, a)
        assert db.claim(key, b)
        assert db.store(key, scored, a, 1.0) == db.lookup(key)  # whoever stores first wins, once
        assert db.counts()["claims"] == 0 and not db.claim(key, b)
        other = ResultKey(key.task, TASK_SHA, HARNESS, sha("other"), SEED, key.options)
        assert db.claim(other, "far-away-host:1:0123")  # another host: its pid cannot be checked here
        assert not db.claim(other, a)
    with ResultsDB(tmp_path / "r.sqlite", stale_after_s=0.0) as db:  # every claim is old enough
        assert db.claim(other, a)


# ------------------------------------------------------------------------------------------ schema

def test_migration_from_version_1_keeps_rows_and_fills_machine(tmp_path, scored):
    db_file = tmp_path / "old.sqlite"
    conn = sqlite3.connect(db_file, isolation_level=None)
    assert results_db.migrate(conn, target_version=1) == 1
    assert "machine" not in [r[1] for r in conn.execute("PRAGMA table_info(results)")]
    with_machine = variant(scored, sha("with machine"))
    without = variant(scored, sha("no machine"), environment={"seed": SEED})
    for i, r in enumerate((with_machine, without)):
        conn.execute("INSERT INTO results (id, task, task_sha256, harness_version, sha256, seed, options, verdict, "
                     "diagnoses, speedup, speedups, compile_failed, load_failed, result_json, scored_at, "
                     "duration_s, scored_by) VALUES (?, ?, ?, ?, ?, ?, ?, 'pass', '[]', NULL, '{}', 0, 0, ?, "
                     "'2024-01-01T00:00:00Z', 1.5, 'old:1:x')",
                     (10 + i, r["task"], TASK_SHA, HARNESS, r["sha256"], str(SEED), "no-throughput", json.dumps(r)))
        conn.execute("INSERT INTO samples (path, run, model, model_dir, task, language, sample, turn, sha256, "
                     "result_id) VALUES (?, 'runs/old', 'm', 'm', 'streaming_eq', 'python', ?, 1, ?, ?)",
                     (f"runs/old/s{i}.py", i, r["sha256"], 10 + i))
    conn.execute("INSERT INTO meta VALUES ('seed', ?)", (str(SEED),))
    conn.close()

    with ResultsDB(db_file) as db:
        assert db.schema_version() == results_db.SCHEMA_VERSION == 2
        machines = dict(db._conn.execute("SELECT id, machine FROM results"))
        assert machines == {10: scored["environment"]["machine"], 11: None}
        assert [r["result_id"] for r in db.sample_records()] == [10, 11]
        assert db.result(10) == json.loads(json.dumps(with_machine))
        assert db.run_seed() == SEED
        assert db.lookup(key_for(with_machine)) == 10
        new_key = ResultKey(scored["task"], TASK_SHA, HARNESS, sha("new"), SEED, "no-throughput")
        assert db.claim(new_key, default_owner())  # the claims table of version 2 is there
    assert integrity(db_file) == "ok"


def test_a_newer_database_is_refused_naming_both_versions(tmp_path):
    db_file = tmp_path / "new.sqlite"
    ResultsDB(db_file).close()
    with sqlite3.connect(db_file) as conn:
        conn.execute(f"PRAGMA user_version = {results_db.SCHEMA_VERSION + 5}")
    with pytest.raises(ValueError, match=f"schema version {results_db.SCHEMA_VERSION + 5}, newer than this "
                                         f"code's version {results_db.SCHEMA_VERSION}"):
        ResultsDB(db_file)


def test_files_that_are_not_results_databases(tmp_path):
    text = tmp_path / "notes.sqlite"
    text.write_bytes(b"these are notes, not a database\n" * 200)
    with pytest.raises(ValueError, match="is not an SQLite database"):
        ResultsDB(text)
    assert text.read_bytes() == b"these are notes, not a database\n" * 200
    other = tmp_path / "other.sqlite"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE songs (title TEXT)")
    with pytest.raises(ValueError, match="of something else .tables songs"):
        ResultsDB(other)
    with pytest.raises(FileNotFoundError, match="missing"):
        ResultsDB(tmp_path / "missing" / "results.sqlite")
    with pytest.raises(ValueError, match="is a folder"):
        ResultsDB(tmp_path)


# ------------------------------------------------------------------------------------------ real processes

RACER = r"""
import json, sys, time
from pathlib import Path
from codegen_eval.results_db import ResultKey, ResultsDB, default_owner

db_file, order, result_file, flags = sys.argv[1], sys.argv[2], Path(sys.argv[3]), Path(sys.argv[4])
base = json.loads(result_file.read_text())
keys = [ResultKey(base["task"], "a" * 64, "h", sha, base["environment"]["seed"], "no-throughput")
        for sha in json.loads((flags / "shas.json").read_text())]
if order == "backward":
    keys.reverse()
owner = default_owner()
with ResultsDB(db_file) as db:
    (flags / f"ready-{order}").touch()
    while not (flags / "go").exists():
        time.sleep(0.005)
    claimed, ids = [], {}
    for key in keys:
        if db.claim(key, owner):
            claimed.append(key.sha256)
            ids[key.sha256] = db.store(key, dict(base, sha256=key.sha256), owner, 0.0)
print(json.dumps({"owner": owner, "claimed": claimed, "ids": ids}))
"""


def _python(script: Path, *args) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]))
    return subprocess.Popen([sys.executable, str(script), *map(str, args)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env, cwd=REPO)


def _wait_for(path: Path, procs) -> None:
    while not path.exists():
        for p in procs:
            if p.poll() is not None:
                raise AssertionError(f"a process ended early ({p.returncode}): {p.stderr.read()}")
        time.sleep(0.005)


def _small_result(scored: dict) -> dict:
    return {k: scored[k] for k in ("schema", "task", "candidate", "language", "sha256", "verdict", "diagnoses",
                                   "throughput", "environment")}


def test_two_processes_race_for_the_same_50_candidates(tmp_path, scored):
    shas = [sha(f"candidate {i}") for i in range(50)]
    flags = tmp_path / "flags"
    flags.mkdir()
    (flags / "shas.json").write_text(json.dumps(shas))
    (tmp_path / "result.json").write_text(json.dumps(_small_result(scored)))
    (tmp_path / "racer.py").write_text(RACER)
    db_file = tmp_path / "results.sqlite"  # both processes create it at once
    procs = [_python(tmp_path / "racer.py", db_file, order, tmp_path / "result.json", flags)
             for order in ("forward", "backward")]
    try:
        for order in ("forward", "backward"):
            _wait_for(flags / f"ready-{order}", procs)
        (flags / "go").touch()
        outs = [p.communicate(timeout=300) for p in procs]
    finally:
        for p in procs:
            p.kill()
            p.wait()
    assert [p.returncode for p in procs] == [0, 0], [err for _, err in outs]
    reports = [json.loads(out) for out, _ in outs]
    claimed = [set(r["claimed"]) for r in reports]
    assert len(reports[0]["claimed"]) + len(reports[1]["claimed"]) == 50
    assert claimed[0] | claimed[1] == set(shas) and not claimed[0] & claimed[1]
    assert integrity(db_file) == "ok"
    with ResultsDB(db_file) as db:
        rows = db._conn.execute("SELECT sha256, id, scored_by FROM results").fetchall()
        assert db._conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert db.counts()["claims"] == 0
    assert sorted(r[0] for r in rows) == sorted(shas)  # each stored once
    by_sha = {s: (i, owner) for s, i, owner in rows}
    for report in reports:
        for s in report["claimed"]:
            assert by_sha[s] == (report["ids"][s], report["owner"])


HOLDER = r"""
import json, sys, time
from pathlib import Path
from codegen_eval.results_db import ResultKey, ResultsDB, default_owner

db_file, result_file, flags = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
base = json.loads(result_file.read_text())
keys = [ResultKey(base["task"], "a" * 64, "h", sha, base["environment"]["seed"], "no-throughput")
        for sha in json.loads((flags / "shas.json").read_text())]
owner = default_owner()
db = ResultsDB(db_file)
assert all(db.claim(key, owner) for key in keys)
(flags / "owner").write_text(owner)
while not (flags / "go").exists():
    time.sleep(0.005)
armed = []
# stop for good inside the INSERT of store()'s transaction: the write lock held, the row half-written
db._conn.set_trace_callback(lambda sql: armed.append(1) if sql.lstrip().startswith("INSERT INTO results") else None)

def stop():
    if armed:
        (flags / "inside").touch()
        time.sleep(3600)
    return 0

db._conn.set_progress_handler(stop, 1)
db.store(keys[0], dict(base, sha256=keys[0].sha256), owner, 0.0)
"""


def test_a_killed_scorer_leaves_an_intact_database_and_its_claims_are_taken_over(tmp_path, scored):
    shas = [sha(f"held {i}") for i in range(10)]
    flags = tmp_path / "flags"
    flags.mkdir()
    (flags / "shas.json").write_text(json.dumps(shas))
    base = _small_result(scored)
    (tmp_path / "result.json").write_text(json.dumps(base))
    (tmp_path / "holder.py").write_text(HOLDER)
    db_file = tmp_path / "results.sqlite"
    holder = _python(tmp_path / "holder.py", db_file, tmp_path / "result.json", flags)
    keys = [ResultKey(base["task"], "a" * 64, "h", s, SEED, "no-throughput") for s in shas]
    try:
        _wait_for(flags / "owner", [holder])
        with ResultsDB(db_file) as db:
            me = default_owner()
            assert not any(db.claim(k, me) for k in keys)  # the holder lives: its claims stand
            (flags / "go").touch()
            _wait_for(flags / "inside", [holder])
            assert db.lookup(keys[0]) is None  # its transaction is open, nothing committed
            holder.send_signal(signal.SIGKILL)
            holder.wait(timeout=60)
            assert holder.returncode == -signal.SIGKILL
            assert db._conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            assert db.lookup(keys[0]) is None and db.counts()["claims"] == 10
            assert all(db.claim(k, me) for k in keys)  # its pid is gone: the claims are stale
            ids = [db.store(k, dict(base, sha256=k.sha256), me, 0.0) for k in keys]
            assert len(set(ids)) == 10 and db.counts()["claims"] == 0
    finally:
        holder.kill()
        holder.wait()
    assert integrity(db_file) == "ok"


def _open_at_once(path, barrier, results):
    from codegen_eval.results_db import ResultsDB

    barrier.wait()
    try:
        ResultsDB(path).close()
        results.put("ok")
    except Exception as exc:  # noqa: BLE001 - reported to the parent
        results.put(f"{type(exc).__name__}: {exc}")


def test_processes_opening_a_new_database_at_once_all_succeed(tmp_path):
    """Six processes open one new file at the same instant, twenty times over: none gets "database
    is locked" (switching to write-ahead logging takes a lock SQLite does not wait for by itself)."""
    import multiprocessing

    ctx = multiprocessing.get_context("fork")
    failures = []
    for trial in range(20):
        barrier, results = ctx.Barrier(6), ctx.Queue()
        procs = [ctx.Process(target=_open_at_once, args=(tmp_path / f"r{trial}.sqlite", barrier, results))
                 for _ in range(6)]
        for p in procs:
            p.start()
        for p in procs:
            p.join(60)
        failures += [r for r in (results.get(timeout=10) for _ in procs) if r != "ok"]
    assert not failures, failures

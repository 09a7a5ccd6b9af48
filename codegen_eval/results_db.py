"""The results database of a run: samples, their scored results, and the claims of live scorers.

One SQLite file (standard library :mod:`sqlite3`, WAL mode) per run folder, ``runs/NAME/results.sqlite``
by default. It holds

- ``results``: one row per :class:`ResultKey` (task name and content hash, harness version, candidate
  sha256, seed, options), with the full result dict of :func:`codegen_eval.evaluate.score` as JSON and
  the columns the metrics read (verdict, diagnosis codes, speed-ups, machine);
- ``samples``: one row per sample file of the run, linked to the result that holds for its code;
- ``claims``: which scorer is scoring which key right now, so that two ``score`` processes on the
  same file never score a candidate twice;
- ``meta``: the run's seed.

Every write is one short ``BEGIN IMMEDIATE`` transaction, so a killed scorer loses only the results
it had not stored yet, and another scorer takes over the claims it left (:meth:`ResultsDB.claim`).

The schema is versioned with ``PRAGMA user_version``; :data:`MIGRATIONS` lists the steps from an
empty file to the current :data:`SCHEMA_VERSION`, each applied in its own transaction:

1. ``meta``, ``results`` and ``samples``;
2. the ``claims`` table of concurrent scorers, a ``machine`` column on ``results`` (where the
   throughput was measured: speed-ups compare only between results of one machine), filled for the
   existing rows from their result JSON, and the indexes that the per-run queries and the foreign
   key of ``samples.result_id`` need.
"""
from __future__ import annotations

import contextlib
import json
import math
import os
import socket
import sqlite3
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from .provenance import utc_now_iso
from .task import LANGUAGES

#: ``PRAGMA application_id`` of a results database ("CEvR"): tells it from other SQLite files.
APPLICATION_ID = 0x43457652
#: A claim older than this is taken over whatever its owner (another host's, or a reused pid).
STALE_AFTER_S = 6 * 3600.0
VERDICTS = ("pass", "fail", "error")
SAMPLE_FIELDS = ("path", "run", "model", "model_dir", "task", "language", "sample", "turn", "sha256",
                 "verdict_hint")
_KEY_COLUMNS = ("task", "task_sha256", "harness_version", "sha256", "seed", "options")
_KEY_WHERE = " AND ".join(f"{c} = ?" for c in _KEY_COLUMNS)


class ResultsDBError(ValueError):
    """A file that cannot serve as the results database (not SQLite, another application's, newer)."""


@dataclass(frozen=True)
class ResultKey:
    """What a result depends on; a stored result is reused only for an equal key.

    Attributes
    ----------
    task : str
        Task name (``streaming_eq``).
    task_sha256 : str
        :func:`codegen_eval.provenance.task_sha256` of the task folder.
    harness_version : str
        :func:`codegen_eval.provenance.harness_version`.
    sha256 : str
        sha256 of the candidate file's bytes (64 lower-case hex digits).
    seed : int
        Seed of the signals (non-negative; 128-bit seeds are stored as decimal text).
    options : str
        The scoring options that change a result, for example ``"throughput"`` or ``"no-throughput"``.
    """

    task: str
    task_sha256: str
    harness_version: str
    sha256: str
    seed: int
    options: str

    def __post_init__(self):
        for name in ("task", "task_sha256", "harness_version", "sha256", "options"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value:
                raise ValueError(f"ResultKey.{name} must be a non-empty str, got {value!r}")
        for name in ("task_sha256", "sha256"):
            _check_sha256(getattr(self, name), f"ResultKey.{name}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise ValueError(f"ResultKey.seed must be a non-negative int, got {self.seed!r}")

    def row(self) -> tuple:
        """The values of the key columns, in the order of the table."""
        return (self.task, self.task_sha256, self.harness_version, self.sha256, str(self.seed), self.options)


def default_owner() -> str:
    """A new owner string for claims, ``"<host>:<pid>:<uuid hex>"``.

    Make it once per scoring run and pass the same string to :meth:`ResultsDB.claim`,
    :meth:`ResultsDB.store` and :meth:`ResultsDB.release`: the host and pid let another scorer on the
    same host see that this one died; the uuid tells two runs of one process apart.
    """
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex}"


def machine_of(result: dict) -> str | None:
    """The machine a result's speed-ups were measured on: the throughput's ``machine``, else the
    environment's, else None."""
    for part in ("throughput", "environment"):
        value = (result.get(part) or {}).get("machine")
        if isinstance(value, str) and value:
            return value
    return None


def speedups_of(result: dict) -> dict:
    """``{chunking: speedup}`` of the result's measured throughput rows (finite, positive ones)."""
    rows = (result.get("throughput") or {}).get("rows") or []
    out = {}
    for row in rows:
        value = row.get("speedup")
        if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value > 0:
            out[str(row["chunking"])] = float(value)
    return out


def speedup_of(result: dict) -> float | None:
    """Geometric mean of :func:`speedups_of` for a passing result with throughput measured, else None."""
    from .metrics import geometric_mean

    return geometric_mean(list(speedups_of(result).values())) if result.get("verdict") == "pass" else None


def diagnosis_codes(result: dict) -> list:
    """The result's diagnosis codes, unique and sorted."""
    return sorted({d["code"] for d in result.get("diagnoses") or []})


# ---------------------------------------------------------------------------------------------- schema

_V1 = (
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    """CREATE TABLE results (
        id INTEGER PRIMARY KEY,
        task TEXT NOT NULL, task_sha256 TEXT NOT NULL, harness_version TEXT NOT NULL,
        sha256 TEXT NOT NULL, seed TEXT NOT NULL, options TEXT NOT NULL,
        verdict TEXT NOT NULL CHECK (verdict IN ('pass', 'fail', 'error')),
        diagnoses TEXT NOT NULL,
        speedup REAL,
        speedups TEXT NOT NULL,
        compile_failed INTEGER NOT NULL CHECK (compile_failed IN (0, 1)),
        load_failed INTEGER NOT NULL CHECK (load_failed IN (0, 1)),
        result_json TEXT NOT NULL,
        scored_at TEXT NOT NULL,
        duration_s REAL,
        scored_by TEXT NOT NULL,
        UNIQUE (task, task_sha256, harness_version, sha256, seed, options))""",
    """CREATE TABLE samples (
        id INTEGER PRIMARY KEY,
        path TEXT NOT NULL UNIQUE,
        run TEXT NOT NULL, model TEXT NOT NULL, model_dir TEXT NOT NULL, task TEXT NOT NULL,
        language TEXT NOT NULL, sample INTEGER NOT NULL, turn INTEGER NOT NULL,
        sha256 TEXT,
        verdict_hint TEXT CHECK (verdict_hint IS NULL OR verdict_hint = 'no_code'),
        result_id INTEGER REFERENCES results(id) ON DELETE SET NULL,
        CHECK ((sha256 IS NULL) = (verdict_hint IS NOT NULL)))""",
)

_V2 = (
    "ALTER TABLE results ADD COLUMN machine TEXT",
    """CREATE TABLE claims (
        task TEXT NOT NULL, task_sha256 TEXT NOT NULL, harness_version TEXT NOT NULL,
        sha256 TEXT NOT NULL, seed TEXT NOT NULL, options TEXT NOT NULL,
        owner TEXT NOT NULL,
        claimed_at REAL NOT NULL,
        PRIMARY KEY (task, task_sha256, harness_version, sha256, seed, options))""",
    "CREATE INDEX samples_run ON samples (run)",
    "CREATE INDEX samples_result_id ON samples (result_id)",
)


def _migrate_1(conn: sqlite3.Connection) -> None:
    """meta, results and samples."""
    conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    for statement in _V1:
        conn.execute(statement)


def _migrate_2(conn: sqlite3.Connection) -> None:
    """claims, results.machine (filled from each row's result JSON) and the indexes."""
    for statement in _V2:
        conn.execute(statement)
    rows = conn.execute("SELECT id, result_json FROM results").fetchall()
    for result_id, text in rows:
        conn.execute("UPDATE results SET machine = ? WHERE id = ?", (machine_of(json.loads(text)), result_id))


#: The steps from an empty file to :data:`SCHEMA_VERSION`; step ``i`` makes version ``i + 1``.
MIGRATIONS = (_migrate_1, _migrate_2)
SCHEMA_VERSION = len(MIGRATIONS)


def migrate(conn: sqlite3.Connection, target_version: int = SCHEMA_VERSION) -> int:
    """Bring the database of `conn` to `target_version`, one transaction per step.

    Each step takes the write lock (``BEGIN IMMEDIATE``) and reads ``user_version`` again inside it,
    so two processes opening one new file apply every step once.

    Parameters
    ----------
    conn : sqlite3.Connection
        Opened with ``isolation_level=None`` (transactions are explicit here).
    target_version : int
        1 .. :data:`SCHEMA_VERSION`.

    Returns
    -------
    int
        The version now.

    Raises
    ------
    ValueError
        `target_version` out of range.
    """
    if not 1 <= target_version <= SCHEMA_VERSION:
        raise ValueError(f"target_version must be in 1..{SCHEMA_VERSION}, got {target_version!r}")
    for version in range(1, target_version + 1):
        if conn.execute("PRAGMA user_version").fetchone()[0] >= version:
            continue
        with _transaction(conn):
            current = conn.execute("PRAGMA user_version").fetchone()[0]
            if current >= version:
                continue
            MIGRATIONS[version - 1](conn)
            conn.execute(f"PRAGMA user_version = {version}")
    return conn.execute("PRAGMA user_version").fetchone()[0]


def _set_wal(conn: sqlite3.Connection, timeout_s: float) -> str:
    """Put the file in write-ahead-log mode and return the journal mode it is in.

    Changing the journal mode takes the file's exclusive lock, and SQLite does not wait for it
    through the busy timeout: when another process opens a new file at the same moment, the change
    fails at once with "database is locked". It is retried until the timeout; a file already in WAL
    mode (the usual case) is not changed at all.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
        if mode.lower() == "wal":
            return mode
        try:
            return conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


@contextlib.contextmanager
def _transaction(conn: sqlite3.Connection):
    """One write transaction: the write lock first (no upgrade deadlock between readers), commit or
    roll back."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


# ---------------------------------------------------------------------------------------------- database

class ResultsDB:
    """The results database of a run.

    Parameters
    ----------
    path : str or Path
        The SQLite file; created (with the current schema) when missing. Its folder must exist.
    timeout_s : float
        How long a write waits for another process's transaction before ``sqlite3.OperationalError``.
    stale_after_s : float
        Age after which any claim is taken over (:meth:`claim`).

    Raises
    ------
    FileNotFoundError
        The folder of `path` does not exist.
    ResultsDBError (a ValueError)
        `path` is a folder, not an SQLite database, another application's database, or of a schema
        version newer than this code's.

    Notes
    -----
    One object per thread: a connection is not shared between threads. Every method that writes is
    one transaction of its own.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as d, ResultsDB(Path(d) / "results.sqlite") as db:
    ...     db.run_seed(7), db.run_seed(), db.counts()["results"]
    (7, 7, 0)
    """

    def __init__(self, path: str | Path, timeout_s: float = 60.0, stale_after_s: float = STALE_AFTER_S):
        self.path = Path(path)
        self.stale_after_s = float(stale_after_s)
        if not self.path.parent.is_dir():
            raise FileNotFoundError(f"the folder {str(self.path.parent)!r} of the results database "
                                    f"{str(self.path)!r} does not exist")
        if self.path.is_dir():
            raise ResultsDBError(f"the results database {str(self.path)!r} is a folder, not a file")
        self._conn = sqlite3.connect(self.path, timeout=timeout_s, isolation_level=None)
        try:
            self._open(timeout_s)
        except sqlite3.DatabaseError as exc:
            self._conn.close()
            if getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_NOTADB:
                raise ResultsDBError(f"{str(self.path)!r} is not an SQLite database ({exc})") from None
            raise
        except BaseException:
            self._conn.close()
            raise

    def _open(self, timeout_s: float) -> None:
        conn = self._conn
        conn.execute(f"PRAGMA busy_timeout = {int(timeout_s * 1000)}")
        conn.execute("PRAGMA foreign_keys = ON")
        mode = _set_wal(conn, timeout_s)
        if mode.lower() != "wal":
            raise ResultsDBError(f"{str(self.path)!r} cannot use write-ahead logging (journal mode {mode!r}); "
                                 "put it on a local file system")
        conn.execute("BEGIN")  # one snapshot: another process may be migrating the file right now
        try:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            app = conn.execute("PRAGMA application_id").fetchone()[0]
            tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        finally:
            conn.execute("COMMIT")
        if version == 0:
            if tables:
                raise ResultsDBError(f"{str(self.path)!r} is an SQLite database of something else (tables "
                                     f"{', '.join(tables)}; no schema version), not a results database")
        elif app != APPLICATION_ID:
            raise ResultsDBError(f"{str(self.path)!r} is an SQLite database of another application "
                                 f"(application_id {app:#x}, expected {APPLICATION_ID:#x})")
        if version > SCHEMA_VERSION:
            raise ResultsDBError(f"{str(self.path)!r} has schema version {version}, newer than this code's "
                                 f"version {SCHEMA_VERSION}; use a newer codegen_eval to read it")
        migrate(conn)

    # ------------------------------------------------------------------ lifetime

    def close(self) -> None:
        """Close the connection (a second call does nothing)."""
        self._conn.close()

    def __enter__(self) -> ResultsDB:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def schema_version(self) -> int:
        """``PRAGMA user_version`` of the file."""
        return self._conn.execute("PRAGMA user_version").fetchone()[0]

    # ------------------------------------------------------------------ seed

    def run_seed(self, seed: int | None = None) -> int:
        """The seed of this database's run.

        The first call stores `seed` (a fresh :func:`codegen_eval.evaluate.fresh_seed` when None);
        later calls with ``seed=None`` return the stored one, so that a rerun reuses the results of
        the first. An explicit `seed` that differs from the stored one is returned and not stored:
        the stored seed stays the run's, and results under the other seed simply have other keys.

        Raises
        ------
        ValueError
            `seed` is not a non-negative int.
        """
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0):
            raise ValueError(f"seed must be a non-negative int or None, got {seed!r}")
        with _transaction(self._conn) as conn:
            row = conn.execute("SELECT value FROM meta WHERE key = 'seed'").fetchone()
            if row is not None:
                return int(row[0]) if seed is None else seed
            if seed is None:
                from .evaluate import fresh_seed

                seed = fresh_seed()
            conn.execute("INSERT INTO meta (key, value) VALUES ('seed', ?)", (str(seed),))
        return seed

    # ------------------------------------------------------------------ samples

    def upsert_sample(self, ref_fields: dict) -> int:
        """Record a sample file (insert, or update the row of its path) and return its id.

        Parameters
        ----------
        ref_fields : dict
            Exactly the keys of :data:`SAMPLE_FIELDS`: ``path`` (the code file, or the JSON record for
            an answer without code), ``run`` (the run folder), ``model``, ``model_dir``, ``task``,
            ``language``, ``sample``, ``turn``, ``sha256`` (None without code) and ``verdict_hint``
            (None, or ``"no_code"`` exactly when ``sha256`` is None).

        Returns
        -------
        int
            The sample's id. When the path's ``sha256`` or ``verdict_hint`` changed (the file was
            rewritten), its link to a result is removed: that result is for the old code.

        Raises
        ------
        ValueError
            A missing or unknown key, or a bad value.
        """
        f = _sample_fields(ref_fields)
        values = [f[k] for k in SAMPLE_FIELDS]
        with _transaction(self._conn) as conn:
            row = conn.execute("SELECT id, sha256, verdict_hint FROM samples WHERE path = ?",
                               (f["path"],)).fetchone()
            if row is None:
                cur = conn.execute(f"INSERT INTO samples ({', '.join(SAMPLE_FIELDS)}) "
                                   f"VALUES ({', '.join('?' * len(SAMPLE_FIELDS))})", values)
                return cur.lastrowid
            changed = (row[1], row[2]) != (f["sha256"], f["verdict_hint"])
            conn.execute(f"UPDATE samples SET {', '.join(f'{k} = ?' for k in SAMPLE_FIELDS)}, "
                         "result_id = CASE WHEN ? THEN NULL ELSE result_id END WHERE id = ?",
                         values + [int(changed), row[0]])
            return row[0]

    def link(self, sample_id: int, result_id: int) -> None:
        """Link a sample to the result that holds for its code.

        Raises
        ------
        ValueError
            No such sample or result, the sample has no code, or the result is for another file,
            task or language (its sha256, task or language differs from the sample's).
        """
        with _transaction(self._conn) as conn:
            sample = conn.execute("SELECT sha256, task, language FROM samples WHERE id = ?",
                                  (sample_id,)).fetchone()
            if sample is None:
                raise ValueError(f"no sample with id {sample_id!r} in {str(self.path)!r}")
            result = conn.execute("SELECT sha256, task, json_extract(result_json, '$.language') FROM results "
                                  "WHERE id = ?", (result_id,)).fetchone()
            if result is None:
                raise ValueError(f"no result with id {result_id!r} in {str(self.path)!r}")
            if sample[0] is None:
                raise ValueError(f"sample {sample_id!r} has no code (no_code): it links to no result")
            if tuple(sample) != tuple(result):
                # the same bytes in another language are another candidate (Python text in a C answer)
                raise ValueError(f"result {result_id!r} is for {result[1]!r} {result[2]!r} sha256 {result[0]!r}, "
                                 f"sample {sample_id!r} for {sample[1]!r} {sample[2]!r} sha256 {sample[0]!r}")
            conn.execute("UPDATE samples SET result_id = ? WHERE id = ?", (result_id, sample_id))

    # ------------------------------------------------------------------ results and claims

    def lookup(self, key: ResultKey) -> int | None:
        """The id of the result stored for `key`, or None."""
        row = self._conn.execute(f"SELECT id FROM results WHERE {_KEY_WHERE}", key.row()).fetchone()
        return None if row is None else row[0]

    def claim(self, key: ResultKey, owner: str) -> bool:
        """Claim `key` for scoring by `owner` (:func:`default_owner`).

        Returns
        -------
        bool
            False when a result for `key` is stored, or another owner holds a live claim; else True
            (a new claim, `owner`'s own claim renewed, or a stale claim taken over). A claim is stale
            when its owner runs on this host and its process is gone, or when it is older than
            ``stale_after_s`` (the only test for another host's claims, or owners not of the form
            ``host:pid:uuid``).
        """
        _check_owner(owner)
        now = time.time()
        with _transaction(self._conn) as conn:
            if conn.execute(f"SELECT 1 FROM results WHERE {_KEY_WHERE}", key.row()).fetchone():
                return False
            row = conn.execute(f"SELECT owner, claimed_at FROM claims WHERE {_KEY_WHERE}", key.row()).fetchone()
            if row is not None and row[0] != owner and not self._stale(row[0], row[1], now):
                return False
            conn.execute(f"INSERT OR REPLACE INTO claims ({', '.join(_KEY_COLUMNS)}, owner, claimed_at) "
                         "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", key.row() + (owner, now))
            return True

    def _stale(self, owner: str, claimed_at: float, now: float) -> bool:
        if now - claimed_at >= self.stale_after_s:
            return True
        parts = owner.rsplit(":", 2)
        if len(parts) != 3 or not parts[1].isdigit() or parts[0] != socket.gethostname():
            return False
        return not _pid_alive(int(parts[1]))

    def release(self, key: ResultKey, owner: str) -> bool:
        """Drop `owner`'s claim of `key` (the candidate was not scored); True when there was one."""
        _check_owner(owner)
        with _transaction(self._conn) as conn:
            cur = conn.execute(f"DELETE FROM claims WHERE {_KEY_WHERE} AND owner = ?", key.row() + (owner,))
            return cur.rowcount > 0

    def store(self, key: ResultKey, result: dict, owner: str, duration_s: float | None) -> int:
        """Store the result of `key` and drop the claims of `key`, in one transaction.

        Parameters
        ----------
        key : ResultKey
        result : dict
            As from :func:`codegen_eval.evaluate.score`; its ``sha256``, ``task`` and (when present)
            ``environment["seed"]`` must agree with `key`.
        owner : str
            Who scored it (stored as ``scored_by``).
        duration_s : float or None
            Wall time of the scoring.

        Returns
        -------
        int
            The result's id; when a result for `key` is already stored (another scorer was first),
            that one's id: there is never a second row for a key.

        Raises
        ------
        ValueError
            `result` does not fit `key`, or its verdict is not pass, fail or error.
        """
        _check_owner(owner)
        columns = _result_columns(key, result)
        columns.update(scored_at=utc_now_iso(), duration_s=None if duration_s is None else float(duration_s),
                       scored_by=owner)
        names = list(_KEY_COLUMNS) + list(columns)
        with _transaction(self._conn) as conn:
            conn.execute(f"DELETE FROM claims WHERE {_KEY_WHERE}", key.row())
            row = conn.execute(f"SELECT id FROM results WHERE {_KEY_WHERE}", key.row()).fetchone()
            if row is not None:
                return row[0]
            cur = conn.execute(f"INSERT INTO results ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})",
                               key.row() + tuple(columns.values()))
            return cur.lastrowid

    def unlink(self, sample_id: int) -> None:
        """Mark a sample unscored: its code has no valid result under the current key (another harness
        version, task content or seed), so an old result must not be counted for it."""
        with _transaction(self._conn) as conn:
            conn.execute("UPDATE samples SET result_id = NULL WHERE id = ?", (sample_id,))

    def prune(self, run: str, keep_paths) -> int:
        """Delete the sample rows of `run` whose path is not in `keep_paths` (files deleted or remade
        since); returns how many. Results stay (another sample may hold the same bytes)."""
        keep = set(map(str, keep_paths))
        with _transaction(self._conn) as conn:
            gone = [(i,) for i, path in conn.execute("SELECT id, path FROM samples WHERE run = ?", (str(run),))
                    if path not in keep]
            conn.executemany("DELETE FROM samples WHERE id = ?", gone)
        return len(gone)

    def forget(self, key: ResultKey) -> bool:
        """Delete the result of `key` (to score it again); the samples linked to it become unscored.
        True when there was one."""
        with _transaction(self._conn) as conn:
            return conn.execute(f"DELETE FROM results WHERE {_KEY_WHERE}", key.row()).rowcount > 0

    # ------------------------------------------------------------------ queries

    def result(self, result_id: int) -> dict:
        """The full result dict (as from :func:`codegen_eval.evaluate.score`) of `result_id`.

        Raises
        ------
        ValueError
            No such result.
        """
        row = self._conn.execute("SELECT result_json FROM results WHERE id = ?", (result_id,)).fetchone()
        if row is None:
            raise ValueError(f"no result with id {result_id!r} in {str(self.path)!r}")
        return json.loads(row[0])

    def sample_records(self, run: str | None = None) -> list:
        """The sample records the metrics and the leaderboard read, of every run or of `run`.

        Only decided samples: the scored ones (linked to a result) and those without code
        (``verdict "no_code"``, ``result_id`` None). A sample not scored yet is left out; see
        :meth:`counts` for how many there are. Ordered by run, model, task, language, sample, turn.
        Paths stored relative (as ``score`` stores them, so that a run folder can move) are returned
        joined to the database's folder.

        Returns
        -------
        list of dict
            ``run``, ``model``, ``task``, ``language``, ``sample``, ``turn``, ``path``, ``sha256``,
            ``verdict`` (pass, fail, error or no_code), ``diagnoses`` (codes, unique, sorted),
            ``speedup`` (geometric mean over the measured chunkings; None unless pass with throughput),
            ``speedups`` ({chunking: speedup}), ``machine``, ``compile_failed``, ``load_failed``,
            ``result_id``.
        """
        sql = ("SELECT s.run, s.model, s.task, s.language, s.sample, s.turn, s.path, s.sha256, s.verdict_hint, "
               "s.result_id, r.verdict, r.diagnoses, r.speedup, r.speedups, r.machine, r.compile_failed, "
               "r.load_failed FROM samples s LEFT JOIN results r ON r.id = s.result_id "
               "WHERE (s.verdict_hint = 'no_code' OR s.result_id IS NOT NULL)")
        params: tuple = ()
        if run is not None:
            sql += " AND s.run = ?"
            params = (str(run),)
        sql += " ORDER BY s.run, s.model, s.task, s.language, s.sample, s.turn, s.path"
        out = []
        for (run_, model, task, language, sample, turn, path, sha, hint, result_id, verdict, diagnoses, speedup,
             speedups, machine, compile_failed, load_failed) in self._conn.execute(sql, params):
            record = {"run": self._absolute(run_), "model": model, "task": task, "language": language,
                      "sample": sample, "turn": turn, "path": self._absolute(path), "sha256": sha}
            if hint == "no_code":
                record.update(verdict="no_code", diagnoses=[], speedup=None, speedups={}, machine=None,
                              compile_failed=False, load_failed=False, result_id=None)
            else:
                record.update(verdict=verdict, diagnoses=json.loads(diagnoses), speedup=speedup,
                              speedups=json.loads(speedups), machine=machine,
                              compile_failed=bool(compile_failed), load_failed=bool(load_failed),
                              result_id=result_id)
            out.append(record)
        return out

    def _absolute(self, path: str) -> str:
        """A stored path: relative ones (as ``score`` stores them) are relative to the database's folder."""
        return path if os.path.isabs(path) else os.path.normpath(os.path.join(os.path.dirname(
            os.path.realpath(self.path)), path))

    def counts(self) -> dict:
        """``samples``, ``scored`` (linked to a result), ``no_code``, ``unscored``, ``results`` and
        ``claims``: row counts for a progress line."""
        q = self._conn.execute
        samples, scored, no_code = q("SELECT COUNT(*), COUNT(result_id), "
                                     "COALESCE(SUM(verdict_hint = 'no_code'), 0) FROM samples").fetchone()
        return {"samples": samples, "scored": scored, "no_code": no_code, "unscored": samples - scored - no_code,
                "results": q("SELECT COUNT(*) FROM results").fetchone()[0],
                "claims": q("SELECT COUNT(*) FROM claims").fetchone()[0]}


# ---------------------------------------------------------------------------------------------- checks

def _check_sha256(value, name: str) -> None:
    if not isinstance(value, str) or len(value) != 64 or value.strip("0123456789abcdef"):
        raise ValueError(f"{name} must be 64 lower-case hex digits, got {value!r}")


def _check_owner(owner) -> None:
    if not isinstance(owner, str) or not owner:
        raise ValueError(f"owner must be a non-empty str (see default_owner()), got {owner!r}")


def _sample_fields(fields: dict) -> dict:
    if not isinstance(fields, dict):
        raise TypeError(f"sample fields must be a dict, got {type(fields).__name__}")
    missing = [k for k in SAMPLE_FIELDS if k not in fields]
    unknown = [k for k in fields if k not in SAMPLE_FIELDS]
    if missing or unknown:
        raise ValueError(f"sample fields: missing {missing}, unknown {unknown}; expected {list(SAMPLE_FIELDS)}")
    f = dict(fields)
    for k in ("path", "run", "model", "model_dir", "task"):
        if not isinstance(f[k], (str, os.PathLike)) or not str(f[k]):
            raise ValueError(f"sample field {k!r} must be a non-empty str, got {f[k]!r}")
        f[k] = str(f[k])
    if f["language"] not in LANGUAGES:
        raise ValueError(f"sample field 'language' must be one of {LANGUAGES}, got {f['language']!r}")
    for k, low in (("sample", 0), ("turn", 1)):
        if isinstance(f[k], bool) or not isinstance(f[k], int) or f[k] < low:
            raise ValueError(f"sample field {k!r} must be an int >= {low}, got {f[k]!r}")
    if f["verdict_hint"] not in (None, "no_code"):
        raise ValueError(f"sample field 'verdict_hint' must be None or 'no_code', got {f['verdict_hint']!r}")
    if f["sha256"] is None:
        if f["verdict_hint"] != "no_code":
            raise ValueError(f"sample {f['path']!r}: sha256 None needs verdict_hint 'no_code'")
    else:
        _check_sha256(f["sha256"], "sample field 'sha256'")
        if f["verdict_hint"] is not None:
            raise ValueError(f"sample {f['path']!r} has code (sha256 {f['sha256']!r}) and verdict_hint "
                             f"{f['verdict_hint']!r}")
    return f


def _result_columns(key: ResultKey, result: dict) -> dict:
    """The non-key columns of `result`'s row, after checking that it belongs to `key`."""
    if not isinstance(result, dict):
        raise TypeError(f"result must be a dict, got {type(result).__name__}")
    if result.get("verdict") not in VERDICTS:
        raise ValueError(f"result verdict must be one of {VERDICTS}, got {result.get('verdict')!r}")
    for name, expected in (("sha256", key.sha256), ("task", key.task)):
        if result.get(name) != expected:
            raise ValueError(f"result {name} {result.get(name)!r} differs from its key's {expected!r}")
    seed = (result.get("environment") or {}).get("seed")
    if seed is not None and seed != key.seed:
        raise ValueError(f"result seed {seed!r} differs from its key's {key.seed!r}")
    codes = diagnosis_codes(result)
    return {"verdict": result["verdict"], "diagnoses": json.dumps(codes), "speedup": speedup_of(result),
            "speedups": json.dumps(speedups_of(result)), "machine": machine_of(result),
            "compile_failed": int("compile_error" in codes), "load_failed": int("load_error" in codes),
            "result_json": json.dumps(result)}


def _pid_alive(pid: int) -> bool:
    """Whether process `pid` of this host runs (a zombie, dead but not yet reaped, counts as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rpartition(")")[2].split()[:1] != ["Z"]

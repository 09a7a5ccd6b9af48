"""The run folder of generated samples: names, atomic writes, and finding samples again.

Layout (written by ``codegen-eval generate``, read by ``score`` and ``leaderboard``)::

    runs/NAME/<model_dir>/<task>/<language>/sample_000.<ext>        turn 1 code (absent: no code)
    runs/NAME/<model_dir>/<task>/<language>/sample_000.json         turn 1 record
    runs/NAME/<model_dir>/<task>/<language>/sample_000.turn2.<ext>  repair turn 2, then .turn3 ...
    runs/NAME/<model_dir>/<task>/<language>/sample_000.turn2.json

A record's presence means its sample is complete: the code file is written first and the JSON
last, each through a temporary file in the same folder and :func:`os.replace`, so an interrupted
run leaves either a whole sample or none (a code file without its JSON is an unfinished sample,
which :func:`iter_samples` skips and the next ``generate`` overwrites).
"""
from __future__ import annotations

import glob
import hashlib
import json
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .task import DEFAULT_TASK, SUFFIX_LANGUAGE, language_of

SAMPLE_SCHEMA = "codegen_eval.sample/1"
MODEL_DIR_MAX_CHARS = 80
_UNSAFE_RUN = re.compile(r"[^A-Za-z0-9._-]+")
_SAMPLE_NAME = re.compile(r"^sample_(\d+)(?:\.turn(\d+))?\.(json|py|c|cpp|cc|cxx)$")
TEMP_PREFIX = ".tmp-"


_HASHED_END = re.compile(r"-[0-9a-f]{16}$")


def model_dir(model: str) -> str:
    """The folder name of a model in a run folder.

    Every run of characters outside ``[A-Za-z0-9._-]`` becomes ``_``, leading dots are stripped
    and the name is cut to 80 characters; when any of this changed the name, or the name already
    ends the way such a name ends (``-`` and 16 hex digits), ``-`` and the first 16 hex digits of
    the model name's sha256 are appended. So ``org/m`` and ``org_m`` never share a folder, and
    nor does a name chosen to look like another's folder (``org_m-<its digits>``): a name kept as
    it is never ends in 16 hex digits, and a changed one always does. The result is never ``""``,
    ``"."`` or ``".."``.

    Parameters
    ----------
    model : str
        The model name as given to the API, e.g. ``"meta-llama/Llama-3.1-8B"``.

    Returns
    -------
    str
        A safe folder name.

    Examples
    --------
    >>> model_dir("gpt-4o")
    'gpt-4o'
    >>> model_dir("org/m"), model_dir("org_m")
    ('org_m-4c1771e122a643d5', 'org_m')
    >>> model_dir("org_m-4c1771e122a643d5") != model_dir("org/m")
    True
    >>> model_dir("..")
    'model-5ec1f7e700f37c3d'
    """
    safe = _UNSAFE_RUN.sub("_", model).lstrip(".")[:MODEL_DIR_MAX_CHARS] or "model"
    if safe != model or _HASHED_END.search(model):
        safe += "-" + hashlib.sha256(model.encode("utf-8")).hexdigest()[:16]
    return safe


def sample_stem(sample: int, turn: int = 1) -> str:
    """``sample_000`` for turn 1, ``sample_000.turn2`` for turn 2 (no suffix)."""
    if sample < 0 or turn < 1:
        raise ValueError(f"expected sample >= 0 and turn >= 1, got sample={sample!r}, turn={turn!r}")
    return f"sample_{sample:03d}" + (f".turn{turn}" if turn > 1 else "")


def sample_folder(root: str | Path, model: str, task: str, language: str) -> Path:
    """``root/<model_dir(model)>/<task>/<language>``."""
    return Path(root) / model_dir(model) / task / language


def code_name(sample: int, turn: int, suffix: str) -> str:
    """File name of a sample's code, e.g. ``sample_003.turn2.py`` (`suffix` with its dot)."""
    return sample_stem(sample, turn) + suffix


def record_name(sample: int, turn: int) -> str:
    """File name of a sample's JSON record, e.g. ``sample_003.turn2.json``."""
    return sample_stem(sample, turn) + ".json"


def write_atomic(path: str | Path, data: str | bytes) -> None:
    """Write `data` to `path` through a temporary file in the same folder and :func:`os.replace`:
    readers see the old file or the whole new one, never a part. The temporary file is removed
    when the write fails (``KeyboardInterrupt`` included)."""
    path = Path(path)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(prefix=TEMP_PREFIX + path.name + ".", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(payload)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        # also on KeyboardInterrupt: no half-written temporary file may stay behind
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def write_sample(folder: str | Path, sample: int, turn: int, suffix: str, code: str | None,
                 record: dict) -> tuple[Path | None, Path]:
    """Write one sample turn: its code (unless `code` is None), then its JSON record.

    Parameters
    ----------
    folder : str or Path
        The ``<model_dir>/<task>/<language>`` folder (created when missing).
    sample, turn : int
        Sample index (from 0) and turn (from 1).
    suffix : str
        The language's file suffix with its dot, e.g. ``".py"``.
    code : str or None
        The extracted code; None for an answer without code.
    record : dict
        The JSON record; its ``code_file`` is set here.

    Returns
    -------
    (Path or None, Path)
        The code file (None without code) and the record file.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    code_path = None
    if code is not None:
        code_path = folder / code_name(sample, turn, suffix)
        write_atomic(code_path, code)
    record = dict(record, code_file=code_path.name if code_path else None)
    meta_path = folder / record_name(sample, turn)
    write_atomic(meta_path, json.dumps(record, indent=1) + "\n")
    return code_path, meta_path


def read_record(path: str | Path) -> dict:
    """Read a sample record; ValueError naming the file when it is not one."""
    try:
        record = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"cannot read the sample record {str(path)!r}: {exc}") from None
    if not isinstance(record, dict) or record.get("schema") != SAMPLE_SCHEMA:
        got = record.get("schema") if isinstance(record, dict) else type(record).__name__
        raise ValueError(f"{str(path)!r} is not a sample record: expected schema {SAMPLE_SCHEMA!r}, got {got!r}")
    return record


@dataclass(frozen=True)
class SampleRef:
    """One sample turn found on disk.

    Attributes
    ----------
    root : Path
        The run folder (``runs/NAME``); for a bare candidate file, its folder.
    model : str
        The model name as recorded; its path for a bare candidate file.
    model_dir : str
        The model's folder name; :func:`model_dir` of that path for a bare candidate file.
    task : str
        Task name.
    language : str
        ``python``, ``c`` or ``cpp``.
    sample : int
        Sample index, from 0.
    turn : int
        Turn, from 1.
    code_path : Path or None
        The code file; None when the answer held no code (verdict ``no_code``).
    meta_path : Path or None
        The JSON record; None for a bare candidate file.
    """

    root: Path
    model: str
    model_dir: str
    task: str
    language: str
    sample: int
    turn: int
    code_path: Path | None
    meta_path: Path | None


def _ref_from_record(meta_path: Path) -> SampleRef:
    record = read_record(meta_path)
    code_file = record.get("code_file")
    stem = meta_path.name[:-len(".json")]
    if code_file is not None and (not isinstance(code_file, str) or Path(code_file).name != code_file
                                  or not code_file.startswith(stem + ".")):
        # a record names its own code file next to it, never a file elsewhere
        raise ValueError(f"{str(meta_path)!r} names the code file {code_file!r}; expected {stem}.<suffix> "
                         "in the same folder")
    if code_file is not None and SUFFIX_LANGUAGE.get(Path(code_file).suffix.lower()) != record.get("language"):
        # the language a file is scored as comes from its suffix; a record may not say otherwise
        raise ValueError(f"{str(meta_path)!r} says language {record.get('language')!r} for the code file "
                         f"{code_file!r}")
    return SampleRef(root=meta_path.parents[3], model=record["model"], model_dir=meta_path.parents[2].name,
                     task=record["task"], language=record["language"], sample=int(record["sample"]),
                     turn=int(record["turn"]), code_path=meta_path.parent / code_file if code_file else None,
                     meta_path=meta_path)


def _ref_from_file(path: Path, default_task: str) -> SampleRef:
    """A SampleRef for a file named on the command line: a record, a sample's code file (with its
    record next to it), or a bare candidate file."""
    m = _SAMPLE_NAME.match(path.name)
    if path.suffix == ".json":
        return _ref_from_record(path)
    if m:
        meta = path.with_name(sample_stem(int(m.group(1)), int(m.group(2) or 1)) + ".json")
        if meta.is_file():
            ref = _ref_from_record(meta)
            if ref.code_path is not None and ref.code_path.name == path.name:
                return ref
    language = language_of(path)  # ValueError naming the file for an unknown suffix
    # a bare file is its own "model" (named by its path), so that several of them never look like one sample
    return SampleRef(root=path.parent, model=str(path), model_dir=model_dir(str(path)), task=default_task,
                     language=language, sample=0, turn=1, code_path=path, meta_path=None)


def _records_under(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("sample_*.json") if _SAMPLE_NAME.match(p.name) and p.is_file()]


def iter_samples(paths, default_task: str = DEFAULT_TASK) -> list[SampleRef]:
    """Find the samples named by run folders, globs and files.

    Parameters
    ----------
    paths : iterable of str or Path
        A folder: every complete sample turn under it (every ``sample_*.json`` record, at any depth;
        a code file without its record is an unfinished sample and is skipped). A glob (``*``,
        ``?``, ``[``, ``**``): what it matches, each as a folder or file. A file: a sample record,
        a sample's code file (its record next to it gives model, task, sample and turn), or a bare
        candidate file (``.py``, ``.c``, ``.cpp``), which becomes model ``<its path>``, task
        `default_task`, sample 0, turn 1.
    default_task : str
        Task of bare candidate files.

    Returns
    -------
    list of SampleRef
        Each sample turn once, sorted by run folder, model, task, language, sample and turn.

    Raises
    ------
    ValueError
        A path that does not exist, a glob or folder that holds no sample, a file that is neither a
        sample record nor a candidate.
    """
    refs: dict[tuple, SampleRef] = {}

    def add(ref: SampleRef) -> None:
        key = (str((ref.meta_path or ref.code_path).resolve()),)
        refs.setdefault(key, ref)

    def visit(path: Path, given: str) -> None:
        if path.is_dir():
            found = _records_under(path)
            if not found:
                raise ValueError(f"no samples under {given!r}: a run folder holds "
                                 "<model>/<task>/<language>/sample_000.json records")
            for meta in found:
                add(_ref_from_record(meta))
        elif path.is_file():
            add(_ref_from_file(path, default_task))
        else:
            raise ValueError(f"no such file or folder {given!r}")

    for given in paths:
        given = str(given)
        if glob.has_magic(given) and not Path(given).exists():
            before = len(refs)
            for match in sorted(glob.glob(given, recursive=True)):
                p = Path(match)
                if p.is_dir():
                    for meta in _records_under(p):
                        add(_ref_from_record(meta))
                elif p.suffix == ".json" and _SAMPLE_NAME.match(p.name):
                    add(_ref_from_record(p))
                elif p.suffix.lower() in SUFFIX_LANGUAGE and not p.name.startswith(TEMP_PREFIX):
                    add(_ref_from_file(p, default_task))
                # anything else a broad glob matches (reports, databases, logs) is not a sample
            if len(refs) == before:
                raise ValueError(f"the pattern {given!r} matches no sample or candidate file")
        else:
            visit(Path(given), given)
    return sorted(refs.values(), key=lambda r: (str(r.root), r.model_dir, r.task, r.language, r.sample, r.turn,
                                                str(r.code_path)))

"""Load a task folder (prompt, interface, cases, tolerances, allowed imports) from data.

A task lives in ``codegen_eval/tasks/<name>/`` (or any folder given by path): ``task.json``
describes it, the prompts beside it, and a Python package (``__init__.py`` and the judge module
that ``task.json`` names) holds what only this task knows: how to make a case's input, the
reference output, how to compare, and the diagnoses in its own terms. The harness reads
everything task-specific from there; ``codegen_eval/README.md`` ("Adding a task") lists what a
judge module defines.
"""
from __future__ import annotations

import functools
import hashlib
import importlib
import importlib.util
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

TASKS_DIR = Path(__file__).resolve().parent / "tasks"
LANGUAGES = ("python", "c", "cpp")
DEFAULT_TASK = "streaming_eq"
SUFFIX_LANGUAGE = {".py": "python", ".c": "c", ".cpp": "cpp", ".cc": "cpp", ".cxx": "cpp"}


@dataclass(frozen=True)
class Task:
    """A task read from its folder.

    Attributes
    ----------
    name : str
        Folder name, e.g. ``"streaming_eq"``.
    folder : Path
        The task folder.
    data : dict
        The parsed ``task.json``.
    """

    name: str
    folder: Path
    data: dict[str, Any]

    def prompt(self, language: str) -> str:
        """Return the prompt text given to a model for `language` (``python``, ``c`` or ``cpp``)."""
        languages = self.data["languages"]
        if language not in languages:
            raise ValueError(f"language must be one of {sorted(languages)!r}, got {language!r}")
        text = (self.folder / languages[language]["prompt"]).read_text(encoding="utf-8")
        contract_file = self.data.get("contract")
        if contract_file:
            contract = (self.folder / contract_file).read_text(encoding="utf-8").strip()
            text = text.replace("{contract}", contract)
        return text

    @property
    def judge(self):
        """The task's judge module (``judge`` in ``task.json``, a module of the task's folder)."""
        return _judge(str(self.folder.resolve()), self.data.get("judge", "judge"))

    @property
    def reference_label(self) -> str:
        """How results name the reference when it is scored as a candidate: ``<module.Class>``."""
        ref = self.data["reference"]
        return f"<{ref['module']}.{ref['class']}>"

    def case(self, case_id: str) -> dict[str, Any]:
        """Return the case description with id `case_id`."""
        for case in self.data["cases"]:
            if case["id"] == case_id:
                return case
        raise ValueError(f"unknown case {case_id!r}; known: {[c['id'] for c in self.data['cases']]!r}")


def load_task(name_or_path: str | Path = DEFAULT_TASK) -> Task:
    """Load a task by folder name (under ``codegen_eval/tasks``) or by path to its folder."""
    folder = Path(name_or_path)
    if not (folder / "task.json").is_file():
        folder = TASKS_DIR / str(name_or_path)
    if not (folder / "task.json").is_file():
        known = sorted(p.name for p in TASKS_DIR.iterdir() if (p / "task.json").is_file())
        raise ValueError(f"no task {str(name_or_path)!r}; known tasks: {known!r}")
    data = json.loads((folder / "task.json").read_text(encoding="utf-8"))
    return Task(name=data.get("name", folder.name), folder=folder, data=data)


@functools.lru_cache(maxsize=None)
def _judge(folder: str, module: str):
    """Import the judge module `module` of the task folder `folder` (once per process), as
    ``codegen_eval.tasks.<name>.<module>`` for a folder of this package, else under a name made
    from the folder's path; and add the codes of its ``VOCABULARY`` to the diagnosis vocabulary."""
    from . import diagnosis

    path = Path(folder)
    if path.parent == TASKS_DIR.resolve():
        package = f"{__package__}.tasks.{path.name}"
    else:
        package = "codegen_eval_task_" + hashlib.sha256(folder.encode()).hexdigest()[:16]
        if package not in sys.modules:
            init = path / "__init__.py"
            if not init.is_file():
                raise ValueError(f"task folder {folder!r} has no __init__.py: its judge module cannot be imported")
            spec = importlib.util.spec_from_file_location(package, init, submodule_search_locations=[folder])
            mod = importlib.util.module_from_spec(spec)
            sys.modules[package] = mod
            spec.loader.exec_module(mod)
    judge = importlib.import_module(f"{package}.{module}")
    diagnosis.register(getattr(judge, "VOCABULARY", ()))
    return judge


def language_of(path: str | Path) -> str:
    """Return the candidate language from its file suffix (``.py``, ``.c``, ``.cpp``)."""
    suffix = Path(path).suffix.lower()
    if suffix not in SUFFIX_LANGUAGE:
        raise ValueError(f"cannot tell the language of {str(path)!r}: expected one of {sorted(SUFFIX_LANGUAGE)!r}")
    return SUFFIX_LANGUAGE[suffix]

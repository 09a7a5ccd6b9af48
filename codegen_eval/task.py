"""Load a task folder (prompt, interface, cases, tolerances, allowed imports) from data.

A task lives in ``codegen_eval/tasks/<name>/`` and is described by ``task.json``; the
harness code reads everything task-specific from there.
"""
from __future__ import annotations

import json
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


def language_of(path: str | Path) -> str:
    """Return the candidate language from its file suffix (``.py``, ``.c``, ``.cpp``)."""
    suffix = Path(path).suffix.lower()
    if suffix not in SUFFIX_LANGUAGE:
        raise ValueError(f"cannot tell the language of {str(path)!r}: expected one of {sorted(SUFFIX_LANGUAGE)!r}")
    return SUFFIX_LANGUAGE[suffix]

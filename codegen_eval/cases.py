"""Deterministic, seeded cases of a task: inputs and chunkings, from the task data.

What a case's configuration and input signal are belongs to the task (its judge module's
``case_setup``); how a case's input is cut into chunks, and which input each chunking gets, is the
same for every task and lives here. The same task, case and seed always give the same bytes.
"""
from __future__ import annotations

import zlib
from dataclasses import dataclass, field, replace
from typing import Callable

import numpy as np


@dataclass
class Case:
    """One configuration with its input.

    Attributes
    ----------
    id : str
    config : dict
        The configuration, as the task's judge describes it (names, not codes).
    spec : dict
        The sample format: ``bytes`` and ``kind`` (``uint``, ``int`` or ``float``) at least.
    input_bytes : bytes
        The input fed whole (the ``whole`` chunking's).
    x : ndarray or None
        That input decoded by the task (audio: float64, ``(frames, channels)``), or None.
    family : str
    chunkings : dict
        Chunking name -> list of chunk sizes in bytes (sums to ``len(input_bytes)``).
    inputs : dict
        Chunking name -> the input bytes fed with that chunking. Every chunking has its own signal
        (same length, level and kind), so that no process sees an input twice and none can replay
        an earlier answer.
    frame_bytes : int
        The unit of zero latency: after every call the output holds every complete unit received.
    sample_bytes : int
        Bytes of one sample (for telling chunk boundaries inside a sample from those between).
    units : dict
        Named sizes in bytes that chunking rules may cut by (``unit_bytes`` rules), e.g. ``row``.
    decode : callable or None
        ``decode(data) -> x`` for the inputs of other chunkings.
    label : str
        The sample format in the task's words, for plot titles (``s16le``, ``yuv420p``).
    """

    id: str
    config: dict
    spec: dict
    input_bytes: bytes
    x: np.ndarray | None
    family: str
    chunkings: dict = field(default_factory=dict)
    inputs: dict = field(default_factory=dict)
    frame_bytes: int = 1
    sample_bytes: int = 1
    units: dict = field(default_factory=dict)
    decode: Callable | None = None
    label: str = ""

    def for_input(self, name: str) -> "Case":
        """The same case with the input of chunking `name` as its ``input_bytes`` and ``x``."""
        data = self.inputs[name]
        return replace(self, input_bytes=data, x=self.decode(data) if self.decode else None)

    @property
    def frames(self) -> int:
        """Complete units of zero latency in the input (audio: frames)."""
        return len(self.input_bytes) // self.frame_bytes


@dataclass
class CaseSetup:
    """What a task's judge says of one case of its data (see :func:`build_case`).

    Attributes
    ----------
    config, spec, frame_bytes, sample_bytes, units, decode, label
        As in :class:`Case`.
    make_input : callable
        ``make_input(rng) -> bytes``: one input signal of the case from a seeded generator.
    """

    config: dict
    spec: dict
    make_input: Callable
    frame_bytes: int
    sample_bytes: int
    units: dict = field(default_factory=dict)
    decode: Callable | None = None
    label: str = ""


def _rng(seed: int, *names: str) -> np.random.Generator:
    return np.random.default_rng([int(seed)] + [zlib.crc32(n.encode()) for n in names])


def chunk_sizes(rule: dict, n_bytes: int, frame_bytes: int, sample_bytes: int, rng: np.random.Generator,
                units: dict | None = None) -> list[int]:
    """Return chunk sizes (bytes) for one chunking rule of the task data; they sum to `n_bytes`.

    Kinds: ``whole``; ``fixed_bytes`` (``size``, the first ``prefix_bytes`` only, then 4097-byte
    chunks); ``fixed_frames`` (``size`` frames); ``samples_misaligned`` (``samples`` whole samples,
    one more when that is whole frames); ``unit_bytes`` (``count`` times the case's unit named
    ``unit``, plus ``plus`` bytes: e.g. one row, or a plane and a byte); ``random_bytes``
    (``max_bytes``, ``zero_probability`` of an empty call).
    """
    kind = rule["kind"]
    sizes: list[int] = []
    if kind == "whole":
        return [n_bytes]
    if kind == "unit_bytes":
        unit = (units or {}).get(rule["unit"])
        if unit is None:
            raise ValueError(f"chunking {rule['name']!r} cuts by unit {rule['unit']!r}, which this case has not")
        return _repeated(max(1, rule.get("count", 1) * unit + rule.get("plus", 0)), n_bytes)
    if kind == "fixed_bytes":
        prefix = min(n_bytes, rule.get("prefix_bytes", n_bytes))
        sizes = [rule["size"]] * (prefix // rule["size"])
        rest = n_bytes - sum(sizes)
        # after the byte-level prefix, the rest in chunks of about 4 KiB that stay misaligned
        big = 4096 + 1
        while rest > 0:
            sizes.append(min(big, rest))
            rest -= sizes[-1]
        return sizes
    if kind == "fixed_frames":
        return _repeated(rule["size"] * frame_bytes, n_bytes)
    if kind == "samples_misaligned":
        step = rule["samples"] * sample_bytes
        if step % frame_bytes == 0:
            step += sample_bytes
        return _repeated(step, n_bytes)
    if kind == "random_bytes":
        rest = n_bytes
        while rest > 0:
            if rng.random() < rule.get("zero_probability", 0.1):
                sizes.append(0)
                continue
            s = int(min(rest, rng.integers(1, rule["max_bytes"] + 1)))
            sizes.append(s)
            rest -= s
        sizes.append(0)
        return sizes
    raise ValueError(f"unknown chunking kind {kind!r}")


def _repeated(step_bytes: int, n_bytes: int) -> list[int]:
    """Chunks of `step_bytes`, then the remainder (if any)."""
    sizes = [step_bytes] * (n_bytes // step_bytes)
    if n_bytes % step_bytes:
        sizes.append(n_bytes % step_bytes)
    return sizes


def boundary_kind(sizes: list[int], frame_bytes: int, sample_bytes: int) -> str:
    """Classify a chunking: ``whole``, ``frame_aligned``, ``sample_aligned`` or ``misaligned``."""
    ends = np.cumsum(sizes)[:-1]
    ends = ends[(ends > 0) & (ends < sum(sizes))]
    if ends.size == 0:
        return "whole"
    if np.all(ends % frame_bytes == 0):
        return "frame_aligned"
    if np.all(ends % sample_bytes == 0):
        return "sample_aligned"
    return "misaligned"


def build_case(task_data: dict, case_data: dict, seed: int, setup: Callable) -> Case:
    """Generate the input and chunkings of one case of the task data.

    Parameters
    ----------
    task_data, case_data : dict
        The task's data and one of its ``cases``.
    seed : int
    setup : callable
        The task judge's ``case_setup(task_data, case_data, rng) -> CaseSetup``; `rng` is seeded by
        the seed and the case (for a configuration drawn afresh with every seed).
    """
    made = setup(task_data, case_data, _rng(seed, case_data["id"], "config"))
    input_bytes = made.make_input(_rng(seed, case_data["id"]))
    case = Case(id=case_data["id"], config=made.config, spec=made.spec, input_bytes=input_bytes,
                x=made.decode(input_bytes) if made.decode else None, family=case_data.get("family", ""),
                frame_bytes=made.frame_bytes, sample_bytes=made.sample_bytes, units=dict(made.units),
                decode=made.decode, label=made.label)
    only = case_data.get("chunkings")
    pairs = task_data.get("interleaved_pairs", [])
    paired = {cid for pair in pairs for cid in pair}
    twinned = {a for a, b in pairs if a == b}  # two instances of the same configuration
    for rule in task_data["chunkings"]:
        name = rule["name"]
        if only is not None and name not in only and rule["kind"] != "whole":
            continue
        if rule.get("interleaved") and case_data["id"] not in paired:
            continue  # fed in turns with another case's stream: only the cases of a pair
        if rule.get("second_instance") and case_data["id"] not in twinned:
            continue  # the second of two instances with one configuration
        chunk_rng = _rng(seed, case_data["id"], name)
        case.chunkings[name] = chunk_sizes(rule, len(input_bytes), case.frame_bytes, case.sample_bytes, chunk_rng,
                                           case.units)
        case.inputs[name] = input_bytes if rule["kind"] == "whole" else made.make_input(
            _rng(seed, case_data["id"], "input", name))
    return case


def check_selection(task_data: dict, case_ids: list[str] | None, chunking_names: list[str] | None) -> None:
    """Raise ValueError for a case id or chunking name the task does not have."""
    known = [c["id"] for c in task_data["cases"]]
    unknown = sorted(set(case_ids or []) - set(known))
    if unknown:
        raise ValueError(f"unknown case ids {unknown!r}; known: {known!r}")
    known_chunkings = [r["name"] for r in task_data["chunkings"]]
    unknown = sorted(set(chunking_names or []) - set(known_chunkings))
    if unknown:
        raise ValueError(f"unknown chunkings {unknown!r}; known: {known_chunkings!r}")


def build_cases(task_data: dict, seed: int, case_ids: list[str] | None = None,
                chunking_names: list[str] | None = None, setup: Callable | None = None) -> list[Case]:
    """Generate all cases (or those in `case_ids`), keeping only `chunking_names` when given.

    The ``whole`` chunking is always kept: it is the baseline every other chunking is compared to.
    A case may name the chunkings it uses (``"chunkings"`` in the task data; ``whole`` always).
    """
    if setup is None:  # the judge of the task these data belong to
        from .task import load_task

        setup = load_task(task_data["name"]).judge.case_setup
    check_selection(task_data, case_ids, chunking_names)
    out = []
    for case_data in task_data["cases"]:
        if case_ids and case_data["id"] not in case_ids:
            continue
        case = build_case(task_data, case_data, seed, setup)
        if chunking_names:
            case.chunkings = {k: v for k, v in case.chunkings.items() if k in chunking_names or k == "whole"}
            case.inputs = {k: v for k, v in case.inputs.items() if k in case.chunkings}
        out.append(case)
    return out

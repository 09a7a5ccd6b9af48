"""Deterministic, seeded generation of inputs and chunkings from the task data.

Every array is laid out ``(frames, channels)``. The same task, case and seed always give the
same bytes.
"""
from __future__ import annotations

import math
import zlib
from dataclasses import dataclass, field, replace

import numpy as np

from . import pcm


@dataclass
class Case:
    """One configuration with its input signal.

    Attributes
    ----------
    id : str
    config : dict
        ``sample_rate``, ``channels``, ``format``, ``format_code``, ``bands`` (dicts).
    spec : dict
        The format description from the task interface.
    input_bytes : bytes
        The input fed whole (the ``whole`` chunking's).
    x : ndarray, shape (frames, channels)
        That input decoded, float64.
    family : str
    chunkings : dict
        Chunking name -> list of chunk sizes in bytes (sums to ``len(input_bytes)``).
    inputs : dict
        Chunking name -> the input bytes fed with that chunking. Every chunking has its own signal
        (same length, level and kind), so that no process sees an input twice and none can replay
        an earlier answer.
    """

    id: str
    config: dict
    spec: dict
    input_bytes: bytes
    x: np.ndarray
    family: str
    chunkings: dict = field(default_factory=dict)
    inputs: dict = field(default_factory=dict)

    def for_input(self, name: str) -> "Case":
        """The same case with the input of chunking `name` as its ``input_bytes`` and ``x``."""
        data = self.inputs[name]
        return replace(self, input_bytes=data, x=pcm.to_float(data, self.spec, self.config["channels"]))

    @property
    def frame_bytes(self) -> int:
        return self.spec["bytes"] * self.config["channels"]

    @property
    def frames(self) -> int:
        return self.x.shape[0]


def _rng(seed: int, *names: str) -> np.random.Generator:
    return np.random.default_rng([int(seed)] + [zlib.crc32(n.encode()) for n in names])


def _signal(kind: dict, frames: int, channels: int, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    level = 10.0 ** (kind.get("level_dbfs", -12.0) / 20.0)
    t = np.arange(frames) / sample_rate
    x = np.zeros((frames, channels))
    for ch in range(channels):
        # a different level per channel so that mixed channels are visible
        ch_level = level * (1.0 - 0.08 * ch)
        name = kind["kind"]
        if name == "noise":
            sig = rng.standard_normal(frames) * ch_level
        elif name == "sines":
            freqs = rng.uniform(40.0, 0.4 * sample_rate, size=3)
            phases = rng.uniform(0, 2 * math.pi, size=3)
            sig = sum(np.sin(2 * math.pi * f * t + p) for f, p in zip(freqs, phases)) * ch_level / 2
            sig = sig + rng.standard_normal(frames) * ch_level * 0.05
        elif name == "loud":
            # a quiet first quarter, then a loud passage that the boost pushes past full scale
            sig = rng.standard_normal(frames) * ch_level
            sig[: frames // 4] *= 0.05
        elif name == "lowfreq":
            f = kind.get("freq_hz", 5.0) * (1.0 + 0.1 * ch)
            sig = np.sin(2 * math.pi * f * t + rng.uniform(0, 2 * math.pi)) * ch_level
            sig = sig + rng.standard_normal(frames) * ch_level * 0.1
        else:
            raise ValueError(f"unknown signal kind {name!r}")
        x[:, ch] = sig
    for ch in kind.get("silent_channels", []):
        x[:, ch] = 0.0
    return np.clip(x, -1.0, 1.0 - 1e-9)


def _float_value(v):
    return float(v) if isinstance(v, str) else v


def normalise_bands(bands: list[dict]) -> list[dict]:
    """Return band dicts with string numbers such as ``"nan"`` turned into floats."""
    return [{k: _float_value(v) if k != "type" else v for k, v in b.items()} for b in bands]


def chunk_sizes(rule: dict, n_bytes: int, frame_bytes: int, sample_bytes: int, rng: np.random.Generator) -> list[int]:
    """Return chunk sizes (bytes) for one chunking rule of the task data; they sum to `n_bytes`."""
    kind = rule["kind"]
    sizes: list[int] = []
    if kind == "whole":
        return [n_bytes]
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


def build_case(task_data: dict, case_data: dict, seed: int) -> Case:
    """Generate the input and chunkings of one case of the task data."""
    fmt = case_data["format"]
    spec = task_data["interface"]["formats"][fmt]
    channels = case_data["channels"]

    def make_input(rng: np.random.Generator) -> bytes:
        x = _signal(case_data["signal"], case_data["frames"], channels, case_data["sample_rate"], rng)
        return pcm.encode(pcm.quantize(x, spec), spec)

    input_bytes = make_input(_rng(seed, case_data["id"]))
    x = pcm.to_float(input_bytes, spec, channels)
    config = {"sample_rate": case_data["sample_rate"], "channels": channels, "format": fmt,
              "format_code": spec["code"], "bands": normalise_bands(case_data["bands"])}
    case = Case(id=case_data["id"], config=config, spec=spec, input_bytes=input_bytes, x=x,
                family=case_data.get("family", ""))
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
        case.chunkings[name] = chunk_sizes(rule, len(input_bytes), case.frame_bytes, spec["bytes"], chunk_rng)
        case.inputs[name] = input_bytes if rule["kind"] == "whole" else make_input(_rng(seed, case_data["id"],
                                                                                          "input", name))
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
                chunking_names: list[str] | None = None) -> list[Case]:
    """Generate all cases (or those in `case_ids`), keeping only `chunking_names` when given.

    The ``whole`` chunking is always kept: it is the baseline every other chunking is compared to.
    A case may name the chunkings it uses (``"chunkings"`` in the task data; ``whole`` always).
    """
    check_selection(task_data, case_ids, chunking_names)
    out = []
    for case_data in task_data["cases"]:
        if case_ids and case_data["id"] not in case_ids:
            continue
        case = build_case(task_data, case_data, seed)
        if chunking_names:
            case.chunkings = {k: v for k, v in case.chunkings.items() if k in chunking_names or k == "whole"}
            case.inputs = {k: v for k, v in case.inputs.items() if k in case.chunkings}
        out.append(case)
    return out


def config_for_language(config: dict, spec_formats: dict, band_types: list[str]) -> dict:
    """Return a config dict as given to the worker (keeps names and codes; unknown names -> code -1)."""
    fmt = config["format"]
    out = dict(config)
    # an unknown name is code 99 unless the task data gives the code (e.g. -1)
    out["format_code"] = spec_formats[fmt]["code"] if fmt in spec_formats else config.get("format_code", 99)
    out["bands"] = [dict(b, type_code=band_types.index(b["type"]) if b["type"] in band_types
                         else b.get("type_code", 99)) for b in normalise_bands(config["bands"])]
    return out

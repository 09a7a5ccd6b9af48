"""The judge of the audio task: what only a streaming PCM equalizer needs from the harness.

Each function here is one the harness calls for the task named ``streaming_eq`` (see
``codegen_eval/README.md``, "Adding a task"): the configuration and input signal of a case, the
arguments a candidate is created with, the reference output and tolerance, how one run is
measured, the diagnoses in audio terms, and the timed runs.
"""
from __future__ import annotations

import functools
import math

import numpy as np
import scipy.signal

from ...cases import Case, CaseSetup
from ...throughput import Plan
from . import pcm
from .diagnose import VOCABULARY, diagnose_content  # noqa: F401  (the judge's interface)
from .measure import measure  # noqa: F401  (the judge's interface)
from .reference import Reference, compute_reference, design, reference_output  # noqa: F401

#: Bytes a C call may write beyond its input, per channel (the contract's room).
OUT_EXTRA_BYTES_PER_CHANNEL = 4


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


def case_setup(task_data: dict, case_data: dict, rng: np.random.Generator | None = None) -> CaseSetup:
    """The configuration, sample format and input signal of one case of the task data (the
    configuration is the data's; `rng` is not used)."""
    fmt = case_data["format"]
    spec = task_data["interface"]["formats"][fmt]
    channels = case_data["channels"]

    def make_input(rng: np.random.Generator) -> bytes:
        x = _signal(case_data["signal"], case_data["frames"], channels, case_data["sample_rate"], rng)
        return pcm.encode(pcm.quantize(x, spec), spec)

    config = {"sample_rate": case_data["sample_rate"], "channels": channels, "format": fmt,
              "format_code": spec["code"], "bands": normalise_bands(case_data["bands"])}
    return CaseSetup(config=config, spec=spec, make_input=make_input, frame_bytes=spec["bytes"] * channels,
                     sample_bytes=spec["bytes"], decode=functools.partial(pcm.to_float, spec=spec,
                                                                          channels=channels), label=fmt)


def _channels(config: dict) -> int:
    channels = config.get("channels", 1)
    return max(1, channels) if isinstance(channels, int) and not isinstance(channels, bool) else 1


def reply_room(config: dict) -> tuple[int, int, bool]:
    """Bytes a call's reply may hold beyond its input, the most a flush may return, and whether the
    room is counted over the run (no: each call may complete the frames held from earlier ones)."""
    extra = OUT_EXTRA_BYTES_PER_CHANNEL * _channels(config)
    return extra, extra + 64 * _channels(config), False


def worker_config(task_data: dict, config: dict, language: str, extra: int | None = None) -> dict:
    """The arguments a candidate in `language` is created with (the worker's create message).

    Python: ``StreamingEqualizer(sample_rate, channels, format, bands)`` with names; C and C++:
    ``eq_create(sample_rate, channels, format_code, bands, n_bands)`` with codes (an unknown name
    is code 99 unless the task data gives one, such as -1).
    """
    iface = task_data["interface"]
    bands = normalise_bands(config["bands"])
    if language == "python":
        plain = [{"type": b["type"], "freq": b["freq"], "q": b["q"], "gain_db": b["gain_db"]} for b in bands]
        return {"args": [config["sample_rate"], config["channels"], config["format"], plain], "kwargs": {}}
    fmt = config["format"]
    code = iface["formats"][fmt]["code"] if fmt in iface["formats"] else config.get("format_code", 99)
    types = iface["band_types"]
    coded = [{"type": types.index(b["type"]) if b["type"] in types else b.get("type_code", 99),
              "freq": b["freq"], "q": b["q"], "gain_db": b["gain_db"]} for b in bands]
    return {"args": [config["sample_rate"], config["channels"], code, coded, len(coded)],
            "out_extra_bytes": reply_room(config)[0] if extra is None else extra}


def config_checks(task_data: dict) -> list[dict]:
    """The configuration checks: ``kind`` (``invalid``/``valid``), ``why`` and ``config``."""
    return [{"kind": kind, "why": entry["why"], "config": entry}
            for kind in ("invalid", "valid") for entry in task_data.get(f"{kind}_configs", [])]


def probe(config: dict) -> tuple[bytes, int]:
    """What a valid configuration check feeds its instance (a few bytes of silence) and the
    longest reply allowed."""
    try:
        channels = max(1, int(config.get("channels", 1)))
    except (TypeError, ValueError, OverflowError):
        channels = 1
    return b"\x00" * 4 * channels, 8 * channels


def case_summary(case: Case, ref: Reference) -> dict:
    """What a result records of each case besides its id and configuration."""
    return {"frames": case.frames, "tolerance": ref.tolerance.as_dict(),
            "reference_oracle_max_diff": ref.oracle_max_diff}


def throughput_plan(task_data: dict, seed: int) -> Plan:
    """The timed runs: the task's ``throughput`` entry, stereo noise at -12 dBFS, fresh per turn."""
    spec_tp = task_data["throughput"]
    spec = task_data["interface"]["formats"][spec_tp["format"]]
    channels = spec_tp["channels"]
    frames = int(spec_tp["seconds"] * spec_tp["sample_rate"])
    frame_bytes = spec["bytes"] * channels
    n_bytes = frames * frame_bytes
    config = {"sample_rate": spec_tp["sample_rate"], "channels": channels, "format": spec_tp["format"],
              "format_code": spec["code"], "bands": normalise_bands(spec_tp["preset_bands"])}

    def make_case(turn: int, name: str, sizes: list[int]) -> Case:
        rng = np.random.default_rng([seed, 7, turn])
        x = np.clip(rng.standard_normal((frames, channels)) * 0.25, -1, 1)
        data = pcm.encode(pcm.quantize(x, spec), spec)
        return Case(id=f"throughput-{frames}-frames", config=config, spec=spec, input_bytes=data,
                    x=pcm.to_float(data, spec, channels), family="throughput", chunkings={name: sizes},
                    inputs={name: data}, frame_bytes=frame_bytes, sample_bytes=spec["bytes"])

    base: dict = {}

    def reference(case: Case) -> Reference:
        if not base:  # the tolerance is derived once, from the first input
            base["ref"] = compute_reference(case, task_data["tolerances"], seed=seed)
            base["sos"] = design(case)
            return base["ref"]
        sos = base["sos"]
        out = reference_output(case)
        values = pcm.stored_values(out, case.spec, channels)
        y = scipy.signal.sosfilt(sos, case.x, axis=0) if sos.shape[0] else case.x.copy()
        return Reference(output_bytes=out, values=values, y=y, tolerance=base["ref"].tolerance, sos=sos,
                         oracle_max_diff=0.0, float32_rms=base["ref"].float32_rms)

    chunkings = [("whole" if chunk is None else f"{chunk} frames", n_bytes if chunk is None else chunk * frame_bytes)
                 for chunk in spec_tp["chunk_frames"]]
    record = {k: spec_tp[k] for k in ("sample_rate", "channels", "format", "seconds")}
    setting = (f"{channels} ch {spec_tp['format']} {spec_tp['sample_rate']} Hz, {len(spec_tp['preset_bands'])} "
               f"bands, {spec_tp['seconds']:g} s")
    return Plan(config=config, setting=setting, record=record, n_bytes=n_bytes, samples=frames * channels,
                chunkings=chunkings, make_case=make_case, reference=reference,
                extra={"n_bands": len(spec_tp["preset_bands"]), "frames": frames})

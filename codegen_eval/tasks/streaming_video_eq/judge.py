"""The judge of the video task: what only a streaming video equalizer needs from the harness.

The reference is ``eq.video.StreamingVideoEqualizer``, bit-exact with FFmpeg's ``eq`` filter (its
own tests compare it with the real ffmpeg), so the tolerance is none: every byte must be equal.
Every byte is due as soon as it arrives, so the unit of zero latency is one byte. Where the
output first differs is said in video terms: frame, plane, row and column, and the distance
in bytes from the nearest chunk boundary. The diagnoses are in :mod:`.diagnose`.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...cases import Case, CaseSetup, boundary_kind
from ...scoring import RawRun, RunResult, _finite, boundary_distance, check_calls
from ...throughput import Plan
from .diagnose import VOCABULARY, diagnose_content  # noqa: F401  (the judge's interface)
from .layout import Layout, layout

#: Bytes a valid configuration check feeds its instance.
PROBE_BYTES = 16


def _params(task_data: dict, given: dict) -> dict:
    """Every parameter of the filter, the given ones (``"nan"``, ``"inf"`` as floats) over the defaults."""
    out = {name: limits[2] for name, limits in task_data["interface"]["params"].items()}
    out.update({k: float(v) if isinstance(v, str) else v for k, v in given.items()})
    return out


def _content(kind: str, lay: Layout, frames: int, rng: np.random.Generator) -> bytes:
    """`frames` frames of generated content: uniform ``noise``, a ``gradient`` over the full range
    that moves from frame to frame, colour ``bars`` (BT.601 limited range) with a little noise, or
    ``all_values``: each plane's bytes, frame after frame, run through a seeded permutation of
    0..255 over and over, so that enough frames hold every value in every plane."""
    if kind == "all_values":
        per_plane = []
        for w, h in lay.plane_sizes:
            n = w * h * frames
            order = np.concatenate([rng.permutation(256) for _ in range(-(-n // 256))])[:n]
            per_plane.append(order.astype(np.uint8).reshape(frames, w * h))
        return b"".join(per_plane[p][f].tobytes() for f in range(frames) for p in range(len(per_plane)))
    out = []
    for f in range(frames):
        planes = []
        for p, (w, h) in enumerate(lay.plane_sizes):
            if kind == "noise":
                plane = rng.integers(0, 256, size=(h, w))
            elif kind == "gradient":
                # a ramp over the full range, at a seeded offset and slope, moving from frame to frame
                start, step = rng.integers(0, 256), rng.integers(1, 8)
                ramp = np.round(np.linspace(0, 255, w)) if w > 1 else np.array([128.0])
                plane = (np.roll(ramp, f * 3 + p + start)[None, :] + np.arange(h)[:, None] * step + start) % 256
            elif kind == "bars":
                rgb = np.array([[191, 191, 191], [191, 191, 0], [0, 191, 191], [0, 191, 0], [191, 0, 191],
                                [191, 0, 0], [0, 0, 191], [16, 16, 16]], dtype=np.float64)
                r, g, b = rgb.T
                y = 16 + (65.481 * r + 128.553 * g + 24.966 * b) / 255
                u = 128 + (-37.797 * r - 74.203 * g + 112.0 * b) / 255
                v = 128 + (112.0 * r - 93.786 * g - 18.214 * b) / 255
                values = (y, u, v, np.full(8, 255.0))[p]
                columns = values[np.minimum(np.arange(w) * 8 // max(w, 1), 7)]
                plane = np.clip(np.round(columns)[None, :] + rng.integers(-2, 3, size=(h, w)), 0, 255)
            else:
                raise ValueError(f"unknown content {kind!r}")
            planes.append(np.asarray(plane, dtype=np.uint8).tobytes())
        out.append(b"".join(planes))
    return b"".join(out)


_GAMMAS = ("gamma", "gamma_r", "gamma_g", "gamma_b")


def _draw_params(task_data: dict, rng: np.random.Generator) -> dict:
    """Parameters drawn afresh for every seed: anywhere in their ranges, or (often) at the values
    where FFmpeg's choices turn: 1 exactly (copy and integer paths), one float step either side of
    1 and of 7.9, gammas whose float product or ratio is 1, a weight of 0 or 1."""
    ranges = task_data["interface"]["params"]
    out = {}
    for name, (lo, hi, default) in ranges.items():
        roll = rng.random()
        if roll < 0.12:  # an end of the range
            out[name] = float(lo if rng.random() < 0.5 else hi)
        elif name == "contrast":
            picks = [1.0, 1.0 + 1e-8, 1.0 - 1e-8, 7.9, 7.9 - 1e-7, -7.9 + 1e-7, rng.uniform(-3.0, 3.0),
                     rng.uniform(-12.0, 12.0), rng.uniform(lo, hi)]
            out[name] = float(picks[rng.integers(len(picks))])
        elif roll < 0.35:
            out[name] = float(default)
        elif name == "gamma_weight" and roll < 0.55:
            out[name] = float(rng.integers(0, 2))
        elif name == "brightness" and roll < 0.55:
            out[name] = float(rng.choice([0.005, -0.005, 0.01, 1e-9]))
        else:
            # uniform in the range; gammas uniform in log, where their effect is
            out[name] = float(np.exp(rng.uniform(np.log(lo), np.log(hi))) if name in _GAMMAS
                              else rng.uniform(lo, hi))
    if rng.random() < 0.3:  # a float product of 1 that is not 1 in double: gamma * gamma_g
        g = float(rng.choice([3.0, 0.3, 1.7, 7.0]))
        out["gamma"], out["gamma_g"] = g, 1.0 / g
    if rng.random() < 0.3:  # gamma_b (or gamma_r) one float step from gamma_g
        gg = float(np.float32(out["gamma_g"]))
        out[str(rng.choice(["gamma_b", "gamma_r"]))] = float(np.nextafter(np.float32(gg), np.float32(np.inf)))
    for name, (lo, hi, _) in ranges.items():
        out[name] = min(max(out[name], lo), hi)
    return out


def case_setup(task_data: dict, case_data: dict, rng: np.random.Generator | None = None) -> CaseSetup:
    """The configuration and generated frames of one case of the task data.

    A case whose ``params`` is ``"random"`` draws its parameters from `rng` (seeded by the seed and
    the case): a fresh configuration with every seed, which no candidate can know in advance. A
    ``width`` or ``height`` of ``"random"`` is drawn too (1 to 40 and 1 to 24, odd or even), and a
    ``frames`` of ``"all_values"`` is as many frames as it takes for the smallest plane to hold
    every value.
    """
    rng = rng if rng is not None else np.random.default_rng(0)
    case_data = dict(case_data)
    if case_data["width"] == "random":
        case_data["width"] = int(rng.integers(1, 41))
    if case_data["height"] == "random":
        case_data["height"] = int(rng.integers(1, 25))
    lay = layout(case_data["width"], case_data["height"], case_data["pix_fmt"])
    if case_data["frames"] == "all_values":
        case_data["frames"] = max(2, -(-256 // min(lay.plane_bytes)))
    given = case_data.get("params", {})
    if given == "random":
        given = _draw_params(task_data, rng)
    config = {"width": case_data["width"], "height": case_data["height"], "pix_fmt": case_data["pix_fmt"],
              "params": _params(task_data, given), "given": sorted(given),
              "positional": bool(case_data.get("python_positional"))}

    def make_input(rng: np.random.Generator) -> bytes:
        return _content(case_data.get("content", "noise"), lay, case_data["frames"], rng)

    units = {"row": lay.width, "luma_plane": lay.plane_bytes[0], "frame": lay.frame_bytes}
    return CaseSetup(config=config, spec={"bytes": 1, "kind": "uint"}, make_input=make_input, frame_bytes=1,
                     sample_bytes=1, units=units, label=case_data["pix_fmt"])


def reply_room(config: dict) -> tuple[int, int, bool]:
    """The most a call's reply may hold beyond its input, and a flush's: one frame, so that bytes
    held back and released later show as latency, not as a broken reply; counted over the run, so
    that a run's output never exceeds its input so far by more than a frame (replies padded within
    each call's room cannot pile up in the parent). A C call's buffer still has room for its input
    only: the worker's guard bytes start right after it."""
    lay = layout(config["width"], config["height"], config["pix_fmt"])
    return lay.frame_bytes, lay.frame_bytes, True


def worker_config(task_data: dict, config: dict, language: str, extra: int | None = None) -> dict:
    """The arguments a candidate in `language` is created with (the worker's create message).

    Python: ``StreamingVideoEqualizer(width, height, pix_fmt, ...)`` with the format's name and
    only the parameters the case gives, by keyword (the others keep the class's defaults), or all
    eight by position, in the interface's order, for a case marked ``python_positional``; C and
    C++: ``veq_create(width, height, pix_fmt_code, &params)`` with every parameter (an unknown name
    is code 99 unless the configuration gives one, such as -1).
    """
    params = _params(task_data, config.get("params", {}))
    if language == "python":
        head = [config["width"], config["height"], config["pix_fmt"]]
        if config.get("positional"):
            return {"args": head + [params[name] for name in task_data["interface"]["params"]], "kwargs": {}}
        given = config.get("given", list(config.get("params", {})))
        return {"args": head, "kwargs": {name: params[name] for name in given}}
    fmts = task_data["interface"]["pix_fmts"]
    code = fmts[config["pix_fmt"]]["code"] if config["pix_fmt"] in fmts else config.get("pix_fmt_code", 99)
    return {"args": [config["width"], config["height"], code, params], "out_extra_bytes": 0}


def config_checks(task_data: dict) -> list[dict]:
    """The configuration checks: ``kind`` (``invalid``/``valid``), ``why`` and ``config``."""
    return [{"kind": kind, "why": entry["why"], "config": entry}
            for kind in ("invalid", "valid") for entry in task_data.get(f"{kind}_configs", [])]


def probe(config: dict) -> tuple[bytes, int]:
    """What a valid configuration check feeds its instance, and the longest reply allowed."""
    return bytes(range(0, 256, 256 // PROBE_BYTES)), PROBE_BYTES


@dataclass
class VideoReference:
    """The reference output of one case's input.

    Attributes
    ----------
    output_bytes : bytes
    values : ndarray of uint8
    tolerance : dict
        ``{"kind": "exact", "max_abs": 0}``: the reference is bit-exact with FFmpeg.
    paths : tuple of str
        The arithmetic FFmpeg uses for each plane (``copy``, ``integer`` or ``lut``).
    """

    output_bytes: bytes
    values: np.ndarray
    tolerance: dict
    paths: tuple


def compute_reference(case: Case, tolerances: dict, seed: int = 0) -> VideoReference:
    """Run the reference over the whole input of `case`."""
    from eq.video import StreamingVideoEqualizer

    c = case.config
    engine = StreamingVideoEqualizer(c["width"], c["height"], c["pix_fmt"], **c["params"])
    out = engine.process(case.input_bytes) + engine.flush()
    return VideoReference(output_bytes=out, values=np.frombuffer(out, dtype=np.uint8),
                          tolerance={"kind": "exact", "max_abs": int(tolerances.get("max_abs_levels", 0))},
                          paths=engine.plane_paths)


def case_summary(case: Case, ref: VideoReference) -> dict:
    """What a result records of each case besides its id and configuration."""
    lay = layout(case.config["width"], case.config["height"], case.config["pix_fmt"])
    return {"frames": len(case.input_bytes) // lay.frame_bytes, "bytes": len(case.input_bytes),
            "tolerance": ref.tolerance, "plane_paths": list(ref.paths)}


def measure(case: Case, ref: VideoReference, raw: RawRun) -> RunResult:
    """Compare one run with the reference, byte for byte.

    Returns
    -------
    RunResult
        Lengths after every call against the input received so far; the largest difference (in
        8-bit levels), the share of bytes that differ, and where the first one is (``where``: frame,
        plane, row, column, byte of the stream, distance from the nearest chunk boundary).
    """
    sizes = case.chunkings[raw.chunking]
    res = RunResult(case_id=case.id, chunking=raw.chunking, boundary_kind=boundary_kind(sizes, 1, 1), repeat=raw.repeat,
                    completed=raw.completed, error=raw.error, error_call=raw.error_call,
                    create_error=raw.create_error, expected_bytes=len(ref.output_bytes), got_bytes=len(raw.output),
                    error_unit="levels", input_name=raw.input_name, too_long=raw.too_long, calls=len(sizes))
    if not check_calls(res, raw, sizes, 1, len(case.input_bytes)):
        return res
    got = np.frombuffer(raw.output, dtype=np.uint8)
    exp = ref.values
    n = min(got.size, exp.size)
    signed = got[:n].astype(np.int16) - exp[:n]
    diff = np.abs(signed)
    if n:
        res.max_abs = float(diff.max())
        res.mismatch_fraction = float(np.mean(diff > 0))
        res.mean_diff = float(signed.mean())
        res.error_per_frame = diff.astype(np.float32)
        res.values = got[:n]
        bad = np.nonzero(diff)[0]
        res.bad_samples = int(bad.size)
        res.saturated_bad = int(np.isin(exp[bad], (0, 255)).sum())
        if bad.size:
            first = int(bad[0])
            res.first_frame = first
            res.first_expected = float(exp[first])
            res.first_got = _finite(float(got[first]))
            res.boundary_distance_frames = boundary_distance(res.boundaries_frames, first)
            lay = layout(case.config["width"], case.config["height"], case.config["pix_fmt"])
            res.where = dict(lay.locate(first), byte=first, boundary_distance_bytes=res.boundary_distance_frames)
            if res.where["boundary_distance_bytes"] is None:
                del res.where["boundary_distance_bytes"]
    res.within_tolerance = bool(res.max_abs <= ref.tolerance["max_abs"] and got.size == exp.size
                                and raw.error is None)
    return res


def throughput_plan(task_data: dict, seed: int) -> Plan:
    """The timed runs: the task's ``throughput`` entry, noise frames, fresh for every turn."""
    spec_tp = task_data["throughput"]
    lay = layout(spec_tp["width"], spec_tp["height"], spec_tp["pix_fmt"])
    config = {"width": lay.width, "height": lay.height, "pix_fmt": lay.pix_fmt,
              "params": _params(task_data, spec_tp["params"])}
    n_bytes = lay.frame_bytes * spec_tp["frames"]

    def make_case(turn: int, name: str, sizes: list[int]) -> Case:
        rng = np.random.default_rng([seed, 7, turn])
        data = _content("noise", lay, spec_tp["frames"], rng)
        return Case(id=f"throughput-{spec_tp['frames']}-frames", config=config, spec={"bytes": 1, "kind": "uint"},
                    input_bytes=data, x=None, family="throughput", chunkings={name: sizes}, inputs={name: data})

    def reference(case: Case) -> VideoReference:
        return compute_reference(case, task_data["tolerances"])

    units = {"row": lay.width, "frame": lay.frame_bytes}
    chunkings = []
    for chunk in spec_tp["chunk_bytes"]:
        if chunk is None:
            chunkings.append(("whole", n_bytes))
        elif isinstance(chunk, str):
            chunkings.append((f"one {chunk} ({units[chunk]} B)", units[chunk]))
        else:
            chunkings.append((f"{chunk} bytes", int(chunk)))
    shown = ", ".join(f"{k} {v:g}" for k, v in spec_tp["params"].items())
    setting = f"{lay.width}x{lay.height} {lay.pix_fmt}, {spec_tp['frames']} frames, {shown}"
    record = {"width": lay.width, "height": lay.height, "pix_fmt": lay.pix_fmt, "frames": spec_tp["frames"],
              "params": dict(spec_tp["params"])}
    return Plan(config=config, setting=setting, record=record, n_bytes=n_bytes, samples=n_bytes,
                chunkings=chunkings, make_case=make_case, reference=reference,
                extra={"video_frames": spec_tp["frames"]})

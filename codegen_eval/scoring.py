"""Pure functions: raw worker results -> per-run measurements -> properties -> verdict.

Nothing here runs candidate code. How one run is measured against the reference is the task's
(its judge module's ``measure``, which returns a :class:`RunResult`); what the measurements
mean for the verdict is the same for every task.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

ERROR_DIAGNOSES = ("compile_error", "load_error", "crash", "timeout", "resource_limit")


@dataclass(eq=False)
class RawRun:
    """What the parent saw of one run: one case's input fed with one chunking.

    ``input_name`` names the input (each chunking of a case has its own); ``repeat`` marks the
    replay worker's whole-input runs, which every chunking of the same input must equal.
    """

    case_id: str
    chunking: str
    input_name: str = "whole"
    output: bytes = b""
    lengths: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    error: dict | None = None
    error_call: int | None = None
    create_error: dict | None = None
    completed: bool = False
    repeat: bool = False
    too_long: dict | None = None

    def fill(self, got) -> None:
        """Take the outputs of a :class:`codegen_eval.runner.CallResult`."""
        self.output = got.output
        self.lengths = np.asarray(got.lengths, dtype=np.int64)
        self.error = got.error
        self.error_call = got.error_call
        self.create_error = got.create_error
        self.too_long = got.too_long
        self.completed = got.completed and got.create_error is None


@dataclass(eq=False)
class RunResult:
    """Measurements of one run against the reference.

    Errors are in LSB of the stored value for integer formats and absolute for ``f32le``.
    ``calls`` is the number of ``process`` calls of the chunking; ``first_bad_call`` (from 0)
    is the first call after which the total output length is not the zero-latency count, and
    ``first_bad_got_bytes``/``first_bad_expected_bytes`` are the totals after that call (all
    calls so far, not that call alone); ``got_bytes``/``expected_bytes`` are the totals at the
    end of the stream, flush included.
    """

    case_id: str
    chunking: str
    boundary_kind: str
    repeat: bool
    completed: bool
    error: dict | None
    error_call: int | None
    create_error: dict | None
    expected_bytes: int
    got_bytes: int
    calls: int = 0
    short_calls: int = 0
    over_calls: int = 0
    first_bad_call: int | None = None
    first_bad_got_bytes: int | None = None
    first_bad_expected_bytes: int | None = None
    max_abs: float = 0.0
    mismatch_fraction: float = 0.0
    mean_diff: float = 0.0
    mean_signed_diff: float = 0.0
    rounding_rule: str | None = None
    relative_rms: float = 0.0
    first_frame: int | None = None
    first_channel: int | None = None
    first_expected: float | None = None
    first_got: float | None = None
    boundary_distance_frames: int | None = None
    channel_max_abs: list = field(default_factory=list)
    saturated_bad: int = 0
    bad_samples: int = 0
    within_tolerance: bool = False
    identical_to_whole: bool | None = None
    shift_frames: int | None = None
    float32_like: bool = False
    error_per_frame: np.ndarray | None = None
    boundaries_frames: np.ndarray | None = None
    error_unit: str = "LSB"
    input_name: str = "whole"
    too_long: dict | None = None
    where: dict | None = None
    values: np.ndarray | None = None

    @property
    def ok(self) -> bool:
        """Completed, correct length, zero latency, within tolerance, and not different from the
        same input fed whole (chunk invariance; determinism for the replayed whole input)."""
        return (self.completed and self.error is None and self.create_error is None
                and self.got_bytes == self.expected_bytes and self.short_calls == 0 and self.over_calls == 0
                and self.within_tolerance and self.identical_to_whole is not False)

    def evidence(self) -> dict:
        """The evidence item of this run: case, chunking, where the output first diverges (audio:
        frame and channel, and the signed distance from the nearest chunk boundary in frames; a
        task may give its own terms in ``where``), largest error and its unit, and the expected and
        received values there (keys without a value left out)."""
        out = {"case": self.case_id, "chunking": self.chunking,
               "input": self.input_name if self.input_name != self.chunking else None}
        if self.where is not None:
            out.update(self.where)
        else:
            out.update(frame=self.first_frame, channel=self.first_channel,
                       boundary_distance_frames=self.boundary_distance_frames)
        out.update(error=_finite(self.max_abs), error_unit=self.error_unit, expected=self.first_expected,
                   got=self.first_got)
        return {k: v for k, v in out.items() if v is not None}


def _finite(v: float) -> float | str:
    return float(v) if np.isfinite(v) else str(v)


def expected_lengths(sizes: list[int], frame_bytes: int) -> np.ndarray:
    """Output bytes the contract requires after every call (complete frames so far)."""
    return np.cumsum(sizes, dtype=np.int64) // frame_bytes * frame_bytes


def check_calls(res: RunResult, raw: RawRun, sizes: list[int], frame_bytes: int, n_bytes: int) -> bool:
    """Fill in what every task measures the same way: the units of zero latency where chunks end
    (``boundaries_frames``) and, for a run that completed, the calls after which the total output
    length is not the zero-latency count (``short_calls``, ``over_calls``, ``first_bad_*``).

    Returns
    -------
    bool
        Whether the run has content to compare (it was created and completed).
    """
    ends = np.cumsum(sizes)[:-1]
    res.boundaries_frames = np.unique(ends[(ends > 0) & (ends < n_bytes)] // frame_bytes)
    if raw.create_error is not None or not raw.completed:
        return False
    want = expected_lengths(sizes, frame_bytes)[: raw.lengths.size]
    short = np.nonzero(raw.lengths < want)[0]
    over = np.nonzero(raw.lengths > want)[0]
    res.short_calls, res.over_calls = int(short.size), int(over.size)
    bad = np.concatenate([short, over])
    if bad.size:
        res.first_bad_call = int(bad.min())
        res.first_bad_got_bytes = int(raw.lengths[res.first_bad_call])
        res.first_bad_expected_bytes = int(want[res.first_bad_call])
    return True


def boundary_distance(boundaries_frames: np.ndarray, frame: int) -> int | None:
    """Return the signed distance in frames from the nearest chunk boundary to `frame`.

    Parameters
    ----------
    boundaries_frames : ndarray of int
        For every chunk end inside the stream, the frame it falls in: ``end_byte // frame_bytes``
        (the frame completed by the next call, or the first frame of the next chunk when the chunk
        ends on a frame boundary).
    frame : int
        The frame of interest (the first divergent one).

    Returns
    -------
    int or None
        0 when `frame` is a boundary frame, positive after the nearest boundary, negative before
        it; None when the chunking has no boundary (whole input).

    Examples
    --------
    >>> boundary_distance(np.array([17, 34]), 18)
    1
    """
    if boundaries_frames is None or boundaries_frames.size == 0:
        return None
    d = frame - boundaries_frames
    return int(d[np.argmin(np.abs(d))])


def compare_with_replay(results: list[RunResult], raws: list[RawRun]) -> None:
    """Set ``identical_to_whole`` from the bytes of the replay worker's whole-input runs.

    A run of the stream worker gets whether its bytes equal those of the same input fed whole by
    the replay worker (chunk invariance); the replay worker's run of the ``whole`` input gets
    whether it equals the stream worker's (determinism, across two processes). The replay
    worker's other runs are the references of that comparison and get None.
    """
    replay = {(r.case_id, r.input_name): r.output for r in raws if r.repeat and r.completed and r.error is None}
    stream_whole = {r.case_id: r.output for r in raws
                    if not r.repeat and r.chunking == "whole" and r.completed and r.error is None}
    for res, raw in zip(results, raws):
        if not raw.completed or raw.error is not None:
            continue
        if not raw.repeat and (raw.case_id, raw.input_name) in replay:
            res.identical_to_whole = raw.output == replay[(raw.case_id, raw.input_name)]
        elif raw.repeat and raw.input_name == "whole" and raw.case_id in stream_whole:
            res.identical_to_whole = raw.output == stream_whole[raw.case_id]


def config_right(check: dict) -> bool:
    """Whether a configuration check went as the contract says: an invalid configuration is
    refused; a valid one is accepted and its instance then processes without an error."""
    if check["kind"] == "valid":
        return bool(check.get("accepted")) and not check.get("error") and not check.get("too_long")
    return not check.get("accepted")


def properties(results: list[RunResult], config_results: list[dict]) -> dict:
    """Summarise the run measurements into the contract's properties.

    Returns
    -------
    dict
        ``runs``, ``runs_ok``, ``cases``, ``cases_whole_ok`` (counts); how the runs that are not
        done ended: ``runs_raised`` (the candidate raised or returned an error during the run),
        ``runs_rejected`` (creating its instance failed), ``runs_not_run`` (never reached or cut
        off: the worker ended first); and booleans ``completed``, ``matches_reference``,
        ``chunk_invariant``, ``zero_latency``, ``correct_length``, ``deterministic``,
        ``accepts_valid``, ``rejects_invalid``.
    """
    done = [r for r in results if r.completed and r.create_error is None and r.error is None]
    first = [r for r in done if not r.repeat]
    whole = {r.case_id: r for r in first if r.chunking == "whole"}
    repeat = [r for r in done if r.repeat and r.input_name == "whole"]
    invalid = [c for c in config_results if c["kind"] == "invalid"]
    valid = [c for c in config_results if c["kind"] == "valid"]
    return {
        "runs": len(results),
        "runs_ok": sum(r.ok for r in results),
        "runs_raised": sum(r.error is not None for r in results),
        "runs_rejected": sum(r.create_error is not None for r in results),
        "runs_not_run": sum(not r.completed and r.error is None and r.create_error is None for r in results),
        "completed": len(done) == len(results),
        "matches_reference": bool(first) and all(r.within_tolerance for r in first),
        "chunk_invariant": bool(first) and all(r.identical_to_whole for r in first),
        "replays_match_reference": all(r.within_tolerance for r in done if r.repeat),
        "zero_latency": all(r.short_calls == 0 and r.over_calls == 0 for r in done),
        "correct_length": all(r.got_bytes == r.expected_bytes for r in done),
        "deterministic": all(r.identical_to_whole for r in repeat) if repeat else True,
        "accepts_valid": all(r.create_error is None for r in results) and all(config_right(c) for c in valid),
        "rejects_invalid": all(config_right(c) for c in invalid),
        "cases_whole_ok": sum(r.ok for r in whole.values()),
        "cases": len({r.case_id for r in results}),
        "configs": len(config_results),
        "configs_ok": sum(config_right(c) for c in config_results),
    }


def verdict(diagnoses: list[dict], props: dict | None = None) -> str:
    """``error`` when the candidate could not be built, loaded or run to the end (compile or load
    error, crash, timeout, resource limit); ``fail`` on any other diagnosis, including a
    disallowed import or operation (a rule broken on purpose, not an accident); else ``pass``,
    and only when every run and every configuration check was right (`props`, from
    :func:`properties`): a failure that no diagnosis names is still a failure."""
    codes = {d["code"] for d in diagnoses}
    if codes & set(ERROR_DIAGNOSES):
        return "error"
    if codes:
        return "fail"
    if props is not None and (props["runs_ok"] != props["runs"] or props["configs_ok"] != props["configs"]
                              or not props["runs"]):
        return "fail"
    return "pass"

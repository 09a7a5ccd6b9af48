"""How one run of the audio task is measured against the reference: errors in LSB (absolute for
``f32le``), the first divergent frame and channel, rounding rules, saturation, precision, delay."""
from __future__ import annotations

import numpy as np

from ...cases import Case, boundary_kind
from ...scoring import RawRun, RunResult, _finite, boundary_distance, check_calls
from . import pcm
from .reference import Reference

# a candidate whose error is within this factor of single-precision filtering error looks single precision
FLOAT32_FACTOR = 30.0


# Rounding rules other than round-to-nearest that candidates use by mistake.
_ROUNDING_RULES = {
    "toward zero (truncation)": np.trunc,
    "down (floor)": np.floor,
    "up (ceiling)": np.ceil,
    "half away from zero": lambda v: np.sign(v) * np.floor(np.abs(v) + 0.5),
    "half up": lambda v: np.floor(v + 0.5),
}
_RULE_MATCH_FRACTION = 0.999
"""Share of samples that a rounding rule must reproduce to be named as the cause."""


def _rounding_rule(y: np.ndarray, spec: dict, got: np.ndarray) -> str | None:
    """Name the rounding rule that turns the exact output `y` into the candidate's values `got`,
    when one rule reproduces them (nearly) everywhere and round-to-nearest does not.

    Single-precision arithmetic also puts 1-LSB errors into the output, but at random places:
    no single rule reproduces them, so they are not mistaken for a rounding rule."""
    lo, hi = pcm.stored_range(spec)
    scaled = np.asarray(y, dtype=np.float64) * spec["scale"]
    best, best_match = None, np.mean(pcm.quantize(y, spec) == got)  # round to nearest
    for name, rule in _ROUNDING_RULES.items():
        match = float(np.mean(np.clip(rule(scaled), lo, hi) == got))
        if match > best_match:
            best, best_match = name, match
    return best if best_match >= _RULE_MATCH_FRACTION else None


def measure(case: Case, ref: Reference, raw: RawRun) -> RunResult:
    """Compare one raw run with the reference output of its case.

    Parameters
    ----------
    case : Case
        The case the run belongs to (its chunk sizes give the boundaries and expected lengths).
    ref : Reference
        The reference output and tolerance of `case`.
    raw : RawRun
        What the worker reported.

    Returns
    -------
    RunResult
        Lengths after every call against the zero-latency count, error sizes (LSB of the stored
        value for integer formats, absolute for ``f32le``) over the ``(frames, channels)`` output,
        the first sample beyond tolerance and its distance from the nearest chunk boundary,
        saturation and precision indicators, and whether the run is within tolerance.
    """
    sizes = case.chunkings[raw.chunking]
    fb = case.frame_bytes
    spec = case.spec
    res = RunResult(case_id=case.id, chunking=raw.chunking,
                    boundary_kind=boundary_kind(sizes, fb, spec["bytes"]), repeat=raw.repeat,
                    completed=raw.completed, error=raw.error, error_call=raw.error_call,
                    create_error=raw.create_error, expected_bytes=len(ref.output_bytes), got_bytes=len(raw.output),
                    error_unit="abs" if spec["kind"] == "float" else "LSB", input_name=raw.input_name,
                    too_long=raw.too_long, calls=len(sizes))
    if not check_calls(res, raw, sizes, fb, len(case.input_bytes)):
        return res

    channels = case.config["channels"]
    got = pcm.stored_values(raw.output, spec, channels).astype(np.float64)
    exp = ref.values.astype(np.float64)
    n = min(got.shape[0], exp.shape[0])
    diff = got[:n] - exp[:n]
    diff = np.where(np.isnan(diff), np.inf, diff)
    absd = np.abs(diff)
    tol = ref.tolerance
    if n:
        res.max_abs = float(absd.max())
        res.mismatch_fraction = float(np.mean(absd > 0))
        finite = np.isfinite(diff)
        res.mean_diff = float(diff[finite].mean()) if finite.any() else float("inf")
        sign = np.sign(exp[:n])
        signed = (diff * sign)[finite & (sign != 0)]
        res.mean_signed_diff = float(signed.mean()) if signed.size else 0.0
        if (spec["kind"] != "float" and raw.chunking == "whole" and 0 < res.max_abs <= 2
                and got.shape == exp.shape):  # the whole-input runs are where rounding is judged
            res.rounding_rule = _rounding_rule(ref.y, spec, got)
        scale = spec["scale"] if spec["kind"] != "float" else 1.0
        ref_rms = float(np.sqrt(np.mean((exp[:n] / scale) ** 2))) or 1.0
        err_rms = float(np.sqrt(np.mean(np.where(finite, diff / scale, 1e6) ** 2)))
        res.relative_rms = err_rms / ref_rms
        # no bigger than what single-precision filtering does to this case
        res.float32_like = bool(err_rms <= FLOAT32_FACTOR * ref.float32_rms)
        res.channel_max_abs = [_finite(v) for v in absd.max(axis=0)]
        res.error_per_frame = absd.max(axis=1)
        beyond = absd > tol.max_abs
        limit_mask = beyond if beyond.any() else absd > 0
        res.bad_samples = int(beyond.sum())
        if limit_mask.any():
            frame, channel = np.argwhere(limit_mask)[0]
            res.first_frame, res.first_channel = int(frame), int(channel)
            res.first_expected = float(exp[frame, channel])
            res.first_got = _finite(float(got[frame, channel]))
            res.boundary_distance_frames = boundary_distance(res.boundaries_frames, int(frame))
        if spec["kind"] != "float":
            lo, hi = pcm.stored_range(spec)
            unclipped = ref.y[:n] * spec["scale"]
            saturating = (unclipped > hi + 0.5) | (unclipped < lo - 0.5)
            res.saturated_bad = int((beyond & saturating).sum())
    within = res.max_abs <= tol.max_abs and (tol.kind == "float" or res.mismatch_fraction <= tol.max_mismatch_fraction)
    res.within_tolerance = bool(within and got.shape[0] == exp.shape[0] and raw.error is None)
    if not res.within_tolerance and raw.chunking == "whole" and n > 64:
        res.shift_frames = find_delay(got[:n], exp[:n], tol.max_abs)
    return res


def find_delay(got: np.ndarray, exp: np.ndarray, max_abs: float, max_frames: int = 32) -> int | None:
    """Return the delay (frames, 1 to `max_frames`) for which `got` equals `exp` delayed, within
    `max_abs`, or None. Both arrays are ``(frames, channels)``."""
    for k in range(1, max_frames + 1):
        if np.all(np.abs(got[k:] - exp[:-k]) <= max_abs):
            return k
    return None



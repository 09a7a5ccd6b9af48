"""Content rules of the video task: why an equalizer's output is wrong, in video terms.

Each rule contrasts the cases or runs that differ in one factor: odd and even sizes with
subsampled chroma, saturation 1 or not, the plane's arithmetic (FFmpeg's integer path or its
table), the first frame and the later ones, whole calls and chunks that split a plane. Evidence
names the first wrong byte by frame, plane, row and column, and its distance in bytes from the
nearest chunk boundary.
"""
from __future__ import annotations

import functools

import numpy as np

from ...cases import Case
from ...diagnosis import RunView, _bad_content, _ev, late_runs, make
from eq.video import PIX_FMTS

from .layout import Layout, layout

#: The video task's own codes (after the shared ones in reports).
VOCABULARY = ("plane_boundary_mishandled", "chroma_size_rounded_down", "saturation_on_luma", "lut_rounding",
              "integer_path_rounding", "wraparound", "frame_boundary_mishandled", "plane_layout_mishandled",
              "wrong_plane_function")
#: The fewest bytes of a chunk, from the first wrong one on, that must show the previous plane's
#: table before a chunk is said to be processed as one plane.
PLANE_RULE_BYTES = 4
#: The largest error (8-bit levels) on table planes that counts as rounding, not a wrong function.
ROUNDING_LEVELS = 2
#: The largest error on integer-path planes that counts as other arithmetic (floating point,
#: another brightness scale) for the same formula, not a wrong function.
INTEGER_ARITHMETIC_LEVELS = 8


def _layout(case: Case, chroma_rounded_down: bool = False) -> Layout:
    c = case.config
    return layout(c["width"], c["height"], c["pix_fmt"], chroma_rounded_down)


@functools.lru_cache(maxsize=256)
def _cached_programs(pix_fmt: str, params: tuple) -> tuple:
    from eq.video import _plane_programs

    return _plane_programs(pix_fmt, **dict(params))


def _programs(case: Case) -> tuple:
    """The reference's ``(tables, paths, integer coefficients)`` of the case's planes."""
    return _cached_programs(case.config["pix_fmt"], tuple(case.config["params"].items()))


def _map(data: bytes, lay: Layout, tables: np.ndarray) -> np.ndarray:
    """`data`, from the start of a frame, mapped through the tables of the planes `lay` puts its
    bytes in: the output of a candidate with that layout (a model a rule is checked against)."""
    x = np.frombuffer(data, dtype=np.uint8)
    return tables[lay.planes_of(np.arange(x.size)), x]


def _input(case: Case, r) -> np.ndarray:
    return np.frombuffer(case.inputs[r.input_name], dtype=np.uint8)


def _is_plane_function(case: Case, r) -> bool | None:
    """Whether the candidate's output is a function of the input byte and its plane (the same value
    in the same plane always gives the same output): its bytes were put in the right planes. None
    when no value occurs twice in one plane (a 1x1 case), so that nothing tells."""
    x = _input(case, r)[: r.values.size].astype(np.int64)
    key = _layout(case).planes_of(np.arange(x.size)) * 256 + x
    if np.bincount(key).max(initial=0) < 2:
        return None
    low = np.full(4 * 256, 256)
    high = np.full(4 * 256, -1)
    np.minimum.at(low, key, r.values)
    np.maximum.at(high, key, r.values)
    return bool(np.all((low == high) | (high < 0)))


def _bad_bytes(r) -> np.ndarray:
    return np.zeros(0, dtype=np.int64) if r.error_per_frame is None else np.nonzero(r.error_per_frame > 0)[0]


def _bad_planes(case: Case, r) -> set:
    return set(np.unique(_layout(case).planes_of(_bad_bytes(r))).tolist())


def _wraps(case: Case, r) -> bool:
    """Whether the wrong bytes on FFmpeg's integer-path planes are all saturated in the reference and
    equal to the unclipped value modulo 256 (and there is at least one)."""
    if r.values is None or not r.bad_samples:
        return False
    _, paths, coefficients = _programs(case)
    x = _input(case, r).astype(np.int64)
    bad = _bad_bytes(r)
    planes = _layout(case).planes_of(bad)
    seen = 0
    for p, path in enumerate(paths):
        on = bad[planes == p]
        if not on.size or path != "integer":
            continue
        c, b = coefficients[p]
        unclipped = ((x[on] * c) >> 12) + b
        if np.any((unclipped >= 0) & (unclipped <= 255)) or np.any(r.values[on] != (unclipped & 255)):
            return False
        seen += on.size
    return seen > 0


def _rounds_down(case: Case) -> bool:
    """Whether flooring the chroma size would change it (an odd size in a subsampled direction)."""
    return _layout(case).plane_sizes != _layout(case, chroma_rounded_down=True).plane_sizes


def _subsampled(case: Case) -> bool:
    return PIX_FMTS[case.config["pix_fmt"]][:2] != (0, 0)


def diagnose_content(cases: dict[str, Case], view: RunView) -> list[dict]:
    """Diagnoses from what the outputs hold (see :func:`codegen_eval.diagnosis.diagnose_runs`)."""
    out: list[dict] = []
    whole = view.whole
    failing = {cid: r for cid, r in whole.items() if r.max_abs > 0 and r.got_bytes == r.expected_bytes
               and cid not in view.latency_cases and r.error_per_frame is not None}
    right = {cid for cid, r in whole.items() if r.ok}

    def explain(code: str, detail: str, ids: list[str]) -> None:
        out.append(make(code, detail, [_ev(failing[i]) for i in ids]))
        for i in ids:
            failing.pop(i)

    if failing:
        # every failing case right for longer than every passing case lasts (a unit of zero
        # latency is a byte here), wrong after
        late, longest_ok = late_runs(cases, whole, failing)
        if late and len(late) == len(failing):
            first = min(r.first_frame for r in late.values())
            explain("long_input_error", f"right for the first {first} bytes of a stream, wrong after; every case "
                    f"of at most {longest_ok} bytes passes", list(late))
    if failing:
        later = [cid for cid, r in failing.items() if r.first_frame is not None
                 and r.first_frame >= _layout(cases[cid]).frame_bytes]
        if later and len(later) == len(failing):
            explain("frame_boundary_mishandled", "the first frame is right and a later frame is wrong in every "
                    "failing case: the position in the frame is lost at the end of a frame", later)
    if failing:
        wrapped = [cid for cid, r in failing.items() if _wraps(cases[cid], r)]
        if wrapped:
            # the same bug where no integer-path byte shows it: every wrong byte one that must clip
            wrapped += [cid for cid, r in failing.items() if cid not in wrapped and r.bad_samples
                        and r.saturated_bad == r.bad_samples]
            explain("wraparound", "wrong bytes are those where the output must clip to 0 or 255, and on FFmpeg's "
                    "integer path each one is the unclipped value modulo 256: it wraps around instead of clipping",
                    wrapped)
    if failing:
        odd = [cid for cid in failing if _rounds_down(cases[cid])]
        even_right = [cid for cid in right if _subsampled(cases[cid]) and not _rounds_down(cases[cid])]
        # and the output is what a candidate with floored chroma sizes gives, byte for byte
        odd = [cid for cid in odd if failing[cid].values is not None and np.array_equal(
            failing[cid].values, _map(cases[cid].inputs[failing[cid].input_name],
                                      _layout(cases[cid], chroma_rounded_down=True),
                                      _programs(cases[cid])[0])[: failing[cid].values.size])]
        if odd and len(odd) == len(failing) and even_right:
            explain("chroma_size_rounded_down", "only frames with an odd size in a subsampled direction are wrong, "
                    "from the chroma planes on: the chroma size is rounded down instead of up", odd)
    if failing:
        luma_only = [cid for cid in failing if _bad_planes(cases[cid], failing[cid]) == {0}]
        saturated = [cid for cid in luma_only if cases[cid].config["params"]["saturation"] != 1.0]
        sat_one_right = [cid for cid in right if cases[cid].config["params"]["saturation"] == 1.0]
        if saturated and len(saturated) == len(failing) and sat_one_right:
            explain("saturation_on_luma", "only the luma plane is wrong, and only when saturation is not 1: "
                    "saturation is applied to luma", saturated)
    if failing:
        by_path: dict = {"lut": [], "integer": []}
        for cid, r in failing.items():
            paths = _programs(cases[cid])[1]
            kinds = {paths[p] for p in _bad_planes(cases[cid], r)}
            if kinds == {"lut"} and r.max_abs <= ROUNDING_LEVELS:
                by_path["lut"].append(cid)
            elif kinds == {"integer"} and r.max_abs <= INTEGER_ARITHMETIC_LEVELS:
                by_path["integer"].append(cid)
        if by_path["lut"]:
            explain("lut_rounding", f"off by at most {ROUNDING_LEVELS} levels, only on planes FFmpeg computes "
                    "with its table (gamma not 1, or |contrast| >= 7.9): not its truncating (uint8)(256 * v)",
                    by_path["lut"])
        if by_path["integer"]:
            worst = max(failing[cid].max_abs for cid in by_path["integer"])
            explain("integer_path_rounding", f"off by up to {worst:g} levels, only on planes FFmpeg computes with "
                    "integers (gamma 1, |contrast| < 7.9): not its process_c arithmetic (c = (int)(contrast * "
                    "4096), brightness scaled by 511/200, >> 12)", by_path["integer"])
    if failing:
        verdicts = {cid: _is_plane_function(cases[cid], r) for cid, r in failing.items() if r.values is not None}
        mixed = [cid for cid, v in verdicts.items() if v is False]
        if mixed:  # and the cases too small to tell are taken to be the same bug
            mixed += [cid for cid, v in verdicts.items() if v is None]
            explain("plane_layout_mishandled", "the output is not a function of the byte and its plane (one value "
                    "in one plane gives different outputs): bytes are taken for the wrong plane (plane sizes, "
                    "order or position in the frame)", mixed)
    if failing:
        planes = sorted({"YUVA"[p] for cid, r in failing.items() for p in _bad_planes(cases[cid], r)})
        explain("wrong_plane_function", f"wrong values on plane(s) {', '.join(planes)} of whole frames, fed whole",
                list(failing))
    if not view.nondeterministic:
        out += _diagnose_chunking(cases, whole, view)
    return out


def _diagnose_chunking(cases: dict[str, Case], whole: dict, view: RunView) -> list[dict]:
    """Chunked runs that are wrong although the same input fed whole is right.

    ``state_reset_at_boundary``: the first wrong byte is the first of a chunk, and the whole run is
    what a candidate that starts every call at the start of a frame gives.
    ``plane_boundary_mishandled``: the chunk of the first wrong byte crossed into a new plane before
    it, and from that plane's first byte to the chunk's end went through the table of the plane the
    chunk began in (over :data:`PLANE_RULE_BYTES` bytes or more in one run at least). A run both
    models reproduce tells neither; a code is said only when some run fits its model alone and
    none fits the other alone. When a wrong run fits neither, neither is said: it is left to ``unexplained_failure``.
    """
    def whole_is_right(r) -> bool:
        twin = view.replay.get((r.case_id, r.input_name))
        if twin is not None:
            return not _bad_content(twin)
        return r.case_id in whole and whole[r.case_id].ok

    fails = [r for r in view.first if r.chunking != "whole" and whole_is_right(r)
             and r.case_id not in view.latency_cases and r.got_bytes == r.expected_bytes
             and (not r.within_tolerance or r.identical_to_whole is False) and r.first_frame is not None]
    if not fails:
        return []
    at_start, at_plane = [], []
    for r in fails:
        case = cases[r.case_id]
        if r.values is None:
            return []
        lay = _layout(case)
        tables = _programs(case)[0]
        data = case.inputs[r.input_name]
        ends = np.cumsum([0] + list(case.chunkings[r.chunking]))
        byte = r.first_frame
        k = int(np.searchsorted(ends, byte, side="right"))  # the chunk [ends[k-1], ends[k]) holds it
        start, stop = int(ends[k - 1]), min(int(ends[k]), r.values.size)
        # the whole run is what a candidate that starts every call at the start of a frame gives
        model = np.concatenate([_map(data[a:b], lay, tables) for a, b in zip(ends[:-1], ends[1:])] or
                               [np.zeros(0, dtype=np.uint8)])
        # the last plane (or frame) start at or before the first wrong byte
        base = byte - byte % lay.frame_bytes
        boundary = max(base + q for q in lay.plane_starts if base + q <= byte)
        x = np.frombuffer(data, dtype=np.uint8)[boundary:stop]
        reset = bool(np.array_equal(model[: r.values.size], r.values))
        # the chunk crossed into a new plane, and from there on went through the table of the plane
        # it began in
        one_plane = boundary > start and np.array_equal(r.values[boundary:stop],
                                                        tables[lay.plane_of(start % lay.frame_bytes)][x])
        if not reset and not one_plane:
            return []  # a run neither model accounts for: left to unexplained_failure
        if reset != one_plane:  # a run both models reproduce (tables alike there) tells neither
            (at_start if reset else at_plane).append((r, stop - boundary))
    # a chunk processed as one plane is said only where PLANE_RULE_BYTES bytes or more showed it
    # in one run at least (one byte alone could match by chance)
    strong = any(n >= PLANE_RULE_BYTES for _, n in at_plane)
    at_start, at_plane = [r for r, _ in at_start], [r for r, _ in at_plane]
    if at_start and not at_plane:
        return [make("state_reset_at_boundary", "whole input passes; every wrong chunked run is what a candidate "
                     "that starts each call at the start of a frame gives: the place in the frame is not carried "
                     "from one call to the next", [_ev(r) for r in at_start])]
    if at_plane and not at_start and strong:
        return [make("plane_boundary_mishandled", "whole input passes; a chunk that crosses from one plane into "
                     "the next goes wrong at the first byte of the new plane", [_ev(r) for r in at_plane])]
    return []

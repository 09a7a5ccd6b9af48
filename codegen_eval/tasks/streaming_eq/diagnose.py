"""Content rules of the audio task: why an equalizer's output is wrong, in audio terms.

The rules contrast runs that differ in one factor: mono vs multichannel, frame-aligned vs
misaligned chunks, whole vs chunked, one format or one band type vs the others. Evidence items
name the first divergent frame and channel and the error in LSB (absolute for ``f32le``).
"""
from __future__ import annotations

from collections import defaultdict

from ...cases import Case
from ...diagnosis import RunView, _bad_content, _ev, late_runs, make
from ...scoring import RunResult

#: The audio task's own codes (after the shared ones in reports).
VOCABULARY = ("wrong_coefficients", "channel_crosstalk", "no_saturation", "rounding_bias", "precision_loss",
              "format_error")
# a failing run whose error is this small relative to the signal is a precision problem
PRECISION_RELATIVE_RMS = 1e-4
# an f32le error at most this large (about -100 dBFS) is a rounding matter, never a wrong filter
SMALLEST_FLOAT_ERROR = 1e-5


def diagnose_content(cases: dict[str, Case], view: RunView) -> list[dict]:
    """Diagnoses from what the outputs hold (see :func:`codegen_eval.diagnosis.diagnose_runs`)."""
    out: list[dict] = []
    whole = view.whole
    failing = {cid: r for cid, r in whole.items()
               if not r.within_tolerance and r.got_bytes == r.expected_bytes and cid not in view.latency_cases}
    explained: set = set()
    sat = [r for r in failing.values() if r.saturated_bad > 0 and r.saturated_bad >= 0.5 * r.bad_samples]
    if sat:
        out.append(make("no_saturation", "errors sit where the output must saturate (wrap-around)",
                        [_ev(r) for r in sat]))
        explained |= {r.case_id for r in sat}
    # a rule that reproduces the output, or a bias that single precision does not explain
    bias = [r for cid, r in failing.items() if cid not in explained and cases[cid].spec["kind"] != "float"
            and r.max_abs <= 2 and (r.rounding_rule or (not r.float32_like and (
                abs(r.mean_diff) >= 0.2 or abs(r.mean_signed_diff) >= 0.2)))]
    if bias:
        rules = sorted({r.rounding_rule for r in bias if r.rounding_rule})
        how = f"rounds {' / '.join(rules)} instead of to nearest; " if rules else ""
        out.append(make("rounding_bias", f"systematic rounding: {how}mean error {bias[0].mean_diff:+.2f} LSB, "
                        f"toward zero {bias[0].mean_signed_diff:+.2f} LSB", [_ev(r) for r in bias]))
        explained |= {r.case_id for r in bias}

    def is_small(r: RunResult) -> bool:
        # single precision can be very wrong in extreme filters, but never larger than the signal;
        # and an error of one step of the format (on a quiet case a large part of the signal) is
        # rounding, not a wrong filter
        one_step = r.max_abs <= (1.0 if r.error_unit == "LSB" else SMALLEST_FLOAT_ERROR)
        return (one_step or r.relative_rms < PRECISION_RELATIVE_RMS
                or (r.float32_like and r.relative_rms < 0.5))

    large = {cid: r for cid, r in failing.items() if cid not in explained and not is_small(r)}
    small = [r for cid, r in failing.items() if cid not in explained and is_small(r)]
    large_diags = _diagnose_large(cases, whole, large, explained)
    out += large_diags
    # a small error in a case that shares the factor of a large-error diagnosis is the same bug
    small = [r for r in small if not any(_shares_factor(d, cases[r.case_id]) for d in large_diags)]
    if small:
        out.append(make("precision_loss", f"small errors (relative rms {max(r.relative_rms for r in small):.1e}) "
                        "typical of single precision", [_ev(r) for r in small]))

    if not view.nondeterministic:  # chunk invariance means nothing when a second identical run differs already
        out += _diagnose_chunking(cases, whole, view.first, view.replay, view.latency_cases)
    return out


def _shares_factor(d: dict, case: Case) -> bool:
    if d["code"] == "format_error":
        return case.config["format"] in d.get("formats", [])
    if d["code"] == "channel_crosstalk":
        return case.config["channels"] > 1
    if d["code"] == "wrong_coefficients":
        return bool({b["type"] for b in case.config["bands"]} & set(d.get("band_types", [])))
    return False


def _diagnose_large(cases: dict[str, Case], whole: dict, large: dict, explained: set) -> list[dict]:
    """Large errors in whole runs: a format, channels, or band types."""
    out: list[dict] = []
    if not large:
        return out
    ok = {cid for cid, r in whole.items() if r.ok}
    late, longest_ok = late_runs(cases, whole, large)
    if late:
        first = min(r.first_frame for r in late.values())
        out.append(make("long_input_error", f"right for the first {first} frames, wrong after; every case of "
                        f"at most {longest_ok} frames passes", [_ev(r) for r in late.values()]))
        explained |= set(late)
        large = {cid: r for cid, r in large.items() if cid not in late}
        if not large:
            return out
    by_format = defaultdict(list)
    for cid in whole:
        by_format[cases[cid].config["format"]].append(cid)
    bad_formats = sorted(f for f, ids in by_format.items()
                         if all(i in large for i in ids) and any(i in ok for i in whole if i not in ids))
    if bad_formats:
        ids = [i for f in bad_formats for i in by_format[f]]
        out.append(make("format_error", "wrong output in every case of format " + ", ".join(bad_formats),
                        [_ev(large[i]) for i in ids], formats=bad_formats))
        explained |= set(ids)
    rest = {cid: r for cid, r in large.items() if cid not in explained}
    if not rest:
        return out
    mono_ok = [cid for cid in whole if cases[cid].config["channels"] == 1 and cid not in large]
    multi_bad = [cid for cid in rest if cases[cid].config["channels"] > 1]
    mono_bad = [cid for cid in rest if cases[cid].config["channels"] == 1]
    if multi_bad and not mono_bad and mono_ok:
        out.append(make("channel_crosstalk", "mono cases pass, multichannel cases fail",
                        [_ev(rest[i]) for i in multi_bad]))
        explained |= set(multi_bad)
        rest = {cid: r for cid, r in rest.items() if cid not in explained}
    if not rest:
        return out
    types_bad = set()
    types_ok = set()
    for cid, r in whole.items():
        types = {b["type"] for b in cases[cid].config["bands"]}
        if cid in rest and len(types) == 1:
            types_bad |= types
        elif cid in ok:
            types_ok |= types
    named = sorted(types_bad - types_ok) or sorted(types_bad)
    if not named:
        common = None
        for cid in rest:
            t = {b["type"] for b in cases[cid].config["bands"]}
            common = t if common is None else common & t
        named = sorted((common or set()) - types_ok) or sorted(common or [])
    out.append(make("wrong_coefficients", "wrong response for band type(s) " + (", ".join(named) or "unknown"),
                    [_ev(r) for r in rest.values()], band_types=named))
    return out


def _diagnose_chunking(cases: dict[str, Case], whole: dict, first: list[RunResult], replay: dict,
                       latency_cases: set) -> list[dict]:
    """Chunked runs that fail although the same input fed whole (the replay) is right."""
    out = []

    def whole_is_right(r: RunResult) -> bool:
        twin = replay.get((r.case_id, r.input_name))
        if twin is not None:
            return not _bad_content(twin)
        return r.case_id in whole and whole[r.case_id].ok

    fails = [r for r in first if r.chunking != "whole" and whole_is_right(r)
             and r.case_id not in latency_cases and r.got_bytes == r.expected_bytes
             and (not r.within_tolerance or r.identical_to_whole is False)]
    if not fails:
        return out
    aligned = [r for r in fails if r.boundary_kind == "frame_aligned"]
    misaligned = [r for r in fails if r.boundary_kind in ("sample_aligned", "misaligned")]
    if aligned:
        near = [r for r in aligned if r.boundary_distance_frames is not None and 0 <= r.boundary_distance_frames <= 2]
        ev = [_ev(r) for r in (near or aligned)]
        out.append(make("state_reset_at_boundary",
                        "whole input passes; frame-aligned chunks diverge right after a chunk boundary"
                        if near else "whole input passes; frame-aligned chunks diverge", ev))
    elif misaligned:
        out.append(make("partial_frame_mishandled",
                        "whole input and frame-aligned chunks pass; chunks that split a frame or sample diverge",
                        [_ev(r) for r in misaligned]))
    return out

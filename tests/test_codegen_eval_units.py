"""Unit tests of the harness layers that run no candidate: task data, cases, tolerances,
scoring, diagnosis, reports and the command line."""
import json

import numpy as np
import pytest
import scipy.signal
from hypothesis import given, settings
from hypothesis import strategies as st

from codegen_eval import cases as cases_mod
from codegen_eval import cli, diagnosis, report, report_html, scoring
from codegen_eval.tasks.streaming_eq import judge as audio
from codegen_eval.tasks.streaming_eq import pcm
from codegen_eval.evaluate import prepare
from codegen_eval.task import load_task


@pytest.fixture(scope="module")
def task():
    return load_task()


@pytest.fixture(scope="module")
def prepared(task):
    built, refs, _ = prepare(task, 0)
    return {c.id: c for c in built}, {cid: ref for (cid, name), ref in refs.items() if name == "whole"}


def test_prompts_state_the_contract_for_every_language(task):
    for language in ("python", "c", "cpp"):
        text = task.prompt(language)
        assert "{contract}" not in text
        assert "saturate" in text and "Zero added latency" in text
    assert "class StreamingEqualizer" in task.prompt("python")
    assert "eq_process" in task.prompt("c") and 'extern "C"' in task.prompt("cpp")
    with pytest.raises(ValueError, match="'rust'"):
        task.prompt("rust")


def test_task_covers_the_required_space(task):
    data = task.data
    ids = [c["id"] for c in data["cases"]]
    assert len(ids) == len(set(ids))
    assert {c["format"] for c in data["cases"]} == {"u8", "s16le", "s24le", "s32le", "f32le"}
    assert {1, 2, 6} <= {c["channels"] for c in data["cases"]}
    rates = {c["sample_rate"] for c in data["cases"]}
    assert min(rates) == 8000 and max(rates) == 192000
    solo = {c["bands"][0]["type"] for c in data["cases"] if len(c["bands"]) == 1}
    assert solo == set(data["interface"]["band_types"])


def test_cases_are_deterministic_and_seeded(task):
    a = cases_mod.build_cases(task.data, 3, ["ch-2", "loud-s16le"])
    b = cases_mod.build_cases(task.data, 3, ["ch-2", "loud-s16le"])
    c = cases_mod.build_cases(task.data, 4, ["ch-2", "loud-s16le"])
    assert [x.input_bytes for x in a] == [x.input_bytes for x in b]
    assert a[0].input_bytes != c[0].input_bytes
    assert a[0].chunkings == b[0].chunkings


def test_chunkings_cover_every_alignment(prepared):
    built, _ = prepared
    case = built["ch-2"]
    kinds = {}
    for name, sizes in case.chunkings.items():
        assert sum(sizes) == len(case.input_bytes)
        assert all(s >= 0 for s in sizes)
        kinds[name] = cases_mod.boundary_kind(sizes, case.frame_bytes, case.spec["bytes"])
    assert kinds["whole"] == "whole"
    assert kinds["frames-17"] == "frame_aligned"
    assert kinds["samples-misaligned"] == "sample_aligned"
    assert kinds["bytes-1"] == "misaligned"
    assert 0 in case.chunkings["random"]
    assert set(case.chunkings["bytes-1"][:600]) == {1}


@pytest.mark.parametrize("fmt", ["u8", "s16le", "s24le", "s32le", "f32le"])
def test_pcm_round_trip(task, fmt, rng):
    spec = task.data["interface"]["formats"][fmt]
    x = rng.uniform(-1, 1, size=(50, 3))
    values = pcm.quantize(x, spec)
    data = pcm.encode(values, spec)
    assert len(data) == 150 * spec["bytes"]
    np.testing.assert_array_equal(pcm.stored_values(data, spec, 3), values)


def _raw_from_values(case, values, chunking="whole"):
    data = pcm.encode(values, case.spec)
    sizes = case.chunkings[chunking]
    lengths = scoring.expected_lengths(sizes, case.frame_bytes)
    return scoring.RawRun(case_id=case.id, chunking=chunking, output=data, lengths=lengths, completed=True)


def _float32_values(case):
    sos = np.asarray(__import__("eq").design_sos(case.config["bands"], case.config["sample_rate"]))
    y32 = scipy.signal.sosfilt(sos.astype(np.float32), case.x.astype(np.float32), axis=0)
    return pcm.quantize(y32.astype(np.float64), case.spec)


def test_float32_oracle_fails_and_direct_form_one_passes(prepared):
    """An independent single-precision filter (scipy, float32) must fail the derived tolerance,
    and an independent float64 direct form I must pass it, on every case."""
    from codegen_eval.tasks.streaming_eq import _kernels

    built, refs = prepared
    f32_failures = 0
    for cid, case in built.items():
        sos = refs[cid].sos
        df1 = pcm.quantize(_kernels.df1(sos, case.x), case.spec)
        assert audio.measure(case, refs[cid], _raw_from_values(case, df1)).ok, cid
        f32_failures += not audio.measure(case, refs[cid], _raw_from_values(case, _float32_values(case))).ok
    assert f32_failures >= 5
    assert not audio.measure(built["lowfreq-hp-192k-s32"], refs["lowfreq-hp-192k-s32"],
                               _raw_from_values(built["lowfreq-hp-192k-s32"],
                                                _float32_values(built["lowfreq-hp-192k-s32"]))).ok


def test_truncation_is_diagnosed_as_rounding_bias(prepared):
    built, refs = prepared
    results = []
    for cid in ("fmt-s16le-1ch", "fmt-s24le-1ch", "band-peaking-f32"):
        case = built[cid]
        y = refs[cid].y
        values = np.trunc(y * case.spec["scale"]).astype(np.int64) if case.spec["kind"] != "float" \
            else pcm.quantize(y, case.spec)
        results.append(audio.measure(case, refs[cid], _raw_from_values(case, values)))
    codes = {d["code"] for d in diagnosis.diagnose_runs(built, results, [], content=audio.diagnose_content)}
    assert codes == {"rounding_bias"}


def test_rounding_rule_is_named_and_single_precision_is_not_mistaken_for_one(prepared):
    """Each wrong rounding rule applied to the exact output is recognised by name; single-precision
    filtering (scipy in float32, then rounded to nearest) is never taken for a rounding rule, even
    in the low-frequency cases where its errors lean to one side."""
    built, refs = prepared
    rules = {"toward zero (truncation)": np.trunc, "down (floor)": np.floor, "up (ceiling)": np.ceil}
    int_cases = [cid for cid, c in built.items() if c.spec["kind"] != "float"]
    for cid in ("fmt-s16le-1ch", "fmt-s24le-1ch", "ch-1"):
        case = built[cid]
        lo, hi = case.spec["min"] - case.spec.get("offset", 0), case.spec["max"] - case.spec.get("offset", 0)
        for name, rule in rules.items():
            values = np.clip(rule(refs[cid].y * case.spec["scale"]), lo, hi).astype(np.int64)
            result = audio.measure(case, refs[cid], _raw_from_values(case, values))
            assert not result.ok and result.rounding_rule == name, (cid, name, result.rounding_rule)
    named = []
    for cid in int_cases:
        result = audio.measure(built[cid], refs[cid], _raw_from_values(built[cid], _float32_values(built[cid])))
        if not result.ok:
            named.append((cid, result.rounding_rule))
            assert result.rounding_rule is None, (cid, result.rounding_rule)
    assert named, "single precision should fail some integer case"
    f32_results = [audio.measure(built[cid], refs[cid], _raw_from_values(built[cid], _float32_values(built[cid])))
                   for cid in int_cases]
    codes = {d["code"] for d in diagnosis.diagnose_runs(built, f32_results, [], content=audio.diagnose_content)}
    assert "rounding_bias" not in codes, codes


def test_delayed_output_is_diagnosed_as_added_latency(prepared):
    built, refs = prepared
    case = built["ch-2"]
    values = np.vstack([np.zeros((3, 2), dtype=np.int64), refs["ch-2"].values[:-3]])
    res = audio.measure(case, refs["ch-2"], _raw_from_values(case, values))
    assert res.shift_frames == 3
    codes = {d["code"] for d in diagnosis.diagnose_runs({"ch-2": case}, [res], [], content=audio.diagnose_content)}
    assert "added_latency" in codes


def test_boundary_distance_is_signed():
    b = np.array([10, 20, 30])
    assert scoring.boundary_distance(b, 21) == 1
    assert scoring.boundary_distance(b, 19) == -1
    assert scoring.boundary_distance(np.array([], dtype=int), 5) is None


def test_verdict_mapping():
    assert scoring.verdict([]) == "pass"
    assert scoring.verdict([{"code": "channel_crosstalk"}]) == "fail"
    assert scoring.verdict([{"code": "disallowed_import"}]) == "fail"
    assert scoring.verdict([{"code": "timeout"}, {"code": "wrong_length"}]) == "error"
    assert set(scoring.ERROR_DIAGNOSES) <= set(diagnosis.VOCABULARY)


def test_infrastructure_diagnoses():
    d = diagnosis.diagnose_infrastructure({"ok": False, "output": "c.c:3: error: expected ';'"}, None, {}, [], None)
    assert [x["code"] for x in d] == ["compile_error"]
    d = diagnosis.diagnose_infrastructure(None, {"ok": True}, {"returncode": -11, "finished": False}, [],
                                          {"case": "ch-2", "chunking": "bytes-1"})
    assert [x["code"] for x in d] == ["crash"]
    (d,) = diagnosis.with_replay(d, "c.c")
    assert d["replay"] == "codegen-eval score c.c --case ch-2 --chunking bytes-1"
    d = diagnosis.diagnose_infrastructure(None, {"ok": True}, {"killed_for": "stall"}, [], None)
    assert [x["code"] for x in d] == ["timeout"]


def test_replay_names_task_and_seed(task, tmp_path):
    from codegen_eval.evaluate import _replay_target

    assert _replay_target("my cand.c", task, 0, False, False) == "'my cand.c'"
    assert _replay_target("c.c", task, 7, False, False) == "c.c --seed 7"
    assert _replay_target(None, task, 0, True, False) == "--reference"
    assert _replay_target("c.c", task, 0, False, True) == "c.c --unsafe-no-sandbox"
    (tmp_path / "task.json").write_text((task.folder / "task.json").read_text())
    assert _replay_target("c.c", load_task(tmp_path), 0, False, False) == f"c.c --task {tmp_path}"


def _fake_result(verdict="fail"):
    return {"schema": "codegen_eval.result/2", "task": "streaming_eq", "candidate": "x.py", "language": "python",
            "verdict": verdict, "properties": {"runs": 10, "runs_ok": 7},
            "diagnoses": [{"code": "format_error", "detail": "d", "formats": ["u8"], "evidence": [{"case": "a"}],
                           "replay": "codegen-eval score x.py --case a --chunking whole"}],
            "throughput": None, "environment": {"seed": 0},
            "plots": [{"case": "a", "chunking": "bytes-3", "frames_per_point": 1, "error": [0, 0, 3, 1],
                       "boundaries_frames": [1, 2]}]}


def test_markdown_and_html_reports(tmp_path):
    results = [_fake_result(), dict(_fake_result("pass"), diagnoses=[], plots=[], candidate="y.c")]
    md = report.markdown_table(results)
    assert "| x.py | python | fail | format_error (u8) | 7/10 | - |" in md
    page = report_html.html_report(results)
    assert page.count("data:image/png;base64,") == 1
    out = tmp_path / "r.json"
    report.write_json(results, out)
    assert [r["candidate"] for r in report.load_results([out])] == ["x.py", "y.c"]
    (tmp_path / "bad.json").write_text(json.dumps({"schema": "other"}))
    with pytest.raises(ValueError, match="not a codegen_eval result"):
        report.load_results([tmp_path / "bad.json"])


def test_cli_prompt_and_report(tmp_path, capsys):
    assert cli.main(["prompt", "--language", "cpp"]) == 0
    assert "eq_create" in capsys.readouterr().out
    out = tmp_path / "r.json"
    report.write_json([_fake_result()], out)
    assert cli.main(["report", str(out), "--html", str(tmp_path / "r.html")]) == 0
    assert "format_error" in capsys.readouterr().out
    assert (tmp_path / "r.html").read_text().startswith("<!doctype html>")
    assert cli.main(["score", str(tmp_path / "missing.py")]) == 2


def test_cli_usage_errors_are_one_line(tmp_path, capsys):
    (tmp_path / "cand.rs").write_text("fn main() {}")
    (tmp_path / "notes.txt").write_text("not json")
    (tmp_path / "list.json").write_text("[1, 2]")
    (tmp_path / "cand.py").write_text("")
    for argv in (["score", str(tmp_path / "cand.rs")],
                 ["score", str(tmp_path / "cand.py"), "--case", "no-such-case"],
                 ["score", str(tmp_path / "cand.py"), "--chunking", "no-such-chunking"],
                 ["score", str(tmp_path / "cand.py"), "--json", str(tmp_path / "missing" / "r.json")],
                 ["report", str(tmp_path / "missing.json")],
                 ["report", str(tmp_path / "notes.txt")],
                 ["report", str(tmp_path / "list.json")]):
        assert cli.main(argv) == 2, argv
        err = capsys.readouterr().err
        assert err.startswith("codegen-eval: error: ") and err.count("\n") == 1, err
    with pytest.raises(SystemExit):
        cli.main(["score", str(tmp_path / "cand.py"), "--jobs", "0"])


def test_every_cli_option_has_help():
    parser = cli.build_parser()
    subparsers = next(a for a in parser._actions if a.choices and isinstance(a.choices, dict)).choices
    for name, sub in subparsers.items():
        for action in sub._actions:
            assert action.help, (name, action.dest)


def test_evidence_reads_as_a_sentence():
    ev = {"case": "band-peaking", "chunking": "frames-17", "frame": 17, "channel": 0,
          "boundary_distance_frames": 0, "error": 5038.0, "expected": 8738.0, "got": 7582.0}
    assert report.describe_evidence(ev, "LSB") == (
        "case band-peaking, chunking frames-17: first divergence at frame 17, channel 0 (expected 8738, "
        "got 7582), at a chunk boundary; max error 5038 LSB")
    assert "3 frame(s) before" in report.describe_evidence(dict(ev, boundary_distance_frames=-3))
    ev = {"case": "ch-2", "chunking": "bytes-1", "call": 1, "got_bytes": 3496, "expected_bytes": 4096}
    assert report.describe_evidence(ev) == ("case ch-2, chunking bytes-1: total output length first wrong after "
                                            "call 2; at the end of the stream, 3496 bytes out in total, expected 4096")
    summary = report.text_summary([_fake_result()])
    assert summary.splitlines()[0] == "x.py (python): fail"
    assert "replay: codegen-eval score x.py --case a --chunking whole" in summary


def test_one_plot_per_failing_case_prefers_the_cited_run(prepared):
    from codegen_eval.evaluate import PLOT_POINTS, _plots

    built, refs = prepared
    case, ref = built["ch-2"], refs["ch-2"]
    bad = ref.values.copy()
    bad[40:] += 5  # wrong from frame 40 on, whatever the chunking

    def results():
        out = [audio.measure(case, ref, _raw_from_values(case, ref.values, "whole"))]
        return out + [audio.measure(case, ref, _raw_from_values(case, bad, name)) for name in ("frames-17", "random")]

    fewest = min(("frames-17", "random"), key=lambda n: len(case.chunkings[n]))
    measured = results()
    (plot,) = _plots(measured, [], built)
    assert plot["chunking"] == fewest and plot["first_frame"] == 40 and plot["unit"] == "LSB"
    # only the decimated curve is kept: the per-frame errors of every run are dropped
    assert all(r.error_per_frame is None for r in measured)
    cited = [{"code": "state_reset_at_boundary", "evidence": [{"case": "ch-2", "chunking": "frames-17"}]}]
    (plot,) = _plots(results(), cited, built)
    assert plot["chunking"] == "frames-17" and plot["diagnoses"] == ["state_reset_at_boundary"]
    assert len(plot["error"]) <= PLOT_POINTS
    assert plot["boundaries_frames"][:2] == [17, 34]


def test_plot_of_non_finite_errors_renders(recwarn):
    pytest.importorskip("matplotlib")
    plot = {"case": "a", "chunking": "bytes-1", "unit": "abs", "frames_per_point": 2,
            "error": [0.0, 1e-3, None, 2.0, None], "boundaries_frames": list(range(0, 10, 1)), "first_frame": 2}
    png = report_html.plot_png(plot)
    assert png and len(png) < 60_000
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]


def test_parallel_scoring_measures_speed_afterwards_for_correct_candidates_only():
    from pathlib import Path

    from codegen_eval.evaluate import score_many

    corpus = Path(__file__).resolve().parent / "corpus"
    good, bad = corpus / "c" / "correct.c", corpus / "c" / "channel_crosstalk.c"
    results = score_many([good, bad], jobs=2)
    assert [r["verdict"] for r in results] == ["pass", "fail"]
    rows = results[0]["throughput"]["rows"]
    assert {row["chunking"] for row in rows} >= {"whole"}
    assert all(row["speedup"] > 0 for row in rows)
    assert results[1]["throughput"] is None


def _run(ok: bool, case_id: str = "c", chunking: str = "whole") -> scoring.RunResult:
    return scoring.RunResult(case_id=case_id, chunking=chunking, boundary_kind="whole", repeat=False, completed=True,
                             error=None, error_call=None, create_error=None, expected_bytes=8, got_bytes=8,
                             within_tolerance=ok, max_abs=0.0 if ok else 9.0)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.booleans(), min_size=1, max_size=20),
       st.lists(st.tuples(st.sampled_from(["valid", "invalid"]), st.booleans(), st.booleans()), max_size=6))
def test_pass_exactly_when_every_run_and_check_is_right(run_ok, configs):
    """Whatever the diagnosis rules recognise, the verdict is pass only when every run and every
    configuration check is right (a valid configuration accepted and then processing without an
    error): a failure no rule explains is ``unexplained_failure``."""
    results = [_run(ok, f"c{i}") for i, ok in enumerate(run_ok)]
    checks = [{"kind": kind, "why": f"w{i}", "accepted": accepted,
               **({"error": {"type": "RuntimeError", "message": "m"}} if raised else {})}
              for i, (kind, accepted, raised) in enumerate(configs)]
    diags = diagnosis.unexplained(results, checks, [])
    verdict = scoring.verdict(diags, scoring.properties(results, checks))
    all_right = all(run_ok) and all((accepted and not raised) if kind == "valid" else not accepted
                                    for kind, accepted, raised in configs)
    assert (verdict == "pass") == all_right
    assert bool(diags) == (not all_right)
    if diags:
        assert diags[0]["code"] == "unexplained_failure" and diags[0]["evidence"]


def test_a_run_that_differs_from_its_replay_is_not_right():
    """Chunk invariance is part of a run being right: within tolerance but not the same bytes as
    the same input fed whole in the other process is a failure."""
    r = _run(True)
    assert r.ok
    r.identical_to_whole = False
    assert not r.ok

"""The reports say what happened: every case counted, how each worker ended, where a candidate
raised, what a byte count is a total of, no plot without an error to draw; and the command line's
help and version read cleanly in a terminal.

Expected numbers come from the task's case list, the chunk sizes and the source of the candidate,
never from an earlier run of the harness.
"""
import importlib.metadata
import json
import signal
from pathlib import Path

import numpy as np
import pytest

from codegen_eval import cli, diagnosis, report, report_html, scoring
from codegen_eval.tasks.streaming_eq import judge as audio
from codegen_eval.tasks.streaming_eq import pcm
from codegen_eval.evaluate import prepare, run_plan, score
from codegen_eval.task import load_task

CORPUS = Path(__file__).resolve().parent / "corpus"
SEED = 11
S24_RAISE = 'raise RuntimeError("packed 24-bit output is not supported")'


@pytest.fixture(scope="module")
def task():
    return load_task()


@pytest.fixture(scope="module")
def s24_candidate(tmp_path_factory):
    """The correct NumPy candidate, made to raise on s24le once an instance has written 64 frames:
    whole inputs raise at once with no output, chunked ones after some correct output."""
    source = (CORPUS / "python" / "correct_numpy.py").read_text()
    anchor = '        if fmt == "s24le":\n'
    assert source.count(anchor) == 1
    broken = source.replace(anchor, anchor + "            self._s24_frames = getattr(self, '_s24_frames', 0) "
                            "+ q.size // self._channels\n"
                            f"            if self._s24_frames > 64:\n                {S24_RAISE}\n")
    path = tmp_path_factory.mktemp("s24") / "s24_crash.py"
    path.write_text(broken)
    line = next(i for i, text in enumerate(broken.splitlines(), 1) if S24_RAISE in text)
    return path, line


@pytest.fixture(scope="module")
def s24_result(task, s24_candidate):
    return score(s24_candidate[0], task=task, seed=SEED, with_throughput=False)


@pytest.fixture(scope="module")
def segfault_result(task):
    return score(CORPUS / "c" / "crash.c", task=task, seed=SEED, with_throughput=False)


def _s24_cases(task) -> list[str]:
    return [c["id"] for c in task.data["cases"] if c["format"] == "s24le"]


def _planned_runs(task, case_ids) -> int:
    """Runs of `case_ids` in the plan of both workers (every chunking, the turns, the replays)."""
    built, _, _ = prepare(task, SEED)
    stream, replay = run_plan(built, task.data.get("interleaved_pairs", []))
    return sum(case.id in case_ids for step in stream + replay for case, _, _ in step)


def _section(page: str) -> str:
    """The HTML section of the first candidate."""
    start = page.index("<section id='c0'>")
    return page[start:page.index("</section>", start)]


# ----------------------------------------------------------- every case, what happened


def test_a_crash_on_every_s24le_case_is_counted_over_every_case(task, s24_result):
    n_cases = len(task.data["cases"])
    s24 = _s24_cases(task)
    props = s24_result["properties"]
    assert s24_result["verdict"] == "error"
    assert props["cases"] == n_cases
    assert props["cases_whole_ok"] == n_cases - len(s24)
    assert props["runs_raised"] == _planned_runs(task, set(s24))
    assert props["runs_not_run"] == 0
    counts = f"{n_cases - len(s24)} of {n_cases} cases correct on the whole input"
    raised = f"{props['runs_raised']} run(s) ended with an error from the candidate"
    for text in (report.text_summary([s24_result]), report.markdown_report([s24_result]),
                 report_html.html_report([s24_result])):
        assert counts in text and raised in text


def test_a_worker_that_finished_is_not_said_to_have_stopped_early(s24_result):
    worker = s24_result["worker"]
    assert worker["finished"] and worker["returncode"] == 0 and not worker["killed_for"]
    page = report_html.html_report([s24_result])
    summary = report.text_summary([s24_result])
    for text in (page, summary, report.markdown_report([s24_result])):
        assert "stopped early" not in text
        assert f"exited with status {worker['returncode']}" in text


def test_runs_without_an_error_to_draw_are_said_in_words_not_plotted(task, s24_result):
    """Chunked s24le runs return correct frames, then raise: their error curves are all zero."""
    s24 = _s24_cases(task)
    assert s24_result["plots"], "the candidate was meant to return some output before raising"
    assert all(v == 0 for p in s24_result["plots"] for v in p["error"])
    section = _section(report_html.html_report([s24_result]))
    assert "<figure" not in section and "data:image/png" not in section
    words = section[section.index("no error to plot"):]
    for case_id in s24:
        assert case_id in words
    assert "then it raised RuntimeError: packed 24-bit output is not supported" in words


# -------------------------------------------------------------- where a candidate broke


def test_a_python_exception_is_located_in_every_report(s24_candidate, s24_result, tmp_path, capsys):
    """The file, line and function of the raise, as the source has it, in the terminal summary,
    the Markdown report and the HTML report (and in the files the command line writes)."""
    _, line = s24_candidate
    where = f"candidate.py:{line} _encode"
    (crash,) = [d for d in s24_result["diagnoses"] if d["code"] == "crash"]
    assert where in crash["detail"]
    assert all(where in ev["where"] for ev in crash["evidence"])
    assert where in report.text_summary([s24_result])
    assert where in report.markdown_report([s24_result])
    assert where in report_html.html_report([s24_result])
    saved = tmp_path / "r.json"
    report.write_json([s24_result], saved)
    md, page = tmp_path / "r.md", tmp_path / "r.html"
    assert cli.main(["report", str(saved), "--markdown", str(md), "--html", str(page)]) == 0
    assert where in capsys.readouterr().out
    assert where in md.read_text() and where in page.read_text()


def test_a_signal_is_named_with_its_meaning_and_the_run_it_stopped(segfault_result):
    (crash,) = [d for d in segfault_result["diagnoses"] if d["code"] == "crash"]
    assert segfault_result["worker"]["returncode"] == -signal.SIGSEGV
    running = crash["evidence"][0]
    said = f"killed by SIGSEGV ({signal.strsignal(signal.SIGSEGV)}) during case {running['case']}, " \
           f"chunking {running['chunking']}"
    props = segfault_result["properties"]
    never = f"{props['runs_not_run']} run(s) were never made or were cut off"
    assert 0 < props["runs_not_run"] < props["runs"]
    for text in (report.text_summary([segfault_result]), report.markdown_report([segfault_result]),
                 report_html.html_report([segfault_result])):
        assert said in text and never in text
    assert signal.strsignal(signal.SIGSEGV) in crash["detail"]


def test_location_leaves_out_the_harness_frames():
    err = {"type": "ValueError", "message": "m",
           "where": ["worker.py:567 serve", "worker.py:388 process", "candidate.py:109 process",
                     "candidate.py:93 _encode"]}
    assert diagnosis.location(err) == "at candidate.py:93 _encode (called from candidate.py:109 process)"
    assert diagnosis.location({"where": ["worker.py:482 process"]}) == ""
    assert diagnosis.describe_exception(err) == "ValueError: m at candidate.py:93 _encode (called from " \
                                                "candidate.py:109 process)"


# ----------------------------------------------------- what a byte count is a total of


def test_length_evidence_says_totals_after_a_call_and_at_the_end(task):
    """A candidate that holds back one frame: the evidence gives the totals after the first wrong
    call and at the end of the stream, each computed here from the chunk sizes."""
    built, refs, _ = prepare(task, SEED)
    case = next(c for c in built if c.id == "ch-2")
    name = "bytes-1"
    ref = refs[(case.id, name)]
    fb = case.frame_bytes
    data = pcm.encode(ref.values, case.spec)
    sizes = case.chunkings[name]
    want = np.cumsum(sizes) // fb * fb
    held_back = np.maximum(want - fb, 0)
    raw = scoring.RawRun(case_id=case.id, chunking=name, input_name=name, output=data[:-fb],
                         lengths=held_back, completed=True)
    whole_ref = refs[(case.id, "whole")]
    whole = scoring.RawRun(case_id=case.id, chunking="whole", output=pcm.encode(whole_ref.values, case.spec),
                           lengths=np.array([len(whole_ref.output_bytes)]), completed=True)
    results = [audio.measure(case, whole_ref, whole), audio.measure(case, ref, raw)]
    diags = diagnosis.diagnose_runs({case.id: case}, results, [], content=audio.diagnose_content)
    ev = next(e for d in diags for e in d["evidence"] if e.get("chunking") == name)
    first = int(np.argmax(want > 0))
    text = report.describe_evidence(ev)
    assert (f"after call {first + 1} of {len(sizes)}, {held_back[first]} bytes out in total, "
            f"expected {want[first]}") in text
    assert f"at the end of the stream, {len(data) - fb} bytes out in total, expected {len(data)}" in text
    assert "output bytes" not in text


def test_exception_evidence_names_the_call_and_the_number_of_calls(task, s24_result):
    built, _, _ = prepare(task, SEED)
    calls = {(c.id, name): len(sizes) for c in built for name, sizes in c.chunkings.items()}
    (crash,) = [d for d in s24_result["diagnoses"] if d["code"] == "crash"]
    for ev in crash["evidence"]:
        assert ev["calls"] == calls[(ev["case"], ev["chunking"])]
        text = report.describe_evidence(ev)
        assert f"call {ev['call'] + 1} of {ev['calls']} raised RuntimeError" in text


# ------------------------------------------------------------------------ command line


def test_help_reads_as_plain_text():
    parser = cli.build_parser()
    subparsers = next(a for a in parser._actions if a.choices and isinstance(a.choices, dict)).choices
    for text in [parser.format_help()] + [sub.format_help() for sub in subparsers.values()]:
        assert "``" not in text and ":func:" not in text and ":data:" not in text, text


def test_version_is_the_installed_package_version(capsys):
    with pytest.raises(SystemExit) as stop:
        cli.main(["--version"])
    assert stop.value.code == 0
    assert capsys.readouterr().out == f"codegen-eval {importlib.metadata.version('eq-stream')}\n"


def test_reports_of_old_results_still_render(s24_result):
    """Results written before the extra counts and evidence keys existed still give reports."""
    old = json.loads(json.dumps(s24_result))
    for key in ("runs_raised", "runs_rejected", "runs_not_run"):
        old["properties"].pop(key, None)
    for d in old["diagnoses"]:
        for ev in d["evidence"]:
            for key in ("calls", "where", "call_got_bytes", "call_expected_bytes"):
                ev.pop(key, None)
    assert "cases correct on the whole input" in report.text_summary([old])
    assert report_html.html_report([old]).startswith("<!doctype html>")


def test_the_new_report_lines_escape_a_candidates_control_characters(task):
    """The exception text a candidate chooses reaches the outcome sentences and the Markdown
    report too: there, as in the summary, no control character survives."""
    result = score(CORPUS / "hostile" / "python" / "terminal_escape_forged_verdict.py", task=task, seed=SEED,
                   with_throughput=False)
    assert result["verdict"] == "error"
    for text in ("\n".join(report.describe_outcome(result)), report.markdown_report([result]),
                 report.text_summary([result])):
        assert "_Boom" in text
        assert "\x1b" not in text and "\r" not in text

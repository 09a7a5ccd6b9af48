"""The leaderboard page in a real headless browser (Debian's chromium driven by playwright).

The page must load with no console or page error and no request outside its folder, carry on every number
(``data-metric``/``data-value``) the value of the JSON payload, sort its table on a click, link to the model
sections and to sample reports that exist, and draw something. Records are made by hand for most tests; one
test goes end to end through a real results database and the command line.
"""
import argparse
import json
import shutil
from pathlib import Path

import matplotlib.image
import numpy as np
import pytest

from codegen_eval import leaderboard
from codegen_eval.leaderboard import board_payload, build_board

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]
CANDIDATES = {"pass": "tests/corpus/python/correct_numpy.py", "fail": "tests/corpus/python/added_latency.py"}
CASES = ["band-peaking", "fmt-s16le-2ch"]
ROOT = Path(__file__).resolve().parent.parent


# --- fixtures -------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def browser():
    """Debian's chromium under playwright; a missing browser fails the test (CI installs it)."""
    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    if executable is None:
        pytest.fail("the leaderboard tests need Debian's chromium on PATH (apt-get install chromium; "
                    ".ci/run installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield b
        b.close()


class Page:
    """A page that records console errors, page errors and every request it makes."""

    def __init__(self, browser, path: Path):
        self.console, self.errors, self.requests = [], [], []
        self.page = browser.new_page(viewport={"width": 1400, "height": 1000})
        self.page.on("console", lambda m: self.console.append(f"{m.type}: {m.text}") if m.type == "error" else None)
        self.page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        self.page.on("request", lambda req: self.requests.append(req.url))
        self.page.goto(path.resolve().as_uri())
        self.page.wait_for_load_state("load")

    def check_clean(self):
        assert self.console == [] and self.errors == []
        outside = [u for u in self.requests if not (u.startswith("file://") or u.startswith("data:"))]
        assert outside == [], "the page loads something from outside its folder"


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    """Real results of a passing and a failing candidate (a few cases, no throughput, to stay quick)."""
    from codegen_eval.evaluate import score

    return {name: score(ROOT / path, seed=5, case_ids=CASES, with_throughput=False)
            for name, path in CANDIDATES.items()}


def rec(model_dir, model, language, sample, verdict, *, turn=1, speedup=None, diagnoses=(), machine="box A",
        task="streaming_eq", run="/runs/demo"):
    suffix = {"python": ".py", "c": ".c", "cpp": ".cpp"}[language] if verdict != "no_code" else ".json"
    turn_part = f".turn{turn}" if turn > 1 else ""
    return {"run": run, "model": model, "task": task, "language": language, "sample": sample, "turn": turn,
            "path": f"{run}/{model_dir}/{task}/{language}/sample_{sample:03d}{turn_part}{suffix}",
            "sha256": None, "verdict": verdict, "diagnoses": sorted(diagnoses), "speedup": speedup,
            "speedups": {} if speedup is None else {"whole": speedup}, "machine": None if verdict == "no_code" else machine,
            "compile_failed": "compile_error" in diagnoses, "load_failed": "load_error" in diagnoses,
            "result_id": None if verdict == "no_code" else (1 if verdict == "pass" else 2)}


def hand_made(second_machine=False):
    """Three models, two languages, different numbers in every cell; turn 2 repairs; answers without code."""
    out = []
    for i in range(6):
        out.append(rec("alpha", "alpha", "python", i, "pass" if i < 4 else "fail", speedup=0.5 + i if i < 4 else None,
                       diagnoses=() if i < 4 else ("state_reset_at_boundary",)))
    out.append(rec("alpha", "alpha", "python", 4, "pass", turn=2, speedup=1.1))
    for i in range(5):
        out.append(rec("alpha", "alpha", "c", i, ["pass", "fail", "error", "no_code", "pass"][i],
                       speedup=[3.0, None, None, None, 1.7][i],
                       diagnoses=[(), ("partial_frame_mishandled",), ("compile_error",), (), ()][i],
                       machine="box B" if second_machine else "box A"))
    for i in range(5):
        out.append(rec("org_beta-1234abcd", "org/beta", "python", i, "pass" if i == 0 else "fail",
                       speedup=0.8 if i == 0 else None, diagnoses=() if i == 0 else ("added_latency",)))
        if i:
            out.append(rec("org_beta-1234abcd", "org/beta", "python", i, "fail", turn=2,
                           diagnoses=("added_latency",)))
            out.append(rec("org_beta-1234abcd", "org/beta", "python", i, "pass" if i == 1 else "fail", turn=3,
                           speedup=0.9 if i == 1 else None))
    for i in range(5):
        out.append(rec("gamma", "gamma", "c", i, "no_code" if i < 2 else "error", diagnoses=() if i < 2 else ("load_error",)))
    return out


@pytest.fixture(scope="module")
def board(tmp_path_factory, results):
    out = tmp_path_factory.mktemp("board") / "board.html"
    records = hand_made()
    payload = build_board(records, {1: results["pass"], 2: results["fail"]}.__getitem__, out, n_boot=300)
    return out, records, payload


# --- what the page says ---------------------------------------------------------------------------------

def _lookup(payload: dict, row: dict, metric: str):
    if row.get("sample") is not None:
        value = payload["samples"][int(row["sample"])]
    elif row.get("task") is not None:
        [value] = [g for g in payload["summary"]["task_groups"]
                   if (g["model"], g["language"], g["task"]) == (row["model"], row["language"], row["task"])]
    else:
        [value] = [g for g in payload["summary"]["groups"] if (g["model"], g["language"]) == (row["model"], row["language"])]
    head, _, rest = metric.partition(".")
    value = value[head]
    if rest:
        value = value[int(rest)] if isinstance(value, list) else value[rest]
    return value


DOM_NUMBERS = """() => Array.from(document.querySelectorAll('[data-metric]')).map(el => {
  const tr = el.closest('tr');
  return {metric: el.dataset.metric, value: el.dataset.value, model: tr.dataset.model || null,
          language: tr.dataset.language || null, task: tr.dataset.task || null,
          sample: tr.dataset.sampleIndex === undefined ? null : tr.dataset.sampleIndex,
          table: el.closest('table').id || null};
})"""


def check_numbers(page, payload: dict) -> list[dict]:
    """Every data-value in the DOM equals the payload's number (exactly: raw floats round-trip)."""
    cells = page.evaluate(DOM_NUMBERS)
    assert cells
    for cell in cells:
        expected = _lookup(payload, cell, cell["metric"])
        got = None if cell["value"] == "null" else float(cell["value"])
        assert got == expected, cell
    main = {(c["model"], c["language"], c["metric"]) for c in cells if c["table"] == "board"}
    for g in payload["summary"]["groups"]:
        for metric in ["n_samples", "pass_at_k.1", "pass_at_1_ci.0", "pass_at_1_ci.1", "fast_1_ci.0", "fast_1_ci.1",
                       "geomean_speedup", "n_speedups", "no_code", "compile_failed", "load_failed"] + \
                      [f"fast_p.{p}" for p in payload["summary"]["ps"]]:
            assert (g["model"], g["language"], metric) in main
    assert sum(c["metric"] == "speedup" for c in cells) == len(payload["samples"])
    return cells


def test_page_loads_clean_and_its_numbers_are_the_payload(browser, board, tmp_path):
    out, records, payload = board
    assert payload == board_payload(records, n_boot=300)    # what --json prints for these records
    assert json.loads(json.dumps(payload)) == payload        # plain JSON: no NaN, tuples or paths
    page = Page(browser, out)
    page.check_clean()
    check_numbers(page.page, payload)
    embedded = json.loads(page.page.inner_text("#board-data"))
    assert embedded == payload
    # the numbers are the hand-computed ones where it is easy to say
    g = {(g["model"], g["language"]): g for g in payload["summary"]["groups"]}
    assert g[("alpha", "python")]["pass_at_k"]["1"] == pytest.approx(4 / 6)
    assert g[("alpha", "python")]["pass_at_k"]["5"] == pytest.approx(1.0)
    assert g[("alpha", "python")]["pass_at_k"]["10"] is None
    assert g[("alpha", "c")]["no_code"] == 1 and g[("alpha", "c")]["compile_failed"] == 1
    assert g[("gamma", "c")]["load_failed"] == 3 and g[("gamma", "c")]["no_code"] == 2
    assert g[("org/beta", "python")]["pass_at_1_by_turn"] == pytest.approx([0.2, 0.2, 0.4])
    assert "several machines" not in page.page.inner_text("body").lower()
    assert page.page.locator("svg").count() == 4                         # four plots, inline
    png = tmp_path / "board.png"
    page.page.screenshot(path=str(png), full_page=True)
    pixels = matplotlib.image.imread(str(png))[..., :3]
    assert pixels.shape[0] > 1000
    background = np.all(np.abs(pixels - pixels[0, 0]) < 0.02, axis=-1)
    assert pixels.var() > 1e-3 and (~background).mean() > 0.02          # drawn, not a blank page
    page.page.close()


def column_values(page, th_selector: str) -> list:
    return page.evaluate("""(sel) => {
      const th = document.querySelector(sel);
      const table = th.closest('table');
      return Array.from(table.tBodies[0].rows).map(r => r.cells[th.cellIndex].dataset.sort
                                                        ?? r.cells[th.cellIndex].textContent.trim());
    }""", th_selector)


def test_clicking_a_header_sorts_the_table(browser, board):
    out, _, payload = board
    page = Page(browser, out)
    p = page.page
    head = "#board th[data-metric-head='pass_at_k.1']"
    before = [float(v) for v in column_values(p, head)]
    p.click(head)
    desc = [float(v) for v in column_values(p, head)]
    assert desc == sorted(before, reverse=True) and desc != before
    assert p.get_attribute(head, "data-order") == "desc"
    p.click(head)
    assert [float(v) for v in column_values(p, head)] == sorted(before)
    # nulls stay last either way: pass@5 is missing where a task has fewer than 5 samples
    head5 = "#board th[data-metric-head='pass_at_k.5']"
    for _ in range(2):
        p.click(head5)
        values = column_values(p, head5)
        present = [v for v in values if v != "null"]
        assert values == present + ["null"] * (len(values) - len(present))
    models = p.locator("#board th", has_text="model")
    models.click()
    names = [r.split("\n")[0] for r in column_values(p, "#board th:first-child")]
    assert names == sorted(names)
    # the other cells moved with their row: each row still shows its own numbers
    check_numbers(p, payload)
    page.check_clean()
    p.close()


def test_links_reach_the_model_sections_and_the_sample_reports(browser, board):
    out, records, payload = board
    page = Page(browser, out)
    p = page.page
    link = p.locator("#board a", has_text="org/beta").first
    anchor = link.get_attribute("href")
    assert anchor.startswith("#model-")
    link.click()
    section = p.locator(anchor)
    assert section.count() == 1 and section.locator("h2").inner_text() == "org/beta"
    assert p.evaluate("location.hash") == anchor
    # every scored sample has a report; answers without code have none
    hrefs = p.eval_on_selector_all("a.report", "els => els.map(a => a.getAttribute('href'))")
    assert len(hrefs) == sum(r["result_id"] is not None for r in records)
    for href in hrefs:
        assert not href.startswith(("/", "http")) and (out.parent / href).is_file(), href
    # samples that share a result (the same file's bytes) share one report, named after the first of them
    assert len(set(hrefs)) == len({r["result_id"] for r in records if r["result_id"] is not None})
    assert "board_reports/demo/alpha/streaming_eq/c/sample_000.html" in hrefs
    target = section.locator("tr", has_text="pass").locator("a.report").first
    href = target.get_attribute("href")
    target.click()
    p.wait_for_load_state("load")
    assert p.url == (out.parent / href).resolve().as_uri()
    assert "pass" in p.inner_text("h2")        # the report of the passing result this record points at
    page.check_clean()
    p.close()


def test_several_machines_are_said_and_shown(browser, tmp_path, results):
    out = tmp_path / "two.html"
    payload = build_board(hand_made(second_machine=True), {1: results["pass"], 2: results["fail"]}.__getitem__,
                          out, n_boot=50)
    assert payload["several_machines"] and payload["summary"]["machines"] == ["box A", "box B"]
    page = Page(browser, out)
    text = page.page.inner_text("body")
    assert "timed on 2 machines" in text
    assert page.page.locator("#board th", has_text="machines").count() == 1
    row = page.page.locator("#board tr[data-model='alpha'][data-language='c']")
    assert "box B" in row.inner_text()
    check_numbers(page.page, payload)
    page.check_clean()
    page.page.close()


# --- the command line, through a real results database ---------------------------------------------------

def parse(argv):
    parser = argparse.ArgumentParser(prog="codegen-eval")
    leaderboard.add_leaderboard_parser(parser.add_subparsers(dest="command"))
    return parser.parse_args(argv)


def make_run(run: Path, results: dict) -> None:
    """A run folder as generate writes it, scored into its results.sqlite as score does."""
    from codegen_eval.provenance import harness_version, task_sha256
    from codegen_eval.results_db import ResultKey, ResultsDB
    from codegen_eval import samples
    from codegen_eval.samples import model_dir
    from codegen_eval.task import load_task

    task = load_task("streaming_eq")
    layout = [("org/model-a", "pass", 0, 1), ("org/model-a", "fail", 1, 1), ("org/model-a", "pass", 1, 2),
              ("org/model-a", None, 2, 1), ("model-b", "fail", 0, 1), ("model-b", "fail", 1, 1)]
    with ResultsDB(run / "results.sqlite") as db:
        ids = {}
        for name, result in results.items():
            key = ResultKey(task="streaming_eq", task_sha256=task_sha256(task), harness_version=harness_version(),
                            sha256=result["sha256"], seed=result["environment"]["seed"], options="no-throughput")
            ids[name] = db.store(key, result, owner="test:1:x", duration_s=1.0)
        for model, name, sample, turn in layout:
            folder = run / model_dir(model) / "streaming_eq" / "python"
            code = None if name is None else (ROOT / CANDIDATES[name]).read_text()
            code_path, meta_path = samples.write_sample(folder, sample, turn, ".py", code, {
                "schema": samples.SAMPLE_SCHEMA, "model": model, "task": "streaming_eq", "language": "python",
                "sample": sample, "turn": turn})
            path = code_path or meta_path
            sid = db.upsert_sample({"path": str(path), "run": str(run), "model": model, "model_dir": model_dir(model),
                                    "task": "streaming_eq", "language": "python", "sample": sample, "turn": turn,
                                    "sha256": None if name is None else results[name]["sha256"],
                                    "verdict_hint": "no_code" if name is None else None})
            if name is not None:
                db.link(sid, ids[name])


def test_command_line_end_to_end_through_a_results_database(browser, tmp_path, results, capsys):
    run = tmp_path / "runs" / "demo"
    run.mkdir(parents=True)
    make_run(run, results)
    html_out, json_out = tmp_path / "board.html", tmp_path / "board.json"
    assert leaderboard.run_leaderboard(parse(["leaderboard", str(run), "--html", str(html_out),
                                              f"--json={json_out}"])) == 0
    printed = capsys.readouterr().out
    assert "org/model-a" in printed and f"wrote {html_out}" in printed
    payload = json.loads(json_out.read_text())
    assert leaderboard.run_leaderboard(parse(["leaderboard", str(run), "--json"])) == 0
    assert json.loads(capsys.readouterr().out) == payload                # --json to stdout: the same numbers
    groups = {g["model"]: g for g in payload["summary"]["groups"]}
    assert groups["org/model-a"]["n_samples"] == 3 and groups["org/model-a"]["no_code"] == 1
    assert groups["org/model-a"]["pass_at_k"]["1"] == pytest.approx(1 / 3)
    assert groups["org/model-a"]["pass_at_1_by_turn"] == pytest.approx([1 / 3, 2 / 3])
    assert groups["model-b"]["diagnoses"] == {"added_latency": 2}
    page = Page(browser, html_out)
    page.check_clean()
    check_numbers(page.page, payload)                                     # the page against --json's file
    hrefs = page.page.eval_on_selector_all("a.report", "els => els.map(a => a.getAttribute('href'))")
    assert len(hrefs) == 5 and all((tmp_path / h).is_file() for h in hrefs)
    from codegen_eval.samples import model_dir

    # one report per distinct result, named after the first sample that has it
    assert len(set(hrefs)) == len(results)  # two distinct results (pass, fail) among five scored samples
    assert f"board_reports/demo/{model_dir('org/model-a')}/streaming_eq/python/sample_000.html" in hrefs
    page.page.close()


def test_a_run_without_a_database_says_to_score_it_first(tmp_path, capsys):
    run = tmp_path / "runs" / "unscored"
    run.mkdir(parents=True)
    assert leaderboard.run_leaderboard(parse(["leaderboard", str(run)])) == 2
    err = capsys.readouterr().err
    assert f"codegen-eval score {run}" in err and "results.sqlite" in err
    assert not (run / "results.sqlite").exists()                         # reading does not create one
    assert leaderboard.run_leaderboard(parse(["leaderboard", str(run), "--db", "a", "--db", "b"])) == 2
    assert "once per RUN" in capsys.readouterr().err
    assert leaderboard.run_leaderboard(parse(["leaderboard", str(tmp_path / "runs" / "nothing")])) == 2
    assert "no run folder" in capsys.readouterr().err


def test_no_records_is_an_error():
    with pytest.raises(ValueError, match="no sample records"):
        board_payload([])

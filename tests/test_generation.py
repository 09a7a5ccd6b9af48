"""``codegen-eval generate`` against the OpenAI-compatible test server, over real HTTP.

Every request goes through the real ``openai`` client to :mod:`codegen_eval.model_server`
running on 127.0.0.1 in this process (a fresh server per test, so the per-conversation attempt
counts start at zero); nothing is monkeypatched but the API key's environment variable.
"""
import hashlib
import json
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import datetime
from pathlib import Path

import pytest

from codegen_eval import samples
from codegen_eval.generation import extract_code, feedback_message, main
from codegen_eval.model_server import cpp_state_reset, serve
from codegen_eval.task import load_task

CORPUS = Path(__file__).resolve().parent / "corpus"
ROOT = Path(__file__).resolve().parent.parent
KEY_ENV = "CODEGEN_EVAL_TEST_KEY"
CORRECT = {"python": "python/correct_numpy.py", "c": "c/correct.c", "cpp": "cpp/correct.cpp"}
BUGGY = {"python": "python/state_reset_at_boundary.py", "c": "c/state_reset_at_boundary.c"}


def corpus_code(kind: str, language: str) -> str:
    """The code the server answers for `kind`, as the file holds it (with the one final newline)."""
    if kind == "buggy" and language == "cpp":
        text = cpp_state_reset((CORPUS / CORRECT["cpp"]).read_text())
    else:
        text = (CORPUS / (CORRECT if kind == "correct" else BUGGY)[language]).read_text()
    return text.rstrip() + "\n"


@pytest.fixture
def server():
    srv = serve("127.0.0.1", 0, CORPUS, slow_delay_s=1.0)
    yield srv
    srv.shutdown()
    srv.server_close()


@pytest.fixture(autouse=True)
def api_key(monkeypatch):
    monkeypatch.setenv(KEY_ENV, "anything")


def generate(server, out, *args) -> int:
    return main(["--base-url", server.base_url, "--api-key-env", KEY_ENV, "--out", str(out), "--no-progress",
                 *map(str, args)])


def record(out, model, language, sample=0, turn=1) -> dict:
    folder = samples.sample_folder(out, model, "streaming_eq", language)
    return json.loads((folder / samples.record_name(sample, turn)).read_text())


def files_under(out) -> dict[str, float]:
    return {str(p.relative_to(out)): p.stat().st_mtime_ns for p in Path(out).rglob("*") if p.is_file()}


# -- names and extraction -------------------------------------------------------------------------


@pytest.mark.parametrize("model", ["org/m", "a/../../b", "..", ".", "", ".hidden", "x" * 200, "ü/ß", "a b\\c"])
def test_model_dir_is_one_safe_folder_name(model):
    name = samples.model_dir(model)
    assert name not in ("", ".", "..") and not name.startswith(".")
    assert "/" not in name and "\\" not in name and len(name) <= 80 + 17
    assert set(name) <= set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")


def test_model_dir_keeps_safe_names_and_separates_lookalikes():
    assert samples.model_dir("Qwen2.5-Coder-7B_instruct") == "Qwen2.5-Coder-7B_instruct"
    assert samples.model_dir("org/m") != samples.model_dir("org_m") == "org_m"
    assert samples.model_dir("org/m") != samples.model_dir("org:m")


def test_sample_file_names():
    assert samples.code_name(0, 1, ".py") == "sample_000.py"
    assert samples.record_name(12, 3) == "sample_012.turn3.json"
    assert samples.code_name(1234, 2, ".cpp") == "sample_1234.turn2.cpp"


@pytest.mark.parametrize("text, language, expected", [
    ("```python\nx = 1\n```", "python", ("x = 1\n", "last fenced block tagged python")),
    ("```py\na\n```\ntext\n```python\nb\n```\n```bash\nrun\n```", "python", ("b\n", "last fenced block tagged python")),
    ("```c\nint a;\n```\n```cpp\nint b;\n```", "c", ("int a;\n", "last fenced block tagged c")),
    ("```c\nint a;\n```\n```c++\nint b;\n```", "cpp", ("int b;\n", "last fenced block tagged cpp")),
    ("```CXX\nint b;\n```", "cpp", ("int b;\n", "last fenced block tagged cpp")),
    ("```\nfirst\n```\n```\nsecond\n```", "c", ("second\n", "last untagged fenced block")),
    ("```python\np\n```\n```\nu\n```", "python", ("p\n", "last fenced block tagged python")),
    ("```bash\nls\n```", "python", (None, "no code")),
    ("prose with ```inline``` ticks only", "python", (None, "no code")),
    ("```python\n   \n```", "python", (None, "no code")),
    ("Just prose.", "cpp", (None, "no code")),
    ("````python\n```\nnested\n```\n````", "python", ("```\nnested\n```\n", "last fenced block tagged python")),
    ("~~~c\nint t;\n~~~", "c", ("int t;\n", "last fenced block tagged c")),
    ("```python\ncut off by max_tokens", "python", ("cut off by max_tokens\n", "last fenced block tagged python")),
])
def test_extract_code(text, language, expected):
    assert extract_code(text, language) == expected


def test_extract_code_rejects_an_unknown_language():
    with pytest.raises(ValueError, match="'rust'"):
        extract_code("```rust\n```", "rust")


# -- generation over HTTP ---------------------------------------------------------------------------


def test_layout_and_record(server, tmp_path):
    out = tmp_path / "run"
    assert generate(server, out, "--model", "demo-correct", "--language", "python,c,cpp", "--samples", 2,
                    "--seed", 40, "--temperature", 0.7, "--max-tokens", 9000) == 0
    task = load_task("streaming_eq")
    for language, suffix in (("python", ".py"), ("c", ".c"), ("cpp", ".cpp")):
        folder = out / "demo-correct" / "streaming_eq" / language
        assert {p.name for p in folder.iterdir()} == {f"sample_000{suffix}", "sample_000.json",
                                                      f"sample_001{suffix}", "sample_001.json"}
        for i in range(2):
            rec = json.loads((folder / f"sample_00{i}.json").read_text())
            assert (folder / rec["code_file"]).read_text() == corpus_code("correct", language)
            prompt = task.prompt(language)
            assert rec["schema"] == "codegen_eval.sample/1"
            assert (rec["model"], rec["model_dir"], rec["task"], rec["language"]) == (
                "demo-correct", "demo-correct", "streaming_eq", language)
            assert (rec["sample"], rec["turn"], rec["attempts"]) == (i, 1, 1)
            assert rec["parameters"] == {"temperature": 0.7, "seed": 40 + i, "max_tokens": 9000}
            assert rec["endpoint"].rstrip("/") == server.base_url
            assert rec["prompt_sha256"] == hashlib.sha256(prompt.encode()).hexdigest()
            assert rec["messages"] == [{"role": "user", "content": prompt}]
            assert f"```{language}" in rec["response"] and "```bash" in rec["response"]
            assert rec["extraction"] == f"last fenced block tagged {language}"
            assert rec["verdict_hint"] is None and rec["previous_turn_feedback"] is None
            assert rec["finish_reason"] == "stop" and rec["tokens_in"] > 0 and rec["tokens_out"] > 0
            assert rec["latency_s"] >= 0 and datetime.fromisoformat(rec["created"]).utcoffset().total_seconds() == 0
            assert len(rec["task_sha256"]) == 64 and rec["response_id"].startswith("chatcmpl-")
    refs = samples.iter_samples([out])
    assert [(r.model, r.language, r.sample, r.turn) for r in refs] == [
        ("demo-correct", lang, i, 1) for lang in ("c", "cpp", "python") for i in range(2)]
    assert all(r.root == out and r.code_path.is_file() and r.meta_path.is_file() for r in refs)


def test_model_names_with_slashes_make_safe_folders(server, tmp_path):
    out = tmp_path / "run"
    models = ["org/demo-correct", "x/../../demo-nocode"]
    assert generate(server, out, "--model", ",".join(models), "--language", "c", "--seed", 1) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]
    assert sorted(p.name for p in out.iterdir()) == sorted(samples.model_dir(m) for m in models)
    for model in models:
        rec = record(out, model, "c")
        assert rec["model"] == model and rec["model_dir"] == samples.model_dir(model)
    assert [r.model for r in samples.iter_samples([out])] == models


def test_an_answer_without_code_is_kept(server, tmp_path):
    out = tmp_path / "run"
    assert generate(server, out, "--model", "demo-nocode", "--language", "python", "--samples", 2) == 0
    folder = out / "demo-nocode" / "streaming_eq" / "python"
    assert sorted(p.name for p in folder.iterdir()) == ["sample_000.json", "sample_001.json"]
    rec = record(out, "demo-nocode", "python")
    assert (rec["verdict_hint"], rec["code_file"], rec["extraction"]) == ("no_code", None, "no code")
    assert rec["parameters"]["seed"] is None and rec["response"]
    refs = samples.iter_samples([out])
    assert [(r.sample, r.code_path) for r in refs] == [(0, None), (1, None)]


@pytest.mark.parametrize("model, status", [("demo-ratelimit", 429), ("demo-flaky", 500)])
def test_retried_errors_count_their_attempts(server, tmp_path, model, status):
    out = tmp_path / "run"
    assert generate(server, out, "--model", model, "--language", "python,cpp", "--samples", 2, "--seed", 3) == 0
    for language in ("python", "cpp"):
        for i in range(2):
            rec = record(out, model, language, i)
            assert rec["attempts"] == 2
            assert len(rec["attempt_errors"]) == 1 and f"HTTP {status}" in rec["attempt_errors"][0]
            assert (out / model / "streaming_eq" / language / rec["code_file"]).read_text() == corpus_code(
                "correct", language)


def test_a_refused_request_is_reported_and_left_missing(server, tmp_path, capsys):
    out = tmp_path / "run"
    assert generate(server, out, "--model", "no-such-model,demo-correct", "--language", "python,c",
                    "--samples", 2) == 1
    captured = capsys.readouterr()
    assert "4 sample(s) could not be made" in captured.out and "HTTP 404" in captured.out
    assert "no-such-model" in captured.err
    assert not (out / "no-such-model").exists()
    assert len(samples.iter_samples([out])) == 4  # demo-correct's samples are all there
    errors = [json.loads(line) for line in (out / "generate_errors.jsonl").read_text().splitlines()]
    assert len(errors) == 4 and {e["model"] for e in errors} == {"no-such-model"}
    refused = [e for e in errors if e["kind"] == "rejected"]
    assert refused and all(e["status"] == 404 and e["attempts"] == 1 for e in refused)
    assert all(e["kind"] in ("rejected", "skipped") for e in errors)


def test_timeouts_exhaust_the_retries(server, tmp_path, capsys):
    out = tmp_path / "run"
    assert generate(server, out, "--model", "demo-slow", "--language", "c", "--timeout", 0.2,
                    "--max-retries", 1) == 1
    assert "1 sample(s) could not be made" in capsys.readouterr().out
    (error,) = [json.loads(line) for line in (out / "generate_errors.jsonl").read_text().splitlines()]
    assert (error["kind"], error["attempts"], len(error["attempt_errors"])) == ("retries_exhausted", 2, 2)
    assert all("APITimeoutError" in e for e in error["attempt_errors"])
    assert not (out / "demo-slow").exists()


def test_usage_errors(server, tmp_path, monkeypatch, capsys):
    assert generate(server, tmp_path / "r", "--model", "demo-correct", "--language", "python,rust") == 2
    assert "'python,rust'" in capsys.readouterr().err
    monkeypatch.delenv(KEY_ENV)
    assert generate(server, tmp_path / "r", "--model", "demo-correct") == 2
    assert KEY_ENV in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


def test_resume_makes_only_what_is_missing(server, tmp_path, capsys):
    out = tmp_path / "run"
    args = ("--model", "demo-mixed", "--language", "python,c", "--samples", 3, "--seed", 10, "--concurrency", 3)
    assert generate(server, out, *args) == 0
    before = files_under(out)
    assert len([f for f in before if f.endswith(".json")]) == 6
    capsys.readouterr()
    assert generate(server, out, *args) == 0
    assert "nothing to do: all 6 sample(s)" in capsys.readouterr().out
    assert files_under(out) == before
    folder = out / "demo-mixed" / "streaming_eq" / "c"
    gone = [p for p in folder.iterdir() if p.name.startswith("sample_000.")]  # seed 10: the buggy answer, with code
    assert len(gone) == 2
    for p in gone:
        p.unlink()
    assert generate(server, out, *args) == 0
    assert "1 new sample turn(s)" in capsys.readouterr().out
    after = files_under(out)
    assert set(after) == set(before)
    changed = sorted(f for f in after if after[f] != before[f])
    assert changed == sorted(str(p.relative_to(out)) for p in gone)
    (folder / "sample_002.c").unlink()  # seed 12, the correct answer: a record without its code is made again
    assert generate(server, out, *args) == 0
    assert "1 new sample turn(s)" in capsys.readouterr().out and (folder / "sample_002.c").is_file()


def test_concurrency_and_the_seed_of_each_sample(server, tmp_path):
    out = tmp_path / "run"
    assert generate(server, out, "--model", "demo-mixed", "--language", "python", "--samples", 6,
                    "--seed", 100, "--concurrency", 4) == 0
    kinds = []
    for i in range(6):
        rec = record(out, "demo-mixed", "python", i)
        assert rec["parameters"]["seed"] == 100 + i
        kind = ("correct", "buggy", "nocode")[(100 + i) % 3]  # the server's documented choice
        kinds.append(kind)
        if kind == "nocode":
            assert rec["code_file"] is None and rec["verdict_hint"] == "no_code"
        else:
            code = (out / "demo-mixed" / "streaming_eq" / "python" / rec["code_file"]).read_text()
            assert code == corpus_code(kind, "python")
    assert set(kinds) == {"correct", "buggy", "nocode"}


def test_ctrl_c_leaves_whole_samples_and_resumes(server, tmp_path):
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "codegen_eval.generation", "--base-url", server.base_url, "--api-key-env",
           KEY_ENV, "--model", "demo-slow", "--language", "python,c", "--samples", 3, "--concurrency", 2,
           "--out", str(out)]
    cmd = [str(c) for c in cmd]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not list(out.rglob("sample_*.json")) and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    assert proc.poll() is None, proc.communicate()
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert "interrupted" in stderr
    written = list(out.rglob("*"))
    assert not [p for p in written if p.name.startswith(samples.TEMP_PREFIX)]
    refs = samples.iter_samples([out])
    assert 1 <= len(refs) < 6
    for p in out.rglob("sample_*.*"):  # every code file has its record and every record its code
        if p.suffix == ".json":
            assert (p.parent / json.loads(p.read_text())["code_file"]).is_file()
        else:
            assert p.with_suffix(".json").is_file()
    rerun = subprocess.run(cmd + ["--no-progress", "--concurrency", "5"], cwd=ROOT, capture_output=True,
                           text=True, timeout=120)
    assert rerun.returncode == 0, rerun.stderr
    assert f"{6 - len(refs)} new sample turn(s)" in rerun.stdout
    assert len(samples.iter_samples([out])) == 6


# -- the repair loop ------------------------------------------------------------------------------


def test_repair_loop_sends_the_diagnoses_back(server, tmp_path, capsys):
    from codegen_eval import score

    out = tmp_path / "run"
    assert generate(server, out, "--model", "demo-repair", "--language", "python", "--turns", 2, "--seed", 5) == 0
    first, second = record(out, "demo-repair", "python"), record(out, "demo-repair", "python", turn=2)
    folder = out / "demo-repair" / "streaming_eq" / "python"
    assert (folder / first["code_file"]).read_text() == corpus_code("buggy", "python")
    assert first["feedback_verdict"] == "fail"
    assert "state_reset_at_boundary" in first["feedback_diagnoses"]
    assert isinstance(first["feedback_seed"], int)
    text = first["feedback_text"]
    assert "state_reset_at_boundary" in text and "evidence: case " in text and "replay: codegen-eval score" in text
    assert f"--seed {first['feedback_seed']}" in text
    assert second["turn"] == 2 and second["code_file"] == "sample_000.turn2.py"
    assert second["previous_turn_feedback"] == text
    assert second["messages"] == first["messages"] + [{"role": "assistant", "content": first["response"]},
                                                      {"role": "user", "content": text}]
    assert second["feedback_verdict"] is None  # the last turn is left to `score`
    assert score(folder / second["code_file"], with_throughput=False)["verdict"] == "pass"
    assert [(r.turn, r.code_path.name) for r in samples.iter_samples([out])] == [
        (1, "sample_000.py"), (2, "sample_000.turn2.py")]
    capsys.readouterr()
    before = files_under(out)
    assert generate(server, out, "--model", "demo-repair", "--language", "python", "--turns", 2, "--seed", 5) == 0
    assert "nothing to do" in capsys.readouterr().out and files_under(out) == before


def test_repair_after_no_code_says_so(server, tmp_path):
    out = tmp_path / "run"
    assert generate(server, out, "--model", "demo-nocode", "--language", "cpp", "--turns", 3) == 0
    turns = [record(out, "demo-nocode", "cpp", turn=t) for t in (1, 2, 3)]
    assert [t["feedback_verdict"] for t in turns] == ["no_code", "no_code", None]
    assert all("No code block was found" in t["previous_turn_feedback"] for t in turns[1:])
    assert len(turns[2]["messages"]) == 5


def test_feedback_carries_the_compiler_output():
    from codegen_eval import score

    result = score(CORPUS / "c" / "compile_error.c", with_throughput=False)
    assert [d["code"] for d in result["diagnoses"]] == ["compile_error"]
    text = feedback_message(result, "c")
    output = result["environment"]["compile"]["output"].strip()
    assert "Compiler output" in text and output.splitlines()[0] in text
    assert len(feedback_message(result, "c", max_chars=600)) <= 600 + len(output) + 200


# -- finding samples ------------------------------------------------------------------------------


def test_iter_samples_takes_folders_globs_and_files(server, tmp_path):
    out = tmp_path / "run"
    assert generate(server, out, "--model", "demo-correct,demo-nocode", "--language", "python", "--samples", 2) == 0
    folder = out / "demo-correct" / "streaming_eq" / "python"
    (folder / "sample_002.py").write_text("unfinished: no record\n")
    (folder / (samples.TEMP_PREFIX + "sample_003.json.x1")).write_text("{")
    assert len(samples.iter_samples([out])) == 4
    by_glob = samples.iter_samples([str(out / "*" / "streaming_eq" / "python" / "sample_00[01].json")])
    assert [(r.model, r.sample) for r in by_glob] == [("demo-correct", 0), ("demo-correct", 1),
                                                      ("demo-nocode", 0), ("demo-nocode", 1)]
    assert len(samples.iter_samples([str(out / "**")])) == 5  # the unfinished file counts as a bare file
    (code_ref,) = samples.iter_samples([folder / "sample_001.py"])
    assert (code_ref.model, code_ref.sample, code_ref.meta_path.name) == ("demo-correct", 1, "sample_001.json")
    both = samples.iter_samples([folder / "sample_001.py", folder / "sample_001.json", out])
    assert len(both) == 4
    bare = CORPUS / "c" / "correct.c"
    (ref,) = samples.iter_samples([bare], default_task="other")
    assert (ref.model, ref.task, ref.language, ref.sample, ref.turn, ref.code_path, ref.meta_path) == (
        str(bare), "other", "c", 0, 1, bare, None)
    for bad, match in ((tmp_path / "missing", "no such file"), (str(tmp_path / "*.nothing"), "matches no"),
                       (CORPUS / "manifest.json", "not a sample record"), (CORPUS / "README.md", "cannot tell")):
        with pytest.raises(ValueError, match=match):
            samples.iter_samples([bad])
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no samples under"):
        samples.iter_samples([tmp_path / "empty"])


# -- the server itself ------------------------------------------------------------------------------


def test_server_speaks_openai_json(server):
    with urllib.request.urlopen(server.base_url + "/models") as r:
        ids = [m["id"] for m in json.load(r)["data"]]
    assert {"demo-correct", "demo-buggy", "demo-nocode", "demo-mixed", "demo-repair", "demo-ratelimit",
            "demo-flaky", "demo-slow"} <= set(ids)
    prompt = load_task("streaming_eq").prompt("c")

    def post(model, path="/chat/completions"):
        body = json.dumps({"model": model, "messages": [{"role": "user", "content": prompt}]}).encode()
        req = urllib.request.Request(server.base_url + path, body, {"Content-Type": "application/json"})
        return urllib.request.urlopen(req)

    with pytest.raises(urllib.error.HTTPError) as err:
        post("gpt-nothing")
    assert err.value.code == 404
    error = json.load(err.value)["error"]
    assert error["code"] == "model_not_found" and "'gpt-nothing'" in error["message"]
    with post("demo-slow", "/chat/completions?delay=0") as r:
        reply = json.load(r)
    assert reply["object"] == "chat.completion" and reply["choices"][0]["finish_reason"] == "stop"
    assert extract_code(reply["choices"][0]["message"]["content"], "c")[0] == corpus_code("correct", "c")
    usage = reply["usage"]
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"] > 0


def test_server_needs_its_answers(tmp_path):
    with pytest.raises(ValueError, match="no answers folder"):
        serve("127.0.0.1", 0, tmp_path / "nowhere")
    (tmp_path / "python").mkdir()
    with pytest.raises(ValueError, match="lacks"):
        serve("127.0.0.1", 0, tmp_path)


def test_model_server_command_line(tmp_path):
    proc = subprocess.Popen([sys.executable, "-m", "codegen_eval.model_server", "--port", "0", "--quiet"],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        url = line.split(" at ", 1)[1].split()[0]
        with urllib.request.urlopen(url + "/models") as r:
            assert r.status == 200
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 130
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_model_server_reports_a_missing_corpus(tmp_path, capsys):
    from codegen_eval.model_server import main as server_main

    assert server_main(["--port", "0", "--answers", str(tmp_path / "x")]) == 1
    assert "no answers folder" in capsys.readouterr().err


@pytest.mark.parametrize("language, expected", [("c", "disallowed_import"), ("python", "crash")])
def test_repair_loop_survives_hostile_answers(server, tmp_path, language, expected):
    """A model that answers with hostile candidates (C: SIGINT to its parent from a library
    constructor; Python: a verdict forged in terminal escapes): the repair loop scores each turn in
    the sandbox, is not interrupted, sends the real diagnoses back, and makes every turn."""
    out = tmp_path / "run"
    assert generate(server, out, "--model", "demo-hostile", "--language", language, "--turns", 3, "--seed", 2) == 0
    turns = [record(out, "demo-hostile", language, turn=t) for t in (1, 2, 3)]
    assert [t["turn"] for t in turns] == [1, 2, 3]
    for t in turns[:2]:
        assert t["feedback_verdict"] in ("fail", "error"), t["feedback_verdict"]
        assert "\x1b" not in t["feedback_text"]  # the candidate's escapes never reach the model or a terminal
        assert expected in t["feedback_diagnoses"]
    assert turns[2]["feedback_verdict"] is None  # the last turn is left to `score`

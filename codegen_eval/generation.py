"""``codegen-eval generate``: ask models for samples through an OpenAI-compatible API.

For every model × language × sample index, the task prompt is sent through the ``openai`` client
(any OpenAI-compatible server: hosted APIs, vLLM, llama.cpp's server, Ollama), the code is taken
from the answer by :func:`extract_code`, and the sample is written to the run folder
(:mod:`codegen_eval.samples`) with a JSON record of everything needed to reproduce and audit it.

Decisions
---------
- **Extraction**: the last fenced block tagged with the requested language (``python``/``py``/
  ``python3``, ``c``, ``cpp``/``c++``/``cc``/``cxx``), else the last untagged fenced block, else
  no code: the sample is kept as a record with ``verdict_hint: "no_code"`` and no code file. The
  last block is the model's final version when it revises itself in one answer; blocks tagged
  with another language (a shell command) are never taken.
- **Retries**: HTTP 429 (its ``Retry-After``/``retry-after-ms`` honoured, capped at
  :data:`RETRY_AFTER_CAP_S`), HTTP 5xx, connection errors and timeouts are retried up to
  ``--max-retries`` times with exponential backoff and jitter; any other 4xx is not retried.
  Every attempt is counted in the record (``attempts``, ``attempt_errors``).
- **A sample whose request failed** (a 4xx, or retries exhausted) is written nowhere in the
  layout: it stays missing, so that a rerun asks for it again. It is reported in the summary, on
  stderr and in ``generate_errors.jsonl`` of the run folder, and the exit status is 1. After a
  401, 403 or 404 the model's remaining samples are not requested (they would fail the same way).
- **Resume**: a sample turn whose JSON record exists (with its code file, when it names one) is
  complete and never asked for again; a second run with the same arguments makes nothing.
- **Repair loop** (``--turns K``): a turn that is not the last is scored in the sandbox
  (:func:`codegen_eval.evaluate.score`, no throughput, a fresh seed recorded as
  ``feedback_seed``); unless it passes, the conversation goes back to the model with the
  diagnoses (:func:`feedback_message`) and the answer becomes the next turn. The scored verdict
  is stored in the turn's record (``feedback_verdict``, ``feedback_diagnoses``,
  ``feedback_text``), so a resumed chain is not scored twice. A passing turn ends the chain.
"""
from __future__ import annotations

import argparse
import email.utils
import hashlib
import json
import os
import queue
import random
import re
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from . import samples
from .provenance import utc_now_iso
from .task import DEFAULT_TASK, LANGUAGES, Task, load_task

BACKOFF_BASE_S = 0.5
BACKOFF_CAP_S = 30.0
RETRY_AFTER_CAP_S = 60.0
MAX_FEEDBACK_CHARS = 6000
MAX_COMPILER_OUTPUT_CHARS = 2500
ERRORS_FILE = "generate_errors.jsonl"
LANGUAGE_TAGS = {"python": ("python", "py", "python3"), "c": ("c",), "cpp": ("cpp", "c++", "cc", "cxx")}
LANGUAGE_LABEL = {"python": "Python", "c": "C", "cpp": "C++"}
# a model that answers one of these for one sample answers it for all: its other samples are skipped
MODEL_FATAL_STATUS = (401, 403, 404)

_OPEN_FENCE = re.compile(r"^(?P<indent> {0,3})(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>.*)$")


# ----------------------------------------------------------------------------------------------
# code extraction


def fenced_blocks(text: str) -> list[tuple[str, str]]:
    """The fenced code blocks of a Markdown text, in order, as ``(tag, body)``.

    A fence is a line of at least three backticks or tildes, indented by at most three spaces;
    the tag is the first word of its info string, lower-cased (``""`` when untagged). A block
    closes at a line of the same character, at least as long; a block left open runs to the end
    of the text (CommonMark), which keeps the code of an answer cut off by ``max_tokens``.

    Examples
    --------
    >>> fenced_blocks("Try:\\n```Python title\\nx = 1\\n```\\nthen\\n~~~\\nls\\n~~~\\n")
    [('python', 'x = 1\\n'), ('', 'ls\\n')]
    """
    blocks = []
    lines = text.splitlines(keepends=True)
    i = 0
    while i < len(lines):
        m = _OPEN_FENCE.match(lines[i].rstrip("\r\n"))
        if not m or (m["fence"][0] == "`" and "`" in m["info"]):
            i += 1
            continue
        fence, indent = m["fence"], len(m["indent"])
        tag = m["info"].split()[0].lower() if m["info"].strip() else ""
        close = re.compile(rf"^ {{0,3}}{re.escape(fence[0])}{{{len(fence)},}}[ \t]*$")
        body = []
        i += 1
        while i < len(lines) and not close.match(lines[i].rstrip("\r\n")):
            line = lines[i]
            body.append(line[min(indent, len(line) - len(line.lstrip(" "))):])
            i += 1
        blocks.append((tag, "".join(body)))
        i += 1
    return blocks


def extract_code(text: str, language: str) -> tuple[str | None, str]:
    """The code of an answer, and the rule that found it.

    Parameters
    ----------
    text : str
        The model's answer (Markdown).
    language : str
        ``python``, ``c`` or ``cpp``.

    Returns
    -------
    (str or None, str)
        The code (ending with a newline), or None when the answer holds none; and the rule:
        ``"last fenced block tagged <language>"``, ``"last untagged fenced block"`` or
        ``"no code"``. Blocks with only white space do not count.

    Examples
    --------
    >>> answer = "```python\\nv1\\n```\\nBetter:\\n```py\\nv2\\n```\\n```bash\\nrun\\n```\\n"
    >>> extract_code(answer, "python")
    ('v2\\n', 'last fenced block tagged python')
    >>> extract_code("```\\nint x;\\n```", "c")
    ('int x;\\n', 'last untagged fenced block')
    >>> extract_code("No code today.", "cpp")
    (None, 'no code')
    """
    if language not in LANGUAGE_TAGS:
        raise ValueError(f"language must be one of {list(LANGUAGE_TAGS)!r}, got {language!r}")
    blocks = [(tag, body) for tag, body in fenced_blocks(text or "") if body.strip()]
    tagged = [body for tag, body in blocks if tag in LANGUAGE_TAGS[language]]
    if tagged:
        return _ended(tagged[-1]), f"last fenced block tagged {language}"
    untagged = [body for tag, body in blocks if tag == ""]
    if untagged:
        return _ended(untagged[-1]), "last untagged fenced block"
    return None, "no code"


def _ended(code: str) -> str:
    return code if code.endswith("\n") else code + "\n"


# ----------------------------------------------------------------------------------------------
# one request, with retries


@dataclass
class Completion:
    """One successful chat completion and how it was obtained."""

    text: str
    finish_reason: str | None
    tokens_in: int | None
    tokens_out: int | None
    latency_s: float
    attempts: int
    attempt_errors: list[str]
    response_id: str | None
    response_model: str | None


class RequestFailed(Exception):
    """A request that produced no answer.

    Attributes
    ----------
    kind : str
        ``rejected`` (a 4xx other than 429: not retried), ``retries_exhausted`` or ``interrupted``.
    status : int or None
        The last HTTP status, when there was one.
    attempts : int
        Attempts made.
    attempt_errors : list of str
        One line per failed attempt.
    """

    def __init__(self, kind: str, message: str, status: int | None, attempts: int, attempt_errors: list[str]):
        super().__init__(message)
        self.kind, self.status, self.attempts, self.attempt_errors = kind, status, attempts, attempt_errors


def _retry_after_s(exc) -> float | None:
    """The server's ``retry-after-ms`` or ``Retry-After`` (seconds or an HTTP date), if any."""
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None)
    if headers is None:
        return None
    try:
        if headers.get("retry-after-ms") is not None:
            return float(headers["retry-after-ms"]) / 1000
        value = headers.get("retry-after")
        if value is None:
            return None
        try:
            return float(value)
        except ValueError:
            when = email.utils.parsedate_to_datetime(value)
            return (when - datetime.now(timezone.utc)).total_seconds()
    except (TypeError, ValueError, OverflowError):
        return None


def _clean_text(text: str) -> str:
    """The answer as text that can be written: lone surrogates (which JSON can carry and UTF-8 cannot)
    become ``?``, so that no answer can make its own sample impossible to keep."""
    return text.encode("utf-8", "replace").decode("utf-8") if text else text


def retry_delay_s(exc, attempt: int, rng: random.Random) -> float:
    """Seconds to wait before attempt ``attempt + 1``: the server's Retry-After when it gave one
    (at least 0, at most :data:`RETRY_AFTER_CAP_S`), else exponential backoff with jitter,
    ``uniform(0.5, 1) * min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2 ** (attempt - 1))``."""
    after = _retry_after_s(exc)
    if after is not None and after == after:
        return min(max(after, 0.0), RETRY_AFTER_CAP_S)
    return rng.uniform(0.5, 1.0) * min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2 ** (attempt - 1))


def _describe_error(exc) -> str:
    status = getattr(exc, "status_code", None)
    message = str(getattr(exc, "message", None) or exc).strip().replace("\n", " ")[:300]
    return f"{type(exc).__name__}" + (f" (HTTP {status})" if status else "") + f": {message}"


def request_completion(client, model: str, messages: list[dict], *, temperature: float | None,
                       seed: int | None, max_tokens: int | None, max_retries: int,
                       stop: threading.Event | None = None, rng: random.Random | None = None) -> Completion:
    """Ask for one chat completion, retrying what may succeed later.

    Parameters
    ----------
    client : openai.OpenAI
        A client made with ``max_retries=0`` (the retries are made and counted here).
    model, messages, temperature, seed, max_tokens
        The request; None values are not sent.
    max_retries : int
        Retries after the first attempt, for HTTP 429, 5xx, connection errors and timeouts.
    stop : threading.Event, optional
        When set, no further attempt starts (a wait between attempts ends at once).
    rng : random.Random, optional
        Source of the backoff jitter.

    Returns
    -------
    Completion

    Raises
    ------
    RequestFailed
        A 4xx other than 429 (``rejected``), the retries used up (``retries_exhausted``), or
        `stop` set (``interrupted``).
    """
    import openai

    rng = rng or random.Random()
    stop = stop or threading.Event()
    kwargs = {"model": model, "messages": messages}
    for name, value in (("temperature", temperature), ("seed", seed), ("max_tokens", max_tokens)):
        if value is not None:
            kwargs[name] = value
    errors: list[str] = []
    attempt = 0
    while True:
        if stop.is_set():
            raise RequestFailed("interrupted", "interrupted before the request", None, attempt, errors)
        attempt += 1
        t0 = time.perf_counter()
        try:
            response = client.chat.completions.create(**kwargs)
        except openai.APIStatusError as exc:
            errors.append(_describe_error(exc))
            if exc.status_code != 429 and exc.status_code < 500:
                raise RequestFailed("rejected", errors[-1], exc.status_code, attempt, errors) from None
            failure, status = exc, exc.status_code
        except openai.APIConnectionError as exc:  # APITimeoutError is one
            errors.append(_describe_error(exc))
            failure, status = exc, None
        else:
            latency_s = time.perf_counter() - t0
            choice = response.choices[0] if response.choices else None
            usage = getattr(response, "usage", None)
            return Completion(
                text=_clean_text((choice.message.content if choice and choice.message else None) or ""),
                finish_reason=choice.finish_reason if choice else None,
                tokens_in=getattr(usage, "prompt_tokens", None), tokens_out=getattr(usage, "completion_tokens", None),
                latency_s=latency_s, attempts=attempt, attempt_errors=errors,
                response_id=getattr(response, "id", None), response_model=getattr(response, "model", None))
        if attempt > max_retries:
            raise RequestFailed("retries_exhausted", f"{attempt} attempt(s) failed; the last: {errors[-1]}",
                                status, attempt, errors)
        if stop.wait(retry_delay_s(failure, attempt, rng)):
            raise RequestFailed("interrupted", "interrupted between attempts", status, attempt, errors)


# ----------------------------------------------------------------------------------------------
# feedback for the repair loop


def no_code_feedback(language: str) -> str:
    """The message sent back after an answer without code."""
    return (f"No code block was found in your answer, so nothing could be scored. Answer with the complete "
            f"{LANGUAGE_LABEL[language]} source file in one ```{language} code block.")


def feedback_message(result: dict, language: str, max_chars: int = MAX_FEEDBACK_CHARS) -> str:
    """The message that sends a failing turn's diagnoses back to the model.

    Parameters
    ----------
    result : dict
        The turn's result from :func:`codegen_eval.evaluate.score`.
    language : str
        ``python``, ``c`` or ``cpp``.
    max_chars : int
        Longest message; the compiler output is cut first, then the diagnoses.

    Returns
    -------
    str
        The verdict, each diagnosis (code, detail, evidence described by
        :func:`codegen_eval.report.describe_evidence`, replay line), the compiler output when
        compilation failed, and the request for a corrected file.
    """
    from .report import _error_unit, describe_evidence, describe_outcome

    lines = [f"The test harness scored your {LANGUAGE_LABEL[language]} code: verdict {result.get('verdict')}.",
             *describe_outcome(result), "", "Diagnoses:"]
    for d in result.get("diagnoses", []):
        lines.append(f"- {d.get('code')}: {d.get('detail') or d.get('message') or ''}".rstrip())
        for ev in d.get("evidence", []):
            lines.append("  evidence: " + describe_evidence(ev, _error_unit(result, ev.get("case"))))
        if d.get("replay"):
            lines.append(f"  replay: {d['replay']}")
    compile_info = (result.get("environment") or {}).get("compile") or {}
    ask = (f"Fix the code and answer with the complete corrected file in one ```{language} "
           "code block.")
    text = "\n".join(lines)
    compiler_output = ""
    if compile_info and not compile_info.get("ok", True):
        output = str(compile_info.get("output") or "").strip()
        if len(output) > MAX_COMPILER_OUTPUT_CHARS:
            output = output[:MAX_COMPILER_OUTPUT_CHARS] + "\n[... compiler output cut]"
        compiler_output = (f"\n\nCompiler output ({compile_info.get('command') or 'compiler'}):\n"
                           f"```text\n{output}\n```")
    room = max_chars - len(compiler_output) - len(ask) - 2
    if len(text) > room:
        text = text[:max(room - 20, 0)] + "\n[... feedback cut]"
    return f"{text}{compiler_output}\n\n{ask}"


# ----------------------------------------------------------------------------------------------
# the run


@dataclass(frozen=True)
class Job:
    """One chain of turns: a model, a language and a sample index."""

    model: str
    language: str
    sample: int


@dataclass
class Outcome:
    """What one job did: turns written, and the error that stopped it (None when it finished)."""

    job: Job
    written: int = 0
    error: dict | None = None
    interrupted: bool = False


@dataclass
class GenerateConfig:
    """Everything ``generate`` needs besides the client (the command line, validated)."""

    models: list[str]
    languages: list[str]
    samples: int
    out: Path
    task: Task
    temperature: float | None = 0.2
    seed: int | None = None
    max_tokens: int | None = None
    turns: int = 1
    concurrency: int = 4
    max_retries: int = 5
    endpoint: str = ""
    progress: bool = True


@dataclass
class Summary:
    """What a ``generate`` run did."""

    chains: int = 0
    already_complete: int = 0
    turns_written: int = 0
    outcomes: list[Outcome] = field(default_factory=list)
    mismatched: int = 0
    interrupted: bool = False

    @property
    def failures(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.error]


class _Run:
    """Shared state of one ``generate`` run: the client, the stop flag, the write gate."""

    def __init__(self, config: GenerateConfig, client):
        from .provenance import harness_version, task_sha256

        self.config, self.client = config, client
        self.task = config.task
        self.suffix = {lang: self.task.data["languages"][lang]["suffix"] for lang in config.languages}
        self.prompts = {lang: self.task.prompt(lang) for lang in config.languages}
        self.task_sha256 = task_sha256(self.task)
        self.harness_version = harness_version()
        self.stop = threading.Event()
        # every write of a sample (code, then JSON) happens under this lock: once the main thread
        # holds it after setting `stop`, no write is in progress and none will start
        self.gate = threading.Lock()
        self.fatal: dict[str, str] = {}
        self.fatal_lock = threading.Lock()
        self.cpus: queue.Queue = queue.Queue()
        from .runner import usable_cpus

        for cpu in usable_cpus():
            self.cpus.put(cpu)

    def seed_of(self, sample: int) -> int | None:
        return None if self.config.seed is None else self.config.seed + sample

    def folder(self, job: Job) -> Path:
        return samples.sample_folder(self.config.out, job.model, self.task.name, job.language)

    # -- resume --------------------------------------------------------------------------------

    @staticmethod
    def existing(meta: Path) -> dict | None:
        """The record of a complete turn, or None: no record, or a record whose code file is gone
        (then the turn is made again and both files are overwritten)."""
        if not meta.is_file():
            return None
        record = samples.read_record(meta)
        if record.get("code_file") and not (meta.parent / record["code_file"]).is_file():
            return None
        return record

    def _existing_for(self, job: Job, meta: Path) -> dict | None:
        """:meth:`existing`, refusing a record of another model that shares the folder name."""
        record = self.existing(meta)
        if record is not None and record.get("model") != job.model:
            raise ValueError(f"{str(meta)!r} holds a sample of model {record.get('model')!r}, not of {job.model!r}: "
                             "two model names share one folder; use another --out")
        return record

    def complete(self, job: Job) -> tuple[bool, bool]:
        """Whether the job's chain is complete on disk, and whether its turn-1 record was made with
        other parameters or another task version than this run's."""
        folder = self.folder(job)
        mismatch = False
        for turn in range(1, self.config.turns + 1):
            record = self._existing_for(job, folder / samples.record_name(job.sample, turn))
            if record is None:
                return False, mismatch
            if turn == 1:
                p = record.get("parameters") or {}
                mismatch = (p.get("temperature"), p.get("seed"), p.get("max_tokens"), record.get("task_sha256")) != (
                    self.config.temperature, self.seed_of(job.sample), self.config.max_tokens, self.task_sha256)
            if turn == self.config.turns or record.get("feedback_verdict") == "pass":
                return True, mismatch
            if record.get("feedback_verdict") is None:
                return False, mismatch
        return True, mismatch

    # -- one chain -----------------------------------------------------------------------------

    def run_job(self, job: Job) -> Outcome:
        outcome = Outcome(job)
        try:
            self._chain(job, outcome)
        except RequestFailed as exc:
            if exc.kind == "interrupted":
                outcome.interrupted = True
            else:
                outcome.error = {"kind": exc.kind, "status": exc.status, "message": str(exc),
                                 "attempts": exc.attempts, "attempt_errors": exc.attempt_errors}
                if exc.status in MODEL_FATAL_STATUS:
                    with self.fatal_lock:
                        self.fatal.setdefault(job.model, f"HTTP {exc.status}")
        except _Interrupted:
            outcome.interrupted = True
        except Exception as exc:  # noqa: BLE001 (one job's harness failure must not end the others)
            outcome.error = {"kind": "harness", "status": None, "message": f"{type(exc).__name__}: {exc}",
                             "attempts": None, "attempt_errors": []}
        return outcome

    def _chain(self, job: Job, outcome: Outcome) -> None:
        folder = self.folder(job)
        messages = [{"role": "user", "content": self.prompts[job.language]}]
        feedback = None
        for turn in range(1, self.config.turns + 1):
            meta = folder / samples.record_name(job.sample, turn)
            record = self._existing_for(job, meta)
            if record is None:
                record = self._ask(job, turn, messages, feedback, folder)
                outcome.written += 1
            if turn == self.config.turns:
                return
            if record.get("feedback_verdict") is None:
                record = self._score_turn(job, record, folder, meta)
            if record["feedback_verdict"] == "pass":
                return
            feedback = record["feedback_text"]
            messages = list(record["messages"]) + [{"role": "assistant", "content": record["response"]},
                                                   {"role": "user", "content": feedback}]

    def _ask(self, job: Job, turn: int, messages: list[dict], feedback: str | None, folder: Path) -> dict:
        with self.fatal_lock:
            fatal = self.fatal.get(job.model)
        if fatal:
            raise RequestFailed("skipped", f"not requested: an earlier request of {job.model!r} was refused "
                                           f"({fatal})", None, 0, [])
        cfg = self.config
        seed = self.seed_of(job.sample)
        got = request_completion(self.client, job.model, messages, temperature=cfg.temperature, seed=seed,
                                 max_tokens=cfg.max_tokens, max_retries=cfg.max_retries, stop=self.stop)
        code, rule = extract_code(got.text, job.language)
        record = {
            "schema": samples.SAMPLE_SCHEMA, "model": job.model, "model_dir": samples.model_dir(job.model),
            "endpoint": cfg.endpoint, "task": self.task.name, "task_sha256": self.task_sha256,
            "harness_version": self.harness_version, "language": job.language, "sample": job.sample,
            "turn": turn,
            "parameters": {"temperature": cfg.temperature, "seed": seed, "max_tokens": cfg.max_tokens},
            "prompt_sha256": hashlib.sha256(self.prompts[job.language].encode("utf-8")).hexdigest(),
            "messages": messages, "response": got.text, "finish_reason": got.finish_reason,
            "tokens_in": got.tokens_in, "tokens_out": got.tokens_out, "latency_s": round(got.latency_s, 4),
            "created": utc_now_iso(), "code_file": None, "extraction": rule,
            "verdict_hint": "no_code" if code is None else None, "previous_turn_feedback": feedback,
            "attempts": got.attempts, "attempt_errors": got.attempt_errors, "response_id": got.response_id,
            "response_model": got.response_model,
            "feedback_verdict": None, "feedback_diagnoses": None, "feedback_seed": None, "feedback_text": None,
        }
        with self.gate:
            if self.stop.is_set():
                raise _Interrupted
            _, meta = samples.write_sample(folder, job.sample, turn, self.suffix[job.language], code, record)
        return samples.read_record(meta)

    def _score_turn(self, job: Job, record: dict, folder: Path, meta: Path) -> dict:
        """Score a turn for the repair loop and store the verdict and the feedback in its record."""
        from .evaluate import fresh_seed, score

        if self.stop.is_set():
            raise _Interrupted
        if record.get("code_file") is None:
            verdict, codes, seed, text = "no_code", [], None, no_code_feedback(job.language)
        else:
            seed = fresh_seed()
            cpu = self.cpus.get()
            try:
                result = score(folder / record["code_file"], task=self.task, seed=seed, with_throughput=False,
                               cpu=cpu)
            finally:
                self.cpus.put(cpu)
            # only the host's own flag says Ctrl-C: the worker's exit status is the candidate's to choose
            if self.stop.is_set():
                raise _Interrupted  # Ctrl-C reached the scoring workers too: the verdict means nothing
            verdict = result["verdict"]
            codes = sorted({d["code"] for d in result.get("diagnoses", [])})
            text = feedback_message(result, job.language)
        record = dict(record, feedback_verdict=verdict, feedback_diagnoses=codes, feedback_seed=seed,
                      feedback_text=None if verdict == "pass" else text)
        with self.gate:
            if self.stop.is_set():
                raise _Interrupted
            samples.write_atomic(meta, json.dumps(record, indent=1) + "\n")
        return record

    def log_failure(self, outcome: Outcome) -> None:
        entry = {"created": utc_now_iso(), "model": outcome.job.model, "task": self.task.name,
                 "language": outcome.job.language, "sample": outcome.job.sample, **outcome.error}
        with self.gate:
            with open(Path(self.config.out) / ERRORS_FILE, "a", encoding="utf-8") as f:
                f.write(json.dumps(entry) + "\n")


class _Interrupted(Exception):
    """The run is stopping: the job writes nothing more."""


def generate(config: GenerateConfig, client) -> Summary:
    """Make every missing sample turn of `config` with `client`; see the module docstring.

    Parameters
    ----------
    config : GenerateConfig
        Models, languages, samples, run folder and request parameters.
    client : openai.OpenAI
        Made with ``max_retries=0``.

    Returns
    -------
    Summary
        With ``interrupted`` True after Ctrl-C (then no sample is half-written: every write in
        progress has finished and no other will start).
    """
    from tqdm import tqdm

    config.out.mkdir(parents=True, exist_ok=True)
    run = _Run(config, client)
    summary = Summary()
    todo = []
    for model in config.models:
        for language in config.languages:
            for sample in range(config.samples):
                job = Job(model, language, sample)
                summary.chains += 1
                done, mismatch = run.complete(job)
                summary.mismatched += mismatch
                if done:
                    summary.already_complete += 1
                else:
                    todo.append(job)
    if not todo:
        return summary
    jobs: queue.Queue = queue.Queue()
    for job in todo:
        jobs.put(job)
    results: queue.Queue = queue.Queue()

    def work() -> None:
        while not run.stop.is_set():
            try:
                job = jobs.get_nowait()
            except queue.Empty:
                return
            results.put(run.run_job(job))

    # daemon threads: after Ctrl-C the process exits without waiting for a request in flight
    threads = [threading.Thread(target=work, name=f"generate-{i}", daemon=True)
               for i in range(min(config.concurrency, len(todo)))]
    bar = tqdm(total=len(todo), unit="sample", desc="generate", file=sys.stderr, dynamic_ncols=True,
               mininterval=0.5, disable=not config.progress)
    try:
        for t in threads:
            t.start()
        while len(summary.outcomes) < len(todo):
            try:
                outcome = results.get(timeout=0.25)
            except queue.Empty:
                continue
            summary.outcomes.append(outcome)
            summary.turns_written += outcome.written
            if outcome.error:
                run.log_failure(outcome)
            if outcome.error and outcome.error["kind"] != "skipped":
                bar.write(f"generate: {outcome.job.model} {outcome.job.language} sample {outcome.job.sample}: "
                          f"{outcome.error['kind']}: {outcome.error['message']}", file=sys.stderr)
            bar.update(1)
            bar.set_postfix(turns=summary.turns_written, failed=len(summary.failures), refresh=False)
    except KeyboardInterrupt:
        run.stop.set()
        with run.gate:  # wait for a write in progress; none starts after this
            summary.interrupted = True
        while True:  # outcomes that arrived meanwhile still count
            try:
                outcome = results.get_nowait()
            except queue.Empty:
                break
            summary.outcomes.append(outcome)
            summary.turns_written += outcome.written
    finally:
        bar.close()
    return summary


# ----------------------------------------------------------------------------------------------
# command line


class _UsageError(ValueError):
    pass


def positive_int(text: str) -> int:
    """An argparse type: an integer >= 1, else a message naming the text."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {text!r}")
    return value


def _non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text!r}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds > 0, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a number of seconds > 0, got {text!r}")
    return value


def add_generate_parser(subparsers) -> argparse.ArgumentParser:
    """Add ``generate`` to the ``codegen-eval`` subcommands; return its parser."""
    p = subparsers.add_parser(
        "generate", help="ask models (OpenAI-compatible API) for samples, into a run folder",
        description="Ask each model for N samples per language through an OpenAI-compatible API and write "
                    "them to OUT/<model>/<task>/<language>/sample_000.<ext> with a JSON record each. "
                    "Resumable: samples already complete are skipped. With --turns K a failing sample is "
                    "scored and sent back with its diagnoses, up to K turns. Exit status 1 when a sample "
                    "could not be made (it stays missing; a rerun asks again), 130 on Ctrl-C.")
    p.add_argument("--model", action="append", dest="models", metavar="M",
                   help="model name; repeatable, or comma-separated (default: $CODEGEN_EVAL_MODEL)")
    p.add_argument("--language", default=",".join(LANGUAGES), metavar="LANGS",
                   help="comma-separated languages among python, c, cpp (default: %(default)s)")
    p.add_argument("--samples", type=positive_int, default=1, metavar="N",
                   help="samples per model and language (default: %(default)s)")
    p.add_argument("--temperature", type=float, default=0.2, help="sampling temperature (default: %(default)s)")
    p.add_argument("--seed", type=int, default=None, metavar="S",
                   help="sample i is requested with seed S + i (default: no seed sent)")
    p.add_argument("--base-url", default=os.environ.get("CODEGEN_EVAL_BASE_URL"), metavar="URL",
                   help="API base URL, e.g. http://127.0.0.1:8765/v1 (default: $CODEGEN_EVAL_BASE_URL, else "
                        "the openai client's default)")
    p.add_argument("--api-key-env", default="OPENAI_API_KEY", metavar="VAR",
                   help="environment variable holding the API key (default: %(default)s; a local server "
                        "accepts any value)")
    p.add_argument("--concurrency", type=positive_int, default=4, metavar="C",
                   help="requests (and repair scorings) in flight at once (default: %(default)s)")
    p.add_argument("--turns", type=positive_int, default=1, metavar="K",
                   help="repair turns: a failing turn is scored and sent back with its diagnoses, up to K "
                        "turns in all (default: %(default)s, no repair)")
    p.add_argument("--max-tokens", type=positive_int, default=None, metavar="N",
                   help="max_tokens of each request (default: not sent)")
    p.add_argument("--timeout", type=_positive_float, default=600.0, metavar="S",
                   help="seconds before a request is abandoned and retried (default: %(default)s)")
    p.add_argument("--max-retries", type=_non_negative_int, default=5, metavar="N",
                   help="retries of a request after HTTP 429, 5xx, a connection error or a timeout "
                        "(default: %(default)s)")
    p.add_argument("--task", default=DEFAULT_TASK, help="task folder name or path (default: %(default)s)")
    p.add_argument("--out", required=True, metavar="DIR", help="run folder, e.g. runs/NAME (created if missing)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    return p


def _check_args(args) -> tuple[list[str], list[str], Task, str]:
    raw = args.models or ([os.environ["CODEGEN_EVAL_MODEL"]] if os.environ.get("CODEGEN_EVAL_MODEL") else [])
    models = list(dict.fromkeys(m.strip() for item in raw for m in item.split(",") if m.strip()))
    if not models:
        raise _UsageError("give --model (or set CODEGEN_EVAL_MODEL)")
    languages = list(dict.fromkeys(x.strip() for x in args.language.split(",") if x.strip()))
    bad = [x for x in languages if x not in LANGUAGES]
    if bad or not languages:
        raise _UsageError(f"--language: expected a comma-separated list of {', '.join(LANGUAGES)}, "
                          f"got {args.language!r}")
    try:
        task = load_task(args.task)
    except ValueError as exc:
        raise _UsageError(str(exc)) from None
    missing = [x for x in languages if x not in task.data["languages"]]
    if missing:
        raise _UsageError(f"task {task.name!r} has no prompt for {', '.join(missing)}")
    key = os.environ.get(args.api_key_env)
    if not key:
        raise _UsageError(f"the environment variable {args.api_key_env!r} (--api-key-env) holds no API key; "
                          f"a local test server accepts any value, e.g. {args.api_key_env}=anything")
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise _UsageError(f"--out {args.out!r} is a file, not a folder")
    return models, languages, task, key


def print_summary(summary: Summary, config: GenerateConfig, file=None) -> None:
    """Print what a run did: per model and language the complete samples and answers without code,
    then every sample that could not be made."""
    file = file or sys.stdout
    print(f"{'model':<28} {'language':<8} {'complete':>9} {'no code':>8} {'turns':>6}", file=file)
    for model in config.models:
        for language in config.languages:
            folder = samples.sample_folder(config.out, model, config.task.name, language)
            complete = no_code = turns = 0
            for i in range(config.samples):
                first = folder / samples.record_name(i, 1)
                if not first.is_file():
                    continue
                complete += 1
                no_code += samples.read_record(first).get("verdict_hint") == "no_code"
                turns += sum((folder / samples.record_name(i, t)).is_file() for t in range(1, config.turns + 1))
            print(f"{model:<28} {language:<8} {complete:>5}/{config.samples:<3} {no_code:>8} {turns:>6}", file=file)
    made = f"{summary.turns_written} new sample turn(s)"
    print(f"{made}; {summary.already_complete} of {summary.chains} sample(s) were already complete; "
          f"run folder {config.out}", file=file)
    if summary.mismatched:
        print(f"note: {summary.mismatched} existing sample(s) were made with other parameters (temperature, seed, "
              "max_tokens) or another version of the task; they are kept (use a new --out for a separate run)",
              file=file)
    failures = summary.failures
    if failures:
        print(f"{len(failures)} sample(s) could not be made; they stay missing and a rerun asks for them "
              f"again (also listed in {Path(config.out) / ERRORS_FILE}):", file=file)
        for o in failures:
            print(f"  {o.job.model} {o.job.language} sample {o.job.sample}: {o.error['kind']}: "
                  f"{o.error['message']}", file=file)


def run_generate(args) -> int:
    """Run ``codegen-eval generate`` from parsed arguments; return the exit status.

    Returns
    -------
    int
        0 when every sample is complete; 1 when a sample could not be made or the harness failed;
        2 for a usage error; 130 after Ctrl-C.
    """
    try:
        models, languages, task, key = _check_args(args)
    except _UsageError as exc:
        print(f"codegen-eval: error: {exc}", file=sys.stderr)
        return 2
    try:
        import openai
    except ImportError:
        print("codegen-eval: error: generate needs the 'openai' package (pip install 'eq-stream[models]')",
              file=sys.stderr)
        return 1
    client = openai.OpenAI(base_url=args.base_url or None, api_key=key, max_retries=0, timeout=args.timeout)
    config = GenerateConfig(models=models, languages=languages, samples=args.samples, out=Path(args.out),
                            task=task, temperature=args.temperature, seed=args.seed, max_tokens=args.max_tokens,
                            turns=args.turns, concurrency=args.concurrency, max_retries=args.max_retries,
                            endpoint=str(client.base_url), progress=not args.no_progress)
    try:
        summary = generate(config, client)
    except KeyboardInterrupt:  # Ctrl-C before the workers started: nothing was being written
        print("codegen-eval: interrupted", file=sys.stderr)
        return 130
    except (ValueError, OSError, RuntimeError) as exc:
        print(f"codegen-eval: error: {exc}", file=sys.stderr)
        return 1
    if summary.interrupted:
        print(f"codegen-eval: interrupted after {summary.turns_written} new sample turn(s); every sample "
              "written is complete, and the same command resumes", file=sys.stderr)
        return 130
    if summary.chains == summary.already_complete:
        print(f"nothing to do: all {summary.chains} sample(s) in {config.out} are complete")
        return 0
    print_summary(summary, config)
    return 1 if summary.failures else 0


def main(argv: list[str] | None = None) -> int:
    """``python -m codegen_eval.generation ARGS``: the same as ``codegen-eval generate ARGS``."""
    parser = argparse.ArgumentParser(prog="codegen-eval")
    add_generate_parser(parser.add_subparsers(dest="command", required=True))
    return run_generate(parser.parse_args(["generate", *(sys.argv[1:] if argv is None else argv)]))


if __name__ == "__main__":
    sys.exit(main())

"""An OpenAI-compatible test server with canned answers made from the known-bug corpus.

``codegen-eval model-server --port 8765`` serves ``POST /v1/chat/completions`` (non-streaming) and
``GET /v1/models`` on 127.0.0.1, so that ``codegen-eval generate`` and its tests talk real HTTP
through the real ``openai`` client without a hosted model. The answer's language is the language
of the task prompt in the conversation's first user message.

Models (a provider prefix such as ``org/demo-correct`` is ignored, as hosted APIs route by it):

``demo-correct``
    Prose, then the corpus's correct candidate in a ```` ```<language> ```` block, then a
    ```` ```bash ```` block with a command line (the last block tagged with the language is
    the code).
``demo-buggy``
    The ``state_reset_at_boundary`` candidate of the corpus (C++: :func:`cpp_state_reset`).

The answers follow the task of the prompt: the video task's prompts get the candidates of
``tests/corpus/video``, every other prompt the audio task's.
``demo-nocode``
    Prose only.
``demo-hostile``
    A hostile candidate of the corpus on every turn: C sends SIGINT to its parent from a library
    constructor, Python forges a verdict with terminal escapes, C++ is a compile-time bomb; the
    repair loop must score each, send the diagnoses back and go on (audio task only).
``demo-mixed``
    Correct, buggy or prose only, chosen by the request's ``seed`` (else by a hash of the
    conversation) modulo 3, so that pass@k lies between 0 and 1; every later turn (a conversation
    that holds feedback) gets the correct answer.
``demo-repair``
    Buggy on the first turn, correct once the conversation holds a previous answer and feedback.
``demo-ratelimit`` / ``demo-flaky``
    HTTP 429 with ``Retry-After: 0`` / HTTP 500 on the first attempt of every conversation (its
    model, messages and seed), then the correct answer. The attempts are counted in memory.
``demo-slow``
    The correct answer after a delay: the request's ``?delay=S`` query, else its ``X-Delay-S``
    header, else the server's ``slow_delay_s`` (default 2 s).

An unknown model gets HTTP 404 with OpenAI's error JSON.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from .generation import LANGUAGE_LABEL
from .task import LANGUAGES, TASKS_DIR, load_task

MODELS = ("demo-correct", "demo-buggy", "demo-nocode", "demo-mixed", "demo-repair", "demo-ratelimit",
          "demo-flaky", "demo-slow", "demo-hostile")
DEFAULT_SLOW_DELAY_S = 2.0
MAX_DELAY_S = 600.0
MAX_BODY_BYTES = 16 * 1024 * 1024
CORRECT_FILES = {"python": "python/correct_numpy.py", "c": "c/correct.c", "cpp": "cpp/correct.cpp"}
BUGGY_FILES = {"python": "python/state_reset_at_boundary.py", "c": "c/state_reset_at_boundary.c"}
# hostile answers (the audio task's corpus): SIGINT to the harness from a library constructor,
# a forged verdict in terminal escapes, a compile-time bomb
HOSTILE_FILES = {"python": "hostile/python/terminal_escape_forged_verdict.py", "c": "hostile/c/sigint_harness.c",
                 "cpp": "hostile/cpp/template_blowup.cpp"}
# the video task's answers (tests/corpus/video): correct, and the state-reset bug in each language
VIDEO_CORRECT_FILES = {"python": "python/correct.py", "c": "c/correct.c", "cpp": "cpp/correct.cpp"}
VIDEO_BUGGY_FILES = {lang: f"{lang}/state_reset_at_boundary.{ext}" for lang, ext in
                     (("python", "py"), ("c", "c"), ("cpp", "cpp"))}
# the C++ state-reset bug: the line the state reset goes after, and the reset itself
CPP_RESET_ANCHOR = "size_t used = 0, written = 0;"
CPP_RESET_LINE = "std::fill(z_.begin(), z_.end(), 0.0);  // bug: state_reset_at_boundary"


def default_corpus() -> Path:
    """``tests/corpus`` next to the package in a source checkout."""
    return Path(__file__).resolve().parent.parent / "tests" / "corpus"


def cpp_state_reset(correct_source: str) -> str:
    """The C++ ``state_reset_at_boundary`` answer: `correct_source` (the corpus's ``cpp/correct.cpp``)
    with the filter state zeroed at the start of every ``process`` call, one line inserted after
    the line holding :data:`CPP_RESET_ANCHOR`, as the C and Python corpus candidates of that bug do.

    Raises
    ------
    ValueError
        The anchor line is not in `correct_source`.

    Examples
    --------
    >>> src = "size_t process()\\n{\\n    size_t used = 0, written = 0;\\n    return 0;\\n}\\n"
    >>> print(cpp_state_reset(src).splitlines()[3].strip())
    std::fill(z_.begin(), z_.end(), 0.0);  // bug: state_reset_at_boundary
    """
    lines = correct_source.splitlines(keepends=True)
    for i, line in enumerate(lines):
        if CPP_RESET_ANCHOR in line:
            indent = line[:len(line) - len(line.lstrip())]
            lines.insert(i + 1, indent + CPP_RESET_LINE + "\n")
            return "".join(lines)
    raise ValueError(f"cannot make the buggy C++ answer: no line holds {CPP_RESET_ANCHOR!r}")


def load_answers(corpus: str | Path | None = None) -> dict[str, dict[str, str]]:
    """The source code of the canned answers: ``{"correct"|"buggy": {language: source}}``.

    Parameters
    ----------
    corpus : str or Path, optional
        A folder laid out like ``tests/corpus`` (``python/correct_numpy.py``, ``c/correct.c``,
        ``cpp/correct.cpp``, ``python/state_reset_at_boundary.py``, ``c/state_reset_at_boundary.c``);
        default :func:`default_corpus`.

    Raises
    ------
    ValueError
        The folder or one of its files is missing.
    """
    folder = Path(corpus) if corpus is not None else default_corpus()
    if not folder.is_dir():
        raise ValueError(f"no answers folder {str(folder)!r}: the test server's answers come from the "
                         "repository's tests/corpus (a source checkout), or pass --answers DIR")
    needed = list(CORRECT_FILES.values()) + list(BUGGY_FILES.values())
    missing = [name for name in needed if not (folder / name).is_file()]
    if missing:
        raise ValueError(f"the answers folder {str(folder)!r} lacks {', '.join(missing)}")

    def read(name: str) -> str:
        return (folder / name).read_text(encoding="utf-8")

    correct = {lang: read(name) for lang, name in CORRECT_FILES.items()}
    buggy = {lang: read(name) for lang, name in BUGGY_FILES.items()}
    buggy["cpp"] = cpp_state_reset(correct["cpp"])
    out = {"correct": correct, "buggy": buggy}
    if all((folder / name).is_file() for name in HOSTILE_FILES.values()):
        out["hostile"] = {lang: read(name) for lang, name in HOSTILE_FILES.items()}
    video = folder / "video"
    if all((video / name).is_file() for name in list(VIDEO_CORRECT_FILES.values()) + list(VIDEO_BUGGY_FILES.values())):
        out["streaming_video_eq"] = {
            "correct": {lang: read(f"video/{name}") for lang, name in VIDEO_CORRECT_FILES.items()},
            "buggy": {lang: read(f"video/{name}") for lang, name in VIDEO_BUGGY_FILES.items()}}
    return out


def _task_prompts() -> dict[str, tuple[str, str]]:
    """Every task prompt, by its text: ``{prompt: (task name, language)}``."""
    out = {}
    for folder in sorted(TASKS_DIR.iterdir()):
        if (folder / "task.json").is_file():
            task = load_task(folder)
            for lang in LANGUAGES:
                try:
                    out[task.prompt(lang).strip()] = (task.name, lang)
                except (ValueError, OSError):
                    continue
    return out


def detect_language(prompt: str, known: dict[str, tuple[str, str]]) -> str | None:
    """The language a prompt asks for: by equality with a task prompt (`known`:
    ``{prompt: (task name, language)}``), else by its title line (``# Task: ... in Python|C|C++``);
    None when neither tells."""
    if prompt.strip() in known:
        return known[prompt.strip()][1]
    first = prompt.strip().splitlines()[0] if prompt.strip() else ""
    for label, lang in (("C++", "cpp"), ("Python", "python"), ("C", "c")):
        if first.rstrip().endswith(" in " + label):
            return lang
    return None


def answer_text(kind: str, language: str, answers: dict, task: str | None = None) -> str:
    """The assistant's message for `kind` (``correct``, ``buggy``, ``hostile`` or ``nocode``); the
    answers of `task` when it has its own of that kind (the video task), else the audio task's."""
    label = LANGUAGE_LABEL[language]
    if task and kind in answers.get(task, {}):
        answers = answers[task]
    if kind == "nocode":
        return (f"A streaming equalizer in {label} keeps one biquad state per section and channel, "
                "carries the bytes of an incomplete frame to the next call, rounds half to even and "
                "saturates. I would rather describe the design than write the code here.")
    code = answers[kind][language]
    suffix = {"python": "py", "c": "c", "cpp": "cpp"}[language]
    return (f"Here is the streaming equalizer in {label}: cookbook biquads in series, state per section "
            f"and channel, the bytes of an incomplete frame kept for the next call.\n\n"
            f"```{language}\n{code.rstrip()}\n```\n\n"
            f"Score it with:\n\n```bash\ncodegen-eval score candidate.{suffix}\n```\n")


class ModelServer(ThreadingHTTPServer):
    """The test server: a :class:`ThreadingHTTPServer` with the answers and the attempt counts.

    Attributes
    ----------
    base_url : str
        ``http://HOST:PORT/v1``, the ``base_url`` of an ``openai.OpenAI`` client.
    """

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address, answers: dict, slow_delay_s: float = DEFAULT_SLOW_DELAY_S,
                 log: bool = False):
        super().__init__(address, _Handler)
        self.answers = answers
        self.task_prompts = _task_prompts()
        self.slow_delay_s = slow_delay_s
        self.log = log
        self.attempts: dict[str, int] = {}
        self.lock = threading.Lock()
        host, port = self.server_address[:2]
        self.base_url = f"http://{host}:{port}/v1"

    def attempt(self, key: str) -> int:
        """Count one more attempt of the conversation `key`; return its number (from 1)."""
        with self.lock:
            self.attempts[key] = self.attempts.get(key, 0) + 1
            return self.attempts[key]


def _error(status: int, message: str, type_: str, code: str | None = None) -> tuple[int, dict]:
    return status, {"error": {"message": message, "type": type_, "param": None, "code": code}}


class _Handler(BaseHTTPRequestHandler):
    server: ModelServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):  # noqa: A002 (the name of the overridden signature)
        if self.server.log:
            sys.stderr.write(f"model-server: {self.address_string()} {format % args}\n")

    def _send(self, status: int, body: dict, headers: dict | None = None) -> None:
        data = json.dumps(body).encode("utf-8")
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a timeout, Ctrl-C): nobody is left to answer

    def do_GET(self):  # noqa: N802 (http.server's naming)
        if urlsplit(self.path).path.rstrip("/") == "/v1/models":
            self._send(200, {"object": "list", "data": [
                {"id": m, "object": "model", "created": 0, "owned_by": "codegen-eval"} for m in MODELS]})
        else:
            self._send(*_error(404, f"no route GET {self.path}", "invalid_request_error", "not_found"))

    def do_POST(self):  # noqa: N802 (http.server's naming)
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY_BYTES:
            self._send(*_error(413, f"request body of {length} bytes is too large", "invalid_request_error"))
            return
        raw = self.rfile.read(length)
        if url.path.rstrip("/") != "/v1/chat/completions":
            self._send(*_error(404, f"no route POST {url.path}", "invalid_request_error", "not_found"))
            return
        try:
            request = json.loads(raw or b"{}")
            messages = request["messages"]
            model = str(request["model"])
            if not isinstance(messages, list) or not messages:
                raise ValueError("messages must be a non-empty list")
        except (ValueError, KeyError, TypeError) as exc:
            self._send(*_error(400, f"bad request: {exc}", "invalid_request_error"))
            return
        if request.get("stream"):
            self._send(*_error(400, "this test server does not stream", "invalid_request_error"))
            return
        status, body, headers = self.complete(model, messages, request, url)
        self._send(status, body, headers)

    def complete(self, model: str, messages: list, request: dict, url) -> tuple[int, dict, dict]:
        name = model.rsplit("/", 1)[-1]
        if name not in MODELS:
            return (*_error(404, f"The model {model!r} does not exist; this test server has "
                                 f"{', '.join(MODELS)}", "invalid_request_error", "model_not_found"), {})
        first_user = next((m.get("content") or "" for m in messages if m.get("role") == "user"), "")
        language = detect_language(str(first_user), self.server.task_prompts)
        if language is None:
            return (*_error(400, "cannot tell the language of the prompt (expected a codegen-eval task "
                                 "prompt)", "invalid_request_error"), {})
        seed = request.get("seed")
        conversation = json.dumps([model, messages, seed], sort_keys=True).encode("utf-8")
        key = hashlib.sha256(conversation).hexdigest()
        repairing = any(m.get("role") == "assistant" for m in messages)
        if name in ("demo-ratelimit", "demo-flaky") and self.server.attempt(key) == 1:
            if name == "demo-ratelimit":
                return (*_error(429, "Rate limit reached; try again later", "requests", "rate_limit_exceeded"),
                        {"Retry-After": "0"})
            return (*_error(500, "The server had an error while processing your request", "server_error"), {})
        if name == "demo-slow":
            delay_s = self._delay(url)
            if delay_s is None:
                return (*_error(400, "delay must be a number of seconds", "invalid_request_error"), {})
            time.sleep(delay_s)
        kind = "correct"
        if name == "demo-buggy" or (name == "demo-repair" and not repairing):
            kind = "buggy"
        elif name == "demo-nocode":
            kind = "nocode"
        elif name == "demo-hostile":
            kind = "hostile"
        elif name == "demo-mixed" and not repairing:
            pick = seed if isinstance(seed, int) else int(key[:8], 16)
            kind = ("correct", "buggy", "nocode")[pick % 3]
        task = self.server.task_prompts.get(str(first_user).strip(), (None, None))[0]
        text = answer_text(kind, language, self.server.answers, task)
        prompt_chars = sum(len(str(m.get("content") or "")) for m in messages)
        tokens_in, tokens_out = -(-prompt_chars // 4), -(-len(text) // 4)
        body = {"id": "chatcmpl-" + uuid.uuid4().hex[:24], "object": "chat.completion",
                "created": int(time.time()), "model": model, "system_fingerprint": "codegen-eval-test",
                "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                             "finish_reason": "stop", "logprobs": None}],
                "usage": {"prompt_tokens": tokens_in, "completion_tokens": tokens_out,
                          "total_tokens": tokens_in + tokens_out}}
        return 200, body, {}

    def _delay(self, url) -> float | None:
        text = parse_qs(url.query).get("delay", [None])[0] or self.headers.get("X-Delay-S")
        if text is None:
            return self.server.slow_delay_s
        try:
            value = float(text)
        except ValueError:
            return None
        return min(max(value, 0.0), MAX_DELAY_S) if value == value else None


def serve(host: str = "127.0.0.1", port: int = 0, answers_dir: str | Path | None = None,
          slow_delay_s: float = DEFAULT_SLOW_DELAY_S, log: bool = False) -> ModelServer:
    """Start the test server in a background thread and return it.

    Parameters
    ----------
    host : str
        Address to listen on.
    port : int
        Port; 0 picks a free one (read it from ``server.base_url`` or ``server.server_address``).
    answers_dir : str or Path, optional
        The corpus folder the answers come from (default: ``tests/corpus`` of the source checkout).
    slow_delay_s : float
        Delay of ``demo-slow`` when the request names none.
    log : bool
        Print one line per request to stderr.

    Returns
    -------
    ModelServer
        Serving; stop it with ``server.shutdown(); server.server_close()``.

    Raises
    ------
    ValueError
        The answers folder or one of its files is missing.
    OSError
        The address cannot be bound (e.g. the port is in use).
    """
    server = ModelServer((host, port), load_answers(answers_dir), slow_delay_s=slow_delay_s, log=log)
    threading.Thread(target=server.serve_forever, name="model-server", daemon=True).start()
    return server


def add_model_server_parser(subparsers) -> argparse.ArgumentParser:
    """Add ``model-server`` to the ``codegen-eval`` subcommands; return its parser."""
    p = subparsers.add_parser(
        "model-server", help="serve canned answers through an OpenAI-compatible API (for demos and tests)",
        description="Serve POST /v1/chat/completions and GET /v1/models on HOST:PORT with canned answers "
                    "made from the known-bug corpus. Models: " + ", ".join(MODELS) + ". Stop with Ctrl-C.")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default: %(default)s)")
    p.add_argument("--port", type=int, default=8765, help="port; 0 picks a free one (default: %(default)s)")
    p.add_argument("--answers", metavar="DIR", default=None,
                   help="corpus folder the answers come from (default: tests/corpus of the source checkout)")
    p.add_argument("--slow-delay", type=float, default=DEFAULT_SLOW_DELAY_S, metavar="S",
                   help="seconds demo-slow waits when the request names none (default: %(default)s)")
    p.add_argument("--quiet", action="store_true", help="do not print a line per request")
    return p


def run_model_server(args) -> int:
    """Run ``codegen-eval model-server`` until Ctrl-C; return the exit status (1 when it cannot start,
    130 after Ctrl-C)."""
    try:
        server = serve(args.host, args.port, args.answers, slow_delay_s=args.slow_delay, log=not args.quiet)
    except (ValueError, OSError) as exc:
        print(f"codegen-eval: error: model-server: {exc}", file=sys.stderr)
        return 1
    print(f"serving {', '.join(MODELS)} at {server.base_url} (any API key; Ctrl-C stops)", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        return 130
    finally:
        server.shutdown()
        server.server_close()


def main(argv: list[str] | None = None) -> int:
    """``python -m codegen_eval.model_server ARGS``: the same as ``codegen-eval model-server ARGS``."""
    parser = argparse.ArgumentParser(prog="codegen-eval")
    add_model_server_parser(parser.add_subparsers(dest="command", required=True))
    return run_model_server(parser.parse_args(["model-server", *(sys.argv[1:] if argv is None else argv)]))


if __name__ == "__main__":
    sys.exit(main())

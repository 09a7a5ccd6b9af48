"""Command line: ``codegen-eval prompt|score|report|generate`` (also ``python -m codegen_eval``).

Exit status: 0 when the harness worked, whatever the candidates' verdicts; 2 for usage errors;
1 for harness errors.
"""
from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path

from .task import DEFAULT_TASK, LANGUAGES, language_of, load_task


DESCRIPTION = ("Score implementations of a streaming audio equalizer: print the prompt of a task, score "
               "candidate files (Python, C, C++) in a sandbox against the reference, rebuild the reports "
               "from saved results, or ask a model for a candidate. Also: python -m codegen_eval.")


def package_version() -> str:
    """The installed version of the ``eq-stream`` package, or a note that it is not installed."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("eq-stream")
    except PackageNotFoundError:
        return "unknown (eq-stream is not installed as a package)"


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of ``codegen-eval`` (every option has a help string)."""
    p = argparse.ArgumentParser(prog="codegen-eval", description=DESCRIPTION,
                                epilog="Exit status: 0 when the harness worked, whatever the verdicts; "
                                       "2 for usage errors; 1 for harness errors; 130 on Ctrl-C.")
    p.add_argument("--version", action="version", version=f"%(prog)s {package_version()}",
                   help="print the version of the installed eq-stream package and exit")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    pr = sub.add_parser("prompt", help="print the prompt of a task for one language")
    pr.add_argument("task", nargs="?", default=DEFAULT_TASK,
                    help="task folder name or path (default: %(default)s)")
    pr.add_argument("--language", choices=LANGUAGES, default="python",
                    help="language the candidate is to be written in (default: %(default)s)")

    sc = sub.add_parser("score", help="score candidate files (.py, .c, .cpp)",
                        description="Score candidate files: compile (C/C++), run every case and chunking in "
                                    "a sandboxed worker, diagnose failures, measure the throughput of correct "
                                    "candidates. Prints a summary; writes reports on request.")
    sc.add_argument("paths", nargs="*", metavar="PATH",
                    help="candidate source file: .py (Python), .c (C) or .cpp/.cc/.cxx (C++)")
    sc.add_argument("--task", default=DEFAULT_TASK, help="task folder name or path (default: %(default)s)")
    sc.add_argument("--reference", action="store_true",
                    help="also score eq.StreamingEqualizer through the Python contract")
    sc.add_argument("--seed", type=int, default=None,
                    help="seed of the input signals and random chunkings (default: a fresh one, which the "
                         "results and replay commands name)")
    sc.add_argument("--jobs", type=_positive_int, default=1, metavar="N",
                    help="candidates scored at the same time, each in its own worker (default: %(default)s)")
    sc.add_argument("--case", action="append", dest="cases", metavar="ID",
                    help="only this case (repeatable); skips the throughput measurement")
    sc.add_argument("--chunking", action="append", dest="chunkings", metavar="NAME",
                    help="only this chunking, besides whole (repeatable); skips the throughput measurement")
    sc.add_argument("--no-throughput", action="store_true", help="do not measure the throughput of correct "
                    "candidates (saves about 10 s per correct candidate)")
    sc.add_argument("--unsafe-no-sandbox", action="store_true",
                    help="run candidates without bubblewrap, only for code you trust (every report says so "
                         "in red)")
    sc.add_argument("--json", metavar="OUT", help="write the versioned JSON result(s) to OUT")
    sc.add_argument("--html", metavar="OUT", help="write a self-contained HTML report to OUT")
    sc.add_argument("--markdown", metavar="OUT", help="write the Markdown report (summary table, then per "
                    "candidate what happened, every diagnosis with its evidence and replay command) to OUT")

    rp = sub.add_parser("report", help="summary (and optional HTML/Markdown) from JSON results")
    rp.add_argument("results", nargs="+", metavar="RESULT", help="JSON file written by 'score --json'")
    rp.add_argument("--html", metavar="OUT", help="write a self-contained HTML report to OUT")
    rp.add_argument("--markdown", metavar="OUT", help="write the Markdown report (summary table, then per "
                    "candidate what happened, every diagnosis with its evidence and replay command) to OUT")

    gn = sub.add_parser("generate", help="ask a model (OpenAI-compatible API) to write a candidate")
    gn.add_argument("--task", default=DEFAULT_TASK, help="task folder name or path (default: %(default)s)")
    gn.add_argument("--language", choices=LANGUAGES, default="python",
                    help="language of the candidate asked for (default: %(default)s)")
    gn.add_argument("--model", default=os.environ.get("CODEGEN_EVAL_MODEL"),
                    help="model name (default: $CODEGEN_EVAL_MODEL)")
    gn.add_argument("--base-url", default=os.environ.get("CODEGEN_EVAL_BASE_URL"),
                    help="API base URL (default: $CODEGEN_EVAL_BASE_URL, else the client's default)")
    gn.add_argument("--api-key-env", default="OPENAI_API_KEY",
                    help="environment variable holding the key (default: %(default)s)")
    gn.add_argument("--temperature", type=float, default=0.2, help="sampling temperature (default: %(default)s)")
    gn.add_argument("-o", "--output", required=True, metavar="OUT",
                    help="file to write the candidate to (its suffix should match the language)")
    return p


def extract_code(text: str, language: str) -> str:
    """Return the first fenced code block of `text`, preferring one tagged with `language`
    (``python``, ``c`` or ``cpp``); the whole text when there is no fence."""
    tags = {"python": ("python", "py"), "c": ("c",), "cpp": ("cpp", "c++", "cc")}[language]
    blocks = re.findall(r"```([A-Za-z+]*)[^\n]*\n(.*?)```", text, flags=re.S)
    for tag, body in blocks:
        if tag.lower() in tags:
            return body
    return blocks[0][1] if blocks else text


def generate(args, client=None) -> str:
    """Ask the model for a candidate and write it to ``args.output``; `client` is an OpenAI-like
    object (``client.chat.completions.create``), made from the ``openai`` package when None."""
    task = load_task(args.task)
    if client is None:
        try:
            import openai
        except ImportError as exc:
            raise RuntimeError("generate needs the 'openai' package (pip install 'eq-stream[models]')") from exc
        if not args.model:
            raise ValueError("--model (or CODEGEN_EVAL_MODEL) is required")
        client = openai.OpenAI(base_url=args.base_url, api_key=os.environ.get(args.api_key_env))
    reply = client.chat.completions.create(model=args.model, temperature=args.temperature,
                                          messages=[{"role": "user", "content": task.prompt(args.language)}])
    code = extract_code(reply.choices[0].message.content or "", args.language)
    Path(args.output).write_text(code)
    return code


class UsageError(ValueError):
    """A command line the harness cannot act on (exit status 2)."""


def _check_score_args(args, task) -> None:
    """Reject bad paths, suffixes, case ids, chunkings and output folders before any work starts."""
    if not args.paths and not args.reference:
        raise UsageError("give candidate PATHs or --reference")
    for path in args.paths:
        if not Path(path).is_file():
            raise UsageError(f"no such file {path!r}")
        try:
            language_of(path)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
    known_cases = [c["id"] for c in task.data["cases"]]
    for case_id in args.cases or []:
        if case_id not in known_cases:
            raise UsageError(f"unknown case {case_id!r}; known: {', '.join(known_cases)}")
    known_chunkings = [c["name"] for c in task.data["chunkings"]]
    for name in args.chunkings or []:
        if name not in known_chunkings:
            raise UsageError(f"unknown chunking {name!r}; known: {', '.join(known_chunkings)}")


def _check_outputs(args) -> None:
    for out in (getattr(args, "json", None), args.html, args.markdown):
        if out and not Path(out).resolve().parent.is_dir():
            raise UsageError(f"cannot write {out!r}: no folder {str(Path(out).resolve().parent)!r}")


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit status (0 whatever the verdicts, 1 harness error, 2 usage)."""
    args = build_parser().parse_args(argv)
    try:
        if args.command == "prompt":
            sys.stdout.write(load_task(args.task).prompt(args.language))
            return 0
        if args.command == "generate":
            generate(args)
            print(f"wrote {args.output}")
            return 0
        from . import report, report_html

        _check_outputs(args)
        if args.command == "report":
            try:
                results = report.load_results(args.results)
            except ValueError as exc:
                raise UsageError(str(exc)) from None
        else:
            from .evaluate import score, score_many

            try:
                task = load_task(args.task)
            except ValueError as exc:
                raise UsageError(str(exc)) from None
            _check_score_args(args, task)
            kw = dict(case_ids=args.cases, chunkings=args.chunkings, with_throughput=not args.no_throughput,
                      unsafe_no_sandbox=args.unsafe_no_sandbox)
            if args.seed is None:
                from .evaluate import fresh_seed

                args.seed = fresh_seed()  # one seed for the whole run, so that results compare
            results = []
            if args.reference:
                results.append(score(None, task=task, seed=args.seed, reference=True, **kw))
            results += score_many(args.paths, task=task, seed=args.seed, jobs=args.jobs, **kw)
        md = report.markdown_table(results)
        written = []  # files first: a closed stdout (``| head``) must not lose them
        if getattr(args, "json", None):
            report.write_json(results, args.json)
            written.append(args.json)
        if args.markdown:
            Path(args.markdown).write_text(report.markdown_report(results))
            written.append(args.markdown)
        if args.html:
            Path(args.html).write_text(report_html.html_report(results))
            written.append(args.html)
        sys.stdout.write(md + "\n" + report.text_summary(results))
        if written:
            print("wrote " + ", ".join(written))
        sys.stdout.flush()
        return 0
    except BrokenPipeError:
        # the reader stopped reading (``| head``): not an error of the harness
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except UsageError as exc:
        print(f"codegen-eval: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("codegen-eval: interrupted", file=sys.stderr)
        return 130
    except (ValueError, OSError, RuntimeError) as exc:
        print(f"codegen-eval: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())

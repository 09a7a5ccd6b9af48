"""Command line: ``codegen-eval prompt|score|report|generate`` (also ``python -m codegen_eval``).

Exit status: 0 when the harness worked, whatever the candidates' verdicts; 2 for usage errors;
1 for harness errors.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import sys
from pathlib import Path

from .task import LANGUAGES, load_task


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="codegen-eval", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True)

    pr = sub.add_parser("prompt", help="print the prompt of a task for one language")
    pr.add_argument("task", nargs="?", default="streaming_eq")
    pr.add_argument("--language", choices=LANGUAGES, default="python")

    sc = sub.add_parser("score", help="score candidate files (.py, .c, .cpp)")
    sc.add_argument("paths", nargs="*", metavar="PATH")
    sc.add_argument("--task", default="streaming_eq")
    sc.add_argument("--reference", action="store_true",
                    help="also score eq.StreamingEqualizer through the Python contract")
    sc.add_argument("--seed", type=int, default=0)
    sc.add_argument("--jobs", type=int, default=1)
    sc.add_argument("--case", action="append", dest="cases", metavar="ID", help="only this case (repeatable)")
    sc.add_argument("--chunking", action="append", dest="chunkings", metavar="NAME",
                    help="only this chunking, besides whole (repeatable)")
    sc.add_argument("--no-throughput", action="store_true")
    sc.add_argument("--json", metavar="OUT")
    sc.add_argument("--html", metavar="OUT")
    sc.add_argument("--markdown", metavar="OUT")

    rp = sub.add_parser("report", help="Markdown table (and optional HTML) from JSON results")
    rp.add_argument("results", nargs="+")
    rp.add_argument("--html", metavar="OUT")

    gn = sub.add_parser("generate", help="ask a model (OpenAI-compatible API) to write a candidate")
    gn.add_argument("--task", default="streaming_eq")
    gn.add_argument("--language", choices=LANGUAGES, default="python")
    gn.add_argument("--model", default=os.environ.get("CODEGEN_EVAL_MODEL"))
    gn.add_argument("--base-url", default=os.environ.get("CODEGEN_EVAL_BASE_URL"))
    gn.add_argument("--api-key-env", default="OPENAI_API_KEY", help="environment variable holding the key")
    gn.add_argument("--temperature", type=float, default=0.2)
    gn.add_argument("-o", "--output", required=True)
    return p


def extract_code(text: str, language: str) -> str:
    """The first fenced code block of `text` (preferring one tagged with the language)."""
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


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "prompt":
            sys.stdout.write(load_task(args.task).prompt(args.language))
            return 0
        if args.command == "generate":
            generate(args)
            print(f"wrote {args.output}")
            return 0
        from . import report

        if args.command == "report":
            results = report.load_results(args.results)
        else:
            from .evaluate import score, score_many

            if not args.paths and not args.reference:
                print("codegen-eval: error: give candidate PATHs or --reference", file=sys.stderr)
                return 2
            for p in args.paths:
                if not Path(p).is_file():
                    print(f"codegen-eval: error: no such file {p!r}", file=sys.stderr)
                    return 2
            task = load_task(args.task)
            kw = dict(case_ids=args.cases, chunkings=args.chunkings, with_throughput=not args.no_throughput)
            results = []
            if args.reference:
                results.append(score(None, task=task, seed=args.seed, reference=True, **kw))
            results += score_many(args.paths, task=task, seed=args.seed, jobs=args.jobs, **kw)
            if args.json:
                report.write_json(results, args.json)
        md = report.markdown_table(results)
        sys.stdout.write(md)
        for r in results:
            for d in r["diagnoses"]:
                first = json.dumps(d["evidence"][0]) if d["evidence"] else ""
                print(f"  {r['candidate']}: {d['code']}: {d['detail']}\n    {first}\n    replay: {d['replay']}")
        if getattr(args, "markdown", None):
            Path(args.markdown).write_text(md)
        if args.html:
            Path(args.html).write_text(report.html_report(results))
        return 0
    except (ValueError, OSError, RuntimeError) as exc:
        print(f"codegen-eval: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())

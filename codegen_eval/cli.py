"""Command line: ``codegen-eval prompt|score|report|generate`` (also ``python -m codegen_eval``).

Exit status: 0 when the harness worked, whatever the candidates' verdicts; 2 for usage errors;
1 for harness errors.
"""
from __future__ import annotations

import argparse
import glob
import os
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


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of ``codegen-eval`` (every option has a help string)."""
    from .generation import positive_int

    p = argparse.ArgumentParser(prog="codegen-eval", description=DESCRIPTION,
                                epilog="Exit status: 0 when the harness worked, whatever the verdicts; "
                                       "2 for usage errors; 1 for harness errors; 130 on Ctrl-C.")
    p.add_argument("--version", action="version", version=f"%(prog)s {package_version()}",
                   help="print the version of the installed eq-stream package and exit")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    pr = sub.add_parser("prompt", help="print the prompt of a task for one language")
    pr.add_argument("task", nargs="?", default=None,
                    help=f"task folder name or path (default: {DEFAULT_TASK})")
    pr.add_argument("--task", dest="task_option", metavar="TASK", default=None,
                    help="the same, as an option (as for score and generate)")
    pr.add_argument("--language", choices=LANGUAGES, default="python",
                    help="language the candidate is to be written in (default: %(default)s)")

    sc = sub.add_parser("score", help="score candidate files (.py, .c, .cpp) or run folders made by generate",
                        description="Score candidate files: compile (C/C++), run every case and chunking in "
                                    "a sandboxed worker, diagnose failures, measure the throughput of correct "
                                    "candidates. Prints a summary; writes reports on request. Given run folders "
                                    "(made by 'generate'), scores every sample into the run's results database, "
                                    "reusing the results that are still valid.")
    sc.add_argument("paths", nargs="*", metavar="PATH",
                    help="candidate source file (.py, .c, .cpp/.cc/.cxx), or a run folder (runs/NAME) or glob of "
                         "samples")
    sc.add_argument("--db", metavar="FILE", help="results database (default: results.sqlite in each run folder; "
                    "giving one also stores the results of plain candidate files)")
    sc.add_argument("--rescore", action="store_true",
                    help="score again even where the database holds a valid result")
    sc.add_argument("--executor", choices=("local", "dask"), default="local",
                    help="where scoring jobs run: local processes (--jobs N) or a Dask cluster (default: local)")
    sc.add_argument("--scheduler", metavar="ADDRESS",
                    help="Dask scheduler, e.g. tcp://HOST:8786 (with --executor dask; default: a LocalCluster of "
                         "--jobs workers on this machine)")
    sc.add_argument("--task", default=DEFAULT_TASK, help="task folder name or path (default: %(default)s)")
    sc.add_argument("--reference", action="store_true",
                    help="also score eq.StreamingEqualizer through the Python contract")
    sc.add_argument("--seed", type=int, default=None,
                    help="seed of the input signals and random chunkings (default: a fresh one, which the "
                         "results and replay commands name)")
    sc.add_argument("--jobs", type=positive_int, default=1, metavar="N",
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

    rp = sub.add_parser("report", help="summary (and optional HTML/Markdown/JSON) from saved results")
    rp.add_argument("results", nargs="+", metavar="RESULT",
                    help="JSON file written by 'score --json', a run folder or a results database (.sqlite)")
    rp.add_argument("--json", metavar="OUT", help="write the versioned JSON result(s) to OUT")
    rp.add_argument("--html", metavar="OUT", help="write a self-contained HTML report to OUT")
    rp.add_argument("--markdown", metavar="OUT", help="write the Markdown report (summary table, then per "
                    "candidate what happened, every diagnosis with its evidence and replay command) to OUT")

    from .generation import add_generate_parser
    from .leaderboard import add_leaderboard_parser
    from .model_server import add_model_server_parser

    add_generate_parser(sub)
    add_model_server_parser(sub)
    add_leaderboard_parser(sub)
    return p


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


def _is_batch(args) -> bool:
    """Run folders, globs or a database: score into the results database."""
    return bool(args.db) or any(Path(p).is_dir() or (not Path(p).exists() and glob.has_magic(p))
                                for p in args.paths)


def _score_batch(args) -> tuple[list[dict], str]:
    """``score`` of run folders: every sample into its run's database; returns the results read back."""
    from .batch import score_runs

    for flag, given in (("--reference", args.reference), ("--case", args.cases), ("--chunking", args.chunkings)):
        if given:
            raise UsageError(f"{flag} scores single files; it cannot be used with run folders or --db")
    if args.db and not Path(args.db).resolve().parent.is_dir():
        raise UsageError(f"cannot write the database {args.db!r}: no folder {str(Path(args.db).resolve().parent)!r}")
    if args.scheduler and args.executor != "dask":
        raise UsageError("--scheduler needs --executor dask")
    for p in args.paths:
        if not Path(p).exists() and not glob.has_magic(p):
            raise UsageError(f"no such file or folder {p!r}")
    summary = score_runs(args.paths, db_path=args.db, task_name=args.task, seed=args.seed, jobs=args.jobs,
                         executor=args.executor, scheduler=args.scheduler, with_throughput=not args.no_throughput,
                         rescore=args.rescore, unsafe_no_sandbox=args.unsafe_no_sandbox,
                         progress=sys.stderr.isatty())
    from .leaderboard import board_payload, text_table
    from .results_db import ResultsDB

    records = []
    for db_file in summary.databases:
        with ResultsDB(db_file) as db:
            records += db.sample_records()
    table = summary.line() + "\n" + (text_table(board_payload(records)) if records else "no scored samples")
    return _saved_results(summary.databases), table


def _saved_results(paths: list[str]) -> list[dict]:
    """Results from JSON files (``score --json``), run folders and results databases, in order."""
    from . import report
    from .results_db import ResultsDB

    out = []
    for p in paths:
        db_file = Path(p) / "results.sqlite" if Path(p).is_dir() else Path(p)
        if Path(p).is_dir() and not db_file.is_file():
            raise ValueError(f"{p!r} has no results database; score it first: codegen-eval score {p}")
        if db_file.suffix in (".sqlite", ".db") and db_file.is_file():
            with ResultsDB(db_file) as db:
                for rec in db.sample_records():
                    if rec.get("result_id") is not None:
                        out.append(dict(db.result(rec["result_id"]), candidate=rec["path"]))
        else:
            out += report.load_results([p])
    return out


def _write_reports(args, results: list[dict], report, report_html) -> None:
    """The report files asked for (before anything is printed: a closed stdout must not lose them)."""
    written = []
    if getattr(args, "json", None):
        report.write_json(results, args.json)
        written.append(args.json)
    if args.markdown:
        Path(args.markdown).write_text(report.markdown_report(results))
        written.append(args.markdown)
    if args.html:
        Path(args.html).write_text(report_html.html_report(results))
        written.append(args.html)
    if written:
        print("wrote " + ", ".join(written), file=sys.stderr)


def _check_outputs(args) -> None:
    for out in (getattr(args, "json", None), args.html, args.markdown):
        if out and not Path(out).resolve().parent.is_dir():
            raise UsageError(f"cannot write {out!r}: no folder {str(Path(out).resolve().parent)!r}")


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit status (0 whatever the verdicts, 1 harness error, 2 usage)."""
    args = build_parser().parse_args(argv)
    try:
        if args.command == "prompt":
            if args.task and args.task_option and args.task != args.task_option:
                raise UsageError(f"two tasks given: {args.task!r} and --task {args.task_option!r}")
            sys.stdout.write(load_task(args.task or args.task_option or DEFAULT_TASK).prompt(args.language))
            return 0
        if args.command == "generate":
            from .generation import run_generate

            return run_generate(args)
        if args.command == "model-server":
            from .model_server import run_model_server

            return run_model_server(args)
        if args.command == "leaderboard":
            from .leaderboard import run_leaderboard

            return run_leaderboard(args)
        from . import report, report_html

        _check_outputs(args)
        if args.command == "report":
            try:
                results = _saved_results(args.results)
            except ValueError as exc:
                raise UsageError(str(exc)) from None
        elif _is_batch(args):
            results, table = _score_batch(args)
            _write_reports(args, results, report, report_html)
            sys.stdout.write(table + "\n")
            sys.stdout.flush()
            return 0
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
        _write_reports(args, results, report, report_html)
        sys.stdout.write(report.markdown_table(results) + "\n" + report.text_summary(results))
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

"""Score AI-written implementations of a task (the byte-by-byte streaming equalizer, audio and video).

Layers: each task in ``tasks/<name>/`` (data: prompts, interface, cases, tolerances, allowed
imports; and a judge module: inputs, reference, measurement, diagnoses in its own terms),
:mod:`~codegen_eval.task`, :mod:`~codegen_eval.cases` (seeded inputs and chunkings),
:mod:`~codegen_eval.compile`, :mod:`~codegen_eval.sandbox` and the worker script (running
candidates), :mod:`~codegen_eval.scoring` and :mod:`~codegen_eval.diagnosis` (pure judging),
:mod:`~codegen_eval.throughput`, :mod:`~codegen_eval.report`, :mod:`~codegen_eval.report_html`
and :mod:`~codegen_eval.cli`. The package README describes the checks, the sandbox, the
diagnoses and the result schema.
"""
from .evaluate import RESULT_SCHEMA, score, score_many
from .task import load_task

__all__ = ["RESULT_SCHEMA", "load_task", "score", "score_many"]

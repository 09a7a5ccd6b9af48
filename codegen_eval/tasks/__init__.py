"""The tasks the harness scores, one folder each: data (``task.json``, prompts) and a judge module.

See ``codegen_eval/README.md``, "Adding a task".
"""

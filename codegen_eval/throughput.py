"""Throughput of a correct candidate against the reference, measured alternately (A B A B ...)
in the same worker process; medians and spread are reported, speedup = candidate / reference
(in samples per second, so above 1 means faster than the reference)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from . import cases as cases_mod
from . import pcm
from .reference import eq_package_dir
from .sandbox import run_worker


def _job(task, language: str, job_dir: str, cand_file: str, seed: int) -> tuple[dict, int]:
    spec_tp = task.data["throughput"]
    iface = task.data["interface"]
    spec = iface["formats"][spec_tp["format"]]
    channels = spec_tp["channels"]
    frames = int(spec_tp["seconds"] * spec_tp["sample_rate"])
    rng = np.random.default_rng([seed, 7])
    x = np.clip(rng.standard_normal((frames, channels)) * 0.25, -1, 1)
    Path(job_dir, "tp_input.bin").write_bytes(pcm.encode(pcm.quantize(x, spec), spec))
    frame_bytes = spec["bytes"] * channels
    chunkings = []
    for chunk in spec_tp["chunk_frames"]:
        n = frames if chunk is None else chunk
        sizes = [n * frame_bytes] * (frames // n)
        if frames % n:
            sizes.append(frames % n * frame_bytes)
        chunkings.append({"name": "whole" if chunk is None else f"{chunk} frames", "sizes": sizes})
    config = {"sample_rate": spec_tp["sample_rate"], "channels": channels, "format": spec_tp["format"],
              "bands": spec_tp["preset_bands"]}
    config = cases_mod.config_for_language(config, iface["formats"], iface["band_types"])
    job = {"mode": "throughput", "language": language, "candidate": cand_file, "configs": [], "runs": [],
           "allowed_imports": task.data["allowed_imports"]["python"], "never_import": ["codegen_eval"],
           "throughput": {"input": "tp_input.bin", "config": config, "chunkings": chunkings,
                          "min_rounds": spec_tp["min_rounds"], "max_rounds": spec_tp["max_rounds"],
                          "budget_s": spec_tp["budget_s_per_chunking"]}}
    return job, frames * channels


def summarise(times_s: list[float], samples: int) -> dict:
    """Median and spread (interquartile range) of the rate in millions of samples per second."""
    rates = samples / np.asarray(times_s) / 1e6
    q1, med, q3 = np.percentile(rates, [25, 50, 75])
    return {"median_msamples_per_s": float(med), "iqr_msamples_per_s": float(q3 - q1),
            "rounds": len(times_s), "median_runtime_s": float(np.median(times_s))}


def measure(task, language: str, job_dir: str, cand_file: str, seed: int, reference: bool = False) -> dict:
    """Run the throughput job for a candidate that already passed; return the figures.

    Parameters
    ----------
    task : Task
        Its ``throughput`` entry gives the configuration, signal length and chunk sizes.
    language : str
        ``python``, ``c`` or ``cpp``.
    job_dir : str
        The candidate's job directory (already holding `cand_file`).
    cand_file : str
        The file the worker loads (``candidate.py`` or ``candidate.so``).
    seed : int
        Seed of the noise signal.
    reference : bool
        The candidate is ``eq`` itself (the worker may import it).

    Returns
    -------
    dict
        ``config``, ``n_bands`` and ``rows``: per chunking the candidate's and the reference's
        :func:`summarise` figures and ``speedup`` = candidate / reference (median rates); an
        ``error`` entry when nothing was measured.
    """
    job, samples = _job(task, language, job_dir, cand_file, seed)
    eq_dir = eq_package_dir()
    job["extra_path"] = [str(eq_dir.parent)]
    job["writable_roots"] = [str(eq_dir)]
    if reference:
        job["allow_modules"] = ["eq"]
    for name in ("progress", "results.jsonl"):
        Path(job_dir, name).unlink(missing_ok=True)
    limits = dict(task.data["limits"])
    limits["stall_s"] = max(limits.get("stall_s", 20), 2 * task.data["throughput"]["budget_s_per_chunking"])
    outcome = run_worker(job_dir, job, limits)
    rows = []
    for ev in outcome.events:
        if ev.get("event") != "throughput":
            continue
        cand = summarise(ev["times_s"]["candidate"], samples)
        ref = summarise(ev["times_s"]["reference"], samples)
        rows.append({"chunking": ev["name"], "candidate": cand, "reference": ref,
                     "speedup": cand["median_msamples_per_s"] / ref["median_msamples_per_s"]})
    spec_tp = task.data["throughput"]
    out = {"config": {k: spec_tp[k] for k in ("sample_rate", "channels", "format", "seconds")},
           "n_bands": len(spec_tp["preset_bands"]), "rows": rows}
    if not rows:
        out["error"] = f"no measurement (worker status {outcome.returncode}, {outcome.killed_for})"
    return out

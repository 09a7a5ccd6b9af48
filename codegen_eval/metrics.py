"""Metrics over scored samples: pass@k, fast_p, geometric-mean speed-up, bootstrap intervals, repair curves.

Pure functions over *sample records*, the dicts that :meth:`codegen_eval.results_db.ResultsDB.sample_records`
returns (one per scored turn of a generated sample)::

    {"run", "model", "task", "language", "sample", "turn", "path", "sha256",
     "verdict": "pass" | "fail" | "error" | "no_code", "diagnoses": [codes], "speedup": float | None,
     "speedups": {chunking: speedup}, "machine", "compile_failed", "load_failed", "result_id"}

Single-shot metrics (pass@k, fast_p, the speed-up, the diagnosis distribution and the failure counts) use
the turn-1 records only; the repair curve (pass@1 after t turns) uses every turn. A sample whose answer had
no code (verdict ``no_code``) counts as a failure everywhere.

References: M. Chen et al., "Evaluating Large Language Models Trained on Code", 2021 (pass@k);
A. Ouyang et al., "KernelBench", 2025 (fast_p).
"""
from __future__ import annotations

import math
import operator
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence

import numpy as np

PASS_AT_KS = (1, 5, 10, 20, 50, 100)
FAST_PS = (0.0, 0.5, 1.0, 1.5, 2.0)
VERDICTS = ("pass", "fail", "error", "no_code")
CI_LEVEL = 0.95
N_BOOT = 2000


def _count(name: str, value) -> int:
    try:
        number = operator.index(value)
    except TypeError:
        raise TypeError(f"{name} must be an integer, got {value!r}") from None
    if isinstance(value, bool):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    return number


def pass_at_k(n: int, c: int, k: int) -> float:
    """The unbiased estimator of pass@k for one problem (Chen et al. 2021).

    ``1 - C(n - c, k) / C(n, k)``: the probability that at least one of ``k`` samples drawn without
    replacement from ``n`` samples, ``c`` of them correct, is correct. Computed as the product
    ``1 - prod_{i=n-c+1}^{n} (1 - k / i)``, which neither overflows nor loses precision for large ``n``.

    Parameters
    ----------
    n : int
        Number of samples of the problem (>= k).
    c : int
        Number of correct samples (0 <= c <= n).
    k : int
        Number of draws (>= 1).

    Returns
    -------
    float
        The estimate in [0, 1]; exactly 1.0 when ``n - c < k`` (every draw of ``k`` holds a correct sample)
        and exactly 0.0 when ``c == 0``.

    Raises
    ------
    ValueError
        When ``k < 1``, ``c < 0``, ``c > n`` or ``n < k``.
    TypeError
        When an argument is not an integer.

    Examples
    --------
    >>> round(pass_at_k(5, 2, 1), 12)
    0.4
    >>> round(pass_at_k(10, 3, 5), 12) == round(1 - 21 / 252, 12)
    True
    """
    n, c, k = _count("n", n), _count("c", c), _count("k", k)
    if k < 1:
        raise ValueError(f"k must be >= 1, got k={k!r}")
    if c < 0 or c > n:
        raise ValueError(f"c must be in [0, n], got c={c!r} with n={n!r}")
    if n < k:
        raise ValueError(f"pass@k needs n >= k samples, got n={n!r} < k={k!r}")
    if n - c < k:
        return 1.0
    return 1.0 - math.prod(1.0 - k / i for i in range(n - c + 1, n + 1))


def first_turns(records: Iterable[dict]) -> list[dict]:
    """The turn-1 records (the single-shot answers)."""
    return [r for r in records if r["turn"] == 1]


def _is_fast(record: dict, p: float) -> bool:
    speedup = record.get("speedup")
    return record["verdict"] == "pass" and speedup is not None and speedup > p


def fast_p(records: Sequence[dict], p: float) -> float:
    """The fraction of turn-1 samples that are correct and more than ``p`` times as fast as the reference.

    KernelBench's fast_p. For ``p = 0`` a sample must pass and have a measured speed-up (> 0); samples that
    fail, err, have no code, or pass without a measured speed-up are not fast.

    Parameters
    ----------
    records : sequence of dict
        Sample records; those with ``turn != 1`` are ignored.
    p : float
        Speed-up threshold (>= 0), as a ratio to the reference on the same machine.

    Returns
    -------
    float
        The fraction in [0, 1], pooled over every turn-1 sample given.

    Raises
    ------
    ValueError
        When ``p`` is negative or not finite, or no turn-1 record is given.

    Examples
    --------
    >>> recs = [{"turn": 1, "verdict": "pass", "speedup": 1.5}, {"turn": 1, "verdict": "pass", "speedup": 0.8},
    ...         {"turn": 1, "verdict": "fail", "speedup": None}, {"turn": 1, "verdict": "no_code", "speedup": None}]
    >>> fast_p(recs, 0), fast_p(recs, 1.0)
    (0.5, 0.25)
    """
    if not (math.isfinite(p) and p >= 0):
        raise ValueError(f"p must be a finite number >= 0, got p={p!r}")
    single = first_turns(records)
    if not single:
        raise ValueError(f"fast_p needs turn-1 samples; got none among {len(records)} records")
    return sum(_is_fast(r, p) for r in single) / len(single)


def correct_speedups(records: Iterable[dict]) -> list[float]:
    """The measured speed-ups of the correct turn-1 samples."""
    return [r["speedup"] for r in first_turns(records) if r["verdict"] == "pass" and r.get("speedup") is not None]


def geomean_speedup(records: Iterable[dict]) -> float | None:
    """The geometric mean of the speed-ups of the correct turn-1 samples with a measured speed-up.

    Parameters
    ----------
    records : iterable of dict
        Sample records.

    Returns
    -------
    float or None
        The geometric mean, or None when no correct sample has a measured speed-up
        (:func:`correct_speedups` gives the values and their count).

    Raises
    ------
    ValueError
        When a speed-up is not a finite positive number.

    Examples
    --------
    >>> geomean_speedup([{"turn": 1, "verdict": "pass", "speedup": 2.0},
    ...                  {"turn": 1, "verdict": "pass", "speedup": 0.5}])
    1.0
    """
    return geometric_mean(correct_speedups(records))


def geometric_mean(values: Sequence[float]) -> float | None:
    """The geometric mean of finite positive `values` (None for none), summed in logs with ``fsum``.

    Raises
    ------
    ValueError
        A value is not a finite number > 0.

    Examples
    --------
    >>> geometric_mean([2.0, 8.0]), geometric_mean([])
    (4.0, None)
    """
    values = list(values)
    if not values:
        return None
    bad = [v for v in values if not (math.isfinite(v) and v > 0)]
    if bad:
        raise ValueError(f"speed-ups must be finite and > 0, got {bad[0]!r}")
    return math.exp(math.fsum(math.log(v) for v in values) / len(values))


def bootstrap_ci(values: Sequence, stat: Callable[[list], float], n_boot: int = N_BOOT, seed: int = 0,
                 level: float = CI_LEVEL) -> tuple[float, float]:
    """A percentile bootstrap interval of ``stat`` over ``values``.

    Draws ``n_boot`` resamples of ``len(values)`` items with replacement (a seeded
    :func:`numpy.random.default_rng`, so the interval is the same on every run), applies ``stat`` to each,
    and returns the ``(1 - level) / 2`` and ``(1 + level) / 2`` quantiles.

    Parameters
    ----------
    values : sequence
        The observations: numbers, or records when ``stat`` reads records.
    stat : callable
        Maps a list of observations (a resample) to a number.
    n_boot : int, optional
        Number of resamples (>= 1).
    seed : int, optional
        Seed of the generator.
    level : float, optional
        Coverage of the interval, in (0, 1).

    Returns
    -------
    tuple of float
        ``(low, high)``.

    Raises
    ------
    ValueError
        When ``values`` is empty, ``n_boot < 1`` or ``level`` is outside (0, 1).

    Examples
    --------
    >>> bootstrap_ci([1, 1, 1], lambda xs: sum(xs) / len(xs))
    (1.0, 1.0)
    """
    items = list(values)
    if not items:
        raise ValueError("bootstrap_ci needs at least one value, got none")
    if _count("n_boot", n_boot) < 1:
        raise ValueError(f"n_boot must be >= 1, got n_boot={n_boot!r}")
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got level={level!r}")
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(items), size=(n_boot, len(items)))
    stats = np.array([float(stat([items[i] for i in row])) for row in picks])
    low, high = np.quantile(stats, [(1 - level) / 2, (1 + level) / 2])
    return float(low), float(high)


def _by_task(records: Iterable[dict]) -> dict[str, list[dict]]:
    groups: dict[str, list[dict]] = defaultdict(list)
    for r in records:
        groups[r["task"]].append(r)
    return dict(groups)


def mean_pass_rate(records: Sequence[dict]) -> float:
    """pass@1 of turn-1 samples: the fraction of passing samples per task, averaged over the tasks."""
    tasks = _by_task(first_turns(records))
    if not tasks:
        raise ValueError(f"pass@1 needs turn-1 samples; got none among {len(records)} records")
    return math.fsum(sum(r["verdict"] == "pass" for r in rs) / len(rs) for rs in tasks.values()) / len(tasks)


def mean_pass_at_k(records: Sequence[dict], k: int) -> float | None:
    """pass@k of turn-1 samples averaged over the tasks; None unless every task has ``n >= k`` samples."""
    tasks = _by_task(first_turns(records))
    if not tasks or any(len(rs) < k for rs in tasks.values()):
        return None
    return math.fsum(pass_at_k(len(rs), sum(r["verdict"] == "pass" for r in rs), k)
                     for rs in tasks.values()) / len(tasks)


def _sample_key(r: dict) -> tuple:
    return (r.get("run"), r["model"], r["task"], r["language"], r["sample"])


def pass_at_1_by_turn(records: Sequence[dict], max_turn: int) -> list[float]:
    """pass@1 after t turns, for t = 1 .. ``max_turn``.

    A sample counts as solved after t turns when any of its turns ``<= t`` passes; a sample that was not
    repaired (it passed at turn 1, or generation stopped) keeps its last state. Averaged per task, then over
    the tasks, so the value at t = 1 is pass@1.

    Parameters
    ----------
    records : sequence of dict
        Sample records of every turn.
    max_turn : int
        Last turn (>= 1).

    Returns
    -------
    list of float
        ``max_turn`` values, never decreasing.

    Raises
    ------
    ValueError
        When ``max_turn < 1`` or no sample has a turn-1 record.

    Examples
    --------
    >>> recs = [{"model": "m", "task": "t", "language": "c", "sample": 0, "turn": 1, "verdict": "fail"},
    ...         {"model": "m", "task": "t", "language": "c", "sample": 0, "turn": 2, "verdict": "pass"},
    ...         {"model": "m", "task": "t", "language": "c", "sample": 1, "turn": 1, "verdict": "fail"}]
    >>> pass_at_1_by_turn(recs, 3)
    [0.0, 0.5, 0.5]
    """
    if _count("max_turn", max_turn) < 1:
        raise ValueError(f"max_turn must be >= 1, got max_turn={max_turn!r}")
    first_pass: dict[tuple, float] = {}
    for r in records:
        key = _sample_key(r)
        first_pass.setdefault(key, math.inf)
        if r["verdict"] == "pass":
            first_pass[key] = min(first_pass[key], r["turn"])
    started = {_sample_key(r) for r in first_turns(records)}
    if not started:
        raise ValueError(f"the repair curve needs turn-1 samples; got none among {len(records)} records")
    tasks: dict[str, list[float]] = defaultdict(list)
    for key in started:
        tasks[key[2]].append(first_pass[key])
    return [math.fsum(sum(turn <= t for turn in turns) / len(turns) for turns in tasks.values()) / len(tasks)
            for t in range(1, max_turn + 1)]


def diagnosis_counts(records: Iterable[dict]) -> dict[str, int]:
    """How many of the given records carry each diagnosis code (each code counted once per record).

    Returns
    -------
    dict
        ``{code: count}``, most frequent first, ties by code.

    Examples
    --------
    >>> diagnosis_counts([{"diagnoses": ["compile_error"]}, {"diagnoses": ["added_latency", "compile_error"]}])
    {'compile_error': 2, 'added_latency': 1}
    """
    counts = Counter(code for r in records for code in set(r.get("diagnoses") or ()))
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))


def check_records(records: Sequence[dict]) -> None:
    """Raise ValueError naming the first record with a missing field, a bad verdict or a duplicate turn."""
    seen = set()
    for r in records:
        missing = [f for f in ("model", "task", "language", "sample", "turn", "verdict") if f not in r]
        if missing:
            raise ValueError(f"sample record lacks {', '.join(missing)}: {r!r}")
        if r["verdict"] not in VERDICTS:
            raise ValueError(f"verdict must be one of {VERDICTS}, got {r['verdict']!r} in {r.get('path')!r}")
        if _count("turn", r["turn"]) < 1:
            raise ValueError(f"turn must be >= 1, got {r['turn']!r} in {r.get('path')!r}")
        key = _sample_key(r) + (r["turn"],)
        if key in seen:
            raise ValueError(f"two records for run {key[0]!r}, model {key[1]!r}, task {key[2]!r}, "
                             f"language {key[3]!r}, sample {key[4]!r}, turn {key[5]!r}")
        seen.add(key)


def p_key(p: float) -> str:
    """The JSON key of a fast_p threshold: ``"0"``, ``"0.5"``, ``"1"``, ``"1.5"``, ``"2"``."""
    return f"{p:g}"


def summarize_group(records: Sequence[dict], n_boot: int = N_BOOT, seed: int = 0) -> dict:
    """Every metric of one group of sample records (one model and language, or one task of them).

    Parameters
    ----------
    records : sequence of dict
        Sample records of every turn; at least one turn-1 record.
    n_boot, seed : int, optional
        Passed to :func:`bootstrap_ci`.

    Returns
    -------
    dict
        ``n_samples`` (turn-1 samples), ``n_tasks``, ``samples_per_task`` ({task: n}), ``verdicts``
        ({verdict: count} of turn 1), ``pass_at_k`` ({"1": value or None, "5": ..., ...}: None unless every
        task has n >= k), ``pass_at_1_ci`` ([low, high]), ``fast_p`` ({"0": ..., "0.5": ..., ...}; every
        value None when a correct sample has no measured speed-up), ``fast_1_ci`` ([None, None] then),
        ``geomean_speedup`` (None without a measured correct sample), ``n_speedups``,
        ``speedups`` (the values, sorted), ``max_turn``, ``pass_at_1_by_turn`` (list, index t - 1),
        ``diagnoses`` ({code: count} of turn 1), ``no_code``, ``compile_failed``, ``load_failed`` (turn-1
        counts), ``machines`` (sorted machine descriptions of the turn-1 samples).
    """
    single = first_turns(records)
    if not single:
        raise ValueError(f"a group needs turn-1 samples; got none among {len(records)} records")
    tasks = _by_task(single)
    max_turn = max(r["turn"] for r in records)
    speedups = sorted(correct_speedups(single))
    timed = all(r.get("speedup") is not None for r in single if r["verdict"] == "pass")
    return {
        "n_samples": len(single),
        "n_tasks": len(tasks),
        "samples_per_task": {t: len(rs) for t, rs in sorted(tasks.items())},
        "verdicts": {v: sum(r["verdict"] == v for r in single) for v in VERDICTS},
        "pass_at_k": {str(k): mean_pass_at_k(single, k) for k in PASS_AT_KS},
        "pass_at_1_ci": list(bootstrap_ci(single, mean_pass_rate, n_boot=n_boot, seed=seed)),
        # fast_p needs the speed of every correct sample: without it (scored without throughput) it is unknown
        "fast_p": {p_key(p): fast_p(single, p) if timed else None for p in FAST_PS},
        "fast_1_ci": (list(bootstrap_ci(single, lambda rs: fast_p(rs, 1.0), n_boot=n_boot, seed=seed)) if timed
                      else [None, None]),
        "geomean_speedup": geomean_speedup(single),
        "n_speedups": len(speedups),
        "speedups": speedups,
        "max_turn": max_turn,
        "pass_at_1_by_turn": pass_at_1_by_turn(records, max_turn),
        "diagnoses": diagnosis_counts(single),
        "no_code": sum(r["verdict"] == "no_code" for r in single),
        "compile_failed": sum(bool(r.get("compile_failed")) for r in single),
        "load_failed": sum(bool(r.get("load_failed")) for r in single),
        "machines": sorted({r["machine"] for r in single if r.get("machine")}),
    }


def summarize(records: Sequence[dict], n_boot: int = N_BOOT, seed: int = 0) -> dict:
    """The metrics of every model and language, and of every task of them.

    Parameters
    ----------
    records : sequence of dict
        Sample records of every turn (as from ``ResultsDB.sample_records()``).
    n_boot, seed : int, optional
        Passed to :func:`bootstrap_ci`.

    Returns
    -------
    dict
        ``groups``: one dict per (model, language), sorted, with ``model``, ``language`` and the fields of
        :func:`summarize_group`; ``task_groups``: the same per (model, language, task) with ``task``;
        ``ks`` and ``ps``: the k of pass@k and p of fast_p; ``machines``: every machine seen (speed-ups
        compare only between samples measured on the same machine).

    Raises
    ------
    ValueError
        When a record lacks a field, has an unknown verdict, repeats a turn, or a sample has no turn 1.
    """
    check_records(records)
    groups: dict[tuple, list[dict]] = defaultdict(list)
    task_groups: dict[tuple, list[dict]] = defaultdict(list)
    for r in records:
        groups[(r["model"], r["language"])].append(r)
        task_groups[(r["model"], r["language"], r["task"])].append(r)
    started = {_sample_key(r) for r in first_turns(records)}
    orphans = [r for r in records if _sample_key(r) not in started]
    if orphans:
        r = orphans[0]
        raise ValueError(f"turn {r['turn']} of a sample without a turn-1 record: {r.get('path')!r}")
    return {
        "groups": [{"model": m, "language": lang, **summarize_group(rs, n_boot, seed)}
                   for (m, lang), rs in sorted(groups.items())],
        "task_groups": [{"model": m, "language": lang, "task": t, **summarize_group(rs, n_boot, seed)}
                        for (m, lang, t), rs in sorted(task_groups.items())],
        "ks": list(PASS_AT_KS),
        "ps": [p_key(p) for p in FAST_PS],
        "machines": sorted({r["machine"] for r in records if r.get("machine")}),
    }

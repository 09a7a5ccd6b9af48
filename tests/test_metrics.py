"""codegen_eval.metrics: the estimators against hand-computed values and an exact oracle, and their invariants."""

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from codegen_eval import metrics
from codegen_eval.metrics import (bootstrap_ci, diagnosis_counts, fast_p, geomean_speedup, pass_at_1_by_turn,
                                  pass_at_k, summarize)


def exact_pass_at_k(n, c, k):
    """The definition with exact integers: 1 - C(n-c, k) / C(n, k) (math.comb is 0 when k > n - c)."""
    return float(1 - Fraction(math.comb(n - c, k), math.comb(n, k)))


def rec(sample, verdict, *, turn=1, speedup=None, model="m", task="t", language="python", diagnoses=(),
        machine="box", compile_failed=False, load_failed=False, run="runs/x"):
    return {"run": run, "model": model, "task": task, "language": language, "sample": sample, "turn": turn,
            "path": f"{run}/{model}/{task}/{language}/sample_{sample:03d}.py", "sha256": None,
            "verdict": verdict, "diagnoses": sorted(diagnoses), "speedup": speedup, "speedups": {},
            "machine": machine, "compile_failed": compile_failed, "load_failed": load_failed,
            "result_id": None if verdict == "no_code" else sample * 10 + turn}


# --- pass@k ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("n, c, k, expected", [
    (5, 2, 1, 2 / 5),
    (10, 3, 5, 1 - 21 / 252),           # C(7, 5) = 21, C(10, 5) = 252
    (10, 1, 1, 0.1),
    (4, 1, 2, 1 - 3 / 6),               # C(3, 2) = 3, C(4, 2) = 6
    (20, 5, 10, 1 - 3003 / 184756),     # C(15, 10) = 3003, C(20, 10) = 184756
])
def test_pass_at_k_hand_computed(n, c, k, expected):
    assert pass_at_k(n, c, k) == pytest.approx(expected, rel=1e-12, abs=1e-15)


@pytest.mark.parametrize("n", [1, 2, 5, 10, 37, 100, 200, 1000])
def test_pass_at_k_equals_the_exact_ratio_over_a_grid(n):
    for k in sorted({1, 2, 5, 10, 20, 50, 100, n} & set(range(1, n + 1))):
        for c in sorted({0, 1, 2, n // 3, n // 2, n - k, n - k + 1, n - 1, n} & set(range(0, n + 1))):
            assert pass_at_k(n, c, k) == pytest.approx(exact_pass_at_k(n, c, k), rel=1e-9, abs=1e-12), (n, c, k)


def test_pass_at_k_edges():
    assert pass_at_k(10, 0, 1) == 0.0
    assert pass_at_k(100, 0, 50) == 0.0
    assert pass_at_k(10, 10, 1) == 1.0
    assert pass_at_k(10, 10, 10) == 1.0
    assert pass_at_k(10, 6, 5) == 1.0   # n - c = 4 < k: every draw of five holds a correct one
    assert pass_at_k(1, 1, 1) == 1.0
    assert pass_at_k(1, 0, 1) == 0.0


@pytest.mark.parametrize("n, c, k, words", [
    (4, 1, 5, "n=4 < k=5"), (3, 4, 1, "c=4 with n=3"), (3, -1, 1, "c=-1"), (3, 1, 0, "k=0"),
    (-1, 0, 1, "c=0 with n=-1"),
])
def test_pass_at_k_rejects_bad_values_and_names_them(n, c, k, words):
    with pytest.raises(ValueError, match=words):
        pass_at_k(n, c, k)


@pytest.mark.parametrize("bad", [1.5, "3", True, None])
def test_pass_at_k_rejects_non_integers(bad):
    with pytest.raises(TypeError, match="integer"):
        pass_at_k(bad, 1, 1)


@settings(max_examples=300, deadline=None)
@given(st.integers(1, 400).flatmap(lambda n: st.tuples(st.just(n), st.integers(0, n), st.integers(1, n))))
def test_pass_at_k_property_matches_exact_and_is_monotone(nck):
    n, c, k = nck
    value = pass_at_k(n, c, k)
    assert 0.0 <= value <= 1.0
    assert value == pytest.approx(exact_pass_at_k(n, c, k), rel=1e-9, abs=1e-12)
    if k < n:
        assert pass_at_k(n, c, k + 1) >= value - 1e-12   # more draws never hurt
    if c < n:
        assert pass_at_k(n, c + 1, k) >= value - 1e-12   # more correct samples never hurt


# --- fast_p, speed-up ----------------------------------------------------------------------------------

def test_fast_p_hand_made():
    recs = [rec(0, "pass", speedup=2.5), rec(1, "pass", speedup=1.2), rec(2, "pass", speedup=0.4),
            rec(3, "pass", speedup=None), rec(4, "fail"), rec(5, "no_code"), rec(6, "error"),
            rec(7, "pass", speedup=3.0, turn=2),     # a repair: not single shot, ignored
            rec(8, "pass", speedup=1.0)]
    # eight turn-1 samples; measured correct speed-ups 2.5, 1.2, 0.4, 1.0
    assert fast_p(recs, 0) == 4 / 8
    assert fast_p(recs, 0.5) == 3 / 8
    assert fast_p(recs, 1.0) == 2 / 8          # 1.0 is not faster than 1.0
    assert fast_p(recs, 1.5) == 1 / 8
    assert fast_p(recs, 2.0) == 1 / 8
    assert fast_p(recs, 3.0) == 0.0


def test_fast_p_rejects_bad_threshold_and_empty_input():
    with pytest.raises(ValueError, match="p=-1"):
        fast_p([rec(0, "pass", speedup=1.0)], -1)
    with pytest.raises(ValueError, match="turn-1"):
        fast_p([rec(0, "pass", speedup=1.0, turn=2)], 1.0)


def test_geomean_speedup_of_correct_first_turns():
    recs = [rec(0, "pass", speedup=4.0), rec(1, "pass", speedup=1.0), rec(2, "fail", speedup=None),
            rec(3, "pass", speedup=None), rec(4, "pass", speedup=100.0, turn=2)]
    assert geomean_speedup(recs) == pytest.approx(2.0)
    assert geomean_speedup([rec(0, "fail")]) is None
    with pytest.raises(ValueError, match="-1.0"):
        geomean_speedup([rec(0, "pass", speedup=-1.0)])


# --- bootstrap ------------------------------------------------------------------------------------------

def mean(xs):
    return sum(xs) / len(xs)


def test_bootstrap_ci_contains_the_estimate_and_is_seeded(rng):
    values = list(rng.random(40))
    low, high = bootstrap_ci(values, mean)
    assert low <= mean(values) <= high
    assert low < high
    assert (low, high) == bootstrap_ci(values, mean)           # same seed, same interval
    assert bootstrap_ci(values, mean, seed=1) != (low, high)
    narrow = bootstrap_ci(values, mean, level=0.5)
    assert low <= narrow[0] <= narrow[1] <= high


def test_bootstrap_ci_is_degenerate_when_every_sample_passes():
    recs = [rec(i, "pass", speedup=2.0) for i in range(7)]
    assert bootstrap_ci(recs, metrics.mean_pass_rate) == (1.0, 1.0)
    assert bootstrap_ci(recs, lambda rs: fast_p(rs, 1.0)) == (1.0, 1.0)
    assert bootstrap_ci([rec(i, "no_code") for i in range(3)], metrics.mean_pass_rate) == (0.0, 0.0)


def test_bootstrap_ci_against_numpy_percentiles():
    """The interval is the percentile interval of the seeded resample means, computed here independently."""
    values = [0.0, 1.0, 1.0, 0.0, 1.0, 1.0, 1.0, 0.0]
    rng = np.random.default_rng(3)
    means = np.asarray(values)[rng.integers(0, len(values), size=(500, len(values)))].mean(axis=1)
    assert bootstrap_ci(values, mean, n_boot=500, seed=3) == pytest.approx(tuple(np.quantile(means, [0.025, 0.975])))


@pytest.mark.parametrize("kwargs, words", [({"n_boot": 0}, "n_boot=0"), ({"level": 1.0}, "level=1.0")])
def test_bootstrap_ci_rejects_bad_arguments(kwargs, words):
    with pytest.raises(ValueError, match=words):
        bootstrap_ci([1.0], mean, **kwargs)
    with pytest.raises(ValueError, match="at least one"):
        bootstrap_ci([], mean)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.booleans(), min_size=1, max_size=30), st.integers(0, 2**32 - 1))
def test_bootstrap_ci_property_brackets_the_mean_of_pass_fail(outcomes, seed):
    low, high = bootstrap_ci([float(x) for x in outcomes], mean, n_boot=400, seed=seed)
    assert 0.0 <= low <= high <= 1.0
    if all(outcomes) or not any(outcomes):
        assert low == high == float(outcomes[0])


# --- repair curve, diagnoses ----------------------------------------------------------------------------

def test_pass_at_1_by_turn_hand_made():
    recs = [rec(0, "pass"),                                       # solved at once
            rec(1, "fail"), rec(1, "fail", turn=2), rec(1, "pass", turn=3),
            rec(2, "error"), rec(2, "pass", turn=2),
            rec(3, "no_code"), rec(3, "no_code", turn=2), rec(3, "fail", turn=3)]
    assert pass_at_1_by_turn(recs, 4) == [1 / 4, 2 / 4, 3 / 4, 3 / 4]
    assert pass_at_1_by_turn(recs, 1) == [1 / 4]
    with pytest.raises(ValueError, match="max_turn=0"):
        pass_at_1_by_turn(recs, 0)


def test_pass_at_1_by_turn_averages_over_tasks():
    recs = [rec(0, "pass", task="a"), rec(0, "fail", task="b"), rec(1, "fail", task="b"),
            rec(1, "pass", task="b", turn=2)]
    # task a: 1/1 then 1/1; task b: 0/2 then 1/2
    assert pass_at_1_by_turn(recs, 2) == [0.5, 0.75]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.lists(st.sampled_from(["pass", "fail", "error", "no_code"]), min_size=1, max_size=4),
                min_size=1, max_size=12))
def test_pass_at_1_by_turn_property_is_monotone_and_starts_at_pass_at_1(samples):
    recs = [rec(i, verdict, turn=t + 1) for i, turns in enumerate(samples) for t, verdict in enumerate(turns)]
    curve = pass_at_1_by_turn(recs, 5)
    assert all(a <= b for a, b in zip(curve, curve[1:]))
    assert curve[0] == pytest.approx(metrics.mean_pass_rate(recs))
    assert curve[-1] == pytest.approx(sum("pass" in turns for turns in samples) / len(samples))


def test_diagnosis_counts():
    recs = [rec(0, "fail", diagnoses=["state_reset_at_boundary", "added_latency"]),
            rec(1, "fail", diagnoses=["state_reset_at_boundary"]), rec(2, "error", diagnoses=["compile_error"]),
            rec(3, "pass")]
    assert diagnosis_counts(recs) == {"state_reset_at_boundary": 2, "added_latency": 1, "compile_error": 1}
    assert list(diagnosis_counts(recs))[0] == "state_reset_at_boundary"


# --- summarize ------------------------------------------------------------------------------------------

def test_summarize_groups_by_model_and_language():
    recs = []
    # model a, python: task t1 has 5 samples (2 pass), task t2 has 6 samples (6 pass)
    recs += [rec(i, "pass" if i < 2 else "fail", model="a", task="t1", speedup=2.0 if i < 2 else None)
             for i in range(5)]
    recs += [rec(i, "pass", model="a", task="t2", speedup=0.5, machine="other box") for i in range(6)]
    recs += [rec(2, "pass", model="a", task="t1", turn=2)]
    # model b, c: one task, 3 samples, one without code, one that did not compile
    recs += [rec(0, "no_code", model="b", language="c"),
             rec(1, "error", model="b", language="c", diagnoses=["compile_error"], compile_failed=True),
             rec(2, "error", model="b", language="c", diagnoses=["load_error"], load_failed=True)]
    s = summarize(recs, n_boot=200)
    assert [(g["model"], g["language"]) for g in s["groups"]] == [("a", "python"), ("b", "c")]
    a, b = s["groups"]
    assert a["n_samples"] == 11 and a["samples_per_task"] == {"t1": 5, "t2": 6}
    assert a["pass_at_k"]["1"] == pytest.approx((2 / 5 + 1) / 2)
    assert a["pass_at_k"]["5"] == pytest.approx((pass_at_k(5, 2, 5) + 1) / 2)
    assert a["pass_at_k"]["10"] is None                 # t1 has only 5 samples
    assert a["fast_p"]["1"] == pytest.approx(2 / 11)
    assert a["fast_p"]["0"] == pytest.approx(8 / 11)
    assert a["geomean_speedup"] == pytest.approx(math.exp((2 * math.log(2) + 6 * math.log(0.5)) / 8))
    assert a["n_speedups"] == 8
    assert a["pass_at_1_ci"][0] <= a["pass_at_k"]["1"] <= a["pass_at_1_ci"][1]
    assert a["fast_1_ci"][0] <= a["fast_p"]["1"] <= a["fast_1_ci"][1]
    assert a["max_turn"] == 2
    assert a["pass_at_1_by_turn"] == pytest.approx([(2 / 5 + 1) / 2, (3 / 5 + 1) / 2])
    assert a["machines"] == ["box", "other box"]
    assert b["no_code"] == 1 and b["compile_failed"] == 1 and b["load_failed"] == 1
    assert b["verdicts"] == {"pass": 0, "fail": 0, "error": 2, "no_code": 1}
    assert b["pass_at_k"]["1"] == 0.0 and b["fast_p"]["0"] == 0.0
    assert b["geomean_speedup"] is None and b["pass_at_1_ci"] == [0.0, 0.0]
    assert b["diagnoses"] == {"compile_error": 1, "load_error": 1}
    assert [(g["model"], g["task"]) for g in s["task_groups"]] == [("a", "t1"), ("a", "t2"), ("b", "t")]
    assert s["task_groups"][1]["pass_at_k"]["5"] == 1.0
    assert s["machines"] == ["box", "other box"]
    assert s["ks"] == [1, 5, 10, 20, 50, 100] and s["ps"] == ["0", "0.5", "1", "1.5", "2"]


def test_summarize_rejects_bad_records():
    with pytest.raises(ValueError, match="'maybe'"):
        summarize([rec(0, "maybe")])
    with pytest.raises(ValueError, match="two records"):
        summarize([rec(0, "pass"), rec(0, "fail")])
    with pytest.raises(ValueError, match="without a turn-1"):
        summarize([rec(0, "pass", turn=2)])
    with pytest.raises(ValueError, match="lacks turn"):
        summarize([{k: v for k, v in rec(0, "pass").items() if k != "turn"}])


def test_summarize_keeps_runs_apart():
    """Sample 0 of two runs are two samples, not two records of one."""
    s = summarize([rec(0, "pass", run="runs/a"), rec(0, "fail", run="runs/b")], n_boot=50)
    assert s["groups"][0]["n_samples"] == 2 and s["groups"][0]["pass_at_k"]["1"] == 0.5


def test_fast_p_is_unknown_when_correct_samples_were_not_timed():
    """Scored without throughput: a correct sample's speed is unknown, so fast_p is None (not 0)."""
    recs = [{"run": "r", "model": "m", "task": "t", "language": "c", "sample": i, "turn": 1, "path": f"s{i}",
             "verdict": v, "diagnoses": [], "speedup": None, "speedups": {}, "machine": None,
             "compile_failed": False, "load_failed": False, "result_id": i} for i, v in enumerate(["pass", "fail"])]
    (g,) = summarize(recs, n_boot=50)["groups"]
    assert g["pass_at_k"]["1"] == 0.5
    assert set(g["fast_p"].values()) == {None} and g["fast_1_ci"] == [None, None]
    recs[0]["speedup"] = 1.2
    (g,) = summarize(recs, n_boot=50)["groups"]
    assert g["fast_p"]["1"] == 0.5 and g["fast_p"]["1.5"] == 0.0

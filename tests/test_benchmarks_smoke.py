"""Smoke test of the benchmark suite: structure of the table and JSON, no timing checks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy import signal

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks import measure, report, signals  # noqa: E402


@pytest.fixture(scope="module")
def suite_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench")
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "run.py"), "--quick", "--seconds", "0.05",
         "--repeats", "1", "--max-calls", "50", "--command-seconds", "0.05",
         "--batch-seconds", "0.05", "--out", str(out)],
        capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout, json.loads((out / "results.json").read_text()), out


def test_json_has_every_peer_and_chunk_size(suite_run):
    _, data, _ = suite_run
    assert set(data) >= {"machine", "config", "throughput", "per_call", "startup", "targets",
                         "parallel"}
    keys = {m["key"] for m in data["throughput"]}
    assert keys == {"eq", "scipy", "scipy_filter", "pedalboard", "ffmpeg",
                    "ffmpeg_f64", "sox"}
    chunks = data["config"]["chunk_frames"]
    assert chunks == [1, 2, 64, 1024, 16384, None]
    for key in ("eq", "scipy", "scipy_filter", "pedalboard"):
        assert [m["chunk_frames"] for m in data["throughput"] if m["key"] == key] == chunks


def test_measurements_are_consistent(suite_run):
    _, data, _ = suite_run
    for m in data["throughput"]:
        assert m["status"] in ("ok", "error", "skipped")
        if m["status"] == "ok":
            assert len(m["times_s"]) == 1
            assert m["msamples_per_s"] is not None and m["msamples_per_s"] > 0
            assert isinstance(m["max_err_lsb"], int)
        else:
            # A peer that cannot run is listed with the reason, never dropped.
            assert m["message"].startswith(m["status"] + ":")
    ref = [m for m in data["throughput"] if m["key"] == "scipy" and m["chunk_frames"] is None]
    assert ref[0]["status"] == "ok"
    assert ref[0]["ratio_vs_scipy_whole"] == pytest.approx(1.0)
    # scipy with zi is the oracle itself, chunked or not.
    for m in data["throughput"]:
        if m["key"] == "scipy":
            assert m["max_err_lsb"] == 0
            assert m["equals_whole"] in (True, None)


def test_machine_description(suite_run):
    _, data, _ = suite_run
    mc = data["machine"]
    for name in ("cpu_model", "logical_cpus", "python", "versions", "load_average_start"):
        assert name in mc
    for package in ("numpy", "scipy", "numba", "pedalboard"):
        assert package in mc["versions"]


def test_printed_table_and_plot(suite_run):
    stdout, data, out = suite_run
    table, _ = report.throughput_table(data)
    assert table in stdout
    lines = table.splitlines()
    assert lines[0].startswith("| implementation")
    assert len(lines) == 2 + len({m["key"] for m in data["throughput"]})
    assert len({line.count("|") for line in lines}) == 1
    for section in ("Per-call overhead", "Start-up", "Targets:", "Machine:"):
        assert section in stdout
    if data["config"]["plot"].startswith("skipped"):
        pytest.skip(data["config"]["plot"])
    assert (out / "throughput.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_quick_mode_prints_figures_but_no_verdict(suite_run):
    stdout, data, _ = suite_run
    assert data["config"]["quick"] is True
    assert data["targets"], "the figures are still listed"
    assert all(t["met"] is None for t in data["targets"])
    targets = stdout[stdout.index("Targets:"):]
    assert "not judged in quick mode" in targets
    for verdict in ("MISSED", "| met", "| n/a"):
        assert verdict not in targets
    for t in data["targets"]:
        assert t["measured"] in targets


def test_a_full_run_is_judged(suite_run):
    # The same figures without the quick flag get verdicts from the targets.
    _, data, _ = suite_run
    full = dict(data, config=dict(data["config"], quick=False))
    targets = report.check_targets(full)
    assert [t["target"] for t in targets] == [t["target"] for t in data["targets"]]
    assert any(t["met"] is not None for t in targets)
    printed = report.format_report(dict(full, targets=targets))
    assert "not judged" not in printed and "| verdict |" in printed


def test_startup_and_per_call_rows(suite_run):
    _, data, _ = suite_run
    assert {r["key"] for r in data["startup"]} == {"python_bare", "python_import_eq", "eq_stream"}
    eq_rows = [r for r in data["per_call"] if r["key"] == "eq"]
    assert [r["chunk_bytes"] for r in eq_rows] == [1, 2, 4]
    for r in data["per_call"]:
        assert r["status"] in ("ok", "error", "skipped", "n/a")


def test_cookbook_sos_matches_band_gains():
    sos = signals.cookbook_sos(signals.BENCHMARK_BANDS, signals.SAMPLE_RATE)
    for band, section in zip(signals.BENCHMARK_BANDS, sos):
        _, h = signal.sosfreqz(section[None, :], worN=[band["freq"], 5.0, 23900.0],
                               fs=signals.SAMPLE_RATE)
        gain_db = 20 * np.log10(np.abs(h))
        if band["type"] == "peaking":
            np.testing.assert_allclose(gain_db, [band["gain_db"], 0, 0], atol=0.01)
        elif band["type"] == "lowshelf":
            np.testing.assert_allclose(gain_db[[0, 1]], [band["gain_db"] / 2, band["gain_db"]],
                                       atol=0.01)
        else:
            np.testing.assert_allclose(gain_db[[0, 2]], [band["gain_db"] / 2, band["gain_db"]],
                                       atol=0.05)


def test_oracle_rounds_and_saturates():
    loud = np.full((8, 2), 32767, dtype=np.int16)
    sos = signals.cookbook_sos([{"type": "peaking", "freq": 100.0, "q": 1.0, "gain_db": 12.0}],
                               signals.SAMPLE_RATE)
    y = signals.oracle_s16(loud, sos)
    assert y.dtype == np.int16 and y.shape == loud.shape
    assert signals.compare_s16(y.tobytes(), y)["max_err_lsb"] == 0
    assert signals.compare_s16(y.tobytes()[:4], y)["n_samples"] == 2


def test_parallel_rows_cover_one_thread_and_every_cpu(suite_run):
    _, data, _ = suite_run
    rows = data["parallel"]
    assert {r["key"] for r in rows} == {"files", "streams"}
    for r in rows:
        assert r["status"] == "ok", r["message"]
        # Threads must not change a byte: every run is compared with the serial one.
        assert r["same_output"] is True
        assert len(r["times_s"]) == 1 and r["msamples_per_s"] > 0
    assert {(r["key"], r["cpus"], r["workers"]) for r in rows} >= {("files", 1, 1),
                                                                  ("streams", 1, 1)}


def test_cpus_in_use_pins_new_threads_and_restores_the_caller():
    import threading

    if not hasattr(os, "sched_setaffinity"):
        with measure._cpus_in_use(1):  # a no-op where pinning does not exist
            pass
        return
    before = os.sched_getaffinity(0)
    seen = []
    with pytest.raises(RuntimeError):
        with measure._cpus_in_use(1):
            thread = threading.Thread(target=lambda: seen.append(os.sched_getaffinity(0)))
            thread.start()
            thread.join()
            seen.append(os.sched_getaffinity(0))
            raise RuntimeError("restored on errors too")
    assert seen == [{min(before)}, {min(before)}]
    assert os.sched_getaffinity(0) == before

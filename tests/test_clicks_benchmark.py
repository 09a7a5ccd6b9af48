"""The click benchmark: a quick run end to end, and its oracles against hand checks. No timing checks."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy import signal

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks import clicks  # noqa: E402


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("clicks")
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "clicks.py"), "--quick",
                           "--out", str(out)], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout, json.loads((out / "clicks.json").read_text()), out


def test_json_has_every_change_and_measure(quick_run):
    _, data, _ = quick_run
    assert set(data) >= {"machine", "config", "changes", "stress", "checks", "summary", "runtime_s",
                         "target_met_by", "target_missed_by"}
    assert data["config"]["quick"] is True
    assert [c["name"] for c in data["changes"]] == [name for name, _, _ in clicks.CHANGES]
    ramps = [f"{ms:g}" for ms in clicks.RAMPS_MS]
    for change in data["changes"]:
        for key in ["swap", "floor", "rest_20"] + [f"{m}_{r}" for m in ("eq", "ideal", "swap")
                                                   for r in ramps]:
            assert key in change["click_db"]
            assert len(change["click_db_per_frame"][key]) == clicks.N_PHASES
        assert set(change["residual_db"]) == {"swap", "rest_20"} | {f"eq_{r}" for r in ramps}
        assert set(change["improvement_db"]) == set(ramps)
        assert isinstance(change["meets_target"], bool)
        # eq follows the scipy model of its own method to rounding.
        assert change["eq_vs_model_max_abs"] < 1e-9
    # Every change is either meeting the target or listed as missing it: none is dropped.
    assert sorted(data["target_met_by"] + data["target_missed_by"]) == sorted(
        c["name"] for c in data["changes"])
    for package in ("numpy", "scipy", "numba"):
        assert package in data["machine"]["versions"]


def test_stress_reported_no_failures(quick_run):
    _, data, _ = quick_run
    stress = data["stress"]
    assert stress["pairs"] == 500
    assert stress["failures"] == 0
    assert stress["counts"]["nonfinite"] == 0 and stress["counts"]["over_bound"] == 0
    assert 0.0 < stress["worst"]["bound_ratio"] <= 1.0 + clicks.BOUND_SLACK
    assert data["summary"]["stress_failures"] == 0


def test_outputs_table_plot_and_chunking(quick_run):
    stdout, data, out = quick_run
    assert clicks.format_tables(data) in stdout
    png = (out / "clicks.png").read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 10_000
    assert data["config"]["plot"] == str(out / "clicks.png")
    assert data["checks"]["chunking"]["stream_equals_block"] is True


def _tdf2_switch(sections_before, sections_after, x, at_frame):
    """The literal definition, one sample at a time: TDF-II sections whose coefficients are
    replaced at `at_frame`, each section keeping its two state variables."""
    n = len(sections_before)
    z = np.zeros((n, 2))
    y = np.empty_like(x)
    for i, sample in enumerate(x):
        sos = sections_before if i < at_frame else sections_after
        u = sample
        for k in range(n):
            b0, b1, b2, _, a1, a2 = sos[k]
            out = b0 * u + z[k, 0]
            z[k, 0] = b1 * u - a1 * out + z[k, 1]
            z[k, 1] = b2 * u - a2 * out
            u = out
        y[i] = u
    return y


def test_swap_between_identical_filters_is_a_static_run(rng):
    sos = clicks.cookbook_sos([{"type": "peaking", "freq_hz": 900, "q": 3, "gain_db": 9},
                               {"type": "lowpass", "freq_hz": 5000, "q": 0.7}], 48000)
    x = rng.standard_normal(3000)
    for at in (0, 1, 1234, 3000):
        np.testing.assert_allclose(clicks.swap_oracle(sos, sos, x, at), signal.sosfilt(sos, x),
                                   rtol=0, atol=1e-13)


def test_swap_by_hand(rng):
    x = rng.standard_normal(400)
    # Gain 1 to gain 2 at frame 100: nothing to carry but the gain.
    unity, double = [[1, 0, 0, 1, 0, 0]], [[2, 0, 0, 1, 0, 0]]
    y = clicks.swap_oracle(unity, double, x, 100)
    np.testing.assert_array_equal(y, np.concatenate([x[:100], 2 * x[100:]]))
    # Two real sections, against a sample-by-sample loop.
    old = clicks.cookbook_sos([{"type": "lowshelf", "freq_hz": 100, "q": 0.7, "gain_db": 6},
                               {"type": "notch", "freq_hz": 3000, "q": 4}], 48000)
    new = clicks.cookbook_sos([{"type": "highpass", "freq_hz": 2000, "q": 0.7},
                               {"type": "peaking", "freq_hz": 40, "q": 20, "gain_db": 24}], 48000)
    np.testing.assert_allclose(clicks.swap_oracle(old, new, x, 150), _tdf2_switch(old, new, x, 150),
                               rtol=0, atol=1e-12)
    # A band removed: the shorter cascade gets an identity section, through which the removed
    # section's state leaks out.
    identity = np.array([clicks.IDENTITY_SECTION])
    np.testing.assert_allclose(clicks.swap_oracle(old, new[:1], x, 150),
                               _tdf2_switch(old, np.vstack([new[:1], identity]), x, 150),
                               rtol=0, atol=1e-12)


def test_ideal_crossfade_and_ramp():
    g = clicks.raised_cosine(12, 10)
    assert g[0] == pytest.approx((1 - np.cos(np.pi / 11)) / 2)
    assert 0 < g[0] < g[9] < 1 and g[10] == g[11] == 1.0
    np.testing.assert_array_equal(clicks.raised_cosine(3, 0), [1.0, 1.0, 1.0])
    x = np.ones(50)
    sos_a, sos_b = [[1, 0, 0, 1, 0, 0]], [[3, 0, 0, 1, 0, 0]]
    y = clicks.ideal_crossfade(sos_a, sos_b, x, 20, 10)
    np.testing.assert_allclose(y[:20], 1.0)
    np.testing.assert_allclose(y[20:30], 1 + 2 * clicks.raised_cosine(10, 10))
    np.testing.assert_allclose(y[30:], 3.0)


def test_click_measure_sees_a_step_and_not_a_sine():
    sine, _, frames = clicks.probe_signals(0)
    span = clicks.window(frames[0], 0)
    quiet = clicks.to_db(np.divide(*clicks.click_energy(sine, sine, span)))
    stepped = sine.copy()
    stepped[frames[0]:] += 0.01
    loud = clicks.to_db(np.divide(*clicks.click_energy(stepped, sine, span)))
    assert quiet < -200 and loud > -80


def test_bound_states_match_scipy(rng):
    sos = clicks.cookbook_sos([{"type": "peaking", "freq_hz": 300, "q": 5, "gain_db": -12},
                               {"type": "highshelf", "freq_hz": 8000, "q": 0.7, "gain_db": 6}], 48000)
    x = rng.standard_normal(500)
    _, zf = signal.sosfilt(sos, x, zi=np.zeros((2, 2)))
    responses = clicks.state_responses(sos, len(x))
    np.testing.assert_allclose(responses @ x[::-1], zf, rtol=1e-10, atol=1e-12)
    # The bound is at least every output of the change on this input (it holds for any input).
    new = sos[::-1].copy()
    for at in (0, 200, 500):
        y = clicks.crossfade_model(sos, new, x, at, 100)
        assert np.max(np.abs(y)) <= clicks.output_bound(sos, new, at, len(x), np.max(np.abs(x)))

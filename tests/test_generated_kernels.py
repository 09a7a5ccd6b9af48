"""The unrolled cascade kernels in eq/_cascades.py match their generator and each other."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from eq import _cascades
from eq.design import design_sos

ROOT = Path(__file__).resolve().parent.parent
BANDS = [
    {"type": "lowshelf", "freq": 100.0, "q": 0.707, "gain_db": 4.0},
    {"type": "peaking", "freq": 400.0, "q": 1.0, "gain_db": -3.0},
    {"type": "peaking", "freq": 2000.0, "q": 2.0, "gain_db": 5.0},
    {"type": "highshelf", "freq": 10000.0, "q": 0.707, "gain_db": 3.0},
]


def test_cascades_module_is_up_to_date():
    result = subprocess.run([sys.executable, str(ROOT / "tools" / "gen_cascades.py"), "--check"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("k", range(1, _cascades.MAX_FUSED_SECTIONS + 1))
def test_one_two_and_four_lane_kernels_agree_for_every_length(rng, k):
    # The 1- and 2-lane kernels of several sections run them pipelined
    # across lanes, with a prologue and an epilogue of a few frames: every
    # length, from shorter than the pipeline on, must still give each
    # channel (of a wider interleaved tile, from a later section on) the
    # samples and state of the plain 4-lane kernel, bit for bit.
    sos = design_sos(BANDS, 48000)[[i % len(BANDS) for i in range(k + 1)]].ravel()
    stride, c, s = 5, 1, 1
    for m in [*range(12), 1000]:
        tile = rng.standard_normal(stride * m + 1)
        zi = rng.standard_normal(2 * (k + 1) * stride)
        four, four_zi = tile.copy(), zi.copy()
        _cascades.run_cascade4(k, four, m, stride, c, sos, four_zi, s, 0)
        if m:
            assert four.tobytes() != tile.tobytes()
        pairs, pairs_zi = tile.copy(), zi.copy()
        for ch in (c, c + 2):
            _cascades.run_cascade(k, 2, pairs, m, stride, ch, sos, pairs_zi, s, 0)
        assert pairs.tobytes() == four.tobytes(), m
        assert pairs_zi.tobytes() == four_zi.tobytes(), m
        ones, ones_zi = tile.copy(), zi.copy()
        for ch in range(c, c + 4):
            _cascades.run_cascade(k, 1, ones, m, stride, ch, sos, ones_zi, s, 0)
        assert ones.tobytes() == four.tobytes(), m
        assert ones_zi.tobytes() == four_zi.tobytes(), m


@pytest.mark.parametrize("k", range(1, _cascades.MAX_FUSED_SECTIONS + 1))
def test_lanes_with_their_own_coefficients_match_one_channel_at_a_time(rng, k):
    # A lane stride ls: channel c + l takes the cascade l * ls further on in sos. The 4- and
    # 2-lane kernels of their own coefficients (pipelined or not) must give each channel what
    # the 1-lane kernel gives it with that channel's own cascade, bit for bit, at every length;
    # and with every lane on the same cascade, what the shared kernels give.
    n = k + 1
    base = design_sos(BANDS, 48000)
    cascades = [base[[(i + lane) % len(BANDS) for i in range(n)]].ravel() * (1.0 - 0.01 * lane)
                for lane in range(4)]
    for cascade in cascades:  # a scaled section stays a valid set of numbers to run
        cascade.reshape(n, 6)[:, 3] = 1.0
    ls = 6 * n
    sos = np.concatenate(cascades)
    stride, c, s = 5, 1, 1
    for m in [*range(12), 1000]:
        tile = rng.standard_normal(stride * m + 1)
        zi = rng.standard_normal(2 * (k + 1) * stride)
        ones, ones_zi = tile.copy(), zi.copy()
        for lane in range(4):
            _cascades.run_cascade(k, 1, ones, m, stride, c + lane, sos[lane * ls:], ones_zi, s, 0)
        four, four_zi = tile.copy(), zi.copy()
        _cascades.run_cascade4_own(k, four, m, stride, c, sos, four_zi, s, ls)
        assert four.tobytes() == ones.tobytes(), m
        assert four_zi.tobytes() == ones_zi.tobytes(), m
        pairs, pairs_zi = tile.copy(), zi.copy()
        for lane in (0, 2):
            _cascades.run_cascade_own(k, 2, pairs, m, stride, c + lane, sos[lane * ls:], pairs_zi,
                                      s, ls)
        assert pairs.tobytes() == ones.tobytes(), m
        assert pairs_zi.tobytes() == ones_zi.tobytes(), m
        if m:
            shared = tile.copy()
            _cascades.run_cascade4(k, shared, m, stride, c, sos, zi.copy(), s, 0)
            assert shared.tobytes() != four.tobytes()  # the lanes really differ
            same = tile.copy()
            _cascades.run_cascade4_own(k, same, m, stride, c, np.tile(sos[:ls], 4), zi.copy(), s,
                                       ls)
            assert same.tobytes() == shared.tobytes()

"""The unrolled cascade kernels in eq/_cascades.py match their generator and each other."""

import subprocess
import sys
from pathlib import Path

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
def test_two_lane_kernels_give_each_channel_its_one_lane_samples(rng, k):
    # The 2-lane kernels of several sections run them pipelined across
    # lanes, with a prologue and an epilogue of a few frames: every length,
    # from shorter than the pipeline on, must still give both channels (of
    # a wider interleaved tile, from a later section on) the samples and
    # state of the 1-lane kernel, bit for bit.
    sos = design_sos(BANDS, 48000)[[i % len(BANDS) for i in range(k + 1)]].ravel()
    stride, c, s = 3, 1, 1
    for m in [*range(12), 1000]:
        tile = rng.standard_normal(stride * m + 1)
        zi = rng.standard_normal(2 * (k + 1) * stride)
        pair, pair_zi = tile.copy(), zi.copy()
        _cascades.run_cascade(k, 2, pair, m, stride, c, sos, pair_zi, s)
        one, one_zi = tile.copy(), zi.copy()
        for ch in (c, c + 1):
            _cascades.run_cascade(k, 1, one, m, stride, ch, sos, one_zi, s)
        assert pair.tobytes() == one.tobytes(), m
        assert pair_zi.tobytes() == one_zi.tobytes(), m
        if m:
            assert pair.tobytes() != tile.tobytes()

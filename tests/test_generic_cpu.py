"""The kernels compiled for a CPU without hardware FMA (``NUMBA_CPU_NAME=generic``).

There the explicit multiply-adds of :mod:`eq._simd` become a multiply then an
add (``llvm.fmuladd``) instead of a slow software ``fma``. The output must
still match the float64 oracle, be identical however the stream is split, and
give a channel the same samples alone or in a SIMD pair. Run in a subprocess
with its own numba cache in the test's temporary folder (nothing is written
into the project; the kernels compile each time, which takes about a minute).
"""

import json
import os
import subprocess
import sys

import numpy as np

from eq_oracle import oracle_filter, oracle_sos

BANDS = [
    {"type": "lowshelf", "freq": 120.0, "q": 0.707, "gain_db": 6.0},
    {"type": "peaking", "freq": 1500.0, "q": 1.5, "gain_db": -4.0},
    {"type": "highshelf", "freq": 8000.0, "q": 0.707, "gain_db": 3.0},
]

CHILD = r"""
import json, sys
import numpy as np
import eq, eq._simd
bands = json.loads(sys.argv[1])
rng = np.random.default_rng(7)
x = rng.uniform(-0.5, 0.5, 3000)
stereo = np.repeat(x[:, None], 2, axis=1).astype("<f8").tobytes()
whole = eq.StreamingEqualizer(48000, 2, "f64le", bands).process(stereo)
e = eq.StreamingEqualizer(48000, 2, "f64le", bands)
split = b"".join(e.process(stereo[i:i + 1001]) for i in range(0, len(stereo), 1001))
mono = eq.StreamingEqualizer(48000, 1, "f64le", bands).process(x.astype("<f8").tobytes())
print(json.dumps({"fused": eq._simd.FUSED, "whole": whole.hex(), "split": split.hex(),
                  "mono": mono.hex(), "x": x.tolist()}))
"""


def test_kernels_without_hardware_fma_match_the_oracle_and_any_chunking(tmp_path):
    env = dict(os.environ, NUMBA_CPU_NAME="generic", NUMBA_CPU_FEATURES="",
               NUMBA_CACHE_DIR=str(tmp_path / "numba-cache"))
    result = subprocess.run([sys.executable, "-c", CHILD, json.dumps(BANDS)], env=env,
                            capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr
    got = json.loads(result.stdout)
    assert got["fused"] is False
    assert got["whole"] == got["split"]
    x = np.array(got["x"])
    y = np.frombuffer(bytes.fromhex(got["whole"]), "<f8").reshape(-1, 2)
    ref = oracle_filter(oracle_sos(BANDS, 48000), x[:, None])[:, 0]
    np.testing.assert_allclose(y[:, 0], ref, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(y[:, 0], y[:, 1])
    assert bytes.fromhex(got["mono"]) == y[:, 0].astype("<f8").tobytes()

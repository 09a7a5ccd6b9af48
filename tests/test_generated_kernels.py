"""The unrolled cascade kernels in eq/_cascades.py match their generator."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_cascades_module_is_up_to_date():
    result = subprocess.run([sys.executable, str(ROOT / "tools" / "gen_cascades.py"), "--check"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr

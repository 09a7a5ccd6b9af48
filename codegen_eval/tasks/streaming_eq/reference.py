"""Reference outputs (from the ``eq`` engine) and per-case tolerances derived from rounding noise.

The reference output of a case is what ``eq.StreamingEqualizer`` produces for the whole input.
It is computed here, in the harness process, and never given to a candidate.

Tolerances: two valid double-precision implementations differ by rounding noise. For each case
the input is filtered with several independent float64 structures (direct form I and transposed
direct form II, with and without fused multiply-add, and with coefficients one ulp apart); the
largest difference from the reference, times a safety factor, widens the task's base tolerance.
A single-precision implementation differs by orders of magnitude more and still fails.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.signal

from . import pcm
from ...cases import Case


@dataclass(frozen=True)
class Tolerance:
    """Pass limits for one case.

    Attributes
    ----------
    kind : str
        ``"int"`` (limits in LSB of the stored value) or ``"float"`` (absolute).
    max_abs : float
        Largest allowed absolute difference (LSB or absolute).
    max_mismatch_fraction : float
        Integer formats: largest allowed fraction of samples that differ at all.
    noise : float
        Largest difference seen between valid float64 structures, before quantisation
        (LSB or absolute).
    noise_mismatch_fraction : float
        Largest mismatch fraction seen between valid structures after quantisation.
    """

    kind: str
    max_abs: float
    max_mismatch_fraction: float
    noise: float
    noise_mismatch_fraction: float

    def as_dict(self) -> dict:
        return {"kind": self.kind, "max_abs": self.max_abs, "max_mismatch_fraction": self.max_mismatch_fraction,
                "noise": self.noise, "noise_mismatch_fraction": self.noise_mismatch_fraction}


@dataclass
class Reference:
    """Reference result of one case.

    Attributes
    ----------
    output_bytes : bytes
    values : ndarray, shape (frames, channels)
        Stored values (int64, u8 without offset; or float64 of the float32 values).
    y : ndarray, shape (frames, channels)
        Unquantised float64 output of the oracle (``scipy.signal.sosfilt``).
    tolerance : Tolerance
    sos : ndarray
    oracle_max_diff : float
        Largest difference between ``eq`` and the scipy oracle after quantisation (LSB or absolute).
    float32_rms : float
        Rms difference (float units) between single-precision filtering (float32 coefficients,
        state and arithmetic) and `y`: the size of error a single-precision candidate makes.
    """

    output_bytes: bytes
    values: np.ndarray
    y: np.ndarray
    tolerance: Tolerance
    sos: np.ndarray
    oracle_max_diff: float
    float32_rms: float = 0.0


def eq_package_dir() -> Path | None:
    """The folder of the ``eq`` package (the reference), or None when it cannot be imported."""
    try:
        import eq
    except ImportError:
        return None
    return Path(eq.__file__).resolve().parent


def eq_bands(bands: list[dict]) -> list[dict]:
    """Band dicts in the form ``eq`` accepts."""
    return [{"type": b["type"], "freq": b["freq"], "q": b["q"], "gain_db": b["gain_db"]} for b in bands]


def reference_output(case: Case) -> bytes:
    """Run ``eq.StreamingEqualizer`` over the whole input of `case` and return its bytes."""
    import eq

    c = case.config
    engine = eq.StreamingEqualizer(c["sample_rate"], c["channels"], c["format"], eq_bands(c["bands"]))
    return engine.process(case.input_bytes) + engine.flush()


def design(case: Case) -> np.ndarray:
    """Second-order sections of `case` from ``eq.design_sos``."""
    import eq

    return np.asarray(eq.design_sos(eq_bands(case.config["bands"]), case.config["sample_rate"]), dtype=np.float64)


def derive_tolerance(case: Case, sos: np.ndarray, y_ref: np.ndarray, ref_values: np.ndarray,
                     tolerances: dict, seed: int = 0) -> Tolerance:
    """Derive the tolerance of `case` from the noise between valid float64 structures."""
    from . import _kernels

    safety = float(tolerances.get("noise_safety_factor", 4.0))
    spec = case.spec
    noise = 0.0
    mismatch = 0.0
    for y_v in _kernels.variants(sos, case.x, seed=seed).values():
        if spec["kind"] == "float":
            noise = max(noise, float(np.max(np.abs(y_v - y_ref), initial=0.0)))
            continue
        noise = max(noise, float(np.max(np.abs(y_v - y_ref), initial=0.0)) * spec["scale"])
        q_v = pcm.quantize(y_v, spec)
        if q_v.size:
            mismatch = max(mismatch, float(np.mean(q_v != ref_values)))
    if spec["kind"] == "float":
        base = float(tolerances["float_max_abs"])
        return Tolerance("float", max(base, safety * noise), 0.0, noise, 0.0)
    base_lsb = float(tolerances["integer_max_lsb"])
    base_frac = float(tolerances["integer_max_mismatch_fraction"])
    max_abs = max(base_lsb, float(math.ceil(safety * noise)))
    frac = min(1.0, max(base_frac, safety * mismatch))
    return Tolerance("int", max_abs, frac, noise, mismatch)


def compute_reference(case: Case, tolerances: dict, seed: int = 0) -> Reference:
    """Compute the reference output and tolerance of `case`."""
    sos = design(case)
    out = reference_output(case)
    values = pcm.stored_values(out, case.spec, case.config["channels"])
    y = scipy.signal.sosfilt(sos, case.x, axis=0) if sos.shape[0] else case.x.copy()
    oracle = pcm.quantize(y, case.spec)
    if values.shape != oracle.shape:
        oracle_diff = math.inf
    else:
        oracle_diff = float(np.max(np.abs(values.astype(np.float64) - oracle.astype(np.float64)), initial=0.0))
    tol = derive_tolerance(case, sos, y, values, tolerances, seed=seed)
    if sos.shape[0]:
        y32 = scipy.signal.sosfilt(sos.astype(np.float32), case.x.astype(np.float32), axis=0)
        f32 = float(np.sqrt(np.mean((y32.astype(np.float64) - y) ** 2)))
    else:
        f32 = 0.0
    return Reference(output_bytes=out, values=values, y=y, tolerance=tol, sos=sos, oracle_max_diff=oracle_diff,
                     float32_rms=f32)

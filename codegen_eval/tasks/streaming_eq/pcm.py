"""Encode and decode the task's interleaved PCM formats (layout ``(frames, channels)``).

The format descriptions come from the task's ``interface.formats`` table: ``bytes``, ``kind``
(``uint``, ``int`` or ``float``), ``scale``, ``offset``, ``min``, ``max``.
"""
from __future__ import annotations

import numpy as np


def decode_ints(data: bytes, spec: dict) -> np.ndarray:
    """Return the raw sample values of `data` as a flat int64 array (u8 offset removed)."""
    width = spec["bytes"]
    raw = np.frombuffer(data, dtype=np.uint8)
    usable = raw.size // width * width
    raw = raw[:usable].reshape(-1, width).astype(np.int64)
    value = np.zeros(raw.shape[0], dtype=np.int64)
    for i in range(width):
        value |= raw[:, i] << (8 * i)
    if spec["kind"] == "uint":
        return value - int(spec["offset"])
    sign_bit = 1 << (8 * width - 1)
    return np.where(value >= sign_bit, value - (1 << (8 * width)), value)


def encode_ints(values: np.ndarray, spec: dict) -> bytes:
    """Encode integer sample values (u8 without its offset) to little-endian bytes."""
    width = spec["bytes"]
    v = np.asarray(values, dtype=np.int64).ravel() + int(spec.get("offset", 0))
    v = v & ((1 << (8 * width)) - 1)
    out = np.empty((v.size, width), dtype=np.uint8)
    for i in range(width):
        out[:, i] = (v >> (8 * i)) & 0xFF
    return out.tobytes()


def to_float(data: bytes, spec: dict, channels: int) -> np.ndarray:
    """Decode `data` to float64 of shape ``(frames, channels)`` (incomplete trailing frame dropped)."""
    frame_bytes = spec["bytes"] * channels
    data = bytes(data[: len(data) // frame_bytes * frame_bytes])
    if spec["kind"] == "float":
        x = np.frombuffer(data, dtype="<f4").astype(np.float64)
    else:
        x = decode_ints(data, spec).astype(np.float64) / spec["scale"]
    return x.reshape(-1, channels)


def stored_range(spec: dict) -> tuple[int, int]:
    """The lowest and highest stored value of an integer format (u8 without its offset)."""
    return spec["min"] - spec.get("offset", 0), spec["max"] - spec.get("offset", 0)


def quantize(y: np.ndarray, spec: dict) -> np.ndarray:
    """Map float output ``(frames, channels)`` to the stored values: rounded, saturated integers
    for integer formats (u8 without offset), float32 for ``f32le``."""
    if spec["kind"] == "float":
        return np.asarray(y, dtype=np.float32)
    lo, hi = stored_range(spec)
    return np.clip(np.rint(np.asarray(y) * spec["scale"]), lo, hi).astype(np.int64)


def encode(values: np.ndarray, spec: dict) -> bytes:
    """Encode stored values (from :func:`quantize`) to bytes."""
    if spec["kind"] == "float":
        return np.asarray(values, dtype="<f4").tobytes()
    return encode_ints(values, spec)


def stored_values(data: bytes, spec: dict, channels: int) -> np.ndarray:
    """Decode `data` to stored values ``(frames, channels)``: int64 for integer formats
    (u8 without offset), float64 of the float32 values for ``f32le``."""
    frame_bytes = spec["bytes"] * channels
    data = bytes(data[: len(data) // frame_bytes * frame_bytes])
    if spec["kind"] == "float":
        with np.errstate(invalid="ignore"):  # candidates may write NaN payloads
            return np.frombuffer(data, dtype="<f4").astype(np.float64).reshape(-1, channels)
    return decode_ints(data, spec).reshape(-1, channels)

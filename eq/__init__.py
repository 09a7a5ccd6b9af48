"""A streaming parametric equalizer for raw PCM bytes, audio files and pipes.

Audio EQ Cookbook biquads in cascade, run by compiled sample-by-sample
kernels in float64. Arrays are laid out ``(frames, channels)`` throughout.

Examples
--------
>>> import eq
>>> stream = eq.StreamingEqualizer(48000, 2, "s16le", [eq.parse_band("peaking:1k:q=1.4:gain=-3")])
>>> stream.process(b"\\x00\\x01\\x02")   # not a whole frame yet
b''
"""

from .design import (
    BAND_TYPES,
    Band,
    channel_groups,
    design_sos,
    frequency_response_db,
    parse_band,
)
from .errors import (
    AudioFileError,
    EqError,
    IncompleteFrameError,
    InvalidParameterError,
    InvalidTypeError,
    PresetError,
    TruncatedInputError,
)
from .formats import SAMPLE_FORMATS, SampleFormat
from .files import FileOutcome, FileReport, equalize_file, equalize_files
from .presets import Preset, list_presets, load_preset
from .streaming import BlockEqualizer, StreamingEqualizer

def _installed_version():
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("eq-stream")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "0+unknown"


__version__ = _installed_version()
"""The installed version (``pyproject.toml`` is its one source)."""

__all__ = [
    "AudioFileError",
    "FileOutcome",
    "FileReport",
    "Preset",
    "equalize_file",
    "equalize_files",
    "list_presets",
    "load_preset",
    "BAND_TYPES",
    "Band",
    "BlockEqualizer",
    "EqError",
    "IncompleteFrameError",
    "InvalidParameterError",
    "InvalidTypeError",
    "PresetError",
    "TruncatedInputError",
    "SAMPLE_FORMATS",
    "SampleFormat",
    "StreamingEqualizer",
    "channel_groups",
    "design_sos",
    "frequency_response_db",
    "parse_band",
]

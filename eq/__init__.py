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
)
from .formats import HARNESS_FORMAT_CODES, SAMPLE_FORMATS, SampleFormat
from .files import FileReport, equalize_file, equalize_files
from .presets import Preset, list_presets, load_preset
from .streaming import BlockEqualizer, StreamingEqualizer

__version__ = "0.1.0"

__all__ = [
    "AudioFileError",
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
    "HARNESS_FORMAT_CODES",
    "IncompleteFrameError",
    "InvalidParameterError",
    "InvalidTypeError",
    "PresetError",
    "SAMPLE_FORMATS",
    "SampleFormat",
    "StreamingEqualizer",
    "design_sos",
    "frequency_response_db",
    "parse_band",
]

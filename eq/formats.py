"""Raw PCM sample formats: names, sizes and the integer <-> float scaling.

Integer samples map to floats by dividing by ``2**(bits - 1)`` (``u8`` is
offset binary: ``(x - 128) / 128``), the convention of ffmpeg and libsndfile.
Float formats are taken as they are.
"""

from dataclasses import dataclass

from .errors import InvalidParameterError, InvalidTypeError

__all__ = ["SampleFormat", "SAMPLE_FORMATS", "get_format"]


@dataclass(frozen=True)
class SampleFormat:
    """One raw PCM sample format.

    Attributes
    ----------
    name : str
        The ffmpeg-style name, for example ``"s16le"``.
    bytes_per_sample : int
        Size of one sample of one channel.
    is_float : bool
        IEEE float samples (no scaling, no clipping).
    signed : bool
        Two's complement integers (``False`` only for ``u8``).
    big_endian : bool
        Byte order of multi-byte samples.
    """

    name: str
    bytes_per_sample: int
    is_float: bool
    signed: bool
    big_endian: bool

    @property
    def bits(self):
        """Bits per sample."""
        return 8 * self.bytes_per_sample

    @property
    def scale(self):
        """Float value of one unit of the integer format, inverted: ``2**(bits-1)`` (1.0 for floats)."""
        return 1.0 if self.is_float else float(2 ** (self.bits - 1))

    @property
    def int_min(self):
        """Smallest integer sample (after removing the ``u8`` offset)."""
        return -(2 ** (self.bits - 1))

    @property
    def int_max(self):
        """Largest integer sample (after removing the ``u8`` offset)."""
        return 2 ** (self.bits - 1) - 1


_FORMATS = [
    SampleFormat("u8", 1, False, False, False),
    SampleFormat("s8", 1, False, True, False),
    SampleFormat("s16le", 2, False, True, False),
    SampleFormat("s16be", 2, False, True, True),
    SampleFormat("s24le", 3, False, True, False),
    SampleFormat("s24be", 3, False, True, True),
    SampleFormat("s32le", 4, False, True, False),
    SampleFormat("s32be", 4, False, True, True),
    SampleFormat("f32le", 4, True, True, False),
    SampleFormat("f32be", 4, True, True, True),
    SampleFormat("f64le", 8, True, True, False),
    SampleFormat("f64be", 8, True, True, True),
]

SAMPLE_FORMATS = {f.name: f for f in _FORMATS}
"""All supported formats, by name."""


def get_format(sample_format):
    """Return the :class:`SampleFormat` for a name (or pass one through).

    Parameters
    ----------
    sample_format : str or SampleFormat
        A name such as ``"s16le"``; case-insensitive.

    Returns
    -------
    SampleFormat

    Raises
    ------
    InvalidParameterError
        If the name is not a supported format.
    InvalidTypeError
        If `sample_format` is neither a string nor a SampleFormat.
    """
    if isinstance(sample_format, SampleFormat):
        return sample_format
    if not isinstance(sample_format, str):
        raise InvalidTypeError(
            f"sample_format must be a format name such as 's16le', got {sample_format!r}"
        )
    fmt = SAMPLE_FORMATS.get(sample_format.strip().lower())
    if fmt is None:
        raise InvalidParameterError(
            f"unknown sample format {sample_format!r}; expected one of {', '.join(SAMPLE_FORMATS)}"
        )
    return fmt

"""Exceptions raised by the equalizer.

Every error of ours derives from :class:`EqError`, so a caller can catch all of
them at once; the ones about a bad value also derive from :class:`ValueError`
and the ones about a wrong kind of argument from :class:`TypeError`, so code
that already catches the built-in classes keeps working.
"""


class EqError(Exception):
    """Base class of every error raised by the ``eq`` package."""


class InvalidParameterError(EqError, ValueError):
    """A band, sample format, channel count, sample rate or other value is invalid."""


class InvalidTypeError(EqError, TypeError):
    """An argument has the wrong kind (for example ``str`` where bytes are expected)."""


class IncompleteFrameError(EqError, ValueError):
    """The stream ended inside a frame.

    Attributes
    ----------
    leftover : bytes
        The bytes of the incomplete frame, which were not processed.
    frame_bytes : int
        The size of one complete frame in bytes.
    """

    def __init__(self, message, leftover, frame_bytes):
        super().__init__(message)
        self.leftover = bytes(leftover)
        self.frame_bytes = int(frame_bytes)


class PresetError(EqError, ValueError):
    """A preset cannot be found, read or understood."""


class AudioFileError(EqError, OSError):
    """An audio file cannot be read or written."""


class TruncatedInputError(AudioFileError):
    """An input file ended before the length its header promises.

    Attributes
    ----------
    frames_read, frames_expected : int
    """

    def __init__(self, message, frames_read, frames_expected):
        super().__init__(message)
        self.frames_read = int(frames_read)
        self.frames_expected = int(frames_expected)

"""Streaming equalizer for raw planar 8-bit video, bit-exact with FFmpeg's ``eq`` filter.

FFmpeg's ``eq`` filter (``libavfilter/vf_eq.c``) changes each 8-bit sample by a
function of that sample alone, one function per plane:

- luma (plane 0): contrast, brightness and ``gamma * gamma_g``;
- U (plane 1): contrast ``saturation``, brightness 0, gamma
  ``sqrt(gamma_b / gamma_g)``;
- V (plane 2): contrast ``saturation``, brightness 0, gamma
  ``sqrt(gamma_r / gamma_g)``;
- alpha (plane 3 of ``yuva*``): copied.

``gamma_weight`` goes to every plane. Each parameter is stored as a C
``float`` (``av_clipf``) before use. For each plane the filter then does one of
three things (``check_values``):

- copy, when its contrast is 1, its brightness 0 and its gamma 1;
- the integer path ``process_c`` (whose x86 SIMD gives the same bytes), when
  its gamma is 1 and ``|contrast| < 7.9``::

      c = (int)(contrast * 4096)
      b = ((int)(100 * brightness + 100) * 511) / 200 - 128 - c / 32   (C division)
      out = clip(((in * c) >> 12) + b, 0, 255)

- otherwise a table (``create_lut``)::

      v = contrast * (in / 255.0 - 0.5) + 0.5 + brightness
      w = v * (1 - gamma_weight) + pow(v, 1 / gamma) * gamma_weight
      out = 0 if v <= 0, else 255 if w >= 1, else (uint8)(256 * w)

Every one of these is a function of one byte, so this module computes each as a
256-entry table, once per setting, by running the formula above over 0..255, and
the stream is mapped byte by byte through the table of the byte's plane. The
C extension ``eq._video`` does it, with AVX-512 VBMI byte permutes where the CPU
has them (64 bytes looked up in a few instructions); without them, chunks of up
to :data:`C_LOOP_MAX_BYTES` go through its portable loop and longer ones through
the numba loop :func:`eq._video_kernels.apply_plane_tables`, which computes the
integer path in vectorized 32-bit arithmetic; without the extension, the numba
loop does it all. Nothing is held back: each byte's offset in the frame names
its plane, so every byte is output as soon as it arrives and the output is the
same however the stream is split.

Note two quirks of FFmpeg that are reproduced, not fixed: the integer path with
contrast 1 and a brightness that rounds to 0 (``|brightness| < 0.01``) lowers
every sample by 1; and the chroma planes with saturation 1 and unequal
``gamma_b``/``gamma_r`` and ``gamma_g`` go through the table, whose
``(uint8)(256 * v)`` is not the identity.
"""

import math
import numbers

import numpy as np

from ._video_kernels import apply_plane_tables
from .errors import IncompleteFrameError, InvalidParameterError, InvalidTypeError

try:  # the C loop (optional: built where a C compiler was found at install time)
    from . import _video
except ImportError:  # pragma: no cover - depends on the build
    _video = None

__all__ = ["PIX_FMTS", "PARAM_RANGES", "StreamingVideoEqualizer", "plane_tables"]

#: Pixel formats: (log2 chroma width, log2 chroma height, planes) for each name.
PIX_FMTS = {
    "gray": (0, 0, 1),
    "yuv420p": (1, 1, 3),
    "yuv422p": (1, 0, 3),
    "yuv444p": (0, 0, 3),
    "yuva420p": (1, 1, 4),
    "yuva444p": (0, 0, 4),
}

#: Accepted range of each parameter: FFmpeg's ``av_clipf`` limits in ``set_*``.
PARAM_RANGES = {
    "brightness": (-1.0, 1.0),
    "contrast": (-1000.0, 1000.0),
    "saturation": (0.0, 3.0),
    "gamma": (0.1, 10.0),
    "gamma_r": (0.1, 10.0),
    "gamma_g": (0.1, 10.0),
    "gamma_b": (0.1, 10.0),
    "gamma_weight": (0.0, 1.0),
}

#: Largest width or height accepted (a sanity limit, far above any real video).
MAX_SIZE_PX = 1 << 15

_PLANE_NAMES = ("Y", "U", "V", "A")

KEPT_OUTPUT_BYTES = 1 << 24
"""Calls of up to this many bytes that run the numba loop write into an array the
equalizer keeps; longer ones into an array of their own, freed after the call."""

C_LOOP_MAX_BYTES = 1 << 16
"""Without AVX-512 VBMI, calls of up to this many bytes run the C extension's portable
loop (less overhead per call), longer ones the numba loop (faster per byte)."""

_FAST_C = _video is not None and _video.fast_method() == 1


def _as_c_float(value):
    """`value` rounded to a C ``float`` and back, as ``av_clipf`` stores it."""
    return float(np.float32(value))


def _c_div(a, b):
    """C integer division (truncates toward zero), for ints."""
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b > 0) else -q


def _path(contrast, brightness, gamma):
    """Which code FFmpeg runs for one plane (``check_values``)."""
    if contrast == 1.0 and brightness == 0.0 and gamma == 1.0:
        return "copy"
    if gamma == 1.0 and abs(contrast) < 7.9:
        return "integer"
    return "lut"


def _integer_coefficients(contrast, brightness):
    """``(c, b)`` of ``process_c``: the output is ``clip(((in * c) >> 12) + b, 0, 255)``."""
    c = int(contrast * 256 * 16)
    return c, (int(100.0 * brightness + 100.0) * 511) // 200 - 128 - _c_div(c, 32)


def _plane_table(contrast, brightness, gamma, gamma_weight):
    """The 256-entry table equal to FFmpeg's processing of one plane.

    Parameters
    ----------
    contrast, brightness, gamma, gamma_weight : float
        The plane's ``EQParameters`` (already rounded as FFmpeg stores them).

    Returns
    -------
    table : ndarray of uint8, shape (256,)
    path : str
        ``"copy"``, ``"integer"`` (``process_c``) or ``"lut"`` (``create_lut``).
    """
    path = _path(contrast, brightness, gamma)
    table = np.empty(256, dtype=np.uint8)
    if path == "copy":
        table[:] = np.arange(256)
    elif path == "integer":
        # process_c, in Python ints: >> floors like C's arithmetic shift, and
        # int() truncates toward zero like C's (int) cast.
        c, b = _integer_coefficients(contrast, brightness)
        for i in range(256):
            table[i] = min(max(((i * c) >> 12) + b, 0), 255)
    else:
        # create_lut, same operations in the same order in float64.
        g = 1.0 / gamma
        lw = 1.0 - gamma_weight
        for i in range(256):
            v = i / 255.0
            v = contrast * (v - 0.5) + 0.5 + brightness
            if v <= 0.0:
                table[i] = 0
            else:
                v = v * lw + math.pow(v, g) * gamma_weight
                table[i] = 255 if v >= 1.0 else int(256.0 * v)
    return table, path


def _check_param(name, value):
    """`value` as a float, or raise naming it if it is not a number in range."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InvalidTypeError(f"{name} must be a real number, got {value!r}")
    low, high = PARAM_RANGES[name]
    try:
        value_f = float(value)
    except OverflowError:  # an int beyond any float: out of range too
        value_f = math.inf
    if not low <= value_f <= high:  # False for NaN too
        raise InvalidParameterError(
            f"{name} must be in [{low:g}, {high:g}] (the range of FFmpeg's eq filter), got {value!r}"
        )
    return value_f


def _check_size(name, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise InvalidTypeError(f"{name} must be an int, got {value!r}")
    if not 1 <= value <= MAX_SIZE_PX:
        raise InvalidParameterError(f"{name} must be in [1, {MAX_SIZE_PX}] pixels, got {value!r}")
    return int(value)


def plane_tables(pix_fmt, brightness=0.0, contrast=1.0, saturation=1.0, gamma=1.0, gamma_r=1.0,
                 gamma_g=1.0, gamma_b=1.0, gamma_weight=1.0):
    """The per-plane tables equal to FFmpeg's ``eq`` filter with these settings.

    Parameters
    ----------
    pix_fmt : str
        One of :data:`PIX_FMTS`.
    brightness, contrast, saturation, gamma, gamma_r, gamma_g, gamma_b, gamma_weight : float
        As the options of FFmpeg's ``eq`` filter; see :data:`PARAM_RANGES`.

    Returns
    -------
    tables : ndarray of uint8, shape (planes, 256)
        ``tables[p, v]`` is the output for value ``v`` in plane ``p``.
    paths : tuple of str
        For each plane, ``"copy"``, ``"integer"`` or ``"lut"``: the code FFmpeg
        runs for it (the alpha plane is always ``"copy"``).

    Raises
    ------
    InvalidParameterError, InvalidTypeError
        If a parameter is out of range or not a number, or `pix_fmt` is unknown.
    """
    tables, paths, _ = _plane_programs(pix_fmt, brightness, contrast, saturation, gamma,
                                       gamma_r, gamma_g, gamma_b, gamma_weight)
    return tables, paths


def _plane_programs(pix_fmt, *params, **named):
    """:func:`plane_tables`, and ``(c, b)`` of :func:`_integer_coefficients` for each plane on
    the integer path (zeros elsewhere), which the kernel computes instead of looking up."""
    n_planes = _check_pix_fmt(pix_fmt)[2]
    settings, gamma_weight = _plane_settings(*params, **named)
    tables = np.empty((n_planes, 256), dtype=np.uint8)
    coefficients = np.zeros((n_planes, 2), dtype=np.int64)
    paths = []
    for plane in range(n_planes):
        if plane == 3:
            tables[plane] = np.arange(256)
            paths.append("copy")
            continue
        tables[plane], path = _plane_table(*settings[plane], gamma_weight)
        paths.append(path)
        if path == "integer":
            coefficients[plane] = _integer_coefficients(*settings[plane][:2])
    return tables, tuple(paths), coefficients


def _plane_settings(brightness=0.0, contrast=1.0, saturation=1.0, gamma=1.0, gamma_r=1.0,
                    gamma_g=1.0, gamma_b=1.0, gamma_weight=1.0):
    """``([(contrast, brightness, gamma)] for Y, U, V, gamma_weight)`` as FFmpeg stores them."""
    p = {name: _as_c_float(_check_param(name, value)) for name, value in (
        ("brightness", brightness), ("contrast", contrast), ("saturation", saturation),
        ("gamma", gamma), ("gamma_r", gamma_r), ("gamma_g", gamma_g), ("gamma_b", gamma_b),
        ("gamma_weight", gamma_weight))}
    # set_gamma / set_contrast / set_brightness / set_saturation of vf_eq.c;
    # the chroma planes' brightness is never set, so stays 0.
    settings = [
        (p["contrast"], p["brightness"], p["gamma"] * p["gamma_g"]),
        (p["saturation"], 0.0, math.sqrt(p["gamma_b"] / p["gamma_g"])),
        (p["saturation"], 0.0, math.sqrt(p["gamma_r"] / p["gamma_g"])),
    ]
    return settings, p["gamma_weight"]


def _check_pix_fmt(pix_fmt):
    if not isinstance(pix_fmt, str):
        raise InvalidTypeError(f"pix_fmt must be a str, got {pix_fmt!r}")
    try:
        return PIX_FMTS[pix_fmt]
    except KeyError:
        raise InvalidParameterError(
            f"pix_fmt must be one of {sorted(PIX_FMTS)!r}, got {pix_fmt!r}") from None


class StreamingVideoEqualizer:
    """FFmpeg's ``eq`` video filter on a raw planar 8-bit stream, bytes in, bytes out.

    Parameters
    ----------
    width, height : int
        Frame size in pixels, 1 to :data:`MAX_SIZE_PX`; odd sizes are fine
        (chroma planes are rounded up, as FFmpeg's ``AV_CEIL_RSHIFT``).
    pix_fmt : str
        ``"gray"``, ``"yuv420p"``, ``"yuv422p"``, ``"yuv444p"``, ``"yuva420p"``
        or ``"yuva444p"`` (the alpha plane is passed through unchanged). A frame
        is its planes one after another, rows packed without padding, as
        FFmpeg's ``rawvideo`` format.
    brightness : float, default 0
        -1 to 1.
    contrast : float, default 1
        -1000 to 1000; negative values give a negative image.
    saturation : float, default 1
        0 to 3.
    gamma, gamma_r, gamma_g, gamma_b : float, default 1
        0.1 to 10.
    gamma_weight : float, default 1
        0 to 1; reduces the effect of gamma on bright areas.

    Raises
    ------
    InvalidParameterError
        If a size, the pixel format or a parameter is out of range. FFmpeg
        clips parameters silently; this refuses them instead.
    InvalidTypeError
        If one has the wrong type.

    See Also
    --------
    plane_tables : the per-plane tables this applies.

    Notes
    -----
    The output is bit-exact with ``ffmpeg -f rawvideo ... -vf eq=...``: see the
    module docstring for the formulas. The parameters are fixed (FFmpeg's
    default ``eval=init``); make a new object to change them.

    An equalizer is a stream: use one object from one thread at a time (several
    objects may run in parallel; the kernel releases the GIL).

    Examples
    --------
    A 3x3 yuv420p frame is 9 luma bytes then 4 + 4 chroma bytes; every byte
    comes back at once, however the stream is split:

    >>> from eq.video import StreamingVideoEqualizer
    >>> v = StreamingVideoEqualizer(3, 3, "yuv420p", contrast=2.0, saturation=0.0)
    >>> v.frame_bytes, v.plane_bytes
    (17, (9, 4, 4))
    >>> frame = bytes(range(0, 170, 10))
    >>> out = v.process(frame[:5]) + v.process(frame[5:])
    >>> list(out[:9]), list(out[9:])
    ([0, 0, 0, 0, 0, 0, 0, 11, 31], [127, 127, 127, 127, 127, 127, 127, 127])
    >>> v.frames_processed, v.frame_position
    (1, 0)
    """

    def __init__(self, width, height, pix_fmt, brightness=0.0, contrast=1.0, saturation=1.0,
                 gamma=1.0, gamma_r=1.0, gamma_g=1.0, gamma_b=1.0, gamma_weight=1.0):
        self._width = _check_size("width", width)
        self._height = _check_size("height", height)
        log2_w, log2_h, n_planes = _check_pix_fmt(pix_fmt)
        self._pix_fmt = pix_fmt
        tables, self._paths, self._coefficients = _plane_programs(
            pix_fmt, brightness, contrast, saturation, gamma, gamma_r, gamma_g, gamma_b,
            gamma_weight)
        self._tables = np.ascontiguousarray(tables)
        self._table_bytes = self._tables.tobytes()
        # How the kernel runs each plane (eq._video_kernels): a copy, FFmpeg's integer
        # arithmetic with self._coefficients, or the table.
        self._kinds = np.array([{"copy": 0, "integer": 1, "lut": 2}[path] for path in self._paths],
                               dtype=np.int64)
        self._params = {name: float(value) for name, value in (
            ("brightness", brightness), ("contrast", contrast), ("saturation", saturation),
            ("gamma", gamma), ("gamma_r", gamma_r), ("gamma_g", gamma_g), ("gamma_b", gamma_b),
            ("gamma_weight", gamma_weight))}
        self._out = np.empty(0, dtype=np.uint8)
        luma = self._width * self._height
        # AV_CEIL_RSHIFT(a, s) = -((-a) >> s)
        chroma = (-((-self._width) >> log2_w)) * (-((-self._height) >> log2_h))
        self._plane_bytes = ((luma,) + (chroma, chroma) + (luma,))[:n_planes]
        self._plane_ends = np.cumsum(self._plane_bytes, dtype=np.int64)
        self._end_bytes = self._plane_ends.tobytes()
        self._frame_bytes = int(self._plane_ends[-1])
        self._frame_pos = 0
        self._frames = 0

    # -- read-only description ------------------------------------------------------------------
    @property
    def width(self):
        """Frame width in pixels."""
        return self._width

    @property
    def height(self):
        """Frame height in pixels."""
        return self._height

    @property
    def pix_fmt(self):
        """Pixel format name."""
        return self._pix_fmt

    @property
    def params(self):
        """The eq parameters, as a new dict of floats (before FFmpeg's rounding to C float)."""
        return dict(self._params)

    @property
    def frame_bytes(self):
        """Size of one frame in bytes."""
        return self._frame_bytes

    @property
    def plane_bytes(self):
        """Size in bytes of each plane of a frame, in stream order (Y, U, V, A)."""
        return self._plane_bytes

    @property
    def plane_paths(self):
        """For each plane, the code FFmpeg runs: ``"copy"``, ``"integer"`` or ``"lut"``."""
        return self._paths

    @property
    def tables(self):
        """A copy of the per-plane tables, ndarray of uint8, shape (planes, 256)."""
        return self._tables.copy()

    # -- stream state -------------------------------------------------------------------------------
    @property
    def frames_processed(self):
        """Number of complete frames output since construction or :meth:`reset`."""
        return self._frames

    @property
    def frame_position(self):
        """Offset in bytes, within the current frame, of the next byte expected (0 between frames)."""
        return self._frame_pos

    @property
    def current_plane(self):
        """Index of the plane the next byte belongs to (0 = Y)."""
        return int(np.searchsorted(self._plane_ends, self._frame_pos, side="right"))

    def process(self, data):
        """Equalize the next chunk of the stream.

        Parameters
        ----------
        data : bytes, bytearray or memoryview
            The next bytes of the stream, of any length (0 included), split
            anywhere (mid-row, mid-plane or mid-frame).

        Returns
        -------
        bytes
            Exactly ``len(data)`` bytes (in bytes, whatever a memoryview's
            item format): the equalized input. Nothing is held back.

        Raises
        ------
        InvalidTypeError
            If `data` is not bytes-like (a ``str``, for example).
        """
        if type(data) is not bytes and type(data) is not bytearray:
            if not isinstance(data, memoryview):
                raise InvalidTypeError(
                    f"process() takes bytes, bytearray or memoryview, got {type(data).__name__}")
            if not data.c_contiguous:
                data = data.tobytes()
        n = data.nbytes if type(data) is memoryview else len(data)
        if n == 0:
            return b""
        if _video is not None and (_FAST_C or n <= C_LOOP_MAX_BYTES):
            out = _video.map_planes(data, self._table_bytes, self._end_bytes, self._frame_pos)
        else:
            out = self._numba_loop(data, n)
        total = self._frame_pos + n
        self._frames += total // self._frame_bytes
        self._frame_pos = total % self._frame_bytes
        return out

    def _numba_loop(self, data, n):
        """`data` (`n` bytes) mapped by :func:`eq._video_kernels.apply_plane_tables`, as bytes."""
        if n <= KEPT_OUTPUT_BYTES:
            # kept between calls (a fresh array costs page faults), up to a bound
            if self._out.shape[0] < n:
                self._out = np.empty(n, dtype=np.uint8)
            out = self._out[:n]
        else:
            out = np.empty(n, dtype=np.uint8)
        apply_plane_tables(np.frombuffer(data, dtype=np.uint8), out, self._tables, self._kinds,
                           self._coefficients, self._plane_ends, self._frame_pos)
        return out.tobytes()

    def flush(self):
        """End the stream.

        Returns
        -------
        bytes
            Always ``b""``: every byte was output as it came.

        Raises
        ------
        IncompleteFrameError
            If the stream ended inside a frame. Its bytes were already output
            (the filter is per pixel), so ``leftover`` is ``b""``; the error
            has an extra attribute ``bytes_into_frame``, how far into the
            frame the stream ended, and its message names the plane. The
            position goes back to the start of a frame, so :meth:`process`
            can go on with a new one.
        """
        pos = self._frame_pos
        if pos:
            plane = self.current_plane
            self._frame_pos = 0
            err = IncompleteFrameError(
                f"stream ended {pos} byte(s) into a {self._frame_bytes}-byte "
                f"{self._width}x{self._height} {self._pix_fmt} frame (in plane "
                f"{_PLANE_NAMES[plane]}); those bytes were already output, equalized",
                b"",
                self._frame_bytes,
            )
            err.bytes_into_frame = pos
            raise err
        return b""

    def reset(self):
        """Go back to the start of a frame and clear the frame count; keep the parameters."""
        self._frame_pos = 0
        self._frames = 0

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self._params.items())
        return (f"{type(self).__name__}(width={self._width!r}, height={self._height!r}, "
                f"pix_fmt={self._pix_fmt!r}, {args})")

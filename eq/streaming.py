"""Streaming equalizers: raw PCM bytes in any chunking, and float blocks.

This is the public layer over :mod:`eq._kernels`: it validates arguments,
keeps the bytes of an incomplete frame between calls, and owns the filter
state. The kernels see only whole frames.

:meth:`StreamingEqualizer.process` runs in C when the extension
``eq._chunks`` was built (it needs a C compiler at install time): the
bookkeeping of a call, around the same compiled kernel, then costs about a
quarter of what it costs in Python, which is most of the cost of a call on a
few bytes. Without it the same steps run in Python, with the same output.
"""

import math
import numbers
import sys
import threading

import numpy as np

from . import _kernels
from ._memory import address_of
from .design import MAX_ABS_GAIN_DB, as_bands, check_sample_rate, design_sos
from .errors import EqError, IncompleteFrameError, InvalidParameterError, InvalidTypeError
from .formats import get_format

try:
    from . import _chunks
except ImportError:  # pragma: no cover - installed without a C compiler
    _chunks = None

__all__ = ["StreamingEqualizer", "BlockEqualizer"]

BUFFER_BYTES = 1 << 17
"""Size of the equalizer's own buffer. In Python, chunks up to this size (with
any pending bytes) are copied into it and filtered from there, longer ones
in place; in C whole frames are filtered in place, and only a frame split
between calls (or a short chunk after one) is joined in the buffer."""

SHORT_CHUNK_BYTES = 1024
"""Chunks of up to this many bytes of whole frames are filtered holding the
GIL (in C, or :func:`eq._kernels.process_bytes_holding_gil`): releasing it
and taking it back costs as much as filtering them. Longer ones release it,
so that streams in other threads run meanwhile."""

MAX_CHANNELS = 1024
"""Upper bound on channels, to turn a wrong argument into an error instead of a huge allocation."""


def _check_channels(channels):
    if isinstance(channels, bool) or not isinstance(channels, numbers.Real):
        raise InvalidTypeError(f"channels must be a whole number >= 1, got {channels!r}")
    if not isinstance(channels, numbers.Integral):
        raise InvalidParameterError(f"channels must be a whole number >= 1, got {channels!r}")
    if not 1 <= channels <= MAX_CHANNELS:
        raise InvalidParameterError(
            f"channels must be between 1 and {MAX_CHANNELS}, got {channels!r}"
        )
    return int(channels)


def _preamp_gain(preamp_db):
    if isinstance(preamp_db, bool) or not isinstance(preamp_db, numbers.Real):
        raise InvalidTypeError(f"preamp_db must be a real number of dB, got {preamp_db!r}")
    if not math.isfinite(preamp_db):
        raise InvalidParameterError(f"preamp_db must be finite, got {preamp_db!r}")
    if abs(preamp_db) > MAX_ABS_GAIN_DB:
        # As for band gains: far beyond any use, and beyond it the gain
        # underflows or overflows float64 on the way through the kernels.
        raise InvalidParameterError(
            f"preamp_db must be within +-{MAX_ABS_GAIN_DB:g} dB, got {preamp_db!r}")
    return 10.0 ** (float(preamp_db) / 20.0)


_PACKED_CODES = {
    "s16be": _kernels.PACKED_S16BE,
    "s24le": _kernels.PACKED_S24LE,
    "s24be": _kernels.PACKED_S24BE,
    "s32be": _kernels.PACKED_S32BE,
    "f32be": _kernels.PACKED_F32BE,
    "f64be": _kernels.PACKED_F64BE,
}
_INT_CODES = {"u8": _kernels.INT_U8, "s8": _kernels.INT_S8, "s16le": _kernels.INT_S16,
              "s32le": _kernels.INT_S32}
_FLOAT_CODES = {"f32le": _kernels.FLOAT_F32, "f64le": _kernels.FLOAT_F64}


COMPILE_NOTICE_S = 5.0
"""Seconds a first kernel load may take before :data:`compile_notice` is called."""

compile_notice = None
"""A function of no arguments, or None. Called (from a timer thread) when the
first load of a kernel in this process takes longer than
:data:`COMPILE_NOTICE_S`, which means numba is compiling it for this machine
(loading from the cache takes well under a second); the ``eq`` command sets
it to print a line on standard error."""

_loaded_kernels = {}


def _load_kernel(key, load):
    """Return ``load()``, run once per `key` in this process.

    `load` compiles a kernel or loads it from numba's cache; if that outlasts
    :data:`COMPILE_NOTICE_S`, :data:`compile_notice` is called.
    """
    if key not in _loaded_kernels:
        timer = None
        if compile_notice is not None:
            timer = threading.Timer(COMPILE_NOTICE_S, compile_notice)
            timer.daemon = True
            timer.start()
        try:
            _loaded_kernels[key] = load()
        finally:
            if timer is not None:
                timer.cancel()
    return _loaded_kernels[key]


def _wide(channels):
    """The kernels' ``wide`` argument: True from 4 channels on (4-lane vectors), else None."""
    return True if channels >= 4 else None


def _compiled_entry(dispatcher, args):
    """The compiled version of `dispatcher` for the types of `args`, to call directly.

    Calling a numba dispatcher costs about 200-250 ns before any work: it
    works out the numba type of every argument to pick the compiled version.
    The byte kernel is always called with the same types (four ints and
    `wide`), so its entry point is looked up once, which halves the cost of
    the call itself. Callers must pass exactly those types. If the lookup
    does not work on this numba, the dispatcher is returned.
    """
    dispatcher(*args)  # compiles, or loads from the cache
    try:
        from numba import typeof

        return dispatcher.overloads[tuple(typeof(a) for a in args)].entry_point
    except Exception:  # pragma: no cover - numba internals changed
        return dispatcher


def _c_entry(wide):
    """The byte kernel compiled as a C function, for ``eq._chunks``.

    A numba ``cfunc`` of :func:`eq._kernels.bytes_entry` (or its ``wide``
    twin), cached on disk like the other kernels; its ``address`` is what
    the extension calls.
    """
    from numba import cfunc

    entry = _kernels.bytes_entry_wide if wide else _kernels.bytes_entry
    return cfunc(_kernels.C_ENTRY_SIGNATURE, cache=True)(entry)


def _kernel_format(fmt):
    """Return ``(kind, code)``: how the byte kernel reads and writes `fmt`.

    Little-endian formats that numpy can view are read as typed arrays; the
    24-bit and big-endian ones have their bytes rearranged into native
    samples first.
    """
    if sys.byteorder == "little":
        if fmt.name in _INT_CODES:
            return _kernels.KIND_INT, _INT_CODES[fmt.name]
        if fmt.name in _FLOAT_CODES:
            return _kernels.KIND_FLOAT, _FLOAT_CODES[fmt.name]
        return _kernels.KIND_PACKED, _PACKED_CODES[fmt.name]
    raise EqError("raw PCM streaming needs a little-endian machine")  # pragma: no cover


class _FilterBank:
    """Coefficients, per-channel state and scratch shared by both equalizers.

    They live in one float64 *engine* array (see :func:`eq._kernels.engine_size`)
    so that the byte kernel needs one address for all of them; ``_sos`` and
    ``_zi`` are views into it (the kernel's tile and scratch area follow them).
    """

    def __init__(self, sample_rate, channels, bands, preamp_db=0.0):
        self.sample_rate = check_sample_rate(sample_rate)
        self.channels = _check_channels(channels)
        self.bands = as_bands(bands)
        self._gain = _preamp_gain(preamp_db)
        self.preamp_db = float(preamp_db)
        sos = design_sos(self.bands, self.sample_rate)
        n_sections, n_channels = len(sos), self.channels
        engine = np.zeros(_kernels.engine_size(n_sections, n_channels))
        engine[_kernels.H_SIZE] = engine.size
        engine[_kernels.H_GAIN] = self._gain
        engine[_kernels.H_SECTIONS] = n_sections
        engine[_kernels.H_CHANNELS] = n_channels
        engine[_kernels.H_TILE] = _kernels.tile_samples(n_channels)
        p = _kernels.HEADER_SIZE
        self._sos = engine[p:p + 6 * n_sections].reshape(n_sections, 6)
        self._sos[...] = sos
        p += 6 * n_sections
        self._zi = engine[p:p + 2 * n_sections * n_channels].reshape(n_sections, n_channels, 2)
        self._engine = engine
        # The byte kernel takes addresses (eq._memory); the engine lives as long as self.
        self._engine_address = address_of(engine)
        self._wide = _wide(n_channels)

    def _use_format(self, fmt, held_bits=None):
        """Write the sample format `fmt` into the engine and load the byte kernel.

        `held_bits`, for a signed little-endian integer format only, takes the
        samples as that many bits left-aligned in the format's (libsndfile
        reads and writes 24-bit audio as int32 and 8-bit audio as int16 with
        the low bits zero): input is read as it is, output is rounded and
        saturated to `held_bits` bits with the low bits zero again.

        Then loads the kernels (:meth:`_load_kernels`).
        """
        kind, code = _kernel_format(fmt)
        bits = fmt.bits
        if held_bits is not None:
            if kind != _kernels.KIND_INT or not fmt.signed or not 1 < held_bits <= fmt.bits:
                raise InvalidParameterError(
                    "left-aligned samples need a signed little-endian format of 8, 16 or 32 "
                    f"bits and 1 < bits <= {fmt.bits}, got {fmt.name} and {held_bits!r}")
            bits = held_bits
        engine = self._engine
        engine[_kernels.H_BPS] = fmt.bytes_per_sample
        engine[_kernels.H_KIND] = kind
        engine[_kernels.H_CODE] = code
        engine[_kernels.H_OFFSET] = 128 if fmt.name == "u8" else 0
        engine[_kernels.H_SCALE] = fmt.scale if fmt.is_float else 2.0 ** (bits - 1)
        engine[_kernels.H_LO] = -2.0 ** (bits - 1)
        engine[_kernels.H_HI] = 2.0 ** (bits - 1) - 1
        engine[_kernels.H_STEP] = 2.0 ** (fmt.bits - bits)
        self._load_kernels()

    def _load_kernels(self):
        """Set ``self._kernel``, called as ``(src_address, n_frames,
        self._engine_address, dst_address, self._wide)``."""
        # Zero frames (the addresses are not read): compiles or loads the kernel, no effect.
        address, wide = self._engine_address, self._wide
        self._kernel = _load_kernel(("bytes", wide), lambda: _compiled_entry(
            _kernels.process_bytes, (address, 0, address, address, wide)))

    @property
    def sos(self):
        """The second-order sections, ``(n_sections, 6)`` (a copy)."""
        return self._sos.copy()

    def get_state(self):
        """Return a copy of the filter state, shape ``(n_sections, channels, 2)``.

        The layout is scipy's ``zi`` for ``sosfilt`` with the channel axis in
        the middle: ``zi[s, c]`` is the ``(z1, z2)`` pair of section ``s`` for
        channel ``c``.
        """
        return self._zi.copy()

    def set_state(self, zi):
        """Set the filter state from an array of shape ``(n_sections, channels, 2)``."""
        try:
            zi = np.asarray(zi, dtype=np.float64)
        except (TypeError, ValueError):
            raise InvalidParameterError(
                f"state must be an array of shape {self._zi.shape!r}, got {zi!r}") from None
        if zi.shape != self._zi.shape:
            raise InvalidParameterError(
                f"state must have shape {self._zi.shape!r} (sections, channels, 2), "
                f"got {zi.shape!r}"
            )
        if not np.all(np.isfinite(zi)):
            raise InvalidParameterError(f"state must be finite, got {zi!r}")
        self._zi[...] = zi

    def _reset_state(self):
        self._zi[...] = 0.0


class _FrameEqualizer(_FilterBank):
    """Whole frames of a raw sample format held in arrays.

    The filter bank, format and byte kernel of :class:`StreamingEqualizer`
    without its buffers for bytes split anywhere: :mod:`eq.files` equalizes
    the blocks it reads with it, with `held_bits` for integers that
    libsndfile holds left-aligned in a wider sample (see
    :meth:`_FilterBank._use_format`).
    """

    _n_pending = 0  # whole frames only; StreamingEqualizer holds split ones

    def __init__(self, sample_rate, channels, sample_format, bands, preamp_db=0.0,
                 held_bits=None):
        self.format = get_format(sample_format)
        super().__init__(sample_rate, channels, bands, preamp_db)
        self.frame_bytes = self.format.bytes_per_sample * self.channels
        self._use_format(self.format, held_bits)

    @property
    def clipped_samples(self):
        """Integer samples saturated so far (always 0 for float formats)."""
        return int(self._engine[_kernels.H_CLIPPED])

    @clipped_samples.setter
    def clipped_samples(self, value):
        self._engine[_kernels.H_CLIPPED] = value

    def _process_frames_into(self, src, dst):
        """Equalize whole frames from one array into another, without copies.

        For callers that hold samples in arrays already (:mod:`eq.files`):
        `src` and `dst` are C-contiguous arrays of the stream's sample type,
        the same size and a whole number of frames (`dst` may be `src`); no
        bytes may be pending.
        """
        if (self._n_pending or src.nbytes % self.frame_bytes or dst.nbytes != src.nbytes
                or not src.flags.c_contiguous or not dst.flags.c_contiguous
                or not dst.flags.writeable):
            raise InvalidParameterError(
                f"_process_frames_into needs C-contiguous arrays of whole {self.frame_bytes}-byte "
                f"frames, a writeable destination, nothing pending and equal sizes; got "
                f"{src.nbytes} and {dst.nbytes} bytes with {self._n_pending} pending")
        self._kernel(address_of(src), src.nbytes // self.frame_bytes, self._engine_address,
                     address_of(dst), self._wide)


class _PyChunks:
    """The bookkeeping of :meth:`StreamingEqualizer.process` in Python.

    Used where the C extension ``eq._chunks`` was not built; the same
    interface as its ``Chunks`` (``process(data)`` and ``n_pending``) and the
    same output. This runs once per chunk, and chunks of a few bytes are
    common in pipes: short chunks are copied into `buffer` after the pending
    bytes and filtered from there into a preallocated output, so no bytes are
    concatenated, and the shortest hold the GIL (:data:`SHORT_CHUNK_BYTES`,
    `kernel_short`); chunks longer than `buffer` are filtered where they lie.

    Parameters
    ----------
    buffer : ndarray of uint8
        Holds the pending bytes; at least two frames.
    engine, zi : ndarray
        The equalizer's engine array and its state view (to put the filter
        back if a long chunk's output cannot be allocated).
    frame_bytes : int
    kernel, kernel_short : callable
        The byte kernel's entries that release and hold the GIL, called as
        ``(src_address, n_frames, engine_address, dst_address, wide)``.
    wide : None or True
    """

    def __init__(self, buffer, engine, zi, frame_bytes, kernel, kernel_short, wide):
        self.n_pending = 0
        # The kernels take addresses (eq._memory): these arrays live as long as self.
        self._buffer, self._engine, self._zi = buffer, engine, zi
        self._in_view = memoryview(buffer)
        self._in_address = address_of(buffer)
        self._engine_address = address_of(engine)
        self._out = np.empty(buffer.size, dtype=np.uint8)
        self._out_view = memoryview(self._out)
        self._out_address = address_of(self._out)
        # The last output slice, reused while the chunk size stays the same.
        self._out_slice = self._out_view[:0]
        self._frame_bytes = frame_bytes
        self._kernel, self._kernel_short, self._wide = kernel, kernel_short, wide

    def process(self, data):
        """See :meth:`StreamingEqualizer.process`."""
        if type(data) is not bytes and type(data) is not bytearray:
            if not isinstance(data, memoryview):
                raise InvalidTypeError(
                    "process() takes bytes, bytearray or memoryview, "
                    f"got {type(data).__name__}"
                )
            data = bytes(data)  # its raw bytes, whatever its item format
        n_pending = self.n_pending
        total = n_pending + len(data)
        frame_bytes = self._frame_bytes
        if total > len(self._in_view):
            return self._process_long(data, n_pending, total)
        in_view = self._in_view
        in_view[n_pending:total] = data
        rest = total % frame_bytes
        self.n_pending = rest
        used = total - rest
        if not used:
            return b""
        kernel = self._kernel_short if used <= SHORT_CHUNK_BYTES else self._kernel
        kernel(self._in_address, used // frame_bytes, self._engine_address, self._out_address,
               self._wide)
        if rest:
            in_view[:rest] = in_view[used:total]  # disjoint: rest < frame_bytes <= used
        out = self._out_slice
        if len(out) != used:
            out = self._out_slice = self._out_view[:used]
        return out.tobytes()

    def _process_long(self, data, n_pending, total):
        """A chunk longer than the buffer: filter it where it lies."""
        if n_pending:
            data = self._in_view[:n_pending].tobytes() + data
        src = np.frombuffer(data, dtype=np.uint8)  # keeps `data` alive during the call
        rest = total % self._frame_bytes
        used = total - rest
        dst = np.empty(used, dtype=np.uint8)
        state, clipped = self._zi.copy(), self._engine[_kernels.H_CLIPPED]
        self._kernel(address_of(src), used // self._frame_bytes, self._engine_address,
                     address_of(dst), self._wide)
        try:
            out = dst.tobytes()
        except MemoryError:
            # Nothing is lost: the filter goes back to where it was, and the
            # same chunk can be passed again.
            self._zi[...] = state
            self._engine[_kernels.H_CLIPPED] = clipped
            raise
        self._in_view[:rest] = data[used:]
        self.n_pending = rest
        return out


class StreamingEqualizer(_FrameEqualizer):
    """Equalize a stream of raw interleaved PCM bytes, split anywhere.

    Parameters
    ----------
    sample_rate : int
        Sample rate in Hz.
    channels : int
        Interleaved channels per frame, ``>= 1``.
    sample_format : str
        One of :data:`eq.SAMPLE_FORMATS`: ``u8``, ``s8``, ``s16le``, ``s16be``,
        ``s24le``, ``s24be`` (packed, 3 bytes), ``s32le``, ``s32be``,
        ``f32le``, ``f32be``, ``f64le``, ``f64be``.
    bands : iterable of Band or dict
        The bands in the order they are applied; dicts use the keys ``type``,
        ``freq``, ``q``, ``gain_db``.
    preamp_db : float, optional
        Gain applied to the input before the bands. Default 0.

    Raises
    ------
    InvalidParameterError
        (a ``ValueError``) for an invalid rate, channel count, format or band.

    Notes
    -----
    *Zero added latency*: after every call to :meth:`process`, the total
    output equals the complete frames received so far, times the frame size.
    The bytes of an incomplete frame are held until the frame completes.
    The output bytes do not depend on how the input was split.

    Integer output is rounded to nearest (ties to even) and saturated; the
    number of saturated samples is counted in :attr:`clipped_samples`. Float
    output is never clipped.

    An equalizer is a stateful stream: use one object from one thread at a
    time (several objects may run in parallel), and do not change a
    bytearray while it is being processed.

    See Also
    --------
    BlockEqualizer : the same filter for float arrays of shape (frames, channels).

    Examples
    --------
    >>> import numpy as np
    >>> eq = StreamingEqualizer(48000, 2, "s16le",
    ...                         [{"type": "peaking", "freq": 1000, "q": 1, "gain_db": 6}])
    >>> data = np.arange(8, dtype="<i2").tobytes()      # 4 stereo frames
    >>> out = eq.process(data[:3]) + eq.process(data[3:])  # split mid-sample
    >>> len(out)
    16
    """

    _kernel = None  # with eq._chunks, loaded only if _process_frames_into is used

    def __init__(self, sample_rate, channels, sample_format, bands, preamp_db=0.0):
        super().__init__(sample_rate, channels, sample_format, bands, preamp_db)
        # The bytes of an incomplete frame wait here, and short chunks are
        # joined to them here.
        self._buffer_bytes = max(BUFFER_BYTES, 2 * self.frame_bytes)
        self._in = np.zeros(self._buffer_bytes, dtype=np.uint8)
        self._in_view = memoryview(self._in)
        if self._c_kernel is not None:
            # The C object holds the buffer and engine arrays (so they outlive
            # it) and the cfunc that owns the kernel's code.
            self._chunks = _chunks.Chunks(self._in, self._engine, self.frame_bytes,
                                          self._c_kernel.address, SHORT_CHUNK_BYTES,
                                          InvalidTypeError, self._c_kernel)
        else:
            self._chunks = _PyChunks(self._in, self._engine, self._zi, self.frame_bytes,
                                     self._kernel, self._kernel_short, self._wide)
        if type(self).process is StreamingEqualizer.process:
            self.process = self._chunks.process  # no Python frame of ours per call

    def _load_kernels(self):
        """Load the C function for ``eq._chunks``, or without it the two Python entries."""
        wide = self._wide
        if _chunks is not None:
            self._c_kernel = _load_kernel(("c-bytes", wide), lambda: _c_entry(wide))
            return
        self._c_kernel = None
        super()._load_kernels()
        address = self._engine_address
        self._kernel_short = _load_kernel(("bytes-short", wide), lambda: _compiled_entry(
            _kernels.process_bytes_holding_gil, (address, 0, address, address, wide)))

    @property
    def _n_pending(self):
        return self._chunks.n_pending

    @_n_pending.setter
    def _n_pending(self, value):
        self._chunks.n_pending = value

    @property
    def pending_bytes(self):
        """Bytes of an incomplete frame held until the rest arrives."""
        return self._n_pending

    def process(self, data):
        """Equalize the next chunk of the stream.

        Parameters
        ----------
        data : bytes, bytearray or memoryview
            The next bytes of the stream, of any length (0 included), split
            anywhere (mid-sample or mid-frame).

        Returns
        -------
        bytes
            Every complete frame that this chunk completes, equalized. A
            partial frame at the end is held for the next call.

        Raises
        ------
        InvalidTypeError
            If `data` is not bytes-like (a ``str``, for example).
        """
        # The instance's `process` is its bookkeeping's own method (C, or
        # _PyChunks without eq._chunks); this runs when called through the class.
        return self._chunks.process(data)

    def _process_frames_into(self, src, dst):
        if self._kernel is None:
            _FrameEqualizer._load_kernels(self)
        super()._process_frames_into(src, dst)

    def flush(self):
        """End the stream.

        Returns
        -------
        bytes
            Always ``b""``: with zero latency nothing is held back but the
            bytes of an incomplete frame.

        Raises
        ------
        IncompleteFrameError
            If the stream ended inside a frame. Its ``leftover`` attribute
            holds those bytes; they are cleared from the equalizer, and the
            filter state is kept, so :meth:`process` can go on.
        """
        if self._n_pending:
            leftover = self._in_view[:self._n_pending].tobytes()
            self._n_pending = 0
            raise IncompleteFrameError(
                f"stream ended {len(leftover)} byte(s) into a {self.frame_bytes}-byte frame "
                f"({self.channels} channel(s) of {self.format.name}); "
                "those bytes were not processed",
                leftover,
                self.frame_bytes,
            )
        return b""

    def reset(self):
        """Clear the filter state, the pending bytes and the clip count; keep the bands."""
        self._reset_state()
        self._n_pending = 0
        self.clipped_samples = 0

    def __repr__(self):
        return (f"StreamingEqualizer(sample_rate={self.sample_rate!r}, "
                f"channels={self.channels!r}, sample_format={self.format.name!r}, "
                f"bands={[b.to_dict() for b in self.bands]!r}, preamp_db={self.preamp_db!r})")


class BlockEqualizer(_FilterBank):
    """Equalize float audio block by block, with state carried between blocks.

    Parameters
    ----------
    sample_rate : int
        Sample rate in Hz.
    channels : int
        Channels, ``>= 1``.
    bands : iterable of Band or dict
        The bands in the order they are applied.
    preamp_db : float, optional
        Gain applied to the input before the bands. Default 0.

    See Also
    --------
    StreamingEqualizer : the same filter on raw PCM bytes.

    Examples
    --------
    >>> import numpy as np
    >>> from scipy.signal import sosfilt
    >>> from eq import design_sos
    >>> bands = [{"type": "lowpass", "freq": 1000, "q": 0.7}]
    >>> x = np.random.default_rng(0).standard_normal((1000, 2))
    >>> beq = BlockEqualizer(48000, 2, bands)
    >>> y = np.concatenate([beq.process(x[:300]), beq.process(x[300:])])
    >>> bool(np.allclose(y, sosfilt(design_sos(bands, 48000), x, axis=0)))
    True
    """

    def __init__(self, sample_rate, channels, bands, preamp_db=0.0):
        super().__init__(sample_rate, channels, bands, preamp_db)
        # Blocks are float64 arrays: the byte kernel reading and writing native
        # float64, which scales by nothing and clips nothing.
        self._use_format(get_format("f64le"))

    def process(self, block, out=None):
        """Filter the next block.

        Parameters
        ----------
        block : array_like, shape (frames, channels)
            Float samples (a 1-D array is taken as mono).
        out : ndarray, shape (frames, channels), float64, optional
            Where to write the result (may be `block` itself when that is a
            C-contiguous float64 array).

        Returns
        -------
        ndarray, shape (frames, channels), float64
            The filtered block.
        """
        x = np.asarray(block)
        if x.ndim == 1 and self.channels == 1:
            x = x[:, None]
        if x.ndim != 2 or x.shape[1] != self.channels:
            raise InvalidParameterError(
                f"block must have shape (frames, {self.channels}), got {np.shape(block)!r}"
            )
        if x.dtype.kind not in "fiu":
            raise InvalidTypeError(f"block must hold real numbers, got dtype {x.dtype}")
        x = np.ascontiguousarray(x, dtype=np.float64)
        if out is None:
            out = np.empty_like(x)
        elif (not isinstance(out, np.ndarray) or out.shape != x.shape
              or out.dtype != np.float64 or not out.flags.c_contiguous
              or not out.flags.writeable):
            raise InvalidParameterError(
                f"out must be a writeable C-contiguous float64 array of shape {x.shape!r}"
            )
        if x.shape[0]:
            self._kernel(address_of(x), x.shape[0], self._engine_address, address_of(out),
                         self._wide)
        return out

    def reset(self):
        """Clear the filter state; keep the bands."""
        self._reset_state()

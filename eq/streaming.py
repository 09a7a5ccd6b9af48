"""Streaming equalizers: raw PCM bytes in any chunking, and float blocks.

This is the public layer over :mod:`eq._kernels`: it validates arguments,
keeps the bytes of an incomplete frame between calls, and owns the filter
state. The kernels see only whole frames.

:meth:`StreamingEqualizer.process` runs in C when the extension
``eq._chunks`` was built (it needs a C compiler at install time): the
bookkeeping of a call, around the same compiled kernel, then costs a
fraction of what it costs in Python, which is most of the cost of a call on a
few bytes (``benchmarks/`` has the figures). Without it the same steps run in Python, with the same output.
"""

import numbers

import numpy as np

from ._changes import DEFAULT_RAMP_MS, Transitions, ramp_frames
from ._engine import Engine
from ._memory import address_of
from .errors import IncompleteFrameError, InvalidParameterError, InvalidTypeError

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


class _EngineAttributes:
    """The settings both equalizers expose, and their live changes.

    ``self._engine`` is the engine the static path runs; ``self._transitions``
    (:class:`eq._changes.Transitions`) holds it as its only voice unless a change
    is under way. The settings are those of the newest voice: what the output is
    becoming.
    """

    sample_rate = property(lambda self: self._engine.sample_rate, doc="Sample rate in Hz.")
    channels = property(lambda self: self._engine.channels, doc="Channels per frame.")
    bands = property(lambda self: self._transitions.newest.bands,
                     doc="The bands, a tuple of Band (during a crossfade, the incoming ones).")
    preamp_db = property(lambda self: self._transitions.newest.preamp_db,
                         doc="Gain before the bands, in dB (during a crossfade, the incoming one).")

    @property
    def frames_processed(self):
        """Frames equalized so far (since the start or :meth:`reset`): the index of the next
        frame, the unit of ``at_frame`` in :meth:`set_bands`."""
        return self._transitions.position

    @property
    def pending_changes(self):
        """The changes not yet begun: a list of ``(at_frame, bands, preamp_db)``, in the order
        they are due."""
        return [(at, engine.bands, engine.preamp_db) for at, engine in self._transitions.pending]

    @property
    def sos(self):
        """The second-order sections, ``(n_sections, 6)`` in scipy's layout (a copy).

        Raises
        ------
        InvalidParameterError
            If the channels do not all have the same bands: see :meth:`channel_sos`.
        """
        return self._transitions.newest.sos

    def channel_sos(self, channel):
        """The second-order sections that filter one channel, ``(n, 6)`` (a copy).

        Parameters
        ----------
        channel : int
            Index from 0.
        """
        return self._transitions.newest.channel_sos(channel)

    def get_state(self):
        """Return a copy of the filter state, shape ``(n_sections, 2, channels)``.

        This is scipy's layout: the ``zi`` that :func:`scipy.signal.sosfilt`
        takes and returns for input of shape ``(frames, channels)`` filtered
        along ``axis=0``. With bands on some channels only, ``n_sections`` is the
        longest channel's cascade, and a shorter one's last rows stay zero. During
        a crossfade, the state of the incoming filter.
        """
        return self._transitions.newest.get_state()

    def set_state(self, zi):
        """Set the filter state from an array of shape ``(n_sections, 2, channels)``
        (scipy's ``zi``, see :meth:`get_state`)."""
        self._transitions.newest.set_state(zi)

    def set_bands(self, bands, *, at_frame=None, ramp_ms=DEFAULT_RAMP_MS, preamp_db=None):
        """Change the bands while the stream runs, without a click.

        From frame `at_frame` on, a filter with the new bands runs beside the old
        one and the output crossfades to it over `ramp_ms` (a raised cosine); the
        bands kept keep their state, new or changed ones start from rest (see
        :mod:`eq._changes`). The output stays the same however the stream is split.

        Parameters
        ----------
        bands : iterable of Band or dict
            The new bands (checked now: an invalid band raises here, and nothing changes).
        at_frame : int or None, optional
            Stream index of the first frame that the change reaches (see
            :attr:`frames_processed`); not one already equalized. None: the next frame.
        ramp_ms : float, optional
            Length of the crossfade, from 0 (a switch on one frame) to 60 000 ms.
            Default 20.
        preamp_db : float or None, optional
            The new preamp; None keeps the last one set.

        Returns
        -------
        int
            The frame where the change starts. Changes due on the same frame: the last
            one wins. While three crossfades overlap, a change waits for the oldest to end.

        Raises
        ------
        InvalidParameterError, InvalidTypeError
            For an invalid band, preamp, ramp or frame.
        """
        target = self._transitions.target
        engine = target.with_bands(bands, target.preamp_db if preamp_db is None else preamp_db)
        frame = self._transitions.schedule(engine, at_frame, ramp_frames(ramp_ms, self.sample_rate))
        self._changes_begin()
        return frame

    def set_band(self, index, band, *, at_frame=None, ramp_ms=DEFAULT_RAMP_MS):
        """Change one band (the others as last set), as :meth:`set_bands` does.

        Parameters
        ----------
        index : int
            Position of the band, from 0, in the bands of the change due last (by frame;
            the current bands when none is pending).
        band : Band or dict
        """
        bands = list(self._transitions.target.bands)
        if isinstance(index, bool) or not isinstance(index, numbers.Integral):
            raise InvalidTypeError(f"band index must be an int, got {index!r}")
        if not 0 <= index < len(bands):
            raise InvalidParameterError(
                f"band index must be from 0 to {len(bands) - 1}, got {index!r}" if bands
                else f"there is no band to change (band index {index!r}): use set_bands")
        bands[int(index)] = band
        return self.set_bands(bands, at_frame=at_frame, ramp_ms=ramp_ms)


class _PyChunks:
    """The bookkeeping of :meth:`StreamingEqualizer.process` in Python.

    Used where the C extension ``eq._chunks`` was not built; the same
    interface as its ``Chunks`` (``process(data)`` and ``_n_pending``) and the
    same output. This runs once per chunk, and chunks of a few bytes are
    common in pipes: short chunks are copied into `buffer` after the pending
    bytes and filtered from there into a preallocated output, so no bytes are
    concatenated, and the shortest hold the GIL (:data:`SHORT_CHUNK_BYTES`,
    `kernel_short`); chunks longer than `buffer` are filtered where they lie.

    Parameters
    ----------
    buffer : ndarray of uint8
        Holds the pending bytes; at least two frames.
    engine : Engine
        The equalizer's engine (its state is put back if a long chunk's
        output cannot be allocated).
    kernel, kernel_short : callable
        The byte kernel's entries that release and hold the GIL (see
        :meth:`Engine.frames_kernel`).
    """

    def __init__(self, buffer, engine, kernel, kernel_short):
        self._n_pending = 0
        self._divert = None  # or f(self, data), which process() hands every call to
        # The kernels take addresses (eq._memory): these arrays live as long as self.
        self._buffer, self._engine = buffer, engine
        self._in_view = memoryview(buffer)
        self._in_address = address_of(buffer)
        self._engine_address = engine.address
        self._out = np.empty(buffer.size, dtype=np.uint8)
        self._out_view = memoryview(self._out)
        self._out_address = address_of(self._out)
        # The last output slice, reused while the chunk size stays the same.
        self._out_slice = self._out_view[:0]
        self._frame_bytes = engine.frame_bytes
        self._kernel, self._kernel_short = kernel, kernel_short
        self._wide, self._own = engine.wide, engine.own

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
        if self._divert is not None:
            return self._divert(self, data)
        if type(data) is not bytes and type(data) is not bytearray:
            if not isinstance(data, memoryview):
                raise InvalidTypeError(
                    "process() takes bytes, bytearray or memoryview, "
                    f"got {type(data).__name__}"
                )
            data = bytes(data)  # its raw bytes, whatever its item format
        n_pending = self._n_pending
        total = n_pending + len(data)
        frame_bytes = self._frame_bytes
        if total > len(self._in_view):
            return self._process_long(data, n_pending, total)
        in_view = self._in_view
        in_view[n_pending:total] = data
        rest = total % frame_bytes
        self._n_pending = rest
        used = total - rest
        if not used:
            return b""
        kernel = self._kernel_short if used <= SHORT_CHUNK_BYTES else self._kernel
        kernel(self._in_address, used // frame_bytes, self._engine_address, self._out_address,
               self._wide, self._own)
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
        engine = self._engine
        state, clipped, frames = engine.zi.copy(), engine.clipped_samples, engine.frames
        self._kernel(address_of(src), used // self._frame_bytes, self._engine_address,
                     address_of(dst), self._wide, self._own)
        try:
            out = dst.tobytes()
        except MemoryError:
            # Nothing is lost: the filter goes back to where it was, and the
            # same chunk can be passed again.
            engine.zi[...] = state
            engine.clipped_samples = clipped
            engine.frames = frames
            raise
        self._in_view[:rest] = data[used:]
        self._n_pending = rest
        return out


_STREAMING_DOC = """Equalize a stream of raw interleaved PCM bytes, split anywhere.

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
        ``freq_hz``, ``q``, ``gain_db``.
    preamp_db : float, optional
        Gain applied to the input before the bands. Default 0.
    dither : None, "none" or "tpdf", optional
        ``"tpdf"`` adds triangular dither of +-1 LSB peak before integer samples are
        rounded (not for float formats); a sample that the noise pushes past full scale is
        saturated and counted in :attr:`clipped_samples`. Default None (the same as
        ``"none"``): the output is the exact rounding.
    dither_seed : int, optional
        Seed of the dither noise, from 0 to 2**52 - 1. The noise is a function of the
        seed and each sample's index in the stream, so the output is reproducible and
        the same for any split. Default 0.

    Raises
    ------
    InvalidParameterError
        (a ``ValueError``) for an invalid rate, channel count, format, band or dither.

    Notes
    -----
    *Zero added latency*: after every call to :meth:`process`, the total
    output equals the complete frames received so far, times the frame size.
    The bytes of an incomplete frame are held until the frame completes.
    The output bytes do not depend on how the input was split.

    Bands can act on some channels only (``Band(..., channels=["L"])``, see
    :mod:`eq.channels`), and change while the stream runs without a click
    (:meth:`set_bands`, :meth:`set_band`).

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
    ...                         [{"type": "peaking", "freq_hz": 1000, "q": 1, "gain_db": 6}])
    >>> data = np.arange(8, dtype="<i2").tobytes()      # 4 stereo frames
    >>> out = eq.process(data[:3]) + eq.process(data[3:])  # split mid-sample
    >>> len(out)
    16
    """


class _Stream(_EngineAttributes):
    """What a StreamingEqualizer is besides its bookkeeping (see :class:`StreamingEqualizer`)."""

    def __init__(self, sample_rate, channels, sample_format, bands, preamp_db=0.0, *,
                 dither=None, dither_seed=0):
        engine = Engine(sample_rate, channels, bands, preamp_db, sample_format)
        engine.dither_seed = dither_code(dither, dither_seed, engine.format)
        # The bytes of an incomplete frame wait here, and short chunks are joined to them here.
        buffer = np.zeros(max(BUFFER_BYTES, 2 * engine.frame_bytes), dtype=np.uint8)
        self._start_bookkeeping(buffer, engine)  # raises, changing nothing, on an initialised object
        self._engine, self._in = engine, buffer
        self._transitions = Transitions(engine)

    @property
    def dither(self):
        """``"tpdf"`` or None."""
        return "tpdf" if self._engine.dither_seed else None

    def _changes_begin(self):
        # process() (the C method, or _PyChunks') hands every call to _process_changing while
        # changes are under way, however it is reached (a saved bound method too). The plain
        # function holds no reference to self.
        self._set_divert(_Stream._process_changing)

    def _process_changing(self, data):
        """:meth:`process` while a change is scheduled or crossfading (see :mod:`eq._changes`)."""
        if type(data) is not bytes and type(data) is not bytearray and not isinstance(
                data, memoryview):
            raise InvalidTypeError(
                f"process() takes bytes, bytearray or memoryview, got {type(data).__name__}")
        n_pending = self._n_pending
        joined = self._in[:n_pending].tobytes() + bytes(data)
        frame_bytes = self.frame_bytes
        rest = len(joined) % frame_bytes
        used = len(joined) - rest
        src = np.frombuffer(joined, dtype=np.uint8)
        dst = np.empty(used, dtype=np.uint8)
        if used:
            self._transitions.run(address_of(src), used // frame_bytes, address_of(dst))
        self._in[:rest] = src[used:]
        self._n_pending = rest
        if self._transitions.idle:
            self._changes_end()
        return dst.tobytes()

    def _changes_end(self):
        """Back to the static path, on the one voice left."""
        engine = self._transitions.voices[0]
        self._bind_engine(engine)
        self._engine = engine
        self._set_divert(None)

    format = property(lambda self: self._engine.format, doc="The :class:`SampleFormat`.")
    frame_bytes = property(lambda self: self._engine.frame_bytes, doc="Bytes per frame.")

    @property
    def clipped_samples(self):
        """Integer samples saturated so far (always 0 for float formats, which are not clipped)."""
        return self._transitions.clipped_samples

    @property
    def pending_bytes(self):
        """Bytes of an incomplete frame held until the rest arrives."""
        return self._n_pending

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
        n_pending = self._n_pending
        if n_pending:
            leftover = self._in[:n_pending].tobytes()
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
        """Clear the filter state, the pending bytes, the clip count and the frame count; keep
        the bands (those of the last change scheduled, which takes effect now)."""
        self._transitions.settle()
        self._changes_end()
        self._n_pending = 0

    def __repr__(self):
        return (f"{type(self).__name__}(sample_rate={self.sample_rate!r}, "
                f"channels={self.channels!r}, sample_format={self.format.name!r}, "
                f"bands={[b.to_dict() for b in self.bands]!r}, preamp_db={self.preamp_db!r}"
                + (f", dither='tpdf', dither_seed={self._engine.dither_seed - 1!r})"
                   if self.dither else ")"))


def dither_code(dither, seed, fmt):
    """The engine's ``H_DITHER`` value for `dither` and `seed` (0 for none), or raise naming them."""
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise InvalidTypeError(f"dither_seed must be an int from 0 to 2**52 - 1, got {seed!r}")
    if not 0 <= seed < 2 ** 52:
        raise InvalidParameterError(f"dither_seed must be an int from 0 to 2**52 - 1, got {seed!r}")
    if dither is None or (isinstance(dither, str) and dither == "none"):
        return 0
    if not (isinstance(dither, str) and dither == "tpdf"):
        raise InvalidParameterError(f"dither must be None, 'none' or 'tpdf', got {dither!r}")
    if fmt.is_float:
        raise InvalidParameterError(
            f"dither is for integer output formats; {fmt.name} samples are not rounded")
    return int(seed) + 1


class _PythonStreamingEqualizer(_Stream, _PyChunks):
    """A :class:`StreamingEqualizer` that keeps its books in Python (:class:`_PyChunks`):
    what ``StreamingEqualizer`` is where ``eq._chunks`` was not built, and what tests compare
    the C bookkeeping with."""

    def _start_bookkeeping(self, buffer, engine):
        if hasattr(self, "_engine"):
            raise InvalidParameterError("this equalizer is already initialised; make a new one")
        _PyChunks.__init__(self, buffer, engine, engine.frames_kernel(), engine.short_frames_kernel())

    def _bind_engine(self, engine):
        self._engine_address = engine.address
        self._kernel, self._kernel_short = engine.frames_kernel(), engine.short_frames_kernel()
        self._own = engine.own

    def _set_divert(self, function):
        self._divert = function


if _chunks is not None:
    class StreamingEqualizer(_Stream, _chunks.Chunks):
        __doc__ = _STREAMING_DOC

        def _start_bookkeeping(self, buffer, engine):
            c_kernel = engine.c_kernel()
            # process() is the C method itself, inherited: no Python frame per call. The C
            # part holds the buffer and engine arrays (so they outlive it) and the cfunc that
            # owns the kernel's code.
            _chunks.Chunks.__init__(self, buffer, engine.array, engine.frame_bytes,
                                    c_kernel.address, SHORT_CHUNK_BYTES, InvalidTypeError, c_kernel)

        def _bind_engine(self, engine):
            c_kernel = engine.c_kernel()
            self._set_engine(engine.array, c_kernel.address, c_kernel)
else:  # pragma: no cover - installed without a C compiler
    class StreamingEqualizer(_PythonStreamingEqualizer):
        __doc__ = _STREAMING_DOC


class BlockEqualizer(_EngineAttributes):
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

    Notes
    -----
    Blocks are float arrays of shape ``(frames, channels)``, full scale 1.0;
    a mono equalizer also takes 1-D blocks ``(frames,)``. The output has the
    shape of the input, as :func:`scipy.signal.sosfilt` along ``axis=0``.
    Integer arrays are refused rather than guessed at: divide them by their
    full scale first (``x / 32768.0`` for int16), as soundfile does when it
    reads integer files as float.

    See Also
    --------
    StreamingEqualizer : the same filter on raw PCM bytes.

    Examples
    --------
    >>> import numpy as np
    >>> from scipy.signal import sosfilt
    >>> from eq import design_sos
    >>> bands = [{"type": "lowpass", "freq_hz": 1000, "q": 0.7}]
    >>> x = np.random.default_rng(0).standard_normal((1000, 2))
    >>> beq = BlockEqualizer(48000, 2, bands)
    >>> y = np.concatenate([beq.process(x[:300]), beq.process(x[300:])])
    >>> bool(np.allclose(y, sosfilt(design_sos(bands, 48000), x, axis=0)))
    True
    """

    def __init__(self, sample_rate, channels, bands, preamp_db=0.0):
        # Blocks are float64 arrays: the byte kernel reading and writing native
        # float64, which scales by nothing and clips nothing.
        self._engine = Engine(sample_rate, channels, bands, preamp_db, "f64le")
        self._transitions = Transitions(self._engine)

    def process(self, block, out=None):
        """Filter the next block.

        Parameters
        ----------
        block : array_like of float, shape (frames, channels), or (frames,) when mono
            Float samples, full scale 1.0.
        out : ndarray of float64, the shape of `block`, optional
            Where to write the result (may be `block` itself when that is a
            C-contiguous float64 array).

        Returns
        -------
        ndarray of float64, the shape of `block`
            The filtered block.

        Raises
        ------
        InvalidTypeError
            If `block` does not hold floats (integers, booleans, complex numbers)
            or `out` is not a float64 array.
        InvalidParameterError
            If a shape does not match the channels or `out` cannot be written.
        """
        x = np.asarray(block)
        channels = self.channels
        if x.dtype.kind != "f":
            half = float(2 ** (8 * x.dtype.itemsize - 1))
            hint = {"i": f"; divide by the full scale first (x / {half:g} for {x.dtype})",
                    "u": f"; remove the offset and scale first ((x - {half:g}) / {half:g} for {x.dtype})",
                    }.get(x.dtype.kind, "")
            raise InvalidTypeError(f"block must hold floats, got dtype {x.dtype}{hint}")
        if not (x.ndim == 2 and x.shape[1] == channels or x.ndim == 1 and channels == 1):
            expected = "(frames, 1) or (frames,)" if channels == 1 else f"(frames, {channels})"
            raise InvalidParameterError(f"block must have shape {expected}, got {x.shape!r}")
        x = np.ascontiguousarray(x, dtype=np.float64)
        if out is None:
            out = np.empty_like(x)
        elif not isinstance(out, np.ndarray) or out.dtype != np.float64:
            raise InvalidTypeError(
                f"out must be a float64 ndarray, got {type(out).__name__}"
                + (f" of {out.dtype}" if isinstance(out, np.ndarray) else ""))
        elif out.shape != x.shape or not out.flags.c_contiguous or not out.flags.writeable:
            raise InvalidParameterError(
                f"out must be a writeable C-contiguous array of shape {x.shape!r}, got shape "
                f"{out.shape!r}")
        if self._transitions.idle:
            self._engine.process_frames_into(x, out)
        else:
            self._transitions.run(address_of(x), x.shape[0], address_of(out))
            self._engine = self._transitions.voices[0]
        return out

    def _changes_begin(self):
        pass  # process() looks at the transitions itself

    def reset(self):
        """Clear the filter state and the frame count; keep the bands (those of the last change
        scheduled, which takes effect now)."""
        self._transitions.settle()
        self._engine = self._transitions.voices[0]

    def __repr__(self):
        return (f"BlockEqualizer(sample_rate={self.sample_rate!r}, channels={self.channels!r}, "
                f"bands={[b.to_dict() for b in self.bands]!r}, preamp_db={self.preamp_db!r})")

"""The filter engine: coefficients, state and sample format in one array, and its kernel.

Every equalizer of the package (bytes split anywhere, float blocks, the blocks
of a file) runs on an :class:`Engine`. It is the one place that writes the
engine array whose layout :mod:`eq._kernels` defines (header slots, sections,
state, tile, scratch): the compiled kernels need one address for all of it.
"""

import math
import numbers
import sys
import threading

import numpy as np

from . import _kernels
from ._memory import address_of
from .channels import resolve_channels
from .design import MAX_ABS_GAIN_DB, as_bands, band_sections, check_sample_rate
from .errors import EqError, InvalidParameterError, InvalidTypeError
from .formats import get_format

MAX_CHANNELS = 1024
"""Upper bound on channels, to turn a wrong argument into an error instead of a huge allocation."""

COMPILE_NOTICE_S = 5.0
"""Seconds a first kernel load may take before :data:`compile_notice` is called."""

compile_notice = None
"""A function of no arguments, or None. Called (from a timer thread) when the
first load of a kernel in this process takes longer than
:data:`COMPILE_NOTICE_S`, which means numba is compiling it for this machine
(loading from the cache takes well under a second); the ``eq`` command sets
it to print a line on standard error."""

_loaded_kernels = {}


def load_kernel(key, load):
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


def compiled_entry(dispatcher, args):
    """The compiled version of `dispatcher` for the types of `args`, to call directly.

    Calling a numba dispatcher costs time before any work: it
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


def check_channels(channels):
    """Return `channels` as an int, or raise naming the value."""
    if isinstance(channels, bool) or not isinstance(channels, numbers.Real):
        raise InvalidTypeError(f"channels must be a whole number >= 1, got {channels!r}")
    if not isinstance(channels, numbers.Integral):
        raise InvalidParameterError(f"channels must be a whole number >= 1, got {channels!r}")
    if not 1 <= channels <= MAX_CHANNELS:
        raise InvalidParameterError(
            f"channels must be between 1 and {MAX_CHANNELS}, got {channels!r}"
        )
    return int(channels)


def preamp_gain(preamp_db):
    """Linear gain of `preamp_db`, or raise naming the value."""
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


def channel_cascades(bands, sample_rate, channels):
    """The distinct cascades of a stream's channels, and the runs of channels that share one.

    Parameters
    ----------
    bands : tuple of Band
        Each acting on every channel or on its selection (:mod:`eq.channels`).
    sample_rate : int
    channels : int

    Returns
    -------
    cascades : list of ndarray, each ``(n, 6)``
        Distinct per-channel cascades, in order of first use (one when every band is
        on every channel). A channel no band acts on has the empty cascade.
    runs : list of (first_channel, cascade_indices)
        Maximal runs of consecutive channels whose cascades have the same number of
        sections, with each channel's cascade: the kernels filter a run's channels
        together, in SIMD lanes, each lane with its own coefficients.
    """
    all_sos = band_sections(bands, sample_rate)
    selected = [resolve_channels(band.channels, channels) for band in bands]
    keys, cascades, runs = [], [], []
    for channel in range(channels):
        key = tuple(i for i, chosen in enumerate(selected) if channel in chosen)
        if key not in keys:
            keys.append(key)
            cascades.append(all_sos[list(key)].reshape(len(key), 6))
        index = keys.index(key)
        if runs and len(cascades[runs[-1][1][0]]) == len(cascades[index]):
            runs[-1][1].append(index)
        else:
            runs.append((channel, [index]))
    return cascades, runs


class Engine:
    """A cascade of biquads for interleaved frames of one sample format.

    Parameters
    ----------
    sample_rate : int
        In Hz.
    channels : int
    bands : iterable of Band or dict
    preamp_db : float
    sample_format : str or SampleFormat
        How frames are read and written by :meth:`process_frames_into`.
    held_bits : int, optional
        For a signed little-endian integer format only: the samples are that
        many bits left-aligned in the format (libsndfile reads and writes
        24-bit audio as int32 and 8-bit audio as int16 with the low bits
        zero). Input is read as it is; output is rounded and saturated to
        `held_bits` bits with the low bits zero again.

    Attributes
    ----------
    array : ndarray of float64
        The engine array; ``address`` is where it lives, for the kernels.
    wide : None or True
        The kernels' ``wide`` argument: True from 4 channels on (4-lane vectors).
    own : None or True
        The kernels' ``own`` argument: True when channels with cascades of their own run
        side by side in one vector (bands on some channels).
    """

    def __init__(self, sample_rate, channels, bands, preamp_db, sample_format, held_bits=None):
        self.sample_rate = check_sample_rate(sample_rate)
        self.channels = check_channels(channels)
        self.bands = as_bands(bands)
        gain = preamp_gain(preamp_db)
        self.preamp_db = float(preamp_db)
        self.format = get_format(sample_format)
        self.frame_bytes = self.format.bytes_per_sample * self.channels
        cascades, runs = channel_cascades(self.bands, self.sample_rate, self.channels)
        n_sections = max(len(sos) for sos in cascades)
        # A run's cascades in the sos area: one for the run when its channels share it, else
        # one per channel, each the next (the lane stride, 6 slots per section, apart).
        blocks = [[cascades[indices[0]]] if len(set(indices)) == 1
                  else [cascades[i] for i in indices] for first, indices in runs]
        sos_size = sum(6 * len(block[0]) * len(block) for block in blocks)
        self.array = np.zeros(_kernels.engine_size(n_sections, self.channels, len(runs),
                                                   sos_size))
        header, run_table, sos_area, self._zi = _kernels.engine_views(
            self.array, n_sections, self.channels, len(runs), sos_size)
        offset = 0
        for r, ((first, indices), block) in enumerate(zip(runs, blocks)):
            k = len(block[0])
            run_table[r] = (first, len(indices), offset, k, 6 * k if len(block) > 1 else 0)
            for sos in block:
                sos_area[offset:offset + 6 * k] = sos.ravel()
                offset += 6 * k
        self._channel_set = [i for first, indices in runs for i in indices]
        self._cascades = cascades
        header[_kernels.H_GAIN] = gain
        self._held_bits = held_bits
        self._write_format(header, held_bits)
        # The kernels take addresses (eq._memory): the array lives as long as self.
        self.address = address_of(self.array)
        self.wide = True if self.channels >= 4 else None
        self.own = True if any(row[4] for row in run_table) else None
        self._frames_kernel = None

    def _write_format(self, header, held_bits):
        fmt = self.format
        kind, code = _kernel_format(fmt)
        bits = fmt.bits
        if held_bits is not None:
            if kind != _kernels.KIND_INT or not fmt.signed or not 1 < held_bits <= fmt.bits:
                raise InvalidParameterError(
                    "left-aligned samples need a signed little-endian format of 8, 16 or 32 "
                    f"bits and 1 < bits <= {fmt.bits}, got {fmt.name} and {held_bits!r}")
            bits = held_bits
        header[_kernels.H_BPS] = fmt.bytes_per_sample
        header[_kernels.H_KIND] = kind
        header[_kernels.H_CODE] = code
        header[_kernels.H_OFFSET] = 128 if fmt.name == "u8" else 0
        header[_kernels.H_SCALE] = fmt.scale if fmt.is_float else 2.0 ** (bits - 1)
        header[_kernels.H_LO] = -2.0 ** (bits - 1)
        header[_kernels.H_HI] = 2.0 ** (bits - 1) - 1
        header[_kernels.H_STEP] = 2.0 ** (fmt.bits - bits)

    def with_bands(self, bands, preamp_db):
        """A new engine with other bands and preamp, the same rate, channels and format, and
        state zero."""
        return Engine(self.sample_rate, self.channels, bands, preamp_db, self.format,
                      self._held_bits)

    # ------------------------------------------------------------------ kernels
    def frames_kernel(self):
        """The byte kernel that releases the GIL, called as
        ``(src_address, n_frames, self.address, dst_address, self.wide, self.own)``."""
        if self._frames_kernel is None:
            address, wide, own = self.address, self.wide, self.own
            # Zero frames (the addresses are not read): compiles or loads the kernel, no effect.
            self._frames_kernel = load_kernel(("bytes", wide, own), lambda: compiled_entry(
                _kernels.process_bytes, (address, 0, address, address, wide, own)))
        return self._frames_kernel

    def short_frames_kernel(self):
        """The byte kernel that holds the GIL (for a few frames), called as :meth:`frames_kernel`."""
        address, wide, own = self.address, self.wide, self.own
        return load_kernel(("bytes-short", wide, own), lambda: compiled_entry(
            _kernels.process_bytes_holding_gil, (address, 0, address, address, wide, own)))

    def mix_kernel(self, own=None):
        """The kernel that crossfades several engines (:func:`eq._kernels.process_bytes_mix`),
        called with `own` True if any of them has channels with cascades of their own."""
        wide, address = self.wide, self.address

        def load():
            # Zero frames: compiles or loads the kernel (inside load_kernel's notice), no effect.
            voices = np.array([address], dtype=np.int64)
            zeros = np.zeros(1, dtype=np.int64)
            _kernels.process_bytes_mix(address, 0, voices, zeros, zeros, address, wide, own)
            return _kernels.process_bytes_mix

        return load_kernel(("mix", wide, own), load)

    def c_kernel(self):
        """The byte kernel compiled as a C function (a numba ``cfunc``, cached on disk like the
        other kernels), for the extension ``eq._chunks``; its ``address`` is what the extension
        calls, with the arguments of :meth:`frames_kernel` but `wide` and `own`."""
        wide, own = self.wide, self.own

        def load():
            from numba import cfunc

            return cfunc(_kernels.C_ENTRY_SIGNATURE, cache=True)(
                _kernels.BYTES_ENTRIES[wide, own])

        return load_kernel(("c-bytes", wide, own), load)

    def process_frames_into(self, src, dst):
        """Equalize whole frames from one array into another, without copies.

        `src` and `dst` are C-contiguous arrays holding samples of the engine's
        format, the same size and a whole number of frames; `dst` may be `src`.
        """
        if (src.nbytes % self.frame_bytes or dst.nbytes != src.nbytes
                or not src.flags.c_contiguous or not dst.flags.c_contiguous
                or not dst.flags.writeable):
            raise InvalidParameterError(
                f"process_frames_into needs C-contiguous arrays of whole {self.frame_bytes}-byte "
                f"frames, a writeable destination and equal sizes; got {src.nbytes} and "
                f"{dst.nbytes} bytes")
        n_frames = src.nbytes // self.frame_bytes
        if n_frames:
            self.frames_kernel()(address_of(src), n_frames, self.address, address_of(dst),
                                 self.wide, self.own)

    # -------------------------------------------------------------------- state
    @property
    def sos(self):
        """The second-order sections, ``(n_sections, 6)`` (a copy).

        Raises
        ------
        InvalidParameterError
            If the channels do not all have the same bands (see :meth:`channel_sos`).
        """
        if len(self._cascades) > 1:
            raise InvalidParameterError(
                "the channels have different bands, so there is no single cascade: "
                "use channel_sos(channel)")
        return self._cascades[0].copy()

    def channel_sos(self, channel):
        """The second-order sections of one channel, ``(n, 6)`` (a copy)."""
        if isinstance(channel, bool) or not isinstance(channel, numbers.Integral) or not (
                0 <= channel < self.channels):
            raise InvalidParameterError(
                f"channel must be an index from 0 to {self.channels - 1}, got {channel!r}")
        return self._cascades[self._channel_set[channel]].copy()

    @property
    def frames(self):
        """Frames filtered since the start (or the last :meth:`reset`): the stream index of
        the next frame."""
        return int(self.array[_kernels.H_FRAMES])

    @frames.setter
    def frames(self, value):
        self.array[_kernels.H_FRAMES] = value

    @property
    def dither_seed(self):
        """0 for no dither, else the seed of the TPDF dither added before integer rounding."""
        return int(self.array[_kernels.H_DITHER])

    @dither_seed.setter
    def dither_seed(self, seed):
        self.array[_kernels.H_DITHER] = seed

    @property
    def zi(self):
        """The state as the kernels hold it, ``(n_sections, channels, 2)`` (a view)."""
        return self._zi

    def get_state(self):
        """A copy of the filter state in scipy's ``zi`` layout, ``(n_sections, 2, channels)``."""
        return self._zi.transpose(0, 2, 1).copy()

    def set_state(self, zi):
        """Set the filter state from scipy's ``zi`` layout, ``(n_sections, 2, channels)``."""
        shape = (self._zi.shape[0], 2, self.channels)
        try:
            zi = np.asarray(zi, dtype=np.float64)
        except (TypeError, ValueError):
            raise InvalidParameterError(
                f"state must be an array of shape {shape!r}, got {zi!r}") from None
        if zi.shape != shape:
            raise InvalidParameterError(
                f"state must have shape {shape!r} (sections, 2, channels), as scipy's sosfilt "
                f"zi for (frames, channels) input, got {zi.shape!r}")
        if not np.all(np.isfinite(zi)):
            raise InvalidParameterError(f"state must be finite, got {zi!r}")
        self._zi[...] = zi.transpose(0, 2, 1)

    def reset(self):
        """Zero the filter state, the clip count and the frame count."""
        self._zi[...] = 0.0
        self.clipped_samples = 0
        self.frames = 0

    @property
    def clipped_samples(self):
        """Integer samples saturated so far (always 0 for float formats)."""
        return int(self.array[_kernels.H_CLIPPED])

    @clipped_samples.setter
    def clipped_samples(self, value):
        self.array[_kernels.H_CLIPPED] = value

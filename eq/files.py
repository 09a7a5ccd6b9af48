"""Equalize audio files through soundfile, block by block.

The file is never read whole: blocks of ``block_frames`` frames go through
one equalizer, so the filter state runs on across blocks exactly as over one
long array. When the output keeps the input's subtype (16-, 24-, 32- or 8-bit
PCM, float, double), blocks go through the byte kernels as libsndfile reads
them, in one fused pass; other conversions go through a
:class:`~eq.streaming.BlockEqualizer` in float64. Integer PCM is read as
integers and written as integers, rounded to nearest and saturated by eq (not
by libsndfile, whose float-to-integer conversion scales by
``2**(bits-1) - 1`` and so does not invert its own reading); float files stay
float.

With a CPU to spare for a file, a second thread writes the previous block
and reads the next one while a block is equalized.
"""

import contextlib
import errno
import numbers
import os
import struct
import sys
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from .design import as_bands, bands_below_nyquist
from .errors import AudioFileError, EqError, InvalidParameterError, TruncatedInputError
from .formats import get_format
from ._engine import Engine
from ._kernels import _add_tpdf
from .streaming import BlockEqualizer

__all__ = ["FileReport", "FileOutcome", "equalize_file", "equalize_files", "PCM_SUBTYPE_BITS"]

PCM_SUBTYPE_BITS = {"PCM_S8": 8, "PCM_U8": 8, "PCM_16": 16, "PCM_24": 24, "PCM_32": 32}
"""Integer subtypes that are rounded and saturated exactly, with their bit depth."""

_INT32_SCALE = 2.0 ** 31

_UNKNOWN_FRAMES = 2 ** 60
"""libsndfile gives a frame count this large, or larger, when it cannot know it (a pipe)."""


@dataclass(frozen=True)
class FileReport:
    """What :func:`equalize_file` did.

    Attributes
    ----------
    in_path, out_path : str
    sample_rate : int
    channels : int
    frames : int
        Frames written (equal to the frames read).
    format, subtype : str
        soundfile's container format and subtype of the output.
    clipped_samples : int
        Integer output: samples saturated at full scale. Float output is never
        clipped: 0.
    over_full_scale_samples : int
        Float output: samples whose magnitude exceeds 1.0, stored as they are.
        Integer output: 0 (see `clipped_samples`).
    peak_dbfs : float
        Peak magnitude of the output in dB relative to full scale
        (``-inf`` for silence).
    runtime_s : float
        Wall-clock time of the whole job.
    frames_expected : int or None
        Frames the input's header promised, when it says (None for a stream
        of unknown length).
    truncated : bool
        The input ended before `frames_expected` (only with ``allow_truncated``;
        otherwise that is an error).
    dropped_bands : tuple of Band
        Bands left out because they lie at or above Nyquist (``nyquist="drop"``).
    """

    in_path: str
    out_path: str
    sample_rate: int
    channels: int
    frames: int
    format: str
    subtype: str
    clipped_samples: int
    peak_dbfs: float
    runtime_s: float
    over_full_scale_samples: int = 0
    frames_expected: int | None = None
    truncated: bool = False
    dropped_bands: tuple = ()

    @property
    def duration_s(self):
        """Duration of the audio in seconds."""
        return self.frames / self.sample_rate


def _quantize(y, bits):
    """Round ``y`` (full scale 1.0) to ``bits``-bit integers, saturate, and left-align in int32."""
    scale = 2.0 ** (bits - 1)
    r = np.rint(y * scale)
    n_clipped = int(np.count_nonzero((r > scale - 1) | (r < -scale)))
    np.clip(r, -scale, scale - 1, out=r)
    return r.astype(np.int32) << (32 - bits), n_clipped


def container_for_extension(ext):
    """soundfile's container name for a file extension (``"wav"``, ``".aif"``, ``"oga"``), or None.

    Examples
    --------
    >>> container_for_extension(".aif"), container_for_extension("flac"), container_for_extension("xyz")
    ('AIFF', 'FLAC', None)
    """
    import soundfile as sf  # here, not at the top: `eq stream` starts without it

    ext = ext.lstrip(".").upper()
    if ext in sf.available_formats():
        return ext
    return {"AIF": "AIFF", "OGA": "OGG"}.get(ext)


def known_extensions():
    """The extensions :func:`container_for_extension` knows, for messages."""
    import soundfile as sf

    return sorted({e.lower() for e in sf.available_formats()} | {"aif", "oga"})


def _output_format(in_file, out_path, subtype):
    import soundfile as sf  # here, not at the top: `eq stream` starts without it

    ext = os.path.splitext(str(out_path))[1]
    out_format = container_for_extension(ext) if ext else in_file.format
    if out_format is None:
        raise InvalidParameterError(
            f"cannot tell the audio format from the extension of {str(out_path)!r}; "
            f"use one of {', '.join(known_extensions())}")
    if subtype is None:
        subtype = in_file.subtype
        if not sf.check_format(out_format, subtype):
            subtype = sf.default_subtype(out_format)
    elif not isinstance(subtype, str) or not sf.check_format(out_format, subtype.upper()):
        raise InvalidParameterError(
            f"subtype {subtype!r} cannot be written in {out_format} files; expected one of "
            f"{', '.join(sf.available_subtypes(out_format))}"
        )
    return out_format, subtype.upper()


# Subtypes the byte kernels read and write as they are, in one fused pass
# (decode, filter, round, saturate, encode): soundfile dtype, raw format and,
# for integers that libsndfile holds left-aligned in a wider sample, their bits.
_FUSED_SUBTYPES = {"PCM_16": ("int16", "s16le", None), "PCM_32": ("int32", "s32le", None),
                   "PCM_24": ("int32", "s32le", 24), "PCM_U8": ("int16", "s16le", 8),
                   "PCM_S8": ("int16", "s16le", 8), "FLOAT": ("float32", "f32le", None),
                   "DOUBLE": ("float64", "f64le", None)}


def _remove_quietly(path):
    """Delete a half-written output file, if it is there."""
    try:
        os.remove(path)
    except OSError:
        pass


def _usable_cpus():
    """CPUs this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _os_reason(path, exc):
    """What is wrong with `path`, in words, from an OSError or libsndfile's error."""
    code = getattr(exc, "errno", None)
    if code is None or not isinstance(code, int):
        if not os.path.exists(path):
            folder = os.path.dirname(os.path.abspath(path))
            code = errno.ENOENT if os.path.isdir(folder) or not os.path.exists(folder) else None
        elif os.path.isdir(path):
            code = errno.EISDIR
        elif not os.access(path, os.R_OK):
            code = errno.EACCES
    reasons = {errno.ENOENT: "no such file", errno.EACCES: "permission denied",
               errno.EISDIR: "it is a folder", errno.ENOTDIR: "a folder on its path is a file",
               errno.ENOSPC: "the disk is full", errno.EROFS: "the file system is read-only"}
    if code in reasons:
        return reasons[code]
    text = str(exc).strip()
    if text.endswith("System error."):  # libsndfile's word for any OSError
        return "the operating system refused it"
    return text


def _libsndfile_error():
    import soundfile as sf  # here, not at the top: `eq stream` starts without it

    return sf.LibsndfileError


def _open_input(in_path):
    import soundfile as sf  # here, not at the top: `eq stream` starts without it

    try:
        return sf.SoundFile(in_path)
    except (sf.LibsndfileError, OSError) as exc:
        if os.path.isfile(in_path) and os.access(in_path, os.R_OK):
            reason = f"not an audio file that libsndfile can read ({str(exc).strip()})"
        else:
            reason = _os_reason(in_path, exc)
        raise AudioFileError(f"cannot read audio file {str(in_path)!r}: {reason}") from None


def _temporary_output(out_path):
    """A new, empty file next to `out_path` to write into, renamed to `out_path` at the end.

    In the same folder so that the rename is atomic; any interruption leaves
    no file under the name the user asked for that could look complete.
    """
    folder = os.path.dirname(os.path.abspath(out_path))
    name = os.path.basename(str(out_path))
    if os.path.isdir(out_path):
        raise AudioFileError(f"cannot write {str(out_path)!r}: it is a folder")
    if not os.path.isdir(folder):
        what = "is a file" if os.path.exists(folder) else "does not exist"
        raise AudioFileError(f"cannot write {str(out_path)!r}: the folder {folder!r} {what}")
    for _ in range(100):
        tmp = os.path.join(folder, f".{name}.{os.urandom(4).hex()}.part")
        try:
            # 0o666 less the umask, as the file would have been made directly
            os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
        except FileExistsError:
            continue
        except OSError as exc:
            raise AudioFileError(f"cannot write {str(out_path)!r}: cannot create a file in "
                                 f"{folder!r} ({exc.strerror or exc})") from None
        return tmp
    raise AudioFileError(f"cannot write {str(out_path)!r}: no free temporary name in {folder!r}")


def _riff_promised_frames(head, block_align_default):
    """Frames promised by a RIFF/WAVE header's data chunk, or None."""
    pos, fmt_align = 12, block_align_default
    while pos + 8 <= len(head):
        chunk, size = head[pos:pos + 4], struct.unpack_from("<I", head, pos + 4)[0]
        if chunk == b"fmt " and pos + 22 <= len(head):
            fmt_align = struct.unpack_from("<H", head, pos + 20)[0] or block_align_default
        if chunk == b"data":
            # 0 and 0xFFFFFFFF: written to a pipe, length unknown
            return None if size in (0, 0xFFFFFFFF) else size // fmt_align
        pos += 8 + size + (size & 1)
    return None


def _aiff_promised_frames(head):
    """Frames promised by an AIFF/AIFC header's COMM chunk, or None."""
    pos = 12
    while pos + 8 <= len(head):
        chunk, size = head[pos:pos + 4], struct.unpack_from(">I", head, pos + 4)[0]
        if chunk == b"COMM" and pos + 14 <= len(head):
            return struct.unpack_from(">I", head, pos + 10)[0]
        pos += 8 + size + (size & 1)
    return None


def _promised_frames(in_path, src):
    """Frames the header of `in_path` promises, or None when it does not say.

    libsndfile shortens a WAV or AIFF whose data ends early to what is there,
    so their headers are read here; for other containers its count stands.
    """
    if not 0 <= src.frames < _UNKNOWN_FRAMES:
        return None
    try:
        with open(in_path, "rb") as f:
            head = f.read(1 << 16)
    except OSError:
        return src.frames
    width = {"PCM_S8": 1, "PCM_U8": 1, "PCM_16": 2, "PCM_24": 3, "PCM_32": 4, "FLOAT": 4,
             "DOUBLE": 8}.get(src.subtype)
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE" and width:
        return _riff_promised_frames(head, width * src.channels) or src.frames
    if head[:4] == b"FORM" and head[8:12] in (b"AIFF", b"AIFC"):
        return _aiff_promised_frames(head) or src.frames
    return src.frames


class _OutputFile:
    """The output SoundFile, written block by block, closed without an fsync.

    soundfile's ``close()`` calls ``flush()``, libsndfile's ``sf_write_sync``:
    an ``fsync``, which can cost as much as the equalizing itself and queues
    at the disk when several files end at once. Like
    other audio tools, the output is left to the operating system to write
    back (write errors are still raised by each write and by ``sf_close``);
    the rename at the end makes the finished file appear at once.
    """

    def __init__(self, path, shown_path, sample_rate, channels, out_format, subtype):
        import soundfile as sf

        class _NoSyncSoundFile(sf.SoundFile):
            def flush(self):
                """Nothing to do: see :class:`_OutputFile`."""

        try:
            self.file = _NoSyncSoundFile(path, "w", samplerate=sample_rate, channels=channels,
                                         format=out_format, subtype=subtype)
        except (sf.LibsndfileError, OSError) as exc:
            raise AudioFileError(
                f"cannot write audio file {shown_path!r}: {_os_reason(path, exc)}") from None
        self.frames = 0

    def write(self, data):
        """Write a block, or raise OSError if libsndfile took only part of it (a full disk)."""
        try:
            self.file.write(data)
        except AssertionError:  # soundfile checks the count it wrote with an assert
            pass
        expected, self.frames = self.frames + len(data), self.file.frames
        if self.frames != expected:  # also checked where Python runs without asserts
            raise OSError(errno.ENOSPC, f"could write only part of a {len(data)}-frame block")

    def close(self):
        self.file.close()


def _run_now(function, *args):
    """Call ``function(*args)`` now; its result as a done Future (``submit`` without a thread)."""
    done = Future()
    done.set_result(function(*args))
    return done


def _write_then_read(dst, data, src, buffer):
    """Write `data` (unless None) to `dst`, then read the next block of `src` into `buffer`.

    `buffer` may hold `data`: it is read into after the write.
    """
    if data is not None:
        dst.write(data)
    return src.read(out=buffer)


def _peak(y):
    """Largest magnitude in `y`, as a float (``abs`` would overflow at the integer minimum)."""
    return max(-float(np.min(y, initial=0)), float(np.max(y, initial=0)))


@dataclass
class _Totals:
    frames: int = 0
    clipped: int = 0
    over_full_scale: int = 0
    peak: float = 0.0


def _check_dither(dither, dither_seed, out_subtype):
    """The engine's dither code (0 for none) for an output of `out_subtype`, or raise."""
    from .streaming import dither_code

    if dither_code(dither, dither_seed, get_format("s16le")) == 0:  # checks both, always
        return 0
    if out_subtype not in PCM_SUBTYPE_BITS:
        raise InvalidParameterError(
            f"dither is for integer PCM output ({', '.join(PCM_SUBTYPE_BITS)}); "
            f"the output subtype is {out_subtype}")
    return dither_code(dither, dither_seed, get_format("s16le"))


def _block_runner(src, out_subtype, bands, preamp_db, dither_code=0):
    """Pick how blocks of `src` are read and equalized into `out_subtype`.

    Returns ``(read_dtype, run_block)``, where ``run_block(block, totals)``
    returns the data to write and brings `totals` up to date. It may equalize `block` in
    place: blocks are :func:`equalize_file`'s read buffer, read again only
    after the data is written. `dither_code` is :func:`_check_dither`'s.
    """
    rate, channels = src.samplerate, src.channels
    # The byte kernels read raw little-endian samples: libsndfile's arrays are
    # native, so elsewhere every block takes the float path.
    if (src.subtype == out_subtype and out_subtype in _FUSED_SUBTYPES
            and sys.byteorder == "little"):
        dtype, raw_format, bits = _FUSED_SUBTYPES[out_subtype]
        engine = Engine(rate, channels, bands, preamp_db, raw_format, held_bits=bits)
        engine.dither_seed = dither_code
        full_scale = engine.format.scale
        is_float = engine.format.is_float

        def run_fused(block, totals):
            engine.process_frames_into(block, block)
            totals.peak = max(totals.peak, _peak(block) / full_scale)
            if is_float:
                totals.over_full_scale += int(np.count_nonzero(np.abs(block) > 1.0))
            totals.clipped = engine.clipped_samples
            return block

        return dtype, run_fused

    beq = BlockEqualizer(rate, channels, bands, preamp_db)
    in_bits = PCM_SUBTYPE_BITS.get(src.subtype)
    out_bits = PCM_SUBTYPE_BITS.get(out_subtype)
    # Other fixed-range encodings (mu-law, A-law, ADPCM, ...) wrap around in
    # libsndfile rather than saturate: clip them to full scale here.
    float_output = out_subtype in ("FLOAT", "DOUBLE")

    def run_float(block, totals):
        x = block / _INT32_SCALE if in_bits else block
        first_sample = beq.frames_processed * channels
        y = beq.process(x, out=x)
        if out_bits:
            if dither_code:
                # The stream's TPDF noise, keyed by the same sample index (eq._kernels).
                flat = y.reshape(-1)
                _add_tpdf(flat, flat.size, dither_code, first_sample, 2.0 ** (1 - out_bits))
            data, n = _quantize(y, out_bits)
            totals.clipped += n
            totals.peak = max(totals.peak, _peak(data) / _INT32_SCALE)
            return data
        n = int(np.count_nonzero(np.abs(y) > 1.0))
        if float_output:
            totals.over_full_scale += n
        else:
            totals.clipped += n
            np.clip(y, -1.0, 1.0, out=y)
        totals.peak = max(totals.peak, _peak(y))  # of what is written: after any clipping
        return y

    return ("int32" if in_bits else "float64"), run_float


def _pump(src, dst, read_dtype, run_block, block_frames, io_thread, bar):
    """Read, equalize and write every block of `src`; return the :class:`_Totals`."""
    known = 0 <= src.frames < _UNKNOWN_FRAMES
    totals = _Totals()
    # Two block buffers for the whole file (a fresh array per block costs
    # page faults, which threads running other files contend for): block
    # i - 1 is written and block i + 1 read into one (in a second thread
    # with io_thread, else first) while block i is equalized, maybe in
    # place, in the other.
    n_buffer = max(1, min(block_frames, src.frames)) if known else block_frames
    overlap = bool(io_thread) and not (known and src.frames <= n_buffer)
    buffers = [np.empty((n_buffer, src.channels), dtype=read_dtype) for _ in range(2)]
    with (ThreadPoolExecutor(1) if overlap else contextlib.nullcontext()) as io:
        submit = io.submit if overlap else _run_now
        # read() rather than blocks(): it also works on pipes, which cannot seek.
        block = src.read(out=buffers[0])
        data = None
        i = 0
        while len(block):
            i += 1
            io_done = submit(_write_then_read, dst, data, src, buffers[i % 2])
            data = run_block(block, totals)
            totals.frames += len(block)
            if bar is not None:
                bar.update(len(block))
            block = io_done.result()
        if data is not None:
            dst.write(data)
    return totals


def _check_options(block_frames, nyquist):
    if (isinstance(block_frames, bool) or not isinstance(block_frames, numbers.Integral)
            or block_frames < 1):
        raise InvalidParameterError(f"block_frames must be an integer >= 1, got {block_frames!r}")
    if nyquist not in ("error", "drop"):
        raise InvalidParameterError(f"nyquist must be 'error' or 'drop', got {nyquist!r}")


def equalize_file(in_path, out_path, bands, preamp_db=0.0, block_frames=65536,
                  progress=False, subtype=None, io_thread=None, allow_truncated=False,
                  nyquist="error", dither=None, dither_seed=0):
    """Equalize an audio file into a new file, block by block.

    The output is written under a temporary name in the same folder and
    renamed to `out_path` when it is complete: an interrupted run (an error,
    Ctrl-C, a kill) leaves nothing under `out_path` that could look finished.

    Parameters
    ----------
    in_path : str or path-like
        Any file soundfile reads (WAV, FLAC, AIFF, OGG, ...).
    out_path : str or path-like
        The output; its extension picks the container. It must not be the
        input file.
    bands : iterable of Band or dict
        The bands, in order.
    preamp_db : float, optional
        Gain before the bands, in dB.
    block_frames : int, optional
        Frames per block read and written.
    progress : bool, optional
        Show a progress bar on standard error.
    subtype : str, optional
        soundfile subtype of the output (``"PCM_16"``, ``"FLOAT"``, ...).
        Default: the input's, when the output container allows it.
    io_thread : bool, optional
        Read and write in a second thread while blocks are equalized. Default:
        when the calling thread may run on two CPUs or more
        (``os.sched_getaffinity``). It pays on a free CPU,
        not when other work keeps every CPU busy (:func:`equalize_files` turns
        it off when its files take them all).
    allow_truncated : bool, optional
        Keep the output of an input that ends before its header says
        (``report.truncated`` is then True). Default: that is an error.
    nyquist : {"error", "drop"}, optional
        What to do with a band at or above the file's Nyquist frequency:
        raise, or leave it out (listed in ``report.dropped_bands``). Presets
        meant for every rate use ``"drop"``.
    dither : None or "tpdf", optional
        TPDF dither (+-1 LSB) before integer PCM samples are rounded, as
        :class:`~eq.StreamingEqualizer` adds it (the same noise for the same
        `dither_seed` and sample index). Only for integer PCM output subtypes.
    dither_seed : int, optional
        From 0 to 2**52 - 1. Default 0.

    Returns
    -------
    FileReport

    Raises
    ------
    AudioFileError
        If a file cannot be read or written (the message names the file and
        the reason).
    TruncatedInputError
        If the input ended early and `allow_truncated` is False; no output is left.
    InvalidParameterError
        For invalid bands or arguments, or an output path equal to the input.
    """
    start = time.perf_counter()
    _check_options(block_frames, nyquist)
    if os.path.exists(out_path) and os.path.exists(in_path) and os.path.samefile(in_path, out_path):
        raise InvalidParameterError(f"output {str(out_path)!r} is the input file; choose another path")
    bands = as_bands(bands)
    with _open_input(in_path) as src:
        dropped = ()
        if nyquist == "drop":
            bands, dropped = bands_below_nyquist(bands, src.samplerate)
        out_format, out_subtype = _output_format(src, out_path, subtype)
        code = _check_dither(dither, dither_seed, out_subtype)
        read_dtype, run_block = _block_runner(src, out_subtype, bands, preamp_db, code)
        promised = _promised_frames(in_path, src)
        tmp = _temporary_output(out_path)
        bar = dst = None
        try:
            dst = _OutputFile(tmp, str(out_path), src.samplerate, src.channels, out_format,
                              out_subtype)
            try:
                if progress:
                    from tqdm import tqdm

                    bar = tqdm(total=promised or None, unit="frame", unit_scale=True,
                               desc=os.path.basename(str(in_path)), leave=False)
                totals = _pump(src, dst, read_dtype, run_block, block_frames,
                               _usable_cpus() > 1 if io_thread is None else io_thread, bar)
            finally:
                dst.close()
            truncated = promised is not None and totals.frames < promised
            if truncated and not allow_truncated:
                raise TruncatedInputError(
                    f"{str(in_path)!r} ended early: its header promises {promised} frames "
                    f"({promised / src.samplerate:.3f} s), the file holds {totals.frames} "
                    f"({totals.frames / src.samplerate:.3f} s); no output was written "
                    "(allow_truncated / --allow-truncated keeps what is there)",
                    totals.frames, promised)
            os.replace(tmp, out_path)
        except (OSError, _libsndfile_error()) as exc:
            _remove_quietly(tmp)
            if isinstance(exc, AudioFileError):
                raise
            written = dst.frames if dst is not None else 0
            raise AudioFileError(
                f"failed after writing {written} frame(s) of {str(in_path)!r} -> "
                f"{str(out_path)!r}: {_os_reason(in_path if isinstance(exc, _libsndfile_error()) else out_path, exc)}"
                "; no output was left") from None
        except BaseException:
            _remove_quietly(tmp)
            raise
        finally:
            if bar is not None:
                bar.close()
    with np.errstate(divide="ignore"):
        peak_dbfs = float(20.0 * np.log10(totals.peak))
    return FileReport(str(in_path), str(out_path), src.samplerate, src.channels, totals.frames,
                      out_format, out_subtype, totals.clipped, peak_dbfs,
                      time.perf_counter() - start, totals.over_full_scale, promised, truncated,
                      dropped)


@dataclass(frozen=True)
class FileOutcome:
    """What became of one file of :func:`equalize_files`: its report, or the error that stopped it.

    Attributes
    ----------
    in_path, out_path : str
    report : FileReport or None
    error : EqError or None
    """

    in_path: str
    out_path: str
    report: FileReport | None = None
    error: EqError | None = None

    @property
    def ok(self):
        """True when the file was equalized."""
        return self.error is None


def equalize_files(jobs_in_out, bands, preamp_db=0.0, jobs=None, block_frames=65536,
                   subtype=None, allow_truncated=False, nyquist="error", dither=None,
                   dither_seed=0):
    """Equalize several files at once, one file per job.

    The kernels release the GIL and libsndfile is called without it, so the
    files really run in parallel, each on its own thread (and a second one
    for its reading and writing when there are two CPUs per job).

    Parameters
    ----------
    jobs_in_out : iterable of (str, str)
        ``(input path, output path)`` pairs.
    bands : iterable of Band or dict
        The bands, in order, for every file.
    preamp_db : float, optional
        Gain before the bands, in dB.
    jobs : int, optional
        Files at a time (default: the number of CPUs this process may run on).
    block_frames : int, optional
        Frames per block read and written.
    subtype : str, optional
        Output subtype (default: each input's).
    allow_truncated, nyquist, dither, dither_seed
        As for :func:`equalize_file`.

    Returns
    -------
    list of FileOutcome
        One per pair, in order. An error in one file does not stop the others.
    """
    pairs = [(str(a), str(b)) for a, b in jobs_in_out]
    if jobs is None:
        jobs = _usable_cpus()
    if isinstance(jobs, bool) or not isinstance(jobs, numbers.Integral) or jobs < 1:
        raise InvalidParameterError(f"jobs must be an integer >= 1, got {jobs!r}")
    _check_options(block_frames, nyquist)
    bands = as_bands(bands)

    at_once = min(jobs, max(1, len(pairs)))
    # A second thread per file only where two CPUs per file are there: with
    # every CPU already running a file, it measured slower.
    io_thread = _usable_cpus() >= 2 * at_once

    def one(pair):
        try:
            report = equalize_file(pair[0], pair[1], bands, preamp_db, block_frames=block_frames,
                                   subtype=subtype, io_thread=io_thread,
                                   allow_truncated=allow_truncated, nyquist=nyquist,
                                   dither=dither, dither_seed=dither_seed)
        except EqError as exc:
            return FileOutcome(pair[0], pair[1], error=exc)
        return FileOutcome(pair[0], pair[1], report=report)

    with ThreadPoolExecutor(max_workers=at_once) as pool:
        return list(pool.map(one, pairs))

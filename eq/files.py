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
import numbers
import os
import sys
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from .errors import AudioFileError, EqError, InvalidParameterError
from .streaming import BlockEqualizer, _FrameEqualizer

__all__ = ["FileReport", "equalize_file", "equalize_files", "PCM_SUBTYPE_BITS"]

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
        Integer output: samples saturated at full scale. Float output: samples
        whose magnitude exceeds 1.0 (kept as they are, not clipped).
    peak_dbfs : float
        Peak magnitude of the output in dB relative to full scale
        (``-inf`` for silence).
    runtime_s : float
        Wall-clock time of the whole job.
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


def _output_format(in_file, out_path, subtype):
    import soundfile as sf  # here, not at the top: `eq stream` starts without it
    out_format = None
    ext = os.path.splitext(str(out_path))[1].lstrip(".").upper()
    if ext in sf.available_formats():
        out_format = ext
    elif ext:
        out_format = {"AIF": "AIFF", "OGA": "OGG"}.get(ext)
    if out_format is None:
        if ext:
            raise InvalidParameterError(
                f"cannot tell the audio format from the extension of {str(out_path)!r}; "
                f"use one of {', '.join(sorted(e.lower() for e in sf.available_formats()))}"
            )
        out_format = in_file.format
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


def _write_block(dst, data):
    """``dst.write(data)``, a short write (a full disk) raised as OSError.

    soundfile checks the count libsndfile wrote with an ``assert``.
    """
    try:
        dst.write(data)
    except AssertionError:
        raise OSError(f"could write only part of a {len(data)}-frame block") from None


def _without_fsync(dst):
    """Keep `dst`'s ``close()`` from waiting for the disk.

    soundfile's ``close()`` calls ``flush()``, which for a file open for
    writing is libsndfile's ``sf_write_sync``, an ``fsync``: about a quarter of
    the time of equalizing a 30 s WAV here, and a queue at the disk when
    several files end at once. Like other audio tools, the output is left to
    the operating system to write back; write errors are still raised by
    each write and by ``sf_close``.
    """
    dst.flush = lambda: None


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
        _write_block(dst, data)
    return src.read(out=buffer)


def _peak(y):
    """Largest magnitude in `y`, as a float (``abs`` would overflow at the integer minimum)."""
    return max(-float(np.min(y, initial=0)), float(np.max(y, initial=0)))


def _block_runner(src, out_subtype, bands, preamp_db):
    """Pick how blocks of `src` are read and equalized into `out_subtype`.

    Returns ``(read_dtype, run_block)``, where ``run_block(block)`` returns
    ``(data to write, samples clipped, peak magnitude re full scale)``. It may
    equalize `block` in place: blocks are :func:`equalize_file`'s read buffer,
    read again only after the data is written.
    """
    rate, channels = src.samplerate, src.channels
    # The byte kernels read raw little-endian samples: libsndfile's arrays are
    # native, so elsewhere every block takes the float path.
    if (src.subtype == out_subtype and out_subtype in _FUSED_SUBTYPES
            and sys.byteorder == "little"):
        dtype, raw_format, bits = _FUSED_SUBTYPES[out_subtype]
        stream = _FrameEqualizer(rate, channels, raw_format, bands, preamp_db, held_bits=bits)
        full_scale = stream.format.scale

        def run_fused(block):
            before = stream.clipped_samples
            stream._process_frames_into(block, block)
            peak = _peak(block) / full_scale
            if stream.format.is_float:
                return block, int(np.count_nonzero(np.abs(block) > 1.0)), peak
            return block, stream.clipped_samples - before, peak

        return dtype, run_fused

    beq = BlockEqualizer(rate, channels, bands, preamp_db)
    in_bits = PCM_SUBTYPE_BITS.get(src.subtype)
    out_bits = PCM_SUBTYPE_BITS.get(out_subtype)

    # Other fixed-range encodings (mu-law, A-law, ADPCM, ...) wrap around in
    # libsndfile rather than saturate: clip them to full scale here.
    clip_output = out_subtype not in ("FLOAT", "DOUBLE")

    def run_float(block):
        x = block / _INT32_SCALE if in_bits else block
        y = beq.process(x, out=x)
        if out_bits:
            data, n = _quantize(y, out_bits)
            return data, n, _peak(data) / _INT32_SCALE
        n = int(np.count_nonzero(np.abs(y) > 1.0))
        if clip_output:
            np.clip(y, -1.0, 1.0, out=y)
        return y, n, _peak(y)

    return ("int32" if in_bits else "float64"), run_float


def equalize_file(in_path, out_path, bands, preamp_db=0.0, block_frames=65536,
                  progress=False, subtype=None, io_thread=None):
    """Equalize an audio file into a new file, block by block.

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

    Returns
    -------
    FileReport

    Raises
    ------
    AudioFileError
        If a file cannot be read or written.
    InvalidParameterError
        For invalid bands or arguments, or an output path equal to the input.
    """
    import soundfile as sf  # here, not at the top: `eq stream` starts without it

    start = time.perf_counter()
    if (isinstance(block_frames, bool) or not isinstance(block_frames, numbers.Integral)
            or block_frames < 1):
        raise InvalidParameterError(f"block_frames must be an integer >= 1, got {block_frames!r}")
    if os.path.exists(out_path) and os.path.exists(in_path) and os.path.samefile(in_path, out_path):
        raise InvalidParameterError(f"output {str(out_path)!r} is the input file; choose another path")
    try:
        src = sf.SoundFile(in_path)
    except (sf.LibsndfileError, OSError) as exc:
        raise AudioFileError(f"cannot read audio file {str(in_path)!r}: {exc}") from None
    with src:
        out_format, out_subtype = _output_format(src, out_path, subtype)
        read_dtype, run_block = _block_runner(src, out_subtype, bands, preamp_db)
        try:
            dst = sf.SoundFile(out_path, "w", samplerate=src.samplerate, channels=src.channels,
                               format=out_format, subtype=out_subtype)
        except (sf.LibsndfileError, OSError) as exc:
            raise AudioFileError(f"cannot write audio file {str(out_path)!r}: {exc}") from None
        _without_fsync(dst)
        known = 0 <= src.frames < _UNKNOWN_FRAMES
        bar = None
        if progress:
            from tqdm import tqdm

            bar = tqdm(total=src.frames if known and src.frames > 0 else None, unit="frame",
                       unit_scale=True, desc=os.path.basename(str(in_path)), leave=False)
        clipped = 0
        frames = 0  # equalized
        written = 0
        peak = 0.0
        # Two block buffers for the whole file (a fresh array per block costs
        # page faults, which threads running other files contend for): block
        # i - 1 is written and block i + 1 read into one (in a second thread
        # with io_thread, else first) while block i is equalized, maybe in
        # place, in the other.
        n_buffer = max(1, min(block_frames, src.frames)) if known else block_frames
        if io_thread is None:
            io_thread = _usable_cpus() > 1
        overlap = bool(io_thread) and not (known and src.frames <= n_buffer)
        buffers = [np.empty((n_buffer, src.channels), dtype=read_dtype) for _ in range(2)]
        try:
            with dst, (ThreadPoolExecutor(1) if overlap else contextlib.nullcontext()) as io:
                submit = io.submit if overlap else _run_now
                # read() rather than blocks(): it also works on pipes, which cannot seek.
                block = src.read(out=buffers[0])
                data = None
                i = 0
                while len(block):
                    i += 1
                    io_done = submit(_write_then_read, dst, data, src, buffers[i % 2])
                    data, n, block_peak = run_block(block)
                    peak = max(peak, block_peak)
                    clipped += n
                    frames += len(block)
                    if bar is not None:
                        bar.update(len(block))
                    block = io_done.result()
                    written = frames - len(data)
                if data is not None:
                    _write_block(dst, data)
                    written = frames
        except (sf.LibsndfileError, OSError) as exc:
            _remove_quietly(out_path)
            raise AudioFileError(
                f"failed after writing {written} frame(s) of {str(in_path)!r} -> "
                f"{str(out_path)!r}: {exc}"
            ) from None
        except BaseException:
            _remove_quietly(out_path)
            raise
        finally:
            if bar is not None:
                bar.close()
    with np.errstate(divide="ignore"):
        peak_dbfs = float(20.0 * np.log10(peak))
    return FileReport(str(in_path), str(out_path), src.samplerate, src.channels, frames,
                      out_format, out_subtype, clipped, peak_dbfs,
                      time.perf_counter() - start)


def equalize_files(jobs_in_out, bands, preamp_db=0.0, jobs=None, block_frames=65536,
                   subtype=None):
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

    Returns
    -------
    list of FileReport or EqError
        One entry per pair, in order: the report, or the error that stopped
        that file (the others go on).
    """
    pairs = list(jobs_in_out)
    if jobs is None:
        jobs = _usable_cpus()
    if isinstance(jobs, bool) or not isinstance(jobs, numbers.Integral) or jobs < 1:
        raise InvalidParameterError(f"jobs must be an integer >= 1, got {jobs!r}")

    at_once = min(jobs, max(1, len(pairs)))
    # A second thread per file only where two CPUs per file are there: with
    # every CPU already running a file, it measured slower (1.36x instead of
    # 1.6-1.8x for 4 files on 2 CPUs).
    io_thread = _usable_cpus() >= 2 * at_once

    def one(pair):
        try:
            return equalize_file(pair[0], pair[1], bands, preamp_db, block_frames=block_frames,
                                 subtype=subtype, io_thread=io_thread)
        except EqError as exc:
            return exc

    with ThreadPoolExecutor(max_workers=at_once) as pool:
        return list(pool.map(one, pairs))

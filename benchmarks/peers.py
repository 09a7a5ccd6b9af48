"""The implementations under test, one function per peer.

Every function returns a uniform description, never raises for a missing
dependency, and says why in ``skip_reason`` instead ("skipped: not
installed"), so that the report can list the peer rather than drop it.

Two kinds of peer exist:

* :class:`StreamPeer` runs in this process and can be fed chunks of any
  size; it is timed with ``time.perf_counter`` around the loop over chunks.
* :class:`CommandPeer` is an external program that reads s16le on stdin and
  writes s16le on stdout; its filter cost is the CPU time of the command
  minus the CPU time of the same command with a pass-through filter.

All s16 signals are interleaved ``(frames, channels)``.
"""

from __future__ import annotations

import importlib.metadata
import platform
import shutil
import subprocess
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
from scipy import signal

from benchmarks.signals import S16_MAX, S16_MIN, S16_SCALE, decode_s16, encode_s16


def _identity(chunk):
    return chunk


def _join_bytes(outputs):
    return b"".join(outputs)


@dataclass(frozen=True)
class StreamPeer:
    """An in-process implementation that can be fed chunks.

    Attributes
    ----------
    key : str
        Short identifier used in JSON, e.g. ``"scipy"``.
    label : str
        Name shown in the table.
    counted : str
        What the timed loop includes, e.g. ``"bytes -> bytes"``.
    version : str or None
        Version of the library, if known.
    skip_reason : str or None
        Why the peer cannot run (``"skipped: ..."``); None when it can.
    new_stream : callable or None
        ``new_stream()`` returns ``process(chunk) -> output`` with fresh
        filter state. Building it is not timed.
    prepare : callable
        Converts one s16le bytes chunk into the peer's input (not timed).
    finish : callable
        Converts the list of outputs into s16le bytes (not timed).
    accepts_partial_frames : bool
        Whether ``process`` takes chunks that end inside a frame.
    """

    key: str
    label: str
    counted: str
    version: str | None = None
    skip_reason: str | None = None
    new_stream: Callable[[], Callable[[Any], Any]] | None = None
    prepare: Callable[[bytes], Any] = _identity
    finish: Callable[[list], bytes] = _join_bytes
    accepts_partial_frames: bool = False


@dataclass(frozen=True)
class CommandPeer:
    """An external program filtering s16le from stdin to stdout.

    Attributes
    ----------
    key, label, counted, version, skip_reason : str or None
        As in :class:`StreamPeer`.
    command : tuple of str
        The command with the equalizer chain.
    baseline_command : tuple of str
        The same command with a pass-through filter; its cost is subtracted.
    """

    key: str
    label: str
    counted: str
    version: str | None = None
    skip_reason: str | None = None
    command: tuple[str, ...] = field(default_factory=tuple)
    baseline_command: tuple[str, ...] = field(default_factory=tuple)


def _dist_version(name):
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def _skip_import(exc):
    if isinstance(exc, ModuleNotFoundError):
        return f"skipped: not installed ({exc.name})"
    return f"skipped: import failed ({type(exc).__name__}: {exc})"


def eq_peer(bands, sample_rate, channels):
    """``eq.StreamingEqualizer(...).process``: s16le bytes in, bytes out.

    Parameters
    ----------
    bands : sequence of dict
        Bands as ``{type, freq, q, gain_db}``.
    sample_rate : int
        Sample rate in Hz.
    channels : int
        Number of interleaved channels.

    Returns
    -------
    StreamPeer
    """
    label = "eq StreamingEqualizer.process"
    counted = "bytes -> bytes"
    try:
        import eq
    except Exception as exc:  # noqa: BLE001 - any import failure means "cannot run"
        return StreamPeer("eq", label, counted, skip_reason=_skip_import(exc))
    bands = [dict(b) for b in bands]

    def new_stream():
        return eq.StreamingEqualizer(sample_rate, channels, "s16le", bands).process

    version = getattr(eq, "__version__", None) or _dist_version("eq-stream")
    return StreamPeer("eq", label, counted, version=version, new_stream=new_stream,
                      accepts_partial_frames=True)


def scipy_peer(sos, channels):
    """``scipy.signal.sosfilt`` in float64 with ``zi``, including s16 decode/encode.

    The timed loop does the same job as the equalizer: s16le bytes are
    decoded to float64, filtered with the carried state and encoded back to
    s16le bytes (round half to even, saturate).

    Parameters
    ----------
    sos : numpy.ndarray
        Second-order sections, shape ``(n_sections, 6)``.
    channels : int
        Number of interleaved channels.

    Returns
    -------
    StreamPeer
    """
    sos = np.array(sos, dtype=np.float64)
    zi0 = np.zeros((sos.shape[0], 2, channels))

    def new_stream():
        state = [zi0.copy()]

        def process(data):
            x = np.frombuffer(data, dtype="<i2").reshape(-1, channels) / S16_SCALE
            y, state[0] = signal.sosfilt(sos, x, axis=0, zi=state[0])
            return np.clip(np.rint(y * S16_SCALE), S16_MIN, S16_MAX).astype("<i2").tobytes()

        return process

    return StreamPeer(
        "scipy",
        "scipy sosfilt f64",
        "bytes -> bytes (s16 decode + sosfilt zi + encode)",
        version=_dist_version("scipy"),
        new_stream=new_stream,
    )


def scipy_filter_only_peer(sos, channels):
    """``scipy.signal.sosfilt`` with ``zi`` on float64 arrays, conversions not timed.

    Parameters
    ----------
    sos : numpy.ndarray
        Second-order sections, shape ``(n_sections, 6)``.
    channels : int
        Number of interleaved channels.

    Returns
    -------
    StreamPeer
    """
    sos = np.array(sos, dtype=np.float64)
    zi0 = np.zeros((sos.shape[0], 2, channels))

    def new_stream():
        state = [zi0.copy()]

        def process(x):
            y, state[0] = signal.sosfilt(sos, x, axis=0, zi=state[0])
            return y

        return process

    return StreamPeer(
        "scipy_filter",
        "scipy sosfilt f64 (filter only)",
        "float64 array (frames, channels) -> array",
        version=_dist_version("scipy"),
        new_stream=new_stream,
        prepare=lambda data: np.ascontiguousarray(decode_s16(data, channels)),
        finish=lambda outputs: encode_s16(np.concatenate(outputs)) if outputs else b"",
    )


def pedalboard_board(bands):
    """A ``pedalboard.Pedalboard`` equivalent to the bands.

    Parameters
    ----------
    bands : sequence of dict
        Bands of type ``lowshelf``, ``peaking`` or ``highshelf``.

    Returns
    -------
    pedalboard.Pedalboard

    Raises
    ------
    ValueError
        For a band type without a pedalboard equivalent here.
    """
    import pedalboard

    classes = {
        "lowshelf": pedalboard.LowShelfFilter,
        "peaking": pedalboard.PeakFilter,
        "highshelf": pedalboard.HighShelfFilter,
    }
    plugins = []
    for band in bands:
        if band["type"] not in classes:
            raise ValueError(f"no pedalboard filter for band type {band['type']!r}")
        plugins.append(
            classes[band["type"]](
                cutoff_frequency_hz=float(band["freq"]),
                gain_db=float(band["gain_db"]),
                q=float(band["q"]),
            )
        )
    return pedalboard.Pedalboard(plugins)


def pedalboard_peer(bands, sample_rate, channels):
    """pedalboard (JUCE, float32) with ``reset=False``, including s16 decode/encode.

    Parameters
    ----------
    bands : sequence of dict
        Bands as ``{type, freq, q, gain_db}``.
    sample_rate : int
        Sample rate in Hz.
    channels : int
        Number of interleaved channels.

    Returns
    -------
    StreamPeer
    """
    label = "pedalboard f32"
    counted = "bytes -> bytes (s16 decode + board(reset=False) + encode)"
    try:
        import pedalboard  # noqa: F401
    except Exception as exc:  # noqa: BLE001
        return StreamPeer("pedalboard", label, counted, skip_reason=_skip_import(exc))

    def new_stream():
        board = pedalboard_board(bands)

        def process(data):
            x = np.frombuffer(data, dtype="<i2").reshape(-1, channels)
            # pedalboard's native layout is (channels, samples).
            x = np.ascontiguousarray(x.T, dtype=np.float32) * np.float32(1.0 / S16_SCALE)
            y = board(x, sample_rate, reset=False)
            y = np.clip(np.rint(y.T * S16_SCALE), S16_MIN, S16_MAX)
            return y.astype("<i2").tobytes()

        return process

    return StreamPeer(
        "pedalboard", label, counted, version=_dist_version("pedalboard"), new_stream=new_stream
    )


def ffmpeg_exe():
    """Path of the static ffmpeg of ``imageio-ffmpeg``, or None if not installed."""
    try:
        import imageio_ffmpeg
    except ImportError:
        return None
    try:
        return imageio_ffmpeg.get_ffmpeg_exe()
    except RuntimeError:
        return None


def ffmpeg_version(exe):
    """First line of ``ffmpeg -version``, e.g. ``"ffmpeg version n7.1 ..."``."""
    out = subprocess.run([exe, "-hide_banner", "-version"], capture_output=True, text=True)
    first = out.stdout.splitlines()[0] if out.stdout else ""
    return first.replace("ffmpeg version ", "").split(" Copyright")[0]


def ffmpeg_filter_chain(bands, precision=None):
    """The ``-af`` chain for the bands (Q width, RBJ forms).

    Parameters
    ----------
    bands : sequence of dict
        Bands of type ``lowshelf``, ``peaking`` or ``highshelf``.
    precision : str or None
        ffmpeg's ``precision`` option (``"f64"``, ...); None keeps its default.

    Returns
    -------
    str
    """
    names = {"lowshelf": "lowshelf", "peaking": "equalizer", "highshelf": "highshelf"}
    parts = []
    for band in bands:
        if band["type"] not in names:
            raise ValueError(f"no ffmpeg filter for band type {band['type']!r}")
        opts = f"f={band['freq']:g}:t=q:w={band['q']:g}:g={band['gain_db']:g}"
        if precision is not None:
            opts += f":r={precision}"
        parts.append(f"{names[band['type']]}={opts}")
    return ",".join(parts)


def ffmpeg_peer(bands, sample_rate, channels, precision=None):
    """ffmpeg's biquad filters, one filter thread, filter-only cost.

    Parameters
    ----------
    bands : sequence of dict
        Bands as ``{type, freq, q, gain_db}``.
    sample_rate : int
        Sample rate in Hz.
    channels : int
        Number of interleaved channels.
    precision : str or None
        None for ffmpeg's default path (for s16 input it filters in s16,
        rounding after each band), ``"f64"`` for double precision.

    Returns
    -------
    CommandPeer
    """
    suffix = "default" if precision is None else f"r={precision}"
    key = "ffmpeg" if precision is None else f"ffmpeg_{precision}"
    label = f"ffmpeg biquads ({suffix})"
    counted = "filter only: CPU time minus the same command with anull"
    exe = ffmpeg_exe()
    if exe is None:
        return CommandPeer(key, label, counted, skip_reason="skipped: not installed (imageio-ffmpeg)")
    fmt = ["-f", "s16le", "-ar", str(sample_rate), "-ac", str(channels)]
    head = [exe, "-hide_banner", "-nostdin", "-loglevel", "error", "-threads", "1",
            "-filter_threads", "1", *fmt, "-i", "pipe:0"]
    tail = [*fmt, "pipe:1"]
    return CommandPeer(
        key,
        label,
        counted,
        version=ffmpeg_version(exe),
        command=(*head, "-af", ffmpeg_filter_chain(bands, precision), *tail),
        baseline_command=(*head, "-af", "anull", *tail),
    )


def sox_effects(bands):
    """sox effect arguments for the bands (``bass``/``equalizer``/``treble`` with Q)."""
    args = []
    for band in bands:
        f, q, g = f"{band['freq']:g}", f"{band['q']:g}q", f"{band['gain_db']:g}"
        if band["type"] == "lowshelf":
            args += ["bass", g, f, q]
        elif band["type"] == "highshelf":
            args += ["treble", g, f, q]
        elif band["type"] == "peaking":
            args += ["equalizer", f, q, g]
        else:
            raise ValueError(f"no sox effect for band type {band['type']!r}")
    return args


def sox_peer(bands, sample_rate, channels):
    """sox from the system package, no dither, single-threaded, filter-only cost.

    Parameters
    ----------
    bands : sequence of dict
        Bands as ``{type, freq, q, gain_db}``.
    sample_rate : int
        Sample rate in Hz.
    channels : int
        Number of interleaved channels.

    Returns
    -------
    CommandPeer
    """
    label = "sox bass/equalizer/treble"
    counted = "filter only: CPU time minus the same command without effects"
    exe = shutil.which("sox")
    if exe is None:
        return CommandPeer("sox", label, counted, skip_reason="skipped: not installed (sox)")
    out = subprocess.run([exe, "--version"], capture_output=True, text=True)
    version = out.stdout.strip().split("SoX ")[-1] or None
    raw = ["-t", "raw", "-e", "signed-integer", "-b", "16", "-L",
           "-c", str(channels), "-r", str(sample_rate)]
    base = (exe, "--single-threaded", "-D", "-V1", *raw, "-", *raw, "-")
    return CommandPeer(
        "sox", label, counted, version=version,
        command=(*base, *sox_effects(bands)), baseline_command=base,
    )


def _return_chunk(chunk):
    return chunk


def noop_peer():
    """A Python function that returns its argument: the interpreter's own cost of a call.

    Timed beside the others in the per-call table, it tells how fast Python
    itself ran during the measurement, which on a shared virtual machine can
    change by 2x from one minute to the next.
    """
    return StreamPeer(key="python_noop", label="Python no-op function (reference)",
                      counted="a call of a Python function returning its argument",
                      version=platform.python_version(), new_stream=lambda: _return_chunk,
                      accepts_partial_frames=True)


def all_peers(bands, sos, sample_rate, channels):
    """Every peer, available or not.

    Parameters
    ----------
    bands : sequence of dict
        Bands as ``{type, freq, q, gain_db}``.
    sos : numpy.ndarray
        The oracle's second-order sections for the same bands.
    sample_rate : int
        Sample rate in Hz.
    channels : int
        Number of interleaved channels.

    Returns
    -------
    tuple of (list of StreamPeer, list of CommandPeer)
    """
    streams = [
        eq_peer(bands, sample_rate, channels),
        scipy_peer(sos, channels),
        scipy_filter_only_peer(sos, channels),
        pedalboard_peer(bands, sample_rate, channels),
    ]
    commands = [
        ffmpeg_peer(bands, sample_rate, channels),
        ffmpeg_peer(bands, sample_rate, channels, precision="f64"),
        sox_peer(bands, sample_rate, channels),
    ]
    return streams, commands

"""Band changes for a running stream, read as JSON lines from a file or a named pipe.

Each line is one change, a JSON object::

    {"bands": ["peaking:1k:gain=3", {"type": "lowshelf", "freq_hz": 100, "gain_db": 4}],
     "ramp_ms": 20, "preamp_db": -3}
    {"index": 0, "band": "peaking:2k:gain=-2", "ramp_ms": 50}

``bands`` replaces every band (band specs as on the command line, or mappings as in a JSON
preset); ``index`` with ``band`` replaces one band of those last set. ``ramp_ms`` (default
20) is the crossfade and ``preamp_db`` the new preamp (default: kept). A change is applied
at the next frame boundary after the line is read (:meth:`eq.StreamingEqualizer.set_bands`).

:class:`ControlReader` reads the lines in a thread: a named pipe is opened again when a
writer closes it (``echo '{...}' > fifo`` once per change works), a regular file is
followed as it grows and read again from its start when it is replaced or cut shorter (like
``tail -F``): every line read is applied, once.
"""

import json
import os
import stat
import threading
import time

from .design import parse_band
from .errors import EqError, InvalidParameterError

__all__ = ["ControlReader", "parse_control_line", "CONTROL_KEYS"]

CONTROL_KEYS = ("bands", "index", "band", "ramp_ms", "preamp_db")
"""The keys a control line may have."""

POLL_S = 0.05
"""How often a regular control file is checked for new lines, in seconds."""

MAX_LINE_CHARS = 1_000_000
"""Longest control line read; a longer one is an error (and is skipped)."""


def _band(item):
    return parse_band(item) if isinstance(item, str) else item


def parse_control_line(text):
    """Read one control line.

    Parameters
    ----------
    text : str

    Returns
    -------
    dict
        ``{"bands": list or None, "index": int or None, "band": Band, dict or None,
        "ramp_ms": float or None, "preamp_db": float or None}``: exactly one of
        ``bands`` and ``index`` is set.

    Raises
    ------
    InvalidParameterError
        For text that is not a JSON object of the keys above, naming what is wrong. The
        bands themselves are checked when they are set.
    """
    if len(text) > MAX_LINE_CHARS:
        raise InvalidParameterError(
            f"a control line of {len(text)} characters; at most {MAX_LINE_CHARS} are read")
    try:
        message = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidParameterError(f"not JSON: {exc.msg} at column {exc.colno}") from None
    except (ValueError, RecursionError) as exc:  # a huge integer, deep nesting
        raise InvalidParameterError(f"not JSON that can be read: {str(exc)[:100]}") from None
    if not isinstance(message, dict):
        raise InvalidParameterError(f"a control line is a JSON object, got {message!r}")
    unknown = sorted(set(message) - set(CONTROL_KEYS))
    if unknown:
        raise InvalidParameterError(
            f"unknown key(s) {', '.join(map(repr, unknown))}; expected {', '.join(CONTROL_KEYS)}")
    if "index" in message and "band" not in message:
        raise InvalidParameterError("'index' needs a 'band'")
    if "band" in message and "index" not in message:
        raise InvalidParameterError("'band' needs an 'index' (or give 'bands')")
    if ("bands" in message) == ("index" in message):
        raise InvalidParameterError("give either 'bands' (every band) or 'index' and 'band'")
    if "bands" in message and not isinstance(message["bands"], list):
        raise InvalidParameterError(f"'bands' must be a list, got {message['bands']!r}")
    return {"bands": [_band(b) for b in message["bands"]] if "bands" in message else None,
            "index": message.get("index"),
            "band": _band(message["band"]) if "band" in message else None,
            "ramp_ms": message.get("ramp_ms"),
            "preamp_db": message.get("preamp_db")}


class ControlReader:
    """Read control lines from `path` in a daemon thread, and hand each to `on_line`.

    Parameters
    ----------
    path : str
        A named pipe or a regular file.
    on_line : callable
        Called from the thread as ``on_line(number, text)`` for each non-empty line
        (numbered from 1 over the whole session).
    on_error : callable
        Called as ``on_error(message)`` if the path cannot be read; the thread then stops.
    """

    def __init__(self, path, on_line, on_error):
        self.path, self._on_line, self._on_error = path, on_line, on_error
        self._number = 0
        self._thread = threading.Thread(target=self._run, name="eq-control", daemon=True)

    def start(self):
        """Check that the path exists, then start reading."""
        try:
            mode = os.stat(self.path).st_mode
        except OSError as exc:
            raise EqError(f"--control {self.path!r}: {exc.strerror or exc}") from None
        if not (stat.S_ISFIFO(mode) or stat.S_ISREG(mode)):
            raise InvalidParameterError(
                f"--control {self.path!r} must be a named pipe or a regular file")
        self._fifo = stat.S_ISFIFO(mode)
        self._thread.start()

    def _replaced(self, handle, seen_mtime_ns):
        """True if the regular file at the path is no longer what `handle` reads: replaced (a
        new file renamed over it, as editors save), or rewritten in place (``>``): shorter than
        what was read, or modified since without growing (an append always grows it)."""
        try:
            now = os.stat(self.path)
        except OSError:
            return False  # gone for now: keep waiting for it to come back
        before = os.fstat(handle.fileno())
        return ((now.st_ino, now.st_dev) != (before.st_ino, before.st_dev)
                or now.st_size < handle.tell()
                or (now.st_size == handle.tell() and now.st_mtime_ns != seen_mtime_ns))

    def _lines(self, handle):
        partial = ""
        seen_mtime_ns = None  # the file's time when all of it had been read
        while True:
            if not self._fifo:
                mtime_ns = os.fstat(handle.fileno()).st_mtime_ns
            text = handle.readline(MAX_LINE_CHARS + 1)
            if not text:
                if self._fifo:
                    if partial.strip():
                        yield partial
                    return
                if seen_mtime_ns is None:
                    seen_mtime_ns = mtime_ns  # taken before a read that found nothing new
                if self._replaced(handle, seen_mtime_ns):
                    if partial.strip():
                        yield partial
                    return  # read it again from its start
                time.sleep(POLL_S)  # a regular file: wait for it to grow
                continue
            seen_mtime_ns = None  # it grew: its time is taken again at the next end
            partial += text
            if partial.endswith("\n") or len(partial) > MAX_LINE_CHARS:
                yield partial
                partial = ""

    def _run(self):
        try:
            while True:
                try:
                    handle = open(self.path, encoding="utf-8", errors="replace")
                except FileNotFoundError:
                    if self._fifo:
                        raise
                    time.sleep(POLL_S)  # a file between its removal and its replacement
                    continue
                with handle:
                    for text in self._lines(handle):
                        if text.strip():
                            self._number += 1
                            try:
                                self._on_line(self._number, text.strip())
                            except Exception as exc:  # one bad line must not stop the reading
                                self._on_error(f"control line {self._number}: "
                                               f"{type(exc).__name__}: {exc}; ignored")
        except OSError as exc:
            self._on_error(f"--control {self.path!r}: {exc.strerror or exc}; "
                           "no more changes are read")

"""Equalizer APO configuration text, in and out (AutoEQ's ``ParametricEQ.txt`` is a subset).

Read::

    Preamp: -6.1 dB
    Filter 1: ON PK Fc 105 Hz Gain 6.4 dB Q 0.70
    Filter 2: ON LSC 12 dB Fc 105 Hz Gain 6.4 dB
    Filter: ON NO Fc 50 Hz BW Oct 0.1
    Channel: all

Types: ``PK`` (also ``PEQ``, ``Modal``), ``LP``/``LPQ``, ``HP``/``HPQ``, ``BP``, ``NO``,
``AP``, ``LS``/``LSC``, ``HS``/``HSC``, each optionally followed by a slope ``x dB`` (shelves
only: ``S = x/12``). Widths: ``Q q`` or ``BW Oct b`` (not for shelves). Numbers may use a
decimal comma. ``OFF`` filters are skipped; several ``Preamp`` lines add up; ``#`` starts a
comment.

Values left out take Equalizer APO's defaults where it has one: ``LP``/``HP`` (and
``LPQ``/``HPQ`` without ``Q``) are Butterworth, Q = 0.7071; ``LS``/``HS`` without a slope or
Q have S = 0.9, and ``LSC``/``HSC`` without one S = 1. The other types need their gain (``PK``,
shelves) and width (``PK``, ``BP``, ``NO``, ``AP``): a missing one is an error.

``LS``/``HS`` (without ``C``) give a corner frequency: the shelf's centre is
``Fc * 10**(|gain| / (80*S))`` for ``LS`` and ``Fc / 10**(|gain| / (80*S))`` for ``HS`` (with
``Q`` given, S is :func:`~eq.design.shelf_slope_from_q` of it); ``LSC``/``HSC`` take ``Fc``
as the centre.

``Channel:`` selects the channels of the filters after it, until the next ``Channel:``:
``all``, names (``L R C SUB RL RR SL SR``, see :mod:`eq.channels`) or Equalizer APO's numbers,
which count from 1 (``Channel: 1 2`` is channels 0 and 1 of :class:`~eq.design.Band`). A
``Preamp`` after a selection other than ``all`` is a per-channel gain, which eq does not have:
it is refused. So are the commands that are not bands (``Include:``, ``Device:``,
``Convolution:``, ``GraphicEQ:``, ...), by name.
"""

import math
import re

from .design import (
    DEFAULT_Q,
    GAIN_BAND_TYPES,
    SLOPE_DB_PER_OCT_AT_S1,
    Band,
    _exact,
    shelf_q_from_slope,
    shelf_slope_from_q,
)
from .channels import normalize_selection
from .errors import EqError, PresetError

__all__ = ["parse_apo", "format_apo", "looks_like_apo", "APO_SHELF_S", "APO_SHELF_CENTRE_S"]

APO_SHELF_S = 0.9
"""Slope S of an ``LS``/``HS`` filter that gives neither slope nor Q (Equalizer APO's)."""

APO_SHELF_CENTRE_S = 1.0
"""Slope S of an ``LSC``/``HSC`` filter that gives neither slope nor Q."""

_TYPES = {
    "PK": "peaking", "PEQ": "peaking", "MODAL": "peaking",
    "LP": "lowpass", "LPQ": "lowpass", "HP": "highpass", "HPQ": "highpass",
    "BP": "bandpass", "NO": "notch", "AP": "allpass",
    "LS": "lowshelf", "LSC": "lowshelf", "HS": "highshelf", "HSC": "highshelf",
}
_CORNER_SHELVES = ("LS", "HS")
_DEFAULT_Q_TYPES = ("LP", "LPQ", "HP", "HPQ")

_REFUSED = ("Include", "Device", "Convolution", "GraphicEQ", "Delay", "Copy", "Stage", "Eval",
            "If", "ElseIf", "Else", "EndIf", "LoadPlugin", "VSTPlugin", "AnalysisPlugin")

_COMMAND = re.compile(r"^\s*([A-Za-z][A-Za-z]*)(\s+\d+)?\s*:(.*)$")

_APO_NAMES = {"LFE": "SUB"}

_EXPORT_TYPES = {"peaking": "PK", "lowshelf": "LSC", "highshelf": "HSC", "lowpass": "LPQ",
                 "highpass": "HPQ", "bandpass": "BP", "notch": "NO", "allpass": "AP"}


def _number(text):
    value = float(text.replace(",", "."))
    if not math.isfinite(value):
        raise ValueError(text)
    return value


def looks_like_apo(text):
    """True if the first command of `text` is one of Equalizer APO's (``Preamp:``, ``Filter:``, ...)."""
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        match = _COMMAND.match(line)
        return bool(match) and match.group(1).lower() in (
            {"preamp", "filter", "channel"} | {name.lower() for name in _REFUSED})
    return False


class _LineError(Exception):
    pass


def _parse_channels(words):
    """The selection of a ``Channel:`` line: None for ``all``, else a tuple for Band.channels."""
    if not words:
        raise _LineError("expected 'all', channel names or numbers from 1")
    if [word.lower() for word in words] == ["all"]:
        return None
    selection = []
    for word in words:
        if word.isdigit():
            if int(word) < 1:
                raise _LineError(f"channel numbers count from 1, got {word}")
            selection.append(int(word) - 1)
        else:
            selection.append(word)
    return normalize_selection(selection)


def _parse_filter(words, channels=None):
    """Band of the words after ``Filter N:`` (``ON`` already taken), or raise :class:`_LineError`."""
    if not words:
        raise _LineError("no filter type")
    kind = words[0].upper()
    if kind not in _TYPES:
        raise _LineError(f"unknown filter type {words[0]!r}; expected one of "
                         f"{', '.join(sorted(_TYPES))}")
    band_type = _TYPES[kind]
    rest = words[1:]
    values = {}
    if rest and rest[0].lower() not in ("fc", "gain", "q", "bw"):  # "LSC 12 dB": a slope in dB per octave
        if band_type not in ("lowshelf", "highshelf") or len(rest) < 2 or rest[1].lower() != "db":
            raise _LineError(f"unexpected {rest[0]!r} after {words[0]!r}")
        values["slope"] = _number(rest[0])
        rest = rest[2:]
    i = 0
    while i < len(rest):
        key = rest[i].lower()
        if key in values:
            raise _LineError(f"{rest[i]} given twice")
        if key == "fc" and i + 2 <= len(rest):
            values["fc"] = _number(rest[i + 1])
            i += 2
            if i < len(rest) and rest[i].lower() == "hz":
                i += 1
        elif key == "gain" and i + 2 <= len(rest):
            values["gain"] = _number(rest[i + 1])
            i += 2
            if i < len(rest) and rest[i].lower() == "db":
                i += 1
        elif key == "q" and i + 2 <= len(rest):
            values["q"] = _number(rest[i + 1])
            i += 2
        elif key == "bw" and i + 3 <= len(rest) and rest[i + 1].lower() == "oct":
            values["bw"] = _number(rest[i + 2])
            i += 3
        else:
            raise _LineError(f"unexpected {rest[i]!r}")
    if "fc" not in values:
        raise _LineError("no Fc")
    if sum(key in values for key in ("q", "bw", "slope")) > 1:
        raise _LineError("more than one of Q, BW Oct and a slope")
    if band_type in GAIN_BAND_TYPES:
        if "gain" not in values:
            raise _LineError(f"{kind} needs a Gain")
    elif "gain" in values:
        raise _LineError(f"{kind} takes no Gain")
    gain_db = values.get("gain", 0.0)
    if band_type in ("lowshelf", "highshelf"):
        if "bw" in values:
            raise _LineError(f"{kind} takes Q or a slope, not BW Oct")
        if "q" in values:
            q = values["q"]
            s = shelf_slope_from_q(q, gain_db) if kind in _CORNER_SHELVES else None
        else:
            if "slope" in values:
                s = values["slope"] / SLOPE_DB_PER_OCT_AT_S1
            else:
                s = APO_SHELF_S if kind in _CORNER_SHELVES else APO_SHELF_CENTRE_S
            q = shelf_q_from_slope(s, gain_db)
        freq_hz = values["fc"]
        if kind in _CORNER_SHELVES:
            factor = 10.0 ** (abs(gain_db) / (80.0 * s))
            freq_hz = freq_hz * factor if kind == "LS" else freq_hz / factor
        return Band(band_type, freq_hz, q=q, gain_db=gain_db, channels=channels)
    if "bw" in values:
        return Band(band_type, values["fc"], gain_db=gain_db, bw_oct=values["bw"],
                    channels=channels)
    if "q" not in values:
        if kind not in _DEFAULT_Q_TYPES:
            raise _LineError(f"{kind} needs Q or BW Oct")
        values["q"] = DEFAULT_Q
    return Band(band_type, values["fc"], q=values["q"], gain_db=gain_db, channels=channels)


def parse_apo(text, name="preset"):
    """Read Equalizer APO configuration text.

    Parameters
    ----------
    text : str
        The configuration (see the module's description for what is read).
    name : str, optional
        Named in error messages.

    Returns
    -------
    bands : tuple of Band
        The ``ON`` filters, in order.
    preamp_db : float
        The sum of the ``Preamp`` lines.

    Raises
    ------
    PresetError
        At the first line that is unknown, malformed or not supported, naming its
        number and text.

    Examples
    --------
    >>> parse_apo("Preamp: -6,1 dB\\nFilter 1: ON PK Fc 105 Hz Gain 6.4 dB Q 0.70\\n")
    ((Band(type='peaking', freq_hz=105.0, q=0.7, gain_db=6.4),), -6.1)
    """
    bands, preamp_db, channels = [], 0.0, None
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.split("#", 1)[0].strip()
        if not stripped:
            continue

        def fail(why):
            raise PresetError(f"{name}: line {number}: {line.strip()!r}: {why}")

        match = _COMMAND.match(stripped)
        if not match:
            fail("not an Equalizer APO command")
        command, words = match.group(1), match.group(3).split()
        lowered = command.lower()
        if lowered in {refused.lower() for refused in _REFUSED}:
            fail(f"'{command}:' is not supported (only Preamp, Filter and Channel)")
        if match.group(2) and lowered != "filter":
            fail("not an Equalizer APO command")
        try:
            if lowered == "preamp":
                if len(words) not in (1, 2) or (len(words) == 2 and words[1].lower() != "db"):
                    fail("expected 'Preamp: GAIN dB'")
                if channels is not None:
                    fail("a Preamp on some channels is a per-channel gain, which eq does not "
                         "have (only a Preamp under 'Channel: all')")
                preamp_db += _number(words[0])
            elif lowered == "channel":
                channels = _parse_channels(words)
            elif lowered == "filter":
                if not words or words[0].upper() not in ("ON", "OFF"):
                    fail("expected ON or OFF after 'Filter:'")
                if words[0].upper() == "ON":
                    bands.append(_parse_filter(words[1:], channels))
            else:
                fail(f"unknown command '{command}:'")
        except PresetError:
            raise
        except _LineError as exc:
            fail(str(exc))
        except ValueError as exc:
            fail(f"not a number: {str(exc).rpartition(': ')[2]}")
        except EqError as exc:
            fail(str(exc))
    return tuple(bands), preamp_db


def format_apo(bands, preamp_db=0.0):
    """Equalizer APO configuration text of `bands` and `preamp_db`.

    Shelves are written as ``LSC``/``HSC`` (``Fc`` is the centre, as in :class:`~eq.design.Band`),
    passes as ``LPQ``/``HPQ``; every number as its shortest exact decimal, so
    :func:`parse_apo` reads back the same bands. Bands on some channels are preceded by a
    ``Channel:`` line (indices written from 1, ``LFE`` as ``SUB``), and ``Channel: all``
    goes back to every channel.

    Examples
    --------
    >>> print(format_apo([Band("peaking", 1000, q=1.4, gain_db=-3)], -3.0), end="")
    Preamp: -3 dB
    Filter 1: ON PK Fc 1000 Hz Gain -3 dB Q 1.4
    """
    lines = [f"Preamp: {_exact(float(preamp_db) + 0.0)} dB"]  # + 0.0: a preamp of -0 is written 0
    channels = None
    for i, band in enumerate(bands, 1):
        if band.channels != channels:
            channels = band.channels
            lines.append("Channel: " + ("all" if channels is None else " ".join(
                str(c + 1) if isinstance(c, int) else _APO_NAMES.get(c, c) for c in channels)))
        text = f"Filter {i}: ON {_EXPORT_TYPES[band.type]} Fc {_exact(band.freq_hz)} Hz"
        if band.type in GAIN_BAND_TYPES:
            text += f" Gain {_exact(band.gain_db)} dB"
        if band.bw_oct is not None:
            text += f" BW Oct {_exact(band.bw_oct)}"
        else:
            text += f" Q {_exact(band.q)}"
        lines.append(text)
    return "\n".join(lines) + "\n"

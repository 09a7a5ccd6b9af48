"""Band design: Audio EQ Cookbook biquads as normalised second-order sections.

Pure NumPy/``math``. Each band becomes one second-order section in scipy's
``sos`` layout ``[b0, b1, b2, 1, a1, a2]``, with the formulas of R. Bristow-
Johnson's *Cookbook formulae for audio EQ biquad filter coefficients*::

    w0 = 2*pi*freq_hz/sample_rate   alpha = sin(w0)/(2*q)   A = 10**(gain_db/40)

and every section divided by its ``a0``.
"""

import math
import numbers
from dataclasses import dataclass, replace

import numpy as np

from .channels import normalize_selection, resolve_channels
from .errors import InvalidParameterError, InvalidTypeError

__all__ = [
    "BAND_TYPES",
    "Band",
    "as_bands",
    "q_from_bw_oct",
    "bw_oct_from_q",
    "shelf_q_from_slope",
    "shelf_slope_from_q",
    "SLOPE_DB_PER_OCT_AT_S1",
    "design_sos",
    "bands_below_nyquist",
    "frequency_response_db",
    "channel_groups",
    "parse_band",
]

BAND_TYPES = (
    "peaking",
    "lowshelf",
    "highshelf",
    "lowpass",
    "highpass",
    "bandpass",
    "notch",
    "allpass",
)
"""Band types, by their canonical names."""

GAIN_BAND_TYPES = frozenset({"peaking", "lowshelf", "highshelf"})
"""Band types whose response depends on ``gain_db``."""

# Names are compared without case, "-" or "_" (low-shelf, low_shelf, LowShelf). The short
# names are those of Equalizer APO, sox and ffmpeg; "band" alone is not one, as it is ambiguous.
_TYPE_ALIASES = {
    "peak": "peaking", "pk": "peaking", "peq": "peaking", "bell": "peaking", "equalizer": "peaking",
    "ls": "lowshelf", "lsc": "lowshelf", "lowshelving": "lowshelf", "bass": "lowshelf",
    "hs": "highshelf", "hsc": "highshelf", "highshelving": "highshelf", "treble": "highshelf",
    "lp": "lowpass", "lpf": "lowpass", "lpq": "lowpass",
    "hp": "highpass", "hpf": "highpass", "hpq": "highpass",
    "bp": "bandpass", "bpf": "bandpass",
    "no": "notch", "bandstop": "notch", "bandreject": "notch", "bs": "notch", "br": "notch",
    "ap": "allpass", "apf": "allpass",
}


def _aliases_text():
    """``peaking (peak, pk, ...), lowshelf (...)``: every accepted name, for error messages."""
    groups = {name: [] for name in BAND_TYPES}
    for alias, name in _TYPE_ALIASES.items():
        groups[name].append(alias)
    return "; ".join(f"{name} ({', '.join(groups[name])})" if groups[name] else name
                     for name in BAND_TYPES)


MAX_ABS_GAIN_DB = 200.0
"""Largest gain magnitude a band accepts (beyond it the coefficients overflow)."""

DEFAULT_Q = 1.0 / math.sqrt(2.0)
"""Butterworth Q, the default when a band gives none."""

BW_BAND_TYPES = frozenset({"peaking", "lowpass", "highpass", "bandpass", "notch", "allpass"})
"""Band types whose width may be given in octaves (``bw_oct``); shelves take q or a slope."""

SLOPE_DB_PER_OCT_AT_S1 = 12.0
"""A shelf slope in dB per octave divided by this is the cookbook's S (Equalizer APO, CamillaDSP)."""


def _w0(freq_hz, sample_rate):
    w0 = 2.0 * math.pi * freq_hz / sample_rate
    if not 0.0 < w0 < math.pi:
        raise InvalidParameterError(
            f"frequency {freq_hz!r} Hz must be above 0 and below Nyquist ({sample_rate / 2.0!r} Hz)")
    return w0


def q_from_bw_oct(bw_oct, freq_hz, sample_rate):
    """Q of a band `bw_oct` octaves wide, by the cookbook's digital formula.

    ``1/Q = 2*sinh(ln(2)/2 * bw_oct * w0/sin(w0))`` with ``w0 = 2*pi*freq_hz/sample_rate``:
    the bandwidth between the -3 dB points (bandpass, notch) or the midpoint gains
    (peaking) of the *digital* filter, so the same `bw_oct` gives a rate-dependent Q.

    Parameters
    ----------
    bw_oct : float
        Bandwidth in octaves, ``> 0``.
    freq_hz : float
        Centre frequency in Hz, below Nyquist.
    sample_rate : int
        In Hz.

    Returns
    -------
    float

    See Also
    --------
    bw_oct_from_q : the inverse.

    Examples
    --------
    >>> round(q_from_bw_oct(1.0, 1000.0, 48000), 2)  # 1.414 in the analog limit
    1.41
    """
    bw_oct = _real(bw_oct, "bandwidth (octaves)")
    if bw_oct <= 0.0:
        raise InvalidParameterError(f"bandwidth must be > 0 octaves, got {bw_oct!r}")
    w0 = _w0(freq_hz, sample_rate)
    return 1.0 / (2.0 * math.sinh(math.log(2.0) / 2.0 * bw_oct * w0 / math.sin(w0)))


def bw_oct_from_q(q, freq_hz, sample_rate):
    """Bandwidth in octaves of a band of quality `q` (inverse of :func:`q_from_bw_oct`).

    Examples
    --------
    >>> round(bw_oct_from_q(q_from_bw_oct(0.5, 3000.0, 44100), 3000.0, 44100), 12)
    0.5
    """
    q = _real(q, "q")
    if q <= 0.0:
        raise InvalidParameterError(f"q must be > 0, got {q!r}")
    w0 = _w0(freq_hz, sample_rate)
    return 2.0 * math.asinh(1.0 / (2.0 * q)) * math.sin(w0) / (math.log(2.0) * w0)


def shelf_q_from_slope(s, gain_db):
    """Q of a shelf of cookbook slope `s` and gain `gain_db`.

    ``1/Q = sqrt((A + 1/A)*(1/S - 1) + 2)`` with ``A = 10**(gain_db/40)``; ``S = 1`` is the
    steepest shelf without overshoot, and a slope of ``x`` dB per octave is
    ``S = x / 12`` (:data:`SLOPE_DB_PER_OCT_AT_S1`). Independent of the sample rate.

    Raises
    ------
    InvalidParameterError
        If `s` is not > 0, or so steep for this gain that no real Q exists.

    Examples
    --------
    >>> round(shelf_q_from_slope(1.0, 6.0), 6)
    0.707107
    """
    s = _real(s, "shelf slope S")
    if s <= 0.0:
        raise InvalidParameterError(f"shelf slope S must be > 0, got {s!r}")
    a = 10.0 ** (_real(gain_db, "gain_db") / 40.0)
    inv_q_sq = (a + 1.0 / a) * (1.0 / s - 1.0) + 2.0
    if not inv_q_sq > 0.0:
        raise InvalidParameterError(
            f"shelf slope S {s!r} is too steep for gain {gain_db!r} dB (no real Q)")
    return 1.0 / math.sqrt(inv_q_sq)


def shelf_slope_from_q(q, gain_db):
    """Cookbook slope S of a shelf of quality `q` and gain `gain_db` (inverse of
    :func:`shelf_q_from_slope`).

    Examples
    --------
    >>> round(shelf_slope_from_q(shelf_q_from_slope(0.5, -4.0), -4.0), 12)
    0.5
    """
    q = _real(q, "q")
    a = 10.0 ** (_real(gain_db, "gain_db") / 40.0)
    denominator = (1.0 / (q * q) - 2.0) / (a + 1.0 / a) + 1.0
    if not denominator > 0.0:
        raise InvalidParameterError(f"shelf q {q!r} at gain {gain_db!r} dB has no slope S")
    return 1.0 / denominator


def _real(value, name):
    """Return `value` as a finite float or raise naming `name`."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InvalidTypeError(f"{name} must be a real number, got {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise InvalidParameterError(f"{name} must be finite, got {value!r}")
    return value


def _band_type(value):
    if not isinstance(value, str):
        raise InvalidTypeError(f"band type must be a string such as 'peaking', got {value!r}")
    key = value.strip().lower().replace("-", "").replace("_", "")
    key = _TYPE_ALIASES.get(key, key)
    if key not in BAND_TYPES:
        raise InvalidParameterError(
            f"unknown band type {value!r}; expected one of: {_aliases_text()}"
        )
    return key


@dataclass(frozen=True, repr=False)
class Band:
    """One equalizer band: a single Audio EQ Cookbook biquad.

    Parameters
    ----------
    type : str
        One of :data:`BAND_TYPES` (a few aliases such as ``"bell"`` are accepted).
    freq_hz : float
        Centre, corner or shelf mid-point frequency in Hz, ``> 0`` (and below
        Nyquist, checked when a sample rate is known).
    q : float, optional
        Quality factor, ``> 0``. Default ``1/sqrt(2)``.
    gain_db : float, optional
        Gain in dB, used by ``peaking``, ``lowshelf`` and ``highshelf``. Default 0.
    bw_oct : float or None, optional
        Width in octaves instead of `q` (not for shelves): the Q is then
        :func:`q_from_bw_oct` at the sample rate the band is designed for, so
        the band keeps its width in octaves at every rate. `q` must be left at
        its default.

    Raises
    ------
    InvalidParameterError
        For an unknown type or a non-finite or non-positive value.
    InvalidTypeError
        For a value of the wrong kind.

    Examples
    --------
    >>> Band("peaking", 1000.0, q=1.4, gain_db=-3.0)
    Band(type='peaking', freq_hz=1000.0, q=1.4, gain_db=-3.0)
    """

    type: str
    freq_hz: float
    q: float = DEFAULT_Q
    gain_db: float = 0.0
    bw_oct: float = None
    channels: tuple = None

    def __repr__(self):
        text = (f"Band(type={self.type!r}, freq_hz={self.freq_hz!r}, q={self.q!r}, "
                f"gain_db={self.gain_db!r}")
        if self.bw_oct is not None:
            text += f", bw_oct={self.bw_oct!r}"
        if self.channels is not None:
            text += f", channels={self.channels!r}"
        return text + ")"

    def __post_init__(self):
        object.__setattr__(self, "type", _band_type(self.type))
        object.__setattr__(self, "channels", normalize_selection(self.channels))
        freq_hz = _real(self.freq_hz, "band frequency (freq_hz)")
        if freq_hz <= 0.0:
            raise InvalidParameterError(f"band frequency must be > 0 Hz, got {freq_hz!r}")
        q = _real(self.q, "band q")
        if q <= 0.0:
            raise InvalidParameterError(f"band q must be > 0, got {q!r}")
        object.__setattr__(self, "freq_hz", freq_hz)
        object.__setattr__(self, "q", q)
        gain_db = _real(self.gain_db, "band gain_db")
        if abs(gain_db) > MAX_ABS_GAIN_DB:
            raise InvalidParameterError(
                f"band gain_db must be within +-{MAX_ABS_GAIN_DB:g} dB, got {gain_db!r}")
        object.__setattr__(self, "gain_db", gain_db)
        if self.bw_oct is not None:
            bw_oct = _real(self.bw_oct, "band bw_oct")
            if bw_oct <= 0.0:
                raise InvalidParameterError(f"band bw_oct must be > 0 octaves, got {bw_oct!r}")
            if self.type not in BW_BAND_TYPES:
                raise InvalidParameterError(
                    f"a {self.type} band takes q or a shelf slope, not a width in octaves")
            if q != DEFAULT_Q:
                raise InvalidParameterError(
                    f"band gives both q={q!r} and bw_oct={bw_oct!r}; give one")
            object.__setattr__(self, "bw_oct", bw_oct)

    def q_at(self, sample_rate):
        """The band's Q at `sample_rate`: `q`, or the Q of its width `bw_oct` there."""
        if self.bw_oct is None:
            return self.q
        return q_from_bw_oct(self.bw_oct, self.freq_hz, sample_rate)

    @classmethod
    def from_dict(cls, mapping):
        """Build a band from a mapping ``{"type", "freq_hz", "q", "gain_db"}``.

        The keys are the attribute names; the short forms ``freq`` and
        ``gain`` are accepted too. ``q`` and the gain are optional. Instead of
        ``q``: ``bw_oct`` (or ``bw``), a width in octaves; for shelves ``s``,
        the cookbook slope, or ``slope_db`` in dB per octave (``s = slope_db/12``),
        turned into a Q with :func:`shelf_q_from_slope`. ``channels`` (a list of
        indices and names, or a string such as ``"L,R"``) selects channels. Unknown keys
        are rejected, so a typo does not silently fall back to a default.
        """
        if not hasattr(mapping, "keys"):
            raise InvalidTypeError(f"a band must be a Band or a mapping, got {mapping!r}")
        keys = {"type": "type", "freq": "freq_hz", "freq_hz": "freq_hz", "q": "q",
                "gain_db": "gain_db", "gain": "gain_db", "bw_oct": "bw_oct", "bw": "bw_oct",
                "s": "s", "slope_db": "slope_db", "channels": "channels"}
        kwargs = {}
        for key, value in mapping.items():
            if key not in keys:
                raise InvalidParameterError(
                    f"unknown band key {key!r} in {dict(mapping)!r}; "
                    "expected type, freq_hz (or freq), q, bw_oct (or bw), s, slope_db, "
                    "gain_db (or gain), channels"
                )
            if keys[key] in kwargs:
                raise InvalidParameterError(f"band {dict(mapping)!r} gives {keys[key]} twice")
            kwargs[keys[key]] = value
        for required in ("type", "freq_hz"):
            if required not in kwargs:
                raise InvalidParameterError(f"band {dict(mapping)!r} has no {required!r}")
        return _band_with_width(kwargs, repr(dict(mapping)))

    def to_dict(self):
        """Return the band as ``{"type", "freq_hz", "q", "gain_db"}`` (what :meth:`from_dict` reads);
        ``bw_oct`` in place of ``q`` for a band given in octaves, and ``channels`` for a band on
        some channels."""
        if self.bw_oct is not None:
            mapping = {"type": self.type, "freq_hz": self.freq_hz, "bw_oct": self.bw_oct,
                       "gain_db": self.gain_db}
        else:
            mapping = {"type": self.type, "freq_hz": self.freq_hz, "q": self.q,
                       "gain_db": self.gain_db}
        if self.channels is not None:
            mapping["channels"] = list(self.channels)
        return mapping

    def check_rate(self, sample_rate):
        """Raise unless the band's frequency is below Nyquist at `sample_rate`."""
        nyquist = sample_rate / 2.0
        if not self.freq_hz < nyquist:
            raise InvalidParameterError(
                f"{self.type} band frequency {self.freq_hz!r} Hz must be below Nyquist "
                f"({nyquist!r} Hz at sample rate {sample_rate!r})"
            )

    def sos(self, sample_rate):
        """Return this band's normalised section ``[b0, b1, b2, 1, a1, a2]``."""
        self.check_rate(sample_rate)
        return _cookbook_section(self.type, self.freq_hz, self.q_at(sample_rate), self.gain_db,
                                 sample_rate)

    def spec(self):
        """Return the command-line spec of this band (see :func:`parse_band`)."""
        width = f"q={_exact(self.q)}" if self.bw_oct is None else f"bw={_exact(self.bw_oct)}"
        text = f"{self.type}:{_exact(self.freq_hz)}:{width}"
        if self.type in GAIN_BAND_TYPES:
            text += f":gain={_exact(self.gain_db)}"
        if self.channels is not None:
            text += ":ch=" + ",".join(str(c) for c in self.channels)
        return text


def _band_with_width(kwargs, where):
    """`Band(**kwargs)` where kwargs may hold a shelf slope ``s`` or ``slope_db`` for the Q."""
    slopes = [key for key in ("s", "slope_db") if key in kwargs]
    if not slopes:
        return Band(**kwargs)
    if len(slopes) > 1 or "q" in kwargs or "bw_oct" in kwargs:
        raise InvalidParameterError(f"band {where} gives more than one of q, bw, s, slope; give one")
    value = kwargs.pop(slopes[0])
    band_type = _band_type(kwargs["type"])
    if band_type not in ("lowshelf", "highshelf"):
        raise InvalidParameterError(f"band {where}: {slopes[0]} is for shelves, not {band_type}")
    s = _real(value, slopes[0])
    if slopes[0] == "slope_db":
        s /= SLOPE_DB_PER_OCT_AT_S1
    kwargs["q"] = shelf_q_from_slope(s, kwargs.get("gain_db", 0.0))
    return Band(**kwargs)


def _exact(value):
    """Shortest text that reads back as exactly `value` (``repr``, without a trailing ``.0``)."""
    text = repr(value)
    return text[:-2] if text.endswith(".0") else text


def check_sample_rate(sample_rate):
    """Return `sample_rate` as an int, or raise if it is not a positive integer in Hz."""
    if isinstance(sample_rate, bool) or not isinstance(sample_rate, numbers.Real):
        raise InvalidTypeError(
            f"sample_rate must be a positive whole number of Hz, got {sample_rate!r}")
    if not isinstance(sample_rate, numbers.Integral):
        if isinstance(sample_rate, float) and sample_rate.is_integer():
            sample_rate = int(sample_rate)
        else:
            raise InvalidParameterError(
                f"sample_rate must be a positive whole number of Hz, got {sample_rate!r}"
            )
    if sample_rate <= 0:
        raise InvalidParameterError(f"sample_rate must be > 0 Hz, got {sample_rate!r}")
    return int(sample_rate)


def as_bands(bands):
    """Normalise an iterable of :class:`Band` or dicts to a tuple of bands."""
    if isinstance(bands, (Band, dict, str, bytes)):
        raise InvalidTypeError(
            f"bands must be a list of Band objects or dicts, got a single {type(bands).__name__}"
        )
    try:
        items = list(bands)
    except TypeError:
        raise InvalidTypeError(f"bands must be a list of bands, got {bands!r}") from None
    return tuple(b if isinstance(b, Band) else Band.from_dict(b) for b in items)


def bands_below_nyquist(bands, sample_rate):
    """Split `bands` into those below Nyquist at `sample_rate` and those at or above it.

    A band at or above Nyquist cannot be designed (the cookbook's ``w0`` reaches pi). Presets
    meant for many rates drop such bands: a 10 kHz shelf has nothing to act on in an 8 kHz file.

    Parameters
    ----------
    bands : iterable of Band or dict
    sample_rate : int
        In Hz.

    Returns
    -------
    kept, dropped : tuple of Band
        In their original order.

    Examples
    --------
    >>> kept, dropped = bands_below_nyquist([parse_band("peaking:1k"), parse_band("highshelf:10k")], 8000)
    >>> [b.freq_hz for b in kept], [b.freq_hz for b in dropped]
    ([1000.0], [10000.0])
    """
    bands = as_bands(bands)
    nyquist_hz = check_sample_rate(sample_rate) / 2.0
    kept = tuple(b for b in bands if b.freq_hz < nyquist_hz)
    dropped = tuple(b for b in bands if not b.freq_hz < nyquist_hz)
    return kept, dropped


def _cookbook_section(band_type, freq_hz, q, gain_db, sample_rate):
    w0 = 2.0 * math.pi * freq_hz / sample_rate
    cos_w0 = math.cos(w0)
    alpha = math.sin(w0) / (2.0 * q)
    a = 10.0 ** (gain_db / 40.0)
    if band_type == "peaking":
        b = (1.0 + alpha * a, -2.0 * cos_w0, 1.0 - alpha * a)
        den = (1.0 + alpha / a, -2.0 * cos_w0, 1.0 - alpha / a)
    elif band_type in ("lowshelf", "highshelf"):
        two_sqrt_a_alpha = 2.0 * math.sqrt(a) * alpha
        sign = 1.0 if band_type == "lowshelf" else -1.0
        b = (
            a * ((a + 1.0) - sign * (a - 1.0) * cos_w0 + two_sqrt_a_alpha),
            sign * 2.0 * a * ((a - 1.0) - sign * (a + 1.0) * cos_w0),
            a * ((a + 1.0) - sign * (a - 1.0) * cos_w0 - two_sqrt_a_alpha),
        )
        den = (
            (a + 1.0) + sign * (a - 1.0) * cos_w0 + two_sqrt_a_alpha,
            -sign * 2.0 * ((a - 1.0) + sign * (a + 1.0) * cos_w0),
            (a + 1.0) + sign * (a - 1.0) * cos_w0 - two_sqrt_a_alpha,
        )
    else:
        den = (1.0 + alpha, -2.0 * cos_w0, 1.0 - alpha)
        if band_type == "lowpass":
            b = ((1.0 - cos_w0) / 2.0, 1.0 - cos_w0, (1.0 - cos_w0) / 2.0)
        elif band_type == "highpass":
            b = ((1.0 + cos_w0) / 2.0, -(1.0 + cos_w0), (1.0 + cos_w0) / 2.0)
        elif band_type == "bandpass":
            b = (alpha, 0.0, -alpha)
        elif band_type == "notch":
            b = (1.0, -2.0 * cos_w0, 1.0)
        elif band_type == "allpass":
            b = (1.0 - alpha, -2.0 * cos_w0, 1.0 + alpha)
        else:  # Band validates the type; this is an internal invariant.
            raise AssertionError(band_type)
    a0 = den[0]
    return np.array([b[0] / a0, b[1] / a0, b[2] / a0, 1.0, den[1] / a0, den[2] / a0])


def design_sos(bands, sample_rate):
    """Design the cascade of second-order sections for a list of bands.

    Parameters
    ----------
    bands : iterable of Band or dict
        The bands, applied in the given order. Dicts use the keys
        ``type``, ``freq``, ``q``, ``gain_db``.
    sample_rate : int
        Sample rate in Hz.

    Returns
    -------
    sos : ndarray, shape (n_bands, 6), float64
        One row ``[b0, b1, b2, 1, a1, a2]`` per band (scipy's ``sos`` layout).
        An empty band list gives shape ``(0, 6)``: the identity.

    Raises
    ------
    InvalidParameterError
        If a band is invalid or its frequency is not below ``sample_rate / 2``, or if some
        band acts on some channels only (there is then a cascade per channel: see
        :func:`channel_groups`).

    See Also
    --------
    scipy.signal.sosfilt : filters with this array.
    frequency_response_db : the magnitude response of the cascade.

    Examples
    --------
    >>> sos = design_sos([{"type": "peaking", "freq": 1000, "q": 1, "gain_db": 6}], 48000)
    >>> sos.shape
    (1, 6)
    """
    bands = as_bands(bands)
    _one_cascade(bands)
    return band_sections(bands, sample_rate)


def _one_cascade(bands):
    if any(band.channels is not None for band in bands):
        raise InvalidParameterError(
            "some bands act on some channels only, so each channel has its own cascade: "
            "take each channel's bands with eq.channel_groups() first")


def band_sections(bands, sample_rate):
    """One section per band, ``(n_bands, 6)``, whatever channels each acts on."""
    sample_rate = check_sample_rate(sample_rate)
    bands = as_bands(bands)
    sos = np.empty((len(bands), 6), dtype=np.float64)
    for i, band in enumerate(bands):
        sos[i] = band.sos(sample_rate)
    return sos


def frequency_response_db(bands, sample_rate, freqs_hz, preamp_db=0.0):
    """Magnitude response of a band cascade, in dB.

    Parameters
    ----------
    bands : iterable of Band or dict
        The bands.
    sample_rate : int
        Sample rate in Hz.
    freqs_hz : array_like
        Frequencies in Hz at which to evaluate, ``0 <= f <= sample_rate/2``.
    preamp_db : float, optional
        A gain added to every frequency.

    Returns
    -------
    ndarray
        ``20*log10(|H(f)|)`` at each frequency (``-inf`` at an exact zero).
    """
    bands = as_bands(bands)
    sos = design_sos(bands, sample_rate)
    try:
        freqs_hz = np.asarray(freqs_hz, dtype=np.float64)
    except (TypeError, ValueError):
        raise InvalidParameterError(f"freqs_hz must be numbers in Hz, got {freqs_hz!r}") from None
    z_inv = np.exp(-2j * np.pi * freqs_hz / sample_rate)
    h = np.ones_like(z_inv)
    for b0, b1, b2, _, a1, a2 in sos:
        h = h * (b0 + z_inv * (b1 + z_inv * b2)) / (1.0 + z_inv * (a1 + z_inv * a2))
    with np.errstate(divide="ignore"):
        return 20.0 * np.log10(np.abs(h)) + _real(preamp_db, "preamp_db")


def channel_groups(bands, channels):
    """The channels that share the same bands, and those bands.

    Parameters
    ----------
    bands : iterable of Band or dict
    channels : int
        Channels of the stream (names resolve against its layout, :mod:`eq.channels`).

    Returns
    -------
    list of (tuple of int, tuple of Band)
        One item per distinct cascade, in order of its first channel; the bands without
        their channel selection, in order. Bands on every channel give one item.

    Examples
    --------
    >>> groups = channel_groups([parse_band("peaking:1k:gain=3"), parse_band("lowshelf:100:ch=R")], 2)
    >>> [(chans, len(bands)) for chans, bands in groups]
    [((0,), 1), ((1,), 2)]
    """
    bands = as_bands(bands)
    selected = [resolve_channels(band.channels, channels) for band in bands]
    groups = {}
    for channel in range(channels):
        key = tuple(i for i, chosen in enumerate(selected) if channel in chosen)
        groups.setdefault(key, []).append(channel)
    return [(tuple(chans), tuple(replace(bands[i], channels=None) for i in key))
            for key, chans in groups.items()]


def _parse_number(text, what, spec):
    value = text.strip().lower()
    factor = 1.0
    if what == "frequency":
        if value.endswith("hz"):
            value = value[:-2]
        if value.endswith("k"):
            factor, value = 1000.0, value[:-1]
    elif what == "gain" and value.endswith("db"):
        value = value[:-2]
    try:
        return float(value) * factor
    except ValueError:
        raise InvalidParameterError(
            f"band {spec!r}: {what} {text!r} is not a number"
        ) from None


def parse_band(spec):
    """Parse a command-line band spec ``TYPE:FREQ[:q=Q|bw=OCT|s=S|slope=DB][:gain=DB][:ch=CH]``.

    ``FREQ`` is in Hz and may end in ``k`` (``2.5k`` = 2500 Hz); ``gain`` is
    in dB (``gain_db=`` and ``g=`` are accepted too). The width is one of
    ``q=``; ``bw=``, octaves (not for shelves, see :func:`q_from_bw_oct`); for
    shelves ``s=``, the cookbook slope, or ``slope=``, dB per octave
    (``S = slope/12``), both turned into a Q by :func:`shelf_q_from_slope`.
    ``ch=`` lists the channels the band acts on, by index from 0 or name, separated by
    commas (``ch=L``, ``ch=0,1``; see :mod:`eq.channels`); without it, every channel.
    Omitted values take the defaults of :class:`Band`.

    Examples
    --------
    >>> parse_band("peaking:1k:q=1.4:gain=-3")
    Band(type='peaking', freq_hz=1000.0, q=1.4, gain_db=-3.0)
    >>> parse_band("highpass:80")
    Band(type='highpass', freq_hz=80.0, q=0.7071067811865475, gain_db=0.0)
    >>> parse_band("notch:50:bw=0.1")
    Band(type='notch', freq_hz=50.0, q=0.7071067811865475, gain_db=0.0, bw_oct=0.1)
    >>> parse_band("lowshelf:100:gain=4:ch=L").channels
    ('L',)
    """
    if not isinstance(spec, str):
        raise InvalidTypeError(f"band spec must be a string, got {spec!r}")
    parts = spec.split(":")
    if len(parts) < 2 or not parts[0].strip() or not parts[1].strip():
        raise InvalidParameterError(
            f"band spec {spec!r} must look like TYPE:FREQ[:q=Q][:gain=DB], "
            "for example peaking:1k:q=1.4:gain=-3"
        )
    kwargs = {"type": parts[0], "freq_hz": _parse_number(parts[1], "frequency", spec)}
    names = {"q": ("q", "q"), "gain": ("gain_db", "gain"), "gain_db": ("gain_db", "gain"),
             "g": ("gain_db", "gain"), "bw": ("bw_oct", "bandwidth"), "s": ("s", "slope"),
             "slope": ("slope_db", "slope"), "ch": ("channels", "channels"),
             "channels": ("channels", "channels")}
    for part in parts[2:]:
        key, sep, value = part.partition("=")
        key = key.strip().lower()
        if not sep or key not in names:
            raise InvalidParameterError(
                f"band spec {spec!r}: {part!r} should be q=Q, bw=OCT, s=S, slope=DB, gain=DB "
                "or ch=CHANNELS"
            )
        field, what = names[key]
        if field in kwargs:
            raise InvalidParameterError(f"band spec {spec!r} gives {key} twice")
        kwargs[field] = value if field == "channels" else _parse_number(value, what, spec)
    return _band_with_width(kwargs, repr(spec))

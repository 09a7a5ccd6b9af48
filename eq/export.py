"""Export bands and a preamp to other tools: Equalizer APO, CamillaDSP, ffmpeg ``-af``, sox.

Every band type has an exact counterpart in each target (the same Audio EQ Cookbook
section), so an export is the same filter, not an approximation:

======== =========== ============ ===================== ==========================
eq       APO         CamillaDSP   ffmpeg                sox
======== =========== ============ ===================== ==========================
peaking  PK          Peaking      equalizer             equalizer
lowshelf LSC         Lowshelf     lowshelf              bass
highshelf HSC        Highshelf    highshelf             treble
lowpass  LPQ         Lowpass      lowpass (2 poles)     lowpass -2
highpass HPQ         Highpass     highpass (2 poles)    highpass -2
bandpass BP          Bandpass     bandpass              bandpass
notch    NO          Notch        bandreject            bandreject
allpass  AP          Allpass      allpass (order 2)     allpass
======== =========== ============ ===================== ==========================

Widths are written as Q, or in octaves for a band given in octaves. A value a target cannot
take (ffmpeg's options have ranges) is an error naming the band and the target.

Bands on some channels (:attr:`~eq.design.Band.channels`): Equalizer APO gets ``Channel:``
lines, CamillaDSP a pipeline step per run of bands with the same channels, ffmpeg each
filter's ``c=`` option with ffmpeg's channel names for the channel count (its default layout,
:mod:`eq.channels`). ffmpeg matches those names against the stream's own layout: a 6-channel
stream that ffmpeg decodes as 5.1(side) has SL SR where 5.1 has BL BR, and a band on them then
matches nothing; put ``aformat=channel_layouts=5.1`` first in such a chain. sox applies every
effect to every channel, so it cannot express bands on some: that is an error.
"""

from .apo import format_apo
from .camilladsp import format_camilladsp
from .channels import CHANNEL_LAYOUTS, FFMPEG_NAMES, resolve_channels
from .design import GAIN_BAND_TYPES, _exact, as_bands
from .errors import InvalidParameterError

__all__ = ["EXPORT_FORMATS", "export_text", "ffmpeg_filter_chain", "sox_effects"]

EXPORT_FORMATS = ("apo", "camilladsp", "ffmpeg", "sox")
"""The targets of :func:`export_text`."""

_FFMPEG = {"peaking": "equalizer", "lowshelf": "lowshelf", "highshelf": "highshelf",
           "lowpass": "lowpass", "highpass": "highpass", "bandpass": "bandpass",
           "notch": "bandreject", "allpass": "allpass"}
_FFMPEG_EXTRA = {"lowpass": ":p=2", "highpass": ":p=2", "allpass": ":order=2"}
# ffmpeg's option ranges (libavfilter/af_biquads.c): frequency 0..999999, width 0..99999,
# gain -900..900 dB.
_FFMPEG_LIMITS = {"frequency": 999999.0, "width": 99999.0, "gain": 900.0}

_SOX = {"peaking": "equalizer", "lowshelf": "bass", "highshelf": "treble",
        "lowpass": "lowpass -2", "highpass": "highpass -2", "bandpass": "bandpass",
        "notch": "bandreject", "allpass": "allpass"}


def _width(band):
    """(value, ffmpeg width_type, sox suffix) of the band's width."""
    if band.bw_oct is not None:
        return band.bw_oct, "o", "o"
    return band.q, "q", "q"


def _ffmpeg_channels(band, channels):
    """The ``:c=`` option of a band on some channels (ffmpeg's names), or ``""``."""
    if band.channels is None:
        return ""
    layout = CHANNEL_LAYOUTS.get(channels)
    if layout is None:
        raise InvalidParameterError(
            f"band {band.spec()}: ffmpeg names channels by layout, and {channels} channels "
            f"have none here (layouts for {', '.join(map(str, sorted(CHANNEL_LAYOUTS)))})")
    return ":c=" + "+".join(FFMPEG_NAMES[layout[c]]
                            for c in resolve_channels(band.channels, channels))


def ffmpeg_filter_chain(bands, preamp_db=0.0, precision="f64", channels=2):
    """An ffmpeg ``-af`` filter chain of `bands` after a preamp.

    Each band runs at `precision` (``r=``; ``f64``: double, as eq), the preamp is a
    ``volume`` filter in double precision. A band on some channels names them in ffmpeg's
    default layout of `channels` channels (``c=FL``).

    Raises
    ------
    InvalidParameterError
        For a band beyond the range of ffmpeg's options, or on a channel that `channels`
        channels do not have.

    Examples
    --------
    >>> from eq.design import Band
    >>> ffmpeg_filter_chain([Band("peaking", 1000, q=1.4, gain_db=-3)], -3.0)
    'volume=-3dB:precision=double,equalizer=f=1000:t=q:w=1.4:g=-3:r=f64'
    """
    parts = [f"volume={_exact(float(preamp_db))}dB:precision=double"] if preamp_db else []
    for band in as_bands(bands):
        width, width_type, _ = _width(band)
        checks = {"frequency": band.freq_hz, "width": width, "gain": abs(band.gain_db)}
        for what, value in checks.items():
            if value > _FFMPEG_LIMITS[what]:
                raise InvalidParameterError(
                    f"band {band.spec()}: ffmpeg cannot express it ({what} {value!r} is beyond "
                    f"its limit {_FFMPEG_LIMITS[what]:g})")
        text = f"{_FFMPEG[band.type]}=f={_exact(band.freq_hz)}:t={width_type}:w={_exact(width)}"
        if band.type in GAIN_BAND_TYPES:
            text += f":g={_exact(band.gain_db)}"
        parts.append(text + _FFMPEG_EXTRA.get(band.type, "") + f":r={precision}"
                     + _ffmpeg_channels(band, channels))
    return ",".join(parts) if parts else "anull"


def sox_effects(bands, preamp_db=0.0):
    """A sox effects chain of `bands` after a preamp (``vol GAIN dB``).

    Raises
    ------
    InvalidParameterError
        For a band on some channels only (sox cannot express it).

    Examples
    --------
    >>> from eq.design import Band
    >>> sox_effects([Band("lowshelf", 100, q=0.7, gain_db=3), Band("notch", 50, bw_oct=0.1)])
    'bass 3 100 0.7q bandreject 50 0.1o'
    """
    parts = [f"vol {_exact(float(preamp_db))} dB"] if preamp_db else []
    for band in as_bands(bands):
        if band.channels is not None:
            raise InvalidParameterError(
                f"band {band.spec()}: sox applies every effect to every channel, so it cannot "
                "express a band on some channels")
        width, _, suffix = _width(band)
        name = _SOX[band.type]
        if band.type in ("lowshelf", "highshelf"):
            parts.append(f"{name} {_exact(band.gain_db)} {_exact(band.freq_hz)} "
                         f"{_exact(width)}{suffix}")
        elif band.type == "peaking":
            parts.append(f"{name} {_exact(band.freq_hz)} {_exact(width)}{suffix} "
                         f"{_exact(band.gain_db)}")
        else:
            parts.append(f"{name} {_exact(band.freq_hz)} {_exact(width)}{suffix}")
    return " ".join(parts)


def export_text(bands, preamp_db, to, channels=2):
    """`bands` and `preamp_db` as text for the target `to` (one of :data:`EXPORT_FORMATS`).

    ``apo`` and ``camilladsp`` give a configuration file (``channels``: CamillaDSP's pipeline,
    and the layout that names channels for ffmpeg),
    ``ffmpeg`` the value of ``-af`` and ``sox`` the effects after the file names; each ends
    in a newline.
    """
    bands = as_bands(bands)
    if to == "apo":
        return format_apo(bands, preamp_db)
    if to == "camilladsp":
        return format_camilladsp(bands, preamp_db, channels)
    if to == "ffmpeg":
        return ffmpeg_filter_chain(bands, preamp_db, channels=channels) + "\n"
    if to == "sox":
        return sox_effects(bands, preamp_db) + "\n"
    raise InvalidParameterError(f"unknown export format {to!r}; expected one of "
                                f"{', '.join(EXPORT_FORMATS)}")

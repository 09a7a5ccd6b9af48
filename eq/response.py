"""The magnitude response of a band cascade as ``eq response`` shows it: a table and a plot.

The table is taken at log-spaced frequencies and at each band's own
frequency, so that a narrow notch or peak is never stepped over. The plot's
gain axis follows the curve: it ends :data:`PLOT_RANGE_DB` below the curve's
highest point, so the detail of a passband stays readable next to a deep
stop band.
"""

import os
import textwrap

import numpy as np

from .channels import channel_names
from .design import channel_groups, frequency_response_db
from .errors import EqError, InvalidParameterError

__all__ = ["auto_preamp_db", "AUTO_PREAMP_POINTS", "PLOT_SUFFIXES", "PLOT_RANGE_DB", "MIN_PLOT_SPAN_DB", "table_freqs_hz",
           "plot_limits_db", "check_plot_path", "save_response_plot"]

PLOT_SUFFIXES = (".png", ".svg", ".pdf")
"""File name endings a plot may have (the picture format follows the ending)."""

PLOT_RANGE_DB = 36.0
"""The gain axis of a plot reaches at most this far below the curve's highest point."""

MIN_PLOT_SPAN_DB = 12.0
"""The gain axis of a plot spans at least this much, so a flat curve is not magnified."""

_PLOT_MARGIN_DB = 3.0


AUTO_PREAMP_POINTS = 4096
"""Log-spaced frequencies, 1 Hz to Nyquist, on which :func:`auto_preamp_db` looks for the peak."""


def auto_preamp_db(bands, sample_rate, points=AUTO_PREAMP_POINTS, channels=None):
    """The preamp that keeps the response's maximum at 0 dB (AutoEQ's ``Preamp`` rule).

    ``-max(0, max response in dB)``, the response taken at `points` log-spaced frequencies
    from 1 Hz to Nyquist, at 0 Hz and at each band's own frequency; with bands on some
    channels, the maximum over every channel's response.

    Parameters
    ----------
    bands : iterable of Band
        All below Nyquist at `sample_rate`.
    sample_rate : int
        In Hz.
    points : int, optional
    channels : int or None, optional
        Channels of the stream, to resolve bands on some channels (None: 1 if no band
        selects channels, else 2).

    Returns
    -------
    float
        ``<= 0``, in dB.

    Examples
    --------
    >>> from eq.design import Band
    >>> round(auto_preamp_db([Band("peaking", 1000.0, q=1.0, gain_db=6.0)], 48000), 9)
    -6.0
    """
    bands = tuple(bands)
    freqs = np.concatenate([[0.0], _log_grid_with_bands(bands, sample_rate, 1.0, 4.0, points)])
    peak_db = max(float(np.max(frequency_response_db(group, sample_rate, freqs)))
                  for _, group in channel_groups(bands, default_channels(bands, channels)))
    return 0.0 - max(0.0, peak_db)


def default_channels(bands, channels):
    """`channels`, or when None: 1 if no band selects channels, else 2 (stereo)."""
    if channels is not None:
        return channels
    return 2 if any(band.channels is not None for band in bands) else 1


def table_freqs_hz(bands, sample_rate, points):
    """Frequencies of the response table: log-spaced, plus each band's own.

    Parameters
    ----------
    bands : iterable of Band
        The bands; each one's ``freq_hz`` below Nyquist joins the table.
    sample_rate : int
        Sample rate in Hz.
    points : int
        Log-spaced frequencies from 20 Hz (or a quarter of the rate, if
        lower) to Nyquist, ``>= 2``.

    Returns
    -------
    ndarray
        Sorted frequencies in Hz, without repeats.

    Raises
    ------
    InvalidParameterError
        If `points` is less than 2.

    Examples
    --------
    >>> from eq.design import Band
    >>> freqs = table_freqs_hz([Band("notch", 50.0, q=10.0)], 48000, 31)
    >>> 50.0 in freqs, len(freqs)
    (True, 32)
    """
    if points < 2:
        raise InvalidParameterError(f"--points must be >= 2, got {points!r}")
    return _log_grid_with_bands(bands, sample_rate, 20.0, 2.0, points)


def _log_grid_with_bands(bands, sample_rate, low_hz, low_fraction, points):
    """`points` log-spaced frequencies from ``min(low_hz, nyquist / low_fraction)`` to Nyquist,
    with each band's own frequency below Nyquist added (so a narrow notch is not missed)."""
    nyquist = sample_rate / 2.0
    grid = np.geomspace(min(low_hz, nyquist / low_fraction), nyquist, points)
    own = [band.freq_hz for band in bands if 0.0 < band.freq_hz < nyquist]
    return np.unique(np.concatenate([grid, np.asarray(own, dtype=float)]))


def plot_limits_db(gains_db):
    """Limits ``(bottom, top)`` of a plot's gain axis, in dB, chosen from the curve.

    The top is a little above the curve's highest point; the bottom a little
    below its lowest, but never more than :data:`PLOT_RANGE_DB` below the
    top (a stop band falls off the plot rather than flatten the passband);
    the span is at least :data:`MIN_PLOT_SPAN_DB`.

    Parameters
    ----------
    gains_db : array_like
        The curve in dB; ``-inf`` (an exact zero) is ignored.

    Returns
    -------
    tuple of float
    """
    gains_db = np.asarray(gains_db, dtype=float)
    finite = gains_db[np.isfinite(gains_db)]
    if not finite.size:
        return -MIN_PLOT_SPAN_DB / 2.0, MIN_PLOT_SPAN_DB / 2.0
    top = float(np.max(finite)) + _PLOT_MARGIN_DB
    bottom = max(float(np.min(finite)) - _PLOT_MARGIN_DB, top - _PLOT_MARGIN_DB - PLOT_RANGE_DB)
    if top - bottom < MIN_PLOT_SPAN_DB:
        middle = (top + bottom) / 2.0
        bottom, top = middle - MIN_PLOT_SPAN_DB / 2.0, middle + MIN_PLOT_SPAN_DB / 2.0
    return bottom, top


def _pyplot():
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise EqError("--plot needs matplotlib: pip install 'eq-stream[plot]'") from None
    return plt


def check_plot_path(path):
    """Raise unless a plot can be saved at `path`; call it before the work.

    Checks the file name's ending, that matplotlib is there, and that the
    file can be opened for writing (a file that was not there is removed
    again).

    Raises
    ------
    InvalidParameterError
        If the name does not end in one of :data:`PLOT_SUFFIXES`.
    EqError
        If matplotlib is missing or the file cannot be written.
    """
    if os.path.splitext(path)[1].lower() not in PLOT_SUFFIXES:
        raise InvalidParameterError(
            f"--plot {path!r}: the file name must end in {', '.join(PLOT_SUFFIXES[:-1])} "
            f"or {PLOT_SUFFIXES[-1]}")
    _pyplot()
    existed = os.path.exists(path)
    try:
        with open(path, "ab"):
            pass
    except OSError as exc:
        raise EqError(f"cannot write the plot {path!r}: {exc.strerror or exc}") from None
    if not existed:
        os.remove(path)


def save_response_plot(bands, preamp_db, sample_rate, path, title, channels=None):
    """Save the magnitude response of `bands` as a picture: one curve, or one per group of
    channels with the same bands when bands act on some channels.

    Parameters
    ----------
    bands : iterable of Band
        The bands, all below Nyquist.
    preamp_db : float
        Gain added at every frequency.
    sample_rate : int
        Sample rate in Hz.
    path : str
        Where to save; the ending picks the format (see :data:`PLOT_SUFFIXES`).
    title : str
        Title of the plot, wrapped where long.
    channels : int or None, optional
        Channels of the stream (see :func:`default_channels`).

    Returns
    -------
    tuple of float
        The limits ``(bottom, top)`` of the gain axis, from :func:`plot_limits_db`.

    Raises
    ------
    EqError
        If matplotlib is missing or the file cannot be written.
    """
    plt = _pyplot()
    bands = tuple(bands)
    freqs = _log_grid_with_bands(bands, sample_rate, 10.0, 4.0, 1000)
    count = default_channels(bands, channels)
    groups = channel_groups(bands, count)
    names = channel_names(count)
    curves = [("+".join(names[c] for c in chans),
               frequency_response_db(group, sample_rate, freqs, preamp_db))
              for chans, group in groups]
    limits = plot_limits_db(np.concatenate([gains for _, gains in curves]))
    fig, ax = plt.subplots(figsize=(8, 4))
    try:
        for label, gains_db in curves:
            # -inf would break the line
            ax.semilogx(freqs, np.maximum(gains_db, limits[0] - 100.0),
                        label=f"channel {label}" if len(curves) > 1 else None)
        if len(curves) > 1:
            ax.legend(fontsize=8)
        ax.set_xlim(freqs[0], freqs[-1])
        ax.set_ylim(*limits)
        ax.set_xlabel("frequency (Hz)")
        ax.set_ylabel("gain (dB)")
        ax.set_title(textwrap.fill(title, 110), fontsize=8)
        ax.grid(True, which="both", alpha=0.3)
        fig.tight_layout()
        fig.savefig(path, dpi=100)
    except OSError as exc:
        raise EqError(f"cannot write the plot {path!r}: {exc.strerror or exc}") from None
    finally:
        plt.close(fig)
    return limits

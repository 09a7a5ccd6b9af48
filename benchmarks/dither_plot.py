"""Spectra of a -90 dBFS 1 kHz sine written to s16le with and without TPDF dither.

    python benchmarks/dither_plot.py [--out docs/dither.png] [--seconds 22] [--seed 0]

The setup of ``tests/test_dither.py``: a 1 kHz sine at -30 dBFS in s16le at 48 kHz goes
through a :class:`eq.StreamingEqualizer` with no bands and a -60 dB preamp, so the s16
output carries a -90 dBFS sine (peak 1.04 LSB) and what it shows is the output's rounding
(the input's own rounding comes out 60 dB lower). The spectra are Welch averages of
Blackman-Harris-windowed periodograms of 16 320 samples (340 periods of the sine, so the
tone and its harmonics fall on bins), half overlapping, in dBFS per bin (a full-scale sine
reads 0 dB). The dashed line is the theoretical noise floor with TPDF dither: white error
of 1/12 + 1/6 = 1/4 LSB^2 per sample. A table of the levels is printed too.
"""

import argparse
import math
from pathlib import Path

import numpy as np
from scipy import signal

import eq

SAMPLE_RATE = 48000
SINE_HZ = 1000.0
INPUT_DBFS = -30.0
PREAMP_DB = -60.0
SEGMENT = 48 * 340
"""Welch segment: a whole number of 1 kHz periods at 48 kHz (bin spacing 2.94 Hz)."""
S16_SCALE = 32768.0


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=Path("docs/dither.png"),
                   help="PNG to write (default: docs/dither.png)")
    p.add_argument("--seconds", type=float, default=22.0,
                   help="length of the signal, in seconds (default 22: about 130 averages)")
    p.add_argument("--seed", type=int, default=0, help="dither_seed (default 0)")
    return p.parse_args(argv)


def quiet_sine(frames):
    """s16le bytes of the -30 dBFS 1 kHz sine that a -60 dB preamp turns into -90 dBFS."""
    n = np.arange(frames)
    amplitude = 10.0 ** (INPUT_DBFS / 20.0) * S16_SCALE
    return np.rint(amplitude * np.sin(2 * np.pi * SINE_HZ * n / SAMPLE_RATE)).astype("<i2").tobytes()


def spectrum_dbfs(pcm):
    """Welch power spectrum of s16le mono bytes, in dB relative to a full-scale sine."""
    x = np.frombuffer(pcm, dtype="<i2") / S16_SCALE
    freqs, power = signal.welch(x, SAMPLE_RATE, window="blackmanharris", nperseg=SEGMENT,
                                noverlap=SEGMENT // 2, detrend=False, scaling="spectrum")
    # scaling="spectrum": a sine of amplitude A reads A^2 / 2; a full-scale sine 1/2.
    return freqs, 10 * np.log10(np.maximum(power, 1e-30) / 0.5)


def tpdf_floor_dbfs():
    """Expected level of one bin of white error of 1/4 LSB^2 in :func:`spectrum_dbfs`."""
    w = signal.get_window("blackmanharris", SEGMENT)
    variance = 0.25 / S16_SCALE ** 2
    per_bin = 2 * variance * np.sum(w ** 2) / np.sum(w) ** 2  # one-sided
    return 10 * math.log10(per_bin / 0.5)


def levels(freqs, db):
    """Level of the 1 kHz bin, of the highest harmonic (2 .. 23 kHz) and the median of the
    other bins above 20 Hz, in dB."""
    spacing = freqs[1]
    harmonic_bins = [round(h * SINE_HZ / spacing) for h in range(2, 24)]
    others = np.ones(len(freqs), bool)
    for h in range(0, 25):
        others[np.abs(freqs - h * SINE_HZ) <= 5 * spacing] = False
    others &= freqs > 20.0
    return db[round(SINE_HZ / spacing)], db[harmonic_bins].max(), np.median(db[others])


def main(argv=None):
    args = parse_args(argv)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    frames = int(args.seconds * SAMPLE_RATE)
    pcm = quiet_sine(frames)
    curves = {}
    for label, dither in (("no dither", {}),
                          ("TPDF dither", dict(dither="tpdf", dither_seed=args.seed))):
        stream = eq.StreamingEqualizer(SAMPLE_RATE, 1, "s16le", [], preamp_db=PREAMP_DB, **dither)
        curves[label] = spectrum_dbfs(stream.process(pcm))
    floor = tpdf_floor_dbfs()

    print(f"{'s16le, -90 dBFS 1 kHz':<22} {'1 kHz':>8} {'worst harmonic':>15} {'median bin':>11}")
    for label, (freqs, db) in curves.items():
        tone, spur, median = levels(freqs, db)
        # Without dither the error is all on harmonics: between them only window leakage.
        median_text = f"{median:11.1f}" if median > -200 else f"{'< -200':>11}"
        print(f"{label:<22} {tone:8.1f} {spur:15.1f} {median_text}")
    # The median of an exponential is ln 2 of its mean: the median of averaged bins lies
    # between, close to the mean for ~130 averages.
    print(f"{'TPDF theory (mean)':<22} {'':>8} {'':>15} {floor:11.1f}   dBFS per bin")

    fig, ax = plt.subplots(figsize=(7.5, 4.2))
    style = {"no dither": dict(color="#c0392b", zorder=3), "TPDF dither": dict(color="#7fb3d5", zorder=2)}
    for label, (freqs, db) in curves.items():
        keep = freqs >= 20.0
        ax.semilogx(freqs[keep], db[keep], lw=0.7, label=label, **style[label])
    ax.axhline(floor, color="black", ls="--", lw=1.2, zorder=4,
               label=f"TPDF theory: 1/4 LSB$^2$ white ({floor:.1f} dB per bin)")
    ax.set_xlim(20, SAMPLE_RATE / 2)
    ax.set_ylim(floor - 25, -80)
    ax.set_xlabel("frequency (Hz)")
    ax.set_ylabel("level (dBFS per 2.9 Hz bin)")
    ax.set_title("A -90 dBFS 1 kHz sine rounded to s16le, with and without TPDF dither\n"
                 f"(48 kHz, Blackman-Harris, {SEGMENT}-point Welch average over {args.seconds:g} s)",
                 fontsize=10)
    ax.grid(True, which="both", lw=0.3, alpha=0.5)
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out, dpi=90)
    plt.close(fig)
    print(f"wrote {args.out} ({args.out.stat().st_size // 1024} KB)")


if __name__ == "__main__":
    main()

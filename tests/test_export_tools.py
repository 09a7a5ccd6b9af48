"""Exports run through the real tools give eq's output: ffmpeg (imageio-ffmpeg's binary) and sox.

Both tools design the same Audio EQ Cookbook sections as eq (libavfilter/af_biquads.c and
sox's biquads.c use the cookbook's alpha for Q, octaves and slope, and ``beta = 2*sqrt(A)`` in
the ``lowshelf``/``highshelf`` filters and sox's ``bass``/``treble``), so the only differences are
arithmetic, and each tolerance below is a bound on that arithmetic, not a fit to the output:

- ffmpeg with ``r=f64`` filters in float64 (direct form I; eq uses its own form): every
  multiply-add rounds by at most ``eps = 2**-52`` relative; the bound sums, for each section, the
  largest term it adds (``max|x|`` times the L1 gain up to and through it, times the sum of its
  coefficient magnitudes) times the L1 gain of what follows, times 8 roundings per sample
  and both implementations.
- sox carries samples between effects as 32-bit integers (``sox_sample_t``): the input and
  each effect's output are rounded to a step of ``2**-31`` of full scale, an error of at most
  ``2**-32`` each, which every later effect passes on with at most its L1 gain. The filters
  themselves run in double, a further error far below that step.

The tools are required: a missing one fails with how to install it.
"""

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from scipy.signal import sosfilt

from eq import BlockEqualizer, design_sos
from eq.apo import parse_apo
from eq.design import Band
from eq.export import ffmpeg_filter_chain, sox_effects
from eq.response import auto_preamp_db

FIXTURES = Path(__file__).resolve().parent.parent / "audio_fixtures"
EPS = np.finfo(np.float64).eps

BANDS = (
    Band("highpass", 25.0, q=0.6),
    Band("lowshelf", 105.0, q=0.7, gain_db=5.6),
    Band("notch", 50.0, q=8.0),
    Band("peaking", 199.0, q=0.57, gain_db=-2.5),
    Band("peaking", 3057.0, gain_db=6.1, bw_oct=0.8),
    Band("bandpass", 1000.0, bw_oct=6.0),
    Band("allpass", 700.0, q=0.9),
    Band("highshelf", 10000.0, q=0.7, gain_db=-3.0),
    Band("lowpass", 18000.0, q=0.8),
)

CASES = [("music_like_stereo_48k.wav", BANDS),
         ("sweep_log_stereo_44k1_s24.wav", BANDS),
         ("loud_sine_1k_m0.5dbfs_mono_48k_f32.wav",
          parse_apo("Filter 1: ON LS 12 dB Fc 200 Hz Gain -6 dB\n"
                    "Filter 2: ON PK Fc 1000 Hz Gain -1 dB BW Oct 2\n")[0])]


def ffmpeg_exe():
    try:
        import imageio_ffmpeg
    except ImportError:
        pytest.fail("these tests need imageio-ffmpeg's ffmpeg: pip install imageio-ffmpeg")
    return imageio_ffmpeg.get_ffmpeg_exe()


def sox_exe():
    path = shutil.which("sox")
    if path is None:
        pytest.fail("these tests need sox: sudo apt-get install -y sox")
    return path


def l1_gain(sos, fs):
    """Sum of |impulse response| of a cascade, over 4 s (ample for these Q values)."""
    impulse = np.zeros(4 * fs)
    impulse[0] = 1.0
    return float(np.sum(np.abs(sosfilt(sos, impulse)))) if len(sos) else 1.0


def load(name):
    x, fs = sf.read(FIXTURES / name, dtype="float64", always_2d=True)
    return x, fs


def eq_output(x, fs, bands, preamp_db):
    return BlockEqualizer(fs, x.shape[1], bands, preamp_db).process(x)


def run(cmd, x):
    done = subprocess.run(cmd, input=np.ascontiguousarray(x).tobytes(), capture_output=True)
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    return done.stdout


@pytest.mark.parametrize("name, bands", CASES)
@pytest.mark.parametrize("raw", ["f64le", "f32le"])
def test_ffmpeg_chain_matches_eq(name, bands, raw):
    x, fs = load(name)
    preamp_db = auto_preamp_db(bands, fs)
    dtype = np.float64 if raw == "f64le" else np.float32
    x = x.astype(dtype).astype(np.float64)  # the input both see
    chain = ffmpeg_filter_chain(bands, preamp_db)
    out = run([ffmpeg_exe(), "-nostdin", "-v", "error", "-f", raw, "-ar", str(fs), "-ac",
               str(x.shape[1]), "-i", "-", "-af", chain, "-f", raw, "-"], x.astype(dtype))
    y = np.frombuffer(out, dtype=dtype).reshape(-1, x.shape[1]).astype(np.float64)
    expected = eq_output(x, fs, bands, preamp_db)
    assert y.shape == expected.shape
    sos = design_sos(bands, fs)
    peak = np.max(np.abs(x)) * 10 ** (preamp_db / 20)
    bound = 0.0
    for k in range(len(sos)):
        upstream = l1_gain(sos[:k + 1], fs)
        downstream = l1_gain(sos[k + 1:], fs)
        bound += 8 * EPS * peak * upstream * np.sum(np.abs(sos[k])) * downstream
    if raw == "f32le":  # the output is rounded to float32 at the end
        bound += np.max(np.abs(expected)) * 2.0 ** -24
    error = np.max(np.abs(y - expected))
    print(f"\n{name}: max error {error:.3g}, bound {bound:.3g}")
    assert error <= bound, (error, bound)


@pytest.mark.parametrize("name, bands", CASES)
def test_sox_chain_matches_eq(name, bands):
    x, fs = load(name)
    preamp_db = auto_preamp_db(bands, fs)
    raw = ["-t", "raw", "-e", "floating-point", "-b", "64", "-r", str(fs), "-c", str(x.shape[1])]
    out = run([sox_exe(), "-D", "-V1", *raw, "-", *raw, "-", *sox_effects(bands, preamp_db).split()],
              x)
    y = np.frombuffer(out, dtype=np.float64).reshape(-1, x.shape[1])
    expected = eq_output(x, fs, bands, preamp_db)
    assert y.shape == expected.shape
    assert np.max(np.abs(expected)) < 1.0  # sox would clip: the comparison needs headroom
    sos = design_sos(bands, fs)
    # rounding to 32-bit integers: the input, the vol effect, and each band's output
    stages = [l1_gain(sos, fs)] * (2 if preamp_db else 1)
    stages += [l1_gain(sos[k + 1:], fs) for k in range(len(sos))]
    bound = 2.0 ** -32 * sum(stages) * 1.001 + 1e-12
    error = np.max(np.abs(y - expected))
    print(f"\n{name}: max error {error:.3g}, bound {bound:.3g}")
    assert error <= bound, (error, bound)


def _ffmpeg_bound(sos, fs, peak):
    """A bound on the difference of two double-precision runs of one cascade: each section's
    rounding (a few ulps of its largest product, at most ``peak * upstream gain * sum of
    |coefficients|``) enters its state, then passes through its own poles (the L1 gain of
    ``1/A(z)``) and the sections after it."""
    bound = 0.0
    for k in range(len(sos)):
        poles = np.array([[1.0, 0.0, 0.0, 1.0, sos[k, 4], sos[k, 5]]])
        bound += (8 * EPS * peak * l1_gain(sos[:k + 1], fs) * np.sum(np.abs(sos[k]))
                  * l1_gain(poles, fs) * l1_gain(sos[k + 1:], fs))
    return bound


@pytest.mark.parametrize("channels, bands", [
    (2, (Band("lowshelf", 105.0, q=0.7, gain_db=5.6, channels=["L"]),
         Band("peaking", 3057.0, gain_db=6.1, bw_oct=0.8, channels=["R"]),
         Band("notch", 50.0, q=8.0))),
    (6, (Band("lowpass", 120.0, q=0.7, channels=["LFE"]),
         Band("highpass", 80.0, q=0.7, channels=["L", "R", "RL", "RR"]),
         Band("peaking", 2000.0, q=1.0, gain_db=4.0, channels=["C"]),
         Band("highshelf", 9000.0, q=0.7, gain_db=-3.0, channels=[4, 5]))),
])
def test_ffmpeg_chain_with_bands_on_some_channels_matches_eq(channels, bands):
    """ffmpeg's ``c=`` names channels in its default layout of the count (5.1 for 6): each
    channel of ffmpeg's output equals eq's within double-precision rounding, and a channel
    that no band names passes through unchanged."""
    stereo, fs = load("music_like_stereo_48k.wav")
    x = np.column_stack([stereo[:, c % 2] * (0.9 - 0.1 * c) for c in range(channels)])
    chain = ffmpeg_filter_chain(bands, 0.0, channels=channels)
    assert ":c=" in chain
    out = run([ffmpeg_exe(), "-nostdin", "-v", "error", "-f", "f64le", "-ar", str(fs), "-ac",
               str(channels), "-i", "-", "-af", chain, "-f", "f64le", "-"], x)
    y = np.frombuffer(out, dtype=np.float64).reshape(-1, channels)
    expected = eq_output(x, fs, bands, 0.0)
    from eq.design import channel_groups

    for chans, group in channel_groups(bands, channels):
        sos = design_sos(group, fs)
        for c in chans:
            bound = _ffmpeg_bound(sos, fs, np.max(np.abs(x[:, c])))
            error = np.max(np.abs(y[:, c] - expected[:, c]))
            assert error <= bound, (c, error, bound)
            if not group:
                assert np.array_equal(y[:, c], x[:, c])
        assert len(group) < len(bands) or channels == 2  # the selections really differ


def test_sox_refuses_bands_on_some_channels():
    from eq.errors import InvalidParameterError

    with pytest.raises(InvalidParameterError, match="sox applies every effect to every channel"):
        sox_effects([Band("peaking", 1000.0, gain_db=3.0, channels=["L"])])

"""TPDF dither of StreamingEqualizer (``dither="tpdf"``), each property against an expectation
that does not come from eq's code.

The oracle is ``eq_oracle`` (cookbook coefficients, float64 ``scipy.signal.sosfilt``, the PCM
encodings written out again): it gives the exact float64 result ``y`` that eq rounds, so the
rounding error ``e = out - y * scale`` (in LSB) is observed directly. The expectations come
from the definition of the dither (a triangular density on (-1, 1) LSB, the difference of two
independent uniforms, independent from sample to sample) and the textbook properties of
rounding with it (Vanderkooy & Lipshitz, *Dither in digital audio*, JAES 1987; Wannamaker,
Lipshitz & Vanderkooy, *A theory of non-subtractive dither*, IEEE TSP 2000):

* the error's mean and variance given the signal do not depend on the signal: 0 and
  1/12 + 1/6 = 1/4 LSB^2, so the error is white and carries no harmonic of the signal;
* without dither the error is a function of the signal: mean ``-frac(y)``, variance 1/12 over
  a signal whose fractions are uniform, and for a periodic signal all of it sits on
  harmonics.

Every statistical bound is written as ``mean +- Z_SIGMA standard errors`` or as a quantile of
the statistic's distribution at the false-alarm probability ``ALPHA`` (Bonferroni across
the bins or lags examined), so that a correct implementation fails an assertion with
probability below about 1e-5, and the whole file below 1e-4, for random seeds; the seeds here
are fixed, so the run is deterministic (and passes for 60 to 300 other seeds tried).
Each "with dither" assertion has a "without dither" twin showing that the same statistic
does fail when the error follows the signal.
"""

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import signal, stats

import eq
from eq.streaming import _PythonStreamingEqualizer
from eq_oracle import FLOAT_FORMATS, INT_FORMATS, PCM_FORMATS, decode, int_limits, oracle_stream, random_pcm

FS = 48000
ALPHA = 1e-6
"""False-alarm probability of each statistical assertion, before Bonferroni corrections."""
Z_SIGMA = 5.0
"""Standard errors allowed around an expected mean: P(|N(0, 1)| > 5) = 5.7e-7."""

TPDF_VARIANCE = 1.0 / 6.0
"""Variance of the dither, LSB^2: the difference of two independent U(0, 1)."""
ERROR_VARIANCE = 1.0 / 12.0 + TPDF_VARIANCE
"""Variance of the total error with TPDF dither, LSB^2, whatever the signal."""
ERROR_FOURTH_MOMENT = 1.0 / 15.0 + 6.0 * (1.0 / 6.0) * (1.0 / 12.0) + 1.0 / 80.0
"""E[e^4] of TPDF plus an independent U(-1/2, 1/2): 1/15 + 6 (1/6)(1/12) + 1/80 = 0.1625 LSB^4
(triangle: 2 * integral_0^1 x^4 (1 - x) dx = 1/15; uniform: 1/80); kurtosis 2.6."""

BANDS = [{"type": "peaking", "freq": 1000.0, "q": 1.0, "gain_db": 4.0},
         {"type": "highshelf", "freq": 6000.0, "q": 0.707, "gain_db": -3.0}]


def tpdf_cdf(x):
    """CDF of the triangular density on (-1, 1): the dither's distribution, in LSB."""
    x = np.clip(np.asarray(x, dtype=np.float64), -1.0, 1.0)
    return np.where(x < 0.0, 0.5 * (1.0 + x) ** 2, 1.0 - 0.5 * (1.0 - x) ** 2)


def _tpdf_cdf_integral(x):
    """``integral_{-inf}^{x} tpdf_cdf(t) dt``: (1+x)^3/6 on [-1, 0], x + (1-x)^3/6 on [0, 1],
    x beyond 1."""
    x = np.asarray(x, dtype=np.float64)
    c = np.clip(x, -1.0, 1.0)
    inner = np.where(c < 0.0, (1.0 + c) ** 3 / 6.0, c + (1.0 - c) ** 3 / 6.0)
    return np.where(x > 1.0, x, inner)


def error_cdf(e):
    """CDF of the rounding error with TPDF dither when the signal's fraction is uniform.

    The error is ``d - u`` with d triangular on (-1, 1) and u uniform on (-1/2, 1/2),
    independent, so its CDF is ``integral_{e-1/2}^{e+1/2} tpdf_cdf(t) dt``.
    """
    e = np.asarray(e, dtype=np.float64)
    return _tpdf_cdf_integral(e + 0.5) - _tpdf_cdf_integral(e - 0.5)


def run(raw, name, channels, bands=(), preamp_db=0.0, cls=eq.StreamingEqualizer, **dither):
    """Output of one stream over `raw` in one call, decoded to ``(frames, channels)`` int64."""
    stream = cls(FS, channels, name, list(bands), preamp_db=preamp_db, **dither)
    return decode(stream.process(raw), name, channels), stream


def rounding_error(raw, name, channels, bands=(), preamp_db=0.0, **dither):
    """``(e, y)``: the output minus the exact float64 result and that result, both in LSB,
    ``(frames, channels)``; asserts that nothing saturated (saturation is not rounding)."""
    out, stream = run(raw, name, channels, bands, preamp_db, **dither)
    assert stream.clipped_samples == 0
    _, y, _ = oracle_stream(raw, name, channels, FS, list(bands), preamp_db)
    y = y * int_limits(name)[0]
    return out - y, y


# ------------------------------------------------------------------ a -90 dBFS sine
SINE_HZ = 1000.0
SINE_INPUT_DBFS = -30.0
SINE_PREAMP_DB = -60.0
SINE_FRAMES = 2 ** 16


def quiet_sine_s16(frames=SINE_FRAMES):
    """s16le bytes of a 1 kHz sine at -30 dBFS, to be played with a -60 dB preamp: -90 dBFS out.

    Dither acts on the output rounding only, and a stream's input and output formats are the
    same, so the -90 dBFS sine (peak 1.04 LSB of s16) is made by the preamp from a louder s16
    input. The input's own rounding error (at most 1/2 LSB of the input, power at most 1/12
    LSB^2) comes out 60 dB down: at most 8.3e-8 LSB^2 in all, so even a harmonic made of all
    of it would have an amplitude below 4.1e-4 LSB, 22 dB under the dithered noise in one bin
    of the periodograms below (``a^2 N / (4 (1/4) ENBW)`` with N = 2**16, ENBW = 2 bins).
    What the output shows is the output's own rounding.
    """
    n = np.arange(frames)
    amplitude = 10.0 ** (SINE_INPUT_DBFS / 20.0) * 32768.0
    return np.rint(amplitude * np.sin(2.0 * np.pi * SINE_HZ * n / FS)).astype("<i2").tobytes()


def periodogram(x):
    """``|DFT(w x)|^2`` with a 4-term Blackman-Harris window (sidelobes -92 dB); also
    ``sum(w^2)``, the mean of a bin for white noise of unit variance."""
    w = signal.windows.blackmanharris(len(x), sym=False)
    return np.abs(np.fft.rfft(w * x)) ** 2, float(np.sum(w ** 2))


def tone_amplitude(x):
    """Amplitude of the 1 kHz component of `x` (least squares on sine and cosine)."""
    n = np.arange(len(x))
    basis = np.stack([np.sin(2 * np.pi * SINE_HZ * n / FS), np.cos(2 * np.pi * SINE_HZ * n / FS)], 1)
    coef, *_ = np.linalg.lstsq(basis, x, rcond=None)
    return float(np.hypot(*coef))


def harmonic_bins(n, half_width=3):
    """Per harmonic 2 .. 23 of 1 kHz, the bins within `half_width` of it (the window's main
    lobe is +-4 bins, so a spur between bins puts most of its power within +-3)."""
    spacing = FS / n
    last = int((FS / 2 - 4 * spacing) // SINE_HZ)
    return {h: np.arange(round(h * SINE_HZ / spacing) - half_width,
                         round(h * SINE_HZ / spacing) + half_width + 1)
            for h in range(2, last + 1)}


def spur_threshold(n_bins):
    """Largest bin-to-floor power ratio that `n_bins` bins of noise reach with probability
    ALPHA: a periodogram bin of white noise is the mean times an Exp(1) variable (chi-square
    of 2 degrees of freedom over 2; the window leaves each bin's distribution so, and the
    union bound needs no independence between bins), so ``P(max > t) <= n_bins * exp(-t)``."""
    return math.log(n_bins / ALPHA)


def test_undithered_s16_of_a_minus_90_dbfs_sine_has_harmonic_spurs():
    """Rounded without dither, the -90 dBFS sine (values -1, 0, 1: a distorted square) is
    periodic over 48 samples and so is its error: the error's power sits on the odd harmonics
    (the rounding is odd-symmetric), each more than 10 dB beyond :func:`spur_threshold`
    above the level that the same power spread evenly (white, 1/12 LSB^2 per sample) would
    give a bin (they stand 28 dB above it). This is what
    test_tpdf_dither_leaves_no_harmonic_above_the_noise_floor must not see."""
    out, _ = run(quiet_sine_s16(), "s16le", 1, preamp_db=SINE_PREAMP_DB)
    power, window_power = periodogram(out[:, 0].astype(np.float64))
    bins = harmonic_bins(SINE_FRAMES)
    threshold = spur_threshold(sum(len(b) for b in bins.values()))
    white_floor = window_power / 12.0
    for h in (3, 5, 7, 9):
        ratio = power[bins[h]].max() / white_floor
        assert ratio > 10.0 * threshold, (h, 10 * math.log10(ratio))


def test_tpdf_dither_leaves_no_harmonic_above_the_noise_floor():
    """With TPDF dither the error is white with variance 1/4 LSB^2 whatever the signal:
    the median of the noise bins is the mean times ln 2 (Exp(1) median), and gives the
    theoretical floor ``sum(w^2) / 4`` within 0.35 dB (5 standard errors of the median of
    n = 31 000 Exp(1) bins: relative standard error ``1 / (f(m) m sqrt(n)) = 2.9 / sqrt(n)``,
    0.07 dB); no bin of harmonics 2 .. 23 exceeds that floor by more than
    :func:`spur_threshold` (12.8 dB for the 154 bins); and the 1 kHz tone keeps its
    amplitude (TPDF rounding is unbiased): the least-squares amplitude, of standard error
    ``sqrt(2 (1/4) / n)`` = 0.0028 LSB (0.023 dB), within 0.12 dB of the exact result's."""
    raw = quiet_sine_s16()
    out, _ = run(raw, "s16le", 1, preamp_db=SINE_PREAMP_DB, dither="tpdf", dither_seed=2024)
    x = out[:, 0].astype(np.float64)
    power, window_power = periodogram(x)
    n = len(x)
    freqs = np.fft.rfftfreq(n, 1.0 / FS)
    spacing = FS / n
    near_harmonic = np.abs(freqs - SINE_HZ * np.round(freqs / SINE_HZ)) <= 10 * spacing
    noise = (freqs > 200.0) & (freqs < FS / 2 - 200.0) & ~near_harmonic
    floor = np.median(power[noise]) / math.log(2.0)
    theory = window_power * ERROR_VARIANCE
    assert abs(10 * math.log10(floor / theory)) < 0.35

    bins = harmonic_bins(n)
    threshold = spur_threshold(sum(len(b) for b in bins.values()))
    worst = max(power[b].max() for b in bins.values()) / floor
    assert worst < threshold, (10 * math.log10(worst), 10 * math.log10(threshold))

    _, y, _ = oracle_stream(raw, "s16le", 1, FS, [], SINE_PREAMP_DB)
    exact = tone_amplitude(y[:, 0] * 32768.0)
    assert abs(20 * math.log10(exact / 32768.0) + 90.0) < 0.01  # the setup: -90 dBFS
    assert abs(20 * math.log10(tone_amplitude(x) / exact)) < 0.12


def test_error_mean_does_not_follow_the_phase_of_the_sine():
    """The synchronous average: the -90 dBFS sine repeats every 48 samples, so averaging the
    error over M periods at each of the 48 phases leaves its signal-dependent mean. With
    dither each average is a mean of M independent errors of mean 0 and variance 1/4, so
    ``4 M sum(avg^2)`` is chi-square with 48 degrees of freedom; without dither the error is
    the same in every period and the statistic is enormous."""
    period = 48
    frames = period * (SINE_FRAMES // period)
    raw = quiet_sine_s16(frames)
    periods = frames // period
    threshold = stats.chi2.isf(ALPHA, period)
    for dither, must_pass in ((dict(dither="tpdf", dither_seed=77), True), ({}, False)):
        e, _ = rounding_error(raw, "s16le", 1, preamp_db=SINE_PREAMP_DB, **dither)
        averages = e[:, 0].reshape(periods, period).mean(axis=0)
        statistic = periods * np.sum(averages ** 2) / ERROR_VARIANCE
        assert (statistic < threshold) == must_pass, (dither, statistic, threshold)


# ------------------------------------------------------------ a signal off the grid
@pytest.fixture(scope="module")
def noise_errors():
    """Rounding errors of a filtered stereo noise (uniform s16 input at 0.2 full scale through
    BANDS, -4.5 dB preamp: outputs everywhere between the integers) with and without
    dither; 2**17 frames."""
    rng = np.random.default_rng(31337)
    raw = random_pcm(rng, "s16le", 2 ** 17, 2, level=0.2, extremes=False)
    dithered, y = rounding_error(raw, "s16le", 2, BANDS, -4.5, dither="tpdf", dither_seed=9)
    plain, _ = rounding_error(raw, "s16le", 2, BANDS, -4.5)
    return dithered, plain, y


def test_error_is_bounded_centred_and_of_variance_one_quarter(noise_errors):
    """|e| < 1.5 LSB (dither < 1 in magnitude, rounding <= 1/2); mean 0 within Z_SIGMA
    standard errors (sqrt(1/4 / n)); variance 1/4 within Z_SIGMA standard errors of a sample
    variance, ``sqrt((E e^4 - 1/16) / n)`` = 0.15 %. Without dither: |e| <= 1/2 and variance
    1/12 (standard error ``sqrt((1/80 - 1/144) / n)``). Rectangular dither of 1 LSB would give
    1/6 and fail here."""
    dithered, plain, _ = noise_errors
    slack = 1e-6  # eq's and scipy's float64 arithmetic differ by ~1e-12 LSB, not by more
    e = dithered.ravel()
    n = e.size
    assert np.max(np.abs(e)) < 1.5 + slack
    assert abs(e.mean()) < Z_SIGMA * math.sqrt(ERROR_VARIANCE / n)
    sd_var = math.sqrt((ERROR_FOURTH_MOMENT - ERROR_VARIANCE ** 2) / n)
    assert abs(e.var() - ERROR_VARIANCE) < Z_SIGMA * sd_var, (e.var(), sd_var)

    p = plain.ravel()
    assert np.max(np.abs(p)) <= 0.5 + slack
    assert abs(p.var() - 1.0 / 12.0) < Z_SIGMA * math.sqrt((1.0 / 80.0 - 1.0 / 144.0) / n)


def test_error_mean_and_variance_do_not_depend_on_the_signal(noise_errors):
    """Given the fraction of the exact result (in 8 classes), the error's mean is 0 and its
    variance 1/4: no signal-dependent mean, no noise modulation. Tolerances: Z_SIGMA standard
    errors per class; for the variance with the bound ``E[e^4 | y] <= 1.5^2 E[e^2 | y]``, as
    |e| < 1.5 (16 assertions at 5.7e-7 each). Without dither the mean given the fraction is
    ``-frac`` or ``1 - frac``, far off."""
    dithered, plain, y = noise_errors
    classes = np.minimum((8 * (y - np.floor(y))).astype(int), 7).ravel()
    for e, must_pass in ((dithered.ravel(), True), (plain.ravel(), False)):
        ok = []
        for c in range(8):
            ec = e[classes == c]
            n = ec.size
            assert n > 20000
            mean_ok = abs(ec.mean()) < Z_SIGMA * math.sqrt(ERROR_VARIANCE / n)
            sd_var = math.sqrt((2.25 - ERROR_VARIANCE) * ERROR_VARIANCE / n)
            var_ok = abs(np.mean(ec ** 2) - ERROR_VARIANCE) < Z_SIGMA * sd_var
            ok.append(mean_ok and var_ok)
        assert all(ok) if must_pass else not any(ok), ok


def test_error_is_white_and_independent_between_channels(noise_errors):
    """Autocorrelation of each channel's error at lags 1 .. 32 and the correlation between the
    channels at lags -2 .. 2 are within Z_SIGMA / sqrt(n) of 0 (the standard error of a sample
    correlation of independent samples); the periodogram (rectangular window: white noise has
    no leakage to fear) averaged over 16 equal bands and both channels is 1/4 LSB^2 within
    Z_SIGMA standard errors of a mean of B = 8192 exponential bins, (1/4) / sqrt(B): flat
    within +-0.25 dB (85 assertions at 5.7e-7 each)."""
    dithered, _, _ = noise_errors
    e = dithered - dithered.mean(axis=0)
    n = e.shape[0]
    limit = Z_SIGMA / math.sqrt(n)
    for ch in range(2):
        x = e[:, ch]
        denominator = np.dot(x, x)
        r = [np.dot(x[:-k], x[k:]) / denominator for k in range(1, 33)]
        assert np.max(np.abs(r)) < limit, (ch, np.max(np.abs(r)))
    a, b = e[:, 0], e[:, 1]
    scale = math.sqrt(np.dot(a, a) * np.dot(b, b))
    for k in range(-2, 3):
        r = np.dot(a[max(0, k):n + min(0, k)], b[max(0, -k):n - max(0, k)]) / scale
        assert abs(r) < limit, (k, r)

    power = np.abs(np.fft.rfft(dithered, axis=0)) ** 2 / n  # E = variance per bin
    power = power[1:n // 2]  # DC and Nyquist are real: chi-square of 1 degree
    bands = np.array_split(power, 16)
    for band in bands:
        assert abs(band.mean() - ERROR_VARIANCE) < Z_SIGMA * ERROR_VARIANCE / math.sqrt(band.size)


# ---------------------------------------------------------------------- TPDF shape
def test_output_given_the_fraction_follows_the_triangular_cdf():
    """A gain of 17/16 puts the exact result ``y = 17 c / 16`` of an integer input c on
    16 known fractions f = 0, 1/16, .., 15/16 above k = floor(y). Rounded with dither d,
    the output is ``k + j`` with probability ``F(j + 1/2 - f) - F(j - 1/2 - f)``, F the
    triangular CDF: a direct look at the dither's CDF at the 31 multiples of 1/16 inside
    (-1, 1). Cells of probability zero (the dither is within +-1 LSB) must stay empty; the
    others pass a chi-square goodness of fit at ALPHA (degrees of freedom: cells minus one
    per fraction, 31)."""
    rng = np.random.default_rng(4242)
    c = rng.integers(-20000, 20001, 2 ** 18)
    raw = c.astype("<i2").tobytes()
    out, stream = run(raw, "s16le", 1, preamp_db=20 * math.log10(17 / 16), dither="tpdf",
                      dither_seed=123456789)
    assert stream.clipped_samples == 0
    k = (17 * c) // 16
    f = ((17 * c) % 16) / 16.0
    j = out[:, 0] - k
    assert set(np.unique(j)) <= {-1, 0, 1, 2}
    chi2, cells = 0.0, 0
    for m in range(16):
        sel = f == m / 16.0
        counts = np.array([np.count_nonzero(j[sel] == jj) for jj in (-1, 0, 1, 2)])
        probs = np.array([tpdf_cdf(jj + 0.5 - m / 16) - tpdf_cdf(jj - 0.5 - m / 16)
                          for jj in (-1, 0, 1, 2)])
        assert math.isclose(probs.sum(), 1.0)
        assert np.all(counts[probs == 0.0] == 0), (m, counts, probs)
        live = probs > 0
        expected = probs[live] * sel.sum()
        chi2 += np.sum((counts[live] - expected) ** 2 / expected)
        cells += live.sum() - 1
    assert chi2 < stats.chi2.isf(ALPHA, cells), (chi2, cells)


def test_error_distribution_is_triangle_convolved_with_uniform(noise_errors):
    """Over a signal whose fractions are uniform, the error is ``d - u``: its CDF is
    :func:`error_cdf` (Kolmogorov-Smirnov on 2**17 errors of one channel, p > ALPHA) and its
    kurtosis 2.6 (Gaussian noise 3, TPDF alone 2.4, rounding alone 1.8) within 0.02, five
    standard errors of the sample kurtosis of these 2**18 errors (0.004, measured over 60
    seeds). Without dither the KS test fails."""
    dithered, plain, _ = noise_errors
    assert stats.kstest(dithered[:, 0], error_cdf).pvalue > ALPHA
    assert stats.kstest(plain[:, 0], error_cdf).pvalue < ALPHA
    e = dithered.ravel()
    kurtosis = np.mean(e ** 4) / np.mean(e ** 2) ** 2
    assert abs(kurtosis - ERROR_FOURTH_MOMENT / ERROR_VARIANCE ** 2) < 0.02, kurtosis


@pytest.mark.parametrize("name", INT_FORMATS)
def test_every_integer_format_gets_one_lsb_of_its_own(name):
    """In every integer format the error is within +-1.5 LSB of that format and of variance
    1/4 of its LSB^2 (Z_SIGMA standard errors): the dither scales with the format's step
    (24-bit samples are packed and kept as 32-bit integers times 256 inside, u8 has an
    offset, 32-bit LSBs sit 31 bits below full scale)."""
    rng = np.random.default_rng(7)
    raw = random_pcm(rng, name, 2 ** 14, 2, level=0.3, extremes=False)
    e, _ = rounding_error(raw, name, 2, BANDS, -1.0, dither="tpdf", dither_seed=5)
    e = e.ravel()
    assert np.max(np.abs(e)) < 1.5 + 1e-3
    sd_var = math.sqrt((ERROR_FOURTH_MOMENT - ERROR_VARIANCE ** 2) / e.size)
    assert abs(e.var() - ERROR_VARIANCE) < Z_SIGMA * sd_var, (name, e.var())
    assert abs(e.mean()) < Z_SIGMA * math.sqrt(ERROR_VARIANCE / e.size)


# ------------------------------------------------------------------- reproducibility
@pytest.mark.parametrize("name", INT_FORMATS)
def test_same_seed_same_bytes_other_seed_other_bytes(name):
    """Two streams with one seed give the same bytes; another seed, seed 0, the largest seed
    and no dither give other bytes, in a large share of samples (the error of independent
    dithers differs with probability about 1/2), and never by more than 1 LSB from the
    undithered output (|d| < 1 moves a rounding by at most one step)."""
    rng = np.random.default_rng(11)
    raw = random_pcm(rng, name, 3000, 2, level=0.5)
    first, a = run(raw, name, 2, BANDS, -2.0, dither="tpdf", dither_seed=5)
    again, b = run(raw, name, 2, BANDS, -2.0, dither="tpdf", dither_seed=5)
    np.testing.assert_array_equal(first, again)
    assert a.clipped_samples == b.clipped_samples
    plain, _ = run(raw, name, 2, BANDS, -2.0)
    assert np.max(np.abs(first - plain)) == 1
    for seed in (6, 0, 2 ** 52 - 1):
        other, _ = run(raw, name, 2, BANDS, -2.0, dither="tpdf", dither_seed=seed)
        assert np.count_nonzero(other != first) > 0.2 * first.size, seed
        assert np.max(np.abs(other - plain)) == 1
    assert np.count_nonzero(plain != first) > 0.2 * first.size


@st.composite
def split_case(draw):
    name = draw(st.sampled_from(INT_FORMATS))
    channels = draw(st.integers(1, 3))
    frames = draw(st.integers(1, 2500))  # past a tile (2048 samples) for every channel count
    total = frames * PCM_FORMATS[name][0] * channels
    cuts = draw(st.lists(st.integers(0, total), max_size=12))
    seed = draw(st.integers(0, 2 ** 52 - 1))
    return name, channels, frames, sorted(cuts), seed


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(split_case())
def test_any_split_gives_the_dithered_bytes_of_one_pass(case):
    """Cut anywhere (mid-sample, mid-frame), the dithered stream gives the bytes of one pass,
    in C and in the Python bookkeeping alike, and the same clip count (the input has
    full-scale samples, which dither may push over)."""
    name, channels, frames, cuts, seed = case
    raw = random_pcm(np.random.default_rng(seed % 2 ** 32), name, frames, channels, level=0.9)
    dither = dict(dither="tpdf", dither_seed=seed)
    one = eq.StreamingEqualizer(FS, channels, name, BANDS, **dither)
    whole = one.process(raw)
    for cls in (eq.StreamingEqualizer, _PythonStreamingEqualizer):
        stream = cls(FS, channels, name, BANDS, **dither)
        pieces = [raw[i:j] for i, j in zip([0] + cuts, cuts + [len(raw)])]
        assert b"".join(stream.process(p) for p in pieces) == whole
        assert stream.clipped_samples == one.clipped_samples


def test_reset_restarts_the_noise_and_repr_rebuilds_the_stream():
    """The noise is keyed by the sample's index since the start or the last reset: after a
    reset the stream repeats a fresh one's bytes. ``repr`` names the dither and its seed, and
    evaluated it makes a stream with the same output."""
    rng = np.random.default_rng(3)
    raw = random_pcm(rng, "s24le", 3000, 2)
    fresh = eq.StreamingEqualizer(FS, 2, "s24le", BANDS, dither="tpdf", dither_seed=41)
    expected = fresh.process(raw)
    used = eq.StreamingEqualizer(FS, 2, "s24le", BANDS, dither="tpdf", dither_seed=41)
    used.process(raw[:5000])
    used.reset()
    assert used.process(raw) == expected
    assert used.dither == "tpdf" and eq.StreamingEqualizer(FS, 2, "s24le", BANDS).dither is None
    text = repr(fresh)
    assert "dither='tpdf', dither_seed=41" in text
    rebuilt = eval(text, {"StreamingEqualizer": eq.StreamingEqualizer})
    assert rebuilt.process(raw) == expected


@pytest.mark.parametrize("ramp_ms", [0.0, 1.0])
def test_dither_follows_the_stream_index_across_a_live_change(ramp_ms):
    """A change of preamp at frame 1000 (no bands, so no filter state to carry): before it the
    output is a fresh stream's with the old preamp, after its ramp (48 frames for 1 ms) a
    fresh stream's with the new one, both dithered with the same seed: the noise of a
    sample depends on its index in the stream, not on the filter that made it. The bytes do
    not depend on the chunking."""
    rng = np.random.default_rng(5)
    raw = random_pcm(rng, "s16le", 4000, 2, level=0.3)
    dither = dict(dither="tpdf", dither_seed=8)
    old = eq.StreamingEqualizer(FS, 2, "s16le", [], preamp_db=-3.0, **dither).process(raw)
    new = eq.StreamingEqualizer(FS, 2, "s16le", [], preamp_db=-7.5, **dither).process(raw)
    outputs = []
    for cuts in ([], [1, 3999, 4000, 4003, 9001], list(range(0, len(raw), 777))):
        stream = eq.StreamingEqualizer(FS, 2, "s16le", [], preamp_db=-3.0, **dither)
        stream.set_bands([], at_frame=1000, ramp_ms=ramp_ms, preamp_db=-7.5)
        pieces = [raw[i:j] for i, j in zip([0] + cuts, cuts + [len(raw)])]
        outputs.append(b"".join(stream.process(p) for p in pieces))
    assert outputs[1] == outputs[0] and outputs[2] == outputs[0]
    frame_bytes = 4
    end = 1000 + round(ramp_ms * FS / 1000)
    assert outputs[0][:1000 * frame_bytes] == old[:1000 * frame_bytes]
    assert outputs[0][end * frame_bytes:] == new[end * frame_bytes:]


# ------------------------------------------------------------------------ default off
@pytest.mark.parametrize("name", INT_FORMATS)
def test_without_dither_the_output_is_the_exact_rounding(name):
    """No dither arguments, ``dither=None`` and ``dither=None`` with a seed give the same
    bytes, and they are the oracle's ``rint`` of the exact result, saturated, wherever that is
    not within 4e-12 of full scale of a tie (float64 arithmetic in another order may land on
    either side there; the output stays below 4 x full scale); the clip counts agree."""
    rng = np.random.default_rng(17)
    raw = random_pcm(rng, name, 3000, 2, level=0.9)
    stream = eq.StreamingEqualizer(FS, 2, name, BANDS, preamp_db=1.5)
    default = stream.process(raw)
    for kwargs in (dict(dither=None), dict(dither=None, dither_seed=99)):
        assert eq.StreamingEqualizer(FS, 2, name, BANDS, preamp_db=1.5, **kwargs).process(raw) == default
    expected, y, n_clipped = oracle_stream(raw, name, 2, FS, BANDS, 1.5)
    got = decode(default, name, 2)
    scale = int_limits(name)[0]
    tie = np.abs(np.abs(y * scale) % 1.0 - 0.5) <= 4e-12 * scale
    np.testing.assert_array_equal(got[~tie], expected[~tie])
    assert abs(stream.clipped_samples - n_clipped) <= np.count_nonzero(tie)


# ----------------------------------------------------------------------------- errors
@pytest.mark.parametrize("dither", ["rect", "TPDF", "", 1, True])
def test_unknown_dither_is_refused_naming_it(dither):
    with pytest.raises(eq.InvalidParameterError) as info:
        eq.StreamingEqualizer(FS, 2, "s16le", BANDS, dither=dither)
    assert repr(dither) in str(info.value)


@pytest.mark.parametrize("name", FLOAT_FORMATS)
def test_float_formats_refuse_dither(name):
    with pytest.raises(eq.InvalidParameterError) as info:
        eq.StreamingEqualizer(FS, 2, name, BANDS, dither="tpdf")
    assert name in str(info.value)


@pytest.mark.parametrize("seed, error", [
    (-1, eq.InvalidParameterError), (2 ** 52, eq.InvalidParameterError),
    (1.5, eq.InvalidTypeError), (True, eq.InvalidTypeError), ("3", eq.InvalidTypeError),
    (None, eq.InvalidTypeError), (2.0, eq.InvalidTypeError)])
def test_bad_dither_seed_is_refused_naming_it(seed, error):
    """A value out of range is a ValueError, a value of the wrong kind a TypeError."""
    with pytest.raises(error) as info:
        eq.StreamingEqualizer(FS, 2, "s16le", BANDS, dither="tpdf", dither_seed=seed)
    assert repr(seed) in str(info.value)


def test_largest_seed_is_accepted():
    stream = eq.StreamingEqualizer(FS, 1, "s16le", [], dither="tpdf", dither_seed=2 ** 52 - 1)
    assert "dither_seed=4503599627370495" in repr(stream)

"""Band design: cookbook coefficients and the physical facts of each band type.

Coefficients are compared with ``eq_oracle`` (written from the cookbook text);
responses are checked against what the filters must do physically, both with
``eq.frequency_response_db`` and by measuring a sine through the equalizer.
"""

import math

import numpy as np
import pytest

import eq
from eq_oracle import (
    BAND_TYPE_NAMES,
    decode,
    encode,
    oracle_response_db,
    oracle_sos,
    sine_amplitude,
)

RATES = [8000, 22050, 44100, 48000, 96000, 192000]
BUTTERWORTH_Q = 1 / math.sqrt(2)


def relative_freqs(fs):
    """A few frequencies from very low to close to Nyquist."""
    return [20.0, fs * 0.01, fs * 0.1, fs * 0.25, fs * 0.45]


# ------------------------------------------------------------ coefficients
@pytest.mark.parametrize("fs", RATES)
@pytest.mark.parametrize("kind", BAND_TYPE_NAMES)
def test_design_sos_equals_the_cookbook(kind, fs):
    bands = [{"type": kind, "freq": f, "q": q, "gain_db": g}
             for f in relative_freqs(fs) for q in (0.1, BUTTERWORTH_Q, 4.0, 30.0)
             for g in (-24.0, -3.0, 0.0, 2.5, 18.0)]
    sos = eq.design_sos(bands, fs)
    assert sos.shape == (len(bands), 6) and sos.dtype == np.float64
    np.testing.assert_allclose(sos, oracle_sos(bands, fs), rtol=1e-11, atol=1e-13)
    np.testing.assert_array_equal(sos[:, 3], 1.0)


def test_band_forms_are_equivalent():
    as_dict = {"type": "peaking", "freq": 1000, "q": 1.4, "gain_db": -3}
    forms = [
        [as_dict],
        [{"type": "peaking", "freq_hz": 1000, "q": 1.4, "gain": -3}],
        [eq.Band("peaking", 1000.0, q=1.4, gain_db=-3.0)],
        [eq.Band.from_dict(as_dict)],
        [eq.parse_band("peaking:1k:q=1.4:gain=-3")],
        (b for b in [as_dict]),
    ]
    expected = oracle_sos([as_dict], 48000)
    for bands in forms:
        np.testing.assert_allclose(eq.design_sos(bands, 48000), expected, rtol=1e-12)


def test_band_defaults_and_round_trips():
    band = eq.parse_band("highpass:80")
    assert band == eq.Band("highpass", 80.0)
    assert band.q == pytest.approx(BUTTERWORTH_Q) and band.gain_db == 0.0
    for b in [eq.Band("lowshelf", 120.5, 0.8, 4.25), eq.Band("notch", 50.0, 10.0)]:
        assert eq.Band.from_dict(b.to_dict()) == b
        assert eq.parse_band(b.spec()) == b
    assert eq.parse_band("bandpass:2.5k:q=3").freq_hz == 2500.0


def test_dict_form_uses_the_attribute_names():
    band = eq.Band("lowshelf", 120.5, 0.8, 4.25)
    assert band.to_dict() == {"type": "lowshelf", "freq_hz": 120.5, "q": 0.8, "gain_db": 4.25}


@pytest.mark.parametrize("alias, name", [
    ("peak", "peaking"), ("PK", "peaking"), ("bell", "peaking"), ("peq", "peaking"),
    ("ls", "lowshelf"), ("low-shelf", "lowshelf"), ("LSC", "lowshelf"),
    ("hs", "highshelf"), ("High_Shelf", "highshelf"), ("hsc", "highshelf"),
    ("lp", "lowpass"), ("lpf", "lowpass"), ("hp", "highpass"), ("hpf", "highpass"),
    ("bp", "bandpass"), ("bpf", "bandpass"), ("no", "notch"), ("bandstop", "notch"),
    ("ap", "allpass"), ("apf", "allpass"),
])
def test_short_type_names_of_other_tools_are_accepted(alias, name):
    assert eq.parse_band(f"{alias}:1k").type == name
    assert eq.Band(alias, 1000.0).type == name


def test_an_unknown_type_lists_every_accepted_name_and_band_alone_is_ambiguous():
    with pytest.raises(eq.InvalidParameterError) as err:
        eq.parse_band("band:1k")
    message = str(err.value)
    assert "'band'" in message
    for name in eq.BAND_TYPES:
        assert name in message
    for alias in ("pk", "ls", "hs", "hp", "lp", "bp", "ap"):
        assert f"{alias}," in message or f"{alias})" in message


@pytest.mark.parametrize("fs", [8000, 11025, 16000, 44100, 48000])
def test_bands_below_nyquist_keeps_exactly_the_designable_bands(fs):
    bands = [eq.Band("peaking", f) for f in (100.0, fs / 2 - 1, fs / 2, fs / 2 + 1, 20000.0)]
    kept, dropped = eq.design.bands_below_nyquist(bands, fs)
    assert kept + dropped == tuple(sorted(bands, key=lambda b: b.freq_hz >= fs / 2))
    assert all(b.freq_hz < fs / 2 for b in kept) and all(b.freq_hz >= fs / 2 for b in dropped)
    eq.design_sos(kept, fs)  # every kept band can be designed
    for band in dropped:
        with pytest.raises(eq.InvalidParameterError, match="Nyquist"):
            eq.design_sos([band], fs)


def test_empty_band_list_is_the_identity():
    assert eq.design_sos([], 44100).shape == (0, 6)
    np.testing.assert_array_equal(eq.frequency_response_db([], 44100, [0, 1000, 22050]), 0.0)


def test_band_types_are_the_eight_cookbook_filters():
    assert eq.BAND_TYPES == BAND_TYPE_NAMES


# ---------------------------------------------------------- physical facts
@pytest.mark.parametrize("fs", [8000, 44100, 192000])
@pytest.mark.parametrize("q", [0.3, 1.0, 4.3])
@pytest.mark.parametrize("gain_db", [-24.0, -6.0, -0.5, 0.5, 3.0, 12.0, 24.0])
def test_peaking_gain_at_centre_is_gain_db(fs, q, gain_db):
    freqs = [50.0, fs / 8, fs * 0.4]
    for f in freqs:
        band = {"type": "peaking", "freq": f, "q": q, "gain_db": gain_db}
        centre = eq.frequency_response_db([band], fs, [f])[0]
        assert centre == pytest.approx(gain_db, abs=0.01)
        # And the peak is the extreme of the response.
        around = eq.frequency_response_db([band], fs, np.linspace(1.0, fs / 2, 2001))
        assert np.all(np.sign(gain_db) * around <= abs(gain_db) + 1e-9)


@pytest.mark.parametrize("fs", [8000, 44100, 96000])
@pytest.mark.parametrize("gain_db", [-12.0, -3.0, 6.0, 15.0])
@pytest.mark.parametrize("q", [0.5, BUTTERWORTH_Q, 1.0])
def test_shelves_reach_their_gain_at_dc_and_nyquist(fs, gain_db, q):
    f0 = fs / 20
    low = [{"type": "lowshelf", "freq": f0, "q": q, "gain_db": gain_db}]
    high = [{"type": "highshelf", "freq": f0, "q": q, "gain_db": gain_db}]
    dc, mid, nyq = eq.frequency_response_db(low, fs, [0.0, f0, fs / 2])
    assert dc == pytest.approx(gain_db, abs=1e-6)
    assert nyq == pytest.approx(0.0, abs=1e-6)
    assert mid == pytest.approx(gain_db / 2, abs=0.01)  # the cookbook's shelf mid-point
    assert eq.frequency_response_db(low, fs, [f0 / 100])[0] == pytest.approx(gain_db, abs=0.05)
    dc, mid, nyq = eq.frequency_response_db(high, fs, [0.0, f0, fs / 2])
    assert dc == pytest.approx(0.0, abs=1e-6)
    assert nyq == pytest.approx(gain_db, abs=1e-6)
    assert mid == pytest.approx(gain_db / 2, abs=0.01)


@pytest.mark.parametrize("fs", RATES)
@pytest.mark.parametrize("q", [0.5, 2.0, 10.0])
def test_notch_is_deep_at_centre_and_flat_far_away(fs, q):
    f0 = fs / 7
    band = [{"type": "notch", "freq": f0, "q": q}]
    centre, dc, nyq = eq.frequency_response_db(band, fs, [f0, 0.0, fs / 2])
    assert centre < -100.0
    assert dc == pytest.approx(0.0, abs=1e-9) and nyq == pytest.approx(0.0, abs=1e-9)


@pytest.mark.parametrize("fs", RATES)
@pytest.mark.parametrize("q", [0.1, BUTTERWORTH_Q, 5.0])
def test_allpass_magnitude_is_flat(fs, q):
    band = [{"type": "allpass", "freq": fs / 9, "q": q}]
    resp = eq.frequency_response_db(band, fs, np.linspace(0, fs / 2, 500))
    np.testing.assert_allclose(resp, 0.0, atol=1e-9)


@pytest.mark.parametrize("fs", RATES)
def test_lowpass_and_highpass_are_3db_down_at_the_corner(fs):
    f0 = fs / 10
    lp = [{"type": "lowpass", "freq": f0, "q": BUTTERWORTH_Q}]
    hp = [{"type": "highpass", "freq": f0, "q": BUTTERWORTH_Q}]
    three_db = -10 * math.log10(2)  # -3.0103 dB
    corner, dc, nyq = eq.frequency_response_db(lp, fs, [f0, 0.0, fs / 2])
    assert corner == pytest.approx(three_db, abs=0.01)
    assert dc == pytest.approx(0.0, abs=1e-9)
    assert nyq < -200 or np.isneginf(nyq)
    corner, dc, nyq = eq.frequency_response_db(hp, fs, [f0, 0.0, fs / 2])
    assert corner == pytest.approx(three_db, abs=0.01)
    assert nyq == pytest.approx(0.0, abs=1e-9)
    assert dc < -200 or np.isneginf(dc)
    # In general the magnitude at the corner is q itself.
    for q in (0.5, 2.0, 8.0):
        band = [{"type": "lowpass", "freq": f0, "q": q}]
        assert eq.frequency_response_db(band, fs, [f0])[0] == pytest.approx(20 * math.log10(q),
                                                                            abs=0.01)


@pytest.mark.parametrize("fs", RATES)
@pytest.mark.parametrize("q", [0.3, 1.0, 7.0])
def test_bandpass_is_0db_at_centre(fs, q):
    f0 = fs / 6
    band = [{"type": "bandpass", "freq": f0, "q": q}]
    centre, dc, nyq = eq.frequency_response_db(band, fs, [f0, 0.0, fs / 2])
    assert centre == pytest.approx(0.0, abs=0.01)
    assert dc < -200 or np.isneginf(dc)
    assert nyq < -200 or np.isneginf(nyq)


@pytest.mark.parametrize("fs", [8000, 44100, 192000])
def test_response_of_a_cascade_is_sosfreqz_of_the_cookbook(fs):
    bands = [{"type": t, "freq": fs / (3 + i), "q": 0.5 + i / 3, "gain_db": 4.0 - 2 * i}
             for i, t in enumerate(BAND_TYPE_NAMES)]
    freqs = np.geomspace(10.0, fs / 2 * 0.999, 300)
    got = eq.frequency_response_db(bands, fs, freqs)
    np.testing.assert_allclose(got, oracle_response_db(bands, fs, freqs), atol=1e-6)
    with_preamp = eq.frequency_response_db(bands, fs, freqs, preamp_db=-4.5)
    np.testing.assert_allclose(with_preamp, got - 4.5, atol=1e-9)


# ------------------------------------------- measured through the equalizer
def measure_gain_db(bands, f_hz, fs=48000, preamp_db=0.0, amplitude=0.25):
    """Steady-state gain of a sine at ``f_hz`` through StreamingEqualizer f64le."""
    n = fs  # one second; the transient is gone after the first half
    x = amplitude * np.sin(2 * np.pi * f_hz * np.arange(n) / fs)
    stream = eq.StreamingEqualizer(fs, 1, "f64le", bands, preamp_db=preamp_db)
    raw = encode(x[:, None], "f64le")
    out = b"".join(stream.process(raw[i:i + 4099]) for i in range(0, len(raw), 4099))
    y = decode(out, "f64le", 1)[:, 0]
    steady = slice(n // 2, n)
    return 20 * math.log10(sine_amplitude(y[steady], f_hz, fs) / amplitude)


@pytest.mark.parametrize("gain_db", [-12.0, -3.0, 4.5, 15.0])
@pytest.mark.parametrize("q", [0.7, 2.0])
def test_measured_peaking_gain_at_centre(gain_db, q):
    band = [{"type": "peaking", "freq": 1000.0, "q": q, "gain_db": gain_db}]
    assert measure_gain_db(band, 1000.0) == pytest.approx(gain_db, abs=0.01)


@pytest.mark.parametrize("kind,q,expected_db", [
    ("lowshelf", BUTTERWORTH_Q, 3.0),
    ("highshelf", BUTTERWORTH_Q, 3.0),
    ("lowpass", BUTTERWORTH_Q, -10 * math.log10(2)),
    ("highpass", BUTTERWORTH_Q, -10 * math.log10(2)),
    ("bandpass", 2.0, 0.0),
    ("allpass", 1.0, 0.0),
])
def test_measured_gain_at_centre_of_each_band_type(kind, q, expected_db):
    band = [{"type": kind, "freq": 2000.0, "q": q, "gain_db": 6.0}]
    assert measure_gain_db(band, 2000.0) == pytest.approx(expected_db, abs=0.01)


def test_measured_shelf_plateaus_and_notch_depth():
    low = [{"type": "lowshelf", "freq": 2000.0, "q": BUTTERWORTH_Q, "gain_db": 9.0}]
    assert measure_gain_db(low, 40.0) == pytest.approx(9.0, abs=0.05)
    high = [{"type": "highshelf", "freq": 2000.0, "q": BUTTERWORTH_Q, "gain_db": -9.0}]
    assert measure_gain_db(high, 22000.0) == pytest.approx(-9.0, abs=0.05)
    notch = [{"type": "notch", "freq": 1000.0, "q": 1.0}]
    assert measure_gain_db(notch, 1000.0) < -80.0
    assert measure_gain_db(notch, 10000.0) == pytest.approx(0.0, abs=0.05)


def test_measured_preamp_adds_to_the_gain():
    band = [{"type": "peaking", "freq": 1000.0, "q": 1.0, "gain_db": 6.0}]
    assert measure_gain_db(band, 1000.0, preamp_db=-4.0) == pytest.approx(2.0, abs=0.01)

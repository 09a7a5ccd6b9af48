"""Bad input: every invalid value raises a clear project error naming it."""

import math

import numpy as np
import pytest

import eq

GOOD_BAND = {"type": "peaking", "freq": 1000.0, "q": 1.0, "gain_db": 3.0}


def check_error(exc_info, *fragments):
    """The error is one of ours, a ValueError or TypeError, and names every fragment."""
    err = exc_info.value
    assert isinstance(err, eq.EqError)
    assert isinstance(err, (ValueError, TypeError))
    message = str(err)
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"
    assert "\n" not in message


def with_field(**changes):
    band = dict(GOOD_BAND)
    for key, value in changes.items():
        if value is ...:
            del band[key]
        else:
            band[key] = value
    return band


BAD_BANDS = [
    # (band, fragment the message must contain)
    (with_field(type="bell-ish"), "'bell-ish'"),
    (with_field(type="PEAKINGX"), "'PEAKINGX'"),
    (with_field(type=3), "3"),
    (with_field(type=None), "None"),
    (with_field(freq=0.0), "0.0"),
    (with_field(freq=-125.5), "-125.5"),
    (with_field(freq=24000.0), "24000.0"),   # == Nyquist at 48 kHz
    (with_field(freq=30000.25), "30000.25"),  # above Nyquist
    (with_field(freq=math.nan), "nan"),
    (with_field(freq=math.inf), "inf"),
    (with_field(freq="1000"), "'1000'"),
    (with_field(freq=None), "None"),
    (with_field(freq=True), "True"),
    (with_field(q=0.0), "0.0"),
    (with_field(q=-0.75), "-0.75"),
    (with_field(q=math.nan), "nan"),
    (with_field(q=-math.inf), "-inf"),
    (with_field(q="wide"), "'wide'"),
    (with_field(gain_db=math.nan), "nan"),
    (with_field(gain_db=math.inf), "inf"),
    (with_field(gain_db="6dB"), "'6dB'"),
    (with_field(gain_db=[6]), "[6]"),
    (dict(GOOD_BAND, gian_db=3.0), "'gian_db'"),
    (dict(GOOD_BAND, frequency=10.0), "'frequency'"),
    (with_field(freq=...), "freq"),
    (with_field(type=...), "'type'"),
    ("peaking", "'peaking'"),
    (42, "42"),
]


@pytest.mark.parametrize("band,fragment", BAD_BANDS, ids=[repr(b[0])[:60] for b in BAD_BANDS])
def test_invalid_band_is_rejected_everywhere(band, fragment):
    for make in (
        lambda: eq.design_sos([band], 48000),
        lambda: eq.StreamingEqualizer(48000, 2, "s16le", [GOOD_BAND, band]),
        lambda: eq.BlockEqualizer(48000, 2, [band]),
        lambda: eq.frequency_response_db([band], 48000, [1000.0]),
    ):
        with pytest.raises(eq.EqError) as info:
            make()
        check_error(info, fragment)


@pytest.mark.parametrize("kwargs,fragment", [
    ({"type": "wobble", "freq_hz": 100.0}, "'wobble'"),
    ({"type": "notch", "freq_hz": 0}, "0"),
    ({"type": "notch", "freq_hz": 100.0, "q": 0}, "0"),
    ({"type": "notch", "freq_hz": 100.0, "q": -2.5}, "-2.5"),
    ({"type": "peaking", "freq_hz": 100.0, "gain_db": math.nan}, "nan"),
    ({"type": "peaking", "freq_hz": "100", "gain_db": 1.0}, "'100'"),
])
def test_band_constructor_validates(kwargs, fragment):
    with pytest.raises(eq.EqError) as info:
        eq.Band(**kwargs)
    check_error(info, fragment)


@pytest.mark.parametrize("spec,fragment", [
    ("peaking", "'peaking'"),
    ("", "''"),
    ("peaking:abc", "'abc'"),
    ("peaking:1k:q=x", "'x'"),
    ("peaking:1k:gain=loud", "'loud'"),
    ("peaking:1k:width=3", "'width=3'"),
    ("peaking:1k:q=1:q=2", "q"),
    ("wobble:1k", "'wobble'"),
    ("peaking:-5", "-5"),
    ("lowpass:1k:q=0", "0"),
])
def test_bad_band_spec(spec, fragment):
    with pytest.raises(eq.EqError) as info:
        eq.parse_band(spec)
    check_error(info, fragment)


@pytest.mark.parametrize("fmt,fragment", [
    ("s16", "'s16'"), ("pcm_s16le", "'pcm_s16le'"), ("", "''"), ("f16le", "'f16le'"),
    (16, "16"), (None, "None"), (b"s16le", "b's16le'"),
])
def test_bad_sample_format(fmt, fragment):
    with pytest.raises(eq.EqError) as info:
        eq.StreamingEqualizer(48000, 2, fmt, [GOOD_BAND])
    check_error(info, fragment)


@pytest.mark.parametrize("channels", [0, -1, 1.5, True, False, "2", None, 2.0])
def test_bad_channel_count(channels):
    for make in (lambda: eq.StreamingEqualizer(48000, channels, "s16le", [GOOD_BAND]),
                 lambda: eq.BlockEqualizer(48000, channels, [GOOD_BAND])):
        with pytest.raises(eq.EqError) as info:
            make()
        check_error(info, repr(channels))


@pytest.mark.parametrize("rate", [0, -1, -48000, 44100.5, math.nan, math.inf, True, "48000",
                                  None])
def test_bad_sample_rate(rate):
    for make in (lambda: eq.StreamingEqualizer(rate, 2, "s16le", [GOOD_BAND]),
                 lambda: eq.BlockEqualizer(rate, 2, [GOOD_BAND]),
                 lambda: eq.design_sos([GOOD_BAND], rate)):
        with pytest.raises(eq.EqError) as info:
            make()
        check_error(info, repr(rate))


def test_whole_number_parameters_of_other_types_are_accepted():
    stream = eq.StreamingEqualizer(np.int64(48000), np.int32(2), "s16le", [GOOD_BAND])
    assert stream.frame_bytes == 4
    assert eq.StreamingEqualizer(48000.0, 1, "s16le", [GOOD_BAND]).sample_rate == 48000
    band = {"type": "peaking", "freq": np.float32(1000), "q": np.int64(1), "gain_db": 3}
    np.testing.assert_allclose(eq.design_sos([band], 48000), eq.design_sos([GOOD_BAND], 48000))


@pytest.mark.parametrize("preamp_db,fragment", [
    (math.nan, "nan"), (math.inf, "inf"), (-math.inf, "-inf"), ("3", "'3'"), (None, "None"),
    ("loud", "'loud'"), ([3.0], "[3.0]"), (200.5, "200.5"), (-6000, "-6000"),
])
def test_bad_preamp(preamp_db, fragment):
    for make in (lambda: eq.StreamingEqualizer(48000, 2, "s16le", [GOOD_BAND], preamp_db),
                 lambda: eq.BlockEqualizer(48000, 2, [GOOD_BAND], preamp_db)):
        with pytest.raises(eq.EqError) as info:
            make()
        check_error(info, fragment)


@pytest.mark.parametrize("bands", [GOOD_BAND, eq.Band("notch", 50.0), "peaking:1k", 5, None])
def test_bands_must_be_a_list(bands):
    with pytest.raises(eq.EqError) as info:
        eq.StreamingEqualizer(48000, 2, "s16le", bands)
    check_error(info)


@pytest.mark.parametrize("data", ["str", "\x00\x01", 12, None, [0, 1, 2, 3], 1.5])
def test_process_rejects_non_bytes(data):
    stream = eq.StreamingEqualizer(48000, 2, "s16le", [GOOD_BAND])
    with pytest.raises(eq.EqError) as info:
        stream.process(data)
    check_error(info, type(data).__name__)
    # Also while bytes of an incomplete frame are pending; those are kept.
    stream.process(b"\x01\x02\x03")
    with pytest.raises(eq.EqError) as info:
        stream.process(data)
    check_error(info, type(data).__name__)
    assert stream.pending_bytes == 3
    assert len(stream.process(b"\x04")) == 4


def test_errors_are_catchable_as_builtins():
    with pytest.raises(ValueError):
        eq.StreamingEqualizer(48000, 0, "s16le", [])
    with pytest.raises(TypeError):
        eq.StreamingEqualizer(48000, 1, "s16le", []).process("abc")
    assert issubclass(eq.IncompleteFrameError, ValueError)
    assert issubclass(eq.PresetError, eq.EqError)
    assert issubclass(eq.InvalidParameterError, ValueError)
    assert issubclass(eq.InvalidTypeError, TypeError)


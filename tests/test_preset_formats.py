"""Equalizer APO and CamillaDSP presets in and out; bw/slope conversions against the cookbook."""

import math

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from scipy.signal import sosfilt, sosfreqz

import eq
from eq.apo import format_apo, parse_apo
from eq.camilladsp import format_camilladsp, parse_camilladsp
from eq.cli import main
from eq.design import (
    Band,
    bw_oct_from_q,
    parse_band,
    q_from_bw_oct,
    shelf_q_from_slope,
    shelf_slope_from_q,
)
from eq.errors import InvalidParameterError, PresetError
from eq.response import auto_preamp_db

# AutoEQ's ParametricEQ.txt, as published (Preamp, then numbered PK filters and shelves).
AUTOEQ = """\
Preamp: -6.2 dB
Filter 1: ON LSC Fc 105 Hz Gain 5.6 dB Q 0.70
Filter 2: ON PK Fc 199 Hz Gain -2.5 dB Q 0.57
Filter 3: ON PK Fc 3057 Hz Gain 6.1 dB Q 1.98
Filter 4: ON HSC Fc 10000 Hz Gain -1.3 dB Q 0.70
Filter 5: ON PK Fc 19895 Hz Gain -3.0 dB Q 0.33
"""


def cookbook_shelf(kind, f0, gain_db, fs, s):
    """Low/high shelf from the cookbook's S formula, written out here on purpose."""
    a = 10 ** (gain_db / 40)
    w0 = 2 * math.pi * f0 / fs
    alpha = math.sin(w0) / 2 * math.sqrt((a + 1 / a) * (1 / s - 1) + 2)
    c, k = math.cos(w0), 2 * math.sqrt(a) * alpha
    if kind == "lowshelf":
        b = [a * ((a + 1) - (a - 1) * c + k), 2 * a * ((a - 1) - (a + 1) * c),
             a * ((a + 1) - (a - 1) * c - k)]
        den = [(a + 1) + (a - 1) * c + k, -2 * ((a - 1) + (a + 1) * c), (a + 1) + (a - 1) * c - k]
    else:
        b = [a * ((a + 1) + (a - 1) * c + k), -2 * a * ((a - 1) + (a + 1) * c),
             a * ((a + 1) + (a - 1) * c - k)]
        den = [(a + 1) - (a - 1) * c + k, 2 * ((a - 1) - (a + 1) * c), (a + 1) - (a - 1) * c - k]
    return np.array([b + den]) / den[0]


def cookbook_peaking_bw(f0, gain_db, fs, bw):
    a = 10 ** (gain_db / 40)
    w0 = 2 * math.pi * f0 / fs
    alpha = math.sin(w0) * math.sinh(math.log(2) / 2 * bw * w0 / math.sin(w0))
    c = math.cos(w0)
    row = [1 + alpha * a, -2 * c, 1 - alpha * a, 1 + alpha / a, -2 * c, 1 - alpha / a]
    return np.array([row]) / row[3]


def response(sos, fs, freqs):
    return sosfreqz(sos, worN=np.asarray(freqs, dtype=float), fs=fs)[1]


# --- conversions -------------------------------------------------------------------------

@pytest.mark.parametrize("fs", [44100, 48000, 96000])
@pytest.mark.parametrize("bw", [0.1, 1.0, 2.5])
@pytest.mark.parametrize("f0", [50.0, 1000.0, 15000.0])
def test_bw_oct_gives_the_cookbook_digital_q(fs, bw, f0):
    w0 = 2 * math.pi * f0 / fs
    expected = 1 / (2 * math.sinh(math.log(2) / 2 * bw * w0 / math.sin(w0)))
    assert q_from_bw_oct(bw, f0, fs) == pytest.approx(expected, rel=1e-14)
    assert bw_oct_from_q(q_from_bw_oct(bw, f0, fs), f0, fs) == pytest.approx(bw, rel=1e-12)
    band = Band("peaking", f0, gain_db=5.0, bw_oct=bw)
    freqs = np.geomspace(10, fs / 2 * 0.999, 200)
    np.testing.assert_allclose(response(band.sos(fs)[None], fs, freqs),
                               response(cookbook_peaking_bw(f0, 5.0, fs, bw), fs, freqs),
                               rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("kind", ["lowshelf", "highshelf"])
@pytest.mark.parametrize("s", [0.3, 0.5, 1.0, 1.5])
@pytest.mark.parametrize("gain_db", [-12.0, -3.0, 6.0])
def test_shelf_slope_matches_the_cookbook_s_formula(kind, s, gain_db):
    fs, f0 = 48000, 800.0
    q = shelf_q_from_slope(s, gain_db)
    assert shelf_slope_from_q(q, gain_db) == pytest.approx(s, rel=1e-12)
    freqs = np.geomspace(10, 23000, 300)
    for band in (Band(kind, f0, q=q, gain_db=gain_db),
                 parse_band(f"{kind}:{f0}:s={s}:gain={gain_db}"),
                 parse_band(f"{kind}:{f0}:slope={12 * s}:gain={gain_db}")):
        np.testing.assert_allclose(response(band.sos(fs)[None], fs, freqs),
                                   response(cookbook_shelf(kind, f0, gain_db, fs, s), fs, freqs),
                                   rtol=1e-9)


def test_shelf_slope_at_s1_is_12_db_per_octave_at_high_gain():
    # S = 1: the steepest monotonic shelf; its steepest slope tends to 12 dB/octave.
    band = parse_band("lowshelf:1000:s=1:gain=-60")
    freqs = np.geomspace(100, 10000, 2001)
    gain = 20 * np.log10(np.abs(response(band.sos(96000)[None], 96000, freqs)))
    slope_db_per_oct = np.max(np.diff(gain) / np.diff(np.log2(freqs)))
    assert slope_db_per_oct == pytest.approx(12.0, abs=0.5)
    assert np.all(np.diff(gain) >= -1e-9)  # monotonic


def test_band_specs_with_widths_round_trip_and_refuse_conflicts():
    band = parse_band("notch:50:bw=0.1")
    assert band.bw_oct == 0.1 and parse_band(band.spec()) == band
    assert Band.from_dict(band.to_dict()) == band
    assert Band.from_dict({"type": "ls", "freq": 100, "slope_db": 6, "gain": 3}).q == \
        pytest.approx(shelf_q_from_slope(0.5, 3.0))
    for spec in ("peaking:1k:q=1:bw=1", "lowshelf:100:bw=1:gain=3", "peaking:1k:s=1",
                 "lowshelf:100:s=1:q=1", "lowshelf:100:s=3:gain=20"):
        with pytest.raises(InvalidParameterError):
            parse_band(spec)


# --- Equalizer APO ------------------------------------------------------------------------

def test_autoeq_parametric_eq_txt():
    bands, preamp_db = parse_apo(AUTOEQ)
    assert preamp_db == -6.2
    assert bands[0] == Band("lowshelf", 105.0, q=0.70, gain_db=5.6)
    assert bands[2] == Band("peaking", 3057.0, q=1.98, gain_db=6.1)
    assert bands[3] == Band("highshelf", 10000.0, q=0.70, gain_db=-1.3)
    assert len(bands) == 5


def test_apo_types_defaults_decimal_commas_off_and_comments():
    text = """\
# a comment
Preamp: -3 dB
Preamp: -1,5 dB
Channel: all
Filter: ON PEQ Fc 1000 Hz Gain -3 dB BW Oct 1,5
Filter 2: OFF PK Fc 1 Hz Gain 99 dB Q 1
Filter 3: ON Modal Fc 60 Hz Gain -6 dB Q 8
Filter 4: ON LP Fc 18000 Hz
Filter 5: ON HPQ Fc 30 Hz Q 0,5
Filter 6: ON BP Fc 2000 Hz Q 2
Filter 7: ON NO Fc 50 Hz BW Oct 0.2
Filter 8: ON AP Fc 500 Hz Q 0.8   # trailing comment
Filter 9: ON HP Fc 20 Hz
Filter 10: ON LSC Fc 100 Hz Gain 3 dB
"""
    bands, preamp_db = parse_apo(text)
    assert preamp_db == -4.5
    assert bands == (
        Band("peaking", 1000.0, gain_db=-3.0, bw_oct=1.5),
        Band("peaking", 60.0, q=8.0, gain_db=-6.0),
        Band("lowpass", 18000.0),  # Butterworth default
        Band("highpass", 30.0, q=0.5),
        Band("bandpass", 2000.0, q=2.0),
        Band("notch", 50.0, bw_oct=0.2),
        Band("allpass", 500.0, q=0.8),
        Band("highpass", 20.0),
        Band("lowshelf", 100.0, q=shelf_q_from_slope(1.0, 3.0), gain_db=3.0),
    )


@pytest.mark.parametrize("kind", ["LS", "HS"])
@pytest.mark.parametrize("gain_db", [-9.0, 4.0])
@pytest.mark.parametrize("width, s", [("6 dB", 0.5), ("12 dB", 1.0), ("", 0.9), ("Q 0.6", None)])
def test_apo_corner_shelves_move_the_centre(kind, gain_db, width, s):
    slope, _, q_text = width.partition("Q ")
    line = f"Filter: ON {kind} {slope.strip()} Fc 1000 Hz Gain {gain_db} dB {('Q ' + q_text) if q_text else ''}"
    (band,), _ = parse_apo(" ".join(line.split()))
    if s is None:  # Q given: S of that Q, by the cookbook's S formula solved for S
        a = 10 ** (gain_db / 40)
        s = 1 / ((1 / 0.6 ** 2 - 2) / (a + 1 / a) + 1)
        assert band.q == 0.6
    factor = 10 ** (abs(gain_db) / (80 * s))
    expected = 1000 * factor if kind == "LS" else 1000 / factor
    assert band.freq_hz == pytest.approx(expected, rel=1e-13)
    centre, _ = parse_apo(line.replace(f" {kind} ", f" {kind}C "))
    assert centre[0].freq_hz == 1000.0
    if width:  # the same slope or Q; without one, LSC/HSC default to S = 1, LS/HS to 0.9
        assert centre[0].q == pytest.approx(band.q, rel=1e-13)
    if s is not None:
        fs = 48000
        freqs = np.geomspace(20, 20000, 100)
        np.testing.assert_allclose(
            response(band.sos(fs)[None], fs, freqs),
            response(cookbook_shelf(band.type, expected, gain_db, fs, s), fs, freqs), rtol=1e-9)


@pytest.mark.parametrize("line, words", [
    ("Include: other.txt", "'Include:' is not supported"),
    ("Device: Speakers", "'Device:' is not supported"),
    ("Convolution: room.wav", "'Convolution:' is not supported"),
    ("GraphicEQ: 25 0; 40 1", "'GraphicEQ:' is not supported"),
    ("Channel: 0", "count from 1"),
    ("Channel: XYZ", "unknown channel 'XYZ'"),
    ("Channel:", "expected 'all', channel names or numbers"),
    ("Filter: ON XY Fc 100 Hz", "unknown filter type 'XY'"),
    ("Filter: ON PK Fc 100 Hz Gain 3 dB", "PK needs Q or BW Oct"),
    ("Filter: ON PK Fc 100 Hz Q 1", "PK needs a Gain"),
    ("Filter: ON PK Fc abc Hz Gain 3 dB Q 1", "not a number"),
    ("Filter: ON LSC Fc 100 Hz Gain 3 dB BW Oct 1", "not BW Oct"),
    ("Filter: ON NO Fc 100 Hz Gain 3 dB Q 1", "NO takes no Gain"),
    ("Filter: ON PK Fc 100 Hz Gain 3 dB Q 1 Q 2", "Q given twice"),
    ("Filter: ON PK Fc 100 Hz Gain 3 dB Q 1 BW Oct 2", "more than one"),
    ("Filter: MAYBE PK Fc 100 Hz", "expected ON or OFF"),
    ("Filter: ON PK Gain 3 dB Q 1", "no Fc"),
    ("Filter: ON PK Fc 30000 Hz Gain 3 dB Q 0", "q must be > 0"),
    ("Preamp: loud", "not a number"),
    ("Bogus: 1", "unknown command 'Bogus:'"),
    ("just text", "not an Equalizer APO command"),
])
def test_apo_bad_lines_name_the_line_number_and_text(line, words):
    with pytest.raises(PresetError) as info:
        parse_apo(f"Preamp: -1 dB\n\n{line}\n", "x.txt")
    message = str(info.value)
    assert message.startswith(f"x.txt: line 3: {line!r}: ") and words in message
    assert "\n" not in message


def test_apo_preamp_under_a_channel_selection_is_refused():
    with pytest.raises(PresetError, match=r"line 2: 'Preamp: -3 dB': .*per-channel gain"):
        parse_apo("Channel: L\nPreamp: -3 dB\n", "x.txt")
    assert parse_apo("Channel: L\nChannel: all\nPreamp: -3 dB\n")[1] == -3.0


APO_CHANNELS = """\
Preamp: -2 dB
Filter 1: ON PK Fc 1000 Hz Gain 4 dB Q 1
Channel: L
Filter 2: ON LSC Fc 120 Hz Gain 5 dB Q 0.7
Channel: 2
Filter 3: ON HPQ Fc 40 Hz Q 0.9
Channel: R L
Filter 4: ON NO Fc 60 Hz Q 5
Channel: all
Filter 5: ON HSC Fc 8000 Hz Gain -3 dB Q 0.7
"""


def test_apo_channel_selections_filter_each_channel_with_its_own_bands():
    """Equalizer APO's Channel: lines: a filter acts on the channels selected before it
    (numbers count from 1); each channel's output is the cascade of its own filters (oracle:
    scipy's sosfilt per channel, the sections listed here by hand from the text)."""
    bands, preamp_db = parse_apo(APO_CHANNELS)
    assert [b.channels for b in bands] == [None, ("L",), (1,), ("R", "L"), None]
    fs = 48000
    x = np.random.default_rng(5).uniform(-0.3, 0.3, (6000, 2))
    stream = eq.BlockEqualizer(fs, 2, bands, preamp_db)
    y = stream.process(x)
    plain = [Band(b.type, b.freq_hz, q=b.q, gain_db=b.gain_db) for b in bands]
    per_channel = {0: [plain[0], plain[1], plain[3], plain[4]],
                   1: [plain[0], plain[2], plain[3], plain[4]]}
    gain = 10 ** (preamp_db / 20)
    for c, chosen in per_channel.items():
        expected = sosfilt(eq.design_sos(chosen, fs), x[:, c] * gain)
        np.testing.assert_allclose(y[:, c], expected, rtol=1e-10, atol=1e-12)


def test_camilladsp_different_filters_per_channel_keep_each_channels_order():
    """Steps on different channels: each channel runs the filters of the steps that name it, in
    pipeline order (the oracle follows the YAML by hand)."""
    pipeline = ("pipeline:\n"
                "  - {type: Filter, channels: [0], names: [air]}\n"
                "  - {type: Filter, channels: [0, 1], names: [vol, bass]}\n"
                "  - {type: Filter, channel: 1, names: [mid]}\n")
    text = CAMILLA[:CAMILLA.index("pipeline:")] + pipeline
    bands, preamp_db = parse_camilladsp(text)
    assert [(b.type, b.channels) for b in bands] == [
        ("highshelf", (0,)), ("lowshelf", None), ("peaking", (1,))]
    fs = 48000
    x = np.random.default_rng(6).uniform(-0.3, 0.3, (6000, 2))
    y = eq.BlockEqualizer(fs, 2, bands, preamp_db).process(x)
    plain = {b.type: Band(b.type, b.freq_hz, q=b.q_at(fs), gain_db=b.gain_db) for b in bands}
    per_channel = {0: ["highshelf", "lowshelf"], 1: ["lowshelf", "peaking"]}
    for c, names in per_channel.items():
        expected = sosfilt(eq.design_sos([plain[n] for n in names], fs), x[:, c] * 10 ** (-4.5 / 20))
        np.testing.assert_allclose(y[:, c], expected, rtol=1e-10, atol=1e-12)


# --- CamillaDSP -----------------------------------------------------------------------------

CAMILLA = """\
devices: {samplerate: 48000, chunksize: 1024}
filters:
  vol: {type: Gain, parameters: {gain: -4.5, scale: dB}}
  bass: {type: Biquad, parameters: {type: Lowshelf, freq: 100, gain: 3, slope: 6}}
  air: {type: Biquad, parameters: {type: Highshelf, freq: 9000, gain: -2, q: 0.7}}
  mid: {type: Biquad, parameters: {type: Peaking, freq: 1000, gain: -3, bandwidth: 1.5}}
  hum: {type: Biquad, parameters: {type: Notch, freq: 50, q: 10}}
  unused: {type: Delay, parameters: {delay: 1}}
pipeline:
  - {type: Filter, channels: [0, 1], names: [vol, bass]}
  - {type: Filter, channel: 0, names: [mid, air]}
  - {type: Filter, channel: 1, names: [mid, air]}
  - {type: Filter, channels: [0, 1], names: [hum], bypassed: true}
"""


def test_camilladsp_biquads_gain_and_pipeline_order():
    bands, preamp_db = parse_camilladsp(CAMILLA)
    assert preamp_db == -4.5
    assert bands == (Band("lowshelf", 100.0, q=shelf_q_from_slope(0.5, 3.0), gain_db=3.0),
                     Band("peaking", 1000.0, gain_db=-3.0, bw_oct=1.5),
                     Band("highshelf", 9000.0, q=0.7, gain_db=-2.0))


@pytest.mark.parametrize("change, words", [
    (("- {type: Filter, channels: [0, 1], names: [vol",
      "- {type: Filter, channels: [0], names: [vol"), "per-channel gain"),
    (("[vol, bass]", "[vol, bass, unused]"), "'Delay' is not supported"),
    (("[vol, bass]", "[vol, nothing]"), "not defined"),
    (("slope: 6", "slope: 6, bandwidth: 1"), "unknown parameter"),
    (("type: Notch", "type: NotchFO"), "'NotchFO' is not supported"),
    (("type: Notch", "type: Notch"), None),
    (("pipeline:", "pipeline:\n  - {type: Mixer, name: m}"), "'Mixer' steps are not supported"),
    (("freq: 100,", "freq: abc,"), "finite number"),
    (("- {type: Filter, channels: [0, 1], names: [vol", "- {type: Filter, channels: [0, 1], names: [vol"),
     None),
])
def test_camilladsp_refusals(change, words):
    text = CAMILLA.replace(*change)
    if "NotchFO" in text:
        text = text.replace("[vol, bass]", "[vol, bass, hum]")
    if words is None:
        parse_camilladsp(text)
        return
    with pytest.raises(PresetError, match=words):
        parse_camilladsp(text)


def test_camilladsp_bad_yaml_is_one_line():
    with pytest.raises(PresetError, match="not valid YAML") as info:
        parse_camilladsp("filters: [\n")
    assert "\n" not in str(info.value)


# --- round trips -----------------------------------------------------------------------------

finite = dict(allow_nan=False, allow_infinity=False)


@st.composite
def bands_strategy(draw):
    kind = draw(st.sampled_from(eq.BAND_TYPES))
    freq_hz = draw(st.floats(1.0, 23000.0, **finite))
    gain_db = draw(st.floats(-30.0, 30.0, **finite)) if kind in ("peaking", "lowshelf",
                                                                 "highshelf") else 0.0
    channels = draw(st.sampled_from([None, None, (0,), (1,), (1, 0)]))
    if kind not in ("lowshelf", "highshelf") and draw(st.booleans()):
        return Band(kind, freq_hz, gain_db=gain_db, bw_oct=draw(st.floats(0.01, 5.0, **finite)),
                    channels=channels)
    return Band(kind, freq_hz, q=draw(st.floats(0.05, 50.0, **finite)), gain_db=gain_db,
                channels=channels)


@settings(max_examples=150, deadline=None)
@given(st.lists(bands_strategy(), max_size=6), st.floats(-30.0, 0.0, **finite))
@example([], -0.0)  # a preamp of -0 once came back as 0 through CamillaDSP, and was written "-0"
def test_apo_and_camilladsp_round_trips_are_the_identity(bands, preamp_db):
    bands = tuple(bands)
    assert parse_apo(format_apo(bands, preamp_db)) == (bands, preamp_db)
    # CamillaDSP names channels by index and has no selection of "all": what it reads is in
    # that form (sorted indices, None for every channel), and from there the round trip is exact.
    imported = parse_camilladsp(format_camilladsp(bands, preamp_db))
    assert parse_camilladsp(format_camilladsp(*imported)) == imported
    assert [b.channels for b in imported[0]] == [
        None if b.channels is None or set(b.channels) == {0, 1} else tuple(sorted(b.channels))
        for b in bands]
    strip = [Band(b.type, b.freq_hz, q=b.q, gain_db=b.gain_db, bw_oct=b.bw_oct) for b in bands]
    assert [Band(b.type, b.freq_hz, q=b.q, gain_db=b.gain_db, bw_oct=b.bw_oct)
            for b in imported[0]] == strip and imported[1] == preamp_db
    apo_again = format_apo(*parse_camilladsp(format_camilladsp(*parse_apo(format_apo(*imported)))))
    assert apo_again == format_apo(*imported)


def test_autoeq_file_round_trips_through_both_formats():
    bands, preamp_db = parse_apo(AUTOEQ)
    assert parse_apo(format_apo(bands, preamp_db)) == (bands, preamp_db)
    assert parse_camilladsp(format_camilladsp(bands, preamp_db, channels=6)) == (bands, preamp_db)


# --- preset files, --auto-preamp, CLI ----------------------------------------------------------

def test_load_preset_reads_apo_and_camilladsp_by_suffix_and_content(tmp_path):
    (tmp_path / "ParametricEQ.txt").write_text(AUTOEQ)
    (tmp_path / "c.yml").write_text(CAMILLA)
    (tmp_path / "noext").write_text(AUTOEQ)
    (tmp_path / "cam.conf").write_text(CAMILLA)
    assert eq.load_preset(tmp_path / "ParametricEQ.txt").bands == parse_apo(AUTOEQ)[0]
    assert eq.load_preset(tmp_path / "noext").preamp_db == -6.2
    assert eq.load_preset(tmp_path / "c.yml").bands == parse_camilladsp(CAMILLA)[0]
    assert eq.load_preset(tmp_path / "cam.conf").preamp_db == -4.5
    (tmp_path / "bad.txt").write_text("Include: x.txt\n")
    with pytest.raises(PresetError, match="line 1"):
        eq.load_preset(tmp_path / "bad.txt")


@pytest.mark.parametrize("fs", [44100, 48000])
def test_auto_preamp_is_minus_the_peak_of_the_response(fs):
    bands, _ = parse_apo(AUTOEQ)
    bands = eq.design.bands_below_nyquist(bands, fs)[0]
    freqs = np.linspace(0, fs / 2, 400001)  # an independent, dense linear grid
    peak = np.max(20 * np.log10(np.abs(response(eq.design_sos(bands, fs), fs, freqs))))
    assert auto_preamp_db(bands, fs) == pytest.approx(-peak, abs=1e-3)
    assert auto_preamp_db([Band("peaking", 1000, q=1, gain_db=-6)], fs) == 0.0


def test_cli_export_and_auto_preamp(tmp_path, capsys):
    preset = tmp_path / "ParametricEQ.txt"
    preset.write_text(AUTOEQ)
    assert main(["export", "--to", "apo", "--preset", str(preset)]) == 0
    assert parse_apo(capsys.readouterr().out) == parse_apo(AUTOEQ)
    assert main(["export", "--to", "camilladsp", "--preset", str(preset), "-o",
                 str(tmp_path / "c.yml")]) == 0
    assert eq.load_preset(tmp_path / "c.yml").bands == parse_apo(AUTOEQ)[0]
    assert main(["export", "--to", "sox", "--band", "peaking:1k:bw=1:gain=6",
                 "--auto-preamp", "--rate", "48000"]) == 0
    captured = capsys.readouterr()
    words = captured.out.split()
    assert words[0] == "vol" and float(words[1]) == pytest.approx(-6.0, abs=1e-9)
    assert words[2:] == "dB equalizer 1000 1o 6".split()
    assert "--auto-preamp: preamp -6.00 dB" in captured.err
    assert main(["export", "--to", "ffmpeg", "--band", "peaking:1k:q=1:gain=6",
                 "--auto-preamp", "--preamp", "-3"]) == 2
    assert "not both" in capsys.readouterr().err
    assert main(["export", "--to", "ffmpeg", "--band", "peaking:1k:q=200000:gain=6"]) == 2
    assert "ffmpeg cannot express it" in capsys.readouterr().err
    assert main(["export", "--to", "apo", "--preset", str(tmp_path / "missing.txt")]) == 2


def test_cli_apply_with_an_apo_preset_and_auto_preamp(tmp_path, capsys):
    import soundfile as sf

    preset = tmp_path / "p.txt"
    preset.write_text("Filter 1: ON PK Fc 1000 Hz Gain 6 dB Q 1\n")
    src = tmp_path / "in.wav"
    x = np.zeros((4800, 1))
    x[0] = 0.25
    sf.write(src, x, 48000, subtype="DOUBLE")
    assert main(["apply", str(src), str(tmp_path / "out.wav"), "--preset", str(preset),
                 "--auto-preamp", "--subtype", "DOUBLE"]) == 0
    assert "preamp -6.00 dB" in capsys.readouterr().err
    y, _ = sf.read(tmp_path / "out.wav")
    h = np.fft.rfft(y, 48000)[1000] / 0.25
    assert 20 * np.log10(abs(h)) == pytest.approx(0.0, abs=1e-6)


def test_camilladsp_channels_are_counted_per_channel():
    """A step on some channels is not a band on all of them, and a band applied to every channel by
    two steps is two bands."""
    base = ("filters:\n  b:\n    type: Biquad\n    parameters: {type: Peaking, freq: 1000, gain: 3, q: 1}\n")
    bands, _ = parse_camilladsp(base + "devices: {capture: {channels: 2}}\n"
                                "pipeline:\n  - {type: Filter, channels: [0], names: [b]}\n", "x.yml")
    assert [band.channels for band in bands] == [(0,)]
    bands, _ = parse_camilladsp(base + "pipeline:\n  - {type: Filter, channels: [0, 1], names: [b]}\n"
                                "  - {type: Filter, names: [b]}\n", "x.yml")
    assert len(bands) == 2


def test_a_preset_format_error_names_the_file_once(tmp_path):
    path = tmp_path / "bad.txt"
    path.write_text("Include: other.txt\n")
    with pytest.raises(PresetError) as info:
        eq.load_preset(str(path))
    assert str(info.value).count("bad.txt") == 1 and "line 1" in str(info.value)

"""Presets: bundled ones load and are valid; bad files give a PresetError naming the problem."""

import json
import tomllib
from pathlib import Path

import numpy as np
import pytest

import eq
from eq.design import bands_below_nyquist
from eq_oracle import oracle_sos

BUNDLED = eq.list_presets()


def test_there_are_bundled_presets():
    assert len(BUNDLED) >= 3
    assert BUNDLED == sorted(BUNDLED)
    assert "benchmark-5band" in BUNDLED


RATES = [8000, 11025, 16000, 44100, 48000, 96000, 192000]
PRESET_DIR = Path(eq.__file__).resolve().parent / "presets"


def preset_file(name):
    """``(bands as dicts, preamp_db)`` read straight from the bundled preset file."""
    (path,) = [p for p in PRESET_DIR.iterdir() if p.stem == name]
    text = path.read_text()
    data = tomllib.loads(text) if path.suffix == ".toml" else json.loads(text)
    return data["bands"], float(data.get("preamp_db", 0.0))


@pytest.mark.parametrize("name", BUNDLED)
@pytest.mark.parametrize("fs", RATES)
def test_every_bundled_preset_loads_and_is_valid_at_every_rate(name, fs):
    preset = eq.load_preset(name)
    assert isinstance(preset, eq.Preset)
    assert all(isinstance(b, eq.Band) for b in preset.bands)
    bands, preamp_db = preset_file(name)
    assert preset.preamp_db == preamp_db
    kept, dropped = bands_below_nyquist(preset.bands, fs)
    assert [b.freq_hz for b in kept] == [b["freq"] for b in bands if b["freq"] < fs / 2]
    assert [b.freq_hz for b in dropped] == [b["freq"] for b in bands if b["freq"] >= fs / 2]
    sos = eq.design_sos(kept, fs)
    np.testing.assert_allclose(sos, oracle_sos([b for b in bands if b["freq"] < fs / 2], fs),
                               rtol=1e-11, atol=1e-13)
    stream = eq.StreamingEqualizer(fs, 2, "s16le", kept, preset.preamp_db)
    assert len(stream.process(bytes(400))) == 400
    # Every section is stable: poles inside the unit circle.
    for row in sos:
        assert np.all(np.abs(np.roots([1.0, row[4], row[5]])) < 1.0)


def test_benchmark_preset_is_the_documented_curve():
    preset = eq.load_preset("benchmark-5band")
    expected = [("lowshelf", 100, 0.707, 4), ("peaking", 400, 1, -3), ("peaking", 2000, 2, 5),
                ("peaking", 6000, 0.7, -2), ("highshelf", 10000, 0.707, 3)]
    got = [(b.type, b.freq_hz, b.q, b.gain_db) for b in preset.bands]
    assert got == [(t, float(f), float(q), float(g)) for t, f, q, g in expected]
    assert preset.preamp_db == 0.0


def test_json_and_toml_presets_are_the_same(tmp_path):
    data = {
        "name": "mine",
        "description": "a test curve",
        "preamp_db": -2.5,
        "bands": [
            {"type": "highpass", "freq": 80, "q": 0.707},
            {"type": "peaking", "freq": 3000, "q": 1.0, "gain_db": 3.0},
        ],
    }
    (tmp_path / "mine.json").write_text(json.dumps(data))
    (tmp_path / "mine.toml").write_text(
        'name = "mine"\n'
        'description = "a test curve"\n'
        "preamp_db = -2.5\n"
        "\n[[bands]]\ntype = \"highpass\"\nfreq = 80\nq = 0.707\n"
        "\n[[bands]]\ntype = \"peaking\"\nfreq = 3000\nq = 1.0\ngain_db = 3.0\n"
    )
    from_json = eq.load_preset(tmp_path / "mine.json")
    from_toml = eq.load_preset(str(tmp_path / "mine.toml"))
    assert from_json == from_toml
    assert from_json.name == "mine" and from_json.description == "a test curve"
    assert from_json.preamp_db == -2.5
    assert from_json.bands == (eq.Band("highpass", 80.0, 0.707),
                               eq.Band("peaking", 3000.0, 1.0, 3.0))


def test_minimal_preset_takes_the_file_name(tmp_path):
    path = tmp_path / "tiny.json"
    path.write_text('{"bands": [{"type": "notch", "freq": 50}]}')
    preset = eq.load_preset(path)
    assert preset.name == "tiny"
    assert preset.preamp_db == 0.0
    assert preset.bands == (eq.Band("notch", 50.0),)


BAD_PRESETS = [
    # (file name, content, fragments the message must contain)
    ("broken.json", '{"bands": [', ["broken.json"]),
    ("empty.json", "", ["empty.json"]),
    ("broken.toml", "bands = [[[", ["broken.toml"]),
    ("binary.json", b"\xff\xfe\x00garbage", ["binary.json"]),
    ("extra.json", '{"bands": [], "gain": 3}', ["extra", "'gain'"]),
    ("noband.json", '{"name": "x"}', ["noband", "bands"]),
    ("notlist.json", '{"bands": {"type": "notch", "freq": 50}}', ["notlist", "bands"]),
    ("toplist.json", '[{"type": "notch", "freq": 50}]', ["toplist"]),
    ("badtype.json", '{"bands": [{"type": "wobble", "freq": 50}]}', ["badtype", "'wobble'"]),
    ("badkey.json", '{"bands": [{"type": "notch", "freq": 50, "Q": 2}]}', ["badkey", "'Q'"]),
    ("badq.json", '{"bands": [{"type": "notch", "freq": 50, "q": -1}]}', ["badq", "-1"]),
    ("nofreq.json", '{"bands": [{"type": "notch"}]}', ["nofreq", "freq"]),
    ("strfreq.json", '{"bands": [{"type": "notch", "freq": "50"}]}', ["strfreq", "'50'"]),
    ("nanpre.json", '{"bands": [], "preamp_db": NaN}', ["nanpre", "preamp_db", "nan"]),
    ("strpre.json", '{"bands": [], "preamp_db": "loud"}', ["strpre", "'loud'"]),
    ("badtoml.toml", '[[bands]]\ntype = "peaking"\nfreq = 1000\nwidth = 2\n',
     ["badtoml", "'width'"]),
]


@pytest.mark.parametrize("filename,content,fragments", BAD_PRESETS,
                         ids=[b[0] for b in BAD_PRESETS])
def test_bad_preset_file(tmp_path, filename, content, fragments):
    path = tmp_path / filename
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    with pytest.raises(eq.PresetError) as info:
        eq.load_preset(path)
    message = str(info.value)
    assert isinstance(info.value, eq.EqError) and isinstance(info.value, ValueError)
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"


def test_missing_preset_name_or_file(tmp_path):
    with pytest.raises(eq.PresetError) as info:
        eq.load_preset("no-such-preset")
    assert "'no-such-preset'" in str(info.value)
    assert "benchmark-5band" in str(info.value)  # lists what exists
    missing = tmp_path / "gone.json"
    with pytest.raises(eq.PresetError) as info:
        eq.load_preset(missing)
    assert str(missing) in str(info.value)

"""Presets: a list of bands plus an optional preamp, in JSON or TOML.

A preset file looks like::

    {
      "name": "vocal-presence",
      "description": "Clearer speech and vocals",
      "preamp_db": -2.0,
      "bands": [
        {"type": "highpass", "freq": 80, "q": 0.707},
        {"type": "peaking", "freq": 3000, "q": 1.0, "gain_db": 3.0}
      ]
    }

or the same keys in TOML, with one ``[[bands]]`` table per band. Bundled
presets live in ``eq/presets/`` and are found by name.

A file is read by its ending: ``.json``, ``.toml``, ``.txt`` (Equalizer APO / AutoEQ,
:mod:`eq.apo`), ``.yml``/``.yaml`` (CamillaDSP, :mod:`eq.camilladsp`). A file with another
ending is read by its content: JSON if it starts with ``{``, Equalizer APO if its first command
is one of APO's, CamillaDSP if it has a ``filters:`` line, TOML otherwise.
"""

import json
import math
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from .design import as_bands
from .errors import EqError, PresetError

try:  # Python >= 3.11
    import tomllib
except ModuleNotFoundError:  # pragma: no cover - Python 3.10
    import tomli as tomllib

__all__ = ["Preset", "load_preset", "list_presets"]

_SUFFIXES = (".json", ".toml")
_FILE_SUFFIXES = _SUFFIXES + (".txt", ".yml", ".yaml")


@dataclass(frozen=True)
class Preset:
    """A named list of bands and a preamp gain.

    Attributes
    ----------
    name : str
    bands : tuple of Band
    preamp_db : float
        Gain applied before the bands, in dB (negative values leave headroom
        for boosts).
    description : str
    """

    name: str
    bands: tuple
    preamp_db: float = 0.0
    description: str = ""

    def to_dict(self):
        """Return the preset as the mapping stored in a JSON file."""
        return {"name": self.name, "description": self.description,
                "preamp_db": self.preamp_db, "bands": [b.to_dict() for b in self.bands]}


def _bundled_dir():
    return resources.files("eq") / "presets"


def list_presets():
    """Names of the bundled presets, sorted.

    Returns
    -------
    list of str
    """
    names = set()
    for entry in _bundled_dir().iterdir():
        if entry.name.endswith(_SUFFIXES):
            names.add(entry.name.rsplit(".", 1)[0])
    return sorted(names)


def preset_from_dict(mapping, name="preset"):
    """Build a :class:`Preset` from a parsed JSON/TOML mapping."""
    if not isinstance(mapping, dict):
        raise PresetError(f"preset {name!r} must be a mapping with a 'bands' list, got {mapping!r}")
    unknown = set(mapping) - {"name", "description", "preamp_db", "bands"}
    if unknown:
        raise PresetError(
            f"preset {name!r} has unknown key(s) {sorted(unknown)!r}; "
            "expected name, description, preamp_db, bands"
        )
    if "bands" not in mapping or not isinstance(mapping["bands"], list):
        raise PresetError(
            f"preset {name!r} must have a list 'bands', got {mapping.get('bands')!r}")
    preamp_db = mapping.get("preamp_db", 0.0)
    if isinstance(preamp_db, bool) or not isinstance(preamp_db, (int, float)) \
            or not math.isfinite(preamp_db):
        raise PresetError(f"preset {name!r}: preamp_db must be a finite number, got {preamp_db!r}")
    try:
        bands = as_bands(mapping["bands"])
    except EqError as exc:
        raise PresetError(f"preset {name!r}: {exc}") from None
    return Preset(name=str(mapping.get("name", name)), bands=bands,
                  preamp_db=float(preamp_db), description=str(mapping.get("description", "")))


def load_preset(name_or_path):
    """Load a bundled preset by name, or a preset file by path.

    Parameters
    ----------
    name_or_path : str or path-like
        A bundled name (see :func:`list_presets`) or the path of a ``.json``
        or ``.toml`` file.

    Returns
    -------
    Preset

    Raises
    ------
    PresetError
        If there is no such preset, or the file cannot be read or parsed.
    """
    text = str(name_or_path)
    path = Path(text)
    if path.suffix.lower() in _FILE_SUFFIXES or path.exists():
        if not path.is_file():
            raise PresetError(f"preset file {text!r} does not exist")
        source, suffix, default_name = path, path.suffix.lower(), path.stem
    else:
        for suffix in _SUFFIXES:
            candidate = _bundled_dir() / f"{text}{suffix}"
            if candidate.is_file():
                source, default_name = candidate, text
                break
        else:
            raise PresetError(
                f"no preset named {text!r}; bundled presets: {', '.join(list_presets())} "
                "(or give the path of a .json, .toml, .txt (Equalizer APO) or .yml (CamillaDSP) file)"
            )
    try:
        raw = source.read_bytes()
        content = raw.decode("utf-8-sig")
        kind = _kind(suffix, content)
        if kind in ("apo", "camilladsp"):
            from .apo import parse_apo
            from .camilladsp import parse_camilladsp

            parse = parse_apo if kind == "apo" else parse_camilladsp
            bands, preamp_db = parse(content, text)
            return Preset(name=default_name, bands=bands, preamp_db=preamp_db)
        mapping = tomllib.loads(content) if kind == "toml" else json.loads(content)
    except PresetError:
        raise  # the readers of preset formats already name the file and the line
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise PresetError(f"cannot read preset {text!r}: {exc}") from None
    return preset_from_dict(mapping, default_name)


def _kind(suffix, content):
    """``json``, ``toml``, ``apo`` or ``camilladsp``: by the ending, else by the content."""
    by_suffix = {".json": "json", ".toml": "toml", ".txt": "apo", ".yml": "camilladsp",
                 ".yaml": "camilladsp"}
    if suffix in by_suffix:
        return by_suffix[suffix]
    from .apo import looks_like_apo

    if content.lstrip().startswith("{"):
        return "json"
    if looks_like_apo(content):
        return "apo"
    if any(line.startswith("filters:") for line in content.splitlines()):
        return "camilladsp"
    return "toml"

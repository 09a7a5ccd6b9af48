"""CamillaDSP configuration (YAML), in and out: ``filters`` of ``type: Biquad`` and the pipeline.

Read: the ``Filter`` steps of ``pipeline``, in order (``bypassed: true`` steps skipped); each
names filters of ``filters:``. A ``Biquad`` filter's ``parameters.type`` is ``Peaking``,
``Lowshelf``, ``Highshelf``, ``Lowpass``, ``Highpass``, ``Bandpass``, ``Notch`` or
``Allpass``, with ``freq``, ``gain`` (peaking and shelves) and ``q``, or ``bandwidth`` in
octaves (not shelves), or ``slope`` in dB per octave (shelves, ``S = slope/12``). A ``Gain``
filter in dB adds to the preamp. Other filter types (first-order biquads, ``Free``,
``Conv``, ``Delay``, ...) and pipeline steps (``Mixer``, ``Processor``) are refused by name.

A step's ``channels`` missing or null means all (``channel: N`` is the older form). When the
steps give every channel the same filters in the same order, the bands act on every channel;
otherwise each band acts on its step's channels (:attr:`~eq.design.Band.channels`), so every
channel keeps its own filters in pipeline order. A ``Gain`` on some channels only is a
per-channel gain, which eq does not have: it is refused.
"""

import math

from .channels import resolve_channels
from .design import GAIN_BAND_TYPES, SLOPE_DB_PER_OCT_AT_S1, Band, shelf_q_from_slope
from .errors import EqError, PresetError

__all__ = ["parse_camilladsp", "format_camilladsp"]

_TYPES = {"Peaking": "peaking", "Lowshelf": "lowshelf", "Highshelf": "highshelf",
          "Lowpass": "lowpass", "Highpass": "highpass", "Bandpass": "bandpass",
          "Notch": "notch", "Allpass": "allpass"}
_EXPORT_TYPES = {value: key for key, value in _TYPES.items()}


def _yaml():
    try:
        import yaml
    except ImportError:
        raise EqError("CamillaDSP presets need PyYAML: pip install pyyaml") from None
    return yaml


def _real(value, where):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise PresetError(f"{where} must be a finite number, got {value!r}")
    return float(value)


def _biquad(name, parameters, where):
    if not isinstance(parameters, dict):
        raise PresetError(f"{where}: parameters must be a mapping, got {parameters!r}")
    kind = parameters.get("type")
    if kind not in _TYPES:
        raise PresetError(f"{where}: Biquad type {kind!r} is not supported; expected one of "
                          f"{', '.join(_TYPES)}")
    band_type = _TYPES[kind]
    allowed = {"type", "freq", "q"}
    allowed |= {"gain"} if band_type in GAIN_BAND_TYPES else set()
    allowed |= {"slope"} if band_type in ("lowshelf", "highshelf") else {"bandwidth"}
    unknown = sorted(set(parameters) - allowed)
    if unknown:
        raise PresetError(f"{where}: unknown parameter(s) {unknown!r} for {kind}; "
                          f"expected {', '.join(sorted(allowed - {'type'}))}")
    if "freq" not in parameters:
        raise PresetError(f"{where}: no freq")
    widths = [key for key in ("q", "bandwidth", "slope") if key in parameters]
    if len(widths) != 1:
        raise PresetError(f"{where}: give one of {', '.join(sorted(allowed & {'q', 'bandwidth', 'slope'}))}")
    if band_type in GAIN_BAND_TYPES and "gain" not in parameters:
        raise PresetError(f"{where}: no gain")
    freq_hz = _real(parameters["freq"], f"{where}: freq")
    gain_db = _real(parameters.get("gain", 0.0), f"{where}: gain")
    width = _real(parameters[widths[0]], f"{where}: {widths[0]}")
    try:
        if widths[0] == "q":
            return Band(band_type, freq_hz, q=width, gain_db=gain_db)
        if widths[0] == "bandwidth":
            return Band(band_type, freq_hz, gain_db=gain_db, bw_oct=width)
        return Band(band_type, freq_hz, gain_db=gain_db,
                    q=shelf_q_from_slope(width / SLOPE_DB_PER_OCT_AT_S1, gain_db))
    except EqError as exc:
        raise PresetError(f"{where}: {exc}") from None


def _gain(parameters, where):
    if not isinstance(parameters, dict) or "gain" not in parameters:
        raise PresetError(f"{where}: a Gain filter needs parameters.gain")
    unknown = sorted(set(parameters) - {"gain", "scale", "inverted", "mute"})
    if unknown:
        raise PresetError(f"{where}: unknown Gain parameter(s) {unknown!r}")
    if parameters.get("scale", "dB") != "dB" or parameters.get("inverted", False) \
            or parameters.get("mute", False):
        raise PresetError(f"{where}: only a Gain in dB, not inverted or muted, is supported")
    return _real(parameters["gain"], f"{where}: gain")


def parse_camilladsp(text, name="preset"):
    """Read a CamillaDSP configuration.

    Parameters
    ----------
    text : str
        YAML (see the module's description for what is read).
    name : str, optional
        Named in error messages.

    Returns
    -------
    bands : tuple of Band
        In pipeline order.
    preamp_db : float
        The sum of the ``Gain`` filters in the pipeline.

    Raises
    ------
    PresetError
        For YAML that does not parse, or a filter, parameter or step that is not supported.

    Examples
    --------
    >>> parse_camilladsp('''
    ... filters:
    ...   bass: {type: Biquad, parameters: {type: Lowshelf, freq: 100, gain: 3, q: 0.7}}
    ... pipeline:
    ...   - {type: Filter, channels: [0, 1], names: [bass]}
    ... ''')
    ((Band(type='lowshelf', freq_hz=100.0, q=0.7, gain_db=3.0),), 0.0)
    """
    yaml = _yaml()
    try:
        config = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise PresetError(f"{name}: not valid YAML: {' '.join(str(exc).split())}") from None
    if not isinstance(config, dict) or not isinstance(config.get("filters"), dict):
        raise PresetError(f"{name}: a CamillaDSP configuration needs a 'filters' mapping")
    filters = config["filters"]
    pipeline = config.get("pipeline")
    if not isinstance(pipeline, list):
        raise PresetError(f"{name}: a CamillaDSP configuration needs a 'pipeline' list")
    steps = []  # (channels or None for all, filter names), in pipeline order
    for number, step in enumerate(pipeline, 1):
        where = f"{name}: pipeline step {number}"
        if not isinstance(step, dict):
            raise PresetError(f"{where}: must be a mapping, got {step!r}")
        if step.get("bypassed", False):
            continue
        if step.get("type") != "Filter":
            raise PresetError(f"{where}: {step.get('type')!r} steps are not supported "
                              "(only Filter)")
        names = step.get("names")
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise PresetError(f"{where}: 'names' must be a list of filter names")
        channels = [step["channel"]] if "channel" in step else step.get("channels")
        if channels is not None and (not isinstance(channels, list)
                                     or not all(isinstance(c, int) and c >= 0 for c in channels)):
            raise PresetError(f"{where}: channels must be a list of channel indices, got {channels!r}")
        steps.append((channels, names))
    # every channel's filters in order: a step without channels is on all of them (the capture
    # device's, else as many as the steps name); the bands must be the same on every channel
    count = ((config.get("devices") or {}).get("capture") or {}).get("channels")
    if not isinstance(count, int) or count < 1:
        # At least 2 without a device: a step on channel 0 alone of a stereo configuration is
        # not every channel (and on a mono stream, channel 0 is every channel anyway).
        count = max(2, 1 + max((c for channels, _ in steps for c in channels or ()), default=0))
    per_channel = [[] for _ in range(count)]
    for channels, names in steps:
        for channel in (range(count) if channels is None else channels):
            if channel >= count:
                raise PresetError(f"{name}: channel {channel} is beyond the capture device's {count}")
            per_channel[channel].extend(names)
    sequences = {tuple(names) for names in per_channel}
    if len(sequences) == 1:  # the same on every channel: bands on all
        applied = [(None, filter_name) for filter_name in next(iter(sequences))]
    else:
        applied = [(None if selection is None or sorted(set(selection)) == list(range(count))
                    else tuple(sorted(set(selection))), filter_name)
                   for selection, names in steps for filter_name in names]
    bands, preamp_db = [], 0.0
    for selection, filter_name in applied:
        where = f"{name}: filter {filter_name!r}"
        spec = filters.get(filter_name)
        if not isinstance(spec, dict):
            raise PresetError(f"{where}: not defined in 'filters'")
        kind = spec.get("type")
        if kind == "Biquad":
            band = _biquad(filter_name, spec.get("parameters"), where)
            bands.append(band if selection is None else Band(
                band.type, band.freq_hz, q=band.q, gain_db=band.gain_db, bw_oct=band.bw_oct,
                channels=selection))
        elif kind == "Gain":
            if selection is not None:
                raise PresetError(f"{where}: a Gain on channels {list(selection)} only is a "
                                  "per-channel gain, which eq does not have")
            preamp_db += _gain(spec.get("parameters"), where)
        else:
            raise PresetError(f"{where}: filter type {kind!r} is not supported "
                              "(only Biquad and Gain)")
    return tuple(bands), preamp_db


def format_camilladsp(bands, preamp_db=0.0, channels=2):
    """A CamillaDSP configuration (``filters`` and ``pipeline``) of `bands` and `preamp_db`.

    The preamp is a ``Gain`` filter named ``preamp``, the bands ``band_1``, ``band_2``, ...; a
    ``Filter`` step applies them to channels ``0 .. channels-1``, one step per run of bands
    with the same channels (names resolved for `channels` channels, :mod:`eq.channels`, and
    ``devices: capture: channels`` written, the count that the reader resolves against).
    Numbers are written exactly (YAML floats by ``repr``), so :func:`parse_camilladsp` reads
    back the same bands.

    Raises
    ------
    InvalidParameterError
        For a band's channel that a stream of `channels` channels does not have.
    """
    yaml = _yaml()
    filters, names, steps = {}, [], []
    if preamp_db:
        filters["preamp"] = {"type": "Gain", "parameters": {"gain": float(preamp_db), "scale": "dB"}}
        names.append("preamp")
    for i, band in enumerate(bands, 1):
        selected = list(resolve_channels(band.channels, channels))
        if not steps or steps[-1]["channels"] != selected:
            steps.append({"type": "Filter", "channels": selected, "names": []})
        steps[-1]["names"].append(f"band_{i}")
        parameters = {"type": _EXPORT_TYPES[band.type], "freq": band.freq_hz}
        if band.type in GAIN_BAND_TYPES:
            parameters["gain"] = band.gain_db
        if band.bw_oct is not None:
            parameters["bandwidth"] = band.bw_oct
        else:
            parameters["q"] = band.q
        filters[f"band_{i}"] = {"type": "Biquad", "parameters": parameters}
    every = list(range(channels))
    if names:  # the preamp first, on every channel
        if steps and steps[0]["channels"] == every:
            steps[0]["names"][:0] = names
        else:
            steps.insert(0, {"type": "Filter", "channels": every, "names": names})
    if not steps:
        steps.append({"type": "Filter", "channels": every, "names": []})
    config = {"filters": filters, "pipeline": steps}
    if any(band.channels is not None for band in bands):
        # the channel count, so that a band on some channels reads back as such
        config = {"devices": {"capture": {"channels": channels}}, **config}
    return yaml.safe_dump(config, sort_keys=False, default_flow_style=False)

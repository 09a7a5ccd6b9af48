"""Channel selections: which channels of a stream a band acts on.

A band acts on every channel unless it names some. A selection is a tuple of
0-based channel indices and channel names; names are those of ffmpeg's default
layout for the channel count (what a raw stream from ``ffmpeg -ac N`` carries,
in WAVE order), so ``"LFE"`` means channel 3 of a 5.1 stream and is an error in
a stereo one.

==========  ===========================================  ===============
channels    names, by index                              ffmpeg layout
==========  ===========================================  ===============
1           ``C``                                        mono
2           ``L R``                                      stereo
3           ``L R LFE``                                  2.1
4           ``L R C RC``                                 4.0
5           ``L R C RL RR``                              5.0
6           ``L R C LFE RL RR`` (``SL SR`` for 4 and 5)  5.1
7           ``L R C LFE RC SL SR``                       6.1
8           ``L R C LFE RL RR SL SR``                    7.1
==========  ===========================================  ===============

Aliases: ``FL`` = ``L``, ``FR`` = ``R``, ``FC`` = ``C``, ``SUB`` = ``LFE`` (Equalizer APO's
name), ``BL`` = ``RL``, ``BR`` = ``RR``, ``BC`` = ``RC``. Other channel counts take indices only.
"""

import numbers

from .errors import InvalidParameterError, InvalidTypeError

__all__ = ["CHANNEL_LAYOUTS", "FFMPEG_NAMES", "normalize_selection", "resolve_channels",
           "channel_names"]

CHANNEL_LAYOUTS = {
    1: ("C",),
    2: ("L", "R"),
    3: ("L", "R", "LFE"),
    4: ("L", "R", "C", "RC"),
    5: ("L", "R", "C", "RL", "RR"),
    6: ("L", "R", "C", "LFE", "RL", "RR"),
    7: ("L", "R", "C", "LFE", "RC", "SL", "SR"),
    8: ("L", "R", "C", "LFE", "RL", "RR", "SL", "SR"),
}
"""Channel names by index, for the channel counts that have a standard layout (ffmpeg's default)."""

FFMPEG_NAMES = {"L": "FL", "R": "FR", "C": "FC", "LFE": "LFE", "RL": "BL", "RR": "BR",
                "RC": "BC", "SL": "SL", "SR": "SR"}
"""ffmpeg's name of each channel name."""

_ALIASES = {"FL": "L", "FR": "R", "FC": "C", "SUB": "LFE", "BL": "RL", "BR": "RR", "BC": "RC"}
_EXTRA = {6: {"SL": 4, "SR": 5}}  # 5.1 with side instead of back surrounds
_KNOWN_NAMES = frozenset(name for layout in CHANNEL_LAYOUTS.values() for name in layout)


def _selector(item):
    """One selector: a channel index (int >= 0) or a canonical name."""
    if isinstance(item, bool):
        raise InvalidTypeError(f"a channel is an index or a name such as 'L', got {item!r}")
    if isinstance(item, numbers.Integral):
        if item < 0:
            raise InvalidParameterError(f"channel index must be >= 0, got {item!r}")
        return int(item)
    if isinstance(item, str):
        text = item.strip().upper()
        if text.isascii() and text.isdecimal():
            return int(text)
        text = _ALIASES.get(text, text)
        if text not in _KNOWN_NAMES:
            raise InvalidParameterError(
                f"unknown channel {item!r}; expected an index from 0 or one of "
                f"{', '.join(sorted(_KNOWN_NAMES | set(_ALIASES)))}")
        return text
    raise InvalidTypeError(f"a channel is an index or a name such as 'L', got {item!r}")


def normalize_selection(channels):
    """Return a selection in canonical form: None (every channel) or a tuple of selectors.

    Parameters
    ----------
    channels : None, "all", int, str or iterable of int and str
        Indices from 0 and names of :data:`CHANNEL_LAYOUTS` (or their aliases); a
        string may list several, separated by commas, ``+`` or spaces (``"L,R"``).

    Returns
    -------
    None or tuple
        Indices as ints and names in upper case, without repeats, in the given order.

    Examples
    --------
    >>> normalize_selection("l+sub")
    ('L', 'LFE')
    >>> normalize_selection([1, "0"]), normalize_selection("all")
    ((1, 0), None)
    """
    if channels is None:
        return None
    if isinstance(channels, (bytes, bytearray, memoryview)):
        raise InvalidTypeError(
            f"channels must be indices or names such as ['L', 'R'], got {channels!r}")
    if isinstance(channels, str):
        items = [part for part in channels.replace("+", ",").replace(" ", ",").split(",") if part]
        if [item.lower() for item in items] == ["all"]:
            return None
    elif isinstance(channels, numbers.Integral) and not isinstance(channels, bool):
        items = [channels]
    else:
        try:
            items = list(channels)
        except TypeError:
            raise InvalidTypeError(
                f"channels must be indices or names such as ['L', 'R'], got {channels!r}") from None
    if not items:
        raise InvalidParameterError(
            f"a band's channel selection is empty ({channels!r}); leave it out for every channel")
    selection = []
    for item in items:
        selector = _selector(item)
        if selector not in selection:
            selection.append(selector)
    return tuple(selection)


def resolve_channels(selection, count):
    """Indices of the channels that `selection` names in a stream of `count` channels.

    Parameters
    ----------
    selection : None or tuple
        From :func:`normalize_selection`; None is every channel.
    count : int
        Channels in the stream.

    Returns
    -------
    tuple of int
        Sorted.

    Raises
    ------
    InvalidParameterError
        For an index that is not below `count`, or a name that the layout of `count`
        channels does not have.
    """
    if selection is None:
        return tuple(range(count))
    layout = CHANNEL_LAYOUTS.get(count)
    indices = set()
    for selector in selection:
        if isinstance(selector, int):
            if selector >= count:
                raise InvalidParameterError(
                    f"channel {selector} does not exist in a {count}-channel stream "
                    f"(indices 0 to {count - 1})")
            indices.add(selector)
            continue
        if layout is not None and selector in layout:
            indices.add(layout.index(selector))
        elif selector in _EXTRA.get(count, {}):
            indices.add(_EXTRA[count][selector])
        else:
            known = " ".join(layout) if layout else "none: use indices"
            aliases = [alias for alias, name in _ALIASES.items() if name == selector]
            also = f" (or {', '.join(aliases)})" if aliases else ""
            raise InvalidParameterError(
                f"channel {selector!r}{also} does not exist in a {count}-channel stream "
                f"(its names: {known})")
    return tuple(sorted(indices))


def channel_names(count):
    """Names of the channels of a `count`-channel stream: its layout, or ``"0"``, ``"1"``, ..."""
    return CHANNEL_LAYOUTS.get(count, tuple(str(c) for c in range(count)))

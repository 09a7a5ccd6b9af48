"""Live band changes: crossfades between running filters, scheduled by frame index.

A change takes effect at a frame of the stream: from that frame a new filter
(a *voice*, an :class:`~eq._engine.Engine` with the new bands) runs on the same
input beside the old one, and the output crossfades from the old to the new
over the ramp, with the raised-cosine weight of :func:`eq._kernels.ramp_weight`;
then the old voice is dropped. In the new voice, every band kept from the newest
voice keeps its section's state (exact for the bands in front of the first
change, which have seen the same input; close for those after it, whose input
differs only by the change), and a new or changed band starts from rest
(:func:`warm_start`): the new voice joins the signal already running, and no
section is handed the state of a different filter, which would ring.

Why a crossfade of two running filters and not coefficients interpolated in
one filter: every voice is a fixed, stable filter, so the output, a convex
combination of their outputs, stays bounded for any pair of settings (any type,
any Q, any number of bands, up to Nyquist), without a stability argument for a
time-varying filter; and it follows the ideal crossfade between the two static
filters (``benchmarks/clicks.py`` measures how closely, and the click of a
plain coefficient swap for comparison).

Everything depends on frame indices only (where a change starts, how far into
its ramp a frame is), never on how the stream was split, so the output is the
same for any chunking, across changes too.
"""

import math
import numbers

import numpy as np

from .errors import InvalidParameterError, InvalidTypeError

MAX_VOICES = 4
"""Filters running at once: at most three crossfades overlap. A change due while
that many run waits for the oldest crossfade to finish (see :meth:`Transitions.run`)."""

MAX_RAMP_MS = 60_000.0
"""Longest crossfade accepted, in milliseconds."""

DEFAULT_RAMP_MS = 20.0
"""Crossfade length of a change that gives none, in milliseconds."""


def ramp_frames(ramp_ms, sample_rate):
    """Frames of a crossfade of `ramp_ms` milliseconds at `sample_rate`, or raise naming it."""
    if isinstance(ramp_ms, bool) or not isinstance(ramp_ms, numbers.Real):
        raise InvalidTypeError(f"ramp_ms must be a number of milliseconds, got {ramp_ms!r}")
    if not (math.isfinite(ramp_ms) and 0.0 <= ramp_ms <= MAX_RAMP_MS):
        raise InvalidParameterError(
            f"ramp_ms must be between 0 and {MAX_RAMP_MS:g} ms, got {ramp_ms!r}")
    return int(round(float(ramp_ms) * sample_rate / 1000.0))


def _kept(old_rows, new_rows):
    """Pairs ``(old index, new index)`` of the sections a change keeps.

    The common prefix first (those sections have seen the same input: their state is exact),
    then the common suffix, then the longest common subsequence of what is between; a
    section is kept when its coefficients are equal.
    """
    prefix = 0
    while (prefix < min(len(old_rows), len(new_rows))
           and old_rows[prefix] == new_rows[prefix]):
        prefix += 1
    suffix = 0
    while (suffix < min(len(old_rows), len(new_rows)) - prefix
           and old_rows[-1 - suffix] == new_rows[-1 - suffix]):
        suffix += 1
    a = old_rows[prefix:len(old_rows) - suffix]
    b = new_rows[prefix:len(new_rows) - suffix]
    # longest common subsequence of the middles, by dynamic programming (a few sections)
    length = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i in range(len(a) - 1, -1, -1):
        for j in range(len(b) - 1, -1, -1):
            length[i][j] = (length[i + 1][j + 1] + 1 if a[i] == b[j]
                            else max(length[i + 1][j], length[i][j + 1]))
    pairs = [(k, k) for k in range(prefix)]
    i = j = 0
    while i < len(a) and j < len(b):
        if a[i] == b[j]:
            pairs.append((prefix + i, prefix + j))
            i, j = i + 1, j + 1
        elif length[i + 1][j] >= length[i][j + 1]:
            i += 1
        else:
            j += 1
    pairs += [(len(old_rows) - 1 - k, len(new_rows) - 1 - k) for k in range(suffix)]
    return pairs


def warm_start(new, old):
    """Give `new` (state zero) the state of the sections of `old` that it keeps, per channel.

    Sections are matched by their coefficients (:func:`_kept`: the common prefix, the common
    suffix, and the longest common subsequence between them): a band kept is the same
    section, so its state carries over, exactly for the bands in front of the first change
    (same input) and closely for those after it (an input that differs only by the change).
    A section without a match (a new or changed band) starts from rest: the state of another
    filter would make it ring at its own frequencies, which the crossfade does not hide.
    """
    for channel in range(new.channels):
        new_rows = [tuple(row) for row in new.channel_sos(channel)]
        old_rows = [tuple(row) for row in old.channel_sos(channel)]
        for i_old, i_new in _kept(old_rows, new_rows):
            new.zi[i_new, channel] = old.zi[i_old, channel]


class Transitions:
    """The voices of one stream and the changes waiting for their frame.

    Parameters
    ----------
    engine : Engine
        The running filter; its frame count is the stream's position.

    Attributes
    ----------
    voices : list of Engine
        Voice 0 is the oldest still heard; the last is the newest (the bands that the
        output is becoming).
    """

    def __init__(self, engine):
        self.voices = [engine]
        self._starts = [0]
        self._ramps = [0]
        self._queue = []  # (at_frame, order, engine, ramp_frames), sorted
        self._order = 0

    @property
    def newest(self):
        """The newest voice: the filter that the output is becoming."""
        return self.voices[-1]

    @property
    def position(self):
        """Stream index of the next frame."""
        return self.voices[0].frames

    @property
    def idle(self):
        """True when one filter runs and no change waits."""
        return len(self.voices) == 1 and not self._queue

    @property
    def target(self):
        """The engine of the last change scheduled (or the newest voice): what later
        changes are relative to."""
        return self._queue[-1][2] if self._queue else self.newest

    @property
    def pending(self):
        """The changes waiting for their frame: a list of ``(at_frame, engine)``."""
        return [(at, engine) for at, _, engine, _ in self._queue]

    @property
    def clipped_samples(self):
        return sum(v.clipped_samples for v in self.voices)

    def schedule(self, engine, at_frame, ramp):
        """Queue a change to `engine` (a new voice, state zero) at `at_frame`, crossfading over
        `ramp` frames. Return the frame. Changes due on the same frame: the last one
        scheduled wins, the others are never heard."""
        position = self.position
        if at_frame is None:
            at_frame = position
        elif isinstance(at_frame, bool) or not isinstance(at_frame, numbers.Integral):
            raise InvalidTypeError(f"at_frame must be a frame index or None, got {at_frame!r}")
        elif at_frame < position:
            raise InvalidParameterError(
                f"at_frame {at_frame!r} has passed: the next frame of the stream is {position}")
        engine.dither_seed = self.voices[0].dither_seed
        self._queue.append((int(at_frame), self._order, engine, ramp))
        self._order += 1
        self._queue.sort(key=lambda item: (item[0], item[1]))
        return int(at_frame)

    def _drop_finished(self, position):
        """Drop the voices that a crossfade finished by `position` has replaced."""
        done = [k for k in range(1, len(self.voices)) if self._starts[k] + self._ramps[k] <= position]
        if done:
            k = done[-1]
            carried = sum(v.clipped_samples for v in self.voices[:k])
            self.voices[k].clipped_samples = carried + self.voices[k].clipped_samples
            del self.voices[:k], self._starts[:k], self._ramps[:k]

    def _start_due(self, position):
        """Drop finished crossfades, then start the change due at `position` (room permitting):
        the same at a frame whatever calls the stream came in."""
        self._drop_finished(position)
        due = [item for item in self._queue if item[0] <= position]
        if due and len(self.voices) < MAX_VOICES:
            self._queue = [item for item in self._queue if item[0] > position]
            _, _, engine, ramp = due[-1]
            warm_start(engine, self.newest)
            engine.frames = position
            engine.clipped_samples = 0
            self.voices.append(engine)
            self._starts.append(position)
            self._ramps.append(ramp)
            self._drop_finished(position)  # a ramp of 0 frames is over as it starts

    def _next_event(self, position):
        """Frames from `position` to the next change start or crossfade end (or None)."""
        # A due change that waits for room starts when a crossfade ends: those ends are events.
        events = [at for at, _, _, _ in self._queue if at > position]
        events += [s + r for s, r in zip(self._starts[1:], self._ramps[1:]) if s + r > position]
        return min(events) - position if events else None

    def run(self, src_address, n_frames, dst_address):
        """Equalize `n_frames` whole frames from `src_address` into `dst_address`, starting the
        changes on their frames and mixing the voices in between."""
        done = 0
        while True:
            position = self.position
            self._start_due(position)
            if done == n_frames:
                return
            step = n_frames - done
            gap = self._next_event(position)
            if gap is not None:
                step = min(step, gap)
            voices = self.voices
            if len(voices) == 1:
                voice = voices[0]
                voice.frames_kernel()(src_address, step, voice.address, dst_address, voice.wide,
                                      voice.own)
            else:
                first = voices[0]
                own = True if any(v.own for v in voices) else None
                first.mix_kernel(own)(src_address, step,
                                   np.array([v.address for v in voices], dtype=np.int64),
                                   np.array(self._starts, dtype=np.int64),
                                   np.array(self._ramps, dtype=np.int64),
                                   dst_address, first.wide, own)
            offset = step * voices[0].frame_bytes
            src_address += offset
            dst_address += offset
            done += step

    def settle(self):
        """Drop every voice but the target, with its state zero: for a reset."""
        engine = self.target
        engine.reset()
        engine.dither_seed = self.voices[0].dither_seed
        self.voices, self._starts, self._ramps, self._queue = [engine], [0], [0], []


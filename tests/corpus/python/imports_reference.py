"""Hostile (disallowed_import): imports the reference package `eq` and delegates
to eq.StreamingEqualizer. It would pass if the reference were importable.
"""
import eq


class StreamingEqualizer:
    def __init__(self, sample_rate, channels, sample_format, bands):
        self._inner = eq.StreamingEqualizer(sample_rate, channels, sample_format, bands)

    def process(self, data):
        return self._inner.process(data)

    def flush(self):
        self._inner.reset()
        return b""

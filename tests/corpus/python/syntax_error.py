"""Bug (compile_error): a missing colon after the class statement; the file does
not compile, so nothing can be imported.
"""
import numpy as np


class StreamingEqualizer
    def __init__(self, sample_rate, channels, sample_format, bands):
        self._frame_bytes = channels * 2

    def process(self, data):
        return bytes(data)

    def flush(self):
        return np.zeros(0, np.uint8).tobytes()

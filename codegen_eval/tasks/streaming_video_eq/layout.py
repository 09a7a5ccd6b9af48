"""Where a byte of a raw planar video stream lies: frame, plane, row and column."""
from __future__ import annotations

from dataclasses import dataclass

#: log2 of the chroma subsampling (width, height) and the number of planes of each pixel format.
PIX_FMTS = {"gray": (0, 0, 1), "yuv420p": (1, 1, 3), "yuv422p": (1, 0, 3), "yuv444p": (0, 0, 3),
            "yuva420p": (1, 1, 4), "yuva444p": (0, 0, 4)}
PLANE_NAMES = ("Y", "U", "V", "A")


@dataclass(frozen=True)
class Layout:
    """The planes of one frame, one after another, rows packed (FFmpeg's ``rawvideo``).

    Attributes
    ----------
    width, height : int
    pix_fmt : str
    plane_sizes : tuple of (int, int)
        Width and height of each plane; chroma rounded up (``AV_CEIL_RSHIFT``).
    """

    width: int
    height: int
    pix_fmt: str
    plane_sizes: tuple

    @property
    def plane_bytes(self) -> tuple:
        return tuple(w * h for w, h in self.plane_sizes)

    @property
    def plane_starts(self) -> tuple:
        """Offset of each plane in the frame, and the frame's size last."""
        starts = [0]
        for n in self.plane_bytes:
            starts.append(starts[-1] + n)
        return tuple(starts)

    @property
    def frame_bytes(self) -> int:
        return sum(self.plane_bytes)

    def plane_of(self, offset: int) -> int:
        """The plane (0-based) of byte `offset` of a frame."""
        starts = self.plane_starts
        return next(p for p in range(len(self.plane_sizes)) if offset < starts[p + 1])

    def locate(self, byte: int) -> dict:
        """``video_frame``, ``plane`` (``Y``, ``U``, ``V`` or ``A``), ``row`` and ``column`` of byte
        `byte` of the stream (all from 0)."""
        frame, offset = divmod(byte, self.frame_bytes)
        plane = self.plane_of(offset)
        row, column = divmod(offset - self.plane_starts[plane], self.plane_sizes[plane][0])
        return {"video_frame": frame, "plane": PLANE_NAMES[plane], "row": row, "column": column}


def layout(width: int, height: int, pix_fmt: str) -> Layout:
    """The layout of `pix_fmt` frames of `width` x `height` pixels."""
    log2_w, log2_h, planes = PIX_FMTS[pix_fmt]
    cw, ch = -(-width >> log2_w), -(-height >> log2_h)
    sizes = [(width, height)] + [(cw, ch)] * min(2, planes - 1) + [(width, height)] * (planes == 4)
    return Layout(width, height, pix_fmt, tuple(sizes))

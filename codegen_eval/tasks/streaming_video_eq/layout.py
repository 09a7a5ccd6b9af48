"""Where a byte of a raw planar video stream lies: frame, plane, row and column."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from eq.video import PIX_FMTS  # log2 of the chroma subsampling (width, height) and the planes

PLANE_NAMES = ("Y", "U", "V", "A")


@dataclass(frozen=True)
class Layout:
    """The planes of one frame, one after another, rows packed (FFmpeg's ``rawvideo``).

    Attributes
    ----------
    width, height : int
    pix_fmt : str
    plane_sizes : tuple of (int, int)
        Width and height of each plane.
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

    def planes_of(self, bytes_: np.ndarray) -> np.ndarray:
        """The plane (0-based) of each byte of the stream in `bytes_` (empty planes skipped)."""
        offsets = np.asarray(bytes_) % self.frame_bytes
        return np.searchsorted(np.asarray(self.plane_starts[1:]), offsets, side="right")

    def plane_of(self, offset: int) -> int:
        """The plane (0-based) of byte `offset` of a frame."""
        return int(self.planes_of(np.array([offset]))[0])

    def locate(self, byte: int) -> dict:
        """``video_frame``, ``plane`` (``Y``, ``U``, ``V`` or ``A``), ``row`` and ``column`` of byte
        `byte` of the stream (all from 0)."""
        frame, offset = divmod(byte, self.frame_bytes)
        plane = self.plane_of(offset)
        row, column = divmod(offset - self.plane_starts[plane], self.plane_sizes[plane][0])
        return {"video_frame": frame, "plane": PLANE_NAMES[plane], "row": row, "column": column}


def layout(width: int, height: int, pix_fmt: str, chroma_rounded_down: bool = False) -> Layout:
    """The layout of `pix_fmt` frames of `width` x `height` pixels: chroma planes rounded up
    (``AV_CEIL_RSHIFT``), as FFmpeg does, or down (the layout of a known bug)."""
    log2_w, log2_h, planes = PIX_FMTS[pix_fmt]
    if chroma_rounded_down:
        cw, ch = width >> log2_w, height >> log2_h
    else:
        cw, ch = -(-width >> log2_w), -(-height >> log2_h)
    sizes = [(width, height)] + [(cw, ch)] * min(2, planes - 1) + [(width, height)] * (planes == 4)
    return Layout(width, height, pix_fmt, tuple(sizes))

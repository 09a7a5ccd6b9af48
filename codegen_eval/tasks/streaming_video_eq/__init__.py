"""The video task: FFmpeg's ``eq`` filter on raw planar 8-bit frames that arrive byte by byte."""

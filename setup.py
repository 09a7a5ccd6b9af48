"""Build the one C extension, ``eq._chunks``; everything else is in pyproject.toml.

The extension is optional: without a C compiler the package installs
without it and :class:`eq.StreamingEqualizer` runs the same kernel from
Python, with more overhead per call (see ``eq/_chunks.c``).
"""

from setuptools import Extension, setup

setup(ext_modules=[Extension("eq._chunks", ["eq/_chunks.c"], optional=True)])

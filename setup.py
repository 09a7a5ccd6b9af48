"""Build the C extensions, ``eq._chunks`` and ``eq._video``; everything else is in pyproject.toml.

Both are optional: without a C compiler the package installs without them;
:class:`eq.StreamingEqualizer` then runs the same kernel from Python, with more
overhead per call (see ``eq/_chunks.c``), and
:class:`eq.video.StreamingVideoEqualizer` its numba loop (see ``eq/_video.c``).
"""

from setuptools import Extension, setup

setup(ext_modules=[Extension("eq._chunks", ["eq/_chunks.c"], optional=True),
                   Extension("eq._video", ["eq/_video.c"], optional=True)])

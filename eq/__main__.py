"""``python -m eq``: the same as the ``eq`` command."""

import sys

from .cli import main

sys.exit(main())

"""``python -m numerics.cli``: the ``advlandscape`` command."""

import sys

from numerics.cli import main

sys.exit(main())

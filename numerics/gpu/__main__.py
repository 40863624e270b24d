"""``python -m numerics.gpu [--smoke] [--out DIR] [--stages 1,2,...] [--data DIR]``: the same as
``advlandscape gpu`` (``python -m numerics.gpu pack --out DIR`` packs the data)."""

import sys

from numerics.cli import main

sys.exit(main(["gpu", *sys.argv[1:]]))

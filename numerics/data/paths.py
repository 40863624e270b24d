"""Where the data layer looks for files: explicit argument > $ADVLANDSCAPE_DATA > user cache."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["ENV_VAR", "data_dir"]

ENV_VAR = "ADVLANDSCAPE_DATA"


def data_dir(explicit: str | os.PathLike[str] | None = None) -> Path:
    """Return the data root: ``explicit`` if given, else ``$ADVLANDSCAPE_DATA``, else a cache dir.

    The cache directory is ``$XDG_CACHE_HOME/advlandscape/data`` (``~/.cache/...`` by default).
    Data sets live in sub-folders named after them (``mnist/``, ``cifar10/``, ``svhn/``).
    """
    if explicit is not None:
        return Path(explicit).expanduser()
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(cache) / "advlandscape" / "data"

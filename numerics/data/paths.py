"""Where the data layer looks for files, and whether and from where it may download them.

Data root: an explicit argument > ``$ADVLANDSCAPE_DATA`` > the user cache. Downloads on first
use are on unless ``$ADVLANDSCAPE_OFFLINE`` is set (:func:`offline`); ``$ADVLANDSCAPE_DATA_MIRROR``
replaces the official download servers (:func:`mirror_urls`).
"""

from __future__ import annotations

import os
from pathlib import Path

from theory.errors import DataError

__all__ = ["ENV_VAR", "MIRROR_ENV", "OFFLINE_ENV", "data_dir", "mirror_urls", "offline"]

ENV_VAR = "ADVLANDSCAPE_DATA"
OFFLINE_ENV = "ADVLANDSCAPE_OFFLINE"
MIRROR_ENV = "ADVLANDSCAPE_DATA_MIRROR"

_TRUE = ("1", "true", "yes", "on")
_FALSE = ("", "0", "false", "no", "off")


def data_dir(explicit: str | os.PathLike[str] | None = None) -> Path:
    """Return the data root: ``explicit`` if given, else ``$ADVLANDSCAPE_DATA``, else a cache dir.

    The cache directory is ``$XDG_CACHE_HOME/advlandscape/data`` (``~/.cache/...`` by default).
    Data sets live in sub-folders named after them (``mnist/``, ``cifar10/``, ``svhn/``). A data
    root that exists but is not a folder (a file) raises :class:`DataError` saying where it came
    from; one that does not exist yet is returned (downloads create it).
    """
    if explicit is not None:
        root, origin = Path(explicit).expanduser(), "the data root given (--data-dir or root=)"
    elif os.environ.get(ENV_VAR):
        root, origin = Path(os.environ[ENV_VAR]).expanduser(), f"${ENV_VAR}"
    else:
        cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        root, origin = Path(cache) / "advlandscape" / "data", "the default data root"
    if root.exists() and not root.is_dir():
        raise DataError(
            f"{origin} is {root}, which is a file, not a folder: point it at the folder that "
            "holds (or will hold) mnist/, cifar10/ and svhn/"
        )
    return root


def offline() -> bool:
    """Whether ``$ADVLANDSCAPE_OFFLINE`` turns off downloads on first use (``1``/``true``/``yes``;
    ``0``/``false``/``no`` or unset: downloads on). Anything else raises :class:`DataError`."""
    value = os.environ.get(OFFLINE_ENV, "").strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise DataError(f"${OFFLINE_ENV} is {value!r}: set it to 1 (no downloads) or 0, or unset it")


def mirror_urls(url: str) -> tuple[str, ...]:
    """The URLs to fetch ``url``'s file from: ``url`` itself, or, where
    ``$ADVLANDSCAPE_DATA_MIRROR`` is set (one base URL, or several separated by spaces or commas),
    each base followed by the file's official name (the last part of ``url``), in that order,
    instead of ``url``."""
    bases = os.environ.get(MIRROR_ENV, "").replace(",", " ").split()
    if not bases:
        return (url,)
    name = url.rstrip("/").rsplit("/", 1)[-1]
    return tuple(base.rstrip("/") + "/" + name for base in bases)

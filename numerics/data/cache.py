"""A derived on-disk cache of decoded arrays, so that a new process loads them fast.

Decoding CIFAR-10 from compressed ``.npz`` parts or from the tar.gz takes seconds; the decoded
uint8 arrays are stored once as plain ``.npy`` files and memory-mapped read-only afterwards. The
cache key hashes the source files' names, sizes and modification times with the loader's
arguments, so a changed source file is decoded again. Folder: ``$ADVLANDSCAPE_CACHE``, else
``$XDG_CACHE_HOME/advlandscape/derived`` (``~/.cache/...``). Safe to delete at any time.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

logger = logging.getLogger(__name__)

CACHE_ENV = "ADVLANDSCAPE_CACHE"


def derived_cache_dir() -> Path:
    """The folder of derived array files (see the module docstring)."""
    env = os.environ.get(CACHE_ENV)
    if env:
        return Path(env).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(cache) / "advlandscape" / "derived"


def cache_key(sources: Sequence[Path], *args: object) -> str:
    """Hash of the sources' (absolute path, size, mtime_ns) and ``args``: 20 hex characters."""
    stats = []
    for path in sources:
        st = path.stat()
        stats.append([str(path.resolve()), st.st_size, st.st_mtime_ns])
    blob = json.dumps([stats, [repr(a) for a in args]]).encode()
    return hashlib.sha256(blob).hexdigest()[:20]


def load_or_build(
    key: str, names: Sequence[str], build: Callable[[], dict[str, np.ndarray]]
) -> dict[str, np.ndarray]:
    """Return the arrays ``names`` stored under ``key``, or build, store and return them.

    Stored arrays come back memory-mapped and read-only. Files are written to a temporary name
    and renamed (atomic); an unreadable cache entry is rebuilt; an unwritable cache folder only
    costs speed (a debug log line), never an error.
    """
    folder = derived_cache_dir()
    paths = {n: folder / f"{key}.{n}.npy" for n in names}
    if all(p.is_file() for p in paths.values()):
        try:
            return {n: np.asarray(np.load(p, mmap_mode="r", allow_pickle=False))
                    for n, p in paths.items()}
        except (OSError, ValueError) as exc:
            logger.debug("derived cache entry %s unreadable (%s): rebuilding", key, exc)
    arrays = build()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for n, p in paths.items():
            fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{p.name}.", suffix=".tmp")
            try:
                with os.fdopen(fd, "wb") as fh:
                    np.save(fh, arrays[n], allow_pickle=False)
                os.replace(tmp, p)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
    except OSError as exc:
        logger.debug("derived cache folder %s not writable (%s): not caching", folder, exc)
    return arrays

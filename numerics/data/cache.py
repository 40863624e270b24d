"""A derived on-disk cache of decoded arrays, so that a new process loads them fast.

Decoding CIFAR-10 from compressed ``.npz`` parts or from the tar.gz takes seconds; the decoded
uint8 arrays are stored once as plain ``.npy`` files and memory-mapped read-only afterwards. The
cache key hashes the source files' names, sizes and modification times with the loader's
arguments, so a changed source file is decoded again. Beside each entry's arrays,
``<key>.sha256.json`` holds the sha256 of every ``.npy`` file, written last; a load checks the
files against it, and an entry whose files differ (a flipped byte), or that lacks the digest
file, is rebuilt from the sources (with a warning), never returned. Folder:
``$ADVLANDSCAPE_CACHE``, else ``$XDG_CACHE_HOME/advlandscape/derived`` (``~/.cache/...``). Safe
to delete at any time.
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

__all__ = ["CACHE_ENV", "cache_key", "derived_cache_dir", "digest_path", "load_or_build"]

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


def _file_sha256(path: Path) -> str:
    """sha256 (hex) of a file's bytes, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def digest_path(key: str, folder: Path | None = None) -> Path:
    """The digest file of the cache entry ``key``: ``<folder>/<key>.sha256.json``."""
    return (folder or derived_cache_dir()) / f"{key}.sha256.json"


def _stored_digests(key: str, folder: Path, paths: dict[str, Path]) -> str | None:
    """Why the entry ``key`` cannot be trusted (``None``: every file matches its digest)."""
    try:
        stored = json.loads(digest_path(key, folder).read_text())
    except FileNotFoundError:
        return "it has no digest file"
    except (OSError, ValueError) as exc:
        return f"its digest file is unreadable ({exc})"
    if not isinstance(stored, dict):
        return "its digest file holds no digests"
    for name, path in paths.items():
        if stored.get(name) != _file_sha256(path):
            return f"{path.name} differs from its stored sha256"
    return None


def _write_atomic(folder: Path, path: Path, write: Callable[[object], None]) -> None:
    """Write ``path`` through a temporary file in ``folder`` and a rename."""
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load_or_build(
    key: str, names: Sequence[str], build: Callable[[], dict[str, np.ndarray]]
) -> dict[str, np.ndarray]:
    """Return the arrays ``names`` stored under ``key``, or build, store and return them.

    Stored arrays come back memory-mapped and read-only, after each file is checked against the
    sha256 stored beside the entry (:func:`digest_path`): one pass over the bytes, far cheaper
    than decoding. An entry that differs, lacks its digests or cannot be read is rebuilt and
    stored again (a warning names the file). Files are written to a temporary name and renamed
    (atomic), the digest file last; an unwritable cache folder only costs speed (a debug log
    line), never an error.
    """
    folder = derived_cache_dir()
    paths = {n: folder / f"{key}.{n}.npy" for n in names}
    if all(p.is_file() for p in paths.values()):
        try:
            problem = _stored_digests(key, folder, paths)
            if problem is None:
                return {n: np.asarray(np.load(p, mmap_mode="r", allow_pickle=False))
                        for n, p in paths.items()}
            logger.warning("derived cache entry %s in %s is not used: %s; rebuilding it from "
                           "the source files", key, folder, problem)
        except (OSError, ValueError) as exc:
            logger.warning("derived cache entry %s unreadable (%s): rebuilding", key, exc)
    arrays = build()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        digest_path(key, folder).unlink(missing_ok=True)  # no digests while files change
        for n, p in paths.items():
            _write_atomic(folder, p, lambda fh, a=arrays[n]: np.save(fh, a, allow_pickle=False))
        digests = {n: _file_sha256(p) for n, p in paths.items()}
        _write_atomic(folder, digest_path(key, folder),
                      lambda fh: fh.write(json.dumps(digests, indent=1).encode()))
    except OSError as exc:
        logger.debug("derived cache folder %s not writable (%s): not caching", folder, exc)
    return arrays

"""Result files: atomic writing and checked reading of JSON records.

A results record is a JSON object ``{"config": ..., "results": ..., "provenance": ...}``. Files are
written atomically (temporary file in the same directory, fsync, rename), so a reader never sees a
half-written file, and an existing file is never overwritten unless asked for; a failed write
(disk full) is one :class:`theory.errors.ResultWriteError` and leaves the old file as it was.
Reading a missing, damaged or foreign file is one :class:`theory.errors.ResultFileError` that
says what to do.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from numerics.records.provenance import provenance
from theory.errors import ResultExistsError, ResultFileError, ResultWriteError

__all__ = [
    "atomic_write_bytes",
    "read_json",
    "read_result",
    "write_json",
    "write_result",
]


def _jsonable(obj: Any) -> Any:
    """Convert numpy/torch scalars and arrays, paths and dataclasses to plain JSON values."""
    import dataclasses

    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return _jsonable(dataclasses.asdict(obj))
    if isinstance(obj, Mapping):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, Path):
        return str(obj)
    if hasattr(obj, "tolist"):  # numpy and torch arrays and scalars
        return _jsonable(obj.tolist())
    if isinstance(obj, float) and not math.isfinite(obj):
        return str(obj)  # JSON has no NaN/Inf; keep them visible as strings
    return obj


def _umask() -> int:
    """The process's umask (read by setting it, and set back at once)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes, overwrite: bool = False) -> Path:
    """Write ``data`` to ``path`` atomically; refuse to replace an existing file unless asked."""
    path = Path(path)
    if path.exists() and not overwrite:
        raise ResultExistsError(
            f"{path} exists already; pass overwrite=True (CLI: --overwrite) or choose another "
            "output path"
        )
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise _write_error(path, exc) from exc
    try:
        os.fchmod(fd, 0o666 & ~_umask())  # mkstemp makes it private; a result is to be shared
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            raise _write_error(path, exc) from exc
        raise
    with contextlib.suppress(OSError):  # make the rename itself durable
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    return path


def _write_error(path: Path, exc: OSError) -> ResultWriteError:
    """The one-line error of a failed write (disk full, file too large, no permission, ...)."""
    error = ResultWriteError(
        f"cannot write {path}: {exc.strerror or exc}; the file it would replace, if any, is "
        "unchanged and no temporary file is left: free space (or fix the folder) and run the "
        "same command again, which resumes from the last checkpoint")
    error.errno = exc.errno
    return error


def write_json(path: str | os.PathLike[str], obj: Any, overwrite: bool = False) -> Path:
    """Write ``obj`` as indented JSON, atomically."""
    text = json.dumps(_jsonable(obj), indent=2, sort_keys=False) + "\n"
    return atomic_write_bytes(path, text.encode(), overwrite=overwrite)


def write_result(
    path: str | os.PathLike[str],
    config: Any,
    results: Any,
    seed: int | None = None,
    device: str | None = None,
    overwrite: bool = False,
    **provenance_extra: Any,
) -> Path:
    """Write a results record ``{config, results, provenance}`` atomically to ``path``."""
    record = {
        "config": config,
        "results": results,
        "provenance": provenance(seed=seed, device=device, **provenance_extra),
    }
    return write_json(path, record, overwrite=overwrite)


def read_json(path: str | os.PathLike[str]) -> Any:
    """Read a JSON file, with a clear error when it is missing or not valid JSON."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ResultFileError(
            f"result file {path} does not exist: run the experiment first"
        ) from None
    except IsADirectoryError:
        raise ResultFileError(f"result file {path} is a folder, not a file: pass the path of "
                              "its .json record") from None
    except UnicodeDecodeError as exc:
        raise ResultFileError(
            f"result file {path} is not text (byte {exc.start} is not UTF-8): it is damaged or "
            "not a record; re-create it by running the experiment again with --overwrite"
        ) from None
    except OSError as exc:
        raise ResultFileError(
            f"result file {path} cannot be read ({exc.strerror or exc}): fix its permissions "
            "or the disk, or re-create it by running the experiment again with --overwrite"
        ) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ResultFileError(
            f"result file {path} is not valid JSON (line {exc.lineno}, column {exc.colno}: "
            f"{exc.msg}); re-create it by running the experiment again with --overwrite"
        ) from None


def read_result(path: str | os.PathLike[str]) -> dict:
    """Read a results record and check it has ``config``, ``results`` and ``provenance``."""
    record = read_json(path)
    missing = [k for k in ("config", "results", "provenance") if not isinstance(record, dict)
               or k not in record]
    if missing:
        raise ResultFileError(
            f"result file {path} lacks {missing}: it was not written by advlandscape or was "
            "edited by hand; re-create it with --overwrite"
        )
    return record

"""Result files: atomic writing and checked reading of JSON records.

A results record is a JSON object ``{"config": ..., "results": ..., "provenance": ...,
"digest": "sha256:<hex>"}``. Files are written atomically (temporary file in the same directory,
fsync, rename), so a reader never sees a half-written file, and an existing file is never
overwritten unless asked for; a failed write (disk full) is one
:class:`theory.errors.ResultWriteError` and leaves the old file as it was. Reading a missing,
damaged or foreign file is one :class:`theory.errors.ResultFileError` that says what to do.

The digest (:func:`record_digest`) is the SHA-256 of the canonical JSON of ``{"config",
"results", "provenance"}`` as stored in the file: ``json.dumps(..., sort_keys=True,
separators=(",", ":"), allow_nan=False)`` (ASCII, so its UTF-8 bytes are unambiguous).
:func:`read_result` recomputes it and refuses a record whose content does not match
(:class:`theory.errors.RecordEditedError`: one number changed by hand is caught, never judged)
or that carries none (written before records had one: ``python -m numerics.records.digest FILE``
stamps such a record as it is, :mod:`numerics.records.digest`).

JSON has no NaN or infinity, and the writer never emits the bare ``NaN``/``Infinity`` tokens
Python's ``json`` would (``allow_nan=False``): a non-finite float is written as the object
``{"__float__": "NaN"}`` (or ``"Infinity"``, ``"-Infinity"``), and :func:`read_result` and
:func:`read_json` turn it back into the float, so readers see the values that were written. A
mapping that would itself look like that wrapper is refused when writing. A file holding a bare
``NaN`` token (not written by advlandscape) is refused when reading.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from numerics.records.provenance import provenance
from theory.errors import (
    RecordEditedError,
    ResultExistsError,
    ResultFileError,
    ResultWriteError,
)

__all__ = [
    "NON_FINITE_KEY",
    "RECORD_KEYS",
    "atomic_write_bytes",
    "convert_record",
    "read_json",
    "read_result",
    "record_digest",
    "write_json",
    "write_result",
]

#: The parts of a results record its digest covers, in the order they are written.
RECORD_KEYS = ("config", "results", "provenance")
#: The key of the object a non-finite float is written as: ``{"__float__": "NaN"}``.
NON_FINITE_KEY = "__float__"
_NON_FINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}
#: How to stamp a record written before records carried a digest.
STAMP_COMMAND = "python -m numerics.records.digest"


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
    if isinstance(obj, float):
        return float(obj)  # NaN and infinities stay floats; _encode writes them readably
    return obj


def _encode(obj: Any, where: str = "record") -> Any:
    """``obj`` (plain JSON values, :func:`_jsonable`) with each non-finite float replaced by
    ``{"__float__": "NaN" | "Infinity" | "-Infinity"}``.

    Raises:
        ValueError: a mapping in ``obj`` would read back as such a float (its only key is
            ``"__float__"``), named by its place.
    """
    if isinstance(obj, float) and not math.isfinite(obj):
        return {NON_FINITE_KEY: "NaN" if obj != obj else ("Infinity" if obj > 0 else "-Infinity")}
    if isinstance(obj, dict):
        if list(obj) == [NON_FINITE_KEY]:
            raise ValueError(f"{where} is a mapping whose only key is {NON_FINITE_KEY!r}, which "
                             "a record uses for NaN and infinities: rename the key")
        return {k: _encode(v, f"{where}[{k!r}]") for k, v in obj.items()}
    if isinstance(obj, list):
        return [_encode(v, f"{where}[{i}]") for i, v in enumerate(obj)]
    return obj


def _decode(obj: Any) -> Any:
    """The inverse of :func:`_encode`: each ``{"__float__": ...}`` becomes its float."""
    if isinstance(obj, dict):
        if list(obj) == [NON_FINITE_KEY] and obj[NON_FINITE_KEY] in _NON_FINITE:
            return _NON_FINITE[obj[NON_FINITE_KEY]]
        return {k: _decode(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_decode(v) for v in obj]
    return obj


def record_digest(record: Mapping[str, Any]) -> str:
    """``"sha256:<hex>"`` of the canonical JSON of the record's config, results and provenance,
    as stored (non-finite floats encoded, :func:`_encode`); see the module docstring.

    Raises:
        ValueError: the record holds a bare non-finite float (it was not encoded).
    """
    text = json.dumps({k: record[k] for k in RECORD_KEYS}, sort_keys=True,
                      separators=(",", ":"), allow_nan=False)
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def _dumps(obj: Any) -> str:
    """The text of a record file: indented JSON, keys in their order, no bare NaN/Infinity."""
    return json.dumps(obj, indent=2, sort_keys=False, allow_nan=False) + "\n"


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
    """Write ``obj`` as indented JSON, atomically; non-finite floats as ``{"__float__": ...}``
    (:func:`read_json` reads them back as floats). No digest: records go through
    :func:`write_result`."""
    return atomic_write_bytes(path, _dumps(_encode(_jsonable(obj))).encode(),
                              overwrite=overwrite)


def write_result(
    path: str | os.PathLike[str],
    config: Any,
    results: Any,
    seed: int | None = None,
    device: str | None = None,
    overwrite: bool = False,
    **provenance_extra: Any,
) -> Path:
    """Write a results record ``{config, results, provenance, digest}`` atomically to ``path``.

    ``digest`` is :func:`record_digest` of the three parts as written; :func:`read_result`
    refuses the file if they change afterwards.
    """
    record = _encode(_jsonable({
        "config": config,
        "results": results,
        "provenance": provenance(seed=seed, device=device, **provenance_extra),
    }))
    record["digest"] = record_digest(record)
    return atomic_write_bytes(path, _dumps(record).encode(), overwrite=overwrite)


def convert_record(path: str | os.PathLike[str], change: Callable[[dict[str, Any]], None],
                   note: str) -> Path:
    """Convert a record's layout in place: ``change`` edits the stored record (its ``config``,
    ``results`` as written), ``provenance["converted"]`` gains ``note`` (what changed, by which
    code), and the digest is computed anew; the file is rewritten atomically.

    The record must read as it was written (:func:`read_result`'s digest check) before it is
    converted: an edited record is refused, never blessed.
    """
    path = Path(path)
    read_result(path)  # refuses an edited or damaged record
    record = _load(path)
    change(record)
    record["provenance"].setdefault("converted", []).append(note)
    record["digest"] = record_digest(record)
    return atomic_write_bytes(path, _dumps(record).encode(), overwrite=True)


class _BareConstantError(ValueError):
    """A bare ``NaN``/``Infinity``/``-Infinity`` token met while parsing."""


def _load(path: Path) -> Any:
    """The JSON of ``path`` as stored (non-finite floats still encoded); a clear
    :class:`ResultFileError` when it is missing, unreadable, not JSON or holds a bare NaN."""
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

    def bare(token: str) -> Any:
        raise _BareConstantError(token)

    try:
        return json.loads(text, parse_constant=bare)
    except json.JSONDecodeError as exc:
        raise ResultFileError(
            f"result file {path} is not valid JSON (line {exc.lineno}, column {exc.colno}: "
            f"{exc.msg}); re-create it by running the experiment again with --overwrite"
        ) from None
    except _BareConstantError as exc:
        raise ResultFileError(
            f"result file {path} holds a bare {exc} token, which is not JSON and which "
            "advlandscape never writes (it writes {\"__float__\": \"NaN\"}): it was edited or "
            "written by other code; re-create it with the command in its provenance, or "
            "restore it from git"
        ) from None


def read_json(path: str | os.PathLike[str]) -> Any:
    """Read a JSON file, with a clear error when it is missing or not valid JSON; non-finite
    floats written by :func:`write_json` come back as floats."""
    return _decode(_load(Path(path)))


def _check_record(path: Path, record: Any) -> None:
    """Refuse a stored record without its three parts, without a digest, or whose parts do
    not match its digest."""
    missing = [k for k in RECORD_KEYS if not isinstance(record, dict) or k not in record]
    if missing:
        raise ResultFileError(
            f"result file {path} lacks {missing}: it was not written by advlandscape or was "
            "edited by hand; re-create it with --overwrite"
        )
    if "digest" not in record:
        raise ResultFileError(
            f"result file {path} has no digest (it was written before records carried one), "
            "so an edit could not be detected: add one by running the command in its "
            f"provenance again, or stamp the record as it is with `{STAMP_COMMAND} {path}`"
        )
    if record["digest"] != record_digest(record):
        raise RecordEditedError(
            f"result file {path} was edited: its content does not match its digest; re-create "
            "it with the command in its provenance, or restore it from git"
        )


def read_result(path: str | os.PathLike[str]) -> dict:
    """Read a results record: check it has ``config``, ``results``, ``provenance`` and a
    ``digest`` that matches them, and return it with its non-finite floats decoded.

    Raises:
        ResultFileError: missing, unreadable or not JSON; a part missing; no digest (the
            message says how to stamp the record). RecordEditedError: the content does not
            match the digest (a number, key or setting changed after writing).
    """
    path = Path(path)
    record = _load(path)
    _check_record(path, record)
    return _decode(record)

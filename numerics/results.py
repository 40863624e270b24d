"""Results records: atomic writing, provenance, and loading for notebooks.

A results record is a JSON object ``{"config": ..., "results": ..., "provenance": ...}``. Files are
written atomically (temporary file in the same directory, fsync, rename), so a reader never sees a
half-written file, and an existing file is never overwritten unless asked for.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import io
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from theory.errors import ResultExistsError, ResultFileError

REPO_ROOT = Path(__file__).resolve().parent.parent


def git_commit(repo: Path = REPO_ROOT) -> str:
    """Return the current commit (with ``+dirty`` when the tree has changes), or ``unknown``."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True, timeout=10
        )
        if head.returncode != 0:
            return "unknown"
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=repo, capture_output=True, text=True, timeout=10,
        )
        return head.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def library_versions() -> dict[str, str]:
    """Versions of Python and the numerical libraries that produced a result."""
    versions = {"python": platform.python_version()}
    for name in ("numpy", "scipy", "sympy", "torch"):
        try:
            module = __import__(name)
            versions[name] = str(module.__version__)
        except ImportError:
            versions[name] = "absent"
    return versions


def device_description(device: str | None = None) -> str:
    """A human-readable name of the device a run used (GPU model, or CPU and core count)."""
    import torch

    if device is not None and str(device).startswith("cuda") and torch.cuda.is_available():
        return f"{device}: {torch.cuda.get_device_name(torch.device(device))}"
    return f"cpu: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, " \
           f"{torch.get_num_threads()} torch threads"


def provenance(seed: int | None = None, device: str | None = None, **extra: Any) -> dict:
    """Provenance written beside every result: seed, versions, device, git commit, time, command."""
    record = {
        "seed": seed,
        "device": device_description(device),
        "versions": library_versions(),
        "git_commit": git_commit(),
        "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "command": " ".join(sys.argv),
        "host": platform.node(),
    }
    record.update(extra)
    return record


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


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes, overwrite: bool = False) -> Path:
    """Write ``data`` to ``path`` atomically; refuse to replace an existing file unless asked."""
    path = Path(path)
    if path.exists() and not overwrite:
        raise ResultExistsError(
            f"{path} exists already; pass overwrite=True (CLI: --overwrite) or choose another "
            "output path"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    with contextlib.suppress(OSError):  # make the rename itself durable
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    return path


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
        text = path.read_text()
    except FileNotFoundError:
        raise ResultFileError(
            f"result file {path} does not exist: run the experiment first"
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


def save_checkpoint(path: str | os.PathLike[str], state: Mapping[str, Any]) -> Path:
    """Save a checkpoint (anything ``torch.save`` takes) atomically, replacing the previous one."""
    import torch

    buffer = io.BytesIO()
    torch.save(dict(state), buffer)
    return atomic_write_bytes(path, buffer.getvalue(), overwrite=True)


def load_checkpoint(path: str | os.PathLike[str]) -> dict | None:
    """Load a checkpoint written by :func:`save_checkpoint`; ``None`` when there is none."""
    import torch

    path = Path(path)
    if not path.exists():
        return None
    try:
        return torch.load(path, map_location="cpu", weights_only=False)
    except Exception as exc:  # a torn or foreign file: say so rather than fail deep inside torch
        raise ResultFileError(
            f"checkpoint {path} cannot be read ({type(exc).__name__}); delete it to start afresh"
        ) from None

"""Results records: atomic writing, provenance, and loading for notebooks; checkpoints.

A results record is a JSON object ``{"config": ..., "results": ..., "provenance": ...}``. Files are
written atomically (temporary file in the same directory, fsync, rename), so a reader never sees a
half-written file, and an existing file is never overwritten unless asked for; a failed write
(disk full) is one :class:`theory.errors.ResultWriteError` and leaves the old file as it was.

Checkpoints (:func:`save_checkpoint`, :func:`read_checkpoint`, :func:`load_checkpoint`) hold
tensors and plain containers only, are read with ``torch.load(weights_only=True)`` after their
CRC-32s are checked, and record the :func:`code_version` that wrote them: one written by other
code is refused (:class:`theory.errors.StaleCheckpointError`) unless resuming from it is asked for.
"""

from __future__ import annotations

import collections
import contextlib
import datetime as _dt
import functools
import hashlib
import io
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from theory.errors import (
    ResultExistsError,
    ResultFileError,
    ResultWriteError,
    StaleCheckpointError,
)

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


@functools.cache
def started_commit() -> str:
    """:func:`git_commit` as it was when this process first asked (the ``advlandscape`` command
    asks as it starts): the commit of the code that ran, even when the tree changes while a
    long run is under way."""
    return git_commit()


def provenance(seed: int | None = None, device: str | None = None, **extra: Any) -> dict:
    """Provenance written beside every result: seed, versions, device, the git commit and the
    source digest (:func:`code_version`) of the code as the process started, time, command."""
    record = {
        "seed": seed,
        "device": device_description(device),
        "versions": library_versions(),
        "git_commit": started_commit(),
        "code_digest": code_version()["digest"],
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


# --------------------------------------------------------------------------------------------
# checkpoints

#: Layout of the files :func:`save_checkpoint` writes: ``{"format": 2, "code": code_version(),
#: "stale": ..., "state": ...}`` through ``torch.save``, read back with
#: ``torch.load(weights_only=True)`` (layout 1, before it: the bare state).
CHECKPOINT_FORMAT = 2
#: The leaves a checkpoint may hold (besides tensors, and dicts, lists and tuples of them): what
#: ``torch.load(weights_only=True)`` rebuilds without running code from the file. Exact types:
#: subclasses such as numpy.float64 (a float) or numpy.str_ are refused.
_PLAIN = (str, int, float, bool, type(None))
_CONTAINERS = (dict, collections.OrderedDict, list, tuple)
#: Sources left out of :func:`code_version`: the report's site builder and what notebooks
#: display, which no experiment imports (editing them leaves every experiment's results unchanged).
_NOT_EXPERIMENT_CODE = ("numerics/report/", "numerics/display.py")
#: How the stale-checkpoint message names the two ways on (the CLI options).
RESUME_HINT = ("run the same command with --fresh to discard it and start again, or with "
               "--resume-stale to resume from it anyway (from Python: delete the file, or pass "
               "accept_stale=True)")


@functools.cache
def code_version() -> dict[str, Any]:
    """The version of the code that computes results: what a checkpoint is keyed on.

    A digest of every source file of ``theory/`` and ``numerics/`` (the report's site builder,
    ``numerics/report/``, and ``numerics/display.py`` excepted), read from the imported packages
    themselves (so it works without git and for an installed copy), and
    :func:`library_versions`. Computed once per process.

    Returns:
        ``{"digest": <sha256 prefix of the sources>, "sources": {"numerics/ops.py": <sha256
        prefix>, ...}, "libraries": {"torch": ..., ...}}``.
    """
    import theory

    sources = _source_digests(*(Path(package.__file__).resolve().parent
                                for package in (theory, sys.modules[__package__])))
    digest = hashlib.sha256(json.dumps(sources, sort_keys=True).encode()).hexdigest()[:16]
    return {"digest": digest, "sources": sources, "libraries": library_versions()}


def _source_digests(*roots: Path) -> dict[str, str]:
    """``{"<root name>/<path>": sha256 prefix}`` of every ``*.py`` file under each root, sorted,
    :data:`_NOT_EXPERIMENT_CODE` left out."""
    sources: dict[str, str] = {}
    for root in roots:
        for file in sorted(root.rglob("*.py")):
            name = f"{root.name}/{file.relative_to(root).as_posix()}"
            if not name.startswith(_NOT_EXPERIMENT_CODE):
                sources[name] = hashlib.sha256(file.read_bytes()).hexdigest()[:16]
    return sources


def describe_code_change(old: Mapping[str, Any] | None, new: Mapping[str, Any]) -> str:
    """What differs between two :func:`code_version` records, in words; ``""`` when nothing.

    Names the changed, added and removed source files (the first five of each, then a count)
    and the libraries whose versions differ (``torch 2.12.0 -> 2.13.0``). ``old`` None (a
    checkpoint that recorded no version) reads ``"written by a version of advlandscape that did
    not record its code"``.
    """
    if not isinstance(old, Mapping) or not isinstance(old.get("sources"), Mapping):
        return "written by a version of advlandscape that did not record its code"
    before, after = dict(old["sources"]), dict(new["sources"])
    parts = []
    for what, names in (
            ("changed", [n for n in after if n in before and before[n] != after[n]]),
            ("added", [n for n in after if n not in before]),
            ("removed", [n for n in before if n not in after])):
        if names:
            shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
            parts.append(f"{what}: {shown}")
    libs_before, libs_after = dict(old.get("libraries") or {}), dict(new["libraries"])
    for lib in sorted(set(libs_before) | set(libs_after)):
        if libs_before.get(lib) != libs_after.get(lib):
            parts.append(f"{lib} {libs_before.get(lib, 'absent')} -> "
                         f"{libs_after.get(lib, 'absent')}")
    return "; ".join(parts)


def _check_plain(obj: Any, where: str) -> None:
    """Refuse (TypeError naming where) anything but tensors, plain scalars and containers."""
    import torch

    kind = type(obj)
    if kind in _PLAIN or isinstance(obj, torch.Tensor):
        return
    if kind in _CONTAINERS and isinstance(obj, dict):
        for key, value in obj.items():
            if type(key) not in (str, int):
                raise TypeError(f"checkpoint key {key!r} in {where} is a "
                                f"{type(key).__module__}.{type(key).__qualname__}: use str or "
                                "int keys")
            _check_plain(value, f"{where}[{key!r}]")
        return
    if kind in _CONTAINERS:
        for i, value in enumerate(obj):
            _check_plain(value, f"{where}[{i}]")
        return
    raise TypeError(
        f"{where} is a {type(obj).__module__}.{type(obj).__qualname__}: a checkpoint holds "
        "tensors, str/int/float/bool/None, dicts, lists and tuples only (convert it, e.g. with "
        "float(), .tolist() or torch.as_tensor, before checkpointing)")


def save_checkpoint(path: str | os.PathLike[str], state: Mapping[str, Any], *,
                    stale: str = "") -> Path:
    """Save a checkpoint atomically, replacing the previous one.

    Args:
        path: the checkpoint file.
        state: tensors, plain scalars (str, int, float, bool, None) and dicts, lists and tuples
            of them: what :func:`load_checkpoint` reads back with ``weights_only=True``.
        stale: when ``state`` continues a stale checkpoint resumed anyway, what changed in the
            code since that part was computed (:attr:`Checkpoint.history` of it); carried into
            every later save, so that the record finally written can say so.

    The file holds ``{"format": CHECKPOINT_FORMAT, "code": code_version(), "stale": stale,
    "state": state}`` (``torch.save``'s zip layout, whose CRC-32s :func:`read_checkpoint` checks).

    Raises:
        TypeError: ``state`` holds anything else (named by its place in ``state``), before
            anything is written.
    """
    import torch

    state = dict(state)
    _check_plain(state, "state")
    buffer = io.BytesIO()
    torch.save({"format": CHECKPOINT_FORMAT, "code": code_version(), "stale": str(stale),
                "state": state}, buffer)
    return atomic_write_bytes(path, buffer.getvalue(), overwrite=True)


@dataclass(frozen=True)
class Checkpoint:
    """A checkpoint as read from disk: its state and the code version that wrote it.

    Attributes:
        path: the file. state: what was saved. code: the :func:`code_version` of the writer
            (None for a file written before checkpoints recorded it). inherited: what changed in
            the code before the writer resumed a stale checkpoint anyway (``""``: nothing).
    """

    path: Path
    state: dict[str, Any]
    code: dict[str, Any] | None
    inherited: str = ""

    @property
    def stale(self) -> str:
        """What differs between the writer's code and this process's (``""``: nothing)."""
        return describe_code_change(self.code, code_version())

    @property
    def history(self) -> str:
        """Every change of the code since any part of the state was computed: :attr:`inherited`
        then :attr:`stale` (``""``: all of it computed by this code)."""
        return "; ".join(part for part in (self.inherited, self.stale) if part)

    def require_current(self, accept_stale: bool = False) -> str:
        """Refuse a stale checkpoint unless ``accept_stale``; return :attr:`stale`.

        Raises:
            StaleCheckpointError: written by other code (the message names what changed and the
                two ways on: ``--fresh`` or ``--resume-stale``).
        """
        change = self.stale
        if change and not accept_stale:
            raise _stale_error(self.path, change)
        return change


def _stale_error(path: str | os.PathLike[str], change: str) -> StaleCheckpointError:
    """The error refusing the checkpoint ``path`` written by other code; ``change`` says what
    changed (:func:`describe_code_change`), the message also how to go on."""
    return StaleCheckpointError(
        f"checkpoint {path} was written by other code than this ({change}); resuming from it "
        f"may not give what an uninterrupted run gives: {RESUME_HINT}")


def read_checkpoint(path: str | os.PathLike[str]) -> Checkpoint | None:
    """Read a checkpoint safely, whatever code wrote it; ``None`` when there is none.

    The file's CRC-32s are checked first (a flipped bit in a tensor would otherwise load as a
    wrong number), then it is read with ``torch.load(weights_only=True)``: tensors and plain
    containers only, so a file crafted to run code when unpickled is refused, not run. A file of
    the first layout (a bare state, no code version) reads with ``code=None``.

    Raises:
        ResultFileError: the file is torn, damaged or holds other objects; the message says to
            discard it (``--fresh``).
    """
    import pickle
    import zipfile

    import torch

    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ResultFileError(f"checkpoint {path} cannot be read ({exc.strerror or exc}); "
                              "check the path, or run with --fresh to start afresh") from None
    fix = "run the same command with --fresh to discard it and start again (or delete it)"
    try:
        bad = zipfile.ZipFile(io.BytesIO(data)).testzip()
    except (zipfile.BadZipFile, OSError, EOFError, ValueError):
        raise ResultFileError(f"checkpoint {path} is torn or not a checkpoint ({len(data)} "
                              f"bytes, not a readable archive); {fix}") from None
    if bad is not None:
        raise ResultFileError(f"checkpoint {path} is damaged: its part {bad!r} fails its CRC-32 "
                              f"check; {fix}")
    try:
        record = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        raise ResultFileError(
            f"checkpoint {path} holds objects other than tensors and plain containers (written "
            f"by an older advlandscape, or not by advlandscape); it was not loaded: {fix}"
        ) from None
    except Exception as exc:  # a foreign or damaged file: say so rather than fail deep in torch
        raise ResultFileError(f"checkpoint {path} cannot be read ({type(exc).__name__}); "
                              f"{fix}") from None
    if not isinstance(record, dict):
        raise ResultFileError(f"checkpoint {path} holds a {type(record).__name__}, not a "
                              f"checkpoint's dict; {fix}")
    if record.get("format") == CHECKPOINT_FORMAT and isinstance(record.get("state"), dict):
        code, inherited = record.get("code"), record.get("stale")
        return Checkpoint(path, record["state"], code if isinstance(code, dict) else None,
                          inherited if isinstance(inherited, str) else "")
    return Checkpoint(path, record, None)  # the first layout: the state itself, no version


def load_checkpoint(path: str | os.PathLike[str], accept_stale: bool = False) -> dict | None:
    """The state of the checkpoint ``path`` (:func:`read_checkpoint`); ``None`` when there is none.

    Args:
        path: the checkpoint file.
        accept_stale: return the state of a checkpoint written by other code (sources or library
            versions) instead of refusing it.

    Raises:
        ResultFileError: torn, damaged or unsafe file. StaleCheckpointError: written by other
            code, and ``accept_stale`` is False.
    """
    checkpoint = read_checkpoint(path)
    if checkpoint is None:
        return None
    checkpoint.require_current(accept_stale)
    return checkpoint.state


# --------------------------------------------------------------------------------------------
# one run per output


def lock_path(output: str | os.PathLike[str]) -> Path:
    """The lock file of an output file or folder: ``.<name>.lock`` beside it."""
    output = Path(output)
    return output.parent / f".{output.name}.lock"


def _pid_alive(pid: int) -> bool:
    """Whether a process ``pid`` exists (one of another user's counts as alive)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _read_pid(fd: int) -> int | None:
    """The pid a lock file holds (its first line), or None when it holds none."""
    os.lseek(fd, 0, os.SEEK_SET)
    text = os.read(fd, 64).decode(errors="replace").strip()
    return int(text) if text.isdigit() else None


@contextlib.contextmanager
def output_lock(output: str | os.PathLike[str], option: str = "--out"
                ) -> Iterator[Path]:
    """Hold the lock of ``output`` for the duration of the block: one run per output at a time.

    The lock file (:func:`lock_path`) holds the owner's pid and is locked with ``flock``, which
    the kernel releases when the owner dies, however it dies (``kill -9`` included). A second
    run on the same output stops at once with :class:`theory.errors.OutputLockedError` naming
    the owner's pid. A lock left by a dead owner (no ``flock`` held, and its pid no longer
    running) is stale: it is taken over, saying so on stderr. Where the file system has no
    ``flock``, the pid alone decides. The lock file is removed when the block ends.

    Raises:
        OutputLockedError: another live run holds the lock.
        ResultWriteError: the lock file cannot be written (no permission, disk full).
    """
    import errno
    import fcntl

    from theory.errors import OutputLockedError

    lock = lock_path(output)

    def refuse(pid: int | None) -> OutputLockedError:
        owner = f"pid {pid}" if pid is not None else "a process that has not written its pid yet"
        return OutputLockedError(
            f"{output} is being written by another advlandscape run ({owner}; lock {lock}): "
            f"wait for it to finish, or choose another {option}; if no such run exists, delete "
            f"{lock}")

    while True:
        try:
            lock.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise _write_error(lock, exc) from exc
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                flocked = True
            except BlockingIOError:
                raise refuse(_read_pid(fd)) from None
            except OSError as exc:  # no flock here (some network file systems): the pid decides
                if exc.errno not in (errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOSYS):
                    raise
                flocked = False
            try:
                same = os.path.samestat(os.fstat(fd), os.stat(lock))
            except FileNotFoundError:
                same = False
            if not same:  # removed (or replaced) by its owner while we opened it: again
                os.close(fd)
                continue
            previous = _read_pid(fd)
            if previous is not None and previous != os.getpid():
                if not flocked and _pid_alive(previous):
                    raise refuse(previous)
                if _pid_alive(previous) and flocked:
                    print(f"advlandscape: lock {lock} names pid {previous}, which holds no lock "
                          "on it: taking it over", file=sys.stderr)
                else:
                    print(f"advlandscape: taking over the stale lock {lock} of pid {previous}, "
                          "which is no longer running", file=sys.stderr)
            try:
                os.ftruncate(fd, 0)
                os.lseek(fd, 0, os.SEEK_SET)
                os.write(fd, f"{os.getpid()}\n".encode())
                os.fsync(fd)
            except OSError as exc:
                raise _write_error(lock, exc) from exc
        except BaseException:
            os.close(fd)
            raise
        break
    try:
        yield lock
    finally:
        with contextlib.suppress(OSError):
            if os.path.samestat(os.fstat(fd), os.stat(lock)):
                os.unlink(lock)  # while still holding it, so no one locks a file on its way out
        os.close(fd)

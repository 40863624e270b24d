"""Checkpoints of long runs: tensors and plain containers, checked on reading, keyed on the code.

A checkpoint (:func:`save_checkpoint`) is written atomically and holds tensors, str/int/float/bool/
None and dicts, lists and tuples of them only; :func:`read_checkpoint` checks its CRC-32s and
reads it with ``torch.load(weights_only=True)``, so a damaged file is refused and a crafted one
never runs code. It records the :func:`numerics.records.provenance.code_version` that wrote it:
one written by other code is refused (:class:`theory.errors.StaleCheckpointError`) unless
resuming from it is asked for (:func:`load_checkpoint`, :meth:`Checkpoint.require_current`).
"""

from __future__ import annotations

import collections
import io
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from numerics.records.files import atomic_write_bytes
from numerics.records.provenance import code_version, describe_code_change
from theory.errors import ResultFileError, StaleCheckpointError

__all__ = [
    "CHECKPOINT_FORMAT",
    "RESUME_HINT",
    "Checkpoint",
    "load_checkpoint",
    "read_checkpoint",
    "save_checkpoint",
]

#: Layout of the files :func:`save_checkpoint` writes: ``{"format": 2, "code": code_version(),
#: "stale": ..., "state": ...}`` through ``torch.save``, read back with
#: ``torch.load(weights_only=True)`` (layout 1, before it: the bare state).
CHECKPOINT_FORMAT = 2
#: The leaves a checkpoint may hold (besides tensors, and dicts, lists and tuples of them): what
#: ``torch.load(weights_only=True)`` rebuilds without running code from the file. Exact types:
#: subclasses such as numpy.float64 (a float) or numpy.str_ are refused.
_PLAIN = (str, int, float, bool, type(None))
_CONTAINERS = (dict, collections.OrderedDict, list, tuple)
#: How the stale-checkpoint message names the two ways on (the CLI options).
RESUME_HINT = ("run the same command with --fresh to discard it and start again, or with "
               "--resume-stale to resume from it anyway (from Python: delete the file, or pass "
               "accept_stale=True)")


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

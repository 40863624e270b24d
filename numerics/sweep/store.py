"""A sweep's output directory: one record per unit, the merged record, checkpoints, failures.

::

    OUT/units/<digest>.json      one results record per finished unit (config, results,
                                 provenance), named by the unit's config digest
    OUT/checkpoints/<digest>/    a running unit's own checkpoints (gone once its record is written)
    OUT/failed/<digest>.txt      the config and traceback of a unit that raised
    OUT/sweep.json               the merged record

Every file is written atomically (:mod:`numerics.records`); a unit's record is never replaced,
and the merged record only when asked. A record is reused by a later run only if it was written
for the same unit digest by the same code (:func:`numerics.records.code_version`), unless
``accept_stale``.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

from numerics.records import (
    atomic_write_bytes,
    code_version,
    describe_code_change,
    read_result,
    write_result,
)
from theory.errors import RecordEditedError, ResultFileError, StaleCheckpointError

__all__ = ["SweepStore", "code_digest"]


def code_digest() -> str:
    """A short digest of :func:`numerics.records.code_version` (sources and libraries)."""
    text = json.dumps(code_version(), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


class SweepStore:
    """The files of one sweep under ``root``."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.merged = self.root / "sweep.json"

    def record_path(self, digest: str) -> Path:
        """Where the record of unit ``digest`` goes."""
        return self.root / "units" / f"{digest}.json"

    def checkpoint_dir(self, digest: str) -> Path:
        """The folder of unit ``digest``'s own checkpoints."""
        return self.root / "checkpoints" / digest

    def failure_path(self, digest: str) -> Path:
        """Where a failed unit's config and traceback go."""
        return self.root / "failed" / f"{digest}.txt"

    def finished(self, digest: str, accept_stale: bool = False) -> dict[str, Any] | None:
        """The record of unit ``digest`` if it was finished before (None otherwise).

        Raises:
            ResultFileError: the record is not a sweep unit's record of this digest.
            RecordEditedError: its content does not match its digest (edited after it was
                written); it is never merged.
            StaleCheckpointError: it was written by other code, unless ``accept_stale``.
        """
        path = self.record_path(digest)
        if not path.exists():
            return None
        try:
            record = read_result(path)
        except RecordEditedError as exc:
            raise RecordEditedError(f"{exc} (a sweep unit's record: delete it and run the sweep "
                                    "again to run that unit again)") from None
        sweep = record["provenance"].get("sweep", {})
        if sweep.get("digest") != digest:
            raise ResultFileError(f"{path} is not the record of unit {digest}: it was edited or "
                                  "copied by hand; delete it to run that unit again")
        if sweep.get("code") != code_digest() and not accept_stale:
            change = describe_code_change(record["provenance"].get("code_version"),
                                          code_version())
            raise StaleCheckpointError(
                f"{path} was computed by other code ({change}): pass --resume-stale to reuse "
                "it anyway, or write the sweep to another --out")
        return record

    def write_unit(self, unit: Any, outcome: dict[str, Any], executor: dict[str, Any]
                   ) -> dict[str, Any]:
        """Write a finished unit's record (never replacing one), drop its checkpoints and any
        failure note, and return the record as read back (what a later run reuses)."""
        digest = unit.digest
        path = write_result(
            self.record_path(digest), unit.config, outcome["result"],
            sweep={"experiment": unit.experiment, "unit": unit.name, "digest": digest,
                   "code": code_digest(), **outcome["notes"]},
            worker=outcome["worker"], executor=executor, code_version=code_version())
        shutil.rmtree(self.checkpoint_dir(digest), ignore_errors=True)
        self.failure_path(digest).unlink(missing_ok=True)
        return read_result(path)

    def write_failure(self, unit: Any, outcome: dict[str, Any]) -> Path:
        """Write a failed unit's name, config, error and traceback (replacing an older note)."""
        text = (f"unit {unit.name} ({unit.experiment}, digest {unit.digest}) failed on "
                f"{outcome['worker']}\nconfig: {unit.config!r}\n{outcome['error']}\n\n"
                f"{outcome['traceback']}")
        return atomic_write_bytes(self.failure_path(unit.digest), text.encode(), overwrite=True)

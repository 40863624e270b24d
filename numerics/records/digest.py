"""Stamp results records written before records carried a digest.

::

    python -m numerics.records.digest [--note TEXT] FILE...

Each FILE is a results record (``config``, ``results``, ``provenance``). One without a digest
gets ``provenance["digest_added"] = "<date>, <note>"`` and then its ``digest``
(:func:`numerics.records.files.record_digest`), nothing else changed: values, key order and
layout stay as they were (the file is rewritten atomically). One already stamped is left as it
is when its digest matches, and refused when it does not (it was edited after being stamped:
stamping it would bless the edit). Exit status 0 when every file is stamped or matches, 2 when
any was refused (each named on stderr).
"""

from __future__ import annotations

import argparse
import datetime
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from numerics.records.files import (
    RECORD_KEYS,
    _dumps,
    _load,
    atomic_write_bytes,
    record_digest,
)
from theory.errors import AdvLandscapeError, RecordEditedError, ResultFileError

__all__ = ["DEFAULT_NOTE", "main", "stamp"]

#: What ``digest_added`` says after the date unless told otherwise.
DEFAULT_NOTE = "to the record as it was found"


def stamp(path: str | os.PathLike[str], note: str = DEFAULT_NOTE,
          today: datetime.date | None = None) -> bool:
    """Add a digest to the record ``path``; True when it was stamped now, False when it
    carried a matching digest already (left untouched).

    Raises:
        ResultFileError: not a readable record (missing, not JSON, a part missing, provenance
            not an object). RecordEditedError: it carries a digest its content does not match.
    """
    path = Path(path)
    record = _load(path)
    missing = [k for k in RECORD_KEYS if not isinstance(record, dict) or k not in record]
    if missing:
        raise ResultFileError(f"result file {path} lacks {missing}: it is not a results record, "
                              "so it is not stamped")
    if "digest" in record:
        if record["digest"] != record_digest(record):
            raise RecordEditedError(
                f"result file {path} was edited: its content does not match its digest; "
                "re-create it with the command in its provenance, or restore it from git "
                "(it is not stamped again, which would accept the edit)")
        return False
    if not isinstance(record["provenance"], dict):
        raise ResultFileError(f"result file {path}: its provenance is not an object, so it is "
                              "not stamped")
    date = (today or datetime.date.today()).isoformat()
    record["provenance"]["digest_added"] = f"{date}, {note}"
    record["digest"] = record_digest(record)
    atomic_write_bytes(path, _dumps(record).encode(), overwrite=True)
    return True


def main(argv: Sequence[str] | None = None) -> int:
    """The command line; see the module docstring."""
    parser = argparse.ArgumentParser(
        prog="python -m numerics.records.digest",
        description="Add a digest to results records written before records carried one.")
    parser.add_argument("files", nargs="+", metavar="FILE", help="a results record (.json)")
    parser.add_argument("--note", default=DEFAULT_NOTE,
                        help="what digest_added says after the date (default: %(default)r)")
    args = parser.parse_args(argv)
    refused = 0
    for name in args.files:
        try:
            stamped = stamp(name, args.note)
        except AdvLandscapeError as exc:
            print(f"{parser.prog}: error: {exc}", file=sys.stderr)
            refused += 1
            continue
        print(f"{name}: {'stamped' if stamped else 'already stamped, digest matches; unchanged'}")
    return 2 if refused else 0


if __name__ == "__main__":
    sys.exit(main())

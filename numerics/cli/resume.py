"""The options every resumable subcommand shares: ``--fresh`` and ``--resume-stale``.

A long command checkpoints its units of work and resumes from them when run again. A checkpoint
written by other code (:func:`numerics.records.code_version`: the sources of ``theory/`` and
``numerics/`` or the library versions changed) is refused with a message naming what changed;
``--resume-stale`` resumes from it anyway (the record's provenance then names the change under
``resumed_stale_checkpoint``), ``--fresh`` discards the command's checkpoints and starts again.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from numerics.records import Checkpoint

__all__ = ["add_arguments", "check_stale", "discard"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--fresh`` and ``--resume-stale`` (one or the other) to a subcommand's parser."""
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--fresh", action="store_true",
                       help="discard this command's checkpoints and start again")
    group.add_argument("--resume-stale", action="store_true",
                       help="resume from checkpoints written by other code (sources or library "
                       "versions changed) instead of refusing them; the provenance says so")


def discard(args: argparse.Namespace, paths: Iterable[Path]) -> None:
    """With ``--fresh``, delete the checkpoint files ``paths`` (those that exist), saying so."""
    if not getattr(args, "fresh", False):
        return
    gone = [p for p in paths if p.is_file()]
    for path in gone:
        path.unlink()
    if gone:
        print(f"--fresh: discarded {len(gone)} checkpoint(s): "
              + ", ".join(str(p) for p in gone), file=sys.stderr)


def check_stale(args: argparse.Namespace, checkpoints: Iterable[Checkpoint]) -> dict[str, Any]:
    """Refuse the stale ones among the checkpoints a command resumes, unless ``--resume-stale``.

    Returns:
        the provenance fields to add to the record: ``{"resumed_stale_checkpoint": {path: what
        changed}}`` for every checkpoint resumed whose state was computed, in part, by other code
        (stale now, or carrying a change accepted by an earlier ``--resume-stale``), else ``{}``.

    Raises:
        StaleCheckpointError: a stale checkpoint without ``--resume-stale`` (before any work).
    """
    checkpoints = list(checkpoints)
    for checkpoint in checkpoints:
        checkpoint.require_current(getattr(args, "resume_stale", False))
    changes = {str(c.path): c.history for c in checkpoints if c.history}
    for checkpoint in checkpoints:
        if checkpoint.stale:
            print(f"--resume-stale: resuming from {checkpoint.path}, written by other code "
                  f"({checkpoint.stale})", file=sys.stderr)
    return {"resumed_stale_checkpoint": changes} if changes else {}

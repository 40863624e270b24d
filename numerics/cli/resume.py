"""The options every resumable subcommand shares: ``--fresh`` and ``--resume-stale``.

A long command checkpoints its units of work and resumes from them when run again. A checkpoint
written by other code (:func:`numerics.records.code_version`: the sources of ``theory/`` and
``numerics/`` or the library versions changed) is refused with a message naming what changed;
``--resume-stale`` resumes from it anyway (the record's provenance then names the change under
``resumed_stale_checkpoint``), ``--fresh`` discards the command's checkpoints and starts again.
:func:`numerics.experiments.protocol.execute` acts on both options.
"""

from __future__ import annotations

import argparse

__all__ = ["add_arguments"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--fresh`` and ``--resume-stale`` (one or the other) to a subcommand's parser."""
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--fresh", action="store_true",
                       help="discard this command's checkpoints and start again")
    group.add_argument("--resume-stale", action="store_true",
                       help="resume from checkpoints written by other code (sources or library "
                       "versions changed) instead of refusing them; the provenance says so")

"""The ``advlandscape`` command (``python -m numerics.cli`` works too).

Each subcommand lives in its own module of this package, which provides ``register(subparsers)``:
it adds its parser and sets ``func`` to a callable taking the parsed arguments and returning an
exit code.
"""

from __future__ import annotations

import argparse
import errno
import importlib
import sys
from collections.abc import Sequence
from typing import NoReturn

from theory.errors import AdvLandscapeError

__all__ = ["SUBCOMMANDS", "build_parser", "main"]

# subcommand name -> module providing register(subparsers)
SUBCOMMANDS: dict[str, str] = {
    "data": "numerics.cli.data",
    "verify": "numerics.cli.verify",
    "report": "numerics.cli.report",
    "study": "numerics.cli.study",
    "reproduce": "numerics.cli.reproduce",
    "liu-kanai": "numerics.cli.liu_kanai",
    "mnist2": "numerics.cli.mnist2",
    "resnet": "numerics.cli.resnet",
    "sweep": "numerics.cli.sweep",
    "gpu": "numerics.cli.gpu",
}


#: errno values of a full disk, an exhausted quota and a file-size limit: printed as one line
#: (the file, what is wrong, what to do) wherever a write outside numerics.records meets them.
_DISK_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line (exit 2), like the suite's own errors."""

    def error(self, message: str) -> NoReturn:
        """Print ``<prog>: error: <message>`` and exit with status 2."""
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every available subcommand."""
    parser = _Parser(
        prog="advlandscape",
        description="Verify, symbolically and numerically, claims about the weight-loss landscape "
        "of adversarial training (Yamada et al. 2021, Kanai et al. 2021, Liu et al. 2020).",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module_name in SUBCOMMANDS.values():
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            continue
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``advlandscape`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    from numerics.records import code_version, started_commit

    started_commit(), code_version()  # the code that runs, fixed now for the provenance
    try:
        return int(args.func(args) or 0)
    except AdvLandscapeError as exc:
        print(f"advlandscape {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        if exc.errno not in _DISK_ERRNOS:
            raise
        where = f" {exc.filename}" if exc.filename else ""
        print(f"advlandscape {args.command}: error: cannot write{where}: "
              f"{exc.strerror or exc}; free space (or raise the quota) and run the same command "
              "again, which resumes from the last checkpoint", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"advlandscape {args.command}: interrupted; run the same command again to resume "
              "from the last checkpoint", file=sys.stderr)
        return 130


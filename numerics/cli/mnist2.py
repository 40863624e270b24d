"""``advlandscape mnist2``: an alias of ``advlandscape study mnist2`` (``--dataset cifar2``: of
``study cifar2``) with the table, seed, weight-decay and thread options of Yamada et al.'s MNIST2
tables 1-4 and figures 2-3.

``--out`` is the record's folder (default ``results/<dataset>/``); the record ``mnist2.json``,
the CSV, ``tables.md`` and the figures go there. Everything else is the study protocol's
(:func:`numerics.experiments.protocol.execute`): outputs checked and locked before any work,
(table, seed) units checkpointed beside the record and resumed, ``--fresh``, ``--resume-stale``.
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path
from typing import Any

from numerics.cli import resume, values
from theory.errors import ConfigError

__all__ = ["OUTPUTS", "config_from_args", "register", "run"]

#: Every file ``mnist2`` writes in its --out folder (checked before any work).
OUTPUTS = ("mnist2.json", "mnist2.csv", "tables.md", "figure2_landscapes.png",
           "figure2_landscapes.svg", "figure3_eigenvalues.png", "figure3_eigenvalues.svg")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``mnist2`` subcommand."""
    parser = subparsers.add_parser(
        "mnist2", help="alias of `study mnist2` (tables 1-4, figures 2-3); --dataset cifar2",
        description="Reproduce Yamada et al.'s MNIST2 tables 1-4 (beside the paper's numbers) and "
        "figures 2-3; writes mnist2.json/.csv (with provenance), tables.md and the figures.",
    )
    parser.add_argument("--profile", choices=("ci", "full"), default=None,
                        help="scale (default: $ADVLANDSCAPE_PROFILE, else ci)")
    parser.add_argument("--dataset", choices=("mnist2", "cifar2"), default="mnist2",
                        help="mnist2 (the paper's tables) or cifar2 (frog vs ship, the same "
                        "tables on a CIFAR budget grid; the paper prints none)")
    parser.add_argument("--out", type=Path, default=None,
                        help="output directory (default results/<dataset>)")
    parser.add_argument("--overwrite", action="store_true", help="replace existing results")
    parser.add_argument("--tables", default="1,2,3,4", help="comma-separated table numbers")
    parser.add_argument("--weight-decay", type=float, default=None,
                        help="L2 penalty wd (loss + wd/2 ||w||^2); default: the profile's (0)")
    parser.add_argument("--seeds", type=values.seed_list, default=None,
                        help="comma-separated seeds of the repetitions (default: the profile's; "
                        "full: 0,1,2,3,4)")
    parser.add_argument("--threads", type=values.threads, default=2,
                        help="torch CPU threads (default 2; 1 is faster on a busy machine)")
    parser.add_argument("--checkpoint-dir", type=Path, default=None,
                        help="checkpoint the (table, seed) units here (default .mnist2.json.ckpt/ "
                        "beside the record)")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    resume.add_arguments(parser)
    parser.set_defaults(func=run)


def _ints(text: str, option: str) -> tuple[int, ...]:
    try:
        return tuple(int(t) for t in text.split(",") if t.strip())
    except ValueError:
        raise ConfigError(f"{option} must be comma-separated integers, got {text!r}") from None


def config_from_args(args: argparse.Namespace) -> Any:
    """The validated config of ``--dataset``'s study at ``--profile`` with the options' changes
    (tables, seeds, threads, weight decay)."""
    from numerics.experiments.mnist2 import config_for

    overrides: dict[str, Any] = {"tables": _ints(args.tables, "--tables"),
                                 "threads": args.threads}
    if args.seeds is not None:
        overrides["seeds"] = (tuple(args.seeds) if not isinstance(args.seeds, str)
                              else _ints(args.seeds, "--seeds"))
    config = config_for(args.profile, dataset=getattr(args, "dataset", "mnist2"), **overrides)
    if args.weight_decay is not None:
        config = dataclasses.replace(
            config, train=dataclasses.replace(config.train, weight_decay=args.weight_decay))
    return config


def run(args: argparse.Namespace) -> int:
    """Run the study of ``--dataset`` through :func:`numerics.cli.study.run_study_command`."""
    from numerics.cli.study import run_study_command

    config = config_from_args(args)
    return run_study_command(args.dataset, args, scale=config.profile, out=args.out, cfg=config)

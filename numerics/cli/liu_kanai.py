"""``advlandscape liu-kanai STUDY``: an alias of ``advlandscape study STUDY`` for the data studies
of Kanai et al. and Liu et al. (``smoothness``, ``budget``, ``findings``, ``pas``) and the MNIST2
``sensitivity`` study.

``--out`` names the record file (default ``results/<study>/<study>.json``); everything else is
the study protocol's (:func:`numerics.experiments.protocol.execute`): outputs checked and locked
before any work, units checkpointed in ``.<out name>.ckpt/`` beside the record (or
``--checkpoint-dir``) and resumed, ``--fresh`` and ``--resume-stale``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from numerics.cli import resume, values

__all__ = ["ALIASED", "register", "run"]

#: The studies this alias runs.
ALIASED = ("smoothness", "budget", "findings", "pas", "sensitivity")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``liu-kanai`` subcommand."""
    parser = subparsers.add_parser(
        "liu-kanai", help="alias of `study` for smoothness, budget, findings, pas, sensitivity",
        description="Run one data study of Kanai et al. 2021 / Liu et al. 2020 (or the MNIST2 "
        "sensitivity study) and write its record; the same as `advlandscape study STUDY`.")
    parser.add_argument("study", choices=ALIASED, help="which study to run")
    parser.add_argument("--profile", type=values.gpu_profile(("ci", "full", "gpu")), default=None,
                        metavar="{ci,full,gpu}",
                        help="scale (default: $ADVLANDSCAPE_PROFILE, else ci; gpu: full)")
    parser.add_argument("--seed", type=values.seed, default=0, help="random seed (default 0)")
    parser.add_argument("--out", type=Path, default=None,
                        help="record file (default results/<study>/<study>.json)")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace an existing results file")
    parser.add_argument("--checkpoint-dir", type=Path, default=None,
                        help="checkpoint every finished unit here and resume from it (default "
                        ".<out name>.ckpt/ beside --out, removed once the record is written)")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    resume.add_arguments(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run the study through :func:`numerics.cli.study.run_study_command`."""
    from numerics.cli.study import run_study_command

    scale = "full" if args.profile == "gpu" else args.profile
    return run_study_command(args.study, args, scale=scale, out=None, record=args.out,
                             seed=args.seed)

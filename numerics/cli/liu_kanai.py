"""``advlandscape liu-kanai STUDY``: run a Kanai/Liu data study and write its results record.

Studies: ``smoothness`` (K-SMOOTH), ``budget`` (L-BUDGET), ``findings`` and ``pas``
(L-FINDINGS); and ``sensitivity`` (Yamada et al.'s MNIST2 tables under the hyperparameters their
text lost, recorded in ``results/mnist2/sensitivity.json``). The scale comes from ``--profile``
(else ``$ADVLANDSCAPE_PROFILE``, else ``ci``); the record goes to ``results/liu_kanai/<study>.json``
(or ``--out``), written atomically with its config and provenance, and an existing file is
replaced only with ``--overwrite``.

Every finished unit of work (one training run) is checkpointed, by default in ``.<out name>.ckpt/``
beside the output file (or ``--checkpoint-dir``); after an interruption (``kill -9`` included) the
same command continues from the last finished unit and gives the same results as an uninterrupted
run. The default checkpoint folder is removed once the record is written. A checkpoint written by
other code is refused unless ``--resume-stale``; ``--fresh`` discards it
(:mod:`numerics.cli.resume`).
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from numerics.cli import resume


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``liu-kanai`` subcommand."""
    from numerics.experiments.studies import STUDIES

    parser = subparsers.add_parser(
        "liu-kanai", help="Kanai/Liu data studies: smoothness, budget threshold, findings, PAS",
        description="Run one data study of Kanai et al. 2021 / Liu et al. 2020 on MNIST and "
        "write its results record (config, results, provenance).",
    )
    parser.add_argument("study", choices=STUDIES, help="which study to run")
    parser.add_argument("--profile", choices=("ci", "full", "gpu"), default=None,
                        help="scale (default: $ADVLANDSCAPE_PROFILE, else ci)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--out", type=Path, default=None,
                        help="output file (default results/liu_kanai/<study>.json)")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace an existing results file")
    parser.add_argument("--checkpoint-dir", type=Path, default=None,
                        help="checkpoint every finished run here and resume from it (default "
                        ".<out name>.ckpt/ beside --out, removed once the record is written)")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    resume.add_arguments(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run the study (resuming from its checkpoint), write the record, print its verdict.

    The output is checked (not a folder, writable, absent unless ``--overwrite``) and locked
    (:func:`numerics.results.output_lock`) before any work.
    """
    from numerics.experiments.studies import config_for
    from numerics.experiments.units import RESULTS_DIR
    from numerics.results import output_lock
    from numerics.validate import check_outputs

    default = (RESULTS_DIR.parent / "mnist2" if args.study == "sensitivity" else RESULTS_DIR)
    out = args.out or default / f"{args.study}.json"
    check_outputs([out], overwrite=args.overwrite)  # before any work, not after the study
    cfg = config_for(args.study, args.profile, seed=args.seed)
    with output_lock(out):  # a second run on this --out stops here, at once
        check_outputs([out], overwrite=args.overwrite)  # a run that held the lock wrote it?
        return _run_locked(args, out, cfg)


def _run_locked(args: argparse.Namespace, out: Path, cfg: object) -> int:
    """:func:`run` once ``out`` is checked and its lock held."""
    from numerics.experiments.studies import judge_summary, run_study
    from numerics.experiments.units import checkpoint_path, matching_checkpoint
    from numerics.results import write_result
    from numerics.validate import check_writable_dir

    checkpoint_dir = getattr(args, "checkpoint_dir", None)
    default_dir = checkpoint_dir is None
    if default_dir:  # made by the first checkpoint, beside the --out checked above
        checkpoint_dir = out.parent / f".{out.name}.ckpt"
    else:
        check_writable_dir(checkpoint_dir, "checkpoint directory", "--checkpoint-dir")
    where = checkpoint_path(args.study, checkpoint_dir)
    resume.discard(args, [where])
    checkpoint = matching_checkpoint(args.study, cfg, checkpoint_dir)
    extra = resume.check_stale(args, [checkpoint] if checkpoint is not None else [])
    done = 0 if checkpoint is None else len(checkpoint.state["units"])
    if done:
        print(f"resuming {done} finished runs from {where}", file=sys.stderr)
    results = run_study(args.study, cfg, progress=not args.no_progress,
                        checkpoint_dir=checkpoint_dir,
                        accept_stale=getattr(args, "resume_stale", False))
    write_result(out, cfg, results, seed=args.seed, overwrite=args.overwrite,
                 study=args.study, **extra)
    if default_dir:
        shutil.rmtree(checkpoint_dir, ignore_errors=True)
    else:
        checkpoint_path(args.study, checkpoint_dir).unlink(missing_ok=True)
    print(f"wrote {out}")
    print(judge_summary(args.study, results))
    return 0

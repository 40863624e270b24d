"""``advlandscape mnist2``: Yamada et al.'s MNIST2 tables 1-4 and figures 2-3 (``--dataset cifar2``:
the same tables on CIFAR2, frog vs ship, into ``results/cifar2``)."""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path
from typing import Any

from numerics.cli import resume
from numerics.results import output_lock, read_checkpoint, save_checkpoint
from numerics.validate import check_outputs, check_writable_dir
from theory.errors import ConfigError

#: Every file ``mnist2`` writes in its --out folder (checked before any work).
OUTPUTS = ("mnist2.json", "mnist2.csv", "tables.md", "figure2_landscapes.png",
           "figure2_landscapes.svg", "figure3_eigenvalues.png", "figure3_eigenvalues.svg")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``mnist2`` subcommand."""
    parser = subparsers.add_parser(
        "mnist2", help="train the MNIST2 logistic models of tables 1-4; tables and figures 2-3",
        description="Reproduce Yamada et al.'s MNIST2 tables 1-4 (beside the paper's numbers) and "
        "figures 2-3; writes mnist2.json/.csv (with provenance), tables.md and the figures.",
    )
    parser.add_argument("--profile", choices=("ci", "full"), default=None,
                        help="scale (default: $ADVLANDSCAPE_PROFILE, else ci)")
    parser.add_argument("--dataset", choices=("mnist2", "cifar2"), default="mnist2",
                        help="mnist2 (the paper's tables) or cifar2 (frog vs ship, the same "
                        "tables on a CIFAR budget grid; the paper prints none)")
    parser.add_argument("--out", default=None,
                        help="output directory (default results/<dataset>)")
    parser.add_argument("--overwrite", action="store_true", help="replace existing results")
    parser.add_argument("--tables", default="1,2,3,4", help="comma-separated table numbers")
    parser.add_argument("--weight-decay", type=float, default=None,
                        help="L2 penalty wd (loss + wd/2 ||w||^2); default: the profile's (0)")
    parser.add_argument("--seeds", default=None,
                        help="comma-separated seeds of the repetitions (default: the profile's; "
                        "full: 0,1,2,3,4)")
    parser.add_argument("--threads", type=int, default=2,
                        help="torch CPU threads (default 2; 1 is faster on a busy machine)")
    resume.add_arguments(parser)
    parser.set_defaults(func=run)


def _tables(text: str) -> tuple[int, ...]:
    try:
        numbers = tuple(int(t) for t in text.split(",") if t.strip())
    except ValueError:
        raise ConfigError(f"--tables must be comma-separated numbers 1-4, got {text!r}") from None
    return numbers


def config_from_args(args: argparse.Namespace) -> Any:
    """The validated :class:`numerics.experiments.mnist2.MNIST2Config` the arguments ask for."""
    from numerics.experiments.mnist2 import config_for

    config = config_for(args.profile, dataset=getattr(args, "dataset", "mnist2"),
                        tables=_tables(args.tables), threads=args.threads)
    if args.seeds is not None:
        try:
            seeds = tuple(int(t) for t in args.seeds.split(",") if t.strip())
        except ValueError:
            raise ConfigError(f"--seeds must be comma-separated integers, got {args.seeds!r}") \
                from None
        config = dataclasses.replace(config, seeds=seeds)
    if args.weight_decay is not None:
        config = dataclasses.replace(
            config, train=dataclasses.replace(config.train, weight_decay=args.weight_decay))
    return config


def run(args: argparse.Namespace) -> int:
    """Run (resuming per table from a checkpoint in OUT), write results, tables and figures.

    Every file of :data:`OUTPUTS` is checked before any work: none may exist unless
    ``--overwrite`` (which replaces them all); the folder is locked for the run
    (:func:`numerics.results.output_lock`).
    """
    config = config_from_args(args)
    out = check_writable_dir(args.out or f"results/{config.dataset}")
    files = [out / name for name in OUTPUTS]
    check_outputs(files, overwrite=args.overwrite)  # all of them, before any training
    with output_lock(out):  # a second run on this --out stops here, at once
        check_outputs(files, overwrite=args.overwrite)  # a run that held the lock wrote them?
        return _run_locked(args, config, out)


def _run_locked(args: argparse.Namespace, config: Any, out: Path) -> int:
    """:func:`run` once every output is checked and the folder's lock held."""
    from numerics.experiments.mnist2 import render_tables, run_mnist2, save_figures, write_mnist2
    from numerics.results import atomic_write_bytes

    result_path = out / "mnist2.json"
    ckpt_path = out / ".mnist2.ckpt"
    resume.discard(args, [ckpt_path])
    ckpt = read_checkpoint(ckpt_path)
    done, extra, stale = {}, {}, ""
    if ckpt is not None and ckpt.state.get("config") == repr(config):  # else: not this run's
        extra = resume.check_stale(args, [ckpt])
        done, stale = ckpt.state["tables"], ckpt.history
        print(f"resuming: (table@seed) {sorted(done)} from {ckpt_path}", file=sys.stderr)

    def on_table(unit: str, table: dict) -> None:
        done[unit] = table
        save_checkpoint(ckpt_path, {"config": repr(config), "tables": done}, stale=stale)

    results = run_mnist2(config, progress=True, on_table=on_table, done=done)
    written = write_mnist2(result_path, config, results, overwrite=args.overwrite, **extra)
    text = render_tables(results) + "\n" + render_tables(results, last=True)
    written.append(atomic_write_bytes(out / "tables.md", text.encode(), overwrite=args.overwrite))
    written += save_figures(results, out, overwrite=args.overwrite)
    unlisted = sorted({p.name for p in written} - set(OUTPUTS))
    if unlisted:  # OUTPUTS must name every file, or the check before the run misses some
        raise RuntimeError(f"mnist2 wrote files not in numerics.cli.mnist2.OUTPUTS: {unlisted}")
    Path(ckpt_path).unlink(missing_ok=True)
    print(render_tables(results))
    print(f"{results['seconds']:.1f} s; wrote " + ", ".join(str(p) for p in written))
    return 0

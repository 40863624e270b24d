"""``advlandscape sweep SPEC.yaml``: an experiment's grid of units on this machine or on Ray.

The sweep file (YAML, :mod:`numerics.sweep.spec`) names the experiment (``mnist2``: the MNIST2
sensitivity grid of settings x tables x seeds; ``pas``: learning rates x seeds; ``resnet``:
datasets x seeds x budgets), its config and grid, and each unit's resources. ``--executor
local`` (the default) runs the units in this process, or in ``--max-parallel`` processes;
``--executor ray`` makes each unit a Ray task on the cluster at ``--ray-address`` (else
``$RAY_ADDRESS``), or on a local Ray instance started for the sweep. Either way the records are
the same. Results go to ``--out`` (default ``runs/sweep/<spec name>/``): one record per unit
(``units/<digest>.json``) and the merged record (``sweep.json``); run again, the command reuses
the finished units and runs the rest.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from numerics.cli import values
from numerics.sweep.executors import EXECUTORS

__all__ = ["register", "run"]


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``sweep`` subcommand."""
    parser = subparsers.add_parser(
        "sweep", help="run an experiment's grid of units locally or on a Ray cluster",
        description="Run the units of a sweep file (YAML: experiment, config, grid, resources) "
        "on this machine or on a Ray cluster; one record per unit and a merged record.")
    parser.add_argument("spec", type=Path, help="the sweep file (YAML)")
    parser.add_argument("--executor", choices=EXECUTORS, default="local",
                        help="local: this machine, embedded (default); ray: a Ray task per unit")
    parser.add_argument("--ray-address", default=None,
                        help="host:port of a running Ray cluster (default $RAY_ADDRESS; "
                        "neither: start a local Ray instance)")
    parser.add_argument("--max-parallel", type=values.positive_count, default=None,
                        help="units at a time (local default 1, in this process; ray default: "
                        "as many as the cluster's resources allow)")
    parser.add_argument("--connect-timeout", type=values.positive_seconds, default=10.0,
                        help="seconds to wait for --ray-address to answer (default 10)")
    parser.add_argument("--out", type=Path, default=None,
                        help="output directory (default runs/sweep/<spec file name>/)")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace an existing merged record (unit records are reused)")
    parser.add_argument("--resume-stale", action="store_true",
                        help="reuse unit records computed by other code (sources or library "
                        "versions changed)")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Validate the sweep file, run its units on the executor, write and name the records."""
    from numerics.sweep import load_spec, make_executor, run_sweep
    from numerics.sweep.run import plan

    spec = load_spec(args.spec)
    plan(spec)  # every unit's config validated before an executor (or Ray) starts
    out = args.out or Path("runs") / "sweep" / args.spec.stem
    executor = make_executor(args.executor, ray_address=args.ray_address,
                             max_parallel=args.max_parallel, max_retries=spec.max_retries,
                             connect_timeout=args.connect_timeout)
    try:
        outcome = run_sweep(spec, out, executor, overwrite=args.overwrite,
                            accept_stale=args.resume_stale, progress=not args.no_progress)
    finally:
        executor.close()
    print(f"wrote {outcome.merged} ({outcome.units} units: {outcome.ran} run, {outcome.reused} "
          "reused)")
    return 0

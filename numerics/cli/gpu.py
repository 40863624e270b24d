"""``advlandscape gpu``: the staged GPU programme (:mod:`numerics.gpu`), and ``gpu pack``, its
data packer.

Examples::

    advlandscape gpu pack --out gpu_data                      # here, once: the data of both runs
    advlandscape gpu --smoke --out runs/gpu_smoke --data gpu_data   # every stage, tiny, on the CPU
    python -m numerics.gpu --stages 1,2,3,4 --data gpu_data --out OUT   # GPU run 1
    python -m numerics.gpu --stages 5,6 --data gpu_data --out OUT       # GPU run 2

The help's epilog is the plan (:func:`numerics.gpu.plan.format_plan`), computed when asked for.
"""

from __future__ import annotations

import argparse

__all__ = ["plan_epilog", "register"]

_PLAN = "\0plan\0"  # stands for the plan in the epilog, formatted only when help is printed


def plan_epilog() -> str:
    """The plan table and the two runs' commands (the help's epilog)."""
    from numerics.gpu.plan import RUNS, format_plan

    runs = "\n".join(f"  run {r}: python -m numerics.gpu --stages {','.join(map(str, s))} "
                     "--data gpu_data --out OUT" for r, s in RUNS.items())
    return ("the plan (estimated seconds on one H100, from FLOP counts and the published 9-12 s "
            "per PGD-10 epoch of 50,000 CIFAR-10 images; see docs/gpu.md):\n" + format_plan()
            + "\n\nthe two GPU runs (copy the pack folder to the GPU machine first; PYTHONPATH=.):"
            "\n" + runs)


class _PlanFormatter(argparse.RawDescriptionHelpFormatter):
    def add_text(self, text: str | None) -> None:
        super().add_text(plan_epilog() if text == _PLAN else text)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``gpu`` (run stages) and ``gpu pack``."""
    parser = subparsers.add_parser(
        "gpu", help="the staged GPU programme: environment, fast path, benchmark, the ResNet18 "
        "sweeps, PAS (--smoke: every stage, tiny, on the CPU)",
        description="Run the GPU programme's stages in order. Each writes its record into --out "
        "as it ends and is skipped when its record exists, so a rerun continues.",
        epilog=_PLAN, formatter_class=_PlanFormatter)
    parser.add_argument("--smoke", action="store_true",
                        help="every stage end to end at tiny sizes on the CPU (never into "
                        "results/)")
    parser.add_argument("--out", default=None,
                        help="folder of the records (default results/resnet, with --smoke "
                        "runs/gpu_smoke)")
    parser.add_argument("--stages", default=None,
                        help="comma-separated stage numbers (default: all), e.g. 1,2,3,4")
    parser.add_argument("--data", default=None,
                        help="the data pack (`gpu pack`) or a data root (default "
                        "$ADVLANDSCAPE_DATA)")
    parser.add_argument("--device", default=None,
                        help="cuda[:N] (default), or cpu with --smoke")
    sub = parser.add_subparsers(dest="gpu_command", metavar="ACTION")
    pack = sub.add_parser("pack", help="pack the data of the GPU runs into a folder (at most "
                          "64 MiB with the working tree)")
    pack.add_argument("--out", dest="pack_out", required=True, help="the pack folder")
    pack.add_argument("--data-dir", default=None,
                      help="the data root to pack from (default $ADVLANDSCAPE_DATA)")
    pack.add_argument("--parts", default="1",
                      help="CIFAR-10 training parts, comma-separated (default 1; 0: none)")
    pack.add_argument("--no-mnist", action="store_true", help="leave MNIST out")
    pack.add_argument("--overwrite", action="store_true", help="replace a non-empty folder")
    pack.set_defaults(func=_pack)
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from numerics.gpu.plan import parse_stages
    from numerics.gpu.runner import run_programme

    run_programme(parse_stages(args.stages), out=args.out, smoke=args.smoke, data=args.data,
                  device=args.device)
    return 0


def _pack(args: argparse.Namespace) -> int:
    from numerics.gpu.pack import make_pack
    from theory.errors import ConfigError

    try:
        parts = tuple(int(p) for p in args.parts.split(",") if p.strip() and int(p) != 0)
    except ValueError:
        raise ConfigError(f"--parts takes comma-separated numbers 1..5, got {args.parts!r}") \
            from None
    make_pack(args.pack_out, source=args.data_dir, parts=parts, mnist=not args.no_mnist,
              overwrite=args.overwrite)
    return 0

"""``advlandscape study``: list the registered studies, or run one at a scale into its record.

Examples::

    advlandscape study --list
    advlandscape study budget --scale ci --out runs/budget
    advlandscape study mnist2 --scale full --overwrite      # the committed results/mnist2/
    advlandscape study cifar2 --scale full --threads 1 --overwrite   # one thread (a busy machine)

The study's units are checkpointed beside its record and resumed when the same command runs
again (:func:`numerics.experiments.protocol.execute`); ``--fresh`` discards the checkpoint,
``--resume-stale`` resumes one written by other code.
"""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

from numerics.cli import resume, values
from theory.errors import ConfigError

__all__ = ["format_registry", "register", "run", "run_study_command"]


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``study`` subcommand."""
    parser = subparsers.add_parser(
        "study", help="list the studies, or run one at a scale into its record",
        description="Run one registered study (config at a named scale, resumable units, a "
        "record with provenance) or list them all with --list.")
    parser.add_argument("name", nargs="?", help="the study (see --list)")
    parser.add_argument("--list", action="store_true",
                        help="print every study: name, claims, scales, estimated time")
    parser.add_argument("--scale", default=None,
                        help="a scale the study names (default: $ADVLANDSCAPE_PROFILE, else ci)")
    parser.add_argument("--out", type=Path, default=None,
                        help="folder of the record (default results/<study>/)")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace the record and its files if they exist")
    parser.add_argument("--checkpoint-dir", type=Path, default=None,
                        help="checkpoint the units here (default .<record>.ckpt/ beside the "
                        "record, removed once it is written)")
    parser.add_argument("--threads", type=values.threads, default=None,
                        help="torch CPU threads of the run (a study whose config has a threads "
                        "field records it there; default: the config's, else torch's)")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    resume.add_arguments(parser)
    parser.set_defaults(func=run)


def format_registry() -> str:
    """The registry as a table: name, claims, scales with estimated minutes, what it shows."""
    from numerics.experiments.registry import STUDIES

    lines = [f"{'study':<12} {'claims':<22} {'scales (estimated minutes, 2 cores)':<44} title"]
    for s in STUDIES.values():
        scales = ", ".join(
            f"{k} ({s.estimate(k):g})" if s.estimate(k) is not None else k for k in s.scales)
        lines.append(f"{s.name:<12} {', '.join(s.claims) or '-':<22} {scales:<44} {s.title}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    """``--list`` prints the registry; otherwise run the named study."""
    if args.list:
        print(format_registry())
        return 0
    if not args.name:
        raise ConfigError("name a study (advlandscape study --list shows them)")
    return run_study_command(args.name, args, scale=args.scale, out=args.out)


def run_study_command(name: str, args: argparse.Namespace, *, scale: str | None,
                      out: Path | None, record: Path | None = None,
                      adjust: Callable[[Any], Any] | None = None, cfg: Any = None,
                      **overrides: object) -> int:
    """Run study ``name`` at ``scale`` with ``overrides`` (then ``adjust(cfg)``, for nested
    fields), its record in ``out`` (or the file ``record``), with the shared options in ``args``
    (overwrite, checkpoint folder, --fresh, --resume-stale, --no-progress); print where it went
    and the study's one-line judgement. ``cfg``: a config built by the caller instead (an
    alias with options beyond the scales)."""
    from numerics.experiments.protocol import default_record, execute
    from numerics.experiments.registry import get_study
    from numerics.profiles import current_profile
    from numerics.validate import check_gpu_profile

    study = get_study(name)
    if scale is None:
        scale = current_profile()
        if scale not in study.scales:
            scale = "full" if scale == "gpu" else scale
    check_gpu_profile(scale, "--scale (or --profile, $ADVLANDSCAPE_PROFILE)")
    if cfg is None:
        cfg = study.config_for(scale, **overrides)  # validated before any work
    if adjust is not None:
        cfg = adjust(cfg)
    threads = getattr(args, "threads", None)
    if threads is not None:
        import torch

        torch.set_num_threads(threads)
        if "threads" in {f.name for f in dataclasses.fields(cfg)}:
            cfg = dataclasses.replace(cfg, threads=threads)
    target = Path(record) if record is not None else default_record(study, out, cfg.profile)
    results = execute(study, cfg, target, overwrite=args.overwrite,
                      checkpoint_dir=getattr(args, "checkpoint_dir", None),
                      fresh=getattr(args, "fresh", False),
                      resume_stale=getattr(args, "resume_stale", False),
                      progress=not getattr(args, "no_progress", False))
    print(f"wrote {target}")
    print(study.judge(results))
    return 0

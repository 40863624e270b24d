"""``advlandscape reproduce``: every registered study from scratch, compared with the committed
records; what a reviewer runs.

Examples::

    advlandscape reproduce --scale ci --out runs/repro-ci
    advlandscape reproduce --scale full --only mnist2 budget --out runs/repro-full

Each study runs into ``OUT/<study>/`` through the one protocol
(:func:`numerics.experiments.protocol.execute`): interrupted, the same command resumes (finished
studies are kept, finished units of the running one are reused). One progress bar counts every
unit of every study, with its ETA. Then each fresh record is compared number by number with the
committed one (:mod:`numerics.experiments.reproduce`), and ``OUT/reproduction.md`` and
``OUT/reproduction.json`` say, per study, how many numbers are the same, inside the seed interval,
within the stated tolerance, or differ (by how much). Exit status 1 when a number differs beyond
its tolerance or a study has no committed record at that scale to compare with.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from tqdm import tqdm

from numerics.cli import resume

__all__ = ["register", "reproduce", "run"]


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``reproduce`` subcommand."""
    parser = subparsers.add_parser(
        "reproduce", help="run every study from scratch and compare with the committed records",
        description="Run every registered study (or --only some) at a scale into OUT, resumably, "
        "then compare each fresh record with the committed one: OUT/reproduction.md and .json.")
    parser.add_argument("--scale", choices=("ci", "full"), default="ci",
                        help="ci (minutes, against the committed ci references) or full (the "
                        "papers' scale, against the committed records)")
    parser.add_argument("--only", nargs="+", metavar="NAME", default=None,
                        help="only these studies (advlandscape study --list)")
    parser.add_argument("--out", type=Path, required=True, help="folder of the fresh records")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    resume.add_arguments(parser)
    parser.set_defaults(func=run)


def _scale_of(study: Any, scale: str) -> str:
    """The study's own scale that ``reproduce --scale`` runs (its ``REPRODUCE`` mapping)."""
    return study.reproduce.get(scale, scale)


def reproduce(names: list[str] | None, scale: str, out: Path, *, fresh: bool = False,
              resume_stale: bool = False, progress: bool = True) -> dict[str, Any]:
    """Run the studies ``names`` (default all) at ``scale`` into ``out`` and compare them.

    Returns:
        ``{"scale", "studies": [comparison dicts], "seconds": {study: s}, "passed"}``, also
        written to ``out/reproduction.json`` and, as a table, ``out/reproduction.md``.
    """
    from numerics.experiments.registry import STUDIES, get_study
    from numerics.experiments.reproduce import compare_records, reference_path, render_markdown
    from numerics.records import atomic_write_bytes, read_result, write_json
    from numerics.validate import check_writable_dir

    studies = [get_study(n) for n in names] if names else list(STUDIES.values())
    check_writable_dir(out)
    configs = {s.name: s.config_for(_scale_of(s, scale)) for s in studies}  # all validated now
    # the bar counts estimated minutes (each study's MINUTES spread over its units), so its ETA
    # weighs a ResNet unit and a smoothness unit by what they cost
    minutes = {s.name: s.estimate(_scale_of(s, scale)) or 1.0 for s in studies}
    bar = tqdm(total=round(sum(minutes.values()), 2), desc=f"reproduce ({scale})",
               unit="min", file=sys.stderr, disable=not progress,
               bar_format="{l_bar}{bar}| {n:.1f}/{total:.1f} est. min [{elapsed}<{remaining}"
                          "{postfix}]")
    comparisons, seconds = [], {}
    try:
        for study in studies:
            cfg = configs[study.name]
            record = out / study.name / study.result_name(cfg.profile)
            bar.set_postfix_str(study.name)
            start = time.perf_counter()
            share = _Share(bar, minutes[study.name] / len(study.unit_names(cfg)))
            if record.is_file() and read_result(record)["config"] == _plain_config(cfg):
                share.update(len(study.unit_names(cfg)))  # finished in an earlier run
            else:
                from numerics.experiments.protocol import execute

                execute(study, cfg, record, overwrite=True, fresh=fresh,
                        resume_stale=resume_stale, progress=share if progress else False)
            seconds[study.name] = time.perf_counter() - start
            ref = reference_path(study, _scale_of(study, scale))
            comparisons.append(compare_records(
                study.name, read_result(record), None if ref is None else read_result(ref),
                None if ref is None else _shown(ref),
                getattr(study, "tolerance", None)))
    finally:
        bar.close()
    report = {"scale": scale, "studies": [c.to_dict() for c in comparisons],
              "seconds": seconds, "passed": all(c.passed for c in comparisons)}
    write_json(out / "reproduction.json", report, overwrite=True)
    text = render_markdown(comparisons, scale, seconds,
                           header=f"`advlandscape reproduce --scale {scale}` into `{out}`.")
    atomic_write_bytes(out / "reproduction.md", text.encode(), overwrite=True)
    return report


class _Share:
    """One study's share of the overall bar: each unit advances it by its estimated minutes."""

    def __init__(self, bar: Any, weight: float) -> None:
        self.bar, self.weight = bar, weight

    def update(self, n: int = 1) -> None:
        """Advance the overall bar by ``n`` units of this study."""
        self.bar.update(n * self.weight)


def _shown(path: Path) -> str:
    """A reference's path as the report shows it: relative to the repository when inside it."""
    from numerics.records import REPO_ROOT

    try:
        return str(path.relative_to(REPO_ROOT))
    except ValueError:
        return str(path)


def _plain_config(cfg: Any) -> Any:
    """The config as a record stores it (JSON round trip)."""
    import json

    from numerics.records.files import _jsonable

    return json.loads(json.dumps(_jsonable(cfg)))


def run(args: argparse.Namespace) -> int:
    """Reproduce, print the table, exit 1 when some study is not reproduced."""
    report = reproduce(args.only, args.scale, args.out, fresh=args.fresh,
                       resume_stale=args.resume_stale, progress=not args.no_progress)
    print((args.out / "reproduction.md").read_text(encoding="utf-8"))
    return 0 if report["passed"] else 1

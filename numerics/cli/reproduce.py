"""``advlandscape reproduce``: every registered study from scratch, compared with the committed
records; what a reviewer runs.

Examples::

    advlandscape reproduce --scale ci --out runs/repro-ci
    advlandscape reproduce --scale full --only mnist2 budget --out runs/repro-full
    advlandscape reproduce --scale full --jobs 2 --out runs/repro-full

Each study runs into ``OUT/<study>/`` through the one protocol
(:func:`numerics.experiments.protocol.execute`): interrupted, the same command resumes (finished
studies are kept, finished units of the running one are reused). One progress bar counts every
unit of every study, with its ETA. ``--jobs N`` runs N studies at a time, each in its own process
on its share of the cores (torch threads: cores // N), the longest (by its estimate) first; a
study's units are the same either way. Then each fresh record is compared number by number with the
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
from theory.errors import ConfigError

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
    parser.add_argument("--jobs", type=int, default=1, metavar="N",
                        help="studies run at a time, each in its own process on cores // N "
                        "torch threads, the longest first (default 1: one after another, "
                        "in this process)")
    resume.add_arguments(parser)
    parser.set_defaults(func=run)


def _scale_of(study: Any, scale: str) -> str:
    """The study's own scale that ``reproduce --scale`` runs (its ``REPRODUCE`` mapping)."""
    return study.reproduce.get(scale, scale)


def reproduce(names: list[str] | None, scale: str, out: Path, *, fresh: bool = False,
              resume_stale: bool = False, progress: bool = True, jobs: int = 1
              ) -> dict[str, Any]:
    """Run the studies ``names`` (default all) at ``scale`` into ``out`` and compare them;
    ``jobs`` studies at a time, each in its own process (module docstring).

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
    weights = {s.name: minutes[s.name] / len(s.unit_names(configs[s.name])) for s in studies}
    try:
        if jobs > 1:
            seconds = _run_parallel([s.name for s in studies], scale, out, jobs, bar, weights,
                                    fresh=fresh, resume_stale=resume_stale)
        for study in studies:
            cfg = configs[study.name]
            record = out / study.name / study.result_name(cfg.profile)
            if jobs == 1:
                bar.set_postfix_str(study.name)
                seconds[study.name] = _run_one(study, cfg, record, _Share(bar, weights[study.name]),
                                               fresh=fresh, resume_stale=resume_stale,
                                               progress=progress)
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


def _run_one(study: Any, cfg: Any, record: Path, share: Any, *, fresh: bool,
             resume_stale: bool, progress: bool) -> float:
    """Run one study into ``record`` (kept when it is already this config's); its seconds."""
    from numerics.experiments.protocol import execute
    from numerics.experiments.reproduce import plain_config
    from numerics.records import read_result

    start = time.perf_counter()
    if record.is_file() and read_result(record)["config"] == plain_config(cfg):
        share.update(len(study.unit_names(cfg)))  # finished in an earlier run
    else:
        execute(study, cfg, record, overwrite=True, fresh=fresh, resume_stale=resume_stale,
                progress=share if progress else False)
    return time.perf_counter() - start


def _run_parallel(names: list[str], scale: str, out: Path, jobs: int, bar: Any,
                  weights: dict[str, float], *, fresh: bool, resume_stale: bool
                  ) -> dict[str, float]:
    """Run the studies ``names`` ``jobs`` at a time, each in a process of its own on
    cores // jobs torch threads, the longest estimate first; the bar advances as each process
    reports a finished unit. Returns each study's seconds (its own process's wall time).

    The workers end with this process however it ends (:func:`die_with_parent`); a study
    interrupted with them keeps its finished units in its checkpoint, as in one process."""
    import concurrent.futures as cf
    import multiprocessing
    import os
    import queue

    from numerics.experiments.registry import get_study

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (
        os.cpu_count() or 1)
    threads = max(1, cores // jobs)
    order = sorted(names, key=lambda n: -(get_study(n).estimate(_scale_of(get_study(n), scale))
                                          or 1.0))
    context = multiprocessing.get_context("spawn")
    done_units = context.Queue()  # (study, units) from the workers, which inherit it
    seconds: dict[str, float] = {}

    def drain(timeout: float | None) -> None:
        try:
            while True:
                name, n = done_units.get(timeout=timeout) if timeout else done_units.get_nowait()
                bar.update(n * weights[name])
                timeout = None
        except queue.Empty:
            pass

    with cf.ProcessPoolExecutor(max_workers=jobs, mp_context=context, initializer=_init_worker,
                                initargs=(os.getpid(), done_units, threads)) as pool:
        futures = {pool.submit(_study_process, name, scale, str(out), fresh, resume_stale): name
                   for name in order}
        pending = set(futures)
        try:
            while pending:
                drain(0.5)
                finished = {f for f in pending if f.done()}
                for f in finished:
                    seconds[futures[f]] = f.result()  # a study's error ends the run here
                    bar.set_postfix_str(f"{futures[f]} done")
                pending -= finished
        except BaseException:
            for f in pending:
                f.cancel()
            raise
    drain(None)
    done_units.close()
    return seconds


#: In a worker of :func:`_run_parallel`: the queue its studies report finished units to.
_DONE_UNITS: Any = None


def _init_worker(parent: int, done_units: Any, threads: int) -> None:
    """Start a worker of :func:`_run_parallel`: end with ``parent``, keep its queue, and run
    torch on ``threads`` threads."""
    import torch

    from numerics.sweep.executors import die_with_parent

    global _DONE_UNITS
    die_with_parent(parent)
    _DONE_UNITS = done_units
    torch.set_num_threads(threads)


class _QueueShare:
    """A study's progress in a worker process: each finished unit goes to the parent's bar."""

    def __init__(self, name: str, done_units: Any) -> None:
        self.name, self.done_units = name, done_units

    def update(self, n: int = 1) -> None:
        """Report ``n`` finished units of this study."""
        self.done_units.put((self.name, n))


def _study_process(name: str, scale: str, out: str, fresh: bool, resume_stale: bool) -> float:
    """In a worker process: run study ``name`` at ``scale`` into ``out/<name>/``; its
    seconds."""
    from numerics.experiments.registry import get_study

    study = get_study(name)
    cfg = study.config_for(_scale_of(study, scale))
    record = Path(out) / name / study.result_name(cfg.profile)
    return _run_one(study, cfg, record, _QueueShare(name, _DONE_UNITS), fresh=fresh,
                    resume_stale=resume_stale, progress=True)


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


def run(args: argparse.Namespace) -> int:
    """Reproduce, print the table, exit 1 when some study is not reproduced."""
    if args.jobs < 1:
        raise ConfigError(f"--jobs {args.jobs}: give the number of studies to run at a time, "
                          "1 or more")
    report = reproduce(args.only, args.scale, args.out, fresh=args.fresh,
                       resume_stale=args.resume_stale, progress=not args.no_progress,
                       jobs=args.jobs)
    print((args.out / "reproduction.md").read_text(encoding="utf-8"))
    return 0 if report["passed"] else 1

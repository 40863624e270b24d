"""``advlandscape reproduce``: every registered study from scratch, compared with the committed
records; what a reviewer runs.

Examples::

    advlandscape reproduce --scale ci --out runs/repro-ci
    advlandscape reproduce --scale full --only mnist2 budget --out runs/repro-full
    advlandscape reproduce --scale full --jobs 2 --out runs/repro-full

Each study runs into ``OUT/<study>/`` through the one protocol
(:func:`numerics.experiments.protocol.execute`): interrupted, the same command resumes (finished
studies are kept, finished units of the running one are reused). One progress bar counts every
unit of every study, with its ETA. ``--jobs N`` runs N tasks at a time, each in its own process
on its share of the cores (torch threads: cores // N), the longest (by its estimate) first: a
study that declares ``AXES`` splits into its parts (:mod:`numerics.experiments.parts`, one
(setting, table, seed) of the sensitivity study, say), the others run whole; a study's units and
record are the same either way. Then each fresh record is compared number by number with the
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
                        help="tasks run at a time, each in its own process on cores // N "
                        "torch threads, the longest first: whole studies, or the parts of "
                        "a study that splits (default 1: one study after another, in this "
                        "process)")
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
    comparisons, seconds, split_counts = [], {}, {s.name: 1 for s in studies}
    weights = {s.name: minutes[s.name] / len(s.unit_names(configs[s.name])) for s in studies}
    try:
        if jobs > 1:
            seconds = _run_parallel([s.name for s in studies], scale, out, jobs, bar, weights,
                                    split_counts,
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
              "parts": split_counts, "seconds": seconds,
              "passed": all(c.passed for c in comparisons)}
    write_json(out / "reproduction.json", report, overwrite=True)
    text = render_markdown(comparisons, scale, seconds,
                           header=f"`advlandscape reproduce --scale {scale}` into `{out}`.")
    atomic_write_bytes(out / "reproduction.md", text.encode(), overwrite=True)
    return report


def _run_one(study: Any, cfg: Any, record: Path, share: Any, *, fresh: bool,
             resume_stale: bool, progress: bool) -> float:
    """Run one study into ``record`` (kept when it is already this config's); its seconds. The
    units its parts finished (``--jobs``: all of them, or some before an interruption) are
    taken over (:func:`_adopt_parts`), and their folder removed once the record is written."""
    import shutil

    from numerics.experiments.protocol import execute

    start = time.perf_counter()
    parts_dir = _parts_dir(record)
    if fresh:
        shutil.rmtree(parts_dir, ignore_errors=True)
    if _finished(study, cfg, record):
        share.update(len(study.unit_names(cfg)))  # finished in an earlier run
    else:
        _adopt_parts(study, cfg, record, resume_stale)
        execute(study, cfg, record, overwrite=True, fresh=fresh, resume_stale=resume_stale,
                progress=share if progress else False)
    shutil.rmtree(parts_dir, ignore_errors=True)
    return time.perf_counter() - start


def _finished(study: Any, cfg: Any, record: Path) -> bool:
    """Whether ``record`` is already a finished run of ``cfg``."""
    from numerics.experiments.reproduce import plain_config
    from numerics.records import read_result

    return record.is_file() and read_result(record)["config"] == plain_config(cfg)


def _other_checkpoint(study: Any, cfg: Any, record: Path) -> bool:
    """Whether the checkpoint beside ``record`` holds units of another config (which
    :func:`numerics.experiments.protocol.execute` refuses, naming how the configs differ)."""
    from numerics.experiments.protocol import default_checkpoint_dir
    from numerics.experiments.units import checkpoint_path, matching_checkpoint

    ckpt_dir = default_checkpoint_dir(record)
    return (checkpoint_path(study.name, ckpt_dir).is_file()
            and matching_checkpoint(study.name, cfg, ckpt_dir) is None)


def _adopt_parts(study: Any, cfg: Any, record: Path, resume_stale: bool) -> None:
    """Merge the units finished by the parts of ``study`` at ``cfg`` (``.parts/<i>/`` beside
    ``record``) into the checkpoint of the whole run (:func:`numerics.experiments.parts.merge`),
    so that running it whole computes none of them again; nothing when there are none, or when
    that checkpoint holds another config's units."""
    from numerics.experiments.parts import merge, split
    from numerics.experiments.protocol import default_checkpoint_dir

    folder = _parts_dir(record)
    if not folder.is_dir() or _other_checkpoint(study, cfg, record):
        return
    ckpt_dir = default_checkpoint_dir(record)
    ckpt_dir.mkdir(parents=True, exist_ok=True)
    merge(study, cfg, [(p, folder / str(i)) for i, p in enumerate(split(study, cfg))],
          ckpt_dir, accept_stale=resume_stale)


def _run_parallel(names: list[str], scale: str, out: Path, jobs: int, bar: Any,
                  weights: dict[str, float], split_counts: dict[str, int], *, fresh: bool,
                  resume_stale: bool) -> dict[str, float]:
    """Run the studies ``names`` on ``jobs`` processes, each on cores // jobs torch threads:
    a study with ``AXES`` whose estimate exceeds the balance (the sum of the estimates over
    ``jobs``) as its parts (:func:`numerics.experiments.parts.split`), each a task of its own,
    the others whole; the longest task (by its share of the estimates) first. Once the parts of
    a study are done, one more task, next in line, takes their units over (:func:`_adopt_parts`)
    and assembles its record, computing no unit again. The bar advances as each process reports
    a finished unit. Returns each study's seconds (the sum over its processes' tasks);
    ``split_counts`` gets each study's number of tasks (1: whole).

    The workers end with this process however it ends (:func:`die_with_parent`). Interrupted,
    the finished units stay in the parts' checkpoints (``OUT/<study>/.parts/``) and the same
    command resumes them."""
    import concurrent.futures as cf
    import multiprocessing
    import os
    import queue

    from numerics.experiments.registry import get_study
    from numerics.sweep.executors import sleeping_openmp_waits

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (
        os.cpu_count() or 1)
    threads = max(1, cores // jobs)
    tasks: list[tuple[float, str, int | None]] = []  # (estimated minutes, study, part or None)
    parts: dict[str, list[Any]] = {}
    estimates = {n: get_study(n).estimate(_scale_of(get_study(n), scale)) or 1.0 for n in names}
    share = sum(estimates.values()) / jobs  # the wall time of a perfect balance
    for name in names:
        study, estimate = get_study(name), estimates[name]
        if fresh:  # discard the parts' and the study's checkpoints before any work
            _discard(study, scale, out)
        # only a study longer than the balance is split: whole studies, longest first, fill the
        # processes as well otherwise, without each part loading the data again
        parts[name] = _parts(study, scale, out) if estimate > share else [None]
        split_counts[name] = len(parts[name])
        if len(parts[name]) == 1:
            tasks.append((estimate, name, None))
        else:
            tasks += [(estimate / len(parts[name]), name, i) for i in range(len(parts[name]))]
    tasks.sort(key=lambda t: -t[0])
    context = multiprocessing.get_context("spawn")
    sleeping_openmp_waits()
    done_units = context.Queue()  # (study, units) from the workers, which inherit it
    seconds: dict[str, float] = dict.fromkeys(names, 0.0)

    def drain(timeout: float | None) -> None:
        try:
            while True:
                name, n = done_units.get(timeout=timeout) if timeout else done_units.get_nowait()
                _advance(bar, n * weights[name])
                timeout = None
        except queue.Empty:
            pass

    # at most `jobs` tasks in flight, so that an assembly (queued when a study's last part is
    # done) starts next rather than after every part of every study
    queued = [(name, part, True) for _, name, part in tasks]  # (study, part, count its units)
    left = {name: len(p) for name, p in parts.items() if len(p) > 1}
    with cf.ProcessPoolExecutor(max_workers=jobs, mp_context=context, initializer=_init_worker,
                                initargs=(os.getpid(), done_units, threads)) as pool:
        running: dict[Any, tuple[str, int | None]] = {}
        try:
            while queued or running:
                while queued and len(running) < jobs:
                    name, part, count = queued.pop(0)
                    running[pool.submit(_study_process, name, scale, str(out), False,
                                        resume_stale, part, count)] = (name, part)
                drain(0.5)
                for f in [f for f in running if f.done()]:
                    name, part = running.pop(f)
                    seconds[name] += f.result()  # a task's error ends the run here
                    if part is None:
                        bar.set_postfix_str(f"{name} done")
                        continue
                    left[name] -= 1
                    if left[name] == 0:  # every part done: assemble the record next
                        queued.insert(0, (name, None, False))
        except BaseException:
            for f in running:
                f.cancel()
            raise
    drain(None)
    done_units.close()
    return seconds


def _discard(study: Any, scale: str, out: Path) -> None:
    """``--fresh``: remove the checkpoints of ``study``'s parts and of its whole run."""
    import shutil

    from numerics.experiments.protocol import default_checkpoint_dir

    _, record = _config_and_record(study, scale, out)
    shutil.rmtree(_parts_dir(record), ignore_errors=True)
    shutil.rmtree(default_checkpoint_dir(record), ignore_errors=True)


def _config_and_record(study: Any, scale: str, out: str | Path) -> tuple[Any, Path]:
    """The config ``reproduce --scale`` runs of ``study`` and its record in ``OUT/<study>/``."""
    cfg = study.config_for(_scale_of(study, scale))
    return cfg, Path(out) / study.name / study.result_name(cfg.profile)


def _parts_dir(record: Path) -> Path:
    """The folder of the checkpoints of the parts of the study recorded in ``record``:
    ``.parts/`` beside it, one ``<i>/`` a part."""
    return record.parent / ".parts"


def _parts(study: Any, scale: str, out: Path) -> list[Any]:
    """The parts :func:`_run_parallel` runs of a study that is worth splitting: its
    :func:`numerics.experiments.parts.split`, or ``[None]`` (run it whole) when its record is
    already this config's or the checkpoint beside it holds another config's units (the whole
    run then refuses it, naming how the configs differ)."""
    from numerics.experiments.parts import split

    cfg, record = _config_and_record(study, scale, out)
    if _finished(study, cfg, record) or _other_checkpoint(study, cfg, record):
        return [None]
    return split(study, cfg)


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


def _study_process(name: str, scale: str, out: str, fresh: bool, resume_stale: bool,
                   part: int | None = None, count: bool = True) -> float:
    """In a worker process: run study ``name`` at ``scale`` into ``out/<name>/`` (or only its
    part number ``part``, into that part's checkpoint); its seconds. ``count``: report the
    units to the parent's bar (not when assembling a record from parts already counted)."""
    from numerics.experiments.parts import split
    from numerics.experiments.registry import get_study, run_study

    study = get_study(name)
    cfg, record = _config_and_record(study, scale, out)
    share = _QueueShare(name, _DONE_UNITS)
    if part is not None:
        start = time.perf_counter()
        folder = _parts_dir(record) / str(part)
        folder.mkdir(parents=True, exist_ok=True)
        run_study(name, split(study, cfg)[part], checkpoint_dir=folder, progress=share,
                  accept_stale=resume_stale)
        return time.perf_counter() - start
    return _run_one(study, cfg, record, share, fresh=fresh, resume_stale=resume_stale,
                    progress=count)


def _advance(bar: Any, minutes: float) -> None:
    """Advance the overall bar by ``minutes``, never past its total (the units' shares of the
    estimates add up to it only up to rounding)."""
    bar.update(max(0.0, min(minutes, bar.total - bar.n)))


class _Share:
    """One study's share of the overall bar: each unit advances it by its estimated minutes."""

    def __init__(self, bar: Any, weight: float) -> None:
        self.bar, self.weight = bar, weight

    def update(self, n: int = 1) -> None:
        """Advance the overall bar by ``n`` units of this study."""
        _advance(self.bar, n * self.weight)


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

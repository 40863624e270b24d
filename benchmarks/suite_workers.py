"""Benchmark: the README's test command (`pytest`) with N worker processes, back to back.

`pytest` runs the suite on pytest-xdist workers (``-n`` in pyproject.toml). Many tests wait on a
process they start (a CLI command, a notebook kernel, a Ray worker), so a worker is not always
busy; this runs the whole suite once per worker count given, one after the other in this run,
and prints each wall time, its CPU time (the children's user + system) and the ratio to the
first count. Run it on an otherwise idle machine.

    python benchmarks/suite_workers.py --workers 2 3
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def _run(workers: int, extra: list[str]) -> tuple[float, float, str]:
    """Wall and CPU seconds of ``pytest -n workers`` and its summary line."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           "-n", str(workers), *extra], cwd=REPO, capture_output=True,
                          text=True, env={**os.environ}, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    summary = [line for line in done.stdout.splitlines()
               if re.search(r"\d+ passed|failed|error", line)]
    return wall, cpu, summary[-1] if summary else f"exit {done.returncode}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, nargs="+", default=[2, 3])
    parser.add_argument("pytest_args", nargs="*", help="more pytest arguments (after --)")
    args = parser.parse_args()
    rows = []
    for n in args.workers:
        wall, cpu, summary = _run(n, args.pytest_args)
        rows.append((n, wall, cpu, summary))
        print(f"-n {n}: {wall:7.1f} s wall, {cpu:7.1f} s CPU  ({summary})", flush=True)
    first = rows[0][1]
    print(f"{'workers':>8} {'wall s':>8} {'CPU s':>8} {'CPU/wall':>9} {'wall vs first':>14}")
    for n, wall, cpu, _ in rows:
        print(f"{n:>8} {wall:>8.1f} {cpu:>8.1f} {cpu / wall:>9.2f} {wall / first:>14.2f}")


if __name__ == "__main__":
    main()

"""How ``pytest`` spreads the tests over its workers (pytest-xdist, ``-n 2 --dist loadgroup``
in pyproject.toml): one test at a time to whichever worker is free, except groups of tests that
must run in one worker, one after the other, in their order. Such a group is

- a notebook: nbval runs its cells in order on one kernel;
- a test module with a module-scoped fixture (a Ray instance, a small trained run): the fixture
  is then built once, not once per worker;
- the tests that use ``cpu_load`` (tests/conftest.py: the fault tests, beside
  ``$ADVLANDSCAPE_TEST_LOAD`` busy processes), whatever their module: one module's load at a
  time, as in a serial run, not one in each worker;
- the tests marked ``@pytest.mark.xdist_group("name")`` with the same name: tests that share
  something outside their own ``tmp_path`` (a fixed port, a file of the repository, a process
  of the machine) and so must not run at the same time. A test that must run in the same worker
  as its module's other tests, without a module-scoped fixture, is marked so with its module's
  name.

A new test file needs nothing of this unless its tests share such a thing. ``pytest -n 0``
runs everything in one process, in file order (for a debugger, or ``-x`` on the first failure).
"""

from __future__ import annotations

import os

import pytest


def pytest_configure(config: pytest.Config) -> None:
    """Before ``-n N`` starts its workers: their OpenMP threads, and those of the processes
    they start, sleep while they wait for work instead of spinning (``OMP_WAIT_POLICY``, read
    when torch loads OpenMP, so set here, in the parent, before the workers exist). A study
    that runs on more threads than a worker's share (the MNIST2 family's ci scale runs on 2)
    beside the other worker otherwise spins on the cores the other needs: CIFAR2's ci tables,
    two runs side by side, took 42 s each spinning and 4.8 s sleeping (2.8 s alone, where
    spinning is the faster; ``python benchmarks/omp_wait.py``); the whole suite went from 369 s
    to 287 s. ``pytest -n 0`` keeps the default.

    In a worker of ``-n N``: torch on ``cores // N`` threads (at least one), the worker's share
    of the machine, so that N workers do not fight over the cores. The processes a test starts
    (a CLI command, a notebook's kernel) get the same share through ``OMP_NUM_THREADS`` and
    ``MKL_NUM_THREADS``: with torch's default (every core) in each, two workers' processes
    oversubscribe the cores and their threads wait on one another (a reproduction test took
    117 s beside the other worker, 20 s alone)."""
    if config.getoption("numprocesses", None) and "PYTEST_XDIST_WORKER" not in os.environ:
        from numerics.sweep.executors import sleeping_openmp_waits

        sleeping_openmp_waits()
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    if workers > 1:
        import torch

        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (
            os.cpu_count() or 1)
        share = max(1, cores // workers)
        torch.set_num_threads(share)
        for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ[name] = str(share)


# Fixtures that load the whole machine: the tests using one of them form one group, its name.
MACHINE_FIXTURES = ("cpu_load",)


def _group(item: pytest.Item) -> str | None:
    """The group ``item`` must run in (see the module docstring), or None: any worker."""
    if item.get_closest_marker("xdist_group") is not None:
        return None  # marked by hand: xdist uses the mark's name
    for name in MACHINE_FIXTURES:
        if name in getattr(item, "fixturenames", ()):
            return name
    if item.parent is not None and type(item.parent).__name__ == "IPyNbFile":  # nbval's cell
        return str(item.path.relative_to(item.config.rootpath))
    info = getattr(item, "_fixtureinfo", None)
    if info is None:
        return None
    for defs in info.name2fixturedefs.values():
        if defs and defs[-1].scope in ("module", "class", "package"):
            return str(item.path.relative_to(item.config.rootpath))
    return None


def _suffix_group(item: pytest.Item) -> None:
    """Append ``@<group>`` to a marked item's test id, as pytest-xdist does in its workers so
    that its ``loadgroup`` scheduler, which sees only the ids, keeps a group together. Done
    here as well because xdist's own step writes ``item._nodeid``, which pytest 9.2 no longer
    reads (its ids come from ``item._id``), and would leave every group split."""
    names = sorted({str(m.args[0] if m.args else m.kwargs.get("name", "default"))
                    for m in item.iter_markers("xdist_group")})
    nodeid = item.nodeid
    if not names or nodeid.rfind("@") > nodeid.rfind("]"):  # ungrouped, or xdist did it
        return
    grouped = f"{nodeid}@{'_'.join(names)}"
    if hasattr(item, "_id"):  # pytest >= 9.2
        from _pytest.nodes import coerce_node_id

        item._id = coerce_node_id(grouped)
    else:
        item._nodeid = grouped


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark each test of a group (see the module docstring) ``xdist_group(<group>)``; in a
    worker of ``--dist loadgroup``, put every group's name into its tests' ids."""
    for item in items:
        group = _group(item)
        if group is not None:
            item.add_marker(pytest.mark.xdist_group(group))
    if getattr(config.option, "loadgroup", False):  # set in the workers only
        for item in items:
            _suffix_group(item)

"""Shared test fixtures: float64 by default, no downloads, the data root, small random problems,
CPU load."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import torch

from numerics.data.paths import data_dir

from cases import HESSIAN_CASES, NetCase, build

torch.set_default_dtype(torch.float64)


@pytest.fixture(autouse=True)
def no_downloads(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test downloads data by accident: loaders that find files missing raise (as CI, which
    sets ADVLANDSCAPE_OFFLINE=1 anyway) instead of fetching them on first use. Tests of the
    downloads set ADVLANDSCAPE_OFFLINE=0 and ADVLANDSCAPE_DATA_MIRROR to a local server."""
    monkeypatch.setenv("ADVLANDSCAPE_OFFLINE", "1")
    monkeypatch.delenv("ADVLANDSCAPE_DATA_MIRROR", raising=False)


@pytest.fixture(scope="session")
def data_root() -> Path:
    """The data root ($ADVLANDSCAPE_DATA, as CI sets it); tests needing MNIST skip without it."""
    root = data_dir()
    if not (root / "mnist" / "train-images-idx3-ubyte.gz").exists():
        if os.environ.get("CI"):
            pytest.fail(f"CI must provide MNIST in {root}/mnist (set ADVLANDSCAPE_DATA)")
        pytest.skip(f"MNIST not found in {root}/mnist (set ADVLANDSCAPE_DATA)")
    return root


@pytest.fixture(params=HESSIAN_CASES)
def net_case(request: pytest.FixtureRequest) -> NetCase:
    """``(model, x, y)`` of each network case of the Hessian tests (tests/cases.py), fresh."""
    return build(request.param)


@pytest.fixture
def one_thread() -> object:
    """Run a test on one torch thread: tiny models are fastest so, and CPU results bit-identical."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


# --------------------------------------------------------------------------------------------
# ADVLANDSCAPE_TEST_LOAD=N: the fault-injection tests (tests/test_faults*.py, through the
# cpu_load fixture) run beside N CPU-bound processes, as on a busy CI runner (.ci/run sets 2).
# Their kills wait on events the drivers print, never on the clock, so they must pass so.


def _test_load() -> int:
    text = os.environ.get("ADVLANDSCAPE_TEST_LOAD", "0")
    try:
        count = int(text)
    except ValueError:
        count = -1
    if count < 0:
        raise pytest.UsageError(
            f"ADVLANDSCAPE_TEST_LOAD must be a whole number >= 0 (CPU-bound processes beside the "
            f"fault tests), got {text!r}")
    return count


def pytest_configure(config: pytest.Config) -> None:
    """Refuse a bad ADVLANDSCAPE_TEST_LOAD before any test runs."""
    _test_load()


def pytest_report_header(config: pytest.Config) -> str | None:
    """Say when the fault tests run under load."""
    count = _test_load()
    return (f"ADVLANDSCAPE_TEST_LOAD={count}: tests/test_faults*.py run beside {count} CPU-bound "
            "processes" if count else None)


@pytest.fixture(scope="module")
def cpu_load() -> Iterator[list[subprocess.Popen]]:
    """ADVLANDSCAPE_TEST_LOAD busy-looping processes for the whole module (none by default);
    the module's tests fail if one of them ended before the module did."""
    procs = [subprocess.Popen([sys.executable, "-c", "while True: pass"],
                              stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL) for _ in range(_test_load())]
    try:
        yield procs
        ended = [p.pid for p in procs if p.poll() is not None]
        assert not ended, f"load processes {ended} ended early: not every test ran under load"
    finally:
        for proc in procs:
            proc.kill()
            proc.wait()


@pytest.fixture
def make_stale() -> Callable[..., None]:
    """Rewrite a checkpoint as another version of the code would have written it: one source
    file's digest (``numerics/nets/train.py`` by default) and torch's version differ."""
    def rewrite(path: Path, source: str = "numerics/nets/train.py") -> None:
        record = torch.load(path, weights_only=True)
        record["code"]["sources"][source] = "0" * 16
        record["code"]["libraries"]["torch"] = "2.12.0"
        torch.save(record, path)

    return rewrite

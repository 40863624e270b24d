"""Shared test fixtures: float64 by default, the data root, and small random problems."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from numerics.data.paths import data_dir

torch.set_default_dtype(torch.float64)


@pytest.fixture(scope="session")
def data_root() -> Path:
    """The data root ($ADVLANDSCAPE_DATA, as CI sets it); tests needing MNIST skip without it."""
    root = data_dir()
    if not (root / "mnist" / "train-images-idx3-ubyte.gz").exists():
        if os.environ.get("CI"):
            pytest.fail(f"CI must provide MNIST in {root}/mnist (set ADVLANDSCAPE_DATA)")
        pytest.skip(f"MNIST not found in {root}/mnist (set ADVLANDSCAPE_DATA)")
    return root


@pytest.fixture
def one_thread() -> object:
    """Run a test on one torch thread: tiny models are fastest so, and CPU results bit-identical."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)

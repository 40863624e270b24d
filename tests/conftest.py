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

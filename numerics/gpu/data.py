"""The images the GPU stages train on, read from a data root or a GPU pack
(:mod:`numerics.gpu.pack`): MNIST through the data layer, CIFAR-10 from the ``.npz`` parts present.

A pack holds CIFAR-10 training part 1 (10,000 images) and test images 0..999 only, so
:func:`cifar10_images` reads the training parts it needs (``ceil(n_train / 10000)``, in order),
each checked against the registry's array digests (:func:`numerics.data.verify_file`), and draws
the subsets as :func:`numerics.experiments.resnet.load_image_data` does (one generator seeded
with ``seed``: the training subset, then the test subset).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch

from numerics.data.paths import data_dir
from numerics.data.subsets import seeded_subset_indices
from theory.errors import DataError

__all__ = ["ImageData", "cifar10_images", "to_tensor"]

#: ``(x_train, y_train, x_test, y_test)``: float64 NCHW images in [0, 1], int64 labels.
ImageData = tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]

_PART = 10_000


def to_tensor(x: np.ndarray) -> torch.Tensor:
    """uint8 images NHWC -> float64 NCHW in [0, 1]."""
    t = torch.from_numpy(np.ascontiguousarray(x)).to(torch.float64) / 255.0
    return t.permute(0, 3, 1, 2).contiguous()


def _read(path: Path, keys: tuple[str, ...]) -> dict[str, np.ndarray]:
    from numerics.data import verify_file

    if not path.is_file():
        raise DataError(f"{path} is missing: pack the data with `advlandscape gpu pack --out "
                        f"DIR` (its --parts names the CIFAR-10 training parts) and pass --data DIR")
    verify_file(path)
    with np.load(path) as z:
        return {k: np.asarray(z[k]) for k in keys}


def cifar10_images(n_train: int, n_test: int, seed: int, root: str | Path | None = None
                   ) -> tuple[ImageData, str]:
    """``n_train`` CIFAR-10 training images drawn from the first ``ceil(n_train / 10000)``
    training parts and ``n_test`` of the official test images 0..999: ``(data, note)``."""
    folder = data_dir(None if root is None else str(root)) / "cifar10"
    parts = max(1, math.ceil(n_train / _PART))
    if n_test > 1000:
        raise DataError(f"n_test = {n_test}: only CIFAR-10 test images 0..999 are available")
    xs, ys = [], []
    for k in range(1, parts + 1):
        arrays = _read(folder / f"cifar10_train_part{k}.npz", ("x", "y"))
        xs.append(arrays["x"])
        ys.append(arrays["y"])
    x, y = np.concatenate(xs), np.concatenate(ys)
    test = _read(folder / "cifar10_test_first1000.npz", ("x", "y"))
    rng = np.random.default_rng(seed)
    i = seeded_subset_indices(len(y), n_train, rng, draw="choice")
    j = seeded_subset_indices(1000, n_test, rng, draw="choice")
    note = (f"CIFAR-10: {len(i)} training images drawn (seed {seed}) from training part(s) "
            f"1..{parts} (official order); test: {len(j)} of the official test images 0..999")
    data = (to_tensor(x[i]), torch.as_tensor(y[i], dtype=torch.long),
            to_tensor(test["x"][j]), torch.as_tensor(test["y"][j], dtype=torch.long))
    return data, note

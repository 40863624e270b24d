"""The images of the ResNet18 sweep: :func:`load_image_data` loads and subsamples a data set.

``mnist`` (1 channel, 28x28), ``cifar10`` and ``svhn`` (3 channels, 32x32) through
:mod:`numerics.data`, each registered file present checked against its digests first, then
subsampled to the config's ``n_train``/``n_test`` with its seed.
"""

from __future__ import annotations

import numpy as np
import torch

from numerics.data.subsets import check_rows, seeded_subset_indices
from numerics.experiments.resnet.config import ResNetExperimentConfig
from theory.errors import DataError

__all__ = ["ImageData", "load_image_data"]

#: ``(x_train, y_train, x_test, y_test)``: float64 NCHW images in [0, 1], int64 labels.
ImageData = tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]


def _to_tensor(x: np.ndarray) -> torch.Tensor:
    """uint8 images (N, H, W) or NHWC (N, H, W, C) -> float64 NCHW in [0, 1]."""
    t = torch.from_numpy(np.ascontiguousarray(x)).to(torch.float64) / 255.0
    return t.unsqueeze(1) if t.dim() == 3 else t.permute(0, 3, 1, 2).contiguous()


def _subsample(x: np.ndarray, y: np.ndarray, n: int, rng: np.random.Generator, name: str,
               where: str) -> tuple[np.ndarray, np.ndarray]:
    check_rows(n, len(y), name, where, whole="0")  # a layout may hold fewer than the split
    if n == 0 or n >= len(y):
        return np.asarray(x), np.asarray(y)
    idx = seeded_subset_indices(len(y), n, rng, draw="choice")
    return np.asarray(x)[idx], np.asarray(y)[idx]


_LAYOUTS = {"mnist": ("mnist",), "cifar10": ("cifar10", "cifar10-batches", "cifar10-npz"),
            "svhn": ("svhn",)}


def _verify_present_files(dataset: str, root: str | None) -> None:
    """Check every registered file of ``dataset`` that is present against its size and digests
    (an edited file would otherwise train silently); missing files are the loaders' concern."""
    from numerics.data import DATASETS, verify_file

    for layout in _LAYOUTS[dataset]:
        folder = DATASETS[layout].folder(root)
        for spec in DATASETS[layout].files:
            if (folder / spec.name).is_file():
                verify_file(folder / spec.name, spec)


def load_image_data(config: ResNetExperimentConfig, root: str | None = None
                    ) -> tuple[ImageData, str]:
    """Load and subsample ``config.dataset``: ``((x_train, y_train, x_test, y_test), note)``.

    Images are float64 NCHW in [0, 1], labels int64; ``note`` says which test set was used.
    """
    rng = np.random.default_rng(config.train.seed)
    note = ""
    _verify_present_files(config.dataset, root)
    if config.dataset == "mnist":
        from numerics.data import load_mnist

        tr, te = load_mnist("train", root), load_mnist("test", root)
        note = "MNIST official test set"
    elif config.dataset == "cifar10":
        try:
            from numerics.data.cifar10 import load_cifar10
        except ImportError:
            raise DataError("the CIFAR-10 reader (numerics.data.cifar10) is not installed in "
                            "this checkout: update the repository") from None
        part = 5 if config.test_split == "holdout" else None
        tr, te = (load_cifar10(s, root, holdout_part=part) for s in ("train", "test"))
        note = te.note or "CIFAR-10 official test set"
    else:
        try:
            from numerics.data.svhn import load_svhn
        except ImportError:
            raise DataError("the SVHN reader (numerics.data.svhn) is not installed in this "
                            "checkout: update the repository") from None
        tr, te = load_svhn("train", root), load_svhn("test", root)
        note = "SVHN official test set"
    xtr, ytr = _subsample(*tr, config.n_train, rng, "n_train",
                          f"the {config.dataset} training images here")
    xte, yte = _subsample(*te, config.n_test, rng, "n_test", f"the test images here ({note})")
    data = (_to_tensor(xtr), torch.as_tensor(ytr, dtype=torch.long),
            _to_tensor(xte), torch.as_tensor(yte, dtype=torch.long))
    return data, note

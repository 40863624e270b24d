"""SVHN (cropped digits, format 2) from the official ``{train,test,extra}_32x32.mat`` files."""

from __future__ import annotations

import functools
import os
import zlib
from pathlib import Path

import numpy as np
import scipy.io

from numerics.data.arrays import LabeledArrays, fresh, readonly
from numerics.data.fetch import fetch_missing
from numerics.data.paths import data_dir
from numerics.data.registry import DATASETS, verify_file
from theory.errors import DataError

__all__ = ["SVHN_CLASSES", "SVHN_SPLITS", "load_svhn", "read_svhn_mat"]

SVHN_SPLITS = {"train": "train_32x32.mat", "test": "test_32x32.mat", "extra": "extra_32x32.mat"}
SVHN_CLASSES = tuple(str(d) for d in range(10))


def read_svhn_mat(path: str | os.PathLike[str]) -> tuple[np.ndarray, np.ndarray]:
    """Decode an SVHN ``.mat`` file: ``X`` (32, 32, 3, N) uint8 and ``y`` (N, 1) in 1..10.

    Label 10 stands for the digit 0 and is mapped to 0.

    Returns:
        ``(x, y)``: uint8 NHWC ``(N, 32, 32, 3)`` RGB 0..255 and int64 ``(N,)`` in 0..9.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path} is missing")
    try:
        mat = scipy.io.loadmat(path, variable_names=["X", "y"])
    except (ValueError, OSError, EOFError, TypeError, zlib.error) as exc:
        raise DataError(
            f"{path} is corrupt or truncated ({type(exc).__name__}: {exc}); delete it and fetch it "
            "again (advlandscape data --download svhn)"
        ) from None
    if "X" not in mat or "y" not in mat:
        raise DataError(f"{path} has no 'X'/'y' variables: it is not an SVHN format-2 file")
    X, y = np.asarray(mat["X"]), np.asarray(mat["y"]).reshape(-1).astype(np.int64)
    if X.ndim != 4 or X.shape[:3] != (32, 32, 3) or X.shape[3] != y.shape[0]:
        raise DataError(f"{path}: X has shape {X.shape} and y {y.shape}; expected (32, 32, 3, N), "
                        "(N, 1)")
    if y.size and (y.min() < 1 or y.max() > 10):
        raise DataError(f"{path}: labels outside 1..10; not an SVHN format-2 file")
    x = np.ascontiguousarray(X.transpose(3, 0, 1, 2).astype(np.uint8, copy=False))
    return x, np.where(y == 10, 0, y)


@functools.lru_cache(maxsize=2)
def _load_svhn_cached(split: str, folder: str, verify: bool = True) -> LabeledArrays:
    path = Path(folder) / SVHN_SPLITS[split]
    if verify:  # the registered md5, before scipy parses anything
        dataset = DATASETS["svhn-extra" if split == "extra" else "svhn"]
        verify_file(path, next(s for s in dataset.files if s.name == path.name))
    x, y = read_svhn_mat(path)
    readonly(x, y)
    return LabeledArrays(x, y, "svhn", split, SVHN_CLASSES, str(path))


def load_svhn(split: str, root: str | os.PathLike[str] | None = None, *,
              verify: bool = True) -> LabeledArrays:
    """Return SVHN ``split`` as uint8 NHWC (N, 32, 32, 3), RGB 0..255, and int64 digits 0..9.

    A missing file is downloaded on first use unless ``$ADVLANDSCAPE_OFFLINE`` is set
    (:func:`numerics.data.fetch.fetch_missing`).

    Args:
        split: ``"train"`` (73,257 images), ``"test"`` (26,032) or ``"extra"`` (531,131).
        root: data root; files in ``root/svhn/``.
        verify: check the file's registered md5 before parsing it (once a process); ``False``
            only for files that are not the official ones (tests writing their own).

    Returns:
        A :class:`LabeledArrays` (unpacks as ``x, y``): writable copies of arrays cached in
        memory.
    """
    if split not in SVHN_SPLITS:
        raise DataError(f"unknown SVHN split {split!r}: use one of {', '.join(SVHN_SPLITS)}")
    dataset = DATASETS["svhn-extra" if split == "extra" else "svhn"]
    folder = dataset.folder(root)
    if not (folder / SVHN_SPLITS[split]).is_file():
        spec = next(s for s in dataset.files if s.name == SVHN_SPLITS[split])
        fetch_missing(dataset.name, root, [spec])
    return fresh(_load_svhn_cached(split, str(data_dir(root) / dataset.subdir), verify))

"""A tiny binary data set for fast tests: sklearn's 8x8 digits, classes 0 and 1."""

from __future__ import annotations

import functools

import numpy as np

from numerics.data.arrays import LabeledArrays, readonly
from theory.errors import DataError

__all__ = ["DIGITS01_SPLITS", "load_digits01"]

DIGITS01_SPLITS = ("all", "train", "test")


@functools.lru_cache(maxsize=1)
def _digits01() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits  # imported here: sklearn takes seconds to import

    bunch = load_digits()
    keep = bunch.target <= 1
    x = bunch.data[keep].astype(np.float64) / 16.0
    y = np.where(bunch.target[keep] == 1, 1.0, -1.0)
    readonly(x, y)
    return x, y


def load_digits01(split: str = "all") -> LabeledArrays:
    """Return sklearn's digits 0 and 1 (bundled with scikit-learn, no download).

    ``x`` is float64 ``(N, 64)`` (8x8 images flattened) with pixels scaled from 0..16 to [0, 1];
    ``y`` is float64, -1 for digit 0 and +1 for digit 1. ``"all"`` has 360 images (178 zeros,
    182 ones); the fixed split puts every fourth image (index 3, 7, ...) into ``"test"`` (90) and
    the rest into ``"train"`` (270).
    """
    if split not in DIGITS01_SPLITS:
        raise DataError(f"unknown digits split {split!r}: use one of {', '.join(DIGITS01_SPLITS)}")
    x, y = _digits01()
    if split != "all":
        test = np.arange(x.shape[0]) % 4 == 3
        keep = test if split == "test" else ~test
        x, y = x[keep], y[keep]
    else:
        x, y = x.copy(), y.copy()  # writable; the cached arrays stay read-only
    return LabeledArrays(x, y, "digits01", split, ("0", "1"), "sklearn.datasets.load_digits")

"""Seeded subsets of a data set: which rows of n_total a study trains or tests on.

The experiments draw their subsets with one of two numpy generator calls, and the committed
records depend on the exact indices, so both are kept here, named by ``draw``:

- ``"permutation"``: ``np.sort(rng.permutation(n_total)[:n])`` (the data studies, MNIST2 and
  CIFAR2 tables, L-BUDGET);
- ``"choice"``: ``np.sort(rng.choice(n_total, size=n, replace=False))`` (the ResNet18
  experiment). numpy draws these differently, so the two give different subsets for one seed.

A subset larger than its split is refused, not taken as the whole split: a record would name a
size it was not run at. :data:`SPLIT_ROWS` holds the official size of every split the studies
draw from, which their configs check when they are made (:func:`check_subset_size`); the size
the data on disk hold is checked again when the subset is drawn (:func:`check_rows`): a layout may
hold fewer (CIFAR-10's npz layout: 1,000 of the 10,000 test images).
"""

from __future__ import annotations

import numpy as np

from theory.errors import ConfigError

__all__ = ["DRAWS", "SPLIT_ROWS", "check_rows", "check_subset_size", "seeded_subset_indices"]

#: The generator calls :func:`seeded_subset_indices` can make.
DRAWS = ("permutation", "choice")

#: The official number of images of each (data set, split) the studies draw subsets from: MNIST
#: 60,000 / 10,000; MNIST2 (digits 0 and 1) 12,665 / 2,115; CIFAR-10 50,000 / 10,000 (with a
#: training batch held out, 40,000 train); CIFAR2 (frog, ship) 10,000 / 2,000; the CIFAR2 tables'
#: split (``cifar2-tables``: training parts 1-4, 8,017; test: part 5 and the official test
#: images, at most 3,983); SVHN 73,257 / 26,032.
SPLIT_ROWS: dict[tuple[str, str], int] = {
    ("mnist", "train"): 60_000, ("mnist", "test"): 10_000,
    ("mnist2", "train"): 12_665, ("mnist2", "test"): 2_115,
    ("cifar10", "train"): 50_000, ("cifar10", "test"): 10_000,
    ("cifar10-holdout", "train"): 40_000, ("cifar10-holdout", "test"): 10_000,
    ("cifar2", "train"): 10_000, ("cifar2", "test"): 2_000,
    ("cifar2-tables", "train"): 8_017, ("cifar2-tables", "test"): 3_983,
    ("svhn", "train"): 73_257, ("svhn", "test"): 26_032,
}


def check_rows(n: int | None, rows: int, name: str, where: str, whole: str = "None") -> None:
    """Refuse a subset of ``n`` images of ``where`` (``"MNIST2's train split"``), which holds
    ``rows``, when ``n`` is larger; ``None`` and 0 (``whole``: how the config spells "all")
    pass. The message names ``name``, ``n`` and ``rows``.

    Raises:
        ConfigError: ``n > rows``.
    """
    if n is not None and not isinstance(n, bool) and isinstance(n, int) and n > rows:
        raise ConfigError(f"{name} = {n} is more than the {rows:,} images of {where}: the "
                          f"record would name a size the run did not use; give at most {rows} "
                          f"({whole} for all of them)")


def check_subset_size(n: int | None, dataset: str, split: str, name: str,
                      whole: str = "None") -> None:
    """Refuse a subset of ``n`` images of ``dataset``'s ``split`` larger than its official size
    (:data:`SPLIT_ROWS`); ``None`` and 0 (``whole``: how the config spells "all") pass.

    Raises:
        ConfigError: naming ``name``, ``n`` and the images there are.
    """
    check_rows(n, SPLIT_ROWS[(dataset, split)], name, f"{dataset}'s {split} split", whole)


def seeded_subset_indices(n_total: int, n: int | None, seed: int | np.random.Generator,
                          draw: str = "permutation") -> np.ndarray:
    """Sorted indices (int64) of ``n`` of ``n_total`` rows, drawn without replacement.

    ``n`` of ``None`` or at least ``n_total`` selects every row: ``np.arange(n_total)``, and
    nothing is drawn. Otherwise ``seed`` (an int, or a ``np.random.Generator`` whose state the
    draw advances, so that consecutive subsets of one stream differ) drives ``draw``:
    ``"permutation"`` takes the first ``n`` of ``rng.permutation(n_total)``, ``"choice"`` is
    ``rng.choice(n_total, size=n, replace=False)``. The indices are returned sorted, so the
    subset keeps the rows in file order.
    """
    if draw not in DRAWS:
        raise ConfigError(f"draw must be one of {DRAWS}, got {draw!r}")
    n_total = int(n_total)
    if n_total < 0:
        raise ConfigError(f"n_total must be >= 0 (the number of rows), got {n_total}")
    if n is not None and int(n) < 0:
        raise ConfigError(f"n must be >= 0 or None (every row), got {n}")
    if n is None or int(n) >= n_total:
        return np.arange(n_total, dtype=np.int64)
    n = int(n)
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    if draw == "permutation":
        idx = rng.permutation(n_total)[:n]
    else:
        idx = rng.choice(n_total, size=n, replace=False)
    return np.sort(idx).astype(np.int64, copy=False)

"""Seeded subsets of a data set: which rows of n_total a study trains or tests on.

The experiments draw their subsets with one of two numpy generator calls, and the committed
records depend on the exact indices, so both are kept here, named by ``draw``:

- ``"permutation"``: ``np.sort(rng.permutation(n_total)[:n])`` (the data studies, MNIST2 and
  CIFAR2 tables, L-BUDGET);
- ``"choice"``: ``np.sort(rng.choice(n_total, size=n, replace=False))`` (the ResNet18
  experiment). numpy draws these differently, so the two give different subsets for one seed.
"""

from __future__ import annotations

import numpy as np

from theory.errors import ConfigError

__all__ = ["DRAWS", "seeded_subset_indices"]

#: The generator calls :func:`seeded_subset_indices` can make.
DRAWS = ("permutation", "choice")


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

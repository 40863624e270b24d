"""Statistics of the trends the papers claim: rank correlation and strict monotonicity."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import scipy.stats

__all__ = ["increasing", "spearman"]


def spearman(a: Sequence[float], b: Sequence[float]) -> float:
    """Spearman's rank correlation of ``a`` and ``b`` (``scipy.stats.spearmanr``).

    NaN when it is undefined: fewer than 3 pairs, or a constant sequence (scipy would warn and
    return NaN there too; here it is explicit and silent).
    """
    if len(a) != len(b):
        raise ValueError(f"spearman needs sequences of equal length, got {len(a)} and {len(b)}")
    if len(a) < 3 or len(set(a)) < 2 or len(set(b)) < 2:
        return float("nan")
    return float(scipy.stats.spearmanr(a, b).statistic)


def increasing(values: Sequence[float]) -> bool:
    """Whether ``values`` increase strictly (each one above the one before)."""
    return all(b > a for a, b in itertools.pairwise(values))

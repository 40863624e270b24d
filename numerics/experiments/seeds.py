"""Statistics over seeds: the mean, the standard deviation and a 95% interval of a quantity
measured once per seed (initialisation, data order, PGD starts), and "k of n seeds" counts.

The interval is Student's t interval for the mean, mean +- t_{0.975, n-1} sd / sqrt(n): with 5
seeds it is about +-1.24 sd. A paper's number "lies inside" when it is in that interval (a
statement about the mean of the procedure, not about a single run). One seed gives no interval.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import scipy.stats

__all__ = ["count_true", "inside", "interval", "mean_curve"]


def interval(values: Sequence[float]) -> dict[str, Any]:
    """``{"mean", "sd", "n", "ci95": [lo, hi] or None, "values"}`` of per-seed ``values``."""
    v = np.asarray([float(x) for x in values], dtype=np.float64)
    n = int(v.size)
    if n == 0:
        raise ValueError("no values: at least one seed is needed")
    mean = float(v.mean())
    sd = float(v.std(ddof=1)) if n > 1 else 0.0
    ci = None
    if n > 1:
        half = float(scipy.stats.t.ppf(0.975, n - 1)) * sd / math.sqrt(n)
        ci = [mean - half, mean + half]
    return {"mean": mean, "sd": sd, "n": n, "ci95": ci, "values": v.tolist()}


def inside(value: float, stats: dict[str, Any], resolution: float = 0.0) -> bool | None:
    """Whether ``value`` lies in the seed interval (None with one seed).

    ``resolution``: the precision ``value`` was printed to (the paper's 0.01 points); the
    printed value then stands for [value - resolution/2, value + resolution/2], and it lies in
    the interval when the two overlap (a cell whose seeds all agree has an interval of width 0,
    which a rounded value would otherwise miss by its rounding alone).
    """
    ci = stats["ci95"]
    half = resolution / 2
    return None if ci is None else bool(ci[0] <= value + half and value - half <= ci[1])


def mean_curve(curves: Sequence[Sequence[float]]) -> tuple[list[float], list[float]]:
    """Pointwise mean and standard deviation (0 for one curve) of equally long curves."""
    a = np.asarray(curves, dtype=np.float64)
    sd = a.std(axis=0, ddof=1) if a.shape[0] > 1 else np.zeros(a.shape[1])
    return a.mean(axis=0).tolist(), sd.tolist()


def count_true(flags: Sequence[bool]) -> dict[str, Any]:
    """``{"k", "n", "text"}``: how many of n seeds a property holds in."""
    k, n = sum(bool(f) for f in flags), len(flags)
    return {"k": k, "n": n, "text": f"{k} of {n} seeds"}

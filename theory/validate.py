"""Validation of the values every formula takes: the threat norm, budgets, positive constants.

Each function returns the normalised value or raises :class:`theory.errors.ConfigError` with a
message that says what is accepted. The numeric side adds its own checks (devices, output folders,
finite tensors) in :mod:`numerics.validate`.
"""

from __future__ import annotations

import math

from theory.errors import ConfigError

__all__ = ["check_eps", "check_norm", "check_positive"]

_NORMS = {"2": "l2", "l2": "l2", "linf": "linf", "inf": "linf", "l-inf": "linf", "infinity": "linf"}


def check_norm(norm: str | float | int) -> str:
    """Return ``"l2"`` or ``"linf"`` for the accepted spellings of the two threat models."""
    key = str(norm).strip().lower()
    if key in ("float('inf')", "math.inf"):
        key = "inf"
    if isinstance(norm, float) and math.isinf(norm):
        key = "inf"
    if key not in _NORMS:
        raise ConfigError(
            f"unknown norm {norm!r}: use 'l2' (p = 2) or 'linf' (p = inf)"
        )
    return _NORMS[key]


def check_eps(eps: float, name: str = "eps") -> float:
    """Return ``eps`` as a float after checking it is finite and non-negative."""
    try:
        value = float(eps)
    except (TypeError, ValueError):
        raise ConfigError(f"{name} must be a number, got {eps!r}") from None
    if not math.isfinite(value):
        raise ConfigError(f"{name} must be finite, got {eps!r}")
    if value < 0:
        raise ConfigError(f"{name} must be >= 0 (a perturbation budget), got {eps!r}")
    return value


def check_positive(value: float, name: str) -> float:
    """Return ``value`` as a float after checking it is finite and > 0."""
    v = check_eps(value, name)
    if v == 0:
        raise ConfigError(f"{name} must be > 0, got {value!r}")
    return v

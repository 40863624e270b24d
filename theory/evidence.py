"""What a check found: the :class:`Evidence` every symbolic ``verify_*`` (and every numeric and
data check of :mod:`numerics`) returns. The verdicts computed from it live in
:mod:`numerics.ledger`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["Evidence"]


@dataclass(frozen=True)
class Evidence:
    """What one check found.

    Attributes:
        kind: ``"symbolic"``, ``"numeric"`` or ``"data"``.
        passed: whether the check confirmed the claim (under ``conditions`` if any are given).
        summary: one line a reader can check, e.g. ``"max rel err 2e-15 over 300 instances"``.
        conditions: conditions under which the claim was found to hold; empty if unconditional.
        counterexample: an instance where the claim (or its unconditional form) fails.
        details: further numbers (errors, counts, thresholds) for the JSON ledger.
        ran: False when the check could not run (e.g. its data is absent); it then counts for
            nothing.
    """

    kind: str
    passed: bool
    summary: str
    conditions: tuple[str, ...] = ()
    counterexample: dict[str, Any] | None = None
    details: dict[str, Any] = field(default_factory=dict)
    ran: bool = True

r"""Proofs as data: every step of a derivation says what it asserts and how it was established.

A :class:`Proof` collects :class:`Step` records while a ``verify_*`` function runs. Each step is
established by a machine method or argued in words:

* ``"sympy-identity"``: SymPy simplifies ``a - b`` to exactly 0 (:func:`theory._symbolic.is_zero`);
* ``"sympy-sign"``: SymPy's assumption system declares an expression positive / nonnegative (for
  instance a sum of squares, or a product of factors declared nonnegative);
* ``"sympy-monotone"``: SymPy decides that an explicit function is increasing on an interval:
  ``sympy.is_increasing`` (it solves for the sign of the derivative on the interval), or the
  derivative SymPy computes is declared positive by SymPy's assumptions on the variable (for
  instance ``m > 0``); the monotonicity theorem turns either into the ordering of values;
* ``"sympy-limit"``: SymPy computes a limit;
* ``"interval-arithmetic"``: a rigorous enclosure by mpmath's interval arithmetic (``mpmath.iv``,
  outward rounding);
* ``"lemma"``: a lemma of :mod:`theory.lemmas` whose own steps are all machine-checked, reused;
* ``"prose"``: an argument in words, with the reason it was not machine-checked.

A step whose machine check does not confirm it is recorded with ``machine_checked=False``: the
proof then *fails* (it is not a prose step). **Dimension.** Vector identities are checked either
with index sums over a symbolic dimension d (``sympy.Sum`` over ``i = 1..d`` with
:class:`sympy.IndexedBase` components, differentiated with ``KroneckerDelta``), which holds for
every d, or on explicit component vectors, which holds for the d used: :attr:`Proof.dimension` is
``"any"`` only when no step was checked at a fixed dimension.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import sympy as sp

from theory._symbolic import is_zero
from theory.claims import Evidence

__all__ = ["METHODS", "Proof", "Step", "drop_index_range", "steps_text"]

METHODS = ("sympy-identity", "sympy-sign", "sympy-monotone", "sympy-limit",
           "interval-arithmetic", "lemma", "prose")


@dataclass(frozen=True)
class Step:
    """One step of a proof.

    Attributes:
        statement: what the step asserts, in words and formulas a reader can check.
        method: how it was established (one of :data:`METHODS`).
        machine_checked: the method confirmed it (always False for ``"prose"``).
        dimension: ``"any"``, or the tuple of dimensions d at which it was checked.
        note: for prose, why it is not machine-checked; for a failed check, what failed.
    """

    statement: str
    method: str
    machine_checked: bool
    dimension: str | tuple[int, ...] = "any"
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        """The JSON form: ``statement``, ``method``, ``machine_checked`` (and the rest)."""
        out: dict[str, Any] = {"statement": self.statement, "method": self.method,
                               "machine_checked": self.machine_checked,
                               "dimension": self.dimension if self.dimension == "any"
                               else list(self.dimension)}
        if self.note:
            out["note"] = self.note
        return out


def drop_index_range(expr: sp.Expr, dim: sp.Symbol, indices: Iterable[sp.Symbol]) -> sp.Expr:
    """Replace ``Piecewise((e, 1 <= j <= d & ...), (0, True))`` by ``e``.

    Differentiating an index sum ``Sum(f(w_i), (i, 1, d))`` by ``w_j`` gives a ``Piecewise`` that
    is ``f'(w_j)`` when ``1 <= j <= d`` and 0 otherwise. The indices of a vector identity range
    over ``1..d`` by definition, so only the first branch is meant; any other condition is left
    alone (and the identity then fails to simplify, as it should).
    """
    indices = tuple(indices)
    in_range = {c for j in indices for c in (sp.Ge(dim, j), sp.Ge(j, 1), sp.Le(j, dim),
                                                 sp.Le(1, j))}

    def is_range(cond: Any) -> bool:
        parts = cond.args if isinstance(cond, sp.And) else (cond,)
        return all(p in in_range for p in parts)

    def first(pw: sp.Piecewise) -> sp.Expr:
        (value, cond), *rest = pw.args
        if is_range(cond) and all(c == sp.true and v == 0 for v, c in rest):
            return value
        return pw

    return expr.replace(lambda e: isinstance(e, sp.Piecewise), first)


@dataclass
class Proof:
    """The steps of one derivation, checked as they are added.

    Every ``identity``/``sign``/... method checks its step at once, records it and returns
    whether the machine confirmed it, so a derivation reads as the sequence of its steps.
    """

    steps: list[Step] = field(default_factory=list)

    def _add(self, statement: str, method: str, ok: bool, dimension: Any = "any",
             note: str = "") -> bool:
        dim = "any" if dimension == "any" else tuple(sorted(set(dimension)))
        self.steps.append(Step(statement, method, bool(ok), dim, note if not ok else ""))
        return bool(ok)

    def record(self, statement: str, ok: bool, method: str = "sympy-identity",
               dimension: Any = "any") -> bool:
        """Step: a machine check done by the caller (SymPy's result ``ok``)."""
        if method not in METHODS or method == "prose":
            raise ValueError(f"unknown machine method {method!r}: use one of {METHODS[:-1]}")
        return self._add(statement, method, ok, dimension, "the machine check did not confirm it")

    def identity(self, statement: str, difference: sp.Expr | sp.MatrixBase,
                 dimension: Any = "any") -> bool:
        """Step: ``difference`` simplifies to exactly 0 (a scalar, or every matrix entry)."""
        ok = is_zero(difference)
        return self._add(statement, "sympy-identity", ok, dimension,
                         "SymPy did not simplify the difference to 0")

    def nonnegative(self, statement: str, expr: sp.Expr, dimension: Any = "any") -> bool:
        """Step: SymPy's assumptions declare ``expr`` >= 0 (``is_nonnegative is True``)."""
        return self._add(statement, "sympy-sign", expr.is_nonnegative is True, dimension,
                         "SymPy could not establish the sign")

    def positive(self, statement: str, expr: sp.Expr, dimension: Any = "any") -> bool:
        """Step: SymPy's assumptions declare ``expr`` > 0 (``is_positive is True``)."""
        return self._add(statement, "sympy-sign", expr.is_positive is True, dimension,
                         "SymPy could not establish the sign")

    def increasing(self, statement: str, expr: sp.Expr, symbol: sp.Symbol,
                   interval: sp.Interval = sp.Reals, strict: bool = False) -> bool:
        """Step: SymPy decides ``expr`` is (strictly) increasing in ``symbol`` on ``interval``."""
        check = sp.is_strictly_increasing if strict else sp.is_increasing
        try:
            ok = bool(check(expr, interval, symbol))
        except (NotImplementedError, TypeError, ValueError):
            ok = False
        return self._add(statement, "sympy-monotone", ok, "any",
                         "SymPy could not decide the monotonicity")

    def increasing_by_derivative(self, statement: str, expr: sp.Expr, symbol: sp.Symbol) -> bool:
        """Step: SymPy's derivative of ``expr`` is positive under ``symbol``'s assumptions, so
        ``expr`` is strictly increasing where they hold (e.g. a ``positive=True`` symbol)."""
        derivative = sp.diff(expr, symbol)
        forms = (derivative, sp.simplify(derivative), sp.trigsimp(derivative))
        positive = next((f for f in forms if f.is_positive is True), None)
        shown = positive if positive is not None else derivative
        return self._add(f"{statement} (d/d{symbol} = {sp.sstr(shown)} > 0)",
                         "sympy-monotone", positive is not None, "any",
                         "SymPy could not establish the sign of the derivative")

    def limit(self, statement: str, expr: sp.Expr, symbol: sp.Symbol, point: Any,
              expected: Any, direction: str = "+") -> bool:
        """Step: SymPy computes ``lim expr`` at ``point`` and it equals ``expected``."""
        try:
            value = sp.limit(expr, symbol, point, direction)
            ok = value == expected if expected in (sp.oo, -sp.oo) else is_zero(value - expected)
        except (NotImplementedError, ValueError):
            ok = False
        return self._add(statement, "sympy-limit", ok, "any", "SymPy could not take the limit")

    def enclosure(self, statement: str, check: Callable[[], bool]) -> bool:
        """Step: a rigorous interval-arithmetic check (``check`` uses ``mpmath.iv``)."""
        return self._add(statement, "interval-arithmetic", bool(check()), "any",
                         "the interval enclosure did not establish it")

    def lemma(self, lemma: Proof, statement: str) -> bool:
        """Step: a lemma proved elsewhere (all its steps machine-checked), cited here."""
        ok = lemma.machine_checked
        return self._add(statement, "lemma", ok, lemma.dimension,
                         "the lemma has steps that are not machine-checked")

    def prose(self, statement: str, why: str) -> bool:
        """Step argued in words; ``why`` says why it is not machine-checked."""
        self.steps.append(Step(statement, "prose", False, "any", why))
        return True

    @property
    def failed(self) -> list[Step]:
        """Machine steps whose check did not confirm them."""
        return [s for s in self.steps if s.method != "prose" and not s.machine_checked]

    @property
    def argued(self) -> list[Step]:
        """Steps argued in prose."""
        return [s for s in self.steps if s.method == "prose"]

    @property
    def passed(self) -> bool:
        """No machine step failed (prose steps do not fail a proof; they weaken its verdict)."""
        return not self.failed

    @property
    def machine_checked(self) -> bool:
        """Every step was machine-checked and confirmed."""
        return bool(self.steps) and all(s.machine_checked for s in self.steps)

    @property
    def dimension(self) -> str | list[int]:
        """``"any"`` when every step holds for every d, else the dimensions of fixed-d steps."""
        fixed = sorted({d for s in self.steps if s.dimension != "any" for d in s.dimension})
        return fixed or "any"

    def details(self) -> dict[str, Any]:
        """``{"steps": [...], "dimension": ...}`` for an Evidence's details."""
        return {"steps": [s.to_dict() for s in self.steps], "dimension": self.dimension}

    def summary(self) -> str:
        """``"k/n steps machine-checked (any d)"`` and what is argued or failed."""
        n, k = len(self.steps), sum(s.machine_checked for s in self.steps)
        dim = "any d" if self.dimension == "any" else f"d in {self.dimension}"
        text = f"{k}/{n} steps machine-checked ({dim})"
        if self.argued:
            text += f"; {len(self.argued)} argued in prose"
        if self.failed:
            text += f"; {len(self.failed)} FAILED: " + "; ".join(s.statement for s in self.failed)
        return text

    def evidence(self, summary: str, *, refuted: bool = False, conditions: tuple[str, ...] = (),
                 counterexample: dict[str, Any] | None = None,
                 details: dict[str, Any] | None = None) -> Evidence:
        """Symbolic :class:`~theory.claims.Evidence` carrying the steps.

        It passes when every machine step was confirmed and the claim is not ``refuted`` (a
        proof may establish that a statement is false: its steps are then the refutation).
        """
        return Evidence("symbolic", self.passed and not refuted,
                        f"{summary} [{self.summary()}]", conditions=conditions,
                        counterexample=counterexample, details={**(details or {}),
                                                                 **self.details()})


def steps_text(evidence: Evidence) -> str:
    """The steps of symbolic evidence, one a line: ``+`` machine-checked, ``~`` argued in prose,
    ``x`` a machine check that did not confirm the step; the method and the dimension."""
    lines = []
    for step in evidence.details.get("steps") or []:
        mark = "+" if step["machine_checked"] else ("~" if step["method"] == "prose" else "x")
        dim = "" if step.get("dimension", "any") == "any" else f" [d = {step['dimension']}]"
        lines.append(f"{mark} {step['method']:<20} {step['statement']}{dim}")
    return "\n".join(lines)

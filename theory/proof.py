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
* ``"cases"``: a fact that holds in every case of a split, each case established by an earlier
  machine-checked step (the machinery checks that each case fact was established);
* ``"theorem"``: a textbook theorem of real analysis (the intermediate value theorem), cited with
  its reference and applied to premises that must each be a hypothesis or a fact established by
  an earlier machine-checked step; the machinery checks the premises, not the theorem, which is
  trusted as the monotonicity theorem behind ``"sympy-monotone"`` and SymPy's limit algorithm
  behind ``"sympy-limit"`` are;
* ``"prose"``: an argument in words, with the reason it was not machine-checked.

**Two engines.** Every ``sympy-identity`` step is also evaluated at random points (exact
rationals, or 50-digit mpmath where the value is not rational; index sums at several d), and so
is every finite-sum normal form (:func:`theory.lemmas.linear`) computed for it; every
``sympy-sign`` step is also put to z3 (:mod:`theory.engines`). A step records the engines that
confirmed it (``engines``); where the second engine cannot decide, SymPy alone confirms it and
the note says why; where it disagrees, the step fails.

**Assumptions.** Each step records the assumptions it uses: the declared properties of the
symbols in its expressions (SymPy's ``assumptions0``: ``epsilon`` declared ``nonnegative`` is
the fact ``"epsilon >= 0"``) and the facts it names (``uses``), less those of the variables it
quantifies over (``bound``: the variable of a limit or of a monotonicity statement). Each must
be a hypothesis of the claim (:mod:`theory.hypotheses`), a premise of the lemma, or a fact that
an earlier machine-checked step established (``gives``); otherwise the step is not
machine-checked (``unjustified`` lists what is missing), which weakens the verdict like prose.

A step whose machine check does not confirm it is recorded with ``machine_checked=False`` and
no engines: the proof then *fails* (it is not a prose step).

**Dimension.** Vector identities are checked either with index sums over a symbolic dimension d
(``sympy.Sum`` over ``i = 1..d`` with :class:`sympy.IndexedBase` components, differentiated with
``KroneckerDelta``), which holds for every d, or on explicit component vectors, which holds for
the d used: :attr:`Proof.dimension` is ``"any"`` only when no step was checked at a fixed
dimension.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import sympy as sp

from theory import engines
from theory._symbolic import is_zero
from theory.claims import Evidence
from theory.hypotheses import Hypothesis, grants, hypotheses

__all__ = ["METHODS", "Proof", "Step", "drop_index_range", "steps_text", "symbol_facts"]

METHODS = ("sympy-identity", "sympy-sign", "sympy-monotone", "sympy-limit",
           "interval-arithmetic", "lemma", "cases", "theorem", "prose")


@dataclass(frozen=True)
class Step:
    """One step of a proof.

    Attributes:
        statement: what the step asserts, in words and formulas a reader can check.
        method: how it was established (one of :data:`METHODS`).
        machine_checked: the method confirmed it (every engine that ran agreed) *and* every
            assumption it uses is a hypothesis of its claim or was established by an earlier
            machine-checked step (always False for ``"prose"``). Computed, never given.
        dimension: ``"any"``, or the tuple of dimensions d at which it was checked.
        note: for prose, why it is not machine-checked; for a failed check, what failed.
        assumptions: the facts the step uses: the declared properties of the symbols in its
            expressions (``"epsilon >= 0"``) and the facts it names (``"w != 0"``).
        domain: facts of the variables the step quantifies over (``for all delta > 0``), which
            are its statement's range, not assumptions.
        unjustified: the assumptions no hypothesis or earlier machine-checked step grants.
        engines: the engines that confirmed the step (``"sympy"``, ``"exact-rational"``,
            ``"mpmath-50"``, ``"z3"``).
        gives: the facts the step establishes for later steps (when machine-checked).
    """

    statement: str
    method: str
    machine_checked: bool
    dimension: str | tuple[int, ...] = "any"
    note: str = ""
    assumptions: tuple[str, ...] = ()
    domain: tuple[str, ...] = ()
    unjustified: tuple[str, ...] = ()
    engines: tuple[str, ...] = ()
    gives: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The JSON form: ``statement``, ``method``, ``machine_checked`` (and the rest)."""
        out: dict[str, Any] = {"statement": self.statement, "method": self.method,
                               "machine_checked": self.machine_checked,
                               "dimension": self.dimension if self.dimension == "any"
                               else list(self.dimension)}
        if self.note:
            out["note"] = self.note
        for key in ("assumptions", "domain", "unjustified", "engines", "gives"):
            if getattr(self, key):
                out[key] = list(getattr(self, key))
        return out


def symbol_facts(*exprs: Any) -> set[str]:
    """The declared properties of the symbols (and indexed vectors) in ``exprs``, as facts:
    ``"x > 0"``, ``"x >= 0"``, ``"x < 0"``, ``"x <= 0"``, ``"x != 0"``, ``"n integer"``;
    ``x[i]`` for every component of an indexed vector. ``real`` is the setting, not a fact."""
    facts: set[str] = set()
    for expr in exprs:
        if expr is None or isinstance(expr, (bool, int, float, str)):
            continue
        expr = sp.sympify(expr)
        bases = {ind.base for ind in expr.atoms(sp.Indexed)} | expr.atoms(sp.IndexedBase)
        labels = {b.label for b in bases}
        named: list[tuple[str, dict[str, Any]]] = [
            (str(x), x.assumptions0) for x in expr.atoms(sp.Symbol) if x not in labels]
        named += [(f"{b.label}[i]", b.assumptions0) for b in bases]
        for name, a in named:
            if a.get("positive"):
                facts.add(f"{name} > 0")
            elif a.get("nonnegative"):
                facts.add(f"{name} >= 0")
            elif a.get("negative"):
                facts.add(f"{name} < 0")
            elif a.get("nonpositive"):
                facts.add(f"{name} <= 0")
            elif a.get("nonzero"):
                facts.add(f"{name} != 0")
            if a.get("integer"):
                facts.add(f"{name} integer")
    return facts


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

    ``claim`` names the claim whose hypotheses (:mod:`theory.hypotheses`) the steps may use;
    ``premises`` are further hypotheses (a lemma's: what its statement assumes, which a proof
    citing it must grant in turn). Each step's assumptions are read from its expressions (the
    declared properties of their symbols) and from its ``uses``; a step whose assumption is
    neither granted by a hypothesis nor established (``gives``) by an earlier machine-checked
    step is not machine-checked.
    """

    steps: list[Step] = field(default_factory=list)
    claim: str | None = None
    premises: tuple[Hypothesis, ...] = ()

    def __post_init__(self) -> None:
        self.hypotheses: tuple[Hypothesis, ...] = hypotheses(self.claim) + tuple(self.premises)
        self._granted: set[str] = {g for h in self.hypotheses for f in h.facts
                                   for g in grants(f)}
        self._granted |= {h.text for h in self.hypotheses}

    def establish(self, facts: Any) -> None:
        """Add ``facts`` to those later steps may use (called for a machine-checked step)."""
        for f in facts:
            self._granted |= grants(f)

    def _add(self, statement: str, method: str, ok: bool, dimension: Any = "any",
             note: str = "", *, exprs: tuple[Any, ...] = (), bound: tuple[Any, ...] = (),
             uses: tuple[str, ...] = (), gives: tuple[str, ...] = (),
             engines_: tuple[str, ...] = ()) -> bool:
        dim = "any" if dimension == "any" else tuple(sorted(set(dimension)))
        domain = symbol_facts(*bound)
        used = (symbol_facts(*exprs) - domain) | set(uses)
        unjustified = tuple(sorted(f for f in used if f not in self._granted))
        checked = bool(ok) and not unjustified
        if ok and unjustified:
            note = "uses assumptions that are neither hypotheses nor established: " + \
                ", ".join(unjustified)
        elif ok:
            note = ""
        if checked:
            self.establish(gives)
        self.steps.append(Step(statement, method, checked, dim, note, tuple(sorted(used)),
                               tuple(sorted(domain)), unjustified,
                               tuple(engines_) if ok else (), tuple(gives)))
        return checked

    @staticmethod
    def _linear_pairs() -> list[tuple[Any, Any]]:
        pairs = list(engines.LINEAR_TRACE)
        engines.LINEAR_TRACE.clear()
        return pairs

    def _second_identity(self, difference: Any) -> tuple[bool, tuple[str, ...], str]:
        """The evaluation engine on ``difference`` and on every finite-sum normal form computed
        for the step (:data:`theory.engines.LINEAR_TRACE`)."""
        pairs = self._linear_pairs()
        verdict, engine, note = engines.evaluate_zero(difference)
        if verdict is False:
            return False, (), f"the evaluation engine disagrees: {note}"
        used = {engine} if verdict else set()
        for inp, out in pairs:
            v, e, n = engines.evaluate_zero(sp.sympify(inp) - sp.sympify(out))
            if v is False:
                return False, (), f"a finite-sum normal form is wrong at a random point: {n}"
            if v:
                used.add(e)
        if not verdict:
            return True, tuple(sorted(used)), f"single engine: {note}"
        return True, tuple(sorted(used)), ""

    def record(self, statement: str, ok: bool, method: str = "sympy-identity",
               dimension: Any = "any", *, exprs: tuple[Any, ...] = (),
               uses: tuple[str, ...] = (), gives: tuple[str, ...] = (),
               bound: tuple[Any, ...] = ()) -> bool:
        """Step: a machine check done by the caller (SymPy's result ``ok``); ``exprs`` are the
        expressions it checked, whose symbols' assumptions it uses. For a ``sympy-identity``
        step each of ``exprs`` is a difference that must be 0, and the evaluation engine
        (:func:`theory.engines.evaluate_zero`) evaluates it at random points too: an unevaluated
        ``sympy.Integral`` in it is computed by 50-digit numerical quadrature there, so a
        closed-form integral is checked by an engine independent of SymPy's integrator."""
        if method not in METHODS or method == "prose":
            raise ValueError(f"unknown machine method {method!r}: use one of {METHODS[:-1]}")
        used: set[str] = set()
        note = "the machine check did not confirm it"
        if method == "sympy-identity" and exprs:
            notes = []
            for expr in exprs:
                second, engines_used, n = self._second_identity(expr)
                if not second:
                    ok, note = False, n
                    break
                used |= set(engines_used)
                if n:
                    notes.append(n)
            if ok and notes:
                note = "; ".join(notes)
        else:
            self._linear_pairs()
        return self._add(statement, method, ok, dimension, note, exprs=exprs, bound=bound,
                         uses=uses, gives=gives, engines_=("sympy", *sorted(used)))

    def identity(self, statement: str, difference: sp.Expr | sp.MatrixBase,
                 dimension: Any = "any", *, uses: tuple[str, ...] = (),
                 gives: tuple[str, ...] = (), bound: tuple[Any, ...] = ()) -> bool:
        """Step: ``difference`` simplifies to exactly 0 (a scalar, or every matrix entry), and
        is 0 at random points (exact rationals or 50 digits; index sums at several d)."""
        ok = is_zero(difference)
        second, used, note = self._second_identity(difference)
        return self._add(statement, "sympy-identity", ok and second, dimension,
                         note if ok and not second else ("SymPy did not simplify the difference "
                                                         "to 0" if not ok else note),
                         exprs=(difference,), bound=bound, uses=uses, gives=gives,
                         engines_=("sympy", *used))

    def _sign(self, statement: str, expr: sp.Expr, strict: bool, dimension: Any,
              uses: tuple[str, ...], gives: tuple[str, ...], bound: tuple[Any, ...]) -> bool:
        self._linear_pairs()
        ok = (expr.is_positive if strict else expr.is_nonnegative) is True
        verdict, engine, note = engines.z3_sign(expr, strict)
        if verdict is False:
            return self._add(statement, "sympy-sign", False, dimension,
                             f"z3 disagrees: {note}", exprs=(expr,), bound=bound, uses=uses)
        return self._add(statement, "sympy-sign", ok, dimension,
                         "SymPy could not establish the sign" if not ok else
                         ("" if verdict else f"single engine: {note}"),
                         exprs=(expr,), bound=bound, uses=uses, gives=gives,
                         engines_=("sympy", engine) if verdict else ("sympy",))

    def nonnegative(self, statement: str, expr: sp.Expr, dimension: Any = "any", *,
                    uses: tuple[str, ...] = (), gives: tuple[str, ...] = (),
                    bound: tuple[Any, ...] = ()) -> bool:
        """Step: SymPy's assumptions declare ``expr`` >= 0 (``is_nonnegative is True``), and z3
        finds no point of the declared domain where it is < 0 (where z3 can state it)."""
        return self._sign(statement, expr, False, dimension, uses, gives, bound)

    def positive(self, statement: str, expr: sp.Expr, dimension: Any = "any", *,
                 uses: tuple[str, ...] = (), gives: tuple[str, ...] = (),
                 bound: tuple[Any, ...] = ()) -> bool:
        """Step: SymPy's assumptions declare ``expr`` > 0 (``is_positive is True``), and z3
        finds no point of the declared domain where it is <= 0 (where z3 can state it)."""
        return self._sign(statement, expr, True, dimension, uses, gives, bound)

    def increasing(self, statement: str, expr: sp.Expr, symbol: sp.Symbol,
                   interval: sp.Interval = sp.Reals, strict: bool = False, *,
                   gives: tuple[str, ...] = ()) -> bool:
        """Step: SymPy decides ``expr`` is (strictly) increasing in ``symbol`` on ``interval``."""
        check = sp.is_strictly_increasing if strict else sp.is_increasing
        try:
            ok = bool(check(expr, interval, symbol))
        except (NotImplementedError, TypeError, ValueError):
            ok = False
        self._linear_pairs()
        return self._add(statement, "sympy-monotone", ok, "any",
                         "SymPy could not decide the monotonicity", exprs=(expr,),
                         bound=(symbol,), gives=gives, engines_=("sympy",))

    def increasing_by_derivative(self, statement: str, expr: sp.Expr, symbol: sp.Symbol, *,
                                 gives: tuple[str, ...] = ()) -> bool:
        """Step: SymPy's derivative of ``expr`` is positive under ``symbol``'s assumptions, so
        ``expr`` is strictly increasing where they hold (e.g. a ``positive=True`` symbol)."""
        derivative = sp.diff(expr, symbol)
        forms = (derivative, sp.simplify(derivative), sp.trigsimp(derivative))
        positive = next((f for f in forms if f.is_positive is True), None)
        shown = positive if positive is not None else derivative
        self._linear_pairs()
        return self._add(f"{statement} (d/d{symbol} = {sp.sstr(shown)} > 0)",
                         "sympy-monotone", positive is not None, "any",
                         "SymPy could not establish the sign of the derivative", exprs=(expr,),
                         bound=(symbol,), gives=gives, engines_=("sympy",))

    def limit(self, statement: str, expr: sp.Expr, symbol: sp.Symbol, point: Any,
              expected: Any, direction: str = "+", *, uses: tuple[str, ...] = (),
              gives: tuple[str, ...] = (), bound: tuple[Any, ...] = ()) -> bool:
        """Step: SymPy computes ``lim expr`` at ``point`` and it equals ``expected``."""
        try:
            value = sp.limit(expr, symbol, point, direction)
            ok = value == expected if expected in (sp.oo, -sp.oo) else is_zero(value - expected)
        except (NotImplementedError, ValueError, TypeError):
            ok = False
        self._linear_pairs()
        return self._add(statement, "sympy-limit", ok, "any", "SymPy could not take the limit",
                         exprs=(expr, expected), bound=(symbol, *bound), uses=uses,
                         gives=gives,
                         engines_=("sympy",))

    def enclosure(self, statement: str, check: Callable[[], bool], *,
                  uses: tuple[str, ...] = (), gives: tuple[str, ...] = ()) -> bool:
        """Step: a rigorous interval-arithmetic check (``check`` uses ``mpmath.iv``)."""
        return self._add(statement, "interval-arithmetic", bool(check()), "any",
                         "the interval enclosure did not establish it", uses=uses, gives=gives,
                         engines_=("mpmath-iv",))

    def lemma(self, lemma: Proof, statement: str, *, gives: tuple[str, ...] = (),
              premises: dict[str, str] | None = None) -> bool:
        """Step: a lemma proved elsewhere (all its steps machine-checked), cited here. The
        lemma's premises are this step's assumptions; ``premises`` maps a premise's text to
        the hypothesis or established fact of this proof that grants it (same text if absent)."""
        ok = lemma.machine_checked
        mapping = premises or {}
        uses = tuple(mapping.get(h.text, h.text) for h in lemma.premises)
        return self._add(statement, "lemma", ok, lemma.dimension,
                         "the lemma has steps that are not machine-checked", uses=uses,
                         gives=gives, engines_=("lemma",))

    def cases(self, statement: str, fact: str, cases: tuple[str, ...]) -> bool:
        """Step: ``fact`` holds because it holds in each case; each case fact must have been
        established by an earlier machine-checked step (``gives``)."""
        self._linear_pairs()
        missing = [c for c in cases if c not in self._granted]
        return self._add(statement, "cases", not missing, "any",
                         "cases not established: " + ", ".join(missing), uses=tuple(cases),
                         gives=(fact,), engines_=("cases",))

    def theorem(self, statement: str, reference: str, *, uses: tuple[str, ...] = (),
                gives: tuple[str, ...] = ()) -> bool:
        """Step: a textbook theorem (``reference``) applied to premises ``uses``, each of which
        must be a hypothesis or established by an earlier machine-checked step; the theorem
        itself is cited, not derived (engine ``"cited"``)."""
        self._linear_pairs()
        return self._add(f"{statement} [{reference}]", "theorem", True, "any", "", uses=uses,
                         gives=gives, engines_=("cited",))

    def prose(self, statement: str, why: str) -> bool:
        """Step argued in words; ``why`` says why it is not machine-checked."""
        self._linear_pairs()
        self.steps.append(Step(statement, "prose", False, "any", why))
        return True

    @property
    def failed(self) -> list[Step]:
        """Machine steps whose check did not confirm them (no engine confirmed it, or one
        disagreed)."""
        return [s for s in self.steps if s.method != "prose" and not s.engines]

    @property
    def unsupported(self) -> list[Step]:
        """Steps confirmed by their engines that use an assumption nothing grants: like prose,
        they do not fail a proof, but it is not machine-checked."""
        return [s for s in self.steps if s.engines and s.unjustified]

    @property
    def argued(self) -> list[Step]:
        """Steps argued in prose."""
        return [s for s in self.steps if s.method == "prose"]

    @property
    def passed(self) -> bool:
        """No machine step failed (prose steps, and steps on unstated assumptions, do not fail a
        proof; they weaken its verdict)."""
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
        return {"steps": [s.to_dict() for s in self.steps], "dimension": self.dimension,
                "hypotheses": [h.text for h in self.hypotheses]}

    def summary(self) -> str:
        """``"k/n steps machine-checked (any d)"`` and what is argued or failed."""
        n, k = len(self.steps), sum(s.machine_checked for s in self.steps)
        dim = "any d" if self.dimension == "any" else f"d in {self.dimension}"
        text = f"{k}/{n} steps machine-checked ({dim})"
        if self.argued:
            text += f"; {len(self.argued)} argued in prose"
        if self.unsupported:
            text += f"; {len(self.unsupported)} use unstated assumptions: " + "; ".join(
                sorted({f for s in self.unsupported for f in s.unjustified}))
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

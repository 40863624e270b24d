"""Second, independent engines for the steps of a proof (:mod:`theory.proof`).

SymPy's ``simplify`` and its assumption system are the first engine of every ``sympy-identity``
and ``sympy-sign`` step. A step is confirmed only where the second engine does not disagree:

* **evaluation** (:func:`evaluate_zero`), for identities: the difference is evaluated at random
  points, exactly where it is rational there (random exact rationals for every symbol, drawn
  inside each symbol's declared domain) and else with 50-digit mpmath arithmetic (through
  ``evalf(50)``); an index-sum identity (symbolic dimension d, or number of points N) is
  evaluated with its sums expanded at several dimensions, its free indices drawn in 1..d.
  Nothing is simplified: a value is compared with 0 as computed. An unevaluated
  ``sympy.Integral`` is left so (not integrated by SymPy) and computed by mpmath's 50-digit
  numerical quadrature at the random point: a closed-form integral is checked independently of
  SymPy's integrator.
* **z3** (:func:`z3_sign`), for signs: the expression is translated into z3's real arithmetic
  (each symbol a real constrained by its declared assumptions; ``Abs``/``sign``/``Min``/``Max``
  as if-then-else; an index sum over a symbolic range as a fresh real that is >= 0 when z3 proves
  its summand >= 0 for every index value; ``exp``/``log``/``sqrt`` as fresh reals constrained by
  true facts: e^a > 0, e^a >= 1 + a, log a <= a - 1, sqrt(a)^2 = a, and their monotonicity
  about 0 and 1), and z3 is asked for a point where the sign fails. "unsat" confirms the sign;
  "sat" refutes it when no function was abstracted (the point is a real counterexample) and is
  inconclusive otherwise, like "unknown" or a timeout.

Each returns ``(verdict, engine, note)``: ``verdict`` True (confirmed), False (refuted) or None
(the engine could not decide: the step then records SymPy as its only engine, and why).
"""

from __future__ import annotations

import random
from fractions import Fraction
from typing import Any

import sympy as sp

__all__ = ["DIMENSIONS", "LINEAR_TRACE", "evaluate_zero", "z3_sign"]

#: (input, output) of every :func:`theory.lemmas.linear` call since the last proof step: the
#: step's evaluation engine evaluates each pair at random points too, so the finite-sum normal
#: form is checked on every instance it is used on, not trusted.
LINEAR_TRACE: list[tuple[sp.Basic, sp.Basic]] = []

#: The dimensions (values of d, N) at which index-sum identities are evaluated.
DIMENSIONS = (2, 3, 5)
#: Random points per dimension (per identity without a dimension: 3 in all).
_POINTS = 3
#: |value| below this counts as 0 in 50-digit evaluation.
_TOL = sp.Float("1e-30", 50)
#: z3's time limit per query, in milliseconds.
_Z3_TIMEOUT_MS = 5000


def _random_value(sym: sp.Basic, rng: random.Random) -> sp.Rational:
    """A random exact rational in the declared domain of ``sym`` (an integer if it is one)."""
    a = sym.assumptions0
    if a.get("integer"):
        lo = 1 if a.get("positive") else (0 if a.get("nonnegative") else -4)
        hi = -1 if a.get("negative") else (0 if a.get("nonpositive") else 4)
        value = rng.randint(lo, hi)
        if a.get("nonzero") and value == 0:
            value = 1 if hi > 0 else -1
        return sp.Integer(value)
    value = sp.Rational(rng.randint(1, 97), rng.randint(1, 41))
    if a.get("positive") or a.get("nonnegative"):
        return value
    if a.get("negative") or a.get("nonpositive"):
        return -value
    return value if rng.random() < 0.5 else -value


def _dimension_symbols(expr: sp.Basic) -> tuple[set[sp.Symbol], set[sp.Symbol]]:
    """(sizes, free indices): the symbols used as the upper limit of a sum (d, N), and the free
    integer symbols that are not sizes (the free indices j, k of a vector identity)."""
    sizes: set[sp.Symbol] = set()
    for s in expr.atoms(sp.Sum, sp.Product):
        for _, _, hi in s.limits:
            sizes |= {x for x in sp.sympify(hi).free_symbols if x.is_integer}
    free_int = {x for x in expr.free_symbols if isinstance(x, sp.Symbol) and x.is_integer}
    return sizes, free_int - sizes


def _point(expr: sp.Basic, sizes: dict[sp.Symbol, int], rng: random.Random) -> sp.Basic:
    """``expr`` with its sizes fixed, its sums expanded and every other symbol (and every
    component ``x[i]`` of an indexed vector) replaced by a random value in its domain."""
    _, free_idx = _dimension_symbols(expr)
    top = min(sizes.values()) if sizes else 3
    expr = expr.xreplace({**{k: sp.Integer(v) for k, v in sizes.items()},
                          **{j: sp.Integer(rng.randint(1, top)) for j in free_idx}})
    expr = expr.doit(integrals=False)  # an Integral stays: evalf computes it by quadrature
    values: dict[sp.Basic, sp.Basic] = {}
    for ind in sorted(expr.atoms(sp.Indexed), key=sp.default_sort_key):
        values[ind] = _random_value(ind, rng)
    expr = expr.xreplace(values)
    for sym in sorted(expr.free_symbols, key=sp.default_sort_key):
        values[sym] = _random_value(sym, rng)
    return expr.xreplace(values)


def _value_is_zero(value: sp.Basic) -> tuple[bool | None, bool]:
    """(zero?, exact?) for a closed number: exact when it is rational, else 50 digits."""
    value = sp.sympify(value)
    if value.is_Rational:
        return value == 0, True
    bare = value.replace(lambda e: isinstance(e, sp.Integral), lambda e: sp.Integer(0))
    if bare.has(sp.zoo, sp.nan, sp.oo, -sp.oo) or value.free_symbols:  # limits may be infinite
        return None, False
    if value.has(sp.Integral):
        value = value.replace(lambda e: isinstance(e, sp.Integral), _quadrature)
    num = value.evalf(50)
    if not num.is_number or num.has(sp.zoo, sp.nan):
        return None, False
    re, im = num.as_real_imag()
    if not (re.is_Float or re.is_Rational or re == 0) or not (im.is_Float or im == 0
                                                               or im.is_Rational):
        return None, False
    return bool(abs(re) < _TOL and abs(im) < _TOL), False


def _quadrature(integral: sp.Integral) -> sp.Basic:
    """A definite integral with numeric limits by mpmath's Gauss-Legendre quadrature at 50
    digits (several variables: an iterated quadrature; tanh-sinh where Gauss-Legendre's error
    estimate is not small, and first on an infinite range: there Gauss-Legendre needs hundreds
    of nodes at 50 digits, seconds to compute, where tanh-sinh's come in a tenth of a second),
    independent of SymPy's integrator. The integral itself is returned where no estimate is
    small (the point then yields no value)."""
    import mpmath

    variables = [lim[0] for lim in integral.limits]
    body = integral.function.xreplace({r: sp.Float(r, 60)
                                       for r in integral.function.atoms(sp.Rational)})
    f = sp.lambdify(variables, body, modules="mpmath")

    def end(v: sp.Basic) -> object:
        if v == sp.oo:
            return mpmath.inf
        if v == -sp.oo:
            return -mpmath.inf
        return mpmath.mpf(str(sp.N(v, 60)))

    with mpmath.workdps(50):
        ranges = [[end(lim[1]), end(lim[2])] for lim in integral.limits]
        infinite = any(mpmath.isinf(v) for r in ranges for v in r)
        methods = ("tanh-sinh", "gauss-legendre") if infinite and len(ranges) == 1 else (
            "gauss-legendre", "tanh-sinh")
        top = mpmath.calculus.quadrature.GaussLegendre(mpmath.mp).guess_degree(mpmath.mp.prec)
        for method in methods:
            if method == "tanh-sinh" and len(ranges) > 1:
                break
            # one variable: degree by degree up to mpmath's own limit, stopping at the first
            # estimate below 1e-35 relative, where mpmath's absolute target (1e-50) would take
            # a large integral (a polynomial of value 3.5e4, exact at degree 2) to the last
            # degree, whose nodes cost seconds at 50 digits; several: mpmath's own degrees
            # (the estimate it returns is the outer integral's alone)
            for degree in range(2, top + 1) if len(ranges) == 1 else (top,):
                value, err = mpmath.quad(f, *ranges, method=method, error=True,
                                         maxdegree=degree)
                if err <= mpmath.mpf("1e-35") * max(abs(value), mpmath.mpf(1)):
                    return sp.Float(value, 50)
    return integral


def evaluate_zero(difference: sp.Basic, seed: int = 0) -> tuple[bool | None, str, str]:
    """Second engine of an identity: is ``difference`` 0 at random points (any dimension)?

    Returns:
        (verdict, engine, note): engine ``"exact-rational"`` when every value was an exact
        rational, else ``"mpmath-50"``; the note gives the dimensions, or the point of a
        disagreement, or why no value could be computed.
    """
    entries = list(difference) if isinstance(difference, sp.MatrixBase) else [difference]
    rng = random.Random(seed)
    exact_all, dims_used = True, set()
    for entry in entries:
        entry = sp.sympify(entry)
        sizes, _ = _dimension_symbols(entry)
        plans: list[dict[sp.Symbol, int]] = (
            [{s: d for s in sizes} for d in DIMENSIONS] if sizes else [{}] * _POINTS)
        for plan in plans:
            verdict = None
            for _ in range(6):  # a point on a pole or branch cut: draw another
                try:
                    verdict, exact = _value_is_zero(_point(entry, plan, rng))
                except (ZeroDivisionError, TypeError, ValueError, NotImplementedError):
                    verdict = None
                if verdict is not None:
                    break
            if verdict is None:
                return None, "", "no value could be computed at random points"
            if not verdict:
                where = f" at d = {sorted(set(plan.values()))}" if plan else ""
                return False, "exact-rational" if exact else "mpmath-50", \
                    f"the difference is not 0 at a random point{where}"
            exact_all &= exact
            dims_used |= set(plan.values())
    engine = "exact-rational" if exact_all else "mpmath-50"
    note = f"evaluated at d = {sorted(dims_used)}" if dims_used else "evaluated at 3 points"
    return True, engine, note


# ---------------------------------------------------------------------------------------------
# z3
# ---------------------------------------------------------------------------------------------


class _UntranslatableError(Exception):
    """An expression z3's real arithmetic cannot state."""


class _Z3:
    """Translate a SymPy expression into z3 reals, collecting side constraints."""

    def __init__(self) -> None:
        import z3

        self.z3 = z3
        self.constraints: list[Any] = []
        self.vars: dict[sp.Basic, Any] = {}
        self.abstracted = False
        self.fresh = 0

    def var(self, key: sp.Basic, assumptions: dict[str, bool]) -> Any:
        if key not in self.vars:
            v = self.z3.Real(f"v{len(self.vars)}_{sp.sstr(key)}")
            self.vars[key] = v
            self.constraints += self.domain(v, assumptions)
        return self.vars[key]

    def domain(self, v: Any, a: dict[str, bool]) -> list[Any]:
        out = []
        if a.get("positive"):
            out.append(v > 0)
        elif a.get("nonnegative"):
            out.append(v >= 0)
        if a.get("negative"):
            out.append(v < 0)
        elif a.get("nonpositive"):
            out.append(v <= 0)
        if a.get("nonzero") and not (a.get("positive") or a.get("negative")):
            out.append(v != 0)
        if a.get("integer"):
            out.append(self.z3.IsInt(v))
        return out

    def new(self, name: str) -> Any:
        self.fresh += 1
        return self.z3.Real(f"{name}{self.fresh}")

    def __call__(self, e: sp.Basic) -> Any:
        z3 = self.z3
        if e.is_Rational:
            return z3.RealVal(str(Fraction(int(e.p), int(e.q))))
        if isinstance(e, sp.Symbol):
            if not e.is_real:
                raise _UntranslatableError(f"{e} is not declared real")
            return self.var(e, e.assumptions0)
        if isinstance(e, sp.Indexed):
            return self.var(e, e.base.assumptions0 if e.base.assumptions0 else {"real": True})
        if isinstance(e, sp.Add):
            return z3.Sum([self(a) for a in e.args])
        if isinstance(e, sp.Mul):
            out = self(e.args[0])
            for a in e.args[1:]:
                out = out * self(a)
            return out
        if isinstance(e, sp.Pow):
            base, ex = e.args
            if ex.is_Integer:
                b = self(base)
                k = int(ex)
                pw = b ** abs(k) if abs(k) != 1 else b
                if k < 0:
                    self.constraints.append(b != 0)  # the expression is defined
                    return 1 / pw
                return pw if k else z3.RealVal(1)
            if ex == sp.Rational(1, 2) or ex == sp.Rational(-1, 2):
                q = self.new("sqrt")
                self.abstracted = True
                arg = self(base)
                self.constraints += [q >= 0, q * q == arg]
                if ex < 0:
                    self.constraints.append(q != 0)
                    return 1 / q
                return q
            raise _UntranslatableError(f"power {ex}")
        if isinstance(e, sp.Abs):
            a = self(e.args[0])
            return z3.If(a >= 0, a, -a)
        if isinstance(e, (sp.Min, sp.Max)):
            args = [self(a) for a in e.args]
            out = args[0]
            for a in args[1:]:
                out = z3.If(out <= a, out, a) if isinstance(e, sp.Min) else \
                    z3.If(out >= a, out, a)
            return out
        if isinstance(e, sp.sign):
            a = self(e.args[0])
            return z3.If(a > 0, z3.RealVal(1), z3.If(a < 0, z3.RealVal(-1), z3.RealVal(0)))
        if isinstance(e, sp.exp):
            a = self(e.args[0])
            v = self.new("exp")
            self.abstracted = True
            self.constraints += [v > 0, v >= 1 + a, z3.Implies(a <= 0, v <= 1),
                                 z3.Implies(a >= 0, v >= 1)]
            return v
        if isinstance(e, sp.log):
            a = self(e.args[0])
            v = self.new("log")
            self.abstracted = True
            self.constraints += [a > 0, v <= a - 1, z3.Implies(a >= 1, v >= 0),
                                 z3.Implies(a <= 1, v <= 0)]
            return v
        if isinstance(e, (sp.tanh, sp.coth, sp.sinh, sp.cosh)):
            return self(e.rewrite(sp.exp))
        if isinstance(e, sp.Sum):
            return self.index_sum(e)
        raise _UntranslatableError(type(e).__name__)

    def index_sum(self, e: sp.Sum) -> Any:
        """sum over a range of a summand: a fresh real, >= 0 (> 0) when z3 proves the summand
        >= 0 (> 0) for every value of the indices (the range is nonempty: d, N >= 1)."""
        body = e.function
        for strict in (True, False):
            verdict, _ = _z3_decide(body, strict)
            if verdict:
                v = self.new("sum")
                self.constraints.append(v > 0 if strict else v >= 0)
                self.abstracted = True
                return v
        raise _UntranslatableError("an index sum whose summand's sign z3 cannot establish")


def _z3_decide(expr: sp.Basic, strict: bool) -> tuple[bool | None, str]:
    """(verdict, note) of z3 on ``expr > 0`` (``strict``) or ``expr >= 0``."""
    tr = _Z3()
    z3 = tr.z3
    try:
        e = tr(sp.sympify(expr))
    except _UntranslatableError as exc:
        return None, f"z3 cannot state it ({exc})"
    solver = z3.Solver()
    solver.set("timeout", _Z3_TIMEOUT_MS)
    solver.add(*tr.constraints)
    solver.add(e <= 0 if strict else e < 0)
    result = solver.check()
    if result == z3.unsat:
        return True, "z3: no point violates it"
    if result == z3.sat and not tr.abstracted:
        return False, f"z3 found a counterexample: {solver.model()}"
    return None, "z3 could not decide it" + (" (functions abstracted)" if tr.abstracted else "")


def z3_sign(expr: sp.Basic, strict: bool) -> tuple[bool | None, str, str]:
    """Second engine of a sign step: is ``expr`` > 0 (``strict``) / >= 0 under the declared
    assumptions of its symbols? Returns (verdict, ``"z3"``, note)."""
    try:
        verdict, note = _z3_decide(expr, strict)
    except ImportError:
        return None, "", "z3 is not installed"
    return verdict, "z3" if verdict is not None else "", note


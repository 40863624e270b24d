r"""Lemmas every proof reuses, each a :class:`~theory.proof.Proof` whose steps SymPy checks.

Vectors of any dimension d are index sums: components ``a[i]`` of a :class:`sympy.IndexedBase`,
inner products ``Sum(a[i] b[i], (i, 1, d))`` with a symbolic ``d``. :func:`linear` applies the
linearity of finite sums (a sum of terms is the sum of the sums; factors free of the index leave
the sum), SymPy's own ``expand`` and ``factor_sum``; derivatives of index sums by a component
``w[j]`` are SymPy's (``KroneckerDelta``), restricted to ``1 <= j <= d``
(:func:`theory.proof.drop_index_range`).

* :func:`cauchy_schwarz`: (a.b)^2 <= ||a||^2 ||b||^2 (Lagrange's identity), so |a.b| <= ||a|| ||b||;
* :func:`triangle`: ||a + b|| <= ||a|| + ||b||, and the reverse form | ||a|| - ||b|| | <= ||a - b||;
* :func:`normalisation_lipschitz`: ||w1^ - w2^|| <= ||w1 - w2|| / r when ||w1||, ||w2|| >= r > 0;
* :func:`sigmoid_lipschitz`: |s(a) - s(b)| <= |a - b| / 4;
* :func:`zeta_tangent`: zeta(t) >= zeta(t0) + s(t0)(t - t0) (zeta is above its tangents);
* :func:`intermediate_value`: a continuous f on [a, b] with f(a) <= c <= f(b) takes the value c
  (the textbook theorem, cited: its premises are what a proof citing it must establish).
"""

from __future__ import annotations

import functools

import sympy as sp
from sympy.simplify.simplify import factor_sum

from theory.engines import LINEAR_TRACE
from theory.hypotheses import Hypothesis
from theory.notation import s, zeta
from theory.proof import Proof

__all__ = [
    "DIM",
    "IVT_PREMISES",
    "NORMALISATION_PREMISE",
    "I",
    "J",
    "K",
    "cauchy_schwarz",
    "intermediate_value",
    "isum",
    "linear",
    "normalisation_lipschitz",
    "sigmoid_lipschitz",
    "triangle",
    "vector",
    "zeta_tangent",
]

#: The dimension d (any positive integer) and the indices of components.
DIM = sp.Symbol("d", integer=True, positive=True)
I, J, K = sp.symbols("i j k", integer=True)  # noqa: E741 (the index i)


def vector(name: str, **assumptions: bool) -> sp.IndexedBase:
    """A vector of R^d by its components ``name[i]`` (real unless told otherwise)."""
    assumptions.setdefault("real", True)
    return sp.IndexedBase(name, **assumptions)


def isum(expr: sp.Expr, index: sp.Symbol = I) -> sp.Sum:
    """sum_{index = 1}^{d} expr."""
    return sp.Sum(expr, (index, 1, DIM))


def _canonical(e: sp.Sum) -> sp.Expr:
    """A one-index sum with its bound index renamed ``i`` (so equal sums compare equal)."""
    (index, lo, hi), = e.limits
    if index == I or I in e.function.free_symbols:
        return e
    return sp.Sum(e.function.xreplace({index: I}), (I, lo, hi))


def _separate(term: sp.Expr, limits: tuple) -> sp.Expr:
    """sum over several indices of a product whose factors each use one index: the product of
    one-index sums (the distributive law), else the sum itself."""
    indices = [lim[0] for lim in limits]
    groups: dict[sp.Symbol | None, list[sp.Expr]] = {}
    for factor in sp.Mul.make_args(term):
        used = [ix for ix in indices if ix in factor.free_symbols]
        if len(used) > 1:
            return factor_sum(sp.Sum(term, *limits))
        groups.setdefault(used[0] if used else None, []).append(factor)
    out = sp.Mul(*groups.pop(None, []))
    for lim in limits:
        out *= _canonical(factor_sum(sp.Sum(sp.Mul(*groups.get(lim[0], [])), lim)))
    return out


def linear(expr: sp.Expr) -> sp.Expr:
    """``expr`` with every sum expanded by the rules of finite sums: linearity (terms split,
    factors free of the index pulled out), the distributive law for sums over several indices
    of products, and bound indices renamed canonically."""
    out = _linear(expr)
    LINEAR_TRACE.append((expr, out))
    return out


def _linear(expr: sp.Expr) -> sp.Expr:
    expanded = sp.expand(expr)

    def split(e: sp.Sum) -> sp.Expr:
        inner = sp.expand(_linear(e.function))
        parts = []
        for term in sp.Add.make_args(inner):
            if len(e.limits) > 1:
                parts.append(_separate(term, e.limits))
            else:
                one = factor_sum(sp.Sum(term, *e.limits))
                parts.append(one.replace(lambda x: isinstance(x, sp.Sum) and len(x.limits) == 1,
                                         _canonical))
        return sp.Add(*parts)

    return sp.expand(expanded.replace(lambda e: isinstance(e, sp.Sum), split))


def _sqrt_is_increasing(p: Proof, statement: str) -> bool:
    """Step: sqrt is increasing on [0, oo) (SymPy on (0, oo); sqrt(0) = 0 <= sqrt(g))."""
    g = sp.Symbol("g", positive=True)
    return p.increasing(statement + " (sqrt is increasing on (0, oo), and sqrt(0) = 0)",
                        sp.sqrt(g), g, sp.Interval.open(0, sp.oo))


@functools.cache
def cauchy_schwarz() -> Proof:
    """|a.b| <= ||a|| ||b|| for a, b in R^d, any d (Lagrange's identity)."""
    p = Proof()
    a, b = vector("a"), vector("b")
    aa, bb, ab = isum(a[I] ** 2), isum(b[I] ** 2), isum(a[I] * b[I])
    lagrange = sp.Sum((a[I] * b[J] - a[J] * b[I]) ** 2, (I, 1, DIM), (J, 1, DIM))
    p.identity("Lagrange: sum_i sum_j (a_i b_j - a_j b_i)^2 = 2 (||a||^2 ||b||^2 - (a.b)^2)",
               linear(lagrange) - linear(2 * (aa * bb - ab ** 2)))
    p.nonnegative("a double sum of squares is >= 0, so (a.b)^2 <= ||a||^2 ||b||^2", lagrange)
    AA, BB = sp.symbols("A B", nonnegative=True)
    p.identity("|a.b| = sqrt((a.b)^2) and ||a|| ||b|| = sqrt(||a||^2 ||b||^2)",
               sp.sqrt(AA * BB) - sp.sqrt(AA) * sp.sqrt(BB))
    _sqrt_is_increasing(p, "(a.b)^2 <= ||a||^2 ||b||^2 gives |a.b| <= ||a|| ||b||")
    return p


@functools.cache
def triangle() -> Proof:
    """||a + b|| <= ||a|| + ||b|| and | ||a|| - ||b|| | <= ||a - b||, any d."""
    p = Proof()
    a, b = vector("a"), vector("b")
    aa, bb, ab = isum(a[I] ** 2), isum(b[I] ** 2), isum(a[I] * b[I])
    p.identity("||a + b||^2 = ||a||^2 + 2 a.b + ||b||^2 (index sums)",
               linear(isum((a[I] + b[I]) ** 2)) - linear(aa + 2 * ab + bb))
    na, nb, c = sp.Symbol("alpha", nonnegative=True), sp.Symbol("beta", nonnegative=True), \
        sp.Symbol("gamma", nonnegative=True)  # c = ||a|| ||b|| - a.b >= 0 (Cauchy-Schwarz)
    p.lemma(cauchy_schwarz(), "a.b <= ||a|| ||b|| (Cauchy-Schwarz): gamma = ||a|| ||b|| - a.b "
            ">= 0", gives=("gamma >= 0",))
    p.nonnegative("(||a|| + ||b||)^2 - ||a + b||^2 = 2 (||a|| ||b|| - a.b) >= 0",
                  sp.expand((na + nb) ** 2 - (na ** 2 + 2 * (na * nb - c) + nb ** 2)))
    _sqrt_is_increasing(p, "||a + b||^2 <= (||a|| + ||b||)^2 gives ||a + b|| <= ||a|| + ||b||")
    p.identity("reverse form: a = (a - b) + b, so ||a|| - ||b|| <= ||a - b||, and the same with "
               "a and b exchanged", linear(isum(((a[I] - b[I]) + b[I]) - a[I])))
    return p


#: The premise of :func:`normalisation_lipschitz`: t_k = ||w_k|| = r + a (resp. r + b).
NORMALISATION_PREMISE = Hypothesis(
    "||w_1||, ||w_2|| >= r > 0 (t_1 = r + a, t_2 = r + b with a, b >= 0)",
    ("r > 0", "a >= 0", "b >= 0", "t_1 > 0", "t_2 > 0"))


@functools.cache
def normalisation_lipschitz() -> Proof:
    """||w1/||w1|| - w2/||w2|| || <= ||w1 - w2|| / r for ||w1||, ||w2|| >= r > 0, any d."""
    p = Proof(premises=(NORMALISATION_PREMISE,))
    n1, n2 = vector("n"), vector("m")  # unit vectors w1^, w2^
    t1, t2 = sp.symbols("t_1 t_2", positive=True)
    c = isum(n1[I] * n2[I])
    unit = {isum(n1[I] ** 2): 1, isum(n2[I] ** 2): 1}
    p.identity("w_k = t_k n_k with ||n_k|| = 1: ||w1 - w2||^2 = t1^2 + t2^2 - 2 t1 t2 (n1.n2)",
               linear(isum((t1 * n1[I] - t2 * n2[I]) ** 2)).subs(unit)
               - (t1 ** 2 + t2 ** 2 - 2 * t1 * t2 * linear(c)))
    p.identity("||n1 - n2||^2 = 2 - 2 n1.n2",
               linear(isum((n1[I] - n2[I]) ** 2)).subs(unit) - (2 - 2 * linear(c)))
    p.lemma(cauchy_schwarz(), "n1.n2 <= ||n1|| ||n2|| = 1 (Cauchy-Schwarz): e = 1 - n1.n2 >= 0",
            gives=("e >= 0",))
    r, ga, gb, e = (sp.Symbol(n, nonnegative=True) for n in ("r", "a", "b", "e"))
    cc = 1 - e  # n1.n2 = 1 - e, e >= 0
    tt1, tt2 = r + ga, r + gb  # t_k = r + (t_k - r), t_k >= r
    gap = tt1 ** 2 + tt2 ** 2 - 2 * tt1 * tt2 * cc - r ** 2 * (2 - 2 * cc)
    form = (ga - gb) ** 2 + 2 * e * (r * ga + r * gb + ga * gb)
    p.identity("||w1 - w2||^2 - r^2 ||n1 - n2||^2 = (t1 - t2)^2 + 2 (1 - n1.n2)(t1 t2 - r^2)",
               gap - form)
    p.nonnegative("that is >= 0 for t1, t2 >= r and n1.n2 <= 1", form)
    _sqrt_is_increasing(p, "r^2 ||n1 - n2||^2 <= ||w1 - w2||^2 gives r ||n1 - n2|| <= "
                        "||w1 - w2||")
    return p


@functools.cache
def sigmoid_lipschitz() -> Proof:
    """0 <= s(a) - s(b) <= (a - b)/4 for a >= b: the sigmoid is increasing and 1/4-Lipschitz."""
    p = Proof()
    t = sp.Symbol("t", real=True)
    p.identity("s'(t) = s(t) s(-t)", sp.diff(s(t), t) - s(t) * s(-t))
    p.identity("1/4 - s(t) s(-t) = tanh(t/2)^2 / 4 >= 0",
               (sp.Rational(1, 4) - s(t) * s(-t) - sp.tanh(t / 2) ** 2 / 4).rewrite(sp.exp))
    p.increasing("s is increasing on R: s(a) - s(b) >= 0 for a >= b", s(t), t)
    p.increasing("t/4 - s(t) is increasing on R: s(a) - s(b) <= (a - b)/4 for a >= b",
                 t / 4 - s(t), t)
    return p


@functools.cache
def zeta_tangent() -> Proof:
    """zeta(t) >= zeta(t0) + s(t0)(t - t0) for all real t, t0 (zeta lies above its tangents)."""
    p = Proof()
    z = sp.Symbol("z", real=True)
    p.increasing("e^z - 1 - z is increasing on [0, oo)", sp.exp(z) - 1 - z, z,
                 sp.Interval(0, sp.oo))
    p.increasing("1 + z - e^z is increasing on (-oo, 0]", 1 + z - sp.exp(z), z,
                 sp.Interval(-sp.oo, 0))
    p.identity("e^z - 1 - z = 0 at z = 0, hence e^z >= 1 + z for every z: E_1 = e^(-p u) - 1 + "
               "p u >= 0 and E_2 = e^((1 - p) u) - 1 - (1 - p) u >= 0",
               (sp.exp(z) - 1 - z).subs(z, 0), gives=("E_1 >= 0", "E_2 >= 0"))
    t0, u = sp.symbols("t_0 u", real=True)
    q = s(t0)  # the weight p = s(t0) in (0, 1)
    p.identity("(1 + e^(t0 + u)) / (1 + e^t0) = (1 - p) + p e^u, p = s(t0)",
               ((1 + sp.exp(t0 + u)) / (1 + sp.exp(t0)) - (1 - q + q * sp.exp(u))))
    p.identity("(1 - p) + p e^u = e^(p u) [(1 - p) e^(-p u) + p e^((1 - p) u)]",
               (1 - q + q * sp.exp(u)) - sp.exp(q * u) * ((1 - q) * sp.exp(-q * u)
                                                          + q * sp.exp((1 - q) * u)))
    pp = sp.Symbol("p", positive=True)
    e1, e2 = (sp.Symbol(n, nonnegative=True) for n in ("E_1", "E_2"))
    p.positive("p = e^t0 > 0, so the weight s(t0) = p/(1 + p) lies in (0, 1)", sp.exp(t0),
               gives=("p > 0",))
    p.nonnegative("with e^z >= 1 + z at z = -p u and z = (1 - p) u (E_1, E_2 >= 0) and "
                  "0 < p < 1: (1 - p) e^(-p u) + p e^((1 - p) u) - 1 = (1 - p) E_1 + p E_2 >= 0",
                  (1 - pp / (1 + pp)) * e1 + pp / (1 + pp) * e2)
    a = sp.Symbol("a", real=True)
    p.identity("the tangent values add to 1: (1 - p)(1 - p u) + p (1 + (1 - p) u) = 1",
               (1 - a) * (1 - a * u) + a * (1 + (1 - a) * u) - 1)
    g = sp.Symbol("g", positive=True)
    p.increasing("log is increasing on (0, oo)", sp.log(g), g, sp.Interval.open(0, sp.oo))
    p.identity("so zeta(t0 + u) - zeta(t0) = log((1 - p) + p e^u) >= log(e^(p u)) = s(t0) u "
               "(checked as exp of both sides)", _log_ratio(t0, u))
    return p


def _log_ratio(t0: sp.Symbol, u: sp.Symbol) -> sp.Expr:
    """exp(zeta(t0 + u) - zeta(t0)) - ((1 - p) + p e^u): the log form of the step above."""
    q = s(t0)
    return sp.simplify(sp.exp(zeta(t0 + u) - zeta(t0)) - (1 - q + q * sp.exp(u)))


#: The premises of :func:`intermediate_value`, one a fact, in the order a citing proof maps them.
IVT_PREMISES = (
    Hypothesis("f is continuous on [a, b]", ("f continuous on [a, b]",)),
    Hypothesis("a <= b", ("a <= b",)),
    Hypothesis("f(a) <= c", ("f(a) <= c",)),
    Hypothesis("c <= f(b)", ("c <= f(b)",)),
)


@functools.cache
def intermediate_value() -> Proof:
    """A real function f continuous on [a, b] with f(a) <= c <= f(b) takes the value c at some
    x in [a, b] (Bolzano's intermediate value theorem).

    The theorem rests on the completeness of the reals and is cited, not derived (method
    ``"theorem"``); what the machinery checks is that a proof citing it has established each
    premise (:data:`IVT_PREMISES`, mapped to its own facts) by machine-checked steps.
    """
    p = Proof(premises=IVT_PREMISES)
    p.theorem("f takes the value c at some x in [a, b]",
              "intermediate value theorem; Rudin, Principles of Mathematical Analysis, 3rd ed., "
              "Theorem 4.23", uses=tuple(h.text for h in IVT_PREMISES))
    return p

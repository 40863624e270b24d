r"""The pixel box: projection onto a threat ball intersected with a box, and the linear worst case
inside both (claims BOX-PROJ, BOX-MAX).

Perturbations delta of an input x in the box [a, b]^d must keep x + delta in the box:
lo <= delta <= hi with lo = a - x <= 0 <= hi = b - x, coordinatewise.

**BOX-PROJ.** The Euclidean projection of z onto C = {||delta||_2 <= eps} cap {lo <= delta <= hi}
is delta(mu) = clip(z / (1 + mu), lo, hi) for the mu >= 0 with mu = 0 if ||clip(z, lo, hi)|| <=
eps, else ||delta(mu)|| = eps. Proof: for mu >= 0 the penalised objective (1/2)||delta - z||^2 +
(mu/2)||delta||^2 separates into coordinates, each a convex quadratic (1 + mu)/2 (delta_i -
z_i/(1 + mu))^2 + const, whose minimiser over [lo_i, hi_i] is the clip of its vertex; for any
delta in C, (1/2)||delta - z||^2 >= (1/2)||delta - z||^2 + (mu/2)(||delta||^2 - eps^2) >= the
same at delta(mu) = (1/2)||delta(mu) - z||^2 (complementary slackness), and delta(mu) is in C.
For L-inf the intersection is itself a box, [max(lo, -eps), min(hi, eps)], and the projection
is the clip onto it. "Ball, then box" (Madry et al.'s PGD) is not this projection in general.

**BOX-MAX.** The worst case of a linear model inside C, max -y w.delta, is delta(t) =
clip(-t y w, lo, hi) for the t > 0 with ||delta(t)|| = eps, or the box corner delta_oo
(hi_i where -y w_i > 0, lo_i where < 0, 0 where w_i = 0) when ||delta_oo|| <= eps (L2); and
clip(-eps y sign(w), lo, hi) for L-inf. Proof as above with the concave quadratic
-y w.delta - (1/(2t))||delta||^2 = -(1/(2t)) sum_i (delta_i + t y w_i)^2 + const.

Both existence steps (a mu, resp. t, with ||delta|| = eps) use the intermediate value theorem on
a continuous monotone function, argued in words; the numeric side finds it exactly from the
sorted breakpoints (:func:`numerics.attacks.project_ball_box`,
:func:`numerics.linear.attack.box_worst_case`).
"""

from __future__ import annotations

import functools

import sympy as sp

from theory.claims import Evidence
from theory.hypotheses import Hypothesis
from theory.lemmas import I, isum, linear, vector
from theory.notation import eps
from theory.proof import Proof

__all__ = ["clip_lemma", "verify_box_max", "verify_box_proj"]


@functools.cache
def clip_lemma() -> Proof:
    """For a > 0, lo <= hi: the minimiser of a (t - c)^2 over t in [lo, hi] is clip(c, lo, hi).

    The cases c < lo (lo = c + v, v > 0), c > hi (hi = c - v) and lo <= c <= hi, with t = lo + u
    (resp. hi - u), u >= 0, range over the box: v, u and t are the steps' quantified variables.
    """
    p = Proof(premises=(Hypothesis("a > 0 (the quadratic is convex)", ("a > 0",)),))
    a = sp.Symbol("a", positive=True)
    u, v = sp.Symbol("u", nonnegative=True), sp.Symbol("v", positive=True)
    c = sp.Symbol("c", real=True)
    lo = c + v  # c < lo: clip(c) = lo; t = lo + u >= lo
    gap = a * (lo + u - c) ** 2 - a * (lo - c) ** 2
    p.identity("c < lo: a (t - c)^2 - a (lo - c)^2 = a u (u + 2 v) with t = lo + u, lo = c + v",
               gap - a * u * (u + 2 * v), bound=(u, v))
    p.nonnegative("that is >= 0: the minimiser is lo = clip(c)", a * u * (u + 2 * v),
                  bound=(u, v))
    hi = c - v  # c > hi: clip(c) = hi; t = hi - u <= hi
    gap = a * (hi - u - c) ** 2 - a * (hi - c) ** 2
    p.identity("c > hi: a (t - c)^2 - a (hi - c)^2 = a u (u + 2 v) with t = hi - u, hi = c - v",
               gap - a * u * (u + 2 * v), bound=(u, v))
    t = sp.Symbol("t", real=True)
    p.nonnegative("lo <= c <= hi: a (t - c)^2 >= 0 = a (c - c)^2, the minimiser is c = clip(c)",
                  a * (t - c) ** 2)
    return p


def _duality(p: Proof, sign: int) -> None:
    """Steps: for mu >= 0 and ||delta|| <= eps, the penalty (mu/2)(||delta||^2 - eps^2) <= 0
    moves the objective the right way (``sign`` -1: a minimisation, +1: a maximisation)."""
    mu = sp.Symbol("mu", nonnegative=True)
    g = sp.Symbol("g", nonnegative=True)  # eps^2 - ||delta||^2
    penalty = mu / 2 * (-g)  # (mu/2)(||delta||^2 - eps^2) with ||delta||^2 = eps^2 - g
    p.nonnegative("for every mu >= 0 and delta with ||delta|| <= eps (g = eps^2 - ||delta||^2 "
                  ">= 0): the penalty (mu/2)(||delta||^2 - eps^2) is <= 0, so "
                  + ("f(delta) >= f(delta) + penalty" if sign < 0
                     else "g(delta) <= g(delta) - penalty"), -penalty, bound=(mu, g))
    p.identity("at mu = 0, or at ||delta(mu)|| = eps, the penalty vanishes at delta(mu) "
               "(complementary slackness)", (mu * (eps ** 2 - eps ** 2)).subs(mu, 1))


def verify_box_proj() -> Evidence:
    """BOX-PROJ: the Euclidean projection onto an L2 ball intersected with a box is
    clip(z / (1 + mu), lo, hi) with mu from complementary slackness; for L-inf it is the clip onto
    [max(lo, -eps), min(hi, eps)] (module docstring). Any d, index sums; the existence of mu is
    the intermediate value theorem (argued)."""
    p = Proof(claim="BOX-PROJ")
    z, dl = vector("z"), vector("delta")
    mu = sp.Symbol("mu", nonnegative=True)
    objective = isum((dl[I] - z[I]) ** 2) / 2 + mu / 2 * isum(dl[I] ** 2)
    completed = isum((1 + mu) / 2 * (dl[I] - z[I] / (1 + mu)) ** 2
                     + z[I] ** 2 * mu / (2 * (1 + mu)))
    p.identity("(1/2)||delta - z||^2 + (mu/2)||delta||^2 = sum_i [(1 + mu)/2 (delta_i - "
               "z_i/(1 + mu))^2 + mu z_i^2 / (2 (1 + mu))]",
               _termwise(objective) - _termwise(completed))
    p.positive("for every mu >= 0 the coefficient a = (1 + mu)/2 of each term is > 0",
               (1 + mu) / 2, bound=(mu,), gives=("a > 0 (the quadratic is convex)",))
    p.lemma(clip_lemma(), "each term is minimised over [lo_i, hi_i] by clip(z_i/(1 + mu), lo_i, "
            "hi_i), so delta(mu) minimises the penalised objective over the box")
    _duality(p, -1)
    p.prose("such a mu exists: ||delta(mu)|| is continuous and nonincreasing in mu >= 0 (each "
            "|clip(z_i/(1 + mu), lo_i, hi_i)| is, as lo_i <= 0 <= hi_i) and tends to 0, so if "
            "||delta(0)|| > eps it takes the value eps",
            "the intermediate value theorem is not a SymPy computation")
    e_, u, v = (sp.Symbol("epsilon", positive=True), sp.Symbol("u", nonnegative=True),
                sp.Symbol("v", nonnegative=True))
    for lo_i, lower in ((-e_ - u, -e_), (-e_ + u, -e_ + u)):
        for hi_i, upper in ((e_ + v, e_), (e_ - v, e_ - v)):
            p.identity(f"L-inf: [-eps, eps] cap [lo, hi] has ends max(lo, -eps), min(hi, eps): "
                       f"lo = {lo_i}, hi = {hi_i} give the larger lower and the smaller upper end",
                       (sp.Max(lo_i, -e_) - lower) ** 2 + (sp.Min(hi_i, e_) - upper) ** 2)
    p.positive("L-inf: ||delta - z||^2 = sum_i a (delta_i - z_i)^2 with a = 1 > 0", sp.Integer(1),
               gives=("a > 0 (the quadratic is convex)",))
    p.lemma(clip_lemma(), "L-inf: the projection onto that box is the coordinatewise clip")
    return p.evidence("Proj_{ball cap box}(z) = clip(z/(1 + mu), lo, hi), mu >= 0 from "
                      "complementary slackness (L2); clip onto [max(lo, -eps), min(hi, eps)] "
                      "(L-inf)")


def verify_box_max() -> Evidence:
    """BOX-MAX: the worst case of a linear model inside ball cap box (module docstring): L2
    clip(-t y w, lo, hi) at ||.|| = eps or the box corner; L-inf clip(-eps y sign(w), lo, hi).
    Any d, index sums; the existence of t is the intermediate value theorem (argued)."""
    p = Proof(claim="BOX-MAX")
    w, dl = vector("w"), vector("delta")
    tt = sp.Symbol("t", positive=True)
    yy = sp.Symbol("y", real=True)
    for yv in (1, -1):
        objective = -yv * isum(w[I] * dl[I]) - isum(dl[I] ** 2) / (2 * tt)
        completed = isum(-(dl[I] + tt * yv * w[I]) ** 2 / (2 * tt) + tt * w[I] ** 2 / 2)
        p.identity(f"y = {yv}: -y w.delta - ||delta||^2/(2t) = sum_i [-(delta_i + t y w_i)^2/(2t)"
                   " + t w_i^2/2]", _termwise(objective) - _termwise(completed))
    p.positive("for every t > 0 the coefficient a = 1/(2t) of each (negated) term is > 0",
               1 / (2 * tt), bound=(tt,), gives=("a > 0 (the quadratic is convex)",))
    p.lemma(clip_lemma(), "each term is maximised over [lo_i, hi_i] by clip(-t y w_i, lo_i, hi_i)")
    _duality(p, +1)
    g_i, lo_i, hi_i = sp.Symbol("g", positive=True), sp.Symbol("l", nonpositive=True), \
        sp.Symbol("h", nonnegative=True)
    u = sp.Symbol("u", nonnegative=True)
    p.nonnegative("box corner: for g_i = -y w_i > 0, g_i t <= g_i hi_i on t in [lo_i, hi_i] "
                  "(t = hi_i - u); for g_i < 0 the corner is lo_i, symmetrically",
                  sp.expand(g_i * hi_i - g_i * (hi_i - u)), bound=(g_i, u))
    p.prose("if ||delta_oo|| > eps, a t > 0 with ||clip(-t y w, lo, hi)|| = eps exists: the norm "
            "is continuous and nondecreasing in t, from 0 to ||delta_oo||",
            "the intermediate value theorem is not a SymPy computation")
    e_ = sp.Symbol("epsilon", positive=True)
    for yv in (1, -1):
        for sw in (1, -1):
            corner = sp.Min(hi_i, e_) if -yv * sw > 0 else sp.Max(lo_i, -e_)
            clipped = sp.Min(sp.Max(-e_ * yv * sw, lo_i), hi_i)
            p.identity(f"L-inf, y = {yv}, sign(w_i) = {sw}: the maximiser of -y w_i t over "
                       "[max(lo_i, -eps), min(hi_i, eps)] is clip(-eps y sign(w_i), lo_i, hi_i)",
                       sp.simplify(corner - clipped))
    del yy
    return p.evidence("max_{ball cap box} -y w.delta at clip(-t y w, lo, hi) with ||.|| = eps "
                      "or the box corner (L2); clip(-eps y sign(w), lo, hi) (L-inf)")


def _termwise(expr: sp.Expr) -> sp.Expr:
    """``expr`` (a combination of index sums over i) as one index sum with its summand put over
    a common denominator: two such forms are equal when their summands are."""
    terms = linear(expr)
    body = sp.Integer(0)
    for term in sp.Add.make_args(terms):
        factors = sp.Mul.make_args(term)
        sums = [f for f in factors if isinstance(f, sp.Sum)]
        coef = sp.Mul(*[f for f in factors if not isinstance(f, sp.Sum)])
        body += coef * (sums[0].function if sums else term / coef)
    return sp.cancel(sp.together(sp.expand(body)))

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

**The multiplier.** Both existence steps (a mu, resp. t, with ||delta|| = eps) reduce to one
function of a scalar s >= 0: with lo <= 0 <= hi, each coordinate of the clip has absolute value
f_i(s) = min(s a_i, b_i), a_i = |z_i| (resp. |w_i|), b_i = hi_i or -lo_i (by the sign of z_i,
resp. of -y w_i), and s = 1/(1 + mu) in (0, 1] (resp. s = t). :func:`clip_norm_lemma` proves, for
any d, that F(s) = ||f(s)|| is nondecreasing, ||a||-Lipschitz (so continuous), F(s) <= s ||a||,
strictly increasing wherever a coordinate with a_i > 0 is not clipped and constant once every one
is. BOX-PROJ (case ||clip(z, lo, hi)|| > eps > 0): F(1) > eps and F(s_1) <= s_1 ||z|| < eps at
s_1 = eps/(eps + ||z||) (the bound -> 0 as mu -> oo); BOX-MAX (case ||delta_oo|| > eps): F(0) = 0
<= eps and F(T) = ||delta_oo|| for T = max_i b_i/a_i (every coordinate clipped). The intermediate
value theorem (:func:`theory.lemmas.intermediate_value`, cited, its premises machine-checked)
gives s with F(s) = eps; strictness makes it unique where F is not constant, and F is constant
only where it exceeds eps. At eps = 0 the L2 set is {0}: the projection is 0, the limit
mu -> oo, and BOX-PROJ's finite mu needs eps > 0. The numeric side finds the multiplier exactly
from the sorted breakpoints (:func:`numerics.attacks.project_ball_box`,
:func:`numerics.linear.attack.box_worst_case`).
"""

from __future__ import annotations

import functools

import sympy as sp

from theory.claims import Evidence
from theory.hypotheses import Hypothesis
from theory.lemmas import IVT_PREMISES, I, intermediate_value, isum, linear, triangle, vector
from theory.notation import eps
from theory.proof import Proof

__all__ = ["CLIP_NORM_PREMISE", "clip_lemma", "clip_norm_lemma", "verify_box_max",
           "verify_box_proj"]


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


#: The premise of :func:`clip_norm_lemma`: slopes and box half-widths are >= 0.
CLIP_NORM_PREMISE = Hypothesis("a_i >= 0 and b_i >= 0 for every i (|z_i| and the box half-widths "
                               "hi_i, -lo_i)", ("a[i] >= 0", "b[i] >= 0"))

#: The facts :func:`clip_norm_lemma` establishes, as a citing proof names them.
F_CONTINUOUS = "F continuous on [0, oo)"
F_BOUND = "F(s) <= s ||a|| for s >= 0"
F_MONOTONE = "F nondecreasing on [0, oo)"
F_STRICT = "F strictly increasing past s' when some a_i > 0 is unclipped at s'"
F_CONSTANT = "F constant past s' when every coordinate is clipped at s'"


@functools.cache
def clip_norm_lemma() -> Proof:
    """F(s) = ||(min(s a_i, b_i))_i||_2 for a_i, b_i >= 0, any d: nondecreasing, ||a||-Lipschitz
    (continuous), F(s) <= s ||a||, strictly increasing past s' where some a_i > 0 is unclipped
    (s' a_i < b_i) and constant past s' where every coordinate is clipped.

    For s = s' + h (h >= 0), one coordinate's increment D = f(s) - f(s') is split into the cases
    unclipped at s (b = s a + p), clipped at s' (b = s' a - p) and clipped in between (b = s' a + p,
    a h = p + r); each gives 0 <= D <= a h. Then F(s)^2 - F(s')^2 = sum_i D_i (2 f_i(s') + D_i)
    >= 0 and ||f(s) - f(s')||^2 = sum_i D_i^2 <= h^2 ||a||^2, and the reverse triangle
    inequality gives |F(s) - F(s')| <= h ||a||.
    """
    p = Proof(premises=(CLIP_NORM_PREMISE,))
    a, sp_, h, q, r = (sp.Symbol(n, nonnegative=True) for n in ("a", "s'", "h", "p", "r"))
    a_pos, h_pos = sp.Symbol("a", positive=True), sp.Symbol("h", positive=True)
    b = sp.Symbol("b", nonnegative=True)

    def f(s_: sp.Expr, a_: sp.Expr, b_: sp.Expr) -> sp.Expr:
        return sp.Min(sp.expand(s_ * a_), sp.expand(b_))

    # case U: unclipped at s = s' + h (b = s a + p), hence at s'
    bu = (sp_ + h) * a + q
    p.identity("case unclipped at s = s' + h (b = s a + p, p >= 0): f(s) - f(s') = a h",
               f(sp_ + h, a, bu) - f(sp_, a, bu) - a * h, bound=(a, sp_, h, q))
    p.nonnegative("case unclipped: D = f(s) - f(s') = a h >= 0 and a h - D = 0", a * h,
                  bound=(a, h), gives=("case U: D >= 0", "case U: a h - D >= 0"))
    p.positive("case unclipped with a > 0 and h > 0: D = a h > 0", a_pos * h_pos,
               bound=(a_pos, h_pos), gives=("case U: D > 0 when a > 0, h > 0",))
    # case C: clipped at s' (b = s' a - p), hence at s
    bc = sp_ * a - q
    p.identity("case clipped at s' (b = s' a - p, p >= 0): f(s) - f(s') = 0",
               f(sp_ + h, a, bc) - f(sp_, a, bc), bound=(a, sp_, h, q),
               gives=("case C: D = 0",))
    p.nonnegative("case clipped: D = 0 and a h - D = a h >= 0", a * h, bound=(a, h),
                  gives=("case C: D >= 0", "case C: a h - D >= 0"))
    # case M: clipped in between: b = s' a + p, s a = b + r (a > 0, h = (p + r)/a)
    bm = sp_ * a_pos + q
    p.identity("case clipped in between (b = s' a + p, s a = b + r, a > 0): f(s) - f(s') = p",
               f(sp_ + (q + r) / a_pos, a_pos, bm) - f(sp_, a_pos, bm) - q,
               bound=(a_pos, sp_, q, r))
    p.nonnegative("case in between: D = p >= 0 and a h - D = r >= 0", q + r, bound=(q, r),
                  gives=("case M: D >= 0", "case M: a h - D >= 0"))
    p.identity("a = 0: f(s) = min(0, b) = 0 for every s (b >= 0)", f(sp_, 0, b),
               bound=(sp_, b), gives=("a = 0: D = 0",))
    p.nonnegative("f_i(s') = min(s' a_i, b_i) >= 0", f(sp_, a, b), bound=(sp_, a, b),
                  gives=("c[i] >= 0",))
    p.cases("D_i = f_i(s) - f_i(s') >= 0 in every case", "D[i] >= 0",
            ("case U: D >= 0", "case C: D >= 0", "case M: D >= 0"))
    p.cases("q_i = a_i h - D_i >= 0 in every case", "q[i] >= 0",
            ("case U: a h - D >= 0", "case C: a h - D >= 0", "case M: a h - D >= 0"))
    cv, dv, qv, av = (vector(n, nonnegative=True) for n in ("c", "D", "q", "a"))
    p.identity("F(s)^2 - F(s')^2 = sum_i (c_i + D_i)^2 - sum_i c_i^2 = sum_i D_i (2 c_i + D_i), "
               "c_i = f_i(s')", linear(isum((cv[I] + dv[I]) ** 2) - isum(cv[I] ** 2))
               - linear(isum(dv[I] * (2 * cv[I] + dv[I]))))
    p.nonnegative("sum_i D_i (2 c_i + D_i) >= 0: F is nondecreasing",
                  isum(dv[I] * (2 * cv[I] + dv[I])), gives=(F_MONOTONE,))
    p.identity("h^2 ||a||^2 - ||f(s) - f(s')||^2 = sum_i (D_i + q_i)^2 - D_i^2 = sum_i q_i (2 D_i "
               "+ q_i) (a_i h = D_i + q_i)", linear(isum((dv[I] + qv[I]) ** 2 - dv[I] ** 2))
               - linear(isum(qv[I] * (2 * dv[I] + qv[I]))))
    p.nonnegative("sum_i q_i (2 D_i + q_i) >= 0: ||f(s) - f(s')|| <= h ||a|| (sqrt below)",
                  isum(qv[I] * (2 * dv[I] + qv[I])))
    g = sp.Symbol("g", positive=True)
    p.increasing("sqrt is increasing on (0, oo), sqrt(0) = 0: ||f(s) - f(s')||^2 <= h^2 ||a||^2 "
                 "gives ||f(s) - f(s')|| <= h ||a||", sp.sqrt(g), g, sp.Interval.open(0, sp.oo))
    p.lemma(triangle(), "reverse triangle inequality: |F(s) - F(s')| <= ||f(s) - f(s')|| <= "
            "h ||a||: F is ||a||-Lipschitz on [0, oo)")
    norm_a = sp.sqrt(isum(av[I] ** 2))
    p.limit("||a|| h -> 0 as h -> 0+: |F(s' + h) - F(s')| -> 0, F is continuous on [0, oo)",
            norm_a * h_pos, h_pos, 0, 0, gives=(F_CONTINUOUS,))
    p.identity("f_i(0) = min(0, b_i) = 0, so F(s) = ||f(s) - f(0)|| <= s ||a|| (h = s, s' = 0)",
               f(0, a, b), bound=(a, b), gives=(F_BOUND,))
    rest = sp.Symbol("R", nonnegative=True)  # the sum over the other coordinates, >= 0 as above
    c_i = sp.Symbol("c", nonnegative=True)
    p.positive("some i with a_i > 0 unclipped at s' and h > 0: F(s)^2 - F(s')^2 = a_i h (2 c_i + "
               "a_i h) + R > 0, R >= 0 the other coordinates' sum",
               a_pos * h_pos * (2 * c_i + a_pos * h_pos) + rest, bound=(a_pos, h_pos, c_i, rest),
               uses=("case U: D > 0 when a > 0, h > 0",), gives=(F_STRICT,))
    p.cases("every coordinate clipped at s' (or a_i = 0): every D_i = 0, F(s) = F(s') for s >= s'",
            F_CONSTANT, ("case C: D = 0", "a = 0: D = 0"))
    return p


def _clip_to_min(p: Proof, what: str, s_: sp.Symbol, gives: tuple[str, ...] = ()) -> None:
    """Steps: |clip(s g, lo, hi)| = min(s |g|, b) with b = hi (g >= 0) or -lo (g < 0), as
    clip(s g, lo, hi) = min(s |g|, hi) resp. -min(s |g|, -lo) (lo <= 0 <= hi)."""
    lo_i, hi_i = sp.Symbol("l", nonpositive=True), sp.Symbol("h", nonnegative=True)
    g_nn, g_neg = sp.Symbol("g", nonnegative=True), sp.Symbol("g", negative=True)
    for g_, form, sign_ in ((g_nn, sp.Min(s_ * sp.Abs(g_nn), hi_i), ">= 0"),
                            (g_neg, -sp.Min(s_ * sp.Abs(g_neg), -lo_i), "< 0")):
        p.identity(f"{what} g_i {sign_}: clip(s g_i, lo_i, hi_i) = "
                   + ("min(s |g_i|, hi_i)" if sign_ == ">= 0" else "-min(s |g_i|, -lo_i)"),
                   (sp.Min(sp.Max(s_ * g_, lo_i), hi_i) - form).rewrite(sp.Piecewise),
                   bound=(g_, s_), uses=("l <= 0", "h >= 0"),
                   gives=gives if sign_ == "< 0" else ())


def _ivt(p: Proof, statement: str, order: str, low: str, high: str,
         gives: tuple[str, ...]) -> bool:
    """Step: the intermediate value theorem on F, its premises mapped to this proof's facts:
    ``order`` (a <= b), ``low`` (F(a) <= eps), ``high`` (eps <= F(b))."""
    texts = [h.text for h in IVT_PREMISES]
    return p.lemma(intermediate_value(), statement, gives=gives, premises={
        texts[0]: F_CONTINUOUS, texts[1]: order, texts[2]: low, texts[3]: high})


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
    [max(lo, -eps), min(hi, eps)] (module docstring). Any d, index sums; the existence and
    uniqueness of mu: :func:`clip_norm_lemma` and the intermediate value theorem."""
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
    _multiplier_proj(p, z)
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
    Any d, index sums; the existence of t: :func:`clip_norm_lemma` and the intermediate value
    theorem."""
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
    _multiplier_max(p)
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


_CLIP_PREMISE_BOX = "lo <= 0 <= hi coordinatewise (x lies in the box)"


def _multiplier_proj(p: Proof, z: sp.IndexedBase) -> None:
    """BOX-PROJ's multiplier: in the case ||clip(z, lo, hi)|| > eps > 0, a mu > 0 with
    ||clip(z/(1 + mu), lo, hi)|| = eps exists, and it gives a unique delta(mu)."""
    s_ = sp.Symbol("s", positive=True)
    mu, k = sp.Symbol("mu", nonnegative=True), sp.Symbol("k", nonnegative=True)
    p.identity("s = 1/(1 + mu) maps mu >= 0 onto (0, 1]: every s = 1/(1 + k), k >= 0, comes "
               "from mu = 1/s - 1 = k >= 0", 1 / (1 / (1 + k)) - 1 - k, bound=(k,))
    p.identity("z_i/(1 + mu) = s z_i", z[I] / (1 + mu) - z[I] * (1 / (1 + mu)), bound=(mu,))
    _clip_to_min(p, "with s = 1/(1 + mu):", s_, gives=("F(1) = ||clip(z, lo, hi)||",))
    p.lemma(clip_norm_lemma(), "so ||delta(mu)|| = F(s) with a_i = |z_i|, b_i = hi_i or -lo_i: "
            "F is continuous, nondecreasing, F(s) <= s ||z||, strictly increasing past an s' where "
            "some a_i > 0 is unclipped, constant past one where all are clipped",
            premises={CLIP_NORM_PREMISE.text: _CLIP_PREMISE_BOX},
            gives=(F_CONTINUOUS, F_BOUND, F_STRICT, F_CONSTANT))
    e_ = sp.Symbol("epsilon", positive=True)
    n_z = sp.sqrt(isum(z[I] ** 2))
    s_1 = e_ / (e_ + n_z)
    p.identity("at s_1 = eps/(eps + ||z||): eps - s_1 ||z|| = eps^2/(eps + ||z||)",
               e_ - s_1 * n_z - e_ ** 2 / (e_ + n_z))
    p.positive("eps^2/(eps + ||z||) > 0 (eps > 0): F(s_1) <= s_1 ||z|| < eps",
               e_ ** 2 / (e_ + n_z), uses=(F_BOUND,), gives=("F(s_1) <= eps",))
    p.nonnegative("1 - s_1 = ||z||/(eps + ||z||) >= 0: s_1 <= 1", n_z / (e_ + n_z),
                  gives=("s_1 <= 1",))
    nz = sp.Symbol("n", nonnegative=True)
    p.limit("and ||delta(mu)|| <= ||z||/(1 + mu) -> 0 as mu -> oo", nz / (1 + mu), mu, sp.oo, 0,
            bound=(nz,), uses=(F_BOUND,))
    p.cases("eps <= F(1): F(1) = ||clip(z, lo, hi)|| (s = 1, mu = 0) and the case "
            "||clip(z, lo, hi)|| > eps", "eps <= F(1)",
            ("F(1) = ||clip(z, lo, hi)||", "eps < ||clip(z, lo, hi)||"))
    _ivt(p, "intermediate value theorem on [s_1, 1]: F(s) = eps for some s in [s_1, 1], i.e. "
         "||delta(mu)|| = eps at mu = 1/s - 1 in [0, ||z||/eps]", "s_1 <= 1",
         "F(s_1) <= eps", "eps <= F(1)", gives=("a mu >= 0 with ||delta(mu)|| = eps exists",))
    p.cases("unique: where F(s) = eps < F(1), F is not constant past s, so some a_i > 0 is "
            "unclipped at s and F is strictly increasing past s: no other s' > s has F(s') = eps, "
            "and symmetrically no s' < s", "the multiplier is unique", (F_STRICT, F_CONSTANT))


def _multiplier_max(p: Proof) -> None:
    """BOX-MAX's t: in the case ||delta_oo|| > eps, a t >= 0 with ||clip(-t y w, lo, hi)|| = eps
    exists (F(0) = 0 <= eps, F(T) = ||delta_oo|| with every coordinate clipped)."""
    t_ = sp.Symbol("t", positive=True)
    _clip_to_min(p, "with g = -y w:", t_)
    p.lemma(clip_norm_lemma(), "so ||clip(-t y w, lo, hi)|| = F(t) with a_i = |w_i|, b_i = hi_i "
            "or -lo_i (by the sign of -y w_i): F is continuous, nondecreasing, F(0) = 0, and "
            "constant once every coordinate is clipped",
            premises={CLIP_NORM_PREMISE.text: _CLIP_PREMISE_BOX},
            gives=(F_CONTINUOUS, F_BOUND, F_STRICT, F_CONSTANT))
    a_pos = sp.Symbol("a", positive=True)
    b, r = sp.Symbol("b", nonnegative=True), sp.Symbol("r", nonnegative=True)
    p.identity("a_i > 0: for t = b_i/a_i + r (r >= 0), min(t a_i, b_i) = b_i = |delta_oo,i| "
               "(the box corner)", sp.Min(sp.expand((b / a_pos + r) * a_pos), b) - b,
               bound=(a_pos, b, r), gives=("f_i(t) = |delta_oo,i| for t >= b_i/a_i",))
    p.identity("a_i = 0 (w_i = 0): min(0, b_i) = 0 = delta_oo,i", sp.Min(0, b), bound=(b,),
               gives=("f_i(t) = |delta_oo,i| when w_i = 0",))
    p.cases("at T = max_i b_i/a_i (finitely many i) every coordinate is at the corner: "
            "F(T) = ||delta_oo|| (and F(t) -> ||delta_oo|| as t -> oo: constant from T on)",
            "F(T) = ||delta_oo||", ("f_i(t) = |delta_oo,i| for t >= b_i/a_i",
                                     "f_i(t) = |delta_oo,i| when w_i = 0"))
    p.cases("eps <= F(T): F(T) = ||delta_oo|| and the case ||delta_oo|| > eps", "eps <= F(T)",
            ("F(T) = ||delta_oo||", "eps < ||delta_oo||"))
    p.nonnegative("F(0) = 0 <= eps (eps >= 0)", eps, uses=(F_BOUND,), gives=("F(0) <= eps",))
    p.nonnegative("0 <= T: T = max_i b_i/a_i with a_i > 0, b_i >= 0", b / a_pos,
                  bound=(a_pos, b), gives=("0 <= T",))
    _ivt(p, "intermediate value theorem on [0, T]: ||clip(-t y w, lo, hi)|| = eps for some t in "
         "[0, T]", "0 <= T", "F(0) <= eps", "eps <= F(T)",
         gives=("a t >= 0 with ||clip(-t y w, lo, hi)|| = eps exists",))
    p.cases("where F(t) = eps < F(T) some a_i > 0 is unclipped at t, so that t gives the unique "
            "point delta(t) of norm eps on the path (F strictly increasing past t)",
            "the worst case on the sphere is unique", (F_STRICT, F_CONSTANT))


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

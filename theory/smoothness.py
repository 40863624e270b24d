"""Smoothness of the adversarial logistic loss with the attack's dependence on w (K-SMOOTH).

Kanai et al. 2021. One point (the mean over data follows by the triangle inequality), L2 threat:

    l(w) = zeta(-m),  m = y w.x - eps ||w||,  v = y x - eps w^,  w^ = w/||w||,
    grad l = -s(-m) v                                                  (w != 0; HESS-DEP).

**Lipschitz on {||w|| >= r}, for every pair.** With s_k = s(-m(w_k)),

    grad l(w1) - grad l(w2) = -(s_1 - s_2)(y x - eps w1^) + eps s_2 (w1^ - w2^),

and |s_1 - s_2| <= |m_1 - m_2| / 4 (the sigmoid is 1/4-Lipschitz), |m_1 - m_2| <=
(||x|| + eps) ||w1 - w2|| (Cauchy-Schwarz and the reverse triangle inequality),
||y x - eps w1^|| <= ||x|| + eps, s_2 <= 1, and ||w1^ - w2^|| <= ||w1 - w2|| / r when
||w1||, ||w2|| >= r (w -> w^ is (1/r)-Lipschitz outside the open ball of radius r). Hence

    ||grad l(w1) - grad l(w2)|| <= K(r) ||w1 - w2||,   K(r) = (||x|| + eps)^2 / 4 + eps / r,

for *any* w1, w2 in {||w|| >= r}, in any dimension (for data: K(r) = mean_n (||x_n|| + eps)^2/4
+ eps/r). No segment inside the set is needed, so no factor pi/2 either.

**The eps/r growth is real**, in every dimension d >= 1 and for any data: for a unit u, the pair
w1 = r u, w2 = -r u (both on ||w|| = r, ||w1 - w2|| = 2r) has, with a = eps r, b = r y u.x,
-m_1 = a - b, -m_2 = a + b and

    u.(grad l(w1) - grad l(w2)) = (b/r)(s(a + b) - s(a - b)) + eps (s(a + b) + s(a - b)) >= eps,

since s is increasing (the first term is >= 0) and s(a + b) + s(a - b) - 1 =
e^b (e^{2a} - 1)/((1 + e^{a+b})(e^a + e^b)) >= 0 for a >= 0. By Cauchy-Schwarz (||u|| = 1)
||grad l(w1) - grad l(w2)|| >= eps, so the ratio is >= eps/(2r); for the mean over data each
point's term is >= eps, hence so is their mean.

**At w = 0** the gradient has no limit: along w = delta u (||u|| = 1), delta -> 0+,
grad l -> -(y x - eps u)/2, which depends on u; w = +-delta u give gradients eps apart at
distance 2 delta, so no Lipschitz constant holds near 0 (for eps > 0).

**L-inf** (q = 1): l = zeta(-y w.x + eps ||w||_1), grad_i l = s(-m)(-y x_i + eps sign(w_i)) off
the hyperplanes w_i = 0; m is continuous across w_i = 0, so grad_i jumps by exactly
2 eps s(-m) there (for the mean over data: 2 eps mean_n s(-m_n)) while the other coordinates
are continuous. Finite-difference ratios across the hyperplane grow like 1/step.

The bound K(r), the jump and the segment geometry evaluated on data are in
:mod:`numerics.linear.bounds`.
"""

from __future__ import annotations

import sympy as sp

from theory.claims import Evidence
from theory.hessian import robust_gradient_proof
from theory.hypotheses import HYPOTHESES
from theory.lemmas import (
    NORMALISATION_PREMISE,
    I,
    J,
    cauchy_schwarz,
    isum,
    linear,
    normalisation_lipschitz,
    sigmoid_lipschitz,
    triangle,
    vector,
    zeta_tangent,
)
from theory.notation import eps, s, t, zeta
from theory.proof import Proof

__all__ = ["LIPSCHITZ_K", "X_NORM", "R", "verify_k_smooth"]

#: K-SMOOTH: the Lipschitz constant of the per-point robust gradient on {||w|| >= r}.
R = sp.Symbol("r", positive=True)
X_NORM = sp.Symbol("norm_x", nonnegative=True)
LIPSCHITZ_K: sp.Expr = (X_NORM + eps) ** 2 / 4 + eps / R


def verify_k_smooth() -> Evidence:
    """K-SMOOTH (Kanai et al. 2021): the proof of the module docstring, every step checked.

    For every dimension d (index sums): the gradient (HESS-DEP's), the split of the gradient
    difference, the lemmas (1/4-Lipschitz sigmoid, Cauchy-Schwarz, triangle inequality, w^ is
    (1/r)-Lipschitz on ||w|| >= r), the combination into K(r) for every pair, the pair
    w = +-r u reaching a ratio >= eps/(2r) (any d, any data), the direction-dependent limit of
    the gradient at w = 0, and the L-inf jump 2 eps s(-m) across w_1 = 0.
    """
    p = Proof(claim="K-SMOOTH")
    p.lemma(robust_gradient_proof(), "grad zeta(-m) = -s(-m)(y x - eps w^) for w != 0 (HESS-DEP)")
    x, n1, n2 = vector("x"), vector("n"), vector("m")
    s1, s2, yy = sp.Symbol("s_1", real=True), sp.Symbol("s_2", real=True), \
        sp.Symbol("y", real=True)
    g1, g2 = -s1 * (yy * x[J] - eps * n1[J]), -s2 * (yy * x[J] - eps * n2[J])
    p.identity("grad l(w1) - grad l(w2) = -(s_1 - s_2)(y x - eps w1^) + eps s_2 (w1^ - w2^)",
               sp.expand(g1 - g2 - (-(s1 - s2) * (yy * x[J] - eps * n1[J])
                                    + eps * s2 * (n1[J] - n2[J]))))
    p.lemma(sigmoid_lipschitz(), "|s_1 - s_2| <= |m_1 - m_2| / 4")
    w1, w2 = vector("u"), vector("v")
    p.identity("m_1 - m_2 = y x.(w1 - w2) - eps (||w1|| - ||w2||)",
               linear(yy * isum(x[I] * w1[I]) - yy * isum(x[I] * w2[I]))
               - linear(yy * isum(x[I] * (w1[I] - w2[I]))))
    p.lemma(cauchy_schwarz(), "|x.(w1 - w2)| <= ||x|| ||w1 - w2||")
    p.lemma(triangle(), "| ||w1|| - ||w2|| | <= ||w1 - w2||, so |m_1 - m_2| <= (||x|| + eps) "
            "||w1 - w2||, and with the sigmoid bound a = (||x|| + eps) D/4 - |s_1 - s_2| >= 0; "
            "||y x - eps w1^|| <= ||x|| + eps (||w1^|| = 1, y^2 = 1): b = ||x|| + eps - V >= 0",
            gives=("a >= 0", "b >= 0"))
    p.lemma(normalisation_lipschitz(), "||w1^ - w2^|| <= ||w1 - w2|| / r on ||w|| >= r: c = D/r "
            "- ||w1^ - w2^|| >= 0", gives=("c >= 0",),
            premises={NORMALISATION_PREMISE.text: _SET_TEXT})
    p.identity("1 - s(-m) = s(m)", 1 - s(-t) - s(t))
    p.positive("s(t) > 0 for every t: S = s_2 = s(-m_2) > 0 and e = 1 - s_2 = s(m_2) > 0",
               s(t), gives=("S >= 0", "e >= 0"), bound=(t,))
    # the combination: each bound written as (bound - slack), every symbol >= 0
    dist, vn, a, b, c, e, s2n = (sp.Symbol(nm, nonnegative=True)
                                  for nm in ("D", "V", "a", "b", "c", "e", "S"))
    zz = vector("z")
    p.nonnegative("norms are >= 0: ||z|| = sqrt(sum_i z_i^2) >= 0, for D = ||w1 - w2|| and V = "
                  "||y x - eps w1^||", sp.sqrt(isum(zz[I] ** 2)), gives=("D >= 0", "V >= 0"))
    total, form = _combination(dist, vn, a, b, c, e, s2n)
    p.identity("with |s_1 - s_2| = (||x|| + eps) D/4 - a, ||y x - eps w1^|| = V, ||x|| + eps = "
               "V + b, ||w1^ - w2^|| = D/r - c, s_2 = S = 1 - e: K(r) D - (|s_1 - s_2| V + "
               "eps S ||w1^ - w2^||) = b (V + b) D/4 + a V + eps e D/r + eps S c",
               (total - form).subs(s2n, 1 - e))
    p.nonnegative("that is >= 0 (a sum of products of nonnegative symbols)", form)
    p.lemma(triangle(), "||grad l(w1) - grad l(w2)|| <= |s_1 - s_2| ||y x - eps w1^|| + eps s_2 "
            "||w1^ - w2^||, and the mean over data of per-point bounds bounds the mean")
    _lower_bound_steps(p, x, yy)
    # no limit at w = 0
    delta = sp.Symbol("delta", positive=True)
    u = vector("u")
    c_u = sp.Symbol("c", real=True)  # y u.x
    m_dir = delta * (c_u - eps)  # m at w = delta u, ||u|| = 1
    comp = -s(-m_dir) * (yy * x[J] - eps * u[J])
    p.limit("along w = delta u, ||u|| = 1: grad_j -> -(y x_j - eps u_j)/2 as delta -> 0+",
            comp + (yy * x[J] - eps * u[J]) / 2, delta, 0, 0, "+")
    p.identity("the limits along u and -u differ by eps u: no limit (no Lipschitz bound) at 0",
               (-(yy * x[J] - eps * u[J]) / 2) - (-(yy * x[J] + eps * u[J]) / 2) - eps * u[J])
    # L-inf jump across w_1 = 0 (rest = sum_{j != 1} |w_j|, any d)
    rest = sp.Symbol("R_1", nonnegative=True)
    p.nonnegative("R_1 = sum_{j != 1} |w_j| >= 0", isum(sp.Abs(vector("w")[I])),
                  gives=("R_1 >= 0",))
    w1s, w2s, x1, x2 = sp.symbols("w_1 w_2 x_1 x_2", real=True)
    lin = yy * (w1s * x1 + w2s * x2)  # w_2 x_2 stands for the sum over j != 1
    side = {sgn: zeta(-lin + eps * (sgn * w1s + rest)) for sgn in (1, -1)}  # |w_1| = +-w_1
    d1 = {sgn: sp.diff(side[sgn], w1s).subs(w1s, 0) for sgn in (1, -1)}
    d2 = {sgn: sp.diff(side[sgn], w2s).subs(w1s, 0) for sgn in (1, -1)}
    m0 = yy * w2s * x2 - eps * rest
    p.identity("L-inf: d/dw_1 l jumps by 2 eps s(-m) across w_1 = 0",
               d1[1] - d1[-1] - 2 * eps * s(-m0))
    p.identity("L-inf: the other partial derivatives are continuous there", d2[1] - d2[-1])
    return p.evidence(
        "||grad l(w1) - grad l(w2)|| <= K(r) ||w1 - w2||, K(r) = mean_n (||x_n|| + eps)^2/4 + "
        "eps/r, for every pair in ||w|| >= r (any d); the pair w = +-r u has ratio >= eps/(2r) "
        "(any d); no limit at w = 0; L-inf jump 2 eps s(-m) across w_i = 0",
        details={"K(r)": "(1/4) mean_n (||x_n||_2 + eps)^2 + eps / r",
                 "lower_bound": "w = +-r u, ||u|| = 1: ratio >= eps / (2 r) (any d, any data)",
                 "linf_jump": "2 eps mean_n s(-m_n)"})


#: The K-SMOOTH hypothesis that grants the premise of the normalisation lemma.
_SET_TEXT = next(h.text for h in HYPOTHESES["K-SMOOTH"] if "r > 0" in h.facts)


def _combination(dist: sp.Symbol, vn: sp.Symbol, a: sp.Symbol, b: sp.Symbol, c: sp.Symbol,
                 e: sp.Symbol, s2n: sp.Symbol) -> tuple[sp.Expr, sp.Expr]:
    """K(r) D - (|ds| V + eps S |dn|) with the bounds written as bound minus slack, and its form
    as a sum of products of nonnegative symbols."""
    ds = (vn + b) * dist / 4 - a
    dn = dist / R - c
    total = ((vn + b) ** 2 / 4 + eps / R) * dist - (ds * vn + eps * s2n * dn)
    form = b * (vn + b) * dist / 4 + a * vn + eps * e * dist / R + eps * s2n * c
    return total, form


def _lower_bound_steps(p: Proof, x: sp.IndexedBase, yy: sp.Symbol) -> None:
    """Steps: the pair w1 = r u, w2 = -r u (||u|| = 1) has ||grad l(w1) - grad l(w2)|| >= eps,
    so no Lipschitz constant below eps/(2r) holds on ||w|| >= r (any d, any data)."""
    u = vector("u")
    unit = {isum(u[I] ** 2): 1}
    c = sp.Symbol("c", real=True)  # y u.x
    p.identity("||+-r u||^2 = r^2 (||u|| = 1): both points lie on ||w|| = r, and "
               "||w1 - w2||^2 = ||2 r u||^2 = 4 r^2",
               (linear(isum((R * u[I]) ** 2)).subs(unit) - R ** 2) ** 2
               + (linear(isum((R * u[I] - (-R * u[I])) ** 2)).subs(unit) - 4 * R ** 2) ** 2)
    yux = linear(yy * isum(x[I] * u[I]))
    for sign in (1, -1):
        pm = "+" if sign > 0 else "-"
        p.identity(f"m at w = {pm}r u: y x.({pm}r u) - eps ||{pm}r u|| = {pm}r c - eps r, "
                   "c = y u.x",
                   linear(yy * isum(x[I] * sign * R * u[I])) - eps * R
                   - (sign * R * c - eps * R).subs(c, yux))
    a, b = eps * R, R * c  # -m_1 = a - b, -m_2 = a + b
    g1 = -s(a - b) * (yy * x[J] - eps * u[J])  # w1^ = u
    g2 = -s(a + b) * (yy * x[J] + eps * u[J])  # w2^ = -u
    proj = linear(isum(u[J].subs(J, I) * (g1 - g2).subs(J, I))).subs(unit).subs(yux, c)
    p.identity("u.(grad l(w1) - grad l(w2)) = c (s(a + b) - s(a - b)) + eps (s(a + b) + "
               "s(a - b)), a = eps r, b = r c (index sums, ||u|| = 1)",
               proj - (c * (s(a + b) - s(a - b)) + eps * (s(a + b) + s(a - b))))
    p.nonnegative("a = eps r >= 0", a, gives=("a >= 0",))
    aa, bb = sp.Symbol("a", nonnegative=True), sp.Symbol("b", real=True)
    den = (1 + sp.exp(aa + bb)) * (sp.exp(aa) + sp.exp(bb))
    p.identity("s(a + b) - s(a - b) = e^a (e^{2b} - 1) / ((1 + e^{a+b})(e^a + e^b))",
               (s(aa + bb) - s(aa - bb) - sp.exp(aa) * (sp.exp(2 * bb) - 1) / den)
               .rewrite(sp.exp))
    p.identity("s(a + b) + s(a - b) - 1 = e^b (e^{2a} - 1) / ((1 + e^{a+b})(e^a + e^b))",
               (s(aa + bb) + s(aa - bb) - 1 - sp.exp(bb) * (sp.exp(2 * aa) - 1) / den)
               .rewrite(sp.exp))
    p.lemma(zeta_tangent(), "e^z >= 1 + z for every z: with b = +-beta, beta >= 0, "
            "e^{2 beta} = 1 + 2 beta + phi, phi >= 0 (and e^{2a} = 1 + 2a + phi likewise)",
            gives=("phi >= 0",))
    beta, phi = sp.Symbol("beta", nonnegative=True), sp.Symbol("phi", nonnegative=True)
    p.nonnegative("beta = |b| >= 0 (b = beta or b = -beta)", sp.Abs(bb), gives=("beta >= 0",))
    big_e, big_f = sp.Symbol("E", positive=True), sp.Symbol("F", positive=True)  # e^b, e^a
    p.positive("E = e^b > 0 and F = e^a > 0", sp.exp(bb) * sp.exp(aa), gives=("E > 0", "F > 0"))
    den_s = (1 + big_e * big_f) * (big_f + big_e)
    p.nonnegative("b = beta >= 0: (b/r)(s(a + b) - s(a - b)) = (beta/r) e^a (2 beta + phi) / "
                  "(...) >= 0", beta / R * big_f * (1 + 2 * beta + phi - 1) / den_s,
                  gives=("first term >= 0 (b >= 0)",))
    e_sq = 1 / (1 + 2 * beta + phi)  # b = -beta: e^{2b} = 1/e^{2 beta} <= 1/(1 + 2 beta + phi)
    p.nonnegative("b = -beta <= 0: (b/r)(s(a + b) - s(a - b)) = (beta/r) e^a (1 - e^{2b}) / "
                  "(...) >= 0, e^{2b} = 1/(1 + 2 beta + phi)",
                  sp.cancel(beta / R * big_f * (1 - e_sq) / den_s),
                  gives=("first term >= 0 (b <= 0)",))
    p.nonnegative("a = eps r >= 0: eps (s(a + b) + s(a - b) - 1) = eps e^b (2a + phi) / (...) "
                  ">= 0", eps * big_e * (2 * eps * R + phi) / den_s,
                  gives=("second term >= eps",))
    p.lemma(cauchy_schwarz(), "||grad l(w1) - grad l(w2)|| = ||u|| ||...|| >= u.(grad l(w1) - "
            "grad l(w2)) >= eps, so the ratio is >= eps / (2r): no constant below eps/(2r) works")
    p.cases("every point: h_n = u.(grad l_n(w1) - grad l_n(w2)) - eps >= 0 (the first term is "
            ">= 0 for b >= 0 and for b <= 0, the second is >= eps)", "h[i] >= 0",
            ("first term >= 0 (b >= 0)", "first term >= 0 (b <= 0)", "second term >= eps"))
    h, n_, nn = sp.IndexedBase("h", nonnegative=True), sp.Symbol("n", integer=True), \
        sp.Symbol("N", integer=True, positive=True)
    p.nonnegative("for data: each point's u.(grad l_n(w1) - grad l_n(w2)) = eps + h_n with "
                  "h_n >= 0, so the mean is eps + mean_n h_n >= eps",
                  sp.Sum(h[n_], (n_, 1, nn)) / nn)

"""Budget threshold and gradient bound of the adversarial logistic loss (L-BUDGET, Liu et al.).

The loss over the data (x_n, y_n), n = 1..N, with an L_p threat model of budget eps is

    L_eps(w) = (1/N) sum_n zeta(-y_n w.x_n + eps ||w||_q),      1/p + 1/q = 1,

(INNER-MAX: each term is the worst case of zeta(-y_n w.(x_n + eta)) over ||eta||_p <= eps).

**Threshold.** L_eps is convex (zeta is convex and nondecreasing, its argument is convex in w).
Its one-sided directional derivative at 0 along u is, with mu = (1/N) sum_n y_n x_n,

    L_eps'(0; u) = (1/2) (-u.mu + eps ||u||_q),

and by Hoelder sup_{||u||_q = 1} u.mu = ||mu||_p (the dual norm). Hence

    w = 0 is a global minimiser of L_eps   <=>   eps >= eps_0 := ||mu||_p,

(L2 threat: ||mu||_2; L-inf threat: ||mu||_inf). Sufficiency: convexity gives
L(w) >= L(0) + L'(0; w) >= L(0) + ||w||_q (eps - ||mu||_p)/2. Necessity: for eps < ||mu||_p the
direction u* attaining Hoelder has L'(0; u*) = (eps - ||mu||_p)/2 < 0.

**With a bias** b (not perturbed), L_eps(w, b) = (1/N) sum_n zeta(-y_n (w.x_n + b) + eps ||w||_q).
At w = 0 the best bias is b* = log(N+/N-); then (0, b*) is a global minimiser iff

    eps >= eps_0^b := ||sum_n a_n y_n x_n||_p / sum_n a_n,   a_n = s(-y_n b*),

a weighted mean of y_n x_n; since s(-b*) = N-/N and s(b*) = N+/N it equals
||xbar_+ - xbar_-||_p / 2, half the distance between the class means.

**Gradient bound (L2).** With m_n = y_n w.x_n - eps ||w||_2 and w^ = w/||w||,
grad L_eps(w) = (1/N) sum_n s(-m_n)(-y_n x_n + eps w^), and for all w1, w2 != 0

    ||grad L_eps(w1) - grad L_eps(w2)|| <= A ||w1 - w2|| + B eps,
    A = (1/(4N)) sum_n (||x_n||_2 + eps)^2,   B = 2,

from grad_1 - grad_2 = mean (s(-m_n(w1)) - s(-m_n(w2)))(-y_n x_n + eps w1^) + eps mean
s(-m_n(w2))(w1^ - w2^), the sigmoid being 1/4-Lipschitz, |m_n(w1) - m_n(w2)| <=
(||x_n|| + eps)||w1 - w2||, and ||w1^ - w2^|| <= 2. The additive term cannot be dropped: for
w1 = delta u = -w2 with delta -> 0 the gradient difference tends to eps ||u|| = eps while
||w1 - w2|| -> 0, so any valid B is at least 1.
"""

from __future__ import annotations

import sympy as sp

from theory.claims import Evidence
from theory.lemmas import (
    I,
    J,
    cauchy_schwarz,
    isum,
    linear,
    sigmoid_lipschitz,
    triangle,
    vector,
    zeta_tangent,
)
from theory.notation import eps, s, zeta
from theory.proof import Proof

__all__ = [
    "B_STAR",
    "C_DOT",
    "DIRECTIONAL_DERIVATIVE_AT_0",
    "N_IDX",
    "N_NEG",
    "N_POS",
    "TAU",
    "U_NORM_Q",
    "B",
    "verify_l_budget",
]

#: Symbols: the one-sided step length tau > 0 along a direction u, ||u||_q, and class counts.
TAU = sp.Symbol("tau", positive=True)
U_NORM_Q = sp.Symbol(r"\|u\|_q", positive=True)
N_POS = sp.Symbol("N_+", positive=True)
N_NEG = sp.Symbol("N_-", positive=True)
B = sp.Symbol("b", real=True)

#: L-BUDGET: the one-sided directional derivative at w = 0 of one term zeta(-y w.x + eps||w||_q)
#: along u, with c = y u.x; the mean over n is linear, so L'(0; u) = (1/2)(-u.mu + eps ||u||_q).
C_DOT = sp.Symbol("c", real=True)
DIRECTIONAL_DERIVATIVE_AT_0: sp.Expr = (-C_DOT + eps * U_NORM_Q) / 2

#: L-BUDGET with a bias: the best bias at w = 0, b* = log(N+/N-).
B_STAR: sp.Expr = sp.log(N_POS / N_NEG)


def _hoelder_linf(p: Proof) -> None:
    """Steps: |u.mu| <= ||u||_1 ||mu||_inf, termwise and summed (any d)."""
    big_u, big_mu = sp.symbols("U V", nonnegative=True)
    ui, mui = sp.symbols("u_i mu_i", real=True)
    p.nonnegative("U = |u_i| >= 0 and V = |mu_i| >= 0", sp.Abs(ui) + sp.Abs(mui),
                  gives=("U >= 0", "V >= 0"))
    r_ = sp.Symbol("r", nonnegative=True)  # ||mu||_inf - |mu_i| >= 0
    cases = []
    for su in (1, -1):
        for smu in (1, -1):
            case = f"h_i >= 0 (sign(u_i) = {su}, sign(mu_i) = {smu})"
            cases.append(case)
            p.nonnegative(f"p = inf, sign(u_i) = {su}, sign(mu_i) = {smu}: h_i = |u_i| "
                          "||mu||_inf - u_i mu_i >= 0",
                          sp.expand(sp.Abs(su * big_u) * (sp.Abs(smu * big_mu) + r_)
                                    - su * big_u * smu * big_mu), gives=(case,))
    p.cases("h_i >= 0 for every i (a zero u_i or mu_i makes h_i = |u_i| ||mu||_inf >= 0, a "
            "limit of the cases above)", "h[i] >= 0", tuple(cases))
    h = vector("h", nonnegative=True)
    p.nonnegative("summed over i: ||mu||_inf ||u||_1 - u.mu >= 0", isum(h[I]),
                  gives=("h >= 0 (p = inf)",))


def verify_l_budget() -> Evidence:
    """L-BUDGET (Liu et al. 2020): the budget threshold and the gradient bound, every step checked.

    For every dimension d (index sums), p = 2 and p = inf:

    1. sufficiency: zeta(t) >= log 2 + t/2 (the tangent lemma at 0), so L_eps(w) >= log 2 +
       (eps ||w||_q - w.mu)/2, mu = mean_n y_n x_n; Hoelder (Cauchy-Schwarz for p = 2, termwise
       for p = inf) gives w.mu <= ||w||_q ||mu||_p, hence L_eps(w) >= L_eps(0) when
       eps >= ||mu||_p;
    2. necessity: the one-sided derivative along u at 0 is (eps ||u||_q - u.mu)/2 (SymPy's limit
       per point, the mean by linearity), and u* (mu/||mu|| for p = 2, sign(mu_k) e_k at the
       largest |mu_k| for p = inf) has ||u*||_q = 1, u*.mu = ||mu||_p: negative below the
       threshold;
    3. bias: b* = log(N+/N-) is the best bias at w = 0; by the tangent lemma at -y_n b* the
       bias term vanishes (mean s(-y b*) y = 0) and the threshold is ||xbar_+ - xbar_-||_p / 2
       (sufficiency); below it the one-sided derivative along (u*, 0) at (0, b*) is
       mean(a) (eps - ||mu_b||_p) < 0 (necessity: b* is the only candidate bias at w = 0);
    4. gradient bound (L2): the split of grad_1 - grad_2, the 1/4-Lipschitz sigmoid,
       |m_1 - m_2| <= (||x|| + eps)||w1 - w2||, ||y x - eps w1^|| <= ||x|| + eps,
       ||w1^ - w2^|| <= 2, s <= 1, combined into A ||w1 - w2|| + 2 eps; across 0 the gradient
       difference tends to eps, so B >= 1 is needed.
    """
    p = Proof(claim="L-BUDGET")
    t0 = sp.Symbol("t_0", real=True)
    p.lemma(zeta_tangent(), "zeta(t) >= zeta(t0) + s(t0)(t - t0) for all t, t0")
    p.identity("at t0 = 0: zeta(0) = log 2", zeta(t0).subs(t0, 0) - sp.log(2))
    p.identity("at t0 = 0: s(0) = 1/2", s(t0).subs(t0, 0) - sp.Rational(1, 2))
    w, xs, ys = vector("w"), sp.IndexedBase("x", real=True), sp.IndexedBase("y", real=True)
    nn = sp.Symbol("N", integer=True, positive=True)
    mean_score = sp.Sum(ys[N_IDX] * isum(w[I] * xs[N_IDX, I]), (N_IDX, 1, nn)) / nn
    mean_swapped = isum(w[I] * sp.Sum(ys[N_IDX] * xs[N_IDX, I], (N_IDX, 1, nn))) / nn
    p.identity("mean_n y_n w.x_n = w.mu, mu = mean_n y_n x_n (finite sums commute)",
               _fubini(mean_score) - _fubini(mean_swapped))
    p.lemma(cauchy_schwarz(), "p = 2: w.mu <= ||w||_2 ||mu||_2", gives=("h >= 0 (p = 2)",))
    _hoelder_linf(p)
    p.cases("Hoelder, p = 2 and p = inf: h = ||w||_q ||mu||_p - w.mu >= 0", "h >= 0",
            ("h >= 0 (p = 2)", "h >= 0 (p = inf)"))
    zz = vector("z")
    p.nonnegative("norms are >= 0 (W_q = ||w||_q, M = ||mu||_p, D = ||w1 - w2||, V = ||-y x + "
                  "eps w1^||): sqrt(sum_i z_i^2) >= 0 and sum_i |z_i| >= 0",
                  sp.sqrt(isum(zz[I] ** 2)) + isum(sp.Abs(zz[I])),
                  gives=("W_q >= 0", "M >= 0", "D >= 0", "V >= 0"))
    wq, big_m, gamma = (sp.Symbol(nm, nonnegative=True) for nm in ("W_q", "M", "gamma"))
    hoelder_slack = sp.Symbol("h", nonnegative=True)  # ||w||_q M - w.mu >= 0
    lower = (eps * wq - (big_m * wq - hoelder_slack)) / 2
    p.nonnegative("eps = ||mu||_p + gamma >= ||mu||_p: L_eps(w) - log 2 >= (eps ||w||_q - "
                  "w.mu)/2 >= 0, so w = 0 is a global minimiser",
                  sp.expand(lower.subs(eps, big_m + gamma)))
    # the slope k = -y u.x + eps ||u||_q along a direction u != 0: any real number (one symbol
    # for the three keeps SymPy's series short: 0.5 s instead of 3 s for the bias limit below)
    slope = sp.Symbol("k", real=True)
    term = zeta(TAU * slope)
    p.limit("d/dtau zeta(-tau y u.x + eps tau ||u||_q) at tau = 0+ is (-y u.x + eps ||u||_q)/2 "
            "(every direction u != 0; k = -y u.x + eps ||u||_q, any real)",
            (term - sp.log(2)) / TAU - slope / 2, TAU, 0, 0, "+", bound=(slope,))
    mu_v = vector("mu")
    mnorm = sp.sqrt(isum(mu_v[I] ** 2))
    p.identity("p = 2: u* = mu/||mu|| has ||u*||^2 = 1",
               linear(isum((mu_v[I] / mnorm) ** 2)) - 1)
    p.identity("p = 2: u*.mu = ||mu||", linear(isum(mu_v[I] / mnorm * mu_v[I])) - mnorm)
    delta = sp.Symbol("delta", positive=True)
    mu_k = sp.Symbol("mu_k", real=True)
    p.positive("necessity case eps = ||mu||_p - delta, delta > 0: ||mu||_p = eps + delta > 0; "
               "for p = inf, |mu_k| = ||mu||_inf > 0 (k the largest |mu_k|), so mu_k != 0",
               eps + delta)
    mu_k_nz = sp.Symbol("mu_k", real=True, nonzero=True)
    p.identity("p = inf: u* = sign(mu_k) e_k has ||u*||_1 = |sign(mu_k)| = 1 (mu_k != 0)",
               sp.Abs(sp.sign(mu_k_nz)) - 1)
    p.identity("p = inf: u*.mu = sign(mu_k) mu_k = |mu_k| = ||mu||_inf",
               sp.sign(mu_k) * mu_k - sp.Abs(mu_k))
    p.positive("eps = ||mu||_p - delta: -L'(0; u*) = (||mu||_p - eps)/2 > 0, so L decreases "
               "along u* near 0 and w = 0 is not a minimiser", -((big_m - delta) - big_m) / 2)
    # bias
    n_tot = N_POS + N_NEG
    bias_loss = N_POS * zeta(-B) + N_NEG * zeta(B)
    p.identity("b* = log(N+/N-) is stationary for N+ zeta(-b) + N- zeta(b)",
               sp.diff(bias_loss, B).subs(B, B_STAR))
    p.identity("d2/db2 = N s(b)s(-b)", sp.diff(bias_loss, B, 2) - n_tot * s(B) * s(-B))
    p.positive("s(b)s(-b) > 0: b* is the unique best bias at w = 0", s(B) * s(-B))
    p.identity("s(-b*) = N-/N", sp.simplify(s(-B_STAR) - N_NEG / n_tot))
    p.identity("s(b*) = N+/N", sp.simplify(s(B_STAR) - N_POS / n_tot))
    a_pos, a_neg = N_NEG / n_tot, N_POS / n_tot  # a_n = s(-y_n b*): s(-b*) for y = +1
    p.identity("tangent at t0_n = -y_n b*: the bias term mean_n a_n y_n (b - b*) vanishes, "
               "a_n = s(-y_n b*)", N_POS * a_pos - N_NEG * a_neg)
    xbar_p, xbar_n = vector("p"), vector("q")  # class means
    weighted = N_POS * a_pos * xbar_p[J] - N_NEG * a_neg * xbar_n[J]
    p.identity("mean_n a_n y_n x_n / mean_n a_n = (xbar_+ - xbar_-)/2",
               sp.simplify(weighted / (N_POS * a_pos + N_NEG * a_neg)
                           - (xbar_p[J] - xbar_n[J]) / 2))
    beta_n = sp.Symbol("beta", real=True)  # y_n b*
    p.positive("a_n = s(-y_n b*) > 0", s(-beta_n), gives=("a[i] > 0",))
    a_v, c_v = sp.IndexedBase("a", positive=True), sp.IndexedBase("c", real=True)
    p.positive("abar = mean_n a_n > 0", sp.Sum(a_v[N_IDX], (N_IDX, 1, nn)) / nn,
               gives=("abar > 0",))
    abar = sp.Symbol("abar", positive=True)  # mean_n a_n, a mean of sigmoids (> 0)
    p.nonnegative("sufficiency: L(w, b) - L(0, b*) >= mean(a) ||w||_q (eps - ||xbar_+ - "
                  "xbar_-||_p / 2) >= 0 above that threshold (Hoelder as above)",
                  sp.expand(abar * lower.subs(eps, big_m + gamma)))
    # necessity: below the threshold, (0, b*) is not a minimiser (b* is the only candidate
    # among w = 0, and the direction (u*, 0) decreases the loss)
    term_b = zeta(TAU * slope - beta_n)
    p.limit("bias, necessity: d/dtau zeta(-y_n (tau u.x_n + b*) + eps tau ||u||_q) at tau = 0+ "
            "is a_n (-y_n u.x_n + eps ||u||_q), a_n = s(-y_n b*) (every direction u != 0; k as "
            "above)",
            (term_b - zeta(-beta_n)) / TAU - s(-beta_n) * slope, TAU, 0, 0, "+", bound=(slope,))
    u_norm = sp.Symbol("U", positive=True)  # ||u||_q
    mean_dd = sp.Sum(a_v[N_IDX] * (-c_v[N_IDX] + eps * u_norm), (N_IDX, 1, nn)) / nn
    sum_a = sp.Sum(a_v[N_IDX], (N_IDX, 1, nn))
    mu_b = sp.Sum(a_v[N_IDX] * c_v[N_IDX], (N_IDX, 1, nn)) / sum_a  # u.mu_b, mu_b weighted
    p.identity("mean_n a_n (-c_n + eps ||u||_q) = (sum_n a_n / N)(eps ||u||_q - u.mu_b), "
               "mu_b = sum_n a_n y_n x_n / sum_n a_n (c_n = y_n u.x_n)",
               linear(mean_dd) - linear(sum_a / nn * (eps * u_norm - mu_b)))
    p.positive("eps = ||mu_b||_p - delta, u* with ||u*||_q = 1, u*.mu_b = ||mu_b||_p (as above): "
               "the derivative along (u*, 0) is mean(a) (eps - ||mu_b||_p) = -mean(a) delta < 0, "
               "so (0, b*) is not a minimiser below the threshold",
               -(abar * ((big_m - delta) - big_m)))
    # gradient bound (L2)
    s1, s2, yy = sp.Symbol("s_1", real=True), sp.Symbol("s_2", real=True), \
        sp.Symbol("y", real=True)
    x, n1, n2 = vector("x"), vector("n"), vector("m")
    g1, g2 = s1 * (-yy * x[J] + eps * n1[J]), s2 * (-yy * x[J] + eps * n2[J])
    p.identity("L2: grad_1 - grad_2 = (s_1 - s_2)(-y x + eps w1^) + eps s_2 (w1^ - w2^)",
               sp.expand(g1 - g2 - ((s1 - s2) * (-yy * x[J] + eps * n1[J])
                                    + eps * s2 * (n1[J] - n2[J]))))
    p.lemma(sigmoid_lipschitz(), "|s_1 - s_2| <= |m_1 - m_2| / 4")
    p.lemma(cauchy_schwarz(), "|x.(w1 - w2)| <= ||x|| ||w1 - w2||")
    p.lemma(triangle(), "|m_1 - m_2| <= (||x|| + eps) ||w1 - w2||, so a = (||x|| + eps) D/4 - "
            "|s_1 - s_2| >= 0; ||-y x + eps w1^|| <= ||x|| + eps (b = ||x|| + eps - V >= 0) and "
            "||w1^ - w2^|| <= ||w1^|| + ||w2^|| = 2 (c = 2 - ||w1^ - w2^|| >= 0)",
            gives=("a >= 0", "b >= 0", "c >= 0"))
    tt = sp.Symbol("t", real=True)
    p.positive("s(t) > 0 for every t: S = s_2 = s(-m_2) > 0 and e = 1 - s_2 = s(m_2) > 0",
               s(tt), gives=("S >= 0", "e >= 0"), bound=(tt,))
    dist, vn, a, b, c, e, s2n = (sp.Symbol(nm, nonnegative=True)
                                  for nm in ("D", "V", "a", "b", "c", "e", "S"))
    ds = (vn + b) * dist / 4 - a
    dn = 2 - c
    total = (vn + b) ** 2 / 4 * dist + 2 * eps - (ds * vn + eps * s2n * dn)
    form = b * (vn + b) * dist / 4 + a * vn + 2 * eps * e + eps * s2n * c
    p.identity("with the bounds as bound minus slack (|s_1 - s_2| = (||x|| + eps) D/4 - a, "
               "||x|| + eps = V + b, ||w1^ - w2^|| = 2 - c, s_2 = 1 - e): A D + 2 eps - (...) "
               "= b (V + b) D/4 + a V + 2 eps e + eps s_2 c", (total - form).subs(s2n, 1 - e))
    p.nonnegative("that is >= 0: ||grad_1 - grad_2|| <= A ||w1 - w2|| + 2 eps per point; the "
                  "mean over data by the triangle inequality", form)
    yx_u = sp.Symbol("c_u", real=True)  # y x.u
    m_plus, m_minus = delta * yx_u - eps * delta, -delta * yx_u - eps * delta
    p.limit("across 0: w = +-delta u give gradients whose difference tends to eps (B >= 1)",
            s(-m_plus) * eps - s(-m_minus) * (-eps) - eps, delta, 0, 0, "+")
    return p.evidence(
        "w = 0 minimises L_eps iff eps >= ||mean y x||_p (bias: ||xbar+ - xbar-||_p/2); "
        "gradient bound (L2) A = mean(||x||+eps)^2/4, B = 2",
        details={"threshold": "||mean_n y_n x_n||_p",
                 "threshold_with_bias": "||xbar_+ - xbar_-||_p / 2",
                 "A": "(1/4) mean_n (||x_n||_2 + eps)^2", "B": "2 (any valid B >= 1)",
                 "gradient_bound_threat": "L2 only"})


#: The index of data points n = 1..N.
N_IDX = sp.Symbol("n", integer=True)


def _fubini(expr: sp.Expr) -> sp.Expr:
    """A product of finite sums over i and n (times factors) as one double sum over (n, i),
    expanded: the form in which the two orders of summation compare equal."""
    def merge(e: sp.Sum) -> sp.Sum:
        inner = sp.expand(e.function)
        terms = []
        for term in sp.Add.make_args(inner):
            sums = [f for f in sp.Mul.make_args(term) if isinstance(f, sp.Sum)]
            rest = [f for f in sp.Mul.make_args(term) if not isinstance(f, sp.Sum)]
            body = sp.Mul(*rest, *[f.function for f in sums])
            lims = [lim for f in sums for lim in f.limits] + list(e.limits)
            terms.append((body, lims))
        return sp.Add(*[sp.Sum(body, *sorted(lims, key=lambda lim: str(lim[0])))
                        for body, lims in terms])

    out = expr
    while any(isinstance(f, sp.Sum) and any(isinstance(g, sp.Sum) for g in
                                             sp.preorder_traversal(f.function))
              for f in sp.preorder_traversal(out)):
        out = out.replace(lambda e: isinstance(e, sp.Sum)
                          and any(isinstance(g, sp.Sum) for g in sp.preorder_traversal(e.function)),
                          merge)
    return sp.expand(out)

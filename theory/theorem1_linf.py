r"""Theorem 1 under the L-inf threat (claim Y-T1-LINF; not in the papers, derived here).

Yamada et al. prove Theorem 1 for L2 only; their table 3 (L-inf) shows lambda_1 growing far
faster with eps. At fixed w with no w_i = 0 (off the hyperplanes where ||w||_1 is not
differentiable), the worst case is eta* = -eps y sign(w) (INNER-MAX) and, writing

    sigma = sign(w),  S = ||w||_1 = w.sigma,  m = y w.x - eps S     (the robust margin),
    v = y x - eps sigma,  ||v||^2 = ||x||^2 - 2 eps y sigma.x + eps^2 d,   w.v = m,

the per-point Hessian of zeta(-m) is g(m) v v^T, g = s s(-) (HESS-DEP, p = inf): its top
eigenpair is (v, lambda_1 = g(m) ||v||^2), every vector orthogonal to v has eigenvalue 0.

**The derivative.** With g'(m) = -tanh(m/2) g(m), dm/deps = -S and d||v||^2/deps = -2 sigma.v
(sigma.v = y sigma.x - eps d):

    d lambda_1 / d eps = g(m) [ S tanh(m/2) ||v||^2 - 2 sigma.v ].

**Exact condition** (g > 0): lambda_1 increases with eps iff S tanh(m/2) ||v||^2 > 2 sigma.v.
(L2 has the same form with S -> ||w||_2 and sigma -> w^, where w^.v = m/||w||_2.) For m > 0,
completing the square, it reads ||v - sigma/(S t)||^2 > d/(S t)^2 (t = tanh(m/2)): v outside a
ball of radius sqrt(d)/(S t).

**Sufficient conditions.** (A) m > 0 and sigma.v < 0, i.e. eps d > y sigma.x; since
y sigma.x <= ||x||_1, eps > ||x||_1/d (the point's mean absolute pixel) suffices, whatever w is.
(B) m tanh(m/2) >= 1 + kappa, kappa = sqrt(d) ||w||_2/||w||_1 in [1, sqrt(d)]: with
z = v - sigma/(S t), Cauchy-Schwarz gives ||w||_2^2 ||z||^2 >= (w.z)^2 = (m - 1/t)^2, and
m - 1/t >= kappa/t makes S t ||z||^2 >= d/(S t). Equality kappa = 1 holds only when all |w_i|
are equal; then (B) is Y-T1's m >= m* (m tanh(m/2) = 2). Otherwise the L-inf threshold m_kappa
is larger, and m >= m* does not suffice: on d = 2, w = (1, 1/100), a point with m = 2.5 > m*
has a decreasing lambda_1 (certified by interval arithmetic).

**What the eps^2 d term does.** ||v||^2 gains eps^2 d (against eps^2 for L2: d times more), so
d lambda_1/d eps carries the term 2 eps d g(m) (from -2 sigma.v), growing with the dimension:
once eps d exceeds y sigma.x, condition (A) holds for every point with a positive margin. On
MNIST (d = 784, mean pixel about 0.13) that is eps above the point's mean pixel, met by most
points at the table's large budgets; L2 has no such term (its -2 m/W does not grow with d).
"""

from __future__ import annotations

import functools

import mpmath
import sympy as sp

from theory._symbolic import lambdify_pair
from theory.claims import Evidence
from theory.hessian import _robust_entries
from theory.lemmas import DIM, I, J, K, cauchy_schwarz, isum, linear, vector
from theory.notation import Y_VALUES, eps, s
from theory.proof import Proof
from theory.theorem1 import _negative, margin_threshold

__all__ = [
    "COUNTEREXAMPLE",
    "DLAMBDA_LINF",
    "DLAMBDA_LINF_NP",
    "DLAMBDA_LINF_TORCH",
    "KAPPA",
    "S1",
    "SIGMA_V",
    "V_SQ",
    "W2",
    "linf_threshold",
    "verify_y_t1_linf",
]

#: ||w||_1, ||w||_2 (> 0: no w_i = 0), the margin, ||v||^2 and sigma.v = sign(w).v.
S1 = sp.Symbol("norm1_w", positive=True)
W2 = sp.Symbol("norm2_w", positive=True)
M = sp.Symbol("m", real=True)
V_SQ = sp.Symbol("V", nonnegative=True)
SIGMA_V = sp.Symbol("a", real=True)
#: g(m) = s(m) s(-m).
G: sp.Expr = s(M) * s(-M)
#: Y-T1-LINF: d lambda_1/d eps = g(m) [||w||_1 tanh(m/2) ||v||^2 - 2 sign(w).v].
DLAMBDA_LINF: sp.Expr = G * (S1 * sp.tanh(M / 2) * V_SQ - 2 * SIGMA_V)
#: Y-T1-LINF: kappa = sqrt(d) ||w||_2/||w||_1 >= 1; the threshold is m tanh(m/2) = 1 + kappa.
KAPPA: sp.Expr = sp.sqrt(DIM) * W2 / S1
#: (numpy, torch) float64 callables of d lambda_1/d eps in (m, ||w||_1, ||v||^2, sign(w).v).
DLAMBDA_LINF_NP, DLAMBDA_LINF_TORCH = lambdify_pair((M, S1, V_SQ, SIGMA_V), DLAMBDA_LINF)

#: A point where m > m* (Y-T1's threshold) and lambda_1 still decreases under L-inf (d = 2).
COUNTEREXAMPLE = {"w": (1, sp.Rational(1, 100)),
                  "x": (sp.Rational(259, 100), sp.Rational(128, 100)),
                  "y": 1, "eps": sp.Rational(1, 10)}


@functools.cache
def linf_threshold(kappa: float, digits: int = 20) -> mpmath.mpf:
    """Y-T1-LINF: m_kappa, the positive root of m tanh(m/2) = 1 + kappa (kappa >= 1); for
    m >= m_kappa lambda_1 does not decrease with eps (kappa = 1 gives Y-T1's m*)."""
    with mpmath.workdps(digits + 5):
        target = 1 + mpmath.mpf(kappa)
        return mpmath.findroot(lambda z: z * mpmath.tanh(z / 2) - target,
                               max(mpmath.mpf("2.4"), target))


def _counterexample() -> dict[str, sp.Expr]:
    """The exact quantities of :data:`COUNTEREXAMPLE`: m, ||w||_1, ||v||^2, sign(w).v."""
    w, x = (sp.Matrix(COUNTEREXAMPLE[k]) for k in ("w", "x"))
    y, e = COUNTEREXAMPLE["y"], COUNTEREXAMPLE["eps"]
    sig = w.applyfunc(sp.sign)
    v = y * x - e * sig
    norm1 = sum(abs(c) for c in w)
    return {"m": y * w.dot(x) - e * norm1, "S": norm1, "V": v.dot(v), "a": sig.dot(v)}


def _steps_hessian(p: Proof) -> None:
    """Steps: the Hessian off the hyperplanes w_i = 0 is g(m) v v^T; its top eigenpair."""
    for yv in Y_VALUES:
        auto, closed = _robust_entries(yv, "linf", False)["hessian"]
        p.identity(f"y = {yv}: d2/dw_j dw_k zeta(-(y w.x - eps ||w||_1)) = s(m)s(-m) v_j v_k, "
                   "v = y x - eps sign(w), off the hyperplanes w_i = 0 (index sums)",
                   sp.cancel(sp.together(auto - closed)), uses=("w[i] != 0",))
    v, r, mm = vector("v"), vector("r"), sp.Symbol("m", real=True)
    g = s(mm) * s(-mm)
    hess = g * v[J] * v[K]
    p.identity("(H v)_j = s(m)s(-m) ||v||^2 v_j: v is an eigenvector, eigenvalue "
               "lambda_1 = s(m)s(-m)||v||^2", linear(sp.Sum(hess * v[K], (K, 1, DIM)))
               - g * linear(isum(v[I] ** 2)) * v[J])
    p.identity("(H r)_j = s(m)s(-m) (v.r) v_j: eigenvalue 0 on the vectors orthogonal to v",
               linear(sp.Sum(hess * r[K], (K, 1, DIM))) - g * linear(isum(v[I] * r[I])) * v[J])
    p.nonnegative("lambda_1 = s(m)s(-m)||v||^2 >= 0 = the other eigenvalues: (v, lambda_1) is the "
                  "top eigenpair", g * isum(v[I] ** 2))


def _steps_derivative(p: Proof) -> None:
    """Steps: ||v||^2, sigma.v, w.v = m and the derivative d lambda_1/d eps."""
    x = vector("x")
    w = vector("w", nonzero=True)
    sg = sp.sign(w[I])
    for yv in Y_VALUES:
        v_i = yv * x[I] - eps * sg
        p.identity(f"y = {yv}: ||v||^2 = ||x||^2 - 2 eps y sign(w).x + eps^2 d (sign(w_i)^2 = 1)",
                   linear(isum(v_i ** 2)) - linear(isum(x[I] ** 2) - 2 * eps * yv
                                                   * isum(sg * x[I]) + eps ** 2 * DIM))
        p.identity(f"y = {yv}: sign(w).v = y sign(w).x - eps d",
                   linear(isum(sg * v_i)) - linear(yv * isum(sg * x[I]) - eps * DIM))
        p.identity(f"y = {yv}: w.v = y w.x - eps ||w||_1 = m (w_i sign(w_i) = |w_i|)",
                   isum(w[I] * v_i - (yv * w[I] * x[I] - eps * sp.Abs(w[I]))).doit())
        p.identity(f"y = {yv}: d||v||^2/deps = -2 sign(w).v",
                   isum(sp.diff(v_i ** 2, eps) + 2 * sg * v_i))
        m_expr = yv * isum(w[I] * x[I]) - eps * isum(sp.Abs(w[I]))
        p.identity(f"y = {yv}: dm/deps = -||w||_1", sp.diff(m_expr, eps) + isum(sp.Abs(w[I])))
    p.identity("d2||v||^2/deps2 = 2 d: the eps^2 d term (L2: eps^2)",
               sp.diff(isum((x[I] - eps * sg) ** 2), eps, 2).doit() - 2 * DIM)
    p.identity("g'(m) = -tanh(m/2) g(m)", (sp.diff(G, M) + sp.tanh(M / 2) * G).rewrite(sp.exp))
    m0, b, xx = sp.Symbol("mu", real=True), sp.Symbol("b", real=True), \
        sp.Symbol("X", real=True)
    m_eps = m0 - eps * S1  # m = y w.x - eps ||w||_1
    v_eps = xx - 2 * eps * b + eps ** 2 * DIM  # ||v||^2, b = y sign(w).x
    lam = G.subs(M, m_eps) * v_eps
    p.identity("chain rule: d/deps [g(m) ||v||^2] = g(m) [||w||_1 tanh(m/2) ||v||^2 - "
               "2 sign(w).v] with m = y w.x - eps ||w||_1, sign(w).v = b - eps d",
               (sp.diff(lam, eps) - DLAMBDA_LINF.subs({M: m_eps, V_SQ: v_eps,
                                                       SIGMA_V: b - eps * DIM})).rewrite(sp.exp),
               gives=("the derivative formula",))
    p.positive("g(m) = s(m)s(-m) > 0: d lambda_1/d eps > 0 iff ||w||_1 tanh(m/2) ||v||^2 > "
               "2 sign(w).v (the exact condition)", G, gives=("the exact condition",))


def _steps_sufficient(p: Proof) -> None:
    """Steps: the sufficient conditions (A) and (B) and kappa >= 1."""
    mp_ = sp.Symbol("m", positive=True)
    t = sp.Symbol("t", positive=True)
    p.positive("m > 0: t = tanh(m/2) > 0", sp.tanh(mp_ / 2), gives=("t > 0",))
    n_ = sp.Symbol("n", positive=True)
    v = vector("v")
    p.nonnegative("V = ||v||^2 = sum_i v_i^2 >= 0", isum(v[I] ** 2), gives=("V >= 0",))
    p.positive("(A) m > 0 and sign(w).v = -n < 0: ||w||_1 tanh(m/2) ||v||^2 - 2 sign(w).v > 0",
               S1 * sp.tanh(mp_ / 2) * V_SQ + 2 * n_)
    xp, xn = sp.Symbol("x", nonnegative=True), sp.Symbol("x", negative=True)
    for sv in (1, -1):
        for xi in (xp, xn):
            p.nonnegative(f"|x_i| - c x_i >= 0 for c = y sign(w_i) = {sv}, x_i "
                          + (">= 0" if xi is xp else "< 0"), sp.Abs(xi) - sv * xi, bound=(xi,),
                          gives=(f"|x| - {sv} x >= 0, x " + (">= 0" if xi is xp else "< 0"),))
    p.cases("e_i = |x_i| - y sign(w_i) x_i >= 0 in every case", "e[i] >= 0",
            tuple(f"|x| - {sv} x >= 0, x {c}" for sv in (1, -1) for c in (">= 0", "< 0")))
    ev = vector("e", nonnegative=True)
    p.nonnegative("||x||_1 - y sign(w).x = sum_i e_i >= 0: eps > ||x||_1/d gives eps d > "
                  "y sign(w).x, i.e. sign(w).v < 0 (condition (A) whatever w is)", isum(ev[I]))
    # (B): completing the square and Cauchy-Schwarz
    w = vector("w", nonzero=True)
    sg = sp.sign(w[I])
    p.identity("m > 0: ||w||_1 t ||v||^2 - 2 sign(w).v = ||w||_1 t ||v - sign(w)/(||w||_1 t)||^2 "
               "- d/(||w||_1 t) (sign(w_i)^2 = 1)",
               linear(S1 * t * isum((v[I] - sg / (S1 * t)) ** 2)) - DIM / (S1 * t)
               - linear(S1 * t * isum(v[I] ** 2) - 2 * isum(sg * v[I])))
    x = vector("x")
    for yv in Y_VALUES:
        z_i = yv * x[I] - eps * sg - sg / (S1 * t)
        p.identity(f"y = {yv}: w.z = m - 1/t for z = v - sign(w)/(||w||_1 t) (w.sign(w) = "
                   "||w||_1)", isum(w[I] * z_i - (yv * w[I] * x[I] - eps * sp.Abs(w[I])
                                                  - sp.Abs(w[I]) / (S1 * t))).doit())
    p.lemma(cauchy_schwarz(), "Cauchy-Schwarz: C = ||w||_2^2 ||z||^2 - (w.z)^2 >= 0",
            gives=("C >= 0",))
    p.positive("kappa = sqrt(d) ||w||_2/||w||_1 > 0", KAPPA, gives=("kappa > 0",))
    kap, k, c_ = (sp.Symbol(n, nonnegative=True) for n in ("kappa", "k", "C"))
    d_of_kappa = kap ** 2 * S1 ** 2 / W2 ** 2  # kappa = sqrt(d) ||w||_2/||w||_1
    p.identity("kappa = sqrt(d) ||w||_2/||w||_1: d = kappa^2 ||w||_1^2/||w||_2^2",
               d_of_kappa.subs(kap, KAPPA) - DIM)
    wz = (kap + k) / t  # m t = 1 + kappa + k: m - 1/t = (kappa + k)/t
    gap = S1 * t * (wz ** 2 + c_) / W2 ** 2 - d_of_kappa / (S1 * t)
    bound = S1 * t * c_ / W2 ** 2 + S1 * k * (2 * kap + k) / (t * W2 ** 2)
    p.identity("(B) m tanh(m/2) = 1 + kappa + k: ||w||_1 t ||z||^2 - d/(||w||_1 t) = ||w||_1 t C/"
               "||w||_2^2 + ||w||_1 k (2 kappa + k)/(t ||w||_2^2), with ||z||^2 = ((w.z)^2 + C)/"
               "||w||_2^2 and w.z = (kappa + k)/t", sp.expand(gap - bound))
    p.nonnegative("that is >= 0 (C >= 0, k >= 0): m tanh(m/2) >= 1 + kappa gives "
                  "d lambda_1/d eps >= 0", bound, uses=("C >= 0", "t > 0"))
    kp = sp.Symbol("k", positive=True)
    p.positive("> 0 when m tanh(m/2) > 1 + kappa (k > 0)", bound.subs(k, kp),
               uses=("C >= 0", "t > 0"))
    a_ = vector("alpha", nonnegative=True)  # |w_i|
    p.lemma(cauchy_schwarz(), "Cauchy-Schwarz on (|w_i|) and (1, ..., 1): ||w||_1^2 <= d "
            "||w||_2^2, so kappa >= 1 and the L-inf threshold m_kappa >= m* (Y-T1)")
    p.identity("the pairing of that Cauchy-Schwarz: sum_i |w_i| * 1 = ||w||_1, sum_i 1^2 = d",
               linear(isum(a_[I] * 1)) - linear(isum(a_[I])) + (isum(sp.Integer(1)).doit() - DIM))
    p.increasing_by_derivative("m tanh(m/2) is strictly increasing on m > 0: the root m_kappa of "
                               "m tanh(m/2) = 1 + kappa is unique and grows with kappa",
                               mp_ * sp.tanh(mp_ / 2), mp_)


def verify_y_t1_linf() -> Evidence:
    """Y-T1-LINF: the L-inf analogue of Theorem 1 (a), at fixed w with no w_i = 0, for every d.

    Steps (index sums where vectors appear): the Hessian of zeta(-(y w.x - eps ||w||_1)) is
    s(m)s(-m) v v^T off the hyperplanes w_i = 0 (SymPy's second derivatives, y = +-1), with top
    eigenpair (v, s(m)s(-m)||v||^2); ||v||^2 = ||x||^2 - 2 eps y sign(w).x + eps^2 d,
    sign(w).v = y sign(w).x - eps d, w.v = m; the chain rule gives d lambda_1/d eps =
    g(m)[||w||_1 tanh(m/2)||v||^2 - 2 sign(w).v] and, as g > 0, the exact condition; (A) m > 0 and
    sign(w).v < 0 (implied by eps > ||x||_1/d) and (B) m tanh(m/2) >= 1 + kappa each suffice;
    kappa >= 1; a d = 2 point with m > m* whose lambda_1 decreases (interval arithmetic).
    """
    p = Proof(claim="Y-T1-LINF")
    _steps_hessian(p)
    _steps_derivative(p)
    _steps_sufficient(p)
    ce = _counterexample()
    m_star = margin_threshold()
    p.enclosure("d = 2, w = (1, 1/100), x = (2.59, 1.28), y = 1, eps = 1/10: m = 2.5018 > m* "
                "(interval arithmetic)", lambda: _negative(sp.Float(mpmath.nstr(m_star, 25), 25)
                                                           - ce["m"]))
    value = DLAMBDA_LINF.subs({M: ce["m"], S1: ce["S"], V_SQ: ce["V"], SIGMA_V: ce["a"]})
    p.enclosure("there d lambda_1/d eps < 0 (interval arithmetic): Y-T1's m* does not suffice "
                "under L-inf (kappa = 1.40 there)", lambda: _negative(value))
    w2 = sp.sqrt(sum(c ** 2 for c in COUNTEREXAMPLE["w"]))
    kappa_ce = float(sp.sqrt(2) * w2 / ce["S"])
    counterexample = {
        "w": [float(c) for c in COUNTEREXAMPLE["w"]], "x": [float(c) for c in COUNTEREXAMPLE["x"]],
        "y": 1, "eps": float(COUNTEREXAMPLE["eps"]), "m": float(ce["m"]),
        "m_star": float(m_star), "kappa": kappa_ce,
        "m_kappa": float(linf_threshold(kappa_ce)),
        "dlambda1_deps": float(sp.N(value, 17)),
        "why": "m > m* but m tanh(m/2) < 1 + kappa: under L-inf lambda_1 decreases as eps grows",
    }
    return p.evidence(
        "L-inf, fixed w (no w_i = 0): d lambda_1/d eps = g(m)[||w||_1 tanh(m/2)||v||^2 - "
        "2 sign(w).v]; > 0 when m > 0 and eps d > y sign(w).x, or when m tanh(m/2) >= 1 + "
        "sqrt(d)||w||_2/||w||_1",
        conditions=(
            "fixed w with no w_i = 0, L-inf worst case: lambda_1 increases with eps exactly when "
            "||w||_1 tanh(m/2) ||v||^2 > 2 sign(w).v; sufficient: (A) m > 0 and eps d > "
            "y sign(w).x (e.g. eps > ||x||_1/d), or (B) m tanh(m/2) >= 1 + kappa, kappa = "
            "sqrt(d)||w||_2/||w||_1 >= 1 (kappa = 1: Y-T1's m*; otherwise a larger threshold)",
        ),
        counterexample=counterexample,
        details={"exact_condition": "||w||_1 tanh(m/2) ||v||^2 > 2 sign(w).v",
                 "sufficient_A": "m > 0 and eps d > y sign(w).x (implied by eps > ||x||_1/d)",
                 "sufficient_B": "m tanh(m/2) >= 1 + sqrt(d) ||w||_2/||w||_1",
                 "v_norm_sq": "||x||^2 - 2 eps y sign(w).x + eps^2 d"},
    )

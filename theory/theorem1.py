"""Theorem 1 of Yamada et al.: the top Hessian eigenvalue grows with the L2 budget (claim Y-T1).

Part (a), at fixed weights w. For one point with the L2 worst case (INNER-MAX), write

    W = ||w||_2,  w^ = w/W,  A = y w^.x,  P = ||x - (w^.x) w^||_2   (the part of x orthogonal to w),
    m = y w.x - eps W = W (A - eps)      (the robust margin),
    v = y x - eps w^,   ||v||^2 = (A - eps)^2 + P^2 = (m/W)^2 + P^2,
    lambda_1 = g(m) ||v||^2,   g(m) = s(m) s(-m)      (Y-EIG, the rank-one term).

With g'(m) = -tanh(m/2) g(m) and dm/deps = -W,

    d lambda_1 / d eps = g(m) [ W tanh(m/2) ||v||^2 - 2 m / W ]
                       = g(m) tanh(m/2) / W * ( W^2 P^2 - phi(m) ),   phi(m) = 2 m coth(m/2) - m^2.

phi is even with phi(0) = 4. **Exact condition** (m != 0; at m = 0 the derivative is 0):
lambda_1 increases with eps iff  m > 0 and W^2 P^2 > phi(m),  or  m < 0 and W^2 P^2 < phi(m).
**Sufficient condition**: m >= m*, the root of m tanh(m/2) = 2 (m* = 2.3993572805...). Then
phi(m) = m coth(m/2) (2 - m tanh(m/2)) <= 0, since m tanh(m/2) is increasing on m > 0, so the
derivative is >= g tanh(m/2) W P^2 >= 0 (> 0 for m > m*). In terms of the loss: zeta(-m) <=
zeta(-m*) = 0.0870..., i.e. the point's robust loss is near its minimum, the theorem's premise.
Below m* the sign depends on P: for x parallel to w (P = 0) and 0 < m < m*, lambda_1 *decreases*
with eps; for m <= -m* (robustly misclassified points) it never increases.

The second HESS-DEP term s(-m) (eps/W)(I - w^ w^T) is not part of lambda_1 in Y-EIG; its
coefficient always increases with eps (d/deps = s(-m)/W + eps g(m) > 0).

**Filter normalisation** (Li et al. 2018) for logistic regression: the direction d is rescaled
to ||d|| = ||w|| (the whole weight vector is one "filter"), so the curvature of a -> L(w + a d)
at a = 0 is d^T H d = W^2 u^T H u (u = d/||d||): the filter-normalised top eigenvalue is the
scale-normalised sharpness W^2 lambda_1 = g(m) (m^2 + W^2 P^2). At fixed w (part (a)) it has
the sign of d lambda_1/d eps; it matters when comparing models with different trained weights
(part (b), data experiments), whose norms differ.
"""

from __future__ import annotations

import functools

import mpmath
import sympy as sp

from theory._symbolic import is_zero, lambdify_pair
from theory.claims import Evidence
from theory.notation import eps, s, vector_symbols, zeta

#: y w^.x (signed projection of x on the weight direction), ||x_perp||, ||w||, the margin m.
A = sp.Symbol("A", real=True)
P = sp.Symbol("P", nonnegative=True)
W = sp.Symbol("W", positive=True)
M = sp.Symbol("m", real=True)

#: Y-T1: g(m) = s(m) s(-m), the curvature of the softplus at the margin.
G: sp.Expr = s(M) * s(-M)
#: Y-T1: the robust margin m = W (A - eps) and ||v||^2 = (A - eps)^2 + P^2.
MARGIN: sp.Expr = W * (A - eps)
V_NORM_SQ: sp.Expr = (A - eps) ** 2 + P**2
#: Y-T1: lambda_1 = s(m) s(-m) ||y x - eps w^||^2, in (A, P, W, eps).
LAMBDA_1: sp.Expr = G.subs(M, MARGIN) * V_NORM_SQ
#: Y-T1: phi(m) = 2 m coth(m/2) - m^2 (the threshold on W^2 P^2 in the exact condition).
PHI: sp.Expr = 2 * M * sp.coth(M / 2) - M**2
#: Y-T1: d lambda_1 / d eps in (m, W, P): g(m) [W tanh(m/2) ((m/W)^2 + P^2) - 2 m / W].
DLAMBDA_DEPS: sp.Expr = G * (W * sp.tanh(M / 2) * ((M / W) ** 2 + P**2) - 2 * M / W)
#: Y-T1: the factorised form g(m) tanh(m/2) / W (W^2 P^2 - phi(m)).
DLAMBDA_DEPS_FACTORED: sp.Expr = G * sp.tanh(M / 2) / W * (W**2 * P**2 - PHI)

#: (numpy, torch) float64 callables of d lambda_1/d eps in (m, W, P).
DLAMBDA_DEPS_NP, DLAMBDA_DEPS_TORCH = lambdify_pair((M, W, P), DLAMBDA_DEPS)
#: (numpy, torch) float64 callables of lambda_1 in (A, P, W, eps).
LAMBDA_1_NP, LAMBDA_1_TORCH = lambdify_pair((A, P, W, eps), LAMBDA_1)
#: (numpy, torch) float64 callables of phi(m) (undefined at m = 0, where its limit is 4).
PHI_NP, PHI_TORCH = lambdify_pair((M,), PHI)


@functools.cache
def margin_threshold(digits: int = 30) -> mpmath.mpf:
    """Y-T1: m*, the positive root of m tanh(m/2) = 2 (mpmath, ``digits`` significant digits).

    m* = 2.39935728051546766783273969728...; for robust margins m >= m* the top per-point
    eigenvalue lambda_1 increases with eps at fixed w.
    """
    with mpmath.workdps(digits + 5):
        return mpmath.findroot(lambda z: z * mpmath.tanh(z / 2) - 2, mpmath.mpf("2.4"))


def verify_y_t1() -> Evidence:
    """Y-T1 (a) (Yamada et al. Theorem 1) in SymPy: d lambda_1/d eps, its exact sign, m*.

    Checks (all by SymPy): ||y x - eps w^||^2 = (A - eps)^2 + P^2 on explicit vectors (d = 3,
    y^2 = 1); g'(m) = -tanh(m/2) g(m); d LAMBDA_1/d eps equals DLAMBDA_DEPS and its factorised
    form at m = W (A - eps); phi(m) = m coth(m/2)(2 - m tanh(m/2)) and phi is even; m tanh(m/2)
    has a positive derivative for m > 0; with m tanh(m/2) = 2 + k (k >= 0, i.e. m >= m*) the
    derivative is nonnegative for every W > 0, P >= 0; the counterexample (P = 0, 0 < m < m*)
    has a negative derivative; m* solves m tanh(m/2) = 2 to 30 digits (nsolve and mpmath agree).

    Returns:
        Evidence of kind ``"symbolic"`` with the condition m >= m* and a counterexample below it.
    """
    checks: dict[str, bool] = {}
    # ||v||^2 in terms of A and P, on explicit vectors
    x = vector_symbols("x", 3)
    w = vector_symbols("w", 3)
    yy = sp.Symbol("y", real=True)
    wn = sp.sqrt(w.dot(w))
    v = yy * x - eps * w / wn
    a_val = yy * w.dot(x) / wn
    p_sq = x.dot(x) - (w.dot(x) / wn) ** 2
    diff = sp.expand(v.dot(v) - ((a_val - eps) ** 2 + p_sq)).subs(yy**2, 1)
    checks["||v||^2 = (A - eps)^2 + P^2"] = is_zero(diff)
    checks["P^2 = ||x - (w^.x) w^||^2"] = is_zero(
        (x - (w.dot(x) / wn) * w / wn).dot(x - (w.dot(x) / wn) * w / wn) - p_sq)
    # g' = -tanh(m/2) g
    checks["g'(m) = -tanh(m/2) g(m)"] = is_zero(
        (sp.diff(G, M) + sp.tanh(M / 2) * G).rewrite(sp.exp))
    # d lambda_1 / d eps
    derived = sp.diff(LAMBDA_1, eps)
    at_m = {M: MARGIN}
    checks["d lambda_1/d eps = g [W tanh(m/2)||v||^2 - 2m/W]"] = is_zero(
        (derived - DLAMBDA_DEPS.subs(at_m)).rewrite(sp.exp))
    checks["= g tanh(m/2)/W (W^2 P^2 - phi(m))"] = is_zero(
        (DLAMBDA_DEPS - DLAMBDA_DEPS_FACTORED).rewrite(sp.exp))
    # phi factorisation and parity
    psi = M * sp.tanh(M / 2)
    checks["phi = m coth(m/2)(2 - m tanh(m/2))"] = is_zero(
        (PHI - M * sp.coth(M / 2) * (2 - psi)).rewrite(sp.exp))
    checks["phi is even"] = is_zero((PHI - PHI.subs(M, -M)).rewrite(sp.exp))
    checks["phi(0) = 4"] = sp.limit(PHI, M, 0) == 4
    # monotonicity of psi on m > 0 and the sign above m*
    mp_ = sp.Symbol("m", positive=True)
    dpsi = sp.diff(psi.subs(M, mp_), mp_)
    dpsi_expected = sp.tanh(mp_ / 2) + mp_ / (2 * sp.cosh(mp_ / 2) ** 2)
    checks["d/dm [m tanh(m/2)] = tanh(m/2) + m/(2 cosh^2(m/2)) > 0 for m > 0"] = (
        is_zero((dpsi - dpsi_expected).rewrite(sp.exp)) and bool(dpsi_expected.is_positive)
    )
    k = sp.Symbol("k", nonnegative=True)  # m tanh(m/2) - 2 >= 0, i.e. m >= m*
    above = (G * sp.tanh(M / 2) / W * (W**2 * P**2 + M * sp.coth(M / 2) * k)).subs(M, mp_)
    checks["m >= m* => d lambda_1/d eps >= 0"] = bool(above.is_nonnegative)
    # counterexample below m*: P = 0, m = 1
    counter = DLAMBDA_DEPS_FACTORED.subs({P: 0, M: 1, W: 1})
    checks["P = 0, m = 1 < m*: d lambda_1/d eps < 0"] = bool(sp.N(counter, 30) < 0)
    m_star = margin_threshold()
    m_star_sympy = sp.nsolve(M * sp.tanh(M / 2) - 2, M, 2.4, prec=30)
    with mpmath.workdps(35):
        checks["m* (mpmath) = m* (sympy nsolve)"] = bool(
            abs(m_star - mpmath.mpf(str(m_star_sympy))) < mpmath.mpf("1e-25"))
    m_star_text = mpmath.nstr(m_star, 30)
    loss_at_star = float(zeta(-sp.Float(m_star_text, 30)).evalf(20))

    x_c = [1.5, 0.0]
    counterexample = {
        "w": [1.0, 0.0], "x": x_c, "y": 1, "eps": 0.5, "m": 1.0, "P": 0.0,
        "dlambda1_deps": float(sp.N(counter, 17)),
        "why": "x parallel to w and 0 < m < m*: lambda_1 decreases as eps grows",
    }
    passed = all(checks.values())
    return Evidence(
        "symbolic", passed,
        f"{sum(checks.values())}/{len(checks)} SymPy checks: d lambda_1/d eps = g(m) tanh(m/2)/"
        f"||w|| (||w||^2 ||x_perp||^2 - phi(m)); >= 0 whenever m >= m* = {float(m_star):.10f}",
        conditions=(
            f"fixed w, L2 worst case: lambda_1 grows with eps when the robust margin "
            f"m >= m* = {float(m_star):.6f} (robust loss <= {loss_at_star:.4f}); exactly iff "
            "m (||w||^2 ||x_perp||^2 - phi(m)) > 0",
        ),
        counterexample=counterexample,
        details={"checks": checks, "m_star": m_star_text, "robust_loss_at_m_star": loss_at_star,
                 "exact_condition": "m > 0 and W^2 P^2 > phi(m), or m < 0 and W^2 P^2 < phi(m)",
                 "phi": "2 m coth(m/2) - m^2"},
    )

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
zeta(-m*) = 0.08689..., i.e. the point's robust loss is near its minimum, the theorem's premise.
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

from theory._symbolic import lambdify_pair
from theory.claims import Evidence
from theory.lemmas import I, isum, linear, vector
from theory.notation import eps, s, zeta
from theory.proof import Proof

__all__ = [
    "DLAMBDA_DEPS",
    "DLAMBDA_DEPS_FACTORED",
    "DLAMBDA_DEPS_NP",
    "DLAMBDA_DEPS_TORCH",
    "LAMBDA_1",
    "LAMBDA_1_NP",
    "LAMBDA_1_TORCH",
    "MARGIN",
    "PHI",
    "PHI_NP",
    "PHI_TORCH",
    "V_NORM_SQ",
    "A",
    "G",
    "M",
    "P",
    "W",
    "margin_enclosure",
    "margin_threshold",
    "verify_y_t1",
]

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
    eigenvalue lambda_1 does not decrease with eps at fixed w (and increases for m > m*).
    :func:`margin_enclosure` certifies it.
    """
    with mpmath.workdps(digits + 5):
        return mpmath.findroot(lambda z: z * mpmath.tanh(z / 2) - 2, mpmath.mpf("2.4"))


def margin_enclosure(width: float = 1e-12) -> tuple[mpmath.mpf, mpmath.mpf]:
    """Y-T1: an interval [lo, hi] of width <= ``width`` that provably contains m*.

    psi(m) = m tanh(m/2) - 2 is evaluated in mpmath's interval arithmetic (outward rounding):
    psi([lo, lo]) < 0 < psi([hi, hi]) as intervals, so by continuity psi has a root in
    [lo, hi]; psi is strictly increasing on m > 0 (:func:`verify_y_t1`), so the root is unique.

    Returns:
        (lo, hi) as mpmath numbers.
    """
    center = margin_threshold()
    with mpmath.workdps(40):
        half = mpmath.mpf(width) / 4
        lo, hi = center - half, center + half
    if not (_psi_interval(lo) < 0 and _psi_interval(hi) > 0):
        raise ArithmeticError("the interval enclosure of m* failed")
    return lo, hi


def _psi_interval(m: mpmath.mpf) -> mpmath.iv.mpf:
    """psi(m) = m tanh(m/2) - 2 in interval arithmetic at the point m (an interval)."""
    iv = mpmath.iv
    iv.dps = 40
    x = iv.mpf(m)
    e = iv.exp(x)
    return x * (e - 1) / (e + 1) - 2  # tanh(m/2) = (e^m - 1)/(e^m + 1)


def verify_y_t1() -> Evidence:
    """Y-T1 (a) (Yamada et al. Theorem 1): d lambda_1/d eps at fixed w, its exact sign, m*.

    Steps, for every dimension d (index sums where vectors appear):

    1. ||y x - eps w^||^2 = (A - eps)^2 + P^2 with A = y w^.x, P^2 = ||x||^2 - (w^.x)^2
       (y^2 = 1);
    2. g'(m) = -tanh(m/2) g(m) for g = s s(-); d LAMBDA_1/d eps = DLAMBDA_DEPS at m = W (A - eps),
       = g tanh(m/2)/W (W^2 P^2 - phi(m)), phi(m) = m coth(m/2)(2 - m tanh(m/2)) even, phi(0) = 4;
    3. m tanh(m/2) is strictly increasing on m > 0 (SymPy); with m tanh(m/2) = 2 + k, k >= 0
       (m >= m*) the derivative is >= 0 for every W > 0, P >= 0, and, for such m, > 0 when
       m > m* or P > 0;
    4. m* is certified: an interval of width 1e-12 proven (interval arithmetic) to contain the
       unique positive root of m tanh(m/2) = 2;
    5. the counterexample P = 0, m = 1 < m* has a negative derivative.
    """
    p = Proof(claim="Y-T1")
    x, w = vector("x"), vector("w")
    yy = sp.Symbol("y", real=True)
    xx, ww, wx = isum(x[I] ** 2), isum(w[I] ** 2), isum(w[I] * x[I])
    wn = sp.sqrt(ww)
    v_sq = linear(isum((yy * x[I] - eps * w[I] / wn) ** 2))
    a_val, p_sq = yy * wx / wn, xx - wx ** 2 / ww
    p.identity("||y x - eps w^||^2 = (A - eps)^2 + P^2 (y^2 = 1, index sums)",
               sp.expand(v_sq - ((a_val - eps) ** 2 + p_sq)).subs(yy ** 2, 1))
    p.identity("P^2 = ||x - (w^.x) w^||^2",
               linear(isum((x[I] - wx / ww * w[I]) ** 2)) - linear(p_sq))
    zz = vector("z")
    p.nonnegative("P = ||z|| = sqrt(sum_i z_i^2) >= 0, z = x - (w^.x) w^",
                  sp.sqrt(isum(zz[I] ** 2)), gives=("P >= 0",))
    p.identity("g'(m) = -tanh(m/2) g(m)", (sp.diff(G, M) + sp.tanh(M / 2) * G).rewrite(sp.exp))
    p.identity("d lambda_1/d eps = g [W tanh(m/2) ||v||^2 - 2m/W] at m = W (A - eps)",
               (sp.diff(LAMBDA_1, eps) - DLAMBDA_DEPS.subs({M: MARGIN})).rewrite(sp.exp))
    p.identity("= g tanh(m/2)/W (W^2 P^2 - phi(m))",
               (DLAMBDA_DEPS - DLAMBDA_DEPS_FACTORED).rewrite(sp.exp))
    psi = M * sp.tanh(M / 2)
    p.identity("phi = m coth(m/2)(2 - m tanh(m/2))",
               (PHI - M * sp.coth(M / 2) * (2 - psi)).rewrite(sp.exp))
    p.identity("phi is even", (PHI - PHI.subs(M, -M)).rewrite(sp.exp))
    p.limit("phi(m) -> 4 as m -> 0", PHI, M, 0, 4)
    mp_ = sp.Symbol("m", positive=True)
    p.increasing_by_derivative("m tanh(m/2) is strictly increasing on m > 0", psi.subs(M, mp_),
                               mp_)
    k = sp.Symbol("k", nonnegative=True)  # m tanh(m/2) - 2 >= 0, i.e. m >= m*
    above = (G * sp.tanh(M / 2) / W * (W ** 2 * P ** 2 + M * sp.coth(M / 2) * k)).subs(M, mp_)
    p.nonnegative("m >= m* (m tanh(m/2) = 2 + k, k >= 0): d lambda_1/d eps >= 0", above)
    p.positive("for m >= m* it is > 0 when P > 0 (x not parallel to w), as g tanh(m/2)/W W^2 P^2 "
               "> 0",
               (G * sp.tanh(M / 2) / W * W ** 2).subs(M, mp_) * sp.Symbol("P2", positive=True))
    lo_hi: list[mpmath.mpf] = []

    def enclose() -> bool:
        try:
            lo_hi.extend(margin_enclosure(1e-12))
        except ArithmeticError:
            return False
        return lo_hi[1] - lo_hi[0] <= mpmath.mpf("1e-12")

    p.enclosure("m* in [lo, hi], hi - lo <= 1e-12: psi(lo) < 0 < psi(hi) in interval "
                "arithmetic, psi(m) = m tanh(m/2) - 2", enclose)
    counter = DLAMBDA_DEPS_FACTORED.subs({P: 0, M: 1, W: 1})
    p.enclosure("P = 0, m = 1 < m*: d lambda_1/d eps < 0 (interval arithmetic)",
                lambda: _negative(counter))
    m_star = margin_threshold()
    m_star_text = mpmath.nstr(m_star, 30)
    loss_at_star = float(zeta(-sp.Float(m_star_text, 30)).evalf(20))
    counterexample = {
        "w": [1.0, 0.0], "x": [1.5, 0.0], "y": 1, "eps": 0.5, "m": 1.0, "P": 0.0,
        "dlambda1_deps": float(sp.N(counter, 17)),
        "why": "x parallel to w and 0 < m < m*: lambda_1 decreases as eps grows",
    }
    enclosure = [mpmath.nstr(v, 20) for v in lo_hi] if lo_hi else None
    return p.evidence(
        "d lambda_1/d eps = g(m) tanh(m/2)/||w|| (||w||^2 ||x_perp||^2 - phi(m)); >= 0 whenever "
        f"m >= m* = {float(m_star):.10f}",
        conditions=(
            "fixed w, L2 worst case: lambda_1 does not decrease as eps grows when the robust "
            f"margin m >= m* = {float(m_star):.6f} (robust loss <= {loss_at_star:.5f}); for such "
            "m it increases strictly unless m = m* and x is parallel to w; exactly (m != 0): it "
            "increases iff m (||w||^2 ||x_perp||^2 - phi(m)) > 0, phi(m) = 2 m coth(m/2) - m^2",
        ),
        counterexample=counterexample,
        details={"m_star": m_star_text, "m_star_enclosure": enclosure,
                 "robust_loss_at_m_star": loss_at_star,
                 "exact_condition": "m > 0 and W^2 P^2 > phi(m), or m < 0 and W^2 P^2 < phi(m)",
                 "phi": "2 m coth(m/2) - m^2"},
    )


def _negative(expr: sp.Expr) -> bool:
    """Whether ``expr`` (a closed-form number) is < 0, decided in interval arithmetic."""
    def tanh(z: mpmath.iv.mpf) -> mpmath.iv.mpf:
        e = mpmath.iv.exp(2 * z)
        return (e - 1) / (e + 1)

    f = sp.lambdify((), expr, modules=[{"exp": mpmath.iv.exp, "tanh": tanh,
                                        "coth": lambda z: 1 / tanh(z)}, mpmath.iv])
    mpmath.iv.dps = 40
    return bool(f() < 0)

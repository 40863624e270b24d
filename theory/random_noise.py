"""Theorem 2 of Yamada et al.: random noise sharpens the landscape only by c^2 (claim Y-T2).

Noise eta independent of w with E[eta] = 0 and E[eta eta^T] = c^2 I. With z = y w.(x + eta)
and z0 = y w.x (the clean margin), the Hessian of zeta(-z) in w is g(z)(x + eta)(x + eta)^T,
g = s s(-) (Y-HESS). Theorem 2's approximation evaluates g at the clean margin:

    E[H] ~ g(z0) E[(x + eta)(x + eta)^T] = g(z0) (x x^T + c^2 I),

so the top eigenvalue becomes g(z0)(||x||^2 + c^2) (eigenvector x) and every other eigenvalue is
g(z0) c^2: all grow by g(z0) c^2 only. **How good is the approximation.** Expanding g(z) around
z0 to second order in eta (odd moments of a symmetric distribution vanish),

    E[H] = g(z0)(x x^T + c^2 I)
           + c^2 [ y g'(z0)(x w^T + w x^T) + g''(z0)/2 ||w||^2 x x^T ] + O(eps^4),

(verified in SymPy by :func:`verify_y_t2`; eta symmetric, so odd moments vanish). It is exact
when g is constant over the noise (w.eta = 0); otherwise the neglected terms are of the same
order c^2 as the kept increment, up to the factors 2 ||w|| ||x|| and ||w||^2 ||x||^2 / 2
relative to g(z0) c^2 (since |g'| = |tanh(z/2)| g <= g and |g''| <= g). Either way the change
is O(c^2), second order in eps.

**c^2 for the noises used** (exact SymPy integrals): uniform in the L2 ball of radius eps in R^d:
eps^2/(d + 2) (radial density d r^(d-1)/eps^d, E||eta||^2 = d eps^2/(d + 2), divided over d
coordinates by symmetry); uniform on the L2 sphere: eps^2/d; uniform in the L-inf cube:
eps^2/3; Gaussian N(0, sigma^2 I): sigma^2.

**Per-point optimum.** As the margin goes to infinity g -> 0, so both the random-noise
eigenvalues g(z0)(||x||^2 + c^2), g(z0) c^2 and the adversarial lambda_1 = g(m)||v||^2 go to 0.

**Adversarial vs random sharpening, same eps.** The adversarial ||v||^2 = ||x||^2 - 2 eps y w^.x
+ eps^2 (L2) changes at first order in eps, and its eps^2 coefficient is 1, against 1/(d + 2)
for the ball (ratio d + 2), 1/d for the sphere (ratio d); for L-inf, ||y x - eps sign(w)||^2 has
eps^2 coefficient d (no zero weights) against 1/3 for the cube (ratio 3 d). The adversarial
margin m = z0 - eps ||w||_q also shrinks, raising g(m) for confident points, which random noise
does not do on average. The *trace* of g(z0) c^2 I is g(z0) d c^2 = g(z0) d eps^2/(d + 2), of the
same size as the adversarial eps^2 term: random noise spreads its curvature over all d directions
instead of concentrating it on the top eigenvector.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import sympy as sp

from theory._symbolic import is_zero
from theory.claims import Evidence
from theory.errors import ConfigError
from theory.notation import eps, s, vector_symbols
from theory.proof import Proof
from theory.validate import check_eps

__all__ = [
    "BALL_RADIAL_DENSITY",
    "C2",
    "SIGMA",
    "D",
    "G",
    "R",
    "Z",
    "noise_c2_callables",
    "noise_c2_expressions",
    "noise_variance",
    "sharpening_ratio",
    "verify_y_t2",
]

D = sp.Symbol("d", positive=True, integer=True)
R = sp.Symbol("r", nonnegative=True)
SIGMA = sp.Symbol("sigma", positive=True)
C2 = sp.Symbol("c^2", nonnegative=True)
Z = sp.Symbol("z", real=True)

_eps_pos = sp.Symbol("epsilon", positive=True)  # integration bound (eps > 0)

#: Y-T2: the radial density of the uniform distribution in the L2 ball of radius eps in R^d.
BALL_RADIAL_DENSITY: sp.Expr = D * R ** (D - 1) / _eps_pos**D


def _ball_c2() -> sp.Expr:
    return sp.simplify(sp.integrate(R**2 * BALL_RADIAL_DENSITY, (R, 0, _eps_pos)) / D)


def _cube_c2() -> sp.Expr:
    u = sp.Symbol("u", real=True)
    return sp.integrate(u**2 / (2 * _eps_pos), (u, -_eps_pos, _eps_pos))


def _gauss_c2() -> sp.Expr:
    u = sp.Symbol("u", real=True)
    density = sp.exp(-(u**2) / (2 * SIGMA**2)) / sp.sqrt(2 * sp.pi * SIGMA**2)
    return sp.integrate(u**2 * density, (u, -sp.oo, sp.oo))


@functools.cache
def noise_c2_expressions() -> dict[str, sp.Expr]:
    """Y-T2: c^2 = E[eta_i^2] derived by SymPy integration, per noise.

    Returns:
        ``{"ball": eps^2/(d + 2), "sphere": eps^2/d, "cube": eps^2/3, "gaussian": sigma^2}``
        (``eps`` is :data:`theory.notation.eps`; the ball and sphere values hold for any d).
    """
    to_eps = {_eps_pos: eps}
    return {
        "ball": _ball_c2().subs(to_eps),
        "sphere": (_eps_pos**2 / D).subs(to_eps),  # ||eta|| = eps exactly, split over d coords
        "cube": _cube_c2().subs(to_eps),
        "gaussian": _gauss_c2(),
    }


def noise_variance(noise: str, eps_: float, d: int) -> float:
    """Y-T2: c^2 for ``noise`` in {"ball", "sphere", "cube", "gaussian"} (gaussian: sigma = eps).

    Args:
        noise: the distribution of eta. eps_: its radius (the standard deviation for gaussian).
        d: the dimension of eta.

    Returns:
        c^2 = E[eta_i^2] as a float.
    """
    eps_ = check_eps(eps_)
    if not isinstance(d, int) or d < 1:
        raise ConfigError(f"d must be a positive integer dimension, got {d!r}")
    table = noise_c2_callables()
    if noise not in table:
        raise ConfigError(f"unknown noise {noise!r}: use one of {sorted(table)}")
    return float(table[noise](eps_, d))


@functools.cache
def noise_c2_callables() -> dict[str, Callable[[float, int], float]]:
    """Y-T2: float callables c^2(eps, d) lambdified from :func:`noise_c2_expressions`.

    For ``"gaussian"`` the first argument is sigma.
    """
    out = {}
    for name, expr in noise_c2_expressions().items():
        out[name] = sp.lambdify((SIGMA if name == "gaussian" else eps, D), expr, modules="math")
    return out


def sharpening_ratio(noise: str, d: int) -> float:
    """Y-T2: eps^2 coefficient of the adversarial ||v||^2 over the random c^2/eps^2, same eps.

    ball: d + 2, sphere: d (against the L2 attack, coefficient 1); cube: 3 d (against the L-inf
    attack, coefficient d). Gaussian noise has no radius eps, so it is not compared.
    """
    if noise == "cube":
        return 3.0 * d
    if noise == "ball":
        return float(d + 2)  # 1 / (c^2/eps^2) with c^2 = eps^2/(d + 2)
    if noise == "sphere":
        return float(d)
    raise ConfigError(f"sharpening_ratio compares 'ball', 'sphere' or 'cube', got {noise!r}")


#: g(z) = s(z) s(-z) and its derivatives (used by the second-order correction).
G: sp.Expr = s(Z) * s(-Z)


def verify_y_t2() -> Evidence:
    """Y-T2 (Yamada et al. Theorem 2) in SymPy.

    Checks: E[(x + eta)(x + eta)^T] = x x^T + c^2 I (moment rules, d = 2); c^2 by integration for
    the ball (density integrates to 1; eps^2/(d + 2) for symbolic d, and eps^2/4, eps^2/5 by
    direct polar/spherical integrals in d = 2, 3), the sphere (eps^2/3 in d = 3 by a surface
    integral), the cube (eps^2/3), the Gaussian (sigma^2); the eigen-structure of
    g (x x^T + c^2 I) (eigenvector x with g(||x||^2 + c^2), orthogonal vectors g c^2); the
    second-order expansion of E[g(z)(x + eta)(x + eta)^T] (d = 2) and g'' = g(tanh^2 - sech^2/2);
    the limits to 0 at the per-point optimum for both random and adversarial eigenvalues; the
    sharpening ratios d + 2, d and 3 d.

    Returns:
        Evidence of kind ``"symbolic"``; the approximation g(z) ~ g(z0) is a stated condition.
    """
    p = Proof()
    # E[(x + eta)(x + eta)^T] with moment rules
    x2 = vector_symbols("x", 2)
    e2 = vector_symbols("eta", 2)
    outer = sp.expand((x2 + e2) * (x2 + e2).T)
    expect = _expectation(outer, e2, C2)
    p.record("E[(x+eta)(x+eta)^T] = x x^T + c^2 I",
             bool(is_zero(expect - (x2 * x2.T + C2 * sp.eye(2)))), "sympy-identity", (2,))
    # c^2 integrals
    c2 = noise_c2_expressions()
    p.record("ball density integrates to 1", bool(sp.simplify(
        sp.integrate(BALL_RADIAL_DENSITY, (R, 0, _eps_pos))) == 1), "sympy-identity", "any")
    p.record("ball c^2 = eps^2/(d+2)",
             bool(is_zero(c2["ball"] - eps**2 / (D + 2))), "sympy-identity", "any")
    rho, ph, th = sp.symbols("rho phi theta", nonnegative=True)
    disc = sp.integrate((rho * sp.cos(ph)) ** 2 * rho / (sp.pi * _eps_pos**2),
                        (rho, 0, _eps_pos), (ph, 0, 2 * sp.pi))
    p.record("disc (d = 2): E[eta_1^2] = eps^2/4",
             bool(is_zero(disc - _eps_pos**2 / 4)), "sympy-identity", (2,))
    ball3 = sp.integrate(
        (rho * sp.cos(th)) ** 2 * rho**2 * sp.sin(th) / (sp.Rational(4, 3) * sp.pi * _eps_pos**3),
        (rho, 0, _eps_pos), (th, 0, sp.pi), (ph, 0, 2 * sp.pi))
    p.record("ball (d = 3): E[eta_1^2] = eps^2/5",
             bool(is_zero(ball3 - _eps_pos**2 / 5)), "sympy-identity", (3,))
    off3 = sp.integrate(
        rho**2 * sp.cos(th) * sp.sin(th) * sp.cos(ph) * rho**2 * sp.sin(th)
        / (sp.Rational(4, 3) * sp.pi * _eps_pos**3),
        (rho, 0, _eps_pos), (th, 0, sp.pi), (ph, 0, 2 * sp.pi))
    p.record("ball (d = 3): E[eta_1 eta_3] = 0", bool(is_zero(off3)), "sympy-identity", (3,))
    sphere3 = sp.integrate((_eps_pos * sp.cos(th)) ** 2 * sp.sin(th) / (4 * sp.pi),
                           (th, 0, sp.pi), (ph, 0, 2 * sp.pi))
    p.record("sphere (d = 3): E[eta_1^2] = eps^2/3",
             bool(is_zero(sphere3 - _eps_pos**2 / 3)), "sympy-identity", (3,))
    p.record("sphere c^2 = eps^2/d",
             bool(is_zero(c2["sphere"] - eps**2 / D)), "sympy-identity", "any")
    p.record("cube c^2 = eps^2/3", bool(is_zero(c2["cube"] - eps**2 / 3)), "sympy-identity", "any")
    p.record("gaussian c^2 = sigma^2",
             bool(is_zero(c2["gaussian"] - SIGMA**2)), "sympy-identity", "any")
    # eigen-structure of g (x x^T + c^2 I)
    gsym = sp.Symbol("g", positive=True)
    x3 = vector_symbols("x", 3)
    hmat = gsym * (x3 * x3.T + C2 * sp.eye(3))
    perp = sp.Matrix([x3[1], -x3[0], 0])
    p.record("H x = g(||x||^2 + c^2) x",
             bool(is_zero(hmat * x3 - gsym * (x3.dot(x3) + C2) * x3)), "sympy-identity", (3,))
    p.record("H u = g c^2 u for u orthogonal to x",
             bool(is_zero(hmat * perp - gsym * C2 * perp)), "sympy-identity", (3,))
    # second-order expansion of the exact expected Hessian
    p.record("g'' = g (tanh^2(z/2) - sech^2(z/2)/2)", bool(is_zero(
        (sp.diff(G, Z, 2) - G * (sp.tanh(Z / 2) ** 2 - (1 - sp.tanh(Z / 2) ** 2) / 2))
        .rewrite(sp.exp))), "sympy-identity", "any")
    p.record("E[g(z)(x+eta)(x+eta)^T] to O(eta^2)",
             bool(_check_second_order()), "sympy-identity", (2,))
    # per-point optimum
    xn2, v2 = sp.symbols("X V", positive=True)
    p.record("g(z)(||x||^2 + c^2) -> 0 as z -> oo",
             bool(sp.limit(G * (xn2 + C2), Z, sp.oo) == 0), "sympy-limit", "any")
    p.record("g(z) c^2 -> 0 as z -> oo",
             bool(sp.limit(G * C2, Z, sp.oo) == 0), "sympy-limit", "any")
    p.record("adversarial g(m)||v||^2 -> 0 as m -> oo",
             bool(sp.limit(G * v2, Z, sp.oo) == 0), "sympy-limit", "any")
    # sharpening ratios
    a_ = sp.Symbol("A", real=True)
    v_sq = (a_ - eps) ** 2 + sp.Symbol("P", nonnegative=True) ** 2  # ||y x - eps w^||^2
    coef = sp.Poly(sp.expand(v_sq), eps).coeff_monomial(eps**2)
    p.record("ratio ball = d + 2",
             bool(is_zero(coef / (c2["ball"] / eps**2) - (D + 2))), "sympy-identity", "any")
    p.record("ratio sphere = d",
             bool(is_zero(coef / (c2["sphere"] / eps**2) - D)), "sympy-identity", "any")
    p.record("ratio cube = 3 d (L-inf attack eps^2 coefficient d)", bool(is_zero(
        D / (c2["cube"] / eps**2) - 3 * D)), "sympy-identity", "any")
    return p.evidence(
        "c^2 = eps^2/(d+2) (ball), eps^2/d "
        "(sphere), eps^2/3 (cube), sigma^2 (Gaussian); E[H] = g(z0)(x x^T + c^2 I) + c^2 "
        "[y g'(x w^T + w x^T) + g''/2 ||w||^2 x x^T] + O(eps^4); eigenvalues -> 0 at the optimum",
        conditions=(
            "symmetric noise; approximation: g = s s(-) at the clean margin z0 (exact when "
            "w.eta = 0); "
            "the neglected c^2 [y g'(z0)(x w^T + w x^T) + g''(z0)/2 ||w||^2 x x^T] + O(eps^4) is "
            "small relative to g(z0) c^2 only when ||w|| ||x|| is small",
        ),
        details={"c2": {k: str(v) for k, v in c2.items()}},
    )


def _expectation(expr: sp.MatrixBase, eta: sp.MatrixBase, c2: sp.Expr,
                 max_order: int = 2) -> sp.MatrixBase:
    """E over a zero-mean, symmetric eta with E[eta eta^T] = c^2 I, keeping total degree <= 2.

    Monomials of odd degree in eta have expectation 0 (symmetry), eta_i^2 -> c^2,
    eta_i eta_j -> 0 (i != j); higher even degrees (O(eps^4)) are dropped.
    """
    def one(e: sp.Expr) -> sp.Expr:
        poly = sp.Poly(sp.expand(e), *eta)
        total = sp.Integer(0)
        for monom, coeff in poly.terms():
            deg = sum(monom)
            if deg == 0:
                total += coeff
            elif deg == 2 and max(monom) == 2 and max_order >= 2:
                total += coeff * c2
        return total

    return expr.applyfunc(one)


def _check_second_order() -> bool:
    """SymPy: E[g(y w.(x + eta))(x + eta)(x + eta)^T] to second order in eta, d = 2."""
    x = vector_symbols("x", 2)
    w = vector_symbols("w", 2)
    eta = vector_symbols("eta", 2)
    yy = sp.Symbol("y", real=True)
    kappa = sp.Symbol("kappa", real=True)
    g0, g1, g2 = sp.symbols("g_0 g_1 g_2", real=True)  # g(z0), g'(z0), g''(z0)
    dz = yy * w.dot(eta) * kappa
    g_series = g0 + g1 * dz + g2 / 2 * dz**2
    full = sp.expand(g_series * (x + kappa * eta) * (x + kappa * eta).T)
    truncated = full.applyfunc(lambda e: sp.expand(e).series(kappa, 0, 3).removeO())
    expect = _expectation(truncated.subs(kappa, 1), eta, C2)
    predicted = g0 * (x * x.T + C2 * sp.eye(2)) + C2 * (
        yy * g1 * (x * w.T + w * x.T) + g2 / 2 * w.dot(w) * yy**2 * x * x.T)
    return is_zero((expect - predicted).subs(yy**2, 1).applyfunc(sp.expand).subs(yy**2, 1))

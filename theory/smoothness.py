"""Smoothness of the adversarial logistic loss with the attack's dependence on w (K-SMOOTH).

Kanai et al. 2021. One point (the mean over data follows by linearity), L2 threat model:

    l(w) = zeta(-m),  m = y w.x - eps ||w||,  v = y x - eps w^,  w^ = w/||w||,
    grad l = -s(-m) v,
    H = s(m)s(-m) v v^T + s(-m) (eps/||w||) (I - w^ w^T)          (w != 0; HESS-DEP).

**Bound on {||w|| >= r}.** s(m)s(-m) <= 1/4, ||v|| <= ||x|| + eps, s(-m) <= 1 and I - w^ w^T
is an orthogonal projector (norm 1), so ||H||_op <= K(r) := (||x|| + eps)^2/4 + eps/r there
(for data: K(r) = mean_n (||x_n|| + eps)^2/4 + eps/r). What this proves, exactly:

* for w1, w2 whose segment stays in {||w|| >= r} (e.g. both in a convex subset of it):
  ||grad l(w1) - grad l(w2)|| <= K(r) ||w1 - w2|| (mean-value inequality along the segment);
* for any w1, w2 in {||w|| >= r}, d >= 2: ||grad l(w1) - grad l(w2)|| <= (pi/2) K(r)
  ||w1 - w2||. The set is not convex; replace the part of the segment inside the ball by the
  shorter great-circle arc on the sphere of radius r: arc/chord = theta/(2 sin(theta/2)) <= pi/2
  for theta in (0, pi], so the path has length <= (pi/2)||w1 - w2||.

The constant must grow like eps/r: H has the eigenvalue s(-m) eps/||w|| on vectors orthogonal to
w and v (d >= 3), and s(-m) >= 1/2 where m <= 0, so the best constant on {||w|| >= r} is at
least eps/(2r). **At w = 0** the gradient has no limit: along w = delta u (||u|| = 1), delta -> 0+,
grad l -> -(y x - eps u)/2, which depends on u; w = +-delta u give gradients eps apart at
distance 2 delta, so no Lipschitz constant holds near 0.

**L-inf** (q = 1): l = zeta(-y w.x + eps ||w||_1), grad_i l = s(-m)(-y x_i + eps sign(w_i)) off
the hyperplanes w_i = 0; m is continuous across w_i = 0, so grad_i jumps by exactly
2 eps s(-m) there (for the mean over data: 2 eps mean_n s(-m_n)) while the other coordinates
are continuous. Finite-difference ratios across the hyperplane grow like 1/step.

The bound K(r), the jump and the segment geometry evaluated on data are in
:mod:`numerics.linear.bounds`.
"""

from __future__ import annotations

import sympy as sp

from theory._symbolic import is_zero
from theory.claims import Evidence
from theory.notation import eps, s, t, vector_symbols, zeta

THETA = sp.Symbol("theta", positive=True)
U = sp.Symbol("u", positive=True)


def verify_k_smooth() -> Evidence:
    """K-SMOOTH (Kanai et al. 2021) in SymPy.

    Checks (d = 2 explicit vectors where vectors appear): the L2 gradient -s(-m)(y x - eps w^)
    and the Hessian g v v^T + s(-m)(eps/||w||)(I - w^ w^T) against SymPy derivatives;
    I - w^ w^T is a symmetric idempotent (norm 1); 1/4 - s(t)s(-t) = tanh(t/2)^2/4 and
    1 - s(-m) = s(m) > 0; the arc/chord ratio theta/(2 sin(theta/2)) is increasing (via
    tan(u) - u having derivative tan(u)^2) and equals pi/2 at theta = pi; the limit of the
    gradient along w = delta u as delta -> 0+ is -(y x - eps u)/2 (direction dependent); the
    L-inf one-sided partial derivatives differ by exactly 2 eps s(-m) across w_1 = 0 while the
    other partials agree.

    Returns:
        Evidence of kind ``"symbolic"`` with the bound K(r) in ``details``.
    """
    checks: dict[str, bool] = {}
    x = vector_symbols("x", 2)
    w = vector_symbols("w", 2)
    yy = sp.Symbol("y", real=True)
    wn = sp.sqrt(w.dot(w))
    m = yy * w.dot(x) - eps * wn
    loss = zeta(-m)
    w_hat = w / wn
    v = yy * x - eps * w_hat
    grad = sp.Matrix([sp.diff(loss, wi) for wi in w])
    checks["L2 grad = -s(-m)(y x - eps w^)"] = is_zero(grad - (-s(-m) * v))
    hess = sp.Matrix(2, 2, lambda i, j: sp.diff(grad[i], w[j]))
    proj = sp.eye(2) - w_hat * w_hat.T
    predicted = s(m) * s(-m) * v * v.T + s(-m) * eps / wn * proj
    checks["L2 Hessian = g v v^T + s(-m)(eps/||w||)(I - w^ w^T)"] = is_zero(
        (hess - predicted).applyfunc(lambda e: e.rewrite(sp.exp)))
    checks["I - w^ w^T is symmetric idempotent"] = is_zero(proj * proj - proj) and is_zero(
        proj - proj.T)
    checks["1/4 - s(t)s(-t) = tanh(t/2)^2/4"] = is_zero(
        (sp.Rational(1, 4) - s(t) * s(-t) - sp.tanh(t / 2) ** 2 / 4).rewrite(sp.exp))
    checks["1 - s(-t) = s(t) > 0"] = is_zero(1 - s(-t) - s(t)) and bool(s(t).is_positive)
    # arc/chord <= pi/2: f(theta) = theta/(2 sin(theta/2)) increasing on (0, pi], f(pi) = pi/2
    f = THETA / (2 * sp.sin(THETA / 2))
    fprime = sp.diff(f, THETA)
    # f' = cos(theta/2) (tan(theta/2) - theta/2) / (2 sin(theta/2)^2)
    checks["f' = cos(th/2)(tan(th/2) - th/2)/(2 sin^2(th/2))"] = is_zero(
        (fprime - sp.cos(THETA / 2) * (sp.tan(THETA / 2) - THETA / 2)
         / (2 * sp.sin(THETA / 2) ** 2)).rewrite(sp.exp))
    checks["d/du (tan u - u) = tan(u)^2 >= 0"] = is_zero(
        (sp.diff(sp.tan(U) - U, U) - sp.tan(U) ** 2).rewrite(sp.exp))
    checks["arc/chord at theta = pi is pi/2"] = sp.simplify(f.subs(THETA, sp.pi) - sp.pi / 2) == 0
    # the gradient has no limit at 0
    delta = sp.Symbol("delta", positive=True)
    u = vector_symbols("u", 2)
    m_dir = delta * (yy * u.dot(x) - eps)  # m at w = delta u with ||u|| = 1
    lim_grad = (-s(-m_dir) * (yy * x - eps * u)).applyfunc(lambda e: sp.limit(e, delta, 0, "+"))
    checks["grad(delta u) -> -(y x - eps u)/2 as delta -> 0+"] = is_zero(
        lim_grad + (yy * x - eps * u) / 2)
    checks["grad(delta u) - grad(-delta u) -> eps u"] = is_zero(
        lim_grad - lim_grad.subs({u[0]: -u[0], u[1]: -u[1]}, simultaneous=True) - eps * u)
    # L-inf jump across w_1 = 0
    rest = sp.Symbol("R", nonnegative=True)  # sum_{j != 1} |w_j|
    w1 = sp.Symbol("w_1", real=True)
    w2 = sp.Symbol("w_2", real=True)
    x1, x2 = sp.symbols("x_1 x_2", real=True)
    lin = yy * (w1 * x1 + w2 * x2)
    side = {sgn: zeta(-lin + eps * (sgn * w1 + rest)) for sgn in (1, -1)}  # |w_1| = +-w_1
    d1 = {sgn: sp.diff(side[sgn], w1).subs(w1, 0) for sgn in (1, -1)}
    d2 = {sgn: sp.diff(side[sgn], w2).subs(w1, 0) for sgn in (1, -1)}
    m0 = yy * w2 * x2 - eps * rest
    checks["L-inf: d_1 l jumps by 2 eps s(-m) across w_1 = 0"] = is_zero(
        d1[1] - d1[-1] - 2 * eps * s(-m0))
    checks["L-inf: the other partials are continuous there"] = is_zero(d2[1] - d2[-1])
    passed = all(checks.values())
    return Evidence(
        "symbolic", passed,
        f"{sum(checks.values())}/{len(checks)} SymPy checks: ||H|| <= K(r) = "
        "mean(||x||+eps)^2/4 + eps/r on ||w|| >= r (Lipschitz K(r) on segments in the set, "
        "(pi/2) K(r) for any pair, d >= 2); gradient has no limit at w = 0; L-inf jump "
        "2 eps s(-m) across w_i = 0",
        details={
            "checks": checks,
            "K(r)": "(1/4) mean_n (||x_n||_2 + eps)^2 + eps / r",
            "lower_bound": "eps / (2 r) (s(-m) eps/||w|| on vectors orthogonal to w, v)",
            "linf_jump": "2 eps mean_n s(-m_n)",
        },
    )

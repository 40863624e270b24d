"""Gradients, Hessians, eigenpairs of the adversarial logistic loss (Y-HESS, HESS-DEP, Y-EIG).

Two readings of "the Hessian of the adversarial loss":

* Y-HESS (Yamada et al. Eq. 9, Appendix B): the perturbation eta is held fixed while w varies,
  z = y w.(x + eta): grad l = -s(-z) y (x + eta), Hessian s(z) s(-z) (x + eta)(x + eta)^T.
* HESS-DEP: the worst-case perturbation depends on w, l(w) = zeta(-m) with the robust margin
  m = y w.x - eps ||w_f||_q (INNER-MAX). With g = grad_w ||w_f||_q (g = w^ = w_f/||w_f|| for
  p = 2, g = sign(w_f) for p = inf, zero on a bias coordinate) and v = y x - eps g:

      grad l = -s(-m) v,
      Hessian = s(m) s(-m) v v^T + s(-m) eps Hess(||w_f||_q),

  where Hess(||w_f||_2) = (D - w^ w^T)/||w_f|| (D = identity, or the identity with a zero on the
  bias coordinate) and Hess(||w_f||_1) = 0 off the hyperplanes w_i = 0. At eta = eta*(w) the
  first term equals the Y-HESS Hessian (y^2 = 1 makes (x + eta*) y = v), and the gradients agree
  (Danskin); the second term is what the fixed-noise reading misses.

Y-EIG: for the rank-one Hessians (fixed noise; p = inf) the eigenvector is u = x + eta (resp. v)
with eigenvalue lambda_1 = s s ||u||^2 and every orthogonal vector has eigenvalue 0. With the
HESS-DEP term (p = 2, no bias), writing A = s(m)s(-m), B = s(-m) eps/||w||, alpha = v.w^:
vectors orthogonal to v and w^ have eigenvalue B (multiplicity d - 2), and span{v, w^} carries
the roots lambda_pm of q(lambda) = lambda^2 - (A ||v||^2 + B) lambda + A B alpha^2 with
eigenvectors lambda v - B alpha w^. Both roots bracket A ||v||^2 and B (q(A||v||^2) = q(B) =
-A B (||v||^2 - alpha^2) <= 0): Yamada's lambda_1 = A ||v||^2 is a lower bound of the top
eigenvalue once the attack's dependence on w is kept. The full-data Hessian is the mean over
points.

Numeric side: the scalar coefficients A, B and s(-m) as lambdified float64 callables
(``A_TORCH``, ``B_TORCH``, ``G_TORCH`` and their numpy twins). The gradients, Hessians and
eigenpairs of data sets, built from them, are in :mod:`numerics.linear.curvature`.
"""

from __future__ import annotations

import sympy as sp

from theory._symbolic import is_zero, lambdify_pair
from theory.claims import Evidence
from theory.notation import Y_VALUES, eps, s, vector_symbols, zeta
from theory.validate import check_norm

# ---------------------------------------------------------------------------------------------
# SymPy: closed forms in explicit components
# ---------------------------------------------------------------------------------------------

M = sp.Symbol("m", real=True)
"""The robust margin m (or z = y w.(x + eta) for fixed noise)."""
W_NORM = sp.Symbol("norm_w", positive=True)
"""||w_f||_2 (> 0)."""
#: A = s(m) s(-m): the curvature of zeta(-m) along m.
CURVATURE_A: sp.Expr = s(M) * s(-M)
#: B = s(-m) eps / ||w||: the coefficient of the HESS-DEP projector term (p = 2).
CURVATURE_B: sp.Expr = s(-M) * eps / W_NORM
#: s(-m): the gradient coefficient.
GRAD_COEF: sp.Expr = s(-M)

A_NP, A_TORCH = lambdify_pair((M,), CURVATURE_A)
B_NP, B_TORCH = lambdify_pair((M, eps, W_NORM), CURVATURE_B)
G_NP, G_TORCH = lambdify_pair((M,), GRAD_COEF)


def fixed_noise_closed_form(
    w: sp.Matrix, x: sp.Matrix, eta: sp.Matrix, y_: sp.Expr
) -> tuple[sp.Expr, sp.Matrix, sp.Matrix]:
    """Y-HESS closed forms (loss, gradient, Hessian) for symbolic vectors and y = +-1."""
    u = x + eta
    z = y_ * (w.T * u)[0]
    return zeta(-z), -s(-z) * y_ * u, s(z) * s(-z) * u * u.T


def robust_closed_form(
    w: sp.Matrix, x: sp.Matrix, y_: sp.Expr, norm: str, bias: bool = False,
    margin: sp.Expr | None = None,
) -> tuple[sp.Expr, sp.Expr, sp.Matrix, sp.Matrix]:
    """HESS-DEP closed forms (loss, margin, gradient, Hessian) for symbolic vectors, y = +-1.

    Returns the loss zeta(-m) written with the norm itself (to be differentiated), the margin
    m = y w.x - eps ||w_f||_q, the closed-form gradient -s(-m) v and the closed-form Hessian
    (p = 2: A v v^T + B (D - w^ w^T); p = inf: A v v^T with v = y x - eps sign(w_f)). With
    ``margin`` given (e.g. the symbol ``M``), the sigmoids in the gradient and Hessian take it
    in place of the explicit m.
    """
    d = w.shape[0]
    mask = sp.Matrix([0 if (bias and i == d - 1) else 1 for i in range(d)])
    wf = w.multiply_elementwise(mask)
    l2 = check_norm(norm) == "l2"
    wn = sp.sqrt((wf.T * wf)[0]) if l2 else sum(sp.Abs(c) for c in wf)
    g = wf / wn if l2 else wf.applyfunc(sp.sign)
    m = y_ * (w.T * x)[0] - eps * wn
    mm = m if margin is None else margin
    second = s(-mm) * eps / wn * (sp.diag(*mask) - g * g.T) if l2 else sp.zeros(d, d)
    v = y_ * x - eps * g
    return zeta(-m), m, -s(-mm) * v, s(mm) * s(-mm) * v * v.T + second


# ---------------------------------------------------------------------------------------------
# Symbolic verification
# ---------------------------------------------------------------------------------------------


def verify_y_hess() -> Evidence:
    """Y-HESS: grad l = -s(-z) y (x + eta), Hessian = s(z) s(-z) (x + eta)(x + eta)^T.

    SymPy differentiates zeta(-y w.(x + eta)) in the components of w (d = 3, eta free and held
    fixed) and simplifies the differences with the closed forms to 0, for y = +1 and y = -1
    (the Hessian needs y^2 = 1).
    """
    checks: dict[str, bool] = {}
    w, x, eta = vector_symbols("w", 3), vector_symbols("x", 3), vector_symbols("eta", 3)
    for yv in Y_VALUES:
        loss, grad, hess = fixed_noise_closed_form(w, x, eta, yv)
        checks[f"gradient_y={yv}"] = is_zero(sp.Matrix([loss]).jacobian(w).T - grad)
        checks[f"hessian_y={yv}"] = is_zero(sp.hessian(loss, list(w)) - hess)
    return Evidence(
        "symbolic", all(checks.values()),
        f"{sum(checks.values())}/{len(checks)} SymPy identities (d = 3, y = +-1): autodiff of "
        "zeta(-y w.(x + eta)) minus the closed-form gradient and Hessian simplifies to 0",
        details={"checks": checks},
    )


def autodiff_through_margin(w: sp.Matrix, margin: sp.Expr) -> tuple[sp.Matrix, sp.Matrix]:
    """SymPy's gradient and Hessian of zeta(-m(w)) with m's derivatives taken from ``margin``.

    m(w) is an undefined function while SymPy applies the chain rule; then every Derivative of
    m is replaced by SymPy's derivative of the explicit ``margin`` and m(w) by the symbol ``M``.
    """
    mf = sp.Function("m")(*w)
    loss = zeta(-mf)
    second = {sp.Derivative(mf, a, b): sp.diff(margin, a, b) for a in w for b in w}
    first = {sp.Derivative(mf, a): sp.diff(margin, a) for a in w}

    def concrete(expr: sp.Matrix) -> sp.Matrix:
        return expr.subs(second).subs(first).subs(mf, M)

    return concrete(sp.Matrix([loss]).jacobian(w).T), concrete(sp.hessian(loss, list(w)))


def verify_hess_dep() -> Evidence:
    """HESS-DEP: gradient and Hessian of zeta(-m), m = y w.x - eps ||w_f||_q, attack depending on w.

    SymPy differentiates zeta(-m(w)) for an undefined m(w), substitutes its own derivatives of
    the explicit margin m = y w.x - eps ||w_f||_q and then the symbol M for m(w) (so the only
    exponentials are e^{+-M}: fast to simplify, and nothing is differentiated by hand). It
    checks, for y = +1 and y = -1, d = 3:

    * p = 2, no bias and with a bias coordinate (w = (w_1, w_2, b), x = (x_1, x_2, 1)):
      the Hessian of zeta(-m) minus s(m)s(-m) v v^T + s(-m)(eps/||w_f||)(D - w^ w^T) is 0, and
      the gradient minus -s(-m) v is 0, v = y x - eps w^.
    * p = inf: with ||w||_1 = sum |w_i|, SymPy's second derivative carries DiracDelta(w_i) terms;
      off the hyperplanes w_i = 0 these are 0 and the Hessian equals s(m)s(-m) v v^T,
      v = y x - eps sign(w).
    * The second term vanishes at the loss minimum: lim_{m -> oo} s(-m) eps/||w|| = 0, and at
      eta* = -eps y w^ the Y-HESS Hessian equals the first term (x + eta* = y v).
    """
    checks: dict[str, bool] = {}
    w, x = vector_symbols("w", 3), vector_symbols("x", 3)
    xb = sp.Matrix([x[0], x[1], 1])
    for yv in Y_VALUES:
        for norm, bias in (("l2", False), ("l2", True), ("linf", False)):
            xx = xb if bias else x
            _, margin, grad, hess = robust_closed_form(w, xx, yv, norm, bias, margin=M)
            auto_grad, auto_hess = autodiff_through_margin(w, margin)
            if norm == "linf":
                auto_hess = auto_hess.replace(sp.DiracDelta, lambda *_: 0)
            key = f"{norm}{'_bias' if bias else ''}_y={yv}"
            checks[f"gradient_{key}"] = is_zero(auto_grad - grad)
            checks[f"hessian_{key}"] = is_zero(auto_hess - hess)
        # At eta* = -eps y w^: z = y w.(x + eta*) equals m and y (x + eta*) equals v, so the
        # Y-HESS Hessian s(z)s(-z)(x + eta*)(x + eta*)^T = s(m)s(-m) v v^T (y^2 = 1).
        wn = sp.sqrt((w.T * w)[0])
        eta_star = -eps * yv * w / wn
        z = yv * (w.T * (x + eta_star))[0]
        m = yv * (w.T * x)[0] - eps * wn
        v = yv * x - eps * w / wn
        checks[f"fixed_noise_at_eta*_is_first_term_y={yv}"] = is_zero(z - m) and is_zero(
            yv * (x + eta_star) - v
        )
    checks["second_term_vanishes"] = sp.limit(CURVATURE_B, M, sp.oo) == 0
    return Evidence(
        "symbolic", all(checks.values()),
        f"{sum(checks.values())}/{len(checks)} SymPy identities (d = 3, y = +-1, p = 2 with and "
        "without bias, p = inf off w_i = 0): autodiff Hessian of zeta(-m) minus the closed form "
        "is 0; s(-m) eps/||w|| -> 0 as m -> oo",
        details={
            "checks": checks,
            # the claim's own domain, not an extra condition found here
            "domain": "p = 2: w_f != 0; p = inf: every w_i != 0 (no Hessian on w_i = 0)",
        },
    )


EIG_CONDITION = (
    "v = y x - eps w^ is an eigenvector with eigenvalue s(m)s(-m)||v||^2 for the Hessian with "
    "the noise held at eta* (and for p = inf); with the p = 2 term s(-m)(eps/||w||)(I - w^ w^T) "
    "kept, only if alpha = v.w^ = 0 or v || w^; otherwise the top eigenpair is "
    "(lambda_+, lambda_+ v - B alpha w^) with lambda_+ >= s(m)s(-m)||v||^2"
)


def verify_y_eig() -> Evidence:
    """Y-EIG (Eqs. 10-11): eigenpairs of the per-point Hessians.

    SymPy checks (d = 3 components, symbolic coefficients A = s(m)s(-m) > 0, B >= 0):

    * Rank one (fixed noise, or p = inf): H = A u u^T. H u - A ||u||^2 u = 0, and for every r,
      H r - A (u.r) u = 0, so r orthogonal to u has eigenvalue 0.
    * Eq. 10 with the projector term kept: H v - (A ||v||^2 + B) v = -B alpha n, so v is no
      longer an eigenvector unless alpha = 0 or v is parallel to n: the claim holds under that
      condition (``EIG_CONDITION``), and otherwise the eigenpairs are the ones below.
    * HESS-DEP, p = 2: H = A v v^T + B (I - n n^T), n = w/||w||, v = y x - eps n (identities
      reduced modulo ||n||^2 = 1).
      r = v x n (orthogonal to both): H r - B r = 0. For a symbol lambda, e = lambda v - B alpha n
      (alpha = v.n) gives H e - lambda e = -q(lambda) v identically, with q(lambda) = lambda^2 -
      (A ||v||^2 + B) lambda + A B alpha^2; the two roots lambda_pm of q make it 0. Bracketing:
      q(A ||v||^2) = q(B) = -A B (||v||^2 - alpha^2), where ||v||^2 - alpha^2 = ||v - alpha n||^2
      >= 0.
    """
    checks: dict[str, bool] = {}
    a_, b_ = sp.Symbol("A", positive=True), sp.Symbol("B", nonnegative=True)
    u, r = vector_symbols("u", 3), vector_symbols("r", 3)
    h1 = a_ * u * u.T
    checks["rank_one_eigenvector"] = is_zero(h1 * u - a_ * (u.T * u)[0] * u)
    checks["rank_one_orthogonal"] = is_zero(h1 * r - a_ * (u.T * r)[0] * u)
    # n is a unit vector: free components n_1..n_3, every identity reduced modulo the polynomial
    # n_1^2 + n_2^2 + n_3^2 - 1 (remainder in n_3), which is exact and fast.
    n, x = vector_symbols("n", 3), vector_symbols("x", 3)
    unit = (n.T * n)[0] - 1

    def zero_on_sphere(expr: sp.Matrix) -> bool:
        return all(sp.rem(sp.expand(c), unit, n[2]) == 0 for c in expr)

    lam = sp.Symbol("lambda", real=True)
    for yv in Y_VALUES:
        v = yv * x - eps * n
        h = a_ * v * v.T + b_ * (sp.eye(3) - n * n.T)
        cross = v.cross(n)
        checks[f"orthogonal_eigenvalue_B_y={yv}"] = zero_on_sphere(h * cross - b_ * cross)
        alpha = (v.T * n)[0]
        v2 = (v.T * v)[0]
        e = lam * v - b_ * alpha * n
        q = lam**2 - (a_ * v2 + b_) * lam + a_ * b_ * alpha**2
        checks[f"span_residual_y={yv}"] = zero_on_sphere(h * e - lam * e + q * v)
        # Eq. 10's eigenvector v with the projector term kept: H v = (A||v||^2 + B) v - B alpha n,
        # so v is an eigenvector only when B alpha n = 0 (alpha = 0) or n is parallel to v.
        checks[f"v_residual_is_-B_alpha_n_y={yv}"] = zero_on_sphere(
            h * v - (a_ * v2 + b_) * v + b_ * alpha * n
        )
        checks[f"bracket_y={yv}"] = zero_on_sphere(
            sp.Matrix([q.subs(lam, a_ * v2) + a_ * b_ * ((v - alpha * n).T * (v - alpha * n))[0]])
        )
    # roots of q in scalar symbols (any d)
    a2, b2, vv, al = sp.symbols("A B V alpha", positive=True)
    qq = lam**2 - (a2 * vv + b2) * lam + a2 * b2 * al**2
    roots = eigen_roots_expr(a2, b2, vv, al)
    checks["roots_of_q"] = all(is_zero(qq.subs(lam, root)) for root in roots)
    checks["bracket_B"] = is_zero(qq.subs(lam, b2) + a2 * b2 * (vv - al**2))
    return Evidence(
        "symbolic", all(checks.values()),
        f"{sum(checks.values())}/{len(checks)} SymPy identities: rank-one eigenpair (A ||u||^2, u) "
        "with 0 on u-perp; with the HESS-DEP term: B on {v, w^}-perp and the roots of q on "
        "span{v, w^}, bracketing A||v||^2 and B",
        conditions=(EIG_CONDITION,),
        details={"checks": checks},
    )


def eigen_roots_expr(
    a_: sp.Expr, b_: sp.Expr, v2: sp.Expr, alpha: sp.Expr
) -> tuple[sp.Expr, sp.Expr]:
    """Y-EIG: (lambda_+, lambda_-), the roots of lambda^2 - (A V + B) lambda + A B alpha^2.

    Args: A = s(m)s(-m), B = s(-m) eps/||w||, V = ||v||^2, alpha = v.w^.
    """
    tr = a_ * v2 + b_
    disc = sp.sqrt(tr**2 - 4 * a_ * b_ * alpha**2)
    return (tr + disc) / 2, (tr - disc) / 2

"""The adversarial logistic loss and its inner maximum (claims Y-EQ7, Y-L1, INNER-MAX).

Notation (docs/claims.md): l(w; x, y) = zeta(-y w.x), zeta = softplus, s = sigmoid,
y in {-1, +1}, a perturbation eta with ||eta||_p <= eps, q the dual exponent of p (p = 2: q = 2;
p = inf: q = 1).

Symbolic side: SymPy expressions in scalar symbols that stand for any dimension (``WX`` = w.x,
``W_NORM`` = ||w||_2, ``COS_THETA``, ``W_NORM_Q`` = ||w||_q) and, where a vector identity is
needed, explicit component vectors (d = 2, 3). Each ``verify_*`` returns an
:class:`~theory.claims.Evidence` of kind ``"symbolic"`` whose checks SymPy performs.

Numeric side: the same expressions as float64 (numpy, torch) callables of those scalars,
elementwise: ``LOSS_EQ7_*``, ``DLOSS_DEPS_*``, ``ROBUST_LOSS_*`` (and :func:`loss_eq7`,
:func:`dloss_deps`, which pick the numpy or torch one). The vector-level evaluation over data
(the robust margin, loss, gradient and eta* of a weight vector) is :mod:`numerics.ops`, which
evaluates ``ROBUST_LOSS_TORCH``.
"""

from __future__ import annotations

from typing import Any

import sympy as sp
import torch

from theory._symbolic import is_zero, lambdify_pair
from theory.claims import Evidence
from theory.notation import Y_VALUES, eps, s, theta, vector_symbols, y, zeta

# ---------------------------------------------------------------------------------------------
# Symbols standing for any dimension d
# ---------------------------------------------------------------------------------------------

WX = sp.Symbol("wx", real=True)
"""The clean score w.x."""
W_NORM = sp.Symbol("norm_w", positive=True)
"""||w||_2 (> 0)."""
W_NORM_Q = sp.Symbol("norm_w_q", nonnegative=True)
"""The dual norm ||w||_q of the weights (of the feature weights with a bias)."""
COS_THETA = sp.Symbol("cos_theta", real=True)
"""cos(theta), theta the angle between w and the unit direction u of the perturbation."""

#: LaTeX names of the scalar symbols, for display: ``sp.latex(expr, symbol_names=LATEX_NAMES)``.
LATEX_NAMES = {
    WX: r"w^\top x", W_NORM: r"\|w\|", W_NORM_Q: r"\|w\|_q", COS_THETA: r"\cos\theta",
}

#: Y-EQ7: the loss with eta = eps u, ||u||_2 = 1, written through the angle theta.
LOSS_EQ7: sp.Expr = zeta(-y * WX - y * eps * W_NORM * COS_THETA)
#: Y-L1: the derivative d l / d eps in closed form.
DLOSS_DEPS: sp.Expr = -y * W_NORM * COS_THETA * s(-y * WX - y * eps * W_NORM * COS_THETA)
#: INNER-MAX: the robust margin m = y w.x - eps ||w||_q.
ROBUST_MARGIN: sp.Expr = y * WX - eps * W_NORM_Q
#: INNER-MAX: the robust loss zeta(-m) = zeta(-y w.x + eps ||w||_q).
ROBUST_LOSS: sp.Expr = zeta(-ROBUST_MARGIN)

# ---------------------------------------------------------------------------------------------
# Y-EQ7
# ---------------------------------------------------------------------------------------------


def verify_y_eq7() -> Evidence:
    """Y-EQ7: w.(x + eps u) = w.x + eps ||w|| cos(theta), l = zeta(-y w.x - y eps ||w|| cos theta).

    Proof steps SymPy checks:

    1. d = 2 in polar form, w = r (cos a, sin a), u = (cos b, sin b) (so ||u|| = 1 and theta =
       b - a): ``simplify(w.(x + eps u) - (w.x + eps r cos(theta))) == 0`` (a trigonometric
       identity, not a definition).
    2. d = 3 with free components: with cos(theta) := w.u / (||w|| ||u||) and u of unit length
       (u = v/||v||), the same difference simplifies to 0.
    3. zeta(-y (w.(x + eta))) equals ``LOSS_EQ7`` after substituting step 1.
    """
    checks: dict[str, bool] = {}
    r = sp.Symbol("r", positive=True)
    a, b = sp.symbols("a b", real=True)
    x2 = vector_symbols("x", 2)
    w2 = sp.Matrix([r * sp.cos(a), r * sp.sin(a)])
    u2 = sp.Matrix([sp.cos(b), sp.sin(b)])
    checks["unit_u_d2"] = is_zero((u2.T * u2)[0] - 1)
    score = (w2.T * (x2 + eps * u2))[0]
    checks["decomposition_d2"] = is_zero(
        score - ((w2.T * x2)[0] + eps * r * sp.cos(b - a))
    )
    checks["loss_d2"] = is_zero(
        zeta(-y * score)
        - LOSS_EQ7.subs({WX: (w2.T * x2)[0], W_NORM: r, COS_THETA: sp.cos(theta)}).subs(
            theta, b - a
        )
    )
    w3, x3, v3 = vector_symbols("w", 3), vector_symbols("x", 3), vector_symbols("v", 3)
    u3 = v3 / v3.norm()
    w3_norm = w3.norm()
    cos3 = (w3.T * u3)[0] / (w3_norm * u3.norm())
    checks["unit_u_d3"] = is_zero(u3.norm() ** 2 - 1)
    checks["decomposition_d3"] = is_zero(
        (w3.T * (x3 + eps * u3))[0] - ((w3.T * x3)[0] + eps * w3_norm * cos3)
    )
    passed = all(checks.values())
    return Evidence(
        "symbolic", passed,
        f"{sum(checks.values())}/{len(checks)} SymPy identities simplify to 0 "
        "(polar d = 2: a trigonometric identity; free d = 3)",
        details={"checks": checks},
    )


# ---------------------------------------------------------------------------------------------
# Y-L1
# ---------------------------------------------------------------------------------------------


def verify_y_l1() -> Evidence:
    """Y-L1 (Lemma 1): d l / d eps = -y ||w|| cos(theta) s(...), of the sign of -y cos(theta).

    Steps SymPy checks:

    1. ``simplify(diff(LOSS_EQ7, eps) - DLOSS_DEPS) == 0`` (symbolic dimension).
    2. For y = +1 and y = -1 separately, the ratio (d l / d eps) / (-y cos theta) simplifies to
       ||w|| s(...), which SymPy declares positive from ||w|| > 0 and e^t > 0: so d l / d eps has
       the sign of -y cos(theta) (and is 0 when cos(theta) = 0).
    3. Worst case: d l / d(cos theta) = -y eps ||w|| s(...) has the sign of -y for eps > 0, so over
       cos(theta) in [-1, 1] the loss is largest at cos(theta) = -y; u* = -y w/||w|| (d = 3) has
       ||u*|| = 1 and w.u* = -y ||w|| (y^2 = 1 substituted by taking y = +-1).
    """
    checks: dict[str, bool] = {}
    derivative = sp.diff(LOSS_EQ7, eps)
    checks["derivative"] = is_zero(derivative - DLOSS_DEPS)
    for yv in Y_VALUES:
        ratio = sp.simplify((derivative / (-y * COS_THETA)).subs(y, yv))
        checks[f"ratio_positive_y={yv}"] = bool(ratio.is_positive)
        d_cos = sp.diff(LOSS_EQ7, COS_THETA).subs(y, yv)
        eps_pos = sp.Symbol("epsilon", positive=True)
        checks[f"monotone_in_cos_y={yv}"] = bool(
            sp.simplify(d_cos.subs(eps, eps_pos) / (-yv)).is_positive
        )
        w3 = vector_symbols("w", 3)
        u_star = -yv * w3 / w3.norm()
        checks[f"worst_unit_y={yv}"] = is_zero(u_star.norm() - 1)
        checks[f"worst_cos_y={yv}"] = is_zero((w3.T * u_star)[0] + yv * w3.norm())
    passed = all(checks.values())
    return Evidence(
        "symbolic", passed,
        f"{sum(checks.values())}/{len(checks)} SymPy checks: dl/deps = -y ||w|| cos(theta) "
        "s(...), sign(dl/deps) = sign(-y cos theta), worst case u = -y w/||w||",
        conditions=(),
        details={"checks": checks, "dl_deps": sp.sstr(DLOSS_DEPS)},
    )


# ---------------------------------------------------------------------------------------------
# INNER-MAX
# ---------------------------------------------------------------------------------------------


def verify_inner_max() -> Evidence:
    """INNER-MAX: max_{||eta||_p <= eps} zeta(-y w.(x + eta)) = zeta(-y w.x + eps ||w||_q).

    Proof, with SymPy checking each step:

    1. zeta is increasing: zeta'(t) = s(t), which SymPy declares positive. So the maximum of the
       loss is zeta of the maximum of -y w.(x + eta) = -y w.x - y w.eta.
    2. Upper bound (Hoelder). p = 2: Lagrange's identity ||w||^2 ||eta||^2 - (w.eta)^2 =
       sum_{i<j} (w_i eta_j - w_j eta_i)^2 >= 0 (d = 3, expanded to 0), hence
       -y w.eta <= ||w||_2 ||eta||_2 <= eps ||w||_2. p = inf: termwise, for |eta_i| <= eps,
       eps |w_i| - (-y w_i eta_i) = |w_i| (eps - (-y sign(w_i) eta_i)) >= 0 (checked as an identity
       with sign(w_i) |w_i| = w_i), summing to -y w.eta <= eps ||w||_1.
    3. Attainment: eta* = -eps y w/||w||_2 (p = 2) and eta* = -eps y sign(w) (p = inf, w_i != 0)
       satisfy ||eta*||_p = eps and -y w.eta* = eps ||w||_q exactly (d = 3, y = +-1), so the
       bound is the maximum and zeta(-y w.(x + eta*)) = ``ROBUST_LOSS``.
    """
    checks: dict[str, bool] = {}
    tt = sp.Symbol("t", real=True)
    checks["zeta_increasing"] = bool(sp.simplify(sp.diff(zeta(tt), tt) - s(tt)) == 0) and bool(
        s(tt).is_positive
    )
    w3, e3, x3 = vector_symbols("w", 3), vector_symbols("eta", 3), vector_symbols("x", 3)
    lagrange = sum(
        (w3[i] * e3[j] - w3[j] * e3[i]) ** 2 for i in range(3) for j in range(i + 1, 3)
    )
    gram = (w3.T * w3)[0] * (e3.T * e3)[0] - (w3.T * e3)[0] ** 2
    checks["lagrange_identity"] = sp.expand(gram - lagrange) == 0
    wi, ei = sp.Symbol("w_i", real=True, nonzero=True), sp.Symbol("eta_i", real=True)
    for yv in Y_VALUES:
        slack = eps * sp.Abs(wi) - (-yv * wi * ei)
        factored = sp.Abs(wi) * (eps - (-yv * sp.sign(wi) * ei))
        checks[f"linf_termwise_y={yv}"] = is_zero(slack - factored)
        wn = vector_symbols("w", 3, nonzero=True)
        eta2 = -eps * yv * wn / wn.norm()
        checks[f"l2_norm_eta*_y={yv}"] = is_zero(eta2.norm() - eps)
        checks[f"l2_attains_y={yv}"] = is_zero(-yv * (wn.T * eta2)[0] - eps * wn.norm())
        etainf = -eps * yv * wn.applyfunc(sp.sign)
        checks[f"linf_norm_eta*_y={yv}"] = all(is_zero(sp.Abs(c) - eps) for c in etainf)
        l1 = sum(sp.Abs(c) for c in wn)
        checks[f"linf_attains_y={yv}"] = is_zero(-yv * (wn.T * etainf)[0] - eps * l1)
        # both losses are zeta(.): equal arguments give equal losses
        arg_at = -yv * (wn.T * (x3 + eta2))[0]
        arg_closed = -ROBUST_MARGIN.subs(y, yv).subs({WX: (wn.T * x3)[0], W_NORM_Q: wn.norm()})
        checks[f"l2_robust_loss_y={yv}"] = is_zero(arg_at - arg_closed)
    passed = all(checks.values())
    return Evidence(
        "symbolic", passed,
        f"{sum(checks.values())}/{len(checks)} SymPy checks: zeta increasing, Hoelder bound "
        "(Lagrange identity for p = 2, termwise for p = inf), attained by eta* with "
        "||eta*||_p = eps",
        details={"checks": checks, "robust_loss": sp.sstr(ROBUST_LOSS)},
    )


# ---------------------------------------------------------------------------------------------
# Lambdified float64 callables (numpy and torch), elementwise in the scalar symbols
# ---------------------------------------------------------------------------------------------

#: (numpy, torch) callables of LOSS_EQ7 in (w.x, ||w||, cos theta, y, eps).
LOSS_EQ7_NP, LOSS_EQ7_TORCH = lambdify_pair((WX, W_NORM, COS_THETA, y, eps), LOSS_EQ7)
#: (numpy, torch) callables of DLOSS_DEPS in (w.x, ||w||, cos theta, y, eps).
DLOSS_DEPS_NP, DLOSS_DEPS_TORCH = lambdify_pair((WX, W_NORM, COS_THETA, y, eps), DLOSS_DEPS)
#: (numpy, torch) callables of ROBUST_LOSS in (w.x, ||w||_q, y, eps).
ROBUST_LOSS_NP, ROBUST_LOSS_TORCH = lambdify_pair((WX, W_NORM_Q, y, eps), ROBUST_LOSS)


def _evaluate(pair: tuple[Any, Any], *args: Any) -> Any:
    """The torch callable of ``pair`` when an argument is a tensor, else the numpy one."""
    numpy_fn, torch_fn = pair
    return (torch_fn if any(isinstance(a, torch.Tensor) for a in args) else numpy_fn)(*args)


def loss_eq7(wx: Any, w_norm: Any, cos_theta: Any, y_: Any, eps_: float) -> Any:
    """Y-EQ7: zeta(-y w.x - y eps ||w|| cos theta), elementwise (lambdified ``LOSS_EQ7``)."""
    return _evaluate((LOSS_EQ7_NP, LOSS_EQ7_TORCH), wx, w_norm, cos_theta, y_, eps_)


def dloss_deps(wx: Any, w_norm: Any, cos_theta: Any, y_: Any, eps_: float) -> Any:
    """Y-L1: d l / d eps = -y ||w|| cos(theta) s(-y w.x - y eps ||w|| cos theta), elementwise."""
    return _evaluate((DLOSS_DEPS_NP, DLOSS_DEPS_TORCH), wx, w_norm, cos_theta, y_, eps_)

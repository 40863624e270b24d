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

from theory._symbolic import lambdify_pair
from theory.claims import Evidence
from theory.lemmas import I, cauchy_schwarz, isum, linear, vector
from theory.notation import Y_VALUES, eps, s, y, zeta
from theory.proof import Proof

__all__ = [
    "COS_THETA",
    "DLOSS_DEPS",
    "DLOSS_DEPS_NP",
    "DLOSS_DEPS_TORCH",
    "LATEX_NAMES",
    "LOSS_EQ7",
    "LOSS_EQ7_NP",
    "LOSS_EQ7_TORCH",
    "ROBUST_LOSS",
    "ROBUST_LOSS_NP",
    "ROBUST_LOSS_TORCH",
    "ROBUST_MARGIN",
    "WX",
    "W_NORM",
    "W_NORM_Q",
    "dloss_deps",
    "loss_eq7",
    "verify_inner_max",
    "verify_y_eq7",
    "verify_y_l1",
]

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

    Proof, for every dimension d (index sums, :mod:`theory.lemmas`):

    1. bilinearity: sum_i w_i (x_i + eps u_i) = w.x + eps w.u;
    2. |w.u| <= ||w|| ||u|| (Cauchy-Schwarz), so cos(theta) := w.u / (||w|| ||u||) is in [-1, 1]
       and theta is an angle; with ||u|| = 1, eps w.u = eps ||w|| cos(theta);
    3. zeta(-y w.(x + eta)) is then ``LOSS_EQ7``.
    """
    p = Proof(claim="Y-EQ7")
    w, x, u = vector("w"), vector("x"), vector("u")
    p.identity("w.(x + eps u) = w.x + eps w.u (sum over i = 1..d)",
               linear(isum(w[I] * (x[I] + eps * u[I]))) - linear(isum(w[I] * x[I])
                                                              + eps * isum(w[I] * u[I])))
    p.lemma(cauchy_schwarz(), "|w.u| <= ||w|| ||u||: cos(theta) = w.u/(||w|| ||u||) lies in "
            "[-1, 1]")
    wu, norm_u = sp.Symbol("wu", real=True), sp.Integer(1)
    cos_def = wu / (W_NORM * norm_u)
    p.identity("||u|| = 1: eps w.u = eps ||w|| cos(theta)", eps * wu - eps * W_NORM * cos_def)
    p.identity("l = zeta(-y w.(x + eta)) = zeta(-y w.x - y eps ||w|| cos theta) (LOSS_EQ7)",
               zeta(-y * (WX + eps * wu)) - LOSS_EQ7.subs(COS_THETA, cos_def))
    return p.evidence("w.(x + eps u) = w.x + eps ||w|| cos(theta), l = LOSS_EQ7")


# ---------------------------------------------------------------------------------------------
# Y-L1
# ---------------------------------------------------------------------------------------------


def verify_y_l1() -> Evidence:
    """Y-L1 (Lemma 1): d l / d eps = -y ||w|| cos(theta) s(...), of the sign of -y cos(theta).

    Proof (scalar symbols w.x, ||w||, cos theta stand for any d; the worst case with index sums):

    1. ``diff(LOSS_EQ7, eps) - DLOSS_DEPS`` simplifies to 0;
    2. for y = +1 and y = -1, (d l / d eps) / (-y cos theta) = ||w|| s(...) > 0 (SymPy's
       assumptions): d l / d eps has the sign of -y cos(theta) (0 when cos(theta) = 0);
    3. d l / d(cos theta) = -y eps ||w|| s(...) has the sign of -y for eps > 0, so over
       cos(theta) in [-1, 1] the loss is largest at cos(theta) = -y;
    4. u* = -y w/||w|| has ||u*|| = 1 and w.u* = -y ||w|| (index sums), i.e. cos(theta) = -y.
    """
    p = Proof(claim="Y-L1")
    derivative = sp.diff(LOSS_EQ7, eps)
    p.identity("d l / d eps = -y ||w|| cos(theta) s(-y w.x - y eps ||w|| cos theta)",
               derivative - DLOSS_DEPS)
    eps_pos = sp.Symbol("epsilon", positive=True)
    for yv in Y_VALUES:
        p.positive(f"y = {yv}: (d l / d eps) / (-y cos theta) = ||w|| s(...) > 0",
                   sp.simplify((derivative / (-y * COS_THETA)).subs(y, yv)))
        d_cos = sp.diff(LOSS_EQ7, COS_THETA).subs(y, yv)
        p.positive(f"y = {yv}: (d l / d cos theta) / (-y) = eps ||w|| s(...) > 0 (eps > 0): the "
                   "loss is largest at cos(theta) = -y",
                   sp.simplify(d_cos.subs(eps, eps_pos) / (-yv)))
    w = vector("w")
    ww = isum(w[I] ** 2)
    for yv in Y_VALUES:
        u_star = -yv * w[I] / sp.sqrt(ww)
        p.identity(f"y = {yv}: u* = -y w/||w|| has ||u*||^2 = 1 (w != 0)",
                   linear(isum(u_star ** 2)) - 1, uses=("w != 0",))
        p.identity(f"y = {yv}: w.u* = -y ||w|| (w != 0)",
                   linear(isum(w[I] * u_star)) + yv * sp.sqrt(ww), uses=("w != 0",))
    return p.evidence("dl/deps = -y ||w|| cos(theta) s(...), sign(dl/deps) = sign(-y cos "
                      "theta), worst case u = -y w/||w||",
                      details={"dl_deps": sp.sstr(DLOSS_DEPS)})


# ---------------------------------------------------------------------------------------------
# INNER-MAX
# ---------------------------------------------------------------------------------------------


def verify_inner_max() -> Evidence:
    """INNER-MAX: max_{||eta||_p <= eps} zeta(-y w.(x + eta)) = zeta(-y w.x + eps ||w||_q).

    Proof, for every dimension d (index sums):

    1. zeta is increasing (zeta' = s > 0), so the maximum of the loss is zeta of the maximum of
       -y w.(x + eta) = -y w.x - y w.eta;
    2. upper bound (Hoelder). p = 2: -y w.eta <= |w.eta| <= ||w|| ||eta|| <= eps ||w||
       (Cauchy-Schwarz). p = inf: with eta_i = eps t_i, |t_i| <= 1, each term satisfies
       eps |w_i| + y w_i eta_i = eps |w_i| (1 + y sign(w_i) t_i), where 1 + y sign(w_i) t_i >= 0
       follows from |t_i| <= 1 (case by case on y and sign(w_i)), and a sum of such terms is
       >= 0: -y w.eta <= eps ||w||_1;
    3. attainment: eta* = -eps y w/||w||_2 (p = 2) and eta* = -eps y sign(w) (p = inf) satisfy
       ||eta*||_p = eps and -y w.eta* = eps ||w||_q, so the bound is the maximum and
       zeta(-y w.(x + eta*)) = ``ROBUST_LOSS``.

    Hypotheses (:mod:`theory.hypotheses`): eps >= 0, y in {-1, +1}, and w != 0 for the p = 2
    maximiser (eta* = -eps y w/||w||_2 is undefined at w = 0; the maximum value holds there too,
    both sides being zeta(-y w.x)).
    """
    p = Proof(claim="INNER-MAX")
    tt = sp.Symbol("t", real=True)
    p.identity("zeta'(t) = s(t)", sp.diff(zeta(tt), tt) - s(tt))
    p.positive("s(t) > 0: zeta is increasing, the inner max is zeta(max -y w.(x + eta))", s(tt))
    p.lemma(cauchy_schwarz(), "p = 2: -y w.eta <= |w.eta| <= ||w|| ||eta|| <= eps ||w|| "
            "(Cauchy-Schwarz, ||eta|| <= eps)")
    w, t_, rho = vector("w"), vector("t"), vector("rho", nonnegative=True)
    for yv in Y_VALUES:
        # rho_i = 1 + y sign(w_i) t_i >= 0 for |t_i| <= 1
        p.identity(f"p = inf, y = {yv}: eps |w_i| + y w_i (eps t_i) = eps |w_i| (1 + y sign(w_i) "
                   "t_i), with w_i = sign(w_i) |w_i|",
                   eps * sp.Abs(w[I]) + yv * sp.sign(w[I]) * sp.Abs(w[I]) * eps * t_[I]
                   - eps * sp.Abs(w[I]) * (1 + yv * sp.sign(w[I]) * t_[I]))
    # rho_i = 1 + y sign(w_i) t_i >= 0, derived from |t_i| <= 1: t_i = -1 + a_i = 1 - b_i
    a_i, b_i = sp.Symbol("a_i", nonnegative=True), sp.Symbol("b_i", nonnegative=True)
    for yv in Y_VALUES:
        for sw in (1, -1, 0):
            sigma = yv * sw
            t_i = -1 + a_i if sigma > 0 else 1 - b_i  # the bound of |t_i| <= 1 that is used
            p.nonnegative(f"p = inf, y = {yv}, sign(w_i) = {sw}: rho_i = 1 + y sign(w_i) t_i = "
                          f"{sp.sstr(sp.expand(1 + sigma * t_i))} >= 0, from |t_i| <= 1 "
                          "(a_i = 1 + t_i >= 0, b_i = 1 - t_i >= 0)", sp.expand(1 + sigma * t_i),
                          gives=(f"rho_i >= 0 (y = {yv}, sign(w_i) = {sw})",))
    p.cases("rho_i >= 0 for every i: y in {-1, +1} and sign(w_i) in {-1, 0, 1} are all the cases",
            "rho[i] >= 0", tuple(f"rho_i >= 0 (y = {yv}, sign(w_i) = {sw})"
                                 for yv in Y_VALUES for sw in (1, -1, 0)))
    p.nonnegative("p = inf: sum_i eps |w_i| rho_i >= 0 with every rho_i >= 0 (the steps above), "
                  "i.e. -y w.eta <= eps ||w||_1", isum(eps * sp.Abs(w[I]) * rho[I]))
    ww = isum(w[I] ** 2)
    x = vector("x")
    for yv in Y_VALUES:
        eta2 = -eps * yv * w[I] / sp.sqrt(ww)
        p.identity(f"p = 2, y = {yv}: ||eta*||^2 = eps^2 (w != 0)",
                   linear(isum(eta2 ** 2)) - eps ** 2, uses=("w != 0",))
        p.identity(f"p = 2, y = {yv}: -y w.eta* = eps ||w|| (w != 0)",
                   linear(-yv * isum(w[I] * eta2)) - eps * sp.sqrt(ww), uses=("w != 0",))
        etainf = -eps * yv * sp.sign(w[I])
        p.identity(f"p = inf, y = {yv}: |eta*_i| = eps where w_i != 0",
                   (sp.Abs(etainf) - eps).subs(sp.Abs(sp.sign(w[I])), 1))
        wi = sp.Symbol("w_i", real=True)  # any component
        p.identity(f"p = inf, y = {yv}: -y w.eta* - eps ||w||_1 = sum_i (-y w_i eta*_i - eps |w_i|)"
                   ", whose every term is 0 (w_i sign(w_i) = |w_i|)",
                   (-yv * w[I] * etainf - eps * sp.Abs(w[I])).subs(w[I], wi))
        arg_at = linear(-yv * isum(w[I] * (x[I] + eta2)))
        arg_closed = -ROBUST_MARGIN.subs(y, yv).subs({WX: isum(w[I] * x[I]),
                                                      W_NORM_Q: sp.sqrt(ww)})
        p.identity(f"p = 2, y = {yv}: the loss at eta* is ROBUST_LOSS",
                   arg_at - linear(arg_closed), uses=("w != 0",))
    return p.evidence("zeta increasing, Hoelder bound (Cauchy-Schwarz for p = 2, termwise for "
                      "p = inf), attained by eta* with ||eta*||_p = eps",
                      details={"robust_loss": sp.sstr(ROBUST_LOSS)})


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

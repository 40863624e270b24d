"""The adversarial logistic loss and its inner maximum (claims Y-EQ7, Y-L1, INNER-MAX).

Notation (SPEC.md): l(w; x, y) = zeta(-y w.x), zeta = softplus, s = sigmoid, y in {-1, +1}, a
perturbation eta with ||eta||_p <= eps, q the dual exponent of p (p = 2: q = 2; p = inf: q = 1).

Symbolic side: SymPy expressions in scalar symbols that stand for any dimension (``WX`` = w.x,
``W_NORM`` = ||w||_2, ``COS_THETA``, ``W_NORM_Q`` = ||w||_q) and, where a vector identity is
needed, explicit component vectors (d = 2, 3). Each ``verify_*`` returns an
:class:`~theory.claims.Evidence` of kind ``"symbolic"`` whose checks SymPy performs.

Numeric side: float64 callables that evaluate the same formulas, batched over data points, for
numpy arrays and torch tensors alike (a numpy input gives a numpy output):

* :func:`robust_margin`  m = y w.x - eps ||w_f||_q,
* :func:`robust_loss`  zeta(-m) = max_{||eta||_p <= eps} l(w; x + eta, y),
* :func:`inner_max_perturbation`  the maximiser eta*,
* :func:`loss_eq7`, :func:`dloss_deps`  (lambdified from the SymPy expressions).

Bias convention. With ``bias=True`` the last coordinate of ``x`` is the constant 1 and the last
weight is the bias b. The attack perturbs the input features only, never the constant, so
eta has a zero last coordinate, its norm ||eta||_p is the norm of the feature part, and every
norm of the weights in these formulas is the norm of the feature weights w_f = w[:-1]:
m = y (w_f.x_f + b) - eps ||w_f||_q. (The bias enters the margin but not the attack.)

Shapes: ``w`` is (d,); ``x`` is (N, d) or (d,); ``y`` is (N,) or a scalar, with values +-1.
Per-point results have shape (N,) (or () for a single point).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np
import sympy as sp
import torch
from scipy.special import expit
from sympy.printing.pytorch import TorchPrinter

from theory.claims import Evidence
from theory.errors import ConfigError
from theory.notation import eps, s, theta, vector_symbols, y, zeta
from theory.validate import check_eps, check_norm

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

Y_VALUES = (sp.Integer(1), sp.Integer(-1))


def is_zero(expr: sp.Expr) -> bool:
    """True when SymPy simplifies ``expr`` (a scalar or a matrix) to exactly 0."""
    if isinstance(expr, sp.MatrixBase):
        return all(is_zero(e) for e in expr)
    return sp.simplify(expr) == 0


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
# Lambdified float64 callables (numpy and torch)
# ---------------------------------------------------------------------------------------------

_Softplus = sp.Function("Softplus")
_Sigmoid = sp.Function("Sigmoid")


def stable_form(expr: sp.Expr) -> sp.Expr:
    """Rewrite log(1 + e^t) as Softplus(t) and 1/(1 + e^t) as Sigmoid(-t) for lambdify.

    The two functions map to the overflow-free ``logaddexp(0, t)``/``sigmoid`` of torch and numpy
    (``scipy.special.expit``), so large margins do not give inf or a loss rounded to 0. Not
    ``torch.nn.functional.softplus``: it returns t itself above t = 20, an error of e^-20 ~ 2e-9
    in the gradient, which a 1e-10 verification would see.
    """

    def is_one_plus_exp(e: sp.Expr) -> bool:
        return (
            isinstance(e, sp.Add) and len(e.args) == 2 and sp.Integer(1) in e.args
            and any(isinstance(a, sp.exp) for a in e.args)
        )

    def exp_arg(e: sp.Expr) -> sp.Expr:
        return next(a for a in e.args if isinstance(a, sp.exp)).args[0]

    expr = expr.replace(
        lambda e: isinstance(e, sp.log) and is_one_plus_exp(e.args[0]),
        lambda e: _Softplus(exp_arg(e.args[0])),
    )
    return expr.replace(
        lambda e: isinstance(e, sp.Pow) and e.exp == -1 and is_one_plus_exp(e.base),
        lambda e: _Sigmoid(-exp_arg(e.base)),
    )


def _softplus_torch(t: torch.Tensor) -> torch.Tensor:
    """zeta(t) = log(1 + e^t) in full precision for every t (see :func:`stable_form`)."""
    t = torch.as_tensor(t)
    return torch.logaddexp(torch.zeros_like(t), t)


_TORCH_FUNCS = {"Softplus": _softplus_torch, "Sigmoid": torch.sigmoid}
_NUMPY_FUNCS = {"Softplus": lambda t: np.logaddexp(0.0, t), "Sigmoid": expit}


def lambdify_pair(args: tuple[sp.Symbol, ...], expr: sp.Expr) -> tuple[Callable, Callable]:
    """(numpy, torch) float64 callables of ``expr`` (in its :func:`stable_form`)."""
    stable = stable_form(expr)
    return (
        sp.lambdify(args, stable, modules=[_NUMPY_FUNCS, "numpy"]),
        sp.lambdify(
            args, stable, modules=[_TORCH_FUNCS, "torch"],
            printer=TorchPrinter({"strict": False}),  # Softplus/Sigmoid come from the dict
        ),
    )


#: (numpy, torch) callables of LOSS_EQ7 in (w.x, ||w||, cos theta, y, eps).
LOSS_EQ7_NP, LOSS_EQ7_TORCH = lambdify_pair((WX, W_NORM, COS_THETA, y, eps), LOSS_EQ7)
#: (numpy, torch) callables of DLOSS_DEPS in (w.x, ||w||, cos theta, y, eps).
DLOSS_DEPS_NP, DLOSS_DEPS_TORCH = lambdify_pair((WX, W_NORM, COS_THETA, y, eps), DLOSS_DEPS)
#: (numpy, torch) callables of ROBUST_LOSS in (w.x, ||w||_q, y, eps).
ROBUST_LOSS_NP, ROBUST_LOSS_TORCH = lambdify_pair((WX, W_NORM_Q, y, eps), ROBUST_LOSS)


def _to_torch(value: Any) -> torch.Tensor:
    if isinstance(value, torch.Tensor):
        return value
    return torch.as_tensor(np.asarray(value, dtype=np.float64))


def array_api(func: Callable[..., Any]) -> Callable[..., Any]:
    """Let a torch implementation take numpy arrays too: numpy in, numpy (float64) out.

    Positional array arguments are converted; when none of them is a torch tensor the results
    (a tensor or a tuple of tensors) are returned as numpy arrays.
    """

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        as_numpy = not any(isinstance(a, torch.Tensor) for a in args)
        converted = [
            _to_torch(a)
            if isinstance(a, np.ndarray | list | float | int) and not isinstance(a, bool)
            else a
            for a in args
        ]
        out = func(*converted, **kwargs)
        if not as_numpy:
            return out
        if isinstance(out, tuple):
            return tuple(o.detach().cpu().numpy() for o in out)
        return out.detach().cpu().numpy()

    return wrapper


def feature_mask(d: int, bias: bool, like: torch.Tensor) -> torch.Tensor:
    """(d,) mask of the coordinates the attack perturbs: all ones, or zero on the bias."""
    mask = torch.ones(d, dtype=like.dtype, device=like.device)
    if bias:
        if d < 2:
            raise ConfigError("bias=True needs x with at least one feature and the constant 1")
        mask[-1] = 0
    return mask


def check_inputs(
    w: torch.Tensor, x: torch.Tensor, y_: torch.Tensor | float, bias: bool
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Validate shapes and labels: ``w`` (d,), ``x`` (N, d) or (d,), ``y`` +-1 of shape (N,)/()."""
    if w.dim() != 1:
        raise ConfigError(f"w must be a vector of shape (d,), got shape {tuple(w.shape)}")
    if x.dim() not in (1, 2) or x.shape[-1] != w.shape[0]:
        raise ConfigError(
            f"x must have shape (N, {w.shape[0]}) or ({w.shape[0]},) to match w, "
            f"got {tuple(x.shape)}"
        )
    yt = torch.as_tensor(y_, dtype=x.dtype, device=x.device)
    if yt.dim() > 0 and yt.shape != x.shape[:-1]:
        raise ConfigError(f"y must have shape {tuple(x.shape[:-1])}, got {tuple(yt.shape)}")
    if not value_is_true(torch.all(yt.abs() == 1)):
        raise ConfigError("labels y must be -1 or +1 (map classes {0, 1} with y = 2 c - 1)")
    if bias and not value_is_true(torch.all(x[..., -1] == 1)):
        raise ConfigError("bias=True expects the last coordinate of x to be the constant 1")
    return w, x, yt


def value_is_true(flag: torch.Tensor) -> bool:
    """``bool(flag)``, or True under torch.func transforms (vmap, grad), where values are hidden.

    The checks that use it validate inputs; inside a transform the same inputs have usually been
    validated by a plain call, and data-dependent control flow is not allowed there.
    """
    try:
        return bool(flag)
    except RuntimeError:
        return True


def dual_norm_of(w: torch.Tensor, norm: str, bias: bool = False) -> torch.Tensor:
    """||w_f||_q: the L2 norm for p = 2, the L1 norm for p = inf (w_f = w[:-1] with a bias)."""
    wf = w[:-1] if bias else w
    return wf.norm(p=2) if check_norm(norm) == "l2" else wf.abs().sum()


@array_api
def robust_margin(
    w: torch.Tensor, x: torch.Tensor, y_: torch.Tensor, eps_: float, norm: str = "l2",
    bias: bool = False,
) -> torch.Tensor:
    """INNER-MAX: the robust margin m = y w.x - eps ||w_f||_q, per point.

    Args:
        w: weights (d,). x: inputs (N, d) or (d,). y_: labels +-1, (N,) or scalar.
        eps_: budget eps >= 0. norm: ``"l2"`` (q = 2) or ``"linf"`` (q = 1).
        bias: the last coordinate of x is the constant 1, not perturbed (module docstring).

    Returns:
        m, shape (N,) (or () for one point); numpy when no argument is a tensor.
    """
    w, x, yt = check_inputs(w, x, y_, bias)
    return yt * (x @ w) - check_eps(eps_) * dual_norm_of(w, norm, bias)


@array_api
def robust_loss(
    w: torch.Tensor, x: torch.Tensor, y_: torch.Tensor, eps_: float, norm: str = "l2",
    bias: bool = False,
) -> torch.Tensor:
    """INNER-MAX: zeta(-y w.x + eps ||w_f||_q) = max_{||eta||_p <= eps} l(w; x + eta, y), per point.

    Evaluates the lambdified ``ROBUST_LOSS`` (overflow-free softplus). Arguments and shapes as in
    :func:`robust_margin`; differentiable in ``w`` (autograd) where the norm is.
    """
    w, x, yt = check_inputs(w, x, y_, bias)
    return ROBUST_LOSS_TORCH(x @ w, dual_norm_of(w, norm, bias), yt, check_eps(eps_))


@array_api
def inner_max_perturbation(
    w: torch.Tensor, x: torch.Tensor, y_: torch.Tensor, eps_: float, norm: str = "l2",
    bias: bool = False,
) -> torch.Tensor:
    """INNER-MAX: the worst-case perturbation eta*, per point.

    p = 2: eta* = -eps y w_f/||w_f||_2; p = inf: eta* = -eps y sign(w_f); zero on the bias
    coordinate. Where w_f = 0 (p = 2) or w_i = 0 (p = inf) every feasible eta is a maximiser and
    0 is returned there.

    Returns:
        eta*, same shape as ``x``.
    """
    w, x, yt = check_inputs(w, x, y_, bias)
    eps_ = check_eps(eps_)
    wf = w * feature_mask(w.shape[0], bias, w)
    if check_norm(norm) == "l2":
        length = wf.norm()
        direction = wf / length.clamp_min(torch.finfo(wf.dtype).tiny)  # 0 where w_f = 0
    else:
        direction = torch.sign(wf)
    yb = yt.unsqueeze(-1) if yt.dim() > 0 else yt
    return (-eps_ * yb * direction).expand_as(x).clone()


@array_api
def loss_eq7(
    wx: torch.Tensor, w_norm: torch.Tensor, cos_theta: torch.Tensor, y_: torch.Tensor,
    eps_: float,
) -> torch.Tensor:
    """Y-EQ7: zeta(-y w.x - y eps ||w|| cos theta), elementwise (lambdified ``LOSS_EQ7``)."""
    return LOSS_EQ7_TORCH(wx, w_norm, cos_theta, y_, eps_)


@array_api
def dloss_deps(
    wx: torch.Tensor, w_norm: torch.Tensor, cos_theta: torch.Tensor, y_: torch.Tensor,
    eps_: float,
) -> torch.Tensor:
    """Y-L1: d l / d eps = -y ||w|| cos(theta) s(-y w.x - y eps ||w|| cos theta), elementwise."""
    return DLOSS_DEPS_TORCH(wx, w_norm, cos_theta, y_, eps_)

r"""The float64 building blocks of every formula: zeta, the dual norm, the robust margin and loss.

One home for the quantities that the theory derives and the experiments train on (SPEC notation):

* :func:`zeta` :math:`\zeta(t) = \log(1 + e^t)`, exact for every t (``logaddexp``; not
  ``torch.nn.functional.softplus``, which returns t itself above t = 20, an error of
  :math:`e^{-20} \approx 2 \cdot 10^{-9}` in gradients that a 1e-10 verification sees);
* :func:`scores`, :func:`margins` :math:`z = y\, w \cdot x` (plus the bias);
* :func:`dual_norm` :math:`\lVert w_f \rVert_q` (q = 2 for the L2 threat, q = 1 for L-inf);
* :func:`robust_margin` :math:`m = y\, w \cdot x - \varepsilon \lVert w_f \rVert_q` and
  :func:`robust_loss` :math:`\zeta(-m)`, the closed-form inner maximum (INNER-MAX), evaluated
  through the lambdified SymPy expression :data:`theory.adversarial_loss.ROBUST_LOSS_TORCH`;
* :func:`robust_direction` :math:`v = y x - \varepsilon g`, :math:`g = \nabla \lVert w_f\rVert_q`,
  :func:`robust_gradient` :math:`-s(-m)\, v` (HESS-DEP), :func:`inner_max_perturbation`
  :math:`\eta^*`.

**Shapes.** ``w`` is one weight vector ``(p,)`` or one row per model ``(K, p)``; ``x`` is
``(N, d)`` or ``(d,)``, or one input set per model ``(K, N, d)``; ``y`` is ``(N,)`` (or a
scalar) with values :math:`\pm 1`. Per-point results are ``(N,)`` for one model and ``(K, N)`` for
K models.

**Bias.** Two spellings of the same model, told apart by the shapes:

* ``p == d + 1``: the last weight is the bias and ``x`` holds the features only (the batched
  trainers' form: :math:`w \cdot (x, 1)`);
* ``p == d`` with ``bias=True``: the last coordinate of ``x`` is the constant 1 (the form of the
  SymPy derivations: "a bias is handled by appending a constant 1 to x").

Either way the attack perturbs the features only and every norm of the weights is the norm of the
feature weights :math:`w_f` (the bias enters the margin, not the attack).

Every public function takes numpy arrays too and then returns numpy (:func:`array_api`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from theory.adversarial_loss import ROBUST_LOSS_TORCH
from theory.errors import ConfigError
from theory.notation import ZETA_TORCH
from theory.validate import check_eps, check_norm

__all__ = [
    "array_api",
    "augment",
    "check_labels",
    "dual_norm",
    "feature_mask",
    "has_bias",
    "inner_max_perturbation",
    "margins",
    "norm_gradient",
    "robust_direction",
    "robust_gradient",
    "robust_loss",
    "robust_loss_and_grad",
    "robust_loss_and_mean_gradient",
    "robust_margin",
    "robust_parts",
    "scores",
    "value_is_true",
    "zeta",
]


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


def value_is_true(flag: torch.Tensor) -> bool:
    """``bool(flag)``, or True under torch.func transforms (vmap, grad), where values are hidden.

    The checks that use it validate inputs; inside a transform the same inputs have usually been
    validated by a plain call, and data-dependent control flow is not allowed there.
    """
    try:
        return bool(flag)
    except RuntimeError:
        return True


@array_api
def zeta(t: torch.Tensor) -> torch.Tensor:
    r"""zeta(t) = log(1 + e^t) in full precision for every t (lambdified from SymPy's zeta)."""
    return ZETA_TORCH(t)


def check_labels(y: torch.Tensor, what: str = "y") -> torch.Tensor:
    """Return ``y`` after checking every label is -1 or +1 (the formulas need y^2 = 1)."""
    if not value_is_true(torch.all(y.abs() == 1)):
        raise ConfigError(f"labels {what} must be -1 or +1 (map classes {{0, 1}} with y = 2 c - 1)")
    return y


def _labels_of(y: Any, x: torch.Tensor) -> torch.Tensor:
    """``y`` as a tensor like ``x``, checked: values +-1, shape ``(N,)`` for x ``(N, d)`` or
    ``(K, N, d)`` (or a scalar, shared by every point)."""
    yt = check_labels(torch.as_tensor(y, dtype=x.dtype, device=x.device))
    expected = x.shape[-2:-1] if x.dim() >= 2 else torch.Size()
    if yt.dim() > 0 and yt.shape != expected:
        raise ConfigError(f"y must have shape {tuple(expected)} to match x of shape "
                          f"{tuple(x.shape)}, got {tuple(yt.shape)}")
    return yt


def has_bias(w: torch.Tensor, x: torch.Tensor, bias: bool = False) -> bool:
    """Whether the last weight is a bias: ``p == d + 1`` (implicit constant) or ``bias=True``.

    Raises:
        ConfigError: shapes that match neither spelling (module docstring), or ``bias=True`` with
            ``x`` whose last coordinate is not the constant 1.
    """
    p, d = w.shape[-1], x.shape[-1]
    if p == d + 1:
        return True
    if p != d:
        raise ConfigError(
            f"weights of length {p} do not fit inputs of dimension {d}: use p = d (with bias=True "
            "when the last coordinate of x is the constant 1) or p = d + 1 (the last weight is "
            "the bias)"
        )
    if bias:
        if d < 2:
            raise ConfigError("bias=True needs x with at least one feature and the constant 1")
        if not value_is_true(torch.all(x[..., -1] == 1)):
            raise ConfigError("bias=True expects the last coordinate of x to be the constant 1")
    return bias


def feature_mask(d: int, bias: bool, like: torch.Tensor) -> torch.Tensor:
    """(d,) mask of the coordinates the attack perturbs: all ones, or zero on the bias."""
    mask = torch.ones(d, dtype=like.dtype, device=like.device)
    if bias:
        if d < 2:
            raise ConfigError("bias=True needs x with at least one feature and the constant 1")
        mask[-1] = 0
    return mask


def augment(x: torch.Tensor, bias: bool = True) -> torch.Tensor:
    """Append the constant 1 to each input (last dimension) when ``bias``: x~ = (x, 1)."""
    if not bias:
        return x
    return torch.cat([x, torch.ones((*x.shape[:-1], 1), dtype=x.dtype, device=x.device)], -1)


def scores(w: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Scores w.x (plus the bias when ``p == d + 1``): ``(N,)`` for one model, ``(K, N)`` for K.

    ``x`` is shared ``(N, d)`` or, with K models, one set per model ``(K, N, d)``.
    """
    d = x.shape[-1]
    implicit = w.shape[-1] == d + 1
    wf, b = (w[..., :d], w[..., d]) if implicit else (w, None)
    if w.dim() == 1:
        out = x @ wf
        return out + b if b is not None else out
    if w.dim() != 2:
        raise ConfigError(f"weights must be (p,) or (K, p), got shape {tuple(w.shape)}")
    out = (x @ wf.T).T if x.dim() == 2 else torch.einsum("knd,kd->kn", x, wf)
    return out + b[:, None] if b is not None else out


def margins(w: torch.Tensor, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Margins z = y w.x (the clean loss is zeta(-z)), shape as :func:`scores`."""
    return y * scores(w, x)


def dual_norm(w: torch.Tensor, norm: str, bias: bool = False) -> torch.Tensor:
    """||w_f||_q per model: the L2 norm for p = 2, the L1 norm for p = inf (w_f drops a bias)."""
    wf = w[..., :-1] if bias else w
    return wf.norm(dim=-1) if check_norm(norm) == "l2" else wf.abs().sum(dim=-1)


def _budgets(eps: float | torch.Tensor, w: torch.Tensor) -> torch.Tensor | float:
    """eps as a float (one budget) or a validated ``(K,)`` tensor (one budget per model)."""
    if isinstance(eps, torch.Tensor) and eps.numel() > 1:
        if w.dim() != 2 or eps.numel() != w.shape[0]:
            raise ConfigError(f"got {eps.numel()} budgets for weights of shape "
                              f"{tuple(w.shape)}: give one eps or one per model")
        if not value_is_true(torch.isfinite(eps).all() & (eps >= 0).all()):
            raise ConfigError(f"budgets must be finite and >= 0, got {eps.tolist()}")
        return eps.to(w.dtype).reshape(-1)
    return check_eps(float(eps))


def _per_model(value: torch.Tensor | float, w: torch.Tensor) -> torch.Tensor | float:
    """A per-model quantity shaped to broadcast against per-point ``(K, N)`` results."""
    return value[..., None] if isinstance(value, torch.Tensor) and w.dim() == 2 else value


@array_api
def robust_margin(
    w: torch.Tensor, x: torch.Tensor, y: torch.Tensor, eps: float | torch.Tensor,
    norm: str = "l2", bias: bool = False,
) -> torch.Tensor:
    """INNER-MAX: the robust margin m = y w.x - eps ||w_f||_q, per point (no pixel box).

    Args:
        w: ``(p,)`` or ``(K, p)``. x: ``(N, d)``, ``(d,)`` or ``(K, N, d)``. y: labels +-1.
        eps: one budget, or one per model ``(K,)``. norm: ``"l2"`` (q = 2) or ``"linf"`` (q = 1).
        bias: the last coordinate of x is the constant 1 (module docstring; implied by p = d + 1).

    Returns:
        m, ``(N,)`` (or ``()`` for one point) for one model, ``(K, N)`` for K models.
    """
    bias = has_bias(w, x, bias)
    y = _labels_of(y, x)
    q = dual_norm(w, norm, bias)
    return margins(w, x, y) - _per_model(_budgets(eps, w) * q, w)


@array_api
def robust_loss(
    w: torch.Tensor, x: torch.Tensor, y: torch.Tensor, eps: float | torch.Tensor,
    norm: str = "l2", bias: bool = False,
) -> torch.Tensor:
    r"""INNER-MAX: zeta(-y w.x + eps ||w_f||_q) = max_{||eta||_p <= eps} zeta(-y w.(x + eta)).

    Per point, shapes and arguments as :func:`robust_margin`; the value is the lambdified
    ``ROBUST_LOSS`` of :mod:`theory.adversarial_loss` (overflow-free softplus), differentiable in
    ``w`` (autograd) wherever the norm is. ``eps = 0`` gives the clean loss zeta(-y w.x).
    """
    bias = has_bias(w, x, bias)
    y = _labels_of(y, x)
    q = dual_norm(w, norm, bias)
    return ROBUST_LOSS_TORCH(scores(w, x), _per_model(q, w), y, _per_model(_budgets(eps, w), w))


def norm_gradient(w: torch.Tensor, norm: str, bias: bool = False, subgradient: bool = False,
                  ) -> tuple[torch.Tensor, torch.Tensor]:
    """(g, ||w_f||_q): g = grad ||w_f||_q = w_f/||w_f|| (p = 2) or sign(w_f) (p = inf), 0 on a bias.

    ``w`` is ``(p,)`` or ``(K, p)``; g has its shape. sign(0) = 0 (the midpoint of the L-inf jump).

    Args:
        subgradient: at w_f = 0 (p = 2) return g = 0, the subgradient autograd takes there (for
            training from w = 0); otherwise such a point is refused.

    Raises:
        ConfigError: p = 2 at w_f = 0 without ``subgradient``: the norm (and the robust loss) is
            not differentiable there.
    """
    mask = feature_mask(w.shape[-1], bias, w)
    wf = w * mask
    if check_norm(norm) == "l2":
        length = wf.norm(dim=-1)
        if subgradient:
            g = torch.where(length[..., None] > 0, wf / length.clamp_min(
                torch.finfo(wf.dtype).tiny)[..., None], 0.0)
            return g, length
        if not value_is_true(torch.all(length > 0)):
            raise ConfigError(
                "the p = 2 robust loss is not differentiable at w_f = 0: evaluate at w_f != 0"
            )
        return wf / length[..., None], length
    return torch.sign(wf), wf.abs().sum(dim=-1)


def _labels(y: torch.Tensor) -> torch.Tensor:
    return y.unsqueeze(-1) if y.dim() > 0 else y


def robust_parts(
    w: torch.Tensor, x: torch.Tensor, y: torch.Tensor, eps: float, norm: str, bias: bool
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, float]:
    """(m, v, g, ||w_f||_q, eps) of one model: the robust margin, v = y x - eps g = grad_w m,
    g = grad ||w_f||_q, the dual norm and the validated budget.

    ``w`` is ``(d,)`` and ``x`` ``(N, d)`` or ``(d,)``; a bias is the constant last coordinate
    of ``x`` (``bias=True``), since v lives in the weights' space.
    """
    if w.dim() != 1 or x.shape[-1] != w.shape[0]:
        raise ConfigError(
            f"w must be a vector (d,) and x of shape (N, d) or (d,) with the same d, got "
            f"{tuple(w.shape)} and {tuple(x.shape)} (append the constant 1 to x for a bias)"
        )
    bias = has_bias(w, x, bias)
    yt = check_labels(torch.as_tensor(y, dtype=x.dtype, device=x.device))
    if yt.dim() > 0 and yt.shape != x.shape[:-1]:
        raise ConfigError(f"y must have shape {tuple(x.shape[:-1])}, got {tuple(yt.shape)}")
    eps = check_eps(eps)
    g, length = norm_gradient(w, norm, bias)
    m = yt * (x @ w) - eps * length
    v = _labels(yt) * x - eps * g
    return m, v, g, length, eps


@array_api
def robust_direction(
    w: torch.Tensor, x: torch.Tensor, y: torch.Tensor, eps: float, norm: str = "l2",
    bias: bool = False,
) -> torch.Tensor:
    """HESS-DEP/Y-EIG: v = y x - eps g = grad_w m (g = w^ for p = 2, sign(w_f) for p = inf)."""
    return robust_parts(w, x, y, eps, norm, bias)[1]


@array_api
def robust_gradient(
    w: torch.Tensor, x: torch.Tensor, y: torch.Tensor, eps: float | torch.Tensor,
    norm: str = "l2", bias: bool = False, mean: bool = False,
) -> torch.Tensor:
    """HESS-DEP, K-SMOOTH: the gradient -s(-m) v of the robust loss zeta(-m), the attack's
    dependence on w differentiated (Danskin: it equals the gradient at eta* held fixed).

    Args:
        w: ``(p,)``; with ``mean=True`` also ``(K, p)`` (one gradient per model).
        x: ``(N, d)``. y, eps, norm, bias: as :func:`robust_margin` (with ``mean=True`` eps may
            be one budget per model, and the bias may be the implicit last weight, p = d + 1).
        mean: the gradient of the empirical loss mean_n zeta(-m_n),
            -mean_n s(-m_n)(y_n x_n - eps g), without forming the per-point gradients, with
            the subgradient g = 0 at w_f = 0 (p = 2) that autograd takes there; else the
            per-point gradients, shape of ``x`` (one model, w_f != 0 for p = 2).
    """
    if not mean:
        m, v, *_ = robust_parts(w, x, y, eps, norm, bias)
        return -torch.sigmoid(-m)[..., None] * v
    bias = has_bias(w, x, bias)
    y = _labels_of(y, x)
    return _mean_gradient(w, x, y, eps, norm, bias, scores(w, x))


def _mean_gradient(w: torch.Tensor, x: torch.Tensor, y: torch.Tensor,
                   eps: float | torch.Tensor, norm: str, bias: bool, s: torch.Tensor,
                   ) -> torch.Tensor:
    """:func:`robust_gradient` with ``mean=True`` from the scores ``s = w.x`` (checked labels)."""
    e = _per_model(_budgets(eps, w), w)
    g, length = norm_gradient(w, norm, bias, subgradient=True)
    weight = torch.sigmoid(-(y * s - e * _per_model(length, w)))  # s(-m), (..., N)
    # sum_n s(-m_n) (-y_n x_n) as one product with x: y = +-1, so (s(-m_n) (-y_n)) x_n is
    # s(-m_n) (-y_n x_n) to the bit, without an (N, d) copy of the data
    data = ((weight * -y) @ x) / x.shape[0]
    if w.shape[-1] == x.shape[-1] + 1:  # the implicit bias: d m / d b = y
        data = torch.cat([data, (weight @ -y)[..., None] / x.shape[0]], dim=-1)
    return data + e * weight.mean(dim=-1, keepdim=True) * g


def robust_loss_and_mean_gradient(
    w: torch.Tensor, x: torch.Tensor, y: torch.Tensor, eps: float | torch.Tensor,
    norm: str = "l2", bias: bool = False,
) -> tuple[torch.Tensor, torch.Tensor]:
    """(:func:`robust_loss` per point, :func:`robust_gradient` with ``mean=True``) from one
    product of the weights with the data, the same numbers to the bit as the two calls (which
    read ``x`` twice): the training step of the exact inner max (INNER-MAX, HESS-DEP)."""
    bias = has_bias(w, x, bias)
    y = _labels_of(y, x)
    s = scores(w, x)
    loss = ROBUST_LOSS_TORCH(s, _per_model(dual_norm(w, norm, bias), w), y,
                             _per_model(_budgets(eps, w), w))
    return loss, _mean_gradient(w, x, y, eps, norm, bias, s)


@array_api
def inner_max_perturbation(
    w: torch.Tensor, x: torch.Tensor, y: torch.Tensor, eps: float, norm: str = "l2",
    bias: bool = False,
) -> torch.Tensor:
    """INNER-MAX: the worst-case perturbation eta* of one model, per point (no pixel box).

    p = 2: eta* = -eps y w_f/||w_f||_2; p = inf: eta* = -eps y sign(w_f); zero on the bias
    coordinate. Where w_f = 0 (p = 2) or w_i = 0 (p = inf) every feasible eta is a maximiser and
    0 is returned there.

    Returns:
        eta*, same shape as ``x``.
    """
    if w.dim() != 1:
        raise ConfigError(f"w must be a vector of shape (d,), got shape {tuple(w.shape)}")
    bias = has_bias(w, x, bias)
    yt = _labels_of(y, x)
    eps = check_eps(eps)
    wf = w * feature_mask(w.shape[0], bias, w)
    if check_norm(norm) == "l2":
        length = wf.norm()
        direction = wf / length.clamp_min(torch.finfo(wf.dtype).tiny)  # 0 where w_f = 0
    else:
        direction = torch.sign(wf)
    return (-eps * _labels(yt) * direction).expand_as(x).clone()


def robust_loss_and_grad(
    w: torch.Tensor, x: torch.Tensor, y: torch.Tensor, eps: float, norm: str,
    bias: bool = False,
) -> tuple[float, torch.Tensor]:
    """L_eps(w) = mean_n zeta(-y_n w.x_n + eps ||w_f||_q) and its gradient by autograd.

    The attack's dependence on w is differentiated (the closed-form inner max,
    :func:`robust_loss`); at w_i = 0 (p = inf) autograd returns the subgradient with
    sign(0) = 0, and at w_f = 0 (p = 2) the one with the norm's gradient 0. An independent
    evaluation of :func:`robust_gradient` with ``mean=True``.

    Returns:
        (loss value, gradient of the shape of ``w``).
    """
    w = w.detach().clone().requires_grad_(True)
    loss = robust_loss(w, x, y, eps, norm, bias).mean()
    (g,) = torch.autograd.grad(loss, w)
    return float(loss.detach()), g.detach()

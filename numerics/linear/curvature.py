r"""Gradients, Hessians and eigenpairs of the (adversarial) logistic loss in closed form.

Two Hessians of the loss of a linear model (Y-HESS and HESS-DEP of :mod:`theory.hessian`), built
from the lambdified coefficients :math:`A = s(m)s(-m)` (``A_TORCH``), :math:`B = s(-m)
\varepsilon/\lVert w_f\rVert` (``B_TORCH``) and :math:`s(-m)` (``G_TORCH``):

* **Y-HESS** (noise held fixed): with the perturbed inputs :math:`u_n = \tilde x_n + \eta_n`
  frozen, :math:`H = \frac1N \sum_n s(z_n) s(-z_n) u_n u_n^\top = U^\top D U / N`,
  :math:`z_n = y_n w \cdot u_n`.
* **HESS-DEP** (the attack depends on w; exact robust loss without box, INNER-MAX):
  :math:`m_n = y_n w\cdot\tilde x_n - \varepsilon\lVert w_f\rVert_q`,
  :math:`v_n = y_n \tilde x_n - \varepsilon g`, :math:`g = \nabla\lVert w_f\rVert_q`, and
  :math:`H = \frac1N V^\top \operatorname{diag}(A) V + \overline{B}\,(P_f - \hat w_f \hat w_f^\top)`
  for p = 2 (:math:`P_f` the identity on the features), without the second term for p = inf
  (off the hyperplanes :math:`w_i = 0`).

Three forms of each: per point (``point_*``: one model, ``(N, d, d)``, for the checks against
autograd), the full-data mean of K models at once (``hessian_*``: ``(K, p, p)``, never forming
the N per-point matrices) and matrix-free operators of one model (``*_operator``: O(N p) per
product, for ``eigsh``). The closed-form eigenpairs of Y-EIG and the per-point eigenvalue of
Theorem 1 (Y-T1) and its derivative follow.

Shapes and the bias follow :mod:`numerics.ops`: ``w`` is ``(p,)`` or ``(K, p)``; a bias is either
the implicit last weight (``p == d + 1``) or the constant last coordinate of ``x``
(``bias=True``). Filter normalisation makes :math:`\lVert d\rVert = \lVert w \rVert`, so the
curvature seen along a normalised direction is :math:`\lVert w\rVert^2 \lambda`
(:func:`normalized_sharpness`).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from scipy.sparse.linalg import LinearOperator

from numerics.ops import (
    array_api,
    augment,
    check_labels,
    feature_mask,
    has_bias,
    margins,
    norm_gradient,
    robust_margin,
    robust_parts,
)
from numerics.validate import check_finite, warn_if_low_precision
from theory.errors import ConfigError
from theory.hessian import A_TORCH, B_TORCH, G_TORCH
from theory.theorem1 import DLAMBDA_DEPS_TORCH, PHI_TORCH
from theory.validate import check_norm

__all__ = [
    "dlambda1_deps_per_point",
    "expected_hessian_approx",
    "fixed_noise_eigenpair",
    "fixed_noise_operator",
    "grad_fixed_noise",
    "hessian_fixed_noise",
    "hessian_robust",
    "increase_condition",
    "normalized_sharpness",
    "point_hessian_fixed_noise",
    "point_robust_hessian",
    "robust_eigenpairs",
    "robust_operator",
    "top_eigenvalue_per_point",
]

_ROWS = 4096  # rows of U held at once when accumulating U^T D U


def _weighted_gram(U: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
    """(1/N) U^T diag(a) U, accumulated over row chunks; U ``(N, p)``, a ``(N,)``."""
    N, p = U.shape
    out = torch.zeros((p, p), dtype=U.dtype, device=U.device)
    for start in range(0, N, _ROWS):
        u = U[start:start + _ROWS]
        out += (u * a[start:start + _ROWS, None]).T @ u
    return out / N


def _check_hessian_inputs(W: torch.Tensor, X: torch.Tensor, what: str) -> None:
    """Refuse NaN/Inf weights or inputs; warn when the closed form is not taken in float64.

    A finite sum proves every entry finite (NaN and Inf propagate through it): one read, no
    mask; only a non-finite sum (or an overflow of the sum) takes the counting check."""
    for tensor, name in ((W, "the weights W"), (X, "the inputs X")):
        if not bool(torch.isfinite(tensor.sum())):
            check_finite(tensor, name)
    warn_if_low_precision(W.dtype, what)


def _labels(y: torch.Tensor) -> torch.Tensor:
    return y.unsqueeze(-1) if y.dim() > 0 else y


def _one_model(w: torch.Tensor, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Check one model's inputs (``w`` (d,), ``x`` (N, d) or (d,)); return its labels."""
    if w.dim() != 1 or x.shape[-1] != w.shape[0]:
        raise ConfigError(f"w must be a vector (d,) and x of shape (N, d) or (d,) with the same "
                          f"d, got {tuple(w.shape)} and {tuple(x.shape)}")
    return check_labels(torch.as_tensor(y, dtype=x.dtype, device=x.device))


# ---------------------------------------------------------------------------------------------
# Per point, one model (Y-HESS, HESS-DEP; the checks compare them with autograd)
# ---------------------------------------------------------------------------------------------


def _fixed_noise_margin(w: torch.Tensor, x: torch.Tensor, y: torch.Tensor, eta: torch.Tensor,
                        ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(labels, u = x + eta, z = y w.u) of one model with the noise held fixed (Y-HESS)."""
    yt = _one_model(w, x, y)
    u = x + eta
    return yt, u, yt * (u @ w)


@array_api
def grad_fixed_noise(
    w: torch.Tensor, x: torch.Tensor, y: torch.Tensor, eta: torch.Tensor
) -> torch.Tensor:
    """Y-HESS: grad_w zeta(-y w.(x + eta)) = -s(-z) y (x + eta), z = y w.(x + eta); shape of x."""
    yt, u, z = _fixed_noise_margin(w, x, y, eta)
    return -_labels(G_TORCH(z) * yt) * u


@array_api
def point_hessian_fixed_noise(
    w: torch.Tensor, x: torch.Tensor, y: torch.Tensor, eta: torch.Tensor
) -> torch.Tensor:
    """Y-HESS: per-point Hessian s(z) s(-z) (x + eta)(x + eta)^T; shape (N, d, d) or (d, d)."""
    _, u, z = _fixed_noise_margin(w, x, y, eta)
    return A_TORCH(z)[..., None, None] * u[..., :, None] * u[..., None, :]


@array_api
def point_robust_hessian(
    w: torch.Tensor, x: torch.Tensor, y: torch.Tensor, eps: float, norm: str = "l2",
    bias: bool = False,
) -> torch.Tensor:
    """HESS-DEP: per-point Hessian of zeta(-m), shape (N, d, d) (or (d, d) for one point).

    p = 2: s(m)s(-m) v v^T + s(-m)(eps/||w_f||)(D - w^ w^T); p = inf (off w_i = 0):
    s(m)s(-m) v v^T. For the mean over many points use :func:`hessian_robust`.
    """
    m, v, g, length, eps = robust_parts(w, x, y, eps, norm, bias)
    hess = A_TORCH(m)[..., None, None] * v[..., :, None] * v[..., None, :]
    if check_norm(norm) == "l2":
        proj = torch.diag(feature_mask(w.shape[0], bias, w)) - torch.outer(g, g)
        hess = hess + B_TORCH(m, eps, length)[..., None, None] * proj
    return hess


# ---------------------------------------------------------------------------------------------
# Full-data Hessians, K models at once
# ---------------------------------------------------------------------------------------------


@array_api
def hessian_fixed_noise(
    W: torch.Tensor, Xk: torch.Tensor, y: torch.Tensor, weight_decay: float = 0.0
) -> torch.Tensor:
    """Y-HESS: Hessian of mean_n zeta(-y_n w_k.(x~_kn + eta_kn)) with the noise held fixed.

    H_k = (1/N) sum_n s(z_kn) s(-z_kn) u_kn u_kn^T (+ wd I for the weight-decay term).

    Args:
        W: weights ``(p,)`` or ``(K, p)`` (bias last when p = d + 1). Xk: the perturbed inputs
            x + eta, shared ``(N, d)`` or per model ``(K, N, d)`` (e.g. PGD examples at the
            trained weights). y: labels ``(N,)`` in ±1. weight_decay: wd of (wd/2)||w||^2.

    Returns:
        ``(K, p, p)`` Hessians (``(p, p)`` for one weight vector).
    """
    _check_hessian_inputs(W, Xk, "hessian_fixed_noise (Y-HESS)")
    single = W.dim() == 1
    W = W[None] if single else W
    check_labels(y)
    K, d = W.shape[0], Xk.shape[-1]
    bias = W.shape[1] == d + 1
    a = A_TORCH(margins(W, Xk, y))
    H = torch.stack([_weighted_gram(augment(Xk if Xk.dim() == 2 else Xk[k], bias), a[k])
                     for k in range(K)])
    if weight_decay:
        H = H + weight_decay * torch.eye(W.shape[1], dtype=W.dtype, device=W.device)
    return H[0] if single else H


@array_api
def hessian_robust(
    W: torch.Tensor, X: torch.Tensor, y: torch.Tensor, eps: float | torch.Tensor,
    norm: str = "l2", weight_decay: float = 0.0, bias: bool = False,
) -> torch.Tensor:
    """HESS-DEP: Hessian of the exact robust loss mean_n zeta(-m_kn), the attack depending on w.

    p = 2: (1/N) V^T diag(A) V + mean_n B_n (P_f - w^ w^T); p = inf: (1/N) V^T diag(A) V
    (valid off the hyperplanes w_i = 0); O(N p^2) time, O(N p + p^2) memory.

    Args:
        W: ``(p,)`` or ``(K, p)``. X: clean inputs ``(N, d)``. y: ``(N,)``. eps: one budget or
            one per model. norm: ``"l2"`` or ``"linf"``. weight_decay: adds wd I.
        bias: the last coordinate of X is the constant 1 (implied when p = d + 1).

    Returns:
        ``(K, p, p)`` Hessians (``(p, p)`` for one weight vector).

    Raises:
        ConfigError: p = 2 at w_f = 0 (the robust loss is not differentiable there).
    """
    norm = check_norm(norm)
    _check_hessian_inputs(W, X, "hessian_robust (HESS-DEP)")
    single = W.dim() == 1
    W = W[None] if single else W
    K, p = W.shape
    bias = has_bias(W, X, bias)
    y = check_labels(torch.as_tensor(y, dtype=X.dtype, device=X.device))
    e = torch.as_tensor(eps, dtype=W.dtype, device=W.device).reshape(-1)
    if e.numel() not in (1, K):
        raise ConfigError(f"got {e.numel()} budgets for {K} models: give one eps or one per "
                          "model")
    e = e.expand(K)
    g, qnorm = norm_gradient(W, norm, bias)
    Xa = augment(X, p == X.shape[1] + 1)
    m = robust_margin(W, X, y, e if K > 1 else float(e[0]), norm, bias)
    a = A_TORCH(m)
    proj_mask = torch.diag(feature_mask(p, bias, W))
    out = []
    for k in range(K):
        H = _weighted_gram(y[:, None] * Xa - e[k] * g[k], a[k])
        if norm == "l2" and e[k] > 0:
            H = H + B_TORCH(m[k], e[k], qnorm[k]).mean() * (proj_mask - torch.outer(g[k], g[k]))
        out.append(H)
    H = torch.stack(out)
    if weight_decay:
        H = H + weight_decay * torch.eye(p, dtype=W.dtype, device=W.device)
    return H[0] if single else H


def normalized_sharpness(W: torch.Tensor, eigs: np.ndarray, exclude_bias: bool = False,
                         ) -> np.ndarray:
    """Y-T1: the scale-normalised sharpness ||w_k||^2 lambda_k, the curvature along a
    filter-normalised direction d (||d|| = ||w||, Li et al. 2018; for logistic regression the
    whole weight vector is one filter).

    Args:
        W: ``(K, p)`` or ``(p,)``. eigs: ``(K,)`` or ``(K, k)`` eigenvalues (a scalar for one w).
        exclude_bias: normalise by the feature weights only (||w_f||, the norm of Theorem 1's
            derivation) instead of the whole vector with its bias (the MNIST2 figures).
    """
    Wt = W.detach().cpu().double()
    Wt = Wt[..., :-1] if exclude_bias else Wt
    sq = (Wt.norm(dim=-1) ** 2).numpy()
    eigs = np.asarray(eigs)
    return eigs * (sq if eigs.ndim <= 1 else sq[:, None])


# ---------------------------------------------------------------------------------------------
# Matrix-free operators of one model (for eigsh)
# ---------------------------------------------------------------------------------------------


def _operator(matvec: Callable[[torch.Tensor], torch.Tensor], p: int,
              like: torch.Tensor) -> LinearOperator:
    def mv(v: np.ndarray) -> np.ndarray:
        t = torch.from_numpy(np.ascontiguousarray(v, dtype=np.float64)).to(like)
        return matvec(t.reshape(p, -1)).reshape(v.shape).cpu().numpy()

    return LinearOperator((p, p), matvec=mv, matmat=mv, dtype=np.float64)


def fixed_noise_operator(
    w: torch.Tensor, Xk: torch.Tensor, y: torch.Tensor, weight_decay: float = 0.0
) -> LinearOperator:
    """Y-HESS as a matrix-free operator for one model: v -> U~^T (a * (U~ v)) / N + wd v,
    a = s(z)s(-z), U~ = (x + eta, 1); O(N p) per product instead of O(N p^2) to form H.

    Args:
        w: weights ``(p,)``. Xk: perturbed inputs ``(N, d)`` held fixed. y: ``(N,)``.
    """
    _check_hessian_inputs(w, Xk, "fixed_noise_operator (Y-HESS)")
    d = Xk.shape[1]
    bias = w.shape[0] == d + 1
    a = A_TORCH(margins(w[None], Xk, y)[0]) / Xk.shape[0]

    def matvec(v: torch.Tensor) -> torch.Tensor:
        r = Xk @ v[:d] + (v[d:d + 1] if bias else 0.0)
        r = a[:, None] * r
        out = Xk.T @ r
        if bias:
            out = torch.cat([out, r.sum(dim=0, keepdim=True)])
        return out + weight_decay * v

    return _operator(matvec, w.shape[0], w)


def robust_operator(
    w: torch.Tensor, X: torch.Tensor, y: torch.Tensor, eps: float, norm: str,
    weight_decay: float = 0.0,
) -> LinearOperator:
    """HESS-DEP as a matrix-free operator for one model (see :func:`hessian_robust`):
    V v = y * (X~ v) - eps (g.v), V^T r = X~^T (y r) - eps g sum(r), plus for p = 2 the term
    mean s(-m) (eps/||w_f||)(P_f v - w^ (w^.v)). O(N p) per product.
    """
    norm = check_norm(norm)
    _check_hessian_inputs(w, X, "robust_operator (HESS-DEP)")
    d = X.shape[1]
    bias = w.shape[0] == d + 1
    g, qn = norm_gradient(w[:d], norm)
    g_full = torch.cat([g, g.new_zeros(1)]) if bias else g
    m = robust_margin(w[None], X, y, eps, norm)[0]
    a = A_TORCH(m) / X.shape[0]
    c = float(torch.sigmoid(-m).mean() * eps / qn) if norm == "l2" and eps > 0 else 0.0
    mask = feature_mask(w.shape[0], bias, w)

    def matvec(v: torch.Tensor) -> torch.Tensor:
        Xv = X @ v[:d] + (v[d:d + 1] if bias else 0.0)
        gv = g_full @ v
        r = a[:, None] * (y[:, None] * Xv - eps * gv)
        yr = y[:, None] * r
        out = X.T @ yr
        if bias:
            out = torch.cat([out, yr.sum(dim=0, keepdim=True)])
        out = out - eps * g_full[:, None] * r.sum(dim=0, keepdim=True)
        if c:
            out = out + c * (mask[:, None] * v - g_full[:, None] * gv)
        return out + weight_decay * v

    return _operator(matvec, w.shape[0], w)


# ---------------------------------------------------------------------------------------------
# Eigenpairs (Y-EIG) and Theorem 1's eigenvalue (Y-T1)
# ---------------------------------------------------------------------------------------------


@array_api
def fixed_noise_eigenpair(
    w: torch.Tensor, x: torch.Tensor, y: torch.Tensor, eta: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Y-EIG (Eq. 10): lambda_1 = s(z)s(-z)||x + eta||^2 and the unit eigenvector (x + eta)/||.||.

    All other eigenvalues of the per-point Hessian are 0. Returns (lambda_1 (N,), e (N, d)).
    """
    _, u, z = _fixed_noise_margin(w, x, y, eta)
    length = u.norm(dim=-1)
    return A_TORCH(z) * length**2, u / length[..., None]


@array_api
def robust_eigenpairs(
    w: torch.Tensor, x: torch.Tensor, y: torch.Tensor, eps: float, norm: str = "l2",
    bias: bool = False,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Y-EIG with HESS-DEP: the eigenvalues that differ from the bulk, and their eigenvectors.

    p = 2 (no bias): eigenvalues (lambda_+, lambda_-, B) with lambda_pm the roots of
    q(lambda) = lambda^2 - (A||v||^2 + B) lambda + A B alpha^2, alpha = v.w^, and
    B = s(-m) eps/||w|| of multiplicity d - 2 (vectors orthogonal to v and w^); eigenvectors
    of lambda_pm: lambda v - B alpha w^, normalised (in general position: alpha != 0, v not
    parallel to w^).
    p = inf (off w_i = 0, bias allowed): (A ||v||^2, 0, 0) and v/||v||; the other eigenvalues are 0.

    Returns:
        (values (N, 3), vectors (N, 2, d)): rows of ``vectors`` belong to values[..., 0] and
        values[..., 1] (for p = inf the second row is zero).
    """
    m, v, g, length, eps = robust_parts(w, x, y, eps, norm, bias)
    a = A_TORCH(m)
    v2 = (v * v).sum(-1)
    if check_norm(norm) == "linf":
        lam1 = a * v2
        zeros = torch.zeros_like(lam1)
        vectors = torch.stack([v / v2.sqrt()[..., None], torch.zeros_like(v)], dim=-2)
        return torch.stack([lam1, zeros, zeros], dim=-1), vectors
    if bias:
        raise ConfigError(
            "closed-form eigenpairs with the p = 2 projector term are derived without a bias; "
            "with bias=True use torch.linalg.eigh(point_robust_hessian(...))"
        )
    b = B_TORCH(m, eps, length)
    alpha = v @ g
    tr = a * v2 + b
    disc = (tr**2 - 4 * a * b * alpha**2).clamp_min(0).sqrt()
    lam_p = (tr + disc) / 2
    # lambda_+ lambda_- = A B alpha^2: no cancellation when lambda_- << lambda_+
    lam_m = torch.where(lam_p > 0, a * b * alpha**2 / lam_p.clamp_min(1e-300), 0.0)
    vecs = []
    for lam in (lam_p, lam_m):
        e = lam[..., None] * v - (b * alpha)[..., None] * g
        vecs.append(e / e.norm(dim=-1, keepdim=True))
    return torch.stack([lam_p, lam_m, b], dim=-1), torch.stack(vecs, dim=-2)


def top_eigenvalue_per_point(
    w: torch.Tensor, x: torch.Tensor, y: torch.Tensor, eps: float, norm: str = "l2",
    bias: bool = False,
) -> torch.Tensor:
    """Y-T1 / Y-EIG: lambda_1 = s(m)s(-m) ||y x - eps g||^2 per point (g = w^ or sign(w)).

    This is the nonzero eigenvalue of the per-point Hessian with the worst-case noise held fixed
    (Y-HESS at eta* = -eps y g), the quantity of Theorem 1; the full-data Hessian is the mean of
    the rank-one matrices g(m_n) v_n v_n^T, whose top eigenvalue is at most mean_n lambda_1,n.

    Args:
        w: weights (d,). x: inputs (N, d). y: labels +-1 (N,). eps: budget.
        norm: ``"l2"`` or ``"linf"``. bias: last coordinate of x is a constant 1, not perturbed.

    Returns:
        (N,) tensor of lambda_1 per point.
    """
    m, v, *_ = robust_parts(w, x, y, eps, norm, bias)
    return A_TORCH(m) * (v * v).sum(-1)


def _l2_geometry(w: torch.Tensor, x: torch.Tensor, y: torch.Tensor, eps: float,
                 ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(m, ||w||, ||x_perp||^2) per point for the L2 worst case without a bias (Y-T1 (a))."""
    _one_model(w, x, y)
    wn = w.norm()
    w_hat = w / wn
    m = robust_margin(w, x, y, eps, "l2")
    perp_sq = ((x - (x @ w_hat).unsqueeze(-1) * w_hat) ** 2).sum(-1)
    return m, wn, perp_sq


def dlambda1_deps_per_point(
    w: torch.Tensor, x: torch.Tensor, y: torch.Tensor, eps: float
) -> torch.Tensor:
    """Y-T1 (a): d lambda_1/d eps at fixed w per point (L2, no bias), lambdified DLAMBDA_DEPS."""
    m, wn, perp_sq = _l2_geometry(w, x, y, eps)
    return DLAMBDA_DEPS_TORCH(m, wn, perp_sq.sqrt())


def increase_condition(w: torch.Tensor, x: torch.Tensor, y: torch.Tensor,
                       eps: float) -> torch.Tensor:
    """Y-T1 (a): the exact condition m (||w||^2 ||x_perp||^2 - phi(m)) > 0, per point (bool).

    phi(m) = 2 m coth(m/2) - m^2 is the lambdified ``PHI`` of :mod:`theory.theorem1`, with its
    limit 4 at m = 0.
    """
    m, wn, perp_sq = _l2_geometry(w, x, y, eps)
    phi = torch.where(m == 0, torch.full_like(m, 4.0),
                      PHI_TORCH(torch.where(m == 0, torch.ones_like(m), m)))
    return m * (wn**2 * perp_sq - phi) > 0


def expected_hessian_approx(w: torch.Tensor, x: torch.Tensor, y: float, c2: float,
                            order: int = 0) -> torch.Tensor:
    """Y-T2: the approximate expected Hessian of zeta(-y w.(x + eta)), float64 (d, d).

    order 0: g(z0)(x x^T + c^2 I) (Theorem 2); order 2: plus
    c^2 [y g'(z0)(x w^T + w x^T) + g''(z0)/2 ||w||^2 x x^T] (the second-order correction of
    :mod:`theory.random_noise`), g = s s(-), z0 = y w.x.
    """
    z0 = y * (w @ x)
    g = A_TORCH(z0)
    eye = torch.eye(x.shape[0], dtype=x.dtype, device=x.device)
    out = g * (torch.outer(x, x) + c2 * eye)
    if order >= 2:
        th = torch.tanh(z0 / 2)
        g1 = -th * g
        g2 = g * (th**2 - (1 - th**2) / 2)  # g'' = g (tanh^2(z/2) - sech^2(z/2)/2)
        out = out + c2 * (y * g1 * (torch.outer(x, w) + torch.outer(w, x))
                          + g2 / 2 * (w @ w) * torch.outer(x, x))
    return out

r"""Exact full Hessians of the (adversarial) training loss of linear logistic models, batched.

Two Hessians of the empirical loss at trained weights, for K models at once (``W`` is ``(K, p)``,
``p = d + 1`` with a bias column, the attack never touching the constant 1):

* **Y-HESS** (noise held fixed): with the perturbed inputs :math:`\tilde x_n + \eta_n` frozen,
  :math:`H = \frac1N \sum_n s(z_n) s(-z_n) \tilde u_n \tilde u_n^\top = U^\top D U / N`,
  :math:`\tilde u_n = (x_n + \eta_n, 1)`, :math:`z_n = y_n w \cdot \tilde u_n`.
* **HESS-DEP** (the attack depends on w; exact robust loss without box, INNER-MAX):
  :math:`m_n = y_n w\cdot\tilde x_n - \varepsilon\lVert w_f\rVert_q`,
  :math:`v_n = y_n \tilde x_n - \varepsilon g`, :math:`g = \nabla\lVert w_f\rVert_q`
  (:math:`\hat w_f` for p = 2, :math:`\operatorname{sign}(w_f)` for p = inf; 0 on the bias), and
  :math:`H = \frac1N V^\top \operatorname{diag}(s(m)s(-m)) V
  + \overline{s(-m)}\,\frac{\varepsilon}{\lVert w_f\rVert}(P_f - \hat w_f \hat w_f^\top)`
  for p = 2 (:math:`P_f` the identity on the feature block), without the second term for p = inf
  (off the hyperplanes :math:`w_i = 0`).

The top eigenvalues (figure 3 of Yamada et al.) come from ``torch.linalg.eigvalsh`` on the dense
``p x p`` matrix (p = 785 is small). Filter normalisation makes :math:`\lVert d\rVert = \lVert w
\rVert`, so the curvature seen along a normalised direction is :math:`\lVert w\rVert^2 \lambda`
(:func:`normalized_sharpness`).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from scipy.sparse.linalg import LinearOperator, eigsh

from numerics.logistic import _split, augment, margins
from numerics.validate import check_finite, warn_if_low_precision
from theory.errors import ConfigError
from theory.validate import check_norm

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
    """Refuse NaN/Inf weights or inputs; warn when the closed form is not taken in float64."""
    check_finite(W, "the weights W")
    check_finite(X, "the inputs X")
    warn_if_low_precision(W.dtype, what)


def hessian_fixed_noise(
    W: torch.Tensor, Xk: torch.Tensor, y: torch.Tensor, weight_decay: float = 0.0
) -> torch.Tensor:
    """Y-HESS: Hessian of mean_n zeta(-y_n w_k.(x~_kn + eta_kn)) with the noise held fixed.

    H_k = (1/N) sum_n s(z_kn) s(-z_kn) u~_kn u~_kn^T (+ wd I for the weight-decay term).

    Args:
        W: weights ``(K, d)`` or ``(K, d + 1)`` (bias last). Xk: perturbed inputs, shared
            ``(N, d)`` or per model ``(K, N, d)`` (e.g. PGD examples at the trained weights).
        y: labels ``(N,)`` in ±1. weight_decay: wd of the penalty (wd/2)||w||^2.

    Returns:
        ``(K, p, p)`` Hessians.
    """
    _check_hessian_inputs(W, Xk, "hessian_fixed_noise (Y-HESS)")
    K, d = W.shape[0], Xk.shape[-1]
    bias = W.shape[1] == d + 1
    z = margins(W, Xk, y)
    a = torch.sigmoid(z) * torch.sigmoid(-z)
    out = []
    for k in range(K):
        U = augment(Xk if Xk.dim() == 2 else Xk[k], bias)
        out.append(_weighted_gram(U, a[k]))
    H = torch.stack(out)
    if weight_decay:
        H = H + weight_decay * torch.eye(W.shape[1], dtype=W.dtype, device=W.device)
    return H


def hessian_robust(
    W: torch.Tensor, X: torch.Tensor, y: torch.Tensor, eps: float | torch.Tensor, norm: str,
    weight_decay: float = 0.0,
) -> torch.Tensor:
    """HESS-DEP: Hessian of the exact robust loss mean_n zeta(-m_kn), the attack depending on w.

    p = 2: (1/N) V^T diag(s(m)s(-m)) V + mean_n s(-m_n) (eps/||w_f||)(P_f - w^ w^T);
    p = inf: (1/N) V^T diag(s(m)s(-m)) V (valid off the hyperplanes w_i = 0).

    Args:
        W: ``(K, p)``. X: clean inputs ``(N, d)``. y: ``(N,)``. eps: one budget or one per model.
        norm: ``"l2"`` or ``"linf"``. weight_decay: adds wd I.

    Returns:
        ``(K, p, p)`` Hessians.

    Raises:
        ConfigError: p = 2 at w_f = 0 (the robust loss is not differentiable there).
    """
    norm = check_norm(norm)
    _check_hessian_inputs(W, X, "hessian_robust (HESS-DEP)")
    K, d = W.shape[0], X.shape[1]
    w, _ = _split(W, d)
    bias = W.shape[1] == d + 1
    e = torch.as_tensor(eps, dtype=W.dtype, device=W.device).reshape(-1).expand(K)
    if norm == "l2":
        length = w.norm(dim=1)
        if (length == 0).any():
            raise ConfigError("the L2 robust loss has no Hessian at w_f = 0: use nonzero weights")
        g = w / length[:, None]
        qnorm = length
    else:
        g = w.sign()
        qnorm = w.abs().sum(dim=1)
    Xa = augment(X, bias)
    m = margins(W, X, y) - e[:, None] * qnorm[:, None]
    a = torch.sigmoid(m) * torch.sigmoid(-m)
    out = []
    for k in range(K):
        gk = torch.cat([g[k], g.new_zeros(1)]) if bias else g[k]
        V = y[:, None] * Xa - e[k] * gk
        H = _weighted_gram(V, a[k])
        if norm == "l2" and e[k] > 0:
            proj = torch.diag(torch.ones_like(gk) if not bias else
                              torch.cat([torch.ones_like(g[k]), g.new_zeros(1)]))
            proj = proj - torch.outer(gk, gk)
            H = H + torch.sigmoid(-m[k]).mean() * e[k] / length[k] * proj
        out.append(H)
    H = torch.stack(out)
    if weight_decay:
        H = H + weight_decay * torch.eye(W.shape[1], dtype=W.dtype, device=W.device)
    return H


def top_hessian_eigs(H: torch.Tensor | np.ndarray, k: int = 3) -> np.ndarray:
    """The k largest eigenvalues of each symmetric matrix, in descending order.

    Args:
        H: ``(p, p)`` or ``(K, p, p)`` symmetric matrices. k: how many (1 <= k <= p).

    Returns:
        ``(k,)`` or ``(K, k)`` float64 array, largest first (``torch.linalg.eigvalsh``, the
        LAPACK symmetric eigensolver; p = 785 is small enough for the full spectrum).
    """
    A = check_finite(torch.as_tensor(H).detach().cpu().to(torch.float64), "the Hessian")
    p = A.shape[-1]
    if not 1 <= k <= p:
        raise ConfigError(f"k must be between 1 and {p}, got {k}")
    # LAPACK syevd through torch (honours torch.set_num_threads; ascending order)
    vals = torch.linalg.eigvalsh(0.5 * (A + A.transpose(-1, -2)))[..., -k:].flip(-1).numpy()
    return vals


def normalized_sharpness(W: torch.Tensor, eigs: np.ndarray) -> np.ndarray:
    """Scale-normalised sharpness ||w_k||^2 lambda_k (curvature along a filter-normalised
    direction d, ||d|| = ||w||, Li et al. 2018), the whole weight vector (bias included).

    Args:
        W: ``(K, p)``. eigs: ``(K,)`` or ``(K, k)`` eigenvalues.
    """
    sq = (W.detach().cpu().double().norm(dim=1) ** 2).numpy()
    eigs = np.asarray(eigs)
    return eigs * (sq if eigs.ndim == 1 else sq[:, None])


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
    z = margins(w[None], Xk, y)[0]
    a = torch.sigmoid(z) * torch.sigmoid(-z) / Xk.shape[0]

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
    wf = w[:d]
    if norm == "l2":
        length = wf.norm()
        if length == 0:
            raise ConfigError("the L2 robust loss has no Hessian at w_f = 0: use nonzero weights")
        g, qn = wf / length, length
    else:
        g, qn = wf.sign(), wf.abs().sum()
    g_full = torch.cat([g, g.new_zeros(1)]) if bias else g
    m = margins(w[None], X, y)[0] - eps * qn
    a = torch.sigmoid(m) * torch.sigmoid(-m) / X.shape[0]
    c = float(torch.sigmoid(-m).mean() * eps / qn) if norm == "l2" and eps > 0 else 0.0
    mask = torch.ones_like(g_full)
    if bias:
        mask[-1] = 0.0

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


def top_operator_eigs(op: LinearOperator, k: int = 3, tol: float = 1e-10) -> np.ndarray:
    """The k largest eigenvalues of a symmetric operator (``scipy.sparse.linalg.eigsh``, Lanczos
    with implicit restarts, ``which="LA"``), largest first."""
    if not 1 <= k < op.shape[0]:
        raise ConfigError(f"k must be between 1 and {op.shape[0] - 1}, got {k}")
    vals = eigsh(op, k=k, which="LA", tol=tol, return_eigenvectors=False,
                 v0=np.ones(op.shape[0]))
    return np.sort(vals)[::-1]

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

The top eigenvalues (figure 3 of Yamada et al.) come from ``scipy.linalg.eigh`` on the dense
``p x p`` matrix (p = 785 is small). Filter normalisation makes :math:`\lVert d\rVert = \lVert w
\rVert`, so the curvature seen along a normalised direction is :math:`\lVert w\rVert^2 \lambda`
(:func:`normalized_sharpness`).
"""

from __future__ import annotations

import numpy as np
import scipy.linalg
import torch

from numerics.errors import ConfigError
from numerics.logistic import _split, augment, margins
from numerics.validate import check_norm

_ROWS = 4096  # rows of U held at once when accumulating U^T D U


def _weighted_gram(U: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
    """(1/N) U^T diag(a) U, accumulated over row chunks; U ``(N, p)``, a ``(N,)``."""
    N, p = U.shape
    out = torch.zeros((p, p), dtype=U.dtype, device=U.device)
    for start in range(0, N, _ROWS):
        u = U[start:start + _ROWS]
        out += (u * a[start:start + _ROWS, None]).T @ u
    return out / N


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
        ``(k,)`` or ``(K, k)`` float64 array, largest first (``scipy.linalg.eigh`` with
        ``subset_by_index``).
    """
    A = H.detach().cpu().numpy() if isinstance(H, torch.Tensor) else np.asarray(H)
    single = A.ndim == 2
    A = A[None] if single else A
    p = A.shape[-1]
    if not 1 <= k <= p:
        raise ConfigError(f"k must be between 1 and {p}, got {k}")
    vals = np.stack([
        scipy.linalg.eigh(0.5 * (a + a.T), eigvals_only=True, subset_by_index=[p - k, p - 1])[::-1]
        for a in A
    ])
    return vals[0] if single else vals


def normalized_sharpness(W: torch.Tensor, eigs: np.ndarray) -> np.ndarray:
    """Scale-normalised sharpness ||w_k||^2 lambda_k (curvature along a filter-normalised
    direction d, ||d|| = ||w||, Li et al. 2018), the whole weight vector (bias included).

    Args:
        W: ``(K, p)``. eigs: ``(K,)`` or ``(K, k)`` eigenvalues.
    """
    sq = (W.detach().cpu().double().norm(dim=1) ** 2).numpy()
    eigs = np.asarray(eigs)
    return eigs * (sq if eigs.ndim == 1 else sq[:, None])

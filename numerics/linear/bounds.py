"""Constants of the adversarial logistic loss on data: thresholds and bounds (L-BUDGET, K-SMOOTH).

The results of :mod:`theory.budget` and :mod:`theory.smoothness` evaluated on a data set
(float64, numpy or torch inputs):

* L-BUDGET: :func:`budget_threshold` eps*, the least budget at which w = 0 (with a bias: w_f = 0,
  b = b*) minimises the robust loss; :func:`best_bias_at_zero` b*; :func:`threshold_direction`
  u*, a descent direction below eps*; :func:`gradient_bound_constants` (A, B);
* K-SMOOTH: :func:`lipschitz_bound` K(r); :func:`linf_jump` the jump of the L-inf gradient across
  w_i = 0; :func:`segment_min_norm`, the closest point of a segment to w = 0.

The loss itself is :func:`numerics.ops.robust_loss`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from numerics.ops import check_labels, robust_margin
from theory.errors import ConfigError
from theory.validate import check_eps, check_norm, check_positive

__all__ = [
    "best_bias_at_zero",
    "budget_threshold",
    "gradient_bound_constants",
    "linf_jump",
    "lipschitz_bound",
    "segment_min_norm",
    "threshold_direction",
]


def _to_float64(a: Any) -> torch.Tensor:
    t = a if isinstance(a, torch.Tensor) else torch.as_tensor(np.asarray(a, dtype=np.float64))
    return t.to(torch.float64)


def _as_data(x: Any, y_: Any) -> tuple[torch.Tensor, torch.Tensor]:
    xt, yt = _to_float64(x), _to_float64(y_)
    xt = xt.reshape(xt.shape[0], -1) if xt.dim() > 1 else xt
    yt = yt.to(xt.dtype).to(xt.device)
    if xt.dim() != 2:
        raise ConfigError(
            f"x must have shape (N, d) (or (N, ...), flattened), got {tuple(xt.shape)}"
        )
    if yt.shape != (xt.shape[0],):
        raise ConfigError(f"y must have shape ({xt.shape[0]},) to match x, got {tuple(yt.shape)}")
    return xt, check_labels(yt)


def _dual(v: torch.Tensor, norm: str) -> torch.Tensor:
    """||v||_p for the threat model's own norm p (2 or inf)."""
    return v.norm(p=2) if norm == "l2" else v.abs().max()


def budget_threshold(x: Any, y: Any, norm: str = "l2", bias: bool = False) -> float:
    """L-BUDGET: the smallest eps for which w = 0 minimises the adversarial logistic loss.

    Without a bias: eps_0 = ||(1/N) sum_n y_n x_n||_p. With an (unperturbed) bias b, minimised
    at b* = log(N+/N-): eps_0 = ||sum_n a_n y_n x_n||_p / sum_n a_n with a_n = s(-y_n b*), which
    equals ||xbar_+ - xbar_-||_p / 2. p = 2 for ``norm="l2"``, p = inf for ``norm="linf"``.

    Args:
        x: inputs, (N, d) or (N, ...) (flattened), numpy or torch. With ``bias=True`` a constant
            column (the convention of :mod:`theory.adversarial_loss`) may be included or not: it
            does not change the threshold (its class means are equal).
        y: labels +-1, shape (N,).
        norm: ``"l2"`` or ``"linf"`` (the threat model).
        bias: whether the model has a bias term.

    Returns:
        eps_0 as a Python float (float64 arithmetic). For eps >= eps_0 adversarial training
        (exact inner maximum, no pixel box) has the trivial minimiser w = 0 (and b = b*).

    Raises:
        ConfigError: bad shapes or labels, or ``bias=True`` with a single class present.
    """
    norm = check_norm(norm)
    xt, yt = _as_data(x, y)
    if not bias:
        return float(_dual((yt.unsqueeze(1) * xt).mean(dim=0), norm))
    pos, neg = yt > 0, yt < 0
    if not (bool(pos.any()) and bool(neg.any())):
        raise ConfigError("bias=True needs both classes in y: with one class b* is infinite")
    n_pos, n_neg = int(pos.sum()), int(neg.sum())
    b_star = torch.tensor(np.log(n_pos / n_neg), dtype=xt.dtype)
    a = torch.sigmoid(-yt * b_star)
    weighted = (a * yt).unsqueeze(1).mul(xt).sum(dim=0) / a.sum()
    return float(_dual(weighted, norm))


def best_bias_at_zero(y: Any) -> float:
    """L-BUDGET: b* = log(N+/N-), the minimiser of (1/N) sum_n zeta(-y_n b) (w = 0)."""
    yt = _to_float64(y)
    n_pos, n_neg = int((yt > 0).sum()), int((yt < 0).sum())
    if n_pos == 0 or n_neg == 0:
        raise ConfigError("b* needs both classes in y: with one class it is infinite")
    return float(np.log(n_pos / n_neg))


def threshold_direction(x: Any, y: Any, norm: str = "l2", bias: bool = False) -> torch.Tensor:
    """L-BUDGET: the unit direction u* (||u*||_q = 1) with u*.mu = ||mu||_p.

    mu = mean_n y_n x_n, or with a bias (xbar_+ - xbar_-)/2. Below the threshold,
    L_eps(tau u*, b*) < L_eps(0, b*) for small tau > 0 (a descent direction at the trivial point).
    """
    norm = check_norm(norm)
    xt, yt = _as_data(x, y)
    if bias:
        mu = (xt[yt > 0].mean(dim=0) - xt[yt < 0].mean(dim=0)) / 2
    else:
        mu = (yt.unsqueeze(1) * xt).mean(dim=0)
    if norm == "l2":
        return mu / mu.norm()
    k = int(mu.abs().argmax())
    u = torch.zeros_like(mu)
    u[k] = torch.sign(mu[k])
    return u


def gradient_bound_constants(x: Any, eps_: float) -> tuple[float, float]:
    """L-BUDGET: (A, B) with ||grad L_eps(w1) - grad L_eps(w2)|| <= A ||w1 - w2|| + B eps (L2).

    A = (1/(4N)) sum_n (||x_n||_2 + eps)^2 and B = 2 (the proof is in :mod:`theory.budget`).
    """
    xt = _to_float64(x)
    eps_ = check_eps(eps_)
    xt = xt.reshape(xt.shape[0], -1)
    return float(((xt.norm(dim=1) + eps_) ** 2).mean() / 4), 2.0


def lipschitz_bound(x: Any, eps_: float, r: float) -> float:
    """K-SMOOTH: K(r) = (1/4) mean_n (||x_n|| + eps)^2 + eps/r (``theory.smoothness.LIPSCHITZ_K``
    averaged over the data).

    K(r) bounds ||grad L(w1) - grad L(w2)|| / ||w1 - w2|| for any two points of {||w|| >= r}.
    """
    xt = _to_float64(x).reshape(-1, _to_float64(x).shape[-1])
    return float(((xt.norm(dim=1) + check_eps(eps_)) ** 2).mean() / 4
                 + eps_ / check_positive(r, "r"))


def linf_jump(w0: torch.Tensor, x: torch.Tensor, y: torch.Tensor, eps_: float) -> torch.Tensor:
    """K-SMOOTH: 2 eps mean_n s(-m_n(w0)), the jump of grad_i across w_i = 0 (L-inf, w0_i = 0)."""
    m = robust_margin(w0, x, y, eps_, "linf")
    return 2 * eps_ * torch.sigmoid(-m).mean()


def segment_min_norm(w1: torch.Tensor, w2: torch.Tensor) -> torch.Tensor:
    """min over the segment [w1, w2] of ||w|| (batched over the leading dimension)."""
    d = w2 - w1
    tt = (-(w1 * d).sum(-1) / (d * d).sum(-1).clamp_min(1e-300)).clamp(0, 1)
    return (w1 + tt.unsqueeze(-1) * d).norm(dim=-1)

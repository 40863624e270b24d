r"""Training of linear logistic models, K at once: the one training loop of the linear family.

Model k minimises :math:`\frac1N \sum_n \zeta(-y_n w_k \cdot \tilde x_{adv,kn}) +
\frac{wd}{2} \lVert w_k \rVert^2` (the bias excluded from the penalty with ``decay_bias=False``)
by Adam or SGD, on minibatches or the full batch, with a constant or cosine-annealed learning
rate. The perturbation follows the :class:`~numerics.attacks.AttackSpec`:

* ``pgd`` / ``random``: recomputed (PGD) or drawn afresh (noise) at the current weights for every
  minibatch (:func:`numerics.linear.attack.perturb`), then the analytic gradient
  :math:`-\frac1N \sum_n s(-z_n)\, y_n \tilde x_{adv,n}` with the perturbation held fixed
  (:func:`loss_gradient`);
* ``exact`` without a box: the closed-form robust loss :math:`\zeta(-m)` (INNER-MAX) and its
  gradient :func:`numerics.ops.robust_gradient`, the attack's dependence on w included (Danskin:
  both readings give the same gradient); with a box, the exact worst case inside ball cap box
  (BOX-MAX) held fixed, as for ``pgd``;
* ``clean``: the plain logistic loss.

Every variation of the papers' experiments (the MNIST2 tables, the L-BUDGET runs around the
threshold, the L-FINDINGS escape runs) is a setting of :class:`TrainConfig`, the initial weights
or the selection rule of :func:`train_models`, never another loop.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.optimize
import torch

from numerics.attacks import AttackSpec
from numerics.linear.attack import _fused_loss_gradient, _perturb, budgets
from numerics.ops import margins, robust_loss_and_mean_gradient, zeta
from numerics.validate import check_count, check_data
from theory.adversarial_loss import ROBUST_LOSS_TORCH
from theory.errors import ConfigError, DivergenceError
from theory.validate import check_eps, check_positive

__all__ = ["TrainConfig", "TrainResult", "fit_linf_split", "loss_gradient", "train_models"]

LR_SCHEDULES = ("constant", "cosine")


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation settings shared by the K models trained together.

    Attributes:
        epochs: passes over the training set (with the full batch: optimisation steps).
        batch_size: minibatch size; 0 means full batch (no shuffling: every step sees the data
            in its order).
        optimizer: ``"adam"`` or ``"sgd"`` (with ``momentum``).
        lr: learning rate. momentum: SGD momentum. weight_decay: L2 penalty (wd/2)||w||^2 added
            to the loss (so the gradient gains wd w). decay_bias: whether the penalty includes
            the bias (False: features only, as in the L-BUDGET runs, whose threshold it leaves
            unchanged).
        lr_schedule: ``"constant"``, or ``"cosine"`` (annealed to 0 over all the steps of the
            run, torch's ``CosineAnnealingLR``, stepped after every optimiser step).
        bias: append the constant 1 to x (not perturbed by attacks).
        init_scale: initial weights N(0, init_scale^2), the same draw for every model (0: start
            at w = 0), unless :func:`train_models` is given initial weights.
        seed: seeds the initial weights and the data order (one stream) and PGD starts and noise
            (a second stream, seeded ``seed + 1`` unless ``noise_seed`` is given).
        noise_seed: the seed of the PGD-start and noise stream (None: ``seed + 1``).
        common_noise: each minibatch's PGD starts / noise are one draw shared by the K models,
            scaled by each model's eps (common random numbers across budgets): every model then
            sees exactly the draws it would see if trained alone with this seed. False: an
            independent draw per model (K times the random numbers).
    """

    epochs: int = 10
    batch_size: int = 128
    optimizer: str = "adam"
    lr: float = 1e-2
    momentum: float = 0.9
    weight_decay: float = 0.0
    bias: bool = True
    init_scale: float = 1e-3
    seed: int = 0
    common_noise: bool = True
    lr_schedule: str = "constant"
    decay_bias: bool = True
    noise_seed: int | None = None

    def __post_init__(self) -> None:
        check_count(self.epochs, "epochs", 1)
        check_count(self.batch_size, "batch_size (0 = full batch)", 0)
        if self.optimizer not in ("adam", "sgd"):
            raise ConfigError(f"unknown optimizer {self.optimizer!r}: use 'adam' or 'sgd'")
        if self.lr_schedule not in LR_SCHEDULES:
            raise ConfigError(f"unknown lr_schedule {self.lr_schedule!r}: use one of "
                              f"{LR_SCHEDULES}")
        check_positive(self.lr, "lr")
        check_eps(self.weight_decay, "weight_decay")
        check_eps(self.init_scale, "init_scale")


@dataclass
class TrainResult:
    """Trained weights of K models.

    Attributes:
        last: weights after the last epoch ``(K, p)``.
        best: weights at the epoch selected by ``select`` (the last epoch when there is none).
        best_epoch: the selected epoch of each model (1-based).
        history: per-epoch ``loss`` (mean training loss under the training attack, at the
            weights the epoch started from for the full batch) and ``select`` (the selection
            score, e.g. robust test accuracy), lists of K-lists.
    """

    last: torch.Tensor
    best: torch.Tensor
    best_epoch: list[int]
    history: dict[str, list[list[float]]] = field(default_factory=dict)


def loss_gradient(
    W: torch.Tensor, Xk: torch.Tensor, y: torch.Tensor, bias: bool
) -> tuple[torch.Tensor, torch.Tensor]:
    """Loss and gradient of mean_n zeta(-y w_k.x~_kn) for each model, analytic.

    grad_k = -(1/N) sum_n s(-z_kn) y_n x~_kn.

    Args:
        W: ``(K, p)``. Xk: per-model inputs ``(K, N, d)``. y: ``(N,)``. bias: W has a bias column.

    Returns:
        losses ``(K,)`` and gradients ``(K, p)``.
    """
    z = margins(W, Xk, y)
    coef = -torch.sigmoid(-z) * y / z.shape[1]
    grad = torch.einsum("kn,knd->kd", coef, Xk)
    if bias:
        grad = torch.cat([grad, coef.sum(dim=1, keepdim=True)], dim=1)
    return zeta(-z).mean(dim=1), grad


def _objective(
    W: torch.Tensor, xb: torch.Tensor, yb: torch.Tensor, e: torch.Tensor, attack: AttackSpec,
    config: TrainConfig, noise_gen: torch.Generator, fused: bool = False,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Training loss ``(K,)`` and gradient ``(K, p)`` of every model on one batch."""
    if attack.kind == "exact" and attack.box is None:
        eps = e if e.numel() > 1 else float(e)
        if fused:  # one blocked pass over the batch (numerics.linear.fused)
            from numerics.linear import fused as fused_loops

            loss, grad = fused_loops.robust_loss_and_mean_gradient(W, xb, yb, eps, attack.norm)
        else:
            loss, grad = robust_loss_and_mean_gradient(W, xb, yb, eps, attack.norm)
        loss = loss.mean(dim=1)
    else:
        summed = (_fused_loss_gradient(W, xb, yb, e, attack, noise_gen, config.common_noise)
                  if fused else None)
        if summed is None:
            xk = _perturb(W, xb, yb, e, attack, noise_gen, config.common_noise, fused=fused)
            summed = loss_gradient(W, xk, yb, config.bias)
        loss, grad = summed
    if config.weight_decay:
        decayed = W if config.decay_bias or not config.bias else torch.cat(
            [W[:, :-1], torch.zeros_like(W[:, -1:])], dim=1)
        grad = grad + config.weight_decay * decayed
    return loss, grad


def train_models(
    X: torch.Tensor, y: torch.Tensor, eps: float | torch.Tensor, attack: AttackSpec,
    config: TrainConfig, select: Callable[[torch.Tensor], torch.Tensor] | None = None,
    progress: Callable[[int], None] | None = None, init: torch.Tensor | None = None,
    fused_pgd: bool = False,
) -> TrainResult:
    """Train K linear logistic models at once, model k on data perturbed with budget eps_k.

    Minimises mean_n zeta(-y_n w_k.x~_adv,kn) + (wd/2)||w_k||^2 (module docstring).

    Args:
        X: training inputs ``(N, d)``. y: labels ``(N,)`` in ±1. eps: budget(s), one per model.
        attack: the training perturbation. config: :class:`TrainConfig`.
        select: maps weights ``(K, p)`` to a score ``(K,)`` evaluated after each epoch (e.g. robust
            test accuracy); the best epoch of each model is kept (the latest among ties,
            the better-trained one: one test point is 0.05% on MNIST2). None: last.
        progress: called with the epoch number after each epoch.
        init: initial weights ``(p,)`` (shared) or ``(K, p)``; None: ``init_scale`` N(0, 1).
        fused_pgd: the training step's compiled loops (:mod:`numerics.linear.fused`; the same
            numbers up to rounding, several times as fast a step on the CPU): a PGD attack as
            one loop per (model, example), its inputs summed into the loss and gradient as
            they are made (one PGD run: :func:`numerics.linear.attack._fused_loss_gradient`);
            the exact inner max's robust loss and gradient in one blocked pass over the batch.

    Returns:
        :class:`TrainResult`.

    Raises:
        ConfigError: labels other than +-1 (0/1 labels: y = 2 c - 1), ``X`` not a non-empty
            finite floating ``(N, d)`` tensor, ``y`` not one label per row, or initial weights
            of the wrong shape (all checked once, before the first step).
        DivergenceError: a non-finite loss or weight.
    """
    check_data(X, y, name="X (training inputs)", labels="pm1", ndim=2)
    N, d = X.shape
    K = torch.as_tensor(eps).reshape(-1).numel()
    e = budgets(eps, K, X).reshape(-1)
    # two streams: initial weights and data order (``gen``), perturbations (``noise_gen``), so
    # that the data order does not depend on how many random numbers the attack draws
    gen = torch.Generator(device=X.device).manual_seed(config.seed)
    noise_seed = config.seed + 1 if config.noise_seed is None else config.noise_seed
    noise_gen = torch.Generator(device=X.device).manual_seed(noise_seed)
    p = d + 1 if config.bias else d
    if init is None:
        W0 = config.init_scale * torch.randn((1, p), generator=gen, dtype=X.dtype,
                                             device=X.device)
    else:
        W0 = torch.as_tensor(init, dtype=X.dtype, device=X.device).reshape(-1, p)
        if W0.shape[0] not in (1, K):
            raise ConfigError(f"init must be (p,) or (K, p) = ({K}, {p}), got {tuple(init.shape)}")
    W = W0.expand(K, p).clone()
    param = torch.nn.Parameter(W)
    if config.optimizer == "adam":
        opt: torch.optim.Optimizer = torch.optim.Adam([param], lr=config.lr)
    else:
        opt = torch.optim.SGD([param], lr=config.lr, momentum=config.momentum)
    batch = N if config.batch_size == 0 else min(config.batch_size, N)
    sched = None
    if config.lr_schedule == "cosine":
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(
            opt, T_max=config.epochs * math.ceil(N / batch))
    best = param.detach().clone()
    best_score = torch.full((K,), -math.inf, dtype=X.dtype, device=X.device)
    best_epoch = [config.epochs] * K
    history: dict[str, list[list[float]]] = {"loss": [], "select": []}
    for epoch in range(1, config.epochs + 1):
        order = (torch.randperm(N, generator=gen, device=X.device) if config.batch_size
                 else torch.arange(N, device=X.device))
        total = torch.zeros(K, dtype=X.dtype, device=X.device)
        for start in range(0, N, batch):
            idx = order[start:start + batch]
            xb, yb = (X, y) if batch == N and not config.batch_size else (X[idx], y[idx])
            with torch.no_grad():
                loss, grad = _objective(param.detach(), xb, yb, e, attack, config, noise_gen,
                                        fused_pgd)
            param.grad = grad
            opt.step()
            if sched is not None:
                sched.step()
            total += loss * idx.numel()
        mean_loss = total / N
        if not torch.isfinite(mean_loss).all() or not torch.isfinite(param.detach()).all():
            raise DivergenceError(
                f"training diverged at epoch {epoch} (loss {mean_loss.tolist()}): lower lr"
            )
        history["loss"].append(mean_loss.tolist())
        if select is not None:
            with torch.no_grad():
                score = select(param.detach())
            history["select"].append(score.tolist())
            better = score >= best_score  # the latest epoch among equal best scores
            best_score = torch.where(better, score, best_score)
            best[better] = param.detach()[better]
            for k in torch.nonzero(better).flatten().tolist():
                best_epoch[k] = epoch
        if progress is not None:
            progress(epoch)
    last = param.detach().clone()
    if select is None:
        best = last.clone()
    return TrainResult(last=last, best=best, best_epoch=best_epoch, history=history)


def fit_linf_split(
    x: torch.Tensor, y: torch.Tensor, eps: float, weight_decay: float, bias: bool,
    max_iter: int,
) -> tuple[torch.Tensor, Any]:
    """L-BUDGET, K-SMOOTH: the exact minimiser of the p = inf robust loss of one linear model,
    through its smooth split form (scipy's L-BFGS-B; not a training loop: the reference solver).

    With w_f = u - v, u, v >= 0, the function mean_n zeta(-y_n (w_f.x_n + b) + eps sum(u + v))
    + (lambda/2)||u - v||^2 is smooth, and at its minimum u_i v_i = 0 so sum(u + v) = ||w_f||_1:
    its minimiser is that of L_eps + (lambda/2)||w_f||^2, and coordinates at the kink w_i = 0 are
    reached exactly (active bounds). The bias b (last coordinate of x when ``bias``) is free.

    Returns:
        (w of shape (d,), scipy's OptimizeResult).
    """
    feats = x[:, :-1] if bias else x
    d = feats.shape[1]

    def fun(z: np.ndarray) -> tuple[float, np.ndarray]:
        zt = torch.as_tensor(z, dtype=torch.float64).requires_grad_(True)
        u, v = zt[:d], zt[d:2 * d]
        b = zt[2 * d] if bias else 0.0
        wf = u - v
        # the robust loss with sum(u + v) in place of ||w_f||_1 (equal at the minimum)
        val = ROBUST_LOSS_TORCH(feats @ wf + b, (u + v).sum(), y, eps).mean() \
            + 0.5 * weight_decay * (wf @ wf)
        (g,) = torch.autograd.grad(val, zt)
        return float(val.detach()), g.numpy()

    n_var = 2 * d + (1 if bias else 0)
    bounds = [(0.0, None)] * (2 * d) + ([(None, None)] if bias else [])
    res = scipy.optimize.minimize(
        fun, np.zeros(n_var), jac=True, method="L-BFGS-B", bounds=bounds,
        options={"maxiter": max_iter, "maxfun": 4 * max_iter, "ftol": 1e-15, "gtol": 1e-12},
    )
    w = res.x[:d] - res.x[d:2 * d]
    if bias:
        w = np.concatenate([w, res.x[2 * d:]])
    return torch.as_tensor(w, dtype=torch.float64), res

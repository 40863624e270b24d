r"""Linear logistic models batched over K models: losses, exact robust loss, attacks, training.

K models share one data set; their weights are the rows of a ``(K, p)`` matrix ``W``, so one
matmul serves every model. With ``bias=True`` the last column is the bias: the input is augmented
as :math:`\tilde x = (x, 1)` and the attack perturbs the pixels only, never the constant 1.

Notation (SPEC.md): :math:`\zeta(t) = \log(1 + e^t)`, :math:`s(t) = 1/(1 + e^{-t})`, margin
:math:`z = y\, w \cdot \tilde x`, per-point loss :math:`\ell = \zeta(-z)`, and the robust margin
(INNER-MAX, no box) :math:`m = y\, w \cdot \tilde x - \varepsilon \lVert w_{pix} \rVert_q`.

For a linear model the input gradient of the loss is analytic,
:math:`\nabla_x \ell = -s(-z)\, y\, w_{pix}`, so its direction :math:`-y\, w_{pix}` does not depend
on the current iterate: PGD needs no autograd and no margin inside its loop. Under L-inf, with
``steps * step_size >= 2 eps`` (Madry's 2.5 eps / K per step gives 2.5 eps), every coordinate is
pushed to its bound whatever the start, so PGD ends exactly at the box-constrained maximiser
:math:`\operatorname{clip}_{[0,1]}(x - \varepsilon y\, \operatorname{sign}(w))`;
:func:`perturb` returns that limit directly (tests compare it with :func:`numerics.attacks.pgd`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch.nn.functional import softplus

from numerics.attacks import uniform_ball_noise
from numerics.validate import check_iterate_dtype
from theory.errors import ConfigError, DivergenceError
from theory.validate import check_eps, check_norm, check_positive

ATTACK_KINDS = ("clean", "pgd", "exact", "random")
_ELEMENT_BUDGET = 1 << 22  # elements of a (K, rows, d) perturbation block held at once (32 MiB)


@dataclass(frozen=True)
class AttackSpec:
    """How training or evaluation data are perturbed (the budget eps is given per model).

    Attributes:
        kind: ``"clean"`` (no perturbation), ``"pgd"`` (Madry et al.'s PGD with random start, ball
            then box projection), ``"exact"`` (the closed-form worst case without box, INNER-MAX)
            or ``"random"`` (uniform noise in the eps-ball, then clipped to the box).
        norm: ``"l2"`` or ``"linf"``.
        steps: PGD steps K.
        step_factor: PGD step size = ``step_factor * eps / steps`` (Madry et al.: 2.5).
        box: valid pixel range, or ``None``.
        random_start: PGD starts uniformly in the ball.
        iterate_dtype: ``"float32"`` runs the PGD iterations in float32 (L2, and L-inf when
            it is not the closed-form limit; about 3x faster on the CPU: a ``(K, 128, 784)``
            block then fits in cache, see ``benchmarks/mnist2_sweep.py``); the start is drawn
            and the final iterate is projected onto the ball and the box in the data's dtype,
            so the result is a valid perturbation in either case. ``None``: the data's dtype
            throughout.
    """

    kind: str = "clean"
    norm: str = "l2"
    steps: int = 10
    step_factor: float = 2.5
    box: tuple[float, float] | None = (0.0, 1.0)
    random_start: bool = True
    iterate_dtype: str | None = None

    def __post_init__(self) -> None:
        check_iterate_dtype(self.iterate_dtype)
        if self.kind not in ATTACK_KINDS:
            raise ConfigError(f"unknown attack kind {self.kind!r}: use one of {ATTACK_KINDS}")
        object.__setattr__(self, "norm", check_norm(self.norm))
        if self.kind == "pgd":
            if int(self.steps) < 1:
                raise ConfigError(f"PGD needs steps >= 1, got {self.steps}")
            check_positive(self.step_factor, "step_factor")

    def step_size(self, eps: float) -> float:
        """The PGD step alpha = step_factor * eps / steps."""
        return self.step_factor * eps / self.steps


def augment(x: torch.Tensor, bias: bool = True) -> torch.Tensor:
    """Append the constant 1 to each input (last dimension) when ``bias``: x~ = (x, 1)."""
    if not bias:
        return x
    return torch.cat([x, torch.ones((*x.shape[:-1], 1), dtype=x.dtype, device=x.device)], -1)


def _split(W: torch.Tensor, d: int) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Pixel weights ``(K, d)`` and bias ``(K,)`` (or None) of a weight matrix."""
    if W.dim() != 2 or W.shape[1] not in (d, d + 1):
        raise ConfigError(
            f"weights must be a (K, d) or (K, d + 1) matrix for inputs of dimension d = {d}, "
            f"got shape {tuple(W.shape)}"
        )
    return (W[:, :d], W[:, d]) if W.shape[1] == d + 1 else (W, None)


def scores(W: torch.Tensor, X: torch.Tensor) -> torch.Tensor:
    """Scores w_k . x~_n, ``(K, N)``; ``X`` is shared ``(N, d)`` or per model ``(K, N, d)``."""
    d = X.shape[-1]
    w, b = _split(W, d)
    out = X @ w.T if X.dim() == 2 else torch.einsum("knd,kd->kn", X, w)
    if X.dim() == 2:
        out = out.T
    return out + b[:, None] if b is not None else out


def margins(W: torch.Tensor, X: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Margins z_kn = y_n w_k . x~_n, shape ``(K, N)``."""
    return y * scores(W, X)


def dual_norm(w: torch.Tensor, norm: str) -> torch.Tensor:
    """||w||_q for the dual exponent q of the threat norm p (q = 2 for L2, q = 1 for L-inf)."""
    return w.norm(dim=-1) if check_norm(norm) == "l2" else w.abs().sum(dim=-1)


def robust_margin(
    W: torch.Tensor, X: torch.Tensor, y: torch.Tensor, eps: float | torch.Tensor, norm: str
) -> torch.Tensor:
    """Robust margin m = y w.x~ - eps ||w_pix||_q (INNER-MAX, no box), shape ``(K, N)``.

    ``eps`` is a scalar or one budget per model ``(K,)``.
    """
    w, _ = _split(W, X.shape[-1])
    eps_t = torch.as_tensor(eps, dtype=W.dtype, device=W.device).reshape(-1, 1)
    return margins(W, X, y) - eps_t * dual_norm(w, norm)[:, None]


def logistic_loss(W: torch.Tensor, X: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Empirical loss L(w_k) = mean_n zeta(-z_kn) of each model, shape ``(K,)``."""
    return softplus(-margins(W, X, y)).mean(dim=1)


def robust_loss(
    W: torch.Tensor, X: torch.Tensor, y: torch.Tensor, eps: float | torch.Tensor, norm: str
) -> torch.Tensor:
    """Exact adversarial loss without box, mean_n zeta(-m_kn) (INNER-MAX), shape ``(K,)``."""
    return softplus(-robust_margin(W, X, y, eps, norm)).mean(dim=1)


def _eps_column(eps: float | torch.Tensor, K: int, like: torch.Tensor) -> torch.Tensor:
    """Budgets as a ``(K, 1, 1)`` tensor (validated)."""
    e = torch.as_tensor(eps, dtype=like.dtype, device=like.device).reshape(-1)
    if e.numel() == 1:
        e = e.expand(K)
    if e.numel() != K:
        raise ConfigError(f"got {e.numel()} budgets for {K} models: give one eps or one per model")
    if not torch.isfinite(e).all() or (e < 0).any():
        raise ConfigError(f"budgets must be finite and >= 0, got {e.tolist()}")
    return e.reshape(K, 1, 1)


def _ascent_direction(w: torch.Tensor, y: torch.Tensor, norm: str) -> torch.Tensor:
    """Normalised ascent direction of zeta(-y w.x) in x, ``(K, N, d)`` as a broadcast view.

    L2: -y w/||w||_2 (0 where w = 0, like PGD's grad/||grad||); L-inf: -y sign(w).
    """
    if norm == "l2":
        length = w.norm(dim=1, keepdim=True)
        unit = torch.where(length > 0, w / length.clamp_min(torch.finfo(w.dtype).tiny), 0.0)
    else:
        unit = w.sign()
    return -y[None, :, None] * unit[:, None, :]


def _project_(delta: torch.Tensor, eps: torch.Tensor, norm: str,
              bounds: tuple[torch.Tensor, torch.Tensor] | None) -> torch.Tensor:
    """In place: onto the eps-ball of each (model, sample), as in :mod:`numerics.attacks`, then
    into the box ``bounds = (lo, hi)`` of delta (None: no box)."""
    if norm == "linf":
        torch.clamp(delta, -eps, eps, out=delta)
    else:
        length = torch.linalg.vector_norm(delta, dim=-1, keepdim=True)
        tiny = torch.finfo(delta.dtype).tiny
        delta.mul_(torch.where(length > eps, eps / length.clamp_min(tiny), 1.0))
    if bounds is not None:
        torch.clamp(delta, *bounds, out=delta)
    return delta


def _unit_noise(shape: tuple[int, ...], norm: str, generator: torch.Generator | None,
                like: torch.Tensor) -> torch.Tensor:
    """Uniform noise in the unit ball, one draw per (model, sample); scale by eps afterwards."""
    K, n, d = shape
    noise = uniform_ball_noise((K * n, d), 1.0, norm, generator=generator, dtype=like.dtype,
                               device=like.device)
    return noise.reshape(K, n, d)


def perturb(
    W: torch.Tensor, X: torch.Tensor, y: torch.Tensor, eps: float | torch.Tensor,
    attack: AttackSpec, generator: torch.Generator | None = None, common_noise: bool = False,
) -> torch.Tensor:
    """Perturbed inputs x_adv for every model, shape ``(K, N, d)`` (pixels only, no bias column).

    * ``pgd``: Madry et al.'s PGD, x^{t+1} = Proj(x^t + alpha dir), dir = -y w/||w||_2 (L2) or
      -y sign(w) (L-inf), the normalised input gradient of zeta(-y w.x) (exact wherever
      s(-z) > 0, i.e. z < 745 in float64); Proj = ball, then box. L-inf with
      ``steps * alpha >= 2 eps`` returns the limit clip_box(x - eps y sign(w)) (see module doc).
    * ``exact``: x - eps y w/||w||_2 or x - eps y sign(w), the maximiser without box (INNER-MAX).
    * ``random``: x + uniform noise in the eps-ball, clipped to the box (independent of w).
    * ``clean``: x itself, expanded.

    Args:
        W: weights ``(K, d)`` or ``(K, d + 1)``. X: inputs ``(N, d)``. y: labels ``(N,)`` in ±1.
        eps: one budget or one per model. attack: the :class:`AttackSpec`.
        generator: random source for PGD starts and noise.
        common_noise: one draw of the PGD start / noise shared by all K models (common random
            numbers, e.g. for the points of a landscape); else an independent draw per model.

    Returns:
        ``(K, N, d)`` perturbed inputs.
    """
    K, (N, d) = W.shape[0], X.shape
    w, _ = _split(W, d)
    e = _eps_column(eps, K, X)
    x = X[None]
    if attack.kind == "clean":
        return x.expand(K, N, d)
    draws = 1 if common_noise else K
    if attack.kind == "random":
        noisy = (_unit_noise((draws, N, d), attack.norm, generator, X) * e).add_(x)
        return noisy if attack.box is None else noisy.clamp_(*attack.box)
    if attack.kind == "pgd" and not (attack.norm == "linf" and attack.step_factor >= 2.0):
        start = _unit_noise((draws, N, d), attack.norm, generator, X) if attack.random_start \
            else None
        active = e.reshape(-1) > 0
        if bool(active.all()):
            return _pgd_l2_linf(x, e, w, y, attack, start)
        out = x.expand(K, N, d).clone()  # a zero budget leaves x where it is
        if bool(active.any()):
            if start is not None and draws > 1:
                start = start[active]
            out[active] = _pgd_l2_linf(x, e[active], w[active], y, attack, start)
        return out
    adversarial = (_ascent_direction(w, y, attack.norm) * e).add_(x)
    if attack.kind == "pgd" and attack.box is not None:  # the L-inf PGD limit, clipped
        adversarial.clamp_(*attack.box)
    return adversarial


def _pgd_l2_linf(
    x: torch.Tensor, e: torch.Tensor, w: torch.Tensor, y: torch.Tensor, attack: AttackSpec,
    start: torch.Tensor | None,
) -> torch.Tensor:
    """PGD on a ``(K, N, d)`` perturbation, in place: add the step, project onto the ball, clamp
    to the box; returns the perturbed inputs x + delta.

    ``start``: unit-ball draws ``(1 or K, N, d)`` (None: start at 0), scaled by eps.
    With ``attack.iterate_dtype`` the start (drawn in ``x.dtype``), the direction and the
    iterations are in that dtype, and the last iterate is projected onto the ball and the box
    in ``x.dtype``. (In-place updates: on the CPU a fresh ``(K, N, d)`` block costs more in page
    faults than the arithmetic on it.)
    """
    work = getattr(torch, attack.iterate_dtype) if attack.iterate_dtype else x.dtype
    xw, ew = x.to(work), e.to(work)
    step = _ascent_direction(w.to(work), y.to(work), attack.norm).mul_(
        attack.step_factor * ew / attack.steps)
    K, N, d = step.shape
    if start is not None:
        delta = start.to(work) * ew
    else:
        delta = torch.zeros((K, N, d), dtype=work, device=x.device)
    def bounds(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor] | None:
        return None if attack.box is None else (attack.box[0] - x, attack.box[1] - x)

    box = bounds(xw)
    _project_(delta, ew, attack.norm, box)
    for _ in range(attack.steps):
        _project_(delta.add_(step), ew, attack.norm, box)
    if work != x.dtype:  # back in the data's dtype, in the ball and the box exactly
        delta = _project_(delta.to(x.dtype), e, attack.norm, bounds(x))
    return delta.add_(x)


def _row_chunks(K: int, N: int, d: int) -> int:
    return max(1, min(N, _ELEMENT_BUDGET // max(1, K * d)))


def attacked_margins(
    W: torch.Tensor, X: torch.Tensor, y: torch.Tensor, eps: float | torch.Tensor,
    attack: AttackSpec, generator: torch.Generator | None = None, common_noise: bool = False,
) -> torch.Tensor:
    """Margins y w.x~_adv under ``attack``, shape ``(K, N)``, computed in memory-bounded chunks.

    For ``exact`` this is the robust margin m in closed form (no (K, N, d) tensor is formed).
    """
    K, (N, d) = W.shape[0], X.shape
    if attack.kind == "clean":
        return margins(W, X, y)
    if attack.kind == "exact":
        return robust_margin(W, X, y, _eps_column(eps, K, X).reshape(-1), attack.norm)
    rows = _row_chunks(K, N, d)
    out = []
    for start in range(0, N, rows):
        sl = slice(start, start + rows)
        xa = perturb(W, X[sl], y[sl], eps, attack, generator, common_noise)
        out.append(margins(W, xa, y[sl]))
    return torch.cat(out, dim=1)


def adversarial_loss(
    W: torch.Tensor, X: torch.Tensor, y: torch.Tensor, eps: float | torch.Tensor,
    attack: AttackSpec, generator: torch.Generator | None = None, common_noise: bool = False,
) -> torch.Tensor:
    """Training loss of each model under its attack, mean_n zeta(-y w.x~_adv), shape ``(K,)``."""
    z = attacked_margins(W, X, y, eps, attack, generator, common_noise)
    return softplus(-z).mean(dim=1)


def accuracy(
    W: torch.Tensor, X: torch.Tensor, y: torch.Tensor, eps: float | torch.Tensor = 0.0,
    attack: AttackSpec | None = None, generator: torch.Generator | None = None,
    common_noise: bool = False,
) -> torch.Tensor:
    """Accuracy in percent of each model (a margin of exactly 0 counts as an error), ``(K,)``.

    Clean accuracy when ``attack`` is None or clean; robust accuracy under ``attack`` otherwise
    (``common_noise``: one draw of PGD starts shared by the K models, see :func:`perturb`).
    """
    attack = attack or AttackSpec("clean")
    z = attacked_margins(W, X, y, eps, attack, generator, common_noise)
    return 100.0 * (z > 0).to(W.dtype).mean(dim=1)


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation settings shared by the K models trained together.

    Attributes:
        epochs: passes over the training set.
        batch_size: minibatch size; 0 means full batch.
        optimizer: ``"adam"`` or ``"sgd"`` (with ``momentum``).
        lr: learning rate. momentum: SGD momentum. weight_decay: L2 penalty (wd/2)||w||^2 added
            to the loss (so the gradient gains wd w), bias included.
        bias: append the constant 1 to x (not perturbed by attacks).
        init_scale: initial weights N(0, init_scale^2), the same draw for every model.
        seed: seeds the initial weights and the data order (one stream) and PGD starts and noise
            (a second stream, seeded ``seed + 1``).
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

    def __post_init__(self) -> None:
        if self.epochs < 1:
            raise ConfigError(f"epochs must be >= 1, got {self.epochs}")
        if self.batch_size < 0:
            raise ConfigError(f"batch_size must be >= 0 (0 = full batch), got {self.batch_size}")
        if self.optimizer not in ("adam", "sgd"):
            raise ConfigError(f"unknown optimizer {self.optimizer!r}: use 'adam' or 'sgd'")
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
        history: per-epoch ``loss`` (mean training loss under the training attack) and
            ``select`` (the selection score, e.g. robust test accuracy), lists of K-lists.
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
    return softplus(-z).mean(dim=1), grad


def train_models(
    X: torch.Tensor, y: torch.Tensor, eps: float | torch.Tensor, attack: AttackSpec,
    config: TrainConfig, select: Callable[[torch.Tensor], torch.Tensor] | None = None,
    progress: Callable[[int], None] | None = None,
) -> TrainResult:
    """Train K linear logistic models at once, model k on data perturbed with budget eps_k.

    Minimises mean_n zeta(-y_n w_k.x~_adv,kn) + (wd/2)||w_k||^2 by minibatch Adam or SGD, the
    perturbation recomputed at the current weights for every minibatch (adversarial training),
    or drawn afresh (random-noise training). The gradient is analytic (:func:`loss_gradient`).

    Args:
        X: training inputs ``(N, d)``. y: labels ``(N,)`` in ±1. eps: budget(s), one per model.
        attack: the training perturbation. config: :class:`TrainConfig`.
        select: maps weights ``(K, p)`` to a score ``(K,)`` evaluated after each epoch (e.g. robust
            test accuracy); the best epoch of each model is kept (the latest among ties,
            the better-trained one: one test point is 0.05% on MNIST2). None: last.
        progress: called with the epoch number after each epoch.

    Returns:
        :class:`TrainResult`.
    """
    N, d = X.shape
    K = torch.as_tensor(eps).reshape(-1).numel()
    e = _eps_column(eps, K, X).reshape(-1)
    # two streams: initial weights and data order (``gen``), perturbations (``noise_gen``), so
    # that the data order does not depend on how many random numbers the attack draws
    gen = torch.Generator(device=X.device).manual_seed(config.seed)
    noise_gen = torch.Generator(device=X.device).manual_seed(config.seed + 1)
    p = d + 1 if config.bias else d
    W0 = config.init_scale * torch.randn((1, p), generator=gen, dtype=X.dtype, device=X.device)
    W = W0.repeat(K, 1).requires_grad_(False)
    param = torch.nn.Parameter(W)
    if config.optimizer == "adam":
        opt: torch.optim.Optimizer = torch.optim.Adam([param], lr=config.lr)
    else:
        opt = torch.optim.SGD([param], lr=config.lr, momentum=config.momentum)
    batch = N if config.batch_size == 0 else min(config.batch_size, N)
    best = param.detach().clone()
    best_score = torch.full((K,), -math.inf, dtype=X.dtype, device=X.device)
    best_epoch = [config.epochs] * K
    history: dict[str, list[list[float]]] = {"loss": [], "select": []}
    for epoch in range(1, config.epochs + 1):
        order = torch.randperm(N, generator=gen, device=X.device)
        total = torch.zeros(K, dtype=X.dtype, device=X.device)
        for start in range(0, N, batch):
            idx = order[start:start + batch]
            xb, yb = X[idx], y[idx]
            with torch.no_grad():
                xk = perturb(param.detach(), xb, yb, e, attack, noise_gen, config.common_noise)
                loss, grad = loss_gradient(param.detach(), xk, yb, config.bias)
                if config.weight_decay:
                    grad = grad + config.weight_decay * param.detach()
            param.grad = grad
            opt.step()
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

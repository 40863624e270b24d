r"""PGD adversarial training of networks (Madry et al. 2018): the one training loop of the family.

Each step solves the inner maximisation approximately with PGD
(:func:`numerics.nets.attack.adversarial_examples`) and takes an SGD step on the adversarial loss,

.. math:: \theta \leftarrow \theta - \eta_t \nabla_\theta \frac{1}{|B|} \sum_{n \in B}
          CE(f(\theta; x_n + \delta_n^*), y_n), \quad
          \delta_n^* \approx \arg\max_{\|\delta\|_\infty \le \epsilon}
          CE(f(\theta; x_n + \delta), y_n),

with momentum and weight decay (``eps = 0`` is standard training). :func:`fit` is the loop: the
budget, the PGD step and the learning rate come from a schedule evaluated at every step (training
time t in epochs), so the fixed settings of a config (:func:`train_adversarial`), Liu et al.'s
periodic schedule and the fixed-budget baseline (:mod:`numerics.nets.schedules`,
:func:`train_with_schedule`) are arguments of the same code. Presets record the settings of
Madry et al. (CIFAR-10, :func:`madry_cifar10`) and Wu et al. 2020 (SVHN, :func:`wu_svhn`) as used by
Yamada et al. Section 5.2 (tables 5-6); every value is in :class:`AdvTrainConfig` and so in the
results record.

Two code paths, one algorithm. The **reference path** (default) runs eager, in the config's dtype
(float64 on the CPU for verification, float32 on a GPU). The **fast path** (``fast=True``, meant for
CUDA) runs the forward passes under bfloat16 autocast, stores activations channels-last, can
``torch.compile`` the model, keeps the whole data set on the device, and runs the attack with the
weights' ``requires_grad`` switched off, so PGD builds no graph for weight gradients.

A checkpoint is written after every epoch (:func:`numerics.results.save_checkpoint`): weights,
optimizer state, history and the states of the random generators (shuffling, augmentation, attack
starts). Running the same call again resumes after the last finished epoch; on the CPU the result
is bit-identical to an uninterrupted run. A NaN or Inf loss stops the run with
:class:`theory.errors.DivergenceError` naming the step and the checkpoint.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn
from tqdm import tqdm

from numerics.attacks import AttackSpec
from numerics.nets.attack import adversarial_examples
from numerics.nets.models import build_model
from numerics.nets.schedules import Schedule, ScheduleValues
from numerics.results import read_checkpoint, save_checkpoint
from numerics.validate import check_device, check_step_size
from theory.errors import ConfigError, DivergenceError
from theory.validate import check_eps, check_norm, check_positive

__all__ = [
    "AdvTrainConfig",
    "FitResult",
    "TrainOutcome",
    "evaluate",
    "fit",
    "lr_at_epoch",
    "madry_cifar10",
    "train_adversarial",
    "train_with_schedule",
    "wu_svhn",
]

_DTYPES = {"float64": torch.float64, "float32": torch.float32}
_SCHEDULES = ("piecewise", "constant", "cosine")


@dataclass(frozen=True)
class AdvTrainConfig:
    """Everything that defines an adversarial training run (recorded in its results).

    Attributes:
        model: ``resnet18``, ``preactresnet18``, ``smallcnn`` or ``mlp`` (numerics.models).
        width: first-stage width of the ResNets (64 in the paper). in_channels, num_classes,
            image_size: shape of the data.
        eps, norm: the threat model (L-inf budgets as k/255). train_steps, step_size: PGD during
            training. eval_steps, eval_step_size: PGD at evaluation (PGD-20).
        random_start: training PGD starts uniformly in the ball. train_projection: its step's
            projection (``"ball_then_box"``, Madry et al.'s, or ``"exact"``, BOX-PROJ).
            eval_starts, eval_projection: evaluation runs one PGD per start and counts an example
            as robust only if it survives all (the strongest per example); default ``("none",
            "radius")`` with the exact projection, the strongest measured in
            ``benchmarks/attack_strength.py``. attack_bn_mode: BatchNorm mode while the attack
            runs during training (``"train"``, as in Madry's and Rice et al.'s code, or
            ``"eval"``). Evaluation always uses eval mode.
        epochs, batch_size, lr, momentum, weight_decay: SGD. lr_schedule: ``piecewise`` (x0.1 at
            50% and 75% of the epochs, Madry et al.), ``constant`` or ``cosine``.
        augment: random crop (4-pixel zero padding) and horizontal flip, CIFAR-style.
        seed: all randomness (initialisation, shuffling, augmentation, attack starts).
        device, dtype: where and in what precision the reference path runs.
        fast: bf16 autocast + channels-last + attack without weight gradients (dtype float32).
        compile: ``torch.compile`` the model (fast path, CUDA). preset: the settings' origin.
    """

    model: str = "resnet18"
    width: int = 64
    in_channels: int = 3
    num_classes: int = 10
    image_size: int = 32
    eps: float = 8 / 255
    norm: str = "linf"
    train_steps: int = 10
    step_size: float = 2 / 255
    eval_steps: int = 20
    eval_step_size: float = 2 / 255
    random_start: bool = True
    train_projection: str = "ball_then_box"
    eval_starts: tuple[str, ...] = ("none", "radius")
    eval_projection: str = "exact"
    attack_bn_mode: str = "train"
    epochs: int = 100
    batch_size: int = 128
    lr: float = 0.1
    momentum: float = 0.9
    weight_decay: float = 5e-4
    lr_schedule: str = "piecewise"
    augment: bool = False
    seed: int = 0
    device: str = "cpu"
    dtype: str = "float64"
    fast: bool = False
    compile: bool = False
    preset: str = "custom"
    notes: tuple[str, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        check_eps(self.eps)
        object.__setattr__(self, "norm", check_norm(self.norm))
        for name in ("train_steps", "eval_steps"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be >= 1 (PGD steps), got {getattr(self, name)}")
        for name in ("epochs", "batch_size", "width"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be >= 1, got {getattr(self, name)}")
        check_positive(self.lr, "lr")
        check_eps(self.momentum, "momentum")
        check_eps(self.weight_decay, "weight_decay")
        if self.eps > 0:
            check_step_size(self.step_size, self.eps, "step_size")
            check_step_size(self.eval_step_size, self.eps, "eval_step_size")
        self.eval_attacks()  # validates the starts and projections
        self.train_attack()
        if self.lr_schedule not in _SCHEDULES:
            raise ConfigError(f"unknown lr_schedule {self.lr_schedule!r}: use one of {_SCHEDULES}")
        if self.attack_bn_mode not in ("train", "eval"):
            raise ConfigError(f"attack_bn_mode must be 'train' or 'eval', got "
                              f"{self.attack_bn_mode!r}")
        if self.dtype not in _DTYPES:
            raise ConfigError(f"unknown dtype {self.dtype!r}: use one of {sorted(_DTYPES)}")
        if self.fast and self.dtype != "float32":
            raise ConfigError("the fast path (bf16 autocast) needs dtype='float32'; use the "
                              "reference path (fast=False) for float64 verification")

    def to_dict(self) -> dict[str, Any]:
        """The config as a plain dict (for results and checkpoints)."""
        return dataclasses.asdict(self)

    def train_attack(self) -> AttackSpec:
        """The PGD of training: ``train_steps`` steps of ``step_size``."""
        return AttackSpec("pgd", self.norm, self.train_steps, step_size=self.step_size,
                          start="ball" if self.random_start else "none",
                          projection=self.train_projection)

    def eval_attacks(self) -> tuple[AttackSpec, ...]:
        """The PGDs of evaluation, one per start: ``eval_steps`` steps of ``eval_step_size``
        (robust means surviving all of them)."""
        if not self.eval_starts:
            raise ConfigError("eval_starts must name at least one PGD start")
        return tuple(AttackSpec("pgd", self.norm, self.eval_steps, step_size=self.eval_step_size,
                                start=start, projection=self.eval_projection)
                     for start in self.eval_starts)


def madry_cifar10(eps_255: float = 8.0, **overrides: Any) -> AdvTrainConfig:
    """Madry et al. 2018's CIFAR-10 settings, as Yamada et al. Section 5.2 uses them.

    ResNet18 (CIFAR variant), L-inf eps = ``eps_255``/255, PGD with random start, step 2/255,
    10 steps in training (Madry used 7 at eps 8/255; 10 x 2/255 covers eps up to 16/255 from the
    centre), PGD-20 at evaluation, SGD lr 0.1 momentum 0.9 weight decay 5e-4, x0.1 at 50% and 75%
    of 100 epochs, batch 128, random crop and flip.
    """
    base = dict(model="resnet18", in_channels=3, num_classes=10, image_size=32,
                eps=eps_255 / 255, norm="linf", train_steps=10, step_size=2 / 255,
                eval_steps=20, eval_step_size=2 / 255, epochs=100, batch_size=128, lr=0.1,
                momentum=0.9, weight_decay=5e-4, lr_schedule="piecewise", augment=True,
                preset="madry_cifar10",
                notes=("Madry et al. 2018 CIFAR-10 settings; 10 PGD steps instead of 7 so that "
                       "eps up to 16/255 is reachable with step 2/255",))
    base.update(overrides)
    return AdvTrainConfig(**base)


def wu_svhn(eps_255: float = 8.0, **overrides: Any) -> AdvTrainConfig:
    """Wu et al. 2020's SVHN settings (adversarial weight perturbation paper, its AT baseline).

    ResNet18, L-inf eps = ``eps_255``/255, PGD-10 with step 1/255 in training (2/255 when eps >
    10/255, so that the budget is reachable), PGD-20 at evaluation, SGD lr 0.01 momentum 0.9
    weight decay 5e-4, x0.1 at 50% and 75% of the epochs, batch 128, no augmentation.
    """
    step = 1 / 255 if eps_255 <= 10 else 2 / 255
    base = dict(model="resnet18", in_channels=3, num_classes=10, image_size=32,
                eps=eps_255 / 255, norm="linf", train_steps=10, step_size=step,
                eval_steps=20, eval_step_size=step, epochs=100, batch_size=128, lr=0.01,
                momentum=0.9, weight_decay=5e-4, lr_schedule="piecewise", augment=False,
                preset="wu_svhn",
                notes=("Wu et al. 2020 SVHN settings (lr 0.01, step 1/255)",))
    base.update(overrides)
    return AdvTrainConfig(**base)


def lr_at_epoch(config: AdvTrainConfig, epoch: int) -> float:
    """The learning rate of epoch ``epoch`` (0-based) under ``config.lr_schedule``.

    piecewise: lr for epochs < E/2, lr/10 for epochs < 3E/4, lr/100 after; cosine:
    lr (1 + cos(pi e / E)) / 2; constant: lr.
    """
    e_total = config.epochs
    if config.lr_schedule == "constant":
        return config.lr
    if config.lr_schedule == "cosine":
        return config.lr * 0.5 * (1 + math.cos(math.pi * epoch / e_total))
    if epoch < e_total // 2:
        return config.lr
    if epoch < (3 * e_total) // 4:
        return config.lr * 0.1
    return config.lr * 0.01


def evaluate(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, eps: float,
    attack: AttackSpec | Sequence[AttackSpec], *, batch_size: int | None = 256, seed: int = 0,
    generator: torch.Generator | None = None, fast: bool = False,
) -> dict[str, float]:
    r"""Clean and robust accuracy and loss of ``model`` on ``(x, y)`` under ``attack``, BN in eval.

    With several attacks an example is robust only if it is classified correctly under each,
    and its robust loss is the largest of their cross-entropies (the strongest per example).

    Args:
        eps, attack: the evaluation attack(s) (e.g. :meth:`AdvTrainConfig.eval_attacks`).
        batch_size: images attacked at once (None: all). seed: seeds the attack's generator,
            unless ``generator`` (e.g. the training run's own stream) is given.
        fast: bf16 autocast (the fast path).

    Returns:
        ``{"clean_acc", "robust_acc", "clean_loss", "robust_loss"}``; accuracies in [0, 1],
        losses the mean cross-entropy. With ``eps = 0`` the robust values equal the clean ones.
    """
    if x.shape[0] != y.shape[0] or x.shape[0] == 0:
        raise ConfigError(f"x has {x.shape[0]} samples and y {y.shape[0]}: pass matching data")
    was_training = model.training
    model.eval()
    gen = generator if generator is not None else torch.Generator(
        device=x.device).manual_seed(seed)
    size = batch_size or x.shape[0]
    totals = dict.fromkeys(("clean_acc", "robust_acc", "clean_loss", "robust_loss"), 0.0)
    attacks = [attack] if isinstance(attack, AttackSpec) else list(attack)
    try:
        for s in range(0, x.shape[0], size):
            xb, yb = x[s:s + size], y[s:s + size]
            with torch.no_grad(), _autocast(fast, x.device):
                logits = model(xb).float() if fast else model(xb)
                totals["clean_loss"] += float(nn.functional.cross_entropy(logits, yb,
                                                                          reduction="sum"))
                totals["clean_acc"] += float((logits.argmax(1) == yb).sum())
            robust = torch.ones_like(yb, dtype=torch.bool)
            worst = torch.full(yb.shape, -torch.inf, device=x.device)
            for spec in attacks:
                xa = adversarial_examples(model, xb, yb, eps, spec, generator=gen,
                                          bn_mode="eval", fast=fast)
                with torch.no_grad(), _autocast(fast, x.device):
                    logits = model(xa).float() if fast else model(xa)
                    ce = nn.functional.cross_entropy(logits, yb, reduction="none")
                    worst = torch.maximum(worst, ce.to(worst.dtype))
                    robust &= logits.argmax(1) == yb
            totals["robust_loss"] += float(worst.sum())
            totals["robust_acc"] += float(robust.sum())
    finally:
        model.train(was_training)
    return {k: v / x.shape[0] for k, v in totals.items()}


def _autocast(fast: bool, device: torch.device) -> Any:
    """bf16 autocast on the fast path, nothing otherwise."""
    if fast:
        return torch.autocast(device_type=device.type, dtype=torch.bfloat16)
    return nullcontext()


def _augment(x: torch.Tensor, gen: torch.Generator, pad: int = 4) -> torch.Tensor:
    """Random crop with zero padding ``pad`` and random horizontal flip, per sample."""
    n, _, h, w = x.shape
    # the draw's dtype is the data's, never torch's global default (same config, same bits)
    flip = torch.rand(n, generator=gen, device=x.device, dtype=x.dtype) < 0.5
    x = torch.where(flip.view(n, 1, 1, 1), x.flip(3), x)
    shifts = torch.randint(0, 2 * pad + 1, (n, 2), generator=gen, device=x.device)
    xp = nn.functional.pad(x, (pad, pad, pad, pad))
    rows = shifts[:, 0:1] + torch.arange(h, device=x.device)  # (n, h)
    cols = shifts[:, 1:2] + torch.arange(w, device=x.device)  # (n, w)
    idx = torch.arange(n, device=x.device).view(n, 1, 1)
    out = xp.permute(0, 2, 3, 1)[idx, rows.view(n, h, 1), cols.view(n, 1, w)]  # (n, h, w, c)
    return out.permute(0, 3, 1, 2).contiguous(memory_format=torch.preserve_format)


@dataclass
class TrainOutcome:
    """What :func:`train_adversarial` returns: the trained model and the per-epoch history."""

    model: nn.Module
    history: list[dict[str, float]]
    config: AdvTrainConfig
    resumed_from_epoch: int | None = None
    finished: bool = True


def _build(config: AdvTrainConfig, device: torch.device) -> nn.Module:
    dtype = _DTYPES[config.dtype]
    kwargs: dict[str, Any] = dict(num_classes=config.num_classes, dtype=dtype, device=device)
    if config.model in ("resnet18", "preactresnet18"):
        kwargs.update(in_channels=config.in_channels, width=config.width)
    elif config.model == "smallcnn":
        kwargs.update(in_channels=config.in_channels, image_size=config.image_size)
    elif config.model == "mlp":
        kwargs.update(in_features=config.in_channels * config.image_size ** 2)
    return build_model(config.model, **kwargs)


def train_adversarial(
    config: AdvTrainConfig, x: torch.Tensor, y: torch.Tensor, *,
    checkpoint: str | Path | None = None, progress: bool = True,
    stop_after_epochs: int | None = None, accept_stale: bool = False,
) -> TrainOutcome:
    r"""Adversarially train a network from scratch (or resume) on ``(x, y)``.

    Args:
        config: the run's settings (:class:`AdvTrainConfig`).
        x, y: training images ``(N, C, H, W)`` in [0, 1] and integer labels; moved once to
            ``config.device`` and the config's dtype (the data stay on the device).
        checkpoint: path of the checkpoint file, written after every epoch; if it exists and was
            written with the same config, training resumes after its last epoch.
        progress: show a tqdm bar over the steps of each epoch.
        stop_after_epochs: stop (as if interrupted) once this many epochs are done in total.
        accept_stale: resume from a checkpoint written by other code (sources or library
            versions changed: :func:`numerics.results.code_version`) instead of refusing it.

    Returns:
        :class:`TrainOutcome` with the model (in eval mode) and, per epoch, the learning rate
        and the mean adversarial training loss and accuracy seen during the epoch.

    Raises:
        DivergenceError: the loss became NaN or Inf (the message names epoch, step, checkpoint).
        ConfigError: bad config, or a checkpoint written with a different config.
        StaleCheckpointError: a checkpoint written by other code, and not ``accept_stale``.
    """
    device = check_device(config.device)
    dtype = _DTYPES[config.dtype]
    if x.dim() != 4 or x.shape[0] != y.shape[0] or x.shape[0] == 0:
        raise ConfigError(f"need images (N, C, H, W) and N labels, got {tuple(x.shape)} and "
                          f"{tuple(y.shape)}")
    if x.shape[1] != config.in_channels:
        raise ConfigError(f"the data have {x.shape[1]} channels but config.in_channels = "
                          f"{config.in_channels}: set in_channels={x.shape[1]}")
    memory_format = torch.channels_last if config.fast else torch.contiguous_format
    x = x.to(device=device, dtype=dtype).contiguous(memory_format=memory_format)
    y = y.to(device=device, dtype=torch.long)

    torch.manual_seed(config.seed)  # the initialisation
    model = _build(config, device).to(memory_format=memory_format)
    optimizer = torch.optim.SGD(model.parameters(), lr=config.lr, momentum=config.momentum,
                                weight_decay=config.weight_decay)
    shuffle_gen = torch.Generator(device="cpu").manual_seed(config.seed + 1)
    data_gen = torch.Generator(device=device).manual_seed(config.seed + 2)
    history: list[dict[str, float]] = []
    start_epoch = 0
    resumed = None
    ckpt_path = Path(checkpoint) if checkpoint is not None else None
    stale = ""  # what changed since the epochs resumed were computed (carried by every save)
    if ckpt_path is not None:
        saved = read_checkpoint(ckpt_path)
        if saved is not None:
            state = saved.state
            if state.get("config") != config.to_dict():
                raise ConfigError(
                    f"checkpoint {ckpt_path} was written with a different config: delete it "
                    "(CLI: --fresh) or choose another checkpoint path"
                )
            saved.require_current(accept_stale)
            stale = saved.history
            model.load_state_dict(state["model"])
            optimizer.load_state_dict(state["optimizer"])
            shuffle_gen.set_state(state["shuffle_rng"])
            data_gen.set_state(state["data_rng"])
            history = list(state["history"])
            start_epoch = resumed = int(state["epoch"]) + 1
    last_epoch = config.epochs if stop_after_epochs is None else min(config.epochs,
                                                                     stop_after_epochs)

    def save(epoch: int, history: list[dict[str, float]]) -> None:
        if ckpt_path is not None:
            save_checkpoint(ckpt_path, {
                "config": config.to_dict(), "epoch": epoch, "model": model.state_dict(),
                "optimizer": optimizer.state_dict(), "history": history,
                "shuffle_rng": shuffle_gen.get_state(), "data_rng": data_gen.get_state(),
            }, stale=stale)

    def values(t: float) -> ScheduleValues:
        return ScheduleValues(config.eps, config.step_size, lr_at_epoch(config, int(t)))

    result = fit(
        model, x, y, values, epochs=config.epochs, batch_size=config.batch_size,
        optimizer=optimizer, attack=config.train_attack(), shuffle_gen=shuffle_gen,
        attack_gen=data_gen, augment_gen=data_gen if config.augment else None,
        bn_mode=config.attack_bn_mode, fast=config.fast,
        forward=torch.compile(model) if config.compile else model,
        memory_format=memory_format, start_epoch=start_epoch, stop_epoch=last_epoch,
        history=history, on_epoch=save, checkpoint=ckpt_path, progress=progress,
    )
    model.eval()
    return TrainOutcome(model=model, history=result.history, config=config,
                        resumed_from_epoch=resumed, finished=last_epoch == config.epochs)


@dataclass
class FitResult:
    """What :func:`fit` returns: per-epoch records and the loss of every optimiser step."""

    history: list[dict[str, float]]
    step_losses: list[float]


def fit(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor,
    schedule: Callable[[float], ScheduleValues], *, epochs: float, batch_size: int,
    optimizer: torch.optim.Optimizer, attack: AttackSpec, shuffle_gen: torch.Generator,
    attack_gen: torch.Generator, augment_gen: torch.Generator | None = None,
    bn_mode: str = "eval", fast: bool = False, forward: nn.Module | None = None,
    memory_format: torch.memory_format = torch.contiguous_format, start_epoch: int = 0,
    stop_epoch: int | None = None, history: list[dict[str, float]] | None = None,
    on_epoch: Callable[[int, list[dict[str, float]]], None] | None = None,
    checkpoint: Path | None = None, progress: bool = False, desc: str = "epoch",
) -> FitResult:
    r"""The training loop: SGD steps on the adversarial loss, eps/alpha/lr from ``schedule``.

    At step b of epoch e (time t = e + b / steps_per_epoch, capped at ``epochs``) the schedule
    gives (eps, alpha, lr); the minibatch (a permutation drawn from ``shuffle_gen`` each epoch;
    random crop and flip from ``augment_gen`` when given) is attacked with ``attack`` at budget
    eps and step alpha (:func:`numerics.nets.attack.adversarial_examples`, starts from
    ``attack_gen``, BatchNorm in ``bn_mode``), then the model (train mode) takes one step of
    ``optimizer`` on the mean cross-entropy. Generators may be one and the same.

    Args:
        epochs: length of training in epochs (a real number for a schedule; ceil(epochs) epochs
            run). start_epoch, stop_epoch: run epochs [start_epoch, stop_epoch) (resuming).
        history: per-epoch records so far (resuming); extended with ``epoch``, ``lr``,
            ``train_adv_loss`` and ``train_adv_acc``. on_epoch: called with the 0-based epoch
            and the history after each epoch (e.g. to checkpoint).
        forward: the module to call (e.g. ``torch.compile(model)``; default the model).
        checkpoint: named in the message of a divergence (where to resume from).

    Raises:
        DivergenceError: a non-finite loss (the step, the last finite loss, the checkpoint) or
            non-finite weights after an epoch (never checkpointed).
    """
    forward = model if forward is None else forward
    history = list(history or [])
    n = x.shape[0]
    per_epoch = math.ceil(n / batch_size)
    total_epochs = math.ceil(epochs)
    stop = total_epochs if stop_epoch is None else stop_epoch
    step_losses: list[float] = []
    last_loss = history[-1]["train_adv_loss"] if history else None  # last finite loss seen
    for epoch in range(start_epoch, stop):
        perm = torch.randperm(n, generator=shuffle_gen).to(x.device)
        loss_sum = correct = 0.0
        lr = schedule(min(float(epoch), epochs)).lr
        bar = tqdm(range(per_epoch), desc=f"{desc} {epoch + 1}/{total_epochs}",
                   disable=not progress, leave=False)
        for step in bar:
            v = schedule(min(epoch + step / per_epoch, epochs))
            for group in optimizer.param_groups:
                group["lr"] = v.lr
            idx = perm[step * batch_size:(step + 1) * batch_size]
            xb, yb = x[idx], y[idx]
            if augment_gen is not None:
                xb = _augment(xb, augment_gen).contiguous(memory_format=memory_format)
            if v.eps > 0 and v.step_size != attack.step_size:  # the schedule's step
                spec = dataclasses.replace(attack, step_size=v.step_size)
            else:
                spec = attack
            xa = adversarial_examples(forward, xb, yb, v.eps, spec, generator=attack_gen,
                                      bn_mode=bn_mode, fast=fast)
            model.train()
            with _autocast(fast, x.device):
                logits = forward(xa)
            loss = nn.functional.cross_entropy(logits.float() if fast else logits, yb)
            if not torch.isfinite(loss):
                where = (f"last checkpoint {checkpoint} (after epoch {epoch})"
                         if checkpoint is not None and epoch > 0 else "no checkpoint yet")
                raise DivergenceError(
                    f"loss is {float(loss.detach())} at epoch {epoch + 1}, step {step + 1} "
                    f"(global step {epoch * per_epoch + step + 1}); last finite loss "
                    f"{last_loss}; {where}. Lower the "
                    "learning rate (or check the data for NaN/Inf) and run again"
                )
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            last_loss = float(loss.detach())
            step_losses.append(last_loss)
            loss_sum += last_loss * yb.shape[0]
            correct += float((logits.detach().argmax(1) == yb).sum())
            bar.set_postfix(loss=f"{loss_sum / min(n, (step + 1) * batch_size):.4f}")
        if not all(bool(torch.isfinite(p).all()) for p in model.parameters()):
            where = (f"last checkpoint {checkpoint} (after epoch {epoch})"
                     if checkpoint is not None and epoch > 0 else "no checkpoint yet")
            raise DivergenceError(
                f"weights became NaN/Inf in epoch {epoch + 1} (last finite loss {last_loss}); "
                f"not checkpointed; {where}. Lower the learning rate and run again")
        history.append({"epoch": epoch + 1, "lr": lr, "train_adv_loss": loss_sum / n,
                        "train_adv_acc": correct / n})
        if on_epoch is not None:
            on_epoch(epoch, history)
    return FitResult(history=history, step_losses=step_losses)


def train_with_schedule(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, schedule: Schedule, *,
    batch_size: int, pgd_steps: int, norm: str, momentum: float, gen: torch.Generator,
    progress: bool = False, desc: str = "train",
) -> list[float]:
    """Adversarial training of ``model`` with eps, alpha and lr from a schedule (Liu et al.'s PAS
    or a fixed budget, :mod:`numerics.nets.schedules`), by SGD with momentum.

    One generator ``gen`` draws the batch order and the PGD starts (PGD in the [0, 1] box, random
    start, BatchNorm in eval mode during the attack).

    Returns:
        the adversarial training loss of every optimiser step.

    Raises:
        DivergenceError: a non-finite loss (the caller decides what a diverged run means).
    """
    optimizer = torch.optim.SGD(model.parameters(), lr=schedule.lr(0.0), momentum=momentum)
    attack = AttackSpec("pgd", norm, pgd_steps, step_size=None)
    return fit(model, x, y, schedule, epochs=schedule.epochs, batch_size=batch_size,
               optimizer=optimizer, attack=attack, shuffle_gen=gen, attack_gen=gen,
               bn_mode="eval", progress=progress, desc=desc).step_losses

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
:func:`train_with_schedule`) are arguments of the same code. The config, its presets (Madry et
al.'s CIFAR-10 and Wu et al.'s SVHN settings) and its learning-rate schedule are in
:mod:`numerics.nets.train_config` (re-exported here).

Two code paths, one algorithm. The **reference path** (default) runs eager, in the config's dtype
(float64 on the CPU for verification, float32 on a GPU). The **fast path** (``fast=True``, meant for
CUDA) runs the forward passes under bfloat16 autocast, stores activations channels-last, can
``torch.compile`` the model, keeps the whole data set on the device, and runs the attack with the
weights' ``requires_grad`` switched off, so PGD builds no graph for weight gradients.

The training's state is handed to the caller after every epoch (``save``: weights, optimizer
state, history and the states of the random generators: shuffling, augmentation, attack starts)
and asked for at the start (``load``); where it is kept is the caller's business (the ResNet
sweep keeps it in checkpoint files: :func:`numerics.experiments.resnet.checkpoint_callables`).
Resuming from the last state saved continues after its epoch; on the CPU the result is
bit-identical to an uninterrupted run. A NaN or Inf loss stops the run with
:class:`theory.errors.DivergenceError` naming the step and the checkpoint.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn
from tqdm import tqdm

from numerics.attacks import AttackSpec
from numerics.nets.attack import adversarial_examples
from numerics.nets.models import build_model
from numerics.nets.schedules import Schedule, ScheduleValues
from numerics.nets.train_config import _DTYPES, AdvTrainConfig, lr_at_epoch, madry_cifar10, wu_svhn
from numerics.validate import check_device
from theory.errors import ConfigError, DivergenceError

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
    return out.permute(0, 3, 1, 2).contiguous()  # NCHW; the caller sets its memory format


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
    elif config.model == "madrycnn":
        kwargs.update(in_channels=config.in_channels, image_size=config.image_size,
                      width=config.width)
    elif config.model == "mlp":
        kwargs.update(in_features=config.in_channels * config.image_size ** 2)
    return build_model(config.model, **kwargs)


def train_adversarial(
    config: AdvTrainConfig, x: torch.Tensor, y: torch.Tensor, *,
    save: Callable[[dict[str, Any]], None] | None = None,
    load: Callable[[], dict[str, Any] | None] | None = None,
    checkpoint_name: str | Path | None = None, progress: bool = True,
    stop_after_epochs: int | None = None,
) -> TrainOutcome:
    r"""Adversarially train a network from scratch (or resume) on ``(x, y)``.

    Args:
        config: the run's settings (:class:`AdvTrainConfig`).
        x, y: training images ``(N, C, H, W)`` in [0, 1] and integer labels; moved once to
            ``config.device`` and the config's dtype (the data stay on the device).
        save: called after every epoch with the training's state (``{"config", "epoch",
            "model", "optimizer", "history", "shuffle_rng", "data_rng"}``: tensors and plain
            values), e.g. to write a checkpoint.
        load: called once before training: the state last saved (training resumes after its
            epoch; it must have been written with the same config), or None to start afresh.
            Refusing a state (a stale checkpoint, a damaged file) is its business: what it
            raises propagates.
        checkpoint_name: where ``save`` keeps the state (e.g. the checkpoint file), named in the
            messages of a divergence and of a state written with another config.
        progress: show a tqdm bar over the steps of each epoch.
        stop_after_epochs: stop (as if interrupted) once this many epochs are done in total.

    Returns:
        :class:`TrainOutcome` with the model (in eval mode) and, per epoch, the learning rate
        and the mean adversarial training loss and accuracy seen during the epoch.

    Raises:
        DivergenceError: the loss became NaN or Inf (the message names epoch, step, checkpoint).
        ConfigError: bad config, or a state loaded that was written with a different config.
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
    name = None if checkpoint_name is None else str(checkpoint_name)
    state = load() if load is not None else None
    if state is not None:
        if state.get("config") != config.to_dict():
            raise ConfigError(
                f"checkpoint {name or '(loaded)'} was written with a different config: delete "
                "it (CLI: --fresh) or choose another checkpoint path"
            )
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        shuffle_gen.set_state(state["shuffle_rng"])
        data_gen.set_state(state["data_rng"])
        history = list(state["history"])
        start_epoch = resumed = int(state["epoch"]) + 1
    last_epoch = config.epochs if stop_after_epochs is None else min(config.epochs,
                                                                     stop_after_epochs)

    def on_epoch(epoch: int, history: list[dict[str, float]]) -> None:
        if save is not None:
            save({"config": config.to_dict(), "epoch": epoch, "model": model.state_dict(),
                  "optimizer": optimizer.state_dict(), "history": history,
                  "shuffle_rng": shuffle_gen.get_state(), "data_rng": data_gen.get_state()})

    def values(t: float) -> ScheduleValues:
        return ScheduleValues(config.eps, config.step_size, lr_at_epoch(config, int(t)))

    result = fit(
        model, x, y, values, epochs=config.epochs, batch_size=config.batch_size,
        optimizer=optimizer, attack=config.train_attack(), shuffle_gen=shuffle_gen,
        attack_gen=data_gen, augment_gen=data_gen if config.augment else None,
        bn_mode=config.attack_bn_mode, fast=config.fast,
        forward=torch.compile(model) if config.compile else model,
        memory_format=memory_format, start_epoch=start_epoch, stop_epoch=last_epoch,
        history=history, on_epoch=on_epoch,
        checkpoint=None if save is None else name or "(saved by save)", progress=progress,
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
    checkpoint: str | Path | None = None, progress: bool = False, desc: str = "epoch",
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

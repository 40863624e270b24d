"""The settings of an adversarial training run: :class:`AdvTrainConfig`, its presets and its
learning-rate schedule.

Presets record the settings of Madry et al. (CIFAR-10, :func:`madry_cifar10`) and Wu et al. 2020
(SVHN, :func:`wu_svhn`) as used by Yamada et al. Section 5.2 (tables 5-6); every value is in
:class:`AdvTrainConfig` and so in the results record. The loops that run a config are in
:mod:`numerics.nets.train`.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

import torch

from numerics.attacks import AttackSpec
from numerics.validate import check_count, check_seed, check_step_size
from theory.errors import ConfigError
from theory.validate import check_eps, check_norm, check_positive

__all__ = ["AdvTrainConfig", "lr_at_epoch", "madry_cifar10", "wu_svhn"]

_DTYPES = {"float64": torch.float64, "float32": torch.float32}
_SCHEDULES = ("piecewise", "constant", "cosine")


@dataclass(frozen=True)
class AdvTrainConfig:
    """Everything that defines an adversarial training run (recorded in its results).

    Attributes:
        model: ``resnet18``, ``preactresnet18``, ``smallcnn``, ``madrycnn`` or ``mlp``
            (numerics.models).
        width: first-stage width of the ResNets (64 in the paper), the first convolution's
            filters of ``madrycnn`` (32 in Madry et al.). in_channels, num_classes,
            image_size: shape of the data.
        eps, norm: the threat model (L-inf budgets as k/255). train_steps, step_size: PGD during
            training. eval_steps, eval_step_size: PGD at evaluation (PGD-20).
        random_start: training PGD starts uniformly in the ball. train_projection: its step's
            projection (``"ball_then_box"``, Madry et al.'s, or ``"exact"``, BOX-PROJ).
            eval_starts, eval_projection: evaluation runs one PGD per start and counts an example
            as robust only if it survives all (the worst case per example, so the evaluation is
            at least as strong as each start alone); default ``("none", "radius", "ball")``, every
            start of :data:`numerics.attacks.STARTS`, with the exact projection. The ball start
            is the one that matters on adversarially trained nets: from the clean point or a
            start near it (``radius``) their gradient is often masked (an adversarially trained
            MNIST CNN at L-inf 0.3: 11.8% robust under ``("none", "radius")``, 4.6% with the
            ball start, 2.2% under APGD-CE; :mod:`numerics.nets.autoattack` gives the latter).
            attack_bn_mode: BatchNorm mode while the attack runs during training (``"train"``,
            as in Madry's and Rice et al.'s code, or ``"eval"``). Evaluation always uses eval
            mode.
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
    eval_starts: tuple[str, ...] = ("none", "radius", "ball")
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
            check_count(getattr(self, name), name, 1)
        check_seed(self.seed)
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

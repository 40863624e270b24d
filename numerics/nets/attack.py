r"""Attacks on networks at the model level: PGD adversarial examples of a classifier.

:func:`pgd` (``pgd(model, x, y, spec)``, the budget in the spec) and :func:`adversarial_examples`
(the budget beside it, as the training loop varies it) run :func:`numerics.attacks.pgd_on_loss`
on the per-sample cross-entropy :math:`\mathrm{CE}(f(\theta; x_n + \delta_n), y_n)` of a
``torch.nn`` classifier, following an :class:`~numerics.attacks.AttackSpec` (``"pgd"``:
projected ascent; ``"random"``: uniform noise in the ball; ``"clean"``: none). BatchNorm's mode
during the attack is a setting (``bn_mode``); the model's mode is restored afterwards.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, nullcontext

import torch
from torch import nn

from numerics.attacks import AttackSpec, _pgd_on_loss, random_noise
from numerics.nets.models import MLP
from numerics.validate import check_data
from theory.errors import ConfigError

__all__ = ["adversarial_examples", "frozen_weights", "pgd", "robust_accuracy",
           "strongest_examples"]


@contextmanager
def frozen_weights(model: nn.Module) -> Iterator[None]:
    """Switch off ``requires_grad`` of the weights (the attack needs input gradients only)."""
    flags = [(p, p.requires_grad) for p in model.parameters()]
    for p, _ in flags:
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p, flag in flags:
            p.requires_grad_(flag)


def adversarial_examples(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, eps: float, attack: AttackSpec, *,
    generator: torch.Generator | None = None, bn_mode: str = "eval", fast: bool = False,
) -> torch.Tensor:
    r"""Adversarial examples ``x + δ*`` against ``model`` under ``attack`` at budget ``eps``.

    Args:
        model: the classifier (logits). x, y: inputs (first dimension the samples), labels.
        eps: the budget (0: ``x`` itself). attack: the recipe; ``"pgd"`` with
            ``attack.alpha(eps)`` per step, ``attack.box``, ``attack.start``,
            ``attack.projection`` and ``attack.restarts``.
        generator: random source of the PGD start / the noise.
        bn_mode: BatchNorm's mode during the attack, ``"eval"`` (running statistics) or
            ``"train"`` (batch statistics, as in Madry's and Rice et al.'s training code).
        fast: forward passes under bf16 autocast with the weights' gradients switched off.

    The training loop calls this once per batch, so the data are not checked here (one pass per
    batch); :func:`pgd` and :func:`numerics.attacks.pgd_on_loss` check them.
    """
    if attack.kind == "exact":
        raise ConfigError("the exact worst case is a linear model's: attack networks with 'pgd'")
    if eps == 0 or attack.kind == "clean":
        return x.detach().clone()
    if attack.kind == "random":
        return random_noise(x.detach(), eps, attack.norm, box=attack.box, generator=generator)
    was_training = model.training
    model.train(bn_mode == "train")
    ctx = torch.autocast(device_type=x.device.type, dtype=torch.bfloat16) if fast else nullcontext()

    def per_sample_loss(z: torch.Tensor) -> torch.Tensor:
        with ctx:
            logits = model(z)
        return nn.functional.cross_entropy(logits.float() if fast else logits, y,
                                           reduction="none")

    # an MLP's input gradient in closed form: a third of autograd's operator calls, which
    # dominate a small network's step on the CPU (benchmarks/mlp_pgd.py)
    closed = isinstance(model, MLP) and not fast
    try:
        with frozen_weights(model) if fast else nullcontext():
            return _pgd_on_loss(per_sample_loss, x, eps, attack.norm, attack.steps,
                                attack.alpha(eps), box=attack.box, start=attack.start,
                                projection=attack.projection, restarts=attack.restarts,
                                generator=generator,
                                grad_fn=(lambda z: model.loss_input_gradient(z, y))
                                if closed else None)
    finally:
        model.train(was_training)


def pgd(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, spec: AttackSpec, *,
    generator: torch.Generator | None = None, bn_mode: str = "eval",
) -> torch.Tensor:
    """Adversarial examples of ``model`` at the budget ``spec.eps``: ``x_adv`` with
    ``||x_adv - x||_p <= eps`` in ``spec.box``, by the spec's PGD (or noise, or ``x`` itself).

    ``spec.kind`` defaults to ``"clean"``: pass ``AttackSpec("pgd", norm, steps, eps=...)``.
    The step is ``spec.alpha(eps)`` (relative to eps unless ``step_size`` is set).
    """
    if spec.eps is None:
        raise ConfigError("pgd(model, x, y, spec) takes the budget from the spec: "
                          "AttackSpec('pgd', norm, steps, eps=...)")
    check_data(x, y, name="x (PGD inputs)", labels="classes", classes=_classes(model, x))
    return adversarial_examples(model, x, y, spec.eps, spec, generator=generator,
                                bn_mode=bn_mode)


def _classes(model: nn.Module, x: torch.Tensor) -> int | None:
    """The number of classes ``model`` scores (its last ``nn.Linear``'s outputs; None when it
    has none), after checking that ``x`` is on a device that exists and on the model's."""
    from numerics.validate import check_device

    check_device(x.device)
    devices = {p.device for p in model.parameters()}
    if devices and devices != {x.device}:
        raise ConfigError(f"x is on {x.device} and the model on "
                          f"{', '.join(sorted(map(str, devices)))}: move one to the other")
    linear = [m for m in model.modules() if isinstance(m, nn.Linear)]
    return linear[-1].out_features if linear else None


def robust_accuracy(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, specs: AttackSpec | list[AttackSpec],
    *, generator: torch.Generator | None = None, batch_size: int = 500,
) -> float:
    """Accuracy (a fraction) of ``model`` when every example meets the strongest of ``specs``:
    an example counts only if it is classified correctly under each attack (the worst case over
    the configured variants, per example). BatchNorm in eval mode."""
    specs = [specs] if isinstance(specs, AttackSpec) else list(specs)
    if not specs:
        raise ConfigError("robust_accuracy needs at least one AttackSpec")
    correct = torch.ones(x.shape[0], dtype=torch.bool, device=x.device)
    was_training = model.training
    model.eval()
    try:
        for s0 in range(0, x.shape[0], batch_size):
            xb, yb = x[s0:s0 + batch_size], y[s0:s0 + batch_size]
            for spec in specs:
                xa = pgd(model, xb, yb, spec, generator=generator)
                with torch.no_grad():
                    correct[s0:s0 + batch_size] &= model(xa).argmax(1) == yb
    finally:
        model.train(was_training)
    return float(correct.double().mean())


def strongest_examples(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, eps: float,
    attacks: AttackSpec | list[AttackSpec] | tuple[AttackSpec, ...], *,
    generator: torch.Generator | None = None, bn_mode: str = "eval",
) -> torch.Tensor:
    """Per example, the adversarial example of largest cross-entropy among ``attacks`` (each
    run at budget ``eps``; BatchNorm in ``bn_mode`` for the attack, eval mode for the loss)."""
    attacks = [attacks] if isinstance(attacks, AttackSpec) else list(attacks)
    if not attacks:
        raise ConfigError("strongest_examples needs at least one AttackSpec")
    best, best_loss = None, None
    was_training = model.training
    try:
        for spec in attacks:
            xa = adversarial_examples(model, x, y, eps, spec, generator=generator,
                                      bn_mode=bn_mode)
            model.eval()
            with torch.no_grad():
                loss = nn.functional.cross_entropy(model(xa), y, reduction="none")
            if best is None:
                best, best_loss = xa, loss
            else:
                better = (loss > best_loss).reshape(-1, *([1] * (x.dim() - 1)))
                best = torch.where(better, xa, best)
                best_loss = torch.maximum(loss, best_loss)
    finally:
        model.train(was_training)
    return best

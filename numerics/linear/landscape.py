r"""Filter-normalised 1-D weight-loss landscapes of linear logistic models (Li et al. 2018).

For weights w and a Gaussian direction rescaled to :math:`\lVert d\rVert = \lVert w\rVert` (one
"filter" is the whole weight vector of a logistic model, bias included), the landscape is
:math:`a \mapsto L(w + a d)` on a grid of a in [-1, 1]. For adversarially trained models L is the
adversarial loss, the attack re-computed at every point (each perturbed weight vector is one more
row of the weight matrix, so one batched call evaluates the whole curve); for random-noise models it
is the loss on one fixed noise draw (the noise does not depend on w).
"""

from __future__ import annotations

import torch

from numerics.attacks import AttackSpec
from numerics.linear.attack import adversarial_loss, perturb
from theory.errors import ConfigError

__all__ = ["filter_normalized_direction", "landscape_1d"]


def filter_normalized_direction(
    w: torch.Tensor, generator: torch.Generator | None = None
) -> torch.Tensor:
    """A Gaussian direction d rescaled so that ||d||_2 = ||w||_2 (whole vector), shape of ``w``.

    Args:
        w: weights ``(p,)`` or one row per model ``(K, p)`` (each row normalised on its own).
        generator: random source.
    """
    d = torch.randn(w.shape, generator=generator, dtype=w.dtype, device=w.device)
    return d * (w.norm(dim=-1, keepdim=True) / d.norm(dim=-1, keepdim=True))


def landscape_1d(
    w: torch.Tensor, direction: torch.Tensor, X: torch.Tensor, y: torch.Tensor, eps: float,
    attack: AttackSpec, alphas: torch.Tensor, seed: int = 0, *, fused: bool = False,
) -> torch.Tensor:
    """L(w + a d) for every a in ``alphas``, the loss under ``attack`` re-computed at each point.

    Args:
        w: weights ``(p,)``. direction: ``(p,)`` (e.g. :func:`filter_normalized_direction`).
        X, y: data on which the loss is evaluated. eps: the model's budget.
        attack: ``pgd``/``exact`` (adversarial loss, re-attacked at each point), ``random``
            (the same noise draw for every point: seeded identically per point) or ``clean``.
        alphas: ``(A,)`` grid. seed: seeds PGD starts / the noise draw.
        fused: PGD as one compiled loop per example (:func:`numerics.linear.attack.perturb`).

    Returns:
        ``(A,)`` losses.
    """
    if w.dim() != 1 or direction.shape != w.shape:
        raise ConfigError(
            f"w and direction must be vectors of the same length, got {tuple(w.shape)} and "
            f"{tuple(direction.shape)}"
        )
    grid = w[None, :] + alphas.to(w.dtype)[:, None] * direction[None, :]
    if attack.kind == "random":
        # noise independent of w: one draw shared by every point of the curve
        noisy = perturb(w[None], X, y, eps, attack, torch.Generator().manual_seed(seed))[0]
        return adversarial_loss(grid, noisy, y, 0.0, AttackSpec("clean"))
    if attack.kind == "pgd" and attack.start != "none" and not (
            attack.norm == "linf" and attack.step_factor >= 2.0):
        # a random PGD start: each point is attacked from the same start as the training-loss
        # evaluation with this seed (same draws, same chunks), so a = 0 gives exactly that loss
        return torch.cat([adversarial_loss(row[None], X, y, eps, attack,
                                           torch.Generator().manual_seed(seed), fused=fused)
                          for row in grid])
    # deterministic attacks (exact worst case, the L-inf PGD limit): one batched call
    return adversarial_loss(grid, X, y, eps, attack, fused=fused)

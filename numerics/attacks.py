"""Perturbations of the input: the attack recipe, PGD (Madry et al. 2018) for L2 and L-inf, noise.

:class:`AttackSpec` says how inputs are perturbed, for linear models (:mod:`numerics.linear.attack`,
analytic and batched over models) and for networks (:mod:`numerics.nets.attack`) alike; the budget
eps is given beside it (one per model when models are trained together). :func:`pgd` is the
generic projected gradient ascent on any per-sample loss.

Conventions: the first dimension of ``x`` indexes samples; norms are taken per sample over all
remaining dimensions. ``box`` is the valid input range (pixels in [0, 1]); ``None`` means no box.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from numerics.validate import check_iterate_dtype
from theory.errors import ConfigError
from theory.validate import check_eps, check_norm, check_positive

ATTACK_KINDS = ("clean", "pgd", "exact", "random")


@dataclass(frozen=True)
class AttackSpec:
    """How inputs are perturbed, given a budget eps (recorded verbatim in every run's config).

    Attributes:
        kind: ``"clean"`` (no perturbation), ``"pgd"`` (Madry et al.'s PGD: random start, ball
            then box projection), ``"exact"`` (the closed-form worst case of a linear model
            without box, INNER-MAX) or ``"random"`` (uniform noise in the eps-ball, then clipped
            to the box).
        norm: ``"l2"`` or ``"linf"``.
        steps: PGD steps K (>= 1 for ``"pgd"``).
        step_factor: PGD step alpha = ``step_factor * eps / steps`` (Madry et al.: 2.5), a step
            relative to each budget.
        box: valid input range, or ``None``.
        random_start: PGD starts uniformly in the ball.
        iterate_dtype: ``"float32"`` runs the PGD iterations of linear models in float32 (see
            :func:`numerics.linear.attack.perturb`); ``None``: the data's dtype throughout.
        step_size: an absolute step alpha instead of ``step_factor * eps / steps`` (networks,
            whose presets fix alpha, e.g. 2/255); ``None``: relative to eps.
    """

    kind: str = "clean"
    norm: str = "l2"
    steps: int = 10
    step_factor: float = 2.5
    box: tuple[float, float] | None = (0.0, 1.0)
    random_start: bool = True
    iterate_dtype: str | None = None
    step_size: float | None = None

    def __post_init__(self) -> None:
        check_iterate_dtype(self.iterate_dtype)
        if self.kind not in ATTACK_KINDS:
            raise ConfigError(f"unknown attack kind {self.kind!r}: use one of {ATTACK_KINDS}")
        object.__setattr__(self, "norm", check_norm(self.norm))
        if self.kind == "pgd":
            if int(self.steps) < 1:
                raise ConfigError(f"PGD needs steps >= 1, got {self.steps}")
            check_positive(self.step_factor, "step_factor")
            if self.step_size is not None:
                check_positive(self.step_size, "step_size")

    def alpha(self, eps: float) -> float:
        """The PGD step: ``step_size`` if given, else ``step_factor * eps / steps``."""
        if self.step_size is not None:
            return self.step_size
        return self.step_factor * eps / self.steps


def _per_sample_norm(v: torch.Tensor, norm: str) -> torch.Tensor:
    """||v_n||_p for each sample, shaped to broadcast against ``v``."""
    flat = v.reshape(v.shape[0], -1)
    value = flat.norm(p=2, dim=1) if norm == "l2" else flat.abs().amax(dim=1)
    return value.reshape((-1,) + (1,) * (v.dim() - 1))


def project_ball(delta: torch.Tensor, eps: float, norm: str) -> torch.Tensor:
    """Euclidean projection of each sample's ``delta`` onto {||delta||_p <= eps}.

    L2: delta * min(1, eps / ||delta||_2). L-inf: clamp each coordinate to [-eps, eps].
    """
    norm = check_norm(norm)
    eps = check_eps(eps)
    if norm == "linf":
        return delta.clamp(-eps, eps)
    length = _per_sample_norm(delta, "l2")
    scale = torch.where(length > eps, eps / length.clamp_min(torch.finfo(delta.dtype).tiny), 1.0)
    return delta * scale


def project(
    x: torch.Tensor, delta: torch.Tensor, eps: float, norm: str,
    box: tuple[float, float] | None = (0.0, 1.0),
) -> torch.Tensor:
    """Project ``delta`` onto the eps-ball, then so that ``x + delta`` lies in ``box``.

    For L-inf both sets are coordinate boxes and this is the exact projection onto their
    intersection. For L2 it is Madry et al.'s convention (ball, then clip), which keeps
    ``||delta||_2 <= eps`` (clipping only shrinks coordinates) and ``x + delta`` in the box.
    """
    delta = project_ball(delta, eps, norm)
    if box is not None:
        delta = (x + delta).clamp(box[0], box[1]) - x
    return delta


def uniform_ball_noise(
    shape: tuple[int, ...] | torch.Size, eps: float, norm: str, *,
    surface: bool = False, generator: torch.Generator | None = None,
    dtype: torch.dtype = torch.float64, device: str | torch.device = "cpu",
) -> torch.Tensor:
    """Noise uniform in the eps-ball of each sample (``shape[0]`` samples of ``prod(shape[1:])``).

    L2: a Gaussian direction normalised to the unit sphere, times the radius eps U^(1/d), which is
    the radius law of the uniform distribution in the d-ball (P(r <= t) = (t/eps)^d). With
    ``surface=True`` the radius is eps (uniform on the sphere). L-inf: each coordinate uniform in
    [-eps, eps] (``surface`` is not defined for L-inf).
    """
    norm = check_norm(norm)
    eps = check_eps(eps)
    shape = tuple(shape)
    n, d = shape[0], int(torch.tensor(shape[1:]).prod().item()) if len(shape) > 1 else 1
    if norm == "linf":
        if surface:
            raise ValueError("surface=True is defined for the L2 sphere only")
        u = torch.rand(shape, generator=generator, dtype=dtype, device=device)
        return (2 * u - 1) * eps
    # The direction only has to be uniform on the sphere: the Gaussian is drawn in float32 (about
    # twice as fast on the CPU as float64, see benchmarks/noise_draws.py) and normalised in dtype.
    draw_dtype = torch.float32 if dtype == torch.float64 else dtype
    direction = torch.randn((n, d), generator=generator, dtype=draw_dtype, device=device).to(dtype)
    direction = direction / direction.norm(dim=1, keepdim=True)
    if surface:
        radius = torch.full((n, 1), eps, dtype=dtype, device=device)
    else:
        u = torch.rand((n, 1), generator=generator, dtype=dtype, device=device)
        radius = eps * u.pow(1.0 / d)
    return (direction * radius).reshape(shape)


def random_noise(
    x: torch.Tensor, eps: float, norm: str, *,
    box: tuple[float, float] | None = (0.0, 1.0), generator: torch.Generator | None = None,
) -> torch.Tensor:
    """``x`` plus noise uniform in the eps-ball, then clipped to ``box`` (Yamada et al. 5.1)."""
    noise = uniform_ball_noise(x.shape, eps, norm, generator=generator, dtype=x.dtype,
                               device=x.device)
    out = x + noise
    return out.clamp(box[0], box[1]) if box is not None else out


def pgd(
    loss_fn: Callable[[torch.Tensor], torch.Tensor],
    x: torch.Tensor,
    eps: float,
    norm: str,
    steps: int,
    step_size: float,
    *,
    box: tuple[float, float] | None = (0.0, 1.0),
    random_start: bool = True,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Projected gradient ascent on the per-sample losses (Madry et al. 2018): returns ``x_adv``.

    x^{k+1} = Proj(x^k + alpha * step(grad)), with step = sign(grad) for L-inf and
    grad / ||grad||_2 for L2, Proj as in :func:`project`, and a uniform random start in the ball.

    Args:
        loss_fn: maps a batch of inputs (shape of ``x``) to per-sample losses ``(N,)``; PGD
            maximises their sum, i.e. each sample's own loss. Only input gradients are taken.
        x: clean inputs, first dimension the samples.
        eps: radius of the threat ball (>= 0). norm: ``"l2"`` or ``"linf"``.
        steps: number of ascent steps K (>= 0). step_size: alpha (> 0 when steps > 0).
        box: valid input range, or ``None`` for no box. random_start: start uniformly in the ball.
        generator: random source for the start (determinism).
    """
    norm = check_norm(norm)
    eps = check_eps(eps)
    if steps < 0:
        raise ValueError(f"steps must be >= 0, got {steps}")
    x = x.detach()
    if eps == 0.0:
        return x.clone()
    if steps > 0:
        check_eps(step_size, "step_size")
    if random_start:
        delta = uniform_ball_noise(x.shape, eps, norm, generator=generator, dtype=x.dtype,
                                   device=x.device)
    else:
        delta = torch.zeros_like(x)
    delta = project(x, delta, eps, norm, box)
    for _ in range(steps):
        delta.requires_grad_(True)
        losses = loss_fn(x + delta)
        (grad,) = torch.autograd.grad(losses.sum(), delta)
        with torch.no_grad():
            if norm == "linf":
                ascent = grad.sign()
            else:
                length = _per_sample_norm(grad, "l2").clamp_min(torch.finfo(grad.dtype).tiny)
                ascent = grad / length
            delta = project(x, delta + step_size * ascent, eps, norm, box)
    return (x + delta).detach()

"""Perturbations of the input: the attack recipe, PGD (Madry et al. 2018) for L2 and L-inf, noise.

:class:`AttackSpec` says how inputs are perturbed, for linear models (:mod:`numerics.linear.attack`,
analytic and batched over models) and for networks (:mod:`numerics.nets.attack`) alike; the budget
eps is given beside it (one per model when models are trained together) or, for a model-level
call, in the spec. :func:`pgd_on_loss` is the generic projected gradient ascent on any per-sample
loss; :func:`numerics.nets.attack.pgd` runs it on a classifier's cross-entropy.

**Projections.** ``"exact"``: the Euclidean projection onto the eps-ball intersected with the
pixel box (BOX-PROJ, :mod:`theory.box`): for L2, clip(z / (1 + mu), lo, hi) with mu found exactly
from the sorted breakpoints (:func:`project_ball_box`); for L-inf the clip onto
[max(lo, -eps), min(hi, eps)]. ``"ball_then_box"``: Madry et al.'s step, onto the ball and then
into the box, which for L2 is not the projection onto the intersection (it stays feasible).

**Starts.** ``"none"`` (delta = 0), ``"radius"`` (a uniform direction at a radius uniform in
[0, eps], so the start is not on the sphere, as it is in high dimension for ``"ball"``), ``"ball"``
(uniform in the ball); ``restarts`` runs of PGD keep, per example, the one of largest loss.

Conventions: the first dimension of ``x`` indexes samples; norms are taken per sample over all
remaining dimensions. ``box`` is the valid input range (pixels in [0, 1]); ``None`` means no box.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from numerics.validate import check_box, check_count, check_data, check_iterate_dtype
from theory.errors import ConfigError
from theory.validate import check_eps, check_norm, check_positive

__all__ = [
    "ATTACK_KINDS",
    "PROJECTIONS",
    "STARTS",
    "AttackSpec",
    "l2_ball_draws",
    "pgd_on_loss",
    "project",
    "project_ball",
    "project_ball_box",
    "random_noise",
    "scaled_clip",
    "uniform_ball_noise",
]

ATTACK_KINDS = ("clean", "pgd", "exact", "random")
STARTS = ("none", "radius", "ball")
PROJECTIONS = ("exact", "ball_then_box")


@dataclass(frozen=True)
class AttackSpec:
    """How inputs are perturbed, given a budget eps (recorded verbatim in every run's config).

    Attributes:
        kind: ``"clean"`` (no perturbation), ``"pgd"`` (projected gradient ascent), ``"exact"``
            (the closed-form worst case of a linear model, INNER-MAX without a box, BOX-MAX
            with one) or ``"random"`` (uniform noise in the eps-ball, then clipped to the box).
        norm: ``"l2"`` or ``"linf"``.
        steps: PGD steps K (>= 1 for ``"pgd"``).
        step_factor: PGD step alpha = ``step_factor * eps / steps`` (Madry et al.: 2.5), a step
            relative to each budget.
        box: valid input range, or ``None``.
        start: PGD's start: ``"none"``, ``"radius"`` or ``"ball"`` (module docstring).
        iterate_dtype: ``"float32"`` runs the PGD iterations of linear models in float32 (see
            :func:`numerics.linear.attack.perturb`); ``None``: the data's dtype throughout.
        step_size: an absolute step alpha instead of ``step_factor * eps / steps`` (networks,
            whose presets fix alpha, e.g. 2/255); ``None``: relative to eps.
        projection: ``"exact"`` (onto ball cap box) or ``"ball_then_box"`` (module docstring).
        restarts: PGD runs, the worst (largest loss) kept per example (>= 1).
        eps: the budget, for model-level calls (:func:`numerics.nets.attack.pgd`); functions that
            take eps beside the spec use theirs.
    """

    kind: str = "clean"
    norm: str = "l2"
    steps: int = 10
    step_factor: float = 2.5
    box: tuple[float, float] | None = (0.0, 1.0)
    start: str = "ball"
    iterate_dtype: str | None = None
    step_size: float | None = None
    projection: str = "ball_then_box"
    restarts: int = 1
    eps: float | None = None

    def __post_init__(self) -> None:
        check_iterate_dtype(self.iterate_dtype)
        if self.kind not in ATTACK_KINDS:
            raise ConfigError(f"unknown attack kind {self.kind!r}: use one of {ATTACK_KINDS}")
        object.__setattr__(self, "norm", check_norm(self.norm))
        if self.start not in STARTS:
            raise ConfigError(f"unknown start {self.start!r}: use one of {STARTS}")
        if self.projection not in PROJECTIONS:
            raise ConfigError(f"unknown projection {self.projection!r}: use one of {PROJECTIONS}")
        check_count(self.restarts, "restarts", 1)
        check_box(self.box)
        if self.eps is not None:
            check_eps(self.eps)
        if self.kind == "pgd":
            try:
                check_count(self.steps, "steps", 1)
            except ConfigError:
                raise ConfigError("PGD needs an integer number of steps >= 1, got "
                                  f"{self.steps!r}") from None
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
    box: tuple[float, float] | None = (0.0, 1.0), projection: str = "ball_then_box",
) -> torch.Tensor:
    """Project ``delta`` so that ``||delta||_p <= eps`` and ``x + delta`` lies in ``box``.

    ``"exact"``: the Euclidean projection onto the intersection (BOX-PROJ,
    :func:`project_ball_box`). ``"ball_then_box"``: onto the eps-ball, then so that ``x + delta``
    is in the box (Madry et al.'s convention: feasible, exact for L-inf, not the projection onto
    the intersection for L2).
    """
    if box is not None and projection == "exact":
        return project_ball_box(delta, eps, norm, box[0] - x, box[1] - x)
    delta = project_ball(delta, eps, norm)
    if box is not None:
        delta = (x + delta).clamp(box[0], box[1]) - x
    return delta


def _scale_by_breakpoints(z: torch.Tensor, bound: torch.Tensor, eps: torch.Tensor,
                          s_max: float) -> torch.Tensor:
    """The exact s of :func:`scaled_clip` from the sorted breakpoints (rows along the last
    dimension; ``eps`` broadcast to ``(..., 1)``)."""
    bp = torch.where(z != 0, bound / torch.where(z != 0, z, 1.0), torch.inf).clamp_min(0)
    order = torch.argsort(bp, dim=-1)
    bp_s = torch.gather(bp, -1, order)
    z2_s = torch.gather(z * z, -1, order)
    b2_s = torch.gather(bound * bound, -1, order)
    clipped_b2 = torch.cumsum(b2_s, -1) - b2_s  # C before coordinate k is clipped
    free_z2 = z2_s.sum(-1, keepdim=True) - torch.cumsum(z2_s, -1) + z2_s  # R before it
    at_bp = torch.where(free_z2 > 0, bp_s.clamp(max=torch.finfo(z.dtype).max) ** 2
                        * free_z2, 0.0) + clipped_b2
    eps2 = eps * eps
    k = torch.searchsorted(at_bp.contiguous(), eps2.expand(*at_bp.shape[:-1], 1)
                           .contiguous(), right=True).clamp(max=z.shape[-1] - 1)
    r_k = torch.gather(free_z2, -1, k)
    c_k = torch.gather(clipped_b2, -1, k)
    root = torch.sqrt(((eps2 - c_k) / torch.where(r_k > 0, r_k, 1.0)).clamp_min(0))
    beyond = torch.gather(at_bp, -1, k) <= eps2  # the norm never reaches eps: s = s_max
    return torch.where(beyond | (r_k <= 0), torch.inf, root).clamp(max=s_max)


def _scale_by_active_set(z: torch.Tensor, bound: torch.Tensor, eps: torch.Tensor,
                         s_max: float, iterations: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The s of :func:`scaled_clip` by the monotone active-set iteration: from the lower bound
    s_0 = min(s_max, eps / ||z||), s_{k+1} = sqrt((eps^2 - C_k) / R_k) with R_k, C_k the free and
    clipped parts at s_k. Each step stays <= the root (coordinates free at s_k can only leave
    the free set, so ||clip(s z)||^2 <= R_k s^2 + C_k beyond s_k) and the free set shrinks, so
    a step that changes nothing is the exact root. Returns (s, converged) per row."""
    az, ab = z.abs(), bound.abs()
    z2, b2 = z * z, bound * bound
    eps2 = eps * eps
    length = z.norm(dim=-1, keepdim=True)
    s = torch.where(length > 0, eps / length.clamp_min(torch.finfo(z.dtype).tiny),
                    torch.inf).clamp(max=s_max)
    done = torch.zeros_like(s, dtype=torch.bool)
    for _ in range(iterations):
        free = s * az < ab
        R = torch.where(free, z2, 0.0).sum(-1, keepdim=True)
        C = torch.where(free, 0.0, b2).sum(-1, keepdim=True)
        step = torch.where(R > 0, torch.sqrt(((eps2 - C) / torch.where(R > 0, R, 1.0))
                                             .clamp_min(0)), torch.inf).clamp(max=s_max)
        step = torch.maximum(step, s)  # rounding never moves it back
        done = step == s
        s = step
        if bool(done.all()):
            break
    return s, done


def scaled_clip(z: torch.Tensor, lo: torch.Tensor, hi: torch.Tensor,
                 eps: torch.Tensor | float, s_max: float, iterations: int = 8) -> torch.Tensor:
    """clip(s z, lo, hi) over the last dimension, s in (0, s_max] the largest with
    ||clip(s z, lo, hi)||_2 <= eps (lo <= 0 <= hi); exact.

    Coordinate i is free (s z_i) while s <= s_i = b_i / z_i (b_i its bound in the direction of
    z_i) and clipped (b_i) after, so on each interval between sorted breakpoints
    ||clip(s z)||^2 = s^2 R + C, with R the free part of sum z_i^2 and C the clipped sum b_i^2:
    the root is explicit on the interval where the nondecreasing norm crosses eps. It is found by
    the monotone active-set iteration (a few elementwise passes; on PGD iterates it settles in
    0-3 steps), and from the sorted breakpoints for the rows it has not settled in
    ``iterations`` steps (``benchmarks/attack_strength.py`` and the tests compare the two).
    """
    eps = torch.as_tensor(eps, dtype=z.dtype, device=z.device)
    eps = eps if eps.dim() == 0 else eps.reshape(*eps.shape[:-1], 1) if eps.dim() == z.dim() \
        else eps[..., None]
    with torch.no_grad():
        bound = torch.where(z > 0, hi, lo)
        scale, done = _scale_by_active_set(z, bound, eps, s_max, iterations)
        if not bool(done.all()):
            rows = ~done[..., 0]
            e_rows = eps.expand(*z.shape[:-1], 1)[rows]
            scale = scale.clone()
            scale[rows] = _scale_by_breakpoints(z[rows], bound[rows], e_rows, s_max)
    out = torch.minimum(torch.maximum(scale * z, lo), hi)
    # rounding: never leave the ball
    length = out.norm(dim=-1, keepdim=True)
    return out * torch.where(length > eps, eps / length.clamp_min(torch.finfo(z.dtype).tiny),
                             1.0)


def project_ball_box(delta: torch.Tensor, eps: float | torch.Tensor, norm: str,
                     lo: torch.Tensor, hi: torch.Tensor) -> torch.Tensor:
    """BOX-PROJ: the Euclidean projection of each sample's ``delta`` onto
    {||delta||_p <= eps} cap {lo <= delta <= hi}, lo <= 0 <= hi (per coordinate).

    L2: clip(delta / (1 + mu), lo, hi) with mu >= 0 from complementary slackness, computed exactly
    (:mod:`theory.box`); L-inf: the clip onto [max(lo, -eps), min(hi, eps)]. The first dimension
    indexes samples; norms are over the rest. ``eps`` is a number or one per sample.
    """
    norm = check_norm(norm)
    shape = delta.shape
    eps_t = torch.as_tensor(eps, dtype=delta.dtype, device=delta.device)
    if norm == "linf":
        e = eps_t.reshape(-1, *([1] * (delta.dim() - 1))) if eps_t.dim() else eps_t
        return torch.minimum(torch.maximum(delta, torch.maximum(lo, -e)), torch.minimum(hi, e))
    flat = delta.reshape(shape[0], -1)
    lo_f, hi_f = lo.expand(shape).reshape(shape[0], -1), hi.expand(shape).reshape(shape[0], -1)
    e = eps_t.reshape(-1, 1) if eps_t.dim() else eps_t
    return scaled_clip(flat, lo_f, hi_f, e, 1.0).reshape(shape)


def uniform_ball_noise(
    shape: tuple[int, ...] | torch.Size, eps: float, norm: str, *,
    surface: bool = False, generator: torch.Generator | None = None,
    dtype: torch.dtype = torch.float64, device: str | torch.device = "cpu",
    radius_law: str = "ball",
) -> torch.Tensor:
    """Noise uniform in the eps-ball of each sample (``shape[0]`` samples of ``prod(shape[1:])``).

    L2: a Gaussian direction normalised to the unit sphere, times the radius eps U^(1/d), which is
    the radius law of the uniform distribution in the d-ball (P(r <= t) = (t/eps)^d). With
    ``surface=True`` the radius is eps (uniform on the sphere); with ``radius_law="radius"`` it
    is uniform in [0, eps] (a PGD start that is not concentrated near the sphere in high
    dimension). L-inf: each coordinate uniform in [-eps, eps] (``surface`` is not defined for
    L-inf; ``"radius"`` scales a uniform cube draw by a uniform factor).
    """
    norm = check_norm(norm)
    eps = check_eps(eps)
    shape = tuple(shape)
    n, d = shape[0], int(torch.tensor(shape[1:]).prod().item()) if len(shape) > 1 else 1
    if norm == "linf":
        if surface:
            raise ValueError("surface=True is defined for the L2 sphere only")
        u = torch.rand(shape, generator=generator, dtype=dtype, device=device)
        noise = (2 * u - 1) * eps
        if radius_law == "radius":
            noise = noise * torch.rand((n,) + (1,) * (len(shape) - 1), generator=generator,
                                       dtype=dtype, device=device)
        return noise
    gauss, radius = l2_ball_draws(n, d, eps, surface=surface, generator=generator, dtype=dtype,
                                  device=device, radius_law=radius_law)
    direction = gauss.to(dtype)
    direction = direction / direction.norm(dim=1, keepdim=True)
    return (direction * radius).reshape(shape)


def l2_ball_draws(
    n: int, d: int, eps: float, *, surface: bool = False,
    generator: torch.Generator | None = None, dtype: torch.dtype = torch.float64,
    device: str | torch.device = "cpu", radius_law: str = "ball",
) -> tuple[torch.Tensor, torch.Tensor]:
    """The random numbers of :func:`uniform_ball_noise` under L2, in its order: Gaussian
    directions ``(n, d)`` (not yet normalised, drawn in float32 when ``dtype`` is float64) and
    radii ``(n, 1)`` in ``dtype``; the noise is ``g.to(dtype) / ||g|| * radius`` per row (a
    fused PGD applies it in its own kernel, :mod:`numerics.linear.fused`)."""
    # The direction only has to be uniform on the sphere: the Gaussian is drawn in float32 (about
    # twice as fast on the CPU as float64, see benchmarks/noise_draws.py) and normalised in dtype.
    draw_dtype = torch.float32 if dtype == torch.float64 else dtype
    gauss = torch.randn((n, d), generator=generator, dtype=draw_dtype, device=device)
    if surface:
        radius = torch.full((n, 1), eps, dtype=dtype, device=device)
    else:
        u = torch.rand((n, 1), generator=generator, dtype=dtype, device=device)
        radius = eps * (u if radius_law == "radius" else u.pow(1.0 / d))
    return gauss, radius


def random_noise(
    x: torch.Tensor, eps: float, norm: str, *,
    box: tuple[float, float] | None = (0.0, 1.0), generator: torch.Generator | None = None,
) -> torch.Tensor:
    """``x`` plus noise uniform in the eps-ball, then clipped to ``box`` (Yamada et al. 5.1)."""
    box = check_box(box)
    noise = uniform_ball_noise(x.shape, eps, norm, generator=generator, dtype=x.dtype,
                               device=x.device)
    out = x + noise
    return out.clamp(box[0], box[1]) if box is not None else out


def pgd_on_loss(
    loss_fn: Callable[[torch.Tensor], torch.Tensor],
    x: torch.Tensor,
    eps: float,
    norm: str,
    steps: int,
    step_size: float,
    *,
    box: tuple[float, float] | None = (0.0, 1.0),
    start: str = "ball",
    projection: str = "ball_then_box",
    restarts: int = 1,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Projected gradient ascent on the per-sample losses (Madry et al. 2018): returns ``x_adv``.

    x^{k+1} = Proj(x^k + alpha * step(grad)), with step = sign(grad) for L-inf and
    grad / ||grad||_2 for L2, Proj as in :func:`project` (``projection``), from ``start``; with
    ``restarts`` > 1 the run of largest final loss is kept per sample.

    Args:
        loss_fn: maps a batch of inputs (shape of ``x``) to per-sample losses ``(N,)``; PGD
            maximises their sum, i.e. each sample's own loss. Only input gradients are taken.
        x: clean inputs, first dimension the samples.
        eps: radius of the threat ball (>= 0). norm: ``"l2"`` or ``"linf"``.
        steps: number of ascent steps K (>= 0). step_size: alpha (> 0 when steps > 0).
        box: valid input range, or ``None`` for no box. start: ``"none"``, ``"radius"``,
            ``"ball"`` (module docstring). projection: ``"exact"`` or ``"ball_then_box"``.
        restarts: runs (>= 1), the worst kept per sample.
        generator: random source for the starts (determinism).

    Raises:
        ConfigError: ``x`` empty, not floating or holding NaN/Inf; a reversed box; bad settings
            (checked once, before the first step; a training loop calls :func:`_pgd_on_loss`,
            which skips the data checks).
    """
    check_data(x, name="x (PGD inputs)")
    box = check_box(box)
    return _pgd_on_loss(loss_fn, x, eps, norm, steps, step_size, box=box, start=start,
                        projection=projection, restarts=restarts, generator=generator)


def _pgd_on_loss(
    loss_fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, eps: float, norm: str,
    steps: int, step_size: float, *, box: tuple[float, float] | None, start: str,
    projection: str, restarts: int, generator: torch.Generator | None,
    grad_fn: Callable[[torch.Tensor], torch.Tensor] | None = None,
) -> torch.Tensor:
    """:func:`pgd_on_loss` without the one pass over the data that checks ``x`` (for callers
    that checked their data once, e.g. per training run, not per batch). ``grad_fn``: the
    gradient of the summed losses at given inputs, in closed form (e.g.
    :meth:`numerics.nets.models.MLP.loss_input_gradient`), taken instead of autograd's."""
    norm = check_norm(norm)
    eps = check_eps(eps)
    steps = check_count(steps, "steps")
    restarts = check_count(restarts, "restarts", 1)
    if start not in STARTS or projection not in PROJECTIONS:
        raise ConfigError(f"bad PGD settings: start {start!r} (use {STARTS}), projection "
                          f"{projection!r} (use {PROJECTIONS})")
    x = x.detach()
    if eps == 0.0:
        return x.clone()
    if steps > 0:
        check_eps(step_size, "step_size")
    best, best_loss = None, None
    for _ in range(restarts):
        if start == "none":
            delta = torch.zeros_like(x)
        else:
            delta = uniform_ball_noise(x.shape, eps, norm, generator=generator, dtype=x.dtype,
                                       device=x.device, radius_law=start)
        delta = project(x, delta, eps, norm, box, projection)
        for _ in range(steps):
            if grad_fn is not None:
                grad = grad_fn(x + delta)
            else:
                delta.requires_grad_(True)
                with torch.enable_grad():  # the attack works under a caller's no_grad too
                    losses = loss_fn(x + delta)
                    (grad,) = torch.autograd.grad(losses.sum(), delta)
            with torch.no_grad():
                if norm == "linf":
                    ascent = grad.sign()
                else:
                    length = _per_sample_norm(grad, "l2").clamp_min(torch.finfo(grad.dtype).tiny)
                    ascent = grad / length
                delta = project(x, delta + step_size * ascent, eps, norm, box, projection)
        candidate = (x + delta).detach()
        if restarts == 1:
            return candidate
        with torch.no_grad():
            loss = loss_fn(candidate).detach()
        if best is None:
            best, best_loss = candidate, loss
        else:
            better = loss > best_loss
            best = torch.where(better.reshape(-1, *([1] * (x.dim() - 1))), candidate, best)
            best_loss = torch.where(better, loss, best_loss)
    return best

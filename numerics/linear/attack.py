r"""Attacks on linear logistic models, batched over K models: PGD, the exact worst case, noise.

K models share one data set; their weights are the rows of a ``(K, p)`` matrix ``W`` (``p = d + 1``
with a bias column, which the attack never touches: the constant 1 is not a pixel), so one
matmul serves every model and each model has its own budget eps_k.

For a linear model the input gradient of the loss is analytic,
:math:`\nabla_x \ell = -s(-z)\, y\, w_{pix}`, so its direction :math:`-y\, w_{pix}` does not depend
on the current iterate: PGD needs no autograd and no margin inside its loop. Under L-inf, with
``steps * step_size >= 2 eps`` (Madry's 2.5 eps / K per step gives 2.5 eps), every coordinate is
pushed to its bound whatever the start, so PGD ends exactly at the box-constrained maximiser
:math:`\operatorname{clip}_{[0,1]}(x - \varepsilon y\, \operatorname{sign}(w))`;
:func:`perturb` returns that limit directly (tests compare it with
:func:`numerics.attacks.pgd_on_loss`).
The margins and losses are those of :mod:`numerics.ops` (the exact robust margin for ``"exact"``).
"""

from __future__ import annotations

from typing import Any

import torch

from numerics.attacks import AttackSpec, l2_ball_draws, scaled_clip, uniform_ball_noise
from numerics.ops import margins, robust_margin, zeta
from numerics.validate import check_box, check_data, check_norm, check_weights
from theory.errors import ConfigError

__all__ = ["accuracy", "adversarial_loss", "attacked_margins", "box_worst_case", "budgets",
           "perturb", "robust_correct"]

_ELEMENT_BUDGET = 1 << 22  # elements of a (K, rows, d) perturbation block held at once (32 MiB)


def _pixel_weights(W: torch.Tensor, d: int) -> torch.Tensor:
    """The pixel weights ``(K, d)`` of a weight matrix ``(K, d)`` or ``(K, d + 1)``."""
    if W.dim() != 2 or W.shape[1] not in (d, d + 1):
        raise ConfigError(
            f"weights must be a (K, d) or (K, d + 1) matrix for inputs of dimension d = {d}, "
            f"got shape {tuple(W.shape)}"
        )
    return W[:, :d]


def budgets(eps: float | torch.Tensor, K: int, like: torch.Tensor) -> torch.Tensor:
    """One budget per model as a ``(K, 1, 1)`` tensor (validated; one eps is shared by all)."""
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
    return -y[None, :, None] * _unit_weights(w, norm)[:, None, :]


def _unit_weights(w: torch.Tensor, norm: str) -> torch.Tensor:
    """w/||w||_2 per row (0 where w = 0) for L2, sign(w) for L-inf, ``(K, d)``."""
    if norm == "l2":
        length = w.norm(dim=1, keepdim=True)
        return torch.where(length > 0, w / length.clamp_min(torch.finfo(w.dtype).tiny), 0.0)
    return w.sign()


def _project_(delta: torch.Tensor, eps: torch.Tensor, norm: str,
              bounds: tuple[torch.Tensor, torch.Tensor] | None) -> torch.Tensor:
    """In place: onto the eps-ball of each (model, sample) (the projection of
    :func:`numerics.attacks.project_ball`), then into the box ``bounds = (lo, hi)`` of delta
    (None: no box)."""
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
                like: torch.Tensor, law: str = "ball") -> torch.Tensor:
    """Noise in the unit ball (uniform, or at a uniform radius: ``law``), one draw per
    (model, sample); scale by eps afterwards."""
    K, n, d = shape
    noise = uniform_ball_noise((K * n, d), 1.0, norm, generator=generator, dtype=like.dtype,
                               device=like.device, radius_law=law)
    return noise.reshape(K, n, d)


def perturb(
    W: torch.Tensor, X: torch.Tensor, y: torch.Tensor, eps: float | torch.Tensor,
    attack: AttackSpec, generator: torch.Generator | None = None, common_noise: bool = False,
    *, fused: bool = False,
) -> torch.Tensor:
    """Perturbed inputs x_adv for every model, shape ``(K, N, d)`` (pixels only, no bias column).

    * ``pgd``: Madry et al.'s PGD, x^{t+1} = Proj(x^t + alpha dir), dir = -y w/||w||_2 (L2) or
      -y sign(w) (L-inf), the normalised input gradient of zeta(-y w.x) (exact wherever
      s(-z) > 0, i.e. z < 745 in float64); Proj = ``attack.projection`` (ball then box, or the
      exact projection onto ball cap box); ``attack.restarts`` runs keep the lowest margin per
      (model, sample). L-inf with ``steps * alpha >= 2 eps`` returns the limit
      clip_box(x - eps y sign(w)) (see module doc), for either projection.
    * ``exact``: without a box, x - eps y w/||w||_2 or x - eps y sign(w), the maximiser
      (INNER-MAX); with a box, the exact maximiser inside ball cap box (BOX-MAX,
      :func:`box_worst_case`).
    * ``random``: x + uniform noise in the eps-ball, clipped to the box (independent of w).
    * ``clean``: x itself, expanded.

    Args:
        W: weights ``(K, d)`` or ``(K, d + 1)``. X: inputs ``(N, d)``. y: labels ``(N,)`` in ±1.
        eps: one budget or one per model. attack: the :class:`AttackSpec`.
        generator: random source for PGD starts and noise.
        common_noise: one draw of the PGD start / noise shared by all K models (common random
            numbers, e.g. for the points of a landscape); else an independent draw per model.
        fused: run PGD as one compiled loop per (model, example) (:mod:`numerics.linear.fused`,
            on the CPU): the same iteration up to rounding, several times as fast.

    Returns:
        ``(K, N, d)`` perturbed inputs.

    Raises:
        ConfigError: ``X`` not a non-empty finite floating ``(N, d)`` tensor, ``y`` not ``N``
            labels -1/+1 (checked once; the training loop calls :func:`_perturb`, unchecked).
    """
    check_data(X, y, name="X", labels="pm1", ndim=2)
    return _perturb(W, X, y, eps, attack, generator, common_noise, fused=fused)


def _perturb(
    W: torch.Tensor, X: torch.Tensor, y: torch.Tensor, eps: float | torch.Tensor,
    attack: AttackSpec, generator: torch.Generator | None = None, common_noise: bool = False,
    *, fused: bool = False,
) -> torch.Tensor:
    """:func:`perturb` on data checked by the caller."""
    K, (N, d) = W.shape[0], X.shape
    w = _pixel_weights(W, d)
    if attack.step_size is not None:
        raise ConfigError("linear models take PGD steps relative to each model's budget: set "
                          "AttackSpec.step_factor (alpha = step_factor eps / steps), not "
                          "step_size")
    e = budgets(eps, K, X)
    x = X[None]
    if attack.kind == "clean":
        return x.expand(K, N, d)
    draws = 1 if common_noise else K
    if attack.kind == "random":
        noisy = (_unit_noise((draws, N, d), attack.norm, generator, X) * e).add_(x)
        return noisy if attack.box is None else noisy.clamp_(*attack.box)
    if attack.kind == "pgd" and not (attack.norm == "linf" and attack.step_factor >= 2.0):
        best = None
        for _ in range(attack.restarts):
            candidate = _pgd_run(x, e, w, y, attack, draws, generator, fused)
            if best is None:
                best = candidate
            else:  # keep, per (model, sample), the run of lower margin (larger loss)
                better = margins(W, candidate, y) < margins(W, best, y)
                best = torch.where(better[..., None], candidate, best)
        return best
    if attack.kind == "exact" and attack.box is not None:
        return _box_worst_case(W, X, y, e, attack.norm, attack.box)
    if fused and attack.kind == "pgd":  # the L-inf PGD limit, in one compiled pass
        from numerics.linear.fused import linf_limit  # numba loads on first use

        return linf_limit(x, y, _unit_weights(w, "linf"), e, attack.box)
    adversarial = (_ascent_direction(w, y, attack.norm) * e).add_(x)
    if attack.kind == "pgd" and attack.box is not None:  # the L-inf PGD limit, clipped
        adversarial.clamp_(*attack.box)
    return adversarial


def _fused_loss_gradient(
    W: torch.Tensor, X: torch.Tensor, y: torch.Tensor, eps: float | torch.Tensor,
    attack: AttackSpec, generator: torch.Generator | None = None, common_noise: bool = False,
) -> tuple[torch.Tensor, torch.Tensor] | None:
    """The mean logistic loss ``(K,)`` and its gradient ``(K, p)`` at the inputs of the fused
    :func:`perturb` (``fused=True``), the perturbation held fixed: the same draws, and the
    numbers of :func:`numerics.linear.train.loss_gradient` of those inputs up to rounding, in
    one compiled pass that never stores the ``(K, N, d)`` inputs. None for an attack other
    than one PGD run or random noise (then perturb, and take the loss of what it returns)."""
    if attack.kind not in ("pgd", "random") or (attack.restarts, attack.step_size) != (1, None):
        return None
    from numerics.linear import fused as loops  # numba loads on first use

    K, (N, d) = W.shape[0], X.shape
    w, e, x = _pixel_weights(W, d), budgets(eps, K, X), X[None]
    if attack.kind == "random":  # the noise of _perturb, the same draws
        noise = _unit_noise((1 if common_noise else K, N, d), attack.norm, generator, X)
        return loops.noise_loss_gradient(W, x, y, noise, e, attack.box)
    if attack.norm == "linf" and attack.step_factor >= 2.0:  # the L-inf PGD limit
        return loops.linf_limit_loss_gradient(W, x, y, _unit_weights(w, "linf"), e, attack.box)
    return _pgd_run(x, e, w, y, attack, 1 if common_noise else K, generator, True, W)


def _pgd_run(x: torch.Tensor, e: torch.Tensor, w: torch.Tensor, y: torch.Tensor,
             attack: AttackSpec, draws: int, generator: torch.Generator | None,
             fused: bool = False, weights: torch.Tensor | None = None) -> Any:
    """One PGD run from a fresh start (``attack.start``); zero budgets leave x where it is.
    ``weights`` (fused only): the loss and gradient at the attacked inputs instead
    (:func:`_fused_loss_gradient`)."""
    K, N, d = e.shape[0], x.shape[1], x.shape[2]
    start: Any = None
    if fused and attack.norm == "l2" and attack.start != "none":
        # the same draws, scaled in the fused kernel (numerics.linear.fused)
        gauss, radius = l2_ball_draws(draws * N, d, 1.0, generator=generator, dtype=x.dtype,
                                      device=x.device, radius_law=attack.start)
        start = (gauss.reshape(draws, N, d), radius.reshape(draws, N, 1))
    elif attack.start != "none":
        start = _unit_noise((draws, N, d), attack.norm, generator, x[0], attack.start)
    active = e.reshape(-1) > 0
    if fused or bool(active.all()):  # the fused kernel leaves x as it is at a zero budget
        return _pgd_l2_linf(x, e, w, y, attack, start, fused, weights)
    out = x.expand(K, N, d).clone()  # a zero budget leaves x where it is
    if bool(active.any()):
        if start is not None and draws > 1:
            start = start[active]
        out[active] = _pgd_l2_linf(x, e[active], w[active], y, attack, start, fused)
    return out


def box_worst_case(W: torch.Tensor, X: torch.Tensor, y: torch.Tensor,
                   eps: float | torch.Tensor, norm: str, box: tuple[float, float],
                   ) -> torch.Tensor:
    """BOX-MAX: the exact worst-case inputs x + delta* of each linear model inside the eps-ball
    intersected with the pixel box, shape ``(K, N, d)`` (:mod:`theory.box`).

    L2: delta* = clip(-t y w, lo, hi) with t > 0 from ||delta*|| = eps, or the box corner when
    it lies in the ball (found exactly from the sorted breakpoints); L-inf:
    clip(-eps y sign(w), lo, hi). lo = box_low - x, hi = box_high - x; the bias is not touched.

    Raises:
        ConfigError: ``X`` not a non-empty finite floating ``(N, d)`` tensor, ``y`` not ``N``
            labels -1/+1, ``W`` not a finite ``(K, d)``/``(K, d + 1)`` matrix, a norm other than
            the spellings of L2 and L-inf :func:`theory.validate.check_norm` accepts, a missing
            or reversed box, a negative or non-finite budget (all checked once, here).
    """
    check_data(X, y, name="X", labels="pm1", ndim=2)
    check_weights(W, X.shape[1])
    norm = check_norm(norm)
    if box is None:
        raise ConfigError("box_worst_case needs a box (low, high), e.g. (0.0, 1.0): without one "
                          "the worst case is INNER-MAX's closed form (AttackSpec('exact', box="
                          "None))")
    return _box_worst_case(W, X, y, eps, norm, check_box(box))


def _box_worst_case(W: torch.Tensor, X: torch.Tensor, y: torch.Tensor,
                    eps: float | torch.Tensor, norm: str, box: tuple[float, float],
                    ) -> torch.Tensor:
    """:func:`box_worst_case` on inputs checked by the caller (``norm`` normalised)."""
    K, (N, d) = W.shape[0], X.shape
    w = _pixel_weights(W, d)
    e = budgets(eps, K, X)
    lo, hi = (box[0] - X)[None], (box[1] - X)[None]
    direction = _ascent_direction(w, y, norm)  # -y w/||w|| (L2) or -y sign(w)
    if norm == "linf":
        delta = torch.minimum(torch.maximum(direction * e, lo), hi)
    else:
        delta = scaled_clip(direction.expand(K, N, d), lo.expand(K, N, d), hi.expand(K, N, d),
                             e, torch.inf)
    return delta.add_(X[None])


def _pgd_l2_linf(
    x: torch.Tensor, e: torch.Tensor, w: torch.Tensor, y: torch.Tensor, attack: AttackSpec,
    start: Any, fused: bool = False, weights: torch.Tensor | None = None,
) -> Any:
    """PGD on a ``(K, N, d)`` perturbation, in place: add the step, project onto the ball, clamp
    to the box; returns the perturbed inputs x + delta (with ``weights``, fused only: the loss
    and gradient at them, :func:`numerics.linear.fused.pgd_loss_gradient`).

    ``start``: unit-ball draws ``(1 or K, N, d)`` (None: start at 0), scaled by eps.
    With ``attack.iterate_dtype`` the start (drawn in ``x.dtype``), the direction and the
    iterations are in that dtype, and the last iterate is projected onto the ball and the box
    in ``x.dtype``. (In-place updates: on the CPU a fresh ``(K, N, d)`` block costs more in page
    faults than the arithmetic on it.) The examples are attacked in blocks of rows small enough
    to stay in the core's cache through all the steps (every operation acts on each example on
    its own, so the result is the same bit for bit as on the whole set at once). ``fused``:
    every row by :func:`numerics.linear.fused.pgd_block` (ball then box; ``start`` may then be
    the L2 draws of :func:`numerics.attacks.l2_ball_draws`), all in one call.
    """
    work = getattr(torch, attack.iterate_dtype) if attack.iterate_dtype else x.dtype
    K, N, d = e.shape[0], x.shape[1], x.shape[2]
    unit = _unit_weights(w.to(work), attack.norm)  # (K, d)
    factor = attack.step_factor * e.to(work) / attack.steps
    if fused:  # one (model, example) at a time, its row in the core's cache through the steps
        from numerics.linear.fused import pgd_block, pgd_loss_gradient  # numba loads here

        if weights is not None:
            return pgd_loss_gradient(weights, x, y, unit, factor, e, start, attack.steps,
                                     attack.norm, attack.box, work, attack.projection)
        return pgd_block(x, y, unit, factor, e, start, attack.steps, attack.norm, attack.box,
                         work, attack.projection)
    yw = y.to(work)
    out = torch.empty((K, N, d), dtype=x.dtype, device=x.device)
    rows = max(1, _PGD_ROWS // max(1, K * d))
    for lo in range(0, N, rows):
        sl = slice(lo, lo + rows)
        # the step -y w/||w|| (or -y sign(w)) times alpha, this block's rows only
        step = (-yw[sl][None, :, None] * unit[:, None, :]) * factor
        out[:, sl] = _pgd_block(x[:, sl], e, step, attack,
                                None if start is None else start[:, sl], work)
    return out


#: elements of a (K, rows, d) PGD block (128 Ki: 512 KiB in float32, in a core's L2 cache)
_PGD_ROWS = 1 << 17


def _pgd_block(x: torch.Tensor, e: torch.Tensor, step: torch.Tensor, attack: AttackSpec,
               start: torch.Tensor | None, work: torch.dtype) -> torch.Tensor:
    """:func:`_pgd_l2_linf` on one block of rows (``step`` the ``(K, rows, d)`` step)."""
    xw, ew = x.to(work), e.to(work)
    if start is not None:
        delta = start.to(work) * ew
    else:
        delta = torch.zeros(step.shape, dtype=work, device=x.device)

    def bounds(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor] | None:
        return None if attack.box is None else (attack.box[0] - x, attack.box[1] - x)

    box = bounds(xw)
    exact = attack.projection == "exact" and box is not None and attack.norm == "l2"

    def proj_(delta: torch.Tensor, ee: torch.Tensor, bb: tuple | None) -> torch.Tensor:
        if exact:
            return scaled_clip(delta, bb[0].expand_as(delta), bb[1].expand_as(delta), ee, 1.0)
        return _project_(delta, ee, attack.norm, bb)

    delta = proj_(delta, ew, box)
    for _ in range(attack.steps):
        delta = proj_(delta.add_(step), ew, box)
    if work != x.dtype:  # back in the data's dtype, in the ball and the box exactly
        delta = proj_(delta.to(x.dtype), e, bounds(x))
    return delta.add_(x)


def _row_chunks(K: int, N: int, d: int) -> int:
    return max(1, min(N, _ELEMENT_BUDGET // max(1, K * d)))


def attacked_margins(
    W: torch.Tensor, X: torch.Tensor, y: torch.Tensor, eps: float | torch.Tensor,
    attack: AttackSpec, generator: torch.Generator | None = None, common_noise: bool = False,
    *, fused: bool = False,
) -> torch.Tensor:
    """Margins y w.x~_adv under ``attack``, shape ``(K, N)``, computed in memory-bounded chunks.

    For ``exact`` without a box this is the robust margin m in closed form (no (K, N, d) tensor
    is formed); with a box, the margin at the exact worst case inside it (BOX-MAX). ``fused``:
    as in :func:`perturb`.
    """
    check_data(X, y, name="X", labels="pm1", ndim=2)
    return _attacked_margins(W, X, y, eps, attack, generator, common_noise, fused=fused)


def _attacked_margins(
    W: torch.Tensor, X: torch.Tensor, y: torch.Tensor, eps: float | torch.Tensor,
    attack: AttackSpec, generator: torch.Generator | None = None, common_noise: bool = False,
    *, fused: bool = False,
) -> torch.Tensor:
    """:func:`attacked_margins` on data checked by the caller."""
    K, (N, d) = W.shape[0], X.shape
    if attack.kind == "clean":
        return margins(W, X, y)
    if attack.kind == "exact" and attack.box is None:
        return robust_margin(W, X, y, budgets(eps, K, X).reshape(-1), attack.norm)
    rows = _row_chunks(K, N, d)
    out = []
    for start in range(0, N, rows):
        sl = slice(start, start + rows)
        xa = _perturb(W, X[sl], y[sl], eps, attack, generator, common_noise, fused=fused)
        out.append(margins(W, xa, y[sl]))
    return torch.cat(out, dim=1)


def _deterministic(attack: AttackSpec) -> bool:
    """Whether ``attack`` draws no random numbers (so each example's result does not depend on
    which other examples are attacked with it, nor on a generator's state)."""
    if attack.kind in ("clean", "exact"):
        return True
    if attack.kind == "pgd":
        return attack.start == "none" or (attack.norm == "linf" and attack.step_factor >= 2.0)
    return False


#: relative slack of the screen of :func:`robust_correct` (float64 rounding is ~1e-16)
_SCREEN_SLACK = 1e-9


def robust_correct(
    W: torch.Tensor, X: torch.Tensor, y: torch.Tensor, eps: float | torch.Tensor,
    attacks: AttackSpec | tuple[AttackSpec, ...], generator: torch.Generator | None = None,
    common_noise: bool = False, *, fused: bool = False,
) -> torch.Tensor:
    """Whether each example is classified correctly under every attack of ``attacks`` (the
    lowest margin among them > 0), shape ``(K, N)`` bool.

    The same answer as ``min_a attacked_margins(..., a) > 0``, with less work when every attack
    is deterministic (no random start or noise): each attack's perturbation lies in the
    eps-ball (and the box), so its margin is at least the robust margin without the box,
    m = y w.x - eps ||w_f||_q (INNER-MAX, one matrix product); an example with m above a
    rounding slack is correct under every attack, and only the others (those the attack might
    break: a few percent) are attacked, model by model. Each example's attack is computed
    exactly as on the whole set (the attacks treat examples independently). Attacks that draw
    random numbers run on the whole set, in order, from ``generator``, as
    :func:`attacked_margins` does. ``fused``: as in :func:`perturb`.
    """
    check_data(X, y, name="X", labels="pm1", ndim=2)
    return _robust_correct(W, X, y, eps, attacks, generator, common_noise, fused=fused)


def _robust_correct(
    W: torch.Tensor, X: torch.Tensor, y: torch.Tensor, eps: float | torch.Tensor,
    attacks: AttackSpec | tuple[AttackSpec, ...], generator: torch.Generator | None = None,
    common_noise: bool = False, *, fused: bool = False,
) -> torch.Tensor:
    """:func:`robust_correct` on data checked by the caller."""
    attacks = (attacks,) if isinstance(attacks, AttackSpec) else tuple(attacks)
    K, d = W.shape[0], X.shape[1]
    e = budgets(eps, K, X).reshape(-1)
    screen = all(_deterministic(a) for a in attacks) and len({a.norm for a in attacks}) == 1
    if not screen or all(a.kind == "clean" for a in attacks):  # clean: one product anyway
        z = torch.stack([_attacked_margins(W, X, y, e, a, generator, common_noise,
                                           fused=fused) for a in attacks])
        return z.amin(dim=0) > 0
    norm = attacks[0].norm
    lower = robust_margin(W, X, y, e, norm)  # (K, N): no attack in the ball goes below it
    w = _pixel_weights(W, d)
    # the rounding of y w.x~ in float64 is far below 1e-9 (||w_f||_1 ||x||_inf + |b| + eps
    # ||w_f||_q), a bound on the terms it sums
    per_model = _eps_term(w, e, norm) + W[:, d:].abs().sum(dim=1)
    scale = torch.outer(w.abs().sum(dim=1), X.abs().amax(dim=1)) + per_model[:, None]
    correct = lower > _SCREEN_SLACK * scale
    for k in range(K):
        idx = torch.nonzero(~correct[k]).flatten()
        if idx.numel() == 0:
            continue
        xs, ys = X[idx], y[idx]
        z = torch.stack([_attacked_margins(W[k:k + 1], xs, ys, e[k:k + 1], a, generator,
                                           common_noise, fused=fused)[0] for a in attacks])
        correct[k, idx] = z.amin(dim=0) > 0
    return correct


def _eps_term(w: torch.Tensor, e: torch.Tensor, norm: str) -> torch.Tensor:
    """eps_k ||w_k||_q per model (q = 2 for L2, 1 for L-inf): how far an attack in the ball can
    lower a margin; ``w`` the pixel weights ``(K, d)``, ``e`` ``(K,)``."""
    return e * (w.norm(dim=1) if norm == "l2" else w.abs().sum(dim=1))


def adversarial_loss(
    W: torch.Tensor, X: torch.Tensor, y: torch.Tensor, eps: float | torch.Tensor,
    attack: AttackSpec, generator: torch.Generator | None = None, common_noise: bool = False,
    *, fused: bool = False,
) -> torch.Tensor:
    """Training loss of each model under its attack, mean_n zeta(-y w.x~_adv), shape ``(K,)``
    (``fused``: as in :func:`perturb`, the attacked inputs summed into the loss as they are
    made, chunk by chunk as :func:`attacked_margins` draws them)."""
    if fused:
        check_data(X, y, name="X", labels="pm1", ndim=2)
        K, (N, d) = W.shape[0], X.shape
        rows, total = _row_chunks(K, N, d), None
        for start in range(0, N, rows):
            sl = slice(start, start + rows)
            summed = _fused_loss_gradient(W, X[sl], y[sl], eps, attack, generator, common_noise)
            if summed is None:  # not fused (decided before any draw): the margins below
                break
            part = summed[0] * y[sl].shape[0]
            total = part if total is None else total + part
        else:
            return total / N
    z = attacked_margins(W, X, y, eps, attack, generator, common_noise, fused=fused)
    return zeta(-z).mean(dim=1)


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


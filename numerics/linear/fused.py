r"""A linear model's PGD on one block of rows as one compiled kernel (``torch.compile``), and
the L-inf PGD limit in one pass.

The eager loop of :func:`numerics.linear.attack._pgd_block` passes over the block four times a
step (add the step, take the row norms, scale, clamp to the box), each pass a kernel of its own.
:func:`pgd_block` states the same iteration, from the start draw to x + delta, and lets
``torch.compile`` fuse it into a few loops over the block; :func:`linf_limit` computes
clip_box(x - eps y sign(w)) in one pass instead of three. On the CPU a training step of the
budget study's box runs is about twice as fast (``python benchmarks/fused_pgd.py``). The
iterates are the eager loop's up to rounding: the row norms are summed in another order (1e-16
relative), which a long training run carries into its last digits, so a study that uses it
says so in its config.

Without a working compiler (``torch.compile`` needs a C++ compiler on the CPU) it warns once and
runs the same function eagerly.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable

import torch

__all__ = ["linf_limit", "pgd_block"]


Start = torch.Tensor | tuple[torch.Tensor, torch.Tensor] | None


def _iterate(x: torch.Tensor, y: torch.Tensor, unit: torch.Tensor, factor: torch.Tensor,
             e: torch.Tensor, start: Start, steps: int, l2: bool,
             box: tuple[float, float] | None) -> torch.Tensor:
    """x + delta after ``steps`` PGD steps, delta = P(delta + factor (-y unit)) from
    delta = P(start * e) (0 without a start); P the ball (radius e, per model) then the box.

    Shapes: x ``(1, rows, d)``, y ``(rows,)``, unit ``(K, d)`` (w/||w||, or sign(w)),
    factor and e ``(K, 1, 1)``; start ``(1 or K, rows, d)`` in the unit ball, or the L2 draws
    (Gaussians ``(1 or K, rows, d)``, radii ``(1 or K, rows, 1)``) of
    :func:`numerics.attacks.l2_ball_draws`, scaled here as :func:`uniform_ball_noise` does."""
    step = (-y[None, :, None] * unit[:, None, :]) * factor
    lo_hi = None if box is None else (box[0] - x, box[1] - x)
    tiny = torch.finfo(x.dtype).tiny
    if isinstance(start, tuple):
        gauss = start[0].to(x.dtype)
        start = gauss / torch.linalg.vector_norm(gauss, dim=-1, keepdim=True) * start[1]

    def project(delta: torch.Tensor) -> torch.Tensor:
        if l2:
            length = torch.linalg.vector_norm(delta, dim=-1, keepdim=True)
            delta = delta * torch.where(length > e, e / length.clamp_min(tiny), 1.0)
        else:
            delta = torch.minimum(torch.maximum(delta, -e), e)
        if lo_hi is not None:
            delta = torch.minimum(torch.maximum(delta, lo_hi[0]), lo_hi[1])
        return delta

    delta = project(start * e if start is not None else torch.zeros_like(step))
    for _ in range(steps):
        delta = project(delta + step)
    return delta + x


def _limit(x: torch.Tensor, y: torch.Tensor, unit: torch.Tensor, e: torch.Tensor,
           box: tuple[float, float] | None) -> torch.Tensor:
    """The L-inf PGD limit x - e y sign(w) (``unit`` = sign(w), ``(K, d)``), clipped to the box:
    ``(K, rows, d)`` (see :mod:`numerics.linear.attack`)."""
    adversarial = (-y[None, :, None] * unit[:, None, :]) * e + x
    return adversarial if box is None else torch.clamp(adversarial, box[0], box[1])


#: graphs one process may build: one per (steps, norm, box, start or not), and one more per
#: kind once the block's shape varies (the row count becomes dynamic then)
_GRAPHS = 64


@functools.cache
def _compiled(limit: bool = False) -> Callable[..., torch.Tensor]:
    return torch.compile(_limit if limit else _iterate, fullgraph=True)


@functools.cache
def _warn_eager(reason: str) -> None:
    warnings.warn(f"fused PGD: torch.compile is not available here ({reason}); the same "
                  "iteration runs eagerly, slower (on the CPU torch.compile needs a C++ "
                  "compiler, e.g. gcc)", RuntimeWarning, stacklevel=3)


def pgd_block(x: torch.Tensor, y: torch.Tensor, unit: torch.Tensor, factor: torch.Tensor,
              e: torch.Tensor, start: Start, steps: int, norm: str,
              box: tuple[float, float] | None) -> torch.Tensor:
    """PGD with projection onto the ball then the box on one block of rows, compiled: the
    perturbed inputs x + delta ``(K, rows, d)``, all tensors in one dtype (see
    :func:`_iterate` for the shapes; ``norm`` ``"l2"`` or ``"linf"``)."""
    return _run(False, x, y, unit, factor, e, start, steps, norm == "l2", box)


def linf_limit(x: torch.Tensor, y: torch.Tensor, unit: torch.Tensor, e: torch.Tensor,
               box: tuple[float, float] | None) -> torch.Tensor:
    """The L-inf PGD limit clip_box(x - e y sign(w)) in one compiled pass, ``(K, rows, d)``:
    x ``(1, rows, d)``, y ``(rows,)``, unit = sign(w) ``(K, d)``, e ``(K, 1, 1)``."""
    return _run(True, x, y, unit, e, box)


#: the kernels (``limit`` or not) whose build failed in this process: they run eagerly from
#: then on, without trying the compiler again at every call
_EAGER: set[bool] = set()


def _run(limit: bool, *args: object) -> torch.Tensor:
    """The compiled :func:`_limit` or :func:`_iterate` on ``args``; eager when the compiler
    fails (then for the rest of the process)."""
    eager = _limit if limit else _iterate
    if limit in _EAGER:
        return eager(*args)
    try:
        with torch._dynamo.config.patch(recompile_limit=_GRAPHS):
            return _compiled(limit)(*args)
    except Exception as exc:  # a compiler failure of any kind: the eager loop is correct
        if not _compile_failure(exc):
            raise
        _EAGER.add(limit)
        _warn_eager(type(exc).__name__)
        return eager(*args)


def _compile_failure(exc: Exception) -> bool:
    """Whether ``exc`` comes from torch.compile's machinery (no compiler, a failed build)
    rather than from the computation itself."""
    module = type(exc).__module__
    return module.startswith(("torch._dynamo", "torch._inductor")) or (
        isinstance(exc, OSError | RuntimeError) and "compil" in str(exc).lower())

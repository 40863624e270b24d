r"""Weight-loss landscapes along filter-normalised directions (Li et al. 2018), re-attacked.

A 1-D landscape is ``a -> L(θ + a d)`` and a 2-D one ``(a, b) -> L(θ + a d_1 + b d_2)``, where the
directions are **filter-normalised**: for every weight tensor ``W`` whose first dimension indexes
filters (convolution output channels, rows of a linear layer), a Gaussian ``D`` is rescaled filter
by filter, ``D_i <- D_i ||W_i||_F / ||D_i||_F``; one-dimensional parameters (biases, BatchNorm
weights and biases) get direction 0 (Li et al.'s ``ignore='biasbn'``). This removes the scale
invariance of ReLU/BN networks, so landscapes of different models can be compared (Yamada et al.
Figures 2 and 4, claim Y-T1).

For an adversarially trained model the loss plotted is the **adversarial** loss: at every point
``θ' = θ + a d`` the attack is run again against ``θ'`` (PGD from :mod:`numerics.attacks`),
``L_adv(θ') = (1/N) Σ_n CE(f(θ'; x_n + η_n^*(θ')), y_n)``. **BatchNorm convention:** eval mode
(running statistics of the trained model, never updated), for the attack and the loss alike.

Two ways to evaluate the points, the same numbers (the PGD starts are drawn per point on the
one, per batch of points on the other): ``"vmap"`` stacks the parameters of ``points_per_batch``
points and maps the network over them with ``torch.func.vmap`` of ``functional_call``, so one
PGD run attacks all (point, sample) pairs together, which fills a GPU; ``"loop"`` evaluates one
point at a time through ``functional_call``, which on the CPU is faster (batched convolutions
over stacked weights cost more there than the loop saves: ``benchmarks/landscape_paths.py``,
1.6x to 2.7x). ``path="auto"`` takes the loop on the CPU and vmap elsewhere.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn
from torch.func import functional_call, vmap

from numerics.attacks import AttackSpec, pgd_on_loss, random_noise
from theory.errors import ConfigError
from theory.validate import check_eps

__all__ = [
    "evaluate_points",
    "filter_normalized_direction",
    "landscape_1d",
    "landscape_2d",
]

Params = dict[str, torch.Tensor]


def filter_normalized_direction(
    model: nn.Module, *, generator: torch.Generator | None = None, ignore_bias_bn: bool = True
) -> Params:
    r"""A Gaussian direction in weight space, filter-normalised as in Li et al. 2018.

    For each trainable tensor ``W`` with ``W.dim() > 1`` and each filter ``i`` (index along the
    first dimension): ``d_i = g_i ||W_i|| / ||g_i||`` with ``g ~ N(0, I)``, so
    ``||d_i|| = ||W_i||`` (a zero filter gets a zero direction). Tensors with ``dim() <= 1``
    (biases, BatchNorm weights and biases) get 0 when ``ignore_bias_bn`` (Li et al.'s default),
    otherwise the same rule with the whole vector as one filter.

    Args:
        model: the network at θ. generator: random source (reproducibility).

    Returns:
        ``{name: d}`` for every trainable parameter, same shapes, dtypes and devices.
    """
    out: Params = {}
    for name, w in model.named_parameters():
        if not w.requires_grad:
            continue
        w = w.detach()
        if w.dim() <= 1 and ignore_bias_bn:
            out[name] = torch.zeros_like(w)
            continue
        g = torch.randn(w.shape, generator=generator, dtype=w.dtype, device="cpu").to(w.device)
        wf = w.reshape(w.shape[0], -1) if w.dim() > 1 else w.reshape(1, -1)
        gf = g.reshape(wf.shape)
        scale = wf.norm(dim=1, keepdim=True) / gf.norm(dim=1, keepdim=True).clamp_min(
            torch.finfo(w.dtype).tiny)
        out[name] = (gf * scale).reshape(w.shape)
    return out


def _check_direction(model: nn.Module, direction: Params, stacked: bool = False) -> None:
    names = [k for k, p in model.named_parameters() if p.requires_grad]
    if sorted(names) != sorted(direction):
        raise ConfigError(
            "the direction does not match the model's parameters: build it with "
            "filter_normalized_direction(model)"
        )
    for k, p in model.named_parameters():
        shape = direction[k].shape[1:] if stacked else direction[k].shape
        if p.requires_grad and shape != p.shape:
            raise ConfigError(f"direction {k!r} has shape {tuple(shape)}, the "
                              f"parameter {tuple(p.shape)}")


LANDSCAPE_PATHS = ("auto", "loop", "vmap")


def evaluate_points(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, offsets: Params, *,
    attack: AttackSpec | None = None, eps: float | None = None, batch_size: int = 256,
    points_per_batch: int = 8, seed: int = 0, path: str = "auto",
) -> tuple[np.ndarray, np.ndarray]:
    r"""Loss and accuracy at ``P`` points ``θ + Δ_p`` (``offsets[name]`` has shape ``(P, *shape)``).

    ``L(θ + Δ_p) = (1/N) Σ_n CE(f(θ + Δ_p; x_n'), y_n)`` with ``x_n' = x_n`` without ``attack``
    (or for a ``"clean"`` one, or at ``eps = 0``), ``x_n' = PGD`` (``attack`` at budget ``eps``)
    against ``θ + Δ_p`` for ``"pgd"``, and ``x_n'`` = uniform noise in the eps-ball (clipped to
    the box) for ``"random"``; BN in eval mode. ``"exact"`` (a linear model's closed form) is
    refused. ``eps`` defaults to ``attack.eps`` (else 0). The data go in chunks of
    ``batch_size``; ``path`` (module docstring) evaluates ``points_per_batch`` points at a time
    through ``vmap(functional_call)`` or one point at a time; the PGD start (or the noise)
    comes from a generator seeded with ``seed`` for each (chunk of points, chunk of data).

    Returns:
        ``(loss, accuracy)``, two float64 arrays of length P.
    """
    _check_direction(model, offsets, stacked=True)
    if eps is None:
        eps = attack.eps if attack is not None and attack.eps is not None else 0.0
    eps = check_eps(eps)
    if path not in LANDSCAPE_PATHS:
        raise ConfigError(f"unknown landscape path {path!r}: use one of {LANDSCAPE_PATHS}")
    if path == "auto":
        path = "loop" if x.device.type == "cpu" else "vmap"
    per_batch = 1 if path == "loop" else points_per_batch
    if attack is not None and attack.kind == "exact":
        raise ConfigError("the exact worst case is a linear model's: re-attack network "
                          "landscapes with 'pgd' (or 'random' noise)")
    if x.shape[0] != y.shape[0] or x.shape[0] == 0:
        raise ConfigError(f"x has {x.shape[0]} samples and y {y.shape[0]}: pass matching batches")
    if points_per_batch < 1 or batch_size < 1:
        raise ConfigError("points_per_batch and batch_size must be >= 1")
    base = {k: p.detach() for k, p in model.named_parameters() if p.requires_grad}
    num_points = next(iter(offsets.values())).shape[0]
    n = x.shape[0]
    losses = np.zeros(num_points)
    accs = np.zeros(num_points)
    was_training = model.training
    model.eval()
    try:
        for p0 in range(0, num_points, per_batch):
            p1 = min(p0 + per_batch, num_points)
            stacked = {k: base[k].unsqueeze(0) + offsets[k][p0:p1] for k in base}
            for s0 in range(0, n, batch_size):
                ce, correct = _chunk(model, stacked, x[s0:s0 + batch_size],
                                     y[s0:s0 + batch_size], attack, eps, seed,
                                     vectorised=path == "vmap")
                losses[p0:p1] += ce.sum(1).double().cpu().numpy() / n
                accs[p0:p1] += correct.sum(1).double().cpu().numpy() / n
    finally:
        model.train(was_training)
    return losses, accs


def _chunk(
    model: nn.Module, stacked: Params, xb: torch.Tensor, yb: torch.Tensor,
    attack: AttackSpec | None, eps: float, seed: int, vectorised: bool = True,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-(point, sample) losses and correctness ``(P, B)`` for one chunk of points and data
    (``vectorised``: vmap over the P points; else P = 1 and a plain call)."""
    buffers = {k: b.detach() for k, b in model.named_buffers()}
    npts, b = next(iter(stacked.values())).shape[0], xb.shape[0]
    ys = yb.unsqueeze(0).expand(npts, b).reshape(-1)

    def single(prm: Params, inputs: torch.Tensor) -> torch.Tensor:
        return functional_call(model, (prm, buffers), (inputs,))

    def logits_fn(xs: torch.Tensor) -> torch.Tensor:
        """xs: (P, B, ...) -> logits (P, B, K)."""
        if vectorised:
            return vmap(single)(stacked, xs)
        return single({k: v[0] for k, v in stacked.items()}, xs[0])[None]

    def per_sample_loss(flat: torch.Tensor) -> torch.Tensor:
        lg = logits_fn(flat.reshape(npts, b, *flat.shape[1:]))
        return nn.functional.cross_entropy(lg.reshape(npts * b, -1), ys, reduction="none")

    flat = xb.unsqueeze(0).expand(npts, *xb.shape).reshape(npts * b, *xb.shape[1:])
    if attack is not None and attack.kind in ("pgd", "random") and eps > 0:
        gen = torch.Generator(device=xb.device).manual_seed(seed)
        if attack.kind == "pgd":
            flat = pgd_on_loss(per_sample_loss, flat, eps, attack.norm, attack.steps,
                       attack.alpha(eps), box=attack.box, start=attack.start,
                       projection=attack.projection, restarts=attack.restarts,
                       generator=gen)
        else:
            flat = random_noise(flat, eps, attack.norm, box=attack.box, generator=gen)
    with torch.no_grad():
        lg = logits_fn(flat.reshape(npts, b, *xb.shape[1:]))
        ce = nn.functional.cross_entropy(
            lg.reshape(npts * b, -1), ys, reduction="none").reshape(npts, b)
        correct = lg.argmax(-1) == yb.unsqueeze(0)
    return ce, correct


def landscape_1d(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, direction: Params,
    alphas: Sequence[float] | np.ndarray, **kwargs: object,
) -> dict[str, list[float]]:
    r"""The 1-D landscape ``a -> L(θ + a d)`` (adversarial loss re-attacked at each point).

    Args:
        model: the network at θ. x, y: data. direction: from :func:`filter_normalized_direction`.
        alphas: the values of ``a`` (Yamada et al. use ``a`` in [-1, 1]).
        kwargs: ``attack``, ``eps``, ``batch_size``, ``points_per_batch``, ``seed`` of
            :func:`evaluate_points`.

    Returns:
        ``{"alpha": [...], "loss": [...], "accuracy": [...]}``.
    """
    _check_direction(model, direction)
    a = torch.as_tensor(np.asarray(alphas, dtype=np.float64))
    offsets = {k: a.to(d.device, d.dtype).reshape(-1, *([1] * d.dim())) * d.unsqueeze(0)
               for k, d in direction.items()}
    loss, acc = evaluate_points(model, x, y, offsets, **kwargs)  # type: ignore[arg-type]
    return {"alpha": a.tolist(), "loss": loss.tolist(), "accuracy": acc.tolist()}


def landscape_2d(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, d1: Params, d2: Params,
    alphas: Sequence[float] | np.ndarray, betas: Sequence[float] | np.ndarray,
    **kwargs: object,
) -> dict[str, list]:
    r"""The 2-D landscape ``(a, b) -> L(θ + a d_1 + b d_2)`` on the grid ``alphas x betas``.

    Returns:
        ``{"alpha": [...], "beta": [...], "loss": A x B nested list, "accuracy": A x B}``.
    """
    _check_direction(model, d1)
    _check_direction(model, d2)
    a = np.asarray(alphas, dtype=np.float64)
    b = np.asarray(betas, dtype=np.float64)
    aa, bb = (torch.as_tensor(g.reshape(-1)) for g in np.meshgrid(a, b, indexing="ij"))
    offsets = {}
    for k in d1:
        shape = (-1, *([1] * d1[k].dim()))
        offsets[k] = (aa.to(d1[k]).reshape(shape) * d1[k].unsqueeze(0)
                      + bb.to(d2[k]).reshape(shape) * d2[k].unsqueeze(0))
    loss, acc = evaluate_points(model, x, y, offsets, **kwargs)  # type: ignore[arg-type]
    return {"alpha": a.tolist(), "beta": b.tolist(),
            "loss": loss.reshape(a.size, b.size).tolist(),
            "accuracy": acc.reshape(a.size, b.size).tolist()}

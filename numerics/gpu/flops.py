r"""The cost model of the GPU programme: FLOPs per image of ResNet18 and the rates assumed.

Work is counted in *forward equivalents* per image, f = the FLOPs (2 x multiply-adds of the
convolutions and the linear head) of one forward pass of ResNet18, counted on the model itself
(:func:`forward_flops`, forward hooks on the meta device, so no memory and no data). A PGD step
costs 2f (a forward pass and the backward pass to the input; the fast path builds no graph for
the weights), a training step 3f (forward and backward to inputs and weights), a Hessian-vector
product (forward-over-reverse) :data:`HVP_FORWARDS` f. PGD-k adversarial training thus costs
(2k + 3) f per image and epoch.

Rates (FLOP/s) come from one published figure: PGD-10 adversarial training of the CIFAR-10
ResNet18 (width 64) runs at about 9-12 s per 50,000-image epoch on an H100 with bf16 autocast,
channels-last, the data on the GPU and attack steps without weight gradients. :func:`fast_rate`
takes the slow end, 12 s. The float32 paths (curvature, landscapes, the fp32 reference) are
assumed :data:`FP32_SLOWDOWN` times slower (TF32 convolutions against bf16). Stage 1 measures
the bf16 matmul ceiling and stage 3 the real throughputs, so the assumptions are checked by the
first run.
"""

from __future__ import annotations

import functools

import torch
from torch import nn

__all__ = ["EIGSH_MATVECS", "FP32_SLOWDOWN", "HVP_FORWARDS", "PUBLISHED_EPOCH_SECONDS",
           "eval_forwards", "fast_rate", "forward_flops", "fp32_rate", "train_forwards"]

#: Seconds of one PGD-10 training epoch (50,000 CIFAR-10 images) on an H100, the slow end of the
#: published 9-12 s.
PUBLISHED_EPOCH_SECONDS = 12.0
#: float32 (TF32 convolutions) work is assumed this many times slower than the bf16 fast path.
FP32_SLOWDOWN = 3.0
#: A Hessian-vector product in forward passes (a gradient is 3; forward-over-reverse ~2.5 x).
HVP_FORWARDS = 8.0
#: Matrix-vector products eigsh is assumed to take for the top 3 eigenvalues at tol 1e-3 (the
#: committed CPU records took 21-40; each record holds its own ``eigsh_matvecs``).
EIGSH_MATVECS = 40


@functools.cache
def forward_flops(in_channels: int = 3, image_size: int = 32, width: int = 64,
                  num_classes: int = 10) -> float:
    """FLOPs (2 x multiply-adds) of one ResNet18 forward pass on one image.

    Counted by forward hooks on every convolution (output elements x input channels per group
    x kernel area) and linear layer (inputs x outputs) of the model built on the meta device.
    BatchNorm, ReLU and additions (a few percent) are left out.
    """
    from numerics.nets.models import ResNet18

    model = ResNet18(num_classes, in_channels, width, dtype=torch.float32, device="meta")
    macs = [0]

    def hook(module: nn.Module, inputs: tuple[torch.Tensor, ...], out: torch.Tensor) -> None:
        if isinstance(module, nn.Conv2d):
            k = module.kernel_size[0] * module.kernel_size[1]
            macs[0] += out[0].numel() * (module.in_channels // module.groups) * k
        elif isinstance(module, nn.Linear):
            macs[0] += module.in_features * module.out_features

    handles = [m.register_forward_hook(hook) for m in model.modules()
               if isinstance(m, nn.Conv2d | nn.Linear)]
    try:
        model(torch.empty(1, in_channels, image_size, image_size, device="meta"))
    finally:
        for h in handles:
            h.remove()
    return 2.0 * macs[0]


def train_forwards(steps: int, eps: float) -> float:
    """Forward equivalents of one PGD-``steps`` training step per image ((2k + 3), 3 at eps 0)."""
    return 3.0 + (2.0 * steps if eps > 0 else 0.0)


def eval_forwards(steps: int, starts: int, eps: float) -> float:
    """Forward equivalents of a robust evaluation per image: the clean pass, then per start
    PGD-``steps`` and one forward pass (1 at eps 0: the attack returns the input)."""
    return 1.0 + (starts * (2.0 * steps + 1.0) if eps > 0 else 0.0)


def fast_rate() -> float:
    """FLOP/s of the fast path on an H100, from the published PGD-10 epoch time."""
    return train_forwards(10, 1.0) * forward_flops() * 50_000 / PUBLISHED_EPOCH_SECONDS


def fp32_rate() -> float:
    """FLOP/s assumed for the float32 paths (:data:`FP32_SLOWDOWN` x slower)."""
    return fast_rate() / FP32_SLOWDOWN

"""Stage 3 (and ``benchmarks/resnet18_gpu.py``): speed of the ResNet18 machinery on CIFAR shapes.

Measured on synthetic uniform pixels (3x32x32, 10 classes; speed does not depend on the pixel
values), eps 8/255, PGD step 2/255:

1. PGD-k adversarial-training throughput (images/s) of the fast path (bf16 autocast,
   channels-last, attack without weight gradients, data on the device, optional torch.compile)
   against a plain fp32 eager loop, and their ratio;
2. the time of one Hessian-vector product (forward-over-reverse) over one gradient's;
3. the time to the top-3 Hessian eigenvalues (scipy eigsh, tolerance ``eig_tol``, default 1e-3)
   on ``hessian_images`` images;
4. the time of a ``landscape_points``-point 1-D adversarial landscape (re-attacked per point).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import torch
from torch import nn

__all__ = ["EPS", "SMOKE_SIZES", "measure"]

EPS = 8 / 255
#: Tiny sizes that only check the code runs.
SMOKE_SIZES: Mapping[str, Any] = dict(width=4, batch_size=8, pgd_steps=2, repeats=2,
                                      hessian_images=32, hvp_batch=16, eig_tol=1e-3,
                                      landscape_points=5, landscape_images=8, points_per_batch=5)


def _pgd(steps: int) -> Any:
    from numerics.attacks import AttackSpec

    return AttackSpec("pgd", "linf", steps, step_size=2 / 255)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _timeit(fn: Callable[[], object], device: torch.device, repeats: int, warmup: int = 2
            ) -> float:
    """Median seconds of ``fn`` over ``repeats`` runs after ``warmup`` runs."""
    for _ in range(warmup):
        fn()
    _sync(device)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        _sync(device)
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def _train_step(model: nn.Module, opt: torch.optim.Optimizer, x: torch.Tensor, y: torch.Tensor,
                steps: int, fast: bool, forward: nn.Module) -> None:
    """One PGD-``steps`` adversarial training step (eps 8/255, step 2/255)."""
    from numerics.nets.attack import adversarial_examples

    xa = adversarial_examples(forward, x, y, EPS, _pgd(steps), bn_mode="train", fast=fast)
    model.train()
    ctx = (torch.autocast(device_type=x.device.type, dtype=torch.bfloat16) if fast
           else torch.autocast(device_type=x.device.type, enabled=False))
    with ctx:
        logits = forward(xa)
    loss = nn.functional.cross_entropy(logits.float(), y)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()


def measure(sizes: Mapping[str, Any], device: str, *, compile: bool = False,
            say: Callable[[str], None] = print) -> dict[str, Any]:
    """The four measurements at ``sizes`` (keys as :data:`SMOKE_SIZES`) on ``device``."""
    from numerics.nets.attack import adversarial_examples, frozen_weights
    from numerics.nets.curvature import HessianOperator
    from numerics.nets.landscape import filter_normalized_direction, landscape_1d
    from numerics.nets.models import ResNet18
    from numerics.spectra import top_hessian_eigs

    s = dict(sizes)
    dev = torch.device(device)
    torch.manual_seed(0)
    n_data = max(s["batch_size"], s["hessian_images"], s["landscape_images"])
    x_all = torch.rand(n_data, 3, 32, 32, device=dev, dtype=torch.float32)
    y_all = torch.randint(0, 10, (n_data,), device=dev)
    xb, yb = x_all[:s["batch_size"]], y_all[:s["batch_size"]]
    out: dict[str, Any] = {"sizes": s, "compile": compile}

    rates = {}
    for name, fast in (("fp32_eager", False), ("fast", True)):
        model = ResNet18(width=s["width"], dtype=torch.float32, device=dev)
        x = xb
        forward: nn.Module = model
        if fast:
            model = model.to(memory_format=torch.channels_last)
            x = xb.contiguous(memory_format=torch.channels_last)
            if compile:
                forward = torch.compile(model)
        opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4)
        sec = _timeit(lambda m=model, o=opt, x=x, f=fast, fw=forward: _train_step(
            m, o, x, yb, s["pgd_steps"], f, fw), dev, s["repeats"])
        rates[name] = s["batch_size"] / sec
    out["at_images_per_s"] = rates
    out["at_speedup_fast_over_fp32"] = rates["fast"] / rates["fp32_eager"]
    say(f"  PGD-{s['pgd_steps']} training: fast {rates['fast']:.4g} img/s, fp32 "
        f"{rates['fp32_eager']:.4g} img/s")

    model = ResNet18(width=s["width"], dtype=torch.float32, device=dev).eval()
    op = HessianOperator(model, xb, yb)
    v = torch.randn(op.shape[0], device=dev, dtype=torch.float32)

    def gradient() -> None:
        model.zero_grad(set_to_none=True)
        nn.functional.cross_entropy(model(xb), yb).backward()

    t_grad = _timeit(gradient, dev, s["repeats"])
    t_hvp = _timeit(lambda: op.matvec_torch(v), dev, s["repeats"])
    out.update(grad_seconds=t_grad, hvp_seconds=t_hvp, hvp_over_grad=t_hvp / t_grad)
    say(f"  HVP / gradient: {t_hvp / t_grad:.3g}")

    xh, yh = x_all[:s["hessian_images"]], y_all[:s["hessian_images"]]
    hb = s["hvp_batch"]
    with frozen_weights(model):
        xh_adv = torch.cat([adversarial_examples(model, xh[i:i + hb], yh[i:i + hb], EPS,
                                                 _pgd(s["pgd_steps"]))
                            for i in range(0, xh.shape[0], hb)])
    _sync(dev)
    start = time.perf_counter()
    eigs = top_hessian_eigs(HessianOperator(model, xh_adv, yh, batch_size=hb), k=3,
                            tol=s.get("eig_tol", 1e-3))
    _sync(dev)
    out.update(eig_seconds=time.perf_counter() - start, top_eigs=eigs.values.tolist(),
               eig_matvecs=eigs.matvecs, eig_images=int(xh.shape[0]))
    say(f"  top-3 eigenvalues on {xh.shape[0]} images: {out['eig_seconds']:.3g} s "
        f"({eigs.matvecs} HVPs)")

    direction = filter_normalized_direction(model, generator=torch.Generator().manual_seed(0))
    xl, yl = x_all[:s["landscape_images"]], y_all[:s["landscape_images"]]
    start = time.perf_counter()
    landscape_1d(model, xl, yl, direction, np.linspace(-1, 1, s["landscape_points"]),
                 attack=_pgd(s["pgd_steps"]), eps=EPS,
                 batch_size=min(500, s["landscape_images"]),
                 points_per_batch=s["points_per_batch"])
    _sync(dev)
    out.update(landscape_seconds=time.perf_counter() - start,
               landscape_points=s["landscape_points"], landscape_images=int(xl.shape[0]))
    say(f"  {s['landscape_points']}-point landscape on {xl.shape[0]} images: "
        f"{out['landscape_seconds']:.3g} s")
    return out

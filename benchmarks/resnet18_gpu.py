"""Benchmark of the ResNet18 machinery on a GPU: prints measured times and ratios (no assertions).

Measures, on CIFAR-shaped inputs (3x32x32, 10 classes; synthetic uniform pixels, since speed does
not depend on the pixel values):

1. PGD-10 adversarial-training throughput (images/s) of the fast path (bf16 autocast,
   channels-last, attack without weight gradients, data on the GPU, optional torch.compile)
   against a plain fp32 eager loop, and their ratio;
2. the time of one Hessian-vector product (forward-over-reverse) over the time of one gradient;
3. the time to the top-3 Hessian eigenvalues (scipy eigsh) on ``--hessian-images`` images;
4. the time of a ``--landscape-points``-point 1-D adversarial landscape (re-attacked per point).

Usage::

    python benchmarks/resnet18_gpu.py                 # on a CUDA machine
    python benchmarks/resnet18_gpu.py --smoke         # anywhere: tiny sizes, checks it runs

Without CUDA and without ``--smoke`` it refuses: CPU numbers are not GPU numbers.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable

import numpy as np
import torch
from torch import nn

from numerics.attacks import AttackSpec
from numerics.nets.attack import adversarial_examples, frozen_weights
from numerics.nets.curvature import HessianOperator
from numerics.nets.landscape import filter_normalized_direction, landscape_1d
from numerics.nets.models import ResNet18
from numerics.records import device_description, write_json
from numerics.spectra import top_hessian_eigs

EPS = 8 / 255


def _pgd(steps: int) -> AttackSpec:
    """PGD-``steps`` with the presets' absolute step 2/255 (eps 8/255 is passed beside it)."""
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true",
                        help="tiny sizes on any device (checks that the script runs)")
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--width", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--pgd-steps", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--hessian-images", type=int, default=10_000)
    parser.add_argument("--hvp-batch", type=int, default=1000)
    parser.add_argument("--landscape-points", type=int, default=51)
    parser.add_argument("--landscape-images", type=int, default=1000)
    parser.add_argument("--points-per-batch", type=int, default=4)
    parser.add_argument("--compile", action="store_true", help="torch.compile the fast path")
    parser.add_argument("--out", default=None, help="also write the numbers as JSON here")
    args = parser.parse_args(argv)

    if args.smoke:
        args.device = "cuda" if torch.cuda.is_available() and args.device == "cuda" else "cpu"
        args.width, args.batch_size, args.pgd_steps, args.repeats = 4, 8, 2, 2
        args.hessian_images, args.hvp_batch = 32, 16
        args.landscape_points, args.landscape_images, args.points_per_batch = 5, 8, 5
        if args.device == "cpu":
            torch.set_num_threads(1)  # tiny models on a shared CPU: threads only contend
    elif not (args.device.startswith("cuda") and torch.cuda.is_available()):
        print("resnet18_gpu.py measures GPU speed and needs CUDA (none is available here). "
              "Run it on a CUDA machine, or pass --smoke for a tiny run that only checks the "
              "script works; its numbers are not GPU numbers.", file=sys.stderr)
        return 2
    device = torch.device(args.device)
    torch.manual_seed(0)
    n_data = max(args.batch_size, args.hessian_images, args.landscape_images)
    x_all = torch.rand(n_data, 3, 32, 32, device=device)
    y_all = torch.randint(0, 10, (n_data,), device=device)
    xb, yb = x_all[:args.batch_size], y_all[:args.batch_size]
    out: dict[str, object] = {"device": device_description(str(device)), "smoke": args.smoke,
                              "args": vars(args)}

    # 1. adversarial-training throughput: fast path vs plain fp32 eager
    results = {}
    for name, fast in (("fp32_eager", False), ("fast", True)):
        model = ResNet18(width=args.width, dtype=torch.float32, device=device)
        x = xb
        forward: nn.Module = model
        if fast:
            model = model.to(memory_format=torch.channels_last)
            x = xb.contiguous(memory_format=torch.channels_last)
            if args.compile:
                forward = torch.compile(model)
        opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4)
        sec = _timeit(lambda m=model, o=opt, x=x, f=fast, fw=forward: _train_step(
            m, o, x, yb, args.pgd_steps, f, fw), device, args.repeats)
        results[name] = args.batch_size / sec
    out["at_images_per_s"] = results
    out["at_speedup_fast_over_fp32"] = results["fast"] / results["fp32_eager"]

    # 2. HVP time / gradient time (fp32, BN eval, one batch)
    model = ResNet18(width=args.width, dtype=torch.float32, device=device).eval()
    op = HessianOperator(model, xb, yb)
    v = torch.randn(op.shape[0], device=device)

    def gradient() -> None:
        model.zero_grad(set_to_none=True)
        nn.functional.cross_entropy(model(xb), yb).backward()

    t_grad = _timeit(gradient, device, args.repeats)
    t_hvp = _timeit(lambda: op.matvec_torch(v), device, args.repeats)
    out.update(grad_seconds=t_grad, hvp_seconds=t_hvp, hvp_over_grad=t_hvp / t_grad)

    # 3. top-3 eigenvalues on hessian_images images (adversarial examples held fixed)
    xh, yh = x_all[:args.hessian_images], y_all[:args.hessian_images]
    with frozen_weights(model):
        xh_adv = torch.cat([
            adversarial_examples(model, xh[i:i + args.hvp_batch], yh[i:i + args.hvp_batch],
                                 EPS, _pgd(args.pgd_steps))
            for i in range(0, xh.shape[0], args.hvp_batch)])
    _sync(device)
    start = time.perf_counter()
    eigs = top_hessian_eigs(HessianOperator(model, xh_adv, yh, batch_size=args.hvp_batch), k=3,
                            tol=1e-3).values
    _sync(device)
    out.update(eig_seconds=time.perf_counter() - start, top_eigs=eigs.tolist(),
               eig_images=int(xh.shape[0]))

    # 4. a 1-D adversarial landscape (PGD re-run at every point)
    direction = filter_normalized_direction(model, generator=torch.Generator().manual_seed(0))
    xl, yl = x_all[:args.landscape_images], y_all[:args.landscape_images]
    start = time.perf_counter()
    landscape_1d(model, xl, yl, direction, np.linspace(-1, 1, args.landscape_points),
                 attack=_pgd(args.pgd_steps), eps=EPS,
                 batch_size=min(500, args.landscape_images),
                 points_per_batch=args.points_per_batch)
    _sync(device)
    out.update(landscape_seconds=time.perf_counter() - start,
               landscape_points=args.landscape_points, landscape_images=int(xl.shape[0]))

    if args.smoke:
        print("SMOKE RUN (tiny sizes): these numbers only show that the script runs; they are "
              "not GPU measurements.")
    print(json.dumps(out, indent=2, default=str))
    if args.out:
        write_json(args.out, out, overwrite=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

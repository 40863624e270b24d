"""Benchmark: the budget study's box runs with PGD eager and fused (``numerics.linear.fused``,
compiled by ``torch.compile``), back to back in one run.

Each training step attacks all 12,665 MNIST2 training images with PGD-5 in the [0, 1] box (L2
at eps 3; L-inf at eps 0.3, where PGD is its closed-form limit) and takes one full-batch Adam
step. The compiler's first build is timed on its own (a warm-up run of one step), then
``--steps`` steps each way; printed: seconds per step, the speed-up, and the largest
difference of the trained weights (relative to their norm) between the two, which is rounding:
the fused kernel sums the row norms in another order.

    python benchmarks/fused_pgd.py --steps 20 --threads 1
"""

from __future__ import annotations

import argparse
import time

import torch

from numerics.allocator import reuse_freed_memory
from numerics.attacks import AttackSpec
from numerics.experiments.budget import BudgetConfig, _train_config
from numerics.experiments.units import mnist2_subset
from numerics.linear.train import train_models


def _run(x: torch.Tensor, y: torch.Tensor, norm: str, eps: float, steps: int, fused: bool
         ) -> tuple[float, torch.Tensor]:
    """Seconds per step and the trained weights of ``steps`` box steps at budget ``eps``."""
    cfg = BudgetConfig()
    attack = AttackSpec("pgd", norm, cfg.pgd_steps, 2.5, box=(0.0, 1.0))
    start = time.perf_counter()
    w = train_models(x, y, eps, attack, _train_config(cfg, steps, False, noise_seed=1),
                     fused_pgd=fused).last
    return (time.perf_counter() - start) / steps, w


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    cfg = BudgetConfig()
    x, y = mnist2_subset(cfg.n_samples, cfg.seed)
    print(f"{'run':<5} {'eager s/step':>12} {'fused s/step':>12} {'speed-up':>8} "
          f"{'weights differ':>14} {'first fused step':>16}")
    with reuse_freed_memory():
        for norm, eps in (("l2", 3.0), ("linf", 0.3)):
            build, _ = _run(x, y, norm, eps, 1, True)
            eager, w0 = _run(x, y, norm, eps, args.steps, False)
            fused, w1 = _run(x, y, norm, eps, args.steps, True)
            diff = float((w0 - w1).abs().max() / w0.norm())
            print(f"{norm:<5} {eager:12.3f} {fused:12.3f} {eager / fused:7.2f}x {diff:14.1e} "
                  f"{build:14.2f} s")
    print(f"({args.steps} steps each; weights differ: the largest difference over their norm; "
          "the first fused step includes the compiler's build)")


if __name__ == "__main__":
    main()

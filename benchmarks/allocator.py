"""Benchmark: the budget study's full-batch box steps with glibc's default malloc and inside
``numerics.allocator.reuse_freed_memory`` (freed arrays reused), back to back in one run.

Each step of a box run (PGD in the [0, 1] box on all 12,665 MNIST2 images, no bias) makes
arrays of 12,665 x 784 doubles (79 MB). This times ``--steps`` steps of the L2 and the L-inf
run each way and prints seconds per step, user and system CPU per step, page faults per step,
the speed-up, and whether the trained weights are the same to the bit.

    python benchmarks/allocator.py --steps 20 --threads 1
"""

from __future__ import annotations

import argparse
import contextlib
import resource
import time

import torch

from numerics.allocator import reuse_freed_memory
from numerics.attacks import AttackSpec
from numerics.experiments.budget import BudgetConfig, _train_config
from numerics.experiments.units import mnist2_subset
from numerics.linear.train import train_models


def _timed(block: contextlib.AbstractContextManager, x: torch.Tensor, y: torch.Tensor,
           norm: str, eps: float, steps: int) -> tuple[dict[str, float], torch.Tensor]:
    cfg = BudgetConfig()
    attack = AttackSpec("pgd", norm, cfg.pgd_steps, 2.5, box=(0.0, 1.0))
    config = _train_config(cfg, steps, False, noise_seed=1)
    before, start = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
    with block:
        w = train_models(x, y, eps, attack, config).last
    wall, after = time.perf_counter() - start, resource.getrusage(resource.RUSAGE_SELF)
    return {"wall": wall / steps, "user": (after.ru_utime - before.ru_utime) / steps,
            "sys": (after.ru_stime - before.ru_stime) / steps,
            "faults": (after.ru_minflt - before.ru_minflt) / steps}, w


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    cfg = BudgetConfig()
    x, y = mnist2_subset(cfg.n_samples, cfg.seed)
    print(f"{'run':<6} {'malloc':<8} {'s/step':>7} {'user':>6} {'sys':>6} {'faults':>8}")
    for norm, eps in (("l2", 3.0), ("linf", 0.3)):
        default, w0 = _timed(contextlib.nullcontext(), x, y, norm, eps, args.steps)
        reused, w1 = _timed(reuse_freed_memory(), x, y, norm, eps, args.steps)
        for name, row in (("default", default), ("reused", reused)):
            print(f"{norm:<6} {name:<8} {row['wall']:7.3f} {row['user']:6.3f} {row['sys']:6.3f} "
                  f"{row['faults']:8.0f}")
        print(f"{norm:<6} speed-up {default['wall'] / reused['wall']:.2f}x, weights the same to "
              f"the bit: {torch.equal(w0, w1)}")


if __name__ == "__main__":
    main()

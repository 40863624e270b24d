"""Benchmark: the exact inner max's training step, loss and gradient from one pass over the data.

A full-batch step of the exact p = 2 training (the budget study's exact series: all of MNIST2,
12,665 x 784 float64, K models) needs the per-point robust loss and the mean robust gradient.
Computed by two calls (``robust_loss`` and ``robust_gradient(mean=True)``) it reads the data
matrix three times (scores twice, then the gradient's product) and builds an (N, d) copy of it,
-y x, at every step; ``robust_loss_and_mean_gradient`` reads it twice and builds no copy. This
prints, measured in one process back to back (AB then BA), the seconds of ``steps`` evaluations
each way, their ratio, and whether the two give the same numbers to the bit.

    python benchmarks/exact_objective.py --steps 50 --threads 1
"""

from __future__ import annotations

import argparse
import os
import time

import torch

from numerics.experiments.budget import BudgetConfig
from numerics.experiments.units import mnist2_subset
from numerics.linear.bounds import budget_threshold
from numerics.ops import robust_gradient, robust_loss, robust_loss_and_mean_gradient


def _two_calls(W: torch.Tensor, x: torch.Tensor, y: torch.Tensor, eps: torch.Tensor
               ) -> tuple[torch.Tensor, torch.Tensor]:
    return robust_loss(W, x, y, eps, "l2"), robust_gradient(W, x, y, eps, "l2", mean=True)


def _one_pass(W: torch.Tensor, x: torch.Tensor, y: torch.Tensor, eps: torch.Tensor
              ) -> tuple[torch.Tensor, torch.Tensor]:
    return robust_loss_and_mean_gradient(W, x, y, eps, "l2")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=50, help="evaluations per way")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--models", type=int, default=4, help="K (the budget study: 4 ratios)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    cfg = BudgetConfig()
    x, y = mnist2_subset(cfg.n_samples, cfg.seed)
    eps_star = budget_threshold(x, y, "l2", False)
    eps = torch.linspace(0.5, 2.0, args.models, dtype=x.dtype) * eps_star
    W = torch.randn((args.models, x.shape[1]), generator=torch.Generator().manual_seed(0),
                    dtype=x.dtype) * 0.1
    print(f"MNIST2 {tuple(x.shape)} float64, K = {args.models}, {args.steps} evaluations, "
          f"{args.threads} thread(s), load {os.getloadavg()[0]:.2f}")
    times: dict[str, list[float]] = {"two calls": [], "one pass": []}
    outputs = {}
    for name in ("two calls", "one pass", "one pass", "two calls"):
        fn = _two_calls if name == "two calls" else _one_pass
        start = time.perf_counter()
        for _ in range(args.steps):
            outputs[name] = fn(W, x, y, eps)
        times[name].append(time.perf_counter() - start)
    for name, ts in times.items():
        print(f"{name:>10}: {min(ts):7.2f} s  (runs {', '.join(f'{t:.2f}' for t in ts)})")
    print(f"ratio two calls / one pass: {min(times['two calls']) / min(times['one pass']):.2f}x")
    same = all(torch.equal(a, b) for a, b in zip(outputs["two calls"], outputs["one pass"],
                                                  strict=True))
    print(f"loss and gradient identical to the bit: {same}")


if __name__ == "__main__":
    main()

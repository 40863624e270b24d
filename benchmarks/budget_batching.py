"""Benchmark: L-BUDGET's exact p = 2 series, one model at a time against one batched run.

The budget study (``numerics.experiments.budget``) trains one linear model per ratio eps/eps*
by full-batch Adam on the closed-form robust loss over all of MNIST2 (12,665 x 784, float64).
Each step reads the whole data matrix twice (margins, gradient), a matrix-vector product that
is bound by memory bandwidth; trained together, the K models of a series share those reads
(a matrix-matrix product). This prints, measured in one process back to back (AB then BA),
the seconds of ``steps`` Adam steps for the four ratios trained one at a time and trained in
one run, their ratio, and the largest difference between the two ways' weights.

    python benchmarks/budget_batching.py --steps 100 --threads 1
"""

from __future__ import annotations

import argparse
import os
import time

import torch

from numerics.attacks import AttackSpec
from numerics.experiments.budget import BudgetConfig, _train_config
from numerics.experiments.units import mnist2_subset
from numerics.linear.bounds import budget_threshold
from numerics.linear.train import train_models


def _one_at_a_time(cfg: BudgetConfig, x: torch.Tensor, y: torch.Tensor, eps: list[float],
                   steps: int) -> torch.Tensor:
    spec = AttackSpec("exact", "l2", box=None)
    return torch.cat([train_models(x, y, e, spec, _train_config(cfg, steps, False)).last
                      for e in eps])


def _batched(cfg: BudgetConfig, x: torch.Tensor, y: torch.Tensor, eps: list[float],
             steps: int) -> torch.Tensor:
    return train_models(x, y, torch.tensor(eps, dtype=x.dtype), AttackSpec("exact", "l2", box=None),
                        _train_config(cfg, steps, False)).last


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=100, help="Adam steps per run (study: 3000)")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    cfg = BudgetConfig()
    x, y = mnist2_subset(cfg.n_samples, cfg.seed)
    eps_star = budget_threshold(x, y, "l2", False)
    eps = [r * eps_star for r in cfg.ratios]
    print(f"MNIST2 {tuple(x.shape)} float64, {len(eps)} ratios {cfg.ratios}, {args.steps} steps, "
          f"{args.threads} thread(s), load {os.getloadavg()[0]:.2f}")
    times: dict[str, list[float]] = {"one at a time": [], "batched": []}
    weights: dict[str, torch.Tensor] = {}
    for name in ("one at a time", "batched", "batched", "one at a time"):
        fn = _one_at_a_time if name == "one at a time" else _batched
        start = time.perf_counter()
        weights[name] = fn(cfg, x, y, eps, args.steps)
        times[name].append(time.perf_counter() - start)
    for name, ts in times.items():
        print(f"{name:>14}: {', '.join(f'{t:.2f}' for t in ts)} s")
    ratio = sum(times["one at a time"]) / sum(times["batched"])
    diff = float((weights["one at a time"] - weights["batched"]).abs().max())
    print(f"batched is {ratio:.2f}x faster; largest weight difference {diff:.2e}; "
          f"load {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()

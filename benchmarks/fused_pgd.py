"""Benchmark: linear models' training with PGD eager and fused (``numerics.linear.fused``, one
numba-compiled loop per (model, example)), back to back in one run.

Two workloads, each timed eager then fused after a warm-up step each way (the fused one
includes numba's first compilation, or its load from the on-disk cache). The fused step sums
the attacked inputs into the loss and gradient as it makes them (never storing them):

* **budget box**: the budget study's box runs. Each step attacks all 12,665 MNIST2 training
  images with PGD-5 in the [0, 1] box (L2 at eps 3; L-inf at eps 0.3, where PGD is its
  closed-form limit; "all" trains every budget of the study's L2 grid at once, one start
  draw shared, as the study does), float64 iterates, and takes one full-batch Adam step;
  ``--steps`` steps. "exact c2": the exact part's p = 2 run on CIFAR2 (10,000 images,
  d = 3,072, four budgets, the closed-form robust loss in one blocked pass over the data).
* **mnist2 table 1**: the MNIST2 study's table 1 training
  (:data:`numerics.experiments.mnist2.config.DEFAULT_TRAIN`: SGD with momentum, batch 128,
  one model per budget 0, 0.2, ..., 1.0, PGD-10 from a uniform start in the ball, float32
  iterates; "exact" projects exactly onto ball cap box, the sensitivity study's
  ``exact-projection`` setting); ``--epochs`` epochs, no early stopping.

Printed: seconds per step (or epoch), the speed-up, and the largest difference of the trained
weights (relative to their norm) between the two, which is rounding: the fused loop sums the
row norms in another order.

    python benchmarks/fused_pgd.py --steps 20 --epochs 1 --threads 1
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from collections.abc import Callable

import torch

from numerics.allocator import reuse_freed_memory
from numerics.attacks import AttackSpec
from numerics.experiments.budget import BudgetConfig, _train_config
from numerics.experiments.mnist2 import MNIST2Config, load_data
from numerics.experiments.mnist2.config import DEFAULT_TRAIN
from numerics.experiments.units import mnist2_subset
from numerics.linear.train import train_models


def _timed(train: Callable[[bool], torch.Tensor], fused: bool, count: int
           ) -> tuple[float, torch.Tensor]:
    start = time.perf_counter()
    w = train(fused)
    return (time.perf_counter() - start) / count, w


def _row(name: str, unit: str, train: Callable[[int, bool], torch.Tensor], count: int) -> None:
    """Warm up each way (one step or epoch), then ``count`` each way, back to back."""
    train(1, False)
    first, _ = _timed(lambda f: train(1, f), True, 1)
    eager, w0 = _timed(lambda f: train(count, f), False, count)
    fused, w1 = _timed(lambda f: train(count, f), True, count)
    diff = float((w0 - w1).abs().max() / w0.norm())
    print(f"{name:<16} {eager:9.3f} s/{unit:<5} {fused:9.3f} s/{unit:<5} {eager / fused:7.2f}x "
          f"{diff:14.1e} {first:12.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20, help="budget box: full-batch steps")
    parser.add_argument("--epochs", type=int, default=1, help="mnist2 table 1: epochs")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"{'run':<16} {'eager':>15} {'fused':>15} {'speed-up':>8} {'weights differ':>14} "
          f"{'first fused':>14}")
    with reuse_freed_memory():
        cfg = BudgetConfig()
        x, y = mnist2_subset(cfg.n_samples, cfg.seed)
        for norm, eps in (("l2", 3.0), ("linf", 0.3)):
            attack = AttackSpec("pgd", norm, cfg.pgd_steps, 2.5, box=(0.0, 1.0))

            def box(steps: int, fused: bool, attack: AttackSpec = attack, eps: float = eps
                    ) -> torch.Tensor:
                config = _train_config(cfg, steps, False, noise_seed=1)
                return train_models(x, y, eps, attack, config, fused_pgd=fused).last

            _row(f"budget box {norm}", "step", box, args.steps)
        grid = torch.tensor(cfg.box_eps_l2, dtype=x.dtype)
        attack = AttackSpec("pgd", "l2", cfg.pgd_steps, 2.5, box=(0.0, 1.0))

        def box_all(steps: int, fused: bool) -> torch.Tensor:
            config = _train_config(cfg, steps, False, common_noise=True, noise_seed=1)
            return train_models(x, y, grid, attack, config, fused_pgd=fused).last

        _row("budget box l2 all", "step", box_all, args.steps)
        from numerics.experiments.budget import _cifar2_subset

        xc, yc = _cifar2_subset(cfg.n_samples, cfg.seed)
        budgets = torch.tensor([0.01, 0.02, 0.03, 0.04], dtype=xc.dtype)

        def exact(steps: int, fused: bool) -> torch.Tensor:
            config = _train_config(cfg, steps, False)
            return train_models(xc, yc, budgets, AttackSpec("exact", "l2", box=None), config,
                                fused_pgd=fused).last

        _row("budget exact c2", "step", exact, args.steps)
        config = MNIST2Config()
        xtr, ytr = load_data(config)[:2]
        eps = torch.tensor([0.0, 0.2, 0.4, 0.6, 0.8, 1.0], dtype=xtr.dtype)
        for name, attack in (("mnist2 table 1", config.train_attack),
                             ("... exact", dataclasses.replace(config.train_attack,
                                                               projection="exact"))):

            def table1(epochs: int, fused: bool, attack: AttackSpec = attack) -> torch.Tensor:
                train = dataclasses.replace(DEFAULT_TRAIN, epochs=epochs)
                return train_models(xtr, ytr, eps, attack, train, fused_pgd=fused).last

            _row(name, "epoch", table1, args.epochs)
    print(f"({args.steps} budget steps and {args.epochs} mnist2 epochs each way; weights "
          "differ: the largest difference over their norm; first fused: one step or epoch, "
          "with numba's first compilation or its load from the cache)")


if __name__ == "__main__":
    main()

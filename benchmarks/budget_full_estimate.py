"""Benchmark: what the budget study costs at its full scale, unit by unit, from a few steps each.

The full L-BUDGET study (``advlandscape study budget``: all of MNIST2 and CIFAR2's training
images) is the longest of the CPU half. This times a few steps of each kind of unit in its full
configuration, on this machine and thread count, and prints per unit the measured seconds per
step, the steps the unit takes and their product, then the sum: an estimate of the whole run
(L-BFGS-B units are run to the end, one budget each, and multiplied by the unit's budgets).

    python benchmarks/budget_full_estimate.py --steps 10 --threads 1
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable

import torch

from numerics.attacks import AttackSpec
from numerics.experiments.budget import BudgetConfig, _cifar2_subset, _fit_exact, _train_config
from numerics.experiments.units import mnist2_subset
from numerics.linear.bounds import budget_threshold
from numerics.linear.train import fit_linf_split, train_models


def _seconds(fn: Callable[..., object], *args: object) -> float:
    start = time.perf_counter()
    fn(*args)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=10, help="steps timed per kind of unit")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    cfg = BudgetConfig()
    k = args.steps
    rows: list[tuple[str, float, int]] = []  # (unit, seconds per step, steps)
    x, y = mnist2_subset(cfg.n_samples, cfg.seed)
    for bias in (False, True):
        xb, yb = mnist2_subset(cfg.n_samples, cfg.seed, bias=bias)
        feats = xb[:, :-1] if bias else xb
        eps = [r * budget_threshold(feats, yb, "l2", bias) for r in cfg.ratios]
        short = BudgetConfig(steps=k)
        rows.append((f"exact/l2{'_bias' if bias else ''} (Adam, {len(eps)} models)",
                     _seconds(_fit_exact, short, xb, yb, eps, "l2", bias) / k,
                     cfg.steps))
        eps_inf = budget_threshold(feats, yb, "linf", bias)
        one = _seconds(fit_linf_split, xb, yb, cfg.ratios[0] * eps_inf, cfg.weight_decay, bias,
                       5 * cfg.steps)
        rows.append((f"exact/linf{'_bias' if bias else ''} (L-BFGS-B, per budget)", one,
                     len(cfg.ratios)))
    for norm, grid in (("l2", cfg.box_eps_l2), ("linf", cfg.box_eps_linf)):
        attack = AttackSpec("pgd", norm, cfg.pgd_steps, 2.5, box=(0.0, 1.0))
        per = _seconds(train_models, x, y, grid[0], attack,
                       _train_config(cfg, k, False, noise_seed=1)) / k
        rows.append((f"box/{norm} ({len(grid)} runs of {cfg.box_train_steps} steps)", per,
                     len(grid) * cfg.box_train_steps))
    xc, yc = _cifar2_subset(cfg.n_samples, cfg.seed)
    eps = [r * budget_threshold(xc, yc, "l2", False) for r in cfg.ratios]
    rows.append(("cifar2/l2 (Adam, 4 models)",
                 _seconds(_fit_exact, BudgetConfig(steps=k), xc, yc, eps, "l2", False) / k,
                 cfg.steps))
    eps_inf = budget_threshold(xc, yc, "linf", False)
    rows.append(("cifar2/linf (L-BFGS-B, per budget)",
                 _seconds(fit_linf_split, xc, yc, cfg.ratios[0] * eps_inf, cfg.weight_decay,
                          False, 5 * cfg.steps),
                 len(cfg.ratios)))
    print(f"budget study, full scale: MNIST2 {tuple(x.shape)}, CIFAR2 {tuple(xc.shape)}, "
          f"float64, {args.threads} thread(s), load {os.getloadavg()[0]:.2f}")
    total = 0.0
    for name, per, steps in rows:
        total += per * steps
        print(f"{name:<44} {per:9.4f} s x {steps:>5} = {per * steps:8.1f} s")
    print(f"{'estimated whole study':<44} {total / 60:8.1f} min")


if __name__ == "__main__":
    main()

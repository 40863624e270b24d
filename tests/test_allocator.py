"""numerics.allocator: inside a study's run, the arrays a training step frees are reused instead
of being mapped afresh, and no number changes."""

from __future__ import annotations

import resource
from pathlib import Path

import torch

from numerics.allocator import reuse_freed_memory


def test_box_training_reuses_freed_memory_and_changes_no_bit(data_root: Path) -> None:
    """Three full-batch PGD steps in the [0, 1] box on all 12,665 MNIST2 images (the budget
    study's box runs: arrays of 79 MB each step), L2 and L-inf, outside the block and inside:
    the same weights, bit for bit (no code reads memory it did not write). Where the C library
    is glibc, the L2 run inside the block takes under half the page faults it takes outside
    (each step's arrays reuse the freed pages instead of new ones: about 4x fewer alone, 78-80
    thousand against 319 thousand; 2.8x in a CI run, after other tests in the same process;
    about 12x fewer over longer runs in `benchmarks/allocator.py`)."""
    from numerics.attacks import AttackSpec
    from numerics.experiments.budget import BudgetConfig, _train_config
    from numerics.experiments.units import mnist2_subset
    from numerics.linear.train import train_models

    cfg = BudgetConfig()
    x, y = mnist2_subset(cfg.n_samples, cfg.seed)

    def trained(norm: str, eps: float, block: bool) -> tuple[torch.Tensor, int, bool]:
        attack = AttackSpec("pgd", norm, 2, 2.5, box=(0.0, 1.0))
        config = _train_config(cfg, 3, False, noise_seed=1)
        before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        applied = False
        if block:
            with reuse_freed_memory() as applied:
                w = train_models(x, y, eps, attack, config).last
        else:
            w = train_models(x, y, eps, attack, config).last
        return w, resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before, applied

    for norm, eps in (("l2", 3.0), ("linf", 0.3)):
        plain, plain_faults, _ = trained(norm, eps, block=False)
        reused, reused_faults, applied = trained(norm, eps, block=True)
        assert torch.equal(plain, reused), norm
        assert float(plain.norm()) > 0, norm
        if applied and norm == "l2":
            assert 2 * reused_faults < plain_faults, (reused_faults, plain_faults)

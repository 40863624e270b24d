"""Determinism: the same configuration and seed give the same results on the CPU, bit for bit,
whatever ran before in the process and whatever torch's default dtype is; seeds and library
versions are recorded with every result.

Covers the machinery behind Y-T1 (ResNet18 sweep: training, PGD evaluation, top Hessian
eigenvalues, landscapes), the schedule loop of L-FINDINGS (PAS), the MNIST2 logistic models
(Y-T1, Y-T2) and the attacks (INNER-MAX).
"""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path
from typing import Any

import pytest
import torch

from numerics.attacks import AttackSpec, pgd_on_loss, random_noise
from numerics.experiments.resnet import (
    profile_config,
    run_resnet_experiment,
    write_resnet_result,
)
from numerics.linear.train import TrainConfig, train_models
from numerics.nets.schedules import PASchedule
from numerics.nets.train import AdvTrainConfig, train_adversarial, train_with_schedule
from numerics.records import library_versions, read_result

pytestmark = pytest.mark.usefixtures("one_thread")


def _without_timings(obj: Any) -> Any:
    """Drop wall-clock fields (``seconds``, ``*_seconds``): everything else must repeat."""
    if isinstance(obj, dict):
        return {k: _without_timings(v) for k, v in obj.items()
                if k != "seconds" and not k.endswith("_seconds")}
    if isinstance(obj, list | tuple):
        return [_without_timings(v) for v in obj]
    return obj


def _same_bits(a: Any, b: Any) -> bool:
    """Exact equality, NaN equal to NaN (floats compared by value, so 0.0 == -0.0 is kept)."""
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same_bits(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same_bits(x, y) for x, y in zip(a, b, strict=True))
    return a == b


def _tiny_sweep(seed: int = 0):
    cfg = profile_config("mnist", "ci")
    train = dataclasses.replace(cfg.train, width=2, image_size=8, num_classes=3, epochs=1,
                                batch_size=8, train_steps=2, eval_steps=3, augment=True,
                                seed=seed)
    cfg = dataclasses.replace(cfg, train=train, eps=(0.2,), n_train=0, n_test=0,
                              hessian_samples=8, top_k=2, eig_tol=1e-3, power_iters=20,
                              hutchinson_samples=3, landscape_points=3, landscape_samples=8,
                              points_per_batch=3)
    g = torch.Generator().manual_seed(0)
    x = torch.rand(24, 1, 8, 8, generator=g, dtype=torch.float64)
    y = torch.randint(0, 3, (24,), generator=g)
    return cfg, (x[:16], y[:16], x[16:], y[16:])


def test_resnet_sweep_repeats_bit_for_bit_and_records_provenance(tmp_path: Path) -> None:
    """Y-T1 sweep: two runs with the same seed give identical records (timings aside), a
    different seed gives a different one; the file records the seed and library versions."""
    cfg, data = _tiny_sweep()
    first = run_resnet_experiment(cfg, data, progress=False)
    torch.rand(7)  # disturb the global generator in between: results must not depend on it
    second = run_resnet_experiment(cfg, data, progress=False)
    assert _same_bits(_without_timings(first), _without_timings(second))
    other = run_resnet_experiment(_tiny_sweep(seed=1)[0], data, progress=False)
    assert not _same_bits(_without_timings(first)["runs"], _without_timings(other)["runs"])

    path = write_resnet_result(tmp_path / "r.json", cfg, first)
    record = read_result(path)
    prov = record["provenance"]
    assert prov["seed"] == cfg.train.seed
    assert prov["versions"] == json.loads(json.dumps(library_versions()))
    assert set(prov["versions"]) >= {"python", "numpy", "scipy", "sympy", "torch"}
    assert prov["git_commit"]
    assert record["config"]["train"]["seed"] == cfg.train.seed


def test_training_does_not_depend_on_the_default_dtype() -> None:
    """The same config trains to the same weights whether torch's default dtype is float32
    (the CLI) or float64 (tests, notebooks that set it): every random draw has its own dtype."""
    config = AdvTrainConfig(model="resnet18", width=2, in_channels=1, num_classes=4,
                            image_size=8, eps=0.1, train_steps=2, step_size=0.05, epochs=2,
                            batch_size=8, lr=0.05, augment=True, seed=3)
    g = torch.Generator().manual_seed(0)
    x = torch.rand(24, 1, 8, 8, generator=g, dtype=torch.float64)
    y = torch.randint(0, 4, (24,), generator=g)
    previous = torch.get_default_dtype()
    outcomes = []
    try:
        for dtype in (torch.float32, torch.float64):
            torch.set_default_dtype(dtype)
            outcomes.append(train_adversarial(config, x, y, progress=False))
    finally:
        torch.set_default_dtype(previous)
    a, b = (o.model.state_dict() for o in outcomes)
    assert outcomes[0].history == outcomes[1].history
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_schedule_training_repeats_bit_for_bit_whatever_ran_before() -> None:
    """L-FINDINGS machinery (PAS): train_with_schedule depends only on its generator and the
    initial weights; the global generator and the default dtype do not matter."""
    from numerics.nets.models import MLP

    g = torch.Generator().manual_seed(0)
    x = torch.rand(20, 12, generator=g, dtype=torch.float64)
    y = torch.randint(0, 3, (20,), generator=g)
    sched = PASchedule(eps_target=0.1, epochs=2, periods=2, lr_max=0.1)

    def run(seed: int, dtype: torch.dtype) -> tuple[list[float], dict]:
        torch.manual_seed(0)
        model = MLP(in_features=12, num_classes=3, hidden=(6,))
        previous = torch.get_default_dtype()
        torch.set_default_dtype(dtype)
        try:
            torch.rand(5)  # move the global generator: must not matter
            losses = train_with_schedule(model, x, y, sched, batch_size=6, pgd_steps=2,
                                         norm="linf", momentum=0.9,
                                         gen=torch.Generator().manual_seed(seed))
        finally:
            torch.set_default_dtype(previous)
        return losses, model.state_dict()

    (la, sa), (lb, sb) = run(1, torch.float64), run(1, torch.float32)
    assert la == lb
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert run(2, torch.float64)[0] != la


def test_logistic_training_repeats_bit_for_bit() -> None:
    """MNIST2 machinery (Y-T1, Y-T2): batched PGD and random-noise training repeat exactly."""
    g = torch.Generator().manual_seed(0)
    X = torch.rand(64, 10, generator=g, dtype=torch.float64)
    y = torch.where(X[:, 0] + 0.1 * torch.randn(64, generator=g, dtype=torch.float64) > 0.5,
                    1.0, -1.0)
    eps = torch.tensor([0.0, 0.1, 0.3], dtype=torch.float64)
    config = TrainConfig(epochs=3, batch_size=16, seed=5)
    for attack in (AttackSpec("pgd", "l2", steps=3), AttackSpec("random", "linf")):
        runs = [train_models(X, y, eps, attack, config) for _ in range(2)]
        assert torch.equal(runs[0].last, runs[1].last)
        assert runs[0].history == runs[1].history
        shifted = train_models(X, y, eps, attack, dataclasses.replace(config, seed=6))
        assert not torch.equal(shifted.last, runs[0].last)


@pytest.mark.parametrize("norm", ["l2", "linf"])
def test_attacks_repeat_with_their_generator(norm: str) -> None:
    """INNER-MAX machinery: PGD with a random start and uniform noise depend only on their
    generator's seed (not on the global generator), and differ for different seeds."""
    g = torch.Generator().manual_seed(0)
    x = torch.rand(5, 12, generator=g, dtype=torch.float64)
    w = torch.randn(12, generator=g, dtype=torch.float64)

    def loss(z: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.softplus(z @ w)

    def attack(seed: int) -> tuple[torch.Tensor, torch.Tensor]:
        torch.rand(3)  # move the global generator: must not matter
        gen = torch.Generator().manual_seed(seed)
        return (pgd_on_loss(loss, x, 0.2, norm, 2, 0.01, generator=gen),
                random_noise(x, 0.2, norm, generator=gen))

    a, b, c = attack(1), attack(1), attack(2)
    assert all(torch.equal(u, v) for u, v in zip(a, b, strict=True))
    assert not any(torch.equal(u, v) for u, v in zip(a, c, strict=True))

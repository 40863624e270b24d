"""numerics.linear.fused: a linear model's PGD compiled into fused kernels computes the eager
loop's iterates up to rounding, trains the same weights, refuses what it does not compute, and
falls back to the eager loop (with a warning) when the compiler fails."""

from __future__ import annotations

import pytest
import torch

import numerics.linear.fused as fused_mod
from numerics.attacks import AttackSpec
from numerics.linear.attack import perturb
from numerics.linear.train import TrainConfig, train_models
from theory.errors import ConfigError


def _problem(n: int = 300, d: int = 20, K: int = 3, seed: int = 0, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    X = torch.rand((n, d), generator=g, dtype=dtype)
    X[X < 0.4] = 0.0  # many pixels at the box's edge, as in MNIST
    X[X > 0.9] = 1.0
    y = torch.where(torch.rand(n, generator=g) < 0.5, -1.0, 1.0).to(dtype)
    W = torch.randn((K, d + 1), generator=g, dtype=dtype)
    return X, y, W


@pytest.mark.parametrize(("norm", "box", "start"), [("l2", (0.0, 1.0), "ball"),
                                                      ("linf", (0.0, 1.0), "none"),
                                                      ("l2", None, "none"),
                                                      ("linf", None, "ball")])
def test_fused_pgd_is_the_eager_pgd(norm: str, box: tuple | None, start: str,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """Several blocks of rows (a small block size), K = 3 budgets, one of them 0: the fused
    iterates equal the eager ones to 1e-13 (rounding of the row norms)."""
    import numerics.linear.attack as linear_attack

    monkeypatch.setattr(linear_attack, "_PGD_ROWS", 7 * 3 * 20)  # blocks of 7 rows
    X, y, W = _problem()
    eps = torch.tensor([0.0, 0.3, 1.5]) if norm == "l2" else torch.tensor([0.0, 0.05, 0.2])
    # L-inf with step_factor 1.5 (< 2): the iteration itself, not its closed-form limit
    attack = AttackSpec("pgd", norm, 7, 1.5, box=box, start=start)
    eager = perturb(W, X, y, eps, attack, torch.Generator().manual_seed(3))
    fused = perturb(W, X, y, eps, attack, torch.Generator().manual_seed(3), fused=True)
    assert fused.shape == eager.shape == (3, 300, 20)
    torch.testing.assert_close(fused, eager, rtol=0.0, atol=1e-13)
    assert torch.equal(fused[0], X)  # a zero budget leaves x where it is
    delta = fused - X[None]
    if box is not None:
        assert bool((fused >= 0.0).all())
        assert bool((fused <= 1.0).all())
    size = delta.norm(dim=-1) if norm == "l2" else delta.abs().amax(dim=-1)
    assert bool((size <= eps[:, None] * (1 + 1e-12)).all())
    assert bool((size[1:].amax(dim=1) > 0).all())  # the attack moved the inputs


@pytest.mark.parametrize("box", [(0.0, 1.0), None])
def test_fused_linf_limit_is_the_eager_limit(box: tuple | None) -> None:
    """L-inf PGD with K alpha >= 2 eps is its limit clip_box(x - eps y sign(w)): one compiled
    pass gives the eager limit to 1e-15, inside the box."""
    X, y, W = _problem()
    eps = torch.tensor([0.0, 0.05, 0.3])
    attack = AttackSpec("pgd", "linf", 10, 2.5, box=box)
    eager = perturb(W, X, y, eps, attack)
    fused = perturb(W, X, y, eps, attack, fused=True)
    torch.testing.assert_close(fused, eager, rtol=0.0, atol=1e-15)
    assert float((fused - X[None]).abs().amax()) == pytest.approx(0.3)
    if box is not None:
        assert bool((fused >= 0.0).all())
        assert bool((fused <= 1.0).all())


def test_fused_training_is_the_eager_training() -> None:
    """The budget study's box setting (full-batch Adam, PGD-5 in the box, no bias) on a small
    set: 30 steps give the eager run's weights to 1e-10 of their norm."""
    X, _, _ = _problem(n=200, d=30)
    score = X @ torch.linspace(-1.0, 1.0, 30, dtype=X.dtype)
    y = torch.where(score > score.median(), 1.0, -1.0).to(X.dtype)  # a learnable labelling
    attack = AttackSpec("pgd", "l2", 5, 2.5, box=(0.0, 1.0))
    config = TrainConfig(epochs=30, batch_size=0, optimizer="adam", lr=0.2, bias=False,
                         init_scale=0.0, lr_schedule="cosine", seed=0)
    eps = torch.tensor([0.1, 0.4])
    eager = train_models(X, y, eps, attack, config).last
    fused = train_models(X, y, eps, attack, config, fused_pgd=True).last
    assert float(eager.norm()) > 0.1
    assert float((fused - eager).abs().max()) <= 1e-10 * float(eager.norm())


@pytest.mark.parametrize("change", [{"projection": "exact"}, {"iterate_dtype": "float32"}])
def test_fused_refuses_what_it_does_not_compute(change: dict) -> None:
    X, y, W = _problem(n=10, d=4)
    attack = AttackSpec("pgd", "l2", 3, 2.5, box=(0.0, 1.0), **change)
    with pytest.raises(ConfigError, match="fused=False"):
        perturb(W, X, y, 0.5, attack, fused=True)
    with pytest.raises(ConfigError, match="fused=False"):
        train_models(X, y, 0.5, attack, TrainConfig(epochs=1), fused_pgd=True)


class _NoCompilerError(RuntimeError):
    """What torch.compile raises without a C++ compiler (its class lives in torch._inductor)."""

    __module__ = "torch._inductor.exc"


def test_without_a_compiler_it_warns_and_runs_eagerly(monkeypatch: pytest.MonkeyPatch) -> None:
    """The first failed build warns; every later call runs eagerly without trying again."""
    tries = []

    def failing(*args: object) -> torch.Tensor:
        tries.append(1)
        raise _NoCompilerError("no C++ compiler found")

    monkeypatch.setattr(fused_mod, "_compiled", lambda limit=False: failing)
    monkeypatch.setattr(fused_mod, "_EAGER", set())
    fused_mod._warn_eager.cache_clear()
    X, y, W = _problem(n=30, d=6)
    attack = AttackSpec("pgd", "l2", 4, 2.5, box=(0.0, 1.0))
    with pytest.warns(RuntimeWarning, match="C\\+\\+ compiler"):
        out = perturb(W, X, y, 0.5, attack, torch.Generator().manual_seed(1), fused=True)
    again = perturb(W, X, y, 0.5, attack, torch.Generator().manual_seed(1), fused=True)
    eager = perturb(W, X, y, 0.5, attack, torch.Generator().manual_seed(1))
    torch.testing.assert_close(out, eager, rtol=0.0, atol=1e-13)
    assert torch.equal(again, out)
    assert len(tries) == 1
    fused_mod._warn_eager.cache_clear()


def test_an_error_of_the_computation_is_not_taken_for_a_compiler_failure(
        monkeypatch: pytest.MonkeyPatch) -> None:
    def failing(*args: object) -> torch.Tensor:
        raise ValueError("shapes do not match")

    monkeypatch.setattr(fused_mod, "_compiled", lambda limit=False: failing)
    X, y, W = _problem(n=30, d=6)
    with pytest.raises(ValueError, match="shapes"):
        perturb(W, X, y, 0.5, AttackSpec("pgd", "l2", 4, 2.5), fused=True)

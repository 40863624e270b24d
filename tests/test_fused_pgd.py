"""numerics.linear.fused: a linear model's PGD compiled into one loop per (model, example)
computes the eager loop's iterates up to rounding (with either projection) and trains the same
weights."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from numerics.attacks import AttackSpec
from numerics.linear.attack import _fused_loss_gradient, perturb
from numerics.linear.train import TrainConfig, loss_gradient, train_models


def _problem(n: int = 300, d: int = 20, K: int = 3, seed: int = 0, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    X = torch.rand((n, d), generator=g, dtype=dtype)
    X[X < 0.4] = 0.0  # many pixels at the box's edge, as in MNIST
    X[X > 0.9] = 1.0
    y = torch.where(torch.rand(n, generator=g) < 0.5, -1.0, 1.0).to(dtype)
    W = torch.randn((K, d + 1), generator=g, dtype=dtype)
    return X, y, W


@pytest.mark.parametrize(("norm", "box", "start", "projection"), [
    ("l2", (0.0, 1.0), "ball", "ball_then_box"), ("l2", (0.0, 1.0), "ball", "exact"),
    ("linf", (0.0, 1.0), "none", "ball_then_box"), ("l2", None, "none", "ball_then_box"),
    ("linf", None, "ball", "ball_then_box")])
def test_fused_pgd_is_the_eager_pgd(norm: str, box: tuple | None, start: str, projection: str,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """Several blocks of rows (a small block size), K = 3 budgets, one of them 0: the fused
    iterates equal the eager ones to 1e-13 (rounding of the row norms), the exact projection
    onto ball cap box (BOX-PROJ) included."""
    import numerics.linear.attack as linear_attack

    monkeypatch.setattr(linear_attack, "_PGD_ROWS", 7 * 3 * 20)  # blocks of 7 rows
    X, y, W = _problem()
    eps = torch.tensor([0.0, 0.3, 1.5]) if norm == "l2" else torch.tensor([0.0, 0.05, 0.2])
    # L-inf with step_factor 1.5 (< 2): the iteration itself, not its closed-form limit
    attack = AttackSpec("pgd", norm, 7, 1.5, box=box, start=start, projection=projection)
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
    if projection == "exact":  # not the ball-then-box iterates
        other = perturb(W, X, y, eps, dataclasses.replace(attack, projection="ball_then_box"),
                        torch.Generator().manual_seed(3), fused=True)
        assert float((fused - other).abs().max()) > 1e-3


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


@pytest.mark.parametrize(("norm", "box", "projection"), [
    ("l2", (0.0, 1.0), "ball_then_box"), ("l2", (0.0, 1.0), "exact"),
    ("linf", (0.0, 1.0), "ball_then_box"), ("l2", None, "ball_then_box")])
def test_fused_float32_iterates_are_the_eager_float32_iterates(
        norm: str, box: tuple | None, projection: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """``iterate_dtype="float32"`` on float64 data (the MNIST2 family's training PGD): the
    fused iterates equal the eager float32 loop's to 1e-5 of eps (float32 rounding of the row
    norms, summed in another order), and the last projection, in float64, puts them inside the
    ball and the box exactly."""
    import numerics.linear.attack as linear_attack

    monkeypatch.setattr(linear_attack, "_PGD_ROWS", 7 * 3 * 20)
    X, y, W = _problem()
    eps = torch.tensor([0.0, 0.3, 1.5]) if norm == "l2" else torch.tensor([0.0, 0.05, 0.2])
    attack = AttackSpec("pgd", norm, 10, 2.5 if norm == "l2" else 1.5, box=box, start="ball",
                        iterate_dtype="float32", projection=projection)
    eager = perturb(W, X, y, eps, attack, torch.Generator().manual_seed(3))
    fused = perturb(W, X, y, eps, attack, torch.Generator().manual_seed(3), fused=True)
    assert fused.dtype == eager.dtype == torch.float64
    torch.testing.assert_close(fused, eager, rtol=0.0, atol=1e-5 * float(eps.max()))
    in_float64 = perturb(W, X, y, eps, dataclasses.replace(attack, iterate_dtype=None),
                         torch.Generator().manual_seed(3), fused=True)
    assert float((fused - in_float64).abs().max()) > 1e-9  # the iterations did run in float32
    assert torch.equal(fused[0], X)
    delta = fused - X[None]
    size = delta.norm(dim=-1) if norm == "l2" else delta.abs().amax(dim=-1)
    assert bool((size <= eps[:, None] * (1 + 1e-12)).all())
    if box is not None:
        assert bool((fused >= 0.0).all())
        assert bool((fused <= 1.0).all())


@pytest.mark.parametrize("projection", ["ball_then_box", "exact"])
def test_fused_minibatch_training_in_float32_is_the_eager_training(projection: str) -> None:
    """The MNIST2 tables' training (SGD with momentum on batches, PGD-10 from a uniform start
    in the ball, float32 iterates, common noise, a zero budget among three), with either
    projection (the sensitivity study's ``exact-projection`` setting): three epochs give the
    eager run's weights to 1e-5 of their norm (float32 rounding carried through 30 steps)."""
    X, _, _ = _problem(n=320, d=30)
    score = X @ torch.linspace(-1.0, 1.0, 30, dtype=X.dtype)
    y = torch.where(score > score.median(), 1.0, -1.0).to(X.dtype)
    attack = AttackSpec("pgd", "l2", 10, 2.5, box=(0.0, 1.0), start="ball",
                        iterate_dtype="float32", projection=projection)
    config = TrainConfig(epochs=3, batch_size=32, optimizer="sgd", lr=0.1, momentum=0.9,
                         common_noise=True, seed=0)
    eps = torch.tensor([0.0, 0.3, 0.8], dtype=X.dtype)
    eager = train_models(X, y, eps, attack, config).last
    fused = train_models(X, y, eps, attack, config, fused_pgd=True).last
    assert float(eager.norm()) > 0.1
    assert float((fused - eager).abs().max()) <= 1e-5 * float(eager.norm())


def _assert_summed_is_the_loss_of_the_inputs(W, X, y, eps, attack, bias: bool) -> None:
    """_fused_loss_gradient equals loss_gradient of the fused perturb's inputs (same draws) to
    1e-12, with one draw shared by the models and one per model."""
    for common in (True, False):
        inputs = perturb(W, X, y, eps, attack, torch.Generator().manual_seed(3), common,
                         fused=True)
        loss, grad = loss_gradient(W, inputs, y, bias)
        summed = _fused_loss_gradient(W, X, y, eps, attack, torch.Generator().manual_seed(3),
                                      common)
        assert summed is not None
        torch.testing.assert_close(summed[0], loss, rtol=1e-12, atol=0.0)
        torch.testing.assert_close(summed[1], grad, rtol=0.0, atol=1e-12 * float(grad.abs().max()))


@pytest.mark.parametrize(("norm", "step_factor", "projection", "iterate_dtype", "bias"), [
    ("l2", 2.5, "ball_then_box", "float32", True), ("l2", 2.5, "exact", None, False),
    ("linf", 2.5, "ball_then_box", None, True), ("linf", 1.5, "ball_then_box", None, False)])
def test_fused_loss_gradient_is_the_loss_gradient_of_the_fused_inputs(
        norm: str, step_factor: float, projection: str, iterate_dtype: str | None,
        bias: bool) -> None:
    """Summed as they are made (never stored), the attacked inputs give the loss and gradient
    that loss_gradient takes of perturb's inputs (same draws) to 1e-12, with and without a
    bias, for the iterated PGD and the L-inf limit (step_factor >= 2); a single PGD run only."""
    X, y, W = _problem()
    W = W if bias else W[:, :-1]
    eps = torch.tensor([0.0, 0.3, 1.5]) if norm == "l2" else torch.tensor([0.0, 0.05, 0.2])
    attack = AttackSpec("pgd", norm, 7, step_factor, box=(0.0, 1.0), start="ball",
                        projection=projection, iterate_dtype=iterate_dtype)
    _assert_summed_is_the_loss_of_the_inputs(W, X, y, eps, attack, bias)
    assert _fused_loss_gradient(W, X, y, eps, dataclasses.replace(attack, restarts=2)) is None
    assert _fused_loss_gradient(W, X, y, eps, AttackSpec("exact", norm, box=(0.0, 1.0))) is None


@pytest.mark.parametrize(("norm", "box", "bias"), [("l2", (0.0, 1.0), True),
                                                   ("linf", (0.0, 1.0), False),
                                                   ("l2", None, False)])
def test_fused_noise_loss_gradient_is_the_loss_gradient_of_the_noisy_inputs(
        norm: str, box: tuple | None, bias: bool) -> None:
    """Random-noise training's loss and gradient (tables 2 and 4), summed as the noisy inputs
    clip(x + eps u) are made: loss_gradient of perturb's inputs (same draws) to 1e-12, with one
    shared draw and one per model."""
    X, y, W = _problem()
    W = W if bias else W[:, :-1]
    eps = torch.tensor([0.0, 0.3, 1.5]) if norm == "l2" else torch.tensor([0.0, 0.05, 0.2])
    attack = AttackSpec("random", norm, box=box)
    _assert_summed_is_the_loss_of_the_inputs(W, X, y, eps, attack, bias)


def test_fused_adversarial_loss_is_the_loss_of_the_margins(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """adversarial_loss (the landscapes' loss) fused, chunk by chunk (several chunks, each
    drawing its starts as attacked_margins does): the eager loss of the fused inputs' margins
    to 1e-12; an attack it does not fuse (the exact worst case) falls back to them."""
    import numerics.linear.attack as linear_attack
    from numerics.linear.attack import adversarial_loss, attacked_margins
    from numerics.ops import zeta

    monkeypatch.setattr(linear_attack, "_ELEMENT_BUDGET", 7 * 3 * 20)  # chunks of 7 rows
    X, y, W = _problem()
    eps = torch.tensor([0.0, 0.3, 1.5])
    attack = AttackSpec("pgd", "l2", 5, 2.5, box=(0.0, 1.0), start="ball")
    fused = adversarial_loss(W, X, y, eps, attack, torch.Generator().manual_seed(3), fused=True)
    z = attacked_margins(W, X, y, eps, attack, torch.Generator().manual_seed(3), fused=True)
    torch.testing.assert_close(fused, zeta(-z).mean(dim=1), rtol=1e-12, atol=0.0)
    exact = AttackSpec("exact", "l2", box=(0.0, 1.0))
    torch.testing.assert_close(adversarial_loss(W, X, y, eps, exact, fused=True),
                               adversarial_loss(W, X, y, eps, exact), rtol=0.0, atol=0.0)


@pytest.mark.parametrize(("norm", "bias", "n"), [("l2", True, 300), ("l2", False, 301),
                                                 ("linf", True, 13)])
def test_fused_robust_loss_is_the_robust_loss(norm: str, bias: bool, n: int) -> None:
    """INNER-MAX's robust loss per point and its mean gradient (HESS-DEP), K = 3 budgets in one
    blocked pass over x (a row count that is and is not a multiple of the block): numerics.ops'
    two products to 1e-12, a model at w_f = 0 (the norm's subgradient 0) included; and
    full-batch Adam on it (the budget study's exact runs) to 1e-10 of the weights' norm."""
    from numerics.linear.fused import robust_loss_and_mean_gradient as fused_robust
    from numerics.ops import robust_loss_and_mean_gradient

    X, y, W = _problem(n=n)
    W = W if bias else W[:, :-1]
    W[0, :20] = 0.0
    eps = torch.tensor([0.0, 0.3, 1.5], dtype=X.dtype)
    loss, grad = robust_loss_and_mean_gradient(W, X, y, eps, norm)
    f_loss, f_grad = fused_robust(W, X, y, eps, norm)
    torch.testing.assert_close(f_loss, loss, rtol=1e-12, atol=0.0)
    torch.testing.assert_close(f_grad, grad, rtol=0.0, atol=1e-12 * float(grad.abs().max()))
    attack = AttackSpec("exact", norm, box=None)
    config = TrainConfig(epochs=40, batch_size=0, lr=0.05, weight_decay=1e-3, bias=bias,
                         init_scale=0.0, lr_schedule="cosine")
    eager = train_models(X, y, eps, attack, config).last
    fused = train_models(X, y, eps, attack, config, fused_pgd=True).last
    assert float(eager.norm()) > 0.1
    assert float((fused - eager).abs().max()) <= 1e-10 * float(eager.norm())

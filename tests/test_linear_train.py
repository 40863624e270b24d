"""numerics.linear.train: the analytic loss gradient against autograd, the one training loop
(determinism, seeds, full batch, weight decay, initial weights, divergence) and the exact
L-inf reference solver."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from numerics.attacks import AttackSpec
from numerics.linear.attack import accuracy, perturb
from numerics.linear.bounds import budget_threshold
from numerics.linear.train import TrainConfig, fit_linf_split, loss_gradient, train_models
from numerics.ops import robust_gradient, robust_loss
from theory.errors import ConfigError, DivergenceError


def _problem(n: int = 40, d: int = 12, K: int = 3, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    X = torch.rand((n, d), generator=g)
    X[X < 0.4] = 0.0
    X[X > 0.9] = 1.0
    y = torch.where(torch.rand(n, generator=g) < 0.5, -1.0, 1.0)
    W = torch.randn((K, d + 1), generator=g)
    return X, y, W


def _separable(n: int = 200, d: int = 10, seed: int = 5):
    X, _, _ = _problem(n=n, d=d, seed=seed)
    return X, torch.where(X[:, 0] + X[:, 1] > 0.8, 1.0, -1.0)


def test_loss_gradient_matches_autograd() -> None:
    X, y, W = _problem()
    xk = perturb(W, X, y, 0.3, AttackSpec("random", "l2"), torch.Generator().manual_seed(0))
    loss, grad = loss_gradient(W, xk, y, bias=True)
    Wr = W.clone().requires_grad_(True)
    z = y * (torch.einsum("knd,kd->kn", xk, Wr[:, :-1]) + Wr[:, -1:])
    ref = torch.logaddexp(torch.zeros_like(z), -z).mean(dim=1)
    (g,) = torch.autograd.grad(ref.sum(), Wr)
    assert torch.allclose(loss, ref.detach(), rtol=1e-13, atol=0)
    assert torch.allclose(grad, g, rtol=1e-12, atol=1e-15)
    # without a bias column
    loss_nb, grad_nb = loss_gradient(W[:, :-1], xk, y, bias=False)
    Wn = W[:, :-1].clone().requires_grad_(True)
    zn = y * torch.einsum("knd,kd->kn", xk, Wn)
    refn = torch.logaddexp(torch.zeros_like(zn), -zn).mean(dim=1)
    (gn,) = torch.autograd.grad(refn.sum(), Wn)
    assert torch.allclose(loss_nb, refn.detach(), rtol=1e-13, atol=0)
    assert torch.allclose(grad_nb, gn, rtol=1e-12, atol=1e-15)


def test_training_is_deterministic_and_learns() -> None:
    X, y = _separable()
    eps = torch.tensor([0.0, 0.1])
    cfg = TrainConfig(epochs=5, batch_size=32, lr=0.05, seed=7)
    att = AttackSpec("pgd", "l2", steps=3)
    r1 = train_models(X, y, eps, att, cfg, select=lambda W: accuracy(W, X, y))
    r2 = train_models(X, y, eps, att, cfg, select=lambda W: accuracy(W, X, y))
    assert torch.equal(r1.last, r2.last)
    assert torch.equal(r1.best, r2.best)
    assert r1.best_epoch == r2.best_epoch
    r3 = train_models(X, y, eps, att, TrainConfig(epochs=5, batch_size=32, lr=0.05, seed=8))
    assert not torch.equal(r1.last, r3.last)
    first, last = r1.history["loss"][0], r1.history["loss"][-1]
    assert all(b < a for a, b in zip(first, last, strict=True))
    assert max(r1.best_epoch) <= 5
    assert min(r1.best_epoch) >= 1
    # the best weights are those of the best-scoring epoch
    scores = torch.tensor(r1.history["select"])  # (epochs, K)
    assert torch.equal(accuracy(r1.best, X, y), scores.max(dim=0).values)
    assert len(r1.history["loss"]) == len(r1.history["select"]) == 5


def test_noise_seed_defaults_to_seed_plus_one() -> None:
    """The PGD-start stream is seeded seed + 1 unless noise_seed is given; another noise seed
    changes the run (the starts are random), and the data-order stream does not depend on it."""
    X, y = _separable(n=100)
    att = AttackSpec("pgd", "l2", steps=2)
    base = dict(epochs=2, batch_size=25, lr=0.05, seed=3)
    default = train_models(X, y, 0.2, att, TrainConfig(**base))
    explicit = train_models(X, y, 0.2, att, TrainConfig(**base, noise_seed=4))
    other = train_models(X, y, 0.2, att, TrainConfig(**base, noise_seed=99))
    assert torch.equal(default.last, explicit.last)
    assert not torch.equal(default.last, other.last)


def test_full_batch_exact_sgd_is_plain_gradient_descent() -> None:
    """batch_size = 0, exact attack, SGD without momentum: each epoch is one step
    w <- w - lr (grad L_eps(w) + wd w~), w~ without the bias when decay_bias=False; no data
    order is drawn, so the seed does not matter once the initial weights are given."""
    X, y, W = _problem(K=2)
    eps = torch.tensor([0.1, 0.3])
    init = 0.1 * W
    lr, wd = 0.5, 0.01
    for decay_bias in (True, False):
        cfg = TrainConfig(epochs=3, batch_size=0, optimizer="sgd", momentum=0.0, lr=lr,
                          weight_decay=wd, decay_bias=decay_bias, seed=0)
        out = train_models(X, y, eps, AttackSpec("exact", "linf", box=None), cfg, init=init)
        again = train_models(X, y, eps, AttackSpec("exact", "linf", box=None),
                             dataclasses.replace(cfg, seed=123), init=init)
        assert torch.equal(out.last, again.last)
        w = init.clone()
        losses = []
        for _ in range(3):
            losses.append(robust_loss(w, X, y, eps, "linf").mean(dim=1))
            decayed = w.clone()
            if not decay_bias:
                decayed[:, -1] = 0.0
            w = w - lr * (robust_gradient(w, X, y, eps, "linf", mean=True) + wd * decayed)
        assert torch.allclose(out.last, w, rtol=1e-12, atol=1e-14)
        # the full-batch history is the loss at the weights each epoch started from
        assert torch.allclose(torch.tensor(out.history["loss"]), torch.stack(losses),
                              rtol=1e-12, atol=0)
    # the bias is decayed or not: the two runs differ in the bias only through that term
    on = train_models(X, y, eps, AttackSpec("exact", "linf", box=None), TrainConfig(
        epochs=1, batch_size=0, optimizer="sgd", momentum=0.0, lr=lr, weight_decay=wd),
        init=init)
    off = train_models(X, y, eps, AttackSpec("exact", "linf", box=None), TrainConfig(
        epochs=1, batch_size=0, optimizer="sgd", momentum=0.0, lr=lr, weight_decay=wd,
        decay_bias=False), init=init)
    assert torch.equal(on.last[:, :-1], off.last[:, :-1])
    assert torch.allclose(off.last[:, -1] - on.last[:, -1], lr * wd * init[:, -1], rtol=1e-12)


def test_cosine_schedule_anneals_the_step() -> None:
    """lr_schedule='cosine' with SGD on the full batch: step t (of T) is taken with the rate
    lr (1 + cos(pi t / T))/2, and the run differs from the constant-rate one."""
    X, y, W = _problem(K=1)
    init = 0.1 * W
    T, lr = 4, 0.5
    cfg = dict(batch_size=0, optimizer="sgd", momentum=0.0, lr=lr)
    cos = train_models(X, y, 0.1, AttackSpec("exact", "l2", box=None),
                       TrainConfig(epochs=T, lr_schedule="cosine", **cfg), init=init)
    w = init.clone()
    for t in range(T):
        rate = lr * (1 + torch.cos(torch.tensor(torch.pi * t / T))) / 2
        w = w - rate * robust_gradient(w, X, y, 0.1, "l2", mean=True)
    assert torch.allclose(cos.last, w, rtol=1e-12, atol=1e-14)
    const = train_models(X, y, 0.1, AttackSpec("exact", "l2", box=None),
                         TrainConfig(epochs=T, **cfg), init=init)
    assert not torch.allclose(const.last, cos.last)


def test_init_and_common_noise() -> None:
    """init (p,) is shared by every model, (K, p) gives each its own; with common_noise each
    model sees the PGD starts it sees when trained alone (common random numbers)."""
    X, y, W = _problem(K=2)
    cfg = TrainConfig(epochs=2, batch_size=16, lr=0.05, seed=1)
    att = AttackSpec("pgd", "l2", steps=2)
    eps = torch.tensor([0.2, 0.5])
    shared = train_models(X, y, eps, att, cfg, init=W[0])
    per_model = train_models(X, y, eps, att, cfg, init=W[0].expand(2, -1))
    assert torch.equal(shared.last, per_model.last)
    own = train_models(X, y, eps, att, cfg, init=W)
    assert not torch.equal(own.last[1], shared.last[1])
    for k in range(2):
        alone = train_models(X, y, float(eps[k]), att, cfg, init=W[0])
        assert torch.allclose(alone.last[0], shared.last[k], rtol=1e-10, atol=1e-12)
    independent = train_models(X, y, eps, att, dataclasses.replace(cfg, common_noise=False),
                               init=W[0])
    assert not torch.allclose(independent.last[1], shared.last[1], rtol=1e-6, atol=0)
    with pytest.raises(ConfigError, match="init must"):
        train_models(X, y, eps, att, cfg, init=torch.zeros(3, X.shape[1] + 1))


def test_divergence_is_reported() -> None:
    X, y, W = _problem(K=1)
    cfg = TrainConfig(epochs=20, batch_size=0, optimizer="sgd", momentum=0.0, lr=1e308)
    with pytest.raises(DivergenceError, match="diverged"):
        train_models(X, y, 0.0, AttackSpec("clean"), cfg, init=W[0])


def test_fit_linf_split_is_the_exact_minimiser() -> None:
    """L-BUDGET reference solver: above the L-inf threshold w = 0 exactly (active bounds);
    below it the minimiser is not 0, beats w = 0 and no nearby point beats it."""
    g = torch.Generator().manual_seed(2)
    y = torch.where(torch.rand(60, generator=g) < 0.5, -1.0, 1.0)
    x = torch.randn(60, 4, generator=g) + 0.6 * y[:, None]
    thr = budget_threshold(x, y, "linf")
    w, res = fit_linf_split(x, y, 1.05 * thr, 0.0, False, max_iter=500)
    assert res.success
    assert torch.equal(w, torch.zeros(4))
    w, res = fit_linf_split(x, y, 0.5 * thr, 0.0, False, max_iter=500)
    assert res.success
    assert float(w.abs().sum()) > 0.1
    best = float(robust_loss(w, x, y, 0.5 * thr, "linf").mean())
    assert best < float(robust_loss(torch.zeros(4), x, y, 0.5 * thr, "linf").mean())
    near = w + 1e-3 * torch.randn(200, 4, generator=g)
    assert float(robust_loss(near, x, y, 0.5 * thr, "linf").mean(dim=1).min()) >= best - 1e-12


def test_bad_config_is_refused() -> None:
    X, y, _ = _problem()
    with pytest.raises(ConfigError, match="optimizer"):
        TrainConfig(optimizer="lbfgs")
    with pytest.raises(ConfigError, match="lr_schedule"):
        TrainConfig(lr_schedule="step")
    with pytest.raises(ConfigError, match="epochs"):
        TrainConfig(epochs=0)
    with pytest.raises(ConfigError, match="batch_size"):
        TrainConfig(batch_size=-1)
    with pytest.raises(ConfigError, match="lr"):
        TrainConfig(lr=0.0)
    with pytest.raises(ConfigError, match=r"-1 or \+1"):
        train_models(X, (y + 1) / 2, 0.1, AttackSpec("exact", box=None), TrainConfig(epochs=1))

"""Y-HESS, HESS-DEP, Y-EIG on full data: the batched closed-form Hessians against autograd
(torch.func.hessian, float64, rel err <= 1e-10) and against theory.hessian's per-point formulas;
filter-normalised landscapes."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.func import hessian
from torch.nn.functional import softplus

from numerics.logistic import AttackSpec, adversarial_loss, perturb
from numerics.logistic_curvature import (
    hessian_fixed_noise,
    hessian_robust,
    normalized_sharpness,
    top_hessian_eigs,
)
from numerics.logistic_landscape import filter_normalized_direction, landscape_1d
from theory.errors import ConfigError


def _problem(n: int = 30, d: int = 6, K: int = 2, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    X = torch.rand((n, d), generator=g)
    y = torch.where(torch.rand(n, generator=g) < 0.5, -1.0, 1.0)
    W = 0.7 * torch.randn((K, d + 1), generator=g)
    return X, y, W


def _rel(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).norm() / b.norm())


def test_y_hess_fixed_noise_matches_autograd() -> None:
    """Y-HESS: mean s(z)s(-z) u u^T with the PGD examples held fixed equals torch.func.hessian."""
    X, y, W = _problem()
    Xk = perturb(W, X, y, 0.3, AttackSpec("pgd", "l2", steps=5), torch.Generator().manual_seed(0))
    H = hessian_fixed_noise(W, Xk, y, weight_decay=1e-3)
    for k in range(W.shape[0]):
        U = torch.cat([Xk[k], torch.ones(X.shape[0], 1)], dim=1)

        def loss(w: torch.Tensor, U: torch.Tensor = U) -> torch.Tensor:
            return softplus(-y * (U @ w)).mean() + 0.5e-3 * (w @ w)

        assert _rel(H[k], hessian(loss)(W[k])) <= 1e-10


@pytest.mark.parametrize("norm", ["l2", "linf"])
def test_hess_dep_robust_hessian_matches_autograd(norm: str) -> None:
    """HESS-DEP: the Hessian of mean zeta(-m), attack depending on w, equals torch.func.hessian."""
    X, y, W = _problem()
    eps = torch.tensor([0.2, 0.5]) if norm == "l2" else torch.tensor([0.05, 0.1])
    H = hessian_robust(W, X, y, eps, norm)
    for k in range(W.shape[0]):
        def loss(w: torch.Tensor, k: int = k) -> torch.Tensor:
            q = w[:-1].norm() if norm == "l2" else w[:-1].abs().sum()
            m = y * (X @ w[:-1] + w[-1]) - eps[k] * q
            return softplus(-m).mean()

        assert _rel(H[k], hessian(loss)(W[k])) <= 1e-10
        # consistent with the exact robust loss the experiments train on
        assert torch.allclose(loss(W[k]), adversarial_loss(
            W[k:k + 1], X, y, eps[k], AttackSpec("exact", norm))[0], rtol=1e-13)


def test_full_hessians_match_per_point_theory() -> None:
    """The batched full-data Hessians equal the mean of theory.hessian's per-point formulas."""
    th = pytest.importorskip("theory.hessian")
    X, y, W = _problem()
    Xa = torch.cat([X, torch.ones(X.shape[0], 1)], dim=1)
    for norm, eps in (("l2", 0.4), ("linf", 0.05)):
        H = hessian_robust(W, X, y, eps, norm)
        for k in range(W.shape[0]):
            ref = th.robust_hessian(W[k], Xa, y, eps, norm, bias=True).mean(dim=0)
            assert _rel(H[k], torch.as_tensor(ref)) <= 1e-10
    eta = 0.1 * torch.randn(X.shape, generator=torch.Generator().manual_seed(1))
    H = hessian_fixed_noise(W, X + eta, y)
    eta_a = torch.cat([eta, torch.zeros(X.shape[0], 1)], dim=1)
    for k in range(W.shape[0]):
        ref = th.hessian_fixed_noise(W[k], Xa, y, eta_a).mean(dim=0)
        assert _rel(H[k], torch.as_tensor(ref)) <= 1e-10


def test_top_eigs_and_normalisation() -> None:
    X, y, W = _problem()
    H = hessian_robust(W, X, y, 0.3, "l2")
    top = top_hessian_eigs(H, 3)
    full = np.linalg.eigvalsh(H.numpy())[:, ::-1][:, :3]
    assert np.allclose(top, full, rtol=1e-12, atol=1e-15)
    assert (np.diff(top, axis=1) <= 0).all()
    sharp = normalized_sharpness(2 * W, top[:, 0])
    assert np.allclose(sharp, 4 * (W.norm(dim=1) ** 2).numpy() * top[:, 0])
    with pytest.raises(ConfigError, match="w_f = 0"):
        hessian_robust(torch.zeros(1, 7), X, y, 0.3, "l2")
    with pytest.raises(ConfigError, match="k must"):
        top_hessian_eigs(H, 0)


def test_landscape_normalisation_and_centre() -> None:
    """At a = 0 the landscape equals the training loss; ||d|| = ||w||; the curve is convex."""
    X, y, W = _problem()
    w = W[0]
    d = filter_normalized_direction(w, torch.Generator().manual_seed(3))
    assert torch.allclose(d.norm(), w.norm(), rtol=1e-14)
    alphas = torch.linspace(-1, 1, 11)
    for att in (AttackSpec("pgd", "l2", steps=5), AttackSpec("exact", "linf"),
                AttackSpec("random", "l2")):
        eps = 0.3 if att.norm == "l2" else 0.05
        curve = landscape_1d(w, d, X, y, eps, att, alphas, seed=4)
        centre = adversarial_loss(w[None], X, y, eps, att, torch.Generator().manual_seed(4))
        assert torch.allclose(curve[5], centre[0], rtol=1e-13)
    exact = landscape_1d(w, d, X, y, 0.3, AttackSpec("exact", "l2"), alphas)
    second = exact[2:] - 2 * exact[1:-1] + exact[:-2]
    assert (second >= -1e-12).all()  # the exact robust loss is convex in w
    with pytest.raises(ConfigError, match="same length"):
        landscape_1d(w, d[:-1], X, y, 0.3, AttackSpec("exact"), alphas)

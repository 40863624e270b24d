"""numerics.linear.curvature on full data (Y-HESS, HESS-DEP, Y-EIG, Y-T1): the batched
closed-form Hessians against autograd (torch.func.hessian, float64, rel err <= 1e-10) and
against the mean of the per-point formulas; the matrix-free operators against the dense
Hessians and their top eigenvalues; the normalised sharpness."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.func import hessian

from numerics.attacks import AttackSpec
from numerics.linear.attack import adversarial_loss, perturb
from numerics.linear.curvature import (
    fixed_noise_operator,
    hessian_fixed_noise,
    hessian_robust,
    normalized_sharpness,
    point_hessian_fixed_noise,
    point_robust_hessian,
    robust_operator,
)
from numerics.ops import augment, robust_loss
from numerics.spectra import top_hessian_eigs
from theory.errors import ConfigError

from cases import linear_problem


def _rel(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).norm() / b.norm())


def _zeta(t: torch.Tensor) -> torch.Tensor:
    return torch.logaddexp(torch.zeros_like(t), t)


def _top_operator_eigs(op, k: int) -> np.ndarray:
    """The linear callers' settings of Lanczos: tol 1e-10, start vector of ones."""
    return top_hessian_eigs(op, k, tol=1e-10, v0=np.ones(op.shape[0])).values


def test_y_hess_fixed_noise_matches_autograd() -> None:
    """Y-HESS: mean s(z)s(-z) u u^T with the PGD examples held fixed equals torch.func.hessian."""
    X, y, W = linear_problem()
    Xk = perturb(W, X, y, 0.3, AttackSpec("pgd", "l2", steps=5), torch.Generator().manual_seed(0))
    H = hessian_fixed_noise(W, Xk, y, weight_decay=1e-3)
    assert H.shape == (W.shape[0], W.shape[1], W.shape[1])
    for k in range(W.shape[0]):
        U = torch.cat([Xk[k], torch.ones(X.shape[0], 1)], dim=1)

        def loss(w: torch.Tensor, U: torch.Tensor = U) -> torch.Tensor:
            return _zeta(-y * (U @ w)).mean() + 0.5e-3 * (w @ w)

        assert _rel(H[k], hessian(loss)(W[k])) <= 1e-10
        # one weight vector gives one (p, p) matrix, the same
        assert torch.allclose(hessian_fixed_noise(W[k], Xk[k], y, weight_decay=1e-3), H[k],
                              rtol=1e-14, atol=0)


@pytest.mark.parametrize("norm", ["l2", "linf"])
def test_hess_dep_robust_hessian_matches_autograd(norm: str) -> None:
    """HESS-DEP: the Hessian of mean zeta(-m), attack depending on w, equals torch.func.hessian."""
    X, y, W = linear_problem()
    eps = torch.tensor([0.2, 0.5]) if norm == "l2" else torch.tensor([0.05, 0.1])
    H = hessian_robust(W, X, y, eps, norm)
    for k in range(W.shape[0]):
        def loss(w: torch.Tensor, k: int = k) -> torch.Tensor:
            q = w[:-1].norm() if norm == "l2" else w[:-1].abs().sum()
            m = y * (X @ w[:-1] + w[-1]) - eps[k] * q
            return _zeta(-m).mean()

        assert _rel(H[k], hessian(loss)(W[k])) <= 1e-10
        # the same for one weight vector with its own budget
        assert torch.allclose(hessian_robust(W[k], X, y, float(eps[k]), norm), H[k],
                              rtol=1e-13, atol=0)
        # consistent with the exact robust loss the experiments train on
        assert torch.allclose(loss(W[k]), adversarial_loss(
            W[k:k + 1], X, y, eps[k], AttackSpec("exact", norm, box=None))[0], rtol=1e-13)


def test_full_hessians_match_per_point_formulas() -> None:
    """The batched full-data Hessians (implicit bias, p = d + 1) equal the mean of the per-point
    formulas (explicit bias column) and torch.func.hessian of the mean of numerics.ops.robust_loss;
    the two bias spellings of the batched form agree."""
    X, y, W = linear_problem()
    Xa = augment(X)
    for norm, eps in (("l2", 0.4), ("linf", 0.05)):
        H = hessian_robust(W, X, y, eps, norm)
        explicit = hessian_robust(W, Xa, y, eps, norm, bias=True)
        assert _rel(explicit, H) <= 1e-13
        for k in range(W.shape[0]):
            ref = point_robust_hessian(W[k], Xa, y, eps, norm, bias=True).mean(dim=0)
            assert _rel(H[k], ref) <= 1e-10
            auto = hessian(lambda w, norm=norm, eps=eps: robust_loss(w, X, y, eps, norm).mean())
            assert _rel(H[k], auto(W[k])) <= 1e-10
    eta = 0.1 * torch.randn(X.shape, generator=torch.Generator().manual_seed(1))
    H = hessian_fixed_noise(W, X + eta, y)
    eta_a = torch.cat([eta, torch.zeros(X.shape[0], 1)], dim=1)
    for k in range(W.shape[0]):
        ref = point_hessian_fixed_noise(W[k], Xa, y, eta_a).mean(dim=0)
        assert _rel(H[k], ref) <= 1e-10
        auto = hessian(lambda w: robust_loss(w, X + eta, y, 0.0).mean())(W[k])
        assert _rel(H[k], auto) <= 1e-10


def test_hessians_refuse_bad_input() -> None:
    """p = 2 at w_f = 0 (no Hessian there), non-finite weights, labels other than +-1, budgets
    that do not fit the models."""
    X, y, W = linear_problem()
    with pytest.raises(ConfigError, match="w_f = 0"):
        hessian_robust(torch.zeros(1, 7), X, y, 0.3, "l2")
    # a zero feature vector with a nonzero bias is still w_f = 0
    with pytest.raises(ConfigError, match="w_f = 0"):
        hessian_robust(torch.cat([torch.zeros(6), torch.ones(1)]), X, y, 0.3, "l2")
    bad = W.clone()
    bad[0, 0] = float("nan")
    with pytest.raises(ConfigError):
        hessian_robust(bad, X, y, 0.3, "l2")
    with pytest.raises(ConfigError):
        hessian_fixed_noise(bad, X, y)
    with pytest.raises(ConfigError, match=r"-1 or \+1"):
        hessian_robust(W, X, (y + 1) / 2, 0.3, "l2")
    with pytest.raises(ConfigError, match=r"-1 or \+1"):
        hessian_fixed_noise(W, X, (y + 1) / 2)
    with pytest.raises(ConfigError, match="3 budgets for 2 models"):
        hessian_robust(W, X, y, torch.tensor([0.1, 0.2, 0.3]), "l2")
    with pytest.raises(ConfigError, match=">= 0"):
        hessian_robust(W, X, y, torch.tensor([0.1, -0.2]), "linf")


def test_top_eigs_and_normalisation() -> None:
    X, y, W = linear_problem()
    H = hessian_robust(W, X, y, 0.3, "l2")
    top = top_hessian_eigs(H, 3).values
    full = np.linalg.eigvalsh(H.numpy())[:, ::-1][:, :3]
    assert np.allclose(top, full, rtol=1e-12, atol=1e-15)
    assert (np.diff(top, axis=1) <= 0).all()
    sharp = normalized_sharpness(2 * W, top[:, 0])
    assert np.allclose(sharp, 4 * (W.norm(dim=1) ** 2).numpy() * top[:, 0], rtol=1e-14)
    feat = normalized_sharpness(2 * W, top, exclude_bias=True)
    assert np.allclose(feat, 4 * (W[:, :-1].norm(dim=1) ** 2).numpy()[:, None] * top,
                       rtol=1e-14)
    with pytest.raises(ConfigError, match="k must"):
        top_hessian_eigs(H, 0)


@pytest.mark.parametrize(("norm", "eps"), [("l2", 0.0), ("l2", 0.4), ("linf", 0.05)])
def test_operators_equal_dense_hessians(norm: str, eps: float) -> None:
    """The matrix-free operators (with and without weight decay) are the dense Hessians, and
    Lanczos on them finds the dense top eigenvalues."""
    g = torch.Generator().manual_seed(0)
    X = torch.rand((50, 9), generator=g)
    y = torch.where(torch.rand(50, generator=g) < 0.5, -1.0, 1.0)
    w = torch.randn(10, generator=g)
    eye = np.eye(10)
    dense = hessian_robust(w[None], X, y, eps, norm, weight_decay=0.01)[0].numpy()
    op = robust_operator(w, X, y, eps, norm, weight_decay=0.01)
    assert np.allclose(op.matmat(eye), dense, rtol=0, atol=1e-14 * np.abs(dense).max())
    assert np.allclose(op.matvec(eye[:, 3]), dense[:, 3], rtol=0,
                       atol=1e-14 * np.abs(dense).max())
    assert np.allclose(_top_operator_eigs(op, 3), top_hessian_eigs(dense, 3).values, rtol=1e-9)
    Xk = X + 0.1 * torch.randn(X.shape, generator=g)
    dense = hessian_fixed_noise(w[None], Xk, y)[0].numpy()
    op = fixed_noise_operator(w, Xk, y)
    assert np.allclose(op.matmat(eye), dense, rtol=0, atol=1e-14 * np.abs(dense).max())
    assert np.allclose(_top_operator_eigs(op, 2), top_hessian_eigs(dense, 2).values, rtol=1e-9)
    with pytest.raises(ConfigError, match="k must"):
        _top_operator_eigs(op, 10)


def test_operators_without_bias() -> None:
    """p = d (no bias weight): operators and dense Hessians agree too."""
    g = torch.Generator().manual_seed(1)
    X = torch.rand((40, 7), generator=g)
    y = torch.where(torch.rand(40, generator=g) < 0.5, -1.0, 1.0)
    w = torch.randn(7, generator=g)
    eye = np.eye(7)
    for norm, eps in (("l2", 0.3), ("linf", 0.05)):
        dense = hessian_robust(w, X, y, eps, norm).numpy()
        auto = hessian(lambda v, norm=norm, eps=eps: robust_loss(v, X, y, eps, norm).mean())(w)
        assert _rel(torch.as_tensor(dense), auto) <= 1e-10
        op = robust_operator(w, X, y, eps, norm)
        assert np.allclose(op.matmat(eye), dense, rtol=0, atol=1e-14 * np.abs(dense).max())
    dense = hessian_fixed_noise(w, X, y).numpy()
    assert np.allclose(fixed_noise_operator(w, X, y).matmat(eye), dense, rtol=0,
                       atol=1e-14 * np.abs(dense).max())

"""Tests for numerics.curvature against a dense float64 Hessian (Y-T1 machinery: top eigenvalues).

Cases: a smooth MLP and a small CNN with BatchNorm (eval-mode convention), a few hundred
parameters each, so that ``torch.func.hessian`` gives the exact matrix.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from numerics.curvature import (
    HessianOperator,
    dense_hessian,
    flatten,
    hutchinson_trace,
    hvp,
    loss_function,
    power_iteration,
    top_hessian_eigs,
    unflatten,
)
from numerics.models import MLP, SmallCNN
from theory.errors import ConfigError

pytestmark = pytest.mark.usefixtures("one_thread")


def _mlp_case() -> tuple[torch.nn.Module, torch.Tensor, torch.Tensor]:
    torch.manual_seed(0)
    model = MLP(in_features=6, num_classes=3, hidden=(12,), activation="softplus")
    x = torch.randn(40, 6, dtype=torch.float64)
    y = torch.randint(0, 3, (40,))
    return model, x, y


def _cnn_case() -> tuple[torch.nn.Module, torch.Tensor, torch.Tensor]:
    torch.manual_seed(1)
    model = SmallCNN(num_classes=3, in_channels=1, image_size=8, channels=(2, 4), batchnorm=True)
    # non-trivial running statistics, so that eval-mode BN is not the identity
    model.train()
    with torch.no_grad():
        model(torch.rand(64, 1, 8, 8, dtype=torch.float64) * 3)
    x = torch.rand(30, 1, 8, 8, dtype=torch.float64)
    y = torch.randint(0, 3, (30,))
    return model, x, y


CASES = {"mlp": _mlp_case, "cnn_bn": _cnn_case}


@pytest.fixture(params=sorted(CASES))
def case(request: pytest.FixtureRequest) -> tuple[torch.nn.Module, torch.Tensor, torch.Tensor]:
    return CASES[request.param]()


def test_flatten_unflatten_roundtrip() -> None:
    model = _mlp_case()[0]
    params = dict(model.named_parameters())
    vec = flatten(params)
    back = unflatten(vec, params)
    for k in params:
        assert torch.equal(back[k], params[k])
    with pytest.raises(ConfigError):
        unflatten(torch.zeros(vec.numel() + 1), params)


def test_hvp_matches_dense_hessian(case: tuple) -> None:
    model, x, y = case
    H = dense_hessian(model, x, y)
    assert torch.allclose(H, H.T, rtol=0, atol=1e-12)
    params = {k: p.detach() for k, p in model.named_parameters()}
    v = torch.randn(H.shape[0], dtype=torch.float64)
    model.eval()
    hv = flatten(hvp(loss_function(model, x, y), params, unflatten(v, params)))
    torch.testing.assert_close(hv, H @ v, rtol=1e-10, atol=1e-12)


def test_operator_batches_agree_and_restore_train_mode(case: tuple) -> None:
    model, x, y = case
    model.train()
    H = dense_hessian(model, x, y).numpy()
    assert model.training  # the convention is applied temporarily
    op = HessianOperator(model, x, y, batch_size=7)  # uneven chunks: weights |B|/N
    v = np.random.default_rng(0).standard_normal(op.shape[0])
    np.testing.assert_allclose(op @ v, H @ v, rtol=1e-10, atol=1e-12)
    assert op.num_matvecs == 1
    assert model.training


def test_top_eigs_match_numpy_eigh(case: tuple) -> None:
    model, x, y = case
    exact = np.linalg.eigvalsh(dense_hessian(model, x, y).numpy())[::-1]
    vals, vecs = top_hessian_eigs(model, x, y, k=3, batch_size=16, tol=1e-12,
                                  return_vectors=True)
    np.testing.assert_allclose(vals, exact[:3], rtol=1e-8, atol=1e-12)
    assert vecs.shape == (exact.size, 3)
    np.testing.assert_allclose(vecs.T @ vecs, np.eye(3), atol=1e-8)


def test_power_iteration_agrees_with_eigsh() -> None:
    model, x, y = _mlp_case()
    H = dense_hessian(model, x, y).numpy()
    exact = np.linalg.eigvalsh(H)
    by_magnitude = exact[np.argsort(-np.abs(exact))]
    op = HessianOperator(model, x, y)
    vals, iters = power_iteration(op, k=2, iters=5000, tol=1e-12)
    np.testing.assert_allclose(vals, by_magnitude[:2], rtol=1e-5)
    assert np.all(iters >= 1)
    # when the top eigenvalue dominates, power iteration and eigsh give the same number
    if by_magnitude[0] == exact[-1]:
        np.testing.assert_allclose(vals[0], top_hessian_eigs(model, x, y, k=1)[0], rtol=1e-5)


def test_hutchinson_within_standard_error_of_exact_trace(case: tuple) -> None:
    model, x, y = case
    exact = float(np.trace(dense_hessian(model, x, y).numpy()))
    est = hutchinson_trace(HessianOperator(model, x, y), num_samples=200, seed=3)
    assert est.num_samples == 200
    assert est.standard_error > 0
    # a 4-sigma band: fails with probability ~6e-5 for a correct estimator
    assert abs(est.estimate - exact) <= 4 * est.standard_error


def test_bad_input() -> None:
    model, x, y = _mlp_case()
    with pytest.raises(ConfigError, match="matching"):
        HessianOperator(model, x, y[:-1])
    with pytest.raises(ConfigError, match="k must"):
        top_hessian_eigs(model, x, y, k=0)
    with pytest.raises(ConfigError, match="num_samples"):
        hutchinson_trace(HessianOperator(model, x, y), num_samples=1)
    with pytest.raises(ConfigError, match="top_hessian_eigs"):
        dense_hessian(MLP(in_features=784, hidden=(64,)), x, y)

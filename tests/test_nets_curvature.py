"""Tests for numerics.nets.curvature against a dense float64 Hessian (Y-T1 machinery).

Cases (tests/cases.py, the ``net_case`` fixture): a smooth MLP and a small CNN with BatchNorm
(eval-mode convention), a few hundred parameters each, so that ``torch.func.hessian`` gives the
exact matrix. The eigenvalues of the operator (numerics.spectra) are tested in test_spectra.py.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from numerics.nets.curvature import (
    HessianOperator,
    dense_hessian,
    flatten,
    hvp,
    loss_function,
    plan_dense_hessian,
    unflatten,
)
from numerics.nets.models import MLP
from theory.errors import ConfigError

from cases import build

pytestmark = pytest.mark.usefixtures("one_thread")


def test_flatten_unflatten_roundtrip() -> None:
    model = build("mlp")[0]
    params = dict(model.named_parameters())
    vec = flatten(params)
    back = unflatten(vec, params)
    for k in params:
        assert torch.equal(back[k], params[k])
    with pytest.raises(ConfigError):
        unflatten(torch.zeros(vec.numel() + 1), params)


def test_hvp_matches_dense_hessian(net_case: tuple) -> None:
    model, x, y = net_case
    H = dense_hessian(model, x, y)
    assert torch.allclose(H, H.T, rtol=0, atol=1e-12)
    params = {k: p.detach() for k, p in model.named_parameters()}
    v = torch.randn(H.shape[0], dtype=torch.float64)
    model.eval()
    hv = flatten(hvp(loss_function(model, x, y), params, unflatten(v, params)))
    torch.testing.assert_close(hv, H @ v, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize(("columns", "batch_size"), [(None, None), (1, None), (5, 7)])
def test_dense_hessian_equals_autograd_dense_hessian(net_case: tuple, columns: int | None,
                                                     batch_size: int | None) -> None:
    """Against ``torch.func.hessian`` of the flat loss: one chunk of all columns, one column per
    chunk, and chunks of 5 columns over uneven batches (weights |B|/N)."""
    model, x, y = net_case
    kwargs = {}
    if columns is not None:  # the work budget of exactly that many columns
        one = plan_dense_hessian(model, x, y, batch_size=batch_size, work_bytes=1)
        assert one.columns == 1
        kwargs["work_bytes"] = (one.symmetrise_bytes + one.runtime_bytes
                                + columns * (one.chunk_bytes + one.hvp_bytes))
        plan = plan_dense_hessian(model, x, y, batch_size=batch_size, **kwargs)
        assert plan.columns == columns
        assert plan.work_bytes <= kwargs["work_bytes"]
    H = dense_hessian(model, x, y, batch_size=batch_size, **kwargs)
    assert torch.equal(H, H.T)
    params = {k: p.detach() for k, p in model.named_parameters()}
    model.eval()
    loss = loss_function(model, x, y)
    exact = torch.func.hessian(lambda t: loss(unflatten(t, params)))(flatten(params))
    torch.testing.assert_close(H, 0.5 * (exact + exact.T), rtol=1e-10, atol=1e-12)


def test_dense_hessian_plan_counts_every_buffer() -> None:
    model, x, y = build("mlp")
    plan = plan_dense_hessian(model, x, y, work_bytes=2**20)
    P = plan.parameters
    assert plan.matrix_bytes == P * P * 8
    assert plan.chunk_bytes == 2 * plan.columns * P * 8  # the basis and its products
    assert plan.hvp_bytes >= 4 * plan.columns * P * 8
    assert plan.work_bytes == (plan.chunk_bytes + plan.hvp_bytes + plan.symmetrise_bytes
                               + plan.runtime_bytes)
    assert plan.total_bytes == plan.matrix_bytes + plan.work_bytes


def test_dense_hessian_matches_finite_differences_of_autograd_gradient() -> None:
    """The ground truth itself: the columns of H are derivatives of the (eval-mode) gradient."""
    model, x, y = build("cnn_bn")
    H = dense_hessian(model, x, y)
    params = {k: p.detach() for k, p in model.named_parameters()}
    theta = flatten(params)
    model.eval()
    loss = loss_function(model, x, y)

    def gradient(t: torch.Tensor) -> torch.Tensor:
        return flatten(torch.func.grad(loss)(unflatten(t, params)))

    h = 1e-5
    for j in (0, theta.numel() // 2, theta.numel() - 1):
        e = torch.zeros_like(theta)
        e[j] = h
        column = (gradient(theta + e) - gradient(theta - e)) / (2 * h)
        torch.testing.assert_close(column, H[:, j], rtol=1e-6, atol=1e-8)


def test_operator_batches_agree_and_restore_train_mode(net_case: tuple) -> None:
    model, x, y = net_case
    model.train()
    H = dense_hessian(model, x, y).numpy()
    assert model.training  # the convention is applied temporarily
    op = HessianOperator(model, x, y, batch_size=7)  # uneven chunks: weights |B|/N
    v = np.random.default_rng(0).standard_normal(op.shape[0])
    np.testing.assert_allclose(op @ v, H @ v, rtol=1e-10, atol=1e-12)
    assert op.num_matvecs == 1
    assert model.training
    # the torch entry point gives the same product, and H is symmetric (rmatvec)
    hv = op.matvec_torch(torch.as_tensor(v)).numpy()
    np.testing.assert_allclose(hv, H @ v, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(op.rmatvec(v), op.matvec(v), rtol=0, atol=0)
    assert op.shape == (H.shape[0], H.shape[0])


def test_eval_mode_batchnorm_makes_the_hessian_independent_of_the_split() -> None:
    """BN in eval mode: one chunk or many give the same operator (train-mode BN would not)."""
    model, x, y = build("cnn_bn")
    v = np.random.default_rng(1).standard_normal(HessianOperator(model, x, y).shape[0])
    whole = HessianOperator(model, x, y) @ v
    for size in (1, 4, 29):
        np.testing.assert_allclose(HessianOperator(model, x, y, batch_size=size) @ v, whole,
                                   rtol=1e-10, atol=1e-12)


def test_frozen_parameters_are_excluded() -> None:
    model, x, y = build("mlp")
    first = next(model.parameters())
    first.requires_grad_(False)
    op = HessianOperator(model, x, y)
    assert op.shape[0] == sum(p.numel() for p in model.parameters()) - first.numel()
    assert dense_hessian(model, x, y).shape == op.shape
    for p in model.parameters():
        p.requires_grad_(False)
    with pytest.raises(ConfigError, match="no trainable parameters"):
        HessianOperator(model, x, y)


def test_bad_input() -> None:
    model, x, y = build("mlp")
    with pytest.raises(ConfigError, match="matching"):
        HessianOperator(model, x, y[:-1])
    with pytest.raises(ConfigError, match="matching"):
        HessianOperator(model, x[:0], y[:0])
    with pytest.raises(ConfigError, match="top_hessian_eigs"):
        dense_hessian(MLP(in_features=784, hidden=(64,)), x, y)

"""Y-HESS and HESS-DEP matrix-free operators agree with the dense Hessians (and their top
eigenvalues), which are themselves checked against autograd in test_logistic_curvature.py."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from numerics.logistic_curvature import (
    fixed_noise_operator,
    hessian_fixed_noise,
    hessian_robust,
    robust_operator,
    top_hessian_eigs,
    top_operator_eigs,
)
from theory.errors import ConfigError


@pytest.mark.parametrize(("norm", "eps"), [("l2", 0.0), ("l2", 0.4), ("linf", 0.05)])
def test_operators_equal_dense_hessians(norm: str, eps: float) -> None:
    g = torch.Generator().manual_seed(0)
    X = torch.rand((50, 9), generator=g)
    y = torch.where(torch.rand(50, generator=g) < 0.5, -1.0, 1.0)
    w = torch.randn(10, generator=g)
    eye = np.eye(10)
    dense = hessian_robust(w[None], X, y, eps, norm, weight_decay=0.01)[0].numpy()
    op = robust_operator(w, X, y, eps, norm, weight_decay=0.01)
    assert np.allclose(op.matmat(eye), dense, rtol=0, atol=1e-14 * np.abs(dense).max())
    assert np.allclose(top_operator_eigs(op, 3), top_hessian_eigs(dense, 3), rtol=1e-9)
    Xk = X + 0.1 * torch.randn(X.shape, generator=g)
    dense = hessian_fixed_noise(w[None], Xk, y)[0].numpy()
    op = fixed_noise_operator(w, Xk, y)
    assert np.allclose(op.matmat(eye), dense, rtol=0, atol=1e-14 * np.abs(dense).max())
    assert np.allclose(top_operator_eigs(op, 2), top_hessian_eigs(dense, 2), rtol=1e-9)
    with pytest.raises(ConfigError, match="k must"):
        top_operator_eigs(op, 10)

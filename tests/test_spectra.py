"""Tests for numerics.spectra: top eigenvalues of an operator and of a dense matrix, power
iteration and Hutchinson's trace (the spectra of Y-T1, Figures 3-4, for both model families).

Ground truth: LAPACK (numpy eigvalsh) on the dense Hessian of small networks, and matrices whose
spectrum is known by construction.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse.linalg as spla
import torch

from numerics.nets.curvature import HessianOperator, dense_hessian
from numerics.nets.models import MLP, SmallCNN
from numerics.spectra import TraceEstimate, hutchinson_trace, power_iteration, top_hessian_eigs
from theory.errors import ConfigError

pytestmark = pytest.mark.usefixtures("one_thread")


def _mlp_case() -> tuple[torch.nn.Module, torch.Tensor, torch.Tensor]:
    torch.manual_seed(0)
    model = MLP(in_features=6, num_classes=3, hidden=(12,), activation="softplus")
    return model, torch.randn(40, 6, dtype=torch.float64), torch.randint(0, 3, (40,))


def _cnn_case() -> tuple[torch.nn.Module, torch.Tensor, torch.Tensor]:
    torch.manual_seed(1)
    model = SmallCNN(num_classes=3, in_channels=1, image_size=8, channels=(2, 4), batchnorm=True)
    model.train()
    with torch.no_grad():  # non-trivial running statistics
        model(torch.rand(64, 1, 8, 8, dtype=torch.float64) * 3)
    return model, torch.rand(30, 1, 8, 8, dtype=torch.float64), torch.randint(0, 3, (30,))


CASES = {"mlp": _mlp_case, "cnn_bn": _cnn_case}


@pytest.fixture(params=sorted(CASES))
def case(request: pytest.FixtureRequest) -> tuple[torch.nn.Module, torch.Tensor, torch.Tensor]:
    return CASES[request.param]()


def _known_spectrum(eigs: np.ndarray, seed: int = 0) -> np.ndarray:
    """A dense symmetric matrix Q diag(eigs) Q^T with a random orthogonal Q."""
    q, _ = np.linalg.qr(np.random.default_rng(seed).standard_normal((eigs.size, eigs.size)))
    return (q * eigs) @ q.T


def test_operator_and_dense_matrix_give_the_same_top_eigenvalues(case: tuple) -> None:
    """eigsh on the HVP operator == eigvalsh on the dense Hessian == numpy's LAPACK."""
    model, x, y = case
    H = dense_hessian(model, x, y)
    exact = np.linalg.eigvalsh(H.numpy())[::-1]
    op = HessianOperator(model, x, y, batch_size=16)
    pairs = top_hessian_eigs(op, k=3, tol=1e-12)
    from_op, vecs = pairs.values, pairs.vectors
    from_dense = top_hessian_eigs(H, k=3).values
    np.testing.assert_allclose(from_op, exact[:3], rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(from_dense, exact[:3], rtol=1e-12, atol=1e-14)
    assert list(from_op) == sorted(from_op, reverse=True)
    assert vecs.shape == (exact.size, 3)
    np.testing.assert_allclose(vecs.T @ vecs, np.eye(3), atol=1e-8)
    # each column is an eigenvector of H for its eigenvalue
    np.testing.assert_allclose(H.numpy() @ vecs, vecs * from_op, atol=1e-7)
    # the matvec count is the operator's own (HessianOperator counts the products it makes)
    assert pairs.method == "eigsh"
    assert pairs.matvecs == op.num_matvecs > 3
    dense = top_hessian_eigs(H, k=3)
    assert (dense.matvecs, dense.method) == (0, "dense")
    np.testing.assert_allclose(np.abs((dense.vectors.T @ vecs).diagonal()), 1.0, atol=1e-6)
    # a network's top eigenvalues: its Hessian operator on its data, built by the caller
    conv = top_hessian_eigs(HessianOperator(model, x, y, batch_size=16), k=3, tol=1e-12)
    np.testing.assert_allclose(conv.values, from_op, rtol=1e-10)
    assert top_hessian_eigs(op, k=3, tol=1e-12, vectors=False).vectors is None


def test_dense_batched_and_numpy_input() -> None:
    spectra = [np.array([5.0, 2.0, -1.0, 0.5]), np.array([-7.0, 3.0, 3.0, 1.0])]
    H = np.stack([_known_spectrum(s, seed) for seed, s in enumerate(spectra)])
    out = top_hessian_eigs(H, k=2).values
    assert out.shape == (2, 2)
    np.testing.assert_allclose(out, [[5.0, 2.0], [3.0, 3.0]], atol=1e-12)
    np.testing.assert_allclose(top_hessian_eigs(torch.as_tensor(H[0]), k=4).values, [5, 2, 0.5, -1],
                               atol=1e-12)


def test_largest_algebraic_not_largest_magnitude() -> None:
    """top_hessian_eigs targets the largest (algebraic) eigenvalues, power iteration the
    largest in magnitude: a dominant negative eigenvalue separates them."""
    eigs = np.array([-6.0, 4.0, 2.0, 1.0, 0.5, 0.25, 0.0, -0.1])
    op = spla.aslinearoperator(_known_spectrum(eigs, seed=3))
    np.testing.assert_allclose(top_hessian_eigs(op, k=2, tol=1e-12).values, [4.0, 2.0],
                               rtol=1e-10)
    vals, iters = power_iteration(op, k=2, iters=5000, tol=1e-14)
    np.testing.assert_allclose(vals, [-6.0, 4.0], rtol=1e-6)
    assert np.all(iters >= 1)


def test_top_eigs_repeat_for_a_seed_and_honour_v0() -> None:
    model, x, y = _mlp_case()
    op = HessianOperator(model, x, y)
    a = top_hessian_eigs(op, k=2, seed=4).values
    b = top_hessian_eigs(op, k=2, seed=4).values
    assert np.array_equal(a, b)
    from_v0 = top_hessian_eigs(op, k=2, v0=np.ones(op.shape[0]), tol=1e-12).values
    np.testing.assert_allclose(from_v0, a, rtol=1e-5)


def test_power_iteration_agrees_with_the_dense_spectrum() -> None:
    model, x, y = _mlp_case()
    exact = np.linalg.eigvalsh(dense_hessian(model, x, y).numpy())
    by_magnitude = exact[np.argsort(-np.abs(exact))]
    op = HessianOperator(model, x, y)
    vals, iters = power_iteration(op, k=2, iters=5000, tol=1e-12)
    np.testing.assert_allclose(vals, by_magnitude[:2], rtol=1e-5)
    assert np.all(iters >= 1)
    # when the top eigenvalue dominates, power iteration and eigsh give the same number
    if by_magnitude[0] == exact[-1]:
        np.testing.assert_allclose(vals[0], top_hessian_eigs(op, k=1).values[0], rtol=1e-5)


def test_power_iteration_on_the_zero_operator() -> None:
    zero = spla.LinearOperator((5, 5), matvec=lambda v: np.zeros_like(v), dtype=np.float64)
    vals, iters = power_iteration(zero, k=1)
    assert vals.tolist() == [0.0]
    assert iters.tolist() == [1]


def test_hutchinson_within_standard_error_of_exact_trace(case: tuple) -> None:
    model, x, y = case
    exact = float(np.trace(dense_hessian(model, x, y).numpy()))
    est = hutchinson_trace(HessianOperator(model, x, y), num_samples=200, seed=3)
    assert isinstance(est, TraceEstimate)
    assert est.num_samples == 200
    assert est.standard_error > 0
    # a 4-sigma band: fails with probability ~6e-5 for a correct estimator
    assert abs(est.estimate - exact) <= 4 * est.standard_error


def test_hutchinson_is_exact_for_a_diagonal_matrix() -> None:
    """z^T D z = tr D for every Rademacher z: the estimate is exact with zero spread."""
    d = np.array([3.0, -1.0, 0.5, 2.0])
    est = hutchinson_trace(spla.aslinearoperator(np.diag(d)), num_samples=10, seed=0)
    assert est.estimate == pytest.approx(d.sum(), abs=1e-14)
    assert est.standard_error == pytest.approx(0.0, abs=1e-14)


def test_bad_input() -> None:
    model, x, y = _mlp_case()
    op = HessianOperator(model, x, y)
    with pytest.raises(ConfigError, match="k must"):
        top_hessian_eigs(op, k=0)
    with pytest.raises(ConfigError, match="k must"):
        top_hessian_eigs(op, k=op.shape[0])  # eigsh needs k < P
    H = np.eye(3)
    assert top_hessian_eigs(H, k=3).values.tolist() == [1.0, 1.0, 1.0]  # dense: k = p is fine
    with pytest.raises(ConfigError, match="k must"):
        top_hessian_eigs(H, k=4)
    with pytest.raises(ConfigError, match=r"not a network .*HessianOperator\(model, x, y\)"):
        top_hessian_eigs(model, k=1)  # the network's operator is the caller's to build
    with pytest.raises(ConfigError, match="num_samples"):
        hutchinson_trace(op, num_samples=1)

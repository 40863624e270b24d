r"""Top eigenvalues, power iteration and Hutchinson's trace of a symmetric operator (any model).

The curvature of both model families reaches these functions as a SciPy ``LinearOperator`` (the
matrix-free Hessians of :mod:`numerics.linear.curvature` and :class:`numerics.nets.curvature.
HessianOperator`) or, for small problems, as a dense matrix:

* :func:`top_hessian_eigs`: the k largest (algebraic) eigenpairs and the matrix-vector products
  they took, by ``scipy.sparse.linalg.eigsh`` (implicitly restarted Lanczos, ARPACK) on an
  operator, or by LAPACK's symmetric eigensolver (the whole spectrum) on a dense matrix (for a
  network, build its operator: ``top_hessian_eigs(HessianOperator(model, x, y), k)``);
* :func:`power_iteration` with deflation, the independent check;
* :func:`hutchinson_trace`, tr H = E[z^T H z] for Rademacher z.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse.linalg as spla
import torch

from numerics.validate import check_count, check_finite
from theory.errors import ConfigError

__all__ = ["Eigenpairs", "TraceEstimate", "hutchinson_trace", "power_iteration",
           "top_hessian_eigs"]


@dataclass(frozen=True)
class Eigenpairs:
    """The top eigenpairs of a symmetric operator: what :func:`top_hessian_eigs` found.

    Attributes:
        values: the eigenvalues, largest first, ``(k,)`` (``(K, k)`` for a stack of matrices).
        vectors: the unit eigenvectors as columns in the same order, ``(P, k)`` (``(K, P, k)``),
            or ``None`` when not asked for.
        matvecs: matrix-vector products used (0 for a dense matrix: LAPACK reads it whole).
        method: ``"eigsh"`` (ARPACK's implicitly restarted Lanczos) or ``"dense"`` (LAPACK).
    """

    values: np.ndarray
    vectors: np.ndarray | None
    matvecs: int
    method: str


class _Counting(spla.LinearOperator):
    """An operator that counts the vectors it multiplies (a block of m columns counts m)."""

    def __init__(self, inner: spla.LinearOperator) -> None:
        self.inner, self.count = inner, 0
        super().__init__(dtype=inner.dtype, shape=inner.shape)

    def _matvec(self, v: np.ndarray) -> np.ndarray:
        self.count += 1
        return self.inner.matvec(v)

    def _matmat(self, V: np.ndarray) -> np.ndarray:
        self.count += V.shape[1]
        return self.inner.matmat(V)

    def _rmatvec(self, v: np.ndarray) -> np.ndarray:  # symmetric
        return self._matvec(v)


def _square_size(operator: spla.LinearOperator) -> int:
    """The size n of a square ``(n, n)`` operator (a ConfigError otherwise)."""
    shape = getattr(operator, "shape", None)
    if shape is None or len(shape) != 2 or shape[0] != shape[1] or shape[0] < 1:
        raise ConfigError(f"the operator must be square (n, n), got shape {shape}")
    return int(shape[0])


def _top_dense(H: torch.Tensor | np.ndarray, k: int, vectors: bool) -> Eigenpairs:
    """The k largest eigenpairs of each symmetric ``(p, p)`` or ``(K, p, p)`` matrix."""
    A = torch.as_tensor(H).detach().cpu()
    if A.dim() not in (2, 3) or A.shape[-1] != A.shape[-2] or A.shape[-1] == 0:
        raise ConfigError(f"a dense Hessian must be a square (p, p) matrix or a (K, p, p) stack, "
                          f"got shape {tuple(A.shape)}")
    A = check_finite(A.to(torch.float64), "the Hessian")
    p = A.shape[-1]
    k = check_count(k, "k", 1, p)
    A = 0.5 * (A + A.transpose(-1, -2))
    # LAPACK syevd through torch (honours torch.set_num_threads; ascending order)
    if not vectors:
        return Eigenpairs(torch.linalg.eigvalsh(A)[..., -k:].flip(-1).numpy(), None, 0, "dense")
    vals, vecs = torch.linalg.eigh(A)
    return Eigenpairs(vals[..., -k:].flip(-1).numpy(), vecs[..., -k:].flip(-1).numpy(), 0,
                      "dense")


def top_hessian_eigs(
    operator: spla.LinearOperator | torch.Tensor | np.ndarray, k: int = 3, *, tol: float = 1e-6,
    seed: int = 0, v0: np.ndarray | None = None, maxiter: int | None = None, vectors: bool = True,
) -> Eigenpairs:
    r"""The ``k`` largest (algebraic) eigenpairs of a symmetric operator, largest first.

    These are the "top Hessian eigenvalues" of Yamada et al. (Y-T1, Figures 3-4).

    Args:
        operator: a SciPy ``LinearOperator`` (``eigsh(operator, k, which="LA")``, 1 <= k < P)
            or dense symmetric matrices ``(p, p)`` / ``(K, p, p)`` (LAPACK, 1 <= k <= p). For a
            network, the Hessian of its mean cross-entropy on ``(x, y)`` is the operator
            :class:`numerics.nets.curvature.HessianOperator` ``(model, x, y, batch_size)``
            (inputs held fixed, BatchNorm in eval mode).
        k: how many eigenpairs. tol: ARPACK's relative accuracy.
        seed: seeds the Gaussian starting vector of Lanczos (reproducible), unless ``v0`` is given.
        maxiter: ARPACK's iteration budget. vectors: compute the eigenvectors (``False`` saves
            LAPACK's back-transformation on large dense stacks).

    Returns:
        :class:`Eigenpairs`: ``values`` (decreasing), ``vectors``, ``matvecs``, ``method``.
    """
    if isinstance(k, bool) or not isinstance(k, int | np.integer):
        raise ConfigError(f"k must be an integer (how many eigenpairs), got {k!r}")
    if isinstance(operator, torch.nn.Module):
        raise ConfigError(
            f"top_hessian_eigs takes an operator or a dense matrix, not a network "
            f"({type(operator).__name__}): pass its Hessian, "
            "top_hessian_eigs(HessianOperator(model, x, y), k) "
            "(numerics.nets.curvature.HessianOperator)")
    if not isinstance(operator, spla.LinearOperator):
        return _top_dense(operator, k, vectors)
    size = operator.shape[0]
    if not 1 <= k < size:
        raise ConfigError(f"k must satisfy 1 <= k < P = {size}, got {k}")
    start = np.random.default_rng(seed).standard_normal(size) if v0 is None else v0
    counted = _Counting(operator)
    if not vectors:
        vals = spla.eigsh(counted, k=k, which="LA", tol=tol, v0=start, maxiter=maxiter,
                          return_eigenvectors=False)
        return Eigenpairs(np.sort(vals)[::-1], None, counted.count, "eigsh")
    vals, vecs = spla.eigsh(counted, k=k, which="LA", tol=tol, v0=start, maxiter=maxiter)
    order = np.argsort(vals)[::-1]
    return Eigenpairs(vals[order], vecs[:, order], counted.count, "eigsh")


def power_iteration(
    operator: spla.LinearOperator, k: int = 1, *, iters: int = 1000, tol: float = 1e-10,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    r"""The ``k`` eigenvalues of largest magnitude of a symmetric operator, by power iteration.

    For each j: iterate ``v <- A_j v / ||A_j v||`` with the deflated operator
    ``A_j = A - Σ_{i<j} λ_i u_i u_i^T`` until the Rayleigh quotient ``λ = v^T A_j v`` changes by
    less than ``tol * |λ|``. Converges to the largest-magnitude eigenvalues; for the Hessian at a
    trained network these are the top ones when they dominate the negative part of the spectrum
    (compare with :func:`top_hessian_eigs`, which targets the largest algebraic ones).

    Returns:
        ``(eigenvalues, iterations)``: the k estimates and the iterations each used.
    """
    n = _square_size(operator)
    k = check_count(k, "k", 1, n)
    iters = check_count(iters, "iters", 1)
    if not np.isfinite(tol) or tol < 0:
        raise ConfigError(f"tol must be a finite number >= 0, got {tol!r}")
    rng = np.random.default_rng(seed)
    found_vals: list[float] = []
    found_vecs: list[np.ndarray] = []
    used = []
    for _ in range(k):
        v = rng.standard_normal(n)
        v /= np.linalg.norm(v)
        lam = 0.0
        it = 0
        for it in range(1, iters + 1):
            w = operator.matvec(v)
            if not np.all(np.isfinite(w)):
                raise ConfigError(f"the operator returned NaN/Inf at iteration {it}: its "
                                  "eigenvalues are undefined; check the weights and data it "
                                  "was built from")
            for val, u in zip(found_vals, found_vecs, strict=True):
                w = w - val * u * (u @ v)
            new_lam = float(v @ w)
            norm = np.linalg.norm(w)
            if norm == 0.0:
                lam = 0.0
                break
            v = w / norm
            if abs(new_lam - lam) <= tol * abs(new_lam):
                lam = new_lam
                break
            lam = new_lam
        found_vals.append(lam)
        found_vecs.append(v)
        used.append(it)
    return np.array(found_vals), np.array(used)


@dataclass(frozen=True)
class TraceEstimate:
    """Hutchinson's estimate of tr H: the mean of ``z^T H z``, its standard error, the samples."""

    estimate: float
    standard_error: float
    num_samples: int


def hutchinson_trace(
    operator: spla.LinearOperator, num_samples: int = 100, *, seed: int = 0
) -> TraceEstimate:
    r"""Hutchinson's estimator ``tr H ≈ (1/m) Σ_i z_i^T H z_i`` with Rademacher ``z_i``.

    Unbiased (``E[z z^T] = I``) with variance ``2 (||H||_F^2 - Σ_i H_ii^2)`` per sample; the
    returned standard error is the sample standard deviation over ``sqrt(m)``.
    """
    num_samples = check_count(num_samples, "num_samples (>= 2 for a standard error)", 2)
    rng = np.random.default_rng(seed)
    n = _square_size(operator)
    values = np.empty(num_samples)
    for i in range(num_samples):
        z = rng.choice(np.array([-1.0, 1.0]), size=n)
        values[i] = z @ operator.matvec(z)
        if not np.isfinite(values[i]):
            raise ConfigError(f"the operator returned NaN/Inf on probe {i}: its trace is "
                              "undefined; check the weights and data it was built from")
    return TraceEstimate(
        estimate=float(values.mean()),
        standard_error=float(values.std(ddof=1) / np.sqrt(num_samples)),
        num_samples=num_samples,
    )

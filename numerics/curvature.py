r"""Curvature of the weight-loss landscape: HVPs, top eigenvalues, trace, dense Hessian.

The object is the Hessian of the empirical softmax cross-entropy in the weights,

.. math:: H(\theta) = \nabla^2_\theta \frac{1}{N} \sum_{n=1}^N \ell(f(\theta; x_n), y_n),

with the inputs ``x_n`` **held fixed**: for adversarial curvature pass the adversarial examples
``x_n + \eta_n^*`` generated at the trained weights (the "noise held fixed" Hessian of Yamada et
al. Eq. 9 / Y-HESS, used for their Figures 3-4; the dependence of ``\eta^*`` on ``\theta`` is not
differentiated). **BatchNorm convention:** the network is evaluated in eval mode, so BatchNorm is
the fixed affine map given by its running statistics and ``H`` is the Hessian of a deterministic
function of ``\theta`` (train-mode BN would couple the samples of a batch and make ``H`` depend on
how the data are split into batches). Buffers are never differentiated.

Hessian-vector products are forward-over-reverse, ``Hv = \partial_t \nabla L(\theta + t v)|_{t=0}``
(``torch.func.jvp`` of ``torch.func.grad``), accumulated over mini-batches of the data with
weights ``|B| / N``. :class:`HessianOperator` wraps them in a SciPy ``LinearOperator`` so that
``scipy.sparse.linalg.eigsh`` (implicitly restarted Lanczos, ARPACK) computes the top eigenvalues
(:func:`top_hessian_eigs`); :func:`power_iteration` (with deflation) is the independent check and
:func:`hutchinson_trace` estimates ``tr H = E[z^T H z]`` for Rademacher ``z``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import scipy.sparse.linalg as spla
import torch
from torch import nn
from torch.func import functional_call, grad, jvp

from numerics.validate import check_finite, warn_if_low_precision
from theory.errors import ConfigError

__all__ = [
    "HessianOperator",
    "TraceEstimate",
    "dense_hessian",
    "flatten",
    "hutchinson_trace",
    "hvp",
    "loss_function",
    "power_iteration",
    "top_hessian_eigs",
    "unflatten",
]

Params = dict[str, torch.Tensor]


def _params(model: nn.Module) -> Params:
    """The trainable parameters, detached (the point at which the Hessian is taken)."""
    return {k: v.detach() for k, v in model.named_parameters() if v.requires_grad}


def flatten(tensors: Params) -> torch.Tensor:
    """Concatenate a dict of tensors into one vector (in the dict's order)."""
    return torch.cat([t.reshape(-1) for t in tensors.values()])


def unflatten(vector: torch.Tensor, like: Params) -> Params:
    """Split a vector into tensors shaped like ``like`` (inverse of :func:`flatten`)."""
    out, i = {}, 0
    for k, t in like.items():
        out[k] = vector[i:i + t.numel()].reshape(t.shape)
        i += t.numel()
    if i != vector.numel():
        raise ConfigError(f"vector has {vector.numel()} entries, the parameters {i}")
    return out


def loss_function(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor
) -> Callable[[Params], torch.Tensor]:
    r"""``theta -> (1/|B|) sum_n CE(f(theta; x_n), y_n)`` on the batch ``(x, y)``, BN in eval mode.

    The model's buffers (BN running statistics) are passed as constants; the model must be in
    eval mode when the returned function is called (:class:`HessianOperator` sees to it).
    """
    buffers = {k: v.detach() for k, v in model.named_buffers()}

    def loss(params: Params) -> torch.Tensor:
        logits = functional_call(model, (params, buffers), (x,))
        return nn.functional.cross_entropy(logits, y)

    return loss


def hvp(loss: Callable[[Params], torch.Tensor], params: Params, v: Params) -> Params:
    r"""Hessian-vector product ``H v`` by forward-over-reverse: ``jvp(grad(loss), (θ,), (v,))``."""
    return jvp(grad(loss), (params,), (v,))[1]


class _EvalMode:
    """Context manager: the model in eval mode (BN uses running statistics), then restored."""

    def __init__(self, model: nn.Module) -> None:
        self.model, self.was_training = model, model.training

    def __enter__(self) -> nn.Module:
        self.model.eval()
        return self.model

    def __exit__(self, *exc: object) -> None:
        self.model.train(self.was_training)


def _batches(n: int, batch_size: int | None) -> list[slice]:
    size = batch_size if batch_size else n
    return [slice(i, min(i + size, n)) for i in range(0, n, size)]


class HessianOperator(spla.LinearOperator):
    r"""The weight Hessian ``H = ∇²_θ (1/N) Σ_n CE(f(θ; x_n), y_n)`` as a SciPy ``LinearOperator``.

    ``matvec(v) = Σ_B (|B|/N) H_B v`` over mini-batches ``B`` of at most ``batch_size`` samples,
    each ``H_B v`` by forward-over-reverse autodiff. Inputs are held fixed (pass adversarial
    examples for the adversarial Hessian); BatchNorm in eval mode (module docstring). Vectors
    are NumPy float64 of length P (the number of trainable parameters, in
    ``model.named_parameters()`` order); the products are computed in the model's dtype.

    Args:
        model: the network at the weights θ where H is taken.
        x, y: inputs (first dimension the samples) and integer labels.
        batch_size: samples per HVP chunk (``None``: all at once).
    """

    def __init__(
        self, model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int | None = None
    ) -> None:
        if x.shape[0] != y.shape[0] or x.shape[0] == 0:
            raise ConfigError(
                f"x has {x.shape[0]} samples and y {y.shape[0]}: pass matching, non-empty batches"
            )
        self.model, self.x, self.y = model, x, y
        self.params = _params(model)
        if not self.params:
            raise ConfigError("the model has no trainable parameters")
        check_finite(x, "x (the inputs of the Hessian)")
        for name, p in self.params.items():
            check_finite(p.detach(), f"weight {name}")
        first = next(iter(self.params.values()))
        self.torch_dtype, self.torch_device = first.dtype, first.device
        self.chunks = _batches(x.shape[0], batch_size)
        self.num_matvecs = 0
        size = sum(p.numel() for p in self.params.values())
        super().__init__(dtype=np.float64, shape=(size, size))

    def matvec_torch(self, v: torch.Tensor) -> torch.Tensor:
        """``H v`` for a flat torch vector ``v`` (on the model's device and dtype)."""
        tangent = unflatten(v.to(self.torch_device, self.torch_dtype), self.params)
        n = self.x.shape[0]
        total = torch.zeros_like(v, dtype=self.torch_dtype, device=self.torch_device)
        with _EvalMode(self.model):
            for s in self.chunks:
                loss = loss_function(self.model, self.x[s], self.y[s])
                hv = hvp(loss, self.params, tangent)
                total += flatten(hv) * ((s.stop - s.start) / n)
        self.num_matvecs += 1
        return total

    def _matvec(self, v: np.ndarray) -> np.ndarray:
        vec = torch.as_tensor(np.ascontiguousarray(v).reshape(-1))
        return self.matvec_torch(vec).detach().to("cpu", torch.float64).numpy()

    def _rmatvec(self, v: np.ndarray) -> np.ndarray:  # H is symmetric
        return self._matvec(v)


def dense_hessian(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    r"""The full P x P Hessian ``∇²_θ (1/N) Σ CE`` by ``torch.func.hessian`` (small models only).

    Same conventions as :class:`HessianOperator` (inputs fixed, BN in eval mode). Refuses models
    with more than 20,000 parameters (the matrix would not fit comfortably in memory).
    """
    params = _params(model)
    size = sum(p.numel() for p in params.values())
    if size > 20_000:
        raise ConfigError(
            f"dense_hessian needs a P x P matrix and the model has P = {size} parameters: use "
            "HessianOperator / top_hessian_eigs for large models"
        )
    check_finite(x, "x (the inputs of the Hessian)")
    check_finite(flatten(params).detach(), "the weights")
    warn_if_low_precision(flatten(params).dtype, "dense_hessian (the ground truth)")
    with _EvalMode(model):
        loss = loss_function(model, x, y)

        def flat_loss(theta: torch.Tensor) -> torch.Tensor:
            return loss(unflatten(theta, params))

        return torch.func.hessian(flat_loss)(flatten(params)).detach()


def top_hessian_eigs(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, k: int = 3, *,
    batch_size: int | None = None, tol: float = 1e-6, seed: int = 0,
    return_vectors: bool = False, maxiter: int | None = None,
) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    r"""The ``k`` largest (algebraic) eigenvalues of the weight Hessian, by ``scipy`` ``eigsh``.

    ``eigsh(H, k, which="LA")`` (Lanczos with implicit restarts) on :class:`HessianOperator`;
    the starting vector is Gaussian with the given ``seed``, so the result is reproducible.
    These are the "top Hessian eigenvalues" of Yamada et al. (Y-T1, Figures 3-4).

    Args:
        model, x, y, batch_size: as for :class:`HessianOperator` (x adversarial for the
            adversarial Hessian, held fixed; BN in eval mode).
        k: how many eigenvalues (1 <= k < P). tol: ARPACK's relative accuracy.
        return_vectors: also return the unit eigenvectors (P x k).

    Returns:
        Eigenvalues in decreasing order (and the eigenvectors, columns in the same order).
    """
    op = HessianOperator(model, x, y, batch_size=batch_size)
    if not 1 <= k < op.shape[0]:
        raise ConfigError(f"k must satisfy 1 <= k < P = {op.shape[0]}, got {k}")
    v0 = np.random.default_rng(seed).standard_normal(op.shape[0])
    vals, vecs = spla.eigsh(op, k=k, which="LA", tol=tol, v0=v0, maxiter=maxiter)
    order = np.argsort(vals)[::-1]
    vals, vecs = vals[order], vecs[:, order]
    return (vals, vecs) if return_vectors else vals


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
    rng = np.random.default_rng(seed)
    n = operator.shape[0]
    found_vals: list[float] = []
    found_vecs: list[np.ndarray] = []
    used = []
    for _ in range(k):
        v = rng.standard_normal(n)
        v /= np.linalg.norm(v)
        lam = 0.0
        it = 0
        for it in range(1, iters + 1):  # noqa: B007 (it is reported)
            w = operator.matvec(v)
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
    if num_samples < 2:
        raise ConfigError(f"num_samples must be >= 2 for a standard error, got {num_samples}")
    rng = np.random.default_rng(seed)
    n = operator.shape[0]
    values = np.empty(num_samples)
    for i in range(num_samples):
        z = rng.choice(np.array([-1.0, 1.0]), size=n)
        values[i] = z @ operator.matvec(z)
    return TraceEstimate(
        estimate=float(values.mean()),
        standard_error=float(values.std(ddof=1) / np.sqrt(num_samples)),
        num_samples=num_samples,
    )

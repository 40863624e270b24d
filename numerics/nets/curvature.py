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
weights ``|B| / N``. :class:`HessianOperator` wraps them in a SciPy ``LinearOperator``, the
input of :mod:`numerics.spectra`: ``eigsh`` for the top eigenvalues
(:func:`numerics.spectra.top_hessian_eigs`), power iteration as the independent check, and
Hutchinson's estimate of ``tr H``. :func:`dense_hessian` is the ground truth for small models,
in memory bounded by a plan checked before it starts (:func:`plan_dense_hessian`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import scipy.sparse.linalg as spla
import torch
from torch import nn
from torch.func import functional_call, grad, jvp, vmap

from numerics.validate import check_data, check_finite, warn_if_low_precision
from theory.errors import ConfigError

__all__ = ["DenseHessianPlan", "HessianOperator", "check_class_labels", "dense_hessian",
           "flatten", "hvp", "loss_function", "plan_dense_hessian", "unflatten"]

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


def check_class_labels(model: nn.Module, x: torch.Tensor, y: torch.Tensor, name: str) -> None:
    """Refuse labels that are not class indices ``0..C-1`` of ``model`` (C: its last
    ``nn.Linear``'s outputs), in a :class:`ConfigError` naming the range found (the
    cross-entropy would otherwise fail deep in an HVP with torch's IndexError)."""
    if not x.is_floating_point():
        return  # integer inputs (indices into an embedding): check_data reads floats only
    linear = [m for m in model.modules() if isinstance(m, nn.Linear)]
    check_data(x, y, name=name, labels="classes",
               classes=linear[-1].out_features if linear else None)


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
        check_class_labels(model, x, y, "x (the inputs of the Hessian)")
        for name, p in self.params.items():
            check_finite(p.detach(), f"weight {name}")
        first = next(iter(self.params.values()))
        self.torch_dtype, self.torch_device = first.dtype, first.device
        dtypes = {p.dtype for p in self.params.values()}
        if x.is_floating_point() and dtypes != {x.dtype}:
            raise ConfigError(f"the model's parameters are {sorted(map(str, dtypes))} and the "
                              f"inputs {x.dtype}: give both one dtype (model.double() and "
                              "x.double() for a verification)")
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


DENSE_HESSIAN_MAX_BYTES = 4 * 2**30  # the matrix plus the working memory of one chunk
DENSE_HESSIAN_WORK_BYTES = 256 * 2**20  # the working memory a chunk of columns aims at
_HVP_MEMORY_FACTOR = 4  # forward-over-reverse keeps the primal and tangent activations, twice
# P-vectors the HVPs hold per column besides the basis and the products: a temporary of the
# gradient's tangent (measured: one) and the chunk-sized blocks the allocator keeps between
# chunks (measured: up to two chunks' worth); 4 are counted
_HVP_VECTORS_PER_COLUMN = 4
# what the first vectorised HVP makes resident once, whatever P and the batch: torch's kernels
# and functorch's state (measured 55-60 MiB on CPU, torch 2.x, MLPs from P = 805 to 10,345)
_RUNTIME_BYTES = 96 * 2**20
_SYMMETRISE_BLOCK = 512  # the tiles H[i, j], H[j, i] averaged in place: one b x b temporary


def _saved_bytes(loss: Callable[[Params], torch.Tensor], params: Params) -> int:
    """The bytes autograd saves for one backward pass of ``loss`` (its activations)."""
    total = 0

    def pack(t: torch.Tensor) -> torch.Tensor:
        nonlocal total
        total += t.numel() * t.element_size()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        loss({k: v.clone().requires_grad_(True) for k, v in params.items()})
    return total


@dataclass(frozen=True)
class DenseHessianPlan:
    """Every buffer :func:`dense_hessian` holds at its peak, in bytes.

    The call fills one preallocated P x P matrix, a chunk of ``columns`` rows at a time, and
    symmetrises it in place tile by tile; nothing else of size P x P is ever allocated (no
    transposed copy, no full-size temporary).

    Attributes:
        parameters: P. columns: Hessian columns per vectorised chunk of HVPs.
        batch_size: samples per HVP (``None``: all). matrix_bytes: the P x P result.
        chunk_bytes: one chunk's unit-vector basis and its products (2 x ``columns`` x P).
        hvp_bytes: the HVPs' working memory for one chunk: per column, the saved activations of
            one batch x 4 (forward-over-reverse) and the P-vectors of the gradient's tangent.
        symmetrise_bytes: the one tile the in-place symmetrisation allocates.
        runtime_bytes: what the first vectorised HVP makes resident once (torch's kernels and
            functorch's state), whatever P.
        work_bytes: chunk + HVP + tile + runtime. total_bytes: matrix + work.
    """

    parameters: int
    columns: int
    batch_size: int | None
    matrix_bytes: int
    chunk_bytes: int
    hvp_bytes: int
    symmetrise_bytes: int
    runtime_bytes: int

    @property
    def work_bytes(self) -> int:
        return self.chunk_bytes + self.hvp_bytes + self.symmetrise_bytes + self.runtime_bytes

    @property
    def total_bytes(self) -> int:
        return self.matrix_bytes + self.work_bytes


def plan_dense_hessian(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, *, batch_size: int | None = None,
    work_bytes: int = DENSE_HESSIAN_WORK_BYTES,
) -> DenseHessianPlan:
    """The memory :func:`dense_hessian` needs, from one forward pass (nothing else is run).

    The chunk of columns is the largest whose basis, products and HVP working memory, with the
    symmetrisation's tile and the one-off runtime state, fit in ``work_bytes`` (at least one
    column).
    """
    params = _params(model)
    size = sum(p.numel() for p in params.values())
    itemsize = next(iter(params.values())).element_size()
    chunk = _batches(x.shape[0], batch_size)[0]
    with _EvalMode(model):
        activations = _HVP_MEMORY_FACTOR * _saved_bytes(
            loss_function(model, x[chunk], y[chunk]), params)
    hvp_column = activations + _HVP_VECTORS_PER_COLUMN * size * itemsize
    per_column = 2 * size * itemsize + hvp_column  # basis row, product row, the HVP's memory
    block = min(size, _SYMMETRISE_BLOCK)
    tile = block * block * itemsize
    columns = int(max(1, min(size, (work_bytes - tile - _RUNTIME_BYTES) // per_column)))
    return DenseHessianPlan(size, columns, batch_size, size * size * itemsize,
                            2 * columns * size * itemsize, columns * hvp_column, tile,
                            _RUNTIME_BYTES)


def _symmetrise_(H: torch.Tensor, block: int = _SYMMETRISE_BLOCK) -> torch.Tensor:
    """``H <- (H + H^T) / 2`` in place, tile pair by tile pair (one ``block``^2 temporary).

    Each entry is ``0.5 * (H[i, j] + H[j, i])``, the same floating-point value as the
    out-of-place ``0.5 * (H + H.T)``.
    """
    size = H.shape[0]
    for i0 in range(0, size, block):
        i1 = min(i0 + block, size)
        for j0 in range(i0, size, block):
            j1 = min(j0 + block, size)
            upper, lower = H[i0:i1, j0:j1], H[j0:j1, i0:i1]
            mean = torch.add(upper, lower.T).mul_(0.5)
            upper.copy_(mean)
            lower.copy_(mean.T)
    return H


def dense_hessian(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, *, batch_size: int | None = None,
    max_bytes: int = DENSE_HESSIAN_MAX_BYTES, work_bytes: int = DENSE_HESSIAN_WORK_BYTES,
) -> torch.Tensor:
    r"""The full P x P Hessian ``∇²_θ (1/N) Σ CE`` with bounded memory (small models only).

    Same conventions as :class:`HessianOperator` (inputs fixed, BN in eval mode). The columns are
    Hessian-vector products with the unit vectors, vectorised over chunks of columns sized so
    that a chunk's working memory stays within ``work_bytes`` (:func:`plan_dense_hessian`), and
    over batches of ``batch_size`` samples; the plan (matrix plus one chunk) is checked against
    ``max_bytes`` before anything is computed, and refused past it. The products of a chunk are
    written straight into the rows of one preallocated matrix (H e_j is row j of the symmetric
    H), which is then symmetrised in place, (H + H^T)/2 (the products agree with it to
    rounding): the peak is the matrix plus one chunk, never a second P x P buffer.
    """
    params = _params(model)
    if not params:
        raise ConfigError("the model has no trainable parameters")
    if x.shape[0] != y.shape[0] or x.shape[0] == 0:
        raise ConfigError(f"x has {x.shape[0]} samples and y {y.shape[0]}: pass matching, "
                          "non-empty batches")
    check_finite(x, "x (the inputs of the Hessian)")
    check_class_labels(model, x, y, "x (the inputs of the Hessian)")
    check_finite(flatten(params).detach(), "the weights")
    warn_if_low_precision(flatten(params).dtype, "dense_hessian (the ground truth)")
    size = sum(p.numel() for p in params.values())
    itemsize = next(iter(params.values())).element_size()
    if size * size * itemsize > max_bytes:  # refused before any forward pass
        raise ConfigError(
            f"dense_hessian needs a P x P matrix of {size * size * itemsize / 2**30:.2f} GiB "
            f"(P = {size} parameters), past max_bytes = {max_bytes / 2**30:.2f} GiB: use "
            "HessianOperator / top_hessian_eigs for large models, or pass a larger max_bytes")
    plan = plan_dense_hessian(model, x, y, batch_size=batch_size, work_bytes=work_bytes)
    if plan.total_bytes > max_bytes:
        raise ConfigError(
            f"dense_hessian would need about {plan.total_bytes / 2**30:.2f} GiB (the "
            f"{plan.parameters} x {plan.parameters} matrix {plan.matrix_bytes / 2**30:.2f} GiB "
            f"and {plan.columns} columns at a time {plan.work_bytes / 2**30:.2f} GiB), past "
            f"max_bytes = {max_bytes / 2**30:.2f} GiB: use HessianOperator / top_hessian_eigs "
            "for large models, or pass a larger max_bytes")
    theta = flatten(params)
    size, n = plan.parameters, x.shape[0]
    H = torch.zeros((size, size), dtype=theta.dtype, device=theta.device)
    with _EvalMode(model):
        for s in _batches(n, batch_size):
            loss = loss_function(model, x[s], y[s])
            weight = (s.stop - s.start) / n

            def column(v: torch.Tensor, loss: Callable = loss) -> Params:
                return hvp(loss, params, unflatten(v, params))

            for c0 in range(0, size, plan.columns):
                c1 = min(c0 + plan.columns, size)
                basis = torch.zeros((c1 - c0, size), dtype=theta.dtype, device=theta.device)
                basis[torch.arange(c1 - c0), torch.arange(c0, c1)] = 1.0
                products = vmap(column)(basis)  # H_B e_j for j in [c0, c1): rows c0..c1 of H_B
                del basis
                offset = 0
                # each parameter's block of the rows, in place (the per-parameter products:
                # the flat gradient's tangent would scatter each into a zero P-vector)
                for name, p in params.items():
                    block = products.pop(name).reshape(c1 - c0, p.numel())
                    H[c0:c1, offset:offset + p.numel()].add_(block, alpha=weight)
                    offset += p.numel()
                del products, block
    return _symmetrise_(H.detach())

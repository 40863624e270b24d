r"""A linear logistic model as a ``torch.nn`` classifier, for other libraries and the nets tools.

The suite's linear models are weight vectors ``w`` (``d`` features, plus a bias when ``w`` has
``d + 1`` entries) with labels ``y`` in {-1, +1} and loss :math:`\zeta(-y\, w^\top x)`.
:class:`LinearLogits` is the same model as a two-class network: logits ``[0, w.x + b]``, so that
class 1 is ``y = +1`` and the softmax cross-entropy of class ``(y + 1)/2`` is exactly
:math:`\zeta(-y (w^\top x + b))` (``CE = log(1 + e^{z_0 - z_1})``). Inputs of any shape are
flattened per sample (images ``(N, 1, 28, 28)`` for MNIST2).
"""

from __future__ import annotations

import torch
from torch import nn

from theory.errors import ConfigError

__all__ = ["LinearLogits", "as_module", "class_labels"]


class LinearLogits(nn.Module):
    """Logits ``[0, w.x + b]`` of the linear model ``w`` (module docstring).

    Args:
        w: weights ``(d,)`` or ``(d + 1,)`` (the last entry the bias).
        features: d, the number of input features (``prod`` of a sample's shape).
        trainable: whether ``w`` is a trainable parameter (else a buffer).
    """

    def __init__(self, w: torch.Tensor, features: int, trainable: bool = False) -> None:
        super().__init__()
        w = torch.as_tensor(w).detach().clone().reshape(-1)
        if w.numel() not in (features, features + 1):
            raise ConfigError(f"w has {w.numel()} entries for {features} features: pass d or "
                              "d + 1 (with a bias) weights")
        self.features = features
        bias = w[features:].sum() if w.numel() == features + 1 else torch.zeros((), dtype=w.dtype)
        if trainable:
            self.weight, self.bias = nn.Parameter(w[:features]), nn.Parameter(bias)
        else:
            self.register_buffer("weight", w[:features])
            self.register_buffer("bias", bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        flat = x.reshape(x.shape[0], -1)
        if flat.shape[1] != self.features:
            raise ConfigError(f"the linear model takes {self.features} features per sample, got "
                              f"shape {tuple(x.shape)}")
        z = flat @ self.weight + self.bias
        return torch.stack([torch.zeros_like(z), z], dim=1)


def as_module(w: torch.Tensor, features: int | None = None, *,
              trainable: bool = False) -> LinearLogits:
    """The linear model ``w`` as a ``torch.nn`` classifier (:class:`LinearLogits`); ``features``
    defaults to ``w``'s length (no bias)."""
    w = torch.as_tensor(w)
    return LinearLogits(w, int(w.numel()) if features is None else features, trainable)


def class_labels(y: torch.Tensor) -> torch.Tensor:
    """Labels in {-1, +1} as class indices {0, 1} (the classes of :class:`LinearLogits`)."""
    y = torch.as_tensor(y)
    if not bool(((y == 1) | (y == -1)).all()):
        raise ConfigError("labels must be -1 or +1 (the linear models' convention)")
    return ((y + 1) // 2).long() if not y.is_floating_point() else ((y + 1) / 2).long()

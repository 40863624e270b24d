"""numerics.linear.module: a linear model as a torch.nn classifier whose cross-entropy is the
suite's logistic loss zeta(-y (w.x + b)), so other libraries attack the same model."""

from __future__ import annotations

import pytest
import torch

from numerics.linear import as_module, class_labels
from numerics.ops import margins, zeta
from theory.errors import ConfigError


def test_cross_entropy_is_the_logistic_loss() -> None:
    g = torch.Generator().manual_seed(0)
    X = torch.rand((20, 12), generator=g, dtype=torch.float64)
    y = torch.where(torch.rand(20, generator=g) < 0.5, -1.0, 1.0).to(torch.float64)
    for w in (torch.randn(12, generator=g, dtype=torch.float64),
              torch.randn(13, generator=g, dtype=torch.float64)):
        model = as_module(w, 12)
        ce = torch.nn.functional.cross_entropy(model(X.reshape(20, 1, 3, 4)), class_labels(y),
                                               reduction="none")
        torch.testing.assert_close(ce, zeta(-margins(w[None], X, y)[0]), rtol=1e-14, atol=0)
        assert list(model.parameters()) == []  # weights are buffers unless trainable
    trainable = as_module(torch.zeros(13, dtype=torch.float64), 12, trainable=True)
    assert sum(p.numel() for p in trainable.parameters()) == 13


def test_bad_input() -> None:
    with pytest.raises(ConfigError, match="d or d \\+ 1"):
        as_module(torch.zeros(10), 12)
    with pytest.raises(ConfigError, match="12 features"):
        as_module(torch.zeros(12))(torch.zeros(3, 5))
    with pytest.raises(ConfigError, match="-1 or \\+1"):
        class_labels(torch.tensor([0.0, 1.0]))

"""Small float64 problems shared by the tests: a model or weights, data, and their seed.

A case is a builder called with its parameters (named in :data:`NET_CASES`, or a direct call):
the curvature and landscape tests of a model family share one builder instead of copies of it.
A call builds the case afresh (milliseconds), so a test may switch its model's mode, freeze
parameters or perturb weights without affecting another test.

- :func:`linear_problem`: ``(X, y, W)``, n points in [0, 1]^d with labels -1/+1 and K weight
  vectors with a bias (d + 1 coordinates), from one seeded generator.
- :func:`mlp_case`, :func:`cnn_bn_case`: ``(model, x, y)``, a smooth MLP and a small CNN with
  BatchNorm (running statistics set by a forward pass in train mode, so that eval-mode BN is not
  the identity), a few hundred parameters each, so that ``torch.func.hessian`` gives the dense
  matrix; torch's global seed makes the weights (``torch.manual_seed(seed)``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import torch

from numerics.cli import main
from numerics.nets.models import MLP, SmallCNN

DTYPE = torch.float64

NetCase = tuple[torch.nn.Module, torch.Tensor, torch.Tensor]


def linear_problem(n: int = 30, d: int = 6, K: int = 2, seed: int = 0,
                   ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``X`` (n, d) uniform in [0, 1], ``y`` (n,) in {-1, +1}, ``W`` (K, d + 1) ~ 0.7 N(0, 1)."""
    g = torch.Generator().manual_seed(seed)
    X = torch.rand((n, d), generator=g, dtype=DTYPE)
    y = torch.where(torch.rand(n, generator=g, dtype=DTYPE) < 0.5, -1.0, 1.0)
    W = 0.7 * torch.randn((K, d + 1), generator=g, dtype=DTYPE)
    return X, y, W


def mlp_case(seed: int = 0, n: int = 40, in_features: int = 6, num_classes: int = 3,
             hidden: tuple[int, ...] = (12,)) -> NetCase:
    """A softplus MLP (twice differentiable everywhere) and n Gaussian inputs with random labels."""
    torch.manual_seed(seed)
    model = MLP(in_features=in_features, num_classes=num_classes, hidden=hidden,
                activation="softplus").to(DTYPE)
    x = torch.randn(n, in_features, dtype=DTYPE)
    y = torch.randint(0, num_classes, (n,))
    return model, x, y


def cnn_bn_case(seed: int = 1, n: int = 30, channels: tuple[int, ...] = (2, 4),
                n_warmup: int = 64, warmup_scale: float = 3.0, num_classes: int = 3,
                image_size: int = 8) -> NetCase:
    """A SmallCNN with BatchNorm on 1 x image_size^2 images in [0, 1]; its running statistics
    come from ``n_warmup`` images in [0, warmup_scale] (not the data's own)."""
    torch.manual_seed(seed)
    model = SmallCNN(num_classes=num_classes, in_channels=1, image_size=image_size,
                     channels=channels, batchnorm=True).to(DTYPE)
    model.train()
    with torch.no_grad():
        model(torch.rand(n_warmup, 1, image_size, image_size, dtype=DTYPE) * warmup_scale)
    x = torch.rand(n, 1, image_size, image_size, dtype=DTYPE)
    y = torch.randint(0, num_classes, (n,))
    return model, x, y


#: Every network case by name: (builder, parameters). ``build(name)`` makes one.
NET_CASES: dict[str, tuple[Callable[..., NetCase], dict[str, Any]]] = {
    "mlp": (mlp_case, {}),
    "cnn_bn": (cnn_bn_case, {}),
    # the landscape tests' CNN: more channels, fewer points (a landscape point is a forward pass
    # over all of them), running statistics from images in [0, 1]
    "cnn_bn_landscape": (cnn_bn_case, {"seed": 0, "n": 10, "channels": (3, 4), "n_warmup": 32,
                                       "warmup_scale": 1.0}),
}

#: The cases of the Hessian tests (the ``net_case`` fixture of tests/conftest.py).
HESSIAN_CASES = ("cnn_bn", "mlp")


def build(name: str) -> NetCase:
    """The network case ``name`` of :data:`NET_CASES`, built afresh."""
    builder, params = NET_CASES[name]
    return builder(**params)


# -- the command line ------------------------------------------------------------------


def fails_cleanly(capsys: pytest.CaptureFixture[str], argv: list[str], *expect: str) -> str:
    """Run the CLI; assert exit 2, one error message naming ``expect``, no traceback."""
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse's own errors
        code = exc.code
    err = capsys.readouterr().err
    assert code == 2, err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) >= 1
    assert lines[0].startswith("advlandscape"), err
    assert err.count("error:") == 1, err
    for word in expect:
        assert word in err, (word, err)
    return err

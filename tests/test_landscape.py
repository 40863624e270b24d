"""Tests for numerics.landscape: filter normalisation (Li et al. 2018) and re-attacked landscapes
(the machinery of Yamada et al. Figures 2 and 4, claim Y-T1)."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from numerics.attacks import pgd
from numerics.landscape import (
    AttackSpec,
    filter_normalized_direction,
    landscape_1d,
    landscape_2d,
)
from numerics.models import ResNet18, SmallCNN
from theory.errors import ConfigError

pytestmark = pytest.mark.usefixtures("one_thread")


def _case() -> tuple[torch.nn.Module, torch.Tensor, torch.Tensor]:
    torch.manual_seed(0)
    model = SmallCNN(num_classes=3, in_channels=1, image_size=8, channels=(3, 4), batchnorm=True)
    model.train()
    with torch.no_grad():
        model(torch.rand(32, 1, 8, 8, dtype=torch.float64))
    x = torch.rand(10, 1, 8, 8, dtype=torch.float64)
    y = torch.randint(0, 3, (10,))
    return model, x, y


def _eval_loss(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    model.eval()
    with torch.no_grad():
        return float(torch.nn.functional.cross_entropy(model(x), y))


def test_filter_norms_equal_weight_filter_norms_and_bias_bn_zero() -> None:
    model = ResNet18(num_classes=3, in_channels=1, width=4)
    d = filter_normalized_direction(model, generator=torch.Generator().manual_seed(1))
    for name, w in model.named_parameters():
        if w.dim() <= 1:  # biases and BatchNorm weights/biases
            assert torch.count_nonzero(d[name]) == 0, name
        else:
            wn = w.detach().reshape(w.shape[0], -1).norm(dim=1)
            dn = d[name].reshape(w.shape[0], -1).norm(dim=1)
            torch.testing.assert_close(dn, wn, rtol=1e-12, atol=0)
            assert not torch.allclose(d[name], w.detach())  # a new direction, not the weights
    d2 = filter_normalized_direction(model, generator=torch.Generator().manual_seed(1))
    assert all(torch.equal(d[k], d2[k]) for k in d)


def test_landscape_at_zero_is_the_loss_and_moves_the_weights() -> None:
    model, x, y = _case()
    d = filter_normalized_direction(model, generator=torch.Generator().manual_seed(2))
    curve = landscape_1d(model, x, y, d, [-0.5, 0.0, 0.5], points_per_batch=3)
    assert model.training  # eval mode only while evaluating
    assert curve["loss"][1] == pytest.approx(_eval_loss(model, x, y), rel=1e-12)
    moved = copy.deepcopy(model)
    with torch.no_grad():
        for k, p in moved.named_parameters():
            p.add_(0.5 * d[k])
    assert curve["loss"][2] == pytest.approx(_eval_loss(moved, x, y), rel=1e-12)
    assert curve["loss"][0] != pytest.approx(curve["loss"][1], rel=1e-6)


def test_adversarial_landscape_at_zero_equals_pgd_loss() -> None:
    model, x, y = _case()
    d = filter_normalized_direction(model, generator=torch.Generator().manual_seed(2))
    spec = AttackSpec(eps=0.1, norm="linf", steps=5, step_size=0.03)
    curve = landscape_1d(model, x, y, d, [0.0, 0.3], attack=spec, points_per_batch=1, seed=7)
    model.eval()

    def losses(z: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.cross_entropy(model(z), y, reduction="none")

    x_adv = pgd(losses, x, 0.1, "linf", 5, 0.03, generator=torch.Generator().manual_seed(7))
    assert curve["loss"][0] == pytest.approx(_eval_loss(model, x_adv, y), rel=1e-12)
    assert curve["loss"][0] > _eval_loss(model, x, y)  # the attack raises the loss


def test_vmap_batching_equals_point_by_point() -> None:
    model, x, y = _case()
    d = filter_normalized_direction(model, generator=torch.Generator().manual_seed(3))
    alphas = np.linspace(-1, 1, 5)
    spec = AttackSpec(eps=0.1, steps=3, step_size=0.04, random_start=False)
    one = landscape_1d(model, x, y, d, alphas, attack=spec, points_per_batch=1, batch_size=4)
    many = landscape_1d(model, x, y, d, alphas, attack=spec, points_per_batch=5, batch_size=10)
    np.testing.assert_allclose(many["loss"], one["loss"], rtol=1e-10)
    np.testing.assert_allclose(many["accuracy"], one["accuracy"], atol=0)


def test_2d_slice_equals_1d() -> None:
    model, x, y = _case()
    g = torch.Generator().manual_seed(4)
    d1, d2 = filter_normalized_direction(model, generator=g), filter_normalized_direction(
        model, generator=g)
    surface = landscape_2d(model, x, y, d1, d2, [-0.4, 0.0, 0.4], [0.0, 0.2], points_per_batch=4)
    line = landscape_1d(model, x, y, d1, [-0.4, 0.0, 0.4])
    np.testing.assert_allclose(np.asarray(surface["loss"])[:, 0], line["loss"], rtol=1e-12)
    assert np.asarray(surface["loss"]).shape == (3, 2)


def test_bad_direction_and_attack() -> None:
    model, x, y = _case()
    with pytest.raises(ConfigError, match="filter_normalized_direction"):
        landscape_1d(model, x, y, {"w": torch.zeros(1)}, [0.0])
    with pytest.raises(ConfigError):
        AttackSpec(eps=-1.0)
    with pytest.raises(ConfigError):
        AttackSpec(eps=0.1, norm="l3")

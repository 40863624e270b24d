"""Tests for numerics.nets.landscape: filter normalisation (Li et al. 2018) and re-attacked
landscapes (the machinery of Yamada et al. Figures 2 and 4, claim Y-T1)."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from numerics.attacks import AttackSpec, pgd_on_loss, random_noise
from numerics.nets.landscape import (
    evaluate_points,
    filter_normalized_direction,
    landscape_1d,
    landscape_2d,
)
from numerics.nets.models import ResNet18
from theory.errors import ConfigError

from cases import build

pytestmark = pytest.mark.usefixtures("one_thread")


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
    model, x, y = build("cnn_bn_landscape")
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
    model, x, y = build("cnn_bn_landscape")
    d = filter_normalized_direction(model, generator=torch.Generator().manual_seed(2))
    spec = AttackSpec("pgd", "linf", 5, step_size=0.03)
    curve = landscape_1d(model, x, y, d, [0.0, 0.3], attack=spec, eps=0.1, points_per_batch=1,
                         seed=7)
    model.eval()

    def losses(z: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.cross_entropy(model(z), y, reduction="none")

    x_adv = pgd_on_loss(losses, x, 0.1, "linf", 5, 0.03, generator=torch.Generator().manual_seed(7))
    assert curve["loss"][0] == pytest.approx(_eval_loss(model, x_adv, y), rel=1e-12)
    assert curve["loss"][0] > _eval_loss(model, x, y)  # the attack raises the loss


@pytest.mark.parametrize("kind", ["clean", "pgd"])
def test_vmap_batching_equals_point_by_point(kind: str) -> None:
    """The two paths (vmap over stacked points, a loop over points) give the same landscape,
    clean and re-attacked (PGD without a random start, so the starts cannot differ)."""
    model, x, y = build("cnn_bn_landscape")
    d = filter_normalized_direction(model, generator=torch.Generator().manual_seed(3))
    alphas = np.linspace(-1, 1, 5)
    spec = AttackSpec(kind, "linf", 3, step_size=0.04, start="none", eps=0.1)
    one = landscape_1d(model, x, y, d, alphas, attack=spec, batch_size=4, path="loop")
    many = landscape_1d(model, x, y, d, alphas, attack=spec, points_per_batch=5,
                        batch_size=10, path="vmap")
    auto = landscape_1d(model, x, y, d, alphas, attack=spec, points_per_batch=5, batch_size=10)
    np.testing.assert_allclose(many["loss"], one["loss"], rtol=1e-10)
    np.testing.assert_allclose(many["accuracy"], one["accuracy"], atol=0)
    np.testing.assert_allclose(auto["loss"], one["loss"], rtol=1e-10)  # the CPU takes the loop
    if kind == "pgd":  # eps comes from the spec: the re-attacked loss is above the clean one
        clean = landscape_1d(model, x, y, d, alphas)
        assert np.all(np.asarray(one["loss"]) > np.asarray(clean["loss"]))
    with pytest.raises(ConfigError, match="landscape path"):
        landscape_1d(model, x, y, d, alphas, path="gpu")


def test_2d_slice_equals_1d() -> None:
    model, x, y = build("cnn_bn_landscape")
    g = torch.Generator().manual_seed(4)
    d1, d2 = filter_normalized_direction(model, generator=g), filter_normalized_direction(
        model, generator=g)
    surface = landscape_2d(model, x, y, d1, d2, [-0.4, 0.0, 0.4], [0.0, 0.2], points_per_batch=4)
    line = landscape_1d(model, x, y, d1, [-0.4, 0.0, 0.4])
    np.testing.assert_allclose(np.asarray(surface["loss"])[:, 0], line["loss"], rtol=1e-12)
    assert np.asarray(surface["loss"]).shape == (3, 2)


def test_relative_step_is_step_factor_eps_over_steps() -> None:
    """Without an absolute step_size the PGD step is step_factor * eps / steps (spec.alpha)."""
    model, x, y = build("cnn_bn_landscape")
    d = filter_normalized_direction(model, generator=torch.Generator().manual_seed(5))
    relative = AttackSpec("pgd", "l2", 4, step_factor=2.0, start="none")
    absolute = AttackSpec("pgd", "l2", 4, step_size=2.0 * 0.3 / 4, start="none")
    a = landscape_1d(model, x, y, d, [0.0, 0.2], attack=relative, eps=0.3)
    b = landscape_1d(model, x, y, d, [0.0, 0.2], attack=absolute, eps=0.3)
    assert a["loss"] == b["loss"]
    assert a["loss"][0] > _eval_loss(model, x, y)


def test_no_attack_clean_attack_and_zero_budget_agree() -> None:
    """The clean loss three ways: no attack, a "clean" spec, and PGD at eps = 0."""
    model, x, y = build("cnn_bn_landscape")
    d = filter_normalized_direction(model, generator=torch.Generator().manual_seed(6))
    alphas = [-0.3, 0.0, 0.3]
    plain = landscape_1d(model, x, y, d, alphas)
    clean = landscape_1d(model, x, y, d, alphas, attack=AttackSpec("clean"), eps=0.1)
    zero = landscape_1d(model, x, y, d, alphas, attack=AttackSpec("pgd", "linf", 3), eps=0.0)
    assert plain["loss"] == clean["loss"] == zero["loss"]
    assert plain["accuracy"] == clean["accuracy"] == zero["accuracy"]


def test_random_noise_landscape_and_exact_refused() -> None:
    """kind "random": the loss on uniform noise in the ball drawn from the seeded generator
    (it used to be the clean loss, silently); "exact" is a linear model's and is refused."""
    model, x, y = build("cnn_bn_landscape")
    d = filter_normalized_direction(model, generator=torch.Generator().manual_seed(8))
    spec = AttackSpec("random", "l2")
    curve = landscape_1d(model, x, y, d, [0.0], attack=spec, eps=0.5, seed=3)
    noisy = random_noise(x, 0.5, "l2", generator=torch.Generator().manual_seed(3))
    assert curve["loss"][0] == pytest.approx(_eval_loss(model, noisy, y), rel=1e-12)
    assert curve["loss"][0] != pytest.approx(_eval_loss(model, x, y), rel=1e-6)
    with pytest.raises(ConfigError, match="linear"):
        landscape_1d(model, x, y, d, [0.0], attack=AttackSpec("exact", "l2"), eps=0.1)


def test_evaluate_points_at_zero_offset_is_the_loss_and_accuracy() -> None:
    model, x, y = build("cnn_bn_landscape")
    offsets = {k: torch.zeros(2, *p.shape, dtype=p.dtype) for k, p in model.named_parameters()}
    loss, acc = evaluate_points(model, x, y, offsets, batch_size=3, points_per_batch=1)
    model.eval()
    with torch.no_grad():
        expected_acc = float((model(x).argmax(1) == y).double().mean())
    np.testing.assert_allclose(loss, [_eval_loss(model, x, y)] * 2, rtol=1e-12)
    np.testing.assert_allclose(acc, [expected_acc] * 2, rtol=0, atol=1e-15)


def test_bad_direction_budget_and_attack() -> None:
    model, x, y = build("cnn_bn_landscape")
    d = filter_normalized_direction(model, generator=torch.Generator().manual_seed(7))
    with pytest.raises(ConfigError, match="filter_normalized_direction"):
        landscape_1d(model, x, y, {"w": torch.zeros(1)}, [0.0])
    wrong = {k: torch.zeros(3) if i == 0 else v for i, (k, v) in enumerate(d.items())}
    with pytest.raises(ConfigError, match="shape"):
        landscape_1d(model, x, y, wrong, [0.0])
    # a negative budget is refused by the function taking it, an unknown norm by the spec
    with pytest.raises(ConfigError, match="eps"):
        landscape_1d(model, x, y, d, [0.0], attack=AttackSpec("pgd", "linf", 3), eps=-1.0)
    with pytest.raises(ConfigError, match="norm"):
        AttackSpec("pgd", "l3", 3)
    with pytest.raises(ConfigError, match="matching"):
        landscape_1d(model, x, y[:-1], d, [0.0])
    with pytest.raises(ConfigError, match=">= 1"):
        landscape_1d(model, x, y, d, [0.0], points_per_batch=0)

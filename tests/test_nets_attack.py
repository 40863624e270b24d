"""Tests for numerics.nets.attack: adversarial examples of a network under an AttackSpec (the
inner maximisation of PGD training, INNER-MAX, behind Yamada et al. 5.2 and Liu et al.)."""

from __future__ import annotations

import pytest
import torch

from numerics.attacks import AttackSpec, pgd_on_loss
from numerics.nets.attack import adversarial_examples, frozen_weights, pgd, robust_accuracy
from numerics.nets.models import MLP, SmallCNN
from theory.errors import ConfigError

pytestmark = pytest.mark.usefixtures("one_thread")


def _case() -> tuple[torch.nn.Module, torch.Tensor, torch.Tensor]:
    torch.manual_seed(0)
    model = SmallCNN(num_classes=3, in_channels=1, image_size=8, channels=(2, 4), batchnorm=True)
    model.train()
    with torch.no_grad():  # running statistics that differ from any batch's own
        model(torch.rand(32, 1, 8, 8, dtype=torch.float64) * 2)
    g = torch.Generator().manual_seed(1)
    x = torch.rand(12, 1, 8, 8, generator=g, dtype=torch.float64)
    y = torch.randint(0, 3, (12,), generator=g)
    return model, x, y


def _ce(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return torch.nn.functional.cross_entropy(model(x), y, reduction="none")


def test_pgd_examples_are_pgd_on_the_per_sample_cross_entropy() -> None:
    """Bit for bit numerics.attacks.pgd_on_loss on CE(f(x), y), BN in eval mode, alpha =
    spec.alpha."""
    model, x, y = _case()
    spec = AttackSpec("pgd", "linf", 4, step_factor=2.0)
    xa = adversarial_examples(model, x, y, 0.1, spec, generator=torch.Generator().manual_seed(3))
    assert model.training  # the mode is restored
    model.eval()

    def losses(z: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.cross_entropy(model(z), y, reduction="none")

    ref = pgd_on_loss(losses, x, 0.1, "linf", 4, 2.0 * 0.1 / 4,
              generator=torch.Generator().manual_seed(3))
    assert torch.equal(xa, ref)
    assert float((xa - x).abs().max()) <= 0.1 + 1e-15
    assert float(xa.min()) >= 0.0
    assert float(xa.max()) <= 1.0
    assert float(_ce(model, xa, y).mean()) > float(_ce(model, x, y).mean())


def test_bn_mode_train_uses_batch_statistics_and_restores_eval() -> None:
    model, x, y = _case()
    spec = AttackSpec("pgd", "l2", 3, step_size=0.2, start="none")
    model.eval()
    a = adversarial_examples(model, x, y, 0.5, spec, bn_mode="eval")
    b = adversarial_examples(model, x, y, 0.5, spec, bn_mode="train")
    assert not model.training
    assert not torch.equal(a, b)  # different BN statistics, different gradients
    for xa in (a, b):
        assert float((xa - x).flatten(1).norm(dim=1).max()) <= 0.5 * (1 + 1e-12)


def test_clean_zero_budget_and_random_kinds() -> None:
    model, x, y = _case()
    for spec, eps in ((AttackSpec("clean"), 0.3), (AttackSpec("pgd", "linf", 3), 0.0)):
        out = adversarial_examples(model, x, y, eps, spec)
        assert torch.equal(out, x)
        assert out.data_ptr() != x.data_ptr()  # a copy, never the caller's tensor
    noisy = adversarial_examples(model, x, y, 0.05, AttackSpec("random", "linf"),
                                 generator=torch.Generator().manual_seed(0))
    assert 0 < float((noisy - x).abs().max()) <= 0.05
    assert float(noisy.min()) >= 0.0
    assert float(noisy.max()) <= 1.0


def test_exact_kind_is_refused_for_networks() -> None:
    model, x, y = _case()
    with pytest.raises(ConfigError, match="linear"):
        adversarial_examples(model, x, y, 0.1, AttackSpec("exact", "l2"))


def test_attack_depends_only_on_its_generator() -> None:
    model, x, y = _case()
    spec = AttackSpec("pgd", "linf", 2, step_size=0.02)

    def run(seed: int) -> torch.Tensor:
        torch.rand(5)  # the global generator must not matter
        return adversarial_examples(model, x, y, 0.05, spec,
                                    generator=torch.Generator().manual_seed(seed))

    assert torch.equal(run(1), run(1))
    assert not torch.equal(run(1), run(2))


def test_fast_attack_respects_ball_and_restores_weights_grad() -> None:
    model, x, y = _case()
    model = model.float()
    xf = x.float().contiguous(memory_format=torch.channels_last)
    xa = adversarial_examples(model, xf, y, 0.1, AttackSpec("pgd", "linf", 3, step_size=0.05),
                              generator=torch.Generator().manual_seed(0), fast=True)
    assert float((xa - xf).abs().max()) <= 0.1 + 1e-6
    assert float(xa.min()) >= 0.0
    assert float(xa.max()) <= 1.0
    assert all(p.requires_grad for p in model.parameters())


def test_frozen_weights_restores_flags_after_an_error() -> None:
    model, _, _ = _case()
    first = next(model.parameters())
    first.requires_grad_(False)  # a frozen layer stays frozen
    inside: list[bool] = []

    def fail() -> None:
        with frozen_weights(model):
            inside.extend(p.requires_grad for p in model.parameters())
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        fail()
    assert inside
    assert not any(inside)
    assert not first.requires_grad
    assert all(p.requires_grad for p in list(model.parameters())[1:])


def test_model_level_pgd_takes_the_budget_from_the_spec() -> None:
    """pgd(model, x, y, spec) == adversarial_examples at spec.eps; robust_accuracy counts an
    example only if it survives every spec (the strongest per example)."""
    model, x, y = _case()
    spec = AttackSpec("pgd", "l2", 5, start="none", projection="exact", eps=0.5)
    ref = adversarial_examples(model, x, y, 0.5, spec)
    assert torch.equal(pgd(model, x, y, spec), ref)
    with pytest.raises(ConfigError, match="budget from the spec"):
        pgd(model, x, y, AttackSpec("pgd", "l2", 5))
    weak = AttackSpec("pgd", "l2", 1, step_factor=0.1, start="none", eps=0.5)
    both = robust_accuracy(model, x, y, [spec, weak])
    assert both <= min(robust_accuracy(model, x, y, spec), robust_accuracy(model, x, y, weak))
    model.eval()  # robust_accuracy classifies in eval mode
    with torch.no_grad():
        survived = (model(ref).argmax(1) == y) & (model(pgd(model, x, y, weak)).argmax(1) == y)
    assert both == float(survived.double().mean())
    with pytest.raises(ConfigError, match="at least one"):
        robust_accuracy(model, x, y, [])


@pytest.mark.parametrize("activation", ["relu", "tanh", "softplus"])
def test_mlp_input_gradient_is_autograds(activation: str) -> None:
    """MLP.loss_input_gradient (the backward pass in closed form) is autograd's gradient of the
    summed cross-entropy to 1e-12; PGD on an MLP, which takes it, gives autograd's adversarial
    examples (the same MLP behind a wrapper, so autograd runs) to 1e-12."""
    torch.manual_seed(0)
    model = MLP(12, 4, hidden=(9, 7), activation=activation)
    g = torch.Generator().manual_seed(1)
    x = torch.rand((20, 1, 3, 4), generator=g, dtype=torch.float64)
    y = torch.randint(0, 4, (20,), generator=g)
    xr = x.clone().requires_grad_(True)
    (expected,) = torch.autograd.grad(
        torch.nn.functional.cross_entropy(model(xr), y, reduction="sum"), xr)
    got = model.loss_input_gradient(x, y)
    assert got.shape == x.shape
    torch.testing.assert_close(got, expected, rtol=0.0, atol=1e-12)
    spec = AttackSpec("pgd", "linf", 5, step_size=0.02)
    closed = adversarial_examples(model, x, y, 0.1, spec,
                                  generator=torch.Generator().manual_seed(2))
    wrapped = adversarial_examples(torch.nn.Sequential(model), x, y, 0.1, spec,
                                   generator=torch.Generator().manual_seed(2))
    torch.testing.assert_close(closed, wrapped, rtol=0.0, atol=1e-12)
    assert float((closed - x).abs().max()) == pytest.approx(0.1)

"""Tests for numerics.nets.autoattack: robust accuracy under APGD-CE + APGD-DLR (torchattacks,
installed apart by .ci/run), the worst case per example."""

from __future__ import annotations

import sys

import pytest
import torch

from numerics.attacks import AttackSpec
from numerics.nets.attack import robust_accuracy
from numerics.nets.autoattack import apgd_examples, apgd_robust_accuracy, require_torchattacks
from numerics.nets.models import MadryCNN
from theory.errors import ConfigError

pytestmark = pytest.mark.usefixtures("one_thread")
pytest.importorskip("torchattacks")


def _case() -> tuple[torch.nn.Module, torch.Tensor, torch.Tensor]:
    """A tiny MadryCNN fitted to 64 images of 12x12 pixels whose class is their brightest third
    (three classes: APGD-DLR needs at least three logits)."""
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(1)
    x = torch.rand(64, 1, 12, 12, generator=g, dtype=torch.float64)
    y = torch.stack([x[:, 0, 4 * i:4 * i + 4].mean((1, 2)) for i in range(3)], 1).argmax(1)
    model = MadryCNN(num_classes=3, image_size=12, width=2)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(150):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
    return model.eval(), x, y


def test_apgd_finds_adversarial_examples_inside_the_ball() -> None:
    model, x, y = _case()
    with torch.no_grad():
        clean = float((model(x).argmax(1) == y).double().mean())
    assert clean > 0.8  # the net fits its data, so there is something to attack
    eps = 0.1
    for loss in ("ce", "dlr"):
        xa = apgd_examples(model, x, y, eps, loss=loss, steps=20)
        assert float((xa - x).abs().max()) <= eps + 1e-6
        assert float(xa.min()) >= 0
        assert float(xa.max()) <= 1
        with torch.no_grad():
            fooled = (model(xa).argmax(1) != y) & (model(x).argmax(1) == y)
        assert bool(fooled.any())
    out = apgd_robust_accuracy(model, x, y, eps, steps=20)
    assert out["robust_acc"] < clean
    assert all(out["robust_acc"] <= v <= clean for v in out["per_loss"].values())
    assert out["library"].startswith("torchattacks")
    # at eps 0 nothing moves: robust accuracy is the clean one
    assert apgd_robust_accuracy(model, x, y, 0.0, steps=5)["robust_acc"] == pytest.approx(clean)


def test_apgd_is_at_least_as_strong_as_pgd_from_the_clean_point() -> None:
    model, x, y = _case()
    eps = 0.05
    pgd = robust_accuracy(model, x, y, AttackSpec("pgd", "linf", 20, eps=eps, start="none"))
    assert apgd_robust_accuracy(model, x, y, eps, steps=50)["robust_acc"] <= pgd + 1e-12


def test_caller_random_stream_is_left_alone() -> None:
    model, x, y = _case()
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    apgd_examples(model, x, y, 0.1, steps=3, seed=7)
    assert torch.equal(torch.rand(3), expected)


def test_bad_input_is_refused_early() -> None:
    model, x, y = _case()
    with pytest.raises(ConfigError, match=r"\[0, 1\]"):
        apgd_examples(model, x * 2, y, 0.1)
    with pytest.raises(ConfigError, match="norm"):
        apgd_examples(model, x, y, 0.1, norm="l1")
    with pytest.raises(ConfigError, match="loss"):
        apgd_examples(model, x, y, 0.1, loss="hinge")
    two = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(144, 2)).double()
    with pytest.raises(ConfigError, match="three classes"):
        apgd_examples(two, x, y % 2, 0.1, loss="dlr")
    with pytest.raises(ConfigError, match="steps"):
        apgd_robust_accuracy(model, x, y, 0.1, steps=0)


def test_missing_library_gives_the_install_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "torchattacks", None)  # import now raises ImportError
    with pytest.raises(ConfigError, match=r"pip install --no-deps torchattacks==3\.5\.1"):
        require_torchattacks()

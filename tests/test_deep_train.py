"""Tests for numerics.deep_train: resume is bit-identical, checkpoints every epoch, divergence,
PGD evaluation and presets (the training machinery behind Yamada et al. tables 5-6, Y-T1)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from numerics.deep_train import (
    AdvTrainConfig,
    _augment,
    adversarial_examples,
    evaluate,
    lr_at_epoch,
    madry_cifar10,
    train_adversarial,
    wu_svhn,
)
from numerics.results import load_checkpoint
from theory.errors import ConfigError, DivergenceError

pytestmark = pytest.mark.usefixtures("one_thread")


def _data(n: int = 24) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    x = torch.rand(n, 1, 8, 8, generator=g, dtype=torch.float64)
    y = (x.mean(dim=(1, 2, 3)) > 0.5).long() + 2 * (x[:, 0, 0, 0] > 0.5).long()
    return x, y


def _config(**kw: object) -> AdvTrainConfig:
    base = dict(model="resnet18", width=2, in_channels=1, num_classes=4, image_size=8,
                eps=0.1, train_steps=2, step_size=0.05, eval_steps=3, eval_step_size=0.05,
                epochs=3, batch_size=8, lr=0.05, augment=True, seed=3)
    base.update(kw)
    return AdvTrainConfig(**base)  # type: ignore[arg-type]


def test_resume_is_bit_identical_and_checkpoints_every_epoch(tmp_path: Path) -> None:
    x, y = _data()
    config = _config()
    straight = train_adversarial(config, x, y, progress=False)
    ckpt = tmp_path / "run.pt"
    first = train_adversarial(config, x, y, checkpoint=ckpt, progress=False,
                              stop_after_epochs=1)
    assert not first.finished
    assert load_checkpoint(ckpt)["epoch"] == 0
    second = train_adversarial(config, x, y, checkpoint=ckpt, progress=False,
                               stop_after_epochs=2)
    assert second.resumed_from_epoch == 1
    assert load_checkpoint(ckpt)["epoch"] == 1
    resumed = train_adversarial(config, x, y, checkpoint=ckpt, progress=False)
    assert resumed.finished
    assert load_checkpoint(ckpt)["epoch"] == 2
    for (k, a), (_, b) in zip(straight.model.state_dict().items(),
                              resumed.model.state_dict().items(), strict=True):
        assert torch.equal(a, b), k
    assert resumed.history == straight.history
    assert [h["epoch"] for h in resumed.history] == [1, 2, 3]


def test_checkpoint_with_other_config_is_refused(tmp_path: Path) -> None:
    x, y = _data()
    ckpt = tmp_path / "run.pt"
    train_adversarial(_config(epochs=1), x, y, checkpoint=ckpt, progress=False)
    with pytest.raises(ConfigError, match="different config"):
        train_adversarial(_config(epochs=1, lr=0.01), x, y, checkpoint=ckpt, progress=False)


def test_nan_loss_raises_divergence_naming_step_and_checkpoint(tmp_path: Path) -> None:
    x, y = _data()
    ckpt = tmp_path / "run.pt"
    train_adversarial(_config(epochs=2), x, y, checkpoint=ckpt, progress=False,
                      stop_after_epochs=1)
    bad = x.clone()
    bad[:, 0, 0, 0] = float("nan")  # every batch of the resumed epoch 2 gives a NaN loss
    with pytest.raises(DivergenceError, match=r"epoch 2, step 1 .*run\.pt \(after epoch 1\)"):
        train_adversarial(_config(epochs=2), bad, y, checkpoint=ckpt, progress=False)
    with pytest.raises(DivergenceError, match="no checkpoint yet"):
        train_adversarial(_config(epochs=2), bad, y, progress=False)


def test_training_lowers_the_adversarial_loss() -> None:
    x, y = _data(32)
    out = train_adversarial(_config(epochs=6, augment=False, lr=0.1, lr_schedule="constant"),
                            x, y, progress=False)
    losses = [h["train_adv_loss"] for h in out.history]
    assert losses[-1] < losses[0]


def test_evaluate_robust_below_clean_and_eps0_equal() -> None:
    x, y = _data()
    model = train_adversarial(_config(epochs=1), x, y, progress=False).model
    clean = evaluate(model, x, y, eps=0.0)
    assert clean["robust_acc"] == clean["clean_acc"]
    assert clean["robust_loss"] == pytest.approx(clean["clean_loss"], rel=1e-12)
    adv = evaluate(model, x, y, eps=0.2, steps=10, step_size=0.05, batch_size=10)
    assert adv["robust_loss"] > adv["clean_loss"]
    assert adv["robust_acc"] <= adv["clean_acc"]
    assert adv["clean_acc"] == clean["clean_acc"]


def test_fast_attack_respects_ball_and_restores_weights_grad() -> None:
    x, y = _data()
    config = _config(dtype="float32", fast=True, epochs=1)
    out = train_adversarial(config, x, y, progress=False)
    model = out.model
    xf = x.float().contiguous(memory_format=torch.channels_last)
    xa = adversarial_examples(model, xf, y, eps=0.1, norm="linf", steps=3, step_size=0.05,
                              generator=torch.Generator().manual_seed(0), fast=True)
    assert float((xa - xf).abs().max()) <= 0.1 + 1e-6
    assert float(xa.min()) >= 0.0
    assert float(xa.max()) <= 1.0
    assert all(p.requires_grad for p in model.parameters())


def test_augment_is_crop_and_flip() -> None:
    x = torch.arange(2 * 1 * 4 * 4, dtype=torch.float64).reshape(2, 1, 4, 4) + 1
    out = _augment(x, torch.Generator().manual_seed(0), pad=1)
    assert out.shape == x.shape
    # every output pixel is either padding (0) or one of the sample's own pixels
    for i in range(2):
        vals = set(out[i].unique().tolist()) - {0.0}
        assert vals <= set(x[i].unique().tolist())
    same = _augment(x, torch.Generator().manual_seed(0), pad=0)
    assert all(torch.equal(same[i], x[i]) or torch.equal(same[i], x[i].flip(2))
               for i in range(2))


def test_presets_and_schedule() -> None:
    madry = madry_cifar10(8)
    assert madry.eps == pytest.approx(8 / 255)
    assert madry.train_steps * madry.step_size >= 16 / 255
    assert (madry.momentum, madry.weight_decay, madry.eval_steps) == (0.9, 5e-4, 20)
    svhn = wu_svhn(4)
    assert svhn.step_size == pytest.approx(1 / 255)
    assert svhn.lr == 0.01
    cfg = _config(epochs=8, lr=0.1)
    assert [lr_at_epoch(cfg, e) for e in (0, 3, 4, 5, 6, 7)] == pytest.approx(
        [0.1, 0.1, 0.01, 0.01, 0.001, 0.001])
    with pytest.raises(ConfigError, match="float32"):
        _config(fast=True)
    with pytest.raises(ConfigError, match="lr_schedule"):
        _config(lr_schedule="step")
    with pytest.raises(ConfigError, match="in_channels=1"):
        train_adversarial(_config(in_channels=3), *_data(), progress=False)

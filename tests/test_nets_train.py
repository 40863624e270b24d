"""Tests for numerics.nets.train: the one training loop (fit) and its two front ends.

train_adversarial (Yamada et al. tables 5-6, Y-T1): resume is bit-identical, checkpoints every
epoch, divergence, PGD evaluation, presets. train_with_schedule (Liu et al.'s PAS and the fixed
budget, L-FINDINGS): the schedule sets eps, alpha and lr at every step, the run equals the loop it
replaced bit for bit, and a non-finite loss raises.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import pytest
import torch

import numerics.nets.train as nets_train
from numerics.attacks import AttackSpec, pgd_on_loss
from numerics.experiments.resnet import checkpoint_callables
from numerics.nets.models import MLP
from numerics.nets.schedules import FixedSchedule, PASchedule, Schedule
from numerics.nets.train import (
    AdvTrainConfig,
    _augment,
    evaluate,
    fit,
    lr_at_epoch,
    madry_cifar10,
    train_adversarial,
    train_with_schedule,
    wu_svhn,
)
from numerics.records import load_checkpoint
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


# --------------------------------------------------------------------------------------------
# train_adversarial


def test_resume_is_bit_identical_and_checkpoints_every_epoch(tmp_path: Path) -> None:
    x, y = _data()
    config = _config()
    straight = train_adversarial(config, x, y, progress=False)
    ckpt = tmp_path / "run.pt"
    first = train_adversarial(config, x, y, **checkpoint_callables(ckpt), progress=False,
                              stop_after_epochs=1)
    assert not first.finished
    assert load_checkpoint(ckpt)["epoch"] == 0
    second = train_adversarial(config, x, y, **checkpoint_callables(ckpt), progress=False,
                               stop_after_epochs=2)
    assert second.resumed_from_epoch == 1
    assert load_checkpoint(ckpt)["epoch"] == 1
    resumed = train_adversarial(config, x, y, **checkpoint_callables(ckpt), progress=False)
    assert resumed.finished
    assert load_checkpoint(ckpt)["epoch"] == 2
    for (k, a), (_, b) in zip(straight.model.state_dict().items(),
                              resumed.model.state_dict().items(), strict=True):
        assert torch.equal(a, b), k
    assert resumed.history == straight.history
    assert [h["epoch"] for h in resumed.history] == [1, 2, 3]
    assert not straight.model.training  # returned in eval mode


def test_checkpoint_with_other_config_is_refused(tmp_path: Path) -> None:
    x, y = _data()
    ckpt = tmp_path / "run.pt"
    train_adversarial(_config(epochs=1), x, y, **checkpoint_callables(ckpt), progress=False)
    with pytest.raises(ConfigError, match="different config"):
        train_adversarial(_config(epochs=1, lr=0.01), x, y, **checkpoint_callables(ckpt),
                          progress=False)


def test_nan_loss_raises_divergence_naming_step_and_checkpoint(tmp_path: Path) -> None:
    x, y = _data()
    ckpt = tmp_path / "run.pt"
    train_adversarial(_config(epochs=2), x, y, **checkpoint_callables(ckpt), progress=False,
                      stop_after_epochs=1)
    bad = x.clone()
    bad[:, 0, 0, 0] = float("nan")  # every batch of the resumed epoch 2 gives a NaN loss
    with pytest.raises(DivergenceError, match=r"epoch 2, step 1 .*run\.pt \(after epoch 1\)"):
        train_adversarial(_config(epochs=2), bad, y, **checkpoint_callables(ckpt),
                          progress=False)
    with pytest.raises(DivergenceError, match="no checkpoint yet"):
        train_adversarial(_config(epochs=2), bad, y, progress=False)


def test_training_lowers_the_adversarial_loss() -> None:
    x, y = _data(32)
    out = train_adversarial(_config(epochs=6, augment=False, lr=0.1, lr_schedule="constant"),
                            x, y, progress=False)
    losses = [h["train_adv_loss"] for h in out.history]
    assert losses[-1] < losses[0]


def test_history_records_the_learning_rate_of_each_epoch() -> None:
    x, y = _data(16)
    config = _config(epochs=4, lr=0.1, augment=False)
    out = train_adversarial(config, x, y, progress=False)
    assert [h["lr"] for h in out.history] == [lr_at_epoch(config, e) for e in range(4)]
    assert all(0.0 <= h["train_adv_acc"] <= 1.0 for h in out.history)


def test_evaluate_robust_below_clean_and_eps0_equal() -> None:
    x, y = _data()
    model = train_adversarial(_config(epochs=1), x, y, progress=False).model
    pgd20 = _config().eval_attacks()
    clean = evaluate(model, x, y, 0.0, pgd20)
    assert clean["robust_acc"] == clean["clean_acc"]
    assert clean["robust_loss"] == pytest.approx(clean["clean_loss"], rel=1e-12)
    attack = AttackSpec("pgd", "linf", 10, step_size=0.05)
    adv = evaluate(model, x, y, 0.2, attack, batch_size=10)
    assert adv["robust_loss"] > adv["clean_loss"]
    assert adv["robust_acc"] <= adv["clean_acc"]
    assert adv["clean_acc"] == clean["clean_acc"]
    # a generator passed in is the stream of the attack: the same as seeding it
    same = evaluate(model, x, y, 0.2, attack, batch_size=10,
                    generator=torch.Generator().manual_seed(7))
    assert same == evaluate(model, x, y, 0.2, attack, batch_size=10, seed=7)
    # several attacks: robust only if robust under each, the largest loss per example
    weak = AttackSpec("pgd", "linf", 1, step_size=0.01, start="none")
    both = evaluate(model, x, y, 0.2, [attack, weak], batch_size=10, seed=7)
    alone = [evaluate(model, x, y, 0.2, a, batch_size=10, seed=7) for a in (attack, weak)]
    assert both["robust_acc"] <= min(a["robust_acc"] for a in alone)
    assert both["robust_loss"] >= max(a["robust_loss"] for a in alone) - 1e-12
    # batch_size=None attacks everything at once
    whole = evaluate(model, x, y, 0.2, dataclasses.replace(attack, start="none"),
                     batch_size=None)
    assert whole["clean_acc"] == clean["clean_acc"]
    with pytest.raises(ConfigError, match="matching"):
        evaluate(model, x, y[:-1], 0.2, attack)


def test_fast_path_trains_and_keeps_weights_trainable() -> None:
    x, y = _data()
    out = train_adversarial(_config(dtype="float32", fast=True, epochs=1), x, y, progress=False)
    assert all(p.requires_grad for p in out.model.parameters())
    assert all(p.dtype == torch.float32 for p in out.model.parameters())
    assert math.isfinite(out.history[0]["train_adv_loss"])


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


def test_presets_and_lr_schedule() -> None:
    madry = madry_cifar10(8)
    assert madry.eps == pytest.approx(8 / 255)
    assert madry.train_steps * madry.step_size >= 16 / 255
    assert (madry.momentum, madry.weight_decay, madry.eval_steps) == (0.9, 5e-4, 20)
    svhn = wu_svhn(4)
    assert svhn.step_size == pytest.approx(1 / 255)
    assert svhn.lr == 0.01
    assert wu_svhn(12).step_size == pytest.approx(2 / 255)
    cfg = _config(epochs=8, lr=0.1)
    assert [lr_at_epoch(cfg, e) for e in (0, 3, 4, 5, 6, 7)] == pytest.approx(
        [0.1, 0.1, 0.01, 0.01, 0.001, 0.001])
    cos = _config(epochs=4, lr=0.1, lr_schedule="cosine")
    assert [lr_at_epoch(cos, e) for e in (0, 2)] == pytest.approx([0.1, 0.05])
    assert lr_at_epoch(_config(lr_schedule="constant"), 2) == 0.05


def test_default_evaluation_is_at_least_as_strong_as_each_variant() -> None:
    """The default evaluation runs PGD from every start (the ball start among them) and counts
    an example only if it survives all: its robust accuracy is never above a subset's. The
    subsets compared draw the same starts from the same seeded generator (``none`` draws
    nothing; ``radius`` comes first in both), so the comparison is exact."""
    from numerics.attacks import STARTS

    assert AdvTrainConfig().eval_starts == STARTS
    x, y = _data(48)
    cfg = _config(model="mlp", eps=0.3, step_size=0.1, eval_step_size=0.1, epochs=4,
                  augment=False)
    model = train_adversarial(cfg, x, y, progress=False).model
    full = evaluate(model, x, y, cfg.eps, cfg.eval_attacks(), seed=5)
    for starts in (("none",), ("none", "radius")):
        part = dataclasses.replace(cfg, eval_starts=starts)
        sub = evaluate(model, x, y, cfg.eps, part.eval_attacks(), seed=5)
        assert full["robust_acc"] <= sub["robust_acc"]
        assert full["robust_loss"] >= sub["robust_loss"] - 1e-12
    assert full["robust_acc"] <= full["clean_acc"]


def test_config_attacks_and_validation() -> None:
    cfg = _config(random_start=False)
    train, evs = cfg.train_attack(), cfg.eval_attacks()
    assert (train.kind, train.norm, train.steps, train.step_size) == ("pgd", "linf", 2, 0.05)
    assert (train.start, train.projection) == ("none", "ball_then_box")
    assert train.alpha(cfg.eps) == cfg.step_size
    assert [(ev.kind, ev.steps, ev.step_size, ev.start, ev.projection) for ev in evs] == [
        ("pgd", 3, 0.05, "none", "exact"), ("pgd", 3, 0.05, "radius", "exact"),
        ("pgd", 3, 0.05, "ball", "exact")]
    with pytest.raises(ConfigError, match="unknown start"):
        _config(eval_starts=("sphere",))
    with pytest.raises(ConfigError, match="at least one"):
        _config(eval_starts=())
    assert cfg.to_dict()["train_steps"] == 2
    for name in ("train_steps", "eval_steps"):
        with pytest.raises(ConfigError, match=f"{name} must be >= 1"):
            _config(**{name: 0})
    with pytest.raises(ConfigError, match="float32"):
        _config(fast=True)
    with pytest.raises(ConfigError, match="lr_schedule"):
        _config(lr_schedule="step")
    with pytest.raises(ConfigError, match="attack_bn_mode"):
        _config(attack_bn_mode="frozen")
    with pytest.raises(ConfigError, match="dtype"):
        _config(dtype="float16")
    with pytest.raises(ConfigError, match="norm"):
        _config(norm="l1")
    with pytest.raises(ConfigError, match="in_channels=1"):
        train_adversarial(_config(in_channels=3), *_data(), progress=False)
    with pytest.raises(ConfigError, match="N labels"):
        train_adversarial(_config(), _data()[0], _data()[1][:-1], progress=False)


# --------------------------------------------------------------------------------------------
# fit and train_with_schedule (PAS / fixed budget)


def _flat_data(n: int = 20) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(5)
    x = torch.rand(n, 12, generator=g, dtype=torch.float64)
    y = (x[:, :6].sum(1) > x[:, 6:].sum(1)).long() + (x[:, 0] > 0.5).long()
    return x, y


def _mlp(seed: int = 0) -> MLP:
    torch.manual_seed(seed)
    return MLP(in_features=12, num_classes=3, hidden=(8,))


def _reference_schedule_loop(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor,
                             schedule: Schedule, *, batch_size: int, pgd_steps: int, norm: str,
                             momentum: float, gen: torch.Generator) -> list[float]:
    """The schedule loop train_with_schedule replaced (numerics.experiments.liu_kanai, before
    the refactoring), written out: SGD, eps/alpha/lr from the schedule at t = e + b/B, PGD in
    [0, 1] from ``gen`` with BN in eval mode, one generator for batches and starts."""
    n = x.shape[0]
    per_epoch = math.ceil(n / batch_size)
    opt = torch.optim.SGD(model.parameters(), lr=schedule.lr(0.0), momentum=momentum)
    losses = []
    for epoch in range(math.ceil(schedule.epochs)):
        perm = torch.randperm(n, generator=gen)
        for b in range(per_epoch):
            v = schedule(min(epoch + b / per_epoch, schedule.epochs))
            for group in opt.param_groups:
                group["lr"] = v.lr
            idx = perm[b * batch_size:(b + 1) * batch_size]
            xb, yb = x[idx], y[idx]
            if v.eps > 0:
                model.eval()

                def ce(z: torch.Tensor, yb: torch.Tensor = yb) -> torch.Tensor:
                    return torch.nn.functional.cross_entropy(model(z), yb, reduction="none")

                xb = pgd_on_loss(ce, xb, v.eps, norm, pgd_steps, v.step_size, box=(0.0, 1.0),
                         generator=gen)
                model.train()
            loss = torch.nn.functional.cross_entropy(model(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(float(loss.detach()))
    return losses


@pytest.mark.parametrize("kind", ["fixed", "pas"])
def test_train_with_schedule_equals_the_loop_it_replaced(kind: str) -> None:
    """Bit for bit on the CPU: same losses at every step and the same final weights."""
    x, y = _flat_data()
    if kind == "fixed":
        sched: Schedule = FixedSchedule(eps_target=0.1, epochs=3, lr_max=0.2,
                                        lr_shape="constant", step_ratio=2.5 / 3)
    else:
        sched = PASchedule(eps_target=0.2, epochs=3, periods=2, lr_max=0.2)
    runs = []
    for loop in (train_with_schedule, _reference_schedule_loop):
        model = _mlp()
        losses = loop(model, x, y, sched, batch_size=6, pgd_steps=3, norm="linf",
                      momentum=0.9, gen=torch.Generator().manual_seed(11))
        runs.append((losses, model.state_dict()))
    (new_losses, new_state), (old_losses, old_state) = runs
    assert len(new_losses) == 3 * math.ceil(20 / 6)
    assert new_losses == old_losses
    assert all(torch.equal(new_state[k], old_state[k]) for k in old_state)


def test_fit_follows_a_pas_schedule_at_every_step(monkeypatch: pytest.MonkeyPatch) -> None:
    """fit asks the schedule at t = epoch + step / steps_per_epoch (capped at the end) and
    attacks each batch with that eps and alpha, at that learning rate."""
    sched = PASchedule(eps_target=0.2, epochs=1.5, periods=2, lr_max=0.3, lr_min=0.01,
                       step_ratio=0.3)
    x, y = _flat_data(16)
    model = _mlp()
    optimizer = torch.optim.SGD(model.parameters(), lr=123.0)
    seen: list[tuple[float, float, float, int]] = []
    real = nets_train.adversarial_examples

    def spy(model: torch.nn.Module, xb: torch.Tensor, yb: torch.Tensor, eps: float,
            attack: AttackSpec, **kw: object) -> torch.Tensor:
        seen.append((eps, attack.alpha(eps) if eps > 0 else 0.0,
                     optimizer.param_groups[0]["lr"], attack.steps))
        return real(model, xb, yb, eps, attack, **kw)

    monkeypatch.setattr(nets_train, "adversarial_examples", spy)
    gen = torch.Generator().manual_seed(0)
    result = fit(model, x, y, sched, epochs=sched.epochs, batch_size=4, optimizer=optimizer,
                 attack=AttackSpec("pgd", "linf", 2), shuffle_gen=gen, attack_gen=gen)
    # 4 steps per epoch, ceil(1.5) = 2 epochs; the last two steps are capped at t = 1.5
    times = [0.0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 1.5]
    assert len(seen) == len(times) == len(result.step_losses)
    for (eps, alpha, lr, steps), t in zip(seen, times, strict=True):
        v = sched(t)
        assert eps == v.eps
        assert lr == v.lr
        assert steps == 2
        if eps > 0:
            assert alpha == pytest.approx(v.step_size, rel=1e-15)
    # periods of 0.75 epochs: phases 0, 1/3, 2/3 in each, then the end of training (r -> 1);
    # 1.5 * 0.2 (1 - cos(pi/3)) / 2 = 0.075, and at r = 2/3 the ramp (0.225) is capped at 0.2
    assert [s[0] for s in seen] == pytest.approx([0.0, 0.075, 0.2, 0.0, 0.075, 0.2, 0.2, 0.2],
                                                 abs=1e-15)
    assert len({s[2] for s in seen}) == 4  # the learning rate anneals and restarts too
    assert [h["lr"] for h in result.history] == [sched(0.0).lr, sched(1.0).lr]


def test_fit_with_a_fixed_schedule_uses_the_attack_as_given(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A schedule whose step equals the spec's keeps the spec itself (no per-step copy)."""
    x, y = _flat_data(12)
    model = _mlp()
    spec = AttackSpec("pgd", "l2", 2, step_size=0.05, start="none")
    specs = []
    real = nets_train.adversarial_examples

    def spy(model: torch.nn.Module, xb: torch.Tensor, yb: torch.Tensor, eps: float,
            attack: AttackSpec, **kw: object) -> torch.Tensor:
        specs.append((eps, attack))
        return real(model, xb, yb, eps, attack, **kw)

    monkeypatch.setattr(nets_train, "adversarial_examples", spy)
    sched = FixedSchedule(eps_target=0.2, epochs=2, lr_shape="constant", lr_max=0.1,
                          step_ratio=0.25)
    gen = torch.Generator().manual_seed(0)
    fit(model, x, y, sched, epochs=2, batch_size=6, optimizer=torch.optim.SGD(
        model.parameters(), lr=0.1), attack=spec, shuffle_gen=gen, attack_gen=gen)
    assert len(specs) == 4
    assert all(eps == 0.2 and attack is spec for eps, attack in specs)


def test_train_with_schedule_raises_on_a_non_finite_loss() -> None:
    """It used to return inf as the last loss; now the caller gets DivergenceError."""
    x, y = _flat_data()
    bad = x.clone()
    bad[3, 2] = float("nan")
    sched = FixedSchedule(eps_target=0.0, epochs=2, lr_shape="constant", lr_max=0.1)
    with pytest.raises(DivergenceError, match=r"epoch 1, step \d+ .*no checkpoint yet"):
        train_with_schedule(_mlp(), bad, y, sched, batch_size=5, pgd_steps=2, norm="linf",
                            momentum=0.0, gen=torch.Generator().manual_seed(0))
    exploding = FixedSchedule(eps_target=0.05, epochs=3, lr_shape="constant", lr_max=1e300)
    with pytest.raises(DivergenceError, match="Lower the learning rate"):
        train_with_schedule(_mlp(), x, y, exploding, batch_size=5, pgd_steps=2, norm="linf",
                            momentum=0.0, gen=torch.Generator().manual_seed(0))


def test_fit_resumes_from_a_start_epoch_with_its_history() -> None:
    """Running epochs [0, 1) then [1, 3) with the generators carried over equals [0, 3)."""
    x, y = _flat_data()
    sched = FixedSchedule(eps_target=0.1, epochs=3, lr_max=0.2)
    attack = AttackSpec("pgd", "linf", 2)

    def run(splits: list[tuple[int, int]]) -> tuple[list[dict], dict]:
        model = _mlp()
        opt = torch.optim.SGD(model.parameters(), lr=0.2, momentum=0.9)
        gen = torch.Generator().manual_seed(2)
        history: list[dict] = []
        for start, stop in splits:
            history = fit(model, x, y, sched, epochs=3, batch_size=7, optimizer=opt,
                          attack=attack, shuffle_gen=gen, attack_gen=gen, start_epoch=start,
                          stop_epoch=stop, history=history).history
        return history, model.state_dict()

    (h1, s1), (h2, s2) = run([(0, 3)]), run([(0, 1), (1, 3)])
    assert h1 == h2
    assert [h["epoch"] for h in h1] == [1, 2, 3]
    assert all(torch.equal(s1[k], s2[k]) for k in s1)

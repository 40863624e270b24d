"""Stage 6: periodic adversarial scheduling (PAS, Liu et al. 2020, L-FINDINGS) against a fixed
budget on ResNet18 (CIFAR-10), the deep counterpart of :mod:`numerics.experiments.pas` (an MLP on
MNIST).

Every (seed, schedule, learning rate) trains ResNet18 from the same initialisation on the same
batches with :func:`numerics.nets.train.fit` (the one training loop; the fast path on CUDA):
PAS (:class:`numerics.nets.schedules.PASchedule`: eps ramps up and the learning rate anneals in
each of ``periods`` periods) or the fixed budget (:class:`numerics.nets.schedules.FixedSchedule`,
the learning rate cosine-annealed once), PGD step 2.5 eps(t) / ``pgd_steps``, BatchNorm in train
mode during the attack and weight decay as in Madry et al.'s CIFAR-10 settings; then clean and
robust test accuracy under the suite's evaluation PGD. The rows have the layout of
:func:`numerics.experiments.pas.run_pas`, so :func:`numerics.experiments.pas.judge_pas` judges
them. It runs through the study protocol as the study ``pas_resnet18`` (:data:`STUDY`, not
registered: it needs a GPU), each (seed, schedule, lr) a unit.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

import torch

from numerics.experiments.protocol import Study
from numerics.experiments.units import Units
from theory.errors import ConfigError, DivergenceError

__all__ = ["STUDY", "PASResNetConfig", "judge", "run", "unit_names"]


@dataclass(frozen=True)
class PASResNetConfig:
    """PAS against a fixed budget on ResNet18 (CIFAR-10). Sizes as in :mod:`numerics.gpu.plan`;
    ``eps`` the target L-inf budget; ``device`` and ``fast`` the code path."""

    eps: float = 8 / 255
    lrs: tuple[float, ...] = (0.05, 0.1)
    epochs: int = 8
    periods: int = 2
    n_train: int = 5000
    n_test: int = 1000
    width: int = 64
    batch_size: int = 128
    momentum: float = 0.9
    weight_decay: float = 5e-4
    pgd_steps: int = 10
    eval_steps: int = 20
    peak_factor: float = 1.5
    ramp: str = "cosine"
    fixed_lr_shape: str = "cosine"
    augment: bool = True
    seeds: tuple[int, ...] = (0,)
    seed: int = 0
    device: str = "cuda"
    fast: bool = True
    label: str = ""
    profile: str = "full"

    def __post_init__(self) -> None:
        if not self.lrs or not self.seeds:
            raise ConfigError("lrs and seeds must each name at least one value")
        self.schedule("pas", self.lrs[0])
        self.schedule("fixed", self.lrs[0])

    def schedule(self, kind: str, lr: float) -> Any:
        """The PAS or fixed schedule of one run (recorded in its row)."""
        from numerics.nets.schedules import FixedSchedule, PASchedule

        ratio = 2.5 / self.pgd_steps
        if kind == "pas":
            return PASchedule(eps_target=self.eps, epochs=self.epochs, periods=self.periods,
                              peak_factor=self.peak_factor, ramp=self.ramp, lr_max=lr,
                              step_ratio=ratio)
        return FixedSchedule(eps_target=self.eps, epochs=self.epochs, lr_max=lr,
                             lr_shape=self.fixed_lr_shape, step_ratio=ratio)


def unit_names(cfg: PASResNetConfig) -> list[str]:
    """One unit per (seed, schedule, lr)."""
    return [f"{kind}/{lr!r}/{cfg.seed + s}" for s in cfg.seeds for kind in ("pas", "fixed")
            for lr in cfg.lrs]


def run(cfg: PASResNetConfig, units: Units) -> dict[str, Any]:
    """Every unit of :func:`unit_names` trained and evaluated: ``{"rows": [...], "data_note"}``."""
    from numerics.attacks import AttackSpec
    from numerics.gpu.data import cifar10_images
    from numerics.nets.models import build_model
    from numerics.nets.train import evaluate, fit
    from numerics.nets.train_config import madry_cifar10

    (x, y, xt, yt), note = cifar10_images(cfg.n_train, cfg.n_test, cfg.seed)
    dev = torch.device(cfg.device)
    fmt = torch.channels_last if cfg.fast else torch.contiguous_format
    x = x.to(dev, torch.float32).contiguous(memory_format=fmt)
    xt, y, yt = xt.to(dev, torch.float32), y.to(dev), yt.to(dev)
    evaluation = madry_cifar10(cfg.eps * 255, eval_steps=cfg.eval_steps).eval_attacks()

    def train_run(kind: str, lr: float, seed: int) -> dict[str, Any]:
        sched = cfg.schedule(kind, lr)
        row = {"schedule": kind, "lr": lr, "seed": seed,
               "schedule_config": dataclasses.asdict(sched)}
        torch.manual_seed(seed)
        model = build_model("resnet18", num_classes=10, in_channels=3, width=cfg.width,
                            dtype=torch.float32, device=dev).to(memory_format=fmt)
        opt = torch.optim.SGD(model.parameters(), lr=sched.lr(0.0), momentum=cfg.momentum,
                              weight_decay=cfg.weight_decay)
        gen = torch.Generator(device=dev).manual_seed(seed + 2)
        try:
            fitted = fit(model, x, y, sched, epochs=sched.epochs, batch_size=cfg.batch_size,
                         optimizer=opt, attack=AttackSpec("pgd", "linf", cfg.pgd_steps),
                         shuffle_gen=torch.Generator().manual_seed(seed + 1), attack_gen=gen,
                         augment_gen=gen if cfg.augment else None, bn_mode="train",
                         fast=cfg.fast, memory_format=fmt)
        except DivergenceError:  # a diverged run is a result of the lr grid: chance accuracy
            return {**row, "clean_acc": 0.1, "robust_acc": 0.0,
                    "final_train_loss": math.inf, "diverged": True}
        acc = evaluate(model, xt, yt, cfg.eps, evaluation, seed=seed, fast=cfg.fast)
        return {**row, "clean_acc": acc["clean_acc"], "robust_acc": acc["robust_acc"],
                "final_train_loss": fitted.step_losses[-1], "history": fitted.history,
                "diverged": False}

    rows = [units(name, lambda k=k, lr=lr, s=s: train_run(k, lr, s))
            for name, (k, lr, s) in zip(unit_names(cfg), [
                (k, lr, cfg.seed + s) for s in cfg.seeds for k in ("pas", "fixed")
                for lr in cfg.lrs], strict=True)]
    return {"rows": rows, "data_note": note, "label": cfg.label}


def judge(results: dict[str, Any]) -> str:
    """One line: :func:`numerics.experiments.pas.judge_pas` on the rows."""
    from numerics.experiments.pas import judge_pas

    verdict = judge_pas(results)
    return (f"PAS mean robust accuracy {verdict['pas']['mean']:.3f} against fixed "
            f"{verdict['fixed']['mean']:.3f} (better: {verdict['better']}); spread over lrs "
            f"{verdict['pas']['spread']:.3f} against {verdict['fixed']['spread']:.3f} (less "
            f"sensitive: {verdict['less_sensitive']})")


#: The study's face (:mod:`numerics.experiments.protocol`), run by stage 6 through ``execute``.
STUDY = Study(name="pas_resnet18", title="L-FINDINGS (PAS) on ResNet18: PAS against a fixed "
              "budget per lr (CIFAR-10, GPU)", claims=("L-FINDINGS",), config=PASResNetConfig,
              scales={"full": {}}, minutes={}, result="pas_resnet18_gpu.json",
              unit_names=unit_names, run=run, judge=judge, evidence={}, module=__name__)

"""L-FINDINGS, periodic adversarial scheduling (Liu et al. 2020): PAS against a fixed budget.

:func:`run_pas` trains an MLP on MNIST with PAS (:class:`numerics.nets.schedules.PASchedule`) and
with a fixed budget, over a grid of learning rates and seeds, and measures clean and PGD test
accuracy; :func:`pas_table` averages over seeds and :func:`judge_pas` says whether PAS is better
and less sensitive to the learning rate (read by :func:`numerics.experiments.findings.
evidence_l_findings`).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from numerics.attacks import AttackSpec
from numerics.data.subsets import check_subset_size
from numerics.experiments.units import Units, check_int, mnist_subset
from numerics.nets.models import MLP
from numerics.nets.schedules import FixedSchedule, PASchedule, Schedule
from numerics.nets.train import evaluate, train_with_schedule
from numerics.validate import check_seed
from theory.errors import ConfigError, DivergenceError
from theory.validate import check_eps, check_positive

__all__ = [
    "AXES",
    "CLAIMS",
    "EVIDENCE",
    "MINUTES",
    "NAME",
    "RESULT",
    "SCALES",
    "THREADS",
    "TITLE",
    "Config",
    "PASConfig",
    "judge",
    "judge_pas",
    "pas_table",
    "run",
    "run_pas",
    "unit_names",
]


@dataclass(frozen=True)
class PASConfig:
    """Config of :func:`run_pas` (L-FINDINGS, periodic adversarial scheduling).

    Attributes:
        eps: target L-inf budget (0.1: a 1-hidden-layer MLP trained for a few hundred
            iterations learns nothing robust at Liu et al.'s 0.3-0.4, with either schedule).
            lrs: learning-rate grid (SGD, momentum). epochs, periods:
            length of training and number of PAS periods. n_train, n_test: MNIST subsets.
        hidden: MLP widths. pgd_steps: training PGD steps; eval_steps: evaluation PGD steps.
        fixed_lr_shape: learning-rate shape of the fixed-budget baseline (``"cosine"``: one
            annealing over the run, the fair counterpart of PAS's per-period annealing).
        peak_factor, ramp: PAS budget ramp (see :class:`numerics.schedules.PASchedule`).
        seeds: every (schedule, lr) is trained once per seed (initialisation, batch order, PGD
            starts), offset by ``seed``; verdicts use the mean over seeds.
    """

    eps: float = 0.1
    lrs: tuple[float, ...] = (0.003, 0.01, 0.03, 0.1, 0.3)
    epochs: int = 10
    periods: int = 2
    n_train: int = 10000
    n_test: int = 2000
    hidden: tuple[int, ...] = (64,)
    batch_size: int = 50
    momentum: float = 0.9
    pgd_steps: int = 10
    eval_steps: int = 20
    fixed_lr_shape: str = "cosine"
    peak_factor: float = 1.5
    ramp: str = "cosine"
    seeds: tuple[int, ...] = (0, 1)
    seed: int = 0
    profile: str = "full"

    def __post_init__(self) -> None:
        check_eps(self.eps, "eps")
        if not self.seeds:
            raise ConfigError("seeds must name at least one seed (initialisation and batches)")
        for seed in (*self.seeds, self.seed):
            check_seed(seed, "seeds")
        if not self.lrs or not all(isinstance(lr, int | float) and not isinstance(lr, bool)
                                   and math.isfinite(lr) and lr > 0 for lr in self.lrs):
            raise ConfigError(f"lrs must be a non-empty tuple of positive learning rates, got "
                              f"{self.lrs!r}")
        check_int(self.epochs, "epochs")
        check_int(self.periods, "periods")
        check_int(self.n_train, "n_train", 2)
        check_int(self.n_test, "n_test", 2)
        check_subset_size(self.n_train, "mnist", "train", "n_train", whole="60000")
        check_subset_size(self.n_test, "mnist", "test", "n_test", whole="10000")
        check_int(self.batch_size, "batch_size")
        check_int(self.pgd_steps, "pgd_steps")
        check_int(self.eval_steps, "eval_steps")
        if not self.hidden:
            raise ConfigError("hidden must name at least one layer width")
        for width in self.hidden:
            check_int(width, "hidden (layer widths)")
        check_eps(self.momentum, "momentum")
        check_positive(self.peak_factor, "peak_factor")

    def schedule(self, kind: str, lr: float) -> Schedule:
        """The PAS or fixed schedule of one run (recorded in the results)."""
        step_ratio = 2.5 / self.pgd_steps
        if kind == "pas":
            return PASchedule(eps_target=self.eps, epochs=self.epochs, periods=self.periods,
                              peak_factor=self.peak_factor, ramp=self.ramp, lr_max=lr,
                              step_ratio=step_ratio)
        return FixedSchedule(eps_target=self.eps, epochs=self.epochs, lr_max=lr,
                             lr_shape=self.fixed_lr_shape, step_ratio=step_ratio)


def run_pas(cfg: PASConfig, units: Units | None = None) -> dict[str, Any]:
    """L-FINDINGS (PAS): PAS versus a fixed budget on MNIST (MLP), for every lr of the grid.

    Every run starts from the same initialisation (seed) and sees the same batches. Reported per
    (schedule, lr): clean and PGD test accuracy (``eval_steps`` steps, box [0, 1]), the final
    training loss, whether training diverged, and the schedule itself.

    Units (checkpointed with ``checkpoint_dir``, :mod:`numerics.experiments.units`): one per (seed,
    schedule, lr), its initialisation, batches and PGD starts seeded with ``seed + s``.

    Args:
        cfg: the config. units: runs each unit, checkpointing and resuming it
            (:func:`numerics.experiments.protocol.execute` builds it; default: none kept).
    """
    runs = [(k, lr, cfg.seed + s) for s in cfg.seeds for k in ("pas", "fixed") for lr in cfg.lrs]
    units = units if units is not None else Units(NAME, cfg, len(runs))
    x, y = mnist_subset(cfg.n_train, cfg.seed, "train")
    xt, yt = mnist_subset(cfg.n_test, cfg.seed, "test")

    def train_run(kind: str, lr: float, seed: int) -> dict[str, Any]:
        torch.manual_seed(seed)
        model = MLP(784, 10, hidden=cfg.hidden)
        gen = torch.Generator().manual_seed(seed)
        sched = cfg.schedule(kind, lr)
        try:
            losses = train_with_schedule(model, x, y, sched, batch_size=cfg.batch_size,
                                         pgd_steps=cfg.pgd_steps, norm="linf",
                                         momentum=cfg.momentum, gen=gen)
        except DivergenceError:  # a diverged run is a result of the lr grid: chance accuracy
            return {"schedule": kind, "lr": lr, "seed": seed, "clean_acc": 0.1,
                    "robust_acc": 0.0, "final_train_loss": math.inf, "diverged": True,
                    "schedule_config": dataclasses.asdict(sched)}
        acc = evaluate(model, xt, yt, cfg.eps, AttackSpec("pgd", "linf", cfg.eval_steps),
                       batch_size=None, generator=gen)
        return {"schedule": kind, "lr": lr, "seed": seed, "clean_acc": acc["clean_acc"],
                "robust_acc": acc["robust_acc"], "final_train_loss": losses[-1],
                "diverged": False, "schedule_config": dataclasses.asdict(sched)}

    rows = [units(f"{kind}/{lr!r}/{seed}", lambda k=kind, lr=lr, s=seed: train_run(k, lr, s))
            for kind, lr, seed in runs]
    units.close()
    return {"rows": rows}


def pas_table(results: dict[str, Any]) -> dict[str, dict[float, dict[str, float]]]:
    """Mean over seeds of robust and clean test accuracy: ``{schedule: {lr: {...}}}``."""
    table: dict[str, dict[float, dict[str, float]]] = {"pas": {}, "fixed": {}}
    for kind in table:
        for lr in sorted({r["lr"] for r in results["rows"] if r["schedule"] == kind}):
            sel = [r for r in results["rows"] if r["schedule"] == kind and r["lr"] == lr]
            table[kind][lr] = {
                "robust_acc": float(np.mean([r["robust_acc"] for r in sel])),
                "clean_acc": float(np.mean([r["clean_acc"] for r in sel if "clean_acc" in r]
                                           or [float("nan")])),
                "seeds": len(sel),
            }
    return table


def judge_pas(results: dict[str, Any]) -> dict[str, Any]:
    """L-FINDINGS (PAS) verdict from the seed-averaged robust test accuracy per learning rate.

    "better": higher mean over the lr grid; "less sensitive": smaller spread (max - min) across
    the grid. Also reported: the best lr's accuracy and the standard deviation across the grid.
    """
    table = pas_table(results)
    out: dict[str, Any] = {}
    for kind in ("pas", "fixed"):
        acc = [v["robust_acc"] for v in table[kind].values()]
        out[kind] = {"mean": float(np.mean(acc)), "best": float(np.max(acc)),
                     "spread": float(np.max(acc) - np.min(acc)), "std": float(np.std(acc))}
    out["better"] = out["pas"]["mean"] > out["fixed"]["mean"]
    out["less_sensitive"] = out["pas"]["spread"] < out["fixed"]["spread"]
    return out


# -- the study protocol (numerics.experiments.protocol) ---------------------------------------

NAME = "pas"
TITLE = "L-FINDINGS (PAS): periodic adversarial scheduling against a fixed budget, per lr"
CLAIMS = ("L-FINDINGS",)
Config = PASConfig
#: The paper's scale is the Config's defaults (10k/2k MNIST images); ``ci`` a subset.
SCALES: dict[str, dict[str, Any]] = {
    "ci": {"n_train": 1000, "n_test": 500, "epochs": 8, "pgd_steps": 5, "eval_steps": 10,
           "lrs": (0.01, 0.03, 0.1, 0.3)},
    "full": {},
}
MINUTES = {"ci": 1.5, "full": 4.0}
RESULT = "pas.json"
#: Its MLPs are trained by SGD, where the last digits of a BLAS reduction grow into the results
#: (the full run on one thread against two: 10 of 300 numbers moved, by up to 4%); it runs on
#: one thread wherever it runs, as its committed records did.
THREADS = 1
#: Its independent parts (:mod:`numerics.experiments.parts`): one (learning rate, seed) each.
AXES = {"lr": "lrs", "seed": "seeds"}
run = run_pas
#: PAS's record is read by L-FINDINGS's evidence (:mod:`numerics.experiments.findings`).
EVIDENCE: dict[str, Any] = {}


def unit_names(cfg: PASConfig) -> list[str]:
    """The units of :func:`run_pas`: one per (seed, schedule, lr)."""
    return [f"{kind}/{lr!r}/{cfg.seed + s}" for s in cfg.seeds for kind in ("pas", "fixed")
            for lr in cfg.lrs]


def judge(results: dict[str, Any]) -> str:
    """One line: :func:`judge_pas`'s comparison."""
    return str(judge_pas(results))

"""The GPU programme's plan: its stages, their sizes, their estimated GPU seconds, their runs.

:data:`STAGES` is the one table the code runs from and the help (``advlandscape gpu --help``)
and ``docs/gpu.md`` print (:func:`format_plan`): per stage its sizes on the GPU and in the CPU
smoke run (``--smoke``), the record it writes and the GPU run it belongs to. Estimates are
FLOP counts over the rates of :mod:`numerics.gpu.flops` (:func:`estimate_seconds`), and every
run's stages must fit :data:`RUN_SECONDS` with :data:`HEADROOM` to spare (:func:`check_plan`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from theory.errors import ConfigError

__all__ = ["HEADROOM", "NET_SECONDS", "RUNS", "RUN_SECONDS", "STAGES", "STAGE_SECONDS",
           "STARTUP_SECONDS", "Stage",
           "check_plan", "estimate_seconds", "format_plan", "parse_stages", "run_seconds"]

#: A GPU run's wall-clock limit (seconds), and the share of it the planned stages may fill.
RUN_SECONDS = 480.0
HEADROOM = 0.8
#: Per run: Python imports, the CUDA context, data to the GPU. Per stage and per network:
#: cuDNN's autotuning, building the model, the first (slow) iterations.
STARTUP_SECONDS = 20.0
STAGE_SECONDS = 3.0
NET_SECONDS = 2.0


@dataclass(frozen=True)
class Stage:
    """One stage: its number and name, what it measures, its record file (in ``--out``), its
    GPU run (1 or 2), and its sizes on the GPU (``gpu``) and in the CPU smoke run (``smoke``)."""

    number: int
    name: str
    title: str
    record: str
    run: int
    gpu: Mapping[str, Any]
    smoke: Mapping[str, Any]

    def sizes(self, smoke: bool = False) -> dict[str, Any]:
        """The stage's sizes (a fresh dict)."""
        return dict(self.smoke if smoke else self.gpu)


_SWEEP_COMMON: dict[str, Any] = dict(
    width=64, batch_size=128, train_steps=10, eval_steps=20, hessian_samples=1000,
    eig_tol=1e-3, power_iters=0, hutchinson_samples=10, landscape_points=21,
    landscape_samples=256, points_per_batch=7, hvp_batch_size=500)
_SWEEP_SMOKE: dict[str, Any] = dict(
    width=2, batch_size=32, train_steps=2, eval_steps=2, hessian_samples=8, eig_tol=0.1, top_k=1,
    power_iters=0, hutchinson_samples=2, landscape_points=3, landscape_samples=8,
    points_per_batch=3, hvp_batch_size=16, n_train=48, n_test=16, epochs=1, seeds=(0,))

STAGES: tuple[Stage, ...] = (
    Stage(1, "environment", "torch/CUDA versions, the device, its memory; the measured bf16 "
          "matmul ceiling (TFLOP/s)", "gpu_environment.json", 1,
          MappingProxyType(dict(matmul_n=8192, repeats=20)),
          MappingProxyType(dict(matmul_n=64, repeats=2))),
    Stage(2, "fastpath", "the fast path (bf16 autocast, channels-last) against fp32 on one "
          "seed: one batch's loss, training curves, test accuracies, within tolerances",
          "gpu_fastpath.json", 1,
          MappingProxyType(dict(width=64, n_train=4096, n_test=1000, n_eval_train=1000,
                                epochs=3, eps_255=8.0, batch_size=128, train_steps=10,
                                eval_steps=20, seed=0)),
          MappingProxyType(dict(width=2, n_train=48, n_test=16, n_eval_train=16, epochs=1,
                                eps_255=8.0, batch_size=16, train_steps=2, eval_steps=2,
                                seed=0))),
    Stage(3, "benchmark", "PGD-10 training img/s fast against fp32, HVP/gradient time, top-3 "
          "eigenvalues on 10k images, a 51-point re-attacked landscape (synthetic CIFAR "
          "shapes)", "gpu_benchmark.json", 1,
          MappingProxyType(dict(width=64, batch_size=128, pgd_steps=10, repeats=10,
                                hessian_images=10_000, hvp_batch=1000, landscape_points=51,
                                landscape_images=1000, points_per_batch=4)),
          MappingProxyType(dict(width=2, batch_size=8, pgd_steps=2, repeats=2,
                                hessian_images=8, hvp_batch=8, eig_tol=0.1, landscape_points=5,
                                landscape_images=8, points_per_batch=5))),
    Stage(4, "mnist", "the MNIST ResNet18 sweep (study resnet, eps 0, 0.1, 0.2, 0.3, Madry's "
          "step rule), 2 seeds", "mnist_gpu.json", 1,
          MappingProxyType(dict(_SWEEP_COMMON, dataset="mnist", n_train=6144, n_test=1000,
                                epochs=5, seeds=(0, 1), augment=False, hessian_samples=512,
                                landscape_samples=128)),
          MappingProxyType(dict(_SWEEP_SMOKE, dataset="mnist", eps=(0.0, 0.3),
                                augment=False))),
    Stage(5, "cifar10", "the CIFAR-10 sweep (study resnet, eps 0, 4, 8, 12, 16/255, Madry's "
          "settings): figure 4 and tables 5-6 beside the paper's", "cifar10_gpu.json", 2,
          MappingProxyType(dict(_SWEEP_COMMON, dataset="cifar10", n_train=10_000,
                                n_test=1000, epochs=12, seeds=(0,), augment=True)),
          MappingProxyType(dict(_SWEEP_SMOKE, dataset="cifar10", eps=(0.0, 8 / 255),
                                augment=True))),
    Stage(6, "pas", "PAS against a fixed budget on ResNet18 (CIFAR-10, eps 8/255), per "
          "learning rate", "pas_resnet18_gpu.json", 2,
          MappingProxyType(dict(width=64, n_train=5000, n_test=1000, epochs=8, periods=2,
                                lrs=(0.05, 0.1), seeds=(0,), eps_255=8.0, batch_size=128,
                                pgd_steps=10, eval_steps=20)),
          MappingProxyType(dict(width=2, n_train=48, n_test=16, epochs=2, periods=2,
                                lrs=(0.05,), seeds=(0,), eps_255=8.0, batch_size=16,
                                pgd_steps=2, eval_steps=2))),
)

#: The two GPU runs: run -> its stages.
RUNS: Mapping[int, tuple[int, ...]] = MappingProxyType(
    {r: tuple(s.number for s in STAGES if s.run == r) for r in sorted({s.run for s in STAGES})})


def _stage(number: int) -> Stage:
    for stage in STAGES:
        if stage.number == number:
            return stage
    raise ConfigError(f"no stage {number}: the stages are {[s.number for s in STAGES]}")


def parse_stages(text: str | None) -> tuple[int, ...]:
    """``"1,2,4"`` -> (1, 2, 4), in the plan's order; None or ``"all"``: every stage."""
    if text is None or text.strip().lower() == "all":
        return tuple(s.number for s in STAGES)
    try:
        wanted = {int(v) for v in text.split(",") if v.strip()}
    except ValueError:
        raise ConfigError(f"--stages takes comma-separated stage numbers (e.g. 1,2,3,4), got "
                          f"{text!r}") from None
    for n in wanted:
        _stage(n)
    if not wanted:
        raise ConfigError("--stages names no stage: e.g. --stages 1,2,3,4")
    return tuple(s.number for s in STAGES if s.number in wanted)


def estimate_seconds(number: int) -> float:
    """The estimated GPU seconds of stage ``number`` at its GPU sizes (see the module
    docstring of :mod:`numerics.gpu.flops` for the model)."""
    from numerics.gpu import costs

    return STAGE_SECONDS + costs.ESTIMATORS[number](_stage(number).sizes())


def run_seconds(run: int) -> float:
    """Estimated seconds of a GPU run: start-up plus its stages."""
    return STARTUP_SECONDS + sum(estimate_seconds(n) for n in RUNS[run])


def check_plan() -> None:
    """Refuse a plan whose run would not fit ``HEADROOM * RUN_SECONDS``."""
    for run in RUNS:
        total = run_seconds(run)
        if total > HEADROOM * RUN_SECONDS:
            raise ConfigError(f"GPU run {run} is estimated at {total:.0f} s, more than "
                              f"{HEADROOM:.0%} of its {RUN_SECONDS:.0f} s: shrink its stages")


def _describe(sizes: Mapping[str, Any]) -> str:
    keys = ("dataset", "n_train", "n_test", "epochs", "seeds", "lrs", "width", "hessian_images",
            "hessian_samples", "landscape_points", "matmul_n")
    parts = []
    for k in keys:
        if k in sizes:
            v = sizes[k]
            v = ",".join(map(str, v)) if isinstance(v, tuple) else v
            parts.append(f"{k}={v}")
    return " ".join(parts)


def format_plan() -> str:
    """The plan as a plain-text table: stage, run, sizes, estimated seconds; per run its total
    and the ``--stages`` that runs it."""
    lines = [f"{'stage':<14} {'run':>3} {'est. s':>7}  sizes (GPU)"]
    for s in STAGES:
        lines.append(f"{s.number} {s.name:<12} {s.run:>3} {estimate_seconds(s.number):7.0f}  "
                     f"{_describe(s.gpu)}")
    for run, numbers in RUNS.items():
        lines.append(f"run {run}: --stages {','.join(map(str, numbers))}: about "
                     f"{run_seconds(run):.0f} s of {RUN_SECONDS:.0f} s (start-up "
                     f"{STARTUP_SECONDS:.0f} s included)")
    return "\n".join(lines)

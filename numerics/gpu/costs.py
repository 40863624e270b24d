"""Estimated GPU seconds of each stage from its sizes: FLOPs (forward equivalents times
:func:`numerics.gpu.flops.forward_flops`) over the rates of :mod:`numerics.gpu.flops`.

:data:`ESTIMATORS` maps a stage number to its estimator (sizes -> seconds, without the per-stage
overhead that :func:`numerics.gpu.plan.estimate_seconds` adds).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from numerics.gpu.flops import (
    EIGSH_MATVECS,
    HVP_FORWARDS,
    eval_forwards,
    fast_rate,
    forward_flops,
    fp32_rate,
    train_forwards,
)

__all__ = ["ESTIMATORS", "sweep_seconds"]

_CIFAR = (3, 32)
_MNIST = (1, 28)


def _f(dataset: str = "cifar10", width: int = 64) -> float:
    channels, size = _MNIST if dataset == "mnist" else _CIFAR
    return forward_flops(channels, size, width)


def _environment(sizes: Mapping[str, Any]) -> float:
    n = sizes["matmul_n"]
    # bf16 and fp32 matmuls, at >= 1/3 of the fast path's rate: a few seconds at most
    return 2.0 + 2 * (sizes["repeats"] + 3) * 2.0 * n ** 3 / (fast_rate() / 3)


def _fastpath(sizes: Mapping[str, Any]) -> float:
    from numerics.gpu.fastpath import eval_starts

    f = _f("cifar10", sizes["width"])
    eps = sizes["eps_255"] / 255
    train = sizes["epochs"] * sizes["n_train"] * train_forwards(sizes["train_steps"], eps) * f
    ev = ((sizes["n_test"] + sizes["n_eval_train"])
          * eval_forwards(sizes["eval_steps"], eval_starts(), eps) * f)
    from numerics.gpu.plan import NET_SECONDS

    return (train + ev) / fast_rate() + (train + ev) / fp32_rate() + 2 * NET_SECONDS


def _benchmark(sizes: Mapping[str, Any]) -> float:
    f = _f("cifar10", sizes["width"])
    k, b, reps = sizes["pgd_steps"], sizes["batch_size"], sizes["repeats"] + 2
    step = b * train_forwards(k, 1.0) * f * reps
    hvp_grad = b * (3 + HVP_FORWARDS) * f * reps
    h = sizes["hessian_images"]
    eig = h * (2 * k + 1) * f + EIGSH_MATVECS * h * HVP_FORWARDS * f
    land = sizes["landscape_points"] * sizes["landscape_images"] * (2 * k + 1) * f
    return step / fast_rate() + (step + hvp_grad + eig + land) / fp32_rate()


def sweep_seconds(cfg: Any) -> float:
    """Seconds of a ResNet sweep (:class:`numerics.experiments.resnet.ResNetExperimentConfig`):
    per seed and budget the training, the evaluation of train and test sets, the curvature
    (its attack, eigsh, power iteration, Hutchinson) and the re-attacked landscape."""
    from numerics.gpu.plan import NET_SECONDS

    t = cfg.train
    f = _f(cfg.dataset, t.width)
    seeds = max(1, len(cfg.seeds))
    starts = len(t.eval_attacks())
    total = 0.0
    for eps in cfg.eps:
        fast = fast_rate() if t.fast else fp32_rate()
        train = t.epochs * cfg.n_train * train_forwards(t.train_steps, eps) * f
        ev = (cfg.n_train + cfg.n_test) * eval_forwards(t.eval_steps, starts, eps) * f
        h = cfg.hessian_samples
        hvps = EIGSH_MATVECS + cfg.power_iters + cfg.hutchinson_samples
        curv = h * (eval_forwards(t.eval_steps, starts, eps) - 1) * f + hvps * h * HVP_FORWARDS * f
        land = (cfg.landscape_points * cfg.landscape_samples
                * (train_forwards(t.train_steps, eps) - 2) * f)
        total += (train + ev) / fast + (curv + land) / fp32_rate() + NET_SECONDS
    return seeds * total


def _sweep(sizes: Mapping[str, Any]) -> float:
    from numerics.gpu.sweeps import sweep_config

    return sweep_seconds(sweep_config(sizes, smoke=False, device="cuda"))


def _pas(sizes: Mapping[str, Any]) -> float:
    from numerics.gpu.plan import NET_SECONDS

    f = _f("cifar10", sizes["width"])
    eps = sizes["eps_255"] / 255
    runs = 2 * len(sizes["lrs"]) * len(sizes["seeds"])
    train = sizes["epochs"] * sizes["n_train"] * train_forwards(sizes["pgd_steps"], eps) * f
    ev = sizes["n_test"] * eval_forwards(sizes["eval_steps"], 1, eps) * f
    return runs * ((train + ev) / fast_rate() + NET_SECONDS)


ESTIMATORS: Mapping[int, Callable[[Mapping[str, Any]], float]] = {
    1: _environment, 2: _fastpath, 3: _benchmark, 4: _sweep, 5: _sweep, 6: _pas}

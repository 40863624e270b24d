"""Stages 4 and 5: the ResNet18 sweeps (study ``resnet``) on MNIST and CIFAR-10, through the study
protocol (:func:`numerics.experiments.protocol.execute`), so their records have the study's
format (config, results with one run per (eps, seed), provenance naming the study and scale).

:func:`sweep_config` turns a stage's sizes (:data:`numerics.gpu.plan.STAGES`) into the study's
config: :func:`numerics.experiments.resnet.profile_config` at the ``gpu`` profile (Madry et
al.'s settings, width 64, the fast path on CUDA) with the stage's sizes. MNIST is read through
the data layer (``--data`` is its root); CIFAR-10 from the training parts the pack holds
(:func:`numerics.gpu.data.cifar10_images`), handed to the study's own run.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = ["run_sweep", "sweep_config"]

_TRAIN_KEYS = ("epochs", "width", "batch_size", "train_steps", "eval_steps", "augment", "lr",
               "lr_schedule")
_CFG_KEYS = ("n_train", "n_test", "top_k", "hessian_samples", "eig_tol", "power_iters",
             "hutchinson_samples", "landscape_points", "landscape_samples", "points_per_batch",
             "hvp_batch_size")


def sweep_config(sizes: Mapping[str, Any], *, smoke: bool, device: str) -> Any:
    """The study ``resnet``'s config for a sweep stage: the ``gpu`` profile of the stage's data
    set with its sizes, on ``device`` (the fast path kept on the CPU too, so the smoke run
    runs the GPU's code); profile ``ci`` for the smoke run, ``gpu`` otherwise."""
    from numerics.experiments.resnet import profile_config

    dataset = sizes["dataset"]
    base = profile_config(dataset, "gpu")
    train = dataclasses.replace(base.train, device=device, compile=False,
                                **{k: sizes[k] for k in _TRAIN_KEYS if k in sizes})
    eps = tuple(sizes.get("eps", base.eps))
    what = (f"ResNet18 width {train.width} on {sizes['n_train']} {dataset} training images, "
            f"{train.epochs} epochs of PGD-{train.train_steps}, seeds {tuple(sizes['seeds'])}")
    label = (f"GPU programme smoke run (CPU, tiny): {what}; checks the machinery only" if smoke
             else f"GPU programme: {what}; not the paper's 100 epochs on the whole set")
    return dataclasses.replace(
        base, train=train, label=label, profile="ci" if smoke else "gpu", eps=eps,
        seeds=tuple(sizes["seeds"]), **{k: sizes[k] for k in _CFG_KEYS if k in sizes})


def run_sweep(sizes: Mapping[str, Any], record: Path, *, smoke: bool, device: str,
              data_root: str | None) -> dict[str, Any]:
    """Run the sweep into ``record`` through the study protocol (units resumed from the
    checkpoint beside it); return its results."""
    from numerics.experiments.protocol import execute
    from numerics.experiments.registry import get_study
    from numerics.experiments.resnet import run_resnet_seeds

    cfg = sweep_config(sizes, smoke=smoke, device=device)
    study = get_study("resnet")
    if cfg.dataset == "cifar10":
        from numerics.gpu.data import cifar10_images

        def run(c: Any, units: Any) -> dict[str, Any]:
            data, note = cifar10_images(c.n_train, c.n_test, c.train.seed, data_root)
            results = run_resnet_seeds(c, units, data=data)
            results["data_note"] = note
            return results

        study = dataclasses.replace(study, run=run)
    return execute(study, cfg, record, progress=True)

"""The ResNet18 sweep's settings: :class:`ResNetExperimentConfig` and its profiles.

:func:`profile_config` gives the sweep at the scale of a profile (``ci``, ``cpu``, ``full``,
``gpu``); :data:`CPU_SCALE` holds the ``cpu`` profile's sizes (Y-T1 (b) at CPU scale).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from numerics.data.subsets import check_subset_size
from numerics.nets.train_config import AdvTrainConfig, madry_cifar10, wu_svhn
from numerics.profiles import current_profile
from theory.errors import ConfigError

__all__ = ["CPU_SCALE", "DATASETS", "SCALES", "ResNetExperimentConfig", "profile_config"]

DATASETS = ("mnist", "cifar10", "svhn")
#: The scales of the sweep: the suite's profiles (:data:`numerics.profiles.PROFILES`) and
#: ``cpu``, a reduced-width seed sweep on MNIST sized for 2 CPU cores (:func:`profile_config`).
SCALES = ("ci", "cpu", "full", "gpu")
#: The ``cpu`` profile's sizes (MNIST), chosen from a measured unit (eps 0.2, one seed, one
#: torch thread on a 2-core machine loaded by other jobs, this process at about half a core):
#: 229 s, of which training 32 s, the evaluation (2 x PGD-20 on 1024 + 512 images) about 100 s,
#: curvature 91 s (eigsh 44 s for 21 float64 HVPs on 128 images, 20 power iterations,
#: Hutchinson) and the landscape 3 s. Without the power iteration (``power_iters=0``; eigsh is
#: checked against dense Hessians in the tests) 12 units take well under 25 minutes on 2 idle
#: cores; the record holds each unit's seconds (``unit_seconds``).
CPU_SCALE: dict[str, Any] = dict(width=4, n_train=1024, n_test=512, epochs=5, batch_size=64,
                                 lr=0.05, train_steps=5, eval_steps=20, hessian_samples=128,
                                 eig_tol=1e-3, power_iters=0, hutchinson_samples=10,
                                 landscape_samples=128, seeds=(0, 1, 2))

@dataclass(frozen=True)
class ResNetExperimentConfig:
    """A sweep over budgets: one adversarially trained network per ``eps``, then its curvature.

    Attributes:
        label: what the run is (e.g. "CPU smoke run, not the paper's experiment").
        dataset: ``mnist``, ``cifar10`` or ``svhn``. n_train, n_test: subsample sizes (0: all).
        test_split: ``test`` (official test images) or ``holdout`` (CIFAR-10 training part 5,
            an i.i.d. held-out set; training then uses parts 1-4).
        eps: the L-inf budgets (absolute, e.g. k/255).
        train: the training settings; its ``eps`` is replaced by each budget, and with
            ``step_rule="madry"`` its step sizes by 2.5 eps / steps (Madry et al.'s rule).
        hessian_samples: training images whose adversarial loss the Hessian is taken of.
        top_k: number of top eigenvalues. eig_tol: eigsh's tolerance. power_iters: power
            iteration's budget (0: skip the check). hutchinson_samples: Rademacher probes.
        landscape_points, landscape_range, landscape_samples: the 1-D landscape's grid
            (``a`` in [-range, range]) and the images it is evaluated on (re-attacked with the
            training attack). points_per_batch: landscape points per vmap batch.
        hvp_batch_size: images per HVP chunk.
        curvature_dtype: the precision of the curvature measurements (the Hessian's attack,
            eigsh, power iteration, Hutchinson): ``""`` for the training's dtype, ``"float64"``
            to measure a network trained in float32 in float64 (a float64 copy of the trained
            weights; the ``cpu`` profile).
        seeds: the seeds of a seed sweep (:func:`run_resnet_seeds`): one network per eps and
            seed, the seed replacing ``train.seed`` (initialisation, data order, PGD starts);
            the data subset is drawn once, with ``train.seed``. Empty: the single seed
            ``train.seed`` (:func:`run_resnet_experiment`).
        profile: the scale the config was made for (``ci``, ``cpu``, ``full``, ``gpu``; empty
            for a hand-made config), recorded in the result's provenance.
    """

    label: str = "custom run"
    dataset: str = "mnist"
    n_train: int = 256
    n_test: int = 256
    test_split: str = "test"
    eps: tuple[float, ...] = (0.0, 0.1, 0.2, 0.3)
    train: AdvTrainConfig = field(default_factory=AdvTrainConfig)
    step_rule: str = "madry"
    hessian_samples: int = 128
    top_k: int = 3
    eig_tol: float = 1e-4
    power_iters: int = 100
    hutchinson_samples: int = 20
    landscape_points: int = 11
    landscape_range: float = 1.0
    landscape_samples: int = 64
    points_per_batch: int = 4
    hvp_batch_size: int = 256
    curvature_dtype: str = ""
    seeds: tuple[int, ...] = ()
    profile: str = ""

    def __post_init__(self) -> None:
        if self.dataset not in DATASETS:
            raise ConfigError(f"unknown dataset {self.dataset!r}: use one of {DATASETS}")
        if self.test_split not in ("test", "holdout"):
            raise ConfigError(f"test_split must be 'test' or 'holdout', got {self.test_split!r}")
        if self.test_split == "holdout" and self.dataset != "cifar10":
            raise ConfigError("test_split='holdout' is defined for cifar10 only (part 5)")
        if self.step_rule not in ("madry", "fixed"):
            raise ConfigError(f"step_rule must be 'madry' or 'fixed', got {self.step_rule!r}")
        if not self.eps or not all(0 <= e < float("inf") for e in self.eps):
            raise ConfigError(f"eps must be a non-empty tuple of finite budgets >= 0, got "
                              f"{self.eps}")
        for name in ("hessian_samples", "top_k", "landscape_points", "landscape_samples",
                     "points_per_batch", "hvp_batch_size"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.hutchinson_samples < 2:
            raise ConfigError("hutchinson_samples must be >= 2 (for a standard error)")
        if self.curvature_dtype not in ("", "float32", "float64"):
            raise ConfigError(f"curvature_dtype must be '', 'float32' or 'float64', got "
                              f"{self.curvature_dtype!r}")
        if len(set(self.seeds)) != len(self.seeds) or any(s < 0 for s in self.seeds):
            raise ConfigError(f"seeds must be distinct integers >= 0, got {self.seeds}")
        if self.profile not in ("", *SCALES):
            raise ConfigError(f"unknown profile {self.profile!r}: use one of {SCALES}")
        layout = "cifar10-holdout" if self.test_split == "holdout" else self.dataset
        for name, split in (("n_train", "train"), ("n_test", "test")):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ConfigError(f"{name} must be an integer >= 0 (0: the whole split), got "
                                  f"{value!r}")
            check_subset_size(value, layout, split, name, whole="0")
        for eps in self.eps:  # validate every derived training config before any work
            self.train_config(eps)

    def train_config(self, eps: float) -> AdvTrainConfig:
        """The training config for budget ``eps`` (the step rule applied)."""
        changes: dict[str, Any] = {"eps": eps}
        if self.step_rule == "madry" and eps > 0:
            changes["step_size"] = 2.5 * eps / max(self.train.train_steps, 1)
            changes["eval_step_size"] = 2.5 * eps / max(self.train.eval_steps, 1)
        return dataclasses.replace(self.train, **changes)


def profile_config(dataset: str = "mnist", profile: str | None = None,
                   **overrides: Any) -> ResNetExperimentConfig:
    """The sweep at the scale of ``profile`` (``ci``: a CPU smoke run in about a minute).

    ``ci``: ResNet18 of width 4 (1-channel stem for MNIST), 256 training and 256 test images,
    2 epochs of PGD-3 training (batch 32), PGD-10 evaluation, curvature on 32 images, float64
    on the CPU, eps in {0, .1, .2, .3} for MNIST (255ths {0, 4, 8, 12, 16} otherwise).
    ``cpu`` (MNIST only; not one of the suite's profiles, so it is named explicitly, never read
    from ``$ADVLANDSCAPE_PROFILE``): the deep part of Y-T1 (b) at a scale 2 CPU cores finish in
    a few tens of minutes, :data:`CPU_SCALE`: a seed sweep (seeds 0, 1, 2) of ResNet18 at
    reduced width (4), PGD-5 training for 5 epochs (cosine learning rate), in float32
    (measured on one CPU thread, per 128 images: forward and backward 0.14 s in float32, 0.19 s
    in float64 at width 4, 0.16 s and 0.77 s at width 8), its curvature measured in float64 on a
    copy of the trained weights (an HVP costs 0.3 s in float32, 1.0 s in float64: affordable
    for eigsh's few tens of products), evaluated with the suite's default attack
    (:meth:`AdvTrainConfig.eval_attacks`: PGD-20 from the clean point, from a start at a
    random radius and from a uniform start in the ball, the worst case per example).
    ``full``/``gpu``: width 64, the whole data set, the Madry (CIFAR-10) or Wu (SVHN) settings,
    float32 fast path on CUDA.
    """
    profile = "cpu" if profile == "cpu" else current_profile(profile)
    mnist = dataset == "mnist"
    channels = 1 if mnist else 3
    eps = (0.0, 0.1, 0.2, 0.3) if mnist else tuple(k / 255 for k in (0, 4, 8, 12, 16))
    if profile == "cpu":
        if not mnist:
            raise ConfigError(f"the cpu profile is defined for mnist only, not {dataset!r}: use "
                              "--dataset mnist, or the gpu profile for CIFAR-10 and SVHN")
        c = CPU_SCALE
        train = AdvTrainConfig(model="resnet18", width=c["width"], in_channels=1, num_classes=10,
                               image_size=28, train_steps=c["train_steps"],
                               eval_steps=c["eval_steps"], epochs=c["epochs"],
                               batch_size=c["batch_size"], lr=c["lr"], lr_schedule="cosine",
                               dtype="float32", device="cpu", preset="cpu-mnist",
                               notes=("cpu profile: reduced-width ResNet18 on an MNIST subset; "
                                      "not the paper's GPU scale",))
        base: dict[str, Any] = dict(
            label=f"CPU scale (cpu profile): ResNet18 width {c['width']} on {c['n_train']} "
                  f"MNIST images, seeds {c['seeds']}; not the paper's GPU scale",
            dataset="mnist", n_train=c["n_train"], n_test=c["n_test"], eps=eps, train=train,
            step_rule="madry", hessian_samples=c["hessian_samples"], top_k=3,
            eig_tol=c["eig_tol"], power_iters=c["power_iters"],
            hutchinson_samples=c["hutchinson_samples"], landscape_points=11,
            landscape_samples=c["landscape_samples"], points_per_batch=11,
            curvature_dtype="float64", seeds=c["seeds"], profile="cpu")
    elif profile == "ci":
        train = AdvTrainConfig(model="resnet18", width=4, in_channels=channels, num_classes=10,
                               image_size=28 if mnist else 32, train_steps=3, eval_steps=10,
                               epochs=2, batch_size=32, lr=0.05, lr_schedule="constant",
                               dtype="float64", device="cpu", preset="ci-smoke")
        base = dict(
            label="CPU smoke run (ci profile): tiny ResNet18 on a few hundred images; checks "
                  "the machinery, NOT the paper's experiment",
            dataset=dataset, n_train=256, n_test=256, eps=eps, train=train, step_rule="madry",
            hessian_samples=32, top_k=3, eig_tol=1e-3, power_iters=30, hutchinson_samples=5,
            landscape_points=9, landscape_samples=32, profile="ci")
    else:
        preset = wu_svhn if dataset == "svhn" else madry_cifar10
        train = preset(8.0, device="cuda", dtype="float32", fast=True,
                       in_channels=channels, image_size=28 if mnist else 32)
        base = dict(label=f"{profile} profile: the paper's setting (Yamada et al. 5.2)",
                    dataset=dataset, n_train=0, n_test=0, eps=eps, train=train,
                    step_rule="madry" if mnist else "fixed", hessian_samples=10_000,
                    top_k=3, power_iters=100, hutchinson_samples=50, landscape_points=51,
                    landscape_samples=1000, hvp_batch_size=1000, points_per_batch=4,
                    profile=profile)
    base.update(overrides)
    return ResNetExperimentConfig(**base)

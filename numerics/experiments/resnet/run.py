r"""ResNet18 with softmax under PGD adversarial training: Yamada et al. Section 5.2 (Y-T1).

For each budget ``eps`` the experiment trains a network with PGD (:mod:`numerics.nets.train`) and
measures, at the trained weights θ_eps:

- train and test accuracy, clean and robust (PGD-``eval_steps``), and the gaps train - test
  (Yamada et al. tables 5-6 report the robust ones: the accuracy under the training attack);
- the top-k eigenvalues of the weight Hessian of the adversarial loss, adversarial examples held
  fixed, BatchNorm in eval mode (:func:`numerics.spectra.top_hessian_eigs`, checked by power
  iteration) and its Hutchinson trace (Y-T1: "larger eps, sharper landscape");
- a 1-D filter-normalised landscape ``a -> L_adv(θ + a d)``, re-attacked at every point
  (:func:`numerics.nets.landscape.landscape_1d`; Figure 4).

Data: ``mnist`` (1 channel, 28x28), ``cifar10`` and ``svhn`` (3 channels, 32x32) through
:mod:`numerics.data`, subsampled to ``n_train``/``n_test`` with the config's seed. The function is
pure: a config in, a results record out (:func:`run_resnet_experiment`); :func:`write_resnet_result`
writes it with provenance.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from numerics.nets.attack import strongest_examples
from numerics.nets.curvature import HessianOperator
from numerics.nets.landscape import filter_normalized_direction, landscape_1d
from numerics.nets.train import AdvTrainConfig, evaluate, train_adversarial
from numerics.profiles import current_profile
from numerics.results import (
    REPO_ROOT,
    Checkpoint,
    read_checkpoint,
    read_result,
    save_checkpoint,
    write_result,
)
from numerics.spectra import hutchinson_trace, power_iteration, top_hessian_eigs
from theory.claims import Evidence
from theory.errors import ConfigError, DataError, ResultFileError

__all__ = [
    "CPU_RESULT_FILE",
    "CPU_SCALE",
    "DATASETS",
    "SCALES",
    "ResNetExperimentConfig",
    "checkpoint_files",
    "evidence_y_t1_deep",
    "existing_checkpoints",
    "load_image_data",
    "profile_config",
    "run_resnet_experiment",
    "run_resnet_seeds",
    "seed_checkpoint_files",
    "seed_configs",
    "seed_existing_checkpoints",
    "seed_summary",
    "write_resnet_result",
]

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

ImageData = tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]


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
    (:meth:`AdvTrainConfig.eval_attacks`: PGD-20 from the clean point and from a random
    start in the ball, the strongest per example).
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
        from numerics.nets.train import madry_cifar10, wu_svhn

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


def _to_tensor(x: np.ndarray) -> torch.Tensor:
    """uint8 images (N, H, W) or NHWC (N, H, W, C) -> float64 NCHW in [0, 1]."""
    t = torch.from_numpy(np.ascontiguousarray(x)).to(torch.float64) / 255.0
    return t.unsqueeze(1) if t.dim() == 3 else t.permute(0, 3, 1, 2).contiguous()


def _subsample(x: np.ndarray, y: np.ndarray, n: int, rng: np.random.Generator
               ) -> tuple[np.ndarray, np.ndarray]:
    if n == 0 or n >= len(y):
        return np.asarray(x), np.asarray(y)
    idx = np.sort(rng.choice(len(y), size=n, replace=False))
    return np.asarray(x)[idx], np.asarray(y)[idx]


_LAYOUTS = {"mnist": ("mnist",), "cifar10": ("cifar10", "cifar10-batches", "cifar10-npz"),
            "svhn": ("svhn",)}


def _verify_present_files(dataset: str, root: str | None) -> None:
    """Check every registered file of ``dataset`` that is present against its size and digests
    (an edited file would otherwise train silently); missing files are the loaders' concern."""
    from numerics.data import DATASETS, verify_file

    for layout in _LAYOUTS[dataset]:
        folder = DATASETS[layout].folder(root)
        for spec in DATASETS[layout].files:
            if (folder / spec.name).is_file():
                verify_file(folder / spec.name, spec)


def load_image_data(config: ResNetExperimentConfig, root: str | None = None
                    ) -> tuple[ImageData, str]:
    """Load and subsample ``config.dataset``: ``((x_train, y_train, x_test, y_test), note)``.

    Images are float64 NCHW in [0, 1], labels int64; ``note`` says which test set was used.
    """
    rng = np.random.default_rng(config.train.seed)
    note = ""
    _verify_present_files(config.dataset, root)
    if config.dataset == "mnist":
        from numerics.data import load_mnist

        tr, te = load_mnist("train", root), load_mnist("test", root)
        note = "MNIST official test set"
    elif config.dataset == "cifar10":
        try:
            from numerics.data.cifar10 import load_cifar10
        except ImportError:
            raise DataError("the CIFAR-10 reader (numerics.data.cifar10) is not installed in "
                            "this checkout: update the repository") from None
        part = 5 if config.test_split == "holdout" else None
        tr, te = (load_cifar10(s, root, holdout_part=part) for s in ("train", "test"))
        note = te.note or "CIFAR-10 official test set"
    else:
        try:
            from numerics.data.svhn import load_svhn
        except ImportError:
            raise DataError("the SVHN reader (numerics.data.svhn) is not installed in this "
                            "checkout: update the repository") from None
        tr, te = load_svhn("train", root), load_svhn("test", root)
        note = "SVHN official test set"
    xtr, ytr = _subsample(*tr, config.n_train, rng)
    xte, yte = _subsample(*te, config.n_test, rng)
    data = (_to_tensor(xtr), torch.as_tensor(ytr, dtype=torch.long),
            _to_tensor(xte), torch.as_tensor(yte, dtype=torch.long))
    return data, note


def _curvature(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor,
               cfg: ResNetExperimentConfig, tcfg: AdvTrainConfig) -> dict[str, Any]:
    """Top eigenvalues (eigsh and power iteration) and Hutchinson trace, examples held fixed."""
    attack_start = time.perf_counter()
    gen = torch.Generator(device=x.device).manual_seed(tcfg.seed + 10)
    xa = strongest_examples(model, x, y, tcfg.eps, tcfg.eval_attacks(), generator=gen)
    start = time.perf_counter()
    op = HessianOperator(model, xa, y, batch_size=cfg.hvp_batch_size)
    pairs = top_hessian_eigs(op, k=cfg.top_k, tol=cfg.eig_tol, seed=tcfg.seed)
    eig_time = time.perf_counter() - start
    out: dict[str, Any] = {"top_eigs": pairs.values.tolist(), "eigsh_seconds": eig_time,
                           "eigsh_matvecs": pairs.matvecs,
                           "n_samples": int(x.shape[0]),
                           "convention": "adversarial examples (the evaluation PGD at the "
                                         "trained weights, per example the start of largest "
                                         "loss) held fixed; BatchNorm in eval mode"}
    if cfg.power_iters > 0:
        vals, iters = power_iteration(op, k=1, iters=cfg.power_iters, tol=1e-6, seed=tcfg.seed)
        out.update(power_top=float(vals[0]), power_iters=int(iters[0]))
    tr = hutchinson_trace(op, num_samples=cfg.hutchinson_samples, seed=tcfg.seed)
    w_sq = float(sum((p.detach().to(torch.float64) ** 2).sum() for p in op.params.values()))
    out.update(trace=tr.estimate, trace_se=tr.standard_error, trace_samples=tr.num_samples,
               n_params=int(op.shape[0]), weight_norm=w_sq ** 0.5,
               top_normalized=float(pairs.values[0]) * w_sq,
               normalization="top_normalized = ||theta||^2 lambda_1 (theta: all trainable "
                             "weights): the top eigenvalue of the Hessian in the normalised "
                             "weights theta / ||theta|| (the linear model's ||w||^2 lambda_1)")
    out["curvature_seconds"] = time.perf_counter() - attack_start
    return out


def checkpoint_files(config: ResNetExperimentConfig, checkpoint_dir: str | Path
                     ) -> dict[float, tuple[Path, Path]]:
    """The checkpoint files of each budget of the sweep in ``checkpoint_dir``: the training's
    (``.pt``, rewritten every epoch) and the measured record's (``.measured``).

    The names carry a digest of the whole sweep config (data sizes, split, seed, ...), so a
    checkpoint of another sweep is never resumed by mistake.
    """
    digest = hashlib.sha256(repr(config).encode()).hexdigest()[:12]
    files = {}
    for eps in config.eps:
        ckpt = Path(checkpoint_dir) / f"{config.dataset}_{digest}_eps{eps:.6f}.pt"
        files[eps] = (ckpt, ckpt.with_suffix(".measured"))
    return files


def existing_checkpoints(config: ResNetExperimentConfig, checkpoint_dir: str | Path | None
                         ) -> dict[float, list[Checkpoint]]:
    """The checkpoints of each budget of the sweep found in ``checkpoint_dir`` (read safely,
    never refused: :meth:`numerics.results.Checkpoint.require_current` decides)."""
    if checkpoint_dir is None:
        return {}
    found: dict[float, list[Checkpoint]] = {}
    for eps, files in checkpoint_files(config, checkpoint_dir).items():
        found[eps] = [c for c in map(read_checkpoint, files) if c is not None]
    return found


def run_resnet_experiment(
    config: ResNetExperimentConfig, data: ImageData | None = None, *,
    root: str | None = None, checkpoint_dir: str | Path | None = None, progress: bool = True,
    accept_stale: bool = False,
) -> dict[str, Any]:
    """Run the sweep: for each eps, train, evaluate, measure curvature and the landscape.

    Args:
        config: the sweep. data: ``(x_train, y_train, x_test, y_test)`` tensors (NCHW in [0, 1])
            to use instead of loading ``config.dataset`` (tests pass tiny synthetic tensors).
        root: data root. checkpoint_dir: where each eps's training checkpoints (resumable)
            and, once measured, its record (``*.measured``): a rerun skips finished budgets.
        progress: tqdm bars. accept_stale: resume from checkpoints written by other code
            (sources or library versions changed); without it they are refused, before any
            data are loaded (:class:`theory.errors.StaleCheckpointError`).

    Returns:
        ``{"label", "data_note", "runs": [one dict per eps], "seconds"}``; each run has
        ``eps``, ``train``/``test`` (clean and robust accuracy and loss), ``gap_clean``,
        ``gap_robust`` (train - test, in accuracy points of [0, 1]), ``history``, ``curvature``
        (``top_eigs``, ``power_top``, ``trace``, ``trace_se``) and ``landscape``.
    """
    start = time.perf_counter()
    files = checkpoint_files(config, checkpoint_dir) if checkpoint_dir is not None else {}
    stale: dict[float, str] = {}  # per budget: what changed since its checkpoints were computed
    for eps, found in existing_checkpoints(config, checkpoint_dir).items():
        for saved in found:  # refuse stale checkpoints before any work
            saved.require_current(accept_stale)
        stale[eps] = "; ".join(dict.fromkeys(c.history for c in found if c.history))
    note = "data passed by the caller"
    if data is None:
        data, note = load_image_data(config, root)
    x_tr, y_tr, x_te, y_te = data
    device = torch.device(config.train.device)
    dtype = getattr(torch, config.train.dtype)
    x_tr, x_te = x_tr.to(device, dtype), x_te.to(device, dtype)
    y_tr, y_te = y_tr.to(device), y_te.to(device)
    runs = []
    for eps in config.eps:
        tcfg = config.train_config(eps)
        ckpt, measured = files.get(eps, (None, None))
        saved = read_checkpoint(measured) if measured is not None else None
        if saved is not None:  # this budget was trained and measured before an interruption
            if saved.state["config"] != repr(config):
                raise ConfigError(f"checkpoint {measured} was written with a different config: "
                                  "delete it (CLI: --fresh) or choose another checkpoint "
                                  "directory")
            saved.require_current(accept_stale)
            runs.append(saved.state["run"])
            continue
        t0 = time.perf_counter()
        outcome = train_adversarial(tcfg, x_tr, y_tr, checkpoint=ckpt, progress=progress,
                                    accept_stale=accept_stale)
        train_seconds = time.perf_counter() - t0
        model = outcome.model.eval()
        ev = dict(seed=tcfg.seed, fast=tcfg.fast)
        tr_metrics = evaluate(model, x_tr, y_tr, eps, tcfg.eval_attacks(), **ev)
        te_metrics = evaluate(model, x_te, y_te, eps, tcfg.eval_attacks(), **ev)
        n_h = min(config.hessian_samples, x_tr.shape[0])
        c_dtype = getattr(torch, config.curvature_dtype) if config.curvature_dtype else dtype
        c_model = model if c_dtype == dtype else copy.deepcopy(model).to(c_dtype).eval()
        curvature = _curvature(c_model, x_tr[:n_h].to(c_dtype), y_tr[:n_h], config, tcfg)
        curvature["dtype"] = str(c_dtype).removeprefix("torch.")
        n_l = min(config.landscape_samples, x_tr.shape[0])
        direction = filter_normalized_direction(
            model, generator=torch.Generator().manual_seed(tcfg.seed + 20))
        attack = tcfg.train_attack() if eps > 0 else None
        alphas = np.linspace(-config.landscape_range, config.landscape_range,
                             config.landscape_points)
        t1 = time.perf_counter()
        curve = landscape_1d(model, x_tr[:n_l], y_tr[:n_l], direction, alphas, attack=attack,
                             eps=eps, points_per_batch=config.points_per_batch, seed=tcfg.seed)
        curve["seconds"] = time.perf_counter() - t1
        curve["n_samples"] = n_l
        runs.append({
            "eps": eps, "eps_255": eps * 255, "train_config": tcfg.to_dict(),
            "train": tr_metrics, "test": te_metrics,
            "gap_clean": tr_metrics["clean_acc"] - te_metrics["clean_acc"],
            "gap_robust": tr_metrics["robust_acc"] - te_metrics["robust_acc"],
            "history": outcome.history, "train_seconds": train_seconds,
            "curvature": curvature, "landscape": curve,
            "unit_seconds": time.perf_counter() - t0,
        })
        if measured is not None:
            save_checkpoint(measured, {"config": repr(config), "run": runs[-1]},
                            stale=stale.get(eps, ""))
    return {"label": config.label, "data_note": note, "runs": runs,
            "n_train": int(x_tr.shape[0]), "n_test": int(x_te.shape[0]),
            "seconds": time.perf_counter() - start}


def write_resnet_result(path: str | Path, config: ResNetExperimentConfig,
                        results: dict[str, Any], overwrite: bool = False,
                        **provenance_extra: Any) -> Path:
    """Write ``{config, results, provenance}`` atomically (refuses to overwrite unless asked);
    ``provenance_extra`` joins the provenance, whose ``profile`` is the config's (``cpu``...),
    else the current one."""
    extra = dict(provenance_extra)
    if config.seeds:
        extra.setdefault("seeds", list(config.seeds))
    return write_result(path, config, results, seed=config.train.seed,
                        device=config.train.device, overwrite=overwrite,
                        profile=config.profile or current_profile(), **extra)


def seed_configs(config: ResNetExperimentConfig) -> list[ResNetExperimentConfig]:
    """The single-seed sweeps of a seed sweep, one per seed of ``config.seeds`` (``seeds``
    emptied, the seed in ``train.seed``); ``[config]`` when it names no seeds.

    Each is a unit of work per budget (eps x seed) with its own checkpoints
    (:func:`checkpoint_files`: their names carry the digest of the single-seed config).
    """
    if not config.seeds:
        return [config]
    return [dataclasses.replace(config, seeds=(),
                                train=dataclasses.replace(config.train, seed=s))
            for s in config.seeds]


def seed_checkpoint_files(config: ResNetExperimentConfig, checkpoint_dir: str | Path
                          ) -> list[Path]:
    """Every checkpoint file of the (seed) sweep in ``checkpoint_dir``, all units."""
    return [p for c in seed_configs(config)
            for files in checkpoint_files(c, checkpoint_dir).values() for p in files]


def seed_existing_checkpoints(config: ResNetExperimentConfig,
                              checkpoint_dir: str | Path | None) -> list[Checkpoint]:
    """The checkpoints of every unit of the (seed) sweep found in ``checkpoint_dir``."""
    return [ckpt for c in seed_configs(config)
            for found in existing_checkpoints(c, checkpoint_dir).values() for ckpt in found]


def run_resnet_seeds(
    config: ResNetExperimentConfig, data: ImageData | None = None, *,
    root: str | None = None, checkpoint_dir: str | Path | None = None, progress: bool = True,
    accept_stale: bool = False,
) -> dict[str, Any]:
    """The sweep once per seed of ``config.seeds`` (:func:`run_resnet_experiment` per seed, on
    one data subset drawn with ``config.train.seed``), with the seed statistics (Y-T1 (b)).

    Units are (eps, seed) pairs, each checkpointed in ``checkpoint_dir`` once measured: a rerun
    skips the finished ones and resumes the interrupted one after its last epoch.

    Returns:
        ``{"label", "data_note", "seeds", "per_seed": [{"seed", "runs", "seconds"}, ...],
        "summary": seed_summary(...), "n_train", "n_test", "seconds"}``.
    """
    from tqdm import tqdm

    start = time.perf_counter()
    units = seed_configs(config)
    for saved in seed_existing_checkpoints(config, checkpoint_dir):
        saved.require_current(accept_stale)  # refuse stale checkpoints before any work
    note = "data passed by the caller"
    if data is None:
        data, note = load_image_data(config, root)
    per_seed = []
    for unit in tqdm(units, desc="seeds", unit="seed", disable=not progress or len(units) < 2):
        res = run_resnet_experiment(unit, data, root=root, checkpoint_dir=checkpoint_dir,
                                    progress=progress, accept_stale=accept_stale)
        per_seed.append({"seed": unit.train.seed, "runs": res["runs"],
                         "seconds": res["seconds"]})
    return {"label": config.label, "data_note": note,
            "seeds": [u.train.seed for u in units], "per_seed": per_seed,
            "summary": seed_summary(per_seed), "n_train": int(data[0].shape[0]),
            "n_test": int(data[2].shape[0]), "seconds": time.perf_counter() - start}


#: The per-run quantities the seed statistics cover: name -> how to read it from a run.
_SEED_QUANTITIES: dict[str, Any] = {
    "top_eig": lambda r: r["curvature"]["top_eigs"][0],
    "top_normalized": lambda r: r["curvature"].get("top_normalized"),
    "weight_norm": lambda r: r["curvature"].get("weight_norm"),
    "trace": lambda r: r["curvature"]["trace"],
    "train_clean_acc": lambda r: r["train"]["clean_acc"],
    "train_robust_acc": lambda r: r["train"]["robust_acc"],
    "test_clean_acc": lambda r: r["test"]["clean_acc"],
    "test_robust_acc": lambda r: r["test"]["robust_acc"],
    "gap_robust": lambda r: r["gap_robust"],
}


def seed_summary(per_seed: list[dict[str, Any]]) -> dict[str, Any]:
    r"""Seed statistics of a seed sweep (Y-T1 (b), deep part).

    Per budget eps and quantity q (top eigenvalue lambda_1, the normalised ||theta||^2 lambda_1
    when recorded, Hutchinson trace, accuracies, robust gap): ``interval`` over seeds (mean, sd,
    Student 95% interval). Per seed: whether lambda_1 increases strictly with eps and Spearman's
    rho(eps, lambda_1); ``counts``: in how many seeds each holds ("k of n seeds").

    Returns:
        ``{"eps": [...], "per_eps": [{"eps", q: interval, ...}], "per_seed": [{"seed",
        "top_eig": [...], "increasing", "spearman", ...}], "counts": {...}, "mean_increasing",
        "mean_increasing_normalized"}``.
    """
    from numerics.experiments.seeds import count_true, interval
    from numerics.stats import increasing, spearman

    if not per_seed:
        raise ConfigError("seed_summary needs the runs of at least one seed")
    eps = [r["eps"] for r in per_seed[0]["runs"]]
    for s in per_seed:
        if [r["eps"] for r in s["runs"]] != eps:
            raise ConfigError(f"seed {s['seed']} has budgets {[r['eps'] for r in s['runs']]}, "
                              f"seed {per_seed[0]['seed']} {eps}: rerun the sweep")
    per_eps = []
    for i, e in enumerate(eps):
        row: dict[str, Any] = {"eps": e}
        for name, read in _SEED_QUANTITIES.items():
            values = [read(s["runs"][i]) for s in per_seed]
            if all(v is not None for v in values):
                row[name] = interval(values)
        per_eps.append(row)
    seeds = []
    for s in per_seed:
        top = [r["curvature"]["top_eigs"][0] for r in s["runs"]]
        entry: dict[str, Any] = {"seed": s["seed"], "top_eig": top,
                                 "increasing": increasing(top), "spearman": spearman(eps, top)}
        norm = [r["curvature"].get("top_normalized") for r in s["runs"]]
        if all(v is not None for v in norm):
            entry.update(top_normalized=norm, increasing_normalized=increasing(norm),
                         spearman_normalized=spearman(eps, norm))
        seeds.append(entry)
    counts = {"increasing": count_true([s["increasing"] for s in seeds]),
              "spearman_positive": count_true([s["spearman"] > 0 for s in seeds])}
    out: dict[str, Any] = {
        "eps": eps, "per_eps": per_eps, "per_seed": seeds, "counts": counts,
        "mean_increasing": increasing([row["top_eig"]["mean"] for row in per_eps])}
    if all("top_normalized" in s for s in seeds):
        counts["increasing_normalized"] = count_true([s["increasing_normalized"] for s in seeds])
        counts["spearman_positive_normalized"] = count_true(
            [s["spearman_normalized"] > 0 for s in seeds])
        out["mean_increasing_normalized"] = increasing(
            [row["top_normalized"]["mean"] for row in per_eps])
    return out


#: The committed record of the ``cpu`` profile (Y-T1 (b) on a deep net, CPU scale).
CPU_RESULT_FILE = REPO_ROOT / "results" / "resnet" / "mnist_cpu.json"


def _scale_text(record: dict[str, Any]) -> str:
    """``"CPU scale: ResNet18 width 4 on 1024 MNIST images, 3 seeds; not the paper's GPU
    scale"`` (from the record's config and results)."""
    cfg, res = record["config"], record["results"]
    profile = record["provenance"].get("profile") or cfg.get("profile") or "?"
    name = "CPU scale" if profile == "cpu" else f"{profile} profile"
    model = {"resnet18": "ResNet18", "preactresnet18": "PreActResNet18"}.get(
        cfg["train"]["model"], cfg["train"]["model"])
    data = {"mnist": "MNIST", "cifar10": "CIFAR-10", "svhn": "SVHN"}.get(cfg["dataset"],
                                                                         cfg["dataset"])
    text = (f"{name}: {model} width {cfg['train']['width']} on {res['n_train']} {data} images, "
            f"{len(res['seeds'])} seeds")
    return text + ("" if profile == "gpu" else "; not the paper's GPU scale")


def evidence_y_t1_deep(path: str | Path | None = None) -> Evidence:
    r"""Y-T1 (b), data, deep network (Yamada et al. Section 5.2): does the top Hessian eigenvalue
    lambda_1 of the adversarial loss at the trained weights of a ResNet18 grow with the PGD
    budget eps?

    Reads a seed sweep (default :data:`CPU_RESULT_FILE`, ``advlandscape resnet run --profile
    cpu``) and recomputes its seed statistics (:func:`seed_summary`; verdicts are computed,
    never read). Holds when the seed mean of lambda_1 increases strictly with eps and Spearman's
    rho(eps, lambda_1) > 0 in every seed. lambda_1 is the raw top eigenvalue, the paper's
    measure for its deep nets (Hessian with the evaluation PGD's examples held fixed,
    BatchNorm in eval mode); the normalised ||theta||^2 lambda_1, the Hutchinson trace and "k of
    n seeds" with a strict increase are reported beside it. The summary and the conditions name
    the scale (the ``cpu`` profile is not the paper's GPU scale). ran=False without the record.
    """
    file = Path(path) if path is not None else CPU_RESULT_FILE
    if not file.exists():
        return Evidence("data", False, f"Y-T1 (b), deep net: no {file.name}; run `advlandscape "
                        f"resnet run --profile cpu --dataset mnist --out {file}`", ran=False)
    record = read_result(file)
    res = record["results"]
    if "per_seed" not in res:
        raise ResultFileError(f"{file} is not a seed sweep (no per_seed results): re-create it "
                              "with `advlandscape resnet run --profile cpu --overwrite`")
    summary = seed_summary(res["per_seed"])
    scale = _scale_text(record)
    eps = summary["eps"]
    means = [row["top_eig"]["mean"] for row in summary["per_eps"]]
    counts = summary["counts"]
    rhos = [s["spearman"] for s in summary["per_seed"]]
    all_positive = all(r > 0 for r in rhos)  # NaN (constant lambda_1) is not positive
    passed = bool(summary["mean_increasing"] and all_positive)
    fmt = ", ".join
    parts = [f"{scale}: seed-mean lambda_1 at eps ({fmt(f'{e:g}' for e in eps)}) = "
             f"({fmt(f'{m:.4g}' for m in means)}), "
             f"{'strictly increasing' if summary['mean_increasing'] else 'not increasing'}",
             f"strictly increasing in {counts['increasing']['text']}",
             f"Spearman > 0 in {counts['spearman_positive']['text']} "
             f"(rho {fmt(f'{r:.2f}' for r in rhos)})"]
    if "mean_increasing_normalized" in summary:
        norm = [row["top_normalized"]["mean"] for row in summary["per_eps"]]
        parts.append(f"||theta||^2 lambda_1 ({fmt(f'{m:.4g}' for m in norm)}), increasing in "
                     f"{counts['increasing_normalized']['text']}")
    parts.append("trace (" + fmt(f"{row['trace']['mean']:.4g}" for row in summary["per_eps"])
                 + ")")
    conditions = (
        scale,
        f"ResNet18 trained with L-inf PGD on {record['config']['dataset'].upper()}, not the "
        "theorem's L2 linear model",
        "lambda_1: raw top eigenvalue of the Hessian of the adversarial loss in the weights, "
        "the evaluation PGD's examples held fixed, BatchNorm in eval mode",
    )
    counter = None if passed else {
        "eps": eps, "mean_top_eig": means,
        "per_seed": [{"seed": s["seed"], "top_eig": s["top_eig"], "spearman": s["spearman"]}
                     for s in summary["per_seed"]]}
    return Evidence("data", passed, "; ".join(parts), conditions=conditions,
                    counterexample=counter,
                    details={"scale": scale, "file": str(file), "summary": summary,
                             "profile": record["provenance"].get("profile")})

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
from numerics.results import Checkpoint, read_checkpoint, save_checkpoint, write_result
from numerics.spectra import hutchinson_trace, power_iteration, top_hessian_eigs
from theory.errors import ConfigError, DataError

__all__ = [
    "DATASETS",
    "ResNetExperimentConfig",
    "checkpoint_files",
    "existing_checkpoints",
    "load_image_data",
    "profile_config",
    "run_resnet_experiment",
    "write_resnet_result",
]

DATASETS = ("mnist", "cifar10", "svhn")

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
    ``full``/``gpu``: width 64, the whole data set, the Madry (CIFAR-10) or Wu (SVHN) settings,
    float32 fast path on CUDA.
    """
    profile = current_profile(profile)
    mnist = dataset == "mnist"
    channels = 1 if mnist else 3
    eps = (0.0, 0.1, 0.2, 0.3) if mnist else tuple(k / 255 for k in (0, 4, 8, 12, 16))
    if profile == "ci":
        train = AdvTrainConfig(model="resnet18", width=4, in_channels=channels, num_classes=10,
                               image_size=28 if mnist else 32, train_steps=3, eval_steps=10,
                               epochs=2, batch_size=32, lr=0.05, lr_schedule="constant",
                               dtype="float64", device="cpu", preset="ci-smoke")
        base: dict[str, Any] = dict(
            label="CPU smoke run (ci profile): tiny ResNet18 on a few hundred images; checks "
                  "the machinery, NOT the paper's experiment",
            dataset=dataset, n_train=256, n_test=256, eps=eps, train=train, step_rule="madry",
            hessian_samples=32, top_k=3, eig_tol=1e-3, power_iters=30, hutchinson_samples=5,
            landscape_points=9, landscape_samples=32)
    else:
        from numerics.nets.train import madry_cifar10, wu_svhn

        preset = wu_svhn if dataset == "svhn" else madry_cifar10
        train = preset(8.0, device="cuda", dtype="float32", fast=True,
                       in_channels=channels, image_size=28 if mnist else 32)
        base = dict(label=f"{profile} profile: the paper's setting (Yamada et al. 5.2)",
                    dataset=dataset, n_train=0, n_test=0, eps=eps, train=train,
                    step_rule="madry" if mnist else "fixed", hessian_samples=10_000,
                    top_k=3, power_iters=100, hutchinson_samples=50, landscape_points=51,
                    landscape_samples=1000, hvp_batch_size=1000, points_per_batch=4)
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
    out.update(trace=tr.estimate, trace_se=tr.standard_error, trace_samples=tr.num_samples,
               n_params=int(op.shape[0]))
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
        curvature = _curvature(model, x_tr[:n_h], y_tr[:n_h], config, tcfg)
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
    ``provenance_extra`` joins the provenance."""
    return write_result(path, config, results, seed=config.train.seed,
                        device=config.train.device, overwrite=overwrite,
                        profile=current_profile(), **provenance_extra)

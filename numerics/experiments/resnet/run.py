"""One sweep over budgets (Y-T1): train, evaluate, measure curvature and the landscape per eps.

:func:`run_resnet_experiment` runs it (a config in, a results record out), checkpointing each
budget's training (:func:`checkpoint_callables`: the save/load callables
:func:`numerics.nets.train.train_adversarial` takes, on :func:`numerics.records.save_checkpoint`
and :func:`numerics.records.read_checkpoint`) and, once measured, its record;
:func:`write_resnet_result` writes the record with provenance.
"""

from __future__ import annotations

import copy
import hashlib
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from numerics.experiments.resnet.config import ResNetExperimentConfig
from numerics.experiments.resnet.data import ImageData, load_image_data
from numerics.nets.attack import strongest_examples
from numerics.nets.curvature import HessianOperator
from numerics.nets.landscape import filter_normalized_direction, landscape_1d
from numerics.nets.train import evaluate, train_adversarial
from numerics.nets.train_config import AdvTrainConfig
from numerics.profiles import current_profile
from numerics.records import Checkpoint, read_checkpoint, save_checkpoint, write_result
from numerics.spectra import hutchinson_trace, power_iteration, top_hessian_eigs
from theory.errors import ConfigError

__all__ = [
    "checkpoint_callables",
    "checkpoint_files",
    "existing_checkpoints",
    "run_resnet_experiment",
    "write_resnet_result",
]


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


def checkpoint_callables(path: str | Path | None, accept_stale: bool = False
                         ) -> dict[str, Any]:
    """The keyword arguments that keep a training's state in the checkpoint file ``path``:
    ``{"save", "load", "checkpoint_name"}`` for :func:`numerics.nets.train.train_adversarial`
    (``{}`` when ``path`` is None: no checkpoint).

    ``load`` reads the file (:func:`numerics.records.read_checkpoint`; None when there is none)
    and refuses a checkpoint written by other code unless ``accept_stale``
    (:meth:`numerics.records.Checkpoint.require_current`); ``save`` writes the state atomically
    (:func:`numerics.records.save_checkpoint`), carrying what changed in the code since a stale
    checkpoint resumed anyway was computed.

    Raises (from ``load``):
        ResultFileError: a torn, damaged or unsafe file. StaleCheckpointError: written by other
            code, and not ``accept_stale``.
    """
    if path is None:
        return {}
    file = Path(path)
    stale = ""  # what changed since the epochs resumed were computed (carried by every save)

    def load() -> dict[str, Any] | None:
        nonlocal stale
        saved = read_checkpoint(file)
        if saved is None:
            return None
        saved.require_current(accept_stale)
        stale = saved.history
        return saved.state

    def save(state: dict[str, Any]) -> None:
        save_checkpoint(file, state, stale=stale)

    return {"save": save, "load": load, "checkpoint_name": str(file)}


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
    never refused: :meth:`numerics.records.Checkpoint.require_current` decides)."""
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
        outcome = train_adversarial(tcfg, x_tr, y_tr, **checkpoint_callables(ckpt, accept_stale),
                                    progress=progress)
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

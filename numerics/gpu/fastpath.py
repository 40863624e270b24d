r"""Stage 2: the fast path (bf16 autocast, channels-last, attack without weight gradients:
``AdvTrainConfig(fast=True)``) against the float32 reference path on one seed.

Two comparisons, each against a stated tolerance (:data:`TOLERANCES`):

1. *one batch, same weights* (noise-free): the cross-entropy of the freshly initialised network
   on one batch of clean and of PGD images, fast against fp32; bf16 keeps about 3 significant
   digits, so the relative difference must stay below ``loss_rel``;
2. *one training run each* (same seed, data, order): PGD adversarial training of ResNet18 on
   CIFAR-10 for a few epochs; the final epoch's adversarial training loss (relative difference
   below ``train_loss_rel``) and the clean and robust accuracies on the test images and on a
   training subset (absolute differences below ``acc_abs``). Training trajectories diverge
   chaotically under any change of rounding, so these tolerances are statistical: with 1,000
   test images an accuracy's standard error is about 1.6 points, its difference's about 2.2.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

__all__ = ["TOLERANCES", "eval_starts", "run_fastpath"]

#: The stated tolerances of the comparison.
TOLERANCES: Mapping[str, float] = {"loss_rel": 0.02, "train_loss_rel": 0.10, "acc_abs": 0.05}


def eval_starts() -> int:
    """The number of PGD starts the suite's evaluation runs per example."""
    from numerics.nets.train_config import AdvTrainConfig

    return len(AdvTrainConfig().eval_attacks())


def _config(sizes: Mapping[str, Any], device: str, fast: bool) -> Any:
    from numerics.nets.train_config import madry_cifar10

    return madry_cifar10(sizes["eps_255"], width=sizes["width"], epochs=sizes["epochs"],
                         batch_size=sizes["batch_size"], train_steps=sizes["train_steps"],
                         eval_steps=sizes["eval_steps"], seed=sizes["seed"], device=device,
                         dtype="float32", fast=fast, lr_schedule="piecewise")


def _one_batch(cfg: Any, x: torch.Tensor, y: torch.Tensor) -> dict[str, float]:
    """Clean and PGD loss of one initialised network, fp32 and fast, on the same batch."""
    from numerics.nets.attack import adversarial_examples
    from numerics.nets.models import build_model

    device = torch.device(cfg.device)
    torch.manual_seed(cfg.seed)
    model = build_model("resnet18", num_classes=cfg.num_classes, in_channels=cfg.in_channels,
                        width=cfg.width, dtype=torch.float32, device=device).eval()
    x, y = x.to(device, torch.float32), y.to(device)
    gen = torch.Generator(device=device).manual_seed(cfg.seed)
    xa = adversarial_examples(model, x, y, cfg.eps, cfg.eval_attacks()[0], generator=gen)
    out: dict[str, float] = {}
    for name, inputs in (("clean", x), ("pgd", xa)):
        with torch.no_grad():
            ref = float(nn.functional.cross_entropy(model(inputs), y))
            cl = model.to(memory_format=torch.channels_last)
            with torch.autocast(device_type=device.type, dtype=torch.bfloat16):
                logits = cl(inputs.contiguous(memory_format=torch.channels_last))
            fast = float(nn.functional.cross_entropy(logits.float(), y))
            model.to(memory_format=torch.contiguous_format)
        out[f"{name}_loss_fp32"], out[f"{name}_loss_fast"] = ref, fast
        out[f"{name}_loss_rel_diff"] = abs(fast - ref) / max(abs(ref), 1e-12)
    return out


def run_fastpath(sizes: Mapping[str, Any], *, device: str, data_root: str | None,
                 say: Any = print) -> dict[str, Any]:
    """Stage 2's results: the one-batch comparison, both training runs (history, accuracies,
    seconds) and, per criterion, the difference, its tolerance and whether it holds."""
    from numerics.gpu.data import cifar10_images
    from numerics.nets.train import evaluate, train_adversarial

    (x, y, xt, yt), note = cifar10_images(sizes["n_train"], sizes["n_test"], sizes["seed"],
                                          data_root)
    ref_cfg = _config(sizes, device, fast=False)
    batch = _one_batch(ref_cfg, x[:sizes["batch_size"]], y[:sizes["batch_size"]])
    n_ev = min(sizes["n_eval_train"], x.shape[0])
    runs: dict[str, Any] = {}
    for name, fast in (("fp32", False), ("fast", True)):
        cfg = dataclasses.replace(ref_cfg, fast=fast)
        t0 = time.perf_counter()
        outcome = train_adversarial(cfg, x, y, progress=False)
        seconds = time.perf_counter() - t0
        dev = torch.device(device)
        ev = dict(seed=cfg.seed, fast=fast)
        test = evaluate(outcome.model, xt.to(dev, torch.float32), yt.to(dev), cfg.eps,
                        cfg.eval_attacks(), **ev)
        train = evaluate(outcome.model, x[:n_ev].to(dev, torch.float32), y[:n_ev].to(dev),
                         cfg.eps, cfg.eval_attacks(), **ev)
        runs[name] = {"history": outcome.history, "train_seconds": seconds,
                      "test": test, "train_subset": train, "config": cfg.to_dict()}
        say(f"  {name}: trained in {seconds:.1f} s, test clean {test['clean_acc']:.3f} "
            f"robust {test['robust_acc']:.3f}")
    checks: dict[str, dict[str, Any]] = {}

    def check(name: str, diff: float, tol: str) -> None:
        checks[name] = {"difference": diff, "tolerance": TOLERANCES[tol],
                        "within": bool(diff <= TOLERANCES[tol])}

    check("one_batch_clean_loss_rel", batch["clean_loss_rel_diff"], "loss_rel")
    check("one_batch_pgd_loss_rel", batch["pgd_loss_rel_diff"], "loss_rel")
    lf, lr = (runs[k]["history"][-1]["train_adv_loss"] for k in ("fast", "fp32"))
    check("final_train_adv_loss_rel", abs(lf - lr) / max(abs(lr), 1e-12), "train_loss_rel")
    for split in ("test", "train_subset"):
        for acc in ("clean_acc", "robust_acc"):
            check(f"{split}_{acc}_abs", abs(runs["fast"][split][acc] - runs["fp32"][split][acc]),
                  "acc_abs")
    speedup = runs["fp32"]["train_seconds"] / max(runs["fast"]["train_seconds"], 1e-12)
    return {"data_note": note, "one_batch": batch, "runs": runs, "checks": checks,
            "tolerances": dict(TOLERANCES), "all_within": all(c["within"] for c in checks.values()),
            "train_speedup_fast_over_fp32": speedup}

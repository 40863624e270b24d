"""L-FINDINGS on data (Liu et al. 2020): escape, gradients that do not vanish, sharper minima.

:func:`run_findings` trains, per budget eps, an MLP on MNIST from a poor initialisation (PGD
training, L-inf) and a logistic model on MNIST2 (exact inner max, L2), and measures when the run
escapes the initialisation, the gradient norm left at the end and the top Hessian eigenvalue of
the minimum. :func:`judge_findings` says which findings reproduce; with :mod:`numerics.
experiments.pas` it makes the L-FINDINGS evidence (:func:`evidence_l_findings`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from numerics.attacks import AttackSpec
from numerics.data.subsets import check_subset_size
from numerics.experiments.pas import judge_pas
from numerics.experiments.units import (
    Units,
    absent,
    check_int,
    load_record,
    mnist2_subset,
    mnist_subset,
    scale,
)
from numerics.linear.bounds import budget_threshold
from numerics.linear.curvature import hessian_robust
from numerics.linear.train import TrainConfig, train_models
from numerics.nets.attack import adversarial_examples
from numerics.nets.curvature import HessianOperator
from numerics.nets.models import MLP
from numerics.nets.schedules import FixedSchedule
from numerics.nets.train import train_with_schedule
from numerics.ops import robust_gradient, robust_loss
from numerics.spectra import top_hessian_eigs
from numerics.stats import spearman
from theory.claims import Evidence
from theory.errors import ConfigError, ResultFileError

__all__ = [
    "CLAIMS",
    "EVIDENCE",
    "MINUTES",
    "NAME",
    "RESULT",
    "SCALES",
    "THREADS",
    "TITLE",
    "Config",
    "FindingsConfig",
    "evidence_l_findings",
    "judge",
    "judge_findings",
    "run",
    "run_findings",
    "unit_names",
]


@dataclass(frozen=True)
class FindingsConfig:
    """Config of :func:`run_findings` (L-FINDINGS: escape, non-vanishing gradients, sharpness).

    Attributes:
        eps_grid: L-inf budgets for the MLP on MNIST (pixels in [0, 1]).
        n_train: MNIST training images. hidden: MLP widths. init_scale: the poor initialisation
            is PyTorch's default initialisation with every parameter multiplied by init_scale
            (a point near the saddle at 0 where the network predicts a constant).
        epochs, batch_size, lr, momentum: SGD with a constant learning rate.
        pgd_steps: PGD steps in training (step 2.5 eps / K).
        escape_fraction: escape = first iteration whose adversarial training loss (running mean
            over 10 iterations) falls below escape_fraction * log(10).
        n_hessian: training points (adversarial, at the final weights) for the Hessian.
        logistic_ratios: eps / eps* (p = 2, exact) for the logistic part; logistic_n: its points.
        seed, profile: as usual.
    """

    eps_grid: tuple[float, ...] = (0.0, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3)
    n_train: int = 10000
    hidden: tuple[int, ...] = (128,)
    init_scale: float = 0.5
    epochs: int = 10
    batch_size: int = 50
    lr: float = 0.05
    momentum: float = 0.9
    pgd_steps: int = 10
    escape_fraction: float = 0.9
    n_hessian: int = 1000
    logistic_ratios: tuple[float, ...] = (0.0, 0.25, 0.5, 0.75, 0.9)
    logistic_n: int = 12665
    logistic_steps: int = 1000
    seed: int = 0
    profile: str = "full"

    def __post_init__(self) -> None:
        if not self.eps_grid or any(e < 0 for e in self.eps_grid):
            raise ConfigError("eps_grid must be a non-empty tuple of budgets >= 0")
        check_int(self.n_train, "n_train", 2)
        check_subset_size(self.n_train, "mnist", "train", "n_train", whole="60000")
        check_subset_size(self.logistic_n, "mnist2", "train", "logistic_n", whole="12665")
        check_int(self.epochs, "epochs")
        check_int(self.batch_size, "batch_size")
        check_int(self.pgd_steps, "pgd_steps")
        check_int(self.n_hessian, "n_hessian", 2)


def _full_gradient_norm(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    """||grad_theta (1/N) sum_n CE(f(theta; x_n), y_n)||_2 with the inputs held fixed."""
    model.eval()
    model.zero_grad()
    torch.nn.functional.cross_entropy(model(x), y).backward()
    total = sum(float((p.grad ** 2).sum()) for p in model.parameters() if p.grad is not None)
    model.zero_grad()
    return math.sqrt(total)


def run_findings(cfg: FindingsConfig, units: Units | None = None) -> dict[str, Any]:
    """L-FINDINGS on MNIST (MLP) and MNIST2 (logistic), per eps.

    MLP, per eps in ``eps_grid`` (same poor initialisation and batch order for every eps):

    * ``escape_iter``: first iteration at which the running mean (10 iterations) of the
      adversarial training loss is below escape_fraction * log 10 (None: never escaped);
    * ``grad_norm``: ||grad L_adv(theta_T)|| over the training subset, the PGD examples
      (K steps at the final weights) held fixed;
    * ``top_eig``: the largest eigenvalue of the Hessian of that loss (inputs held fixed, as in
      :func:`numerics.spectra.top_hessian_eigs`) on ``n_hessian`` points;
    * ``final_loss``, clean and PGD training accuracy.

    Logistic (p = 2, exact inner max, no bias), per eps = ratio * eps*: from the poor point
    w_0 = -3 g/||g||, g = mean y x (every point misclassified), full-batch Adam
    (:func:`numerics.linear.train.train_models`, exact attack); ``escape_iter`` = first step
    with L_eps(w) < log 2 (the loss of w = 0), ``grad_norm`` = ||grad L_eps|| at the end,
    ``top_eig`` = largest eigenvalue of the exact Hessian of L_eps (attack depending on w,
    HESS-DEP, :func:`numerics.linear.curvature.hessian_robust`).

    Units (checkpointed with ``checkpoint_dir``, :mod:`numerics.experiments.units`): one per
    MLP budget (initialisation, batches and PGD starts seeded with ``seed``, the same for every
    eps) and one per logistic ratio (deterministic).

    Args:
        cfg: the config. units: runs each unit, checkpointing and resuming it
            (:func:`numerics.experiments.protocol.execute` builds it; default: none kept).
    """
    units = units if units is not None else Units(NAME, cfg, len(unit_names(cfg)))
    x, y = mnist_subset(cfg.n_train, cfg.seed, "train")

    def mlp_run(eps: float) -> dict[str, Any]:
        torch.manual_seed(cfg.seed)
        model = MLP(784, 10, hidden=cfg.hidden)
        with torch.no_grad():
            for p in model.parameters():
                p.mul_(cfg.init_scale)
        gen = torch.Generator().manual_seed(cfg.seed)
        sched = FixedSchedule(eps_target=eps, epochs=cfg.epochs, lr_max=cfg.lr,
                              lr_shape="constant", step_ratio=2.5 / cfg.pgd_steps)
        losses = train_with_schedule(model, x, y, sched, batch_size=cfg.batch_size,
                                     pgd_steps=cfg.pgd_steps, norm="linf",
                                     momentum=cfg.momentum, gen=gen)
        running = np.convolve(losses, np.ones(10) / 10, mode="valid")
        below = np.nonzero(running < cfg.escape_fraction * math.log(10))[0]
        escape = int(below[0]) + 9 if below.size else None
        model.eval()
        x_adv = adversarial_examples(model, x, y, eps, AttackSpec("pgd", "linf", cfg.pgd_steps),
                                     generator=gen) if eps > 0 else x
        grad_norm = _full_gradient_norm(model, x_adv, y)
        with torch.no_grad():
            final_loss = float(torch.nn.functional.cross_entropy(model(x_adv), y))
            adv_acc = float((model(x_adv).argmax(1) == y).double().mean())
            clean_acc = float((model(x).argmax(1) == y).double().mean())
        op = HessianOperator(model, x_adv[: cfg.n_hessian], y[: cfg.n_hessian])
        top = float(top_hessian_eigs(op, k=1, seed=cfg.seed, vectors=False).values[0])
        return {"eps": eps, "escape_iter": escape, "iterations": len(losses),
                "grad_norm": grad_norm, "top_eig": top, "final_loss": final_loss,
                "train_adv_acc": adv_acc, "train_clean_acc": clean_acc}

    mlp_rows = [units(f"mlp/{eps!r}", lambda eps=eps: mlp_run(eps)) for eps in cfg.eps_grid]

    xl, yl = mnist2_subset(cfg.logistic_n, cfg.seed)
    eps_star = budget_threshold(xl, yl, "l2", False)
    g = (yl[:, None] * xl).mean(0)
    w0 = -3 * g / g.norm()

    def logistic_run(ratio: float) -> dict[str, Any]:
        eps = ratio * eps_star
        config = TrainConfig(epochs=cfg.logistic_steps, batch_size=0, optimizer="adam", lr=0.05,
                             bias=False, seed=cfg.seed)
        result = train_models(xl, yl, eps, AttackSpec("exact", "l2", box=None), config, init=w0)
        wd = result.last[0]
        below = [t for t, (loss,) in enumerate(result.history["loss"]) if loss < math.log(2)]
        grad = robust_gradient(wd, xl, yl, eps, "l2", mean=True)
        top = float(top_hessian_eigs(hessian_robust(wd, xl, yl, eps, "l2"), k=1,
                                     vectors=False).values[0])
        return {"ratio": ratio, "eps": eps, "escape_iter": below[0] if below else None,
                "grad_norm": float(grad.norm()), "top_eig": top,
                "final_loss": float(robust_loss(wd, xl, yl, eps, "l2").mean()),
                "w_norm": float(wd.norm())}

    log_rows = [units(f"logistic/{ratio!r}", lambda ratio=ratio: logistic_run(ratio))
                for ratio in cfg.logistic_ratios]
    units.close()
    return {"mlp": mlp_rows, "logistic": {"eps_star": eps_star, "rows": log_rows}}


def _escape_key(v: int | None, cap: int) -> float:
    return float(cap + 1 if v is None else v)


def judge_findings(results: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Which of Liu et al.'s three numerical findings reproduce, per model.

    * ``escape``: Spearman rank correlation of the escape iteration with eps over all runs
      (a run that never escaped ranks last); holds when rho > 0.5.
    * ``gradients`` and ``sharpness``: the final gradient norm and the top Hessian eigenvalue
      describe the minimum found, so they are compared among the runs that escaped (a run stuck
      at the constant predictor sits at a flat saddle, not at a minimum): Spearman rho > 0.5
      with at least 3 such runs, a strict increase from the smallest to the largest eps with 2;
      with fewer the finding cannot be judged and does not count as reproduced.

    Returns:
        ``{model: {finding: {"rho": ..., "holds": ..., "runs": ...}}}``.
    """
    out: dict[str, dict[str, Any]] = {}
    for model, rows in (("mlp", results["mlp"]), ("logistic", results["logistic"]["rows"])):
        cap = max((r.get("iterations") or 10**9) for r in rows)
        eps = [r["eps"] for r in rows]
        rho = spearman(eps, [_escape_key(r["escape_iter"], cap) for r in rows])
        out[model] = {"escape": {"rho": rho, "holds": bool(rho > 0.5), "runs": len(rows)}}
        escaped = [r for r in rows if r["escape_iter"] is not None]
        for name, key in (("gradients", "grad_norm"), ("sharpness", "top_eig")):
            e = [r["eps"] for r in escaped]
            v = [r[key] for r in escaped]
            if len(escaped) >= 3:
                rho = spearman(e, v)
                holds = bool(rho > 0.5)
            elif len(escaped) == 2:
                rho = 1.0 if v[1] > v[0] else -1.0
                holds = v[1] > v[0]
            else:
                rho, holds = float("nan"), False
            out[model][name] = {"rho": rho, "holds": holds, "runs": len(escaped)}
    return out


def evidence_l_findings(results_dir: Path | None = None) -> Evidence:
    """L-FINDINGS data evidence from ``findings.json`` and ``pas.json`` (MNIST, CPU).

    Passes only when every finding reproduces: escape, gradients and sharpness (judged on the
    MLP, the deep-net setting of the claim; the logistic results are reported), and PAS both
    better and less sensitive to the learning rate. ResNet18 (GPU) is not covered here.
    """
    findings = load_record("findings", results_dir)
    pas = load_record("pas", results_dir)
    if findings is None or pas is None:
        missing = "findings" if findings is None else "pas"
        return absent(missing, "L-FINDINGS")
    try:
        f = judge_findings(findings["results"])
        p = judge_pas(pas["results"])
    except (KeyError, TypeError) as exc:
        raise ResultFileError(f"findings/pas record lacks {exc}: re-run with --overwrite") from None
    parts = {f"mlp {k}": v["holds"] for k, v in f["mlp"].items()}
    parts["pas better"] = p["better"]
    parts["pas less lr-sensitive"] = p["less_sensitive"]
    failed = [k for k, ok in parts.items() if not ok]
    text = ", ".join(f"{k} (rho={v['rho']:.2f})" for k, v in f["mlp"].items())
    log = ", ".join(f"{k} rho={v['rho']:.2f}" for k, v in f["logistic"].items())
    summary = (
        f"MLP/MNIST Spearman with eps: {text}; logistic: {log}; PAS mean robust acc "
        f"{p['pas']['mean']:.3f} vs fixed {p['fixed']['mean']:.3f}, spread over lrs "
        f"{p['pas']['spread']:.3f} vs {p['fixed']['spread']:.3f}"
        + f"; best over lrs PAS {p['pas']['best']:.3f} vs fixed {p['fixed']['best']:.3f}"
        + (f"; does not reproduce: {', '.join(failed)}" if failed else "")
        + f" ({scale(findings)}, {scale(pas)})"
    )
    n_runs = f["mlp"]["escape"]["runs"]
    n_escaped = f["mlp"]["sharpness"]["runs"]
    n_seeds = len(pas["config"].get("seeds", [0]))
    conditions = (
        "MNIST on CPU (MLP), one seed; ResNet18 not run",
        f"gradients and sharpness compared among the {n_escaped} of {n_runs} budgets whose run "
        "escaped the poor initialisation (the others sit at the constant predictor's flat saddle)",
        f"PAS judged on robust test accuracy averaged over {n_seeds} seeds, "
        "better in mean over the lr grid and in spread, not necessarily at the best lr",
    )
    return Evidence(
        "data", not failed, summary,
        conditions=conditions,
        counterexample={"not_reproduced": failed} if failed else None,
        details={"findings": f, "pas": p},
    )


# -- the study protocol (numerics.experiments.protocol) ---------------------------------------

NAME = "findings"
TITLE = "L-FINDINGS: escape, non-vanishing gradients and sharpness against the budget"
CLAIMS = ("L-FINDINGS",)
Config = FindingsConfig
#: The paper's scale is the Config's defaults (10k MNIST images); ``ci`` a 1k subset.
SCALES: dict[str, dict[str, Any]] = {
    "ci": {"n_train": 1000, "epochs": 8, "pgd_steps": 5, "n_hessian": 300, "hidden": (32,),
           "logistic_n": 1000, "logistic_steps": 500},
    "full": {},
}
MINUTES = {"ci": 1.5, "full": 3.0}
RESULT = "findings.json"
#: Its MLPs are trained by SGD, where the last digits of a BLAS reduction grow into the results
#: (the full run on one thread against two: 13 of 100 numbers moved, no judgement): it runs on
#: one thread wherever it runs, as its committed records did.
THREADS = 1
run = run_findings
EVIDENCE = {"L-FINDINGS": evidence_l_findings}


def unit_names(cfg: FindingsConfig) -> list[str]:
    """The units of :func:`run_findings`: one per MLP budget, one per logistic ratio."""
    return ([f"mlp/{eps!r}" for eps in cfg.eps_grid]
            + [f"logistic/{ratio!r}" for ratio in cfg.logistic_ratios])


def judge(results: dict[str, Any]) -> str:
    """One line: what each finding's Spearman correlation with the budget is."""
    return "; ".join(
        f"{model}: " + ", ".join(f"{finding} rho {v['rho']:.2f} "
                                 f"({'holds' if v['holds'] else 'does not hold'})"
                                 for finding, v in findings.items())
        for model, findings in judge_findings(results).items())

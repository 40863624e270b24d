"""Running the MNIST2 experiment: every model of the requested tables, over the seeds.

:func:`run_table` runs one (table, seed) unit in four phases: it trains every budget's model
in one batched call (early stopping on the test set), evaluates them as the paper's tables
report them, computes the exact Hessians at the trained weights with their top eigenvalues
(figure 3), and the filter-normalised 1-D landscapes (figure 2). :func:`run_mnist2` runs every
unit of a configuration and :func:`aggregate` summarises each table over its seeds, into the
plain results dict that :mod:`.present` writes and shows and :mod:`.evidence` judges.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
import torch

from numerics.attacks import AttackSpec
from numerics.experiments import seeds as seeds_mod
from numerics.experiments.mnist2.config import (
    DATA_SPLITS,
    MNIST2Config,
    _attacks,
    _eval_pgd,
    load_data,
    repetitions,
    table_spec,
)
from numerics.experiments.paper_values import PRINTED_RESOLUTION, TableSpec, eps_label
from numerics.experiments.units import Units
from numerics.linear.attack import _perturb, _robust_correct
from numerics.linear.curvature import fixed_noise_operator, normalized_sharpness, robust_operator
from numerics.linear.landscape import filter_normalized_direction, landscape_1d
from numerics.linear.train import TrainConfig, TrainResult, train_models
from numerics.ops import robust_margin
from numerics.spectra import top_hessian_eigs
from numerics.validate import check_data
from theory.theorem1 import margin_threshold

__all__ = ["aggregate", "run_mnist2", "run_table"]

_T = TypeVar("_T")


def _eval(W: torch.Tensor, X: torch.Tensor, y: torch.Tensor, eps: torch.Tensor,
          attacks: AttackSpec | tuple[AttackSpec, ...], seed: int,
          common_noise: bool, fused: bool = False) -> list[float]:
    """Accuracy (%) of each model when every example meets the strongest of ``attacks`` (the
    lowest margin among them, per example and model); ``fused``: PGD by
    :mod:`numerics.linear.fused`."""
    gen = torch.Generator().manual_seed(seed)
    # the data were checked once (run_table, train_models' entry)
    correct = _robust_correct(W, X, y, eps, attacks, gen, common_noise, fused=fused)
    return (100.0 * correct.to(W.dtype).mean(dim=1)).tolist()


def _top_eigs(operator: Any, k: int) -> np.ndarray:
    """Top eigenvalues of an exact Hessian operator (p = 785): Lanczos from the all-ones vector,
    converged to 1e-10."""
    return top_hessian_eigs(operator, k, tol=1e-10, v0=np.ones(operator.shape[0]),
                            vectors=False).values


@dataclass(frozen=True)
class _Plan:
    """One (table, seed) unit of :func:`run_table`: the table's budgets and attacks, and the
    seeds of this repetition.

    Attributes:
        number, spec: the table and its spec (:func:`table_spec`).
        eps_list, eps: its budgets, as a list and as a tensor of the data's dtype.
        train_attack, eval_attack: the training perturbation and the evaluation attacks.
        select_attack: what early stopping measures (the exact worst case for adversarial
            tables when ``select_on == "exact"``, else the evaluation attacks).
        train: the training settings with this repetition's seed.
        seed: the repetition's seed. base: the seed of this repetition's other streams
            (evaluation attacks, Hessian perturbations, landscape direction and attack).
    """

    number: int
    spec: TableSpec
    eps_list: list[float]
    eps: torch.Tensor
    train_attack: AttackSpec
    eval_attack: tuple[AttackSpec, ...]
    select_attack: AttackSpec | tuple[AttackSpec, ...]
    train: TrainConfig
    seed: int
    base: int


def _plan(number: int, config: MNIST2Config, dtype: torch.dtype, seed: int | None) -> _Plan:
    """The :class:`_Plan` of table ``number`` for repetition ``seed`` (None: the training
    seed)."""
    spec = table_spec(config, number)
    eps_list = list(spec.rows)
    train_attack, eval_attack = _attacks(config, spec.norm, spec.training)
    seed = config.train.seed if seed is None else seed
    select_attack = (AttackSpec("exact", spec.norm)
                     if spec.training == "adversarial" and config.select_on == "exact"
                     else eval_attack)
    return _Plan(number=number, spec=spec, eps_list=eps_list,
                 eps=torch.tensor(eps_list, dtype=dtype), train_attack=train_attack,
                 eval_attack=eval_attack, select_attack=select_attack,
                 train=dataclasses.replace(config.train, seed=seed), seed=seed,
                 base=config.seed + 1000 * (seed - config.train.seed))


def _train(plan: _Plan, data: tuple[torch.Tensor, ...],
           progress: Callable[[str], None] | None, fused_pgd: bool = False) -> TrainResult:
    """Phase 1: train every budget's model in one batched call, early-stopped on the test set
    under ``plan.select_attack``."""
    Xtr, ytr, Xte, yte = data
    train = plan.train
    return train_models(
        Xtr, ytr, plan.eps, plan.train_attack, train,
        select=lambda W: torch.tensor(_eval(W, Xte, yte, plan.eps, plan.select_attack,
                                            plan.base + 11, train.common_noise, fused_pgd),
                                      dtype=W.dtype),
        progress=(lambda e: progress(f"table {plan.number}, seed {plan.seed}: epoch "
                                     f"{e}/{train.epochs}")) if progress else None,
        fused_pgd=fused_pgd,
    )


def _evaluate(plan: _Plan, config: MNIST2Config, data: tuple[torch.Tensor, ...],
              result: TrainResult) -> dict[str, list[float | None]]:
    """Phase 2: the accuracies (%) of the selected weights (indices ``0..K-1``) and of the last
    ones (``K..2K-1``; evaluated only where they differ from the selected): the table's train
    and test accuracies, clean, robust (the evaluation PGD) and exact (BOX-MAX) ones."""
    Xtr, ytr, Xte, yte = data
    spec, eps, base = plan.spec, plan.eps, plan.base
    K = len(plan.eps_list)
    differ = [k for k in range(K) if result.best_epoch[k] != config.train.epochs]
    both = torch.cat([result.best, result.last[differ]])
    eps2 = torch.cat([eps, eps[differ]])
    slot = list(range(K)) + [K + differ.index(k) if k in differ else k for k in range(K)]

    def evaluate(X: torch.Tensor, y: torch.Tensor, attack: AttackSpec | tuple[AttackSpec, ...],
                 seed: int) -> list[float]:
        acc = _eval(both, X, y, eps2, attack, seed, config.train.common_noise,
                    config.fused_pgd)
        return [acc[i] for i in slot]

    exact = AttackSpec("exact", spec.norm)  # BOX-MAX: the worst case in the ball and the box
    acc: dict[str, list[float | None]] = {
        "test_acc": evaluate(Xte, yte, plan.eval_attack, base + 11),
        "train_acc": evaluate(Xtr, ytr, plan.eval_attack, base + 12),
        "clean_test": evaluate(Xte, yte, AttackSpec("clean"), 0),
        "clean_train": evaluate(Xtr, ytr, AttackSpec("clean"), 0),
        "exact_test": evaluate(Xte, yte, exact, 0),
    }
    acc["exact_train"] = (evaluate(Xtr, ytr, exact, 0) if spec.training == "adversarial"
                          else [None] * len(slot))
    if spec.training == "adversarial":
        acc["robust_test"], acc["robust_train"] = acc["test_acc"], acc["train_acc"]
    else:  # how robust are the noise-trained models to the same PGD? (test set; not in the paper)
        acc["robust_test"] = evaluate(Xte, yte, _eval_pgd(config, spec.norm), base + 11)
        acc["robust_train"] = [None] * len(slot)
    return acc


def _rows(plan: _Plan, result: TrainResult,
          acc: dict[str, list[float | None]]) -> list[dict[str, Any]]:
    """The table's rows: per budget the accuracies of :func:`_evaluate` at the selected and the
    last epoch, the paper's row and the differences."""
    spec = plan.spec
    K = len(plan.eps_list)
    train_acc, test_acc = acc["train_acc"], acc["test_acc"]
    rows = []
    for k, e in enumerate(plan.eps_list):
        paper = spec.rows[e]  # None: the paper prints no such table (CIFAR2)
        tr, te = train_acc[k], test_acc[k]
        rows.append({
            "eps": e, "label": eps_label(e, spec.norm),
            "train_acc": tr, "test_acc": te, "gap": abs(tr - te),
            "best_epoch": result.best_epoch[k],
            "last": {"train_acc": train_acc[K + k], "test_acc": test_acc[K + k],
                     "gap": abs(train_acc[K + k] - test_acc[K + k])},
            "clean_train": acc["clean_train"][k], "clean_test": acc["clean_test"][k],
            "robust_train": acc["robust_train"][k], "robust_test": acc["robust_test"][k],
            "exact_train": acc["exact_train"][k], "exact_test": acc["exact_test"][k],
            "attack_gap_test": acc["robust_test"][k] - acc["exact_test"][k],
            "train_loss_last": result.history["loss"][-1][k],
            "paper": None if paper is None else {
                "train_acc": paper.train, "test_acc": paper.test, "gap": paper.gap},
            "diff": None if paper is None else {
                "train_acc": tr - paper.train, "test_acc": te - paper.test,
                "gap": abs(tr - te) - paper.gap},
        })
    return rows


def _hessian(plan: _Plan, config: MNIST2Config, Xtr: torch.Tensor, ytr: torch.Tensor,
             W: torch.Tensor) -> list[dict[str, Any]]:
    """Phase 3: per budget the top eigenvalues (raw and ||w||^2 normalised) of the Hessian with
    the training perturbation held fixed and, for adversarial tables, of the exact robust
    Hessian, at the weights ``W``; the norms of ``W`` and the share of training points with
    robust margin >= m*."""
    spec, eps_list = plan.spec, plan.eps_list
    gen = torch.Generator().manual_seed(plan.base + 21)
    wd = config.train.weight_decay
    eig_fixed, eig_rob = [], []
    for k, e in enumerate(eps_list):
        fixed_inputs = torch.cat([
            _perturb(W[k:k + 1], Xtr[i:i + 4096], ytr[i:i + 4096], e, plan.train_attack, gen,
                     fused=config.fused_pgd)[0]
            for i in range(0, Xtr.shape[0], 4096)
        ])
        eig_fixed.append(_top_eigs(fixed_noise_operator(W[k], fixed_inputs, ytr, wd),
                                   config.eigs))
        if spec.training == "adversarial":
            eig_rob.append(_top_eigs(robust_operator(W[k], Xtr, ytr, e, spec.norm, wd),
                                     config.eigs))
    # Y-T1 (a)'s condition: the share of training points whose robust margin (no box) at the
    # trained weights is at least m*, where the per-point lambda_1 provably rises with eps
    m_star = float(margin_threshold())
    above = (robust_margin(W, Xtr, ytr, plan.eps, spec.norm, bias=True) >= m_star).to(W.dtype)
    hess = []
    for k, e in enumerate(eps_list):
        entry = {"eps": e, "label": eps_label(e, spec.norm), "w_norm": float(W[k].norm()),
                 "share_above_m_star": float(above[k].mean()),
                 "w_feature_norm": float(W[k, :-1].norm()),
                 "top_fixed": eig_fixed[k].tolist(),
                 "normalized_fixed": normalized_sharpness(W[k:k + 1], eig_fixed[k][None])[0]
                 .tolist()}
        if eig_rob:
            entry["top_robust"] = eig_rob[k].tolist()
            entry["normalized_robust"] = normalized_sharpness(W[k:k + 1], eig_rob[k][None])[0] \
                .tolist()
        hess.append(entry)
    return hess


def _landscape(plan: _Plan, config: MNIST2Config, Xtr: torch.Tensor, ytr: torch.Tensor,
               W: torch.Tensor) -> dict[str, Any]:
    """Phase 4: per budget the training loss along one filter-normalised random direction
    through the weights ``W``, on a fixed random subset of the training set (figure 2)."""
    rng = np.random.default_rng(config.seed + 31)
    idx = torch.from_numpy(np.sort(rng.permutation(Xtr.shape[0])[:config.landscape_n]))
    Xl, yl = Xtr[idx], ytr[idx]
    alphas = torch.linspace(-1.0, 1.0, config.landscape_points, dtype=Xtr.dtype)
    curves = {}
    for k, e in enumerate(plan.eps_list):
        direction = filter_normalized_direction(W[k], torch.Generator().manual_seed(plan.base))
        curve = landscape_1d(W[k], direction, Xl, yl, e, plan.train_attack, alphas,
                             seed=plan.base + 41, fused=config.fused_pgd)
        curves[eps_label(e, plan.spec.norm)] = curve.tolist()
    return {"alphas": alphas.tolist(), "n_points": int(Xl.shape[0]), "curves": curves}


def _timed(seconds: dict[str, float], phase: str, work: Callable[[], _T]) -> _T:
    """``work()``, its wall-clock seconds recorded as ``seconds[phase]``."""
    start = time.perf_counter()
    out = work()
    seconds[phase] = time.perf_counter() - start
    return out


def run_table(
    number: int, config: MNIST2Config, data: tuple[torch.Tensor, ...],
    progress: Callable[[str], None] | None = None, seed: int | None = None,
) -> dict[str, Any]:
    """Train and evaluate every model of one table; Hessian eigenvalues and landscapes.

    ``seed`` (default ``config.train.seed``) seeds what varies between repetitions: the initial
    weights, the data order, the PGD starts and noise of training and evaluation, the landscape
    direction. The data subsets and the landscape's points stay those of ``config.seed``.

    Returns:
        ``{"rows": [...], "hessian": [...], "landscape": {...}, "seconds": {...}}``: per eps the
        table's accuracies at the selected (early-stopped) and last epochs, clean and robust
        accuracies, the paper's row and the differences; top eigenvalues (raw and ||w||^2
        normalised) of both Hessians; the landscape curves.
    """
    Xtr, ytr = data[0], data[1]
    # the test set checked once here (the training set at train_models' entry): the phases
    # call the unchecked attacks
    check_data(data[2], data[3], name="X (test inputs)", labels="pm1", ndim=2)
    plan = _plan(number, config, Xtr.dtype, seed)
    seconds: dict[str, float] = {}
    result = _timed(seconds, "train", lambda: _train(plan, data, progress,
                                                         config.fused_pgd))
    acc = _timed(seconds, "evaluate", lambda: _evaluate(plan, config, data, result))
    rows = _rows(plan, result, acc)
    hess = _timed(seconds, "hessian", lambda: _hessian(plan, config, Xtr, ytr, result.best))
    landscape = _timed(seconds, "landscape",
                       lambda: _landscape(plan, config, Xtr, ytr, result.best))
    if progress:
        progress(f"table {number}: done")
    select = plan.select_attack
    return {
        "number": number, "dataset": config.dataset, "norm": plan.spec.norm,
        "training": plan.spec.training, "seed": plan.seed,
        "train_attack": dataclasses.asdict(plan.train_attack),
        "eval_attack": [dataclasses.asdict(a) for a in plan.eval_attack],
        "select_attack": [dataclasses.asdict(a) for a in
                          ((select,) if isinstance(select, AttackSpec) else select)],
        "rows": rows, "hessian": hess, "landscape": landscape,
        "history": result.history, "seconds": seconds,
    }


def run_mnist2(config: MNIST2Config, units: Units | None = None) -> dict[str, Any]:
    """Reproduce the requested tables (and the data of figures 2-3) of Yamada et al., once per
    seed of :func:`repetitions`, and summarise each table over the seeds (:func:`aggregate`).

    Args:
        config: :class:`MNIST2Config`.
        units: runs each (table, seed) unit ``"<table>@<seed>"``, checkpointing and resuming it
            (:func:`numerics.experiments.protocol.execute` builds it; default: none kept). The
            data are loaded only when some unit is computed.

    Returns:
        ``{"seeds": [...], "tables": {"1": {...}, ...}, "seconds": total}``: each table the
        mean over seeds in :func:`run_table`'s layout plus its spread and the runs.
    """
    seeds = repetitions(config)
    keys = [(t, s) for t in config.tables for s in seeds]
    units = units if units is not None else Units("mnist2", config, len(keys))
    threads = torch.get_num_threads()
    if config.threads is not None:
        torch.set_num_threads(config.threads)
    start = time.perf_counter()
    data: list[tuple[torch.Tensor, ...]] = []

    def table(number: int, seed: int) -> dict[str, Any]:
        if not data:
            data.append(load_data(config))
        return run_table(number, config, data[0], seed=seed)

    try:
        runs = {f"{t}@{s}": units(f"{t}@{s}", lambda t=t, s=s: table(t, s)) for t, s in keys}
    finally:
        torch.set_num_threads(threads)
    tables = {str(t): aggregate([runs[f"{t}@{s}"] for s in seeds]) for t in sorted(config.tables)}
    return {"dataset": config.dataset, "data": DATA_SPLITS[config.dataset],
            "seeds": list(seeds), "tables": tables, "seconds": time.perf_counter() - start}


_ROW_FIELDS = ("train_acc", "test_acc", "gap", "clean_train", "clean_test", "robust_train",
               "robust_test", "exact_train", "exact_test", "attack_gap_test", "train_loss_last",
               "best_epoch")


def aggregate(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """One table over its seeds: :func:`run_table`'s layout with every number the mean over the
    runs (the gap the mean of the per-seed gaps), plus ``stats`` per row (mean, sd, 95%
    interval of each number, and whether the paper's value lies inside), the landscape's
    pointwise sd, ``seeds`` and the runs themselves (``per_seed``)."""
    first = runs[0]
    rows = []
    for k, row in enumerate(first["rows"]):
        per = [r["rows"][k] for r in runs]
        stats = {f: seeds_mod.interval([p[f] for p in per]) for f in _ROW_FIELDS
                 if row.get(f) is not None}
        last = {f: seeds_mod.interval([p["last"][f] for p in per]) for f in row["last"]}
        out = dict(row, **{f: st["mean"] for f, st in stats.items()})
        out["last"] = {f: st["mean"] for f, st in last.items()}
        paper = row["paper"]
        out["stats"] = stats
        out["stats_last"] = last
        if paper is not None:
            out["diff"] = {"train_acc": out["train_acc"] - paper["train_acc"],
                           "test_acc": out["test_acc"] - paper["test_acc"],
                           "gap": out["gap"] - paper["gap"]}
            out["paper_inside"] = {f: seeds_mod.inside(paper[f], stats[f], PRINTED_RESOLUTION)
                                   for f in ("train_acc", "test_acc", "gap")}
        rows.append(out)
    hessian = []
    for k, h in enumerate(first["hessian"]):
        per = [r["hessian"][k] for r in runs]
        out = dict(h)
        stats = {}
        for f in ("top_fixed", "normalized_fixed", "top_robust", "normalized_robust"):
            if f in h:
                out[f] = np.mean([p[f] for p in per], axis=0).tolist()
                stats[f] = seeds_mod.interval([p[f][0] for p in per])
        for f in ("w_norm", "w_feature_norm", "share_above_m_star"):
            if f in h:
                stats[f] = seeds_mod.interval([p[f] for p in per])
                out[f] = stats[f]["mean"]
        out["stats"] = stats
        hessian.append(out)
    curves, sd = {}, {}
    for label in first["landscape"]["curves"]:
        curves[label], sd[label] = seeds_mod.mean_curve(
            [r["landscape"]["curves"][label] for r in runs])
    landscape = dict(first["landscape"], curves=curves, sd=sd)
    seconds = {k: sum(r["seconds"][k] for r in runs) for k in first["seconds"]}
    return {**{k: v for k, v in first.items() if k not in ("history", "seed", "per_seed")},
            "rows": rows, "hessian": hessian, "landscape": landscape, "seconds": seconds,
            "seeds": [r["seed"] for r in runs], "per_seed": runs}


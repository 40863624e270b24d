"""MNIST2 logistic regression: Yamada et al.'s tables 1-4 and figures 2-3, and evidence Y-T1/Y-T2.

The same experiment runs on CIFAR2 (frog vs ship, the paper's appendix C; ``dataset="cifar2"``,
``results/cifar2/``): the same trainer, attacks, Hessians and landscapes on a budget grid suited
to CIFAR (:data:`numerics.experiments.paper_values.CIFAR2_TABLES`; the paper prints no CIFAR2
table), dense pixels and d = 3,072, far from separable by a linear model.

:func:`run_mnist2` trains every model of the requested tables (all budgets of one table in one
batched call), evaluates them as the paper's tables report them, computes the exact Hessians at the
trained weights with their top eigenvalues (figure 3) and the filter-normalised 1-D landscapes
(figure 2), and returns a plain results dict. :func:`write_mnist2` writes it with provenance;
:func:`render_tables` and :func:`save_figures` present it; :func:`evidence_y_t1` and
:func:`evidence_y_t2` read the committed ``results/mnist2/mnist2.json`` for the claims ledger.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from numerics.attacks import AttackSpec
from numerics.experiments import seeds as seeds_mod
from numerics.experiments.paper_values import (
    PRINTED_RESOLUTION,
    TABLES_BY_DATASET,
    TableSpec,
    eps_label,
)
from numerics.linear.attack import attacked_margins, perturb
from numerics.linear.curvature import fixed_noise_operator, normalized_sharpness, robust_operator
from numerics.linear.landscape import filter_normalized_direction, landscape_1d
from numerics.linear.train import TrainConfig, train_models
from numerics.ops import robust_margin
from numerics.profiles import current_profile
from numerics.results import REPO_ROOT, atomic_write_bytes, read_result, write_result
from numerics.spectra import top_hessian_eigs
from numerics.stats import increasing, spearman
from numerics.validate import check_iterate_dtype
from theory.claims import Evidence
from theory.errors import ConfigError
from theory.theorem1 import margin_threshold

RESULT_DIR = REPO_ROOT / "results" / "mnist2"
RESULT_FILE = RESULT_DIR / "mnist2.json"
CIFAR2_RESULT_FILE = REPO_ROOT / "results" / "cifar2" / "mnist2.json"
RESULT_FILES = {"mnist2": RESULT_FILE, "cifar2": CIFAR2_RESULT_FILE}
DATASETS = tuple(TABLES_BY_DATASET)

#: Which images each data set's train and test splits hold (recorded in every results file).
DATA_SPLITS = {
    "mnist2": "train: the 12,665 MNIST training images of digits 0 and 1; test: the 2,115 "
              "official MNIST test images of digits 0 and 1",
    "cifar2": "train: the frog and ship images (8,017) of CIFAR-10 training parts 1-4; test: "
              "the frog and ship images of training part 5 (1,983, held out) and of the 1,000 "
              "official test images available here (218), 2,201 in all",
}

INTERPRETATION = (
    "Tables 1 and 3 (adversarial training): 'train acc' and 'test acc' are robust accuracies under "
    "the evaluation PGD (the paper: 'the test robust accuracy is larger than the training "
    "accuracy because of early stopping in the test robust accuracy'); tables 2 and 4 (random "
    "noise): clean accuracies (their rows equal the eps = 0 row, which only clean accuracy "
    "explains). The model of each row is selected by early stopping on the test robust accuracy "
    "(the epoch with the highest value, the latest on ties), as the paper did, measured exactly "
    "(BOX-MAX) unless select_on = 'pgd'; the last epoch is reported too. gap = |train - test|."
)

CONVENTIONS = (
    "The paper's PGD steps, step sizes and epochs were lost from its text; we follow Madry et al. "
    "(robustness library) in training: step size 2.5 eps / K for K steps, random start uniform "
    "in the ball, projection onto the ball then the [0, 1] box. Evaluation takes more steps, "
    "each projecting exactly onto the ball intersected with the box (BOX-PROJ), from no random "
    "start (eval_starts; several starts: robust only if it survives all); the exact robust "
    "accuracy (BOX-MAX, the true worst case in the ball and the box) is reported beside it, "
    "and the attack gap (PGD minus exact).",
    "L-inf PGD with K alpha = 2.5 eps >= 2 eps reaches the box-constrained maximiser "
    "clip(x - eps y sign(w), 0, 1) from any start; it is computed in that closed form (tested "
    "against the generic PGD).",
    "Linear model with a bias (a constant 1 appended to x, never perturbed); weights start at "
    "N(0, init_scale^2), the same draw for every budget; Adam on minibatches, no weight decay "
    "unless stated.",
    "Hessians: 'fixed' = Y-HESS with the training perturbation at the trained weights held fixed "
    "(PGD examples, or one noise draw), as the paper's Eq. 9; 'robust' = HESS-DEP, the exact "
    "robust loss without box (attack depending on w). Both on the whole training set.",
    "L2 PGD iterates in float32 (attack_dtype; about 3x faster on the CPU), its start drawn and "
    "its last iterate projected onto the ball and the box in float64; losses, gradients, "
    "Hessians and accuracies are float64. benchmarks/mnist2_sweep.py checks the tables against a "
    "float64 autograd reference.",
    "Landscapes: one Gaussian direction per model (same seed), rescaled to ||d|| = ||w||; the loss "
    "is the training loss: adversarial (re-attacked at each point) or on one fixed noise draw, on "
    "a fixed random subset of the training set.",
)


@dataclass(frozen=True)
class MNIST2Config:
    """Everything that defines an MNIST2 run (recorded in the results file).

    Attributes:
        profile: ``ci`` or ``full`` (the scale; the code path is the same).
        dataset: ``"mnist2"`` (Yamada et al.'s tables) or ``"cifar2"`` (the same tables on
            CIFAR2, frog vs ship, on :data:`numerics.experiments.paper_values.CIFAR2_TABLES`'s
            budgets; :data:`DATA_SPLITS` says which images train and test).
        tables: which of Yamada et al.'s tables 1-4 to reproduce.
        n_train, n_test: sizes of seeded random subsets (``None``: the whole split).
        train: optimisation settings (:class:`numerics.linear.train.TrainConfig`).
        train_steps, eval_steps: PGD steps at training and at evaluation.
        step_factor: PGD step = step_factor * eps / steps (Madry et al.: 2.5).
        train_start, train_projection: the training PGD's start and projection (Madry et al.:
            uniform in the ball, ball then box).
        eval_starts, eval_projection: the evaluation PGD, one run per start, the strongest per
            example (default: no random start, each step the exact projection onto ball cap
            box: for a linear model the ascent direction is the same at every step and the
            start does not matter, ``benchmarks/attack_strength.py``).
        select_on: the early-stopping criterion of the adversarial tables: ``"exact"`` (the
            exact robust test accuracy, BOX-MAX, the quantity robust early stopping aims at,
            and one sort per model instead of a PGD run per epoch) or ``"pgd"`` (the
            evaluation PGD, as the paper did).
        eval_method: ``"pgd"`` (the tables' robust accuracies under the evaluation PGD, the
            paper's measure) or ``"exact"`` (under the exact worst case, BOX-MAX: for this
            linear model PGD-20 with the exact projection reaches it, an attack gap of 0.00 in
            every cell of the committed run, at a fraction of the cost; the sensitivity study
            uses it).
        attack_dtype: dtype of the PGD iterations (``AttackSpec.iterate_dtype``; ``None``: the
            data's float64).
        landscape_points: points of the grid a in [-1, 1]. landscape_n: training points used.
        eigs: how many top Hessian eigenvalues to keep (figure 3: 3).
        threads: torch CPU threads during the run (``None``: leave torch's setting). Two on a
            dedicated 2-core machine (the full sweep: 78 s against 108 s with one); on a machine
            shared with other jobs one thread can be much faster.
        seed: seeds the data subsets and the landscape points, and (offset per repetition) the
            evaluation attacks and landscape directions.
        seeds: the repetitions: each seeds the initial weights, the data order and the PGD
            starts and noise (:func:`run_table`); every table cell is then the mean over them,
            with its standard deviation and 95% interval. ``None``: ``(train.seed,)``.
    """

    profile: str = "full"
    dataset: str = "mnist2"
    tables: tuple[int, ...] = (1, 2, 3, 4)
    n_train: int | None = None
    n_test: int | None = None
    train: TrainConfig = field(default_factory=lambda: TrainConfig(
        epochs=10, batch_size=128, optimizer="adam", lr=1e-2, weight_decay=0.0, seed=0))
    train_steps: int = 10
    eval_steps: int = 20
    step_factor: float = 2.5
    train_start: str = "ball"
    train_projection: str = "ball_then_box"
    eval_starts: tuple[str, ...] = ("none",)
    eval_projection: str = "exact"
    select_on: str = "exact"
    eval_method: str = "pgd"
    attack_dtype: str | None = "float32"
    landscape_points: int = 21
    landscape_n: int = 1000
    eigs: int = 3
    threads: int | None = 2
    seed: int = 0
    seeds: tuple[int, ...] | None = None
    interpretation: str = INTERPRETATION
    conventions: tuple[str, ...] = CONVENTIONS

    def __post_init__(self) -> None:
        if self.dataset not in TABLES_BY_DATASET:
            raise ConfigError(f"unknown dataset {self.dataset!r}: use one of {list(DATASETS)}")
        bad = [t for t in self.tables if t not in TABLES_BY_DATASET[self.dataset]]
        if bad or not self.tables:
            raise ConfigError(f"tables must be among 1, 2, 3, 4; got {self.tables}")
        if self.train_steps < 1 or self.eval_steps < 1:
            raise ConfigError("train_steps and eval_steps must be >= 1")
        check_iterate_dtype(self.attack_dtype, "attack_dtype")
        if not self.eval_starts:
            raise ConfigError("eval_starts must name at least one PGD start")
        if self.eval_method not in ("pgd", "exact"):
            raise ConfigError(f"eval_method must be 'pgd' or 'exact', got {self.eval_method!r}")
        if self.select_on not in ("exact", "pgd"):
            raise ConfigError(f"select_on must be 'exact' or 'pgd', got {self.select_on!r}")
        if self.seeds is not None and (not self.seeds or len(set(self.seeds)) != len(self.seeds)
                                       or any(int(x) != x or x < 0 for x in self.seeds)):
            raise ConfigError(f"seeds must be distinct integers >= 0, got {self.seeds}")
        _attacks(self, "l2", "adversarial")  # validates starts and projections
        if self.landscape_points < 3 or self.landscape_n < 1:
            raise ConfigError("landscape_points must be >= 3 and landscape_n >= 1")
        for name in ("n_train", "n_test"):
            value = getattr(self, name)
            if value is not None and value < 10:
                raise ConfigError(f"{name} must be >= 10 or None (whole split), got {value}")


def config_for(profile: str | None = None, dataset: str = "mnist2",
               **overrides: Any) -> MNIST2Config:
    """The configuration of a profile (``ci``: a small subset, same code; ``full``: the paper's
    data) for a data set (``mnist2``, or ``cifar2``: ci on 400 training and 200 test images),
    with ``overrides`` applied."""
    profile = current_profile(profile)
    if profile == "ci":
        small = {"mnist2": (2000, 600), "cifar2": (400, 200)}.get(dataset, (2000, 600))
        base = MNIST2Config(
            profile="ci", dataset=dataset, n_train=small[0], n_test=small[1],
            train=TrainConfig(epochs=3, batch_size=128, optimizer="adam", lr=1e-2, seed=0),
            train_steps=5, eval_steps=10, landscape_points=11, landscape_n=300,
        )
    else:
        base = MNIST2Config(profile=profile, dataset=dataset, seeds=(0, 1, 2, 3, 4))
    return dataclasses.replace(base, **overrides)


def table_spec(config: MNIST2Config, number: int) -> TableSpec:
    """Table ``number`` of the config's data set: norm, training and budgets (with the paper's
    rows for MNIST2; None for CIFAR2, which the paper prints no table of)."""
    return TABLES_BY_DATASET[config.dataset][number]


def repetitions(config: MNIST2Config) -> tuple[int, ...]:
    """The seeds of the repetitions (``config.seeds``, else the training seed alone)."""
    return tuple(config.seeds) if config.seeds is not None else (config.train.seed,)


def _subset(X: np.ndarray, y: np.ndarray, n: int | None, seed: int) -> tuple[torch.Tensor, ...]:
    if n is not None and n < X.shape[0]:
        idx = np.random.default_rng(seed).permutation(X.shape[0])[:n]
        idx.sort()
        X, y = X[idx], y[idx]
    return torch.from_numpy(np.ascontiguousarray(X)), torch.from_numpy(np.ascontiguousarray(y))


def load_data(config: MNIST2Config) -> tuple[torch.Tensor, ...]:
    """Train and test tensors (float64) of the config's data set (:data:`DATA_SPLITS`), subsets
    as the config says."""
    if config.dataset == "cifar2":
        import logging

        from numerics.data import load_cifar2

        train = load_cifar2("train", holdout_part=5)
        held = load_cifar2("test", holdout_part=5)
        # the 1,000 official test images are all the npz layout holds, used on purpose here
        # (DATA_SPLITS says so in every record): its warning about the partial split is moot
        quiet = logging.getLogger("numerics.data.cifar10")
        level = quiet.level
        quiet.setLevel(logging.ERROR)
        try:
            official = load_cifar2("test")
        finally:
            quiet.setLevel(level)
        Xtr, ytr = train.x, train.y
        Xte, yte = np.concatenate([held.x, official.x]), np.concatenate([held.y, official.y])
    else:
        from numerics.data import load_mnist2

        Xtr, ytr = load_mnist2("train")
        Xte, yte = load_mnist2("test")
    return (*_subset(Xtr, ytr, config.n_train, config.seed),
            *_subset(Xte, yte, config.n_test, config.seed + 1))


def _train_pgd(config: MNIST2Config, norm: str) -> AttackSpec:
    return AttackSpec("pgd", norm, config.train_steps, config.step_factor,
                      iterate_dtype=config.attack_dtype, start=config.train_start,
                      projection=config.train_projection)


def _eval_pgd(config: MNIST2Config, norm: str) -> tuple[AttackSpec, ...]:
    if config.eval_method == "exact":  # BOX-MAX: the worst case itself, no PGD
        return (AttackSpec("exact", norm),)
    return tuple(AttackSpec("pgd", norm, config.eval_steps, config.step_factor,
                            iterate_dtype=config.attack_dtype, start=start,
                            projection=config.eval_projection)
                 for start in config.eval_starts)


def _attacks(config: MNIST2Config, norm: str,
             training: str) -> tuple[AttackSpec, tuple[AttackSpec, ...]]:
    """(training perturbation, evaluation attacks of the table: robust = survives all)."""
    if training == "adversarial":
        return _train_pgd(config, norm), _eval_pgd(config, norm)
    return AttackSpec("random", norm), (AttackSpec("clean", norm),)


def _eval(W: torch.Tensor, X: torch.Tensor, y: torch.Tensor, eps: torch.Tensor,
          attacks: AttackSpec | tuple[AttackSpec, ...], seed: int,
          common_noise: bool) -> list[float]:
    """Accuracy (%) of each model when every example meets the strongest of ``attacks`` (the
    lowest margin among them, per example and model)."""
    attacks = (attacks,) if isinstance(attacks, AttackSpec) else attacks
    gen = torch.Generator().manual_seed(seed)
    z = torch.stack([attacked_margins(W, X, y, eps, a, gen, common_noise) for a in attacks])
    return (100.0 * (z.amin(dim=0) > 0).to(W.dtype).mean(dim=1)).tolist()


def _top_eigs(operator: Any, k: int) -> np.ndarray:
    """Top eigenvalues of an exact Hessian operator (p = 785): Lanczos from the all-ones vector,
    converged to 1e-10."""
    return top_hessian_eigs(operator, k, tol=1e-10, v0=np.ones(operator.shape[0]),
                            vectors=False).values


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
    spec = table_spec(config, number)
    Xtr, ytr, Xte, yte = data
    eps_list = list(spec.rows)
    eps = torch.tensor(eps_list, dtype=Xtr.dtype)
    train_attack, eval_attack = _attacks(config, spec.norm, spec.training)
    seconds: dict[str, float] = {}
    seed = config.train.seed if seed is None else seed
    train = dataclasses.replace(config.train, seed=seed)
    base = config.seed + 1000 * (seed - config.train.seed)  # this repetition's other streams

    start = time.perf_counter()
    select_attack = (AttackSpec("exact", spec.norm)
                     if spec.training == "adversarial" and config.select_on == "exact"
                     else eval_attack)
    result = train_models(
        Xtr, ytr, eps, train_attack, train,
        select=lambda W: torch.tensor(_eval(W, Xte, yte, eps, select_attack, base + 11,
                                            train.common_noise), dtype=W.dtype),
        progress=(lambda e: progress(f"table {number}, seed {seed}: epoch "
                                     f"{e}/{train.epochs}")) if progress else None,
    )
    seconds["train"] = time.perf_counter() - start

    start = time.perf_counter()
    # evaluate the selected weights, and the last ones where they differ (the same otherwise)
    K = len(eps_list)
    differ = [k for k in range(K) if result.best_epoch[k] != config.train.epochs]
    both = torch.cat([result.best, result.last[differ]])
    eps2 = torch.cat([eps, eps[differ]])
    slot = list(range(K)) + [K + differ.index(k) if k in differ else k for k in range(K)]

    def evaluate(X: torch.Tensor, y: torch.Tensor, attack: AttackSpec | tuple[AttackSpec, ...],
                 seed: int) -> list[float]:
        acc = _eval(both, X, y, eps2, attack, seed, config.train.common_noise)
        return [acc[i] for i in slot]

    exact = AttackSpec("exact", spec.norm)  # BOX-MAX: the worst case in the ball and the box
    test_acc = evaluate(Xte, yte, eval_attack, base + 11)
    train_acc = evaluate(Xtr, ytr, eval_attack, base + 12)
    clean_test = evaluate(Xte, yte, AttackSpec("clean"), 0)
    clean_train = evaluate(Xtr, ytr, AttackSpec("clean"), 0)
    exact_test = evaluate(Xte, yte, exact, 0)
    exact_train = evaluate(Xtr, ytr, exact, 0) if spec.training == "adversarial" \
        else [None] * len(slot)
    if spec.training == "adversarial":
        robust_test, robust_train = test_acc, train_acc
    else:  # how robust are the noise-trained models to the same PGD? (test set; not in the paper)
        robust_test = evaluate(Xte, yte, _eval_pgd(config, spec.norm), base + 11)
        robust_train = [None] * len(slot)
    seconds["evaluate"] = time.perf_counter() - start

    rows = []
    for k, e in enumerate(eps_list):
        paper = spec.rows[e]  # None: the paper prints no such table (CIFAR2)
        tr, te = train_acc[k], test_acc[k]
        rows.append({
            "eps": e, "label": eps_label(e, spec.norm),
            "train_acc": tr, "test_acc": te, "gap": abs(tr - te),
            "best_epoch": result.best_epoch[k],
            "last": {"train_acc": train_acc[K + k], "test_acc": test_acc[K + k],
                     "gap": abs(train_acc[K + k] - test_acc[K + k])},
            "clean_train": clean_train[k], "clean_test": clean_test[k],
            "robust_train": robust_train[k], "robust_test": robust_test[k],
            "exact_train": exact_train[k], "exact_test": exact_test[k],
            "attack_gap_test": robust_test[k] - exact_test[k],
            "train_loss_last": result.history["loss"][-1][k],
            "paper": None if paper is None else {
                "train_acc": paper.train, "test_acc": paper.test, "gap": paper.gap},
            "diff": None if paper is None else {
                "train_acc": tr - paper.train, "test_acc": te - paper.test,
                "gap": abs(tr - te) - paper.gap},
        })

    start = time.perf_counter()
    W = result.best
    gen = torch.Generator().manual_seed(base + 21)
    wd = config.train.weight_decay
    eig_fixed, eig_rob = [], []
    for k, e in enumerate(eps_list):
        fixed_inputs = torch.cat([
            perturb(W[k:k + 1], Xtr[i:i + 4096], ytr[i:i + 4096], e, train_attack, gen)[0]
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
    above = (robust_margin(W, Xtr, ytr, eps, spec.norm, bias=True) >= m_star).to(W.dtype)
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
    seconds["hessian"] = time.perf_counter() - start

    start = time.perf_counter()
    rng = np.random.default_rng(config.seed + 31)
    idx = torch.from_numpy(np.sort(rng.permutation(Xtr.shape[0])[:config.landscape_n]))
    Xl, yl = Xtr[idx], ytr[idx]
    alphas = torch.linspace(-1.0, 1.0, config.landscape_points, dtype=Xtr.dtype)
    curves = {}
    for k, e in enumerate(eps_list):
        direction = filter_normalized_direction(W[k], torch.Generator().manual_seed(base))
        curve = landscape_1d(W[k], direction, Xl, yl, e, train_attack, alphas, seed=base + 41)
        curves[eps_label(e, spec.norm)] = curve.tolist()
    seconds["landscape"] = time.perf_counter() - start
    if progress:
        progress(f"table {number}: done")
    return {
        "number": number, "dataset": config.dataset, "norm": spec.norm,
        "training": spec.training, "seed": seed,
        "train_attack": dataclasses.asdict(train_attack),
        "eval_attack": [dataclasses.asdict(a) for a in eval_attack],
        "select_attack": [dataclasses.asdict(a) for a in
                          ((select_attack,) if isinstance(select_attack, AttackSpec)
                           else select_attack)],
        "rows": rows, "hessian": hess,
        "landscape": {"alphas": alphas.tolist(), "n_points": int(Xl.shape[0]), "curves": curves},
        "history": result.history, "seconds": seconds,
    }


def run_mnist2(
    config: MNIST2Config, progress: bool = False,
    on_table: Callable[[str, dict[str, Any]], None] | None = None,
    done: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Reproduce the requested tables (and the data of figures 2-3) of Yamada et al., once per
    seed of :func:`repetitions`, and summarise each table over the seeds (:func:`aggregate`).

    Args:
        config: :class:`MNIST2Config`. progress: show a tqdm bar.
        on_table: called with ``"<table>@<seed>"`` and the run after each (table, seed) unit
            (e.g. to checkpoint). done: units already computed (same keys, from a checkpoint),
            which are not recomputed.

    Returns:
        ``{"seeds": [...], "tables": {"1": {...}, ...}, "seconds": total}``: each table the
        mean over seeds in :func:`run_table`'s layout plus its spread and the runs.
    """
    from tqdm import tqdm

    threads = torch.get_num_threads()
    if config.threads is not None:
        torch.set_num_threads(config.threads)
    start = time.perf_counter()
    seeds = repetitions(config)
    runs: dict[str, Any] = dict(done or {})
    try:
        data = load_data(config)
        todo = [(t, s) for t in config.tables for s in seeds if f"{t}@{s}" not in runs]
        total = len(todo) * config.train.epochs
        with tqdm(total=total, desc="mnist2", disable=not progress, leave=False) as bar:
            for number, seed in todo:
                def tick(msg: str, bar: Any = bar) -> None:
                    bar.set_postfix_str(msg)
                    if "epoch" in msg:
                        bar.update(1)

                key = f"{number}@{seed}"
                runs[key] = run_table(number, config, data, tick, seed=seed)
                if on_table is not None:
                    on_table(key, runs[key])
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


def write_mnist2(path: str | Path, config: MNIST2Config, results: dict[str, Any],
                 overwrite: bool = False, **provenance_extra: Any) -> list[Path]:
    """Write the results record (JSON, with provenance plus ``provenance_extra``) and a CSV of
    every table row."""
    path = Path(path)
    out = [write_result(path, config, results, seed=config.train.seed, device="cpu",
                        overwrite=overwrite, threads=config.threads, **provenance_extra)]
    lines = ["table,norm,training,eps,label,seeds,train_acc,train_acc_sd,test_acc,test_acc_sd,"
             "gap,best_epoch,last_train_acc,last_test_acc,clean_train,clean_test,robust_train,"
             "robust_test,exact_train,exact_test,attack_gap_test,paper_train,paper_test,"
             "paper_gap,top_fixed_1,top_fixed_1_sd,top_robust_1,normalized_fixed_1"]
    for key, table in results["tables"].items():
        for row, h in zip(table["rows"], table["hessian"], strict=True):
            st, hs = row.get("stats", {}), h.get("stats", {})
            paper = row["paper"] or {"train_acc": None, "test_acc": None, "gap": None}
            sd = [st[f]["sd"] if f in st else None for f in ("train_acc", "test_acc")]
            vals = [key, table["norm"], table["training"], row["eps"], row["label"],
                    len(table.get("seeds", [0])), row["train_acc"], sd[0], row["test_acc"],
                    sd[1], row["gap"], row["best_epoch"],
                    row["last"]["train_acc"], row["last"]["test_acc"], row["clean_train"],
                    row["clean_test"], row["robust_train"], row["robust_test"],
                    row.get("exact_train"), row.get("exact_test"), row.get("attack_gap_test"),
                    paper["train_acc"], paper["test_acc"], paper["gap"],
                    h["top_fixed"][0], hs.get("top_fixed", {}).get("sd"),
                    h.get("top_robust", [""])[0], h["normalized_fixed"][0],
                    h.get("share_above_m_star")]
            lines.append(",".join("" if v is None else f"{v:.6g}" if isinstance(v, float)
                                  else str(v) for v in vals))
    out.append(atomic_write_bytes(path.with_suffix(".csv"), ("\n".join(lines) + "\n").encode(),
                                  overwrite=overwrite))
    return out


def _cell(r: dict[str, Any], stats: dict[str, Any], field: str, many: bool) -> str:
    """One number of a table: mean +- sd over seeds, or the value of the one seed."""
    if many and field in stats:
        return f"{stats[field]['mean']:.2f} +- {stats[field]['sd']:.2f}"
    return f"{r[field]:.2f}"


def render_tables(results: dict[str, Any], last: bool = False) -> str:
    """Tables 1-4 in the paper's layout (eps, train acc, test acc, gap), beside the paper's values
    and the differences (ours - paper), as markdown. ``last``: the last epoch, not the selected.

    Over several seeds each number is mean +- sd, and "in CI" says whether the paper's train /
    test accuracy (as printed, to 0.01) lies in the 95% interval of the mean; adversarial
    tables add the exact robust test accuracy (BOX-MAX) and the attack gap (PGD minus exact).
    Tables the paper does not print (CIFAR2) have no paper columns; their data set is named in
    the title.
    """
    names = {1: "L2 adversarial (PGD)", 2: "L2 random noise", 3: "L-inf adversarial (PGD)",
             4: "L-inf random noise"}
    parts = []
    for key, table in results["tables"].items():
        n = int(key)
        which = "last epoch" if last else "early-stopped"
        seeds = table.get("seeds", [])
        many = len(seeds) > 1
        adversarial = table["training"] == "adversarial"
        printed = table["rows"][0]["paper"] is not None
        dataset = table.get("dataset", "mnist2")
        parts.append(f"Table {n}{'' if dataset == 'mnist2' else f' ({dataset.upper()})'}: "
                     f"{names[n]} ({which}"
                     + (f", mean +- sd over {len(seeds)} seeds" if many else "") + ")\n")
        head = "| eps | train acc | test acc | gap |"
        if printed:
            head += " paper train | paper test | paper gap | d train | d test | d gap |"
        if many and printed:
            head += " paper in CI (train, test) |"
        if adversarial and not last:
            head += " exact test | PGD - exact |"
        parts.append(head)
        parts.append("|" + "|".join("---" for _ in range(head.count("|") - 1)) + "|")
        for row in table["rows"]:
            r = row["last"] if last else row
            stats = row.get("stats_last" if last else "stats", {})
            p = row["paper"]

            def cell(field: str, r: dict = r, stats: dict = stats, many: bool = many) -> str:
                return _cell(r, stats, field, many)

            gap = r["gap"] if "gap" in r else abs(r["train_acc"] - r["test_acc"])
            line = f"| {row['label']} | {cell('train_acc')} | {cell('test_acc')} | {cell('gap')} |"
            if printed:
                line += (f" {p['train_acc']:.2f} | {p['test_acc']:.2f} | {p['gap']:.2f} "
                         f"| {r['train_acc'] - p['train_acc']:+.2f} "
                         f"| {r['test_acc'] - p['test_acc']:+.2f} | {gap - p['gap']:+.2f} |")
            if many and printed:
                if last:
                    inside = {f: seeds_mod.inside(p[f], stats[f], PRINTED_RESOLUTION)
                              for f in ("train_acc", "test_acc")}
                else:
                    inside = row["paper_inside"]
                line += " " + ", ".join("yes" if inside[f] else "no"
                                        for f in ("train_acc", "test_acc")) + " |"
            if adversarial and not last:
                line += f" {cell('exact_test', row, row.get('stats', {}))} | " \
                        f"{row['attack_gap_test']:+.2f} |"
            parts.append(line)
        parts.append("")
    return "\n".join(parts)


def save_figures(results: dict[str, Any], out_dir: str | Path,
                 overwrite: bool = False) -> list[Path]:
    """Figure 2 (landscapes) and figure 3 (top Hessian eigenvalues), PNG and SVG, matplotlib Agg.

    Returns:
        the written paths.
    """
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tables = results["tables"]
    out_dir = Path(out_dir)
    written = []
    dataset = next(iter(tables.values())).get("dataset", "mnist2")
    fig_name = {2: "Fig. 2", 3: "Fig. 3"} if dataset == "mnist2" else {
        2: f"{dataset.upper()} (as fig. 2)", 3: f"{dataset.upper()} (as fig. 3)"}

    fig2, axes = plt.subplots(1, 2, figsize=(10, 4), squeeze=False)
    for ax, norm, (adv, rnd) in zip(axes[0], ("l2", "linf"), (("1", "2"), ("3", "4")),
                                    strict=True):
        cmap = plt.get_cmap("viridis")
        for key, style in ((adv, "-"), (rnd, "--")):
            if key not in tables:
                continue
            land = tables[key]["landscape"]
            labels = list(land["curves"])
            for i, label in enumerate(labels):
                color = cmap(i / max(1, len(labels) - 1))
                kind = "adv" if style == "-" else "random"
                mean = np.asarray(land["curves"][label])
                ax.plot(land["alphas"], mean, style, color=color, label=f"{kind} {label}")
                sd = np.asarray(land.get("sd", {}).get(label, np.zeros_like(mean)))
                if sd.any():  # a band of one sd over the seeds
                    ax.fill_between(land["alphas"], np.maximum(mean - sd, 1e-12), mean + sd,
                                    color=color, alpha=0.15, linewidth=0)
        ax.set_title(f"{fig_name[2]}: {'L2' if norm == 'l2' else 'L-inf'} (solid: adversarial, "
                     "dashed: random)", fontsize=9)
        ax.set_xlabel("a (w + a d, ||d|| = ||w||)")
        ax.set_ylabel("training loss")
        ax.set_yscale("log")
        ax.legend(fontsize=6, ncol=2)
    fig2.tight_layout()

    fig3, axes = plt.subplots(1, 2, figsize=(10, 4), squeeze=False)
    for ax, key, title in zip(axes[0], ("1", "3"), ("L2", "L-inf"), strict=True):
        if key not in tables:
            continue
        hess = tables[key]["hessian"]
        eps = [h["eps"] * (255 if key == "3" else 1) for h in hess]
        top = np.array([h["top_fixed"] for h in hess])
        for j in range(top.shape[1]):
            ax.plot(eps, top[:, j], "o-", label=f"lambda_{j + 1} (fixed PGD examples)")
        if len(tables[key].get("seeds", [])) > 1:  # lambda_1: mean +- sd over the seeds
            sd = [h["stats"]["top_fixed"]["sd"] for h in hess]
            ax.errorbar(eps, top[:, 0], yerr=sd, fmt="none", ecolor="C0", capsize=3)
        ax.plot(eps, [h["top_robust"][0] for h in hess], "k--", label="lambda_1 (exact robust)")
        if "2" in tables or "4" in tables:
            rkey = "2" if key == "1" else "4"
            if rkey in tables:
                rh = tables[rkey]["hessian"]
                ax.plot([h["eps"] * (255 if rkey == "4" else 1) for h in rh],
                        [h["top_fixed"][0] for h in rh], "s:", color="gray",
                        label="lambda_1 random noise")
        ax.set_xlabel("eps" if key == "1" else "eps x 255")
        ax.set_ylabel("eigenvalue")
        seeds = tables[key].get("seeds", [])
        ax.set_title(f"{fig_name[3]}: top Hessian eigenvalues, {title} PGD training"
                     + (f" (mean +- sd, {len(seeds)} seeds)" if len(seeds) > 1 else ""),
                     fontsize=9)
        ax.legend(fontsize=7)
    fig3.tight_layout()

    for fig, name in ((fig2, "figure2_landscapes"), (fig3, "figure3_eigenvalues")):
        for ext in ("png", "svg"):
            buf = io.BytesIO()
            fig.savefig(buf, format=ext, dpi=120, metadata={"Date": None} if ext == "svg"
                        else None)
            written.append(atomic_write_bytes(out_dir / f"{name}.{ext}", buf.getvalue(),
                                              overwrite=overwrite))
        plt.close(fig)
    return written


def trends(results: dict[str, Any]) -> dict[str, Any]:
    """The trends the paper reports, computed from a results dict (no threshold typed by hand
    except 'strictly increasing' and the sign of a comparison).

    Returns keys (present when the tables are): ``t1_top_fixed``, ``t1_normalized_fixed``,
    ``t1_top_robust`` (table 1 eigenvalues vs eps, increasing?), the same for table 3 (``t3_*``),
    ``growth`` (lambda_1(eps) / lambda_1(0) per table), ``adv_vs_random_l2`` /
    ``adv_vs_random_linf`` (adversarial growth / random growth at the largest shared eps),
    ``gap_linf_large`` (table 3 gap increasing over eps >= 25.5/255), ``random_flat``
    (max - min of test acc in tables 2 and 4, and of adversarial tables for comparison).
    """
    t = results["tables"]
    out: dict[str, Any] = {}
    for key in ("1", "3"):
        if key not in t:
            continue
        h = t[key]["hessian"]
        for field_ in ("top_fixed", "normalized_fixed", "top_robust", "normalized_robust"):
            vals = [x[field_][0] for x in h]
            out[f"t{key}_{field_}"] = {"values": vals, "increasing": increasing(vals),
                                       "spearman": spearman([x["eps"] for x in h], vals)}
    out["growth"] = {}
    for key, table in t.items():
        h = table["hessian"]
        base = h[0]["top_fixed"][0]
        out["growth"][key] = {x["label"]: x["top_fixed"][0] / base for x in h}
    for adv, rnd, name in (("1", "2", "l2"), ("3", "4", "linf")):
        if adv in t and rnd in t:
            ha = {x["label"]: x["top_fixed"][0] for x in t[adv]["hessian"]}
            hr = {x["label"]: x["top_fixed"][0] for x in t[rnd]["hessian"]}
            shared = [lab for lab in hr if lab in ha]
            top = shared[-1]
            ga, gr = ha[top] / ha[shared[0]], hr[top] / hr[shared[0]]
            out[f"adv_vs_random_{name}"] = {
                "eps": top, "adversarial_growth": ga, "random_growth": gr,
                "adversarial_sharper": bool(ga > gr),
                "per_eps": {lab: ha[lab] / hr[lab] for lab in shared},
            }
    large = [r for r in t["3"]["rows"] if r["eps"] >= 25.5 / 255 - 1e-12] if "3" in t else []
    if len(large) >= 2:
        gaps = [r["gap"] for r in large]
        out["gap_linf_large"] = {"labels": [r["label"] for r in large], "gaps": gaps,
                                 "increasing": increasing(gaps)}
    out["test_acc_range"] = {
        key: max(r["test_acc"] for r in table["rows"]) - min(r["test_acc"] for r in table["rows"])
        for key, table in t.items()}
    return out


def seed_trends(results: dict[str, Any]) -> dict[str, Any]:
    """:func:`trends` of each seed's runs and how many seeds each property holds in.

    Returns ``{"seeds", "per_seed": [trends...], "counts": {name: {"k", "n", "text"}},
    "spearman": {name: [per seed]}}`` for the eigenvalue series (strictly increasing), the
    adversarial-vs-random comparisons and the large-eps L-inf gap. A record of one seed (or of
    the layout before seeds) counts as one.
    """
    tables = results["tables"]
    seeds = results.get("seeds") or [0]
    per = []
    for i in range(len(seeds)):
        runs = {k: t["per_seed"][i] if "per_seed" in t else t for k, t in tables.items()}
        per.append(trends({"tables": runs}))
    counts, spear = {}, {}
    for name in ("t1_normalized_fixed", "t1_top_fixed", "t1_top_robust", "t3_normalized_fixed",
                 "t3_top_fixed", "t3_top_robust"):
        if name in per[0]:
            counts[name] = seeds_mod.count_true([p[name]["increasing"] for p in per])
            spear[name] = [p[name]["spearman"] for p in per]
    for name in ("adv_vs_random_l2", "adv_vs_random_linf"):
        if name in per[0]:
            counts[name] = seeds_mod.count_true([p[name]["adversarial_sharper"] for p in per])
    if "gap_linf_large" in per[0]:
        counts["gap_linf_large"] = seeds_mod.count_true(
            [p["gap_linf_large"]["increasing"] for p in per])
    return {"seeds": list(seeds), "per_seed": per, "counts": counts, "spearman": spear}


def _load_committed(path: str | Path | None) -> dict[str, Any] | None:
    path = Path(path) if path is not None else RESULT_FILE
    if not path.exists():
        return None
    return read_result(path)


def _regime(record: dict[str, Any]) -> str:
    cfg = record["config"]
    wd = cfg["train"]["weight_decay"]
    losses = [r["train_loss_last"] for t in record["results"]["tables"].values()
              for r in t["rows"]]
    seeds = record["results"].get("seeds") or [cfg["train"]["seed"]]
    return (f"{cfg.get('dataset', 'mnist2').upper()}, {cfg['profile']} profile, weight decay "
            f"{wd:g}, {cfg['train']['epochs']} epochs, "
            f"{cfg['train']['optimizer']} lr {cfg['train']['lr']:g}, {len(seeds)} seed(s), "
            f"early stopping on test accuracy; final training losses "
            f"{min(losses):.3g}..{max(losses):.3g} (not near 0 at large eps)")


WEIGHT_DECAY_FILE = RESULT_DIR / "weight_decay" / "mnist2.json"
SENSITIVITY_FILE = RESULT_DIR / "sensitivity.json"


def sensitivity_conditions(claim: str, path: str | Path | None = None) -> tuple[str, ...]:
    """The settings of the committed sensitivity study (``results/mnist2/sensitivity.json``,
    :mod:`numerics.experiments.sensitivity`) in which ``claim`` (``"y_t1"`` or ``"y_t2"``)
    holds on MNIST2 and those in which it does not, as conditions; () without the study."""
    record = _load_committed(path if path is not None else SENSITIVITY_FILE)
    if record is None:
        return ()
    split = record["results"]["judgement"][claim]
    n = len(record["results"]["seeds"])
    name = {"y_t1": "Y-T1 (b)", "y_t2": "Y-T2"}[claim]
    text = (f"sensitivity study (whole MNIST2, {n} seeds per setting): {name} holds on the data "
            f"in the settings {', '.join(split['holds_in']) or 'none'}")
    if split["fails_in"]:
        text += f", NOT in {', '.join(split['fails_in'])}"
    return (text,)


def _t1_regime(record: dict[str, Any]) -> dict[str, Any]:
    """Y-T1 trends of one run (table 1; table 3 when present), with the norms that explain them:
    the series of the means over seeds, and per seed (``seeds``)."""
    tr = trends(record["results"])
    st = seed_trends(record["results"])
    hess = record["results"]["tables"]["1"]["hessian"]
    spearman = st["spearman"]["t1_normalized_fixed"]
    out = {
        "regime": _regime(record),
        "dataset": record["config"].get("dataset", "mnist2"),
        "share_above_m_star": [h.get("share_above_m_star") for h in hess],
        "weight_decay": record["config"]["train"]["weight_decay"],
        "normalized": tr["t1_normalized_fixed"], "raw": tr["t1_top_fixed"],
        "robust": tr["t1_top_robust"], "w_norm": [h["w_norm"] for h in hess],
        "eps": [h["eps"] for h in hess],
        "seeds": {"n": len(st["seeds"]),
                  "strictly_increasing": st["counts"]["t1_normalized_fixed"],
                  "spearman": spearman, "rank_increasing_every_seed": min(spearman) > 0},
    }
    if "t3_normalized_fixed" in tr:
        out["linf_normalized"] = tr["t3_normalized_fixed"]
        out["linf_raw"] = tr["t3_top_fixed"]
    return out


def _holds(r: dict[str, Any]) -> bool:
    """Y-T1 (b) in a regime: the seed mean of ||w||^2 lambda_1 increases strictly with eps and
    its rank correlation with eps is positive in every seed."""
    return bool(r["normalized"]["increasing"] and r["seeds"]["rank_increasing_every_seed"])


def _describe(r: dict[str, Any]) -> str:
    n, raw, sd = r["normalized"], r["raw"], r["seeds"]
    mean = "the mean over seeds of " if sd["n"] > 1 else ""
    text = (f"{r.get('dataset', 'mnist2').upper()}, weight decay {r['weight_decay']:g}: "
            f"{mean}||w||^2 lambda_1 "
            f"{'increases strictly' if n['increasing'] else 'does NOT increase strictly'} with "
            f"eps ({', '.join(f'{v:.3g}' for v in n['values'])}), strictly in "
            f"{sd['strictly_increasing']['text']}, Spearman per seed "
            f"{', '.join(f'{v:.2f}' for v in sd['spearman'])}; raw lambda_1 "
            f"{'increases' if raw['increasing'] else 'does not increase'} strictly")
    if not n["increasing"]:
        drops = [i for i in range(1, len(n["values"])) if n["values"][i] <= n["values"][i - 1]]
        text += "; drops at eps " + ", ".join(
            f"{r['eps'][i - 1]:g}->{r['eps'][i]:g} (||w|| {r['w_norm'][i - 1]:.3g}->"
            f"{r['w_norm'][i]:.3g})" for i in drops)
    shares = [v for v in r.get("share_above_m_star", []) if v is not None]
    if shares:
        text += (f"; training points with robust margin >= m* (Y-T1 (a)'s condition): "
                 f"{100 * shares[0]:.0f}% at eps 0 to {100 * shares[-1]:.0f}% at the largest eps")
    if "linf_normalized" in r:
        text += (f"; L-inf: ||w||^2 lambda_1 "
                 f"{'increases' if r['linf_normalized']['increasing'] else 'does not increase'}"
                 f" strictly (Spearman {r['linf_normalized']['spearman']:.2f})")
    return text


def evidence_y_t1(path: str | Path | None = None,
                  weight_decay_path: str | Path | None = None,
                  cifar2_path: str | Path | None = None) -> Evidence:
    """Y-T1 (b), data: does the filter-normalised top Hessian eigenvalue ||w||^2 lambda_1 at the
    trained weights (the claim's measure; the Hessian with the PGD examples held fixed, the
    paper's Eq. 9) increase with the L2 adversarial eps on MNIST2 (table 1 models)? Over
    several seeds: strictly in the mean, and in rank (Spearman > 0) in every seed; the count of
    seeds with a strict increase is reported.

    The regimes are judged where their committed runs exist: MNIST2 without weight decay
    (``results/mnist2/mnist2.json``) and with it (``results/mnist2/weight_decay/``), CIFAR2
    (``results/cifar2/mnist2.json``, the same experiment on frog vs ship), and a deep net at CPU
    scale (``results/resnet/mnist_cpu.json``,
    :func:`numerics.experiments.resnet.evidence_y_t1_deep`: Section 5.2's ResNet18, raw
    lambda_1, L-inf PGD). The claim holds under
    the conditions of the regimes where the trend is strict (a data set where it does not hold
    is named in the conditions: a finding about the data, not a failure); it fails when it
    holds in none. Raw lambda_1, L-inf (table 3) and the share of training points with robust
    margin >= m* (Y-T1 (a)'s sufficient condition) are reported. ran=False without results.
    """
    record = _load_committed(path)
    if record is None or "1" not in record["results"]["tables"]:
        return Evidence("data", False, "no MNIST2 results with table 1: run `advlandscape mnist2 "
                        "--profile full --out results/mnist2`", ran=False)
    regimes = [_t1_regime(record)]
    wd_path = Path(weight_decay_path) if weight_decay_path is not None else (
        WEIGHT_DECAY_FILE if path is None else None)
    wd_record = _load_committed(wd_path) if wd_path is not None and wd_path.exists() else None
    if wd_record is not None and "1" in wd_record["results"]["tables"]:
        regimes.append(_t1_regime(wd_record))
    c2_path = Path(cifar2_path) if cifar2_path is not None else (
        CIFAR2_RESULT_FILE if path is None else None)
    c2_record = _load_committed(c2_path) if c2_path is not None and c2_path.exists() else None
    if c2_record is not None and "1" in c2_record["results"]["tables"]:
        regimes.append(_t1_regime(c2_record))
    deep = None
    if path is None:
        from numerics.experiments.resnet import evidence_y_t1_deep

        deep = evidence_y_t1_deep()
        deep = deep if deep.ran else None
    holding = [r for r in regimes if _holds(r)]
    passed = bool(holding) or bool(deep is not None and deep.passed)
    conditions = tuple(
        [f"holds in the regime: {r['regime']}" for r in holding]
        + [f"does not hold without that condition: {_describe(r)}"
           for r in regimes if r not in holding and holding]
        + ([f"deep net ({deep.conditions[0]}): "
            f"{'holds' if deep.passed else 'does NOT hold'}: {deep.summary}"]
           if deep is not None else [])
        + ["sharpness = ||w||^2 lambda_1 (filter normalisation ||d|| = ||w||) of the Hessian "
           "with the PGD examples held fixed"]
        + list(sensitivity_conditions("y_t1") if path is None else ())
    ) if passed else ()
    summary = " | ".join([_describe(r) for r in regimes]
                         + ([f"deep net: {deep.summary}"] if deep is not None else []))
    counter = None if passed else {"regimes": [
        {"weight_decay": r["weight_decay"], "eps": r["eps"],
         "normalized": r["normalized"]["values"], "w_norm": r["w_norm"]} for r in regimes]}
    return Evidence("data", passed, summary, conditions=conditions, counterexample=counter,
                    details={"regimes": regimes,
                             "deep": None if deep is None else {
                                 "passed": deep.passed, "summary": deep.summary,
                                 "details": deep.details}})


def _t2_comparisons(record: dict[str, Any]) -> dict[str, Any]:
    """Y-T2 on one record: adversarial vs random lambda_1 growth per threat, with seed counts."""
    tr = trends(record["results"])
    counts = seed_trends(record["results"])["counts"]
    return {k: dict(tr[k], seeds=counts[k]) for k in ("adv_vs_random_l2", "adv_vs_random_linf")
            if k in tr}


def _t2_holds(comps: dict[str, Any]) -> bool:
    return all(c["adversarial_sharper"] and c["seeds"]["k"] == c["seeds"]["n"]
               for c in comps.values())


def _t2_text(record: dict[str, Any], comps: dict[str, Any]) -> str:
    mean = "mean " if len(record["results"].get("seeds") or [0]) > 1 else ""
    name = record["config"].get("dataset", "mnist2").upper()
    return f"{name}: " + "; ".join(
        f"{k.rsplit('_', 1)[1]}: {mean}lambda_1 growth at eps {c['eps']}: adversarial "
        f"x{c['adversarial_growth']:.3g} vs random x{c['random_growth']:.3g}, adversarial "
        f"sharper in {c['seeds']['text']}"
        for k, c in comps.items())


def evidence_y_t2(path: str | Path | None = None,
                  cifar2_path: str | Path | None = None) -> Evidence:
    """Y-T2, data: random-noise training sharpens far less than adversarial training: the growth
    lambda_1(eps)/lambda_1(0) of adversarially trained models exceeds that of noise-trained models
    at the largest eps both tables share (L2: tables 1 vs 2, L-inf: tables 3 vs 4), in the mean
    over seeds and in every seed.

    Reads the committed ``results/mnist2/mnist2.json`` (ran=False when it is absent) and, where
    it exists, ``results/cifar2/mnist2.json``: the claim holds on the data sets where the
    comparison does (named in the conditions, with any where it does not) and fails when it
    holds on none.
    """
    record = _load_committed(path)
    tables = set(record["results"]["tables"]) if record else set()
    if record is None or not ({"1", "2"} <= tables or {"3", "4"} <= tables):
        return Evidence("data", False, "no MNIST2 results with tables 1-2 or 3-4: run "
                        "`advlandscape mnist2 --profile full --out results/mnist2`", ran=False)
    records = [record]
    c2_path = Path(cifar2_path) if cifar2_path is not None else (
        CIFAR2_RESULT_FILE if path is None else None)
    c2 = _load_committed(c2_path) if c2_path is not None and c2_path.exists() else None
    if c2 is not None and _t2_comparisons(c2):
        records.append(c2)
    judged = [(r, _t2_comparisons(r)) for r in records]
    holding = [(r, c) for r, c in judged if _t2_holds(c)]
    passed = bool(holding)
    summary = " | ".join(_t2_text(r, c) for r, c in judged)
    conditions = tuple(
        [f"holds in the regime: {_regime(r)}" for r, _ in holding]
        + [f"does not hold there: {_t2_text(r, c)}" for r, c in judged
           if not _t2_holds(c) and holding]
        + list(sensitivity_conditions("y_t2") if path is None and holding else ()))
    first = judged[0][1]
    return Evidence("data", passed, summary, conditions=conditions,
                    counterexample=None if passed else first,
                    details={r["config"].get("dataset", "mnist2"): c for r, c in judged})


__all__ = [
    "MNIST2Config",
    "aggregate",
    "config_for",
    "evidence_y_t1",
    "evidence_y_t2",
    "render_tables",
    "repetitions",
    "run_mnist2",
    "run_table",
    "save_figures",
    "seed_trends",
    "sensitivity_conditions",
    "trends",
    "write_mnist2",
]

r"""Y-T1 on deep nets that fit, at CPU scale: Madry et al.'s MNIST CNN, narrowed, adversarially
trained per L-inf budget and seed, then its accuracies, curvature and landscape.

Yamada et al. (section 5.2, figure 4, tables 5-6) report for ResNet18 that a larger PGD budget
eps gives a sharper weight-loss landscape. A ResNet18 on 2 CPU cores does not fit the larger
budgets (``results/resnet/mnist_cpu.json``), so its trend says more about under-fitting than
about the claim. This study trains a network that does fit, on the CPU: Madry et al.'s MNIST CNN
(:class:`numerics.nets.models.MadryCNN`: conv5x5(w) - pool - conv5x5(2w) - pool - fc(32w) - fc)
at width ``w = 4`` (Madry's is 32), on an MNIST subset, for eps in {0, 0.1, 0.2, 0.3} and 3 seeds.

Training: SGD with momentum on the adversarial loss, PGD with a uniform start in the ball and
Madry's step rule (step 2.5 eps / steps), eps ramped linearly from 0 over the first
``ramp_epochs`` epochs (at eps 0.3 a narrow net trained at the full budget from the first step
stays at chance), a cosine learning rate.

Per model (one unit per (eps, seed)) the record holds:

- **fit**: the training curve, per epoch the clean and robust accuracy (the training PGD at the
  full eps, BatchNorm-free net in eval mode) on a fixed subset of ``curve_samples`` training
  images, and the verdict of the fit rule: a model *fits* when its last-epoch robust training
  accuracy is at least ``fit_floor`` and its mean gain per epoch over the last ``fit_window``
  epochs is below ``fit_gain`` (a plateau). The evidence counts only models that fit; the
  record lists those that do not;
- clean and robust accuracy on ``n_eval`` training and ``n_eval`` test images, robust by the
  suite's PGD (:meth:`AdvTrainConfig.eval_attacks`: PGD-20 from every start, the worst case per
  example) and by APGD-CE + APGD-DLR from ``torchattacks`` (:mod:`numerics.nets.autoattack`,
  the ``attacks`` extra), the train - test gaps of both, and the PGD - APGD gap;
- the top-3 eigenvalues (eigsh on Hessian-vector products) and the Hutchinson trace of the
  Hessian in the weights of the adversarial training loss on ``hessian_samples`` training
  images, the evaluation PGD's examples held fixed, in float64;
- the filter-normalised 1-D landscape ``a -> L_adv(theta + a d)`` (Li et al. 2018), re-attacked
  at every point with the training PGD (figure 4's construction);
- two scale-free sharpness measures. Raw lambda_1 is not invariant under reparametrisations
  that leave the network's function unchanged: scaling one layer of a ReLU network by c and the
  next by 1/c multiplies the Hessian's blocks by 1/c^2 and c^2 (Dinh et al. 2017), so lambda_1
  can be made as large or small as one likes at a fixed function (with BatchNorm, any scaling
  of the weights before it does the same). ``curvature_fn``, the second derivative at a = 0 of
  the re-attacked filter-normalised landscape (a quadratic fitted to the points with
  ``|a| <= curvature_range``), is invariant under such layer rescalings, because the
  direction's filters scale with the weights' (biases get no direction); ``top_normalized`` =
  ||theta||^2 lambda_1 is invariant under a global scaling of the weights only.

The full scale is this CPU study (it is not the paper's ResNet18 on CIFAR-10); ``ci`` is a smoke
run of the machinery.
"""

from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from numerics.experiments.units import Units
from numerics.records import REPO_ROOT
from theory.claims import Evidence
from theory.errors import ConfigError

__all__ = ["CLAIMS", "CPU_RESULT_FILE", "EVIDENCE", "MEASURES", "MINUTES", "NAME", "RESULT",
           "SCALES", "TITLE", "VERDICT_MEASURE", "Config", "evidence_y_t1_deep", "fit_verdict",
           "judge", "run", "seed_trends", "unit_names"]

NAME = "madry_cnn"
TITLE = ("Madry's MNIST CNN (narrowed) adversarially trained per L-inf budget until it fits: "
         "accuracies (PGD and APGD), Hessian spectra, landscapes (5.2 at CPU scale)")
CLAIMS = ("Y-T1",)


@dataclass(frozen=True)
class Config:
    """The CPU deep study (defaults: the full scale, about 20-25 minutes on one loaded core).

    Attributes:
        label: what the run is. width: MadryCNN's first width (32 in Madry et al.).
        n_train, n_test: MNIST subsets (drawn once, with seed 0). n_eval: training and test
            images the final accuracies are measured on. eps: the L-inf budgets. seeds.
        epochs, ramp_epochs, batch_size, lr, momentum, weight_decay: training (eps ramped
            linearly over ``ramp_epochs``, cosine learning rate). train_steps: PGD steps in
            training (step 2.5 eps / steps). eval_steps: the evaluation PGD's steps.
        apgd_steps, apgd_restarts: APGD-CE and APGD-DLR (torchattacks).
        curve_samples: training images of the per-epoch curve. fit_floor, fit_gain, fit_window:
            the fit rule (module docstring).
        hessian_samples, top_k, eig_tol, power_iters, hutchinson_samples, hvp_batch_size: the
            curvature. landscape_points, landscape_range, landscape_samples, points_per_batch:
            the 1-D landscape; curvature_range: the points |a| <= it the quadratic is fitted to.
        profile: the scale.
    """

    label: str = ("CPU scale: Madry's MNIST CNN at width 4 on 2,000 MNIST images, 3 seeds; "
                  "not the paper's ResNet18 on CIFAR-10")
    width: int = 4
    n_train: int = 2000
    n_test: int = 500
    n_eval: int = 500
    eps: tuple[float, ...] = (0.0, 0.1, 0.2, 0.3)
    seeds: tuple[int, ...] = (0, 1, 2)
    epochs: int = 8
    ramp_epochs: float = 2.0
    batch_size: int = 50
    lr: float = 0.05
    momentum: float = 0.9
    weight_decay: float = 0.0
    train_steps: int = 7
    eval_steps: int = 20
    apgd_steps: int = 30
    apgd_restarts: int = 1
    curve_samples: int = 500
    fit_floor: float = 0.5
    fit_gain: float = 0.02
    fit_window: int = 2
    hessian_samples: int = 128
    top_k: int = 3
    eig_tol: float = 1e-3
    power_iters: int = 0
    hutchinson_samples: int = 10
    hvp_batch_size: int = 256
    landscape_points: int = 21
    landscape_range: float = 1.0
    landscape_samples: int = 128
    points_per_batch: int = 7
    curvature_range: float = 0.2
    profile: str = "full"

    def __post_init__(self) -> None:
        for name in ("width", "n_train", "n_test", "n_eval", "epochs", "batch_size",
                     "train_steps", "eval_steps", "apgd_steps", "apgd_restarts", "curve_samples",
                     "fit_window", "hessian_samples", "top_k", "hutchinson_samples",
                     "hvp_batch_size", "landscape_points", "landscape_samples",
                     "points_per_batch"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"{name} must be an integer >= 1, got {value!r}")
        if not self.eps or any(not 0 <= e < 1 for e in self.eps) or list(self.eps) != sorted(
                set(self.eps)):
            raise ConfigError(f"eps must be increasing L-inf budgets in [0, 1), got {self.eps}")
        if not self.seeds or len(set(self.seeds)) != len(self.seeds) or min(self.seeds) < 0:
            raise ConfigError(f"seeds must be distinct integers >= 0, got {self.seeds}")
        if self.fit_window >= self.epochs:
            raise ConfigError(f"fit_window ({self.fit_window}) must be < epochs ({self.epochs})")
        if not 0 < self.fit_floor < 1 or not 0 < self.fit_gain < 1:
            raise ConfigError("fit_floor and fit_gain are accuracies in (0, 1)")
        if not 0 <= self.ramp_epochs < self.epochs:
            raise ConfigError(f"ramp_epochs must be in [0, epochs), got {self.ramp_epochs}")
        if self.curvature_range <= 0 or self.landscape_range < self.curvature_range:
            raise ConfigError("need 0 < curvature_range <= landscape_range")
        alphas = np.linspace(-self.landscape_range, self.landscape_range, self.landscape_points)
        if int((np.abs(alphas) <= self.curvature_range + 1e-12).sum()) < 3:
            raise ConfigError("the landscape needs >= 3 points with |a| <= curvature_range: "
                              "add landscape_points or widen curvature_range")
        for eps in self.eps:
            self.train_config(eps, self.seeds[0])

    def train_config(self, eps: float, seed: int) -> Any:
        """The :class:`AdvTrainConfig` of the model at ``eps`` and ``seed`` (recorded; its
        ``eval_attacks`` is the evaluation PGD, its ``train_attack`` the landscape's)."""
        from numerics.nets.train_config import AdvTrainConfig

        steps = {} if eps == 0 else dict(step_size=2.5 * eps / self.train_steps,
                                         eval_step_size=2.5 * eps / self.eval_steps)
        return AdvTrainConfig(
            model="madrycnn", width=self.width, in_channels=1, num_classes=10, image_size=28,
            eps=eps, norm="linf", train_steps=self.train_steps, eval_steps=self.eval_steps,
            epochs=self.epochs, batch_size=self.batch_size, lr=self.lr, momentum=self.momentum,
            weight_decay=self.weight_decay, lr_schedule="cosine", seed=seed, dtype="float32",
            preset="madry-cnn-cpu", **steps,
            notes=(f"eps ramped linearly from 0 over the first {self.ramp_epochs:g} epochs",))


SCALES: dict[str, dict[str, Any]] = {
    "ci": dict(label="CPU smoke run (ci): tiny MadryCNN on a few hundred images; checks the "
                     "machinery, NOT an experiment",
               width=4, n_train=400, n_test=100, n_eval=100, eps=(0.0, 0.3), seeds=(0,),
               epochs=6, ramp_epochs=2.0, batch_size=20, lr=0.1, train_steps=3, eval_steps=5,
               apgd_steps=5,
               curve_samples=100, fit_gain=0.05, hessian_samples=32, hutchinson_samples=3,
               landscape_points=9, landscape_samples=32, points_per_batch=9,
               curvature_range=0.25),
    "full": {},
}
#: Measured on one torch thread, 2 cores loaded by other jobs (load average about 7): a unit
#: at eps > 0 about 2 minutes (training 55 s, PGD and APGD evaluation 35-45 s, curvature 10 s,
#: landscape 10 s), at eps 0 about 10 s; the record holds each unit's ``seconds``.
MINUTES = {"ci": 0.5, "full": 25.0}
RESULT = {"ci": "mnist_ci.json", "full": "mnist_cpu.json"}
#: The committed record of the full (CPU) scale: the ledger's Y-T1 deep regime.
CPU_RESULT_FILE = REPO_ROOT / "results" / NAME / RESULT["full"]


def unit_names(cfg: Config) -> list[str]:
    """One unit per (seed, eps): ``"<eps>@<seed>"``."""
    return [f"{eps!r}@{seed}" for seed in cfg.seeds for eps in cfg.eps]


def fit_verdict(curve: list[float], cfg: Config) -> dict[str, Any]:
    """The fit rule on a per-epoch robust training accuracy ``curve``: fits when the last value
    is >= ``fit_floor`` and the mean gain per epoch over the last ``fit_window`` epochs is <
    ``fit_gain``."""
    if len(curve) <= cfg.fit_window:
        raise ConfigError(f"the curve has {len(curve)} epochs; the rule needs > "
                          f"{cfg.fit_window}")
    gain = (curve[-1] - curve[-1 - cfg.fit_window]) / cfg.fit_window
    above, plateau = curve[-1] >= cfg.fit_floor, gain < cfg.fit_gain
    return {"fits": bool(above and plateau), "final_robust": curve[-1], "gain_per_epoch": gain,
            "above_floor": bool(above), "plateau": bool(plateau),
            "rule": f"robust train accuracy >= {cfg.fit_floor:g} at the last epoch and mean "
                    f"gain per epoch over the last {cfg.fit_window} epochs < {cfg.fit_gain:g}"}


def _train(cfg: Config, eps: float, seed: int, x: torch.Tensor, y: torch.Tensor
           ) -> tuple[torch.nn.Module, list[dict[str, float]]]:
    """Adversarial training (module docstring) with the per-epoch curve in the history."""
    from numerics.nets.models import build_model
    from numerics.nets.schedules import ScheduleValues
    from numerics.nets.train import evaluate, fit

    tcfg = cfg.train_config(eps, seed)
    torch.manual_seed(seed)
    model = build_model("madrycnn", width=cfg.width, dtype=torch.float32)
    opt = torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=cfg.momentum,
                          weight_decay=cfg.weight_decay)
    attack = tcfg.train_attack()

    def schedule(t: float) -> ScheduleValues:
        e = eps * min(1.0, t / cfg.ramp_epochs) if cfg.ramp_epochs > 0 else eps
        step = 2.5 * e / cfg.train_steps if e > 0 else attack.step_size or 0.01
        return ScheduleValues(e, step, cfg.lr * 0.5 * (1 + math.cos(math.pi * t / cfg.epochs)))

    xc, yc = x[:cfg.curve_samples], y[:cfg.curve_samples]

    def on_epoch(epoch: int, history: list[dict[str, float]]) -> None:
        m = evaluate(model, xc, yc, eps, attack, seed=seed + 30)
        history[-1].update(curve_clean_acc=m["clean_acc"], curve_robust_acc=m["robust_acc"])

    result = fit(model, x, y, schedule, epochs=cfg.epochs, batch_size=cfg.batch_size,
                 optimizer=opt, attack=attack,
                 shuffle_gen=torch.Generator().manual_seed(seed + 1),
                 attack_gen=torch.Generator().manual_seed(seed + 2), on_epoch=on_epoch)
    return model.eval(), result.history


def _quadratic_curvature(curve: dict[str, list[float]], width: float) -> float:
    """The second derivative at 0 of a quadratic fitted to the landscape's points |a| <= width."""
    a, loss = np.asarray(curve["alpha"]), np.asarray(curve["loss"])
    keep = np.abs(a) <= width + 1e-12
    return float(2 * np.polyfit(a[keep], loss[keep], 2)[0])


def _unit(cfg: Config, eps: float, seed: int, data: tuple[torch.Tensor, ...]) -> dict[str, Any]:
    from numerics.experiments.resnet.run import _curvature
    from numerics.nets.autoattack import apgd_robust_accuracy
    from numerics.nets.landscape import filter_normalized_direction, landscape_1d
    from numerics.nets.train import evaluate

    x_tr, y_tr, x_te, y_te = data
    tcfg = cfg.train_config(eps, seed)
    t0 = time.perf_counter()
    model, history = _train(cfg, eps, seed, x_tr, y_tr)
    seconds = {"train": time.perf_counter() - t0}
    t = time.perf_counter()
    n = cfg.n_eval
    split = {"train": (x_tr[:n], y_tr[:n]), "test": (x_te[:n], y_te[:n])}
    acc: dict[str, dict[str, Any]] = {}
    for name, (x, y) in split.items():
        acc[name] = evaluate(model, x, y, eps, tcfg.eval_attacks(), seed=seed + 40)
        ap = apgd_robust_accuracy(model, x, y, eps, steps=cfg.apgd_steps,
                                  restarts=cfg.apgd_restarts, seed=seed)
        acc[name].update(apgd_robust_acc=ap["robust_acc"], apgd_per_loss=ap["per_loss"],
                         pgd_minus_apgd=acc[name]["robust_acc"] - ap["robust_acc"])
    acc["library"] = ap["library"]
    seconds["evaluation"] = time.perf_counter() - t
    t = time.perf_counter()
    n_h = min(cfg.hessian_samples, x_tr.shape[0])
    c_model = copy.deepcopy(model).to(torch.float64).eval()
    curvature = _curvature(c_model, x_tr[:n_h].double(), y_tr[:n_h], cfg, tcfg)
    seconds["curvature"] = time.perf_counter() - t
    t = time.perf_counter()
    direction = filter_normalized_direction(
        model, generator=torch.Generator().manual_seed(seed + 20))
    alphas = np.linspace(-cfg.landscape_range, cfg.landscape_range, cfg.landscape_points)
    n_l = min(cfg.landscape_samples, x_tr.shape[0])
    curve = landscape_1d(model, x_tr[:n_l], y_tr[:n_l], direction, alphas,
                         attack=tcfg.train_attack() if eps > 0 else None, eps=eps,
                         points_per_batch=cfg.points_per_batch, seed=seed)
    curve["n_samples"] = n_l
    seconds["landscape"] = time.perf_counter() - t
    robust_curve = [h["curve_robust_acc"] for h in history]
    return {
        "eps": eps, "seed": seed, "train_config": tcfg.to_dict(), "history": history,
        "fit": fit_verdict(robust_curve, cfg),
        "train": acc["train"], "test": acc["test"], "apgd_library": acc["library"],
        "gap_clean": acc["train"]["clean_acc"] - acc["test"]["clean_acc"],
        "gap_robust": acc["train"]["robust_acc"] - acc["test"]["robust_acc"],
        "gap_robust_apgd": acc["train"]["apgd_robust_acc"] - acc["test"]["apgd_robust_acc"],
        "curvature": curvature, "landscape": curve,
        "curvature_fn": _quadratic_curvature(curve, cfg.curvature_range),
        "seconds": seconds, "unit_seconds": time.perf_counter() - t0,
    }


def _load(cfg: Config) -> tuple[tuple[torch.Tensor, ...], str]:
    from numerics.experiments.resnet.config import profile_config
    from numerics.experiments.resnet.data import load_image_data

    shape = profile_config("mnist", "ci", n_train=cfg.n_train, n_test=cfg.n_test)
    (x_tr, y_tr, x_te, y_te), note = load_image_data(shape)
    return (x_tr.float(), y_tr, x_te.float(), y_te), note


def run(cfg: Config, units: Units) -> dict[str, Any]:
    """Every (eps, seed) a unit (:func:`_unit`); the per-seed trends over fitting models."""
    start = time.perf_counter()
    loaded: list[Any] = []

    def data() -> tuple[torch.Tensor, ...]:
        if not loaded:
            loaded.extend(_load(cfg))
        return loaded[0]

    runs = [units(f"{eps!r}@{seed}", lambda eps=eps, seed=seed: _unit(cfg, eps, seed, data()))
            for seed in cfg.seeds for eps in cfg.eps]
    results: dict[str, Any] = {
        "label": cfg.label, "data_note": "MNIST official test set", "n_train": cfg.n_train,
        "n_test": cfg.n_test, "runs": runs,
        "not_fitting": [{"eps": r["eps"], "seed": r["seed"], **r["fit"]}
                        for r in runs if not r["fit"]["fits"]],
        "seconds": time.perf_counter() - start}
    results["trends"] = seed_trends(results)
    return results


#: The sharpness measures the trends cover: name -> how to read it from a run.
MEASURES: dict[str, Any] = {
    "lambda_1": lambda r: r["curvature"]["top_eigs"][0],
    "curvature_fn": lambda r: r["curvature_fn"],
    "top_normalized": lambda r: r["curvature"]["top_normalized"],
    "trace": lambda r: r["curvature"]["trace"],
}


def seed_trends(results: dict[str, Any]) -> dict[str, Any]:
    """Per seed and measure, over the models that fit: the values by eps, whether they increase
    strictly, Spearman's rho(eps, value); per eps the mean over the fitting seeds; counts."""
    from numerics.experiments.seeds import count_true
    from numerics.stats import increasing, spearman

    runs = [r for r in results["runs"] if r["fit"]["fits"]]
    seeds = sorted({r["seed"] for r in results["runs"]})
    eps = sorted({r["eps"] for r in results["runs"]})
    out: dict[str, Any] = {"eps": eps, "fitting": len(runs), "models": len(results["runs"])}
    for name, read in MEASURES.items():
        per_seed = []
        for s in seeds:
            mine = sorted((r for r in runs if r["seed"] == s), key=lambda r: r["eps"])
            e, v = [r["eps"] for r in mine], [float(read(r)) for r in mine]
            per_seed.append({"seed": s, "eps": e, "values": v,
                             "increasing": len(v) >= 2 and increasing(v),
                             "spearman": spearman(e, v) if len(v) >= 2 else float("nan")})
        means = [float(np.mean([read(r) for r in runs if r["eps"] == e]))
                 if any(r["eps"] == e for r in runs) else float("nan") for e in eps]
        out[name] = {"per_seed": per_seed, "mean": means,
                     "mean_increasing": bool(not any(map(math.isnan, means))
                                             and increasing(means)),
                     "increasing": count_true([p["increasing"] for p in per_seed]),
                     "spearman_positive": count_true([p["spearman"] > 0 for p in per_seed])}
    return out


def judge(results: dict[str, Any]) -> str:
    """One line: the trend of raw lambda_1 and of the scale-free curvature, per seed, over the
    fitting models, and which models do not fit."""
    tr = seed_trends(results)
    parts = [f"{tr['fitting']} of {tr['models']} models fit"]
    for name in ("lambda_1", "curvature_fn"):
        m = tr[name]
        per = "; ".join(f"seed {p['seed']}: " + ", ".join(f"{v:.3g}" for v in p["values"])
                        for p in m["per_seed"])
        parts.append(f"{name} increasing in eps in {m['increasing']['text']} ({per})")
    bad = [f"eps {r['eps']:g} seed {r['seed']}" for r in results["runs"] if not r["fit"]["fits"]]
    return "; ".join(parts) + (f"; not fitting: {', '.join(bad)}" if bad else "")


#: The measure the deep verdict rests on: the scale-free curvature of the re-attacked
#: filter-normalised landscape, the construction of the paper's figure 4 (its evidence for
#: deep nets). Raw lambda_1 is reported beside it; ``"lambda_1"`` here would judge by it.
VERDICT_MEASURE = "curvature_fn"


def evidence_y_t1_deep(path: str | Path | None = None) -> Evidence:
    r"""Y-T1 (b), data, deep nets that fit (CPU scale): does the weight-loss landscape of the
    adversarial loss get sharper with the L-inf budget eps, for Madry's MNIST CNN (narrowed)?

    Reads the committed record (``results/madry_cnn/mnist_cpu.json``) and recomputes the trends
    over the models that fit (:func:`seed_trends`; verdicts are computed, never read). Holds
    when the mean over the fitting seeds of :data:`VERDICT_MEASURE` (the curvature at a = 0 of
    the re-attacked filter-normalised landscape: figure 4's construction, and scale-free)
    increases strictly with eps and Spearman's rho(eps, measure) > 0 in every seed. Raw
    lambda_1 (the top eigenvalue of the Hessian with the evaluation PGD's examples held fixed),
    ||theta||^2 lambda_1, the Hutchinson trace and the models that do not fit are reported
    beside it, raw lambda_1's trend as a condition of the verdict. The text names the scale.
    """
    from numerics.records import read_result

    file = Path(path) if path is not None else CPU_RESULT_FILE
    if not file.exists():
        return Evidence("data", False, f"deep nets that fit: no {file.name}; run `advlandscape "
                        f"study {NAME}`", ran=False)
    record = read_result(file)
    res, cfg = record["results"], record["config"]
    tr = seed_trends(res)
    scale = (f"CPU scale: Madry's MNIST CNN at width {cfg['width']} (Madry's: 32) on "
             f"{res['n_train']} MNIST images, {len(cfg['seeds'])} seeds, {cfg['epochs']} epochs; "
             "not the paper's ResNet18 on CIFAR-10")
    judged = tr[VERDICT_MEASURE]
    passed = bool(judged["mean_increasing"] and all(p["spearman"] > 0
                                                    for p in judged["per_seed"]))
    fmt = ", ".join

    def trend(name: str, label: str) -> str:
        m = tr[name]
        return (f"{label} ({fmt(f'{v:.4g}' for v in m['mean'])}), "
                f"{'strictly increasing' if m['mean_increasing'] else 'NOT increasing'} in the "
                f"mean, in {m['increasing']['text']}, Spearman > 0 in "
                f"{m['spearman_positive']['text']}")

    bad = [f"eps {r['eps']:g} seed {r['seed']}" for r in res["runs"] if not r["fit"]["fits"]]
    text = (f"{scale}: {tr['fitting']} of {tr['models']} models fit"
            f"{' (not: ' + fmt(bad) + ')' if bad else ''}; at eps "
            f"({fmt(f'{e:g}' for e in tr['eps'])}): "
            + "; ".join([trend("curvature_fn", "landscape curvature (scale-free)"),
                         trend("lambda_1", "raw lambda_1"),
                         trend("top_normalized", "||theta||^2 lambda_1"),
                         trend("trace", "Hessian trace")]))
    lam, lam_n = tr["lambda_1"], tr["top_normalized"]
    conditions = (scale, "L-inf PGD adversarial training (Madry's step rule, eps ramped), not "
                  "the theorem's L2 linear model",
                  "sharpness = curvature at a = 0 of the filter-normalised landscape, "
                  "re-attacked at every point (figure 4's construction; unchanged by layer "
                  "rescalings)",
                  f"raw lambda_1 of the Hessian with the examples held fixed "
                  f"{'also increases' if lam['mean_increasing'] else 'does NOT increase'} "
                  f"in the mean ({fmt(f'{v:.4g}' for v in lam['mean'])}), nor does the "
                  f"top eigenvalue at filter-normalised weights, ||theta||^2 lambda_1 "
                  f"(strictly increasing in {lam_n['increasing']['text']}): the re-attacked "
                  "landscape's curvature along a random "
                  "filter-normalised direction follows the Hessian's trace, not its top "
                  "eigenvalue",
                  "only models whose robust training accuracy reached a plateau above the "
                  f"floor count ({res['runs'][0]['fit']['rule']})")
    return Evidence("data", passed, text, conditions=conditions,
                    counterexample=None if passed else {
                        "eps": tr["eps"], f"mean_{VERDICT_MEASURE}": judged["mean"],
                        "mean_lambda_1": lam["mean"]},
                    details={"scale": scale, "file": str(file), "trends": tr,
                             "measure": VERDICT_MEASURE})


EVIDENCE: dict[str, Any] = {}  # read by the MNIST2 study's Y-T1 evidence as its deep regime

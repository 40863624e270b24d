"""Data studies of Kanai et al. 2021 (K-SMOOTH) and Liu et al. 2020 (L-BUDGET, L-FINDINGS).

Four studies, each a pure function from a frozen config dataclass to a JSON-ready results dict,
written by the ``advlandscape liu-kanai`` command with :func:`numerics.results.write_result`, and
a verdict function that turns a results dict into :class:`theory.claims.Evidence`:

* :func:`run_smoothness` (K-SMOOTH): finite-difference gradient ratios of the robust logistic loss
  L_eps(w) = mean_n zeta(-y_n w.x_n + eps ||w||_q) (attack depending on w, closed form) near w = 0
  (p = 2) and across the hyperplanes w_i = 0 (p = inf), and smooth (L-BFGS) versus subgradient
  optimisation of the L-inf loss;
* :func:`run_budget` (L-BUDGET): training at eps just below and just above the threshold eps* at
  which w = 0 becomes a minimiser, exact inner max, p = 2 and inf, with and without a bias; then
  PGD in the [0, 1] pixel box, where the collapse is measured;
* :func:`run_findings` (L-FINDINGS): escape from a poor initialisation, the gradient norm left at
  the end of training, and the top Hessian eigenvalue of the minimum, per eps (logistic on MNIST2,
  a small MLP on MNIST);
* :func:`run_pas` (L-FINDINGS): periodic adversarial scheduling versus a fixed budget across a grid
  of learning rates (MNIST, MLP).

Committed records live in ``results/liu_kanai/<study>.json``; ``evidence_k_smooth``,
``evidence_l_budget`` and ``evidence_l_findings`` read them (``ran=False`` when absent).

Checkpoints: every study is a sequence of units of work (one training run: per eps, per learning
rate and seed, per optimiser). With ``checkpoint_dir`` the finished units are saved after each one
to ``<checkpoint_dir>/<study>.ckpt``, keyed on the study and the full config (a checkpoint of
another config is ignored), and a later call with the same config reuses them. Every unit draws its
random numbers from a generator seeded from the config and the unit's name alone, so a resumed
run, however often interrupted, equals an uninterrupted one bit for bit (CPU, same threads).
"""

from __future__ import annotations

import dataclasses
import math
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import scipy.optimize
import scipy.stats
import torch
from tqdm import tqdm

from numerics.attacks import pgd
from numerics.logistic import AttackSpec, perturb
from numerics.profiles import current_profile
from numerics.results import REPO_ROOT, load_checkpoint, read_result, save_checkpoint
from numerics.schedules import FixedSchedule, PASchedule, Schedule
from theory.adversarial_loss import robust_loss
from theory.claims import Evidence
from theory.errors import ConfigError, ResultFileError
from theory.validate import check_eps, check_norm

RESULTS_DIR = REPO_ROOT / "results" / "liu_kanai"
STUDIES = ("smoothness", "budget", "findings", "pas")

__all__ = [
    "RESULTS_DIR",
    "STUDIES",
    "BudgetConfig",
    "FindingsConfig",
    "PASConfig",
    "SmoothnessConfig",
    "budget_threshold_value",
    "checkpoint_path",
    "config_for",
    "evidence_k_smooth",
    "evidence_l_budget",
    "evidence_l_findings",
    "finished_units",
    "judge_budget",
    "judge_findings",
    "judge_pas",
    "judge_smoothness",
    "pas_table",
    "robust_loss_grad",
    "run_budget",
    "run_findings",
    "run_pas",
    "run_smoothness",
    "run_study",
]

DTYPE = torch.float64


# ---------------------------------------------------------------------------------------------
# Shared helpers
# ---------------------------------------------------------------------------------------------

def _check_int(value: int, name: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return value


def _mnist2(n: int, seed: int, split: str = "train", bias: bool = False
            ) -> tuple[torch.Tensor, torch.Tensor]:
    """A random subset of n MNIST2 points (all if n >= N); a constant 1 appended with ``bias``."""
    from numerics.data import load_mnist2

    x, y = load_mnist2(split)
    rng = np.random.default_rng(seed)
    idx = np.sort(rng.permutation(x.shape[0])[: min(n, x.shape[0])])
    xt = torch.as_tensor(x[idx], dtype=DTYPE)
    if bias:
        xt = torch.cat([xt, torch.ones(xt.shape[0], 1, dtype=DTYPE)], dim=1)
    return xt, torch.as_tensor(y[idx], dtype=DTYPE)


def _mnist(n: int, seed: int, split: str) -> tuple[torch.Tensor, torch.Tensor]:
    """A random subset of n MNIST images (N, 1, 28, 28) in [0, 1] with labels 0..9."""
    from numerics.data import load_mnist

    images, labels = load_mnist(split)
    rng = np.random.default_rng(seed)
    idx = np.sort(rng.permutation(images.shape[0])[: min(n, images.shape[0])])
    x = torch.as_tensor(images[idx].astype(np.float64) / 255.0, dtype=DTYPE).unsqueeze(1)
    return x, torch.as_tensor(labels[idx].astype(np.int64))


def robust_loss_grad(
    w: torch.Tensor, x: torch.Tensor, y: torch.Tensor, eps: float, norm: str,
    bias: bool = False,
) -> tuple[float, torch.Tensor]:
    """L_eps(w) = mean_n zeta(-y_n w.x_n + eps ||w_f||_q) and its gradient by autograd.

    The attack's dependence on w is differentiated (closed-form inner max,
    :func:`theory.adversarial_loss.robust_loss`). At w_i = 0 (p = inf) autograd returns the
    subgradient with sign(0) = 0.

    Returns:
        (loss value, gradient of shape (d,)).
    """
    w = w.detach().clone().requires_grad_(True)
    loss = robust_loss(w, x, y, eps, norm, bias).mean()
    (g,) = torch.autograd.grad(loss, w)
    return float(loss.detach()), g.detach()


def budget_threshold_value(x: torch.Tensor, y: torch.Tensor, norm: str, bias: bool) -> float:
    """L-BUDGET: eps*, the least eps for which w_f = 0 minimises L_eps (no pixel box).

    eps* = ||mean_n y_n x_n||_p without a bias, ||sum_n a_n y_n x_n||_p / sum_n a_n with
    a_n = s(-y_n b*), b* = log(N+/N-), with one (the subgradient condition at w_f = 0; p = 2 or
    inf, the threat norm). Evaluated by :func:`theory.budget.budget_threshold`.

    Args:
        x: (N, d) features (without the constant column). y: (N,) labels +-1. norm: threat norm.
        bias: whether the model has a bias.
    """
    from theory.budget import budget_threshold

    return float(budget_threshold(x, y, check_norm(norm), bias))


def _spearman(a: list[float], b: list[float]) -> float:
    """Spearman rank correlation (NaN when undefined: fewer than 3 points or constant input)."""
    if len(a) < 3 or len(set(a)) < 2 or len(set(b)) < 2:
        return float("nan")
    return float(scipy.stats.spearmanr(a, b).statistic)


def _progress(iterable: Any, desc: str, total: int | None = None, show: bool = True) -> Any:
    return tqdm(iterable, desc=desc, total=total, disable=not show, leave=False)


def _unit_seed(seed: int, unit: str) -> int:
    """The seed of one unit of work: a function of the config's seed and the unit's name only
    (CRC-32 of ``"<seed>/<unit>"``), so no unit depends on which units ran before it."""
    return zlib.crc32(f"{seed}/{unit}".encode())


def checkpoint_path(study: str, checkpoint_dir: str | Path) -> Path:
    """The checkpoint file of ``study`` in ``checkpoint_dir``: ``<checkpoint_dir>/<study>.ckpt``."""
    return Path(checkpoint_dir) / f"{study}.ckpt"


def finished_units(study: str, cfg: Any, checkpoint_dir: str | Path) -> int:
    """How many units of ``study`` at ``cfg`` the checkpoint in ``checkpoint_dir`` holds (0 when
    there is none, or when it was written for another config and will be ignored)."""
    state = load_checkpoint(checkpoint_path(study, checkpoint_dir))
    if state is None or state.get("key") != f"{study}:{cfg!r}":
        return 0
    return len(state["units"])


class _Units:
    """Runs the units of one study, reusing and saving finished ones through a checkpoint.

    The checkpoint ``{"key": "<study>:<repr(cfg)>", "units": {name: result}}`` is rewritten
    atomically after every unit (:func:`numerics.results.save_checkpoint`); a checkpoint whose key
    differs (another config) is ignored and replaced. ``stop_after`` (tests of resumption) raises
    KeyboardInterrupt, as an interruption would, before the unit after the first ``stop_after``
    units computed by this call.
    """

    def __init__(self, study: str, cfg: Any, total: int, *, checkpoint_dir: str | Path | None,
                 stop_after: int | None, progress: bool) -> None:
        if stop_after is not None:
            _check_int(stop_after, "stop_after", 0)
        self.key = f"{study}:{cfg!r}"
        self.path = None if checkpoint_dir is None else checkpoint_path(study, checkpoint_dir)
        self.done: dict[str, Any] = {}
        state = load_checkpoint(self.path) if self.path is not None else None
        if state is not None and state.get("key") == self.key:
            self.done = dict(state["units"])
        self.stop_after = stop_after
        self.computed = 0
        self.bar = tqdm(total=total, initial=len(self.done), desc=study, disable=not progress,
                        leave=False)

    def __call__(self, name: str, compute: Callable[[], Any]) -> Any:
        """The result of unit ``name``: from the checkpoint, else ``compute()`` (then saved)."""
        if name in self.done:
            return self.done[name]
        if self.stop_after is not None and self.computed >= self.stop_after:
            self.bar.close()
            raise KeyboardInterrupt(f"stopped after {self.computed} units (stop_after)")
        value = compute()
        self.done[name] = value
        self.computed += 1
        if self.path is not None:
            save_checkpoint(self.path, {"key": self.key, "units": self.done})
        self.bar.update()
        return value

    def close(self) -> None:
        self.bar.close()


# ---------------------------------------------------------------------------------------------
# K-SMOOTH: smoothness of the robust loss (Kanai et al.)
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class SmoothnessConfig:
    """Config of :func:`run_smoothness` (K-SMOOTH).

    Attributes:
        n_samples: MNIST2 training points used. eps_l2, eps_linf: budgets of the two parts.
        radii: values r = ||w_1|| along the path to w = 0 (p = 2).
        rel_step: ||w_2 - w_1|| = rel_step * r, w_2 - w_1 orthogonal to w_1 (p = 2).
        n_directions: random (w_1 direction, step direction) pairs per radius.
        linf_steps: widths h of the crossing of a hyperplane w_i = 0 (p = inf).
        n_coordinates: coordinates i crossed (among pixels that are non-zero in the data).
        opt_weight_decay: lambda of the (lambda/2)||w||^2 term in the optimiser comparison.
        opt_iters: iteration budget of each optimiser. seed: random seed. profile: the scale.
    """

    n_samples: int = 500
    eps_l2: float = 1.0
    eps_linf: float = 0.1
    radii: tuple[float, ...] = (1.0, 0.1, 1e-2, 1e-3, 1e-4, 1e-5)
    rel_step: float = 1e-3
    n_directions: int = 4
    linf_steps: tuple[float, ...] = (1e-1, 1e-2, 1e-3, 1e-4, 1e-5, 1e-6)
    n_coordinates: int = 6
    opt_weight_decay: float = 1e-3
    opt_iters: int = 300
    seed: int = 0
    profile: str = "ci"

    def __post_init__(self) -> None:
        _check_int(self.n_samples, "n_samples", 2)
        check_eps(self.eps_l2, "eps_l2")
        check_eps(self.eps_linf, "eps_linf")
        if not self.radii or any(r <= 0 for r in self.radii):
            raise ConfigError("radii must be a non-empty tuple of positive numbers")
        if not self.linf_steps or any(h <= 0 for h in self.linf_steps):
            raise ConfigError("linf_steps must be a non-empty tuple of positive numbers")
        if not 0 < self.rel_step < 1:
            raise ConfigError(f"rel_step must be in (0, 1), got {self.rel_step}")
        _check_int(self.n_directions, "n_directions")
        _check_int(self.n_coordinates, "n_coordinates")
        _check_int(self.opt_iters, "opt_iters")


def _l2_ratios(cfg: SmoothnessConfig, x: torch.Tensor, y: torch.Tensor,
               gen: torch.Generator) -> dict[str, Any]:
    """p = 2: ratios ||grad L(w_2) - grad L(w_1)|| / ||w_2 - w_1|| along rays to w = 0.

    The derived bound (K-SMOOTH) on the segment, where ||w|| >= r: the Hessian of HESS-DEP,
    mean_n [s(m)s(-m) v_n v_n^T + s(-m_n)(eps/||w||)(I - w^ w^T)], v_n = y_n x_n - eps w^, has
    spectral norm <= K(r) = A + eps/r with A = mean_n (||x_n|| + eps)^2 / 4
    (:func:`theory.smoothness.lipschitz_bound`). As r -> 0 every margin
    m_n -> 0, s(-m_n) -> 1/2 and, for a step orthogonal to w, the ratio behaves like eps/(2r):
    ``ratio * r / eps`` tends to 1/2.
    """
    from theory.smoothness import lipschitz_bound

    eps = cfg.eps_l2
    d = x.shape[1]
    a_const = lipschitz_bound(x, eps, 1.0) - eps  # the part that does not grow as r -> 0
    rows = []
    for _ in range(cfg.n_directions):
        u = torch.randn(d, generator=gen, dtype=DTYPE)
        u /= u.norm()
        v = torch.randn(d, generator=gen, dtype=DTYPE)
        v -= (v @ u) * u
        v /= v.norm()
        for r in cfg.radii:
            w1, w2 = r * u, r * u + cfg.rel_step * r * v
            _, g1 = robust_loss_grad(w1, x, y, eps, "l2")
            _, g2 = robust_loss_grad(w2, x, y, eps, "l2")
            ratio = float((g2 - g1).norm() / (w2 - w1).norm())
            rows.append({"r": r, "ratio": ratio, "bound": lipschitz_bound(x, eps, r),
                         "ratio_r_over_eps": ratio * r / eps if eps > 0 else float("nan")})
    return {"eps": eps, "A": a_const, "rows": rows}


def _linf_jumps(cfg: SmoothnessConfig, x: torch.Tensor, y: torch.Tensor,
                gen: torch.Generator) -> dict[str, Any]:
    """p = inf: crossing w_i = 0 with a step h: w_-- = w0 - (h/2) e_i, w_+ = w0 + (h/2) e_i.

    The derived jump (K-SMOOTH): d/dw_i of eps ||w||_1 is eps sign(w_i), so
    grad L(w_+) - grad L(w_-) -> 2 eps mean_n s(-m_n(w0)) e_i as h -> 0 (w0 with w0_i = 0), and the
    ratio ||grad L(w_+) - grad L(w_-)|| / h grows like jump / h without bound (the jump from
    :func:`theory.smoothness.linf_jump`).
    """
    from theory.smoothness import linf_jump

    eps = cfg.eps_linf
    d = x.shape[1]
    active = torch.nonzero(x.abs().amax(0) > 0).flatten()
    pick = active[torch.randperm(active.numel(), generator=gen)[: cfg.n_coordinates]]
    w0 = 0.01 * torch.randn(d, generator=gen, dtype=DTYPE)
    rows = []
    for i in pick.tolist():
        base = w0.clone()
        base[i] = 0.0
        jump = float(linf_jump(base, x, y, eps))
        for h in cfg.linf_steps:
            e = torch.zeros(d, dtype=DTYPE)
            e[i] = h / 2
            _, g_minus = robust_loss_grad(base - e, x, y, eps, "linf")
            _, g_plus = robust_loss_grad(base + e, x, y, eps, "linf")
            diff = float((g_plus - g_minus).norm())
            rows.append({"coordinate": i, "h": h, "grad_diff": diff, "ratio": diff / h,
                         "jump_theory": jump, "rel_err_jump": abs(diff - jump) / jump})
    return {"eps": eps, "rows": rows}


def _optimiser_comparison(cfg: SmoothnessConfig, x: torch.Tensor, y: torch.Tensor,
                          units: Callable[[str, Callable[[], Any]], Any] | None = None
                          ) -> dict[str, Any]:
    """Smooth (L-BFGS) versus subgradient optimisation of F(w) = L_eps(w) + (lambda/2)||w||^2.

    Three runs of at most ``opt_iters`` iterations from w = 0 (p = inf, eps_linf), plus p = 2:

    * ``lbfgs``: scipy L-BFGS-B on F with autograd's gradient (sign(0) = 0 at kinks);
    * ``subgradient``: full-batch subgradient descent, step 1/(lambda (t + 1)) capped at 1 (the
      classic rate for strongly convex nonsmooth F), best iterate kept;
    * ``split_reference``: the exact smooth reformulation w = u - v, u, v >= 0, ||w||_1 =
      sum(u + v) at the optimum, solved by L-BFGS-B with bounds (F is smooth in (u, v)); its value
      is the reference optimum F*;
    * ``lbfgs_l2``: L-BFGS-B on the p = 2 loss (smooth away from w = 0) for contrast.

    Reported per run: F at the end, the gap F - F*, scipy's termination message, iterations and
    function evaluations, and how many coordinates end with |w_i| < 1e-8 (at a kink). Each run is
    one unit of ``units`` (checkpointing; default: run them all here); none uses random numbers.
    """
    if units is None:
        def units(name: str, compute: Callable[[], Any]) -> Any:
            return compute()

    d = x.shape[1]
    lam = cfg.opt_weight_decay

    def objective(norm: str, eps: float) -> Callable[[np.ndarray], tuple[float, np.ndarray]]:
        def fun(w_np: np.ndarray) -> tuple[float, np.ndarray]:
            w = torch.as_tensor(w_np, dtype=DTYPE)
            val, g = robust_loss_grad(w, x, y, eps, norm)
            return val + 0.5 * lam * float(w @ w), (g + lam * w).numpy()
        return fun

    def summary(w: np.ndarray, f: float, res: Any | None) -> dict[str, Any]:
        out = {"F": f, "near_zero_coords": int((np.abs(w) < 1e-8).sum()),
               "weight_norm": float(np.linalg.norm(w))}
        if res is not None:
            out.update({"message": str(res.message), "success": bool(res.success),
                        "nit": int(res.nit), "nfev": int(res.nfev)})
        return out

    eps = cfg.eps_linf
    f_inf = objective("linf", eps)
    w_start = np.zeros(d)
    # start slightly off 0 so that the first autograd gradient is not the degenerate sign(0)
    w_start[:] = 1e-6
    opts = {"maxiter": cfg.opt_iters, "maxfun": 4 * cfg.opt_iters}

    def run_lbfgs() -> dict[str, Any]:
        res = scipy.optimize.minimize(f_inf, w_start, jac=True, method="L-BFGS-B", options=opts)
        return summary(res.x, float(res.fun), res)

    def run_subgradient() -> dict[str, Any]:
        w = torch.as_tensor(w_start, dtype=DTYPE)
        best_f, best_w = math.inf, w.clone()
        for t in range(cfg.opt_iters):
            f, g = f_inf(w.numpy())
            if f < best_f:
                best_f, best_w = f, w.clone()
            w = w - min(1.0, 1.0 / (lam * (t + 1))) * torch.as_tensor(g)
        return summary(best_w.numpy(), best_f, None)

    def run_split() -> dict[str, Any]:
        w_split_t, res_split = _fit_linf_split(x, y, eps, lam, False, 20 * cfg.opt_iters)
        w_split = w_split_t.numpy()
        return summary(w_split, f_inf(w_split)[0], res_split)

    def run_lbfgs_l2() -> dict[str, Any]:
        res = scipy.optimize.minimize(objective("l2", cfg.eps_l2), w_start, jac=True,
                                      method="L-BFGS-B", options=opts)
        return summary(res.x, float(res.fun), res)

    lbfgs = dict(units("optimisers/lbfgs", run_lbfgs))
    sub = dict(units("optimisers/subgradient", run_subgradient))
    split = units("optimisers/split_reference", run_split)
    lbfgs_l2 = units("optimisers/lbfgs_l2", run_lbfgs_l2)
    f_star = split["F"]
    for run in (lbfgs, sub):
        run["gap"] = run["F"] - f_star
    return {"eps": eps, "weight_decay": lam, "F_star": f_star, "lbfgs": lbfgs,
            "subgradient": sub, "split_reference": split, "lbfgs_l2": lbfgs_l2}


def run_smoothness(cfg: SmoothnessConfig, progress: bool = True,
                   checkpoint_dir: str | Path | None = None,
                   stop_after: int | None = None) -> dict[str, Any]:
    """K-SMOOTH on MNIST2: gradient ratios near w = 0 (p = 2), jumps across w_i = 0 (p = inf).

    Units (checkpointed with ``checkpoint_dir``, see the module docstring): the p = 2 ratios
    (generator seeded with ``seed``), the p = inf jumps (generator seeded with
    ``_unit_seed(seed, "linf")``), and each of the four optimiser runs.

    Args:
        cfg: the config. progress: show a progress bar. checkpoint_dir: folder of the
            checkpoint (None: none). stop_after: interrupt after this many new units (tests).

    Returns:
        ``{"l2": ..., "linf": ..., "optimisers": ...}`` (see :func:`_l2_ratios`,
        :func:`_linf_jumps`, :func:`_optimiser_comparison`).
    """
    x, y = _mnist2(cfg.n_samples, cfg.seed)
    units = _Units("smoothness", cfg, 6, checkpoint_dir=checkpoint_dir, stop_after=stop_after,
                   progress=progress)
    parts = {
        "l2": units("l2", lambda: _l2_ratios(cfg, x, y, torch.Generator().manual_seed(cfg.seed))),
        "linf": units("linf", lambda: _linf_jumps(
            cfg, x, y, torch.Generator().manual_seed(_unit_seed(cfg.seed, "linf")))),
        "optimisers": _optimiser_comparison(cfg, x, y, units),
    }
    units.close()
    return parts


def judge_smoothness(results: dict[str, Any]) -> Evidence:
    """K-SMOOTH verdict from a smoothness record (kind ``"data"``).

    Passes when (i) every p = 2 ratio is at most the derived bound A + eps/r, (ii) at the smallest
    radius ratio * r / eps is within 0.05 of 1/2 (the eps/(2r) blow-up), (iii) at the smallest
    crossing width every measured p = inf gradient jump agrees with 2 eps mean s(-m) to 1e-3
    relative, and the ratio grows by at least 10x per 10x smaller step at the two smallest steps.
    The optimiser comparison is reported, not judged.
    """
    l2 = results["l2"]["rows"]
    over = [r for r in l2 if r["ratio"] > r["bound"] * (1 + 1e-9)]
    r_min = min(r["r"] for r in l2)
    at_min = [r["ratio_r_over_eps"] for r in l2 if r["r"] == r_min]
    blowup_ok = all(abs(v - 0.5) < 0.05 for v in at_min)
    linf = results["linf"]["rows"]
    hs = sorted({r["h"] for r in linf})
    smallest = [r for r in linf if r["h"] == hs[0]]
    jump_err = max(r["rel_err_jump"] for r in smallest)
    growth = []
    if len(hs) >= 2:
        for c in {r["coordinate"] for r in linf}:
            a = next(r["ratio"] for r in linf if r["coordinate"] == c and r["h"] == hs[0])
            b = next(r["ratio"] for r in linf if r["coordinate"] == c and r["h"] == hs[1])
            growth.append(a / b * hs[0] / hs[1])
    growth_ok = bool(growth) and min(growth) > 0.9
    opt = results["optimisers"]
    passed = not over and blowup_ok and jump_err < 1e-3 and growth_ok
    summary = (
        f"p=2: {len(l2)} ratios, {len(over)} above A + eps/r; at r={r_min:g} ratio*r/eps in "
        f"[{min(at_min):.3f}, {max(at_min):.3f}] (theory 1/2); p=inf: jump rel err "
        f"{jump_err:.1e} at h={hs[0]:g}, ratio ~ jump/h (growth factor {min(growth or [0]):.2f}); "
        f"L-BFGS on p=inf: '{opt['lbfgs']['message']}', gap {opt['lbfgs']['gap']:.1e} vs "
        f"subgradient gap {opt['subgradient']['gap']:.1e}"
    )
    return Evidence(
        "data", passed, summary,
        conditions=("MNIST2 subset, closed-form attack (no pixel box)",),
        counterexample=None if passed else {"above_bound": over[:3], "ratio_r_over_eps": at_min,
                                            "jump_rel_err": jump_err, "growth": growth},
        details={"jump_rel_err": jump_err, "ratio_r_over_eps_at_rmin": at_min,
                 "optimisers": opt},
    )


# ---------------------------------------------------------------------------------------------
# L-BUDGET: the threshold eps* on data (Liu et al.)
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class BudgetConfig:
    """Config of :func:`run_budget` (L-BUDGET).

    Attributes:
        n_samples: MNIST2 training points. ratios: eps / eps* values trained (exact inner max).
        weight_decay: lambda of (lambda/2)||w_f||^2 (the bias is not decayed); it keeps the
            minimiser finite on separable data and leaves eps* unchanged (its gradient at 0 is 0).
        steps, lr: full-batch Adam steps (p = 2), learning rate cosine-annealed to 0; p = inf
            uses L-BFGS-B on the split form with at most 5 * steps iterations.
        box_eps_l2, box_eps_linf: absolute budgets trained with PGD in the [0, 1] box.
        pgd_steps: PGD steps K (step 2.5 eps / K). collapse_tol: ||w_f|| below
            collapse_tol * ||w_f(eps=0)|| counts as collapsed. seed, profile: as usual.
    """

    n_samples: int = 400
    ratios: tuple[float, ...] = (0.5, 0.95, 1.05, 2.0)
    weight_decay: float = 1e-3
    steps: int = 400
    lr: float = 0.05
    box_eps_l2: tuple[float, ...] = (1.0, 2.0, 3.0, 3.5, 4.0, 5.0)
    box_eps_linf: tuple[float, ...] = (0.1, 0.3, 0.45, 0.5, 0.55, 0.6, 0.8)
    pgd_steps: int = 5
    box_train_steps: int = 100
    collapse_tol: float = 1e-2
    seed: int = 0
    profile: str = "ci"

    def __post_init__(self) -> None:
        _check_int(self.n_samples, "n_samples", 2)
        if not self.ratios or any(r < 0 for r in self.ratios):
            raise ConfigError("ratios must be a non-empty tuple of eps/eps* values >= 0")
        check_eps(self.weight_decay, "weight_decay")
        _check_int(self.steps, "steps")
        _check_int(self.box_train_steps, "box_train_steps")
        _check_int(self.pgd_steps, "pgd_steps")


def _train_logistic(
    x: torch.Tensor, y: torch.Tensor, loss_fn: Callable[[torch.Tensor], torch.Tensor],
    steps: int, lr: float, weight_decay: float, bias: bool, w0: torch.Tensor | None = None,
) -> torch.Tensor:
    """Full-batch Adam on loss_fn(w) + (lambda/2)||w_f||^2, lr cosine-annealed to 0."""
    d = x.shape[1]
    w = (torch.zeros(d, dtype=DTYPE) if w0 is None else w0.clone()).requires_grad_(True)
    mask = torch.ones(d, dtype=DTYPE)
    if bias:
        mask[-1] = 0
    opt = torch.optim.Adam([w], lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps)
    for _ in range(steps):
        opt.zero_grad()
        obj = loss_fn(w) + 0.5 * weight_decay * ((w * mask) ** 2).sum()
        obj.backward()
        opt.step()
        sched.step()
    return w.detach()


def _fit_linf_split(
    x: torch.Tensor, y: torch.Tensor, eps: float, weight_decay: float, bias: bool,
    max_iter: int,
) -> tuple[torch.Tensor, Any]:
    """Minimise the p = inf robust loss exactly through its smooth split form (L-BFGS-B).

    With w_f = u - v, u, v >= 0, the function mean_n zeta(-y_n (w_f.x_n + b) + eps sum(u + v))
    + (lambda/2)||u - v||^2 is smooth, and at its minimum u_i v_i = 0 so sum(u + v) = ||w_f||_1:
    its minimiser is that of L_eps + (lambda/2)||w_f||^2, and coordinates at the kink w_i = 0 are
    reached exactly (active bounds). The bias b (last coordinate of x when ``bias``) is free.

    Returns:
        (w of shape (d,), scipy's OptimizeResult).
    """
    feats = x[:, :-1] if bias else x
    d = feats.shape[1]

    def fun(z: np.ndarray) -> tuple[float, np.ndarray]:
        zt = torch.as_tensor(z, dtype=DTYPE).requires_grad_(True)
        u, v = zt[:d], zt[d:2 * d]
        b = zt[2 * d] if bias else 0.0
        wf = u - v
        m = y * (feats @ wf + b) - eps * (u + v).sum()
        val = torch.nn.functional.softplus(-m).mean() + 0.5 * weight_decay * (wf @ wf)
        (g,) = torch.autograd.grad(val, zt)
        return float(val.detach()), g.numpy()

    n_var = 2 * d + (1 if bias else 0)
    bounds = [(0.0, None)] * (2 * d) + ([(None, None)] if bias else [])
    res = scipy.optimize.minimize(
        fun, np.zeros(n_var), jac=True, method="L-BFGS-B", bounds=bounds,
        options={"maxiter": max_iter, "maxfun": 4 * max_iter, "ftol": 1e-15, "gtol": 1e-12},
    )
    w = res.x[:d] - res.x[d:2 * d]
    if bias:
        w = np.concatenate([w, res.x[2 * d:]])
    return torch.as_tensor(w, dtype=DTYPE), res


def run_budget(cfg: BudgetConfig, progress: bool = True,
               checkpoint_dir: str | Path | None = None,
               stop_after: int | None = None) -> dict[str, Any]:
    """L-BUDGET on MNIST2: ||w_f|| at convergence versus eps/eps*, then the [0, 1] box with PGD.

    Exact part: for p in {2, inf} and bias in {no, yes}, eps* from
    :func:`budget_threshold_value`, then training at eps = ratio * eps* on the closed-form robust
    loss (p = 2: full-batch Adam, lr cosine-annealed to 0; p = inf: the exact smooth split form,
    :func:`_fit_linf_split`, since Adam cannot settle on the many kinks). Reported: eps*, and
    per ratio ||w_f||, L_eps(w) - L_eps(w_0) (w_0 = 0, or the
    constant model with the best bias) which is < 0 exactly when a non-zero w_f does better.

    Box part: PGD training (random start, K steps, box [0, 1]) at absolute budgets, no bias;
    reported ||w_f|| and clean training accuracy, and the smallest budget where ||w_f|| falls
    below ``collapse_tol`` times its value at the smallest budget, compared with eps*.

    Units (checkpointed with ``checkpoint_dir``, see the module docstring): each exact run, the
    gradient bound (generator seeded with ``seed``), and each box run (PGD starts from a
    generator seeded with ``_unit_seed(seed, "box/<norm>/<eps>")``).

    Args:
        cfg: the config. progress: show a progress bar. checkpoint_dir: folder of the
            checkpoint (None: none). stop_after: interrupt after this many new units (tests).
    """
    combos = [(n, b) for n in ("l2", "linf") for b in (False, True)]
    total = len(combos) * len(cfg.ratios) + 1 + len(cfg.box_eps_l2) + len(cfg.box_eps_linf)
    units = _Units("budget", cfg, total, checkpoint_dir=checkpoint_dir, stop_after=stop_after,
                   progress=progress)
    exact: list[dict[str, Any]] = []
    thresholds: dict[str, float] = {}
    for norm, bias in combos:
        x, y = _mnist2(cfg.n_samples, cfg.seed, bias=bias)
        feats = x[:, :-1] if bias else x
        eps_star = budget_threshold_value(feats, y, norm, bias)
        key = f"{norm}{'_bias' if bias else ''}"
        thresholds[key] = eps_star
        if bias:
            pi_pos = float((y > 0).double().mean())
            w_ref = torch.zeros(x.shape[1], dtype=DTYPE)
            w_ref[-1] = math.log(pi_pos / (1 - pi_pos))
        else:
            w_ref = torch.zeros(x.shape[1], dtype=DTYPE)
        for ratio in cfg.ratios:
            eps = ratio * eps_star

            def exact_run(eps: float = eps, norm: str = norm, bias: bool = bias,
                          x: torch.Tensor = x, y: torch.Tensor = y, w_ref: torch.Tensor = w_ref,
                          ratio: float = ratio, eps_star: float = eps_star) -> dict[str, Any]:
                def loss_fn(w: torch.Tensor) -> torch.Tensor:
                    return robust_loss(w, x, y, eps, norm, bias).mean()

                if norm == "l2":
                    w = _train_logistic(x, y, loss_fn, cfg.steps, cfg.lr, cfg.weight_decay,
                                        bias)
                else:
                    w, _ = _fit_linf_split(x, y, eps, cfg.weight_decay, bias, 5 * cfg.steps)
                wf = w[:-1] if bias else w
                with torch.no_grad():
                    gain = float(loss_fn(w) - loss_fn(w_ref))
                return {"norm": norm, "bias": bias, "ratio": ratio, "eps": eps,
                        "eps_star": eps_star, "w_norm": float(wf.norm()),
                        "loss_minus_reference": gain}

            exact.append(units(f"exact/{key}/{ratio!r}", exact_run))
    box: dict[str, Any] = {}
    x, y = _mnist2(cfg.n_samples, cfg.seed)
    gradient_bound = units("gradient_bound", lambda: _gradient_bound_on_data(
        x, y, thresholds["l2"], torch.Generator().manual_seed(cfg.seed)))

    def box_run(norm: str, eps: float, gen: torch.Generator) -> dict[str, Any]:
        # the linear model's analytic PGD, far cheaper than autograd on the whole training set
        # (tests/test_logistic.py): under L2 the iterates of numerics.attacks.pgd to 1e-12; under
        # L-inf its limit clip(x - eps y sign(w)), which differs from the generic PGD only where
        # w_i = 0 (there the loss does not depend on delta_i: the generic PGD keeps its random
        # start, the limit keeps delta_i = 0; both are maximisers)
        attack = AttackSpec("pgd", norm, cfg.pgd_steps, 2.5, box=(0.0, 1.0))
        w = torch.zeros(x.shape[1], dtype=DTYPE, requires_grad=True)
        opt = torch.optim.Adam([w], lr=cfg.lr)
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=cfg.box_train_steps)
        for _ in range(cfg.box_train_steps):
            x_adv = perturb(w.detach()[None], x, y, eps, attack, gen)[0]
            opt.zero_grad()
            obj = torch.nn.functional.softplus(-y * (x_adv @ w)).mean() \
                + 0.5 * cfg.weight_decay * (w ** 2).sum()
            obj.backward()
            opt.step()
            sched.step()
        wd = w.detach()
        return {"eps": eps, "w_norm": float(wd.norm()),
                "clean_acc": float(((x @ wd) * y > 0).double().mean())}

    for norm, grid in (("l2", cfg.box_eps_l2), ("linf", cfg.box_eps_linf)):
        rows = []
        for eps in grid:
            name = f"box/{norm}/{eps!r}"
            rows.append(units(name, lambda norm=norm, eps=eps, name=name: box_run(
                norm, eps, torch.Generator().manual_seed(_unit_seed(cfg.seed, name)))))
        ref = rows[0]["w_norm"]
        collapsed = [r["eps"] for r in rows if r["w_norm"] < cfg.collapse_tol * ref]
        box[norm] = {"rows": rows, "eps_star_no_box": thresholds[norm],
                     "collapse_eps": collapsed[0] if collapsed else None}
    units.close()
    return {"thresholds": thresholds, "exact": exact, "box": box,
            "gradient_bound": gradient_bound}


def _gradient_bound_on_data(x: torch.Tensor, y: torch.Tensor, eps_star: float,
                            gen: torch.Generator) -> dict[str, Any]:
    """L-BUDGET gradient bound on MNIST2 (p = 2): max of ||g(w1) - g(w2)|| / (A||w1 - w2|| + B eps).

    A, B from :func:`theory.budget.gradient_bound_constants`. Pairs: w1 = t u, w2 = -t u across
    w = 0 (where the gradient is not Lipschitz), t from 1e-6 to 10, and independent random pairs,
    at eps in {0.1, 0.5, 1, 2} eps*. The bound holds when the returned ``max_ratio`` <= 1.
    """
    from theory.budget import gradient_bound_constants

    d = x.shape[1]
    worst, count = 0.0, 0
    for factor in (0.1, 0.5, 1.0, 2.0):
        eps = factor * eps_star
        a_const, b_const = gradient_bound_constants(x, eps)
        for t in (1e-6, 1e-3, 1e-1, 1.0, 10.0):
            u = torch.randn(d, generator=gen, dtype=DTYPE)
            pairs = [(t * u / u.norm(), -t * u / u.norm()),
                     (t * torch.randn(d, generator=gen, dtype=DTYPE) / math.sqrt(d),
                      t * torch.randn(d, generator=gen, dtype=DTYPE) / math.sqrt(d))]
            for w1, w2 in pairs:
                _, g1 = robust_loss_grad(w1, x, y, eps, "l2")
                _, g2 = robust_loss_grad(w2, x, y, eps, "l2")
                ratio = float((g1 - g2).norm() / (a_const * (w1 - w2).norm() + b_const * eps))
                worst, count = max(worst, ratio), count + 1
    return {"max_ratio": worst, "pairs": count}


def judge_budget(results: dict[str, Any], rel_tol: float = 1e-2) -> Evidence:
    """L-BUDGET verdict: w_f -> 0 exactly above eps*, not below, and the gradient bound holds.

    For each (norm, bias): every ratio > 1 run ends with ||w_f|| <= rel_tol ||w_f(ratio_min)||
    and no loss gain over the reference (>= -1e-8); every ratio < 1 run ends with ||w_f|| larger
    than that and a strict gain (< -1e-8). The box/PGD collapse point is reported alongside.
    """
    bad = []
    for key in results["thresholds"]:
        norm, bias = key.split("_")[0], key.endswith("_bias")
        rows = [r for r in results["exact"] if r["norm"] == norm and r["bias"] == bias]
        scale = max(r["w_norm"] for r in rows)
        for r in rows:
            zero = r["w_norm"] <= rel_tol * scale and r["loss_minus_reference"] >= -1e-8
            nonzero = r["w_norm"] > rel_tol * scale and r["loss_minus_reference"] < -1e-8
            if (r["ratio"] > 1 and not zero) or (r["ratio"] < 1 and not nonzero):
                bad.append(r)
    box = results["box"]
    box_text = "; ".join(
        f"{n} box+PGD collapse at eps={b['collapse_eps']} vs eps*={b['eps_star_no_box']:.3g}"
        for n, b in box.items()
    )
    th = ", ".join(f"{k}={v:.4g}" for k, v in results["thresholds"].items())
    gb = results.get("gradient_bound", {"max_ratio": float("nan"), "pairs": 0})
    passed = not bad and gb["max_ratio"] <= 1.0
    return Evidence(
        "data", passed,
        f"eps*: {th}; gradient bound: max ||dg||/(A||dw|| + B eps) = {gb['max_ratio']:.3f} over "
        f"{gb['pairs']} pairs; w_f -> 0 above and not below eps* in "
        f"{len(results['exact']) - len(bad)}/{len(results['exact'])} runs; {box_text}",
        conditions=("closed-form inner max without the [0, 1] box (with the box the collapse "
                    "happens at a different, measured budget)",),
        counterexample={"runs": bad[:4]} if bad else None,
        details={"thresholds": results["thresholds"], "box": box},
    )


# ---------------------------------------------------------------------------------------------
# Deep adversarial training with a schedule (used by findings and PAS)
# ---------------------------------------------------------------------------------------------

def _ce_per_sample(model: torch.nn.Module, y: torch.Tensor
                   ) -> Callable[[torch.Tensor], torch.Tensor]:
    def f(z: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.cross_entropy(model(z), y, reduction="none")
    return f


def _train_deep(
    model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, schedule: Schedule, *,
    batch_size: int, pgd_steps: int, norm: str, momentum: float, gen: torch.Generator,
    progress: bool = False, desc: str = "train",
) -> list[float]:
    """SGD (momentum) adversarial training, eps/alpha/lr from ``schedule`` at every iteration.

    Returns the adversarial training loss of every iteration.
    """
    n = x.shape[0]
    per_epoch = math.ceil(n / batch_size)
    epochs = math.ceil(schedule.epochs)
    opt = torch.optim.SGD(model.parameters(), lr=schedule.lr(0.0), momentum=momentum)
    losses: list[float] = []
    for epoch in _progress(range(epochs), desc, show=progress):
        perm = torch.randperm(n, generator=gen)
        for b in range(per_epoch):
            t = min(epoch + b / per_epoch, schedule.epochs)
            v = schedule(t)
            for group in opt.param_groups:
                group["lr"] = v.lr
            idx = perm[b * batch_size:(b + 1) * batch_size]
            xb, yb = x[idx], y[idx]
            if v.eps > 0:
                model.eval()
                xb = pgd(_ce_per_sample(model, yb), xb, v.eps, norm, pgd_steps, v.step_size,
                         box=(0.0, 1.0), generator=gen)
                model.train()
            loss = torch.nn.functional.cross_entropy(model(xb), yb)
            if not torch.isfinite(loss):
                losses.append(float("inf"))
                return losses
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(float(loss.detach()))
    return losses


def _robust_accuracy(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, eps: float,
                     norm: str, steps: int, gen: torch.Generator) -> tuple[float, float]:
    """(clean accuracy, PGD accuracy) with ``steps`` steps of size 2.5 eps / steps."""
    model.eval()
    with torch.no_grad():
        clean = float((model(x).argmax(1) == y).double().mean())
    x_adv = pgd(_ce_per_sample(model, y), x, eps, norm, steps, 2.5 * eps / steps,
                box=(0.0, 1.0), generator=gen) if eps > 0 else x
    with torch.no_grad():
        adv = float((model(x_adv).argmax(1) == y).double().mean())
    return clean, adv


# ---------------------------------------------------------------------------------------------
# L-FINDINGS: escape, gradients, sharpness
# ---------------------------------------------------------------------------------------------

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
    n_train: int = 1000
    hidden: tuple[int, ...] = (32,)
    init_scale: float = 0.5
    epochs: int = 8
    batch_size: int = 50
    lr: float = 0.05
    momentum: float = 0.9
    pgd_steps: int = 5
    escape_fraction: float = 0.9
    n_hessian: int = 300
    logistic_ratios: tuple[float, ...] = (0.0, 0.25, 0.5, 0.75, 0.9)
    logistic_n: int = 1000
    logistic_steps: int = 500
    seed: int = 0
    profile: str = "ci"

    def __post_init__(self) -> None:
        if not self.eps_grid or any(e < 0 for e in self.eps_grid):
            raise ConfigError("eps_grid must be a non-empty tuple of budgets >= 0")
        _check_int(self.n_train, "n_train", 2)
        _check_int(self.epochs, "epochs")
        _check_int(self.batch_size, "batch_size")
        _check_int(self.pgd_steps, "pgd_steps")
        _check_int(self.n_hessian, "n_hessian", 2)


def _full_gradient_norm(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    """||grad_theta (1/N) sum_n CE(f(theta; x_n), y_n)||_2 with the inputs held fixed."""
    model.eval()
    model.zero_grad()
    torch.nn.functional.cross_entropy(model(x), y).backward()
    total = sum(float((p.grad ** 2).sum()) for p in model.parameters() if p.grad is not None)
    model.zero_grad()
    return math.sqrt(total)


def run_findings(cfg: FindingsConfig, progress: bool = True,
                 checkpoint_dir: str | Path | None = None,
                 stop_after: int | None = None) -> dict[str, Any]:
    """L-FINDINGS on MNIST (MLP) and MNIST2 (logistic), per eps.

    MLP, per eps in ``eps_grid`` (same poor initialisation and batch order for every eps):

    * ``escape_iter``: first iteration at which the running mean (10 iterations) of the
      adversarial training loss is below escape_fraction * log 10 (None: never escaped);
    * ``grad_norm``: ||grad L_adv(theta_T)|| over the training subset, the PGD examples
      (K steps at the final weights) held fixed;
    * ``top_eig``: the largest eigenvalue of the Hessian of that loss (inputs held fixed, as in
      :func:`numerics.curvature.top_hessian_eigs`) on ``n_hessian`` points;
    * ``final_loss``, clean and PGD training accuracy.

    Logistic (p = 2, exact inner max, no bias), per eps = ratio * eps*: from the poor point
    w_0 = -3 g/||g||, g = mean y x (every point misclassified), full-batch Adam as in
    :func:`run_budget`; ``escape_iter`` = first step with L_eps(w) < log 2 (the loss of w = 0),
    ``grad_norm`` = ||grad L_eps|| at the end, ``top_eig`` = largest eigenvalue of the exact
    Hessian of L_eps (attack depending on w, HESS-DEP) by ``torch.func.hessian``.

    Units (checkpointed with ``checkpoint_dir``, see the module docstring): one per MLP budget
    (initialisation, batches and PGD starts seeded with ``seed``, the same for every eps) and one
    per logistic ratio (deterministic).

    Args:
        cfg: the config. progress: show a progress bar. checkpoint_dir: folder of the
            checkpoint (None: none). stop_after: interrupt after this many new units (tests).
    """
    from numerics.curvature import top_hessian_eigs
    from numerics.models import MLP

    units = _Units("findings", cfg, len(cfg.eps_grid) + len(cfg.logistic_ratios),
                   checkpoint_dir=checkpoint_dir, stop_after=stop_after, progress=progress)
    x, y = _mnist(cfg.n_train, cfg.seed, "train")

    def mlp_run(eps: float) -> dict[str, Any]:
        torch.manual_seed(cfg.seed)
        model = MLP(784, 10, hidden=cfg.hidden)
        with torch.no_grad():
            for p in model.parameters():
                p.mul_(cfg.init_scale)
        gen = torch.Generator().manual_seed(cfg.seed)
        sched = FixedSchedule(eps_target=eps, epochs=cfg.epochs, lr_max=cfg.lr,
                              lr_shape="constant", step_ratio=2.5 / cfg.pgd_steps)
        losses = _train_deep(model, x, y, sched, batch_size=cfg.batch_size,
                             pgd_steps=cfg.pgd_steps, norm="linf", momentum=cfg.momentum,
                             gen=gen)
        running = np.convolve(losses, np.ones(10) / 10, mode="valid")
        below = np.nonzero(running < cfg.escape_fraction * math.log(10))[0]
        escape = int(below[0]) + 9 if below.size else None
        model.eval()
        x_adv = pgd(_ce_per_sample(model, y), x, eps, "linf", cfg.pgd_steps,
                    2.5 * eps / cfg.pgd_steps, box=(0.0, 1.0), generator=gen) if eps > 0 else x
        grad_norm = _full_gradient_norm(model, x_adv, y)
        with torch.no_grad():
            final_loss = float(torch.nn.functional.cross_entropy(model(x_adv), y))
            adv_acc = float((model(x_adv).argmax(1) == y).double().mean())
            clean_acc = float((model(x).argmax(1) == y).double().mean())
        top = float(top_hessian_eigs(model, x_adv[: cfg.n_hessian], y[: cfg.n_hessian], k=1,
                                     seed=cfg.seed)[0])
        return {"eps": eps, "escape_iter": escape, "iterations": len(losses),
                "grad_norm": grad_norm, "top_eig": top, "final_loss": final_loss,
                "train_adv_acc": adv_acc, "train_clean_acc": clean_acc}

    mlp_rows = [units(f"mlp/{eps!r}", lambda eps=eps: mlp_run(eps)) for eps in cfg.eps_grid]

    xl, yl = _mnist2(cfg.logistic_n, cfg.seed)
    eps_star = budget_threshold_value(xl, yl, "l2", False)
    g = (yl[:, None] * xl).mean(0)
    w0 = -3 * g / g.norm()

    def logistic_run(ratio: float) -> dict[str, Any]:
        eps = ratio * eps_star

        def loss_fn(w: torch.Tensor, eps: float = eps) -> torch.Tensor:
            return robust_loss(w, xl, yl, eps, "l2").mean()

        w = w0.clone().requires_grad_(True)
        opt = torch.optim.Adam([w], lr=0.05)
        escape = None
        for step in range(cfg.logistic_steps):
            opt.zero_grad()
            val = loss_fn(w)
            if escape is None and float(val.detach()) < math.log(2):
                escape = step
            val.backward()
            opt.step()
        wd = w.detach()
        _, grad = robust_loss_grad(wd, xl, yl, eps, "l2")
        hess = torch.func.hessian(loss_fn)(wd)
        top = float(torch.linalg.eigvalsh(hess)[-1])
        return {"ratio": ratio, "eps": eps, "escape_iter": escape,
                "grad_norm": float(grad.norm()), "top_eig": top,
                "final_loss": float(loss_fn(wd)), "w_norm": float(wd.norm())}

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
        rho = _spearman(eps, [_escape_key(r["escape_iter"], cap) for r in rows])
        out[model] = {"escape": {"rho": rho, "holds": bool(rho > 0.5), "runs": len(rows)}}
        escaped = [r for r in rows if r["escape_iter"] is not None]
        for name, key in (("gradients", "grad_norm"), ("sharpness", "top_eig")):
            e = [r["eps"] for r in escaped]
            v = [r[key] for r in escaped]
            if len(escaped) >= 3:
                rho = _spearman(e, v)
                holds = bool(rho > 0.5)
            elif len(escaped) == 2:
                rho = 1.0 if v[1] > v[0] else -1.0
                holds = v[1] > v[0]
            else:
                rho, holds = float("nan"), False
            out[model][name] = {"rho": rho, "holds": holds, "runs": len(escaped)}
    return out


# ---------------------------------------------------------------------------------------------
# L-FINDINGS: PAS versus a fixed budget
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class PASConfig:
    """Config of :func:`run_pas` (L-FINDINGS, periodic adversarial scheduling).

    Attributes:
        eps: target L-inf budget (0.1: a 1-hidden-layer MLP trained for a few hundred
            iterations learns nothing robust at Liu et al.'s 0.3-0.4, with either schedule).
            lrs: learning-rate grid (SGD, momentum). epochs, periods:
            length of training and number of PAS periods. n_train, n_test: MNIST subsets.
        hidden: MLP widths. pgd_steps: training PGD steps; eval_steps: evaluation PGD steps.
        fixed_lr_shape: learning-rate shape of the fixed-budget baseline (``"cosine"``: one
            annealing over the run, the fair counterpart of PAS's per-period annealing).
        peak_factor, ramp: PAS budget ramp (see :class:`numerics.schedules.PASchedule`).
        seeds: every (schedule, lr) is trained once per seed (initialisation, batch order, PGD
            starts), offset by ``seed``; verdicts use the mean over seeds.
    """

    eps: float = 0.1
    lrs: tuple[float, ...] = (0.01, 0.03, 0.1, 0.3)
    epochs: int = 8
    periods: int = 2
    n_train: int = 1000
    n_test: int = 500
    hidden: tuple[int, ...] = (64,)
    batch_size: int = 50
    momentum: float = 0.9
    pgd_steps: int = 5
    eval_steps: int = 10
    fixed_lr_shape: str = "cosine"
    peak_factor: float = 1.5
    ramp: str = "cosine"
    seeds: tuple[int, ...] = (0, 1)
    seed: int = 0
    profile: str = "ci"

    def __post_init__(self) -> None:
        check_eps(self.eps, "eps")
        if not self.seeds:
            raise ConfigError("seeds must name at least one seed (initialisation and batches)")
        if not self.lrs or any(lr <= 0 for lr in self.lrs):
            raise ConfigError("lrs must be a non-empty tuple of positive learning rates")
        _check_int(self.epochs, "epochs")
        _check_int(self.periods, "periods")
        _check_int(self.n_train, "n_train", 2)
        _check_int(self.n_test, "n_test", 2)

    def schedule(self, kind: str, lr: float) -> Schedule:
        """The PAS or fixed schedule of one run (recorded in the results)."""
        step_ratio = 2.5 / self.pgd_steps
        if kind == "pas":
            return PASchedule(eps_target=self.eps, epochs=self.epochs, periods=self.periods,
                              peak_factor=self.peak_factor, ramp=self.ramp, lr_max=lr,
                              step_ratio=step_ratio)
        return FixedSchedule(eps_target=self.eps, epochs=self.epochs, lr_max=lr,
                             lr_shape=self.fixed_lr_shape, step_ratio=step_ratio)


def run_pas(cfg: PASConfig, progress: bool = True, checkpoint_dir: str | Path | None = None,
            stop_after: int | None = None) -> dict[str, Any]:
    """L-FINDINGS (PAS): PAS versus a fixed budget on MNIST (MLP), for every lr of the grid.

    Every run starts from the same initialisation (seed) and sees the same batches. Reported per
    (schedule, lr): clean and PGD test accuracy (``eval_steps`` steps, box [0, 1]), the final
    training loss, whether training diverged, and the schedule itself.

    Units (checkpointed with ``checkpoint_dir``, see the module docstring): one per (seed,
    schedule, lr), its initialisation, batches and PGD starts seeded with ``seed + s``.

    Args:
        cfg: the config. progress: show a progress bar. checkpoint_dir: folder of the
            checkpoint (None: none). stop_after: interrupt after this many new units (tests).
    """
    from numerics.models import MLP

    x, y = _mnist(cfg.n_train, cfg.seed, "train")
    xt, yt = _mnist(cfg.n_test, cfg.seed, "test")
    runs = [(k, lr, cfg.seed + s) for s in cfg.seeds for k in ("pas", "fixed") for lr in cfg.lrs]
    units = _Units("pas", cfg, len(runs), checkpoint_dir=checkpoint_dir, stop_after=stop_after,
                   progress=progress)

    def train_run(kind: str, lr: float, seed: int) -> dict[str, Any]:
        torch.manual_seed(seed)
        model = MLP(784, 10, hidden=cfg.hidden)
        gen = torch.Generator().manual_seed(seed)
        sched = cfg.schedule(kind, lr)
        losses = _train_deep(model, x, y, sched, batch_size=cfg.batch_size,
                             pgd_steps=cfg.pgd_steps, norm="linf", momentum=cfg.momentum,
                             gen=gen)
        diverged = not math.isfinite(losses[-1])
        if diverged:
            clean, adv = 0.1, 0.0
        else:
            clean, adv = _robust_accuracy(model, xt, yt, cfg.eps, "linf", cfg.eval_steps, gen)
        return {"schedule": kind, "lr": lr, "seed": seed, "clean_acc": clean,
                "robust_acc": adv,
                "final_train_loss": losses[-1], "diverged": diverged,
                "schedule_config": dataclasses.asdict(sched)}

    rows = [units(f"{kind}/{lr!r}/{seed}", lambda k=kind, lr=lr, s=seed: train_run(k, lr, s))
            for kind, lr, seed in runs]
    units.close()
    return {"rows": rows}


def pas_table(results: dict[str, Any]) -> dict[str, dict[float, dict[str, float]]]:
    """Mean over seeds of robust and clean test accuracy: ``{schedule: {lr: {...}}}``."""
    table: dict[str, dict[float, dict[str, float]]] = {"pas": {}, "fixed": {}}
    for kind in table:
        for lr in sorted({r["lr"] for r in results["rows"] if r["schedule"] == kind}):
            sel = [r for r in results["rows"] if r["schedule"] == kind and r["lr"] == lr]
            table[kind][lr] = {
                "robust_acc": float(np.mean([r["robust_acc"] for r in sel])),
                "clean_acc": float(np.mean([r["clean_acc"] for r in sel if "clean_acc" in r]
                                           or [float("nan")])),
                "seeds": len(sel),
            }
    return table


def judge_pas(results: dict[str, Any]) -> dict[str, Any]:
    """L-FINDINGS (PAS) verdict from the seed-averaged robust test accuracy per learning rate.

    "better": higher mean over the lr grid; "less sensitive": smaller spread (max - min) across
    the grid. Also reported: the best lr's accuracy and the standard deviation across the grid.
    """
    table = pas_table(results)
    out: dict[str, Any] = {}
    for kind in ("pas", "fixed"):
        acc = [v["robust_acc"] for v in table[kind].values()]
        out[kind] = {"mean": float(np.mean(acc)), "best": float(np.max(acc)),
                     "spread": float(np.max(acc) - np.min(acc)), "std": float(np.std(acc))}
    out["better"] = out["pas"]["mean"] > out["fixed"]["mean"]
    out["less_sensitive"] = out["pas"]["spread"] < out["fixed"]["spread"]
    return out


# ---------------------------------------------------------------------------------------------
# Profiles, dispatch, evidence
# ---------------------------------------------------------------------------------------------

CONFIGS: dict[str, type] = {"smoothness": SmoothnessConfig, "budget": BudgetConfig,
                            "findings": FindingsConfig, "pas": PASConfig}
RUNNERS: dict[str, Callable[..., dict[str, Any]]] = {
    "smoothness": run_smoothness, "budget": run_budget, "findings": run_findings,
    "pas": run_pas,
}
#: Sizes of the ``full`` profile (``ci`` uses the dataclass defaults; ``gpu`` as ``full``).
FULL: dict[str, dict[str, Any]] = {
    "smoothness": {"n_samples": 12665, "n_directions": 8, "n_coordinates": 12,
                   "opt_iters": 1000},
    "budget": {"n_samples": 12665, "steps": 3000, "box_train_steps": 600},
    "findings": {"n_train": 10000, "epochs": 10, "pgd_steps": 10, "n_hessian": 1000,
                 "hidden": (128,), "logistic_n": 12665, "logistic_steps": 1000},
    "pas": {"n_train": 10000, "n_test": 2000, "epochs": 10, "periods": 2, "pgd_steps": 10,
            "eval_steps": 20, "lrs": (0.003, 0.01, 0.03, 0.1, 0.3)},
}


def config_for(study: str, profile: str | None = None, **overrides: Any) -> Any:
    """The config of ``study`` at ``profile`` (default: the current profile), with overrides."""
    if study not in CONFIGS:
        raise ConfigError(f"unknown study {study!r}: use one of {STUDIES}")
    prof = current_profile(profile)
    values = dict(FULL[study]) if prof in ("full", "gpu") else {}
    values.update(overrides)
    values["profile"] = prof
    return CONFIGS[study](**values)


def run_study(study: str, cfg: Any, progress: bool = True,
              checkpoint_dir: str | Path | None = None,
              stop_after: int | None = None) -> dict[str, Any]:
    """Run one study on its config and return its results dict.

    Args:
        study: one of :data:`STUDIES`. cfg: its config. progress: show a progress bar.
        checkpoint_dir: folder of the study's checkpoint (``<study>.ckpt``): finished units are
            saved there and reused by a later call with the same config (None: no checkpoint).
        stop_after: interrupt (KeyboardInterrupt) after this many newly computed units; for
            tests of resumption.
    """
    if study not in RUNNERS:
        raise ConfigError(f"unknown study {study!r}: use one of {STUDIES}")
    return RUNNERS[study](cfg, progress=progress, checkpoint_dir=checkpoint_dir,
                         stop_after=stop_after)


def _load(study: str, results_dir: Path | None) -> dict[str, Any] | None:
    path = (results_dir or RESULTS_DIR) / f"{study}.json"
    if not path.exists():
        return None
    return read_result(path)


def _absent(study: str, claim: str) -> Evidence:
    return Evidence("data", False,
                    f"{claim}: no results/liu_kanai/{study}.json; run `advlandscape liu-kanai "
                    f"{study}`", ran=False)


def _scale(record: dict[str, Any]) -> str:
    return f"profile {record['config'].get('profile', '?')}"


def evidence_k_smooth(results_dir: Path | None = None) -> Evidence:
    """K-SMOOTH data evidence from ``results/liu_kanai/smoothness.json`` (see judge_smoothness)."""
    record = _load("smoothness", results_dir)
    if record is None:
        return _absent("smoothness", "K-SMOOTH")
    ev = judge_smoothness(record["results"])
    return dataclasses.replace(ev, summary=f"{ev.summary} ({_scale(record)})")


def evidence_l_budget(results_dir: Path | None = None) -> Evidence:
    """L-BUDGET data evidence from ``results/liu_kanai/budget.json`` (see judge_budget)."""
    record = _load("budget", results_dir)
    if record is None:
        return _absent("budget", "L-BUDGET")
    ev = judge_budget(record["results"])
    return dataclasses.replace(ev, summary=f"{ev.summary} ({_scale(record)})")


def evidence_l_findings(results_dir: Path | None = None) -> Evidence:
    """L-FINDINGS data evidence from ``findings.json`` and ``pas.json`` (MNIST, CPU).

    Passes only when every finding reproduces: escape, gradients and sharpness (judged on the
    MLP, the deep-net setting of the claim; the logistic results are reported), and PAS both
    better and less sensitive to the learning rate. ResNet18 (GPU) is not covered here.
    """
    findings = _load("findings", results_dir)
    pas = _load("pas", results_dir)
    if findings is None or pas is None:
        missing = "findings" if findings is None else "pas"
        return _absent(missing, "L-FINDINGS")
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
        + f" ({_scale(findings)}, {_scale(pas)})"
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


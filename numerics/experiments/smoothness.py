"""K-SMOOTH on data (Kanai et al. 2021): where the robust logistic loss is smooth, and where not.

:func:`run_smoothness` measures, on MNIST2, finite-difference gradient ratios of the robust loss
L_eps(w) = mean_n zeta(-y_n w.x_n + eps ||w||_q) (attack depending on w, closed form) near w = 0
(p = 2) against the bound K(r) of :mod:`theory.smoothness`, the jumps of the gradient across the
hyperplanes w_i = 0 (p = inf) against 2 eps mean s(-m), and smooth (L-BFGS) versus subgradient
optimisation of the L-inf loss. :func:`judge_smoothness` turns a record into evidence and
:func:`evidence_k_smooth` reads the committed ``results/smoothness/smoothness.json``.

Units of work (checkpointed, :mod:`numerics.experiments.units`): the p = 2 ratios, the p = inf
jumps, and each optimiser run.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import scipy.optimize
import torch

from numerics.data.subsets import check_subset_size
from numerics.experiments.units import (
    DTYPE,
    Units,
    absent,
    check_int,
    load_record,
    mnist2_subset,
    scale,
    unit_seed,
)
from numerics.linear.bounds import linf_jump, lipschitz_bound
from numerics.linear.train import fit_linf_split
from numerics.ops import robust_loss_and_grad
from theory.claims import SMOOTH_BLOWUP_TOL, SMOOTH_GROWTH_MIN, SMOOTH_JUMP_RTOL, Evidence
from theory.errors import ConfigError
from theory.validate import check_eps

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
    "SmoothnessConfig",
    "evidence_k_smooth",
    "judge",
    "judge_smoothness",
    "run",
    "run_smoothness",
    "unit_names",
]


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

    n_samples: int = 12665
    eps_l2: float = 1.0
    eps_linf: float = 0.1
    radii: tuple[float, ...] = (1.0, 0.1, 1e-2, 1e-3, 1e-4, 1e-5)
    rel_step: float = 1e-3
    n_directions: int = 8
    linf_steps: tuple[float, ...] = (1e-1, 1e-2, 1e-3, 1e-4, 1e-5, 1e-6)
    n_coordinates: int = 12
    opt_weight_decay: float = 1e-3
    opt_iters: int = 1000
    seed: int = 0
    profile: str = "full"

    def __post_init__(self) -> None:
        check_int(self.n_samples, "n_samples", 2)
        check_subset_size(self.n_samples, "mnist2", "train", "n_samples", whole="12665")
        check_eps(self.eps_l2, "eps_l2")
        check_eps(self.eps_linf, "eps_linf")
        if not self.radii or any(r <= 0 for r in self.radii):
            raise ConfigError("radii must be a non-empty tuple of positive numbers")
        if not self.linf_steps or any(h <= 0 for h in self.linf_steps):
            raise ConfigError("linf_steps must be a non-empty tuple of positive numbers")
        if not 0 < self.rel_step < 1:
            raise ConfigError(f"rel_step must be in (0, 1), got {self.rel_step}")
        check_int(self.n_directions, "n_directions")
        check_int(self.n_coordinates, "n_coordinates")
        check_int(self.opt_iters, "opt_iters")


def _l2_ratios(cfg: SmoothnessConfig, x: torch.Tensor, y: torch.Tensor,
               gen: torch.Generator) -> dict[str, Any]:
    """p = 2: ratios ||grad L(w_2) - grad L(w_1)|| / ||w_2 - w_1|| along rays to w = 0.

    The derived bound (K-SMOOTH) on the segment, where ||w|| >= r: the Hessian of HESS-DEP,
    mean_n [s(m)s(-m) v_n v_n^T + s(-m_n)(eps/||w||)(I - w^ w^T)], v_n = y_n x_n - eps w^, has
    spectral norm <= K(r) = A + eps/r with A = mean_n (||x_n|| + eps)^2 / 4
    (:func:`numerics.linear.bounds.lipschitz_bound`). As r -> 0 every margin
    m_n -> 0, s(-m_n) -> 1/2 and, for a step orthogonal to w, the ratio behaves like eps/(2r):
    ``ratio * r / eps`` tends to 1/2.
    """
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
            _, g1 = robust_loss_and_grad(w1, x, y, eps, "l2")
            _, g2 = robust_loss_and_grad(w2, x, y, eps, "l2")
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
    :func:`numerics.linear.bounds.linf_jump`).
    """
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
            _, g_minus = robust_loss_and_grad(base - e, x, y, eps, "linf")
            _, g_plus = robust_loss_and_grad(base + e, x, y, eps, "linf")
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
            val, g = robust_loss_and_grad(w, x, y, eps, norm)
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
        w_split_t, res_split = fit_linf_split(x, y, eps, lam, False, 20 * cfg.opt_iters)
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


def run_smoothness(cfg: SmoothnessConfig, units: Units | None = None) -> dict[str, Any]:
    """K-SMOOTH on MNIST2: gradient ratios near w = 0 (p = 2), jumps across w_i = 0 (p = inf).

    Units (checkpointed with ``checkpoint_dir``, :mod:`numerics.experiments.units`): the p = 2
    ratios (generator seeded with ``seed``), the p = inf jumps (generator seeded with
    ``unit_seed(seed, "linf")``), and each of the four optimiser runs.

    Args:
        cfg: the config. units: runs each unit, checkpointing and resuming it
            (:func:`numerics.experiments.protocol.execute` builds it; default: none kept).

    Returns:
        ``{"l2": ..., "linf": ..., "optimisers": ...}`` (see :func:`_l2_ratios`,
        :func:`_linf_jumps`, :func:`_optimiser_comparison`).
    """
    units = units if units is not None else Units(NAME, cfg, len(unit_names(cfg)))
    x, y = mnist2_subset(cfg.n_samples, cfg.seed)
    parts = {
        "l2": units("l2", lambda: _l2_ratios(cfg, x, y, torch.Generator().manual_seed(cfg.seed))),
        "linf": units("linf", lambda: _linf_jumps(
            cfg, x, y, torch.Generator().manual_seed(unit_seed(cfg.seed, "linf")))),
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
    blowup_ok = all(abs(v - 0.5) < SMOOTH_BLOWUP_TOL for v in at_min)
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
    growth_ok = bool(growth) and min(growth) > SMOOTH_GROWTH_MIN
    opt = results["optimisers"]
    passed = not over and blowup_ok and jump_err < SMOOTH_JUMP_RTOL and growth_ok
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


def evidence_k_smooth(results_dir: Path | None = None) -> Evidence:
    """K-SMOOTH data evidence from ``results/smoothness/smoothness.json`` (see judge_smoothness)."""
    record = load_record("smoothness", results_dir)
    if record is None:
        return absent("smoothness", "K-SMOOTH")
    ev = judge_smoothness(record["results"])
    return dataclasses.replace(ev, summary=f"{ev.summary} ({scale(record)})")


# -- the study protocol (numerics.experiments.protocol) ---------------------------------------

NAME = "smoothness"
TITLE = "K-SMOOTH on MNIST2: gradient ratios near w = 0 (L2), jumps across w_i = 0 (L-inf)"
CLAIMS = ("K-SMOOTH",)
Config = SmoothnessConfig
#: The paper's scale is the Config's defaults (all of MNIST2); ``ci`` a subset.
SCALES: dict[str, dict[str, Any]] = {
    "ci": {"n_samples": 500, "n_directions": 4, "n_coordinates": 6, "opt_iters": 300},
    "full": {},
}
MINUTES = {"ci": 0.5, "full": 0.5}
#: The optimisers stop at their own tolerance, so their last digits (L-BFGS's gap, ~1%) follow
#: the order of BLAS reductions, which the thread count sets: it runs on 2 wherever it runs, as
#: its committed records did.
THREADS = 2
RESULT = "smoothness.json"
run = run_smoothness
EVIDENCE = {"K-SMOOTH": evidence_k_smooth}


def unit_names(cfg: SmoothnessConfig) -> list[str]:
    """The units of :func:`run_smoothness`: the two parts and the four optimiser runs."""
    return ["l2", "linf", "optimisers/lbfgs", "optimisers/subgradient",
            "optimisers/split_reference", "optimisers/lbfgs_l2"]


def judge(results: dict[str, Any]) -> str:
    """One line: :func:`judge_smoothness`'s summary."""
    return judge_smoothness(results).summary

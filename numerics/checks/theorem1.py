"""Numeric check of Y-T1 (a): d lambda_1/d eps at fixed w against autograd, and its sign."""

from __future__ import annotations

import torch

from numerics.ledger import register
from numerics.linear.curvature import (
    dlambda1_deps_per_point,
    increase_condition,
    top_eigenvalue_per_point,
)
from numerics.ops import zeta
from theory.adversarial_loss import ROBUST_LOSS_TORCH
from theory.claims import Evidence
from theory.theorem1 import margin_threshold, verify_y_t1

__all__ = [
    "autograd_full_top_eigenvalue",
    "autograd_top_eigenvalue",
    "check_y_t1",
    "random_instances",
]

# This topic's symbolic checks (theory/ registers nothing itself).
register("Y-T1", "symbolic")(verify_y_t1)


def autograd_top_eigenvalue(
    w: torch.Tensor, x: torch.Tensor, y: float, eps: torch.Tensor
) -> torch.Tensor:
    """lambda_1(eps): top eigenvalue of the autograd Hessian of zeta(-y w.(x + eta*)) at w.

    eta* = -eps y w/||w|| is held fixed while differentiating in w (Y-HESS), and depends on
    ``eps`` (a tensor that may require grad), so d lambda_1/d eps follows by autograd through
    ``torch.func.hessian`` and ``torch.linalg.eigvalsh``.
    """
    eta = -eps * y * w / w.norm()

    def loss(ww: torch.Tensor) -> torch.Tensor:
        z = -y * ww @ (x + eta)
        return zeta(z)

    hess = torch.func.hessian(loss)(w)
    return torch.linalg.eigvalsh(hess)[-1]


def autograd_full_top_eigenvalue(
    w: torch.Tensor, x: torch.Tensor, y: float, eps: torch.Tensor
) -> torch.Tensor:
    """Top eigenvalue of the full HESS-DEP Hessian of zeta(-(y w.x - eps ||w||)) (attack
    following w, so including s(-m)(eps/||w||)(I - w^ w^T)), differentiable in ``eps``."""

    def loss(ww: torch.Tensor) -> torch.Tensor:  # the lambdified robust loss, eps a tensor
        return ROBUST_LOSS_TORCH(ww @ x, ww.norm(), y, eps)

    return torch.linalg.eigvalsh(torch.func.hessian(loss)(w))[-1]


def random_instances(
    k: int = 150, d: int = 5, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """k float64 instances (w, x, y, eps) with ||w|| spread over 10^[-1, 1] and mixed margins."""
    g = torch.Generator().manual_seed(seed)
    w = torch.randn(k, d, generator=g, dtype=torch.float64)
    w = w * (10 ** (2 * torch.rand(k, 1, generator=g, dtype=torch.float64) - 1))
    x = torch.randn(k, d, generator=g, dtype=torch.float64) * 1.5
    y = torch.where(torch.rand(k, generator=g, dtype=torch.float64) < 0.5, 1.0, -1.0)
    eps = torch.rand(k, generator=g, dtype=torch.float64)
    return w, x, y, eps


@register("Y-T1", "numeric")
def check_y_t1() -> Evidence:
    """Y-T1 (a) (Yamada et al. Theorem 1), numeric: the closed form of d lambda_1/d eps against
    autograd through the Hessian's top eigenvalue (float64, relative error <= 1e-10 against the
    size of its two terms), the exact sign condition against the autograd sign, and the
    sufficient condition m >= m* (every such instance increases); instances below m* where
    lambda_1 decreases are counted and one is reported as the counterexample. As an observation
    (not part of the pass criterion) the top eigenvalue of the full HESS-DEP Hessian, with its
    s(-m)(eps/||w||)(I - w^ w^T) term, is differentiated too on the instances with m >= m*.
    """
    w, x, y, eps = random_instances()
    m_star = float(margin_threshold())
    worst_err, agree, total_sign, above, above_increase, decreasing = 0.0, 0, 0, 0, 0, 0
    full_increase = 0  # observation: the full HESS-DEP top eigenvalue (not part of the claim)
    example = None
    for wi, xi, yi, ei in zip(w, x, y, eps, strict=True):
        et = ei.clone().requires_grad_(True)
        lam = autograd_top_eigenvalue(wi, xi, float(yi), et)
        (auto,) = torch.autograd.grad(lam, et)
        lam = lam.detach()
        closed = dlambda1_deps_per_point(wi, xi[None], yi[None], float(ei))[0]
        lam_closed = top_eigenvalue_per_point(wi, xi[None], yi[None], float(ei))[0]
        m = float(yi * (xi @ wi) - ei * wi.norm())
        wn = float(wi.norm())
        g_m = float(torch.sigmoid(torch.tensor(m)) * torch.sigmoid(torch.tensor(-m)))
        v_sq = float(((yi * xi - ei * wi / wi.norm()) ** 2).sum())
        # the size of the two terms of g(m) [W tanh(m/2) ||v||^2 - 2 m / W]
        scale = g_m * (wn * abs(float(torch.tanh(torch.tensor(m / 2)))) * v_sq + 2 * abs(m) / wn)
        err = abs(float(auto) - float(closed)) / max(scale, 1e-300)
        err_lam = abs(float(lam) - float(lam_closed)) / max(float(lam_closed), 1e-300)
        worst_err = max(worst_err, err, err_lam)
        if abs(float(auto)) > 1e-8 * scale:
            total_sign += 1
            cond = bool(increase_condition(wi, xi[None], yi[None], float(ei))[0])
            agree += cond == (float(auto) > 0)
        if m >= m_star:
            above += 1
            above_increase += float(auto) > 0
            et_full = ei.clone().requires_grad_(True)
            (full,) = torch.autograd.grad(
                autograd_full_top_eigenvalue(wi, xi, float(yi), et_full), et_full)
            full_increase += float(full) > 0
        if float(auto) < 0 and 0 < m < m_star:
            decreasing += 1
            if example is None:
                example = {"w": wi.tolist(), "x": xi.tolist(), "y": float(yi), "eps": float(ei),
                           "m": m, "dlambda1_deps": float(auto)}
    passed = worst_err <= 1e-10 and agree == total_sign and above_increase == above and above > 0
    return Evidence(
        "numeric", bool(passed),
        f"{len(w)} instances: closed form vs autograd rel err {worst_err:.1e}; exact sign "
        f"condition agrees on {agree}/{total_sign}; all {above_increase}/{above} with m >= m* "
        f"increase; {decreasing} with 0 < m < m* decrease (full HESS-DEP top eigenvalue, "
        f"observed: {full_increase}/{above} increase)",
        conditions=(f"robust margin m >= m* = {m_star:.6f} at fixed w (sufficient); exactly "
                    "m (||w||^2 ||x_perp||^2 - phi(m)) > 0",),
        counterexample=example,
        details={"max_rel_err": worst_err, "sign_agree": agree, "sign_total": total_sign,
                 "above_m_star": above, "above_increase": above_increase,
                 "decreasing_below_m_star": decreasing, "instances": len(w),
                 "full_hessian_above_increase": full_increase},
    )

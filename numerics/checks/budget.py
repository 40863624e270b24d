"""Numeric check of L-BUDGET: the budget threshold and the gradient bound, in float64."""

from __future__ import annotations

import torch

from numerics.ledger import register
from numerics.linear.bounds import (
    best_bias_at_zero,
    budget_threshold,
    gradient_bound_constants,
    threshold_direction,
)
from numerics.ops import robust_gradient, robust_loss, robust_loss_and_grad
from theory.budget import verify_l_budget
from theory.claims import Evidence

__all__ = [
    "check_l_budget",
    "descent_below",
    "gradient_bound_ratios",
    "make_problem",
    "minimiser_gap",
]

# This topic's symbolic checks (theory/ registers nothing itself).
register("L-BUDGET", "symbolic")(verify_l_budget)


def make_problem(n: int = 40, d: int = 5, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """A small float64 binary problem with unbalanced classes and shifted means (for checks)."""
    g = torch.Generator().manual_seed(seed)
    y = torch.where(torch.rand(n, generator=g, dtype=torch.float64) < 0.65, 1.0, -1.0)
    x = torch.randn(n, d, generator=g, dtype=torch.float64) + 0.4 * y.unsqueeze(1) + 0.2
    return x, y


def minimiser_gap(
    x: torch.Tensor, y: torch.Tensor, eps: float, norm: str, bias: bool, n_dirs: int = 400,
    seed: int = 1,
) -> float:
    """min over random (w, b) near and far from (0, b*) of L_eps(w, b) - L_eps(0, b*).

    Non-negative (up to rounding) iff no sampled point beats the trivial minimiser; the samples
    cover scales 1e-6 .. 10 in random directions and the Hoelder direction u*.
    """
    g = torch.Generator().manual_seed(seed)
    d = x.shape[1]
    b0 = best_bias_at_zero(y) if bias else 0.0
    zero = torch.zeros(d + 1 if bias else d, dtype=x.dtype)
    if bias:
        zero[-1] = b0
    base = robust_loss(zero, x, y, eps, norm).mean()
    dirs = torch.randn(n_dirs, d, generator=g, dtype=x.dtype)
    dirs = torch.cat([dirs / dirs.norm(dim=1, keepdim=True),
                      threshold_direction(x, y, norm, bias)[None]])
    scales = torch.logspace(-6, 1, 15, dtype=x.dtype)
    w = (scales[:, None, None] * dirs[None]).reshape(-1, d)  # (15 (K+1), d)
    if bias:  # the bias as the implicit last weight, perturbed around b*
        db = torch.randn(w.shape[0], generator=g, dtype=x.dtype) * w.norm(dim=1)
        w = torch.cat([w, (b0 + db)[:, None]], dim=1)
    values = robust_loss(w, x, y, eps, norm).mean(dim=1)
    return float((values - base).min())


def descent_below(x: torch.Tensor, y: torch.Tensor, eps: float, norm: str) -> tuple[float, float]:
    """(autograd one-sided slope of tau -> L_eps(tau u*) at tau = 0+, predicted (eps - eps_0)/2)."""
    u = threshold_direction(x, y, norm)
    tau = torch.tensor(1e-30, dtype=x.dtype, requires_grad=True)
    val = robust_loss(tau * u, x, y, eps, norm).mean()
    (slope,) = torch.autograd.grad(val, tau)
    return float(slope), (eps - budget_threshold(x, y, norm)) / 2


def gradient_bound_ratios(
    x: torch.Tensor, y: torch.Tensor, eps: float, n_pairs: int = 400, seed: int = 2,
) -> dict[str, float]:
    """Random pairs (w1, w2): max of ||g1 - g2|| / (A ||w1 - w2|| + B eps) and of the plain
    Lipschitz ratio ||g1 - g2|| / ||w1 - w2||, for generic pairs and pairs on opposite sides of 0
    (w2 = -c w1, small norms), where the B eps term is needed. Also the worst relative error of
    the closed-form gradient against autograd."""
    g = torch.Generator().manual_seed(seed)
    d = x.shape[1]
    a_const, b_const = gradient_bound_constants(x, eps)
    w1 = torch.randn(n_pairs, d, generator=g, dtype=x.dtype) * torch.logspace(
        -4, 1, n_pairs, dtype=x.dtype).unsqueeze(1)
    w2 = w1 + torch.randn(n_pairs, d, generator=g, dtype=x.dtype) * torch.logspace(
        -6, 1, n_pairs, dtype=x.dtype)[torch.randperm(n_pairs, generator=g)].unsqueeze(1)
    c = torch.rand(n_pairs, 1, generator=g, dtype=x.dtype) + 0.5
    small = torch.randn(n_pairs, d, generator=g, dtype=x.dtype) * torch.logspace(
        -8, -1, n_pairs, dtype=x.dtype).unsqueeze(1)
    out: dict[str, float] = {"A": a_const, "B": b_const, "pairs": n_pairs}
    for name, (p, q) in {"generic": (w1, w2), "opposite": (small, -c * small)}.items():
        dg = (robust_gradient(p, x, y, eps, mean=True)
              - robust_gradient(q, x, y, eps, mean=True)).norm(dim=1)
        dw = (p - q).norm(dim=1)
        out[f"{name}_bound_ratio_max"] = float((dg / (a_const * dw + b_const * eps)).max())
        out[f"{name}_lipschitz_ratio_max"] = float((dg / dw).max())
    # closed form against autograd
    worst = 0.0
    for w in w1[::20]:
        _, auto = robust_loss_and_grad(w, x, y, eps, "l2")
        closed = robust_gradient(w, x, y, eps, mean=True)
        worst = max(worst, float((auto - closed).norm() / auto.norm()))
    out["grad_rel_err_max"] = worst
    return out


@register("L-BUDGET", "numeric")
def check_l_budget() -> Evidence:
    """L-BUDGET (Liu et al. 2020), numeric: threshold and gradient bound on a random problem.

    For p in {2, inf} and with/without bias: at eps = 1.001 eps_0 no sampled (w, b) beats (0, b*);
    at eps = 0.99 eps_0 a point does (the Hoelder direction u*); without bias, the autograd slope
    of L_eps(tau u*) at 0+ equals (eps - eps_0)/2 (rel. err <= 1e-10). Gradient bound (L2): the
    closed-form gradient agrees with autograd (<= 1e-10) and ||g1 - g2|| / (A||w1 - w2|| + B eps)
    <= 1 on random pairs, while pairs across 0 have unbounded Lipschitz ratios.
    """
    x, y = make_problem()
    details: dict[str, float | bool] = {}
    ok = True
    for norm in ("l2", "linf"):
        for bias in (False, True):
            thr = budget_threshold(x, y, norm, bias)
            above = minimiser_gap(x, y, 1.001 * thr, norm, bias)
            below = minimiser_gap(x, y, 0.99 * thr, norm, bias)
            key = f"{norm}{'_bias' if bias else ''}"
            details[f"{key}_threshold"] = thr
            details[f"{key}_gap_above"] = above
            details[f"{key}_gap_below"] = below
            ok &= above >= -1e-14 and below < 0
        slope, predicted = descent_below(x, y, 0.5 * budget_threshold(x, y, norm), norm)
        details[f"{norm}_slope_rel_err"] = abs(slope - predicted) / abs(predicted)
        ok &= details[f"{norm}_slope_rel_err"] <= 1e-10
    eps = 0.3
    ratios = gradient_bound_ratios(x, y, eps)
    details.update(ratios)
    ok &= ratios["generic_bound_ratio_max"] <= 1 and ratios["opposite_bound_ratio_max"] <= 1
    ok &= ratios["grad_rel_err_max"] <= 1e-10
    ok &= ratios["opposite_lipschitz_ratio_max"] > 1e3 * ratios["A"]  # B eps is needed
    return Evidence(
        "numeric", bool(ok),
        f"threshold: (0, b*) optimal at 1.001 eps_0, beaten at 0.99 eps_0 for L2/L-inf, "
        f"bias or not; L2 gradient bound: max over {ratios['pairs']} sampled pairs of "
        f"||dg||/(A||dw|| + B eps) {ratios['generic_bound_ratio_max']:.3f} (generic), "
        f"{ratios['opposite_bound_ratio_max']:.3f} (across 0, where the Lipschitz ratio reaches "
        f"{ratios['opposite_lipschitz_ratio_max']:.2e} >> A = {ratios['A']:.2f}); "
        f"grad vs autograd {ratios['grad_rel_err_max']:.1e}",
        details=details,
    )

"""Numeric check of K-SMOOTH: finite-difference gradient ratios on ||w|| >= r and across w_i = 0."""

from __future__ import annotations

from typing import Any

import torch

from numerics.ledger import register
from numerics.linear.bounds import linf_jump, lipschitz_bound, segment_min_norm
from numerics.ops import robust_gradient, robust_loss_and_grad
from theory.claims import Evidence
from theory.smoothness import verify_k_smooth

__all__ = [
    "check_k_smooth",
    "gradient_vs_autograd",
    "l2_ratios",
    "linf_ratios",
    "make_data",
    "pairs_outside",
]

# This topic's symbolic checks (theory/ registers nothing itself).
register("K-SMOOTH", "symbolic")(verify_k_smooth)


def make_data(n: int = 20, d: int = 4, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """A small float64 binary data set for the smoothness checks."""
    g = torch.Generator().manual_seed(seed)
    y = torch.where(torch.rand(n, generator=g, dtype=torch.float64) < 0.5, 1.0, -1.0)
    x = torch.randn(n, d, generator=g, dtype=torch.float64) + 0.5 * y.unsqueeze(1)
    return x, y


def pairs_outside(r: float, d: int, k: int, generator: torch.Generator
                  ) -> tuple[torch.Tensor, torch.Tensor]:
    """k pairs (w1, w2) with ||w1||, ||w2|| >= r: random far pairs, close pairs near the sphere
    of radius r, and near-antipodal pairs on it (whose segments cross the ball)."""
    def on_sphere(n: int) -> torch.Tensor:
        u = torch.randn(n, d, generator=generator, dtype=torch.float64)
        return u / u.norm(dim=1, keepdim=True)

    third = k // 3
    radii = r * (1 + 10 * torch.rand(third, 1, generator=generator, dtype=torch.float64))
    far1, far2 = on_sphere(third) * radii, on_sphere(third) * radii.flip(0)
    base = on_sphere(third) * r * 1.0001
    step = on_sphere(third) * r * 10 ** (-3 * torch.rand(third, 1, generator=generator,
                                                         dtype=torch.float64))
    close2 = base + step
    close2 = close2 * torch.clamp(r / close2.norm(dim=1, keepdim=True), min=1.0)
    anti1 = on_sphere(third) * r
    anti2 = -anti1 + 0.1 * r * on_sphere(third)
    anti2 = anti2 * torch.clamp(r / anti2.norm(dim=1, keepdim=True), min=1.0)
    return torch.cat([far1, base, anti1]), torch.cat([far2, close2, anti2])


def l2_ratios(r_values: tuple[float, ...] = (1.0, 0.3, 0.1, 0.03, 0.01), eps: float = 0.5,
              k: int = 900, seed: int = 1) -> dict[str, list[float]]:
    """K-SMOOTH (L2): per r, the max ratio ||g1 - g2||/||w1 - w2|| over pairs in {||w|| >= r},
    split by whether the segment stays in the set (both are bounded by K(r), the proof needing
    no segment), against K(r)."""
    x, y = make_data()
    g = torch.Generator().manual_seed(seed)
    out: dict[str, Any] = {"r": list(r_values), "pairs": k, "max_ratio_segment_inside": [],
                           "max_ratio_any": [], "K": [],
                                   "max_ratio_times_r_over_eps": []}
    for r in r_values:
        w1, w2 = pairs_outside(r, x.shape[1], k, g)
        dg = robust_gradient(w1, x, y, eps, mean=True) - robust_gradient(w2, x, y, eps, mean=True)
        ratio = dg.norm(dim=1) / (w1 - w2).norm(dim=1)
        inside = segment_min_norm(w1, w2) >= r * (1 - 1e-12)
        out["max_ratio_segment_inside"].append(float(ratio[inside].max()))
        out["max_ratio_any"].append(float(ratio.max()))
        out["K"].append(lipschitz_bound(x, eps, r))
        out["max_ratio_times_r_over_eps"].append(float(ratio.max()) * r / eps)
    return out


def linf_ratios(steps: tuple[float, ...] = (1e-2, 1e-4, 1e-6, 1e-8), eps: float = 0.3
                ) -> dict[str, list[float] | float]:
    """K-SMOOTH (L-inf): across w_1 = 0, ||g(w0 + h e_1) - g(w0 - h e_1)|| / (2h) and the jump of
    the first coordinate, against 2 eps mean s(-m)."""
    x, y = make_data()
    w0 = torch.tensor([0.0, 0.7, -0.4, 0.2], dtype=torch.float64)
    e1 = torch.zeros_like(w0)
    e1[0] = 1.0
    jump = float(linf_jump(w0, x, y, eps))
    out: dict[str, list[float] | float] = {"h": list(steps), "jump_theory": jump,
                                           "ratio": [], "jump_measured": [], "other_coords": []}
    for h in steps:
        dg = robust_gradient(w0 + h * e1, x, y, eps, "linf", mean=True) - robust_gradient(
            w0 - h * e1, x, y, eps, "linf", mean=True)
        out["ratio"].append(float(dg.norm() / (2 * h)))
        out["jump_measured"].append(float(dg[0]))
        out["other_coords"].append(float(dg[1:].norm()))
    return out


def gradient_vs_autograd(eps: float = 0.5, k: int = 20, seed: int = 3) -> float:
    """Max relative error of :func:`robust_gradient` (L2 and L-inf) against autograd."""
    x, y = make_data()
    g = torch.Generator().manual_seed(seed)
    worst = 0.0
    for norm in ("l2", "linf"):
        for _ in range(k):
            w = torch.randn(x.shape[1], generator=g, dtype=torch.float64)
            _, auto = robust_loss_and_grad(w, x, y, eps, norm)
            ours = robust_gradient(w, x, y, eps, norm, mean=True)
            worst = max(worst, float((auto - ours).norm() / auto.norm()))
    return worst


@register("K-SMOOTH", "numeric")
def check_k_smooth() -> Evidence:
    """K-SMOOTH (Kanai et al. 2021), numeric: gradient formula vs autograd (<= 1e-10); on
    {||w|| >= r} every gradient-difference ratio is <= K(r), for every sampled pair (segments
    crossing the ball included), while the largest ratio grows like eps/r as r shrinks; across
    w_1 = 0 (L-inf) the first gradient coordinate jumps by 2 eps mean s(-m) and the ratio grows
    like 1/h.
    """
    err = gradient_vs_autograd()
    l2 = l2_ratios()
    li = linf_ratios()
    bound_ok = all(a <= k * (1 + 1e-9) for a, k in zip(l2["max_ratio_any"], l2["K"],
                                                     strict=True))
    scaled = l2["max_ratio_times_r_over_eps"]
    # the lower bound eps/(2r) is reached at the smallest r, and the ratio grows as r shrinks
    blowup_ok = (l2["max_ratio_any"][-1] > 10 * l2["max_ratio_any"][0]
                 and scaled[-1] >= 0.5 * (1 - 1e-2))
    jump_th = float(li["jump_theory"])
    jump_err = max(abs(j - jump_th) for j in li["jump_measured"][1:])  # h <= 1e-4
    ratios = li["ratio"]
    linf_ok = (jump_err <= 1e-3 * jump_th and max(li["other_coords"][1:]) <= 1e-3
               and all(ratios[i + 1] > 50 * ratios[i] for i in range(len(ratios) - 1)))
    passed = err <= 1e-10 and bound_ok and blowup_ok and linf_ok
    return Evidence(
        "numeric", bool(passed),
        f"grad vs autograd {err:.1e}; L2: max over {l2['pairs']} sampled pairs per r of the "
        f"ratio <= K(r) for r = {l2['r']} "
        f"(ratio * r/eps -> {scaled[-1]:.3f} as r -> {l2['r'][-1]}); L-inf jump "
        f"{li['jump_measured'][-1]:.6f} vs 2 eps mean s(-m) = {jump_th:.6f}, ratio "
        f"{ratios[0]:.2e} -> {ratios[-1]:.2e} as h = {li['h'][0]:g} -> {li['h'][-1]:g}",
        details={"grad_rel_err": err, "l2": l2, "linf": li},
    )

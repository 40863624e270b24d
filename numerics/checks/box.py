"""Numeric checks of BOX-PROJ and BOX-MAX against a generic convex solver (scipy's SLSQP).

Random small instances (d in 2..6): a point x in [0, 1]^d (so lo = -x <= 0 <= hi = 1 - x), a
vector z (the projection) or weights w and a label y (the linear worst case), a budget eps. The
closed forms of :func:`numerics.attacks.project_ball_box` and
:func:`numerics.linear.attack.box_worst_case` must be feasible (in the ball and the box to
rounding) and at least as good as the solver's optimum (the solver stops at its own tolerance,
so the check is one-sided plus a small two-sided gap). Ball-then-box (Madry et al.'s step) is
reported beside: feasible, but not the projection.
"""

from __future__ import annotations

import numpy as np
import scipy.optimize
import torch

from numerics.attacks import project, project_ball_box
from numerics.ledger import register
from numerics.linear.attack import box_worst_case
from theory.box import verify_box_max, verify_box_proj
from theory.claims import Evidence

__all__ = ["FEAS_TOL", "GAP_TOL", "check_box_max", "check_box_proj"]

# This topic's symbolic checks (theory/ registers nothing itself).
register("BOX-PROJ", "symbolic")(verify_box_proj)
register("BOX-MAX", "symbolic")(verify_box_max)

FEAS_TOL = 1e-12  # feasibility of the closed forms (rounding)
GAP_TOL = 1e-7  # |closed-form objective - solver objective| (the solver's own accuracy)


def _instances(count: int, seed: int) -> list[tuple[np.ndarray, np.ndarray, float]]:
    rng = np.random.default_rng(seed)
    out = []
    for k in range(count):
        d = 2 + k % 5
        x = rng.uniform(0, 1, d)
        x[rng.uniform(size=d) < 0.3] = 0.0  # pixels at the edge of the box, as on MNIST
        out.append((x, rng.normal(0, 1.5, d), float(rng.uniform(0.05, 1.5))))
    return out


def _solve(objective: object, gradient: object, x: np.ndarray, eps: float) -> np.ndarray:
    cons = [{"type": "ineq", "fun": lambda t: eps ** 2 - t @ t, "jac": lambda t: -2 * t}]
    res = scipy.optimize.minimize(objective, np.zeros_like(x), jac=gradient,
                                  bounds=list(zip(-x, 1 - x, strict=True)), constraints=cons,
                                  method="SLSQP", options={"ftol": 1e-15, "maxiter": 1000})
    return res.x


@register("BOX-PROJ", "numeric")
def check_box_proj(count: int = 60, seed: int = 40) -> Evidence:
    """BOX-PROJ: clip(z/(1 + mu), lo, hi) against SLSQP's projection onto ball cap box (L2),
    and the clip onto [max(lo, -eps), min(hi, eps)] against it (L-inf, where SLSQP solves the
    box-constrained least squares)."""
    worst_gap, worst_feas, bt_excess = 0.0, 0.0, 0.0
    for x, z, eps in _instances(count, seed):
        xt, zt = torch.as_tensor(x)[None], torch.as_tensor(z)[None]
        ours = project_ball_box(zt, eps, "l2", -xt, 1 - xt)[0].numpy()
        ref = _solve(lambda t, z=z: 0.5 * np.sum((t - z) ** 2), lambda t, z=z: t - z, x, eps)
        f_ours, f_ref = 0.5 * np.sum((ours - z) ** 2), 0.5 * np.sum((ref - z) ** 2)
        worst_gap = max(worst_gap, f_ours - f_ref)
        worst_feas = max(worst_feas, np.linalg.norm(ours) - eps, float(np.max(-x - ours)),
                         float(np.max(ours - (1 - x))))
        madry = project(xt, zt, eps, "l2", (0.0, 1.0), "ball_then_box")[0].numpy()
        bt_excess = max(bt_excess, 0.5 * np.sum((madry - z) ** 2) - f_ours)
        lin = project_ball_box(zt, eps, "linf", -xt, 1 - xt)[0].numpy()
        box = np.clip(z, np.maximum(-x, -eps), np.minimum(1 - x, eps))
        worst_gap = max(worst_gap, float(np.abs(lin - box).max()))
    passed = worst_gap <= GAP_TOL and worst_feas <= FEAS_TOL
    return Evidence(
        "numeric", bool(passed),
        f"{count} instances (d = 2..6): objective of the closed form minus SLSQP's <= "
        f"{worst_gap:.1e} (tolerance {GAP_TOL:g}), feasible to {max(worst_feas, 0):.1e}; "
        f"ball-then-box is farther from z by up to {bt_excess:.3g} (max over the instances)",
        details={"max_gap": worst_gap, "max_infeasibility": worst_feas,
                 "max_ball_then_box_excess": bt_excess, "instances": count},
    )


@register("BOX-MAX", "numeric")
def check_box_max(count: int = 60, seed: int = 41) -> Evidence:
    """BOX-MAX: the linear worst case inside ball cap box against SLSQP maximising -y w.delta
    over it (L2), and the coordinatewise L-inf clip against the box maximiser."""
    worst_gap, worst_feas = 0.0, 0.0
    for k, (x, w, eps) in enumerate(_instances(count, seed)):
        yv = 1.0 if k % 2 else -1.0
        xt, wt, yt = (torch.as_tensor(a) for a in (x[None], w[None], np.array([yv])))
        ours = (box_worst_case(wt, xt, yt, eps, "l2", (0.0, 1.0))[0, 0] - xt[0]).numpy()
        ref = _solve(lambda t, w=w, yv=yv: yv * (w @ t), lambda t, w=w, yv=yv: yv * w, x, eps)
        g_ours, g_ref = -yv * (w @ ours), -yv * (w @ ref)
        worst_gap = max(worst_gap, g_ref - g_ours)
        worst_feas = max(worst_feas, np.linalg.norm(ours) - eps, float(np.max(-x - ours)),
                         float(np.max(ours - (1 - x))))
        lin = (box_worst_case(wt, xt, yt, eps, "linf", (0.0, 1.0))[0, 0] - xt[0]).numpy()
        lo, hi = np.maximum(-x, -eps), np.minimum(1 - x, eps)
        best = np.where(-yv * w > 0, hi, lo)
        worst_gap = max(worst_gap, float(-yv * (w @ best) + yv * (w @ lin)))
    passed = worst_gap <= GAP_TOL and worst_feas <= FEAS_TOL
    return Evidence(
        "numeric", bool(passed),
        f"{count} instances (d = 2..6): SLSQP's maximum of -y w.delta minus the closed form's "
        f"<= {worst_gap:.1e} (tolerance {GAP_TOL:g}), feasible to {max(worst_feas, 0):.1e}",
        details={"max_gap": worst_gap, "max_infeasibility": worst_feas, "instances": count},
    )

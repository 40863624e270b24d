"""Numeric checks of Y-EQ7, Y-L1 and INNER-MAX: the closed forms against autograd and PGD (float64).

Each ``check_*`` draws random instances (dimension d, budget eps, labels y = +-1, p = 2 and
p = inf, with and without a bias coordinate), evaluates the formulas of
:mod:`theory.adversarial_loss` (and the robust loss of :mod:`numerics.ops`, which evaluates them)
and compares them with an independent reference: the plain loss zeta(-y w.(x + eta)) evaluated at
the perturbed input, its ``torch.autograd`` derivative, or projected gradient ascent
(:func:`numerics.attacks.pgd_on_loss`).

Y-EQ7 and Y-L1 are statements about two vectors w and u of the same space, so their checks
perturb every coordinate (a bias coordinate plays no special role there); INNER-MAX follows the
bias convention of :mod:`theory.adversarial_loss` (the constant 1 is never perturbed).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from numerics import ops
from numerics.attacks import pgd_on_loss, uniform_ball_noise
from numerics.ledger import register
from numerics.linear.attack import box_worst_case
from theory import adversarial_loss as al
from theory.adversarial_loss import verify_inner_max, verify_y_eq7, verify_y_l1
from theory.claims import NUMERIC_RTOL, PGD_TOL, Evidence

__all__ = [
    "DIMS",
    "RTOL",
    "Instance",
    "box_effect",
    "check_inner_max",
    "check_y_eq7",
    "check_y_l1",
    "mnist_like_point",
    "pgd_settings",
    "plain_loss",
    "random_instances",
    "rel_err",
    "unit_direction_at_angle",
]

# This topic's symbolic checks (theory/ registers nothing itself).
register("Y-EQ7", "symbolic")(verify_y_eq7)
register("Y-L1", "symbolic")(verify_y_l1)
register("INNER-MAX", "symbolic")(verify_inner_max)

RTOL = NUMERIC_RTOL  # relative error allowed against autograd (docs/claims.md)
DIMS = (2, 3, 5, 10)


@dataclass(frozen=True)
class Instance:
    """A random problem: weights w (d,), inputs x (N, d), labels y (N,), a budget and a norm."""

    w: torch.Tensor
    x: torch.Tensor
    y: torch.Tensor
    eps: float
    norm: str
    bias: bool

    @property
    def mask(self) -> torch.Tensor:
        """1 on the coordinates the attack perturbs, 0 on the bias."""
        return ops.feature_mask(self.w.shape[0], self.bias, self.w)


def random_instances(
    count: int, seed: int = 0, n_points: int = 6, dtype: torch.dtype = torch.float64,
    device: str | torch.device = "cpu",
) -> list[Instance]:
    """``count`` instances cycling through d in (2, 3, 5, 10), p in {2, inf}, bias or not.

    eps ~ U(0.05, 1.5); w, x standard normal (with a bias, the last coordinate of x is 1);
    y uniform on {-1, +1}.
    """
    gen = torch.Generator(device="cpu").manual_seed(seed)
    out = []
    for k in range(count):
        d = DIMS[k % len(DIMS)]
        norm = ("l2", "linf")[(k // len(DIMS)) % 2]
        bias = (k // (2 * len(DIMS))) % 2 == 1
        w = torch.randn(d, generator=gen, dtype=dtype)
        x = torch.randn(n_points, d, generator=gen, dtype=dtype)
        if bias:
            x[:, -1] = 1.0
        y = torch.randint(0, 2, (n_points,), generator=gen).to(dtype) * 2 - 1
        eps = 0.05 + 1.45 * torch.rand((), generator=gen, dtype=dtype).item()
        out.append(Instance(w.to(device), x.to(device), y.to(device), eps, norm, bias))
    return out


def rel_err(value: torch.Tensor, reference: torch.Tensor) -> float:
    """||value - reference|| / ||reference|| (Frobenius norm over all entries)."""
    return float((value - reference).norm() / reference.norm().clamp_min(1e-300))


def plain_loss(w: torch.Tensor, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The reference per-point loss zeta(-y w.x) (the plain logistic loss, no attack)."""
    return ops.zeta(-y * (x @ w))


def unit_direction_at_angle(
    w: torch.Tensor, theta: torch.Tensor, gen: torch.Generator
) -> torch.Tensor:
    """Unit vectors u (len(theta), d) at angle theta to w: cos(theta) w^ + sin(theta) t, t _|_ w."""
    w_hat = w / w.norm()
    t = torch.randn(theta.shape[0], w.shape[0], generator=gen, dtype=w.dtype)
    t = t - (t @ w_hat)[:, None] * w_hat
    t = t / t.norm(dim=1, keepdim=True)
    return torch.cos(theta)[:, None] * w_hat + torch.sin(theta)[:, None] * t


@register("Y-EQ7", "numeric")
def check_y_eq7(count: int = 40, seed: int = 0) -> Evidence:
    """Y-EQ7: zeta(-y w.(x + eps u)) against the lambdified zeta(-y w.x - y eps ||w|| cos theta).

    u is built at a prescribed angle theta ~ U(0, pi) to w (not computed from w.u), so the check
    tests the geometry: w.(x + eps u) = w.x + eps ||w|| cos(theta). Relative error <= 1e-10.
    """
    gen = torch.Generator().manual_seed(seed + 1)
    worst = 0.0
    n = 0
    for inst in random_instances(count, seed):
        if inst.w.shape[0] < 2:
            continue
        theta = math.pi * torch.rand(inst.x.shape[0], generator=gen, dtype=inst.w.dtype)
        u = unit_direction_at_angle(inst.w, theta, gen)
        reference = plain_loss(inst.w, inst.x + inst.eps * u, inst.y)
        closed = al.loss_eq7(inst.x @ inst.w, inst.w.norm(), torch.cos(theta), inst.y, inst.eps)
        worst = max(worst, rel_err(closed, reference))
        n += int(inst.x.shape[0])
    passed = worst <= RTOL
    return Evidence(
        "numeric", passed,
        f"max rel err {worst:.1e} over {n} points ({count} instances, d in {DIMS}) "
        f"(tolerance {RTOL:g})",
        details={"max_rel_err": worst, "points": n, "instances": count},
    )


@register("Y-L1", "numeric")
def check_y_l1(count: int = 40, seed: int = 1, directions: int = 500) -> Evidence:
    """Y-L1 (Lemma 1): dl/deps by autograd against -y ||w|| cos(theta) s(...); sign; worst case.

    Three findings: (1) the relative error of the closed-form derivative against
    ``torch.autograd`` (<= 1e-10); (2) the number of points where sign(dl/deps) differs from
    sign(-y cos theta) (|cos theta| > 1e-6); (3) over ``directions`` random unit u, no loss
    exceeds the loss at u* = -y w/||w|| (beyond 1e-12 relative).
    """
    gen = torch.Generator().manual_seed(seed + 1)
    worst = 0.0
    sign_mismatch = 0
    worst_case_excess = -math.inf
    n = 0
    for inst in random_instances(count, seed):
        theta = math.pi * torch.rand(inst.x.shape[0], generator=gen, dtype=inst.w.dtype)
        u = unit_direction_at_angle(inst.w, theta, gen)
        e = torch.tensor(inst.eps, dtype=inst.w.dtype, requires_grad=True)
        losses = plain_loss(inst.w, inst.x + e * u, inst.y)
        auto = torch.stack([torch.autograd.grad(li, e, retain_graph=True)[0] for li in losses])
        cos = torch.cos(theta)
        closed = al.dloss_deps(inst.x @ inst.w, inst.w.norm(), cos, inst.y, inst.eps)
        worst = max(worst, rel_err(closed, auto))
        clear = cos.abs() > 1e-6
        sign_mismatch += int((torch.sign(auto) != torch.sign(-inst.y * cos))[clear].sum())
        u_rand = torch.randn(directions, inst.w.shape[0], generator=gen, dtype=inst.w.dtype)
        u_rand = u_rand / u_rand.norm(dim=1, keepdim=True)
        x0, y0 = inst.x[0], inst.y[0]
        at_star = plain_loss(inst.w, (x0 - inst.eps * y0 * inst.w / inst.w.norm())[None], y0)
        others = plain_loss(inst.w, x0 + inst.eps * u_rand, y0)
        worst_case_excess = max(worst_case_excess, float((others.max() - at_star) / at_star))
        n += int(inst.x.shape[0])
    passed = worst <= RTOL and sign_mismatch == 0 and worst_case_excess <= 1e-12
    return Evidence(
        "numeric", passed,
        f"dl/deps max rel err {worst:.1e} vs autograd over {n} points; {sign_mismatch} sign "
        f"mismatches; max (l(u) - l(u*))/l(u*) = {worst_case_excess:.1e} over {directions} "
        f"random u x {count} instances",
        details={
            "max_rel_err": worst, "points": n, "sign_mismatches": sign_mismatch,
            "max_relative_excess_over_worst_case": worst_case_excess, "instances": count,
        },
    )


def _feature_loss_fn(inst: Instance, y: torch.Tensor) -> tuple[torch.Tensor, object]:
    """Features to attack and the per-sample loss of them (the bias coordinate kept at 1)."""
    if inst.bias:
        w_f, b = inst.w[:-1], inst.w[-1]
        return inst.x[:, :-1], lambda xf: ops.zeta(-y * (xf @ w_f + b))
    return inst.x, lambda xf: ops.zeta(-y * (xf @ inst.w))


def pgd_settings(eps: float, norm: str) -> dict[str, float | int]:
    """PGD steps and step size used for the unboxed comparison (converges on linear models)."""
    return {"steps": 100, "step_size": eps / 4 if norm == "l2" else eps / 10}


def mnist_like_point(dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """A 28 x 28 image in [0, 1] (flattened to 784): a ring (a drawn '0') on a black background."""
    grid = torch.arange(28, dtype=dtype)
    r = ((grid[:, None] - 13.5) ** 2 / 1.0 + (grid[None, :] - 13.5) ** 2 / 0.6).sqrt()
    img = (1 - (r - 8).abs() / 2).clamp(0, 1)
    return img.reshape(-1)


def box_effect(
    eps_l2: float = 1.0, eps_linf: float = 25.5 / 255, seed: int = 3, steps: int = 200
) -> dict[str, float]:
    """INNER-MAX with the [0, 1] pixel box on a MNIST-like point: how much the box lowers the max.

    w ~ N(0, 1/784), y = -1 (a '0'). Reports the closed-form (no box) maximum, PGD with the box
    (Madry's ball-then-box step, and the exact projection onto ball cap box, BOX-PROJ), and the
    exact boxed maximum (BOX-MAX: for p = inf eta_i = clip(-eps y sign(w_i), -x_i, 1 - x_i); for
    p = 2 clip(-t y w, -x, 1 - x) at norm eps).
    """
    gen = torch.Generator().manual_seed(seed)
    x = mnist_like_point()[None]
    w = torch.randn(784, generator=gen, dtype=x.dtype) / 28
    y = torch.tensor([-1.0], dtype=x.dtype)

    def loss_fn(z: torch.Tensor) -> torch.Tensor:
        return ops.zeta(-y * (z @ w))

    out: dict[str, float] = {"clean_loss": float(loss_fn(x))}
    for norm, e in (("l2", eps_l2), ("linf", eps_linf)):
        closed = float(ops.robust_loss(w, x, y, e, norm))
        size = 2.5 * e / steps * 4
        boxed = float(loss_fn(pgd_on_loss(loss_fn, x, e, norm, steps, size, box=(0.0, 1.0),
                                  generator=gen)))
        out[f"{norm}_eps"] = e
        out[f"{norm}_closed_form_no_box"] = closed
        out[f"{norm}_pgd_box"] = boxed
        out[f"{norm}_pgd_exact_projection"] = float(loss_fn(pgd_on_loss(
            loss_fn, x, e, norm, steps, size, box=(0.0, 1.0), projection="exact",
            generator=gen)))
        out[f"{norm}_exact_box"] = float(loss_fn(box_worst_case(w[None], x, y, e, norm,
                                                                (0.0, 1.0))[0]))
    return out


@register("INNER-MAX", "numeric")
def check_inner_max(count: int = 40, seed: int = 2, samples: int = 400) -> Evidence:
    """INNER-MAX: zeta(-y w.x + eps ||w_f||_q) is the maximum over ||eta||_p <= eps.

    (1) the closed form against the plain loss at eta* (relative error <= 1e-10), with
    ||eta*||_p = eps; (2) ``samples`` random eta in and on the ball never exceed it; (3) PGD
    without a box (random start) reaches it to 1e-6; (4) ``box_effect`` (details only): the
    [0, 1] box lowers the maximum, and the closed form is then an upper bound (checked).
    With a bias the attack perturbs the features only (the constant stays 1).
    """
    gen = torch.Generator().manual_seed(seed + 1)
    worst = 0.0
    norm_err = 0.0
    random_excess = -math.inf
    pgd_gap = 0.0
    n = 0
    for inst in random_instances(count, seed):
        eta = ops.inner_max_perturbation(inst.w, inst.x, inst.y, inst.eps, inst.norm, inst.bias)
        closed = ops.robust_loss(inst.w, inst.x, inst.y, inst.eps, inst.norm, inst.bias)
        worst = max(worst, rel_err(closed, plain_loss(inst.w, inst.x + eta, inst.y)))
        eta_f = eta[:, inst.mask.bool()]
        lengths = eta_f.norm(dim=1) if inst.norm == "l2" else eta_f.abs().amax(dim=1)
        norm_err = max(norm_err, float((lengths - inst.eps).abs().max()) / inst.eps)
        xf, loss_fn = _feature_loss_fn(inst, inst.y[0:1])
        x0 = xf[0:1]
        for surface in (False, True):
            if surface and inst.norm == "linf":
                noise = inst.eps * torch.sign(
                    torch.rand(samples, x0.shape[1], generator=gen, dtype=x0.dtype) - 0.5
                )
            else:
                noise = uniform_ball_noise((samples, x0.shape[1]), inst.eps, inst.norm,
                                           surface=surface, generator=gen, dtype=x0.dtype)
            random_excess = max(random_excess,
                                float((loss_fn(x0 + noise).max() - closed[0]) / closed[0]))
        _, loss_all = _feature_loss_fn(inst, inst.y)
        x_adv = pgd_on_loss(loss_all, xf, inst.eps, inst.norm, box=None, generator=gen,
                    **pgd_settings(inst.eps, inst.norm))
        pgd_gap = max(pgd_gap, float((loss_all(x_adv) - closed).abs().max()))
        n += int(inst.x.shape[0])
    box = box_effect()
    box_ok = all(  # no boxed attack beats the exact boxed maximum, which the closed form bounds
        max(box[f"{p}_pgd_box"], box[f"{p}_pgd_exact_projection"])
        <= box[f"{p}_exact_box"] * (1 + 1e-12)
        and box[f"{p}_exact_box"] <= box[f"{p}_closed_form_no_box"] * (1 + 1e-12)
        for p in ("l2", "linf"))
    passed = (worst <= RTOL and norm_err <= 1e-12 and random_excess <= 1e-12
              and pgd_gap <= PGD_TOL and box_ok)
    return Evidence(
        "numeric", passed,
        f"closed form vs loss at eta*: max rel err {worst:.1e} over {n} points ({count} "
        f"instances, p = 2/inf, with/without bias); PGD (no box) max |gap| {pgd_gap:.1e}; "
        f"{2 * samples * count} random eta never exceed it (max rel excess {random_excess:.1e}); "
        f"[0, 1] box on a MNIST-like point: L2 eps=1 {box['l2_closed_form_no_box']:.3f} -> "
        f"{box['l2_pgd_box']:.3f}, L-inf eps=0.1 {box['linf_closed_form_no_box']:.3f} -> "
        f"{box['linf_exact_box']:.3f}",
        details={
            "max_rel_err": worst, "max_rel_norm_err_eta_star": norm_err, "points": n,
            "instances": count, "pgd_max_abs_gap": pgd_gap, "pgd_tolerance": PGD_TOL,
            "max_rel_excess_random_eta": random_excess, "box_effect": box,
        },
    )

"""Property-based tests (hypothesis) over theory/, numerics.ops, numerics.linear and the attacks.

Each property runs on a stated number of examples, derandomised (the same examples on every run)
and without deadline. Inputs are float64; tolerances are relative to the scale of the values.

Claims exercised: INNER-MAX (projection, exact inner maximum vs PGD, worst-case perturbation),
Y-EQ7 / Y-L1 (label/sign symmetry), HESS-DEP and Y-EIG (symmetric, positive semi-definite
per-point Hessians), Y-T1 (per-point top eigenvalue), L-BUDGET (threshold homogeneity and
symmetry).
"""

from __future__ import annotations

import numpy as np
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from numerics.attacks import pgd_on_loss, project, project_ball, uniform_ball_noise
from numerics.linear.bounds import budget_threshold
from numerics.linear.curvature import point_robust_hessian, top_eigenvalue_per_point
from numerics.ops import inner_max_perturbation, robust_loss, robust_margin, zeta
from theory.adversarial_loss import loss_eq7

EXAMPLES = 40
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, derandomize=True)

norms = st.sampled_from(["l2", "linf"])
budgets = st.floats(min_value=0.0, max_value=3.0, allow_nan=False)
seeds = st.integers(min_value=0, max_value=2**31 - 1)
dims = st.integers(min_value=1, max_value=12)
counts = st.integers(min_value=1, max_value=8)


def _per_sample_norm(v: torch.Tensor, norm: str) -> torch.Tensor:
    flat = v.reshape(v.shape[0], -1)
    return flat.norm(dim=1) if norm == "l2" else flat.abs().amax(dim=1)


def _instance(seed: int, n: int, d: int, scale: float = 2.0
              ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Random (w, x, y): w (d,) away from 0, x (n, d), y in +-1, float64."""
    g = torch.Generator().manual_seed(seed)
    w = torch.randn(d, generator=g, dtype=torch.float64) * scale
    w = w + 0.1 * torch.sign(w) + (w == 0) * 0.1  # keep every coordinate away from 0
    x = torch.randn(n, d, generator=g, dtype=torch.float64) * scale
    y = torch.where(torch.rand(n, generator=g, dtype=torch.float64) < 0.5, -1.0, 1.0)
    return w, x.to(torch.float64), y.to(torch.float64)


@SETTINGS
@given(seed=seeds, n=counts, d=dims, eps=budgets, norm=norms,
       scale=st.floats(min_value=1e-3, max_value=1e3))
def test_project_ball_lands_in_ball_and_is_idempotent(seed, n, d, eps, norm, scale):
    """INNER-MAX: the projection lands in the eps-ball, fixes points inside, and is idempotent."""
    g = torch.Generator().manual_seed(seed)
    delta = torch.randn(n, d, generator=g, dtype=torch.float64) * scale
    p = project_ball(delta, eps, norm)
    assert bool((_per_sample_norm(p, norm) <= eps * (1 + 1e-12)).all())
    torch.testing.assert_close(project_ball(p, eps, norm), p, rtol=1e-12, atol=1e-15)
    inside = _per_sample_norm(delta, norm) <= eps
    torch.testing.assert_close(p[inside], delta[inside], rtol=0, atol=0)


@SETTINGS
@given(seed=seeds, n=counts, d=dims, eps=budgets, norm=norms)
def test_project_lands_in_ball_and_box(seed, n, d, eps, norm):
    """The PGD projection keeps ||delta||_p <= eps and x + delta in the [0, 1] pixel box."""
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, 1, d, generator=g, dtype=torch.float64)
    delta = torch.randn(n, 1, d, generator=g, dtype=torch.float64) * 2
    p = project(x, delta, eps, norm)
    # the box step computes (x + delta) - x: exact up to an ulp of x (~1.1e-16 for x in [0, 1])
    assert bool((_per_sample_norm(p, norm) <= eps * (1 + 1e-12) + 4e-16 * d).all())
    assert bool(((x + p) >= 0).all())
    assert bool(((x + p) <= 1).all())


@SETTINGS
@given(seed=seeds, n=counts, d=dims, eps=budgets, norm=norms, surface=st.booleans())
def test_uniform_ball_noise_lies_in_ball(seed, n, d, eps, norm, surface):
    """Uniform noise lies in the eps-ball (on the sphere, for L2 with surface=True)."""
    if surface and norm == "linf":
        surface = False
    g = torch.Generator().manual_seed(seed)
    noise = uniform_ball_noise((n, d), eps, norm, surface=surface, generator=g)
    r = _per_sample_norm(noise, norm)
    assert bool((r <= eps * (1 + 1e-12)).all())
    if surface:
        torch.testing.assert_close(r, torch.full_like(r, eps), rtol=1e-12, atol=1e-15)


def _linear_losses(w: torch.Tensor, y: torch.Tensor):
    def per_sample(z: torch.Tensor) -> torch.Tensor:
        return zeta(-y * (z @ w))  # zeta(t) exactly (F.softplus is linear above t = 20)

    return per_sample


@SETTINGS
@given(seed=seeds, n=counts, d=dims, eps=budgets, norm=norms,
       steps=st.integers(min_value=1, max_value=8),
       step_frac=st.floats(min_value=0.05, max_value=1.5), random_start=st.booleans())
def test_pgd_never_beats_the_exact_inner_max(seed, n, d, eps, norm, steps, step_frac,
                                              random_start):
    """INNER-MAX: PGD's loss never exceeds zeta(-y w.x + eps ||w||_q), and stays in the ball."""
    w, x, y = _instance(seed, n, d)
    g = torch.Generator().manual_seed(seed + 1)
    x_adv = pgd_on_loss(_linear_losses(w, y), x, eps, norm, steps, step_frac * max(eps, 1e-3),
                        box=None, start="ball" if random_start else "none", generator=g)
    assert bool((_per_sample_norm(x_adv - x, norm) <= eps * (1 + 1e-12) + 1e-15).all())
    exact = robust_loss(w, x, y, eps, norm)
    attained = _linear_losses(w, y)(x_adv)
    assert bool((attained <= exact * (1 + 1e-12) + 1e-15).all()), (attained - exact).max()


@SETTINGS
@given(seed=seeds, n=counts, d=dims, eps=budgets, norm=norms)
def test_one_full_step_of_pgd_from_the_centre_attains_the_inner_max(seed, n, d, eps, norm):
    """INNER-MAX: for a linear model one PGD step of size eps from 0 lands on eta* exactly."""
    w, x, y = _instance(seed, n, d)
    x_adv = pgd_on_loss(_linear_losses(w, y), x, eps, norm, 1, eps, box=None, start="none")
    eta_star = inner_max_perturbation(w, x, y, eps, norm)
    torch.testing.assert_close(x_adv - x, eta_star, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(_linear_losses(w, y)(x_adv), robust_loss(w, x, y, eps, norm),
                               rtol=1e-12, atol=1e-14)


@SETTINGS
@given(seed=seeds, n=counts, d=dims, eps=budgets, norm=norms)
def test_robust_margin_symmetries(seed, n, d, eps, norm):
    """INNER-MAX: m(w; x, y) is invariant under (x, y) -> (-x, -y) and (w, y) -> (-w, -y);
    eta* flips sign with y; the one-model and the K-batched forms give the same margin."""
    w, x, y = _instance(seed, n, d)
    m = robust_margin(w, x, y, eps, norm)
    torch.testing.assert_close(robust_margin(w, -x, -y, eps, norm), m, rtol=1e-13, atol=1e-13)
    torch.testing.assert_close(robust_margin(-w, x, -y, eps, norm), m, rtol=1e-13, atol=1e-13)
    torch.testing.assert_close(inner_max_perturbation(w, x, -y, eps, norm),
                               -inner_max_perturbation(w, x, y, eps, norm), rtol=0, atol=0)
    batched = robust_margin(w.unsqueeze(0).expand(2, -1), x, y, torch.tensor([eps, eps + 1]),
                            norm)[0]
    torch.testing.assert_close(batched, m, rtol=1e-12, atol=1e-12)
    # robust loss is monotone in eps (a larger ball contains the smaller one)
    assert bool((robust_loss(w, x, y, eps + 0.5, norm) >= robust_loss(w, x, y, eps, norm)).all())


@SETTINGS
@given(seed=seeds, n=counts, eps=budgets,
       cos=st.floats(min_value=-1.0, max_value=1.0))
def test_loss_eq7_symmetric_under_label_and_angle_flip(seed, n, eps, cos):
    """Y-EQ7 / Y-L1: l(w.x, ||w||, cos, y) = l(-w.x, ||w||, -cos, -y); the worst case cos = -y."""
    g = torch.Generator().manual_seed(seed)
    wx = torch.randn(n, generator=g, dtype=torch.float64) * 3
    wn = torch.rand(n, generator=g, dtype=torch.float64) * 3 + 0.01
    y = torch.where(torch.rand(n, generator=g, dtype=torch.float64) < 0.5, -1.0, 1.0)
    c = torch.full((n,), cos, dtype=torch.float64)
    value = loss_eq7(wx, wn, c, y, eps)
    torch.testing.assert_close(loss_eq7(-wx, wn, -c, -y, eps), value, rtol=1e-13, atol=1e-14)
    assert bool((loss_eq7(wx, wn, -y, y, eps) >= value * (1 - 1e-13)).all())


@SETTINGS
@given(seed=seeds, n=counts, d=st.integers(min_value=2, max_value=8), eps=budgets, norm=norms)
def test_robust_hessian_symmetric_psd_and_flip_invariant(seed, n, d, eps, norm):
    """HESS-DEP / Y-EIG: per-point Hessians are symmetric, positive semi-definite, invariant
    under (x, y) -> (-x, -y); their top eigenvalue bounds Y-T1's lambda_1 from above."""
    w, x, y = _instance(seed, n, d)
    H = point_robust_hessian(w, x, y, eps, norm)
    eigs = torch.linalg.eigvalsh(H)
    scale = eigs.abs().amax(dim=-1).clamp_min(1e-300)
    asym = (H - H.transpose(-1, -2)).abs().amax(dim=(-1, -2))
    assert bool((asym <= 1e-15 * scale).all())  # symmetric up to rounding of a (v_i v_j)
    assert bool((eigs.amin(dim=-1) >= -1e-12 * scale).all())
    torch.testing.assert_close(point_robust_hessian(w, -x, -y, eps, norm), H,
                               rtol=1e-12, atol=1e-15)
    lam1 = top_eigenvalue_per_point(w, x, y, eps, norm)
    torch.testing.assert_close(top_eigenvalue_per_point(w, -x, -y, eps, norm), lam1,
                               rtol=1e-12, atol=1e-15)
    assert bool((eigs[..., -1] >= lam1 * (1 - 1e-10) - 1e-15).all())


@SETTINGS
@given(seed=seeds, n=st.integers(min_value=2, max_value=12), d=dims, norm=norms,
       c=st.floats(min_value=1e-3, max_value=1e3), bias=st.booleans())
def test_budget_threshold_homogeneous_and_symmetric(seed, n, d, norm, c, bias):
    """L-BUDGET: eps_0(c x, y) = c eps_0(x, y) for c > 0; invariant under (x, y) -> (-x, -y)
    without a bias, and under any permutation of the samples."""
    _, x, y = _instance(seed, n, d)
    y[0], y[1] = 1.0, -1.0  # both classes, so the bias case is defined
    t = budget_threshold(x, y, norm, bias)
    assert np.isclose(budget_threshold(c * x, y, norm, bias), c * t, rtol=1e-12, atol=1e-300)
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    assert np.isclose(budget_threshold(x[perm], y[perm], norm, bias), t, rtol=1e-12, atol=1e-15)
    if not bias:
        assert np.isclose(budget_threshold(-x, -y, norm), t, rtol=1e-12, atol=1e-15)

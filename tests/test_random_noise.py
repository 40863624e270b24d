"""Tests of theory.random_noise and numerics.checks.random_noise (claim Y-T2); the expected
Hessian approximation is numerics.linear.curvature.expected_hessian_approx."""

from __future__ import annotations

import pytest
import sympy as sp
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from numerics.checks.random_noise import check_y_t2, monte_carlo_c2
from numerics.linear.curvature import expected_hessian_approx
from theory.errors import ConfigError
from theory.notation import eps
from theory.random_noise import (
    SIGMA,
    D,
    noise_c2_expressions,
    noise_variance,
    sharpening_ratio,
    verify_y_t2,
)


def test_y_t2_symbolic_evidence() -> None:
    """Y-T2: every SymPy check passes; the approximation is a stated condition."""
    ev = verify_y_t2()
    assert ev.passed, ev.details
    assert ev.conditions


def test_y_t2_numeric_evidence() -> None:
    """Y-T2: Monte Carlo agrees with c^2; the second-order correction beats Theorem 2's form."""
    ev = check_y_t2()
    assert ev.passed, ev.details
    approx = ev.details["approximation"]
    assert approx["order2"][1] < approx["order0"][1]


def test_c2_expressions_exact() -> None:
    """Y-T2: the c^2 values SymPy integrates are the known closed forms."""
    c2 = noise_c2_expressions()
    assert sp.simplify(c2["ball"] - eps**2 / (D + 2)) == 0
    assert sp.simplify(c2["sphere"] - eps**2 / D) == 0
    assert sp.simplify(c2["cube"] - eps**2 / 3) == 0
    assert sp.simplify(c2["gaussian"] - SIGMA**2) == 0


@settings(max_examples=15, deadline=None)
@given(noise=st.sampled_from(["ball", "sphere", "cube", "gaussian"]), d=st.integers(2, 12),
       eps_=st.floats(0.05, 3.0), seed=st.integers(0, 1000))
def test_monte_carlo_c2_within_standard_errors(noise: str, d: int, eps_: float,
                                               seed: int) -> None:
    """Y-T2: Monte Carlo c^2 lies within 5 standard errors of the SymPy value (any d, eps)."""
    r = monte_carlo_c2(noise, d, eps_, n=20_000, seed=seed)
    assert abs(r["c2_mc"] - r["c2_theory"]) <= 5 * r["c2_se"] + 1e-12 * r["c2_theory"]
    assert abs(r["off_mc"]) <= 5 * r["off_se"] + 1e-15


def test_eigenvalues_grow_by_c2_only() -> None:
    """Y-T2: g(z0)(x x^T + c^2 I) has eigenvalues g c^2 (d - 1 times) and g(||x||^2 + c^2)."""
    x = torch.tensor([0.3, -1.0, 2.0, 0.5], dtype=torch.float64)
    w = torch.tensor([1.0, 0.2, 0.1, -0.3], dtype=torch.float64)
    c2 = noise_variance("ball", 0.8, 4)
    ev = torch.linalg.eigvalsh(expected_hessian_approx(w, x, 1.0, c2))
    z0 = float(w @ x)
    g = float(torch.sigmoid(torch.tensor(z0)) * torch.sigmoid(torch.tensor(-z0)))
    assert torch.allclose(ev[:3], torch.full((3,), g * c2, dtype=torch.float64), rtol=1e-12)
    assert float(ev[3]) == pytest.approx(g * (float(x @ x) + c2), rel=1e-12)


def test_eigenvalues_vanish_at_per_point_optimum() -> None:
    """Y-T2: scaling w along a correct direction drives every eigenvalue to 0."""
    x = torch.tensor([0.3, -1.0, 2.0], dtype=torch.float64)
    tops = []
    for scale in (1.0, 10.0, 100.0):
        h = expected_hessian_approx(scale * x / x.norm(), x, 1.0, 0.1, order=2)
        tops.append(float(torch.linalg.eigvalsh(h).abs().max()))
    assert tops[0] > tops[1] > tops[2]
    assert tops[2] < 1e-30


def test_sharpening_ratios() -> None:
    """Y-T2: adversarial/random eps^2 coefficients: d + 2 (ball), d (sphere), 3 d (cube)."""
    assert sharpening_ratio("ball", 784) == pytest.approx(786)
    assert sharpening_ratio("sphere", 784) == pytest.approx(784)
    assert sharpening_ratio("cube", 784) == pytest.approx(3 * 784)
    with pytest.raises(ConfigError, match="compares"):
        sharpening_ratio("gaussian", 3)
    with pytest.raises(ConfigError, match="unknown noise"):
        noise_variance("laplace", 1.0, 3)
    with pytest.raises(ConfigError, match="positive integer"):
        noise_variance("ball", 1.0, 0)


def test_y_t2_identity_steps_have_a_second_engine() -> None:
    """Every identity step of Y-T2 is confirmed by the evaluation engine too (integrals by
    numerical quadrature), except the one structural check (odd monomials); the bound on the
    omitted term is machine-checked."""
    ev = verify_y_t2()
    steps = ev.details["steps"]
    assert all(s["machine_checked"] for s in steps)
    single = [s["statement"] for s in steps
              if s["method"] == "sympy-identity" and len(s["engines"]) < 2]
    assert len(single) == 1
    assert single[0].startswith("E[(w.eta)^2 2 x.eta] = 0")
    assert any(s["method"] == "interval-arithmetic" and "|g''| <= 1/8" in s["statement"]
               for s in steps)
    assert "omitted_term_bound" in ev.details


def test_omitted_term_bound_holds_against_monte_carlo() -> None:
    """||E[H] - g(z0)(x x^T + c^2 I)||_op (Monte Carlo, ball noise in R^3, antithetic) is below
    the rigorous bound at every eps tried."""
    import math

    from numerics.checks.random_noise import expected_hessian_mc
    from theory.random_noise import omitted_term_bound

    x = torch.tensor([1.0, -0.5, 0.8], dtype=torch.float64)
    w = torch.tensor([0.6, 0.3, -0.4], dtype=torch.float64)
    z0 = float(w @ x)
    g0 = 1 / (4 * math.cosh(z0 / 2) ** 2)
    for k, eps_ in enumerate((0.25, 0.5, 1.0, 2.0)):
        c2 = noise_variance("ball", eps_, 3)
        gap = torch.linalg.matrix_norm(expected_hessian_mc(w, x, 1.0, eps_, 50_000, seed=k)
                                       - expected_hessian_approx(w, x, 1.0, c2), ord=2)
        bound = omitted_term_bound(abs(math.tanh(z0 / 2)) * g0, c2, float(x.norm()),
                                   float(w.norm()), 3 * eps_**4 / 7)
        assert float(gap) <= float(bound.b)

"""Tests of theory.smoothness and numerics.checks.smoothness (claim K-SMOOTH); the bounds on data
are those of numerics.linear.bounds, the gradient of the mean loss numerics.ops.robust_gradient
(mean=True)."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from numerics import ops
from numerics.checks.smoothness import check_k_smooth, make_data
from numerics.linear.bounds import linf_jump, lipschitz_bound, segment_min_norm
from theory.errors import ConfigError
from theory.smoothness import verify_k_smooth


def _grad(w: torch.Tensor, x: torch.Tensor, y: torch.Tensor, eps: float,
          norm: str = "l2") -> torch.Tensor:
    """Shorthand: the gradient of the mean robust loss (batched over w)."""
    return ops.robust_gradient(w, x, y, eps, norm, mean=True)


def test_k_smooth_symbolic_evidence() -> None:
    """K-SMOOTH: every SymPy step passes."""
    ev = verify_k_smooth()
    assert ev.passed, ev.details
    assert all(step["machine_checked"] for step in ev.details["steps"])
    assert ev.details["dimension"] == "any"


def test_k_smooth_numeric_evidence() -> None:
    """K-SMOOTH: ratios bounded by K(r), growing like eps/r; L-inf ratio growing like 1/h."""
    ev = check_k_smooth()
    assert ev.passed, ev.details
    assert ev.details["grad_rel_err"] <= 1e-10


@settings(max_examples=50, deadline=None)
@given(seed=st.integers(0, 10_000), log_r=st.floats(-3, 0.5), eps_=st.floats(0.0, 2.0),
       spread=st.floats(-4, 1))
def test_ratio_never_exceeds_bound(seed: int, log_r: float, eps_: float, spread: float) -> None:
    """K-SMOOTH: any pair in {||w|| >= r} (segment inside the set or not): ratio <= K(r)."""
    x, y = make_data(12, 3, seed % 7)
    r = 10**log_r
    g = torch.Generator().manual_seed(seed)
    w1 = torch.randn(3, generator=g, dtype=torch.float64)
    w1 = w1 / w1.norm() * r * (1 + float(torch.rand((), generator=g, dtype=torch.float64)))
    w2 = w1 + 10**spread * r * torch.randn(3, generator=g, dtype=torch.float64)
    w2 = w2 * max(1.0, r / float(w2.norm()))
    ratio = float((_grad(w1, x, y, eps_) - _grad(w2, x, y, eps_)).norm()
                  / (w1 - w2).norm())
    assert ratio <= lipschitz_bound(x, eps_, r) * (1 + 1e-9)


def test_segment_min_norm() -> None:
    """K-SMOOTH: the segment between antipodal points crosses the ball (min norm 0)."""
    w = torch.tensor([0.3, 0.4, 0.0], dtype=torch.float64)
    assert float(segment_min_norm(w, -w)) == pytest.approx(0.0, abs=1e-15)
    assert float(segment_min_norm(w, 2 * w)) == pytest.approx(0.5)


def test_gradient_has_no_limit_at_zero() -> None:
    """K-SMOOTH: grad(delta u) -> -(y x - eps u)/2 (mean over data) depends on u."""
    x, y = make_data(10, 3, 1)
    eps_ = 0.4
    u = torch.tensor([0.6, 0.0, 0.8], dtype=torch.float64)
    g_plus = _grad(1e-12 * u, x, y, eps_)
    g_minus = _grad(-1e-12 * u, x, y, eps_)
    expected = -((y[:, None] * x).mean(0) - eps_ * u) / 2
    assert torch.allclose(g_plus, expected, atol=1e-10)
    assert float((g_plus - g_minus).norm()) == pytest.approx(eps_, rel=1e-9)


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 1000), eps_=st.floats(0.01, 2.0), i=st.integers(0, 3))
def test_linf_jump_across_hyperplane(seed: int, eps_: float, i: int) -> None:
    """K-SMOOTH: across w_i = 0 the i-th L-inf gradient coordinate jumps by 2 eps mean s(-m)."""
    x, y = make_data(15, 4, seed % 5)
    g = torch.Generator().manual_seed(seed)
    w0 = torch.randn(4, generator=g, dtype=torch.float64)
    w0[i] = 0.0
    e = torch.zeros(4, dtype=torch.float64)
    e[i] = 1.0
    h = 1e-9
    dg = _grad(w0 + h * e, x, y, eps_, "linf") - _grad(
        w0 - h * e, x, y, eps_, "linf")
    jump = float(linf_jump(w0, x, y, eps_))
    assert float(dg[i]) == pytest.approx(jump, rel=1e-6)
    others = torch.cat([dg[:i], dg[i + 1:]])
    assert float(others.norm()) <= 1e-6 * jump


def test_lipschitz_bound_values_and_errors() -> None:
    """K-SMOOTH: K(r) by hand, and bad r."""
    x = torch.tensor([[3.0, 4.0], [0.0, 1.0]], dtype=torch.float64)
    k = ((5 + 0.5) ** 2 + (1 + 0.5) ** 2) / 8 + 0.5 / 0.25
    assert lipschitz_bound(x, 0.5, 0.25) == pytest.approx(k)
    with pytest.raises(ConfigError, match="r must be > 0"):
        lipschitz_bound(x, 0.5, 0.0)

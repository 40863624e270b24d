"""Tests of theory.budget and numerics.checks.budget (claim L-BUDGET); the constants on data are
those of numerics.linear.bounds, the loss and its gradient those of numerics.ops."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from numerics.checks.budget import check_l_budget, make_problem, minimiser_gap
from numerics.linear.bounds import (
    best_bias_at_zero,
    budget_threshold,
    gradient_bound_constants,
    threshold_direction,
)
from numerics.ops import robust_gradient, robust_loss
from theory.budget import verify_l_budget
from theory.errors import ConfigError


def test_l_budget_symbolic_evidence() -> None:
    """L-BUDGET: every SymPy step of the threshold and gradient-bound proofs passes."""
    ev = verify_l_budget()
    assert ev.kind == "symbolic"
    assert ev.passed, ev.details
    assert all(step["machine_checked"] for step in ev.details["steps"])
    assert ev.details["dimension"] == "any"


def test_l_budget_numeric_evidence() -> None:
    """L-BUDGET: the numeric check passes and reports B eps as needed across 0."""
    ev = check_l_budget()
    assert ev.passed, ev.details
    assert ev.details["opposite_bound_ratio_max"] <= 1
    assert ev.details["grad_rel_err_max"] <= 1e-10


def test_threshold_values_by_hand() -> None:
    """L-BUDGET: thresholds on a 4-point problem worked out by hand."""
    x = np.array([[1.0, 0.0], [3.0, 2.0], [0.0, 1.0], [-2.0, 0.0]])
    y = np.array([1.0, 1.0, -1.0, -1.0])
    mu = np.array([(1 + 3 - 0 + 2) / 4, (0 + 2 - 1 - 0) / 4])  # mean y x = (1.5, 0.25)
    assert budget_threshold(x, y, "l2") == pytest.approx(np.linalg.norm(mu), rel=1e-15)
    assert budget_threshold(x, y, "linf") == pytest.approx(1.5, rel=1e-15)
    # balanced classes: b* = 0, threshold = ||xbar+ - xbar-||_p / 2 = ||(3, 0.5)||/2
    assert best_bias_at_zero(y) == 0.0
    assert budget_threshold(x, y, "l2", bias=True) == pytest.approx(np.hypot(3, 0.5) / 2)
    assert budget_threshold(x, y, "inf", bias=True) == pytest.approx(1.5)


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(6, 30), d=st.integers(1, 5),
       norm=st.sampled_from(["l2", "linf"]), bias=st.booleans())
def test_threshold_separates_trivial_minimiser(seed: int, n: int, d: int, norm: str,
                                               bias: bool) -> None:
    """L-BUDGET: (0, b*) is optimal just above eps_0 and beaten just below it."""
    x, y = make_problem(n, d, seed)
    if bias and (bool((y > 0).all()) or bool((y < 0).all())):
        with pytest.raises(ConfigError, match="both classes"):
            budget_threshold(x, y, norm, bias)
        return
    thr = budget_threshold(x, y, norm, bias)
    if thr < 1e-6:  # a degenerate draw (mean exactly 0) has no 'below'
        return
    assert minimiser_gap(x, y, 1.01 * thr, norm, bias, n_dirs=50, seed=seed) >= -1e-13
    assert minimiser_gap(x, y, 0.9 * thr, norm, bias, n_dirs=50, seed=seed) < 0


def test_threshold_with_constant_column_is_unchanged() -> None:
    """L-BUDGET: a constant 1 column (theory.adversarial_loss bias convention) changes nothing."""
    x, y = make_problem(25, 3, 5)
    x1 = torch.cat([x, torch.ones(25, 1, dtype=x.dtype)], dim=1)
    for norm in ("l2", "linf"):
        assert budget_threshold(x1, y, norm, True) == pytest.approx(
            budget_threshold(x, y, norm, True), rel=1e-14)


def test_threshold_direction_is_unit_and_attains_dual_norm() -> None:
    """L-BUDGET: ||u*||_q = 1 and u*.mu = ||mu||_p."""
    x, y = make_problem(30, 4, 3)
    mu = (y[:, None] * x).mean(0)
    u2 = threshold_direction(x, y, "l2")
    ui = threshold_direction(x, y, "linf")
    assert float(u2.norm()) == pytest.approx(1.0)
    assert float(ui.abs().sum()) == pytest.approx(1.0)
    assert float(u2 @ mu) == pytest.approx(budget_threshold(x, y, "l2"), rel=1e-14)
    assert float(ui @ mu) == pytest.approx(budget_threshold(x, y, "linf"), rel=1e-14)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), eps=st.floats(0.0, 3.0),
       s1=st.floats(-8, 1), s2=st.floats(-8, 1), opposite=st.booleans())
def test_gradient_bound_never_exceeded(seed: int, eps: float, s1: float, s2: float,
                                       opposite: bool) -> None:
    """L-BUDGET: ||g(w1) - g(w2)|| <= A ||w1 - w2|| + B eps, also across w = 0."""
    x, y = make_problem(20, 3, seed)
    g = torch.Generator().manual_seed(seed)
    w1 = torch.randn(3, generator=g, dtype=x.dtype) * 10 ** s1
    w2 = -0.7 * w1 if opposite else torch.randn(3, generator=g, dtype=x.dtype) * 10 ** s2
    a_const, b_const = gradient_bound_constants(x, eps)
    dg = (robust_gradient(w1, x, y, eps, mean=True)
          - robust_gradient(w2, x, y, eps, mean=True)).norm()
    assert float(dg) <= (a_const * float((w1 - w2).norm()) + b_const * eps) * (1 + 1e-12)


def test_gradient_matches_autograd() -> None:
    """L-BUDGET: the closed-form gradient equals autograd to 1e-10 (relative), without and with
    an (unperturbed) bias b, the loss mean_n zeta(-y_n (w.x_n + b) + eps ||w||_q)."""
    x, y = make_problem(20, 4, 7)
    for norm in ("l2", "linf"):
        for w0 in ([0.3, -1.2, 0.5, 2.0], [0.3, -1.2, 0.5, 2.0, -0.4]):  # the bias last
            w = torch.tensor(w0, dtype=x.dtype, requires_grad=True)
            (auto,) = torch.autograd.grad(robust_loss(w, x, y, 0.7, norm).mean(), w)
            closed = robust_gradient(w.detach(), x, y, 0.7, norm, mean=True)
            assert float((auto - closed).norm() / auto.norm()) <= 1e-10


def test_bad_input_raises() -> None:
    """Bad labels, shapes and norms get a ConfigError saying what to do."""
    x, y = make_problem(10, 2, 0)
    with pytest.raises(ConfigError, match="-1 or \\+1"):
        budget_threshold(x, (y + 1) / 2, "l2")
    with pytest.raises(ConfigError, match="shape"):
        budget_threshold(x, y[:5], "l2")
    with pytest.raises(ConfigError, match="unknown norm"):
        budget_threshold(x, y, "l3")
    with pytest.raises(ConfigError, match="both classes"):
        budget_threshold(x, torch.ones(10, dtype=x.dtype), "l2", bias=True)

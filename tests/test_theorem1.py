"""Tests of theory.theorem1 and numerics.checks.theorem1 (claim Y-T1, part (a)); the numeric
per-point eigenvalue and its derivative are those of numerics.linear.curvature."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from numerics.checks.theorem1 import autograd_top_eigenvalue, check_y_t1
from numerics.linear.curvature import (
    dlambda1_deps_per_point,
    increase_condition,
    normalized_sharpness,
    top_eigenvalue_per_point,
)
from theory.theorem1 import (
    DLAMBDA_DEPS_NP,
    DLAMBDA_DEPS_TORCH,
    margin_threshold,
    verify_y_t1,
)


def test_y_t1_symbolic_evidence() -> None:
    """Y-T1: the SymPy derivation passes, with the m* condition and a counterexample."""
    ev = verify_y_t1()
    assert ev.passed, ev.details
    assert ev.conditions
    assert ev.counterexample is not None
    assert ev.counterexample["dlambda1_deps"] < 0


def test_y_t1_numeric_evidence() -> None:
    """Y-T1: autograd agrees with the closed form; every m >= m* instance increases."""
    ev = check_y_t1()
    assert ev.passed, ev.details
    assert ev.details["max_rel_err"] <= 1e-10
    assert ev.details["decreasing_below_m_star"] > 0  # the condition is not vacuous


def test_margin_threshold_solves_equation() -> None:
    """Y-T1: m* tanh(m*/2) = 2 to 25 digits, m* = 2.39935728..."""
    import mpmath

    m_star = margin_threshold()
    with mpmath.workdps(30):
        assert abs(m_star * mpmath.tanh(m_star / 2) - 2) < mpmath.mpf("1e-25")
    assert float(m_star) == pytest.approx(2.3993572805154677, rel=1e-15)


def _instance_with_margin(m: float, wn: float, perp: float, eps: float,
                          seed: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(w, x, y) in R^4 with robust margin m, ||w|| = wn and ||x_perp|| = perp."""
    g = torch.Generator().manual_seed(seed)
    q, _ = torch.linalg.qr(torch.randn(4, 4, generator=g, dtype=torch.float64))
    w_hat, e_perp = q[:, 0], q[:, 1]
    y = torch.tensor([1.0 if seed % 2 else -1.0], dtype=torch.float64)
    a = m / wn + eps  # y w^.x
    x = y * a * w_hat + perp * e_perp
    return wn * w_hat, x[None], y


@settings(max_examples=60, deadline=None)
@given(excess=st.floats(1e-3, 20.0), wn=st.floats(0.05, 20.0), perp=st.floats(0.0, 5.0),
       eps=st.floats(0.0, 2.0), seed=st.integers(0, 1000))
def test_increases_above_m_star(excess: float, wn: float, perp: float, eps: float,
                                seed: int) -> None:
    """Y-T1: for m >= m*, d lambda_1/d eps > 0 (formula) and lambda_1(eps + h) > lambda_1(eps)."""
    m = float(margin_threshold()) + excess
    w, x, y = _instance_with_margin(m, wn, perp, eps, seed)
    d = float(dlambda1_deps_per_point(w, x, y, eps)[0])
    assert d > 0
    assert bool(increase_condition(w, x, y, eps)[0])
    h = 1e-4 / wn
    lam0 = float(top_eigenvalue_per_point(w, x, y, eps)[0])
    lam1 = float(top_eigenvalue_per_point(w, x, y, eps + h)[0])
    if lam0 > 1e-250:  # far margins underflow g(m) to 0 in float64
        assert lam1 > lam0


@settings(max_examples=40, deadline=None)
@given(m=st.floats(0.05, 2.3), wn=st.floats(0.1, 10.0), eps=st.floats(0.0, 1.0),
       seed=st.integers(0, 1000))
def test_decreases_below_m_star_when_x_parallel_to_w(m: float, wn: float, eps: float,
                                                     seed: int) -> None:
    """Y-T1 counterexample: x parallel to w (P = 0) and 0 < m < m*: lambda_1 decreases."""
    w, x, y = _instance_with_margin(m, wn, 0.0, eps, seed)
    assert float(dlambda1_deps_per_point(w, x, y, eps)[0]) < 0
    assert not bool(increase_condition(w, x, y, eps)[0])
    h = 1e-5 / wn
    assert float(top_eigenvalue_per_point(w, x, y, eps + h)[0]) < float(
        top_eigenvalue_per_point(w, x, y, eps)[0])


def test_exact_condition_at_its_boundary() -> None:
    """Y-T1: at 0 < m < m* the sign flips where ||w||^2 ||x_perp||^2 crosses phi(m)."""
    m, wn, eps = 1.0, 2.0, 0.3
    phi = 2 * m / math.tanh(m / 2) - m**2
    p_crit = math.sqrt(phi) / wn
    for factor, sign in ((0.99, -1.0), (1.01, 1.0)):
        w, x, y = _instance_with_margin(m, wn, factor * p_crit, eps, 3)
        assert np.sign(float(dlambda1_deps_per_point(w, x, y, eps)[0])) == sign


def test_lambdified_numpy_matches_torch() -> None:
    """Y-T1: numpy and torch callables of d lambda_1/d eps agree."""
    m, wn, p = np.array([-3.0, 0.5, 4.0]), np.array([0.3, 1.0, 7.0]), np.array([0.0, 1.0, 2.0])
    out_t = DLAMBDA_DEPS_TORCH(torch.tensor(m), torch.tensor(wn), torch.tensor(p)).numpy()
    np.testing.assert_allclose(DLAMBDA_DEPS_NP(m, wn, p), out_t, rtol=1e-14)


def test_top_eigenvalue_matches_autograd_hessian() -> None:
    """Y-T1 / Y-EIG: lambda_1 per point equals the top eigenvalue of the autograd Hessian."""
    g = torch.Generator().manual_seed(1)
    w = torch.randn(6, generator=g, dtype=torch.float64)
    x = torch.randn(3, 6, generator=g, dtype=torch.float64)
    y = torch.tensor([1.0, -1.0, 1.0], dtype=torch.float64)
    ours = top_eigenvalue_per_point(w, x, y, 0.4)
    for n in range(3):
        ref = autograd_top_eigenvalue(w, x[n], float(y[n]), torch.tensor(0.4))
        assert float(ours[n]) == pytest.approx(float(ref), rel=1e-12)
    assert float(normalized_sharpness(w, float(ours[0]))) == pytest.approx(
        float(ours[0]) * float(w @ w), rel=1e-14)
    # with a bias the normalisation is by the feature weights only
    assert float(normalized_sharpness(w, float(ours[0]), exclude_bias=True)) == pytest.approx(
        float(ours[0]) * float(w[:-1] @ w[:-1]), rel=1e-14)


# --- Y-T1-LINF: the L-inf analogue (not in the papers) ----------------------------------------


def test_y_t1_linf_symbolic_evidence_is_machine_checked_for_any_d() -> None:
    """Every step machine-checked for any d, with its conditions (the verdict is 'holds under
    conditions', as for Y-T1); the d = 2 counterexample has m > m* and a decreasing lambda_1."""
    from numerics.ledger import Verdict, fully_machine_checked, verdict
    from theory.theorem1_linf import verify_y_t1_linf

    ev = verify_y_t1_linf()
    assert ev.passed
    assert fully_machine_checked(ev)
    assert ev.conditions
    assert verdict([ev]) is Verdict.CONDITIONAL
    ce = ev.counterexample
    assert ce["m"] > ce["m_star"]
    assert ce["m"] < ce["m_kappa"]
    assert ce["dlambda1_deps"] < 0


def test_y_t1_linf_numeric_evidence() -> None:
    from numerics.checks.theorem1 import check_y_t1_linf

    ev = check_y_t1_linf()
    assert ev.passed, ev.summary
    assert ev.details["max_rel_err"] <= 1e-10
    assert ev.details["sign_agree"] == ev.details["sign_total"]


@settings(max_examples=40, deadline=None)
@given(st.integers(2, 12), st.integers(0, 10_000), st.floats(0.0, 0.5))
def test_y_t1_linf_sufficient_conditions_imply_an_increase(d: int, seed: int, eps: float) -> None:
    """Random points in any of several dimensions: wherever (A) or (B) holds the closed-form
    derivative is > 0, and the closed form matches autograd on the first point."""
    from numerics.checks.theorem1 import autograd_linf_top_eigenvalue, linf_parts

    g = torch.Generator().manual_seed(seed)
    w = torch.randn(d, generator=g, dtype=torch.float64)
    w = torch.where(w.abs() < 1e-2, torch.full_like(w, 1e-2), w)
    x = torch.rand(64, d, generator=g, dtype=torch.float64) * 2
    y = torch.where(torch.rand(64, generator=g, dtype=torch.float64) < 0.5, 1.0, -1.0)
    parts = linf_parts(w, x, y, eps)
    sufficient = parts["A"] | parts["B"]
    assert bool((parts["dlambda"][sufficient] > 0).all())
    assert bool((parts["exact"] == (parts["dlambda"] > 0)).all())
    et = torch.tensor(eps, dtype=torch.float64, requires_grad=True)
    (auto,) = torch.autograd.grad(autograd_linf_top_eigenvalue(w, x[0], float(y[0]), et), et)
    assert float(auto) == pytest.approx(float(parts["dlambda"][0]), rel=1e-9, abs=1e-12)


def test_y_t1_linf_threshold_is_at_least_m_star() -> None:
    from theory.theorem1_linf import linf_threshold

    assert float(linf_threshold(1.0)) == pytest.approx(float(margin_threshold()), rel=1e-12)
    assert float(linf_threshold(3.0)) > float(linf_threshold(1.5)) > float(margin_threshold())


def test_y_t1_linf_data_evidence_from_the_records() -> None:
    """The committed MNIST2 table 3 record certifies a positive share of training points at its
    largest budget in every seed; CIFAR2's budgets are below every point's mean pixel."""
    from numerics.experiments.mnist2.evidence_linf import evidence_y_t1_linf
    from theory.errors import DataError

    try:
        ev = evidence_y_t1_linf()
    except DataError:
        pytest.skip("the MNIST/CIFAR-10 training images are not available")
    if not ev.ran:
        pytest.skip("no committed table 3 record")
    assert ev.passed, ev.summary
    shares = {s["dataset"]: s for s in ev.details["shares"]}
    assert min(row[-1] for row in shares["mnist2"]["certified"]) > 0.4
    if "cifar2" in shares:
        assert max(max(row) for row in shares["cifar2"]["certified"]) == 0.0

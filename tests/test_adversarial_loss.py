"""Tests of theory.adversarial_loss and numerics.checks.adversarial_loss.

Claims Y-EQ7, Y-L1, INNER-MAX (the closed form evaluated by numerics.ops; the API of
numerics.ops itself is tested in test_ops.py).
"""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from numerics import ops
from numerics.attacks import uniform_ball_noise
from numerics.checks import adversarial_loss as checks
from theory import adversarial_loss as al
from theory._symbolic import is_zero
from theory.notation import eps, y

PROPERTY = settings(max_examples=25, deadline=None, derandomize=True)


def _instance(seed: int, d: int, norm: str, bias: bool, n: int = 5):
    gen = torch.Generator().manual_seed(seed)
    w = torch.randn(d, generator=gen, dtype=torch.float64)
    x = torch.randn(n, d, generator=gen, dtype=torch.float64)
    if bias:
        x[:, -1] = 1.0
    yy = torch.randint(0, 2, (n,), generator=gen).double() * 2 - 1
    e = 0.05 + torch.rand((), generator=gen, dtype=torch.float64).item()
    return w, x, yy, e


# --- Y-EQ7 ----------------------------------------------------------------------------------


def test_y_eq7_symbolic_evidence_passes() -> None:
    """Y-EQ7: every SymPy identity of the decomposition simplifies to 0."""
    evidence = al.verify_y_eq7()
    assert evidence.kind == "symbolic"
    assert evidence.passed, evidence.details
    assert all(step["machine_checked"] for step in evidence.details["steps"])
    assert evidence.details["dimension"] == "any"


def test_y_eq7_numeric_evidence_passes() -> None:
    """Y-EQ7: the lambdified loss matches the loss at x + eps u, u at a prescribed angle."""
    evidence = checks.check_y_eq7()
    assert evidence.kind == "numeric"
    assert evidence.passed, evidence.summary
    assert evidence.details["max_rel_err"] <= 1e-10


def test_is_zero_rejects_a_wrong_identity() -> None:
    """The symbolic checker is not vacuous: a sign error is detected (Y-EQ7 with +eps)."""
    wrong = al.LOSS_EQ7.subs(eps, -eps)
    assert not is_zero(wrong - al.LOSS_EQ7)


# --- Y-L1 -----------------------------------------------------------------------------------


def test_y_l1_symbolic_evidence_passes() -> None:
    """Y-L1: dl/deps closed form, its sign (SymPy, y = +-1) and the worst case."""
    evidence = al.verify_y_l1()
    assert evidence.passed, evidence.details


def test_y_l1_derivative_identity() -> None:
    """Y-L1: diff(LOSS_EQ7, eps) - DLOSS_DEPS simplifies to 0; the opposite sign does not."""
    assert sp.simplify(sp.diff(al.LOSS_EQ7, eps) - al.DLOSS_DEPS) == 0
    assert sp.simplify(sp.diff(al.LOSS_EQ7, eps) + al.DLOSS_DEPS) != 0


def test_y_l1_numeric_evidence_passes() -> None:
    """Y-L1: autograd agrees, no sign mismatch, no random direction beats u* = -y w/||w||."""
    evidence = checks.check_y_l1()
    assert evidence.passed, evidence.summary
    assert evidence.details["sign_mismatches"] == 0


@PROPERTY
@given(
    seed=st.integers(0, 10_000), cos=st.floats(-1, 1).filter(lambda c: abs(c) > 1e-3),
    label=st.sampled_from([-1.0, 1.0]),
)
def test_y_l1_sign_property(seed: int, cos: float, label: float) -> None:
    """Y-L1: sign(dl/deps) = sign(-y cos theta) for random w.x, ||w||, eps (numpy callable)."""
    rng = np.random.default_rng(seed)
    wx, w_norm, e = rng.normal() * 3, rng.uniform(0.1, 5), rng.uniform(0, 2)
    value = al.dloss_deps(np.array(wx), np.array(w_norm), np.array(cos), np.array(label), e)
    # numpy in, numpy out (the NP callable; 0-d inputs give a numpy float64 scalar)
    assert isinstance(value, np.ndarray | np.floating)
    assert np.asarray(value).dtype == np.float64
    assert np.sign(value) == np.sign(-label * cos)


# --- INNER-MAX ------------------------------------------------------------------------------


def test_inner_max_symbolic_evidence_passes() -> None:
    """INNER-MAX: monotone zeta, Hoelder bound, attainment with ||eta*||_p = eps."""
    evidence = al.verify_inner_max()
    assert evidence.passed, evidence.details


def test_inner_max_numeric_evidence_passes() -> None:
    """INNER-MAX: closed form vs eta*, random eta and PGD (1e-6); the box lowers the maximum."""
    evidence = checks.check_inner_max(count=16)
    assert evidence.passed, evidence.summary
    assert evidence.details["pgd_max_abs_gap"] <= 1e-6
    box = evidence.details["box_effect"]
    assert box["linf_exact_box"] < box["linf_closed_form_no_box"]
    assert box["l2_pgd_box"] < box["l2_closed_form_no_box"]
    assert box["linf_pgd_box"] == pytest.approx(box["linf_exact_box"], abs=1e-6)


@PROPERTY
@given(
    seed=st.integers(0, 10_000), d=st.integers(2, 12), norm=st.sampled_from(["l2", "linf"]),
    bias=st.booleans(),
)
def test_inner_max_property(seed: int, d: int, norm: str, bias: bool) -> None:
    """INNER-MAX: zeta(-m) is attained at eta* and no feasible eta exceeds it."""
    w, x, yy, e = _instance(seed, d, norm, bias)
    closed = ops.robust_loss(w, x, yy, e, norm, bias=bias)
    eta = ops.inner_max_perturbation(w, x, yy, e, norm, bias=bias)
    attained = ops.zeta(-yy * ((x + eta) @ w))
    torch.testing.assert_close(closed, attained, rtol=1e-10, atol=0)
    if bias:
        assert torch.all(eta[:, -1] == 0)
    k = d - 1 if bias else d
    noise = uniform_ball_noise((200, k), e, norm, generator=torch.Generator().manual_seed(seed))
    if bias:
        noise = torch.cat([noise, torch.zeros(200, 1, dtype=noise.dtype)], dim=1)
    others = ops.zeta(-yy[0] * ((x[0] + noise) @ w))
    assert float(others.max()) <= float(closed[0]) * (1 + 1e-12)


def test_lambdified_matches_sympy() -> None:
    """INNER-MAX: the lambdified robust loss equals SymPy's exact value at a rational point."""
    point = {al.WX: sp.Rational(3, 7), al.W_NORM_Q: sp.Rational(5, 3), y: -1,
             eps: sp.Rational(1, 4)}
    exact = float(al.ROBUST_LOSS.subs(point).evalf(30))
    args = (0.3 / 0.7, 5 / 3, -1.0, 0.25)
    assert al.ROBUST_LOSS_NP(*args) == pytest.approx(exact, rel=1e-14)
    value = al.ROBUST_LOSS_TORCH(torch.tensor(3 / 7, dtype=torch.float64), torch.tensor(5 / 3),
                                 torch.tensor(-1.0), 0.25)
    assert float(value) == pytest.approx(exact, rel=1e-14)


def test_loss_eq7_numpy_and_torch_callables_agree() -> None:
    """Y-EQ7 / Y-L1: numpy in gives numpy out (the NP callable), torch in gives torch; equal."""
    rng = np.random.default_rng(0)
    wx, wn, cos = rng.normal(size=6) * 3, rng.uniform(0.1, 4, size=6), rng.uniform(-1, 1, size=6)
    lab = np.where(rng.uniform(size=6) < 0.5, -1.0, 1.0)
    for fn in (al.loss_eq7, al.dloss_deps):
        out_np = fn(wx, wn, cos, lab, 0.3)
        out_t = fn(*(torch.as_tensor(a) for a in (wx, wn, cos, lab)), 0.3)
        assert isinstance(out_np, np.ndarray)
        assert isinstance(out_t, torch.Tensor)
        np.testing.assert_allclose(out_np, out_t.numpy(), rtol=1e-14)
    # Y-EQ7 at cos theta = -y is the robust loss with ||w||_q = ||w||_2 (the L2 worst case)
    np.testing.assert_allclose(al.loss_eq7(wx, wn, -lab, lab, 0.3),
                               al.ROBUST_LOSS_NP(wx, wn, lab, 0.3), rtol=1e-14)

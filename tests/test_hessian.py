"""Tests of theory.hessian and numerics.checks.hessian (claims Y-HESS, HESS-DEP, Y-EIG).

The numeric closed forms are those of numerics.linear.curvature (per point ``point_*``, the
full-data mean ``hessian_*``, the eigenpairs) and the gradient of numerics.ops."""

from __future__ import annotations

import math

import numpy as np
import pytest
import sympy as sp
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.func import hessian, jacrev

from numerics import ops
from numerics.checks import hessian as checks
from numerics.checks.adversarial_loss import Instance
from numerics.linear import curvature as lc
from theory import hessian as th
from theory._symbolic import is_zero
from theory.errors import ConfigError
from theory.notation import vector_symbols

PROPERTY = settings(max_examples=25, deadline=None, derandomize=True)


def _instance(seed: int, d: int, norm: str, bias: bool, n: int = 4) -> Instance:
    gen = torch.Generator().manual_seed(seed)
    w = torch.randn(d, generator=gen, dtype=torch.float64)
    x = torch.randn(n, d, generator=gen, dtype=torch.float64)
    if bias:
        x[:, -1] = 1.0
    yy = torch.randint(0, 2, (n,), generator=gen).double() * 2 - 1
    e = 0.05 + torch.rand((), generator=gen, dtype=torch.float64).item()
    return Instance(w, x, yy, e, norm, bias)


def _args(inst: Instance) -> tuple:
    return inst.w, inst.x, inst.y, inst.eps, inst.norm, inst.bias


# --- Y-HESS ---------------------------------------------------------------------------------


def test_y_hess_symbolic_evidence_passes() -> None:
    """Y-HESS: SymPy's Hessian of zeta(-y w.(x + eta)) equals the closed form (d = 3, y = +-1)."""
    evidence = th.verify_y_hess()
    assert evidence.kind == "symbolic"
    assert evidence.passed, evidence.details


def test_y_hess_needs_y_squared_one() -> None:
    """Y-HESS: with a general real y the closed form is off by y^2 (why y = +-1 is substituted)."""
    w, x, eta = vector_symbols("w", 2), vector_symbols("x", 2), vector_symbols("eta", 2)
    y = sp.Symbol("y", real=True)
    loss, _, hess = th.fixed_noise_closed_form(w, x, eta, y)
    assert not is_zero(sp.hessian(loss, list(w)) - hess)
    assert is_zero(sp.hessian(loss, list(w)) - y**2 * hess)


def test_y_hess_numeric_evidence_passes() -> None:
    """Y-HESS: gradient, per-point and full-data Hessians agree with torch.func to 1e-10."""
    evidence = checks.check_y_hess(count=16)
    assert evidence.passed, evidence.summary


@PROPERTY
@given(seed=st.integers(0, 10_000), d=st.integers(1, 10))
def test_y_hess_property(seed: int, d: int) -> None:
    """Y-HESS: point_hessian_fixed_noise equals torch.func.hessian at random points; the
    full-data hessian_fixed_noise is their mean."""
    inst = _instance(seed, d, "l2", False)
    eta = 0.3 * torch.randn(inst.x.shape, generator=torch.Generator().manual_seed(seed + 1),
                            dtype=torch.float64)
    closed = lc.point_hessian_fixed_noise(inst.w, inst.x, inst.y, eta)
    for k in range(inst.x.shape[0]):
        ref = hessian(checks.fixed_noise_loss)(inst.w, inst.x[k], inst.y[k], eta[k])
        torch.testing.assert_close(closed[k], ref, rtol=1e-10, atol=1e-14)
    torch.testing.assert_close(lc.hessian_fixed_noise(inst.w, inst.x + eta, inst.y),
                               closed.mean(0), rtol=1e-12, atol=1e-15)


# --- HESS-DEP -------------------------------------------------------------------------------


def test_hess_dep_symbolic_evidence_passes() -> None:
    """HESS-DEP: closed forms for p = 2 (with/without bias) and p = inf off w_i = 0."""
    evidence = th.verify_hess_dep()
    assert evidence.passed, evidence.details
    assert not evidence.conditions  # w_i != 0 for p = inf is the claim's own domain


def test_hess_dep_symbolic_check_detects_a_wrong_projector_sign() -> None:
    """HESS-DEP (any d): the index-sum comparison is not vacuous: SymPy's Hessian of zeta(-m)
    equals the closed form, and differs from it with -B (I - w^ w^T) in place of +B."""
    auto, closed = th._robust_entries(1, "l2", False, ("hessian",))["hessian"]
    big_e = sp.Symbol("E", positive=True)  # e^m, as the closed form is written
    first = closed.subs(sp.KroneckerDelta(th.J, th.K), 0)  # drop the identity part ...
    projector = closed - first  # ... B delta_jk; the w^ w^T part stays in first
    assert is_zero(sp.cancel(sp.together(auto - closed)))
    assert not is_zero(sp.cancel(sp.together(auto - (closed - 2 * projector))))
    assert big_e in closed.free_symbols


def test_hess_dep_numeric_evidence_passes() -> None:
    """HESS-DEP: torch.func agreement, Danskin, and the projector term Y-HESS misses."""
    evidence = checks.check_hess_dep(count=16)
    assert evidence.passed, evidence.summary
    assert evidence.details["max_rel_size_of_projector_term"]["l2"] > 0.01


@PROPERTY
@given(
    seed=st.integers(0, 10_000), d=st.integers(2, 10), norm=st.sampled_from(["l2", "linf"]),
    bias=st.booleans(),
)
def test_hess_dep_property(seed: int, d: int, norm: str, bias: bool) -> None:
    """HESS-DEP: robust_gradient/point_robust_hessian equal torch.func of the robust loss;
    the full-data hessian_robust is their mean."""
    inst = _instance(seed, d, norm, bias)
    ref = checks.reference_robust_loss(inst)
    hess = lc.point_robust_hessian(*_args(inst))
    grad = ops.robust_gradient(*_args(inst))
    for k in range(inst.x.shape[0]):
        torch.testing.assert_close(grad[k], jacrev(ref)(inst.w, inst.x[k], inst.y[k]),
                                   rtol=1e-10, atol=1e-14)
        torch.testing.assert_close(hess[k], hessian(ref)(inst.w, inst.x[k], inst.y[k]),
                                   rtol=1e-10, atol=1e-14)
    torch.testing.assert_close(lc.hessian_robust(*_args(inst)[:5], bias=inst.bias),
                               hess.mean(0), rtol=1e-12, atol=1e-15)


def test_hess_dep_second_term_vanishes_at_large_margin() -> None:
    """HESS-DEP: the projector coefficient s(-m) eps/||w|| goes to 0 as m grows."""
    b = th.B_TORCH(torch.tensor([0.0, 10.0, 40.0], dtype=torch.float64), 0.5, 2.0)
    assert float(b[0]) == pytest.approx(0.125)
    assert float(b[1]) == pytest.approx(0.25 / (1 + math.exp(10.0)), rel=1e-14)
    assert float(b[2]) < 1e-17


def test_hess_dep_rejects_w_zero_for_l2() -> None:
    """HESS-DEP: the p = 2 robust loss has no Hessian at w_f = 0: a ConfigError says so."""
    with pytest.raises(ConfigError, match="not differentiable at w_f = 0"):
        lc.point_robust_hessian(np.zeros(3), np.ones((2, 3)), [1.0, -1.0], 0.1, "l2")
    with pytest.raises(ConfigError, match="not differentiable at w_f = 0"):
        lc.hessian_robust(np.zeros(3), np.ones((2, 3)), [1.0, -1.0], 0.1, "l2")


# --- Y-EIG ----------------------------------------------------------------------------------


def test_y_eig_symbolic_evidence_passes() -> None:
    """Y-EIG (noise held fixed): the rank-one eigenpair, proved for any d, unconditionally."""
    evidence = th.verify_y_eig()
    assert evidence.passed, evidence.details
    assert not evidence.conditions
    assert evidence.details["dimension"] == "any"


def test_y_eig_numeric_evidence_passes() -> None:
    """Y-EIG (noise held fixed): the eigenpair against eigh of the autograd Hessian."""
    evidence = checks.check_y_eig(count=16)
    assert evidence.passed, evidence.summary
    assert evidence.details["max_rel_err"]["eigenvalues"] <= 1e-10


def test_y_eig_dep_is_refuted_by_a_machine_checked_proof() -> None:
    """Y-EIG-DEP: v is not the top eigenvector once the attack depends on w: the refutation's
    steps are all machine-checked, with the exact condition, a counterexample and the
    unbounded ratio lambda_+ / lambda_1."""
    evidence = th.verify_y_eig_dep()
    assert not evidence.passed
    assert all(step["machine_checked"] for step in evidence.details["steps"])
    assert evidence.conditions == (th.EIG_CONDITION,)
    assert evidence.counterexample["cross(Hv, v)"] < 0
    limits = [st for st in evidence.details["steps"] if st["method"] == "sympy-limit"]
    assert len(limits) == 2


def test_y_eig_dep_numeric_evidence_fails_with_brackets_holding() -> None:
    """Y-EIG-DEP: closed-form eigenpairs agree with eigh, lambda_- <= lambda_1 <= lambda_+, and
    v misses being an eigenvector (a sample statistic, said as such)."""
    evidence = checks.check_y_eig_dep(count=16)
    assert not evidence.passed
    assert evidence.details["bracket_violations"] == 0
    assert max(evidence.details["max_rel_err"].values()) <= 1e-10
    assert evidence.details["max_ratio_top_eig_to_yamada_lambda1_over_samples"] >= 1.0
    assert evidence.counterexample["rel_residual_of_v"] > 1e-3
    assert "max relative residual over" in evidence.summary


@PROPERTY
@given(seed=st.integers(0, 10_000), d=st.integers(3, 10))
def test_y_eig_property(seed: int, d: int) -> None:
    """Y-EIG: the closed-form spectrum (lambda_+, lambda_-, B x (d - 2)) equals eigvalsh (p = 2)."""
    inst = _instance(seed, d, "l2", False)
    values, vectors = lc.robust_eigenpairs(*_args(inst))
    hess = lc.point_robust_hessian(*_args(inst))
    spectrum = torch.linalg.eigvalsh(hess)
    closed = torch.cat([values[:, :2], values[:, 2:3].expand(-1, d - 2)], dim=1)
    torch.testing.assert_close(torch.sort(closed, dim=1).values, spectrum,
                               rtol=1e-9, atol=1e-13)
    for k in (0, 1):
        e = vectors[:, k]
        residual = torch.einsum("nij,nj->ni", hess, e) - values[:, k:k + 1] * e
        assert float(residual.norm(dim=1).max()) <= 1e-10 * float(values[:, 0].max())


def test_y_eig_rank_one_for_fixed_noise_and_linf() -> None:
    """Y-EIG: fixed noise and p = inf give a single nonzero eigenvalue A ||u||^2."""
    inst = _instance(5, 6, "linf", True)
    values, _ = lc.robust_eigenpairs(*_args(inst))
    spectrum = torch.linalg.eigvalsh(lc.point_robust_hessian(*_args(inst)))
    torch.testing.assert_close(spectrum[:, -1], values[:, 0], rtol=1e-10, atol=0)
    assert float(spectrum[:, :-1].abs().max()) <= 1e-12 * float(values[:, 0].max())
    eta = torch.zeros_like(inst.x)
    lam, e = lc.fixed_noise_eigenpair(inst.w, inst.x, inst.y, eta)
    hess = lc.point_hessian_fixed_noise(inst.w, inst.x, inst.y, eta)
    torch.testing.assert_close(torch.einsum("nij,nj->ni", hess, e), lam[:, None] * e,
                               rtol=1e-10, atol=1e-15)


def test_y_eig_bias_l2_closed_form_is_refused() -> None:
    """Y-EIG: with a bias the p = 2 eigenpairs have no closed form here; the error says why."""
    inst = _instance(1, 4, "l2", True)
    with pytest.raises(ConfigError, match="eigh"):
        lc.robust_eigenpairs(*_args(inst))

"""The proof machinery (theory.proof, theory.lemmas): what "proved" may mean, and what it refuses.

A claim is "proved" only when every step of its symbolic evidence was machine-checked for any
dimension; these tests make sure the checker refuses false steps, that prose or fixed-dimension
steps weaken the verdict, that the certified m* encloses the root tightly, and that the
any-d derivations agree with explicit Hessians in float64.
"""

from __future__ import annotations

import mpmath
import pytest
import sympy as sp
import torch

from numerics import ops
from numerics.ledger import Verdict, build_ledger, fully_machine_checked
from numerics.linear import curvature as lc
from theory import lemmas
from theory.claims import CLAIMS
from theory.notation import s
from theory.proof import Proof, drop_index_range
from theory.theorem1 import margin_enclosure, margin_threshold

PROVED = ("Y-EQ7", "Y-L1", "INNER-MAX", "Y-HESS", "HESS-DEP", "Y-EIG", "K-SMOOTH", "L-BUDGET")


def test_false_lemma_is_refused() -> None:
    """s(m)s(-m) <= 1/5 is false (the maximum is 1/4): the checker does not confirm it."""
    m = sp.Symbol("m", real=True)
    p = Proof()
    assert not p.nonnegative("s(m)s(-m) <= 1/5", sp.Rational(1, 5) - s(m) * s(-m))
    assert not p.passed
    assert not p.machine_checked
    assert p.failed[0].note
    # and the true bound is confirmed
    q = Proof()
    assert q.identity("1/4 - s s(-) = tanh^2/4",
                      (sp.Rational(1, 4) - s(m) * s(-m) - sp.tanh(m / 2) ** 2 / 4).rewrite(sp.exp))


def test_false_identity_and_false_monotonicity_are_refused() -> None:
    t = sp.Symbol("t", real=True)
    p = Proof()
    assert not p.identity("zeta' = s(-t) (false)", sp.diff(sp.log(1 + sp.exp(t)), t) - s(-t))
    assert not p.increasing("s(-t) increasing (false)", s(-t), t)
    assert len(p.failed) == 2


def test_prose_step_weakens_the_verdict() -> None:
    p = Proof()
    p.identity("0 = 0", sp.Integer(0))
    p.prose("a step argued in words", "not expressible in SymPy")
    assert p.passed  # a prose step is not a failure ...
    assert not p.machine_checked  # ... but the proof is not machine-checked
    ev = p.evidence("claim")
    assert ev.passed
    assert not fully_machine_checked(ev)
    assert ev.details["steps"][1] == {"statement": "a step argued in words", "method": "prose",
                                      "machine_checked": False, "dimension": "any",
                                      "note": "not expressible in SymPy"}


def test_fixed_dimension_step_is_not_any_d() -> None:
    p = Proof()
    p.identity("checked on explicit 3-vectors", sp.Integer(0), dimension=(3,))
    assert p.dimension == [3]
    assert not fully_machine_checked(p.evidence("claim"))


def test_index_range_is_dropped_only_for_the_index_range() -> None:
    d, j = lemmas.DIM, lemmas.J
    x = sp.IndexedBase("x")
    pw = sp.Piecewise((x[j], (d >= j) & (j >= 1)), (0, True))
    assert drop_index_range(pw, d, (j,)) == x[j]
    other = sp.Piecewise((x[j], j >= 2), (0, True))
    assert drop_index_range(other, d, (j,)) == other


@pytest.mark.parametrize("name", ["cauchy_schwarz", "triangle", "normalisation_lipschitz",
                                  "sigmoid_lipschitz", "zeta_tangent"])
def test_lemmas_are_machine_checked_for_any_d(name: str) -> None:
    proof = getattr(lemmas, name)()
    assert proof.machine_checked, proof.summary()
    assert proof.dimension == "any"


def test_m_star_enclosure_is_certified_and_tight() -> None:
    """Y-T1: [lo, hi] of width <= 1e-12 contains the 30-digit root and excludes m* +- 1e-10."""
    lo, hi = margin_enclosure(1e-12)
    root = margin_threshold(30)
    with mpmath.workdps(40):
        assert hi - lo <= mpmath.mpf("1e-12")
        assert lo <= root <= hi
        for off in (mpmath.mpf("1e-10"), mpmath.mpf("-1e-10")):
            assert not lo <= root + off <= hi
        assert root * mpmath.tanh(root / 2) == pytest.approx(2, abs=1e-25)


def test_ledger_proves_exactly_the_fully_checked_claims() -> None:
    """The symbolic ledger: the eight claims proved with every step machine-checked for any d;
    Y-EIG-DEP fails by a machine-checked refutation; no proved claim has a prose step."""
    rows = {r.claim.id: r for r in build_ledger(ids=[*PROVED, "Y-EIG-DEP"])}
    for cid in PROVED:
        row = rows[cid]
        assert row.verdict is Verdict.PROVED, (cid, row.verdict)
        (symbolic,) = [e for e in row.evidence if e.kind == "symbolic"]
        assert symbolic.details["dimension"] == "any"
        assert all(step["machine_checked"] for step in symbolic.details["steps"])
        assert all(step["method"] != "prose" for step in symbolic.details["steps"])
    dep = rows["Y-EIG-DEP"]
    assert dep.verdict is Verdict.FAILS
    assert dep.evidence[0].counterexample is not None
    assert all(step["machine_checked"] for step in dep.evidence[0].details["steps"])
    assert {c.id for c in CLAIMS} >= set(rows)


@pytest.mark.parametrize("d", range(2, 9))
def test_any_d_hessians_agree_with_explicit_float64_hessians(d: int) -> None:
    """HESS-DEP and Y-EIG derived for every d: the closed forms match torch.func.hessian of the
    robust loss on explicit d-dimensional instances, d = 2..8, in float64."""
    gen = torch.Generator().manual_seed(d)
    w = torch.randn(d, generator=gen, dtype=torch.float64)
    x = torch.randn(5, d, generator=gen, dtype=torch.float64)
    y = torch.tensor([1.0, -1.0, 1.0, 1.0, -1.0], dtype=torch.float64)
    for norm, eps in (("l2", 0.4), ("linf", 0.2)):
        auto = torch.stack([torch.func.hessian(
            lambda ww, xi=xi, yi=yi, e=eps, q=norm: ops.robust_loss(ww, xi, yi, e, q))(w)
            for xi, yi in zip(x, y, strict=True)])
        closed = lc.point_robust_hessian(w, x, y, eps, norm)
        assert torch.allclose(closed, auto, rtol=1e-10, atol=1e-13)
    # the fixed-noise eigenpair (Y-EIG), any d
    eta = 0.1 * torch.randn(5, d, generator=gen, dtype=torch.float64)
    lam, vec = lc.fixed_noise_eigenpair(w, x, y, eta)
    hess = lc.point_hessian_fixed_noise(w, x, y, eta)
    assert torch.allclose(torch.einsum("nij,nj->ni", hess, vec), lam[:, None] * vec,
                          rtol=1e-10, atol=1e-14)

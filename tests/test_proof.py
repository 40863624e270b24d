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
from theory import engines, hypotheses, lemmas
from theory._symbolic import is_zero
from theory.claims import CLAIMS
from theory.notation import s
from theory.proof import Proof, drop_index_range
from theory.theorem1 import margin_enclosure, margin_threshold

PROVED = ("Y-EQ7", "Y-L1", "INNER-MAX", "BOX-PROJ", "BOX-MAX", "Y-HESS", "HESS-DEP", "Y-EIG",
          "K-SMOOTH", "L-BUDGET")


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
    """The symbolic ledger: the ten claims proved with every step machine-checked for any d;
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


# ---------------------------------------------------------------------------------------------
# Assumptions as data, and the second engines
# ---------------------------------------------------------------------------------------------


def test_broken_closed_form_fails_both_engines() -> None:
    """A wrong closed form (the sigmoid bound with 1/5 for 1/4; a wrong index-sum expansion; a
    false polynomial sign) is refused by SymPy and by the independent engine."""
    t = sp.Symbol("t", real=True)
    broken = sp.Rational(1, 5) - s(t) * s(-t) - sp.tanh(t / 2) ** 2 / 4
    assert not is_zero(broken)
    assert engines.evaluate_zero(broken)[0] is False
    a, b = lemmas.vector("a"), lemmas.vector("b")
    i = lemmas.I
    wrong = lemmas.linear(lemmas.isum((a[i] + b[i]) ** 2)) - lemmas.linear(
        lemmas.isum(a[i] ** 2) + lemmas.isum(b[i] ** 2))  # the cross term 2 a.b is missing
    assert not is_zero(wrong)
    verdict, engine, note = engines.evaluate_zero(wrong)
    assert verdict is False
    assert engine == "exact-rational"
    assert "d =" in note
    x, y = sp.symbols("x y", nonnegative=True)
    assert (x - y).is_nonnegative is not True
    assert engines.z3_sign(x - y, strict=False)[0] is False
    assert engines.z3_sign(x * y + x ** 2, strict=False)[:2] == (True, "z3")
    p = Proof()
    assert not p.identity("broken", broken)
    assert not p.nonnegative("x - y >= 0 (false)", x - y)
    assert len(p.failed) == 2
    assert not p.passed


def test_identity_and_sign_steps_record_two_engines() -> None:
    a, b = lemmas.vector("a"), lemmas.vector("b")
    i = lemmas.I
    p = Proof()
    assert p.identity("||a + b||^2 = ||a||^2 + 2 a.b + ||b||^2",
                      lemmas.linear(lemmas.isum((a[i] + b[i]) ** 2))
                      - lemmas.linear(lemmas.isum(a[i] ** 2) + 2 * lemmas.isum(a[i] * b[i])
                                      + lemmas.isum(b[i] ** 2)))
    assert p.nonnegative("a sum of squares", lemmas.isum(a[i] ** 2))
    assert p.steps[0].engines == ("sympy", "exact-rational")
    assert p.steps[1].engines == ("sympy", "z3")


def test_a_wrong_finite_sum_normal_form_fails_the_step() -> None:
    """The evaluation engine also checks every normal form computed for the step."""
    a = lemmas.vector("a")
    i = lemmas.I
    engines.LINEAR_TRACE.append((lemmas.isum(2 * a[i]), lemmas.isum(a[i])))  # a wrong "normal form"
    p = Proof()
    assert not p.identity("0 = 0, but computed through a wrong normal form", sp.Integer(0))
    assert "normal form" in p.failed[0].note


def test_a_step_on_an_unstated_assumption_is_not_machine_checked() -> None:
    """INNER-MAX, p = inf: sum_i eps |w_i| rho_i >= 0 with rho declared nonnegative passes
    SymPy's sign check, but without the steps deriving rho_i >= 0 from |t_i| <= 1 (nor a
    hypothesis granting it) it is not machine-checked; the proof is not failed, only weaker."""
    w, rho = lemmas.vector("w"), lemmas.vector("rho", nonnegative=True)
    eps = sp.Symbol("epsilon", nonnegative=True)
    expr = lemmas.isum(eps * sp.Abs(w[lemmas.I]) * rho[lemmas.I])
    p = Proof(claim="INNER-MAX")
    assert not p.nonnegative("sum_i eps |w_i| rho_i >= 0", expr)
    step = p.steps[0]
    assert step.engines == ("sympy", "z3")  # the sign itself is confirmed ...
    assert step.unjustified == ("rho[i] >= 0",)  # ... on an assumption nothing grants
    assert "epsilon >= 0" in step.assumptions  # granted by the claim's hypothesis eps >= 0
    assert p.passed
    assert not p.machine_checked
    assert p.unsupported == [step]
    # without the claim's hypotheses, eps >= 0 is unjustified as well
    q = Proof()
    q.nonnegative("eps >= 0", eps)
    assert q.steps[0].unjustified == ("epsilon >= 0",)


def test_facts_come_only_from_machine_checked_steps_and_complete_cases() -> None:
    x = sp.Symbol("x", real=True)
    c = sp.Symbol("c", nonnegative=True)
    p = Proof()
    assert not p.nonnegative("x >= 0 (false)", x, gives=("c >= 0",))
    assert not p.nonnegative("c >= 0 used", c)  # the failed step established nothing
    q = Proof()
    assert q.nonnegative("x^2 >= 0", x ** 2, gives=("case 1",))
    assert not q.cases("both cases", "c >= 0", ("case 1", "case 2"))
    r = Proof()
    assert r.nonnegative("x^2 >= 0", x ** 2, gives=("case 1",))
    assert r.cases("one case", "c >= 0", ("case 1",))
    assert r.nonnegative("c >= 0 used", c)
    assert r.machine_checked


def test_lemma_premises_must_be_granted_by_the_citing_proof() -> None:
    lemma = lemmas.normalisation_lipschitz()
    assert lemma.machine_checked
    p = Proof()
    assert not p.lemma(lemma, "cited without the premise")
    assert p.steps[0].unjustified == (lemmas.NORMALISATION_PREMISE.text,)
    q = Proof(claim="K-SMOOTH")
    granted = next(h.text for h in hypotheses.hypotheses("K-SMOOTH") if "r > 0" in h.facts)
    assert q.lemma(lemma, "cited on ||w|| >= r",
                   premises={lemmas.NORMALISATION_PREMISE.text: granted})


def test_symbolic_evidence_lists_hypotheses_and_step_assumptions() -> None:
    from theory.adversarial_loss import verify_inner_max
    from theory.budget import verify_l_budget
    from theory.smoothness import verify_k_smooth

    ev = verify_inner_max()
    assert any("w != 0" in h for h in ev.details["hypotheses"])
    steps = ev.details["steps"]
    assert any(st.get("gives") == ["rho[i] >= 0"] for st in steps)
    for st in steps:
        if st["method"] in ("sympy-identity", "sympy-sign"):
            assert len(st["engines"]) == 2, st
    # K-SMOOTH's lower bound is checked for every d (the pair w = +-r u)
    ks = verify_k_smooth()
    assert ks.details["dimension"] == "any"
    assert any("+-r u" in st["statement"] for st in ks.details["steps"])
    # L-BUDGET checks zeta(0) and s(0) separately, and the bias necessity half
    lb = [st["statement"] for st in verify_l_budget().details["steps"]]
    assert "at t0 = 0: zeta(0) = log 2" in lb
    assert "at t0 = 0: s(0) = 1/2" in lb
    assert any(st.startswith("bias, necessity") for st in lb)

"""BOX-PROJ and BOX-MAX: the projection onto ball cap box and the linear worst case inside it.

The derivations (theory.box) are proofs machine-checked for any d, the existence of the
multiplier included (continuity and monotonicity of the clipped norm, then the intermediate value
theorem with its premises established); the closed forms (numerics.attacks.project_ball_box,
numerics.linear.attack.box_worst_case) are checked against SLSQP (numerics.checks.box), against
a bisection on mu in MNIST's dimension, and against PGD, which can never do better than them.
"""

from __future__ import annotations

import pytest
import torch

from numerics.attacks import AttackSpec, pgd_on_loss, project, project_ball_box, uniform_ball_noise
from numerics.checks.box import check_box_max, check_box_proj
from numerics.ledger import Verdict, argued_steps, checks_for, fully_machine_checked, verdict
from numerics.linear.attack import attacked_margins, box_worst_case
from numerics.ops import margins
from theory.box import clip_lemma, clip_norm_lemma, verify_box_max, verify_box_proj
from theory.errors import ConfigError
from theory.lemmas import IVT_PREMISES, intermediate_value
from theory.proof import Proof

D = 784


def _mnist_like(n: int, seed: int) -> torch.Tensor:
    """Images in [0, 1] with most pixels exactly 0 and some exactly 1, as on MNIST."""
    g = torch.Generator().manual_seed(seed)
    x = torch.rand((n, D), generator=g, dtype=torch.float64)
    x[x < 0.8] = 0.0
    x[x > 0.95] = 1.0
    return x


def _bisection_projection(z: torch.Tensor, lo: torch.Tensor, hi: torch.Tensor,
                          eps: float) -> torch.Tensor:
    """clip(z/(1 + mu), lo, hi) with mu >= 0 found by 200 bisection steps (a slow reference)."""
    def delta(mu: float) -> torch.Tensor:
        return torch.minimum(torch.maximum(z / (1 + mu), lo), hi)

    if delta(0.0).norm() <= eps:
        return delta(0.0)
    a, b = 0.0, 1.0
    while delta(b).norm() > eps:
        b *= 2
    for _ in range(200):
        mid = (a + b) / 2
        a, b = (mid, b) if delta(mid).norm() > eps else (a, mid)
    return delta(b)


def test_box_proofs_are_machine_checked_with_the_intermediate_value_theorem() -> None:
    """BOX-PROJ, BOX-MAX: every step machine-checked for any d, the multiplier's existence
    included (clip_norm_lemma: continuity, monotonicity, the end values; then the intermediate
    value theorem, cited with its premises established), so the verdict is 'proved'."""
    assert clip_lemma().machine_checked
    assert clip_norm_lemma().machine_checked
    assert clip_norm_lemma().dimension == "any"
    ivt = intermediate_value()
    assert ivt.machine_checked
    assert [s.method for s in ivt.steps] == ["theorem"]
    for verify in (verify_box_proj, verify_box_max):
        evidence = verify()
        assert evidence.passed
        assert evidence.details["dimension"] == "any"
        assert fully_machine_checked(evidence)
        assert not argued_steps(evidence)
        assert verdict([evidence]) is Verdict.PROVED
        ivt_steps = [s for s in evidence.details["steps"]
                     if s["statement"].startswith("intermediate value theorem")]
        assert len(ivt_steps) == 1
        assert ivt_steps[0]["machine_checked"]
        assert "F continuous on [0, oo)" in ivt_steps[0]["assumptions"]
    assert [c.path for c in checks_for("BOX-PROJ") if c.kind == "symbolic"] == [
        "theory.box:verify_box_proj"]


def test_intermediate_value_theorem_needs_its_premises() -> None:
    """Citing the intermediate value theorem without establishing its premises is not
    machine-checked (the premises are the step's assumptions)."""
    p = Proof()
    assert not p.lemma(intermediate_value(), "F takes the value eps")
    assert set(p.steps[0].unjustified) == {h.text for h in IVT_PREMISES}
    p.establish(("F continuous on [0, oo)", "0 <= T", "F(0) <= eps", "eps <= F(T)"))
    texts = [h.text for h in IVT_PREMISES]
    assert p.lemma(intermediate_value(), "F takes the value eps", premises=dict(zip(
        texts, ("F continuous on [0, oo)", "0 <= T", "F(0) <= eps", "eps <= F(T)"),
        strict=True)))


def test_clip_norm_is_monotone_and_lipschitz_numerically() -> None:
    """clip_norm_lemma's conclusions on random instances: F(s) = ||min(s a, b)|| nondecreasing,
    ||a||-Lipschitz and <= s ||a||."""
    g = torch.Generator().manual_seed(3)
    for _ in range(20):
        a = torch.rand(7, generator=g, dtype=torch.float64) * 3
        b = torch.rand(7, generator=g, dtype=torch.float64)
        s = torch.sort(torch.rand(50, generator=g, dtype=torch.float64) * 2).values
        F = torch.stack([torch.minimum(si * a, b).norm() for si in s])
        assert bool((F[1:] >= F[:-1] - 1e-15).all())
        assert bool(((F[1:] - F[:-1]).abs() <= a.norm() * (s[1:] - s[:-1]) + 1e-12).all())
        assert bool((s * a.norm() + 1e-12 >= F).all())


def test_closed_forms_match_a_generic_solver() -> None:
    """BOX-PROJ, BOX-MAX against SLSQP on small instances (gap <= 1e-7, feasible to 1e-12)."""
    for evidence in (check_box_proj(count=20), check_box_max(count=20)):
        assert evidence.passed, evidence.summary
        assert evidence.details["max_gap"] <= 1e-7
        assert evidence.details["max_infeasibility"] <= 1e-12
    assert check_box_proj(count=20).details["max_ball_then_box_excess"] > 1e-3


def test_projection_in_mnist_dimension_matches_bisection() -> None:
    """BOX-PROJ at d = 784: the sorted-breakpoint mu agrees with bisection to 1e-10, the result
    is feasible and idempotent, and it is never farther from z than ball-then-box."""
    x = _mnist_like(6, 0)
    g = torch.Generator().manual_seed(1)
    z = torch.randn((6, D), generator=g, dtype=torch.float64) * 0.2
    lo, hi = -x, 1 - x
    for eps in (0.5, 1.0, 2.0, 100.0):
        ours = project_ball_box(z, eps, "l2", lo, hi)
        for n in range(6):
            ref = _bisection_projection(z[n], lo[n], hi[n], eps)
            assert torch.allclose(ours[n], ref, atol=1e-10)
        assert bool((ours.norm(dim=1) <= eps * (1 + 1e-15)).all())
        assert bool((ours >= lo).all() and (ours <= hi).all())
        assert torch.allclose(project_ball_box(ours, eps, "l2", lo, hi), ours, atol=1e-13)
        madry = project(x, z, eps, "l2", (0.0, 1.0), "ball_then_box")
        assert bool(((ours - z).norm(dim=1) <= (madry - z).norm(dim=1) + 1e-12).all())
    # in the box interior with a small budget both projections are the ball's
    inner = torch.full((2, 5), 0.5, dtype=torch.float64)
    zi = torch.tensor([[0.3, 0.0, 0.0, 0.0, 0.0], [0.01, 0.02, 0.0, 0.0, 0.0]],
                      dtype=torch.float64)
    assert torch.allclose(project(inner, zi, 0.1, "l2", (0.0, 1.0), "exact"),
                          project(inner, zi, 0.1, "l2", (0.0, 1.0), "ball_then_box"))
    # per-sample budgets, and z = 0
    e = torch.tensor([0.05, 0.5], dtype=torch.float64)
    assert torch.allclose(project_ball_box(zi, e, "l2", -inner, 1 - inner).norm(dim=1),
                          torch.tensor([0.05, zi[1].norm()], dtype=torch.float64))
    assert bool((project_ball_box(torch.zeros(2, 5, dtype=torch.float64), 1.0, "l2",
                                  -inner, 1 - inner) == 0).all())


def test_linf_projection_is_the_clip_onto_the_intersection_box() -> None:
    """BOX-PROJ, L-inf: [max(lo, -eps), min(hi, eps)] coordinatewise; ball-then-box is it too."""
    x = _mnist_like(4, 2)
    z = torch.randn((4, D), generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    ours = project_ball_box(z, 0.3, "linf", -x, 1 - x)
    ref = torch.minimum(torch.maximum(z, torch.clamp(-x, min=-0.3)), torch.clamp(1 - x, max=0.3))
    assert torch.equal(ours, ref)
    assert torch.allclose(project(x, z, 0.3, "linf", (0.0, 1.0), "ball_then_box"), ours)


@pytest.mark.parametrize("norm", ["l2", "linf"])
def test_linear_worst_case_beats_every_pgd_variant(norm: str) -> None:
    """BOX-MAX: no PGD run (any start, projection, restarts) finds a lower margin than the
    exact worst case inside ball cap box, and PGD with the exact projection reaches it."""
    x = _mnist_like(40, 4)
    g = torch.Generator().manual_seed(5)
    W = torch.randn((2, D + 1), generator=g, dtype=torch.float64) * 0.05
    y = torch.where(torch.rand(40, generator=g) < 0.5, -1.0, 1.0).to(torch.float64)
    eps = 1.5 if norm == "l2" else 0.1
    exact = attacked_margins(W, x, y, eps, AttackSpec("exact", norm))
    worst = margins(W, box_worst_case(W, x, y, eps, norm, (0.0, 1.0)), y)
    assert torch.equal(exact, worst)
    for start in ("none", "radius", "ball"):
        for projection in ("exact", "ball_then_box"):
            spec = AttackSpec("pgd", norm, 20, start=start, projection=projection, restarts=2)
            found = attacked_margins(W, x, y, eps, spec, torch.Generator().manual_seed(6))
            assert bool((found >= exact - 1e-10).all()), (start, projection)
    best = attacked_margins(W, x, y, eps, AttackSpec("pgd", norm, 100, start="none",
                                                     projection="exact"))
    assert torch.allclose(best, exact, atol=1e-6 * max(1.0, float(exact.abs().max())))


def test_pgd_restarts_keep_the_worst_run_per_example() -> None:
    """Restarts: the kept loss is, per example, at least the first run's (same random stream)."""
    g = torch.Generator().manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(12, 16), torch.nn.Tanh(), torch.nn.Linear(16, 3))
    model = model.double()
    x = torch.rand((30, 12), generator=g, dtype=torch.float64)
    y = torch.randint(0, 3, (30,), generator=g)

    def loss(z: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.cross_entropy(model(z), y, reduction="none")

    one = pgd_on_loss(loss, x, 0.5, "l2", 3, 0.2, generator=torch.Generator().manual_seed(9))
    many = pgd_on_loss(loss, x, 0.5, "l2", 3, 0.2, restarts=4,
                       generator=torch.Generator().manual_seed(9))
    with torch.no_grad():
        assert bool((loss(many) >= loss(one) - 1e-12).all())
        assert bool((loss(many) > loss(one) + 1e-6).any())


def test_start_laws() -> None:
    """'radius': a uniform radius in [0, eps] (mean eps/2); 'ball' concentrates near eps."""
    g = torch.Generator().manual_seed(0)
    r = uniform_ball_noise((4000, D), 2.0, "l2", radius_law="radius", generator=g).norm(dim=1)
    assert abs(float(r.mean()) - 1.0) < 0.05
    assert float(r.max()) <= 2.0
    b = uniform_ball_noise((500, D), 2.0, "l2", generator=g).norm(dim=1)
    assert float(b.min()) > 2.0 * 0.98


def test_attack_spec_rejects_unknown_settings() -> None:
    with pytest.raises(ConfigError, match="unknown start"):
        AttackSpec("pgd", start="sphere")
    with pytest.raises(ConfigError, match="unknown projection"):
        AttackSpec("pgd", projection="box_then_ball")
    with pytest.raises(ConfigError, match="restarts"):
        AttackSpec("pgd", restarts=0)
    with pytest.raises(ConfigError, match="box"):
        AttackSpec("pgd", box=(1.0, 0.0))

"""Attacks (numerics.attacks): the AttackSpec recipe and its step; projections land in the ball
and the box; noise is uniform; PGD finds the maximum."""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from numerics.attacks import (
    ATTACK_KINDS,
    AttackSpec,
    pgd_on_loss,
    project,
    project_ball,
    random_noise,
    uniform_ball_noise,
)
from theory.errors import ConfigError


def test_attack_spec_defaults_and_kinds() -> None:
    spec = AttackSpec()
    assert (spec.kind, spec.norm, spec.steps, spec.step_factor) == ("clean", "l2", 10, 2.5)
    assert spec.box == (0.0, 1.0)
    assert spec.start == "ball"
    assert spec.projection == "ball_then_box"
    assert spec.restarts == 1
    assert spec.step_size is None
    assert spec.iterate_dtype is None
    assert set(ATTACK_KINDS) == {"clean", "pgd", "exact", "random"}
    for kind in ATTACK_KINDS:
        assert AttackSpec(kind).kind == kind


def test_attack_spec_alpha_relative_and_absolute() -> None:
    """alpha(eps) = step_factor eps / steps (Madry et al.'s 2.5 eps / K), or step_size if given."""
    madry = AttackSpec("pgd", "linf", steps=10)
    assert madry.alpha(8 / 255) == pytest.approx(2.5 * (8 / 255) / 10, rel=1e-15)
    assert madry.alpha(0.0) == 0.0
    assert AttackSpec("pgd", steps=4, step_factor=2.0).alpha(0.3) == pytest.approx(0.15)
    # linear in the budget
    assert madry.alpha(0.4) == pytest.approx(2 * madry.alpha(0.2), rel=1e-15)
    fixed = AttackSpec("pgd", "linf", steps=10, step_size=2 / 255)
    assert fixed.alpha(8 / 255) == fixed.alpha(16 / 255) == 2 / 255


def test_attack_spec_normalises_the_norm_and_is_a_frozen_record() -> None:
    assert AttackSpec("pgd", "inf", 3).norm == "linf"
    assert AttackSpec("pgd", "2", 3).norm == "l2"
    spec = AttackSpec("pgd", "linf", 7, step_size=0.01, start="none")
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.steps = 3  # type: ignore[misc]
    # recorded verbatim in configs: the dict form rebuilds the same spec
    assert AttackSpec(**dataclasses.asdict(spec)) == spec
    assert dataclasses.replace(spec, step_size=0.02).alpha(1.0) == 0.02


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"kind": "fgsm"}, "unknown attack kind"),
        ({"kind": "pgd", "norm": "l3"}, "unknown norm"),
        ({"kind": "clean", "norm": "l1"}, "unknown norm"),
        ({"kind": "pgd", "steps": 0}, "steps >= 1"),
        ({"kind": "pgd", "steps": -2}, "steps >= 1"),
        ({"kind": "pgd", "step_size": 0.0}, "step_size"),
        ({"kind": "pgd", "step_size": -0.1}, "step_size"),
        ({"kind": "pgd", "step_size": float("nan")}, "step_size"),
        ({"kind": "pgd", "step_size": float("inf")}, "step_size"),
        ({"kind": "pgd", "step_factor": 0.0}, "step_factor"),
        ({"kind": "pgd", "iterate_dtype": "float16"}, "iterate_dtype"),
    ],
)
def test_attack_spec_rejects_bad_values(kwargs: dict, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        AttackSpec(**kwargs)


def test_attack_spec_steps_matter_for_pgd_only() -> None:
    """Only PGD iterates: the other kinds ignore steps and the step settings."""
    for kind in ("clean", "exact", "random"):
        assert AttackSpec(kind, steps=0, step_factor=0.0).kind == kind
    assert AttackSpec("pgd", steps=1).steps == 1


@settings(max_examples=50, deadline=None, derandomize=True)
@given(seed=st.integers(0, 2**31 - 1), eps=st.floats(0.0, 3.0),
       norm=st.sampled_from(["l2", "linf"]), scale=st.floats(0.01, 10.0))
def test_projection_lands_in_ball_and_box(seed: int, eps: float, norm: str, scale: float) -> None:
    g = torch.Generator().manual_seed(seed)
    x = torch.rand((5, 7), generator=g, dtype=torch.float64)
    delta = scale * torch.randn((5, 7), generator=g, dtype=torch.float64)
    out = project(x, delta, eps, norm)
    size = out.norm(dim=1) if norm == "l2" else out.abs().amax(dim=1)
    assert (size <= eps * (1 + 1e-12) + 1e-15).all()
    assert ((x + out) >= 0).all()
    assert ((x + out) <= 1).all()


def test_projection_is_identity_inside_ball() -> None:
    delta = torch.tensor([[0.1, -0.2], [0.0, 0.3]], dtype=torch.float64)
    assert torch.equal(project_ball(delta, 1.0, "l2"), delta)
    assert torch.equal(project_ball(delta, 1.0, "linf"), delta)


def test_l2_ball_noise_radius_law() -> None:
    """Uniform in the d-ball: P(r <= t eps) = t^d, so E[r^2] = eps^2 d/(d+2)."""
    d, eps, n = 10, 2.0, 40000
    g = torch.Generator().manual_seed(0)
    r = uniform_ball_noise((n, d), eps, "l2", generator=g).norm(dim=1)
    assert r.max() <= eps
    expected = eps**2 * d / (d + 2)
    se = (r**2).std() / math.sqrt(n)
    assert abs((r**2).mean() - expected) < 4 * se
    # the fraction inside half the radius is 2^-d
    assert abs((r <= eps / 2).double().mean() - 0.5**d) < 4 * math.sqrt(0.5**d / n) + 1e-4


def test_sphere_and_cube_noise() -> None:
    g = torch.Generator().manual_seed(1)
    v = uniform_ball_noise((100, 4), 0.5, "l2", surface=True, generator=g)
    torch.testing.assert_close(v.norm(dim=1), torch.full((100,), 0.5, dtype=torch.float64))
    c = uniform_ball_noise((20000, 3), 0.5, "linf", generator=g)
    assert c.abs().max() <= 0.5
    assert abs(c.var() - 0.5**2 / 3) < 0.005


def test_random_noise_is_clipped_to_box() -> None:
    g = torch.Generator().manual_seed(2)
    x = torch.rand((50, 9), generator=g, dtype=torch.float64)
    out = random_noise(x, 0.8, "l2", generator=g)
    assert out.min() >= 0
    assert out.max() <= 1


@pytest.mark.parametrize("norm", ["l2", "linf"])
def test_pgd_reaches_linear_worst_case_without_box(norm: str) -> None:
    """For a linear score the worst case is eta* = -eps y w/||w||_2 (L2), -eps y sign(w) (L-inf)."""
    g = torch.Generator().manual_seed(3)
    w = torch.randn(6, generator=g, dtype=torch.float64)
    x = torch.randn((8, 6), generator=g, dtype=torch.float64)
    y = torch.where(torch.rand(8, generator=g) < 0.5, -1.0, 1.0).double()
    eps = 0.3

    def loss(z: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.softplus(-y * (z @ w))

    # a step of eps halves the angle to the optimum each step on the L2 sphere: 60 steps suffice
    x_adv = pgd_on_loss(loss, x, eps, norm, steps=60, step_size=eps, box=None, generator=g)
    dual = w.norm() if norm == "l2" else w.abs().sum()
    expected = torch.nn.functional.softplus(-y * (x @ w) + eps * dual)
    torch.testing.assert_close(loss(x_adv), expected, rtol=1e-9, atol=1e-12)


def test_pgd_rejects_bad_input() -> None:
    x = torch.zeros((2, 3), dtype=torch.float64)
    with pytest.raises(ConfigError, match="unknown norm"):
        pgd_on_loss(lambda z: z.sum(1), x, 0.1, "l3", 1, 0.1)
    with pytest.raises(ConfigError, match=">= 0"):
        pgd_on_loss(lambda z: z.sum(1), x, -0.1, "l2", 1, 0.1)


def test_pgd_with_zero_eps_returns_input() -> None:
    x = torch.rand((3, 4), dtype=torch.float64)
    assert torch.equal(pgd_on_loss(lambda z: z.sum(1), x, 0.0, "linf", 5, 0.1), x)

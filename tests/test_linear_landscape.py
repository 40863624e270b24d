"""numerics.linear.landscape: filter-normalised 1-D landscapes of linear logistic models."""

from __future__ import annotations

import pytest
import torch

from numerics.attacks import AttackSpec
from numerics.linear.attack import adversarial_loss, perturb
from numerics.linear.landscape import filter_normalized_direction, landscape_1d
from theory.errors import ConfigError

from cases import linear_problem


def test_filter_normalised_direction() -> None:
    """||d|| = ||w||, row by row for a batch of models; the draw follows the generator."""
    _, _, W = linear_problem()
    d = filter_normalized_direction(W, torch.Generator().manual_seed(3))
    assert torch.allclose(d.norm(dim=1), W.norm(dim=1), rtol=1e-14)
    again = filter_normalized_direction(W, torch.Generator().manual_seed(3))
    assert torch.equal(d, again)
    assert not torch.equal(d, filter_normalized_direction(W, torch.Generator().manual_seed(4)))


def test_landscape_normalisation_and_centre() -> None:
    """At a = 0 the landscape equals the training loss; ||d|| = ||w||; the curve is convex."""
    X, y, W = linear_problem()
    w = W[0]
    d = filter_normalized_direction(w, torch.Generator().manual_seed(3))
    assert torch.allclose(d.norm(), w.norm(), rtol=1e-14)
    alphas = torch.linspace(-1, 1, 11)
    for att in (AttackSpec("pgd", "l2", steps=5), AttackSpec("exact", "linf", box=None),
                AttackSpec("random", "l2"), AttackSpec("pgd", "linf", steps=5)):
        eps = 0.3 if att.norm == "l2" else 0.05
        curve = landscape_1d(w, d, X, y, eps, att, alphas, seed=4)
        centre = adversarial_loss(w[None], X, y, eps, att, torch.Generator().manual_seed(4))
        assert torch.allclose(curve[5], centre[0], rtol=1e-13)
        # every point is the loss of its own weights (here: the end point a = 1)
        end = adversarial_loss((w + d)[None], X, y, eps, att, torch.Generator().manual_seed(4))
        if att.kind != "random":
            assert torch.allclose(curve[-1], end[0], rtol=1e-13)
    exact = landscape_1d(w, d, X, y, 0.3, AttackSpec("exact", "l2", box=None), alphas)
    second = exact[2:] - 2 * exact[1:-1] + exact[:-2]
    assert (second >= -1e-12).all()  # the exact robust loss is convex in w
    assert (second > 1e-6).any()
    with pytest.raises(ConfigError, match="same length"):
        landscape_1d(w, d[:-1], X, y, 0.3, AttackSpec("exact", box=None), alphas)


def test_random_noise_landscape_uses_one_draw() -> None:
    """Random noise: every point of the curve sees the same noise draw (independent of w), so
    the curve is the clean loss on one fixed noisy data set."""
    X, y, W = linear_problem()
    w = W[0]
    d = filter_normalized_direction(w, torch.Generator().manual_seed(3))
    alphas = torch.linspace(-1, 1, 5)
    att = AttackSpec("random", "l2")
    curve = landscape_1d(w, d, X, y, 0.3, att, alphas, seed=7)
    grid = w[None] + alphas[:, None] * d[None]
    # the draw made for one model with this seed is the draw for any weights
    noisy = perturb(grid[:1], X, y, 0.3, att, torch.Generator().manual_seed(7))[0]
    ref = adversarial_loss(grid, noisy, y, 0.0, AttackSpec("clean"))
    assert torch.allclose(curve, ref, rtol=1e-14)
    assert not torch.allclose(curve, landscape_1d(w, d, X, y, 0.3, att, alphas, seed=8))

"""numerics.linear.attack: the batched analytic PGD against the generic PGD, the closed forms
(INNER-MAX), the box and the ball, budgets per model, float32 iterates and noise."""

from __future__ import annotations

import pytest
import torch

import numerics.linear.attack as linear_attack
from numerics.attacks import AttackSpec, pgd_on_loss
from numerics.linear.attack import (
    accuracy,
    adversarial_loss,
    attacked_margins,
    budgets,
    perturb,
    robust_correct,
)
from numerics.ops import robust_loss, robust_margin
from theory.errors import ConfigError


def _problem(n: int = 40, d: int = 12, K: int = 3, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    X = torch.rand((n, d), generator=g)
    X[X < 0.4] = 0.0  # many pixels exactly 0, as in MNIST
    X[X > 0.9] = 1.0
    y = torch.where(torch.rand(n, generator=g) < 0.5, -1.0, 1.0)
    W = torch.randn((K, d + 1), generator=g)
    return X, y, W


def _zeta(t: torch.Tensor) -> torch.Tensor:
    """The reference zeta(t) = log(1 + e^t), exact for every t (not F.softplus)."""
    return torch.logaddexp(torch.zeros_like(t), t)


@pytest.mark.parametrize("norm", ["l2", "linf"])
@pytest.mark.parametrize("random_start", [True, False])
def test_batched_pgd_matches_generic_pgd(norm: str, random_start: bool) -> None:
    """Batched analytic PGD equals numerics.attacks.pgd_on_loss (autograd) model by model, same
    seed."""
    X, y, W = _problem()
    eps = 0.3 if norm == "l2" else 0.1
    attack = AttackSpec("pgd", norm, steps=7, start="ball" if random_start else "none")
    for k in range(W.shape[0]):
        xa = perturb(W[k:k + 1], X, y, eps, attack, torch.Generator().manual_seed(3))[0]

        def loss_fn(xx: torch.Tensor, k: int = k) -> torch.Tensor:
            return _zeta(-y * (xx @ W[k, :-1] + W[k, -1]))

        xr = pgd_on_loss(loss_fn, X, eps, norm, 7, attack.alpha(eps), start=attack.start,
                 generator=torch.Generator().manual_seed(3))
        assert torch.allclose(xa, xr, rtol=0, atol=1e-12)


def test_linf_pgd_limit_is_box_worst_case() -> None:
    """INNER-MAX with box, L-inf: PGD with K alpha >= 2 eps ends at clip(x - eps y sign(w))."""
    X, y, W = _problem()
    eps = 0.2
    xa = perturb(W, X, y, eps, AttackSpec("pgd", "linf", steps=10))
    expected = (X[None] - eps * y[None, :, None] * W[:, None, :-1].sign()).clamp(0, 1)
    assert torch.equal(xa, expected)
    # and a short-step PGD (no shortcut) does not reach it: the shortcut is not a tautology
    short = perturb(W, X, y, eps, AttackSpec("pgd", "linf", steps=2, step_factor=0.5),
                    torch.Generator().manual_seed(0))
    assert (short - expected).abs().max() > 1e-3


def test_exact_worst_case_is_inner_max() -> None:
    """INNER-MAX: without box, the loss at x - eps y w^ is zeta(-y w.x + eps ||w||_q) and PGD
    (no box) cannot exceed it; it approaches it to 1e-6."""
    X, y, W = _problem()
    for norm, eps in (("l2", 0.5), ("linf", 0.05)):
        exact = adversarial_loss(W, X, y, eps, AttackSpec("exact", norm, box=None))
        closed = robust_loss(W, X, y, eps, norm).mean(dim=1)
        assert torch.allclose(exact, closed, rtol=1e-13, atol=0)
        # the exact attack's inputs themselves: the loss recomputed at x - eps y w^ agrees
        xa = perturb(W, X, y, eps, AttackSpec("exact", norm, box=None))
        at_inputs = _zeta(-y * (torch.einsum("knd,kd->kn", xa, W[:, :-1]) + W[:, -1:]))
        assert torch.allclose(at_inputs.mean(dim=1), closed, rtol=1e-12, atol=0)
        # PGD from a random start with long steps (alpha = 0.625 eps) contracts onto eta*
        att = AttackSpec("pgd", norm, steps=40, step_factor=25.0, box=None)
        viapgd = adversarial_loss(W, X, y, eps, att, torch.Generator().manual_seed(1))
        assert (viapgd <= closed + 1e-12).all()
        assert torch.allclose(viapgd, closed, rtol=0, atol=1e-6)
        # Madry's short steps from a random start are still short of it: the check can fail
        madry = adversarial_loss(W, X, y, eps, AttackSpec("pgd", norm, steps=5, box=None),
                                 torch.Generator().manual_seed(1))
        assert (madry <= closed + 1e-12).all()
    # the [0, 1] box makes the attack weaker: robust margin with box >= without
    boxed = attacked_margins(W, X, y, 0.05, AttackSpec("pgd", "linf"))
    assert (boxed >= robust_margin(W, X, y, 0.05, "linf") - 1e-12).all()
    assert (boxed > robust_margin(W, X, y, 0.05, "linf") + 1e-6).any()


def test_exact_margins_per_model_budget() -> None:
    """attacked_margins('exact') with one eps per model equals each model's robust margin."""
    X, y, W = _problem()
    eps = torch.tensor([0.0, 0.2, 0.7])
    both = attacked_margins(W, X, y, eps, AttackSpec("exact", "l2", box=None))
    for k in range(W.shape[0]):
        alone = robust_margin(W[k], X, y, float(eps[k]), "l2")
        assert torch.allclose(both[k], alone, rtol=1e-14, atol=1e-14)
    clean = attacked_margins(W, X, y, eps, AttackSpec("clean"))
    assert torch.equal(both[0], clean[0])


def test_pgd_stays_in_ball_and_box() -> None:
    X, y, W = _problem()
    eps = torch.tensor([0.0, 0.4, 1.0])
    xa = perturb(W, X, y, eps, AttackSpec("pgd", "l2", steps=5), torch.Generator().manual_seed(2))
    delta = xa - X[None]
    assert (delta.norm(dim=-1) <= eps[:, None] + 1e-12).all()
    assert (xa >= 0).all()
    assert (xa <= 1).all()
    assert torch.equal(xa[0], X)  # eps = 0 leaves the data alone
    # the budget is used: the attack moves the others
    assert (delta[2].norm(dim=-1) > 0.5).any()


@pytest.mark.parametrize("common", [True, False])
def test_zero_budget_skips_pgd_and_keeps_the_other_models_draws(common: bool) -> None:
    """eps = 0 leaves x alone without running PGD; every other model gets exactly the iterates
    it gets when no budget of the batch is zero (the same random starts)."""
    X, y, W = _problem()
    att = AttackSpec("pgd", "l2", steps=5)
    mixed = perturb(W, X, y, torch.tensor([0.0, 0.4, 1.0]), att,
                    torch.Generator().manual_seed(2), common)
    positive = perturb(W, X, y, torch.tensor([1e-3, 0.4, 1.0]), att,
                       torch.Generator().manual_seed(2), common)
    assert torch.equal(mixed[0], X)
    assert torch.equal(mixed[1:], positive[1:])
    assert not torch.equal(positive[0], X)


@pytest.mark.parametrize(("norm", "budgets_"), [("l2", (0.0, 0.4, 1.0)),
                                                ("linf", (0.0, 0.05, 0.1))])
def test_float32_iterates_stay_feasible_and_close_to_float64(norm: str, budgets_: tuple) -> None:
    """iterate_dtype='float32': the result is float64, inside the ball and the box exactly, and
    within 1e-5 of the float64 PGD from the same start (L-inf with short steps, no closed form)."""
    X, y, W = _problem()
    eps = torch.tensor(budgets_)
    att = AttackSpec("pgd", norm, steps=7, step_factor=1.5)
    a64 = perturb(W, X, y, eps, att, torch.Generator().manual_seed(2))
    a32 = perturb(W, X, y, eps, AttackSpec("pgd", norm, steps=7, step_factor=1.5,
                                           iterate_dtype="float32"),
                  torch.Generator().manual_seed(2))
    assert a32.dtype == X.dtype == torch.float64
    assert not torch.equal(a32, a64)  # the float32 path ran
    assert (a32 - a64).abs().max() < 1e-5
    delta = a32 - X[None]
    size = delta.norm(dim=-1) if norm == "l2" else delta.abs().amax(dim=-1)
    assert (size <= eps[:, None] * (1 + 1e-15)).all()
    assert (a32 >= 0).all()
    assert (a32 <= 1).all()
    assert torch.equal(a32[0], X)


def test_random_noise_in_ball_and_independent_of_w() -> None:
    X, y, W = _problem()
    att = AttackSpec("random", "linf")
    a = perturb(W, X, y, 0.1, att, torch.Generator().manual_seed(4))
    b = perturb(-W, X, y, 0.1, att, torch.Generator().manual_seed(4))
    assert torch.equal(a, b)
    common = perturb(W, X, y, 0.1, att, torch.Generator().manual_seed(4), common_noise=True)
    assert torch.equal(common[0], common[1])
    assert not torch.equal(a[0], a[1])
    assert ((a - X).abs() <= 0.1 + 1e-15).all()
    assert (a >= 0).all()
    assert (a <= 1).all()
    # no box: the noise is not clipped, and some of it leaves [0, 1]
    free = perturb(W, X, y, 0.1, AttackSpec("random", "linf", box=None),
                   torch.Generator().manual_seed(4))
    assert (free < 0).any()


def test_accuracy_counts_positive_margins() -> None:
    """accuracy = 100 * share of margins > 0 (a margin of exactly 0 is an error), clean and robust;
    robust accuracy under the exact attack is at most the clean one."""
    X, y, W = _problem()
    W0 = torch.cat([W, torch.zeros(1, W.shape[1])])  # w = 0: every margin is 0
    clean = accuracy(W0, X, y)
    z = (X @ W0[:, :-1].T + W0[:, -1]).T * y
    assert torch.allclose(clean, 100.0 * (z > 0).double().mean(dim=1), rtol=0, atol=1e-12)
    assert float(clean[-1]) == 0.0
    robust = accuracy(W, X, y, 0.3, AttackSpec("exact", "l2", box=None))
    assert (robust <= clean[:-1] + 1e-12).all()
    assert (robust < clean[:-1]).any()


def test_bad_input_is_refused() -> None:
    X, y, W = _problem()
    with pytest.raises(ConfigError, match="attack kind"):
        AttackSpec("fgsm")
    with pytest.raises(ConfigError, match="iterate_dtype"):
        AttackSpec("pgd", iterate_dtype="bfloat16")
    with pytest.raises(ConfigError, match="unknown norm"):
        AttackSpec("pgd", "l1")
    with pytest.raises(ConfigError, match="steps >= 1"):
        AttackSpec("pgd", steps=0)
    with pytest.raises(ConfigError, match="budgets"):
        perturb(W, X, y, torch.tensor([0.1, 0.2]), AttackSpec("pgd"))
    with pytest.raises(ConfigError, match=">= 0"):
        perturb(W, X, y, -0.1, AttackSpec("pgd"))
    with pytest.raises(ConfigError, match=">= 0"):
        budgets(torch.tensor([0.1, float("nan"), 0.2]), 3, X)
    with pytest.raises(ConfigError, match="weights"):
        perturb(W[:, :5], X, y, 0.1, AttackSpec("pgd"))
    with pytest.raises(ConfigError, match="step_factor"):
        perturb(W, X, y, 0.1, AttackSpec("pgd", step_size=0.01))


@pytest.mark.parametrize("projection", ["exact", "ball_then_box"])
def test_pgd_blocks_of_rows_change_no_bit(projection: str, monkeypatch: pytest.MonkeyPatch,
                                          ) -> None:
    """PGD attacked in blocks of rows (cache-sized) gives the same iterates bit for bit as on
    the whole set at once, float32 iterates and random starts included."""
    X, y, W = _problem(n=50, d=20, K=3)
    eps = torch.tensor([0.0, 0.5, 1.5])
    attack = AttackSpec("pgd", "l2", 7, 2.5, iterate_dtype="float32", start="ball",
                        projection=projection)
    whole = perturb(W, X, y, eps, attack, torch.Generator().manual_seed(4))
    monkeypatch.setattr(linear_attack, "_PGD_ROWS", 3 * 20 * 4)  # blocks of 4 rows
    blocks = perturb(W, X, y, eps, attack, torch.Generator().manual_seed(4))
    assert torch.equal(whole, blocks)


@pytest.mark.parametrize("norm", ["l2", "linf"])
@pytest.mark.parametrize("kind", ["exact", "pgd", "clean", "random"])
def test_robust_correct_equals_the_unscreened_margins(norm: str, kind: str) -> None:
    """robust_correct (the ball margin certifies most examples; only the others are attacked)
    says exactly what the margins of every example under the attacks say."""
    X, y, W = _problem(n=300, d=20, K=4)
    W = W * 0.3
    eps = torch.tensor([0.0, 0.2, 0.6, 1.2]) * (1.0 if norm == "l2" else 0.2)
    attacks = (AttackSpec(kind, norm) if kind != "pgd" else
               AttackSpec("pgd", norm, 20, 2.5, iterate_dtype="float32", start="none",
                          projection="exact"),)
    z = attacked_margins(W, X, y, eps, attacks[0], torch.Generator().manual_seed(1))
    got = robust_correct(W, X, y, eps, attacks, torch.Generator().manual_seed(1))
    assert torch.equal(got, z > 0)
    assert 0 < int((~got).sum()) < got.numel()  # some examples broken, some not

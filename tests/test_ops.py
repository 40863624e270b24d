"""numerics.ops: zeta, margins, the robust margin and loss (INNER-MAX), their gradient, eta*.

Both bias spellings (p = d + 1, and p = d with the constant 1 as the last input, bias=True),
the K-batched forms, numpy in / numpy out, and the refusal of bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch.nn.functional import softplus

from numerics import ops
from theory.errors import ConfigError

NORMS = ("l2", "linf")


def _data(seed: int = 0, n: int = 9, d: int = 5, K: int = 3):
    """x (n, d) features, y +-1, W (K, d + 1) with the bias last, budgets (K,)."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, d, generator=g)
    y = torch.where(torch.rand(n, generator=g) < 0.5, -1.0, 1.0)
    W = torch.randn(K, d + 1, generator=g)
    eps = 0.1 + torch.rand(K, generator=g)
    return x, y, W, eps


def _reference_margin(w: torch.Tensor, x: torch.Tensor, y: torch.Tensor, eps: float,
                      norm: str) -> torch.Tensor:
    """y (w_f.x + b) - eps ||w_f||_q written out (w (d + 1,), bias last)."""
    wf, b = w[:-1], w[-1]
    q = wf.norm() if norm == "l2" else wf.abs().sum()
    return y * (x @ wf + b) - eps * q


# --- zeta -----------------------------------------------------------------------------------


def test_zeta_is_exact_above_20() -> None:
    """zeta(t) = t + log1p(e^-t) to the last bit where F.softplus returns t itself (t > 20);
    its derivative is the sigmoid there (softplus' is 1)."""
    t = torch.tensor([21.0, 25.0, 30.0])
    z = ops.zeta(t)
    exact = t + torch.log1p(torch.exp(-t))
    assert torch.equal(z, exact)
    assert (z - t > 0).all()  # the correction e^-t is seen
    # z - t = log1p(e^-t) ~ e^-t, up to half an ulp of t (1.8e-15 for 16 <= t < 32)
    assert torch.allclose(z - t, torch.exp(-t), rtol=0, atol=2e-15)
    assert torch.equal(softplus(t), t)  # what zeta avoids: the two differ above t = 20
    assert (z != softplus(t)).all()
    tg = t.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(ops.zeta(tg).sum(), tg)
    assert torch.allclose(grad, torch.sigmoid(t), rtol=1e-15, atol=0)
    assert (grad < 1).all()


def test_zeta_at_extreme_arguments_and_numpy() -> None:
    """No overflow for t >> 0, no rounding to 0 for t << 0; numpy in, numpy out."""
    z = ops.zeta(torch.tensor([-700.0, 0.0, 800.0]))
    assert float(z[0]) == pytest.approx(math.exp(-700.0), rel=1e-12)
    assert float(z[1]) == pytest.approx(math.log(2.0), rel=1e-15)
    assert float(z[2]) == 800.0
    zn = ops.zeta(np.array([-700.0, 0.0, 800.0]))
    assert isinstance(zn, np.ndarray)
    np.testing.assert_array_equal(zn, z.numpy())


def test_robust_loss_is_stable_at_large_margins() -> None:
    """The stable form: no overflow for m << 0, no rounding to 0 for m >> 0."""
    w = torch.tensor([1.0, 0.0])
    x = torch.tensor([[700.0, 0.0], [-800.0, 0.0]])
    loss = ops.robust_loss(w, x, torch.tensor([1.0, 1.0]), 0.0)
    assert float(loss[1]) == pytest.approx(800.0, rel=1e-15)
    assert float(loss[0]) == pytest.approx(math.exp(-700.0), rel=1e-12)  # naive form gives 0


# --- robust margin and loss -----------------------------------------------------------------


@pytest.mark.parametrize("norm", NORMS)
def test_both_bias_spellings_agree(norm: str) -> None:
    """p = d + 1 (implicit bias) and bias=True with the constant column give the same margin
    and loss, equal to the margin written out; the bias is not attacked."""
    x, y, W, _ = _data()
    xa = ops.augment(x)
    assert torch.equal(xa[:, :-1], x)
    assert (xa[:, -1] == 1).all()
    for w in W:
        ref = _reference_margin(w, x, y, 0.3, norm)
        implicit = ops.robust_margin(w, x, y, 0.3, norm)
        explicit = ops.robust_margin(w, xa, y, 0.3, norm, bias=True)
        torch.testing.assert_close(implicit, ref, rtol=1e-14, atol=1e-14)
        torch.testing.assert_close(explicit, ref, rtol=1e-14, atol=1e-14)
        torch.testing.assert_close(ops.robust_loss(w, x, y, 0.3, norm),
                                   ops.robust_loss(w, xa, y, 0.3, norm, bias=True),
                                   rtol=1e-14, atol=0)
        # without bias=True the constant column's weight is attacked like a feature
        unbiased = ops.robust_margin(w, xa, y, 0.3, norm)
        assert (unbiased < explicit).all()
    # the batched form, K models at once
    torch.testing.assert_close(ops.robust_margin(W, x, y, 0.3, norm),
                               ops.robust_margin(W, xa, y, 0.3, norm, bias=True),
                               rtol=1e-14, atol=1e-14)


@pytest.mark.parametrize("norm", NORMS)
def test_robust_loss_is_zeta_of_minus_margin(norm: str) -> None:
    """robust_loss = zeta(-robust_margin) per point; eps = 0 gives the clean loss zeta(-z)."""
    x, y, W, eps = _data()
    for bias_form in (False, True):
        xx = ops.augment(x) if bias_form else x
        for w in W:
            m = ops.robust_margin(w, xx, y, 0.4, norm, bias=bias_form)
            torch.testing.assert_close(ops.robust_loss(w, xx, y, 0.4, norm, bias=bias_form),
                                       ops.zeta(-m), rtol=1e-14, atol=0)
    m = ops.robust_margin(W, x, y, eps, norm)
    torch.testing.assert_close(ops.robust_loss(W, x, y, eps, norm), ops.zeta(-m),
                               rtol=1e-14, atol=0)
    torch.testing.assert_close(ops.robust_loss(W, x, y, 0.0, norm),
                               ops.zeta(-ops.margins(W, x, y)), rtol=1e-14, atol=0)
    # the margin is monotone in eps, by ||w_f||_q per unit of eps
    q = ops.dual_norm(W[:, :-1], norm)
    torch.testing.assert_close(ops.robust_margin(W, x, y, 0.0, norm) - m,
                               (eps * q)[:, None].expand_as(m), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("norm", NORMS)
def test_k_batched_equals_k_single_calls(norm: str) -> None:
    """W (K, p) with one eps per model equals K single-model calls: margin, loss, the gradient
    of the mean loss; per-model inputs x (K, N, d) too."""
    x, y, W, eps = _data()
    m = ops.robust_margin(W, x, y, eps, norm)
    loss = ops.robust_loss(W, x, y, eps, norm)
    grad = ops.robust_gradient(W, x, y, eps, norm, mean=True)
    assert m.shape == loss.shape == (W.shape[0], x.shape[0])
    assert grad.shape == W.shape
    g = torch.Generator().manual_seed(5)
    xk = x[None] + 0.1 * torch.randn(W.shape[0], *x.shape, generator=g)
    mk = ops.robust_margin(W, xk, y, eps, norm)
    for k in range(W.shape[0]):
        e = float(eps[k])
        torch.testing.assert_close(m[k], ops.robust_margin(W[k], x, y, e, norm),
                                   rtol=1e-14, atol=1e-14)
        torch.testing.assert_close(loss[k], ops.robust_loss(W[k], x, y, e, norm),
                                   rtol=1e-14, atol=0)
        torch.testing.assert_close(grad[k], ops.robust_gradient(W[k], x, y, e, norm, mean=True),
                                   rtol=1e-13, atol=1e-15)
        torch.testing.assert_close(mk[k], ops.robust_margin(W[k], xk[k], y, e, norm),
                                   rtol=1e-14, atol=1e-14)
    # one shared eps is broadcast to every model
    torch.testing.assert_close(ops.robust_margin(W, x, y, 0.25, norm),
                               ops.robust_margin(W, x, y, torch.full((3,), 0.25), norm),
                               rtol=0, atol=0)


# --- gradient -------------------------------------------------------------------------------


@pytest.mark.parametrize("norm", NORMS)
def test_robust_gradient_per_point_mean_and_autograd(norm: str) -> None:
    """The per-point gradients (explicit bias column), their mean, the mean=True form (implicit
    bias) and autograd of the mean robust loss (robust_loss_and_grad) agree to 1e-12."""
    x, y, W, _ = _data()
    xa = ops.augment(x)
    for w in W:
        per_point = ops.robust_gradient(w, xa, y, 0.3, norm, bias=True)
        assert per_point.shape == xa.shape
        mean_form = ops.robust_gradient(w, x, y, 0.3, norm, mean=True)
        explicit_mean = ops.robust_gradient(w, xa, y, 0.3, norm, bias=True, mean=True)
        value, auto = ops.robust_loss_and_grad(w, x, y, 0.3, norm)
        torch.testing.assert_close(per_point.mean(0), auto, rtol=1e-12, atol=1e-15)
        torch.testing.assert_close(mean_form, auto, rtol=1e-12, atol=1e-15)
        torch.testing.assert_close(explicit_mean, auto, rtol=1e-12, atol=1e-15)
        assert value == pytest.approx(float(ops.robust_loss(w, x, y, 0.3, norm).mean()),
                                      rel=1e-15)
        # per point against autograd of each point's loss (the bias coordinate included)
        wr = w.clone().requires_grad_(True)
        rows = [torch.autograd.grad(li, wr, retain_graph=True)[0]
                for li in ops.robust_loss(wr, xa, y, 0.3, norm, bias=True)]
        torch.testing.assert_close(per_point, torch.stack(rows), rtol=1e-12, atol=1e-15)
        # -s(-m) v: the direction v = y x - eps g times the sigmoid of the margin
        m = ops.robust_margin(w, xa, y, 0.3, norm, bias=True)
        v = ops.robust_direction(w, xa, y, 0.3, norm, bias=True)
        torch.testing.assert_close(per_point, -torch.sigmoid(-m)[:, None] * v,
                                   rtol=1e-14, atol=0)


@pytest.mark.parametrize("norm", NORMS)
def test_loss_and_mean_gradient_in_one_pass_are_the_two_calls_to_the_bit(norm: str) -> None:
    """INNER-MAX, HESS-DEP: robust_loss_and_mean_gradient gives robust_loss and
    robust_gradient(mean=True) exactly (torch.equal), K models with one budget each or one
    model, with the bias implicit (p = d + 1) or without one, and at w_f = 0 (the subgradient)."""
    x, y, W, eps = _data(K=4)
    x, y, W, eps = x.double(), y.double(), W.double(), eps.double()
    zero_features = W.clone()
    zero_features[1, :-1] = 0.0
    for w, e, xx in [(W, eps, x), (W[:, :-1], eps, x), (W[0], 0.3, x), (zero_features, eps, x)]:
        loss, grad = ops.robust_loss_and_mean_gradient(w, xx, y, e, norm)
        assert torch.equal(loss, ops.robust_loss(w, xx, y, e, norm))
        assert torch.equal(grad, ops.robust_gradient(w, xx, y, e, norm, mean=True))
    _, auto = ops.robust_loss_and_grad(W[2], x, y, float(eps[2]), norm)
    torch.testing.assert_close(ops.robust_loss_and_mean_gradient(W, x, y, eps, norm)[1][2],
                               auto, rtol=1e-12, atol=1e-15)


def test_gradient_at_zero_features() -> None:
    """mean=True takes autograd's subgradient g = 0 at w_f = 0 (p = 2); per point refuses it."""
    x, y, _, _ = _data()
    w = torch.zeros(x.shape[1] + 1)
    w[-1] = 0.5
    _, auto = ops.robust_loss_and_grad(w, x, y, 0.3, "l2")
    torch.testing.assert_close(ops.robust_gradient(w, x, y, 0.3, "l2", mean=True), auto,
                               rtol=1e-12, atol=1e-15)
    with pytest.raises(ConfigError, match="not differentiable at w_f = 0"):
        ops.robust_gradient(w, ops.augment(x), y, 0.3, "l2", bias=True)


# --- eta* -----------------------------------------------------------------------------------


@pytest.mark.parametrize("norm", NORMS)
def test_inner_max_perturbation_attains_the_robust_loss(norm: str) -> None:
    """eta* lies on the sphere ||eta||_p = eps, is 0 on the bias, and zeta(-y w.(x + eta*)) is
    the robust loss."""
    x, y, W, _ = _data()
    xa = ops.augment(x)
    for w in W:
        eta = ops.inner_max_perturbation(w, xa, y, 0.3, norm, bias=True)
        assert (eta[:, -1] == 0).all()
        size = eta[:, :-1].norm(dim=1) if norm == "l2" else eta[:, :-1].abs().amax(dim=1)
        torch.testing.assert_close(size, torch.full_like(size, 0.3), rtol=1e-14, atol=0)
        torch.testing.assert_close(ops.zeta(-y * ((xa + eta) @ w)),
                                   ops.robust_loss(w, xa, y, 0.3, norm, bias=True),
                                   rtol=1e-12, atol=0)


# --- numpy and bad input --------------------------------------------------------------------


def test_robust_margin_numpy_and_torch_agree() -> None:
    """numpy in gives numpy out, equal to the torch result."""
    x, y, W, _ = _data()
    xa = ops.augment(x)
    m_torch = ops.robust_margin(W[0], xa, y, 0.3, "l2", bias=True)
    m_numpy = ops.robust_margin(W[0].numpy(), xa.numpy(), y.numpy(), 0.3, "l2", bias=True)
    assert isinstance(m_numpy, np.ndarray)
    np.testing.assert_allclose(m_numpy, m_torch.numpy(), rtol=1e-15)
    g_numpy = ops.robust_gradient(W.numpy(), x.numpy(), y.numpy(), 0.3, "l2", mean=True)
    assert isinstance(g_numpy, np.ndarray)
    np.testing.assert_allclose(g_numpy, ops.robust_gradient(W, x, y, 0.3, "l2", mean=True).numpy(),
                               rtol=1e-15)


@pytest.mark.parametrize("labels", [[0.0, 1.0], [1.0, 2.0], [0.5, -1.0]])
def test_labels_other_than_pm1_are_refused(labels: list[float]) -> None:
    """Every function of a margin refuses labels other than +-1 with a ConfigError."""
    x = torch.tensor([[0.5, 2.0], [1.0, 3.0]])
    xa = ops.augment(x)
    y = torch.tensor(labels)
    w, wa = torch.ones(3), torch.ones(3)
    calls = [
        lambda: ops.check_labels(y),
        lambda: ops.robust_margin(w, x, y, 0.1),
        lambda: ops.robust_loss(w, x, y, 0.1, "linf"),
        lambda: ops.robust_loss(w[None].expand(2, -1), x, y, torch.tensor([0.1, 0.2])),
        lambda: ops.robust_gradient(w, x, y, 0.1, mean=True),
        lambda: ops.robust_gradient(wa, xa, y, 0.1, bias=True),
        lambda: ops.robust_direction(wa, xa, y, 0.1, bias=True),
        lambda: ops.inner_max_perturbation(wa, xa, y, 0.1, bias=True),
        lambda: ops.robust_loss_and_grad(w, x, y, 0.1, "l2"),
    ]
    for call in calls:
        with pytest.raises(ConfigError, match=r"labels y must be -1 or \+1"):
            call()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"y_": [0.0, 1.0]}, r"labels y must be -1 or \+1"),
        ({"norm": "l3"}, "unknown norm"),
        ({"eps_": -0.1}, "must be >= 0"),
        ({"eps_": float("nan")}, "finite"),
        ({"bias": True}, "constant 1"),
        ({"x": np.zeros((2, 3))}, "do not fit"),
        ({"y_": [1.0, -1.0, 1.0]}, "y must have shape"),
        ({"y_": [1.0]}, "y must have shape"),
    ],
)
def test_bad_input_raises_config_error(kwargs: dict, message: str) -> None:
    """Bad input raises ConfigError with a message that says what is accepted."""
    args = {"w": np.ones(2), "x": np.array([[0.5, 2.0], [1.0, 3.0]]), "y_": [1.0, -1.0],
            "eps_": 0.1, "norm": "l2", "bias": False}
    args.update(kwargs)
    for fn in (ops.robust_margin, ops.robust_loss):
        with pytest.raises(ConfigError, match=message):
            fn(args["w"], args["x"], args["y_"], args["eps_"], args["norm"], bias=args["bias"])


def test_bad_budgets_per_model_are_refused() -> None:
    x, y, W, _ = _data()
    with pytest.raises(ConfigError, match="budgets"):
        ops.robust_margin(W, x, y, torch.tensor([0.1, 0.2]))
    with pytest.raises(ConfigError, match=">= 0"):
        ops.robust_loss(W, x, y, torch.tensor([0.1, -0.2, 0.3]))
    with pytest.raises(ConfigError, match="weights"):
        ops.scores(torch.ones(2, 3, 6), x)

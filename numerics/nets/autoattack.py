r"""Robust accuracy under AutoAttack's standard pair of untargeted attacks, APGD-CE and APGD-DLR
(Croce and Hein 2020), from a maintained library: ``torchattacks``, installed apart with
:data:`INSTALL` (its metadata pins an old ``requests`` that cannot sit beside jupyterlab, and asks
for torchvision, which its attacks never import).

APGD is not written here. :func:`apgd_robust_accuracy` runs ``torchattacks.APGD`` with
``loss="ce"`` (cross-entropy) and ``loss="dlr"`` (the difference of logits ratio
``-(z_y - max_{i != y} z_i) / (z_{pi_1} - z_{pi_3})``) and counts an example as robust only if
it is classified correctly under both (the worst case per example, as
:func:`numerics.nets.attack.robust_accuracy` counts the suite's PGD starts). ``torchattacks``
needs inputs in the box [0, 1] and clips its iterates to it, which is the nets' input box
(:data:`numerics.attacks.AttackSpec.box` defaults to (0, 1); the images of
:mod:`numerics.data` lie in [0, 1]); inputs outside it are refused here with a clear error.

``torchattacks.APGD`` seeds torch's global generator (``torch.random.manual_seed(seed)``) and
draws its start in torch's default dtype; the wrapper runs it inside
:func:`torch.random.fork_rng` with the inputs' dtype as the default, so the caller's random
stream and default dtype are left as they were.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from numerics.validate import check_data
from theory.errors import ConfigError

__all__ = ["APGD_LOSSES", "INSTALL", "apgd_examples", "apgd_robust_accuracy",
           "require_torchattacks"]

#: AutoAttack's standard untargeted pair: APGD on the cross-entropy and on the DLR loss.
APGD_LOSSES = ("ce", "dlr")
#: How torchattacks is installed (.ci/run runs this command; tests/test_packaging.py checks).
INSTALL = "pip install --no-deps torchattacks==3.5.1"
_NORMS = {"linf": "Linf", "l2": "L2"}


def require_torchattacks() -> Any:
    """The ``torchattacks`` module, or a ConfigError giving the command that installs it."""
    try:
        import torchattacks
    except ImportError as exc:  # the optional extra is missing
        raise ConfigError(f"APGD needs the optional dependency torchattacks: {INSTALL}"
                          ) from exc
    return torchattacks


def _check(model: nn.Module, x: torch.Tensor, y: torch.Tensor, eps: float, norm: str,
           steps: int, restarts: int) -> str:
    check_data(x, y, name="x (APGD inputs)", labels="classes")
    if x.dim() != 4:
        raise ConfigError(f"APGD (torchattacks) takes images (N, C, H, W), got {tuple(x.shape)}")
    if float(x.min()) < 0 or float(x.max()) > 1:
        raise ConfigError(f"APGD (torchattacks) needs inputs in [0, 1], got values in "
                          f"[{float(x.min()):g}, {float(x.max()):g}]: rescale the images")
    if norm.lower() not in _NORMS:
        raise ConfigError(f"APGD's norm must be one of {sorted(_NORMS)}, got {norm!r}")
    if not eps >= 0 or eps == float("inf"):
        raise ConfigError(f"eps must be a finite budget >= 0, got {eps}")
    if steps < 1 or restarts < 1:
        raise ConfigError(f"APGD needs steps >= 1 and restarts >= 1, got {steps}, {restarts}")
    return _NORMS[norm.lower()]


def apgd_examples(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, eps: float, *, norm: str = "linf",
    loss: str = "ce", steps: int = 100, restarts: int = 1, seed: int = 0,
) -> torch.Tensor:
    """APGD's adversarial examples ``x + δ`` (``||δ||_p <= eps``, in [0, 1]) against ``model``
    (eval mode during the attack), by ``torchattacks.APGD`` on ``loss`` (``"ce"`` or
    ``"dlr"``). Where APGD finds no misclassified point it returns ``x`` itself."""
    ta = require_torchattacks()
    p = _check(model, x, y, eps, norm, steps, restarts)
    if loss not in APGD_LOSSES:
        raise ConfigError(f"APGD's loss must be one of {APGD_LOSSES}, got {loss!r}")
    if eps == 0:
        return x.detach().clone()
    if loss == "dlr":
        with torch.no_grad():
            classes = model(x[:1]).shape[1]
        if classes < 3:
            raise ConfigError(f"APGD-DLR needs at least three classes (its ratio uses the third "
                              f"largest logit); the model scores {classes}: use loss='ce'")
    was_training = model.training
    previous = torch.get_default_dtype()
    model.eval()
    torch.set_default_dtype(x.dtype)  # APGD draws its start in the default dtype
    try:
        with torch.random.fork_rng(devices=[]):
            attack = ta.APGD(model, norm=p, eps=eps, steps=steps, n_restarts=restarts,
                             seed=seed, loss=loss)
            return attack(x.detach(), y.detach()).detach().to(x.dtype)
    finally:
        torch.set_default_dtype(previous)
        model.train(was_training)


def apgd_robust_accuracy(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, eps: float, *, norm: str = "linf",
    losses: tuple[str, ...] = APGD_LOSSES, steps: int = 100, restarts: int = 1, seed: int = 0,
    batch_size: int = 500,
) -> dict[str, Any]:
    """Accuracy (a fraction) of ``model`` under APGD-CE and APGD-DLR, the worst case per example.

    Returns:
        ``{"robust_acc", "per_loss": {loss: accuracy}, "steps", "restarts", "library"}``:
        ``robust_acc`` counts an example only if it is classified correctly at its clean point
        and at each loss's adversarial example (so it is <= every ``per_loss`` value).
    """
    ta = require_torchattacks()
    _check(model, x, y, eps, norm, steps, restarts)
    if not losses or any(loss not in APGD_LOSSES for loss in losses):
        raise ConfigError(f"losses must be a non-empty subset of {APGD_LOSSES}, got {losses}")
    was_training = model.training
    model.eval()
    robust = torch.ones(x.shape[0], dtype=torch.bool, device=x.device)
    per_loss = {loss: torch.ones_like(robust) for loss in losses}
    try:
        for s in range(0, x.shape[0], batch_size):
            xb, yb = x[s:s + batch_size], y[s:s + batch_size]
            with torch.no_grad():
                robust[s:s + batch_size] &= model(xb).argmax(1) == yb
            for loss in losses:
                xa = apgd_examples(model, xb, yb, eps, norm=norm, loss=loss, steps=steps,
                                   restarts=restarts, seed=seed)
                with torch.no_grad():
                    ok = model(xa).argmax(1) == yb
                per_loss[loss][s:s + batch_size] = ok & robust[s:s + batch_size]
                robust[s:s + batch_size] &= ok
    finally:
        model.train(was_training)
    return {"robust_acc": float(robust.double().mean()),
            "per_loss": {k: float(v.double().mean()) for k, v in per_loss.items()},
            "steps": steps, "restarts": restarts, "norm": norm,
            "library": f"torchattacks {ta.__version__} APGD"}

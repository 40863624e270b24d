"""Validation on the numeric side: devices, output folders, tensors, PGD step sizes.

Each function returns the normalised value or raises :class:`ConfigError` with a message that
says what is accepted. The checks every formula needs (norm, budget, positive constants) are in
:mod:`theory.validate`.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import torch

from theory.errors import ConfigError
from theory.validate import check_eps, check_positive

ITERATE_DTYPES = (None, "float32", "float64")


def check_iterate_dtype(dtype: str | None, name: str = "iterate_dtype") -> str | None:
    """Return the dtype name of an attack's iterations: ``None`` (the data's), float32, float64."""
    if dtype not in ITERATE_DTYPES:
        raise ConfigError(f"unknown {name} {dtype!r}: use one of {ITERATE_DTYPES}")
    return dtype


def check_device(device: str | torch.device) -> torch.device:
    """Return a ``torch.device`` that exists on this machine."""
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise ConfigError(f"unknown device {device!r}: use 'cpu' or 'cuda[:N]'") from None
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise ConfigError(f"device {device!r} requested but CUDA is not available: use 'cpu'")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise ConfigError(
                f"device {device!r} does not exist: {torch.cuda.device_count()} GPU(s) visible"
            )
    elif dev.type != "cpu":
        raise ConfigError(f"unsupported device {device!r}: use 'cpu' or 'cuda[:N]'")
    return dev


def check_writable_dir(path: str | os.PathLike[str], what: str = "output directory",
                       option: str = "--out") -> Path:
    """Create ``path`` if needed and check that files can be written there.

    Args:
        path: the folder. what, option: how the message names it and the option that sets it.
    """
    p = Path(path)
    try:
        p.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"{what} {p} cannot be created: {exc.strerror}; choose another with "
                          f"{option}") from None
    if not os.access(p, os.W_OK):
        raise ConfigError(f"{what} {p} is not writable: choose another with {option}")
    return p


class PrecisionWarning(UserWarning):
    """A computation runs in float32 (or lower) where a verification needs float64."""


def check_finite(tensor: torch.Tensor, name: str) -> torch.Tensor:
    """Return ``tensor`` after checking it holds no NaN or Inf (say how many and where from)."""
    bad = int((~torch.isfinite(tensor)).sum()) if tensor.is_floating_point() else 0
    if bad:
        raise ConfigError(
            f"{name} holds {bad} NaN/Inf value(s) of {tensor.numel()}: curvature of non-finite "
            "values is meaningless; check the data, or resume the run from its last finite "
            "checkpoint"
        )
    return tensor


def warn_if_low_precision(dtype: torch.dtype, what: str) -> None:
    """Warn (:class:`PrecisionWarning`) when ``dtype`` is not float64 for a verification step.

    Verifications compare closed forms with autograd to a relative error of 1e-10; float32 has
    a unit roundoff of 6e-8, so such comparisons need float64.
    """
    if dtype != torch.float64:
        warnings.warn(PrecisionWarning(
            f"{what} runs in {dtype}; verification against closed forms needs float64 "
            "(pass dtype=torch.float64 or .double() the model/inputs)"), stacklevel=3)


def check_step_size(step_size: float, eps: float, name: str = "step_size") -> float:
    """Return a PGD step size alpha after checking 0 < alpha <= 2 eps.

    A step longer than the ball's diameter 2 eps is meaningless: from any point of the ball it
    leaves the ball whatever the start, so the projection alone decides the iterate (for L-inf
    every alpha >= 2 eps gives exactly the iterate of alpha = 2 eps). Madry et al.'s rule
    alpha = 2.5 eps / K stays below 2 eps for K >= 2 steps.
    """
    alpha = check_positive(step_size, name)
    eps = check_eps(eps)
    if alpha > 2 * eps:
        raise ConfigError(
            f"{name} = {step_size!r} exceeds the diameter 2 eps = {2 * eps!r} of the threat ball, "
            "so it cannot change the attack: use at most 2 eps (Madry et al.: 2.5 eps / steps)"
        )
    return alpha

"""Validation on the numeric side: devices, output folders, tensors, PGD step sizes.

Each function returns the normalised value or raises :class:`ConfigError` with a message that
says what is accepted. The checks every formula needs (norm, budget, positive constants) are in
:mod:`theory.validate`.
"""

from __future__ import annotations

import math
import numbers
import os
import warnings
from collections.abc import Iterable
from pathlib import Path

import torch

from theory.errors import ConfigError
from theory.validate import check_eps, check_norm, check_positive

__all__ = [
    "ITERATE_DTYPES",
    "LABEL_KINDS",
    "SEED_MAX",
    "PrecisionWarning",
    "available_cpus",
    "check_box",
    "check_count",
    "check_data",
    "check_device",
    "check_finite",
    "check_gpu_profile",
    "check_iterate_dtype",
    "check_local_resources",
    "check_norm",
    "check_outputs",
    "check_seed",
    "check_step_size",
    "check_weights",
    "check_writable_dir",
    "warn_if_low_precision",
]

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


def check_outputs(paths: Iterable[str | os.PathLike[str]], *, overwrite: bool,
                  option: str = "--out") -> list[Path]:
    """Check, before any work, every file a run will write: return them as paths.

    Each must not be a folder, its folder must be (made) writable, and, unless ``overwrite``,
    none may exist: a run that would stop at its last write after hours of work stops now, and
    with ``overwrite`` it replaces all of them (never some).

    Args:
        paths: the files the run writes. overwrite: whether existing ones are replaced (the
            CLI's ``--overwrite``). option: the option that sets them, for the messages.

    Raises:
        ConfigError: a path is a folder, or its folder cannot be written.
        ResultExistsError: some exist and ``overwrite`` is False (all of them named).
    """
    from theory.errors import ResultExistsError

    files = [Path(p) for p in paths]
    for path in files:
        if path.is_dir():
            raise ConfigError(f"{option} {path} is a folder, but the run writes a file there: "
                              f"give a file name (e.g. {path / 'result.json'})")
        if (path.exists() or path.is_symlink()) and not path.is_file():
            raise ConfigError(f"{option} {path} is not a regular file (a device, pipe, socket "
                              "or broken link), and the run would replace it: give the path of "
                              "a regular file or a new one")
    for parent in dict.fromkeys(path.parent for path in files):
        check_writable_dir(parent, "output folder", option)
    existing = [str(path) for path in files if path.exists()]
    if existing and not overwrite:
        raise ResultExistsError(
            f"{', '.join(existing)} exist{'s' if len(existing) == 1 else ''} already (this run "
            f"writes {len(files)} file(s)): pass --overwrite to replace all of them, or choose "
            f"another {option}; nothing was run")
    return files


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


def check_box(box: tuple[float, float] | None, name: str = "box") -> tuple[float, float] | None:
    """Return the valid input range ``box = (low, high)`` as two floats, or ``None`` (no box).

    Refuses anything but two numbers, NaN, and a reversed or empty range (``low >= high``):
    clipping into a reversed box maps every input onto one value, silently.
    """
    if box is None:
        return None
    try:
        low, high = (float(v) for v in box)
    except (TypeError, ValueError):
        raise ConfigError(f"{name} must be (low, high), two numbers, or None for no box; got "
                          f"{box!r}") from None
    if math.isnan(low) or math.isnan(high) or not low < high:
        raise ConfigError(f"{name} must be (low, high) with low < high (pixels: (0.0, 1.0)); got "
                          f"{box!r}: swap the bounds, or pass None for no box")
    return low, high


#: What :func:`check_data` accepts as labels: ``"pm1"`` (-1/+1, as the linear formulas need),
#: ``"classes"`` (integer class indices 0..C-1, as cross-entropy needs).
LABEL_KINDS = ("pm1", "classes")


def check_data(x: torch.Tensor, y: torch.Tensor | None = None, *, name: str = "x",
               labels: str | None = None, ndim: int | tuple[int, ...] | None = None,
               classes: int | None = None) -> None:
    """Check inputs (and labels) once, at a public function's entry; raise :class:`ConfigError`.

    One pass over the data: ``x`` is a non-empty floating tensor holding no NaN/Inf, of ``ndim``
    dimensions when given; ``y`` (when given) has one label per sample (``x.shape[0]``) and holds
    the ``labels`` kind: ``"pm1"`` every label -1 or +1 (the closed forms need y^2 = 1), or
    ``"classes"`` integer class indices in ``0..classes-1``.

    Args:
        x: inputs, first dimension the samples. y: labels, or None.
        name: how the message names ``x``. labels: one of :data:`LABEL_KINDS`, or None (not
            checked beyond their count). ndim: the accepted number(s) of dimensions of ``x``.
        classes: the number of classes, for ``labels="classes"`` (None: not bounded above).
    """
    if not isinstance(x, torch.Tensor):
        raise ConfigError(f"{name} must be a torch.Tensor, got {type(x).__name__}: convert it with "
                          "torch.as_tensor(..., dtype=torch.float64)")
    if not x.is_floating_point():
        raise ConfigError(f"{name} has dtype {x.dtype}: pass floating inputs (convert with "
                          ".double(); uint8 pixels as x / 255.0)")
    allowed = (ndim,) if isinstance(ndim, int) else ndim
    if allowed is not None and x.dim() not in allowed:
        raise ConfigError(f"{name} must have {' or '.join(map(str, allowed))} dimensions "
                          f"(samples first), got shape {tuple(x.shape)}")
    if x.dim() == 0 or x.shape[0] == 0 or x.numel() == 0:
        raise ConfigError(f"{name} is empty (shape {tuple(x.shape)}): pass at least one sample")
    bad = int((~torch.isfinite(x)).sum())
    if bad:
        raise ConfigError(f"{name} holds {bad} NaN/Inf value(s) of {x.numel()}: every result on "
                          "it would be NaN; clean the data (e.g. drop or impute those samples)")
    if y is None:
        return
    if labels is not None and labels not in LABEL_KINDS:
        raise ConfigError(f"unknown label kind {labels!r}: use one of {LABEL_KINDS}")
    if not isinstance(y, torch.Tensor):
        raise ConfigError(f"labels of {name} must be a torch.Tensor, got {type(y).__name__}")
    if y.dim() != 1 or y.shape[0] != x.shape[0]:
        raise ConfigError(f"labels of {name} must have shape ({x.shape[0]},), one per sample, got "
                          f"{tuple(y.shape)}")
    if labels == "pm1":
        if not bool(((y == 1) | (y == -1)).all()):
            found = sorted({float(v) for v in torch.unique(y[(y != 1) & (y != -1)])[:5]})
            raise ConfigError(f"labels of {name} must be -1 or +1 (the formulas need y^2 = 1), "
                              f"found {found}: map classes {{0, 1}} with y = 2 c - 1")
    elif labels == "classes":
        if y.is_floating_point() or y.is_complex() or y.dtype == torch.bool:
            raise ConfigError(f"labels of {name} have dtype {y.dtype}: pass class indices as "
                              "int64 (y.long()); -1/+1 labels map to classes with (y + 1) // 2")
        low, high = int(y.min()), int(y.max())
        if low < 0 or (classes is not None and high >= classes):
            bound = f"0..{classes - 1}" if classes is not None else ">= 0"
            raise ConfigError(f"labels of {name} must be class indices {bound}, found {low}.."
                              f"{high}: -1/+1 labels map to classes with (y + 1) // 2")


#: The largest seed the CLI and the sweep files accept: 2**32 - 1, what every generator the
#: suite uses (torch, numpy's legacy seeding, Python's random) takes.
SEED_MAX = 2**32 - 1


def check_count(value: object, name: str, minimum: int = 0,
                maximum: int | None = None) -> int:
    """Return a count (steps, restarts, samples, threads) as an ``int`` after checking it.

    Accepts integers and floats with an integral value (``3.0``); refuses booleans, fractions
    (``2.5``), NaN, infinities, strings and values outside ``[minimum, maximum]``.
    """
    if isinstance(value, bool):
        raise ConfigError(f"{name} must be an integer >= {minimum}, got {value!r}")
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        value = int(value)
    if not isinstance(value, numbers.Integral):
        raise ConfigError(f"{name} must be an integer >= {minimum}, got {value!r}")
    value = int(value)
    if value < minimum or (maximum is not None and value > maximum):
        bound = f">= {minimum}" if maximum is None else f"in {minimum}..{maximum}"
        raise ConfigError(f"{name} must be an integer {bound}, got {value!r}")
    return value


def check_seed(value: object, name: str = "seed") -> int:
    """Return a seed as an ``int`` in ``0..SEED_MAX`` (every generator of the suite takes it)."""
    return check_count(value, name, 0, SEED_MAX)


def check_weights(W: object, d: int | None = None, name: str = "W") -> torch.Tensor:
    """Check a weight matrix ``(K, d)`` or ``(K, d + 1)`` once: a floating, finite tensor."""
    if not isinstance(W, torch.Tensor):
        raise ConfigError(f"{name} must be a torch.Tensor, got {type(W).__name__}")
    if not W.is_floating_point():
        raise ConfigError(f"{name} has dtype {W.dtype}: pass floating weights (.double())")
    if W.dim() != 2 or W.shape[0] == 0 or (d is not None and W.shape[1] not in (d, d + 1)):
        want = "(K, d)" if d is None else f"(K, {d}) or (K, {d + 1})"
        raise ConfigError(f"{name} must be a {want} matrix, one row per model, got shape "
                          f"{tuple(W.shape)}")
    bad = int((~torch.isfinite(W)).sum())
    if bad:
        raise ConfigError(f"{name} holds {bad} NaN/Inf value(s) of {W.numel()}: resume from the "
                          "last finite checkpoint")
    return W


def available_cpus() -> int:
    """The CPU cores this process may run on (its affinity where the OS says, else all)."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def check_gpu_profile(profile: str, option: str = "--profile") -> str:
    """Refuse the ``gpu`` profile on a machine where torch sees no CUDA GPU.

    The gpu profile is sized for a GPU: on the CPU it would start the largest run without a
    word and take days. ``full`` is the papers' scale for a CPU.
    """
    if profile == "gpu" and not torch.cuda.is_available():
        raise ConfigError(f"{option} gpu is sized for a CUDA GPU, and torch sees none on this "
                          "machine: use the full profile (the papers' scale) or ci here, or run "
                          "on a machine with a GPU")
    return profile


def check_local_resources(num_cpus: int, num_gpus: float, where: str = "resources") -> None:
    """Refuse a unit's resources beyond this machine: more CPU cores than it may use, or GPUs
    where torch sees fewer (a run asking for them would wait forever, or run without them)."""
    cpus, gpus = available_cpus(), torch.cuda.device_count() if torch.cuda.is_available() else 0
    if num_cpus > cpus:
        raise ConfigError(f"{where}: num_cpus: {num_cpus} exceeds the {cpus} CPU core(s) this "
                          f"machine gives the run: ask for at most {cpus}")
    if num_gpus > gpus:
        raise ConfigError(f"{where}: num_gpus: {num_gpus:g} exceeds the {gpus} GPU(s) torch sees "
                          "on this machine: set num_gpus: 0, or run on a machine (or a Ray "
                          "cluster) with GPUs")

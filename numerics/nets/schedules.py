"""Periodic adversarial scheduling (PAS, Liu et al. 2020, L-FINDINGS) and the fixed-budget baseline.

Training time is a real number ``t`` in epochs (``t = epoch + batch / batches_per_epoch``), split
into ``periods`` equal periods of length ``T = epochs / periods``. Within a period the phase is
``r = (t mod T) / T`` in [0, 1). PAS makes the budget ramp up and the learning rate ramp down in
every period:

* budget: eps(t) = min(eps_target, eps_min + (peak_factor eps_target - eps_min) ramp(r)), with
  ramp(r) = (1 - cos(pi r)) / 2 (``"cosine"``) or ramp(r) = r (``"linear"``); capped at the target
  budget, as in the ``cycle_cos``/``cycle_linear`` budget schedules of Liu et al.'s code with
  ``max = eps_target``. With ``peak_factor > 1`` the cap is reached at the phase where
  ramp(r) = (eps_target - eps_min)/(peak_factor eps_target - eps_min) and the last part of the
  period trains at the target budget;
* PGD step size: alpha(t) = step_ratio eps(t) (the step follows the budget);
* learning rate: lr(t) = lr_min + (lr_max - lr_min) (1 + cos(pi r)) / 2 (``"cosine"``, annealing
  with warm restarts) or ``lr_max`` (``"constant"``).

:class:`FixedSchedule` is vanilla adversarial training: eps and alpha constant, learning rate
constant or cosine-annealed once over the whole run. Both are frozen dataclasses, recorded verbatim
in every run's config.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from theory.errors import ConfigError
from theory.validate import check_eps, check_positive

__all__ = ["FixedSchedule", "PASchedule", "Schedule", "ScheduleValues", "build_schedule"]

_RAMPS = ("cosine", "linear")
_LR_SHAPES = ("cosine", "constant")


@dataclass(frozen=True)
class ScheduleValues:
    """The values a schedule gives at one moment of training."""

    eps: float
    step_size: float
    lr: float


def _check_epochs(epochs: float, periods: int) -> None:
    check_positive(epochs, "epochs")
    if isinstance(periods, bool) or not isinstance(periods, int) or periods < 1:
        raise ConfigError(f"periods must be an integer >= 1, got {periods!r}")


def _check_lr_and_step(lr_shape: str, lr_max: float, lr_min: float, step_ratio: float) -> None:
    """The learning-rate shape and range, and the PGD step ratio, of a schedule."""
    if lr_shape not in _LR_SHAPES:
        raise ConfigError(f"unknown lr_shape {lr_shape!r}: use one of {_LR_SHAPES}")
    check_positive(lr_max, "lr_max")
    if check_eps(lr_min, "lr_min") > lr_max:
        raise ConfigError(f"lr_min = {lr_min} exceeds lr_max = {lr_max}")
    check_positive(step_ratio, "step_ratio")


def _check_time(t: float, epochs: float) -> float:
    t = float(t)
    if not math.isfinite(t) or t < 0 or t > epochs:
        raise ConfigError(f"training time t = {t!r} epochs is outside [0, {epochs}]")
    return t


@dataclass(frozen=True)
class PASchedule:
    """Periodic adversarial schedule (PAS): eps ramps up and lr anneals in every period.

    Attributes:
        eps_target: the target budget eps (cap of the schedule).
        epochs: length of training in epochs. periods: number of periods (>= 1).
        eps_min: budget at the start of each period (0 in Liu et al.).
        peak_factor: the ramp aims at ``peak_factor * eps_target`` and is capped at eps_target
            (1.5 in Liu et al.'s MNIST example: eps_max = 0.6 with max = 0.4).
        ramp: ``"cosine"`` or ``"linear"`` shape of the budget ramp.
        lr_max, lr_min: learning rate at the start and (limit at) the end of each period.
        lr_shape: ``"cosine"`` (annealing with restarts) or ``"constant"`` (lr_max throughout).
        step_ratio: PGD step size over budget, alpha = step_ratio * eps(t).
    """

    eps_target: float
    epochs: float
    periods: int = 2
    eps_min: float = 0.0
    peak_factor: float = 1.5
    ramp: str = "cosine"
    lr_max: float = 0.1
    lr_min: float = 0.0
    lr_shape: str = "cosine"
    step_ratio: float = 0.25

    def __post_init__(self) -> None:
        check_eps(self.eps_target, "eps_target")
        check_eps(self.eps_min, "eps_min")
        if self.eps_min > self.eps_target:
            raise ConfigError(
                f"eps_min = {self.eps_min} exceeds eps_target = {self.eps_target}: the ramp "
                "starts below the target budget"
            )
        _check_epochs(self.epochs, self.periods)
        if check_positive(self.peak_factor, "peak_factor") < 1:
            raise ConfigError(f"peak_factor must be >= 1 (the ramp reaches the target), got "
                              f"{self.peak_factor}")
        if self.ramp not in _RAMPS:
            raise ConfigError(f"unknown ramp {self.ramp!r}: use one of {_RAMPS}")
        _check_lr_and_step(self.lr_shape, self.lr_max, self.lr_min, self.step_ratio)

    @property
    def period_length(self) -> float:
        """T = epochs / periods, in epochs."""
        return self.epochs / self.periods

    def phase(self, t: float) -> float:
        """r = (t mod T) / T in [0, 1); the end of training t = epochs counts as r -> 1."""
        t = _check_time(t, self.epochs)
        if t >= self.epochs:
            return 1.0
        return (t % self.period_length) / self.period_length

    def _ramp(self, r: float) -> float:
        return 0.5 * (1.0 - math.cos(math.pi * r)) if self.ramp == "cosine" else r

    def eps(self, t: float) -> float:
        """eps(t) = min(eps_target, eps_min + (peak_factor eps_target - eps_min) ramp(r))."""
        peak = self.peak_factor * self.eps_target
        value = self.eps_min + (peak - self.eps_min) * self._ramp(self.phase(t))
        return min(self.eps_target, value)

    def lr(self, t: float) -> float:
        """lr(t) = lr_min + (lr_max - lr_min)(1 + cos(pi r))/2 (cosine), or lr_max (constant)."""
        if self.lr_shape == "constant":
            _check_time(t, self.epochs)
            return self.lr_max
        r = self.phase(t)
        return self.lr_min + (self.lr_max - self.lr_min) * 0.5 * (1.0 + math.cos(math.pi * r))

    def __call__(self, t: float) -> ScheduleValues:
        """eps, PGD step size alpha = step_ratio eps, and learning rate at time t (epochs)."""
        eps = self.eps(t)
        return ScheduleValues(eps=eps, step_size=self.step_ratio * eps, lr=self.lr(t))


@dataclass(frozen=True)
class FixedSchedule:
    """Vanilla adversarial training: a fixed budget, with a constant or once-annealed lr.

    Attributes:
        eps_target: the budget eps, used from the first step. epochs: length of training.
        lr_max, lr_min: learning rate (start, end). lr_shape: ``"constant"`` (lr_max throughout)
            or ``"cosine"`` (lr_min + (lr_max - lr_min)(1 + cos(pi t/epochs))/2, one period).
        step_ratio: alpha = step_ratio * eps.
    """

    eps_target: float
    epochs: float
    lr_max: float = 0.1
    lr_min: float = 0.0
    lr_shape: str = "cosine"
    step_ratio: float = 0.25

    def __post_init__(self) -> None:
        check_eps(self.eps_target, "eps_target")
        _check_epochs(self.epochs, 1)
        _check_lr_and_step(self.lr_shape, self.lr_max, self.lr_min, self.step_ratio)

    def eps(self, t: float) -> float:
        """eps(t) = eps_target."""
        _check_time(t, self.epochs)
        return self.eps_target

    def lr(self, t: float) -> float:
        """Constant lr_max, or one cosine from lr_max at t = 0 to lr_min at t = epochs."""
        t = _check_time(t, self.epochs)
        if self.lr_shape == "constant":
            return self.lr_max
        return self.lr_min + (self.lr_max - self.lr_min) * 0.5 * (
            1.0 + math.cos(math.pi * t / self.epochs))

    def __call__(self, t: float) -> ScheduleValues:
        """eps, PGD step size and learning rate at time t (epochs)."""
        eps = self.eps(t)
        return ScheduleValues(eps=eps, step_size=self.step_ratio * eps, lr=self.lr(t))


Schedule = PASchedule | FixedSchedule


def build_schedule(kind: str, **kwargs: object) -> Schedule:
    """Build ``"pas"`` (:class:`PASchedule`) or ``"fixed"`` (:class:`FixedSchedule`) from kwargs."""
    key = kind.strip().lower()
    if key == "pas":
        return PASchedule(**kwargs)  # type: ignore[arg-type]
    if key == "fixed":
        return FixedSchedule(**kwargs)  # type: ignore[arg-type]
    raise ConfigError(f"unknown schedule {kind!r}: use 'pas' or 'fixed'")

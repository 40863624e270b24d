"""Tests of numerics.nets.schedules (PAS, L-FINDINGS, and the fixed budget): values at given
epochs, periodicity, cap, validation."""

from __future__ import annotations

import itertools
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from numerics.nets.schedules import FixedSchedule, PASchedule, build_schedule
from theory.errors import ConfigError


def test_pas_cosine_values_at_given_epochs() -> None:
    """L-FINDINGS PAS: eps = min(eps_t, 1.5 eps_t (1 - cos(pi r))/2), lr cosine per period."""
    s = PASchedule(eps_target=0.4, epochs=10, periods=2, lr_max=0.1, lr_min=0.0)
    assert s(0.0).eps == 0.0
    assert s(0.0).lr == pytest.approx(0.1, abs=1e-15)
    # quarter of the first period: r = 0.25 -> 0.6 (1 - cos(pi/4))/2
    assert s(1.25).eps == pytest.approx(0.6 * (1 - math.cos(math.pi / 4)) / 2, abs=1e-15)
    assert s(1.25).lr == pytest.approx(0.05 * (1 + math.cos(math.pi / 4)), abs=1e-15)
    # middle of the period: ramp 1/2 -> 0.3, below the cap; lr at half
    assert s(2.5).eps == pytest.approx(0.3, abs=1e-15)
    assert s(2.5).lr == pytest.approx(0.05, abs=1e-15)
    # late in the period the ramp (0.6 * ...) exceeds the cap 0.4: capped
    assert s(4.5).eps == 0.4
    # a new period restarts both
    assert s(5.0).eps == 0.0
    assert s(5.0).lr == pytest.approx(0.1, abs=1e-15)
    assert s(10.0).eps == 0.4
    assert s(10.0).lr == pytest.approx(0.0, abs=1e-15)
    # the step size follows the budget
    assert s(2.5).step_size == pytest.approx(0.25 * 0.3, abs=1e-15)


def test_pas_linear_ramp_and_cap_phase() -> None:
    """Linear ramp: eps(r) = 1.5 eps_t r, capped from r = 2/3 on."""
    s = PASchedule(eps_target=0.3, epochs=6, periods=3, ramp="linear", lr_shape="constant",
                   lr_max=0.01)
    assert s.period_length == 2.0
    assert s(0.5).eps == pytest.approx(0.45 * 0.25, abs=1e-15)
    assert s(2.0 + 2 * (2 / 3) - 1e-9).eps < 0.3
    assert s(2.0 + 2 * 0.7).eps == 0.3
    assert s(3.3).lr == 0.01


@settings(max_examples=60, deadline=None)
@given(t=st.floats(0, 12), eps=st.floats(0, 2), periods=st.integers(1, 6),
       ramp=st.sampled_from(["cosine", "linear"]))
def test_pas_bounds_and_periodicity(t: float, eps: float, periods: int, ramp: str) -> None:
    """0 <= eps(t) <= eps_target, lr in [lr_min, lr_max], and eps(t + T) = eps(t)."""
    s = PASchedule(eps_target=eps, epochs=12, periods=periods, ramp=ramp, lr_min=0.01)
    v = s(t)
    assert 0.0 <= v.eps <= eps
    assert 0.01 - 1e-15 <= v.lr <= 0.1 + 1e-15
    shifted = t + s.period_length
    if shifted < 12:
        assert s(shifted).eps == pytest.approx(v.eps, abs=1e-12)
        assert s(shifted).lr == pytest.approx(v.lr, abs=1e-12)


def test_pas_ramp_is_monotone_within_a_period() -> None:
    s = PASchedule(eps_target=1.0, epochs=4, periods=2)
    values = [s(0.01 * k).eps for k in range(200)]
    assert all(b >= a for a, b in itertools.pairwise(values))
    lrs = [s(0.01 * k).lr for k in range(200)]
    assert all(b <= a for a, b in itertools.pairwise(lrs))


def test_fixed_schedule_values() -> None:
    s = FixedSchedule(eps_target=0.3, epochs=4, lr_max=0.2, lr_min=0.0)
    assert s(0).eps == s(3.9).eps == 0.3
    assert s(2.0).lr == pytest.approx(0.1, abs=1e-15)
    assert s(4.0).lr == pytest.approx(0.0, abs=1e-15)
    const = FixedSchedule(eps_target=0.3, epochs=4, lr_shape="constant", lr_max=0.2)
    assert const(3.0).lr == 0.2


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"eps_target": -0.1, "epochs": 1}, "eps_target"),
        ({"eps_target": 0.1, "epochs": 0}, "epochs"),
        ({"eps_target": 0.1, "epochs": 1, "periods": 0}, "periods"),
        ({"eps_target": 0.1, "epochs": 1, "ramp": "step"}, "ramp"),
        ({"eps_target": 0.1, "epochs": 1, "peak_factor": 0.5}, "peak_factor"),
        ({"eps_target": 0.1, "epochs": 1, "lr_min": 1.0}, "lr_min"),
        ({"eps_target": 0.1, "epochs": 1, "eps_min": 0.2}, "eps_min"),
    ],
)
def test_pas_rejects_bad_config(kwargs: dict, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        PASchedule(**kwargs)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"eps_target": -0.1, "epochs": 1}, "eps_target"),
        ({"eps_target": 0.1, "epochs": 0}, "epochs"),
        ({"eps_target": 0.1, "epochs": 1, "lr_shape": "step"}, "lr_shape"),
        ({"eps_target": 0.1, "epochs": 1, "lr_max": 0.0}, "lr_max"),
        ({"eps_target": 0.1, "epochs": 1, "lr_min": 1.0}, "lr_min"),
        ({"eps_target": 0.1, "epochs": 1, "step_ratio": 0.0}, "step_ratio"),
    ],
)
def test_fixed_rejects_bad_config(kwargs: dict, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        FixedSchedule(**kwargs)


def test_time_outside_training_is_rejected() -> None:
    with pytest.raises(ConfigError, match="outside"):
        PASchedule(eps_target=0.1, epochs=2)(2.5)
    with pytest.raises(ConfigError, match="unknown schedule"):
        build_schedule("cyclic", eps_target=0.1, epochs=1)
    assert isinstance(build_schedule("pas", eps_target=0.1, epochs=1), PASchedule)
    assert isinstance(build_schedule(" Fixed ", eps_target=0.1, epochs=1), FixedSchedule)
    with pytest.raises(ConfigError, match="outside"):
        FixedSchedule(eps_target=0.1, epochs=2)(-0.1)

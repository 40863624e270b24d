"""Configuration values are validated with messages that say what to do."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from numerics.profiles import current_profile
from numerics.validate import (
    PrecisionWarning,
    check_device,
    check_finite,
    check_iterate_dtype,
    check_step_size,
    check_writable_dir,
    warn_if_low_precision,
)
from theory.errors import ConfigError
from theory.validate import check_eps, check_norm, check_positive


@pytest.mark.parametrize(("spelling", "norm"), [("l2", "l2"), (2, "l2"), ("2", "l2"),
                                                 ("Linf", "linf"), ("inf", "linf"),
                                                 (math.inf, "linf")])
def test_norm_spellings(spelling: object, norm: str) -> None:
    assert check_norm(spelling) == norm


@pytest.mark.parametrize("bad", ["l1", "l3", "", None])
def test_unknown_norm(bad: object) -> None:
    with pytest.raises(ConfigError, match=r"unknown norm.*'l2'.*'linf'"):
        check_norm(bad)


@pytest.mark.parametrize("bad", [-0.1, math.nan, math.inf, "abc"])
def test_bad_eps(bad: object) -> None:
    with pytest.raises(ConfigError, match="eps"):
        check_eps(bad)


def test_good_eps() -> None:
    assert check_eps("0.5") == 0.5
    assert check_eps(0) == 0.0


def test_positive_values() -> None:
    assert check_positive("2", "lr") == 2.0
    for bad in (0, -1.0, math.inf, math.nan):
        with pytest.raises(ConfigError, match="lr must be"):
            check_positive(bad, "lr")


def test_iterate_dtypes() -> None:
    for ok in (None, "float32", "float64"):
        assert check_iterate_dtype(ok) == ok
    with pytest.raises(ConfigError, match="unknown iterate_dtype 'float16'"):
        check_iterate_dtype("float16")


def test_step_size_within_the_ball_diameter() -> None:
    assert check_step_size(0.2, 0.1) == 0.2
    with pytest.raises(ConfigError, match="exceeds the diameter"):
        check_step_size(0.21, 0.1)
    with pytest.raises(ConfigError, match="step_size must be > 0"):
        check_step_size(0.0, 0.1)


def test_non_finite_tensors_and_low_precision() -> None:
    t = torch.tensor([1.0, float("nan"), float("inf")])
    with pytest.raises(ConfigError, match="the weights holds 2 NaN/Inf value"):
        check_finite(t, "the weights")
    assert check_finite(t[:1], "the weights") is not None
    assert check_finite(torch.tensor([1, 2]), "counts").dtype == torch.int64
    with pytest.warns(PrecisionWarning, match="float32"):
        warn_if_low_precision(torch.float32, "a Hessian")
    warn_if_low_precision(torch.float64, "a Hessian")  # silent (warnings are errors here)


def test_devices() -> None:
    assert check_device("cpu").type == "cpu"
    with pytest.raises(ConfigError):
        check_device("tpu")
    with pytest.raises(ConfigError):
        check_device("not a device")


def test_unwritable_output_dir(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(ConfigError, match="cannot be created"):
        check_writable_dir(blocker / "sub")
    assert check_writable_dir(tmp_path / "new").is_dir()


def test_profiles(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ADVLANDSCAPE_PROFILE", "full")
    assert current_profile() == "full"
    assert current_profile("ci") == "ci"
    monkeypatch.setenv("ADVLANDSCAPE_PROFILE", "huge")
    with pytest.raises(ConfigError, match="unknown profile"):
        current_profile()

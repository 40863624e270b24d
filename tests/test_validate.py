"""Configuration values are validated with messages that say what to do."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from numerics.profiles import current_profile
from numerics.validate import check_device, check_writable_dir
from theory.errors import ConfigError
from theory.validate import check_eps, check_norm


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

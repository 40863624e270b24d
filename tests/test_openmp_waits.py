"""Processes that run side by side let their idle OpenMP threads sleep (OMP_WAIT_POLICY=PASSIVE):
the pools of ``reproduce --jobs`` and the local sweep, and the test workers (conftest.py). The
speed is measured by ``benchmarks/omp_wait.py``, not here."""

from __future__ import annotations

import os

import pytest

from numerics.sweep.executors import sleeping_openmp_waits


def test_pool_workers_get_the_sleeping_policy_unless_one_is_set(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)
    sleeping_openmp_waits()
    assert os.environ["OMP_WAIT_POLICY"] == "PASSIVE"
    monkeypatch.setenv("OMP_WAIT_POLICY", "ACTIVE")  # the user's choice is kept
    sleeping_openmp_waits()
    assert os.environ["OMP_WAIT_POLICY"] == "ACTIVE"


def test_test_workers_started_with_the_sleeping_policy() -> None:
    """Under ``-n N`` the policy was in the environment the worker started with (set by the
    parent's conftest.py before the workers exist), so that OpenMP read it when torch loaded."""
    if "PYTEST_XDIST_WORKER" not in os.environ:
        pytest.skip("not in a pytest-xdist worker (pytest -n 0 keeps OpenMP's default)")
    assert os.environ.get("OMP_WAIT_POLICY") == "PASSIVE"

"""Environment of the kernels that nbval starts for the notebooks (``pytest`` runs them).

The kernel inherits this process's environment when nbval starts it, so this fixes, before any
notebook runs: the ``ci`` profile (small sizes; the report runs ``full`` on request), and
matplotlib's inline backend, which is non-interactive and puts figures into the cell outputs (Agg,
as CI exports for plain Python, would drop them and warn on ``plt.show()``).
"""

from __future__ import annotations

import os

import pytest

from numerics.report import kernel_environment


def pytest_configure(config: pytest.Config) -> None:
    """Set the kernels' profile to ``ci`` and their matplotlib backend to inline."""
    os.environ.update(kernel_environment("ci"))

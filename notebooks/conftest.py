"""Environment of the kernels that nbval starts for the notebooks (``pytest`` runs them).

nbval starts a notebook's kernel while setting up its first cell, and the kernel inherits this
process's environment at that moment. Around that setup (only: the rest of the test run keeps its
own environment) this sets the ``ci`` profile (small sizes; ``advlandscape report --profile full``
runs the papers' scale), matplotlib's inline backend, which is non-interactive and puts figures into
the outputs (Agg, as CI exports for plain Python, would drop them and warn on ``plt.show()``), and
silences tqdm.
"""

from __future__ import annotations

import os
from collections.abc import Generator

import pytest

from numerics.report import kernel_environment


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Generator[None, None, None]:
    """Set the kernel environment while nbval sets up a notebook cell, then restore it."""
    env = kernel_environment("ci")
    saved = {key: os.environ.get(key) for key in env}
    os.environ.update(env)
    try:
        return (yield)
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value

"""Running one unit wherever it lands: the function every executor calls.

:func:`run_unit` is a pure function of the unit (its config holds every seed) and the number of
threads: it pins torch's and the BLAS libraries' thread pools to ``threads`` and torch's default
dtype to float32 (a fresh process's, whatever the caller set) for the unit's duration, so a unit
gives the same result bit for bit in the sweep's own process, in a pool worker or in a Ray
worker. It never raises for a failing unit: the outcome carries the error and its traceback.
"""

from __future__ import annotations

import contextlib
import os
import platform
import time
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

__all__ = ["pinned", "run_unit"]


@contextlib.contextmanager
def pinned(threads: int) -> Iterator[None]:
    """Torch and BLAS (threadpoolctl) on ``threads`` threads, torch's default dtype float32;
    the previous settings are restored afterwards."""
    import torch
    from threadpoolctl import threadpool_limits

    before, dtype = torch.get_num_threads(), torch.get_default_dtype()
    torch.set_num_threads(threads)
    torch.set_default_dtype(torch.float32)
    try:
        with threadpool_limits(limits=threads):
            yield
    finally:
        torch.set_num_threads(before)
        torch.set_default_dtype(dtype)


def run_unit(unit: Any, checkpoint_dir: str, threads: int) -> dict[str, Any]:
    """Run ``unit`` (:class:`numerics.sweep.experiments.Unit`), its own checkpoints in
    ``checkpoint_dir``, on ``threads`` threads.

    Returns:
        ``{"ok": True, "result": ..., "notes": {...}, "worker": {...}}``, or for a unit that
        raised ``{"ok": False, "error": "<type>: <message>", "traceback": "...", "worker":
        {...}}``; ``worker`` names the host and process and the unit's wall time.
    """
    from numerics.sweep.experiments import experiment_for

    start = time.perf_counter()
    worker = {"host": platform.node(), "pid": os.getpid()}
    try:
        Path(checkpoint_dir).mkdir(parents=True, exist_ok=True)
        with pinned(threads):
            result, notes = experiment_for(unit.experiment).run(unit.config,
                                                                Path(checkpoint_dir))
    except Exception as exc:  # reported with the unit's config; the other units go on
        return {"ok": False, "error": f"{type(exc).__name__}: {exc}",
                "traceback": traceback.format_exc(),
                "worker": {**worker, "seconds": time.perf_counter() - start}}
    return {"ok": True, "result": result, "notes": notes,
            "worker": {**worker, "seconds": time.perf_counter() - start}}

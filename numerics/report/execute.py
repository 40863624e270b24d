"""Executing a notebook in a fresh kernel of this Python, with a profile (nbclient).

The profile reaches the kernel through ``ADVLANDSCAPE_PROFILE`` (:func:`kernel_environment`, which
nbval's kernels get too, from ``notebooks/conftest.py``); kernels talk over IPC (Unix sockets)
where possible. Nothing is written back to the stored notebook.
"""

from __future__ import annotations

import os
import re
import traceback
from pathlib import Path
from typing import Any

import nbformat

from numerics.report.notebooks import output_problems

__all__ = ["INLINE_BACKEND", "TQDM_WIDGET_FILTER", "execute_notebook", "kernel_environment"]

# Non-interactive, and puts figures into the outputs (Agg would drop them from the notebook).
INLINE_BACKEND = "module://matplotlib_inline.backend_inline"
TQDM_WIDGET_FILTER = "ignore:IProgress not found"


def kernel_environment(profile: str) -> dict[str, str]:
    """Environment variables a notebook kernel needs to run with ``profile``.

    Args:
        profile: ``ci``, ``full`` or ``gpu`` (checked by ``numerics.profiles.current_profile``).

    Returns:
        ``ADVLANDSCAPE_PROFILE`` set to the profile, matplotlib's inline backend (figures become
        outputs, no window opens), ``TQDM_DISABLE=1`` (progress bars would be stderr output,
        which a rendered page must not contain) and, added to ``PYTHONWARNINGS``, an ignore for
        ``tqdm.auto``'s "IProgress not found" (it only says that ipywidgets is absent, which is
        irrelevant with the bars disabled).
    """
    from numerics.profiles import ENV_VAR, current_profile

    warnings_filters = [f for f in os.environ.get("PYTHONWARNINGS", "").split(",") if f]
    if TQDM_WIDGET_FILTER not in warnings_filters:
        warnings_filters.append(TQDM_WIDGET_FILTER)
    return {
        ENV_VAR: current_profile(profile),
        "MPLBACKEND": INLINE_BACKEND,
        "TQDM_DISABLE": "1",
        "PYTHONWARNINGS": ",".join(warnings_filters),
    }


def execute_notebook(
    path: str | os.PathLike[str], profile: str, timeout: int = 1800,
) -> tuple[Any, str | None]:
    """Execute a notebook in a fresh kernel of this Python, with ``profile``.

    The kernel runs in the notebook's folder with :func:`kernel_environment` added to this
    process's environment. Nothing is written back to the stored notebook.

    Args:
        path: the ``.ipynb`` file.
        profile: ``ci``, ``full`` or ``gpu``.
        timeout: seconds one cell may run.

    Returns:
        The executed notebook (partially executed on failure) and ``None``, or the error text
        (the failing cell's exception, or an error/stderr output found after the run).
    """
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    env = {**os.environ, **kernel_environment(profile)}
    client = _client_class()(
        nb, timeout=timeout, kernel_name="python3", allow_errors=False, record_timing=False,
        resources={"metadata": {"path": str(path.parent)}}, config=_kernel_transport(),
    )
    try:
        client.execute(env=env, cwd=str(path.parent))
    except CellExecutionError as exc:
        _stop_if_signalled(client)
        return nb, _strip_ansi(str(exc))
    except (CellTimeoutError, DeadKernelError) as exc:
        _stop_if_signalled(client)
        return nb, f"{type(exc).__name__}: {exc}"
    except Exception as exc:  # a kernel that does not start is this notebook's failure only
        _stop_if_signalled(client)
        return nb, f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=3)}"
    _stop_if_signalled(client)
    problems = output_problems(nb)
    if problems:
        return nb, "outputs a page must not show:\n" + "\n".join(problems)
    return nb, None


def _client_class() -> type:
    """nbclient's ``NotebookClient``, remembering the SIGINT or SIGTERM it received.

    While a notebook runs, nbclient answers SIGINT and SIGTERM by shutting its kernel down, and
    the cell then fails as if the kernel had died: the build would mark the notebook failed and
    go on with the next. This client records the signal (``stopped_by``), so that
    :func:`execute_notebook` stops the build instead (:func:`_stop_if_signalled`).
    """
    import asyncio
    import atexit
    import contextlib
    import signal

    from nbclient import NotebookClient

    class _Client(NotebookClient):
        stopped_by: int | None = None

        async def async_start_new_kernel(self, **kwargs: Any) -> None:
            loop = asyncio.get_event_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                # replaces nbclient's own handler, which does the same minus the record; not in
                # the main thread, or without signals, there is nothing to replace
                with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                    loop.add_signal_handler(sig, self._on_stop_signal, sig)
            await super().async_start_new_kernel(**kwargs)

        def _on_stop_signal(self, sig: int) -> None:
            if self.stopped_by is None:
                self.stopped_by = sig
            self._async_cleanup_kernel_future = asyncio.ensure_future(
                self._async_cleanup_kernel())
            atexit.unregister(self._cleanup_kernel)

    return _Client


def _stop_if_signalled(client: Any) -> None:
    """Raise ``KeyboardInterrupt`` (SIGINT) or ``SystemExit(143)`` (SIGTERM) if the client
    received that signal while the notebook ran (its kernel is shut down already)."""
    import signal

    sig = getattr(client, "stopped_by", None)
    if sig == signal.SIGINT:
        raise KeyboardInterrupt
    if sig == signal.SIGTERM:
        raise SystemExit(128 + signal.SIGTERM)


# A Unix socket's path is limited to 107 bytes on Linux (103 on macOS).
_IPC_PATH_MAX = 100


def _kernel_transport() -> Any:
    """Kernel manager configuration: IPC where possible, over Unix sockets named by an absolute
    path in Jupyter's private runtime folder (the kernel runs in the notebook's folder, so the
    default relative ``kernel-ipc`` would not meet). Over TCP, ipykernel warns for every notebook
    that the traffic is unencrypted."""
    import uuid

    from jupyter_core.paths import jupyter_runtime_dir
    from traitlets.config import Config

    runtime = Path(jupyter_runtime_dir())
    ip = runtime / f"kernel-{uuid.uuid4().hex}-ipc"
    if os.name != "posix" or len(os.fsencode(ip)) + 3 > _IPC_PATH_MAX:  # + "-<port>"
        return Config()
    runtime.mkdir(mode=0o700, parents=True, exist_ok=True)
    return Config({"KernelManager": {"transport": "ipc", "ip": str(ip)}})


_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _strip_ansi(text: str) -> str:
    return _ANSI.sub("", text)

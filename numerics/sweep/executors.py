"""Executors: where a sweep's units run. ``local`` (embedded, the default) and ``ray``.

Both take a list of :class:`Task` and call ``on_outcome(task, outcome)`` in the sweep's process
as each unit ends (in any order), with :func:`numerics.sweep.worker.run_unit`'s outcome: the
experiment code is the same whichever runs it.

* :class:`LocalExecutor`: ``max_parallel`` 1 runs the units one after another in this process;
  more runs them in a pool of that many processes on this machine.
* :class:`RayExecutor`: each unit a Ray task with its resources (``num_cpus``, ``num_gpus``) and
  Ray's ``max_retries`` (a unit whose worker process died is run again, and resumes from its own
  checkpoint); it connects to ``address`` (else ``$RAY_ADDRESS``), after checking within
  ``connect_timeout`` seconds that something listens there, or starts a local Ray instance.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from numerics.sweep.spec import Resources
from numerics.sweep.worker import run_unit
from theory.errors import ConfigError

__all__ = ["EXECUTORS", "Executor", "LocalExecutor", "RayExecutor", "Task", "die_with_parent",
           "make_executor", "sleeping_openmp_waits"]

EXECUTORS = ("local", "ray")

OnOutcome = Callable[["Task", dict[str, Any]], None]


@dataclass(frozen=True)
class Task:
    """A unit to run, the folder of its own checkpoints, and what it needs."""

    unit: Any
    checkpoint_dir: str
    resources: Resources


class Executor:
    """Runs tasks and reports each outcome as it comes (:class:`LocalExecutor`,
    :class:`RayExecutor`)."""

    name = "executor"

    def run(self, tasks: Sequence[Task], on_outcome: OnOutcome) -> None:
        """Run every task; ``on_outcome`` is called once per task, in the caller's process."""
        raise NotImplementedError

    def describe(self) -> dict[str, Any]:
        """What ran the units, for the records' provenance."""
        return {"executor": self.name}

    def check(self, resources: Resources, profile: str | None = None,
              where: str = "sweep spec") -> None:
        """Refuse, before any unit is submitted, what the executor's machines cannot give: a
        unit's ``resources`` beyond them, the gpu ``profile`` without a GPU."""

    def close(self) -> None:
        """Release what the executor started."""


def _crashed(error: str) -> dict[str, Any]:
    return {"ok": False, "error": error, "traceback": "", "worker": {}}


class LocalExecutor(Executor):
    """Units on this machine: in this process (``max_parallel=1``) or a process pool."""

    name = "local"

    def __init__(self, max_parallel: int = 1) -> None:
        self.max_parallel = max_parallel

    def check(self, resources: Resources, profile: str | None = None,
              where: str = "sweep spec") -> None:
        """A unit may ask for at most this machine's cores and GPUs; the gpu profile needs one
        (:func:`numerics.validate.check_local_resources`, :func:`check_gpu_profile`)."""
        from numerics.profiles import current_profile
        from numerics.validate import check_gpu_profile, check_local_resources

        check_local_resources(resources.num_cpus, resources.num_gpus, f"{where}: resources")
        check_gpu_profile(current_profile(profile), f"{where}: profile")

    def run(self, tasks: Sequence[Task], on_outcome: OnOutcome) -> None:
        """Run the tasks in order (one at a time) or in a pool of ``max_parallel`` processes
        that end with this one (:func:`die_with_parent`)."""
        if self.max_parallel == 1:
            for task in tasks:
                on_outcome(task, run_unit(task.unit, task.checkpoint_dir,
                                          task.resources.num_cpus))
            return
        import concurrent.futures as cf
        import multiprocessing

        context = multiprocessing.get_context("spawn")
        sleeping_openmp_waits()
        with cf.ProcessPoolExecutor(max_workers=self.max_parallel, mp_context=context,
                                    initializer=die_with_parent,
                                    initargs=(os.getpid(),)) as pool:
            futures = {pool.submit(run_unit, t.unit, t.checkpoint_dir, t.resources.num_cpus): t
                       for t in tasks}
            for future in cf.as_completed(futures):
                try:
                    outcome = future.result()
                except cf.process.BrokenProcessPool as exc:
                    outcome = _crashed(f"the local worker process died ({exc}); the local "
                                       "executor does not retry: run the sweep again (it "
                                       "resumes), or use --executor ray")
                on_outcome(futures[future], outcome)

    def describe(self) -> dict[str, Any]:
        """``{"executor": "local", "max_parallel": N}``."""
        return {"executor": self.name, "max_parallel": self.max_parallel}


def sleeping_openmp_waits() -> None:
    """Before starting pool workers side by side: their OpenMP threads sleep while they wait for
    work instead of spinning (``OMP_WAIT_POLICY=PASSIVE`` in this process's environment, which
    they inherit; read when torch loads OpenMP, so it leaves this process as it is). A worker
    whose study runs on more threads than its share of the cores otherwise spins on the cores
    the others need: two CIFAR2 ci runs side by side took 42 s each spinning and 4.8 s sleeping
    (``benchmarks/omp_wait.py``). The numbers are the same either way; a policy set by the
    user is kept."""
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def die_with_parent(parent: int) -> None:
    """In a pool worker: end when the process ``parent`` (the sweep) ends, however it ends.

    On Linux the kernel sends the worker SIGKILL when its parent dies
    (``prctl(PR_SET_PDEATHSIG)``); elsewhere a daemon thread ends the worker once its parent
    process is gone. Without this, a sweep killed with SIGKILL leaves its workers running their
    units to the end, unseen.
    """
    import signal
    import sys
    import threading

    if sys.platform.startswith("linux"):
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        pr_set_pdeathsig = 1
        if libc.prctl(pr_set_pdeathsig, signal.SIGKILL, 0, 0, 0) == 0:
            if os.getppid() != parent:  # the parent died before the call
                os._exit(1)
            return

    def watch() -> None:
        import time

        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, name="die-with-parent", daemon=True).start()


def _host_port(address: str) -> tuple[str, int] | None:
    """``(host, port)`` of a Ray address (``host:port`` or ``ray://host:port``); None for
    ``auto``/``local``, which Ray resolves itself."""
    if address in ("auto", "local"):
        return None
    rest = address.split("://", 1)[-1]
    host, sep, port = rest.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise ConfigError(f"--ray-address {address!r} is not host:port (e.g. 10.0.0.1:6379, "
                          "the address `ray start --head` prints), ray://host:port or auto")
    return host, int(port)


def check_reachable(address: str, timeout: float) -> None:
    """Raise a ConfigError unless a TCP connection to the Ray address opens within ``timeout``
    seconds (Ray itself would wait for minutes)."""
    target = _host_port(address)
    if target is None:
        return
    try:
        with socket.create_connection(target, timeout=timeout):
            pass
    except OSError as exc:
        raise ConfigError(
            f"cannot reach a Ray cluster at {address} ({exc.strerror or exc}; waited at most "
            f"{timeout:g} s): start one there (`ray start --head --port={target[1]}`), or fix "
            "--ray-address / $RAY_ADDRESS, or leave both unset to start a local Ray instance"
        ) from None


class RayExecutor(Executor):
    """Each unit a Ray task (resources from the spec, Ray's ``max_retries``)."""

    name = "ray"

    def __init__(self, address: str | None = None, max_parallel: int | None = None,
                 max_retries: int = 3, connect_timeout: float = 10.0) -> None:
        try:
            import ray
        except ImportError:
            raise ConfigError("the ray executor needs Ray: pip install -e '.[cluster]'") from None
        self.ray, self.max_parallel, self.max_retries = ray, max_parallel, max_retries
        self.address = address or os.environ.get("RAY_ADDRESS") or None
        self.started = False
        if self.address is not None:
            check_reachable(self.address, connect_timeout)
        if ray.is_initialized():  # this process is connected already (e.g. a notebook, tests)
            return
        try:
            # "local": a new instance, even where `ray start` left one (or its address file)
            ray.init(address=self.address or "local", log_to_driver=False,
                     include_dashboard=False, configure_logging=False)
        except ConnectionError as exc:
            raise ConfigError(
                f"cannot connect to Ray at {self.address}: {exc}; start a cluster (`ray start "
                "--head`) or fix --ray-address; a cluster with token authentication (`ray "
                "start`'s default) needs RAY_AUTH_MODE=token and its token (~/.ray/auth_token "
                "or $RAY_AUTH_TOKEN) here") from None
        self.started = True

    def check(self, resources: Resources, profile: str | None = None,
              where: str = "sweep spec") -> None:
        """On the local Ray instance this command started, refuse a unit that asks for more
        CPUs or GPUs than any of its nodes has (Ray would wait for such a node forever, without
        a word), and the gpu profile without a GPU. On a cluster at an address (which may add
        nodes as it scales) say so on stderr instead."""
        import sys

        from numerics.profiles import current_profile

        nodes = [n.get("Resources", {}) for n in self.ray.nodes() if n.get("Alive")]
        cpus = max((float(n.get("CPU", 0)) for n in nodes), default=0.0)
        gpus = max((float(n.get("GPU", 0)) for n in nodes), default=0.0)
        problems = []
        if resources.num_cpus > cpus:
            problems.append(f"resources: num_cpus: {resources.num_cpus} exceeds the {cpus:g} "
                            "CPU(s) of the largest node")
        if resources.num_gpus > gpus:
            problems.append(f"resources: num_gpus: {resources.num_gpus:g} exceeds the {gpus:g} "
                            "GPU(s) of the largest node")
        if current_profile(profile) == "gpu" and gpus == 0:
            problems.append("profile gpu is sized for a GPU, and no node has one")
        if not problems:
            return
        what = "; ".join(problems)
        if self.started and self.address is None:
            raise ConfigError(f"{where}: {what} of the local Ray instance this command started: "
                              "lower them in the sweep file (or use the full profile), or give "
                              "--ray-address of a cluster that has such nodes")
        print(f"advlandscape sweep: warning: {where}: {what} of the Ray cluster at "
              f"{self.address} now; its units wait until such a node joins", file=sys.stderr)

    def run(self, tasks: Sequence[Task], on_outcome: OnOutcome) -> None:
        """Submit the tasks (at most ``max_parallel`` at a time, else all: Ray schedules them by
        their resources) and report each as it ends."""
        ray = self.ray
        remote = ray.remote(run_unit)
        waiting = list(tasks)
        running: dict[Any, Task] = {}
        while waiting or running:
            while waiting and (self.max_parallel is None or len(running) < self.max_parallel):
                task = waiting.pop(0)
                ref = remote.options(num_cpus=task.resources.num_cpus,
                                     num_gpus=task.resources.num_gpus,
                                     max_retries=self.max_retries).remote(
                    task.unit, task.checkpoint_dir, task.resources.num_cpus)
                running[ref] = task
            done, _ = ray.wait(list(running), num_returns=1)
            for ref in done:
                task = running.pop(ref)
                try:
                    outcome = ray.get(ref)
                except ray.exceptions.RayError as exc:  # the worker died more than max_retries
                    outcome = _crashed(f"{type(exc).__name__}: the Ray worker running this unit "
                                       f"died {self.max_retries + 1} time(s) ({exc}); raise "
                                       "max_retries in the sweep file or check the node")
                on_outcome(task, outcome)

    def describe(self) -> dict[str, Any]:
        """The executor, the cluster's address and its resources."""
        ctx = self.ray.get_runtime_context()
        return {"executor": self.name, "address": ctx.gcs_address,
                "max_parallel": self.max_parallel, "max_retries": self.max_retries,
                "cluster_resources": {k: v for k, v in self.ray.cluster_resources().items()
                                      if k in ("CPU", "GPU")}}

    def close(self) -> None:
        """Shut down the Ray instance this executor started or connected (not one the caller
        had connected before)."""
        if self.started:
            self.ray.shutdown()
            self.started = False


def make_executor(name: str, *, ray_address: str | None = None, max_parallel: int | None = None,
                  max_retries: int = 3, connect_timeout: float = 10.0) -> Executor:
    """The executor called ``name`` (``local`` or ``ray``).

    Raises:
        ConfigError: an unknown name, a bad ``max_parallel``, ``ray_address`` with ``local``,
            or an unreachable Ray address.
    """
    if name not in EXECUTORS:
        raise ConfigError(f"unknown executor {name!r}: use one of {EXECUTORS}")
    if max_parallel is not None and (isinstance(max_parallel, bool)
                                     or not isinstance(max_parallel, int) or max_parallel < 1):
        raise ConfigError(f"--max-parallel must be an integer >= 1, got {max_parallel!r}")
    if name == "local":
        if ray_address:
            raise ConfigError("--ray-address is for --executor ray: drop it or add --executor ray")
        return LocalExecutor(max_parallel or 1)
    return RayExecutor(ray_address, max_parallel, max_retries, connect_timeout)

"""Running a sweep: validate, reuse finished units, run the rest on an executor, merge.

:func:`run_sweep` validates the spec and every unit's config and checks the output directory
before any work, reuses the units whose records are there (keyed by the unit's config digest),
runs the others on the executor, writing each one's record as it ends (one progress bar over the
units), and once every unit has a record writes the merged record. A unit that raises is
reported with its config and traceback (``failed/<digest>.txt``) and stops the merge, never the
other units: :class:`theory.errors.UnitsFailedError` once they have all ended.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tqdm import tqdm

from numerics.records import output_lock, read_result, write_result
from numerics.sweep.executors import Executor, Task
from numerics.sweep.experiments import experiment_for
from numerics.sweep.spec import SweepSpec
from numerics.sweep.store import SweepStore, code_digest
from numerics.validate import check_writable_dir
from theory.errors import ConfigError, ResultExistsError, UnitsFailedError

__all__ = ["SweepOutcome", "plan", "run_sweep"]


@dataclass(frozen=True)
class SweepOutcome:
    """What a sweep did: units in all, reused from an earlier run, run now; the merged record's
    path; wall time."""

    units: int
    reused: int
    ran: int
    merged: Path
    seconds: float


def plan(spec: SweepSpec) -> list[Any]:
    """The sweep's units (:class:`numerics.sweep.experiments.Unit`), validated: every unit's
    config (each value against its field's type, then the config's own checks), and no two
    units with one config (grid values that differ only in spelling, ``1`` and ``1.0``).

    Raises:
        ConfigError: the first problem, naming the sweep file.
    """
    units = experiment_for(spec.experiment, spec.source).units(spec)
    seen: dict[str, Any] = {}
    for unit in units:
        if unit.digest in seen:
            raise ConfigError(f"{spec.source}: units {seen[unit.digest].name} and {unit.name} "
                              "have the same config (grid values that are one value): give "
                              "each value once")
        seen[unit.digest] = unit
    return units


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def run_sweep(spec: SweepSpec, out: str | Path, executor: Executor, *, overwrite: bool = False,
              accept_stale: bool = False, progress: bool = True,
              say: Callable[[str], None] = _say) -> SweepOutcome:
    """Run the sweep ``spec`` into the directory ``out`` on ``executor``.

    Args:
        spec: the validated sweep file. out: the output directory (made if absent).
        executor: where the units run (:func:`numerics.sweep.executors.make_executor`).
        overwrite: replace an existing merged record (``sweep.json``); unit records are never
            replaced. accept_stale: reuse unit records written by other code.
        progress: one tqdm bar over the units. say: where one-line notes go (stderr).

    Raises:
        ConfigError: a bad spec or unit config, resources beyond the executor's machine or
            cluster, an unwritable ``out`` (before any work).
        ResultExistsError: ``sweep.json`` exists and not ``overwrite`` (before any work).
        OutputLockedError: another sweep is writing ``out`` (before any work; the lock is held
            for the whole run, :func:`numerics.records.output_lock`).
        UnitsFailedError: some units raised or their workers died; the others' records are
            written, and running the sweep again runs only the units without one.
    """
    start = time.perf_counter()
    experiment = experiment_for(spec.experiment, spec.source)
    units = plan(spec)
    executor.check(spec.resources, spec.profile, spec.source)
    store = SweepStore(out)
    if (store.root.exists() or store.root.is_symlink()) and not store.root.is_dir():
        raise ConfigError(f"--out {store.root} is not a folder: give a folder for the sweep")
    check_writable_dir(store.root, "sweep output directory", "--out")
    if store.merged.exists() and not overwrite:
        raise ResultExistsError(f"{store.merged} exists already: pass --overwrite to replace "
                                "it (finished units are reused), or choose another --out")
    with output_lock(store.root.resolve()):  # a second sweep on this --out stops here, at once
        return _run(spec, experiment, units, store, executor, overwrite=overwrite,
                    accept_stale=accept_stale, progress=progress, say=say, start=start)


def _run(spec: SweepSpec, experiment: Any, units: list[Any], store: SweepStore,
         executor: Executor, *, overwrite: bool, accept_stale: bool, progress: bool,
         say: Callable[[str], None], start: float) -> SweepOutcome:
    """:func:`run_sweep` once everything is checked and the output is locked."""
    records: dict[str, dict[str, Any]] = {}
    for unit in units:
        found = store.finished(unit.digest, accept_stale)
        if found is not None:
            records[unit.digest] = found
    todo = [u for u in units if u.digest not in records]
    reused = len(units) - len(todo)
    say(f"sweep {spec.experiment}: {len(units)} units, {reused} reused from {store.root}, "
        f"{len(todo)} to run on {executor.name}")
    described = executor.describe()
    failures: list[tuple[Any, dict[str, Any]]] = []
    with tqdm(total=len(units), initial=reused, desc=f"sweep {spec.experiment}", unit="unit",
              disable=not progress, leave=False) as bar:
        def on_outcome(task: Task, outcome: dict[str, Any]) -> None:
            if outcome["ok"]:
                records[task.unit.digest] = store.write_unit(task.unit, outcome, described)
            else:
                failures.append((task.unit, outcome))
                store.write_failure(task.unit, outcome)
            bar.update()

        executor.run([Task(u, str(store.checkpoint_dir(u.digest)), spec.resources)
                      for u in todo], on_outcome)
    if failures:
        lines = [f"{len(failures)} of {len(units)} units failed ({len(records)} finished ones "
                 f"kept in {store.root / 'units'}; run the sweep again to run only the rest):"]
        for unit, outcome in failures:
            error = outcome["error"].strip().splitlines()[0] if outcome["error"] else "?"
            lines.append(f"  unit {unit.name}: {error} (its config and traceback: "
                         f"{store.failure_path(unit.digest)})")
        raise UnitsFailedError("\n".join(lines))
    ordered = [records[u.digest] for u in units]
    results, config = experiment.merge(spec, units, [r["results"] for r in ordered])
    merged = {"experiment": spec.experiment,
              "units": [{"unit": u.name, "digest": u.digest} for u in units],
              "merged": results}
    write_result(store.merged, config, merged, overwrite=overwrite,
                 sweep={"experiment": spec.experiment, "spec": spec.source,
                        "grid": {k: list(v) for k, v in spec.grid},
                        "resources": {"num_cpus": spec.resources.num_cpus,
                                      "num_gpus": spec.resources.num_gpus},
                        "units": len(units), "reused": reused, "ran": len(todo),
                        "code": code_digest()},
                 executor=described)
    read_result(store.merged)
    seconds = time.perf_counter() - start
    say(f"sweep {spec.experiment}: wrote {store.merged} ({len(todo)} units run, {reused} "
        f"reused, {seconds:.1f} s)")
    return SweepOutcome(len(units), reused, len(todo), store.merged, seconds)

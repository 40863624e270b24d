"""Sweeps: an experiment's units of work run on one machine or on a Ray cluster, same results.

* :mod:`~numerics.sweep.spec`: the sweep file (YAML): experiment, config, grid, resources;
* :mod:`~numerics.sweep.experiments`: how each experiment splits into units and merges them;
* :mod:`~numerics.sweep.worker`: :func:`run_unit`, the one function every executor calls;
* :mod:`~numerics.sweep.executors`: ``local`` (embedded) and ``ray``;
* :mod:`~numerics.sweep.store`: the output directory (one record per unit, the merged record);
* :mod:`~numerics.sweep.run`: :func:`run_sweep` (the ``advlandscape sweep`` command).
"""

from numerics.sweep.executors import EXECUTORS, LocalExecutor, RayExecutor, make_executor
from numerics.sweep.experiments import EXPERIMENTS, Unit, experiment_for
from numerics.sweep.run import SweepOutcome, plan, run_sweep
from numerics.sweep.spec import Resources, SweepSpec, load_spec, parse_spec
from numerics.sweep.worker import run_unit

__all__ = ["EXECUTORS", "EXPERIMENTS", "LocalExecutor", "RayExecutor", "Resources",
           "SweepOutcome", "SweepSpec", "Unit", "experiment_for", "load_spec", "make_executor",
           "parse_spec", "plan", "run_sweep", "run_unit"]

"""Benchmark: what running a sweep's units as Ray tasks costs against the local executor.

One PAS sweep (``--lrs`` learning rates x ``--seeds`` seeds of a small config, each unit two
short training runs on MNIST) is run ``--repeats`` times, alternated, into fresh folders, on
``local`` (one unit after another in this process), on ``ray`` with ``--max-parallel 1`` (one
unit after another, each a Ray task: the overhead per unit) and on ``ray`` with the default (as
many units at once as the CPUs allow); the best time of each is kept. Before them it times
``ray.init`` (a local instance with ``--cpus`` CPUs), one warm-up sweep that starts the Ray
workers (a fresh worker imports torch), and the round trip of an empty Ray task. It prints the
times, the overhead per unit ``(ray, 1 at a time - local) / units``, and checks that every sweep
wrote the same records (timings aside).

    python benchmarks/sweep_overhead.py                 # about a minute and a half on 2 cores
    python benchmarks/sweep_overhead.py --lrs 4 --seeds 4
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import ray

from numerics.records import read_result
from numerics.sweep import LocalExecutor, RayExecutor, parse_spec, run_sweep


def _strip(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _strip(v) for k, v in obj.items() if "seconds" not in k}
    if isinstance(obj, list):
        return [_strip(v) for v in obj]
    return obj


def _records(out: Path) -> dict[str, Any]:
    return {p.name: _strip(read_result(p)["results"]) for p in sorted(out.glob("units/*.json"))}


def _timed(spec: Any, out: Path, executor: Any) -> float:
    start = time.perf_counter()
    run_sweep(spec, out, executor, progress=False, say=lambda _m: None)
    return time.perf_counter() - start


def main() -> None:
    """Time the three sweeps and print the overhead of Ray per unit."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lrs", type=int, default=3, help="learning rates (default 3)")
    parser.add_argument("--seeds", type=int, default=3, help="seeds (default 3)")
    parser.add_argument("--cpus", type=int, default=2, help="CPUs of the Ray instance")
    parser.add_argument("--repeats", type=int, default=3,
                        help="times each sweep is run (the best is kept; default 3)")
    args = parser.parse_args()
    os.environ.setdefault("ADVLANDSCAPE_PROFILE", "ci")
    raw = {"experiment": "pas",
           "config": {"n_train": 200, "n_test": 50, "hidden": [8], "epochs": 2,
                      "batch_size": 50, "pgd_steps": 2, "eval_steps": 3},
           "grid": {"lr": [round(0.01 * 2 ** k, 4) for k in range(args.lrs)],
                    "seed": list(range(args.seeds))}}
    spec = parse_spec(raw, "benchmark")
    warm = parse_spec({**raw, "grid": {"lr": [0.5], "seed": list(range(args.cpus))}}, "warm-up")
    units = args.lrs * args.seeds
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        start = time.perf_counter()
        ray.init(address="local", num_cpus=args.cpus, include_dashboard=False, log_to_driver=False,
                 configure_logging=False)
        t_init = time.perf_counter() - start
        try:
            t_warm = _timed(warm, root / "warm", RayExecutor())
            _timed(warm, root / "warm-local", LocalExecutor())  # data cached in this process too
            noop = ray.remote(lambda: None)
            ray.get(noop.remote())
            start = time.perf_counter()
            ray.get([noop.remote() for _ in range(200)])
            t_noop = (time.perf_counter() - start) / 200
            start = time.perf_counter()
            for _ in range(50):
                ray.get(noop.remote())
            t_roundtrip = (time.perf_counter() - start) / 50
            times: dict[str, list[float]] = {"local": [], "ray1": [], "ray": []}
            for k in range(args.repeats):  # alternated, the best of each: less load noise
                times["local"].append(_timed(spec, root / f"local{k}", LocalExecutor()))
                times["ray1"].append(_timed(spec, root / f"ray1{k}", RayExecutor(max_parallel=1)))
                times["ray"].append(_timed(spec, root / f"ray{k}", RayExecutor()))
            t_local, t_ray1, t_ray = (min(times[k]) for k in ("local", "ray1", "ray"))
        finally:
            ray.shutdown()
        same = all(_records(root / f"{name}{k}") == _records(root / "local0")
                   for name in times for k in range(args.repeats))
    print(f"PAS sweep, {units} units ({args.lrs} lrs x {args.seeds} seeds), Ray with "
          f"{args.cpus} CPUs")
    print(f"ray.init (local instance):            {t_init:8.2f} s")
    print(f"warm-up sweep ({args.cpus} units, starts workers): {t_warm:8.2f} s")
    print(f"empty Ray task, 200 in flight:        {1e3 * t_noop:8.2f} ms per task")
    print(f"empty Ray task, one round trip:       {1e3 * t_roundtrip:8.2f} ms")
    print(f"best of {args.repeats} runs each:")
    print(f"local, in this process:               {t_local:8.2f} s ({t_local / units:.3f} s/unit)")
    print(f"ray, 1 unit at a time:                {t_ray1:8.2f} s ({t_ray1 / units:.3f} s/unit)")
    print(f"ray, as many as the CPUs allow:       {t_ray:8.2f} s ({t_ray / units:.3f} s/unit)")
    print(f"overhead of Ray per unit (1 at a time - local) / units: "
          f"{1e3 * (t_ray1 - t_local) / units:.1f} ms")
    print(f"records identical across all {3 * args.repeats} sweeps: {same}")
    if not same:
        raise SystemExit("the records differ between executors")


if __name__ == "__main__":
    main()

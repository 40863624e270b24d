"""Benchmark: two processes side by side, each with more torch threads than its share of the
cores, with OpenMP's default wait policy (idle threads spin) and with ``OMP_WAIT_POLICY=PASSIVE``
(they sleep), back to back in one run.

Each process runs the small CIFAR2 tables of ``tests/test_mnist2.py`` (all four tables, two
seeds, 400 training images, d = 3,072) on the MNIST2 family's ci threads (2), once to warm up
and once timed, as a test worker does beside the other worker. Printed per policy: the seconds
of a process alone and of each of two side by side, and the ratio side by side / alone; then
the ratio of the default's side-by-side time to PASSIVE's. The results are the same under both
policies (the policy only says how idle threads wait): the record's digests are compared.

    python benchmarks/omp_wait.py            # needs CIFAR-10 in $ADVLANDSCAPE_DATA
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

CHILD = """
import dataclasses, hashlib, json, time, torch
torch.set_default_dtype(torch.float64)
from numerics.experiments.mnist2 import EVAL_PGD, TRAIN_PGD, config_for, run_mnist2
from numerics.linear.train import TrainConfig
config = config_for("ci", dataset="cifar2", seeds=(0, 1), threads={threads},
                    train_attack=dataclasses.replace(TRAIN_PGD, steps=3),
                    eval_attacks=(dataclasses.replace(EVAL_PGD, steps=5),),
                    landscape_points=3, landscape_n=50,
                    train=TrainConfig(epochs=2, batch_size=128, lr=1e-2))
run_mnist2(config)
start = time.perf_counter()
tables = run_mnist2(config)["tables"]
seconds = time.perf_counter() - start
def timeless(node):  # the numbers, without the run's own timings
    if isinstance(node, dict):
        return {{k: timeless(v) for k, v in node.items() if "seconds" not in k}}
    return [timeless(v) for v in node] if isinstance(node, list) else node
digest = hashlib.sha256(json.dumps(timeless(tables), sort_keys=True,
                                   default=str).encode()).hexdigest()
print(json.dumps({{"seconds": seconds, "digest": digest[:16]}}))
"""


def _run(count: int, policy: str | None, threads: int) -> list[dict[str, object]]:
    """``count`` processes started together; each one's seconds and result digest."""
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    if policy is not None:
        env["OMP_WAIT_POLICY"] = policy
    procs = [subprocess.Popen([sys.executable, "-c", CHILD.format(threads=threads)], env=env,
                              stdout=subprocess.PIPE, text=True) for _ in range(count)]
    outs = [p.communicate()[0] for p in procs]
    if any(p.returncode for p in procs):
        raise SystemExit("a benchmark process failed (is CIFAR-10 in $ADVLANDSCAPE_DATA?)")
    return [json.loads(out.strip().splitlines()[-1]) for out in outs]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2,
                        help="torch threads of each process (default 2: the ci scale's)")
    args = parser.parse_args()
    start = time.perf_counter()
    side: dict[str, float] = {}
    digests = set()
    print(f"{'policy':<10} {'alone s':>8} {'side by side s':>16} {'ratio':>6}")
    for policy in (None, "PASSIVE"):
        (alone,) = _run(1, policy, args.threads)
        pair = _run(2, policy, args.threads)
        worst = max(float(r["seconds"]) for r in pair)
        side[policy or "default"] = worst
        digests |= {alone["digest"], *(r["digest"] for r in pair)}
        both = " / ".join(f"{float(r['seconds']):.2f}" for r in pair)
        print(f"{policy or 'default':<10} {float(alone['seconds']):>8.2f} {both:>16} "
              f"{worst / float(alone['seconds']):>6.2f}")
    print(f"side by side, default / PASSIVE: {side['default'] / side['PASSIVE']:.2f}x")
    print(f"results the same under both policies: {len(digests) == 1}")
    print(f"({time.perf_counter() - start:.0f} s in all)")


if __name__ == "__main__":
    main()

"""A roofline table of one full MNIST2 seed: each phase's arithmetic and memory traffic against
this machine's measured peaks.

Measures, with torch on ``--threads`` threads: GEMM GFLOP/s (float64, the Hessians' and the
margins' precision, and float32) and elementwise bandwidth (``torch.add(a, b, out=c)``, bytes
read and written) on arrays in memory (3 x 64 MiB) and in a core's cache (3 x 256 KiB, the
size of the blocks PGD works on). Counts each phase's FLOPs and bytes from the problem sizes
(N = 12,665 training and 2,115 test images, d = 784 pixels and a bias, the tables' models,
10 epochs of batch 128, PGD-10 in training, 21 Lanczos products per Hessian, the landscapes'
21 points on 1,000 images) as the suite computes them: every torch pass over a (models,
examples, pixels) block reads and writes it once (bytes), PGD's iterates stay in cache (their
passes are counted at the cache bandwidth), the Hessians' products read the data twice. It
reads the phases' seconds from a suite record (``--record``, a ``mnist2.json`` of one full
seed, e.g. from ``benchmarks/mnist2_speed.py`` or ``advlandscape mnist2 --profile full
--seeds 0``) and prints per phase: time, GFLOP, GB, achieved GFLOP/s and GB/s against the
peaks (%bw: the traffic's time at the memory and cache roofs over the phase's time), and the
floor, max(FLOPs / GEMM peak, memory bytes / memory bandwidth + cache bytes /
cache bandwidth), of the suite's passes as they are; and the floor of a fused implementation
(every (model, example, pixel) block made and consumed in registers: the data read once per
pass, FLOPs at the GEMM peak), which no sequence of torch operations reaches. ``--seconds``
gives the process's wall clock, whose remainder is start-up, data, records and figures.

    python benchmarks/roofline.py --record /tmp/suite/mnist2.json --seconds 60
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

N, T, D = 12_665, 2_115, 784
P = D + 1
EPOCHS, BATCH = 10, 128
TRAIN_STEPS, EVAL_STEPS = 10, 20
LANCZOS = 21  # products per Hessian (ARPACK, k = 3, ncv = 20, measured on the trained models)
LAND_POINTS, LAND_N = 21, 1_000
#: models and attacked models (eps > 0) of tables 1-4
TABLES = {1: (6, 5, "pgd"), 2: (6, 5, "random"), 3: (8, 7, "linf"), 4: (5, 4, "random")}


def _best(fn, reps: int) -> float:
    fn()
    best = float("inf")
    for _ in range(reps):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def peaks(threads: int) -> dict[str, float]:
    """GEMM GFLOP/s (float64, float32) and elementwise GB/s (memory, cache), best of a few."""
    torch.set_num_threads(threads)
    out = {}
    for dtype, name in ((torch.float64, "gemm64"), (torch.float32, "gemm32")):
        a = torch.randn(2048, 2048, dtype=dtype)
        b = torch.randn(2048, 2048, dtype=dtype)
        out[name] = 2 * 2048**3 / _best(lambda a=a, b=b: a @ b, 5) / 1e9
    for n, name, reps in ((1 << 24, "mem", 5), (1 << 16, "cache", 2000)):
        x, y, z = (torch.rand(n, dtype=torch.float32) for _ in range(3))

        def add(x=x, y=y, z=z, reps=reps):
            for _ in range(reps):
                torch.add(x, y, out=z)

        out[name] = 3 * 4 * n * reps / _best(add, 3) / 1e9
    return out


def counts() -> dict[str, dict[str, float]]:
    """FLOPs, memory bytes and cache bytes of each phase of one seed (tables 1-4)."""
    c = {ph: {"flops": 0.0, "mem": 0.0, "cache": 0.0, "fused": 0.0}
         for ph in ("train", "evaluate", "hessian", "landscape")}
    for K, Ka, kind in TABLES.values():
        seen = K * N * D * EPOCHS  # (model, example, pixel) triples of training
        # margins and gradient (two products of the (K, B, d) float64 inputs), Adam
        c["train"]["flops"] += 4 * seen
        c["train"]["mem"] += 8 * 3 * seen  # inputs written once, read by both products
        if kind == "pgd":
            # start drawn in float64 (~10 flops a pixel, written, read), 10 steps of add,
            # norm, scale, clamp (~6 flops) in float32 in cache (4 passes read + write), the
            # last projection in float64 (~10 flops, 3 passes)
            per = Ka * N * D * EPOCHS
            c["train"]["flops"] += (10 + 6 * TRAIN_STEPS + 10) * per
            c["train"]["mem"] += 8 * 2 * N * D * EPOCHS + 8 * 2 * 3 * per
            c["train"]["cache"] += 4 * 2 * 4 * TRAIN_STEPS * per
        elif kind == "random":
            c["train"]["flops"] += 15 * N * D * EPOCHS + 3 * seen  # one draw, scaled, clamped
            c["train"]["mem"] += 8 * 2 * N * D * EPOCHS + 8 * 2 * 2 * seen
        else:  # the L-inf PGD limit in closed form: sign, scale, add, clamp
            c["train"]["flops"] += 4 * seen
            c["train"]["mem"] += 8 * 2 * 2 * seen
        # compulsory traffic of a fused implementation: the float64 data read once an epoch
        c["train"]["fused"] += 8 * N * D * EPOCHS
        # early stopping: the ball margins of the test set (one product) each epoch
        c["train"]["flops"] += 2 * K * T * D * EPOCHS
        c["train"]["mem"] += 8 * T * D * EPOCHS
        # evaluation: clean and ball margins of best and last weights, train and test sets
        # (a few products); the attacks on the uncertified examples (~1%) are negligible
        c["evaluate"]["flops"] += 5 * 2 * 2 * K * (N + T) * D
        c["evaluate"]["mem"] += 5 * 8 * (N + T) * D
        c["evaluate"]["fused"] += 8 * (N + T) * D
        # Hessians: the fixed one (plus the training perturbation at the trained weights,
        # one pass over the training set) and, for adversarial tables, the robust one
        hess = K * (2 if kind in ("pgd", "linf") else 1)
        c["hessian"]["flops"] += hess * LANCZOS * 4 * N * P
        c["hessian"]["mem"] += hess * LANCZOS * 2 * 8 * N * P + K * 8 * 3 * N * D
        c["hessian"]["fused"] += hess * LANCZOS * 8 * N * P  # each product reads its data once
        if kind == "pgd":
            c["hessian"]["flops"] += (6 * TRAIN_STEPS + 20) * Ka * N * D
            c["hessian"]["cache"] += 4 * 2 * 4 * TRAIN_STEPS * Ka * N * D
        # landscapes: 21 points, each attacked (PGD-10) or on one noise draw, 1,000 images
        pts = K * LAND_POINTS * LAND_N * D
        c["landscape"]["flops"] += 2 * pts + (6 * TRAIN_STEPS * pts if kind == "pgd" else 0)
        c["landscape"]["mem"] += 8 * 3 * pts
        c["landscape"]["fused"] += 8 * LAND_N * D
        if kind == "pgd":
            c["landscape"]["cache"] += 4 * 2 * 4 * TRAIN_STEPS * pts
    return c


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--record", type=Path, help="a suite record of one full seed")
    parser.add_argument("--seconds", type=float, help="the process's wall clock (rest)")
    parser.add_argument("--reference-seconds", type=float,
                        help="the plain reference's wall clock: prints the 20x target")
    args = parser.parse_args()
    pk = peaks(args.threads)
    import os

    print(f"threads {args.threads}, load average {os.getloadavg()}")
    print(f"peaks: GEMM {pk['gemm64']:.1f} GFLOP/s float64, {pk['gemm32']:.1f} float32; "
          f"elementwise {pk['mem']:.1f} GB/s in memory, {pk['cache']:.1f} GB/s in cache")
    seconds = {}
    if args.record:
        record = json.loads(args.record.read_text())
        record = record.get("results", record)
        for table in record["tables"].values():
            run = table["per_seed"][0] if "per_seed" in table else table
            for phase, sec in run["seconds"].items():
                seconds[phase] = seconds.get(phase, 0.0) + sec
    print(f"{'phase':10} {'time s':>7} {'GFLOP':>7} {'GB mem':>7} {'GB cache':>8} "
          f"{'GFLOP/s':>8} {'%gemm':>6} {'GB/s':>6} {'%bw':>5} {'floor s':>8} {'time/floor':>10} "
          f"{'fused floor s':>13}")
    floor_total = fused_total = 0.0
    for phase, c in counts().items():
        floor = max(c["flops"] / (pk["gemm64"] * 1e9),
                    c["mem"] / (pk["mem"] * 1e9) + c["cache"] / (pk["cache"] * 1e9))
        fused = max(c["flops"] / (pk["gemm64"] * 1e9), c["fused"] / (pk["mem"] * 1e9))
        floor_total += floor
        fused_total += fused
        t = seconds.get(phase)
        if t is None:
            print(f"{phase:10} {'-':>7} {c['flops'] / 1e9:7.1f} {c['mem'] / 1e9:7.1f} "
                  f"{c['cache'] / 1e9:8.1f} {'':>8} {'':>6} {'':>6} {'':>5} {floor:8.2f} {'':>10} "
                  f"{fused:13.2f}")
            continue
        gf, gb = c["flops"] / t / 1e9, (c["mem"] + c["cache"]) / t / 1e9
        # %bw: the time the traffic takes at the two roofs (memory, cache) over the time
        at_roofs = c["mem"] / (pk["mem"] * 1e9) + c["cache"] / (pk["cache"] * 1e9)
        print(f"{phase:10} {t:7.2f} {c['flops'] / 1e9:7.1f} {c['mem'] / 1e9:7.1f} "
              f"{c['cache'] / 1e9:8.1f} {gf:8.2f} {100 * gf / pk['gemm64']:5.1f}% {gb:6.1f} "
              f"{100 * at_roofs / t:4.0f}% {floor:8.2f} {t / floor:9.1f}x {fused:13.2f}")
    compute = sum(seconds.values())
    print(f"{'compute':10} {compute:7.2f} {'':>7} {'':>7} {'':>8} {'':>8} {'':>6} {'':>6} "
          f"{'':>5} {floor_total:8.2f} {compute / floor_total if compute else 0:9.1f}x "
          f"{fused_total:13.2f}")
    if args.seconds:
        rest = args.seconds - compute
        print(f"{'rest':10} {rest:7.2f}  (start-up: imports, data, records, figures; not "
              "counted in FLOPs)")
        print(f"whole process {args.seconds:.1f} s; compute floor {floor_total:.2f} s (fused "
              f"{fused_total:.2f} s) + rest")
    if args.reference_seconds:
        goal = args.reference_seconds / 20
        print(f"20x of the reference ({args.reference_seconds:.1f} s) is {goal:.2f} s for the "
              f"whole process: the compute floor alone is {floor_total:.2f} s (fused "
              f"{fused_total:.2f} s)"
              + (f", the rest measured {args.seconds - compute:.2f} s" if args.seconds else ""))


if __name__ == "__main__":
    main()

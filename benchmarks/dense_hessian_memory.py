"""Benchmark: the peak memory of ``dense_hessian`` against its plan, for P from 1k to 20k.

Each size runs in its own fresh process (``multiprocessing`` spawn, one after the other, so that
two large matrices are never held at once): an MLP 784-h-10 in float64 (P = 795 h + 10
parameters; the hidden width h is the one that brings P nearest the size asked for) on n random
MNIST-shaped images. The process builds the model and the data, asks for the plan
(:func:`numerics.nets.curvature.plan_dense_hessian`), then records its resident memory
(``VmRSS``) and computes the dense Hessian; the peak rise is the process's peak resident memory
after the call (``resource.getrusage``, ru_maxrss) minus the resident memory just before it.
The table prints the P x P matrix, the plan's total (the matrix, one chunk's basis and products,
the HVP's working memory) and the measured peak rise, with the ratios peak/matrix and peak/plan.
The matrix alone is 8 P^2 bytes: 0.8 GB at P = 10k, 1.8 GB at 15k, 3.2 GB at 20k.

    python benchmarks/dense_hessian_memory.py                       # P ~ 1k, 2k, 5k, 10k, 15k
    python benchmarks/dense_hessian_memory.py --parameters 20000    # the largest on its own
    python benchmarks/dense_hessian_memory.py --parameters 5000 --images 256
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import resource
import time


def _rss_bytes() -> int:
    """The resident memory now (``VmRSS`` of /proc/self/status; the peak where /proc is absent)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _measure(hidden: int, n: int, queue: mp.Queue) -> None:
    import torch

    from numerics.nets import MLP, dense_hessian
    from numerics.nets.curvature import plan_dense_hessian

    torch.set_num_threads(1)
    torch.manual_seed(0)
    model = MLP(in_features=784, num_classes=10, hidden=(hidden,), activation="softplus",
                dtype=torch.float64)
    x = torch.rand((n, 1, 28, 28), dtype=torch.float64)
    y = torch.randint(0, 10, (n,))
    plan = plan_dense_hessian(model, x, y)
    before = _rss_bytes()
    start = time.perf_counter()
    h = dense_hessian(model, x, y, max_bytes=2**40)
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    queue.put({"h": hidden, "P": plan.parameters, "columns": plan.columns,
               "matrix": plan.matrix_bytes, "work": plan.total_bytes - plan.matrix_bytes,
               "plan": plan.total_bytes, "rise": peak - before, "seconds": seconds,
               "symmetric": bool(torch.equal(h, h.T))})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parameters", default="1000,2000,5000,10000,15000",
                        help="the sizes P, comma-separated (each rounded to an MLP 784-h-10)")
    parser.add_argument("--images", type=int, default=32, help="the samples n")
    args = parser.parse_args()
    ctx = mp.get_context("spawn")
    mib = 2**20
    print(f"{'P':>6} {'h':>3} {'cols':>5} {'matrix MiB':>10} {'work MiB':>8} {'plan MiB':>8} "
          f"{'peak rise MiB':>13} {'peak/matrix':>11} {'peak/plan':>9} {'plan/matrix':>11} "
          f"{'s':>6} sym", flush=True)
    for target in (int(t) for t in args.parameters.split(",")):
        hidden = max(1, round((target - 10) / 795))
        queue = ctx.Queue()
        proc = ctx.Process(target=_measure, args=(hidden, args.images, queue))
        proc.start()
        r = queue.get()
        proc.join()
        print(f"{r['P']:>6} {r['h']:>3} {r['columns']:>5} {r['matrix'] / mib:>10.0f} "
              f"{r['work'] / mib:>8.0f} {r['plan'] / mib:>8.0f} {r['rise'] / mib:>13.0f} "
              f"{r['rise'] / r['matrix']:>11.2f} {r['rise'] / r['plan']:>9.2f} "
              f"{r['plan'] / r['matrix']:>11.2f} {r['seconds']:>6.1f} {r['symmetric']}",
              flush=True)


if __name__ == "__main__":
    main()

"""Benchmark: the peak memory of ``dense_hessian`` against the number of images, and its plan.

Each measurement runs in a fresh process (``multiprocessing`` spawn) that builds the suite's
SmallCNN (float64, channels (4, 8): 4,266 parameters), computes the dense Hessian on n random
MNIST-shaped images and reports its peak resident memory (``resource.getrusage``, ru_maxrss)
minus the process's peak just before the call (imports, model and data), beside the plan's
estimate (:func:`numerics.nets.curvature.plan_dense_hessian`: matrix plus one chunk of columns).
An unchunked Hessian (all P directions at once) grew about 1 GB per image on this model; the
chunked one should stay near the matrix plus ``work_bytes`` at any n.

    python benchmarks/dense_hessian_memory.py                    # n = 1, 2, 4, 8, 16
    python benchmarks/dense_hessian_memory.py --images 2,8 --channels 2,4
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import resource


def _measure(n: int, channels: tuple[int, int], queue: mp.Queue) -> None:
    import torch

    from numerics.nets import SmallCNN, dense_hessian
    from numerics.nets.curvature import plan_dense_hessian

    torch.set_num_threads(1)
    torch.manual_seed(0)
    model = SmallCNN(channels=channels)
    x = torch.rand((n, 1, 28, 28), dtype=torch.float64)
    y = torch.randint(0, 10, (n,))
    plan = plan_dense_hessian(model, x, y)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    h = dense_hessian(model, x, y)
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    queue.put({"n": n, "P": plan.parameters, "columns": plan.columns,
               "estimate": plan.total_bytes, "peak_increase": after - before,
               "symmetric": bool(torch.equal(h, h.T))})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", default="1,2,4,8,16")
    parser.add_argument("--channels", default="4,8", help="the two convolutions' channels")
    args = parser.parse_args()
    channels = tuple(int(t) for t in args.channels.split(","))
    ctx = mp.get_context("spawn")
    rows = []
    for n in (int(t) for t in args.images.split(",")):
        queue = ctx.Queue()
        proc = ctx.Process(target=_measure, args=(n, channels, queue))
        proc.start()
        rows.append(queue.get())
        proc.join()
    mib = 2**20
    print(f"{'images':>6} {'P':>6} {'columns/chunk':>13} {'estimate MiB':>12} "
          f"{'peak increase MiB':>17} {'measured/estimate':>17}")
    for r in rows:
        print(f"{r['n']:>6} {r['P']:>6} {r['columns']:>13} {r['estimate'] / mib:>12.0f} "
              f"{r['peak_increase'] / mib:>17.0f} {r['peak_increase'] / r['estimate']:>17.2f}")
    growth = (rows[-1]["peak_increase"] - rows[0]["peak_increase"]) / max(
        1, rows[-1]["n"] - rows[0]["n"])
    print(f"growth of the peak per extra image: {growth / mib:.1f} MiB "
          f"(from n = {rows[0]['n']} to n = {rows[-1]['n']})")


if __name__ == "__main__":
    main()

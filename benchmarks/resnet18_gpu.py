"""Benchmark of the ResNet18 machinery on a GPU: prints measured times and ratios (no assertions).

The measurements are :func:`numerics.gpu.benchmark.measure` (stage 3 of the GPU programme,
``advlandscape gpu``), on CIFAR-shaped synthetic inputs:

1. PGD-10 adversarial-training throughput (images/s) of the fast path (bf16 autocast,
   channels-last, attack without weight gradients, data on the GPU, optional torch.compile)
   against a plain fp32 eager loop, and their ratio;
2. the time of one Hessian-vector product (forward-over-reverse) over the time of one gradient;
3. the time to the top-3 Hessian eigenvalues (scipy eigsh) on ``--hessian-images`` images;
4. the time of a ``--landscape-points``-point 1-D adversarial landscape (re-attacked per point).

Usage::

    python benchmarks/resnet18_gpu.py                 # on a CUDA machine
    python benchmarks/resnet18_gpu.py --smoke         # anywhere: tiny sizes, checks it runs

Without CUDA and without ``--smoke`` it refuses: CPU numbers are not GPU numbers.
"""

from __future__ import annotations

import argparse
import json
import sys

import torch

from numerics.gpu.benchmark import SMOKE_SIZES, measure
from numerics.records import device_description, write_json


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true",
                        help="tiny sizes on any device (checks that the script runs)")
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--width", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--pgd-steps", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--hessian-images", type=int, default=10_000)
    parser.add_argument("--hvp-batch", type=int, default=1000)
    parser.add_argument("--eig-tol", type=float, default=1e-3)
    parser.add_argument("--landscape-points", type=int, default=51)
    parser.add_argument("--landscape-images", type=int, default=1000)
    parser.add_argument("--points-per-batch", type=int, default=4)
    parser.add_argument("--compile", action="store_true", help="torch.compile the fast path")
    parser.add_argument("--out", default=None, help="also write the numbers as JSON here")
    args = parser.parse_args(argv)

    sizes = {k: getattr(args, k) for k in SMOKE_SIZES}
    if args.smoke:
        args.device = "cuda" if torch.cuda.is_available() and args.device == "cuda" else "cpu"
        sizes = dict(SMOKE_SIZES)
        if args.device == "cpu":
            torch.set_num_threads(1)  # tiny models on a shared CPU: threads only contend
    elif not (args.device.startswith("cuda") and torch.cuda.is_available()):
        print("resnet18_gpu.py measures GPU speed and needs CUDA (none is available here). "
              "Run it on a CUDA machine, or pass --smoke for a tiny run that only checks the "
              "script works; its numbers are not GPU numbers.", file=sys.stderr)
        return 2
    out = {"device": device_description(args.device), "smoke": args.smoke,
           **measure(sizes, args.device, compile=args.compile)}
    if args.smoke:
        print("SMOKE RUN (tiny sizes): these numbers only show that the script runs; they are "
              "not GPU measurements.")
    print(json.dumps(out, indent=2, default=str))
    if args.out:
        write_json(args.out, out, overwrite=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

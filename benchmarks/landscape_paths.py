"""Benchmark: the two landscape paths (vmap over stacked points, a loop over points) on this device.

Times :func:`numerics.nets.landscape.landscape_1d` on a SmallCNN (float64, random weights, MNIST
shaped random images) along one filter-normalised direction, clean and re-attacked (L-inf PGD,
no random start, so both paths compute the same numbers, which it checks to 1e-10), with each
path, in one run; prints the seconds and the ratio vmap / loop (> 1: the loop is faster, the
choice ``path="auto"`` makes on the CPU).

    python benchmarks/landscape_paths.py                  # 21 points, 500 images
    python benchmarks/landscape_paths.py --images 100     # quicker
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from numerics.attacks import AttackSpec
from numerics.nets import SmallCNN
from numerics.nets.landscape import filter_normalized_direction, landscape_1d


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=21)
    parser.add_argument("--images", type=int, default=500)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--points-per-batch", type=int, default=8)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args()
    torch.manual_seed(0)
    model = SmallCNN(device=args.device)
    g = torch.Generator(device=args.device).manual_seed(1)
    x = torch.rand((args.images, 1, 28, 28), generator=g, dtype=torch.float64,
                   device=args.device)
    y = torch.randint(0, 10, (args.images,), generator=g, device=args.device)
    d = filter_normalized_direction(model, generator=torch.Generator().manual_seed(2))
    d = {k: v.to(args.device) for k, v in d.items()}
    alphas = np.linspace(-1, 1, args.points)
    attacks = {"clean": AttackSpec("clean"),
               "re-attacked": AttackSpec("pgd", "linf", args.steps, start="none", eps=0.1)}
    print(f"device {args.device}, {args.points} points, {args.images} images, "
          f"torch threads {torch.get_num_threads()}")
    for name, spec in attacks.items():
        seconds, curves = {}, {}
        for path in ("vmap", "loop"):
            start = time.perf_counter()
            curves[path] = landscape_1d(model, x, y, d, alphas, attack=spec, path=path,
                                        points_per_batch=args.points_per_batch)["loss"]
            if args.device != "cpu":
                torch.cuda.synchronize()
            seconds[path] = time.perf_counter() - start
        agree = np.allclose(curves["vmap"], curves["loop"], rtol=1e-10)
        print(f"{name:>12}: vmap {seconds['vmap']:.2f} s, loop {seconds['loop']:.2f} s, "
              f"ratio vmap/loop {seconds['vmap'] / seconds['loop']:.2f}; losses agree to 1e-10: "
              f"{agree}")


if __name__ == "__main__":
    main()

"""Benchmark: the cost of a PGD random start against the PGD steps it precedes (MNIST2 sizes).

Times, in one run: a float64 Gaussian draw of K x N x d numbers, the same draw in float32 cast to
float64 (what ``numerics.attacks.uniform_ball_noise`` does for the L2 direction), and one batched
L2 PGD step (add, project on the ball, clip to the box), with 1 and 2 torch threads. It checks
the float32-drawn directions are unit vectors in float64 and their mean is near 0.

    python benchmarks/noise_draws.py
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import torch


def seconds(f: Callable[[], object], repeats: int = 3) -> float:
    f()
    start = time.perf_counter()
    for _ in range(repeats):
        f()
    return (time.perf_counter() - start) / repeats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=6)
    parser.add_argument("--samples", type=int, default=12665)
    parser.add_argument("--dim", type=int, default=784)
    args = parser.parse_args()
    K, N, d = args.models, args.samples, args.dim
    g = torch.Generator().manual_seed(0)
    x = torch.rand((N, d), generator=g, dtype=torch.float64)
    lo, hi = -x[None], 1 - x[None]
    eps = torch.ones((K, 1, 1), dtype=torch.float64)
    step = 0.01 * torch.randn((K, 1, d), generator=g, dtype=torch.float64)
    delta = torch.randn((K, N, d), generator=g, dtype=torch.float64)

    def pgd_step() -> None:
        delta.add_(step)
        length = torch.linalg.vector_norm(delta, dim=-1, keepdim=True)
        delta.mul_(torch.where(length > eps, eps / length, 1.0))
        torch.clamp(delta, lo, hi, out=delta)

    for threads in (1, 2):
        torch.set_num_threads(threads)
        f64 = seconds(lambda: torch.randn((K * N, d), generator=g, dtype=torch.float64))
        f32 = seconds(lambda: torch.randn((K * N, d), generator=g, dtype=torch.float32)
                      .to(torch.float64))
        one_step = seconds(pgd_step)
        print(f"{threads} thread(s), K={K} N={N} d={d}: float64 draw {f64:.3f} s, float32 draw "
              f"{f32:.3f} s ({f64 / f32:.1f}x); one L2 PGD step {one_step:.3f} s; a float64 draw "
              f"costs {f64 / one_step:.1f} steps, a float32 draw {f32 / one_step:.1f}")
    u = torch.randn((N, d), generator=g, dtype=torch.float32).to(torch.float64)
    u = u / u.norm(dim=1, keepdim=True)
    err = float((u.norm(dim=1) - 1).abs().max())
    print(f"float32-drawn directions: max | ||u|| - 1 | = {err:.1e}; "
          f"|mean| = {float(u.mean(0).norm()):.4f} (1/sqrt(N) = {N ** -0.5:.4f})")


if __name__ == "__main__":
    main()

"""Benchmark: adversarial training of a small MLP with PGD's input gradient by autograd and in
closed form (``MLP.loss_input_gradient``), back to back in one run.

The PAS study's run (:mod:`numerics.experiments.pas`): an MLP 784-64-10 in float64 on MNIST
images, SGD with momentum on batches of 50, L-inf PGD-10 at eps 0.1 from a random start in the
[0, 1] box, ``--steps`` steps each way from the same initialisation and generator. The autograd
run trains the same MLP behind an ``nn.Sequential`` wrapper (the attack then differentiates the
graph). Printed: milliseconds per training step each way, the speed-up, and the largest
difference of the trained weights (rounding: the two gradients are summed in another order).

    python benchmarks/mlp_pgd.py --steps 200 --threads 1
"""

from __future__ import annotations

import argparse
import copy
import time

import torch

from numerics.experiments.units import mnist_subset
from numerics.nets.models import MLP
from numerics.nets.schedules import FixedSchedule
from numerics.nets.train import train_with_schedule


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200, help="training steps each way")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    x, y = mnist_subset(50 * args.steps, 0, "train")
    torch.manual_seed(0)
    model = MLP(784, 10, hidden=(64,))
    sched = FixedSchedule(eps_target=0.1, epochs=1, lr_max=0.03, lr_shape="cosine",
                          step_ratio=0.25)
    times, trained = {}, {}
    for name in ("autograd", "closed form"):
        mlp = copy.deepcopy(model)
        net = torch.nn.Sequential(mlp) if name == "autograd" else mlp
        start = time.perf_counter()
        train_with_schedule(net, x, y, sched, batch_size=50, pgd_steps=10, norm="linf",
                            momentum=0.9, gen=torch.Generator().manual_seed(0))
        times[name] = (time.perf_counter() - start) / args.steps
        trained[name] = torch.cat([p.detach().flatten() for p in mlp.parameters()])
    diff = float((trained["autograd"] - trained["closed form"]).abs().max()
                 / trained["autograd"].norm())
    print(f"{'autograd':>10} {'closed form':>12} {'speed-up':>9} {'weights differ':>15}")
    print(f"{times['autograd'] * 1e3:7.2f} ms {times['closed form'] * 1e3:9.2f} ms "
          f"{times['autograd'] / times['closed form']:8.2f}x {diff:15.1e}")
    print(f"({args.steps} steps each way, batches of 50, PGD-10; ms per training step)")


if __name__ == "__main__":
    main()

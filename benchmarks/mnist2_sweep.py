"""Benchmark: the batched MNIST2 sweep against a plain one-model-at-a-time reference.

(a) the suite: ``numerics.experiments.mnist2.run_mnist2`` (K models per table in one weight
matrix, analytic PGD, the L-inf PGD limit in closed form), timed as a whole (tables, Hessians,
landscapes) and for its training + evaluation part alone;
(b) a reference written the way common adversarial-training code is: one float32 ``nn.Linear``
at a time, PGD through autograd (``numerics.attacks.pgd_on_loss``: random start in the ball,
ball-then-box steps), the config's optimiser (``torch.optim.SGD`` with momentum, the default,
or ``torch.optim.Adam``), the same data, budgets, steps, epochs, batch size,
initial weights and early stopping on the PGD test accuracy; training + evaluation only. The
suite runs with the same attack conventions (its evaluation PGD from the ball, projecting onto
the ball then the box, ``select_on="pgd"``), so both do the same work.

It checks that both give the same table accuracies (within --tolerance points) and prints the time
ratio of the training + evaluation parts, per table and per model; with ``--seeds n`` the suite
runs n seeds against one seed of the reference. With ``--ref-models k`` the reference trains only
the eps = 0 model and the k largest budgets of each table; the mean time of its attacked models
stands for every attacked model of the table (it says so; smaller budgets cost the same PGD
steps).

    python benchmarks/mnist2_sweep.py --profile ci
    python benchmarks/mnist2_sweep.py --profile full --ref-models 2
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import time

import torch
from torch import nn
from torch.nn.functional import softplus

from numerics.attacks import pgd_on_loss, random_noise
from numerics.experiments.mnist2 import config_for, load_data, run_mnist2
from numerics.experiments.paper_values import MNIST2_TABLES


def _accuracy(model: nn.Module, X: torch.Tensor, y: torch.Tensor, eps: float, norm: str,
              adversarial: bool, steps: int, factor: float, seed: int) -> float:
    if adversarial and eps > 0:
        def loss_fn(xx: torch.Tensor) -> torch.Tensor:
            return softplus(-y * model(xx).squeeze(1))

        X = pgd_on_loss(loss_fn, X, eps, norm, steps, factor * eps / steps,
                        generator=torch.Generator().manual_seed(seed))
    with torch.no_grad():
        return 100.0 * float((y * model(X).squeeze(1) > 0).double().mean())


def reference_model(config, data, norm: str, training: str, eps: float) -> dict:
    """Train one model the common way; return its table accuracies (selected and last)."""
    Xtr, ytr, Xte, yte = (t.float() for t in data)
    cfg = config.train
    gen = torch.Generator().manual_seed(cfg.seed)  # initial weights and data order, as the suite
    noise_gen = torch.Generator().manual_seed(cfg.seed + 1)
    w0 = cfg.init_scale * torch.randn((1, Xtr.shape[1] + 1), generator=gen, dtype=torch.float64)
    model = nn.Linear(Xtr.shape[1], 1)
    with torch.no_grad():
        model.weight.copy_(w0[:, :-1])
        model.bias.copy_(w0[0, -1:])
    opt = (torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=cfg.momentum)
           if cfg.optimizer == "sgd" else torch.optim.Adam(model.parameters(), lr=cfg.lr))
    adversarial = training == "adversarial"
    best, best_state, best_epoch = -math.inf, None, cfg.epochs
    N = Xtr.shape[0]
    for epoch in range(1, cfg.epochs + 1):
        order = torch.randperm(N, generator=gen)
        for start in range(0, N, cfg.batch_size):
            idx = order[start:start + cfg.batch_size]
            xb, yb = Xtr[idx], ytr[idx]
            if adversarial and eps > 0:
                def loss_fn(xx: torch.Tensor, yb: torch.Tensor = yb) -> torch.Tensor:
                    return softplus(-yb * model(xx).squeeze(1))

                train = config.train_attack
                xb = pgd_on_loss(loss_fn, xb, eps, norm, train.steps, train.alpha(eps),
                                 generator=noise_gen)
            elif not adversarial and eps > 0:
                xb = random_noise(xb, eps, norm, generator=noise_gen)
            loss = softplus(-yb * model(xb).squeeze(1)).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
        score = _accuracy(model, Xte, yte, eps, norm, adversarial, config.eval_attacks[0].steps,
                          config.eval_attacks[0].step_factor, config.seed + 11)
        if score >= best:
            best, best_epoch = score, epoch
            best_state = {k: v.clone() for k, v in model.state_dict().items()}
    last_train = _accuracy(model, Xtr, ytr, eps, norm, adversarial, config.eval_attacks[0].steps,
                           config.eval_attacks[0].step_factor, config.seed + 12)
    model.load_state_dict(best_state)
    return {
        "train_acc": _accuracy(model, Xtr, ytr, eps, norm, adversarial,
                               config.eval_attacks[0].steps, config.eval_attacks[0].step_factor,
                               config.seed + 12),
        "test_acc": best, "best_epoch": best_epoch, "last_train_acc": last_train,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", choices=("ci", "full"), default="ci")
    parser.add_argument("--tables", default="1,2,3,4")
    parser.add_argument("--ref-models", type=int, default=0,
                        help="reference: only the k largest budgets per table (0: all)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--tolerance", type=float, default=0.1, help="accuracy points")
    parser.add_argument("--seeds", type=int, default=1,
                        help="seeds of the suite's run (the reference runs one)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    tables = tuple(int(t) for t in args.tables.split(","))
    base = config_for(args.profile)
    evaluation = dataclasses.replace(base.eval_attacks[0], projection="ball_then_box",
                                     start="ball")
    config = dataclasses.replace(base, tables=tables, threads=args.threads,
                                 eval_attacks=(evaluation,), select_on="pgd",
                                 seeds=tuple(range(args.seeds)))

    start = time.perf_counter()
    suite = run_mnist2(config)
    suite_total = time.perf_counter() - start
    suite_tables = sum(t["seconds"]["train"] + t["seconds"]["evaluate"]
                       for t in suite["tables"].values())
    print(f"suite: {suite_total:.1f} s in all (tables 1-4, Hessians, landscapes); "
          f"training + evaluation {suite_tables:.1f} s")
    for number, table in suite["tables"].items():
        parts = ", ".join(f"{k} {v:.1f} s" for k, v in table["seconds"].items())
        print(f"  suite table {number}: {parts}")

    data = load_data(config)
    ref_time, worst, extrapolated = 0.0, 0.0, False
    for number in tables:
        spec = MNIST2_TABLES[number]
        rows = suite["tables"][str(number)]["per_seed"][0]["rows"]  # seed 0, as the reference
        # subset: the eps = 0 model (no attack, cheaper) and the k largest budgets; the time of
        # the attacked models is extrapolated to all attacked models of the table
        chosen = rows if args.ref_models <= 0 else [rows[0], *rows[-args.ref_models:]]
        times = {}
        for row in chosen:
            t0 = time.perf_counter()
            ref = reference_model(config, data, spec.norm, spec.training, row["eps"])
            times[row["label"]] = time.perf_counter() - t0
            diffs = (abs(ref["train_acc"] - row["train_acc"]),
                     abs(ref["test_acc"] - row["test_acc"]))
            worst = max(worst, *diffs)
            print(f"table {number} eps {row['label']:>8}: suite {row['train_acc']:.2f}/"
                  f"{row['test_acc']:.2f}  reference {ref['train_acc']:.2f}/{ref['test_acc']:.2f}"
                  f"  ({times[row['label']]:.1f} s)")
        attacked = [times[r["label"]] for r in chosen if r["eps"] > 0]
        spent = times[rows[0]["label"]] + sum(attacked) * (len(rows) - 1) / max(1, len(attacked))
        if len(chosen) < len(rows):
            extrapolated = True
        ref_time += spent
        ours = suite["tables"][str(number)]["seconds"]
        ours = ours["train"] + ours["evaluate"]
        print(f"table {number}: reference {spent:.1f} s, suite {ours:.1f} s: {spent / ours:.1f}x"
              + (" (reference extrapolated)" if len(chosen) < len(rows) else ""))
    note = " (extrapolated from a subset of models per table)" if extrapolated else ""
    print(f"reference training + evaluation: {ref_time:.1f} s{note}")
    print(f"largest accuracy difference: {worst:.3f} points "
          f"({'within' if worst <= args.tolerance else 'OUTSIDE'} {args.tolerance})")
    n_models = sum(len(suite["tables"][str(t)]["rows"]) for t in tables) * args.seeds
    per_model = ref_time * args.seeds / suite_tables
    print(f"speed-up (training + evaluation) per model: {per_model:.1f}x "
          f"({n_models} models: {args.seeds} seed(s) x the tables' budgets; reference "
          f"{ref_time / (n_models / args.seeds):.2f} s a model, suite "
          f"{suite_tables / n_models:.2f} s); "
          f"{args.seeds} suite seed(s) incl. Hessians and landscapes vs one reference seed: "
          f"{ref_time / suite_total:.2f}x")


if __name__ == "__main__":
    main()

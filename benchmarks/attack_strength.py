"""Benchmark: the suite's PGD against torchattacks' PGD / PGDL2, and against the exact worst case.

Models (float64): logistic regression on MNIST2 (0 vs 1, the suite's linear trainer, as an
``nn.Module`` through :func:`numerics.linear.as_module`), and the suite's SmallCNN on 10-class
MNIST, trained normally and adversarially (L2 PGD). For each threat (L2, L-inf), budget eps,
number of steps K and seed, it measures robust accuracy on the first ``--n-test`` test images:

* the suite's :func:`numerics.nets.pgd` for every start (``none``, ``radius``, ``ball``) and
  projection (``exact``, ``ball_then_box``; for L-inf the two coincide), and the strongest of
  them per example (an example counts as robust only if it survives all);
* torchattacks' ``PGD`` / ``PGDL2`` with and without their random start, the same step
  alpha = 2.5 eps / K (both libraries' inputs in [0, 1], no normalisation);
* for the logistic model, the exact robust accuracy inside the eps-ball and the pixel box
  (BOX-MAX, :func:`numerics.linear.box_worst_case`).

Random starts are averaged over ``--seeds`` seeds (mean and standard deviation); deterministic
variants run once. It prints one table per model and the two targets: the suite's evaluation
attack at most torchattacks' robust accuracy (within two standard deviations of the seeds) in
every cell, and within 0.1 point of the exact value for the linear model. Needs torchattacks
(``pip install --no-deps torchattacks==3.5.1``; its attacks import nothing else) and MNIST
(``ADVLANDSCAPE_DATA``). Trained models are cached under ``--cache``.

    python benchmarks/attack_strength.py                     # about 25 minutes on 2 cores
    python benchmarks/attack_strength.py --quick             # a minute: tiny sizes
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import statistics
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from numerics.attacks import AttackSpec
from numerics.data import load_mnist2, load_mnist_float
from numerics.linear import TrainConfig, as_module, box_worst_case, class_labels, train_models
from numerics.nets import SmallCNN, fit, pgd
from numerics.nets.schedules import ScheduleValues
from numerics.records import provenance, write_json

STARTS = ("none", "radius", "ball")
BUDGETS = {"l2": (1.0, 2.0), "linf": (0.1, 0.2)}


def _logistic(n_train: int) -> tuple[torch.nn.Module, torch.Tensor, torch.Tensor, torch.Tensor]:
    """A clean logistic regression on MNIST2 (the suite's trainer), as a module; test images
    (N, 1, 28, 28), class labels 0/1 and the weights."""
    x, y = (torch.as_tensor(a) for a in load_mnist2("train"))
    idx = torch.randperm(x.shape[0], generator=torch.Generator().manual_seed(0))[:n_train]
    result = train_models(x[idx], y[idx], 0.0, AttackSpec("clean"),
                          TrainConfig(epochs=10, batch_size=128, seed=0))
    w = result.last[0]
    xt, yt = (torch.as_tensor(a) for a in load_mnist2("test"))
    return as_module(w, 784), xt.reshape(-1, 1, 28, 28), class_labels(yt), w


def _cnn(kind: str, n_train: int, cache: Path, epochs: int) -> torch.nn.Module:
    """SmallCNN on 10-class MNIST, trained clean or with L2 PGD-5 at eps 1.0 (float32 training,
    returned in float64); cached by kind, size and epochs."""
    path = cache / f"smallcnn_{kind}_{n_train}_{epochs}.pt"
    model = SmallCNN(dtype=torch.float32)
    if path.is_file():
        model.load_state_dict(torch.load(path, weights_only=True))
        return model.double().eval()
    x, y = load_mnist_float("train", dtype=np.float32)
    x, y = torch.as_tensor(x[:n_train])[:, None], torch.as_tensor(y[:n_train])
    attack = AttackSpec("clean") if kind == "clean" else AttackSpec("pgd", "l2", 5)
    eps = 0.0 if kind == "clean" else 1.0
    gen = torch.Generator().manual_seed(0)
    fit(model, x, y, lambda t: ScheduleValues(eps, attack.alpha(eps) if eps else 0.0, 0.05),
        epochs=epochs, batch_size=128, attack=attack, shuffle_gen=gen, attack_gen=gen,
        optimizer=torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9),
        progress=True, desc=f"train {kind}")
    cache.mkdir(parents=True, exist_ok=True)
    torch.save(model.state_dict(), path)
    return model.double().eval()


def _correct(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return model(x).argmax(1) == y


def _suite(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, norm: str, eps: float,
           steps: int, start: str, projection: str, seed: int) -> torch.Tensor:
    spec = AttackSpec("pgd", norm, steps, start=start, projection=projection, eps=eps)
    return _correct(model, pgd(model, x, y, spec, generator=torch.Generator().manual_seed(seed)),
                    y)


def _torchattacks(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, norm: str,
                  eps: float, steps: int, random_start: bool, seed: int) -> torch.Tensor:
    import torchattacks

    torch.manual_seed(seed)  # torchattacks draws its start from the global generator
    cls = torchattacks.PGDL2 if norm == "l2" else torchattacks.PGD
    with contextlib.redirect_stdout(io.StringIO()):  # it looks for the device in parameters
        attack = cls(model, eps=eps, alpha=2.5 * eps / steps, steps=steps,
                     random_start=random_start)
    attack.set_device(x.device)
    return _correct(model, attack(x, y), y)


def _cells(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, steps_grid: tuple[int, ...],
           seeds: int, w: torch.Tensor | None, bar: tqdm) -> list[dict[str, Any]]:
    rows = []
    for norm, eps_grid in BUDGETS.items():
        projections = ("exact", "ball_then_box") if norm == "l2" else ("exact",)
        for eps in eps_grid:
            for steps in steps_grid:
                row: dict[str, Any] = {"norm": norm, "eps": eps, "steps": steps}
                union = torch.ones_like(y, dtype=torch.bool)
                for projection in projections:
                    for start in STARTS:
                        runs = []
                        for seed in range(1 if start == "none" else seeds):
                            ok = _suite(model, x, y, norm, eps, steps, start, projection, seed)
                            union &= ok
                            runs.append(100 * float(ok.double().mean()))
                            bar.update()
                        row[f"suite/{start}/{projection}"] = runs
                row["suite/strongest"] = 100 * float(union.double().mean())
                row["torchattacks/random"] = [
                    100 * float(_torchattacks(model, x, y, norm, eps, steps, True, s)
                                .double().mean()) for s in range(seeds)]
                row["torchattacks/none"] = [100 * float(_torchattacks(
                    model, x, y, norm, eps, steps, False, 0).double().mean())]
                bar.update(seeds + 1)
                if w is not None:  # the exact worst case of the linear model (BOX-MAX)
                    flat, sign = x.reshape(x.shape[0], -1), 2.0 * y.double() - 1
                    worst = box_worst_case(w[None], flat, sign, eps, norm, (0.0, 1.0))[0]
                    row["exact"] = 100 * float(_correct(model, worst, y).double().mean())
                rows.append(row)
    return rows


def _stats(runs: list[float]) -> tuple[float, float]:
    return statistics.fmean(runs), statistics.stdev(runs) if len(runs) > 1 else 0.0


def _short(key: str) -> str:
    return (key.replace("suite/", "").replace("/exact", "/ex").replace("/ball_then_box", "/bb")
            .replace("torchattacks/random", "TA rand").replace("torchattacks/none", "TA none"))


def _report(name: str, rows: list[dict[str, Any]], default: str) -> list[str]:
    """Print the table; return the cells that miss a target."""
    misses = []
    print(f"\n{name}: robust accuracy (%), mean over seeds (sd)")
    keys = [k for k in rows[0] if k.startswith(("suite/", "torchattacks/", "exact"))]
    print("columns: start/projection of the suite's PGD (ex = exact, bb = ball then box), the "
          "strongest per example, torchattacks (TA) with and without its random start, exact")
    print(f"{'threat':<6}{'eps':>5}{'K':>4}" + "".join(f"{_short(k):>14}" for k in keys))
    for row in rows:
        cells = []
        for k in keys:
            value = row.get(k)
            if value is None:
                cells.append(f"{'-':>14}")
            elif isinstance(value, list):
                m, s = _stats(value)
                cells.append(f"{m:>8.2f}({s:4.2f})")
            else:
                cells.append(f"{value:>14.2f}")
        print(f"{row['norm']:<6}{row['eps']:>5g}{row['steps']:>4}" + "".join(cells))
        ours, ours_sd = _stats(row[default if row["norm"] == "l2" else
                                   default.replace("ball_then_box", "exact")])
        theirs, theirs_sd = _stats(row["torchattacks/random"])
        if ours > theirs + 2 * max(ours_sd, theirs_sd, 0.05):
            misses.append(f"{name} {row['norm']} eps={row['eps']} K={row['steps']}: suite "
                          f"{ours:.2f} > torchattacks {theirs:.2f}")
        if "exact" in row and abs(row["suite/strongest"] - row["exact"]) > 0.1:
            misses.append(f"{name} {row['norm']} eps={row['eps']} K={row['steps']}: strongest "
                          f"{row['suite/strongest']:.2f} vs exact {row['exact']:.2f}")
    return misses


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-test", type=int, default=500, help="test images per model")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--steps", type=int, nargs="+", default=[10, 20])
    parser.add_argument("--train", type=int, default=20000, help="MNIST training images (CNN)")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--default", default="suite/radius/exact",
                        help="the suite's evaluation variant compared with torchattacks")
    parser.add_argument("--cache", type=Path,
                        default=Path.home() / ".cache" / "advlandscape" / "benchmarks")
    parser.add_argument("--out", type=Path, help="write the measurements as JSON here")
    parser.add_argument("--quick", action="store_true", help="tiny sizes (a smoke run)")
    args = parser.parse_args()
    if args.quick:
        args.n_test, args.seeds, args.steps, args.train, args.epochs = 60, 2, [5], 2000, 1
    torch.set_num_threads(max(1, torch.get_num_threads()))
    logistic, xl, yl, w = _logistic(12665 if not args.quick else 2000)
    models = {"logistic MNIST2": (logistic, xl[:args.n_test * 2], yl[:args.n_test * 2], w)}
    xm, ym = load_mnist_float("test", dtype=np.float64)
    xm, ym = torch.as_tensor(xm[:args.n_test])[:, None], torch.as_tensor(ym[:args.n_test])
    for kind in ("clean", "adversarial"):
        models[f"SmallCNN {kind}"] = (_cnn(kind, args.train, args.cache, args.epochs), xm, ym,
                                      None)
    per_cell = sum(1 + 2 * (args.seeds) for _ in STARTS) + args.seeds + 1
    total = sum(len(g) for g in BUDGETS.values()) * len(args.steps) * per_cell * len(models)
    results, misses = {}, []
    with tqdm(total=total, desc="attacks") as bar:
        for name, (model, x, y, wt) in models.items():
            clean = 100 * float(_correct(model, x, y).double().mean())
            rows = _cells(model, x, y, tuple(args.steps), args.seeds, wt, bar)
            results[name] = {"clean_accuracy": clean, "n_test": int(x.shape[0]), "rows": rows}
    for name, record in results.items():
        print(f"\n{name}: clean accuracy {record['clean_accuracy']:.2f}% on "
              f"{record['n_test']} test images")
        misses += _report(name, record["rows"], args.default)
    print("\ntargets: the suite's", args.default, "<= torchattacks (2 sd) and the strongest "
          "variant within 0.1 point of exact (linear):", "met" if not misses else "MISSED")
    for miss in misses:
        print("  ", miss)
    if args.out:
        write_json(args.out, {"config": vars(args) | {"cache": str(args.cache),
                                                       "out": str(args.out)},
                              "results": results, "misses": misses,
                              "provenance": provenance(seed=0)}, overwrite=True)
        print("wrote", args.out)
    print(json.dumps({"misses": len(misses)}))


if __name__ == "__main__":
    main()

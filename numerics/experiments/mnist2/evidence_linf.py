"""Data evidence of Y-T1-LINF: how many training points meet a sufficient condition at the trained
L-inf weights (MNIST2 and CIFAR2, table 3), per seed, from what the committed records hold.

The records (``results/mnist2/mnist2.json``, ``results/cifar2/mnist2.json``) do not store the
trained weights. Per seed and budget they store the share of training points whose L-inf robust
margin (no box, with the bias) is at least m* (``share_above_m_star``). Condition (A) of
Y-T1-LINF (m > 0 and eps d > y sign(w).x) holds whenever m >= m* > 0 and eps > ||x||_1/d (the
point's mean absolute pixel, since y sign(w).x <= ||x||_1, whatever w is). So the share of points
whose per-point lambda_1 provably rises with eps is at least

    share(m >= m*) + share(||x||_1/d < eps) - 1        (Bonferroni),

computed from the stored share and the training images. The exact share (the exact condition
||w||_1 tanh(m/2)||v||^2 > 2 sign(w).v, or condition (B)) needs the trained weights of each table 3
model (8 budgets x 5 seeds x 785 numbers on MNIST2), or per point m, ||v||^2 and sign(w).v;
the records would have to store them. A bias coordinate (never perturbed) adds y^2 = 1 to
||v||^2 and changes neither d||v||^2/deps nor dm/deps, so (A) suffices with it too.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from theory.claims import Evidence

__all__ = ["certified_shares", "evidence_y_t1_linf"]

#: What the exact share would need from the records.
NEEDED = ("the trained weights of each table 3 model (per seed and budget), or per training point "
          "the margin m, ||v||^2 and sign(w).v at them")


def _train_images(dataset: str) -> np.ndarray:
    """The training images of the record's data set, flattened (the run's full training set)."""
    if dataset == "cifar2":
        from numerics.data import load_cifar2

        x = load_cifar2("train", holdout_part=5).x
    else:
        from numerics.data import load_mnist2

        x, _ = load_mnist2("train")
    return np.asarray(x, dtype=np.float64).reshape(len(x), -1)


def certified_shares(record: dict[str, Any], images: np.ndarray) -> dict[str, Any]:
    """Per seed and budget of table 3: the lower bound on the share of training points meeting
    condition (A), max(0, share(m >= m*) + share(||x||_1/d < eps) - 1).

    Returns:
        ``{"dataset", "eps": [...], "share_pixels": [...], "share_margin": [[per budget] per
        seed], "certified": [[per budget] per seed]}``.
    """
    table = record["results"]["tables"]["3"]
    mean_abs = np.abs(images).mean(axis=1)
    eps = [h["eps"] for h in table["hessian"]]
    share_x = [float((mean_abs < e).mean()) for e in eps]
    runs = table.get("per_seed") or [table]
    margin = [[float(h["share_above_m_star"]) for h in run["hessian"]] for run in runs]
    certified = [[max(0.0, sm + sx - 1.0) for sm, sx in zip(row, share_x, strict=True)]
                 for row in margin]
    return {"dataset": record["config"].get("dataset", "mnist2"), "eps": eps,
            "share_pixels": share_x, "share_margin": margin, "certified": certified}


def _describe(s: dict[str, Any]) -> str:
    head = f"{s['dataset'].upper()} (table 3, {len(s['certified'])} seeds)"
    lows = [min(row[k] for row in s["certified"]) for k in range(len(s["eps"]))]
    first = next((k for k, v in enumerate(lows) if v > 0), None)
    if first is None:
        return (f"{head}: nothing certified at any budget up to eps = {s['eps'][-1]:.4g}: no "
                "training point's mean absolute pixel is below eps")
    last = [row[-1] for row in s["certified"]]
    best = max(range(len(lows)), key=lambda k: lows[k])
    text = (f"{head}: at eps = {s['eps'][-1]:.4g} at least {100 * min(last):.0f}%-"
            f"{100 * max(last):.0f}% of training points (per seed) have a per-point lambda_1 "
            "provably rising with eps (condition (A))")
    if best != len(lows) - 1:
        text += f", at eps = {s['eps'][best]:.4g} at least {100 * lows[best]:.0f}%"
    return text + f"; nothing certified below eps = {s['eps'][first]:.4g}"


def evidence_y_t1_linf(paths: tuple[str | Path, ...] | None = None) -> Evidence:
    """Y-T1-LINF, data: at the trained L-inf weights of table 3 (MNIST2, CIFAR2), the share of
    training points certified (from the stored margin shares and the images, module docstring)
    to have a per-point lambda_1 rising with eps, per seed and budget.

    Passes when on some data set, in every seed, a positive share is certified at the largest
    budget (the mechanism the claim names is active at the trained weights); the data sets and
    budgets where it is, and where nothing can be certified from the records, are the conditions.
    ran=False when no record with table 3 exists.
    """
    from numerics.experiments.mnist2.config import CIFAR2_RESULT_FILE, RESULT_FILE
    from numerics.records import read_result

    chosen = [Path(p) for p in paths] if paths is not None else [RESULT_FILE, CIFAR2_RESULT_FILE]
    records = [read_result(p) for p in chosen if p.exists()]
    records = [r for r in records if "3" in r["results"]["tables"]]
    if not records:
        return Evidence("data", False, "no MNIST2/CIFAR2 results with table 3: run `advlandscape "
                        "mnist2 --profile full --out results/mnist2`", ran=False)
    shares = [certified_shares(r, _train_images(r["config"].get("dataset", "mnist2")))
              for r in records]
    active = [s for s in shares if min(row[-1] for row in s["certified"]) > 0]
    passed = bool(active)
    summary = " | ".join(_describe(s) for s in shares)
    conditions = tuple(
        [f"certified at the trained weights: {_describe(s)}" for s in active]
        + [f"not certified from the records: {_describe(s)} (the exact share needs {NEEDED})"
           for s in shares if s not in active]
        + ["a lower bound: points with robust margin >= m* and mean absolute pixel below eps "
           "(condition (A)); the exact condition needs " + NEEDED]
    ) if passed else ()
    return Evidence("data", passed, summary, conditions=conditions,
                    counterexample=None if passed else {"certified": [
                        {"dataset": s["dataset"], "eps": s["eps"], "certified": s["certified"]}
                        for s in shares]},
                    details={"shares": shares, "needed": NEEDED})

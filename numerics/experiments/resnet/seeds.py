"""Seed sweeps of the ResNet18 experiment (Y-T1 (b), deep part): one sweep per seed, and the
seed statistics (:func:`seed_summary`).

Units of work are (eps, seed) pairs of the study protocol (:class:`numerics.experiments.units.
Units`): a rerun skips the finished ones and resumes the interrupted one after its last epoch.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any

from numerics.experiments.resnet.config import ResNetExperimentConfig
from numerics.experiments.resnet.data import ImageData, load_image_data
from numerics.experiments.resnet.run import (
    run_resnet_experiment,
)
from numerics.experiments.units import Units
from theory.errors import ConfigError

__all__ = [
    "run_resnet_seeds",
    "seed_configs",
    "seed_summary",
    "unit_names",
]


def seed_configs(config: ResNetExperimentConfig) -> list[ResNetExperimentConfig]:
    """The single-seed sweeps of a seed sweep, one per seed of ``config.seeds`` (``seeds``
    emptied, the seed in ``train.seed``); ``[config]`` when it names no seeds.

    Each is a unit of work per budget (eps x seed) with its own checkpoints
    (:func:`checkpoint_files`: their names carry the digest of the single-seed config).
    """
    if not config.seeds:
        return [config]
    return [dataclasses.replace(config, seeds=(),
                                train=dataclasses.replace(config.train, seed=s))
            for s in config.seeds]






def unit_names(config: ResNetExperimentConfig) -> list[str]:
    """The units of :func:`run_resnet_seeds`: one per (seed, eps), ``"<eps>@<seed>"``."""
    return [f"{eps!r}@{unit.train.seed}" for unit in seed_configs(config) for eps in config.eps]


def run_resnet_seeds(
    config: ResNetExperimentConfig, units: Units | None = None, data: ImageData | None = None,
    *, root: str | None = None,
) -> dict[str, Any]:
    """The sweep once per seed of ``config.seeds`` (or for ``train.seed`` alone), each (eps,
    seed) a unit of ``units`` (:func:`run_resnet_experiment` at that one budget and seed, on one
    data subset drawn with ``config.train.seed``), with the seed statistics (Y-T1 (b)).

    ``units`` checkpoints every measured unit and resumes it (:func:`numerics.experiments.
    protocol.execute` builds it); a unit's training checkpoints every epoch in
    ``units.scratch``, so an interrupted unit resumes after its last epoch. Default: none kept.

    Returns:
        a seed sweep: ``{"label", "data_note", "seeds", "per_seed": [{"seed", "runs",
        "seconds"}, ...], "summary": seed_summary(...), "n_train", "n_test", "seconds"}``; a
        single seed (``config.seeds`` empty): :func:`run_resnet_experiment`'s layout.
    """
    start = time.perf_counter()
    units = units if units is not None else Units("resnet", config, len(unit_names(config)))
    loaded: list[tuple[ImageData, str]] = [] if data is None else [
        (data, "data passed by the caller")]

    def get_data() -> tuple[ImageData, str]:
        if not loaded:
            loaded.append(load_image_data(config, root))
        return loaded[0]

    def measure(unit: ResNetExperimentConfig, eps: float) -> dict[str, Any]:
        one = dataclasses.replace(unit, eps=(eps,))
        res = run_resnet_experiment(one, get_data()[0], checkpoint_dir=units.scratch,
                                    progress=False, accept_stale=units.accept_stale)
        return {**res["runs"][0], "n_train": res["n_train"], "n_test": res["n_test"],
                "data_note": get_data()[1]}

    per_seed = []
    for unit in seed_configs(config):
        t0 = time.perf_counter()
        runs = [units(f"{eps!r}@{unit.train.seed}", lambda unit=unit, eps=eps: measure(unit, eps))
                for eps in config.eps]
        per_seed.append({"seed": unit.train.seed, "runs": runs,
                         "seconds": time.perf_counter() - t0})
    first = per_seed[0]["runs"][0]
    shared = {"label": config.label, "data_note": first["data_note"],
              "n_train": first["n_train"], "n_test": first["n_test"]}
    for seed in per_seed:
        seed["runs"] = [{k: v for k, v in r.items() if k not in ("n_train", "n_test",
                                                                  "data_note")}
                        for r in seed["runs"]]
    if not config.seeds:
        return {"label": config.label, "data_note": shared["data_note"],
                "runs": per_seed[0]["runs"], "n_train": shared["n_train"],
                "n_test": shared["n_test"], "seconds": time.perf_counter() - start}
    return {**shared, "seeds": [s["seed"] for s in per_seed], "per_seed": per_seed,
            "summary": seed_summary(per_seed), "seconds": time.perf_counter() - start}


#: The per-run quantities the seed statistics cover: name -> how to read it from a run.
_SEED_QUANTITIES: dict[str, Any] = {
    "top_eig": lambda r: r["curvature"]["top_eigs"][0],
    "top_normalized": lambda r: r["curvature"].get("top_normalized"),
    "weight_norm": lambda r: r["curvature"].get("weight_norm"),
    "trace": lambda r: r["curvature"]["trace"],
    "train_clean_acc": lambda r: r["train"]["clean_acc"],
    "train_robust_acc": lambda r: r["train"]["robust_acc"],
    "test_clean_acc": lambda r: r["test"]["clean_acc"],
    "test_robust_acc": lambda r: r["test"]["robust_acc"],
    "gap_robust": lambda r: r["gap_robust"],
}


def seed_summary(per_seed: list[dict[str, Any]]) -> dict[str, Any]:
    r"""Seed statistics of a seed sweep (Y-T1 (b), deep part).

    Per budget eps and quantity q (top eigenvalue lambda_1, the normalised ||theta||^2 lambda_1
    when recorded, Hutchinson trace, accuracies, robust gap): ``interval`` over seeds (mean, sd,
    Student 95% interval). Per seed: whether lambda_1 increases strictly with eps and Spearman's
    rho(eps, lambda_1); ``counts``: in how many seeds each holds ("k of n seeds").

    Returns:
        ``{"eps": [...], "per_eps": [{"eps", q: interval, ...}], "per_seed": [{"seed",
        "top_eig": [...], "increasing", "spearman", ...}], "counts": {...}, "mean_increasing",
        "mean_increasing_normalized"}``.
    """
    from numerics.experiments.seeds import count_true, interval
    from numerics.stats import increasing, spearman

    if not per_seed:
        raise ConfigError("seed_summary needs the runs of at least one seed")
    eps = [r["eps"] for r in per_seed[0]["runs"]]
    for s in per_seed:
        if [r["eps"] for r in s["runs"]] != eps:
            raise ConfigError(f"seed {s['seed']} has budgets {[r['eps'] for r in s['runs']]}, "
                              f"seed {per_seed[0]['seed']} {eps}: rerun the sweep")
    per_eps = []
    for i, e in enumerate(eps):
        row: dict[str, Any] = {"eps": e}
        for name, read in _SEED_QUANTITIES.items():
            values = [read(s["runs"][i]) for s in per_seed]
            if all(v is not None for v in values):
                row[name] = interval(values)
        per_eps.append(row)
    seeds = []
    for s in per_seed:
        top = [r["curvature"]["top_eigs"][0] for r in s["runs"]]
        entry: dict[str, Any] = {"seed": s["seed"], "top_eig": top,
                                 "increasing": increasing(top), "spearman": spearman(eps, top)}
        norm = [r["curvature"].get("top_normalized") for r in s["runs"]]
        if all(v is not None for v in norm):
            entry.update(top_normalized=norm, increasing_normalized=increasing(norm),
                         spearman_normalized=spearman(eps, norm))
        seeds.append(entry)
    counts = {"increasing": count_true([s["increasing"] for s in seeds]),
              "spearman_positive": count_true([s["spearman"] > 0 for s in seeds])}
    out: dict[str, Any] = {
        "eps": eps, "per_eps": per_eps, "per_seed": seeds, "counts": counts,
        "mean_increasing": increasing([row["top_eig"]["mean"] for row in per_eps])}
    if all("top_normalized" in s for s in seeds):
        counts["increasing_normalized"] = count_true([s["increasing_normalized"] for s in seeds])
        counts["spearman_positive_normalized"] = count_true(
            [s["spearman_normalized"] > 0 for s in seeds])
        out["mean_increasing_normalized"] = increasing(
            [row["top_normalized"]["mean"] for row in per_eps])
    return out

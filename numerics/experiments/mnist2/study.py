"""The MNIST2 study's face (:mod:`numerics.experiments.protocol`): Yamada et al.'s tables 1-4 and
figures 2-3, logistic regression on MNIST 0 vs 1, five seeds at the paper's scale.

Units: one per (table, seed) (``"<table>@<seed>"``), each all the budgets of one table trained in
one batched call, evaluated, with Hessians and landscapes (:func:`run_table`). The record is
``results/mnist2/mnist2.json``, beside it the CSV of every row, ``tables.md`` and figures 2-3
(:func:`present`). :mod:`numerics.experiments.mnist2_wd` (weight decay) and
:mod:`numerics.experiments.cifar2` (the same tables on CIFAR2) are this study at other settings.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from numerics.experiments.mnist2.config import (
    DEFAULT_TRAIN,
    EVAL_PGD,
    TRAIN_PGD,
    MNIST2Config,
    repetitions,
)
from numerics.experiments.mnist2.evidence import evidence_y_t1, evidence_y_t2, trends
from numerics.experiments.mnist2.evidence_linf import evidence_y_t1_linf
from numerics.experiments.mnist2.present import render_tables, save_figures, write_csv
from numerics.experiments.mnist2.run import run_mnist2
from numerics.experiments.units import Units
from numerics.records import atomic_write_bytes

__all__ = ["AXES", "CI", "CLAIMS", "EVIDENCE", "MINUTES", "NAME", "OUTPUTS", "RESULT", "SCALES",
           "TITLE", "Config", "judge", "present", "run", "unit_names"]

NAME = "mnist2"
TITLE = "Yamada et al.'s MNIST2 tables 1-4 and figures 2-3 (logistic regression)"
CLAIMS = ("Y-T1", "Y-T2", "Y-T1-LINF")


@dataclass(frozen=True)
class Config(MNIST2Config):
    """:class:`MNIST2Config` at the paper's scale: the whole MNIST2, tables 1-4, five seeds."""

    seeds: tuple[int, ...] | None = (0, 1, 2, 3, 4)


#: The ci scale: a subset, 3 epochs of the default training, fewer PGD steps, one seed (the same
#: code path).
CI: dict[str, Any] = {
    "n_train": 2000, "n_test": 600, "seeds": None,
    "train": dataclasses.replace(DEFAULT_TRAIN, epochs=3),
    "train_attack": dataclasses.replace(TRAIN_PGD, steps=5),
    "eval_attacks": (dataclasses.replace(EVAL_PGD, steps=10),),
    "landscape_points": 11, "landscape_n": 300, "threads": 2,
}
SCALES: dict[str, dict[str, Any]] = {"ci": CI, "full": {}}
MINUTES = {"ci": 1.5, "full": 1.5}
#: Its independent parts (:mod:`numerics.experiments.parts`): one (table, seed) each (one table
#: each when ``seeds`` is None: the training seed alone).
AXES = {"table": "tables", "seed": "seeds"}
RESULT = "mnist2.json"
OUTPUTS = ("mnist2.csv", "tables.md", "figure2_landscapes.png", "figure2_landscapes.svg",
           "figure3_eigenvalues.png", "figure3_eigenvalues.svg")
EVIDENCE = {"Y-T1": evidence_y_t1, "Y-T2": evidence_y_t2, "Y-T1-LINF": evidence_y_t1_linf}


def unit_names(cfg: MNIST2Config) -> list[str]:
    """One unit per (table, seed): ``"<table>@<seed>"``, in the order :func:`run` computes."""
    return [f"{t}@{s}" for t in cfg.tables for s in repetitions(cfg)]


def run(cfg: MNIST2Config, units: Units) -> dict[str, Any]:
    """:func:`run_mnist2`, each (table, seed) a unit."""
    return run_mnist2(cfg, units=units)


def judge(results: dict[str, Any]) -> str:
    """One line: how lambda_1 and ||w||^2 lambda_1 move with eps, adversarial against random."""
    tr = trends(results)
    parts = []
    for key, norm in (("t1_normalized_fixed", "L2"), ("t3_normalized_fixed", "L-inf")):
        if key in tr:
            parts.append(f"{norm}: ||w||^2 lambda_1 "
                         + ("increases strictly" if tr[key]["increasing"] else
                            "does not increase strictly")
                         + f" with eps (Spearman {tr[key]['spearman']:.2f})")
    for key in ("adv_vs_random_l2", "adv_vs_random_linf"):
        if key in tr:
            c = tr[key]
            parts.append(f"{key.rsplit('_', 1)[1]}: lambda_1 x{c['adversarial_growth']:.3g} "
                         f"adversarial vs x{c['random_growth']:.3g} random at eps {c['eps']}")
    return "; ".join(parts)


def present(results: dict[str, Any], folder: Path, overwrite: bool = False) -> list[Path]:
    """The files beside the record: the CSV of every row, ``tables.md`` (selected and last
    epoch) and figures 2-3 (PNG and SVG)."""
    folder = Path(folder)
    written = [write_csv(folder / "mnist2.csv", results, overwrite=overwrite)]
    text = render_tables(results) + "\n" + render_tables(results, last=True)
    written.append(atomic_write_bytes(folder / "tables.md", text.encode(), overwrite=overwrite))
    return written + save_figures(results, folder, overwrite=overwrite)

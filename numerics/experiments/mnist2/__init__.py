"""MNIST2 logistic regression: Yamada et al.'s tables 1-4 and figures 2-3, and evidence Y-T1/Y-T2.

The same experiment runs on CIFAR2 (frog vs ship, the paper's appendix C; ``dataset="cifar2"``,
``results/cifar2/``): the same trainer, attacks, Hessians and landscapes on a budget grid suited
to CIFAR (:data:`numerics.experiments.paper_values.CIFAR2_TABLES`; the paper prints no CIFAR2
table), dense pixels and d = 3,072, far from separable by a linear model.

:func:`run_mnist2` trains every model of the requested tables (all budgets of one table in one
batched call), evaluates them as the paper's tables report them, computes the exact Hessians at the
trained weights with their top eigenvalues (figure 3) and the filter-normalised 1-D landscapes
(figure 2), and returns a plain results dict. :func:`write_mnist2` writes it with provenance;
:func:`render_tables` and :func:`save_figures` present it; :func:`evidence_y_t1` and
:func:`evidence_y_t2` read the committed ``results/mnist2/mnist2.json`` for the claims ledger.

The package, by job:

* :mod:`.config`: :class:`MNIST2Config`, its profiles, data, attacks and result paths;
* :mod:`.run`: :func:`run_table`, :func:`run_mnist2`, :func:`aggregate`;
* :mod:`.present`: :func:`write_mnist2`, :func:`render_tables`, :func:`save_figures`;
* :mod:`.evidence`: :func:`trends`, :func:`seed_trends`, :func:`evidence_y_t1`,
  :func:`evidence_y_t2`.

``sensitivity_conditions`` (the sensitivity study's conditions on Y-T1 and Y-T2) lives in
:mod:`numerics.experiments.sensitivity`, which imports this package; it is reachable here too,
imported on first use.
"""

from __future__ import annotations

from numerics.experiments.mnist2.config import (
    CIFAR2_RESULT_FILE,
    CONVENTIONS,
    DATA_SPLITS,
    DATASETS,
    EVAL_PGD,
    INTERPRETATION,
    RESULT_DIR,
    RESULT_FILE,
    RESULT_FILES,
    SENSITIVITY_FILE,
    TRAIN_PGD,
    WEIGHT_DECAY_FILE,
    MNIST2Config,
    config_for,
    load_data,
    repetitions,
    table_spec,
)
from numerics.experiments.mnist2.evidence import evidence_y_t1, evidence_y_t2, seed_trends, trends
from numerics.experiments.mnist2.present import render_tables, save_figures, write_mnist2
from numerics.experiments.mnist2.run import aggregate, run_mnist2, run_table

__all__ = [
    "CIFAR2_RESULT_FILE",
    "CONVENTIONS",
    "DATASETS",
    "DATA_SPLITS",
    "EVAL_PGD",
    "INTERPRETATION",
    "RESULT_DIR",
    "RESULT_FILE",
    "RESULT_FILES",
    "SENSITIVITY_FILE",
    "TRAIN_PGD",
    "WEIGHT_DECAY_FILE",
    "MNIST2Config",
    "aggregate",
    "config_for",
    "evidence_y_t1",
    "evidence_y_t2",
    "load_data",
    "render_tables",
    "repetitions",
    "run_mnist2",
    "run_table",
    "save_figures",
    "seed_trends",
    "table_spec",
    "trends",
    "write_mnist2",
]


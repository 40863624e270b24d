"""CIFAR2 (frog vs ship): Yamada et al.'s tables 1-4 experiment on a second data set (their
appendix C), dense pixels and d = 3,072, far from separable by a linear model.

The MNIST2 study (:mod:`numerics.experiments.mnist2`) with ``dataset="cifar2"``: the same
trainer, attacks, Hessians and landscapes on a budget grid suited to CIFAR
(:data:`numerics.experiments.paper_values.CIFAR2_TABLES`; the paper prints no CIFAR2 table). Its
record, ``results/cifar2/mnist2.json``, is one regime of the Y-T1 and Y-T2 data evidence that
:mod:`numerics.experiments.mnist2` reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from numerics.experiments.mnist2.study import AXES, CI, OUTPUTS, RESULT, judge, present, run
from numerics.experiments.mnist2.study import Config as MNIST2StudyConfig
from numerics.experiments.mnist2.study import unit_names as unit_names

__all__ = ["AXES", "CLAIMS", "EVIDENCE", "MINUTES", "NAME", "OUTPUTS", "RESULT", "SCALES", "TITLE",
           "Config", "judge", "present", "run", "unit_names"]

NAME = "cifar2"
TITLE = "The tables 1-4 experiment on CIFAR2 (frog vs ship, 8,017 training images)"
CLAIMS = ("Y-T1", "Y-T2", "Y-T1-LINF")


@dataclass(frozen=True)
class Config(MNIST2StudyConfig):
    """The MNIST2 study's config on CIFAR2, five seeds (0-4), as MNIST2 has."""

    dataset: str = "cifar2"
    seeds: tuple[int, ...] | None = (0, 1, 2, 3, 4)


SCALES: dict[str, dict[str, Any]] = {"ci": {**CI, "n_train": 400, "n_test": 200}, "full": {}}
MINUTES = {"ci": 1.0, "full": 4.0}
#: Read by the MNIST2 study's Y-T1 and Y-T2 evidence as one of its regimes.
EVIDENCE: dict[str, Any] = {}

"""MNIST2 with weight decay: Yamada et al.'s tables 1 and 3 at weight decay 1e-3, Y-T1's second
regime (the filter-normalised sharpness rises strictly with eps in it under the SGD default, as
without weight decay; with Adam at learning rate 0.01, the first default, it was the only
regime where it did: the penalty keeps the eps = 0 model's norm from outgrowing the others').

The MNIST2 study (:mod:`numerics.experiments.mnist2`) at another setting: its record,
``results/mnist2_wd/mnist2.json``, is one regime of the Y-T1 data evidence that
:func:`numerics.experiments.mnist2.evidence_y_t1` reads.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from numerics.experiments.mnist2.config import DEFAULT_TRAIN
from numerics.experiments.mnist2.study import (
    AXES,
    CI,
    MINUTES,
    OUTPUTS,
    RESULT,
    judge,
    present,
    run,
)
from numerics.experiments.mnist2.study import Config as MNIST2StudyConfig
from numerics.experiments.mnist2.study import unit_names as unit_names
from numerics.linear.train import TrainConfig

__all__ = ["AXES", "CLAIMS", "EVIDENCE", "MINUTES", "NAME", "OUTPUTS", "RESULT", "SCALES", "TITLE",
           "WD_TRAIN", "WEIGHT_DECAY", "Config", "judge", "present", "run", "unit_names"]

NAME = "mnist2_wd"
TITLE = "MNIST2 tables 1 and 3 with weight decay 1e-3 (Y-T1's second regime)"
CLAIMS = ("Y-T1",)
#: The L2 penalty (loss + wd/2 ||w||^2).
WEIGHT_DECAY = 1e-3
#: The default training (:data:`numerics.experiments.mnist2.DEFAULT_TRAIN`) with the penalty.
WD_TRAIN = dataclasses.replace(DEFAULT_TRAIN, weight_decay=WEIGHT_DECAY)


@dataclass(frozen=True)
class Config(MNIST2StudyConfig):
    """The MNIST2 study's config with weight decay 1e-3 on tables 1 and 3 (the default training,
    :data:`numerics.experiments.mnist2.DEFAULT_TRAIN`, with the penalty)."""

    tables: tuple[int, ...] = (1, 3)
    train: TrainConfig = WD_TRAIN


SCALES: dict[str, dict[str, Any]] = {
    "ci": {**CI, "train": dataclasses.replace(CI["train"], weight_decay=WEIGHT_DECAY)},
    "full": {},
}
#: Read by the MNIST2 study's Y-T1 evidence as one of its regimes.
EVIDENCE: dict[str, Any] = {}

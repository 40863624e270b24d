"""MNIST2 logistic regression: Yamada et al.'s tables 1-4 and figures 2-3 (:mod:`.run`)."""

from numerics.experiments.mnist2.run import *  # noqa: F403
from numerics.experiments.mnist2.run import (  # noqa: F401
    CIFAR2_RESULT_FILE,
    DATA_SPLITS,
    RESULT_DIR,
    RESULT_FILE,
    WEIGHT_DECAY_FILE,
    load_data,
)

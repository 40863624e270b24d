"""Networks (``torch.nn``): models, attacks, the training loop, curvature, landscapes, schedules.

The family of Yamada et al.'s section 5.2 (ResNet18 with softmax) and of Liu et al.'s numerical
findings (MLP on MNIST):

* :mod:`~numerics.nets.models`: CIFAR ResNet18 / PreActResNet18, a small CNN, an MLP;
* :mod:`~numerics.nets.attack`: PGD adversarial examples at the model level;
* :mod:`~numerics.nets.train`: the one training loop (:func:`fit`) and its front ends; its
  config and presets in :mod:`~numerics.nets.train_config`;
* :mod:`~numerics.nets.schedules`: periodic adversarial scheduling (PAS) and a fixed budget;
* :mod:`~numerics.nets.curvature`: Hessian-vector products as an operator, the dense Hessian;
* :mod:`~numerics.nets.landscape`: filter-normalised, re-attacked 1-D and 2-D landscapes.

Eigenvalues and traces of the Hessian operator: :mod:`numerics.spectra`.
"""

from numerics.nets.attack import adversarial_examples, pgd, robust_accuracy, strongest_examples
from numerics.nets.curvature import HessianOperator, dense_hessian, flatten, hvp, unflatten
from numerics.nets.landscape import (
    evaluate_points,
    filter_normalized_direction,
    landscape_1d,
    landscape_2d,
)
from numerics.nets.models import MLP, PreActResNet18, ResNet18, SmallCNN, build_model
from numerics.nets.schedules import FixedSchedule, PASchedule, build_schedule
from numerics.nets.train import evaluate, fit, train_adversarial, train_with_schedule
from numerics.nets.train_config import AdvTrainConfig, madry_cifar10, wu_svhn

__all__ = [
    "MLP",
    "AdvTrainConfig",
    "FixedSchedule",
    "HessianOperator",
    "PASchedule",
    "PreActResNet18",
    "ResNet18",
    "SmallCNN",
    "adversarial_examples",
    "build_model",
    "build_schedule",
    "dense_hessian",
    "evaluate",
    "evaluate_points",
    "filter_normalized_direction",
    "fit",
    "flatten",
    "hvp",
    "landscape_1d",
    "landscape_2d",
    "madry_cifar10",
    "pgd",
    "robust_accuracy",
    "strongest_examples",
    "train_adversarial",
    "train_with_schedule",
    "unflatten",
    "wu_svhn",
]
